//! Retrieve: scanning what the account stores, filtering, paging at 2,500,
//! and shaping each object as the WSDL orders its properties.
//!
//! Every retrievable type lists its properties in schema order once (the
//! `*_PROPERTIES` tables); answers keep that order whatever order the caller
//! asked in, because schema-driven clients such as zeep read elements in
//! sequence.
//!
//! Paging: a page holds at most 2,500 objects (or `BatchSize`). When more
//! match, the page's `RequestID` is saved with where the scan stopped, and a
//! later Retrieve with `ContinueRequest` set to it resumes from there with
//! the original query.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use confab_core::AccountId;
use confab_core::RequestId;
use confab_core::call::RetrieveCall;
use confab_core::data_extension::{FieldDefinition, FieldType};
use confab_core::filter::{Filter, FilterError, PropertySource, TypedValue};
use confab_core::result::{Node, NodeContent, RetrieveOutcome, RetrieveStatus};
use confab_core::time::{format_instant, parse_calendar_value};
use confab_store::{
    ReadTx, ResultScope, RetrieveCursor, Store, StoreError, StoredDataExtension, StoredResultItem,
    StoredResultMessage, StoredRow, SubscriberRecord,
};

use crate::{Engine, EngineError};

/// The most objects one page holds.
pub const MAX_PAGE_SIZE: usize = 2_500;

/// How many stored objects are read per scan step.
const SCAN_CHUNK: usize = 500;

/// What a Retrieve reads.
#[derive(Debug, Clone)]
enum Target {
    /// Rows of one data extension.
    Rows(StoredDataExtension),
    /// Data extension definitions.
    DataExtensions,
    /// Columns of data extensions.
    Fields,
    /// Subscribers.
    Subscribers,
    /// `ResultItem`s.
    ResultItems(ResultScope),
    /// `ResultMessage`s.
    ResultMessages(ResultScope),
}

/// One object found by a scan.
trait Found: PropertySource {
    /// The storage id the scan continues after.
    fn id(&self) -> i64;
    /// The object as a `Results` node with the requested properties.
    fn node(&self, properties: &[String]) -> Node;
}

impl Engine {
    /// Answers a Retrieve for `account`.
    ///
    /// # Errors
    ///
    /// `Store` when the store failed. Problems with the query itself come
    /// back as an `Error: …` status, as the API reports them.
    pub async fn retrieve(
        &self,
        account: AccountId,
        call: RetrieveCall,
    ) -> Result<RetrieveOutcome, EngineError> {
        let store = self.store.clone();
        let now = self.clock.now();
        let outcome =
            tokio::task::spawn_blocking(move || retrieve_blocking(&store, account, call, now))
                .await??;
        Ok(outcome)
    }
}

/// The result of a Retrieve that failed on the query.
fn query_error(request_id: &str, message: impl Into<String>) -> RetrieveOutcome {
    RetrieveOutcome {
        status: RetrieveStatus::Error(message.into()),
        request_id: request_id.to_owned(),
        results: Vec::new(),
    }
}

/// Runs a Retrieve on a blocking thread.
fn retrieve_blocking(
    store: &Arc<dyn Store>,
    account: AccountId,
    call: RetrieveCall,
    now: DateTime<Utc>,
) -> Result<RetrieveOutcome, StoreError> {
    let request_id = RequestId::new_random().to_string();
    let mut outcome = None;
    let mut next_cursor = None;
    store.read(&mut |tx| {
        let (query, after_id) = match resume(tx, account, &call)? {
            Ok(resumed) => resumed,
            Err(message) => {
                outcome = Some(query_error(&request_id, message));
                return Ok(());
            }
        };
        let page = match run_query(tx, account, &query, after_id)? {
            Ok(page) => page,
            Err(message) => {
                outcome = Some(query_error(&request_id, message));
                return Ok(());
            }
        };
        let status = match page.resume_after {
            Some(after_id) => {
                next_cursor = Some((serde_json::to_string(&query)?, after_id));
                RetrieveStatus::MoreDataAvailable
            }
            None => RetrieveStatus::Ok,
        };
        outcome = Some(RetrieveOutcome {
            status,
            request_id: request_id.clone(),
            results: page.nodes,
        });
        Ok(())
    })?;

    if let Some((query, after_id)) = next_cursor {
        let cursor = RetrieveCursor {
            request_id: request_id.clone(),
            account,
            query,
            after_id,
            created_at: now,
        };
        store.save_cursor(cursor)?;
    }
    Ok(outcome.unwrap_or_else(|| query_error(&request_id, "the retrieve produced no answer")))
}

