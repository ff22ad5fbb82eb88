//! The HTTP and SOAP front as SDKs meet it: SOAP 1.2 with WS-Addressing,
//! the path in either case, faults for unreadable requests and bad or
//! expired tokens, the WSDL pointing at this server, and the token endpoints
//! with the fields the SDKs read.

use hmac::{KeyInit, Mac};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{
    Auth, Client, Field, PARTNER_NS, SOAP11_NS, Server, XSI_NS, envelope, request, retrieve, row,
};

/// The SOAP 1.2 envelope namespace.
const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

/// The WS-Addressing (August 2004) namespace WCF speaks.
const WSA_NS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";

/// A server and its first account's client.
async fn setup() -> (Server, Client) {
    let server = Server::start();
    let client = server.client().await;
    (server, client)
}

#[tokio::test]
async fn soap_12_requests_are_answered_in_soap_12_with_relates_to() {
    let (server, client) = setup().await;
    client
        .create_data_extension("Log", &[Field::key("Id")])
        .await;
    let message_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let body = format!(
        concat!(
            r#"<s:Envelope xmlns:s="{soap12}" xmlns:a="{wsa}" xmlns:xsi="{xsi}"><s:Header>"#,
            r#"<a:Action s:mustUnderstand="1">Create</a:Action>"#,
            "<a:MessageID>{message_id}</a:MessageID>",
            "<a:ReplyTo><a:Address>{wsa}/role/anonymous</a:Address></a:ReplyTo>",
            r#"<a:To s:mustUnderstand="1">{base_url}/Service.asmx</a:To>"#,
            r#"<fueloauth xmlns="http://exacttarget.com">{token}</fueloauth>"#,
            "</s:Header><s:Body>{body}</s:Body></s:Envelope>",
        ),
        soap12 = SOAP12_NS,
        wsa = WSA_NS,
        xsi = XSI_NS,
        message_id = message_id,
        base_url = server.base_url(),
        token = client.token(),
        body = request("Create", "", &row("Log", &[("Id", "x")])),
    );
    let response = client
        .post_xml(
            "/Service.asmx",
            &[("Content-Type", "application/soap+xml; charset=utf-8")],
            body,
        )
        .await
        .unwrap();

    assert_eq!(response.status, 200, "{}", response.text);
    assert!(response.content_type.starts_with("application/soap+xml"));
    let document = response.document();
    let root = document.root_element();
    assert_eq!(root.tag_name().namespace(), Some(SOAP12_NS));
    let header_text = |name: &str| {
        root.descendants()
            .find(|node| {
                node.tag_name().namespace() == Some(WSA_NS) && node.tag_name().name() == name
            })
            .and_then(|node| node.text())
            .map(str::to_owned)
    };
    assert_eq!(header_text("RelatesTo"), Some(message_id));
    assert_eq!(header_text("Action").as_deref(), Some("CreateResponse"));
    assert_eq!(response.body_element_name(), "CreateResponse");
    assert_eq!(response.overall_status(), "OK");
}

#[tokio::test]
async fn the_soap_url_built_from_soap_instance_url_in_lower_case_works() {
    let (server, client) = setup().await;
    let credentials = &server.credentials;
    let (_, token) = client
        .post_json(
            "/v2/token",
            &json!({
                "grant_type": "client_credentials",
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            }),
        )
        .await;
    // FuelSDK-Python appends "service.asmx" to soap_instance_url.
    let url = format!(
        "{}service.asmx",
        token["soap_instance_url"].as_str().unwrap()
    );
    let body = envelope(
        &format!(
            r#"<fueloauth xmlns="http://exacttarget.com">{}</fueloauth>"#,
            client.token()
        ),
        &retrieve("DataExtension", &["CustomerKey"], None),
    );
    let response = client
        .http()
        .post(url)
        .header("SOAPAction", "Retrieve")
        .header("Content-Type", "text/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<OverallStatus>OK</OverallStatus>")
    );
}

#[tokio::test]
async fn a_body_that_is_not_xml_gets_a_client_fault() {
    let (_server, client) = setup().await;
    let response = client
        .post_xml(
            "/Service.asmx",
            &[("SOAPAction", "Create")],
            "this is not XML".into(),
        )
        .await
        .unwrap();
    let (code, _) = response.expect_fault();
    assert_eq!(code, "soap:Client");
    let document = response.document();
    assert_eq!(
        document.root_element().tag_name().namespace(),
        Some(SOAP11_NS)
    );
}

