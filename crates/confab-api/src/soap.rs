//! The SOAP endpoint and the WSDL, routed without regard to case because
//! clients spell the path both ways (`/Service.asmx`, `/service.asmx`).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use confab_core::AccountId;
use confab_core::call::{Call, ObjectCall};
use confab_core::result::RetrieveStatus;
use confab_engine::EngineError;
use confab_soap::encode::{self, ResponseContext};
use confab_soap::{Fault, SoapVersion, decode_envelope, wsdl};
use tracing::{Instrument, error, info, info_span};

use crate::AppState;
use crate::auth::authenticate;

/// Routes what the named routes do not match.
pub(crate) async fn fallback(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = uri.path().to_ascii_lowercase();
    let body = match body {
        Ok(body) => body,
        Err(rejection) if path == "/service.asmx" => return unread_body(&headers, &rejection),
        Err(rejection) => return rejection.into_response(),
    };
    let readable = method == Method::GET || method == Method::HEAD;
    let asks_wsdl = uri
        .query()
        .is_some_and(|query| query.eq_ignore_ascii_case("wsdl"));
    match path.as_str() {
        "/service.asmx" if method == Method::POST => soap_call(&state, &headers, &body).await,
        "/etframework.wsdl" if readable => {
            xml_document(wsdl::wsdl_document(&state.base_url(&headers, &uri)))
        }
        "/service.asmx" if readable && asks_wsdl => {
            xml_document(wsdl::wsdl_document(&state.base_url(&headers, &uri)))
        }
        "/etframeworkfault.xsd" if readable => xml_document(wsdl::fault_schema().to_owned()),
        _ => (
            StatusCode::NOT_FOUND,
            "no such resource on this Confab server\n",
        )
            .into_response(),
    }
}

/// When Confab's WSDL last changed. FuelSDK-Python sends HEAD and compares
/// this header to decide whether to download the WSDL again.
const WSDL_LAST_MODIFIED: &str = "Tue, 01 Dec 2026 00:00:00 GMT";

/// A static XML document (axum leaves the body out for HEAD).
fn xml_document(text: String) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/xml; charset=utf-8"),
        (header::LAST_MODIFIED, WSDL_LAST_MODIFIED),
    ];
    (headers, text).into_response()
}