/// The query to run and where to start: the call itself, or the saved query
/// of the page named by `ContinueRequest`.
fn resume(
    tx: &mut dyn ReadTx,
    account: AccountId,
    call: &RetrieveCall,
) -> Result<Result<(RetrieveCall, i64), String>, StoreError> {
    let Some(continue_request) = call
        .continue_request
        .as_deref()
        .filter(|id| !id.trim().is_empty())
    else {
        return Ok(Ok((call.clone(), 0)));
    };
    let key = continue_request.trim().to_ascii_lowercase();
    let cursor = tx.cursor(&key)?.filter(|cursor| cursor.account == account);
    let Some(cursor) = cursor else {
        return Ok(Err(format!(
            "ContinueRequest {continue_request} is not a known RequestID"
        )));
    };
    let query: RetrieveCall = serde_json::from_str(&cursor.query)?;
    Ok(Ok((query, cursor.after_id)))
}

/// One page of a query.
struct Page {
    nodes: Vec<Node>,
    resume_after: Option<i64>,
}

/// Runs a query from `after_id`.
fn run_query(
    tx: &mut dyn ReadTx,
    account: AccountId,
    query: &RetrieveCall,
    after_id: i64,
) -> Result<Result<Page, String>, StoreError> {
    let target = match resolve_target(tx, account, query)? {
        Ok(target) => target,
        Err(message) => return Ok(Err(message)),
    };
    if let Err(message) = check_properties(&target, &query.properties) {
        return Ok(Err(message));
    }
    let page_size = query
        .batch_size
        .and_then(|size| usize::try_from(size).ok())
        .filter(|size| *size > 0)
        .map_or(MAX_PAGE_SIZE, |size| size.min(MAX_PAGE_SIZE));

    let mut nodes = Vec::new();
    let mut cursor = after_id;
    let mut last_in_page = after_id;
    loop {
        let chunk = fetch(tx, account, &target, cursor, SCAN_CHUNK)?;
        let exhausted = chunk.len() < SCAN_CHUNK;
        for found in &chunk {
            cursor = found.id();
            let matched = match &query.filter {
                Some(filter) => filter.matches(found.as_ref()),
                None => Ok(true),
            };
            match matched {
                Ok(false) => continue,
                Ok(true) => {}
                Err(problem) => return Ok(Err(filter_message(&problem))),
            }
            if nodes.len() == page_size {
                // One more match exists beyond the full page.
                return Ok(Ok(Page {
                    nodes,
                    resume_after: Some(last_in_page),
                }));
            }
            nodes.push(found.node(&query.properties));
            last_in_page = found.id();
        }
        if exhausted {
            return Ok(Ok(Page {
                nodes,
                resume_after: None,
            }));
        }
    }
}

/// The text of a filter problem.
fn filter_message(problem: &FilterError) -> String {
    format!("filter: {problem}")
}

/// Reads what `ObjectType` names.
fn resolve_target(
    tx: &mut dyn ReadTx,
    account: AccountId,
    query: &RetrieveCall,
) -> Result<Result<Target, String>, StoreError> {
    let object_type = query.object_type.trim();
    if let Some(inner) = object_type
        .strip_prefix("DataExtensionObject[")
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return Ok(match tx.data_extension(account, inner)? {
            Some(data_extension) => Ok(Target::Rows(data_extension)),
            None => Err(format!("data extension {inner} does not exist")),
        });
    }
    let scope = || result_scope(query.filter.as_ref());
    Ok(match object_type {
        "DataExtension" => Ok(Target::DataExtensions),
        "DataExtensionField" => Ok(Target::Fields),
        "Subscriber" => Ok(Target::Subscribers),
        "ResultItem" => Ok(Target::ResultItems(scope())),
        "ResultMessage" => Ok(Target::ResultMessages(scope())),
        "DataExtensionObject" => {
            Err("name the data extension: ObjectType DataExtensionObject[CustomerKey]".to_owned())
        }
        other => Err(format!("Confab does not implement Retrieve of {other}")),
    })
}

