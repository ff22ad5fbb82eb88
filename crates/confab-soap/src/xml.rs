//! A small namespace-resolved element tree, built with quick-xml.
//!
//! SOAP requests are small and Confab needs all of one before it can answer,
//! so the envelope is read into a tree first and interpreted afterwards; that
//! lets the decoder look for elements by name in whatever order the client
//! wrote them (captures README items 4 and 13).
//!
//! Every name in the tree is an expanded name, a namespace plus a local name.
//! Prefixes are gone once parsing is done, because clients choose them freely
//! (`soap-env:`, `SOAP-ENV:` next to `ns1:` bound to the same namespace, or no
//! prefix at all). The one place a prefix survives the parser is inside an
//! attribute value, `xsi:type="ns1:DataExtension"`: the tree resolves that
//! QName while its declarations are in scope and keeps the result in
//! [`Element::xsi_type`].
//!
//! Text is unescaped (entity and character references resolved, CDATA taken
//! as is) and gathered per element. Whitespace-only text in an element that
//! also has child elements is dropped, since that is indentation
//! (fuelsdk-node pretty-prints); the text of a leaf is kept exactly.
//!
//! Limits: the input must be UTF-8 (with or without a byte order mark), may
//! not carry a DOCTYPE (SOAP forbids one, and refusing it rules out entity
//! expansion tricks), and may nest at most [`MAX_DEPTH`] elements deep, which
//! keeps every recursive walk over the tree shallow.
//!
//! Every name, namespace, text and attribute value in the tree consists of
//! characters XML 1.0 allows (the `Char` production, see [`is_xml_char`]),
//! whether the client wrote them raw or as character references. quick-xml
//! does not check this, and a control character taken in would be stored and
//! later written into responses that no client could parse. The error names
//! the offending code point as `U+0001`, never the character itself.

use std::fmt;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{LocalName, NamespaceError, QName, ResolveResult};
use quick_xml::{NsReader, XmlVersion};

use crate::XSI_NS;

/// How deep elements may nest. The deepest real request (a Retrieve with a
/// filter inside a filter) needs about ten levels.
pub const MAX_DEPTH: usize = 128;

/// How many namespace declarations may be in scope at once. This is
/// quick-xml's own default, written out so that the error for it can be
/// Confab's; a SOAP request declares a handful.
const MAX_NAMESPACE_BINDINGS: usize = quick_xml::name::DEFAULT_MAX_NAMESPACE_BINDINGS;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// An expanded name: a namespace (if any) and a local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The namespace URI; `None` for a name in no namespace.
    pub namespace: Option<String>,
    /// The local name.
    pub local: String,
}

/// An attribute other than a namespace declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute's expanded name. An unprefixed attribute is in no
    /// namespace, whatever the default namespace is.
    pub name: Name,
    /// The value, unescaped and normalised as XML prescribes.
    pub value: String,
}

/// One element with everything below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The element's expanded name.
    pub name: Name,
    /// Its attributes, namespace declarations left out.
    pub attributes: Vec<Attribute>,
    /// The `xsi:type` value resolved against the declarations in scope. A
    /// bare value takes the default namespace; a value whose prefix is not
    /// declared keeps only its local name (`namespace: None`), which is the
    /// leniency the spec digest asks for in §2.8.
    pub xsi_type: Option<Name>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The element's own text, unescaped. Empty when the element has child
    /// elements and nothing but whitespace between them.
    pub text: String,
}

/// Why a request body is not an XML document Confab can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The body is empty or holds only whitespace.
    #[error("the request body is empty")]
    Empty,
    /// The body is not UTF-8.
    #[error("the request body is not UTF-8 text (Confab reads UTF-8 only)")]
    NotUtf8,
    /// The parser refused the input.
    #[error("the request body is not well-formed XML: {0}")]
    Malformed(String),
    /// A DOCTYPE, which SOAP messages may not carry.
    #[error("the request body carries a DOCTYPE, which a SOAP message may not")]
    DocType,
    /// A prefix used without a declaration.
    #[error("the request body uses the namespace prefix '{0}' without declaring it")]
    UnboundPrefix(String),
    /// An entity reference other than the five XML predefines.
    #[error("the request body refers to the undefined entity '&{0};'")]
    UnknownEntity(String),
    /// Nesting beyond [`MAX_DEPTH`].
    #[error("the request body nests elements more than {MAX_DEPTH} deep")]
    TooDeep,
    /// More namespace declarations in scope than quick-xml tracks.
    #[error(
        "the request declares too many namespaces (more than {MAX_NAMESPACE_BINDINGS} in \
         scope at once)"
    )]
    TooManyNamespaces,
    /// A character outside XML 1.0's `Char` production.
    #[error(
        "the request body holds the character {code_point}, which XML 1.0 does not allow, \
         in {place}"
    )]
    ForbiddenChar {
        /// The character as `U+0001`.
        code_point: String,
        /// Where it is: `the text of Envelope/Body/...`, `the attribute ...`.
        place: String,
    },
}

