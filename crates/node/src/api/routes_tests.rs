//! Tests of the router, driven with `tower::ServiceExt::oneshot` over [`FakeApi`].

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::api::fake::{Call, FakeApi, INVITATION_CODE, NODE_ID, PEER_ID};
use crate::api::model::{ApiError, ApiEvent};

fn request(method: &str, uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder().method(method).uri(uri).body(body.into()).expect("a valid request")
}

fn json_request(method: &str, uri: &str, body: &str) -> Request<Body> {
    let mut request = request(method, uri, body.to_owned());
    request
        .headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().expect("a header value"));
    request
}

/// Sends `request` to a router over `api` without auth; returns status and body text.
async fn send_to(api: &FakeApi, auth: Auth, request: Request<Body>) -> (StatusCode, String) {
    let response =
        router(api.clone(), auth).oneshot(request).await.expect("the router is infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("a body").to_bytes();
    (status, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
}

async fn send(api: &FakeApi, request: Request<Body>) -> (StatusCode, Value) {
    let (status, text) = send_to(api, Auth::None, request).await;
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, value)
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn status_answers_the_contract_fields() {
    let api = FakeApi::new();
    let (status, body) = send(&api, request("GET", "/v1/status", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    for field in ["node_id", "name", "role", "grid_id", "addresses", "uptime_s", "version", "ready"]
    {
        assert!(body.get(field).is_some(), "missing {field} in {body}");
    }
    assert_eq!(body["node_id"], NODE_ID);
    assert_eq!(api.calls(), vec![Call::Status]);
}

#[tokio::test]
async fn members_answers_a_list_with_the_contract_fields() {
    let api = FakeApi::new();
    let (status, body) = send(&api, request("GET", "/v1/members", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    let members = body.as_array().expect("an array");
    assert_eq!(members.len(), 2);
    for field in
        ["node_id", "name", "role", "state", "addresses", "rtt_ms", "last_heard_ms_ago", "seq"]
    {
        assert!(members[0].get(field).is_some(), "missing {field}");
    }
}

#[tokio::test]
async fn services_passes_the_name_and_followed_filters() {
    let api = FakeApi::new();
    let put = json_request("PUT", "/v1/services/web", r#"{"port": 80}"#);
    assert_eq!(send(&api, put).await.0, StatusCode::OK);
    let get = request("GET", "/v1/services?name=web&followed=false", Body::empty());
    let (status, body) = send(&api, get).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([{"origin": NODE_ID, "service": "web", "seq": 1,
                "issued_at": 1_700_000_000_000u64, "payload": {"port": 80}}])
    );
    let get = request("GET", "/v1/services?name=&followed=", Body::empty());
    assert_eq!(send(&api, get).await.0, StatusCode::OK);
    let followed = request("GET", "/v1/services?followed=true", Body::empty());
    assert_eq!(send(&api, followed).await, (StatusCode::OK, json!([])), "no list names the fake");
    api.add_followed_list(PEER_ID, &[NODE_ID]);
    let followed = request("GET", "/v1/services?followed=1", Body::empty());
    assert_eq!(send(&api, followed).await.1.as_array().map(Vec::len), Some(1));
    let (status, body) =
        send(&api, request("GET", "/v1/services?followed=yes", Body::empty())).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "bad_request");
    let calls = api.calls();
    assert_eq!(calls[1], Call::Services(Some("web".into()), false));
    assert_eq!(calls[2], Call::Services(None, false), "an empty name is no filter");
    assert_eq!(calls[3], Call::Services(None, true));
}

#[tokio::test]
async fn put_announces_the_payload_and_answers_the_seq() {
    let api = FakeApi::new();
    let (status, body) = send(&api, json_request("PUT", "/v1/services/web", r#"{"a": 1}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"seq": 1}));
    let payload = json!({"a": 1}).as_object().cloned().expect("an object");
    assert_eq!(api.calls(), vec![Call::Announce("web".into(), payload, None)]);
}

#[tokio::test]
async fn a_json_body_without_its_content_type_is_refused() {
    let api = FakeApi::new();
    let (status, answer) = send(&api, request("PUT", "/v1/services/web", r#"{"a": 1}"#)).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "bad_request");
    let message = answer["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("Content-Type: application/json"), "{message}");
    let invite = request("POST", "/v1/invitations", r#"{"role": "server"}"#);
    let (status, _) = send(&api, invite).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(api.calls().is_empty(), "a refused body reached the node");
}

#[tokio::test]
async fn a_request_from_another_sites_page_is_refused() {
    let api = FakeApi::new();
    let from = |origin: &str, request: Request<Body>| {
        let mut request = request;
        let headers = request.headers_mut();
        headers.insert(header::HOST, "127.0.0.1:7421".parse().expect("a header value"));
        headers.insert(header::ORIGIN, origin.parse().expect("a header value"));
        request
    };
    // A form post to a group, and a no-cors fetch that creates an invitation.
    let post = request("POST", "/v1/groups/g/messages", "hello");
    let (status, answer) = send(&api, from("https://evil.example", post)).await;
    assert_error(status, &answer, StatusCode::FORBIDDEN, "forbidden");
    let invite = request("POST", "/v1/invitations", Body::empty());
    let (status, _) = send(&api, from("null", invite)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(api.calls().is_empty(), "a cross-site request reached the node");
    // The API's own page is let through.
    let own = from("http://127.0.0.1:7421", request("GET", "/v1/status", Body::empty()));
    assert_eq!(send(&api, own).await.0, StatusCode::OK);
}

#[tokio::test]
async fn grid_control_form_passes_the_seq_and_strips_its_keys() {
    let api = FakeApi::new();
    for (body, seq) in [
        (r#"{"service-name": "grid-control", "sequence-number": 7, "r": []}"#, 7),
        (r#"{"service-name": "grid-control", "sequence-number": "9", "r": []}"#, 9),
    ] {
        let (status, answer) =
            send(&api, json_request("PUT", "/v1/services/grid-control", body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer, json!({"seq": seq}));
    }
    let payload = json!({"r": []}).as_object().cloned().expect("an object");
    assert_eq!(
        api.calls(),
        vec![
            Call::Announce("grid-control".into(), payload.clone(), Some(7)),
            Call::Announce("grid-control".into(), payload, Some(9)),
        ]
    );
}

#[tokio::test]
async fn bad_sequence_numbers_are_refused() {
    for seq in [r#"-1"#, r#"1.5"#, r#""12a""#, r#""""#, r#"null"#, r#"true"#] {
        let api = FakeApi::new();
        let body = format!(r#"{{"service-name": "g", "sequence-number": {seq}}}"#);
        let (status, answer) = send(&api, json_request("PUT", "/v1/services/g", &body)).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "bad_request");
        assert!(api.calls().is_empty(), "{seq} reached the node");
    }
}

#[tokio::test]
async fn service_name_mismatch_is_a_bad_request() {
    let api = FakeApi::new();
    let body = r#"{"service-name": "other", "sequence-number": 1}"#;
    let (status, answer) = send(&api, json_request("PUT", "/v1/services/web", body)).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "bad_request");
    assert!(api.calls().is_empty());
}

#[tokio::test]
async fn stale_sequence_number_is_a_conflict() {
    let api = FakeApi::new();
    let body = r#"{"service-name": "g", "sequence-number": 5}"#;
    assert_eq!(send(&api, json_request("PUT", "/v1/services/g", body)).await.0, StatusCode::OK);
    let (status, answer) = send(&api, json_request("PUT", "/v1/services/g", body)).await;
    assert_error(status, &answer, StatusCode::CONFLICT, "conflict");
    assert!(answer["error"]["message"].as_str().unwrap_or("").contains("stale"));
}

#[tokio::test]
async fn bad_json_and_non_objects_are_bad_requests() {
    for body in ["{not json", "[1, 2]", "\"text\"", "42", ""] {
        let api = FakeApi::new();
        let (status, answer) = send(&api, json_request("PUT", "/v1/services/web", body)).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "bad_request");
        assert!(api.calls().is_empty(), "{body:?} reached the node");
    }
}

#[tokio::test]
async fn non_json_content_type_is_a_bad_request() {
    let api = FakeApi::new();
    let mut put = request("PUT", "/v1/services/web", r#"{"a": 1}"#);
    put.headers_mut().insert(header::CONTENT_TYPE, "text/plain".parse().expect("a header value"));
    let (status, answer) = send(&api, put).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn oversized_body_is_too_large() {
    let api = FakeApi::new();
    let big = format!(r#"{{"blob": "{}"}}"#, "x".repeat(BODY_LIMIT));
    let (status, answer) = send(&api, json_request("PUT", "/v1/services/web", &big)).await;
    assert_error(status, &answer, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert!(api.calls().is_empty());
}

#[tokio::test]
async fn delete_withdraws() {
    let api = FakeApi::new();
    send(&api, json_request("PUT", "/v1/services/web", "{}")).await;
    let (status, body) = send(&api, request("DELETE", "/v1/services/web", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"seq": 2}));
    assert_eq!(api.calls()[1], Call::Withdraw("web".into()));
    let (status, body) = send(&api, request("DELETE", "/v1/services/none", Body::empty())).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn invitations_pass_the_request_and_answer_the_code() {
    let api = FakeApi::new();
    let body = r#"{"role": "server", "uses": 3, "expires_s": 60}"#;
    let (status, answer) = send(&api, json_request("POST", "/v1/invitations", body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, json!({"code": INVITATION_CODE}));
    let (status, _) = send(&api, request("POST", "/v1/invitations", Body::empty())).await;
    assert_eq!(status, StatusCode::OK, "an empty body asks for the defaults");
    let (status, answer) =
        send(&api, json_request("POST", "/v1/invitations", r#"{"colour": 1}"#)).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "bad_request");
    let calls = api.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0],
        Call::Invite(InvitationRequest {
            role: Some("server".into()),
            uses: Some(3),
            expires_s: Some(60),
        })
    );
    assert_eq!(calls[1], Call::Invite(InvitationRequest::default()));
}

#[tokio::test]
async fn overlay_and_stats_answer_the_node_json() {
    let api = FakeApi::new();
    let (status, body) = send(&api, request("GET", "/v1/overlay", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["active"].is_array());
    let (status, body) = send(&api, request("GET", "/v1/stats", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["duplicates"], 1);
}

#[tokio::test]
async fn routes_list_paths_and_a_ping_answers_or_says_there_is_no_route() {
    let api = FakeApi::new();
    let (status, body) = send(&api, request("GET", "/v1/routes", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["path"], json!([NODE_ID, PEER_ID]));
    let (status, body) =
        send(&api, request("POST", &format!("/v1/ping/{PEER_ID}"), Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["rtt_ms"], 12.5);
    let (status, body) = send(&api, request("POST", "/v1/ping/elsewhere", Body::empty())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(api.calls().last(), Some(&Call::Ping("elsewhere".into())));
    let (status, _) = send(&api, request("GET", "/v1/ping/elsewhere", Body::empty())).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, body) = send(&api, request("GET", "/v1/nearest", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!([{"node_id": PEER_ID, "rtt_ms": 0.8, "group": 0}]));
}

#[tokio::test]
async fn metrics_is_prometheus_text() {
    let api = FakeApi::new();
    let response = router(api, Auth::None)
        .oneshot(request("GET", "/metrics", Body::empty()))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap_or("");
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
}

#[tokio::test]
async fn index_is_the_dashboard() {
    let (status, text) =
        send_to(&FakeApi::new(), Auth::None, request("GET", "/", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("dashboard.js"), "{text}");
}

#[tokio::test]
async fn node_errors_keep_their_status() {
    let api = FakeApi::new();
    api.fail_next(ApiError::NotReady("still catching up".into()));
    let (status, body) = send(&api, request("GET", "/v1/status", Body::empty())).await;
    assert_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, "not_ready");
    assert_eq!(body["error"]["message"], "still catching up");
}

#[tokio::test]
async fn unknown_route_and_method_answer_the_error_body() {
    let api = FakeApi::new();
    let (status, body) = send(&api, request("GET", "/v1/nothing", Body::empty())).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = send(&api, request("POST", "/v1/status", Body::empty())).await;
    assert_error(status, &body, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn bearer_token_is_required_on_every_route() {
    let api = FakeApi::new();
    let auth = || Auth::Bearer("s3cret".into());
    for path in ["/v1/status", "/metrics", "/", "/v1/nothing"] {
        let (status, text) = send_to(&api, auth(), request("GET", path, Body::empty())).await;
        let body: Value = serde_json::from_str(&text).expect("JSON");
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
        let mut wrong = request("GET", path, Body::empty());
        wrong.headers_mut().insert(header::AUTHORIZATION, "Bearer nope".parse().expect("value"));
        assert_eq!(send_to(&api, auth(), wrong).await.0, StatusCode::UNAUTHORIZED);
    }
    assert!(api.calls().is_empty());
    let mut right = request("GET", "/v1/status", Body::empty());
    right.headers_mut().insert(header::AUTHORIZATION, "Bearer s3cret".parse().expect("value"));
    assert_eq!(send_to(&api, auth(), right).await.0, StatusCode::OK);
}

#[tokio::test]
async fn events_stream_delivers_an_event_sent_after_subscribing() {
    let api = FakeApi::new();
    let response = router(api.clone(), Auth::None)
        .oneshot(request("GET", "/v1/events", Body::empty()))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    assert_eq!(api.send_event(ApiEvent::Member(FakeApi::own_member())), 1);
    let mut body = response.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("an event within 5 s")
        .expect("a frame")
        .expect("no body error");
    let text = String::from_utf8(frame.into_data().expect("data").to_vec()).expect("UTF-8");
    assert!(text.starts_with("event: member\ndata: {"), "{text}");
    assert!(text.contains(NODE_ID), "{text}");
}

#[tokio::test]
async fn a_lagging_subscriber_is_told_and_kept() {
    let api = FakeApi::with_event_capacity(1);
    let response = router(api.clone(), Auth::None)
        .oneshot(request("GET", "/v1/events", Body::empty()))
        .await
        .expect("infallible");
    for _ in 0..3 {
        api.send_event(ApiEvent::Member(FakeApi::own_member()));
    }
    let mut body = response.into_body();
    let mut seen = String::new();
    while !seen.contains("event: member") {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("a frame within 5 s")
            .expect("a frame")
            .expect("no body error");
        seen.push_str(&String::from_utf8_lossy(&frame.into_data().expect("data")));
    }
    assert!(seen.starts_with("event: lagged\ndata: {\"missed\":2}"), "{seen}");
}

#[tokio::test]
async fn serve_answers_and_ends_event_streams_at_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router(FakeApi::new(), Auth::None), async move {
        let _ = stopped.await;
    }));
    // Open an event stream with a raw HTTP/1.1 request, then ask the server to stop.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    stream.write_all(b"GET /v1/events HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    let mut buffer = [0u8; 512];
    let read = stream.read(&mut buffer).await.expect("read");
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    let _ = stop.send(());
    let result = tokio::time::timeout(SHUTDOWN_GRACE / 2, server)
        .await
        .expect("the server stopped before the grace period ran out");
    result.expect("no panic").expect("no I/O error");
}

#[path = "grid_control_tests.rs"]
mod grid_control;