/// Narrows a result scan by an equality on `RequestID` or `ConversationID`.
fn result_scope(filter: Option<&Filter>) -> ResultScope {
    let Some(filter) = filter else {
        return ResultScope::default();
    };
    let request_id = filter.equality_on("RequestID").map(|value| {
        value
            .parse::<RequestId>()
            .map_or_else(|_| value.to_ascii_lowercase(), |id| id.to_string())
    });
    let conversation_id = filter.equality_on("ConversationID").map(str::to_owned);
    ResultScope {
        request_id,
        conversation_id,
    }
}

/// Reads one chunk of the target after `after_id`.
fn fetch(
    tx: &mut dyn ReadTx,
    account: AccountId,
    target: &Target,
    after_id: i64,
    limit: usize,
) -> Result<Vec<Box<dyn Found>>, StoreError> {
    Ok(match target {
        Target::Rows(data_extension) => {
            let fields = Arc::new(data_extension.definition.fields.clone());
            let rows = tx.rows(data_extension.id, after_id, limit)?;
            found(rows, |row| FoundRow {
                row,
                fields: fields.clone(),
            })
        }
        Target::DataExtensions => found(
            tx.data_extensions(account, after_id, limit)?,
            FoundDataExtension,
        ),
        Target::Fields => return fetch_fields(tx, account, after_id, limit),
        Target::Subscribers => found(tx.subscribers(account, after_id, limit)?, FoundSubscriber),
        Target::ResultItems(scope) => found(
            tx.result_items(account, scope, after_id, limit)?,
            FoundResultItem,
        ),
        Target::ResultMessages(scope) => found(
            tx.result_messages(account, scope, after_id, limit)?,
            FoundResultMessage,
        ),
    })
}

/// Wraps stored records as found objects.
fn found<T, F: Found + 'static>(records: Vec<T>, wrap: impl FnMut(T) -> F) -> Vec<Box<dyn Found>> {
    records
        .into_iter()
        .map(wrap)
        .map(|item| Box::new(item) as Box<dyn Found>)
        .collect()
}

/// How many fields a data extension may have: field ids are the data
/// extension's id times this plus the field's position.
const FIELD_ID_STRIDE: i64 = 100_000;

/// Reads the fields of data extensions as objects of their own.
fn fetch_fields(
    tx: &mut dyn ReadTx,
    account: AccountId,
    after_id: i64,
    limit: usize,
) -> Result<Vec<Box<dyn Found>>, StoreError> {
    let start_de = after_id / FIELD_ID_STRIDE;
    let mut found: Vec<Box<dyn Found>> = Vec::new();
    for data_extension in tx.data_extensions(account, start_de - 1, limit)? {
        let definition = &data_extension.definition;
        for (position, field) in definition.fields.iter().enumerate() {
            let id = data_extension.id * FIELD_ID_STRIDE + position as i64 + 1;
            if id <= after_id {
                continue;
            }
            found.push(Box::new(FoundField {
                id,
                ordinal: position,
                field: field.clone(),
                data_extension_key: definition.key().unwrap_or_default().to_owned(),
                data_extension_name: definition.name.clone().unwrap_or_default(),
            }));
        }
    }
    Ok(found)
}

