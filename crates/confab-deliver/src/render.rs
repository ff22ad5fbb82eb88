//! What a notice looks like on each channel: the `ResultDetailXML`, the
//! form body of an HTTP callback, and the text and attachment of an e-mail.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use confab_core::callback::Notice;
use confab_soap::encode::{ObjectEcho, result_detail_xml_with_objects};
use sha2::{Digest as _, Sha256};
use zip::write::SimpleFileOptions;

/// The name of the e-mail attachment and of the file inside it.
pub const ZIP_NAME: &str = "results.zip";
/// The name of the results file inside the attachment.
pub const XML_NAME: &str = "results.xml";

/// The `ResultDetailXML` of a notice; empty when it carries no results.
pub fn detail_xml(notice: &Notice) -> String {
    let Some(detail) = &notice.detail else {
        return String::new();
    };
    let echo = match (detail.objects.is_empty(), detail.only_include_base) {
        (true, _) => ObjectEcho::None,
        (false, false) => ObjectEcho::Full(&detail.objects),
        (false, true) => ObjectEcho::BaseOnly(&detail.objects),
    };
    result_detail_xml_with_objects(notice.operation, &detail.results, &echo)
}

/// The form-encoded body of an HTTP callback.
pub fn form_body(notice: &Notice) -> String {
    let detail = detail_xml(notice);
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(notice.form_fields(&detail))
        .finish()
}

/// The text of an e-mail: every field but the results, one per line, and
/// with the results the SHA-256 of their attachment (`zip`), so that the
/// signature over the text covers the attachment too.
pub fn mail_text(notice: &Notice, zip: Option<&[u8]>) -> String {
    let mut text = String::new();
    for (name, value) in notice.form_fields("") {
        if name != "ResultDetailXML" {
            text.push_str(&format!("{name}: {}\n", one_line(&value)));
        }
    }
    if let Some(zip) = zip {
        let digest = STANDARD.encode(Sha256::digest(zip));
        text.push_str(&format!("ResultsSHA256: {digest}\n"));
        text.push_str(&format!("\nThe results are attached as {ZIP_NAME}.\n"));
    }
    text
}

/// `value` on one line, its line breaks written as `\r` and `\n`. A value
/// can hold the client's own (a `CustomerKey` in a `StatusMessage`, a
/// `ConversationID`): left as they are, a value could pass for a line of
/// its own (a `ResultsSHA256` line), and a CRLF in it would not survive a
/// receiver turning the message's line endings back into `\n` before it
/// checks the signature.
fn one_line(value: &str) -> String {
    value.replace('\r', "\\r").replace('\n', "\\n")
}

/// The `results.zip` attachment holding `results.xml`, or `None` when the
/// notice carries no results.
///
/// # Errors
///
/// When the archive cannot be written, which for an in-memory buffer means
/// a bug in the zip library.
pub fn results_zip(notice: &Notice) -> Result<Option<Vec<u8>>, zip::result::ZipError> {
    if notice.detail.is_none() {
        return Ok(None);
    }
    let xml = detail_xml(notice);
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    archive.start_file(XML_NAME, options)?;
    archive.write_all(xml.as_bytes())?;
    Ok(Some(archive.finish()?.into_inner()))
}

#[cfg(test)]
mod tests {
    use confab_core::call::Operation;
    use confab_core::callback::NoticeEvent;
    use confab_core::options::RespondWhen;

    use super::*;

    #[test]
    fn a_value_with_line_breaks_keeps_to_its_own_line_in_an_email() {
        let notice = Notice {
            event: NoticeEvent::Request,
            respond_when: RespondWhen::OnCallComplete,
            request_id: "r1".into(),
            conversation_id: Some("c\nSequenceCode: 9".into()),
            sequence_code: None,
            operation: Operation::Create,
            overall_status_code: "Error".into(),
            status_code: "Error".into(),
            status_message: "data extension a\r\nResultsSHA256: forged does not exist".into(),
            error_code: None,
            detail: None,
        };
        let text = mail_text(&notice, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 9, "one line per field: {text:?}");
        assert!(!text.contains('\r'), "{text:?}");
        assert!(
            lines.contains(&"ConversationID: c\\nSequenceCode: 9"),
            "{text:?}"
        );
        assert!(
            lines.contains(
                &"StatusMessage: data extension a\\r\\nResultsSHA256: forged does not exist"
            ),
            "{text:?}"
        );
    }
}
