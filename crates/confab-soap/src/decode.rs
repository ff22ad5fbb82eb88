//! Turning a body element into a call.
//!
//! The decoder reads the request element the SOAP Body holds (`CreateRequest`,
//! `RetrieveRequestMsg`, ...) into a [`Call`]. It looks children up by local
//! name, in whatever order the client wrote them, and skips the ones it does
//! not know: clients reorder `Options` (captures README item 13), mix prefixed
//! and unprefixed children (item 15) and leave `Options` out although the WSDL
//! requires it (item 12).
//!
//! An element the WSDL allows once may appear once: a second `Options`, a
//! second `ConversationID` in it or a second `Name` in a property is a
//! client fault, because taking either one would be a guess at what the
//! client meant. Elements the WSDL lets repeat (`Objects`, `Property`,
//! `Value`, ...) are read in order, and the same property named twice in one
//! row (whatever its case) is a fault too. Elements Confab does not read are
//! skipped, repeated or not.
//!
//! Body elements count when they are in the partnerAPI namespace or in none
//! (a client that gets `elementFormDefault` wrong still means the same
//! element); children in any other namespace are someone's extension and are
//! skipped like unknown ones. An element with `xsi:nil="true"` counts as
//! absent.
//!
//! Values are held to their WSDL types. Enumerations must be spelled exactly
//! as the WSDL spells them (the one exception is `ResponseType`, whose
//! spelling the documentation itself gets wrong, §8 item 18), numbers must be
//! numbers and dates must be dates. Typed values are trimmed first, as XML
//! Schema collapses their whitespace; `xsd:string` values are taken as
//! written, except names and identifiers, whose surrounding whitespace cannot
//! be meant.
//!
//! Every problem is a client fault whose message names the element by its
//! path from the request element, with XPath's 1-based index on repeated
//! elements: `Options/SequenceCode: 'abc' is not an integer`,
//! `Objects[2]/Fields/Field[1]/Name is missing`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use confab_core::call::{Call, ObjectCall, Operation, RetrieveCall};
use confab_core::data_extension::{
    DataExtension, DataExtensionObject, FieldDefinition, FieldType, Property,
};
use confab_core::filter::{Filter, LogicalOperator, SimpleOperator};
use confab_core::object::{ApiObject, ObjectBase};
use confab_core::options::{
    AsyncResponse, QueuePriority, RequestOptions, RequestType, RespondWhen, ResponseType,
    SaveAction, SaveOption,
};
use confab_core::subscriber::{Subscriber, SubscriberStatus};
use confab_core::time::parse_instant;

use crate::PARTNER_NS;
use crate::fault::Fault;
use crate::xml::{Element, Name, printable};

/// Every partnerAPI operation, with the element its request body holds
/// (spec §2.4).
const OPERATIONS: [(&str, &str); 13] = [
    ("Create", "CreateRequest"),
    ("Retrieve", "RetrieveRequestMsg"),
    ("Update", "UpdateRequest"),
    ("Delete", "DeleteRequest"),
    ("Query", "QueryRequestMsg"),
    ("Describe", "DefinitionRequestMsg"),
    ("Execute", "ExecuteRequestMsg"),
    ("Perform", "PerformRequestMsg"),
    ("Configure", "ConfigureRequestMsg"),
    ("Schedule", "ScheduleRequestMsg"),
    ("VersionInfo", "VersionInfoRequestMsg"),
    ("Extract", "ExtractRequestMsg"),
    ("GetSystemStatus", "SystemStatusRequestMsg"),
];

const REQUEST_TYPES: [(&str, RequestType); 2] = [
    ("Synchronous", RequestType::Synchronous),
    ("Asynchronous", RequestType::Asynchronous),
];

const QUEUE_PRIORITIES: [(&str, QueuePriority); 3] = [
    ("Low", QueuePriority::Low),
    ("Medium", QueuePriority::Medium),
    ("High", QueuePriority::High),
];

const RESPONSE_TYPES: [(&str, ResponseType); 4] = [
    ("None", ResponseType::None),
    ("email", ResponseType::Email),
    ("FTP", ResponseType::Ftp),
    ("HTTPPost", ResponseType::HttpPost),
];

const RESPOND_WHEN: [(&str, RespondWhen); 7] = [
    ("Never", RespondWhen::Never),
    ("OnError", RespondWhen::OnError),
    ("Always", RespondWhen::Always),
    ("OnConversationError", RespondWhen::OnConversationError),
    (
        "OnConversationComplete",
        RespondWhen::OnConversationComplete,
    ),
    ("OnCallComplete", RespondWhen::OnCallComplete),
    ("OnExpired", RespondWhen::OnExpired),
];

const SAVE_ACTIONS: [(&str, SaveAction); 6] = [
    ("AddOnly", SaveAction::AddOnly),
    ("Default", SaveAction::Default),
    ("Nothing", SaveAction::Nothing),
    ("UpdateAdd", SaveAction::UpdateAdd),
    ("UpdateOnly", SaveAction::UpdateOnly),
    ("Delete", SaveAction::Delete),
];

const LOGICAL_OPERATORS: [(&str, LogicalOperator); 2] =
    [("AND", LogicalOperator::And), ("OR", LogicalOperator::Or)];

const FIELD_TYPES: &str =
    "one of Text, Number, Decimal, Date, Boolean, EmailAddress, Phone, Locale";

const SUBSCRIBER_STATUSES: &str = "one of Active, Bounced, Held, Unsubscribed, Deleted";

const SIMPLE_OPERATORS: &str = "a SimpleOperators value (equals, notEquals, greaterThan, \
     lessThan, isNull, isNotNull, greaterThanOrEqual, lessThanOrEqual, between, IN, like, ...)";

const BOOLEAN: &str = "a boolean (true, false, 1 or 0)";

/// How much of a client's value a fault message repeats.
const MAX_QUOTED_CHARS: usize = 60;

/// The longest `ConversationID` Confab accepts, in characters (Unicode
/// scalar values, as written, surrounding whitespace included).
///
/// The ID is stored with every request of its conversation and repeated in
/// every result and result message, so an unbounded one lets a single call
/// bloat all of them. Clients use GUIDs or short names; 512 leaves room for
/// any of those.
pub const MAX_CONVERSATION_ID_CHARS: usize = 512;

pub use confab_core::callback::MAX_SEND_RESPONSE_TO;

/// The longest `ResponseAddress` Confab accepts, in characters: longer than
/// any URL browsers and servers commonly take, and than any e-mail address.
/// Unbounded, a five-megabyte address was stored with every callback,
/// retried for a day, and written whole into the log at every attempt.
pub const MAX_RESPONSE_ADDRESS_CHARS: usize = 2_048;

/// The canonical spelling of a partnerAPI operation name, matched without
/// regard to case: `create` and `CREATE` are `Create`.
pub fn canonical_action(name: &str) -> Option<&'static str> {
    OPERATIONS
        .iter()
        .map(|(action, _)| *action)
        .find(|action| action.eq_ignore_ascii_case(name))
}

/// Decodes the request element of the body for `action`, which is the
/// canonical operation name when the client named a partnerAPI operation.
///
/// # Errors
///
/// A client fault when `action` is not a partnerAPI operation, when the body
/// holds a different request than the action names, when Confab does not
/// implement the operation, or when anything in the request is missing,
/// repeated where the WSDL allows it once, or does not parse.
pub(crate) fn decode_call(action: &str, request: &Element) -> Result<Call, Fault> {
    let Some((action, request_element)) = OPERATIONS.iter().find(|(name, _)| *name == action)
    else {
        return Err(Fault::client(format!(
            "{} is not an operation of the partnerAPI",
            quote(action)
        )));
    };

    if request.name.local != *request_element {
        return Err(Fault::client(format!(
            "the SOAP action is {action} but the body holds {}; a {action} call carries \
             {request_element}",
            printable(&request.name.local)
        )));
    }
    if !is_partner(&request.name) {
        return Err(Fault::client(format!(
            "the body element {} is not in the partnerAPI namespace {PARTNER_NS}",
            request.name
        )));
    }

    match *action {
        "Create" => decode_object_call(Operation::Create, request),
        "Update" => decode_object_call(Operation::Update, request),
        "Delete" => decode_object_call(Operation::Delete, request),
        "Perform" => decode_perform(request),
        "Retrieve" => decode_retrieve(request).map(Call::Retrieve),
        "VersionInfo" => Ok(Call::VersionInfo),
        other => Err(Fault::client(format!(
            "Confab does not implement the {other} operation"
        ))),
    }
}

/// Reads `CreateRequest`, `UpdateRequest` or `DeleteRequest`.
fn decode_object_call(operation: Operation, request: &Element) -> Result<Call, Fault> {
    let options = decode_options(child(request, "Options", "")?, "Options")?;

    let objects = children(request, "Objects")
        .enumerate()
        .map(|(index, object)| decode_object(object, "Objects", index))
        .collect::<Result<Vec<_>, _>>()?;
    if objects.is_empty() {
        return Err(Fault::client(format!(
            "{} holds no Objects",
            request.name.local
        )));
    }

    Ok(Call::Objects(ObjectCall {
        operation,
        options,
        action: None,
        objects,
    }))
}

/// Reads `PerformRequestMsg`, whose objects sit in `Definitions/Definition`.
fn decode_perform(request: &Element) -> Result<Call, Fault> {
    let options = decode_options(child(request, "Options", "")?, "Options")?;
    let action = identifier(request, "Action", "")?;

    let objects = child(request, "Definitions", "")?
        .into_iter()
        .flat_map(|definitions| children(definitions, "Definition"))
        .enumerate()
        .map(|(index, object)| decode_object(object, "Definitions/Definition", index))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Call::Objects(ObjectCall {
        operation: Operation::Perform,
        options,
        action,
        objects,
    }))
}