/// Checks the requested properties against what the type has.
fn check_properties(target: &Target, requested: &[String]) -> Result<(), String> {
    let (type_name, known): (&str, Vec<String>) = match target {
        Target::Rows(data_extension) => (
            "DataExtensionObject",
            data_extension
                .definition
                .fields
                .iter()
                .map(|field| field.name.clone())
                .collect(),
        ),
        Target::DataExtensions => ("DataExtension", owned(DATA_EXTENSION_PROPERTIES)),
        Target::Fields => ("DataExtensionField", owned(FIELD_PROPERTIES)),
        Target::Subscribers => ("Subscriber", owned(SUBSCRIBER_PROPERTIES)),
        Target::ResultItems(_) => ("ResultItem", with_base(RESULT_ITEM_PROPERTIES)),
        Target::ResultMessages(_) => ("ResultMessage", with_base(RESULT_MESSAGE_PROPERTIES)),
    };
    let unknown: Vec<&str> = requested
        .iter()
        .filter(|name| !known.iter().any(|known| known.eq_ignore_ascii_case(name)))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "The Request Property(s) {} do not match with the fields of {type_name} retrieve",
        unknown.join(", ")
    ))
}

/// The `APIObject` properties results inherit but Confab holds no value for.
/// They may be asked for and filtered on; they come back absent.
const UNHELD_BASE_PROPERTIES: &[&str] = &[
    "Client",
    "PartnerKey",
    "PartnerProperties",
    "ModifiedDate",
    "ID",
    "ObjectID",
    "CustomerKey",
    "Owner",
    "ObjectState",
];

/// A type's own properties plus the unheld base ones.
fn with_base(names: &[&str]) -> Vec<String> {
    owned(names)
        .into_iter()
        .chain(owned(UNHELD_BASE_PROPERTIES))
        .collect()
}

/// Looks a property up among `values`, then among the unheld base
/// properties, which have no value.
fn lookup_with_base(
    values: Vec<(&str, Option<TypedValue>)>,
    name: &str,
) -> Result<Option<TypedValue>, FilterError> {
    if UNHELD_BASE_PROPERTIES
        .iter()
        .any(|base| base.eq_ignore_ascii_case(name))
    {
        return Ok(None);
    }
    lookup(values, name)
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// Whether `name` was asked for (every property is, when none were named).
fn wanted(properties: &[String], name: &str) -> bool {
    properties.is_empty()
        || properties
            .iter()
            .any(|asked| asked.eq_ignore_ascii_case(name))
}

/// Builds a `Results` node from `(property, value)` pairs in schema order,
/// keeping the requested ones.
fn results_node(
    type_name: &str,
    properties: &[String],
    values: Vec<(&str, Option<String>)>,
) -> Node {
    let children = values
        .into_iter()
        .filter(|(name, _)| wanted(properties, name))
        .filter_map(|(name, value)| value.map(|value| Node::text(name, value)))
        .collect();
    Node::parent("Results", children).typed(type_name)
}

/// Looks a property up in `(name, value)` pairs, for filters.
fn lookup(
    values: Vec<(&str, Option<TypedValue>)>,
    name: &str,
) -> Result<Option<TypedValue>, FilterError> {
    values
        .into_iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .ok_or_else(|| FilterError::UnknownProperty(name.to_owned()))
}

fn text(value: &str) -> Option<TypedValue> {
    Some(TypedValue::Text(value.to_owned()))
}

fn number(value: impl Into<f64>) -> Option<TypedValue> {
    Some(TypedValue::Number(value.into()))
}

fn date(value: DateTime<Utc>) -> Option<TypedValue> {
    Some(TypedValue::Date(value.naive_utc()))
}

/// A row of a data extension.
struct FoundRow {
    row: StoredRow,
    fields: Arc<Vec<FieldDefinition>>,
}

impl PropertySource for FoundRow {
    fn property(&self, name: &str) -> Result<Option<TypedValue>, FilterError> {
        let field = self
            .fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| FilterError::UnknownProperty(name.to_owned()))?;
        let Some(value) = self.row.values.get(&field.name) else {
            return Ok(None);
        };
        Ok(Some(match field.field_type {
            FieldType::Number | FieldType::Decimal => value
                .parse()
                .map(TypedValue::Number)
                .unwrap_or_else(|_| TypedValue::Text(value.clone())),
            FieldType::Date => parse_calendar_value(value)
                .map(TypedValue::Date)
                .unwrap_or_else(|| TypedValue::Text(value.clone())),
            FieldType::Boolean => TypedValue::Boolean(value == "True"),
            _ => TypedValue::Text(value.clone()),
        }))
    }
}