#[tokio::test]
async fn a_body_over_the_limit_gets_a_client_fault_with_status_413() {
    let (_server, client) = setup().await;
    // Padding inside a well-formed envelope: only the size is wrong.
    let padding = " ".repeat(65 * 1024 * 1024);
    let body = envelope("", &format!("<CreateRequest>{padding}</CreateRequest>"));
    let response = client
        .post_xml("/Service.asmx", &[("SOAPAction", "Create")], body)
        .await
        .unwrap();
    assert_eq!(response.status, 413);
    let (code, message) = response.fault().expect("a SOAP fault");
    assert_eq!(code, "soap:Client");
    assert!(message.contains("64 MiB"), "{message}");
}

#[tokio::test]
async fn a_request_without_an_action_gets_a_client_fault() {
    let (_server, client) = setup().await;
    let body = envelope(
        &format!(
            r#"<fueloauth xmlns="http://exacttarget.com">{}</fueloauth>"#,
            client.token()
        ),
        &retrieve("DataExtension", &["CustomerKey"], None),
    );
    let response = client.post_xml("/Service.asmx", &[], body).await.unwrap();
    assert_eq!(response.expect_fault().0, "soap:Client");
}

#[tokio::test]
async fn a_garbage_token_gets_the_security_fault() {
    let (_server, client) = setup().await;
    let garbage = client.with_auth(Auth::Fueloauth("garbage".into()));
    let response = garbage
        .soap(
            "Retrieve",
            &retrieve("DataExtension", &["CustomerKey"], None),
        )
        .await;
    let (code, message) = response.expect_fault();
    assert!(code.ends_with(":Security"), "{code}");
    assert_eq!(message, "Login failed");
}