/// Reads an `Options` element; an absent one means every default.
fn decode_options(options: Option<&Element>, path: &str) -> Result<RequestOptions, Fault> {
    let Some(options) = options else {
        return Ok(RequestOptions::default());
    };

    let queue_priority = enumerated(options, "QueuePriority", path, &QUEUE_PRIORITIES)?;
    let (priority, priority_word) = decode_priority(options, path)?;

    let n_entries = children(options, "SendResponseTo").count();
    if n_entries > MAX_SEND_RESPONSE_TO {
        return Err(Fault::client(format!(
            "{} has {n_entries} entries; Confab accepts at most {MAX_SEND_RESPONSE_TO}",
            join(path, "SendResponseTo")
        )));
    }
    let send_response_to = children(options, "SendResponseTo")
        .enumerate()
        .map(|(index, entry)| decode_async_response(entry, &indexed(path, "SendResponseTo", index)))
        .collect::<Result<Vec<_>, _>>()?;

    let save_options_path = join(path, "SaveOptions");
    let save_options = child(options, "SaveOptions", path)?
        .into_iter()
        .flat_map(|wrapper| children(wrapper, "SaveOption"))
        .enumerate()
        .map(|(index, entry)| {
            decode_save_option(entry, &indexed(&save_options_path, "SaveOption", index))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let conversation_id = string(options, "ConversationID", path)?;
    if let Some(conversation_id) = &conversation_id {
        check_conversation_id(conversation_id, &join(path, "ConversationID"))?;
    }

    Ok(RequestOptions {
        request_type: enumerated(options, "RequestType", path, &REQUEST_TYPES)?,
        conversation_id,
        sequence_code: integer(options, "SequenceCode", path)?,
        calls_in_conversation: integer(options, "CallsInConversation", path)?,
        scheduled_time: instant(options, "ScheduledTime", path)?,
        request_expiration_time: instant(options, "RequestExpirationTime", path)?,
        queue_priority: queue_priority.or(priority_word),
        priority,
        send_response_to,
        save_options,
        client_id: client_id(options, path)?,
    })
}

/// Holds a `ConversationID` to [`MAX_CONVERSATION_ID_CHARS`]. The message
/// gives the length rather than the value, which is long by definition.
fn check_conversation_id(conversation_id: &str, path: &str) -> Result<(), Fault> {
    let n_chars = conversation_id.chars().count();
    if n_chars > MAX_CONVERSATION_ID_CHARS {
        return Err(Fault::client(format!(
            "{path} is {n_chars} characters long; Confab accepts at most \
             {MAX_CONVERSATION_ID_CHARS}"
        )));
    }
    Ok(())
}

/// Reads the legacy `Priority`. The WSDL types it as a byte, but the
/// documentation describes it with the `QueuePriority` words (spec §8 item
/// 10), so a word is read as the lane it names and used when `QueuePriority`
/// is absent.
fn decode_priority(
    options: &Element,
    path: &str,
) -> Result<(Option<i8>, Option<QueuePriority>), Fault> {
    let Some(element) = child(options, "Priority", path)? else {
        return Ok((None, None));
    };

    let value = element.text.trim();
    if let Ok(byte) = value.parse::<i8>() {
        return Ok((Some(byte), None));
    }
    match lookup(value, &QUEUE_PRIORITIES) {
        Some(lane) => Ok((None, Some(lane))),
        None => Err(invalid(
            &join(path, "Priority"),
            value,
            "a number from -128 to 127 or one of Low, Medium, High",
        )),
    }
}

/// Reads one `SendResponseTo`. `ResponseAddress` is required by the WSDL but
/// is left empty when absent: with `ResponseType` None there is nothing to
/// address, and the intake checks judge the other channels.
fn decode_async_response(entry: &Element, path: &str) -> Result<AsyncResponse, Fault> {
    // The newer documentation prints `Email` where the WSDL says `email`
    // (spec §8 item 18), so this one enumeration ignores case.
    let response_type = typed(
        entry,
        "ResponseType",
        path,
        |value| {
            RESPONSE_TYPES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(value))
                .map(|(_, response_type)| *response_type)
        },
        &one_of(&RESPONSE_TYPES),
    )?;
    let Some(response_type) = response_type else {
        return Err(missing(&join(path, "ResponseType")));
    };

    let response_address = identifier(entry, "ResponseAddress", path)?.unwrap_or_default();
    let n_chars = response_address.chars().count();
    if n_chars > MAX_RESPONSE_ADDRESS_CHARS {
        return Err(Fault::client(format!(
            "{} is {n_chars} characters long; Confab accepts at most \
             {MAX_RESPONSE_ADDRESS_CHARS}",
            join(path, "ResponseAddress")
        )));
    }

    Ok(AsyncResponse {
        response_type,
        response_address,
        respond_when: enumerated(entry, "RespondWhen", path, &RESPOND_WHEN)?,
        include_results: boolean(entry, "IncludeResults", path)?.unwrap_or(false),
        include_objects: boolean(entry, "IncludeObjects", path)?.unwrap_or(false),
        only_include_base: boolean(entry, "OnlyIncludeBase", path)?.unwrap_or(false),
    })
}

fn decode_save_option(entry: &Element, path: &str) -> Result<SaveOption, Fault> {
    let property_name = required_identifier(entry, "PropertyName", path)?;
    let save_action = enumerated(entry, "SaveAction", path, &SAVE_ACTIONS)?
        .ok_or_else(|| missing(&join(path, "SaveAction")))?;
    Ok(SaveOption {
        property_name,
        save_action,
    })
}

/// Reads the object at `index` of the list at `list_path`, by its
/// `xsi:type`.
fn decode_object(element: &Element, list_path: &str, index: usize) -> Result<ApiObject, Fault> {
    let path = format!("{list_path}[{}]", index + 1);
    let Some(type_name) = partner_type(element, &path)? else {
        return Err(untyped_object(&path, index));
    };
    let base = decode_base(element, &path)?;

    let object = match type_name {
        "DataExtension" => ApiObject::DataExtension(decode_data_extension(element, base, &path)?),
        "DataExtensionObject" => {
            ApiObject::DataExtensionObject(decode_data_extension_object(element, base, &path)?)
        }
        "Subscriber" => ApiObject::Subscriber(decode_subscriber(element, base, &path)?),
        "ScheduledRequest" => ApiObject::ScheduledRequest {
            base,
            request_id: required_identifier(element, "RequestID", &path)?,
        },
        "ScheduledConversation" => {
            let conversation_id = required_identifier(element, "ConversationID", &path)?;
            check_conversation_id(&conversation_id, &join(&path, "ConversationID"))?;
            ApiObject::ScheduledConversation {
                base,
                conversation_id,
            }
        }
        other => ApiObject::Unsupported {
            base,
            type_name: other.to_owned(),
        },
    };
    Ok(object)
}

/// The fault for an object without `xsi:type`. Nothing else on the wire
/// says what such an object is, so the message has to tell the caller how
/// it came about (captures README item 14).
fn untyped_object(path: &str, index: usize) -> Fault {
    Fault::client(format!(
        "object {} ({path}) has no xsi:type, so Confab cannot tell what kind of object it \
         is; give every object an xsi:type such as xsi:type=\"DataExtensionObject\" \
         (sfmc-sdk leaves xsi:type out when create() is given an array of objects)",
        index + 1
    ))
}

/// Reads the `APIObject` properties every object has.
fn decode_base(element: &Element, path: &str) -> Result<ObjectBase, Fault> {
    Ok(ObjectBase {
        customer_key: string(element, "CustomerKey", path)?,
        correlation_id: string(element, "CorrelationID", path)?,
        object_id: identifier(element, "ObjectID", path)?,
        id: integer(element, "ID", path)?,
        client_id: client_id(element, path)?,
    })
}

fn decode_data_extension(
    element: &Element,
    base: ObjectBase,
    path: &str,
) -> Result<DataExtension, Fault> {
    let fields_path = join(path, "Fields");
    let fields = child(element, "Fields", path)?
        .into_iter()
        .flat_map(|fields| children(fields, "Field"))
        .enumerate()
        .map(|(index, field)| decode_field(field, &indexed(&fields_path, "Field", index)))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(DataExtension {
        base,
        name: string(element, "Name", path)?,
        description: string(element, "Description", path)?,
        is_sendable: boolean(element, "IsSendable", path)?.unwrap_or(false),
        fields,
    })
}

fn decode_field(field: &Element, path: &str) -> Result<FieldDefinition, Fault> {
    let name = required_identifier(field, "Name", path)?;
    let field_type = typed(field, "FieldType", path, FieldType::parse, FIELD_TYPES)?;

    Ok(FieldDefinition {
        name,
        field_type: field_type.unwrap_or(FieldType::Text),
        max_length: unsigned(field, "MaxLength", path)?,
        scale: unsigned(field, "Scale", path)?,
        is_primary_key: boolean(field, "IsPrimaryKey", path)?.unwrap_or(false),
        is_required: boolean(field, "IsRequired", path)?.unwrap_or(false),
        default_value: string(field, "DefaultValue", path)?,
    })
}

fn decode_data_extension_object(
    element: &Element,
    base: ObjectBase,
    path: &str,
) -> Result<DataExtensionObject, Fault> {
    Ok(DataExtensionObject {
        base,
        name: string(element, "Name", path)?,
        properties: decode_pairs(element, ("Properties", "Property"), "property", path)?,
        keys: decode_pairs(element, ("Keys", "Key"), "key", path)?,
    })
}

fn decode_subscriber(element: &Element, base: ObjectBase, path: &str) -> Result<Subscriber, Fault> {
    // Unlike a row's properties, a subscriber's attributes repeat directly
    // under the object, without a wrapper.
    let attributes = children(element, "Attributes")
        .enumerate()
        .map(|(index, pair)| decode_pair(pair, &indexed(path, "Attributes", index)))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_names(&attributes, path, "Attributes", "attribute")?;

    Ok(Subscriber {
        base,
        email_address: identifier(element, "EmailAddress", path)?,
        subscriber_key: string(element, "SubscriberKey", path)?,
        status: typed(
            element,
            "Status",
            path,
            SubscriberStatus::parse,
            SUBSCRIBER_STATUSES,
        )?,
        attributes,
    })
}

/// Reads the `Name`/`Value` pairs under `wrapper/entry`, e.g.
/// `Properties/Property`; `noun` is what one pair is, for messages.
fn decode_pairs(
    element: &Element,
    (wrapper, entry): (&str, &str),
    noun: &str,
    path: &str,
) -> Result<Vec<Property>, Fault> {
    let wrapper_path = join(path, wrapper);
    let pairs = child(element, wrapper, path)?
        .into_iter()
        .flat_map(|pairs| children(pairs, entry))
        .enumerate()
        .map(|(index, pair)| decode_pair(pair, &indexed(&wrapper_path, entry, index)))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_names(&pairs, &wrapper_path, entry, noun)?;
    Ok(pairs)
}

/// Reads one `Name`/`Value` pair; a nil or absent `Value` is no value.
fn decode_pair(pair: &Element, path: &str) -> Result<Property, Fault> {
    Ok(Property {
        name: required_identifier(pair, "Name", path)?,
        value: string(pair, "Value", path)?,
    })
}

/// Fails when two of the pairs `path/entry[n]` name the same property. Names
/// are compared without regard to case, as data extension fields are, so
/// `Status` and `status` are one property; taking either value would be a
/// guess at what the caller meant.
fn check_unique_names(
    pairs: &[Property],
    path: &str,
    entry: &str,
    noun: &str,
) -> Result<(), Fault> {
    let mut first_index: HashMap<String, usize> = HashMap::with_capacity(pairs.len());
    for (index, pair) in pairs.iter().enumerate() {
        let lowered = pair.name.to_lowercase();
        if let Some(first) = first_index.get(&lowered) {
            return Err(Fault::client(format!(
                "{path}: the {noun} {} is given twice ({entry}[{}] and {entry}[{}])",
                quote(&pair.name),
                first + 1,
                index + 1
            )));
        }
        first_index.insert(lowered, index);
    }
    Ok(())
}

/// Reads `RetrieveRequestMsg/RetrieveRequest`.
///
/// `ObjectType` may be absent or empty when `ContinueRequest` asks for the
/// next page, since the engine answers that from the saved query. suds
/// (FuelSDK-Python and FuelSDK-PHP) sends exactly that: `<ObjectType/>`
/// next to the `ContinueRequest`.
fn decode_retrieve(message: &Element) -> Result<RetrieveCall, Fault> {
    let Some(request) = child(message, "RetrieveRequest", "")? else {
        return Err(Fault::client("RetrieveRequestMsg holds no RetrieveRequest"));
    };
    let path = "RetrieveRequest";

    let continue_request = identifier(request, "ContinueRequest", path)?;
    let object_type = match continue_request {
        Some(_) => identifier(request, "ObjectType", path)?.unwrap_or_default(),
        None => required_identifier(request, "ObjectType", path)?,
    };
    let properties = children(request, "Properties")
        .map(|property| property.text.trim().to_owned())
        .filter(|property| !property.is_empty())
        .collect();
    let filter = match child(request, "Filter", path)? {
        Some(filter) => Some(decode_filter(filter, &join(path, "Filter"))?),
        None => None,
    };

    let batch_size = match child(request, "Options", path)? {
        Some(options) => integer(options, "BatchSize", &join(path, "Options"))?,
        None => None,
    };
    let client_ids_path = join(path, "ClientIDs");
    let client_ids = children(request, "ClientIDs")
        .enumerate()
        .map(|(index, client)| integer(client, "ID", &format!("{client_ids_path}[{}]", index + 1)))
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>, _>>()?;

    Ok(RetrieveCall {
        object_type,
        properties,
        filter,
        continue_request,
        batch_size,
        client_ids,
    })
}

/// Reads a filter part by its `xsi:type`. Some clients leave the type out
/// of nested operands; the children then tell the two kinds apart, since
/// only a simple part has a `Property` and only a complex one a
/// `LeftOperand`.
fn decode_filter(element: &Element, path: &str) -> Result<Filter, Fault> {
    match partner_type(element, path)? {
        Some("SimpleFilterPart") => decode_simple_filter(element, path),
        Some("ComplexFilterPart") => decode_complex_filter(element, path),
        Some(other) => Err(Fault::client(format!(
            "{path}: Confab does not support filters of type {}; use SimpleFilterPart \
             or ComplexFilterPart",
            printable(other)
        ))),
        None if child(element, "Property", path)?.is_some() => decode_simple_filter(element, path),
        None if child(element, "LeftOperand", path)?.is_some() => {
            decode_complex_filter(element, path)
        }
        None => Err(Fault::client(format!(
            "{path} has no xsi:type and neither a Property nor a LeftOperand, so Confab \
             cannot tell what kind of filter it is"
        ))),
    }
}

fn decode_simple_filter(element: &Element, path: &str) -> Result<Filter, Fault> {
    let property = required_identifier(element, "Property", path)?;
    let operator = typed(
        element,
        "SimpleOperator",
        path,
        SimpleOperator::parse,
        SIMPLE_OPERATORS,
    )?
    .ok_or_else(|| missing(&join(path, "SimpleOperator")))?;

    Ok(Filter::Simple {
        property,
        operator,
        values: children(element, "Value")
            .map(|value| value.text.clone())
            .collect(),
        date_values: children(element, "DateValue")
            .map(|value| value.text.trim().to_owned())
            .collect(),
    })
}

fn decode_complex_filter(element: &Element, path: &str) -> Result<Filter, Fault> {
    let left_path = join(path, "LeftOperand");
    let Some(left) = child(element, "LeftOperand", path)? else {
        return Err(missing(&left_path));
    };
    let left = decode_filter(left, &left_path)?;
    let operator = enumerated(element, "LogicalOperator", path, &LOGICAL_OPERATORS)?
        .ok_or_else(|| missing(&join(path, "LogicalOperator")))?;
    let right = match child(element, "RightOperand", path)? {
        Some(right) => Some(Box::new(decode_filter(right, &join(path, "RightOperand"))?)),
        None => None,
    };

    let operands_path = join(path, "AdditionalOperands");
    let additional = child(element, "AdditionalOperands", path)?
        .into_iter()
        .flat_map(|operands| children(operands, "Operand"))
        .enumerate()
        .map(|(index, operand)| decode_filter(operand, &indexed(&operands_path, "Operand", index)))
        .collect::<Result<Vec<_>, _>>()?;

    // The WSDL makes RightOperand optional only so that AdditionalOperands
    // can stand in for it; a part with neither combines nothing and would
    // quietly match no row at all.
    if right.is_none() && additional.is_empty() {
        return Err(Fault::client(format!(
            "{path}/RightOperand is missing: a complex filter needs a RightOperand (or \
             AdditionalOperands) to combine with its LeftOperand"
        )));
    }

    Ok(Filter::Complex {
        left: Box::new(left),
        operator,
        right,
        additional,
    })
}

/// The local name of an element's `xsi:type`, if it has one. A type that
/// resolves to another namespace is refused rather than read by its local
/// name: it is either a schema type such as `xsd:string`, or a bare name
/// under a default namespace that is not the partnerAPI's, and in both
/// cases Confab would only be guessing at what the client meant.
fn partner_type<'a>(element: &'a Element, path: &str) -> Result<Option<&'a str>, Fault> {
    let Some(type_name) = &element.xsi_type else {
        return Ok(None);
    };
    if !is_partner(type_name) {
        return Err(Fault::client(format!(
            "{path}: xsi:type {type_name} is not a type of the partnerAPI namespace \
             {PARTNER_NS}"
        )));
    }
    Ok(Some(type_name.local.as_str()))
}