/// A header's value as text, looked up without regard to case (axum's
/// header map already ignores case).
fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The answer to a SOAP request whose body could not be read (too large,
/// or too slow to arrive): a client fault that says why, in the SOAP
/// version the content type names, with the HTTP status of the refusal, so
/// that a SOAP client reports the reason rather than an unreadable answer.
fn unread_body(headers: &HeaderMap, rejection: &BytesRejection) -> Response {
    let context = unread_request_context(headers);
    let reason = rejection.body_text();
    info!(fault = %reason, "SOAP request body not read");
    let fault = Fault::client(format!(
        "the request body was not read: {reason} (Confab reads at most {} MiB, and waits at \
         most {} s for more of it)",
        crate::MAX_BODY_BYTES / (1024 * 1024),
        crate::BODY_READ_TIMEOUT.as_secs()
    ));
    let text = encode::fault_response(&context, &fault);
    soap_response(&context, rejection.status(), text)
}

/// How to answer a request that could not be decoded: in the SOAP version
/// its content type names.
fn unread_request_context(headers: &HeaderMap) -> ResponseContext {
    let content_type = header_text(headers, "content-type");
    let version = if content_type.is_some_and(|value| value.contains("soap+xml")) {
        SoapVersion::Soap12
    } else {
        SoapVersion::Soap11
    };
    ResponseContext {
        version,
        relates_to: None,
        action: String::new(),
    }
}

/// Answers one SOAP request.
async fn soap_call(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    let content_type = header_text(headers, "content-type");
    let soap_action = header_text(headers, "soapaction");
    let envelope = match decode_envelope(body, content_type, soap_action) {
        Ok(envelope) => envelope,
        Err(fault) => {
            info!(fault = %fault.message, "unreadable SOAP request");
            return fault_response(&unread_request_context(headers), &fault);
        }
    };

    let context = ResponseContext {
        version: envelope.version,
        relates_to: envelope.message_id.clone(),
        action: envelope.action.clone(),
    };
    let account = match authenticate(state, &envelope.credentials).await {
        Ok(account) => account,
        Err(fault) => {
            info!(action = %envelope.action, fault = %fault.message, "SOAP request refused");
            return fault_response(&context, &fault);
        }
    };
    let call = match envelope.call {
        Ok(call) => call,
        Err(fault) => {
            info!(action = %envelope.action, fault = %fault.message, "SOAP body refused");
            return fault_response(&context, &fault);
        }
    };

    let span = info_span!("soap", action = %envelope.action, account = account.0);
    answer(state, &context, account, call)
        .instrument(span)
        .await
}

/// Runs a decoded call and writes its response.
async fn answer(
    state: &AppState,
    context: &ResponseContext,
    account: AccountId,
    call: Call,
) -> Response {
    match call {
        Call::Objects(call) => {
            if let Err(fault) = check_account(account, &call) {
                return fault_response(context, &fault);
            }
            let operation = call.operation;
            match state.engine.submit(account, call).await {
                Ok(outcome) => {
                    let request_id = outcome.request_id.to_string();
                    info!(%request_id, status = outcome.overall.as_str(), "call answered");
                    let text = encode::object_response(
                        context,
                        operation,
                        &outcome.results,
                        &request_id,
                        outcome.overall,
                    );
                    soap_response(context, StatusCode::OK, text)
                }
                Err(engine_error) => engine_fault(context, &engine_error),
            }
        }
        Call::Retrieve(call) => {
            if let Some(other) = call.client_ids.iter().find(|id| **id != account.0) {
                let message = format!("the caller's account {account} cannot read account {other}");
                return fault_response(context, &Fault::client(message));
            }
            match state.engine.retrieve(account, call).await {
                Ok(outcome) => {
                    let status = match &outcome.status {
                        RetrieveStatus::Ok => "OK",
                        RetrieveStatus::MoreDataAvailable => "MoreDataAvailable",
                        RetrieveStatus::Error(_) => "Error",
                    };
                    let results = outcome.results.len();
                    let request_id = &outcome.request_id;
                    info!(%request_id, status, results, "retrieve answered");
                    soap_response(
                        context,
                        StatusCode::OK,
                        encode::retrieve_response(context, &outcome),
                    )
                }
                Err(engine_error) => engine_fault(context, &engine_error),
            }
        }
        Call::VersionInfo => {
            let request_id = confab_core::RequestId::new_random().to_string();
            soap_response(
                context,
                StatusCode::OK,
                encode::version_info_response(context, &request_id),
            )
        }
    }
}

/// Refuses a call that names another account than the caller's: a token or
/// login acts in its own account only.
fn check_account(account: AccountId, call: &ObjectCall) -> Result<(), Fault> {
    let named = call.options.client_id.into_iter().chain(
        call.objects
            .iter()
            .filter_map(|object| object.base().client_id),
    );
    for other in named {
        if other != account.0 {
            let message = format!("the caller's account {account} cannot act in account {other}");
            return Err(Fault::client(message));
        }
    }
    Ok(())
}

/// The fault for an engine failure; store failures are logged here, once.
fn engine_fault(context: &ResponseContext, engine_error: &EngineError) -> Response {
    let fault = match engine_error {
        EngineError::BadRequest(message) => Fault::client(message.clone()),
        other => {
            error!(error = ?other, "call failed");
            Fault::server("Confab could not process the call; nothing of it was stored")
        }
    };
    fault_response(context, &fault)
}

/// A fault response.
fn fault_response(context: &ResponseContext, fault: &Fault) -> Response {
    let status = StatusCode::from_u16(encode::fault_status(fault))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    soap_response(context, status, encode::fault_response(context, fault))
}

/// A SOAP response in the request's version.
fn soap_response(context: &ResponseContext, status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, context.content_type())],
        text,
    )
        .into_response()
}
