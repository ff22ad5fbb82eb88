//! Writing a call's objects back out, as the `Object` of a result in a
//! callback's `ResultDetailXML` (`IncludeObjects`).
//!
//! Each object is written with its `xsi:type` and its properties in WSDL
//! order: the `APIObject` base first (`Client`, `ID`, `ObjectID`,
//! `CustomerKey`, `CorrelationID`), then what its type adds. With
//! `OnlyIncludeBase` only the base goes out, still typed, so a client can
//! tell what the object was.

use confab_core::data_extension::{DataExtension, DataExtensionObject, Property};
use confab_core::object::{ApiObject, ObjectBase};
use confab_core::subscriber::Subscriber;

use crate::encode::XmlOut;

/// Writes `object` as an `Object` element.
pub(crate) fn write_object(out: &mut XmlOut, object: &ApiObject, base_only: bool) {
    out.open("Object", &[("xsi:type", object.type_name())]);
    write_base(out, object.base());
    if !base_only {
        write_own_properties(out, object);
    }
    out.close("Object");
}

/// The `APIObject` properties Confab keeps, in schema order.
fn write_base(out: &mut XmlOut, base: &ObjectBase) {
    if let Some(client_id) = base.client_id {
        out.open("Client", &[]);
        out.leaf("ID", &client_id.to_string());
        out.close("Client");
    }
    if let Some(id) = base.id {
        out.leaf("ID", &id.to_string());
    }
    if let Some(object_id) = &base.object_id {
        out.leaf("ObjectID", object_id);
    }
    if let Some(customer_key) = &base.customer_key {
        out.leaf("CustomerKey", customer_key);
    }
    if let Some(correlation_id) = &base.correlation_id {
        out.leaf("CorrelationID", correlation_id);
    }
}

/// What the object's own type adds to the base.
fn write_own_properties(out: &mut XmlOut, object: &ApiObject) {
    match object {
        ApiObject::DataExtension(definition) => write_data_extension(out, definition),
        ApiObject::DataExtensionObject(row) => write_row(out, row),
        ApiObject::Subscriber(subscriber) => write_subscriber(out, subscriber),
        ApiObject::ScheduledRequest { request_id, .. } => out.leaf("RequestID", request_id),
        ApiObject::ScheduledConversation {
            conversation_id, ..
        } => out.leaf("ConversationID", conversation_id),
        ApiObject::Unsupported { .. } => {}
    }
}

/// A data extension's definition.
fn write_data_extension(out: &mut XmlOut, definition: &DataExtension) {
    if let Some(name) = &definition.name {
        out.leaf("Name", name);
    }
    if let Some(description) = &definition.description {
        out.leaf("Description", description);
    }
    out.leaf("IsSendable", bool_text(definition.is_sendable));
    if definition.fields.is_empty() {
        return;
    }
    out.open("Fields", &[]);
    for field in &definition.fields {
        out.open("Field", &[]);
        out.leaf("Name", &field.name);
        if let Some(default_value) = &field.default_value {
            out.leaf("DefaultValue", default_value);
        }
        if let Some(max_length) = field.max_length {
            out.leaf("MaxLength", &max_length.to_string());
        }
        out.leaf("IsRequired", bool_text(field.is_required));
        if let Some(scale) = field.scale {
            out.leaf("Scale", &scale.to_string());
        }
        out.leaf("IsPrimaryKey", bool_text(field.is_primary_key));
        out.leaf("FieldType", field.field_type.as_str());
        out.close("Field");
    }
    out.close("Fields");
}

/// A data extension row: `Properties` (from `ObjectExtension`), then `Name`
/// and `Keys`.
fn write_row(out: &mut XmlOut, row: &DataExtensionObject) {
    write_pairs(out, "Properties", "Property", &row.properties);
    if let Some(name) = &row.name {
        out.leaf("Name", name);
    }
    write_pairs(out, "Keys", "Key", &row.keys);
}

/// A subscriber.
fn write_subscriber(out: &mut XmlOut, subscriber: &Subscriber) {
    if let Some(email_address) = &subscriber.email_address {
        out.leaf("EmailAddress", email_address);
    }
    for attribute in &subscriber.attributes {
        out.open("Attributes", &[]);
        write_pair_fields(out, attribute);
        out.close("Attributes");
    }
    if let Some(subscriber_key) = &subscriber.subscriber_key {
        out.leaf("SubscriberKey", subscriber_key);
    }
    if let Some(status) = subscriber.status {
        out.leaf("Status", status.as_str());
    }
}

/// A list of `Name`/`Value` pairs under `list`, each as `item`; nothing when
/// the list is empty.
fn write_pairs(out: &mut XmlOut, list: &str, item: &str, pairs: &[Property]) {
    if pairs.is_empty() {
        return;
    }
    out.open(list, &[]);
    for pair in pairs {
        out.open(item, &[]);
        write_pair_fields(out, pair);
        out.close(item);
    }
    out.close(list);
}

/// `Name` and, when there is one, `Value`.
fn write_pair_fields(out: &mut XmlOut, pair: &Property) {
    out.leaf("Name", &pair.name);
    if let Some(value) = &pair.value {
        out.leaf("Value", value);
    }
}

/// The `xsd:boolean` spelling.
fn bool_text(value: bool) -> &'static str {
    match value {
        true => "true",
        false => "false",
    }
}