/// Whether a name belongs to the partnerAPI: in its namespace or in none.
fn is_partner(name: &Name) -> bool {
    name.namespace
        .as_deref()
        .is_none_or(|namespace| namespace == PARTNER_NS)
}

/// The children of `parent` named `local`, nil ones left out: for the
/// elements the WSDL lets repeat.
fn children<'a>(parent: &'a Element, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    parent.children.iter().filter(move |element| {
        element.name.local == local && is_partner(&element.name) && !element.is_nil()
    })
}

/// The child of `parent` (at `path`) named `local`, an element the WSDL
/// allows once. A nil one counts as absent.
///
/// A second occurrence is a client fault rather than ignored: whichever one
/// Confab took, some client would mean the other, and for an `Options` or a
/// key that decides what the call does. A nil occurrence counts too, since
/// the element is there twice all the same.
fn child<'a>(parent: &'a Element, local: &str, path: &str) -> Result<Option<&'a Element>, Fault> {
    let mut occurrences = parent
        .children
        .iter()
        .filter(|element| element.name.local == local && is_partner(&element.name));
    let first = occurrences.next();
    if occurrences.next().is_some() {
        return Err(Fault::client(format!(
            "{} is given more than once, but the partnerAPI allows only one",
            join(path, local)
        )));
    }
    Ok(first.filter(|element| !element.is_nil()))
}

/// An `xsd:string` child, as written.
fn string(parent: &Element, local: &str, path: &str) -> Result<Option<String>, Fault> {
    Ok(child(parent, local, path)?.map(|element| element.text.clone()))
}