impl Name {
    /// Whether this is `local` in `namespace`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.local == local && self.namespace.as_deref() == Some(namespace)
    }
}

impl fmt::Display for Name {
    /// Writes the name in Clark notation, `{namespace}local`, which is
    /// unambiguous in error messages where a prefix would not be. Names go
    /// into fault messages, so anything invisible in them is escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = printable(&self.local);
        match &self.namespace {
            Some(namespace) => write!(f, "{{{}}}{local}", printable(namespace)),
            None => f.write_str(&local),
        }
    }
}

impl Element {
    /// Whether this element is `local` in `namespace`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.name.is(namespace, local)
    }

    /// The value of an attribute, by namespace (`None` for an unprefixed
    /// attribute) and local name.
    pub fn attribute(&self, namespace: Option<&str>, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|attribute| {
                attribute.name.local == local && attribute.name.namespace.as_deref() == namespace
            })
            .map(|attribute| attribute.value.as_str())
    }

    /// Whether the element carries `xsi:nil="true"` (or `"1"`), which makes
    /// it count as absent.
    pub fn is_nil(&self) -> bool {
        self.attribute(Some(XSI_NS), "nil")
            .is_some_and(|value| matches!(value.trim(), "true" | "1"))
    }

    /// The element's text followed by that of every descendant, depth first.
    pub fn deep_text(&self) -> String {
        let mut text = self.text.clone();
        for child in &self.children {
            text.push_str(&child.deep_text());
        }
        text
    }
}

/// Reads a whole document into its root element.
///
/// # Errors
///
/// Fails when the bytes are empty, not UTF-8 or not namespace-well-formed
/// XML, carry a DOCTYPE, or nest deeper than [`MAX_DEPTH`].
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| XmlError::NotUtf8)?;
    if text.trim().is_empty() {
        return Err(XmlError::Empty);
    }

    let mut reader = NsReader::from_str(text);
    reader
        .resolver_mut()
        .set_max_namespace_bindings(MAX_NAMESPACE_BINDINGS);
    let mut tree = TreeBuilder::default();
    loop {
        let event = reader.read_event().map_err(reader_error)?;
        match event {
            Event::Start(start) => {
                let element = open_element(&reader, &start, &tree)?;
                tree.open(element)?;
            }
            Event::Empty(start) => {
                let element = open_element(&reader, &start, &tree)?;
                tree.open(element)?;
                tree.close()?;
            }
            Event::End(_) => tree.close()?,
            Event::Text(content) => tree.add_text(&content.xml10_content())?,
            Event::CData(content) => tree.add_text(&content.xml10_content())?,
            Event::GeneralRef(reference) => tree.add_text(&resolve_reference(&reference)?)?,
            Event::DocType(_) => return Err(XmlError::DocType),
            // Comments are not kept, but a forbidden character in one still
            // makes the document something other than XML.
            Event::Comment(content) => check_chars(&content.xml10_content(), || {
                if tree.open.is_empty() {
                    "a comment outside the root element".to_owned()
                } else {
                    format!("a comment in {}", tree.path(None))
                }
            })?,
            Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    tree.finish()
}

/// Whether XML 1.0 allows `character` in a document: the `Char` production,
/// `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`.
/// Surrogates cannot occur in a `char`, so everything from U+E000 up is
/// allowed except the two non-characters U+FFFE and U+FFFF.
pub(crate) fn is_xml_char(character: char) -> bool {
    matches!(
        character,
        '\u{9}' | '\u{A}' | '\u{D}'
            | '\u{20}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}'
            | '\u{10000}'..
    )
}

/// `text` with every character that would be invisible, or forbidden, in a
/// fault message written as a Rust escape such as `\u{1}`. Applied to anything
/// of the client's that a message repeats, so that a fault never carries a
/// control character, a bidirectional override or a character XML forbids.
pub(crate) fn printable(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if is_printable(character) {
            escaped.push(character);
        } else {
            escaped.extend(character.escape_unicode());
        }
    }
    escaped
}

