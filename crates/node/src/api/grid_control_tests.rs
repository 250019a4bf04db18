//! Tests of the grid-control routes over [`FakeApi`]: what reaches the node, and the refusals
//! made before it does.

use super::*;
use crate::api::fake::{GridControlCall, MANAGER_KEY, SERVER_ID};

fn grid_calls(api: &FakeApi) -> Vec<GridControlCall> {
    api.calls()
        .into_iter()
        .filter_map(|call| match call {
            Call::GridControl(call) => Some(call),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn recommendations_are_put_listed_and_deleted() {
    let api = FakeApi::new();
    let put = json_request(
        "PUT",
        "/v1/recommendations",
        &format!(r#"{{"who": "{SERVER_ID}", "what": "send-shares-to", "petname": "Bob"}}"#),
    );
    let (status, body) = send(&api, put).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"seq": 1, "recommendations": [{"who": SERVER_ID, "petname": "Bob", "what": "send-shares-to"}]})
    );
    let (_, listed) = send(&api, request("GET", "/v1/recommendations", Body::empty())).await;
    assert_eq!(listed, body);
    let reach = request("GET", "/v1/reachable?what=send-shares-to&depth=2", Body::empty());
    assert_eq!(send(&api, reach).await, (StatusCode::OK, json!([SERVER_ID])));
    let delete = json_request(
        "DELETE",
        "/v1/recommendations",
        &format!(r#"{{"who": "{SERVER_ID}", "what": "send-shares-to"}}"#),
    );
    assert_eq!(send(&api, delete).await.1["recommendations"], json!([]));
    assert_eq!(
        grid_calls(&api),
        [
            GridControlCall::Recommend(SERVER_ID.into(), "send-shares-to".into(), "Bob".into()),
            GridControlCall::Recommendations,
            GridControlCall::Reachable("send-shares-to".into(), Some(2)),
            GridControlCall::Unrecommend(SERVER_ID.into(), "send-shares-to".into()),
        ]
    );
}

#[tokio::test]
async fn bad_recommendation_input_is_refused_before_the_node() {
    let api = FakeApi::new();
    for (body, says) in [
        (r#"{"who": "BOB-PUBKEY", "what": "x"}"#, "who \"BOB-PUBKEY\" is not a node id"),
        (r#"{"who": "x"}"#, "the body must be {who, what, petname}"),
        (r#"{"who": "x", "what": "y", "colour": 1}"#, "unknown field"),
        ("", "the body is empty"),
    ] {
        let (status, error) = send(&api, json_request("PUT", "/v1/recommendations", body)).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "bad_request");
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    for uri in ["/v1/reachable", "/v1/reachable?what=", "/v1/reachable?what=x&depth=-1"] {
        let (status, error) = send(&api, request("GET", uri, Body::empty())).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert!(grid_calls(&api).is_empty(), "nothing reached the node");
}

#[tokio::test]
async fn the_manager_is_created_edited_and_shown() {
    let api = FakeApi::new();
    let (status, error) = send(&api, request("GET", "/v1/manager", Body::empty())).await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    let (status, made) = send(&api, request("POST", "/v1/manager", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(made, json!({"key": MANAGER_KEY, "version": 1, "servers": []}));
    let (status, error) = send(&api, request("POST", "/v1/manager", Body::empty())).await;
    assert_error(status, &error, StatusCode::CONFLICT, "conflict");
    let add = || request("PUT", &format!("/v1/manager/servers/{SERVER_ID}"), Body::empty());
    assert_eq!(send(&api, add()).await.1["servers"], json!([SERVER_ID]));
    let (status, error) = send(&api, add()).await;
    assert_error(status, &error, StatusCode::CONFLICT, "conflict");
    let remove = || request("DELETE", &format!("/v1/manager/servers/{SERVER_ID}"), Body::empty());
    assert_eq!(
        send(&api, remove()).await.1,
        json!({"key": MANAGER_KEY, "version": 3, "servers": []})
    );
    let (status, error) = send(&api, remove()).await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    let (status, error) =
        send(&api, request("PUT", "/v1/manager/servers/not-an-id", Body::empty())).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn follows_are_added_listed_and_removed() {
    let api = FakeApi::new();
    let follow = request("PUT", &format!("/v1/follows/{MANAGER_KEY}"), Body::empty());
    assert_eq!(
        send(&api, follow).await,
        (StatusCode::OK, json!([{"key": MANAGER_KEY, "version": 0, "servers": []}]))
    );
    let (_, listed) = send(&api, request("GET", "/v1/follows", Body::empty())).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    let unfollow = request("DELETE", &format!("/v1/follows/{MANAGER_KEY}"), Body::empty());
    assert_eq!(send(&api, unfollow).await, (StatusCode::OK, json!([])));
    let (status, error) = send(&api, request("PUT", "/v1/follows/x", Body::empty())).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(
        grid_calls(&api),
        [
            GridControlCall::Follow(MANAGER_KEY.into(), true),
            GridControlCall::Follows,
            GridControlCall::Follow(MANAGER_KEY.into(), false),
        ]
    );
}