impl Found for FoundRow {
    fn id(&self) -> i64 {
        self.row.id
    }

    /// Rows come back the way Marketing Cloud returns them: the base
    /// properties nil, then `Properties/Property` in the order asked for.
    fn node(&self, properties: &[String]) -> Node {
        let names: Vec<&str> = if properties.is_empty() {
            self.fields
                .iter()
                .map(|field| field.name.as_str())
                .collect()
        } else {
            properties.iter().map(String::as_str).collect()
        };
        let pairs = names
            .into_iter()
            .map(|asked| {
                let field = self
                    .fields
                    .iter()
                    .find(|field| field.name.eq_ignore_ascii_case(asked));
                let name = field.map_or(asked, |field| field.name.as_str());
                let value = self.row.values.get(name).cloned().unwrap_or_default();
                Node::parent(
                    "Property",
                    vec![Node::text("Name", name), Node::text("Value", value)],
                )
            })
            .collect();
        let nil = |name: &str| Node {
            name: name.to_owned(),
            xsi_type: None,
            content: NodeContent::Nil,
        };
        Node::parent(
            "Results",
            vec![
                nil("PartnerKey"),
                nil("ObjectID"),
                Node::text("Type", "DataExtensionObject"),
                Node::parent("Properties", pairs),
            ],
        )
        .typed("DataExtensionObject")
    }
}

/// `DataExtension` properties in schema order.
const DATA_EXTENSION_PROPERTIES: &[&str] = &[
    "CreatedDate",
    "ID",
    "ObjectID",
    "CustomerKey",
    "Name",
    "Description",
    "IsSendable",
];

struct FoundDataExtension(StoredDataExtension);

impl FoundDataExtension {
    fn values(&self) -> Vec<(&'static str, Option<String>)> {
        let stored = &self.0;
        let definition = &stored.definition;
        vec![
            ("CreatedDate", Some(format_instant(stored.created_at))),
            ("ID", Some(stored.id.to_string())),
            ("ObjectID", Some(stored.object_id.clone())),
            ("CustomerKey", definition.key().map(str::to_owned)),
            ("Name", definition.name.clone()),
            ("Description", definition.description.clone()),
            ("IsSendable", Some(definition.is_sendable.to_string())),
        ]
    }
}

impl PropertySource for FoundDataExtension {
    fn property(&self, name: &str) -> Result<Option<TypedValue>, FilterError> {
        let typed = self.values().into_iter().map(|(key, value)| match key {
            "CreatedDate" => (key, date(self.0.created_at)),
            "ID" => (key, number(self.0.id as f64)),
            _ => (key, value.as_deref().and_then(text)),
        });
        lookup(typed.collect(), name)
    }
}

impl Found for FoundDataExtension {
    fn id(&self) -> i64 {
        self.0.id
    }

    fn node(&self, properties: &[String]) -> Node {
        results_node("DataExtension", properties, self.values())
    }
}

/// `DataExtensionField` properties in schema order (`PropertyDefinition`
/// first, then the field's own), plus the filter-only path to its data
/// extension.
const FIELD_PROPERTIES: &[&str] = &[
    "ObjectID",
    "CustomerKey",
    "Name",
    "Scale",
    "DefaultValue",
    "MaxLength",
    "IsRequired",
    "Ordinal",
    "IsPrimaryKey",
    "FieldType",
    "DataExtension.CustomerKey",
    "DataExtension.Name",
];

struct FoundField {
    id: i64,
    ordinal: usize,
    field: FieldDefinition,
    data_extension_key: String,
    data_extension_name: String,
}

impl FoundField {
    fn values(&self) -> Vec<(&'static str, Option<String>)> {
        let field = &self.field;
        vec![
            (
                "ObjectID",
                Some(format!("{}.{}", self.data_extension_key, field.name)),
            ),
            (
                "CustomerKey",
                Some(format!("[{}].[{}]", self.data_extension_key, field.name)),
            ),
            ("Name", Some(field.name.clone())),
            ("Scale", field.scale.map(|scale| scale.to_string())),
            ("DefaultValue", field.default_value.clone()),
            (
                "MaxLength",
                field.max_length.map(|length| length.to_string()),
            ),
            ("IsRequired", Some(field.is_required.to_string())),
            ("Ordinal", Some(self.ordinal.to_string())),
            ("IsPrimaryKey", Some(field.is_primary_key.to_string())),
            ("FieldType", Some(field.field_type.as_str().to_owned())),
        ]
    }
}

