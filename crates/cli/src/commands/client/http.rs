//! [`Client`]: how the client commands reach a node's HTTP API.
//!
//! It finds the node (`--api`, else the address `herald run` recorded in the data directory,
//! else `127.0.0.1:7421`), sends a bearer token (`--token`, else `$HERALD_TOKEN`, else the data
//! directory's `api.token`), and turns every failure into one sentence: an unreachable node, or
//! the node's own error message. A refusal carries the API's error code as a [`Refusal`], so
//! that a command can tell a busy node from a broken request.

use std::fmt;
use std::io::{self, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use herald_node::HTTP_DEFAULT;
use herald_node::api::error::ErrorBody;
use herald_node::datadir::{API_ADDR_FILE, API_TOKEN_FILE, read_small_file};

use super::events::EventStream;
use crate::commands::data_dir::{DataDirArg, default_data_dir};
use serde_json::Value;

/// How long the client waits to connect; a local node answers at once.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an event stream may stay silent before the node is taken for gone: three of the
/// node's keep-alive comments, which come every 15 s.
const EVENTS_SILENCE_MAX: Duration = Duration::from_secs(45);

/// How to reach the node; flattened into every client command.
#[derive(Args, Debug, Clone, Default)]
pub struct ApiArgs {
    /// The node's API address, `host:port` or a URL [default: the address recorded in the data
    /// directory, else 127.0.0.1:7421].
    #[arg(long, value_name = "ADDR")]
    pub api: Option<String>,
    /// The bearer token of a node whose API is not on loopback [default: the data directory's
    /// api.token].
    #[arg(long, env = "HERALD_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Print the API's JSON answer instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data_dir: DataDirArg,
}

/// A connection to one node's API.
#[derive(Debug)]
pub struct Client {
    base: String,
    token: Option<String>,
    /// Which token was sent, or why none was, for the message of a 401.
    token_note: String,
    agent: ureq::Agent,
}

impl Client {
    /// Resolves the node's address and token from `args` and the data directory.
    pub fn new(args: &ApiArgs) -> Result<Client> {
        let given = args.token.clone().filter(|token| !token.trim().is_empty());
        // With `--api` naming a node, the default data directory belongs to some other node:
        // its token is sent only if the directory was named too.
        let data_dir = match &args.api {
            Some(_) => args.data_dir.dir.clone(),
            None => args.data_dir.dir.clone().or_else(default_data_dir),
        };
        let recorded = match (&args.api, &data_dir) {
            (Some(_), _) | (None, None) => None,
            (None, Some(dir)) => read_small_file(dir, API_ADDR_FILE)?,
        };
        let address = args.api.clone().or(recorded).unwrap_or_else(|| HTTP_DEFAULT.to_string());
        if let Some(token) = given {
            let note = "the token given by --token or $HERALD_TOKEN";
            return Ok(Client::with_token(&address, Some(token.trim().to_owned())).noting(note));
        }
        let Some(dir) = data_dir else {
            return Ok(Client::with_token(&address, None).noting("no token: no data directory"));
        };
        let token_path = dir.join(API_TOKEN_FILE);
        // An unreadable token is not fatal: a loopback API needs none. A refusal says why.
        let (token, note) = match read_small_file(&dir, API_TOKEN_FILE) {
            Ok(Some(token)) => (Some(token), format!("the token in {}", token_path.display())),
            Ok(None) => (None, format!("no token: {} does not exist", token_path.display())),
            Err(error) => (None, format!("no token: {error:#}")),
        };
        Ok(Client::with_token(&address, token).noting(note))
    }

    /// A client of the API at `address` (`host:port` or an `http://` URL) that sends `token`,
    /// if given, as a bearer token.
    pub fn with_token(address: &str, token: Option<String>) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            // The node is local or named exactly: no proxy from the environment, no redirects
            // that could carry the token elsewhere.
            .proxy(None)
            .max_redirects(0)
            .build();
        let token_note = if token.is_some() { "the given token" } else { "no token" };
        Client {
            base: base_url(address),
            token,
            token_note: token_note.to_owned(),
            agent: config.into(),
        }
    }

    fn noting(mut self, note: impl Into<String>) -> Client {
        self.token_note = note.into();
        self
    }

    /// The API's base URL, such as `http://127.0.0.1:7421`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET path` with an optional query; the answer's JSON.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (key, value) in query {
            request = request.query(key, value);
        }
        self.answer(self.authorize(request).call())
    }

    /// `GET path` for an answer that may be larger than most: up to `limit` bytes of JSON. A
    /// larger answer is an error whose chain holds a [`TooLong`].
    pub fn get_large(&self, path: &str, query: &[(&str, &str)], limit: u64) -> Result<Value> {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (key, value) in query {
            request = request.query(key, value);
        }
        self.answer_within(self.authorize(request).call(), limit)
    }

    /// `PUT path` with a JSON body.
    pub fn put(&self, path: &str, body: &Value) -> Result<Value> {
        let request = self.agent.put(format!("{}{path}", self.base));
        self.answer(self.authorize(request).send_json(body))
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &impl serde::Serialize) -> Result<Value> {
        let request = self.agent.post(format!("{}{path}", self.base));
        self.answer(self.authorize(request).send_json(body))
    }

    /// `POST path` with raw bytes as the body (`application/octet-stream`).
    pub fn post_bytes(&self, path: &str, body: &[u8]) -> Result<Value> {
        let request = self.agent.post(format!("{}{path}", self.base));
        let request = self.authorize(request).content_type("application/octet-stream");
        self.answer(request.send(body))
    }

    /// `GET /v1/events`: the node's event stream, open once this returns (the node has
    /// subscribed this client to its events before it answers). It has no overall time limit;
    /// a stream silent for longer than three keep-alives fails as a dead connection would.
    pub fn events(&self) -> Result<EventStream> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(REQUEST_TIMEOUT))
            .timeout_per_read(Some(EVENTS_SILENCE_MAX))
            .proxy(None)
            .max_redirects(0)
            .build();
        let agent: ureq::Agent = config.into();
        let request =
            agent.get(format!("{}/v1/events", self.base)).header("Accept", "text/event-stream");
        let result = self.authorize(request).call();
        let mut response = result.map_err(|error| unreachable_error(&self.base, &error))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            return Err(self.refusal(status, &text));
        }
        let reader = BufReader::new(response.into_body().into_reader());
        Ok(EventStream::new(reader, self.base.clone()))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<Value> {
        let request = self.agent.delete(format!("{}{path}", self.base));
        self.answer(self.authorize(request).call())
    }

    /// `DELETE path` with a JSON body naming what to delete.
    pub fn delete_json(&self, path: &str, body: &Value) -> Result<Value> {
        let request = self.agent.delete(format!("{}{path}", self.base)).force_send_body();
        self.answer(self.authorize(request).send_json(body))
    }

    fn authorize<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(token) => request.header("Authorization", format!("Bearer {token}")),
            None => request,
        }
    }

    fn answer(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value> {
        // ureq's own default for a body read as text: 10 MB.
        self.answer_within(result, 10 * 1024 * 1024)
    }

    fn answer_within(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        limit: u64,
    ) -> Result<Value> {
        let mut response = result.map_err(|error| unreachable_error(&self.base, &error))?;
        let status = response.status().as_u16();
        let text = match response.body_mut().with_config().limit(limit).read_to_string() {
            Ok(text) => text,
            Err(ureq::Error::BodyExceedsLimit(_)) => return Err(TooLong { limit }.into()),
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("reading the answer of the node at {}", self.base));
            }
        };
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).with_context(|| {
                format!("the node at {} answered with something that is not JSON", self.base)
            });
        }
        Err(self.refusal(status, &text))
    }

    fn refusal(&self, status: u16, body: &str) -> anyhow::Error {
        let mut message = http_error_message(status, body);
        if status == 401 {
            message = format!("{message} (sent {})", self.token_note);
        }
        Refusal { code: error_code(body), message }.into()
    }
}