/// A name or identifier child, trimmed; an empty one counts as absent.
fn identifier(parent: &Element, local: &str, path: &str) -> Result<Option<String>, Fault> {
    let Some(element) = child(parent, local, path)? else {
        return Ok(None);
    };
    let value = element.text.trim();
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

fn required_identifier(parent: &Element, local: &str, path: &str) -> Result<String, Fault> {
    identifier(parent, local, path)?.ok_or_else(|| missing(&join(path, local)))
}

/// A typed child: absent is `None`, present must parse.
fn typed<T>(
    parent: &Element,
    local: &str,
    path: &str,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, Fault> {
    let Some(element) = child(parent, local, path)? else {
        return Ok(None);
    };
    let value = element.text.trim();
    match parse(value) {
        Some(parsed) => Ok(Some(parsed)),
        None => Err(invalid(&join(path, local), value, expected)),
    }
}

fn enumerated<T: Copy>(
    parent: &Element,
    local: &str,
    path: &str,
    table: &[(&str, T)],
) -> Result<Option<T>, Fault> {
    typed(
        parent,
        local,
        path,
        |value| lookup(value, table),
        &one_of(table),
    )
}

/// A signed integer child (`xsd:int` or `xsd:long`, by the type asked for).
fn integer<T: std::str::FromStr>(
    parent: &Element,
    local: &str,
    path: &str,
) -> Result<Option<T>, Fault> {
    typed(
        parent,
        local,
        path,
        |value| value.parse().ok(),
        "an integer",
    )
}

fn unsigned(parent: &Element, local: &str, path: &str) -> Result<Option<u32>, Fault> {
    typed(
        parent,
        local,
        path,
        |value| value.parse().ok(),
        "a whole number of 0 or more",
    )
}

fn boolean(parent: &Element, local: &str, path: &str) -> Result<Option<bool>, Fault> {
    let parse = |value: &str| match value {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    };
    typed(parent, local, path, parse, BOOLEAN)
}

fn instant(parent: &Element, local: &str, path: &str) -> Result<Option<DateTime<Utc>>, Fault> {
    typed(
        parent,
        local,
        path,
        parse_instant,
        "a date and time (xsd:dateTime)",
    )
}

/// `Client/ID`, the account an object or a call means to act in.
fn client_id(parent: &Element, path: &str) -> Result<Option<i64>, Fault> {
    match child(parent, "Client", path)? {
        Some(client) => integer(client, "ID", &join(path, "Client")),
        None => Ok(None),
    }
}

fn lookup<T: Copy>(value: &str, table: &[(&str, T)]) -> Option<T> {
    table
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, item)| *item)
}

fn one_of<T>(table: &[(&str, T)]) -> String {
    let names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
    format!("one of {}", names.join(", "))
}

fn join(path: &str, local: &str) -> String {
    if path.is_empty() {
        local.to_owned()
    } else {
        format!("{path}/{local}")
    }
}

fn indexed(path: &str, local: &str, index: usize) -> String {
    format!("{}[{}]", join(path, local), index + 1)
}

fn missing(path: &str) -> Fault {
    Fault::client(format!("{path} is missing"))
}

fn invalid(path: &str, value: &str, expected: &str) -> Fault {
    Fault::client(format!("{path}: {} is not {expected}", quote(value)))
}