impl PropertySource for FoundField {
    fn property(&self, name: &str) -> Result<Option<TypedValue>, FilterError> {
        let mut values: Vec<(&str, Option<TypedValue>)> = self
            .values()
            .into_iter()
            .map(|(key, value)| (key, value.as_deref().and_then(text)))
            .collect();
        values.push(("DataExtension.CustomerKey", text(&self.data_extension_key)));
        values.push(("DataExtension.Name", text(&self.data_extension_name)));
        lookup(values, name)
    }
}

impl Found for FoundField {
    fn id(&self) -> i64 {
        self.id
    }

    fn node(&self, properties: &[String]) -> Node {
        results_node("DataExtensionField", properties, self.values())
    }
}

/// `Subscriber` properties in schema order.
const SUBSCRIBER_PROPERTIES: &[&str] = &[
    "CreatedDate",
    "ID",
    "EmailAddress",
    "SubscriberKey",
    "Status",
    "Attributes",
];

struct FoundSubscriber(SubscriberRecord);

impl PropertySource for FoundSubscriber {
    fn property(&self, name: &str) -> Result<Option<TypedValue>, FilterError> {
        let record = &self.0;
        let subscriber = &record.subscriber;
        lookup(
            vec![
                ("CreatedDate", date(record.created_at)),
                ("ID", number(record.id as f64)),
                ("EmailAddress", text(&subscriber.email_address)),
                ("SubscriberKey", text(&subscriber.subscriber_key)),
                ("Status", text(subscriber.status.as_str())),
            ],
            name,
        )
    }
}

impl Found for FoundSubscriber {
    fn id(&self) -> i64 {
        self.0.id
    }

    fn node(&self, properties: &[String]) -> Node {
        let record = &self.0;
        let subscriber = &record.subscriber;
        let mut children = Vec::new();
        let mut push = |name: &str, value: String| {
            if wanted(properties, name) {
                children.push(Node::text(name, value));
            }
        };
        push("CreatedDate", format_instant(record.created_at));
        push("ID", record.id.to_string());
        push("EmailAddress", subscriber.email_address.clone());
        if wanted(properties, "Attributes") {
            for attribute in &subscriber.attributes {
                let value = attribute.value.clone().unwrap_or_default();
                children.push(Node::parent(
                    "Attributes",
                    vec![
                        Node::text("Name", attribute.name.clone()),
                        Node::text("Value", value),
                    ],
                ));
            }
        }
        let mut push = |name: &str, value: String| {
            if wanted(properties, name) {
                children.push(Node::text(name, value));
            }
        };
        push("SubscriberKey", subscriber.subscriber_key.clone());
        push("Status", subscriber.status.as_str().to_owned());
        Node::parent("Results", children).typed("Subscriber")
    }
}

/// `ResultItem` properties in schema order (`APIObject` first).
const RESULT_ITEM_PROPERTIES: &[&str] = &[
    "CreatedDate",
    "CorrelationID",
    "RequestID",
    "ConversationID",
    "StatusCode",
    "StatusMessage",
    "OrdinalID",
    "ErrorCode",
    "RequestType",
    "RequestObjectType",
];

struct FoundResultItem(StoredResultItem);

impl FoundResultItem {
    fn values(&self) -> Vec<(&'static str, Option<String>)> {
        let item = &self.0.record;
        vec![
            ("CreatedDate", Some(format_instant(item.created_at))),
            ("CorrelationID", item.correlation_id.clone()),
            ("RequestID", Some(item.request_id.to_string())),
            ("ConversationID", item.conversation_id.clone()),
            ("StatusCode", Some(item.status_code.clone())),
            ("StatusMessage", Some(item.status_message.clone())),
            ("OrdinalID", Some(item.ordinal_id.to_string())),
            ("ErrorCode", item.error_code.map(|code| code.to_string())),
            ("RequestType", Some("Asynchronous".to_owned())),
            ("RequestObjectType", Some(item.request_object_type.clone())),
        ]
    }
}