/// Whether a character shows as itself in a one-line message. Beyond the
/// control characters and what XML forbids, this rules out the invisible
/// format characters that could disguise a message: zero-width spaces and
/// joiners, line and paragraph separators, bidirectional embeddings,
/// overrides and isolates, and the byte order mark.
fn is_printable(character: char) -> bool {
    let invisible = matches!(
        character,
        '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    );
    is_xml_char(character) && !character.is_control() && !invisible
}

/// The elements still open while the document is read, and the finished
/// root once there is one. Kept as an explicit stack rather than recursion so
/// that hostile nesting fails with [`XmlError::TooDeep`] instead of
/// overflowing the thread's stack.
#[derive(Default)]
struct TreeBuilder {
    open: Vec<Element>,
    root: Option<Element>,
}

impl TreeBuilder {
    fn open(&mut self, element: Element) -> Result<(), XmlError> {
        if self.open.is_empty() && self.root.is_some() {
            return Err(malformed_text("more than one root element"));
        }
        if self.open.len() >= MAX_DEPTH {
            return Err(XmlError::TooDeep);
        }
        self.open.push(element);
        Ok(())
    }

    fn close(&mut self) -> Result<(), XmlError> {
        let Some(mut element) = self.open.pop() else {
            return Err(malformed_text("an end tag without a start tag"));
        };

        // Indentation between child elements is not content.
        if !element.children.is_empty() && element.text.trim().is_empty() {
            element.text.clear();
        }

        match self.open.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
        Ok(())
    }

    fn add_text(&mut self, text: &str) -> Result<(), XmlError> {
        if self.open.is_empty() {
            // Whitespace around the root is allowed, and holds no forbidden
            // characters; anything else there is not XML at all.
            if text.trim().is_empty() {
                return Ok(());
            }
            return Err(malformed_text("text outside the root element"));
        }

        check_chars(text, || format!("the text of {}", self.path(None)))?;
        if let Some(element) = self.open.last_mut() {
            element.text.push_str(text);
        }
        Ok(())
    }

    /// The path from the root to the innermost open element by local names,
    /// followed by `next` when that element is about to open, e.g.
    /// `Envelope/Body/CreateRequest/Objects[2]/Name`. As in XPath a repeated
    /// element gets its 1-based index, though only from the second
    /// occurrence on, since later siblings are not read yet.
    fn path(&self, next: Option<&Name>) -> String {
        let mut steps = Vec::new();
        let mut parent = None;
        for element in &self.open {
            steps.push(path_step(parent, &element.name));
            parent = Some(element);
        }
        if let Some(name) = next {
            steps.push(path_step(parent, name));
        }
        steps.join("/")
    }

    fn finish(self) -> Result<Element, XmlError> {
        if let Some(unclosed) = self.open.last() {
            let message = format!("the document ends inside the element {}", unclosed.name);
            return Err(XmlError::Malformed(message));
        }
        self.root.ok_or_else(|| malformed_text("no root element"))
    }
}

/// Builds an element, childless for now, from its start tag, resolving every
/// name while the tag's own declarations are in scope. `tree` is where the
/// element goes, for saying where a forbidden character is.
fn open_element(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    tree: &TreeBuilder,
) -> Result<Element, XmlError> {
    let resolver = reader.resolver();
    let (namespace, local) = resolver.resolve_element(start.name());
    let name = expanded_name(namespace, local)?;

    // The local name is checked first, since the paths in the other
    // messages are made of it.
    check_chars(&name.local, || {
        if tree.open.is_empty() {
            "the name of the root element".to_owned()
        } else {
            format!("the name of an element in {}", tree.path(None))
        }
    })?;
    let path = || tree.path(Some(&name));
    if let Some(namespace) = &name.namespace {
        check_chars(namespace, || format!("the namespace of {}", path()))?;
    }

    let mut attributes = Vec::new();
    let mut xsi_type = None;
    for attribute in start.attributes() {
        let attribute = attribute.map_err(malformed)?;
        if attribute.key.as_namespace_binding().is_some() {
            continue;
        }
        let (namespace, local) = resolver.resolve_attribute(attribute.key);
        let attribute_name = expanded_name(namespace, local)?;
        for part in attribute_name
            .namespace
            .iter()
            .chain([&attribute_name.local])
        {
            check_chars(part, || format!("an attribute name of {}", path()))?;
        }
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(malformed)?
            .into_owned();
        check_chars(&value, || {
            format!("the attribute {} of {}", attribute_name.local, path())
        })?;

        if attribute_name.is(XSI_NS, "type") {
            xsi_type = resolve_type_name(reader, &value);
        }
        attributes.push(Attribute {
            name: attribute_name,
            value,
        });
    }

    Ok(Element {
        name,
        attributes,
        xsi_type,
        children: Vec::new(),
        text: String::new(),
    })
}

/// One step of a path: the local name of the element `name` names, indexed
/// when `parent` already holds an element of that name.
fn path_step(parent: Option<&Element>, name: &Name) -> String {
    let earlier = parent.map_or(0, |parent| {
        parent
            .children
            .iter()
            .filter(|sibling| sibling.name == *name)
            .count()
    });
    match earlier {
        0 => name.local.clone(),
        _ => format!("{}[{}]", name.local, earlier + 1),
    }
}

/// Fails on the first character of `text` that XML 1.0 forbids; `place`
/// says where `text` is, and is only worked out when it is needed.
fn check_chars(text: &str, place: impl FnOnce() -> String) -> Result<(), XmlError> {
    match text.chars().find(|character| !is_xml_char(*character)) {
        Some(character) => Err(XmlError::ForbiddenChar {
            code_point: format!("U+{:04X}", u32::from(character)),
            place: place(),
        }),
        None => Ok(()),
    }
}

/// Resolves an `xsi:type` value, a QName, the way element names resolve.
/// An empty value names no type at all.
fn resolve_type_name(reader: &NsReader<&[u8]>, value: &str) -> Option<Name> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }

    let (namespace, local) = reader.resolver().resolve_element(QName(value));
    let namespace = match namespace {
        ResolveResult::Bound(namespace) => Some(namespace.into_inner().to_owned()),
        ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
    };
    Some(Name {
        namespace,
        local: local.into_inner().to_owned(),
    })
}

