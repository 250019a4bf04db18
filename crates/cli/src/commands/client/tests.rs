//! Tests of the client commands: argument parsing, argument → request mapping, and the
//! commands run against the real API router over the fake node on a loopback port.

use std::net::SocketAddr;

use clap::Parser;
use clap::error::ErrorKind;
use herald_node::api::fake::{FakeApi, INVITATION_CODE, NODE_ID, PEER_ID};
use herald_node::api::{Auth, router, serve};
use serde_json::json;

use super::*;

#[derive(Parser, Debug)]
struct AnnounceCli {
    #[command(flatten)]
    args: AnnounceArgs,
}

#[derive(Parser, Debug)]
struct InviteCli {
    #[command(flatten)]
    args: InviteArgs,
}

fn announce_args(argv: &[&str]) -> Result<AnnounceArgs, clap::Error> {
    AnnounceCli::try_parse_from(std::iter::once("announce").chain(argv.iter().copied()))
        .map(|cli| cli.args)
}

#[test]
fn announce_takes_service_and_json_or_a_file_but_not_both() {
    assert!(announce_args(&["web", "{}"]).is_ok());
    assert!(announce_args(&["--file", "f.json"]).is_ok());
    let usage = |argv: &[&str]| announce_args(argv).map(|_| ()).unwrap_err().kind();
    assert_eq!(usage(&[]), ErrorKind::MissingRequiredArgument);
    assert_eq!(usage(&["web"]), ErrorKind::MissingRequiredArgument);
    assert_eq!(usage(&["web", "{}", "--file", "f.json"]), ErrorKind::ArgumentConflict);
}