impl PropertySource for FoundResultItem {
    fn property(&self, name: &str) -> Result<Option<TypedValue>, FilterError> {
        let item = &self.0.record;
        let typed = self.values().into_iter().map(|(key, value)| match key {
            "CreatedDate" => (key, date(item.created_at)),
            "OrdinalID" => (key, number(item.ordinal_id)),
            "ErrorCode" => (key, item.error_code.and_then(number)),
            _ => (key, value.as_deref().and_then(text)),
        });
        lookup_with_base(typed.collect(), name)
    }
}

impl Found for FoundResultItem {
    fn id(&self) -> i64 {
        self.0.id
    }

    fn node(&self, properties: &[String]) -> Node {
        results_node("ResultItem", properties, self.values())
    }
}

/// `ResultMessage` properties in schema order (`APIObject` first).
const RESULT_MESSAGE_PROPERTIES: &[&str] = &[
    "CreatedDate",
    "CorrelationID",
    "RequestID",
    "ConversationID",
    "OverallStatusCode",
    "StatusCode",
    "StatusMessage",
    "ErrorCode",
    "RequestType",
    "ResultType",
    "ResultDetailXML",
    "SequenceCode",
    "CallsInConversation",
];

struct FoundResultMessage(StoredResultMessage);

impl FoundResultMessage {
    /// The values; `ResultDetailXML` only when `detail` is set, since it can
    /// be large and the API returns it only when asked for by name.
    fn values(&self, detail: bool) -> Vec<(&'static str, Option<String>)> {
        let message = &self.0.record;
        let part = message.part.as_ref();
        let detail_xml = detail
            .then(|| confab_soap::encode::result_detail_xml(message.operation, &message.results));
        // A message covers every object of its request; its CorrelationID is
        // the first object's (each ResultItem carries its own).
        let correlation_id = message
            .results
            .first()
            .and_then(|result| result.correlation_id.clone());
        vec![
            ("CreatedDate", Some(format_instant(message.created_at))),
            ("CorrelationID", correlation_id),
            ("RequestID", Some(message.request_id.to_string())),
            (
                "ConversationID",
                part.map(|part| part.conversation_id.clone()),
            ),
            (
                "OverallStatusCode",
                Some(message.overall_status_code.clone()),
            ),
            ("StatusCode", Some(message.status_code.clone())),
            ("StatusMessage", Some(message.status_message.clone())),
            ("ErrorCode", message.error_code.map(|code| code.to_string())),
            ("RequestType", Some("Asynchronous".to_owned())),
            ("ResultType", Some("Asynchronous".to_owned())),
            ("ResultDetailXML", detail_xml),
            (
                "SequenceCode",
                part.map(|part| part.sequence_code.to_string()),
            ),
            (
                "CallsInConversation",
                part.map(|part| part.calls_in_conversation.to_string()),
            ),
        ]
    }
}

impl PropertySource for FoundResultMessage {
    fn property(&self, name: &str) -> Result<Option<TypedValue>, FilterError> {
        let message = &self.0.record;
        let typed = self
            .values(false)
            .into_iter()
            .map(|(key, value)| match key {
                "CreatedDate" => (key, date(message.created_at)),
                "ErrorCode" => (key, message.error_code.and_then(number)),
                "SequenceCode" | "CallsInConversation" => (
                    key,
                    value
                        .and_then(|value| value.parse::<f64>().ok())
                        .and_then(number),
                ),
                _ => (key, value.as_deref().and_then(text)),
            });
        lookup_with_base(typed.collect(), name)
    }
}

impl Found for FoundResultMessage {
    fn id(&self) -> i64 {
        self.0.id
    }

    fn node(&self, properties: &[String]) -> Node {
        let detail = properties
            .iter()
            .any(|name| name.eq_ignore_ascii_case("ResultDetailXML"));
        results_node("ResultMessage", properties, self.values(detail))
    }
}