/// Quotes a client's value for a fault message, cut short so that a huge
/// value cannot bloat the answer, and with anything invisible escaped (see
/// [`printable`]). It is cut before it is escaped, so an escape is never cut
/// in half.
fn quote(value: &str) -> String {
    if value.chars().count() <= MAX_QUOTED_CHARS {
        return format!("'{}'", printable(value));
    }
    let head: String = value.chars().take(MAX_QUOTED_CHARS).collect();
    format!("'{}...'", printable(&head))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::envelope::decode_envelope;
    use crate::fault::FaultKind;
    use crate::{SOAP11_NS, XSI_NS};

    /// Decodes `request` as the body of a SOAP 1.1 call to `action`.
    fn decode(action: &str, request: &str) -> Result<Call, Fault> {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP11_NS}" xmlns:xsi="{XSI_NS}" xmlns:p="{PARTNER_NS}">
               <s:Body>{request}</s:Body></s:Envelope>"#
        );
        decode_envelope(xml.as_bytes(), Some("text/xml"), Some(action))
            .unwrap()
            .call
    }

    fn create(inner: &str) -> Result<Call, Fault> {
        decode(
            "Create",
            &format!(r#"<CreateRequest xmlns="{PARTNER_NS}">{inner}</CreateRequest>"#),
        )
    }

    fn retrieve(inner: &str) -> Result<RetrieveCall, Fault> {
        let message = format!(
            r#"<RetrieveRequestMsg xmlns="{PARTNER_NS}"><RetrieveRequest>{inner}</RetrieveRequest>
               </RetrieveRequestMsg>"#
        );
        match decode("Retrieve", &message)? {
            Call::Retrieve(retrieve) => Ok(retrieve),
            other => panic!("not a Retrieve: {other:?}"),
        }
    }

    fn object_call(result: Result<Call, Fault>) -> ObjectCall {
        match result {
            Ok(Call::Objects(call)) => call,
            other => panic!("not an object call: {other:?}"),
        }
    }

    /// The options of a Create with `options` and one untouched object.
    fn options(options: &str) -> Result<RequestOptions, Fault> {
        let inner = format!(
            r#"<Options>{options}</Options><Objects xsi:type="p:ScheduledRequest">
               <RequestID>r</RequestID></Objects>"#
        );
        create(&inner).map(|call| object_call(Ok(call)).options)
    }

    /// The single object of a Create.
    fn object(xml: &str) -> Result<ApiObject, Fault> {
        let mut call = object_call(Ok(create(xml)?));
        assert_eq!(call.objects.len(), 1);
        Ok(call.objects.remove(0))
    }

    fn client_fault<T: std::fmt::Debug>(result: Result<T, Fault>) -> String {
        let fault = result.unwrap_err();
        assert_eq!(fault.kind, FaultKind::Client);
        fault.message
    }

    #[test]
    fn every_option_is_read_in_any_order() {
        let options = options(
            r#"<QueuePriority>High</QueuePriority>
               <SendResponseTo>
                 <RespondWhen>OnConversationComplete</RespondWhen>
                 <ResponseAddress> https://example.com/hook </ResponseAddress>
                 <ResponseType>HTTPPOST</ResponseType>
                 <IncludeResults>1</IncludeResults>
                 <IncludeObjects>true</IncludeObjects>
                 <OnlyIncludeBase>0</OnlyIncludeBase>
               </SendResponseTo>
               <SendResponseTo><ResponseType>Email</ResponseType>
                 <ResponseAddress>a@b.c</ResponseAddress></SendResponseTo>
               <RequestExpirationTime>2026-12-04T00:00:00Z</RequestExpirationTime>
               <ScheduledTime>2026-12-03T12:00:00</ScheduledTime>
               <CallsInConversation> 3 </CallsInConversation>
               <SequenceCode>+1</SequenceCode>
               <ConversationID/>
               <RequestType>Asynchronous</RequestType>
               <Priority>2</Priority>
               <SaveOptions><SaveOption><PropertyName>*</PropertyName>
                 <SaveAction>UpdateAdd</SaveAction><TrackChanges>true</TrackChanges></SaveOption>
                 </SaveOptions>
               <Client><ID>12345</ID></Client>
               <Container/>"#,
        )
        .unwrap();

        let expected = RequestOptions {
            request_type: Some(RequestType::Asynchronous),
            conversation_id: Some(String::new()),
            sequence_code: Some(1),
            calls_in_conversation: Some(3),
            scheduled_time: Some(Utc.with_ymd_and_hms(2026, 12, 3, 18, 0, 0).unwrap()),
            request_expiration_time: Some(Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap()),
            queue_priority: Some(QueuePriority::High),
            priority: Some(2),
            send_response_to: vec![
                AsyncResponse {
                    response_type: ResponseType::HttpPost,
                    response_address: "https://example.com/hook".into(),
                    respond_when: Some(RespondWhen::OnConversationComplete),
                    include_results: true,
                    include_objects: true,
                    only_include_base: false,
                },
                AsyncResponse {
                    response_type: ResponseType::Email,
                    response_address: "a@b.c".into(),
                    respond_when: None,
                    include_results: false,
                    include_objects: false,
                    only_include_base: false,
                },
            ],
            save_options: vec![SaveOption {
                property_name: "*".into(),
                save_action: SaveAction::UpdateAdd,
            }],
            client_id: Some(12345),
        };
        assert_eq!(options, expected);
    }

    #[test]
    fn absent_and_empty_options_are_defaults() {
        let object = r#"<Objects xsi:type="ScheduledRequest"><RequestID>r</RequestID></Objects>"#;
        for inner in [
            object.to_owned(),
            format!("<Options/>{object}"),
            format!("{object}<Options></Options>"),
            format!(r#"<Options xsi:nil="true"><RequestType>x</RequestType></Options>{object}"#),
        ] {
            let call = object_call(create(&inner));
            assert_eq!(call.options, RequestOptions::default(), "{inner}");
        }
    }

    #[test]
    fn a_priority_word_stands_in_for_a_missing_queue_priority() {
        let word = options("<Priority>Low</Priority>").unwrap();
        assert_eq!(
            (word.priority, word.queue_priority),
            (None, Some(QueuePriority::Low))
        );

        let both = options("<Priority>Low</Priority><QueuePriority>High</QueuePriority>").unwrap();
        assert_eq!(both.queue_priority, Some(QueuePriority::High));

        let number = options("<Priority>-3</Priority>").unwrap();
        assert_eq!((number.priority, number.queue_priority), (Some(-3), None));
    }

    #[test]
    fn option_values_out_of_their_type_are_client_faults() {
        let cases = [
            (
                "<SequenceCode>abc</SequenceCode>",
                "Options/SequenceCode: 'abc' is not an integer",
            ),
            (
                "<CallsInConversation>2.0</CallsInConversation>",
                "Options/CallsInConversation: '2.0' is not an integer",
            ),
            (
                "<RequestType>asynchronous</RequestType>",
                "Options/RequestType: 'asynchronous' is not one of Synchronous, Asynchronous",
            ),
            (
                "<QueuePriority>high</QueuePriority>",
                "Options/QueuePriority: 'high' is not one of Low, Medium, High",
            ),
            (
                "<Priority>300</Priority>",
                "Options/Priority: '300' is not a number from -128 to 127 or one of Low, \
                 Medium, High",
            ),
            (
                "<ScheduledTime>tomorrow</ScheduledTime>",
                "Options/ScheduledTime: 'tomorrow' is not a date and time (xsd:dateTime)",
            ),
            (
                "<RequestExpirationTime>2026-13-01T00:00:00Z</RequestExpirationTime>",
                "Options/RequestExpirationTime: '2026-13-01T00:00:00Z' is not a date and time \
                 (xsd:dateTime)",
            ),
            (
                "<Client><ID>me</ID></Client>",
                "Options/Client/ID: 'me' is not an integer",
            ),
            (
                "<SendResponseTo><ResponseType>SMS</ResponseType></SendResponseTo>",
                "Options/SendResponseTo[1]/ResponseType: 'SMS' is not one of None, email, FTP, \
                 HTTPPost",
            ),
            (
                "<SendResponseTo><ResponseType>None</ResponseType></SendResponseTo>\
                 <SendResponseTo><ResponseType>None</ResponseType>\
                 <RespondWhen>always</RespondWhen></SendResponseTo>",
                "Options/SendResponseTo[2]/RespondWhen: 'always' is not one of Never, OnError, \
                 Always, OnConversationError, OnConversationComplete, OnCallComplete, OnExpired",
            ),
            (
                "<SendResponseTo><ResponseType>None</ResponseType>\
                 <IncludeResults>yes</IncludeResults></SendResponseTo>",
                "Options/SendResponseTo[1]/IncludeResults: 'yes' is not a boolean (true, false, \
                 1 or 0)",
            ),
            (
                "<SendResponseTo><ResponseAddress>x</ResponseAddress></SendResponseTo>",
                "Options/SendResponseTo[1]/ResponseType is missing",
            ),
            (
                "<SaveOptions><SaveOption><PropertyName>*</PropertyName>\
                 <SaveAction>upsert</SaveAction></SaveOption></SaveOptions>",
                "Options/SaveOptions/SaveOption[1]/SaveAction: 'upsert' is not one of AddOnly, \
                 Default, Nothing, UpdateAdd, UpdateOnly, Delete",
            ),
            (
                "<SaveOptions><SaveOption><SaveAction>Default</SaveAction></SaveOption>\
                 </SaveOptions>",
                "Options/SaveOptions/SaveOption[1]/PropertyName is missing",
            ),
        ];
        for (xml, expected) in cases {
            assert_eq!(client_fault(options(xml)), expected, "{xml}");
        }
    }

    #[test]
    fn long_values_are_cut_short_in_faults() {
        let long = "9".repeat(500);
        let message = client_fault(options(&format!("<SequenceCode>{long}</SequenceCode>")));
        assert!(message.len() < 120, "{message}");
        assert!(message.contains("...'"), "{message}");
    }

    #[test]
    fn nil_elements_count_as_absent() {
        let options = options(
            r#"<ScheduledTime xsi:nil="true"/><SequenceCode xsi:nil="1">junk</SequenceCode>"#,
        )
        .unwrap();
        assert_eq!(options, RequestOptions::default());

        let row = object(
            r#"<Objects xsi:type="DataExtensionObject">
                 <ObjectID xsi:nil="true"/>
                 <CustomerKey>DE</CustomerKey>
                 <Properties>
                   <Property><Name>A</Name><Value xsi:nil="true"/></Property>
                   <Property><Name>B</Name></Property>
                   <Property><Name>C</Name><Value/></Property>
                   <Property xsi:nil="true"/>
                 </Properties>
               </Objects>"#,
        )
        .unwrap();
        let ApiObject::DataExtensionObject(row) = row else {
            panic!("not a row: {row:?}");
        };
        assert_eq!(row.base.object_id, None);
        let values: Vec<_> = row
            .properties
            .iter()
            .map(|property| (property.name.as_str(), property.value.as_deref()))
            .collect();
        assert_eq!(values, [("A", None), ("B", None), ("C", Some(""))]);
    }

    #[test]
    fn a_data_extension_reads_every_field_property() {
        let definition = object(
            r#"<Objects xsi:type="p:DataExtension">
                 <Description>Orders &amp; more</Description>
                 <IsSendable>true</IsSendable>
                 <Fields>
                   <Field><Name>Plain</Name></Field>
                   <Field>
                     <DefaultValue>0.00</DefaultValue><Scale>2</Scale><MaxLength>18</MaxLength>
                     <FieldType>Decimal</FieldType><Name> Amount </Name><IsRequired>1</IsRequired>
                   </Field>
                 </Fields>
                 <Name>Orders</Name>
                 <CustomerKey>orders</CustomerKey>
                 <CorrelationID>c-1</CorrelationID>
                 <ID>42</ID>
                 <Client><ID>7</ID></Client>
               </Objects>"#,
        )
        .unwrap();

        let expected = DataExtension {
            base: ObjectBase {
                customer_key: Some("orders".into()),
                correlation_id: Some("c-1".into()),
                object_id: None,
                id: Some(42),
                client_id: Some(7),
            },
            name: Some("Orders".into()),
            description: Some("Orders & more".into()),
            is_sendable: true,
            fields: vec![
                FieldDefinition {
                    name: "Plain".into(),
                    field_type: FieldType::Text,
                    max_length: None,
                    scale: None,
                    is_primary_key: false,
                    is_required: false,
                    default_value: None,
                },
                FieldDefinition {
                    name: "Amount".into(),
                    field_type: FieldType::Decimal,
                    max_length: Some(18),
                    scale: Some(2),
                    is_primary_key: false,
                    is_required: true,
                    default_value: Some("0.00".into()),
                },
            ],
        };
        assert_eq!(definition, ApiObject::DataExtension(expected));
    }

    #[test]
    fn object_values_out_of_their_type_are_client_faults() {
        let cases = [
            (
                r#"<Objects xsi:type="DataExtension"><Fields><Field><Name>A</Name></Field><Field>
                   <Name>B</Name><FieldType>text</FieldType></Field></Fields></Objects>"#,
                "Objects[1]/Fields/Field[2]/FieldType: 'text' is not one of Text, Number, \
                 Decimal, Date, Boolean, EmailAddress, Phone, Locale",
            ),
            (
                r#"<Objects xsi:type="DataExtension"><Fields><Field><MaxLength>50</MaxLength>
                   </Field></Fields></Objects>"#,
                "Objects[1]/Fields/Field[1]/Name is missing",
            ),
            (
                r#"<Objects xsi:type="DataExtension"><Fields><Field><Name>A</Name>
                   <MaxLength>-1</MaxLength></Field></Fields></Objects>"#,
                "Objects[1]/Fields/Field[1]/MaxLength: '-1' is not a whole number of 0 or more",
            ),
            (
                r#"<Objects xsi:type="Subscriber"><Status>active</Status></Objects>"#,
                "Objects[1]/Status: 'active' is not one of Active, Bounced, Held, \
                 Unsubscribed, Deleted",
            ),
            (
                r#"<Objects xsi:type="Subscriber"><ID>x1</ID></Objects>"#,
                "Objects[1]/ID: 'x1' is not an integer",
            ),
            (
                r#"<Objects xsi:type="DataExtensionObject"><Keys><Key><Value>1</Value></Key></Keys>
                   </Objects>"#,
                "Objects[1]/Keys/Key[1]/Name is missing",
            ),
            (
                r#"<Objects xsi:type="ScheduledConversation"/>"#,
                "Objects[1]/ConversationID is missing",
            ),
            ("<Options/>", "CreateRequest holds no Objects"),
            (
                r#"<Objects xsi:type="xsd:string" xmlns:xsd="http://www.w3.org/2001/XMLSchema"/>"#,
                "Objects[1]: xsi:type {http://www.w3.org/2001/XMLSchema}string is not a type \
                 of the partnerAPI namespace http://exacttarget.com/wsdl/partnerAPI",
            ),
        ];
        for (xml, expected) in cases {
            assert_eq!(client_fault(create(xml)), expected, "{xml}");
        }
    }

    #[test]
    fn an_object_without_xsi_type_is_refused_by_position() {
        let message = client_fault(create(
            r#"<Objects xsi:type="ScheduledRequest"><RequestID>r</RequestID></Objects>
               <Objects><CustomerKey>DE</CustomerKey></Objects>"#,
        ));
        assert!(
            message.starts_with(
                "object 2 (Objects[2]) has no xsi:type, so Confab cannot tell what kind of \
                 object it is"
            ),
            "{message}"
        );
    }

    #[test]
    fn other_kinds_of_objects() {
        let subscriber = object(
            r#"<Objects xsi:type="Subscriber">
                 <EmailAddress> a@example.com </EmailAddress><SubscriberKey>k1</SubscriberKey>
                 <Status>Unsubscribed</Status>
                 <Attributes><Name>First</Name><Value>Ann</Value></Attributes>
                 <Attributes><Name>Last</Name><Value>Lee</Value></Attributes>
               </Objects>"#,
        )
        .unwrap();
        let ApiObject::Subscriber(subscriber) = subscriber else {
            panic!("not a subscriber: {subscriber:?}");
        };
        assert_eq!(subscriber.email_address.as_deref(), Some("a@example.com"));
        assert_eq!(subscriber.subscriber_key.as_deref(), Some("k1"));
        assert_eq!(subscriber.status, Some(SubscriberStatus::Unsubscribed));
        let attributes: Vec<_> = subscriber
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(attributes, ["First", "Last"]);

        let call = object_call(decode(
            "Delete",
            &format!(
                r#"<DeleteRequest xmlns="{PARTNER_NS}">
                     <Objects xsi:type="ScheduledRequest"><RequestID> 69B55DB2-C71D </RequestID>
                       </Objects>
                     <Objects xsi:type="ScheduledConversation">
                       <ConversationID>Test List 1</ConversationID></Objects>
                     <Objects xsi:type="TriggeredSend"><CustomerKey>ts</CustomerKey></Objects>
                     <Objects xsi:type="undeclared:List"/>
                   </DeleteRequest>"#
            ),
        ));
        assert_eq!(call.operation, Operation::Delete);
        let types: Vec<_> = call.objects.iter().map(ApiObject::type_name).collect();
        assert_eq!(
            types,
            [
                "ScheduledRequest",
                "ScheduledConversation",
                "TriggeredSend",
                "List"
            ]
        );
        let ApiObject::ScheduledRequest { request_id, .. } = &call.objects[0] else {
            panic!("not a scheduled request");
        };
        assert_eq!(request_id, "69B55DB2-C71D");
        let ApiObject::ScheduledConversation {
            conversation_id, ..
        } = &call.objects[1]
        else {
            panic!("not a scheduled conversation");
        };
        assert_eq!(conversation_id, "Test List 1");
        assert_eq!(call.objects[2].base().customer_key.as_deref(), Some("ts"));
        assert!(matches!(call.objects[3], ApiObject::Unsupported { .. }));
    }

    #[test]
    fn children_of_foreign_namespaces_are_skipped() {
        let row = object(
            r#"<Objects xsi:type="DataExtensionObject" xmlns:x="urn:extension">
                 <x:CustomerKey>not this</x:CustomerKey>
                 <p:CustomerKey>DE</p:CustomerKey>
                 <Properties><Property><Name>A</Name><Value>1</Value></Property></Properties>
               </Objects>"#,
        )
        .unwrap();
        assert_eq!(row.base().customer_key.as_deref(), Some("DE"));
    }

    #[test]
    fn update_reads_row_keys() {
        let update = object_call(decode(
            "Update",
            &format!(
                r#"<UpdateRequest xmlns="{PARTNER_NS}"><Objects xsi:type="DataExtensionObject">
                   <CustomerKey>DE</CustomerKey><Keys><Key><Name>Id</Name><Value>1</Value></Key>
                   </Keys></Objects></UpdateRequest>"#
            ),
        ));
        assert_eq!(update.operation, Operation::Update);
        let ApiObject::DataExtensionObject(row) = &update.objects[0] else {
            panic!("not a row");
        };
        assert_eq!(
            row.keys,
            [Property {
                name: "Id".into(),
                value: Some("1".into())
            }]
        );
    }

    #[test]
    fn perform_reads_action_and_definitions() {
        let perform = object_call(decode(
            "Perform",
            &format!(
                r#"<PerformRequestMsg xmlns="{PARTNER_NS}">
                     <Options><RequestType>Asynchronous</RequestType></Options>
                     <Action> start </Action>
                     <Definitions>
                       <Definition xsi:type="ImportDefinition"><CustomerKey>imp</CustomerKey>
                         </Definition>
                     </Definitions>
                   </PerformRequestMsg>"#
            ),
        ));
        assert_eq!(perform.operation, Operation::Perform);
        assert_eq!(perform.action.as_deref(), Some("start"));
        assert_eq!(
            perform.options.request_type,
            Some(RequestType::Asynchronous)
        );
        assert_eq!(perform.objects[0].type_name(), "ImportDefinition");

        let untyped = decode(
            "Perform",
            &format!(
                r#"<PerformRequestMsg xmlns="{PARTNER_NS}"><Definitions><Definition/></Definitions>
                   </PerformRequestMsg>"#
            ),
        );
        let message = client_fault(untyped);
        assert!(message.starts_with("object 1 (Definitions/Definition[1]) has no xsi:type"));
    }

    #[test]
    fn a_complex_filter_with_additional_operands() {
        let retrieve = retrieve(
            r#"<ObjectType> ResultItem </ObjectType>
               <Properties>RequestID</Properties><Properties> StatusCode </Properties>
               <Filter xsi:type="p:ComplexFilterPart">
                 <LeftOperand xsi:type="p:SimpleFilterPart">
                   <Property>RequestID</Property><SimpleOperator>IN</SimpleOperator>
                   <Value>a</Value><Value>b &amp; c</Value>
                 </LeftOperand>
                 <LogicalOperator>OR</LogicalOperator>
                 <RightOperand>
                   <Property>CreatedDate</Property><SimpleOperator>between</SimpleOperator>
                   <DateValue> 2026-01-01T00:00:00Z </DateValue><DateValue>2026-02-01</DateValue>
                 </RightOperand>
                 <AdditionalOperands>
                   <Operand xsi:type="SimpleFilterPart"><Property>StatusCode</Property>
                     <SimpleOperator>isNull</SimpleOperator></Operand>
                   <Operand>
                     <LeftOperand><Property>A</Property><SimpleOperator>equals</SimpleOperator>
                       <Value>1</Value></LeftOperand>
                     <LogicalOperator>AND</LogicalOperator>
                     <RightOperand><Property>B</Property>
                       <SimpleOperator>isNotNull</SimpleOperator></RightOperand>
                   </Operand>
                 </AdditionalOperands>
               </Filter>
               <ContinueRequest>prev-id</ContinueRequest>
               <Options><BatchSize>500</BatchSize></Options>
               <ClientIDs><ID>100</ID></ClientIDs><ClientIDs><ClientID>5</ClientID></ClientIDs>
                 <ClientIDs><ID>200</ID></ClientIDs>"#,
        )
        .unwrap();

        let simple = |property: &str, operator, values: &[&str], dates: &[&str]| Filter::Simple {
            property: property.into(),
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
            date_values: dates.iter().map(|v| v.to_string()).collect(),
        };
        let expected = RetrieveCall {
            object_type: "ResultItem".into(),
            properties: vec!["RequestID".into(), "StatusCode".into()],
            filter: Some(Filter::Complex {
                left: Box::new(simple(
                    "RequestID",
                    SimpleOperator::In,
                    &["a", "b & c"],
                    &[],
                )),
                operator: LogicalOperator::Or,
                right: Some(Box::new(simple(
                    "CreatedDate",
                    SimpleOperator::Between,
                    &[],
                    &["2026-01-01T00:00:00Z", "2026-02-01"],
                ))),
                additional: vec![
                    simple("StatusCode", SimpleOperator::IsNull, &[], &[]),
                    Filter::Complex {
                        left: Box::new(simple("A", SimpleOperator::Equals, &["1"], &[])),
                        operator: LogicalOperator::And,
                        right: Some(Box::new(simple("B", SimpleOperator::IsNotNull, &[], &[]))),
                        additional: vec![],
                    },
                ],
            }),
            continue_request: Some("prev-id".into()),
            batch_size: Some(500),
            client_ids: vec![100, 200],
        };
        assert_eq!(retrieve, expected);
    }

    #[test]
    fn retrieve_values_out_of_their_type_are_client_faults() {
        let cases = [
            (
                "<Properties>A</Properties>",
                "RetrieveRequest/ObjectType is missing",
            ),
            (
                r#"<ObjectType>X</ObjectType><Filter xsi:type="SimpleFilterPart">
                   <Property>A</Property><SimpleOperator>Equals</SimpleOperator></Filter>"#,
                "RetrieveRequest/Filter/SimpleOperator: 'Equals' is not a SimpleOperators value \
                 (equals, notEquals, greaterThan, lessThan, isNull, isNotNull, \
                 greaterThanOrEqual, lessThanOrEqual, between, IN, like, ...)",
            ),
            (
                r#"<ObjectType>X</ObjectType><Filter xsi:type="SimpleFilterPart">
                   <Property>A</Property></Filter>"#,
                "RetrieveRequest/Filter/SimpleOperator is missing",
            ),
            (
                r#"<ObjectType>X</ObjectType><Filter xsi:type="ComplexFilterPart"><LeftOperand>
                   <Property>A</Property><SimpleOperator>isNull</SimpleOperator></LeftOperand>
                   <LogicalOperator>and</LogicalOperator></Filter>"#,
                "RetrieveRequest/Filter/LogicalOperator: 'and' is not one of AND, OR",
            ),
            (
                r#"<ObjectType>X</ObjectType><Filter xsi:type="ComplexFilterPart">
                   <LogicalOperator>AND</LogicalOperator></Filter>"#,
                "RetrieveRequest/Filter/LeftOperand is missing",
            ),
            (
                r#"<ObjectType>X</ObjectType><Filter xsi:type="ComplexFilterPart"><LeftOperand>
                   <Value>1</Value></LeftOperand></Filter>"#,
                "RetrieveRequest/Filter/LeftOperand has no xsi:type and neither a Property nor \
                 a LeftOperand, so Confab cannot tell what kind of filter it is",
            ),
            (
                r#"<ObjectType>X</ObjectType><Filter xsi:type="TagFilterPart"/>"#,
                "RetrieveRequest/Filter: Confab does not support filters of type TagFilterPart; \
                 use SimpleFilterPart or ComplexFilterPart",
            ),
            (
                "<ObjectType>X</ObjectType><Options><BatchSize>many</BatchSize></Options>",
                "RetrieveRequest/Options/BatchSize: 'many' is not an integer",
            ),
            (
                "<ObjectType>X</ObjectType><ClientIDs><ID>1</ID></ClientIDs><ClientIDs><ID>x</ID>\
                 </ClientIDs>",
                "RetrieveRequest/ClientIDs[2]/ID: 'x' is not an integer",
            ),
        ];
        for (xml, expected) in cases {
            assert_eq!(client_fault(retrieve(xml)), expected, "{xml}");
        }

        let message = decode(
            "Retrieve",
            &format!(r#"<RetrieveRequestMsg xmlns="{PARTNER_NS}"/>"#),
        );
        assert_eq!(
            client_fault(message),
            "RetrieveRequestMsg holds no RetrieveRequest"
        );
    }

    #[test]
    fn version_info_is_a_ping() {
        let call = decode(
            "VersionInfo",
            r#"<p:VersionInfoRequestMsg><p:IncludeVersionHistory>true</p:IncludeVersionHistory>
               </p:VersionInfoRequestMsg>"#,
        );
        assert_eq!(call, Ok(Call::VersionInfo));
    }

    #[test]
    fn canonical_action_ignores_case() {
        assert_eq!(canonical_action("getsystemstatus"), Some("GetSystemStatus"));
        assert_eq!(canonical_action("CREATE"), Some("Create"));
        assert_eq!(canonical_action("Created"), None);
    }

    /// The message a single-valued element given twice gets.
    fn repeated(path: &str) -> String {
        format!("{path} is given more than once, but the partnerAPI allows only one")
    }

    #[test]
    fn options_given_twice_are_refused() {
        let object = r#"<Objects xsi:type="ScheduledRequest"><RequestID>r</RequestID></Objects>"#;
        let twice = create(&format!("<Options/>{object}<Options/>"));
        assert_eq!(client_fault(twice), repeated("Options"));

        // A nil occurrence is still a second one.
        let nil = create(&format!(r#"<Options/><Options xsi:nil="true"/>{object}"#));
        assert_eq!(client_fault(nil), repeated("Options"));
    }

    #[test]
    fn single_options_given_twice_are_refused() {
        for local in [
            "RequestType",
            "ConversationID",
            "SequenceCode",
            "CallsInConversation",
            "ScheduledTime",
            "RequestExpirationTime",
            "QueuePriority",
            "Priority",
            "Client",
            "SaveOptions",
        ] {
            let xml = format!("<{local}/><{local}/>");
            let expected = repeated(&format!("Options/{local}"));
            assert_eq!(client_fault(options(&xml)), expected, "{xml}");
        }

        let cases = [
            (
                "<SendResponseTo><ResponseType>None</ResponseType>\
                 <ResponseType>HTTPPost</ResponseType></SendResponseTo>",
                "Options/SendResponseTo[1]/ResponseType",
            ),
            (
                "<SendResponseTo><ResponseType>None</ResponseType><ResponseAddress>a\
                 </ResponseAddress><ResponseAddress>b</ResponseAddress></SendResponseTo>",
                "Options/SendResponseTo[1]/ResponseAddress",
            ),
            (
                "<SaveOptions><SaveOption><PropertyName>A</PropertyName><PropertyName>B\
                 </PropertyName><SaveAction>Default</SaveAction></SaveOption></SaveOptions>",
                "Options/SaveOptions/SaveOption[1]/PropertyName",
            ),
            ("<Client><ID>1</ID><ID>2</ID></Client>", "Options/Client/ID"),
            (
                r#"<ConversationID xsi:nil="true"/><ConversationID>c</ConversationID>"#,
                "Options/ConversationID",
            ),
        ];
        for (xml, path) in cases {
            assert_eq!(client_fault(options(xml)), repeated(path), "{xml}");
        }
    }

    #[test]
    fn repeatable_and_unknown_elements_may_repeat() {
        let options = options(
            "<SendResponseTo><ResponseType>None</ResponseType></SendResponseTo>\
             <SendResponseTo><ResponseType>None</ResponseType></SendResponseTo>\
             <SaveOptions><SaveOption><PropertyName>A</PropertyName>\
               <SaveAction>Default</SaveAction></SaveOption>\
               <SaveOption><PropertyName>B</PropertyName>\
               <SaveAction>Default</SaveAction></SaveOption></SaveOptions>\
             <Container/><Container/><Unknown>1</Unknown><Unknown>2</Unknown>",
        )
        .unwrap();
        assert_eq!(options.send_response_to.len(), 2);
        assert_eq!(options.save_options.len(), 2);

        let row = object(
            r#"<Objects xsi:type="DataExtensionObject" xmlns:x="urn:extension">
                 <CustomerKey>DE</CustomerKey><x:CustomerKey>1</x:CustomerKey>
                 <x:CustomerKey>2</x:CustomerKey><Owner/><Owner/>
               </Objects>"#,
        )
        .unwrap();
        assert_eq!(row.base().customer_key.as_deref(), Some("DE"));
    }

    #[test]
    fn single_object_fields_given_twice_are_refused() {
        let fields = [
            ("DataExtensionObject", "CustomerKey"),
            ("DataExtensionObject", "Name"),
            ("DataExtensionObject", "CorrelationID"),
            ("DataExtensionObject", "ObjectID"),
            ("DataExtensionObject", "ID"),
            ("DataExtensionObject", "Client"),
            ("DataExtensionObject", "Properties"),
            ("DataExtensionObject", "Keys"),
            ("DataExtension", "Name"),
            ("DataExtension", "Description"),
            ("DataExtension", "IsSendable"),
            ("DataExtension", "Fields"),
            ("Subscriber", "EmailAddress"),
            ("Subscriber", "SubscriberKey"),
            ("Subscriber", "Status"),
            ("ScheduledRequest", "RequestID"),
            ("ScheduledConversation", "ConversationID"),
        ];
        for (type_name, local) in fields {
            let xml = format!(r#"<Objects xsi:type="{type_name}"><{local}/><{local}/></Objects>"#);
            let expected = repeated(&format!("Objects[1]/{local}"));
            assert_eq!(client_fault(create(&xml)), expected, "{xml}");
        }

        let cases = [
            (
                r#"<Objects xsi:type="DataExtension"><Fields><Field><Name>A</Name><Name>B</Name>
                   </Field></Fields></Objects>"#,
                "Objects[1]/Fields/Field[1]/Name",
            ),
            (
                r#"<Objects xsi:type="DataExtension"><Fields><Field><Name>A</Name></Field><Field>
                   <Name>B</Name><FieldType>Text</FieldType><FieldType>Number</FieldType></Field>
                   </Fields></Objects>"#,
                "Objects[1]/Fields/Field[2]/FieldType",
            ),
            (
                r#"<Objects xsi:type="DataExtensionObject"><Properties><Property><Name>A</Name>
                   <Value>1</Value><Value>2</Value></Property></Properties></Objects>"#,
                "Objects[1]/Properties/Property[1]/Value",
            ),
            (
                r#"<Objects xsi:type="DataExtensionObject"><Keys><Key><Name>A</Name><Name>B</Name>
                   <Value>1</Value></Key></Keys></Objects>"#,
                "Objects[1]/Keys/Key[1]/Name",
            ),
            (
                r#"<Objects xsi:type="Subscriber"><Attributes><Name>A</Name><Value>1</Value>
                   <Value>2</Value></Attributes></Objects>"#,
                "Objects[1]/Attributes[1]/Value",
            ),
            (
                r#"<Objects xsi:type="Subscriber"><Client><ID>1</ID><ID>1</ID></Client></Objects>"#,
                "Objects[1]/Client/ID",
            ),
        ];
        for (xml, path) in cases {
            assert_eq!(client_fault(create(xml)), repeated(path), "{xml}");
        }
    }

    #[test]
    fn a_property_named_twice_in_one_row_is_refused() {
        let properties = object(
            r#"<Objects xsi:type="DataExtensionObject"><Properties>
                 <Property><Name>Status</Name><Value>a</Value></Property>
                 <Property><Name>Other</Name><Value>b</Value></Property>
                 <Property><Name> status </Name><Value>c</Value></Property>
               </Properties></Objects>"#,
        );
        assert_eq!(
            client_fault(properties),
            "Objects[1]/Properties: the property 'status' is given twice (Property[1] and \
             Property[3])"
        );

        let keys = object(
            r#"<Objects xsi:type="DataExtensionObject"><Keys>
                 <Key><Name>ÄId</Name><Value>1</Value></Key>
                 <Key><Name>äID</Name><Value>2</Value></Key>
               </Keys></Objects>"#,
        );
        assert_eq!(
            client_fault(keys),
            "Objects[1]/Keys: the key 'äID' is given twice (Key[1] and Key[2])"
        );

        let attributes = object(
            r#"<Objects xsi:type="Subscriber">
                 <Attributes><Name>First</Name><Value>Ann</Value></Attributes>
                 <Attributes><Name>FIRST</Name><Value>Bo</Value></Attributes>
               </Objects>"#,
        );
        assert_eq!(
            client_fault(attributes),
            "Objects[1]: the attribute 'FIRST' is given twice (Attributes[1] and Attributes[2])"
        );

        // A key may also be given among the properties: that is one name per
        // list, and how rows are updated.
        let row = object(
            r#"<Objects xsi:type="DataExtensionObject">
                 <Keys><Key><Name>Id</Name><Value>1</Value></Key></Keys>
                 <Properties><Property><Name>Id</Name><Value>1</Value></Property></Properties>
               </Objects>"#,
        );
        assert!(row.is_ok(), "{row:?}");
    }

    #[test]
    fn single_retrieve_elements_given_twice_are_refused() {
        let filter = r#"<Filter xsi:type="SimpleFilterPart"><Property>A</Property>
                        <SimpleOperator>isNull</SimpleOperator></Filter>"#;
        let cases = [
            (
                "<ObjectType>A</ObjectType><ObjectType>B</ObjectType>".to_owned(),
                "RetrieveRequest/ObjectType",
            ),
            (
                format!("<ObjectType>A</ObjectType>{filter}{filter}"),
                "RetrieveRequest/Filter",
            ),
            (
                "<ObjectType>A</ObjectType><ContinueRequest>1</ContinueRequest>\
                 <ContinueRequest>2</ContinueRequest>"
                    .to_owned(),
                "RetrieveRequest/ContinueRequest",
            ),
            (
                "<ObjectType>A</ObjectType><Options/><Options/>".to_owned(),
                "RetrieveRequest/Options",
            ),
            (
                "<ObjectType>A</ObjectType><Options><BatchSize>1</BatchSize>\
                 <BatchSize>2</BatchSize></Options>"
                    .to_owned(),
                "RetrieveRequest/Options/BatchSize",
            ),
            (
                "<ObjectType>A</ObjectType><ClientIDs><ID>1</ID><ID>2</ID></ClientIDs>".to_owned(),
                "RetrieveRequest/ClientIDs[1]/ID",
            ),
            (
                r#"<ObjectType>A</ObjectType><Filter xsi:type="SimpleFilterPart">
                   <Property>A</Property><Property>B</Property>
                   <SimpleOperator>isNull</SimpleOperator></Filter>"#
                    .to_owned(),
                "RetrieveRequest/Filter/Property",
            ),
            (
                r#"<ObjectType>A</ObjectType><Filter><Property>A</Property><Property>B</Property>
                   <SimpleOperator>isNull</SimpleOperator></Filter>"#
                    .to_owned(),
                "RetrieveRequest/Filter/Property",
            ),
            (
                r#"<ObjectType>A</ObjectType><Filter xsi:type="SimpleFilterPart">
                   <Property>A</Property><SimpleOperator>isNull</SimpleOperator>
                   <SimpleOperator>isNotNull</SimpleOperator></Filter>"#
                    .to_owned(),
                "RetrieveRequest/Filter/SimpleOperator",
            ),
        ];
        for (xml, path) in &cases {
            assert_eq!(client_fault(retrieve(xml)), repeated(path), "{xml}");
        }

        let operand = "<Property>A</Property><SimpleOperator>isNull</SimpleOperator>";
        for local in [
            "LeftOperand",
            "LogicalOperator",
            "RightOperand",
            "AdditionalOperands",
        ] {
            let mut parts = format!(
                "<LeftOperand>{operand}</LeftOperand><LogicalOperator>OR</LogicalOperator>\
                 <RightOperand>{operand}</RightOperand>\
                 <AdditionalOperands><Operand>{operand}</Operand></AdditionalOperands>"
            );
            let doubled = match local {
                "LogicalOperator" => "<LogicalOperator>AND</LogicalOperator>".to_owned(),
                "AdditionalOperands" => "<AdditionalOperands/>".to_owned(),
                _ => format!("<{local}>{operand}</{local}>"),
            };
            parts.push_str(&doubled);
            let xml = format!(
                r#"<ObjectType>A</ObjectType><Filter xsi:type="ComplexFilterPart">{parts}
                   </Filter>"#
            );
            let expected = repeated(&format!("RetrieveRequest/Filter/{local}"));
            assert_eq!(client_fault(retrieve(&xml)), expected, "{xml}");
        }

        let two_requests = decode(
            "Retrieve",
            &format!(
                r#"<RetrieveRequestMsg xmlns="{PARTNER_NS}">
                   <RetrieveRequest><ObjectType>A</ObjectType></RetrieveRequest>
                   <RetrieveRequest><ObjectType>B</ObjectType></RetrieveRequest>
                   </RetrieveRequestMsg>"#
            ),
        );
        assert_eq!(client_fault(two_requests), repeated("RetrieveRequest"));
    }

    #[test]
    fn single_perform_elements_given_twice_are_refused() {
        for (inner, path) in [
            ("<Action>start</Action><Action>stop</Action>", "Action"),
            ("<Definitions/><Definitions/>", "Definitions"),
            ("<Options/><Options/>", "Options"),
        ] {
            let perform = decode(
                "Perform",
                &format!(r#"<PerformRequestMsg xmlns="{PARTNER_NS}">{inner}</PerformRequestMsg>"#),
            );
            assert_eq!(client_fault(perform), repeated(path), "{inner}");
        }
    }

    #[test]
    fn continue_request_needs_no_object_type() {
        // Exactly what suds (FuelSDK-Python, FuelSDK-PHP) sends for the
        // next page.
        let suds = retrieve(
            "<ObjectType/><ContinueRequest>7d3f2b1c-5a8e-4e0b-9c6d-2f1a3b4c5d6e</ContinueRequest>",
        )
        .unwrap();
        assert_eq!(suds.object_type, "");
        assert_eq!(
            suds.continue_request.as_deref(),
            Some("7d3f2b1c-5a8e-4e0b-9c6d-2f1a3b4c5d6e")
        );

        let absent = retrieve("<ContinueRequest> id </ContinueRequest>").unwrap();
        assert_eq!(
            (
                absent.object_type.as_str(),
                absent.continue_request.as_deref()
            ),
            ("", Some("id"))
        );

        let given =
            retrieve("<ObjectType>ResultItem</ObjectType><ContinueRequest>id</ContinueRequest>")
                .unwrap();
        assert_eq!(given.object_type, "ResultItem");

        // Without a request to continue, ObjectType is what says what to
        // retrieve.
        for xml in [
            "<ObjectType/>",
            "<ObjectType/><ContinueRequest> </ContinueRequest>",
        ] {
            assert_eq!(
                client_fault(retrieve(xml)),
                "RetrieveRequest/ObjectType is missing",
                "{xml}"
            );
        }
    }

    #[test]
    fn a_complex_filter_needs_a_right_operand() {
        let left = "<LeftOperand><Property>A</Property><SimpleOperator>isNull</SimpleOperator>\
                    </LeftOperand><LogicalOperator>OR</LogicalOperator>";
        let expected = "RetrieveRequest/Filter/RightOperand is missing: a complex filter needs a \
                        RightOperand (or AdditionalOperands) to combine with its LeftOperand";
        for extra in [
            "",
            "<AdditionalOperands/>",
            r#"<RightOperand xsi:nil="true"/>"#,
        ] {
            let xml = format!(
                r#"<ObjectType>X</ObjectType><Filter xsi:type="ComplexFilterPart">{left}{extra}
                   </Filter>"#
            );
            assert_eq!(client_fault(retrieve(&xml)), expected, "{xml}");
        }

        let additional_only = retrieve(&format!(
            r#"<ObjectType>X</ObjectType><Filter xsi:type="ComplexFilterPart">{left}
               <AdditionalOperands><Operand><Property>B</Property>
               <SimpleOperator>isNull</SimpleOperator></Operand></AdditionalOperands></Filter>"#
        ))
        .unwrap();
        let Some(Filter::Complex {
            right, additional, ..
        }) = additional_only.filter
        else {
            panic!("not a complex filter");
        };
        assert_eq!((right, additional.len()), (None, 1));
    }

    #[test]
    fn conversation_ids_are_limited_in_length() {
        // The limit counts characters, not bytes.
        let longest = "é".repeat(MAX_CONVERSATION_ID_CHARS);
        let accepted = options(&format!("<ConversationID>{longest}</ConversationID>")).unwrap();
        assert_eq!(accepted.conversation_id.as_deref(), Some(longest.as_str()));

        let too_long = "c".repeat(MAX_CONVERSATION_ID_CHARS + 1);
        let message = client_fault(options(&format!(
            "<ConversationID>{too_long}</ConversationID>"
        )));
        assert_eq!(
            message,
            "Options/ConversationID is 513 characters long; Confab accepts at most 512"
        );

        let scheduled = create(&format!(
            r#"<Objects xsi:type="ScheduledConversation"><ConversationID>{too_long}
               </ConversationID></Objects>"#
        ));
        assert_eq!(
            client_fault(scheduled),
            "Objects[1]/ConversationID is 513 characters long; Confab accepts at most 512"
        );
    }

    #[test]
    fn send_response_to_entries_are_limited_in_number() {
        let entry = "<SendResponseTo><ResponseType>HTTPPost</ResponseType>\
                     <ResponseAddress>https://example.test/</ResponseAddress>\
                     <RespondWhen>OnCallComplete</RespondWhen></SendResponseTo>";
        let most = entry.repeat(MAX_SEND_RESPONSE_TO);
        let accepted = options(&most).unwrap();
        assert_eq!(accepted.send_response_to.len(), MAX_SEND_RESPONSE_TO);

        let too_many = entry.repeat(MAX_SEND_RESPONSE_TO + 1);
        assert_eq!(
            client_fault(options(&too_many)),
            "Options/SendResponseTo has 17 entries; Confab accepts at most 16"
        );
    }

    #[test]
    fn a_response_address_is_limited_in_length() {
        let entry = |address: &str| {
            format!(
                "<SendResponseTo><ResponseType>HTTPPost</ResponseType>\
                 <ResponseAddress>{address}</ResponseAddress></SendResponseTo>"
            )
        };
        let longest = format!("https://example.test/{}", "a".repeat(2_048 - 21));
        let accepted = options(&entry(&longest)).unwrap();
        assert_eq!(accepted.send_response_to[0].response_address, longest);

        let too_long = format!("{longest}a");
        assert_eq!(
            client_fault(options(&entry(&too_long))),
            "Options/SendResponseTo[1]/ResponseAddress is 2049 characters long; Confab accepts \
             at most 2048"
        );
    }

    #[test]
    fn client_values_in_faults_are_escaped() {
        let message = client_fault(options("<SequenceCode>1&#9;2\u{202E}</SequenceCode>"));
        assert_eq!(
            message,
            r"Options/SequenceCode: '1\u{9}2\u{202e}' is not an integer"
        );

        // Escaping comes after the cut, so an escape is never cut in half.
        let long = format!("{}\u{85}", "x".repeat(MAX_QUOTED_CHARS - 1));
        assert_eq!(quote(&long), format!(r"'{}\u{{85}}'", "x".repeat(59)));
        let longer = format!("{long}tail");
        assert_eq!(quote(&longer), format!(r"'{}\u{{85}}...'", "x".repeat(59)));
    }

    #[test]
    fn an_unknown_action_is_escaped_in_its_fault() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body><VersionInfoRequestMsg
               xmlns="{PARTNER_NS}"/></s:Body></s:Envelope>"#
        );
        let envelope = decode_envelope(xml.as_bytes(), None, Some("Fro\u{1}b\u{FFFF}")).unwrap();
        assert_eq!(
            client_fault(envelope.call),
            r"'Fro\u{1}b\u{ffff}' is not an operation of the partnerAPI"
        );
    }
}