#[test]
fn announce_maps_service_and_payload_to_the_request() {
    let args = announce_args(&["web", r#"{"port": 80}"#]).unwrap();
    let request = announce_request(&args).unwrap();
    assert_eq!(request.service, "web");
    assert_eq!(Value::Object(request.body), json!({"port": 80}));
}

#[test]
fn announce_refuses_a_payload_that_is_not_an_object() {
    for payload in ["[1]", "3", "{oops"] {
        let args = announce_args(&["web", payload]).unwrap();
        let refused = announce_request(&args).unwrap_err();
        let error = format!("{refused:#}");
        assert!(error.starts_with("the payload must be a JSON object"), "{error}");
        assert!(crate::commands::usage::is_usage(&refused), "a bad payload on the line exits 2");
    }
}

#[test]
fn announce_file_names_the_service_and_keeps_the_grid_control_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gc.json");
    let document = json!({"service-name": "grid-control", "sequence-number": 3, "r": []});
    std::fs::write(&path, document.to_string()).unwrap();
    let args = announce_args(&["--file", path.to_str().unwrap()]).unwrap();
    let request = announce_request(&args).unwrap();
    assert_eq!(request.service, "grid-control");
    assert_eq!(Value::Object(request.body), document);

    std::fs::write(&path, r#"{"sequence-number": 3}"#).unwrap();
    let error = format!("{:#}", announce_request(&args).unwrap_err());
    assert!(error.contains("has no service-name"), "{error}");
}

#[test]
fn invite_defaults_and_rounds_expiry_up() {
    let parse = |argv: &[&str]| {
        InviteCli::try_parse_from(std::iter::once("invite").chain(argv.iter().copied()))
            .map(|cli| invitation_request(&cli.args))
    };
    let request = |role: &str, uses, expires_s| InvitationRequest {
        role: Some(role.to_owned()),
        uses: Some(uses),
        expires_s: Some(expires_s),
    };
    assert_eq!(parse(&[]).unwrap(), request("client", 1, 86_400));
    assert_eq!(
        parse(&["--role", "server", "--uses", "3", "--expires", "1500ms"]).unwrap(),
        request("server", 3, 2)
    );
    assert!(parse(&["--role", "root"]).is_err());
    assert!(parse(&["--uses", "0"]).is_err());
}

#[test]
fn service_names_are_encoded_as_one_path_segment() {
    assert_eq!(service_path("web"), "/v1/services/web");
    assert_eq!(service_path("a b/c"), "/v1/services/a%20b%2Fc");
}

/// A node API on a loopback port, served from its own thread until dropped.
struct LiveNode {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveNode {
    fn start(auth: Auth) -> LiveNode {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let app = router(FakeApi::new(), auth);
            runtime.block_on(serve(listener, app, shutdown)).unwrap();
        });
        LiveNode { address, stop: Some(stop), thread: Some(thread) }
    }

    fn client(&self, token: Option<&str>) -> Client {
        Client::with_token(&self.address.to_string(), token.map(Into::into))
    }
}

impl Drop for LiveNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn status_prints_the_node_and_json_prints_the_answer() {
    let node = LiveNode::start(Auth::None);
    let client = node.client(None);
    let text = status_text(&client, false).unwrap();
    assert!(text.starts_with(&format!("node id:    {NODE_ID}\n")), "{text}");
    let json: Value = serde_json::from_str(&status_text(&client, true).unwrap()).unwrap();
    assert_eq!(json["node_id"], NODE_ID);
}

#[test]
fn announce_then_services_shows_the_announcement() {
    let node = LiveNode::start(Auth::None);
    let client = node.client(None);
    let args = announce_args(&["web", r#"{"port": 80}"#]).unwrap();
    let text = announce_text(&client, &announce_request(&args).unwrap(), false).unwrap();
    assert_eq!(text, "announced web (seq 1)\n");

    let table = services_text(&client, Some("web"), false, false).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[1].starts_with(&NODE_ID[..10]), "{table}");
    assert!(lines[1].ends_with(r#"{"port":80}"#), "{table}");
    assert_eq!(
        services_text(&client, Some("none"), false, false).unwrap(),
        "no announcements known\n"
    );
    let followed = services_text(&client, Some("web"), true, false).unwrap();
    assert_eq!(followed, "no announcements known\n", "no followed list names the fake node");
    assert!(members_text(&client, false).unwrap().contains("suspect"));
}

#[test]
fn a_stale_announcement_fails_with_the_node_message() {
    let node = LiveNode::start(Auth::None);
    let client = node.client(None);
    let request = AnnounceRequest {
        service: "grid-control".into(),
        body: json!({"service-name": "grid-control", "sequence-number": 3})
            .as_object()
            .cloned()
            .unwrap(),
    };
    assert_eq!(
        announce_text(&client, &request, false).unwrap(),
        "announced grid-control (seq 3)\n"
    );
    let error = format!("{:#}", announce_text(&client, &request, false).unwrap_err());
    assert_eq!(error, "stale: sequence number 3 is not newer than the current 3");
}

#[test]
fn bearer_token_is_sent_and_a_refusal_says_so() {
    let node = LiveNode::start(Auth::Bearer("t0ken".into()));
    let answer = node.client(Some("t0ken")).post("/v1/invitations", &json!({})).unwrap();
    assert_eq!(answer["code"], INVITATION_CODE);
    let error = format!("{:#}", node.client(None).get("/v1/status", &[]).unwrap_err());
    assert!(error.contains("Bearer") && error.ends_with("(sent no token)"), "{error}");
}

#[test]
fn routes_and_ping_show_paths_and_a_missing_route_is_one_sentence() {
    let node = LiveNode::start(Auth::None);
    let client = node.client(None);
    let table = routing::routes_text(&client, false).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("DESTINATION"), "{table}");
    assert!(lines[1].ends_with(&format!("{} > {}", &NODE_ID[..10], &PEER_ID[..10])), "{table}");

    let pong = routing::ping_text(&client, PEER_ID, false).unwrap();
    assert_eq!(
        pong,
        format!("answered in 12.5 ms over 1 hop: {} > {}\n", &NODE_ID[..10], &PEER_ID[..10])
    );
    let as_json: Value =
        serde_json::from_str(&routing::ping_text(&client, PEER_ID, true).unwrap()).unwrap();
    assert_eq!(as_json["rtt_ms"], 12.5);

    let error = format!("{:#}", routing::ping_text(&client, "nobody here", false).unwrap_err());
    assert_eq!(error, "no route to nobody here");

    let nearest = routing::nearest_text(&client, false).unwrap();
    assert_eq!(nearest, format!("ID          RTT     GROUP\n{}  0.8 ms  0\n", &PEER_ID[..10]));
}