fn expanded_name(namespace: ResolveResult<'_>, local: LocalName<'_>) -> Result<Name, XmlError> {
    let namespace = match namespace {
        ResolveResult::Bound(namespace) => Some(namespace.into_inner().to_owned()),
        ResolveResult::Unbound => None,
        ResolveResult::Unknown(prefix) => return Err(XmlError::UnboundPrefix(printable(&prefix))),
    };
    Ok(Name {
        namespace,
        local: local.into_inner().to_owned(),
    })
}

/// The text an entity or character reference stands for. Only the five
/// predefined entities exist, since a DOCTYPE that could define more is
/// refused.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, XmlError> {
    if let Some(character) = reference.resolve_char_ref().map_err(malformed)? {
        return Ok(character.to_string());
    }
    let name: &str = reference;
    match resolve_predefined_entity(name) {
        Some(text) => Ok(text.to_owned()),
        None => Err(XmlError::UnknownEntity(printable(name))),
    }
}

/// The error for what the reader refuses. Running out of namespace bindings
/// gets a message of Confab's own: quick-xml's tells the reader of the
/// message to raise a limit in code they cannot reach.
fn reader_error(error: quick_xml::Error) -> XmlError {
    match error {
        quick_xml::Error::Namespace(NamespaceError::TooManyBindings(_)) => {
            XmlError::TooManyNamespaces
        }
        other => malformed(other),
    }
}

/// A parser error as the message of [`XmlError::Malformed`]. quick-xml's
/// messages can repeat names and text from the input, hence the escaping.
fn malformed(error: impl fmt::Display) -> XmlError {
    XmlError::Malformed(printable(&error.to_string()))
}

