//! E-mail callbacks, sent through the operator's SMTP relay, with the
//! results as a zip attachment when the entry asked for them.

use std::time::Duration;

use chrono::Utc;
use confab_store::outbox::Delivery;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::error::{AttemptError, StartError, with_causes};
use crate::render::{ZIP_NAME, mail_text, results_zip};
use crate::signature::sign;

/// The headers that sign an e-mail, named as an HTTP callback's are.
const WEBHOOK_ID: HeaderName = HeaderName::new_from_ascii_str("Webhook-Id");
/// See [`WEBHOOK_ID`].
const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::new_from_ascii_str("Webhook-Timestamp");
/// See [`WEBHOOK_ID`].
const WEBHOOK_SIGNATURE: HeaderName = HeaderName::new_from_ascii_str("Webhook-Signature");

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (a relay on loopback or in a trusted network).
    None,
    /// Plain, then upgraded with STARTTLS, which must succeed.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// The SMTP relay settings.
#[derive(Clone)]
pub struct SmtpSettings {
    /// The relay's host name or address.
    pub host: String,
    /// The relay's port.
    pub port: u16,
    /// The sender address.
    pub from: String,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// Certificate authorities (PEM) to trust for the relay besides the
    /// usual ones.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// User name and password, if the relay wants them.
    pub credentials: Option<(String, String)>,
    /// How long one message may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password stays out of logs.
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("tls", &self.tls)
            .field("has_extra_roots", &self.extra_roots_pem.is_some())
            .field("has_credentials", &self.credentials.is_some())
            .finish()
    }
}

/// A connection recipe for the relay, with the sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Prepares sending through the relay in `settings` (no connection is
    /// made yet).
    ///
    /// # Errors
    ///
    /// When the sender address or the TLS settings are not usable.
    pub fn new(settings: &SmtpSettings) -> Result<Self, StartError> {
        let relay = format!("{}:{}", settings.host, settings.port);
        let failed = |reason: String| StartError::Smtp {
            relay: relay.clone(),
            reason,
        };
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|error| failed(format!("sender {}: {error}", settings.from)))?;
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls | SmtpTls::Tls => {
                let mut parameters = TlsParameters::builder(settings.host.clone());
                if let Some(pem) = &settings.extra_roots_pem {
                    let roots = Certificate::from_pem(pem)
                        .map_err(|error| failed(format!("the extra authorities: {error}")))?;
                    parameters = parameters.add_root_certificate(roots);
                }
                let parameters = parameters
                    .build()
                    .map_err(|error| failed(error.to_string()))?;
                match settings.tls {
                    SmtpTls::Tls => Tls::Wrapper(parameters),
                    _ => Tls::Required(parameters),
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// Sends `delivery` as one message, signed with the account's
    /// `secret` (see [`Mailer::message`]).
    ///
    /// # Errors
    ///
    /// Permanent for an address that is not one and for a relay that
    /// refuses the recipient for good (see [`refuses_recipient`]);
    /// transient otherwise: the relay could not be reached, refused the
    /// message for now, or refused Confab itself (its login, its right to
    /// relay), which the operator can mend.
    pub async fn send(&self, delivery: &Delivery, secret: &str) -> Result<(), AttemptError> {
        let message = self.message(delivery, secret)?;
        self.transport.send(message).await.map_err(|error| {
            let text = with_causes(&error);
            let refused = error
                .status()
                .filter(|_| error.is_permanent())
                .is_some_and(|code| refuses_recipient(code.into(), &text));
            let message = format!("SMTP relay: {text}");
            match refused {
                true => AttemptError::Permanent(message),
                false => AttemptError::Transient(message),
            }
        })?;
        Ok(())
    }

    /// Builds the message: the fields as text, the results attached, and
    /// the Standard Webhooks headers of an HTTP callback, signed over the
    /// text (which carries the attachment's digest).
    fn message(&self, delivery: &Delivery, secret: &str) -> Result<Message, AttemptError> {
        let to = delivery.address.parse::<Mailbox>().map_err(|error| {
            AttemptError::Permanent(format!("bad e-mail address {}: {error}", delivery.address))
        })?;
        let notice = &delivery.notice;
        let zip = results_zip(notice)
            .map_err(|error| AttemptError::Permanent(format!("zip the results: {error}")))?;
        let text = mail_text(notice, zip.as_deref());
        let timestamp = Utc::now().timestamp();
        let signature = sign(secret, &delivery.delivery_id, timestamp, text.as_bytes())
            .map_err(|error| AttemptError::Permanent(error.to_string()))?;
        let text = SinglePart::plain(text);
        let body = match zip {
            Some(bytes) => {
                let zip_type = ContentType::parse("application/zip")
                    .map_err(|error| AttemptError::Permanent(error.to_string()))?;
                let attachment = Attachment::new(ZIP_NAME.to_owned()).body(bytes, zip_type);
                MultiPart::mixed().singlepart(text).singlepart(attachment)
            }
            None => MultiPart::mixed().singlepart(text),
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(notice.summary())
            .message_id(Some(format!("<{}@confab>", delivery.delivery_id)))
            .raw_header(HeaderValue::new(WEBHOOK_ID, delivery.delivery_id.clone()))
            .raw_header(HeaderValue::new(WEBHOOK_TIMESTAMP, timestamp.to_string()))
            .raw_header(HeaderValue::new(WEBHOOK_SIGNATURE, signature))
            .multipart(body)
            .map_err(|error| AttemptError::Permanent(format!("build the message: {error}")))
    }
}

/// Whether a permanent SMTP reply `code` (with its text) refuses the
/// recipient itself, so that no later attempt can succeed: a mailbox that
/// does not exist, is not local, or whose name is not allowed (550, 551,
/// 553). The same codes also refuse Confab when they carry an enhanced
/// status of class 5.7 (security or policy, such as "relaying denied"):
/// that the operator can mend, and it is retried.
fn refuses_recipient(code: u16, text: &str) -> bool {
    let mailbox = matches!(code, 550 | 551 | 553);
    mailbox && !text.contains("5.7.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_mailbox_is_refused_for_good() {
        assert!(refuses_recipient(550, "5.1.1 No such user"));
        assert!(refuses_recipient(553, "mailbox name not allowed"));
        // The relay refusing Confab: the operator can mend that.
        assert!(!refuses_recipient(550, "5.7.1 Relaying denied"));
        assert!(!refuses_recipient(
            535,
            "5.7.8 Authentication credentials invalid"
        ));
        assert!(!refuses_recipient(
            530,
            "Must issue a STARTTLS command first"
        ));
        assert!(!refuses_recipient(554, "Transaction failed"));
    }
}