/// A token the server signed, but expired an hour ago. Confab's tokens are
/// `<kind>.<account>.<expires>.<nonce>.<hex HMAC-SHA256>` under the key kept
/// in the store; the test signs one itself because waiting out a real
/// token's 18 minutes is not an option.
fn expired_token(server: &Server) -> String {
    let key = server.sql_bytes("SELECT value FROM meta WHERE key = 'signing_key'");
    let expires = chrono::Utc::now().timestamp() - 3_600;
    let account = server.credentials.account_id;
    let nonce = uuid::Uuid::new_v4().simple();
    let body = format!("v2.{account}.{expires}.{nonce}");
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(body.as_bytes());
    format!("{body}.{}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn an_expired_token_gets_the_token_expired_fault() {
    let (server, client) = setup().await;
    let expired = client.with_auth(Auth::Fueloauth(expired_token(&server)));
    let response = expired
        .soap(
            "Retrieve",
            &retrieve("DataExtension", &["CustomerKey"], None),
        )
        .await;
    let (code, message) = response.expect_fault();
    assert!(code.ends_with(":Security"), "{code}");
    // FuelSDK-Node fetches a new token only on exactly this text.
    assert_eq!(message, "Token Expired");
}

#[tokio::test]
async fn the_wsdl_points_at_this_server() {
    let (server, client) = setup().await;
    let (status, wsdl) = client.get("/etframework.wsdl", None).await;
    assert_eq!(status, 200);
    let document = roxmltree::Document::parse(&wsdl).unwrap();
    let address = document
        .descendants()
        .find(|node| node.tag_name().name() == "address")
        .and_then(|node| node.attribute("location"))
        .unwrap();
    assert_eq!(address, format!("{}/Service.asmx", server.base_url()));
    let target_namespace = document.root_element().attribute("targetNamespace");
    assert_eq!(target_namespace, Some(PARTNER_NS));
}

#[tokio::test]
async fn the_oauth2_token_answer_has_what_the_sdks_read() {
    let (server, client) = setup().await;
    let credentials = &server.credentials;
    let (status, answer) = client
        .post_json(
            "/v2/token",
            &json!({
                "grant_type": "client_credentials",
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            }),
        )
        .await;
    assert_eq!(status, 200);
    assert!(!answer["access_token"].as_str().unwrap().is_empty());
    assert_eq!(answer["token_type"], "Bearer");
    assert!(answer["expires_in"].as_i64().unwrap() > 0);
    let base = format!("{}/", server.base_url());
    assert_eq!(answer["soap_instance_url"], base.as_str());
    assert_eq!(answer["rest_instance_url"], base.as_str());
}

#[tokio::test]
async fn a_wrong_client_secret_gets_invalid_client() {
    let (server, client) = setup().await;
    let (status, answer) = client
        .post_json(
            "/v2/token",
            &json!({
                "grant_type": "client_credentials",
                "client_id": server.credentials.client_id,
                "client_secret": "wrong",
            }),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"], "invalid_client");
}

#[tokio::test]
async fn the_legacy_token_answer_has_what_the_sdks_read() {
    let (server, client) = setup().await;
    let credentials = json!({
        "clientId": server.credentials.client_id,
        "clientSecret": server.credentials.client_secret,
    });
    let (status, answer) = client
        .post_json("/v1/requestToken?legacy=1", &credentials)
        .await;
    assert_eq!(status, 200);
    assert!(!answer["accessToken"].as_str().unwrap().is_empty());
    assert!(!answer["legacyToken"].as_str().unwrap().is_empty());
    assert_eq!(answer["expiresIn"], 3600);

    let (status, answer) = client.post_json("/v1/requestToken", &credentials).await;
    assert_eq!(status, 200);
    assert!(answer.get("legacyToken").is_none(), "{answer}");
}

#[tokio::test]
async fn the_soap_endpoint_is_discovered_with_a_bearer_token() {
    let (server, client) = setup().await;
    let (status, answer) = client
        .get("/platform/v1/endpoints/soap", Some(client.token()))
        .await;
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["url"], format!("{}/Service.asmx", server.base_url()));

    let (status, _) = client.get("/platform/v1/endpoints/soap", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_soap_12_request_gets_a_soap_12_fault() {
    let (_server, client) = setup().await;
    let message_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let body = format!(
        concat!(
            r#"<s:Envelope xmlns:s="{soap12}" xmlns:a="{wsa}"><s:Header>"#,
            "<a:Action>Retrieve</a:Action><a:MessageID>{message_id}</a:MessageID>",
            r#"<fueloauth xmlns="http://exacttarget.com">garbage</fueloauth>"#,
            "</s:Header><s:Body>{body}</s:Body></s:Envelope>",
        ),
        soap12 = SOAP12_NS,
        wsa = WSA_NS,
        message_id = message_id,
        body = retrieve("DataExtension", &["CustomerKey"], None),
    );
    let response = client
        .post_xml(
            "/Service.asmx",
            &[("Content-Type", "application/soap+xml; charset=utf-8")],
            body,
        )
        .await
        .unwrap();
    assert!(response.content_type.starts_with("application/soap+xml"));
    let document = response.document();
    assert_eq!(
        document.root_element().tag_name().namespace(),
        Some(SOAP12_NS)
    );
    let (_, reason) = response.expect_fault();
    assert_eq!(reason, "Login failed");
    assert!(response.text.contains(&message_id), "RelatesTo is echoed");
}

#[tokio::test]
async fn a_header_after_the_body_is_read() {
    let (_server, client) = setup().await;
    // sfmc-sdk and FuelSDK-Node put the Header after the Body.
    let body = format!(
        concat!(
            r#"<Envelope xmlns="{soap11}" xmlns:xsi="{xsi}"><Body>{body}</Body>"#,
            r#"<Header><fueloauth xmlns="http://exacttarget.com">{token}</fueloauth></Header>"#,
            "</Envelope>",
        ),
        soap11 = SOAP11_NS,
        xsi = XSI_NS,
        body = retrieve("DataExtension", &["CustomerKey"], None),
        token = client.token(),
    );
    let response = client
        .post_xml("/Service.asmx", &[("SOAPAction", "Retrieve")], body)
        .await
        .unwrap();
    assert_eq!(response.overall_status(), "OK", "{}", response.text);
}

#[tokio::test]
async fn a_quoted_soap_action_is_accepted() {
    let (_server, client) = setup().await;
    let body = envelope(
        &format!(
            r#"<fueloauth xmlns="http://exacttarget.com">{}</fueloauth>"#,
            client.token()
        ),
        &retrieve("DataExtension", &["CustomerKey"], None),
    );
    let response = client
        .post_xml("/Service.asmx", &[("SOAPAction", "\"Retrieve\"")], body)
        .await
        .unwrap();
    assert_eq!(response.overall_status(), "OK", "{}", response.text);
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let (server, client) = setup().await;
    let address = server.base_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"POST /Service.asmx HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();

    // The server gives a connection ten seconds to send its headers.
    let mut buffer = [0_u8; 64];
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read(&mut buffer))
        .await
        .expect("the server should have closed the stalled connection");
    assert!(matches!(read, Ok(0) | Err(_)) || buffer.starts_with(b"HTTP/1.1 408"));

    // Other clients are served as before. A fresh connection: the shared
    // client's idle one was closed by the same timeout meanwhile.
    drop(client);
    let answer = reqwest::get(format!("{}/etframework.wsdl", server.base_url()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}