/// The node answered with an error status. Its `Display` is the node's message, one sentence.
#[derive(Debug)]
pub struct Refusal {
    /// The API's error code (`busy`, `too_large`, ...), when the body had the API's shape.
    pub code: Option<String>,
    message: String,
}

impl Refusal {
    /// A refusal as the node would give it, for tests.
    #[cfg(test)]
    pub fn for_tests(code: &str, message: &str) -> Refusal {
        Refusal { code: Some(code.to_owned()), message: message.to_owned() }
    }

    /// Whether `error` is the node saying it is busy now and the request may be tried again.
    pub fn is_busy(error: &anyhow::Error) -> bool {
        Refusal::code_of(error) == Some("busy")
    }

    /// The API's error code of a refusal in `error`'s chain.
    pub fn code_of(error: &anyhow::Error) -> Option<&str> {
        error.chain().find_map(|cause| cause.downcast_ref::<Refusal>())?.code.as_deref()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refusal {}

/// An answer was larger than the caller's limit.
#[derive(Debug)]
pub struct TooLong {
    /// The limit, in bytes.
    pub limit: u64,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the node's answer is larger than {} MiB", self.limit / (1024 * 1024))
    }
}

impl std::error::Error for TooLong {}

/// `host:port` → `http://host:port`; a URL stays as given, without a trailing slash. A node
/// bound to every interface records `0.0.0.0` or `[::]`, which is no address to connect to:
/// its loopback stands in.
fn base_url(address: &str) -> String {
    let address = address.trim().trim_end_matches('/');
    if address.contains("://") {
        return address.to_owned();
    }
    match address.parse::<SocketAddr>() {
        Ok(mut socket) if socket.ip().is_unspecified() => {
            let loopback = match socket {
                SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            socket.set_ip(loopback);
            format!("http://{socket}")
        }
        _ => format!("http://{address}"),
    }
}

/// One sentence for a request that got no answer.
fn unreachable_error(base: &str, error: &ureq::Error) -> anyhow::Error {
    let reason = match error {
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::ConnectionRefused => {
            "connection refused".to_owned()
        }
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    };
    anyhow!("cannot reach the herald node's API at {base}: is `herald run` running? ({reason})")
}

/// The API's error code of an error answer, if it has the API's shape.
fn error_code(body: &str) -> Option<String> {
    serde_json::from_str::<ErrorBody>(body).ok().map(|body| body.error.code)
}

/// The node's error message from an error answer; a body that is not the API's error shape
/// (a proxy's page, say) is named by its status and first line.
fn http_error_message(status: u16, body: &str) -> String {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(body) if !body.error.message.is_empty() => body.error.message,
        Ok(body) => format!("the node refused the request ({status} {})", body.error.code),
        Err(_) => {
            let first = body.lines().next().unwrap_or("").chars().take(200).collect::<String>();
            format!("the node's API answered HTTP {status}: {first}")
                .trim_end_matches(": ")
                .to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_accepts_an_address_or_a_url() {
        assert_eq!(base_url("127.0.0.1:7421"), "http://127.0.0.1:7421");
        assert_eq!(base_url("[::1]:7421"), "http://[::1]:7421");
        assert_eq!(base_url("http://node:80/"), "http://node:80");
        assert_eq!(base_url("0.0.0.0:7421"), "http://127.0.0.1:7421");
        assert_eq!(base_url("[::]:7421"), "http://[::1]:7421");
    }

    #[test]
    fn client_reads_the_recorded_address_and_token() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(API_ADDR_FILE), "127.0.0.1:9999\n").unwrap();
        std::fs::write(dir.path().join(API_TOKEN_FILE), "t0ken\n").unwrap();
        let args =
            ApiArgs { data_dir: DataDirArg { dir: Some(dir.path().into()) }, ..ApiArgs::default() };
        let client = Client::new(&args).unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9999");
        assert_eq!(client.token.as_deref(), Some("t0ken"));

        let args = ApiArgs { api: Some("10.0.0.1:1".into()), ..args };
        assert_eq!(Client::new(&args).unwrap().base_url(), "http://10.0.0.1:1");
    }

    #[test]
    fn a_given_token_wins_over_the_data_directory_s() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(API_TOKEN_FILE), "from-file\n").unwrap();
        let args = ApiArgs {
            token: Some("given\n".into()),
            data_dir: DataDirArg { dir: Some(dir.path().into()) },
            ..ApiArgs::default()
        };
        let client = Client::new(&args).unwrap();
        assert_eq!(client.token.as_deref(), Some("given"));
        assert_eq!(client.token_note, "the token given by --token or $HERALD_TOKEN");
    }

    #[test]
    fn a_named_api_gets_no_token_from_the_default_data_directory() {
        let args = ApiArgs { api: Some("192.0.2.7:7421".into()), ..ApiArgs::default() };
        let client = Client::new(&args).unwrap();
        assert_eq!(client.token, None);
        assert_eq!(client.token_note, "no token: no data directory");
    }

    #[test]
    fn client_defaults_to_the_loopback_port_without_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let args =
            ApiArgs { data_dir: DataDirArg { dir: Some(dir.path().into()) }, ..ApiArgs::default() };
        let client = Client::new(&args).unwrap();
        assert_eq!(client.base_url(), format!("http://{HTTP_DEFAULT}"));
        assert_eq!(client.token, None);
    }

    #[test]
    fn an_unreadable_token_is_noted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the token file should be cannot be read as a file.
        std::fs::create_dir(dir.path().join(API_TOKEN_FILE)).unwrap();
        let args =
            ApiArgs { data_dir: DataDirArg { dir: Some(dir.path().into()) }, ..ApiArgs::default() };
        let client = Client::new(&args).unwrap();
        assert_eq!(client.token, None);
        assert!(client.token_note.starts_with("no token: reading "), "{}", client.token_note);
    }

    #[test]
    fn error_answers_give_the_node_message() {
        let body = r#"{"error": {"code": "conflict", "message": "stale: 3 is not newer"}}"#;
        assert_eq!(http_error_message(409, body), "stale: 3 is not newer");
        assert_eq!(
            http_error_message(502, "Bad Gateway\nmore"),
            "the node's API answered HTTP 502: Bad Gateway"
        );
        assert_eq!(http_error_message(500, ""), "the node's API answered HTTP 500");
    }

    #[test]
    fn refused_connection_is_one_sentence() {
        // Bind and drop a listener to find a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = Client::with_token(&format!("127.0.0.1:{port}"), None);
        let error = client.get("/v1/status", &[]).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            format!(
                "cannot reach the herald node's API at http://127.0.0.1:{port}: \
                 is `herald run` running? (connection refused)"
            )
        );
    }
}