fn malformed_text(message: &str) -> XmlError {
    XmlError::Malformed(message.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const PARTNER: &str = "http://exacttarget.com/wsdl/partnerAPI";

    #[test]
    fn names_resolve_through_any_prefix_or_none() {
        let root = parse(
            br#"<a:Root xmlns:a="urn:a" xmlns:b="urn:a"><b:Child/><Other xmlns="urn:c"/></a:Root>"#,
        )
        .unwrap();
        assert!(root.is("urn:a", "Root"));
        assert!(root.children[0].is("urn:a", "Child"));
        assert!(root.children[1].is("urn:c", "Other"));
    }

    #[test]
    fn unprefixed_attributes_are_in_no_namespace() {
        let root = parse(br#"<Root xmlns="urn:a" xmlns:x="urn:x" plain="1" x:q="2"/>"#).unwrap();
        assert_eq!(root.attribute(None, "plain"), Some("1"));
        assert_eq!(root.attribute(Some("urn:x"), "q"), Some("2"));
        assert_eq!(root.attributes.len(), 2, "declarations are not attributes");
    }

    #[test]
    fn xsi_type_resolves_prefixed_bare_and_unknown_values() {
        let xml = format!(
            r#"<R xmlns="{PARTNER}" xmlns:xsi="{XSI_NS}" xmlns:p="{PARTNER}">
                 <A xsi:type="p:DataExtension"/>
                 <B xsi:type="Subscriber"/>
                 <C xsi:type="q:List"/>
                 <D xsi:type=""/>
               </R>"#
        );
        let root = parse(xml.as_bytes()).unwrap();
        let types: Vec<_> = root.children.iter().map(|c| c.xsi_type.clone()).collect();
        let partner = |local: &str| Name {
            namespace: Some(PARTNER.to_owned()),
            local: local.to_owned(),
        };
        assert_eq!(types[0], Some(partner("DataExtension")));
        assert_eq!(types[1], Some(partner("Subscriber")));
        let unknown = Name {
            namespace: None,
            local: "List".to_owned(),
        };
        assert_eq!(types[2], Some(unknown));
        assert_eq!(types[3], None);
    }

    #[test]
    fn text_is_unescaped_and_cdata_kept() {
        let root =
            parse(b"<R><a>x &amp; &#x41;&#66; &lt;y&gt;</a><b><![CDATA[<&>]]></b></R>").unwrap();
        assert_eq!(root.children[0].text, "x & AB <y>");
        assert_eq!(root.children[1].text, "<&>");
    }

    #[test]
    fn indentation_is_dropped_but_leaf_whitespace_kept() {
        let root = parse(b"<R>\n  <a> </a>\n  <b>v</b>\n</R>\n").unwrap();
        assert_eq!(root.text, "");
        assert_eq!(root.children[0].text, " ");
        assert_eq!(root.children[1].text, "v");
    }

    #[test]
    fn nil_and_deep_text() {
        let xml = format!(r#"<R xmlns:i="{XSI_NS}"><a i:nil="true"/><b>t<c>u</c></b></R>"#);
        let root = parse(xml.as_bytes()).unwrap();
        assert!(root.children[0].is_nil());
        assert!(!root.children[1].is_nil());
        assert_eq!(root.children[1].deep_text(), "tu");
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let root = parse(b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<R/>").unwrap();
        assert_eq!(root.name.local, "R");
    }

    #[test]
    fn bad_documents_are_refused() {
        assert_eq!(parse(b"  "), Err(XmlError::Empty));
        assert_eq!(parse(b"<R>\xFF</R>"), Err(XmlError::NotUtf8));
        assert_eq!(parse(b"<!DOCTYPE R><R/>"), Err(XmlError::DocType));
        assert_eq!(
            parse(b"<p:R/>"),
            Err(XmlError::UnboundPrefix("p".to_owned()))
        );
        assert_eq!(
            parse(b"<R>&nbsp;</R>"),
            Err(XmlError::UnknownEntity("nbsp".to_owned()))
        );
        for bad in [
            &b"not xml"[..],
            b"<R><a></R>",
            b"<R>",
            b"<R/><S/>",
            b"<R a='1' a='2'/>",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(
                matches!(error, XmlError::Malformed(_)),
                "{bad:?} gave {error:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing() {
        let deep = "<a>".repeat(100_000);
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep));
        let fine = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(fine.as_bytes()).is_ok());
    }

    /// The message of the error `xml` gives, which must be a forbidden
    /// character.
    fn forbidden(xml: &[u8]) -> String {
        let error = parse(xml).unwrap_err();
        assert!(
            matches!(error, XmlError::ForbiddenChar { .. }),
            "{xml:?} gave {error:?}"
        );
        error.to_string()
    }

    #[test]
    fn forbidden_characters_in_text_are_refused_with_their_path() {
        let message = forbidden(b"<R><a/><a>x\x01y</a></R>");
        assert_eq!(
            message,
            "the request body holds the character U+0001, which XML 1.0 does not allow, in \
             the text of R/a[2]"
        );

        for (xml, code_point) in [
            (&b"<R>\x00</R>"[..], "U+0000"),
            (b"<R>\x0B</R>", "U+000B"),
            (b"<R>\x1F</R>", "U+001F"),
            ("<R>\u{FFFE}</R>".as_bytes(), "U+FFFE"),
            ("<R>\u{FFFF}</R>".as_bytes(), "U+FFFF"),
            (b"<R><![CDATA[\x07]]></R>", "U+0007"),
            (b"<R>&#1;</R>", "U+0001"),
            (b"<R>&#x1B;</R>", "U+001B"),
            (b"<R>&#xFFFF;</R>", "U+FFFF"),
        ] {
            let message = forbidden(xml);
            assert!(message.contains(code_point), "{xml:?}: {message}");
            assert!(message.ends_with("the text of R"), "{xml:?}: {message}");
        }
    }

    #[test]
    fn forbidden_characters_in_attributes_names_and_comments_are_refused() {
        let cases = [
            (
                &b"<R><a b='\x01'/></R>"[..],
                "U+0001, which XML 1.0 does not allow, in the attribute b of R/a",
            ),
            (
                b"<R><a b='&#x8;'/></R>",
                "U+0008, which XML 1.0 does not allow, in the attribute b of R/a",
            ),
            (
                b"<R><a\x01/></R>",
                "U+0001, which XML 1.0 does not allow, in the name of an element in R",
            ),
            (
                b"<R\x02/>",
                "U+0002, which XML 1.0 does not allow, in the name of the root element",
            ),
            (
                b"<R xmlns='urn:\x03'/>",
                "U+0003, which XML 1.0 does not allow, in the namespace of R",
            ),
            (
                b"<R><a b\x04='1'/></R>",
                "U+0004, which XML 1.0 does not allow, in an attribute name of R/a",
            ),
            (
                b"<R><!-- \x05 --></R>",
                "U+0005, which XML 1.0 does not allow, in a comment in R",
            ),
        ];
        for (xml, expected) in cases {
            let message = forbidden(xml);
            assert!(message.ends_with(expected), "{xml:?}: {message}");
            assert!(message.chars().all(is_xml_char), "{message:?}");
        }
    }

    #[test]
    fn every_character_xml_allows_is_kept() {
        // A raw CR would be read as a line end, so it comes as a reference.
        let text = "\t\n \u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}";
        let xml = format!("<R a='{text}'>{text}&#xD;&#x10FFFF;</R>");
        let root = parse(xml.as_bytes()).unwrap();
        assert_eq!(root.text, format!("{text}\r\u{10FFFF}"));
        // Attribute values are normalised: tab and newline become spaces.
        assert_eq!(
            root.attribute(None, "a"),
            Some("   \u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}")
        );
    }

    #[test]
    fn the_xml_char_production() {
        for allowed in [
            '\t',
            '\n',
            '\r',
            ' ',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
        ] {
            assert!(is_xml_char(allowed), "{allowed:?}");
        }
        for forbidden in [
            '\0', '\u{1}', '\u{8}', '\u{B}', '\u{C}', '\u{1F}', '\u{FFFE}',
        ] {
            assert!(!is_xml_char(forbidden), "{forbidden:?}");
        }
        assert!(!is_xml_char('\u{FFFF}'));
    }

    #[test]
    fn printable_escapes_what_a_message_must_not_carry() {
        assert_eq!(printable("plain ünïcode €"), "plain ünïcode €");
        assert_eq!(
            printable("a\u{0}b\u{1}c\td\ne\u{7F}f\u{85}"),
            r"a\u{0}b\u{1}c\u{9}d\u{a}e\u{7f}f\u{85}"
        );
        assert_eq!(printable("\u{FFFE}\u{FFFF}"), r"\u{fffe}\u{ffff}");
        assert_eq!(printable("x\u{202E}y\u{200B}"), r"x\u{202e}y\u{200b}");
        let escaped = printable("\u{1}");
        assert_eq!(
            printable(&escaped),
            escaped,
            "escaping twice changes nothing"
        );
    }

    #[test]
    fn too_many_namespaces_get_a_message_of_confabs_own() {
        let declarations: String = (0..=MAX_NAMESPACE_BINDINGS)
            .map(|index| format!(" xmlns:p{index}='urn:{index}'"))
            .collect();
        let error = parse(format!("<R{declarations}/>").as_bytes()).unwrap_err();
        assert_eq!(error, XmlError::TooManyNamespaces);
        let message = error.to_string();
        assert!(
            message.starts_with("the request declares too many namespaces"),
            "{message}"
        );
        assert!(!message.contains("NamespaceResolver"), "{message}");
    }

    #[test]
    fn names_in_errors_are_escaped() {
        let name = Name {
            namespace: Some("urn:\u{1}".to_owned()),
            local: "a\u{202E}b".to_owned(),
        };
        assert_eq!(name.to_string(), r"{urn:\u{1}}a\u{202e}b");
    }
}
