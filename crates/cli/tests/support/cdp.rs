//! A small Chrome DevTools Protocol client for the browser tests: starts Debian's headless
//! Chromium on a profile of its own, opens one page target and drives it (navigate, evaluate,
//! screenshot) over the DevTools websocket. Dropping the [`Browser`] kills Chromium and the
//! processes it started.
//!
//! Only the few CDP methods the tests need are wrapped; each call waits for its own answer and
//! skips the events that arrive meanwhile.

use std::fs::File;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long Chromium has to start, and to answer one command.
const PATIENCE: Duration = Duration::from_secs(30);

/// Whether the browser tests can run: true when [`CHROMIUM`] exists. Without it the test fails
/// under CI (which installs it, `.ci/run`), and is skipped with a message elsewhere.
pub fn chromium_present(test: &str) -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {CHROMIUM} is missing, and CI is set: CI must install Debian's chromium package"
    );
    eprintln!(
        "SKIPPED {test}: {CHROMIUM} is missing (apt-get install --no-install-recommends chromium); \
         with CI set, this is a failure"
    );
    false
}

/// Headless Chromium with one page open, and the DevTools session attached to that page.
/// Fields drop in order: the connection, then Chromium, then its directory.
pub struct Browser {
    socket: WebSocket<TcpStream>,
    session: Option<String>,
    next_id: u64,
    chromium: Chromium,
    /// The profile, and Chromium's stderr in `chromium.log`.
    dir: tempfile::TempDir,
}

/// Chromium's process, started in a process group of its own; dropping it kills the group: the
/// browser and its renderer, GPU and utility processes.
struct Chromium(Child);

impl Drop for Chromium {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Browser {
    /// Starts Chromium, connects to its DevTools endpoint, and opens and attaches to a blank page
    /// of `width` × `height` CSS pixels.
    pub fn launch(width: u32, height: u32) -> Browser {
        let dir = tempfile::tempdir().expect("a directory for Chromium");
        let profile = dir.path().join("profile");
        let log = File::create(dir.path().join("chromium.log")).expect("Chromium's log file");
        let mut chromium = Chromium(
            Command::new(CHROMIUM)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    // No crash handler: it would outlive the process group killed on drop.
                    "--disable-crash-reporter",
                    "--disable-breakpad",
                    "--remote-debugging-port=0",
                    &format!("--user-data-dir={}", profile.display()),
                    "about:blank",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                // A process group of its own, so that drop ends its helper processes too.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|error| panic!("starting {CHROMIUM}: {error}")),
        );
        let endpoint = wait_for_endpoint(dir.path(), &mut chromium.0);
        let (host_port, _) = endpoint
            .trim_start_matches("ws://")
            .split_once('/')
            .unwrap_or_else(|| panic!("a DevTools URL without a path: {endpoint}"));
        let stream = TcpStream::connect(host_port)
            .unwrap_or_else(|error| panic!("connecting to DevTools at {host_port}: {error}"));
        stream.set_read_timeout(Some(PATIENCE)).expect("a read timeout");
        let (socket, _) = tungstenite::client(endpoint.as_str(), stream)
            .unwrap_or_else(|error| panic!("the DevTools websocket handshake: {error}"));
        let mut browser = Browser { socket, session: None, next_id: 1, chromium, dir };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().expect("a targetId").to_owned();
        let attached = browser
            .call("Target.attachToTarget", json!({ "targetId": target_id, "flatten": true }));
        browser.session = Some(attached["sessionId"].as_str().expect("a sessionId").to_owned());
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        );
        browser
    }

    /// Sends one command (to the page's session once attached) and waits for its result.
    /// A CDP error fails the test.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params).unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// Sends one command and waits for its result or its CDP error. No answer within
    /// [`PATIENCE`] fails the test.
    pub fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .unwrap_or_else(|error| panic!("sending {method} to Chromium: {error}"));
        // The socket's read timeout bounds each read; events keep coming, so the call as a
        // whole has its own deadline.
        let deadline = Instant::now() + PATIENCE;
        loop {
            if Instant::now() > deadline {
                panic!("Chromium did not answer {method} within {PATIENCE:?}\n{}", self.log_tail());
            }
            let message = self.socket.read().unwrap_or_else(|error| {
                panic!("waiting for Chromium's answer to {method}: {error}\n{}", self.log_tail())
            });
            let Message::Text(text) = message else { continue };
            let answer: Value = serde_json::from_str(&text).expect("CDP sends JSON");
            // Events have no id; they are not needed here.
            if answer["id"] != id {
                continue;
            }
            return match answer.get("error") {
                Some(error) => Err(error.to_string()),
                None => Ok(answer["result"].clone()),
            };
        }
    }

    /// Loads `url` in the page; a network error (nothing listening, say) fails the test.
    pub fn navigate(&mut self, url: &str) {
        let answer = self.call("Page.navigate", json!({ "url": url }));
        if let Some(error) = answer["errorText"].as_str() {
            panic!("navigating to {url}: {error}");
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its value as JSON; an exception
    /// or a CDP error (the page between two documents, say) is an `Err` with its description.
    pub fn evaluate(&mut self, expression: &str) -> Result<Value, String> {
        let answer = self.try_call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        )?;
        match answer.get("exceptionDetails") {
            Some(details) => Err(details["exception"]["description"]
                .as_str()
                .map_or_else(|| details.to_string(), str::to_owned)),
            None => Ok(answer["result"]["value"].clone()),
        }
    }

    /// A PNG of what the page shows.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let answer = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let data = answer["data"].as_str().expect("screenshot data");
        let png = base64::engine::general_purpose::STANDARD.decode(data).expect("base64 PNG");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "Page.captureScreenshot gave no PNG");
        png
    }

    /// Whether Chromium still runs, and the end of its stderr, for failure messages.
    pub fn log_tail(&mut self) -> String {
        let exited = match self.chromium.0.try_wait() {
            Ok(Some(status)) => format!("Chromium exited with {status}"),
            _ => String::from("Chromium runs"),
        };
        format!("{exited}; {}", log_tail(self.dir.path()))
    }
}

/// Waits for Chromium's stderr line `DevTools listening on ws://...` and returns that browser
/// websocket URL.
fn wait_for_endpoint(dir: &Path, child: &mut Child) -> String {
    const MARK: &str = "DevTools listening on ";
    let started = Instant::now();
    let fail = |why: String| -> ! { panic!("{why}\n{}", log_tail(dir)) };
    loop {
        let log = std::fs::read_to_string(dir.join("chromium.log")).unwrap_or_default();
        // Only a whole line: the URL may be half written.
        if let Some((_, rest)) = log.split_once(MARK)
            && let Some((url, _)) = rest.split_once('\n')
        {
            return url.trim().to_owned();
        }
        if let Ok(Some(status)) = child.try_wait() {
            fail(format!("{CHROMIUM} exited with {status} before it listened for DevTools"));
        }
        if started.elapsed() > PATIENCE {
            fail(format!("{CHROMIUM} did not listen for DevTools within {PATIENCE:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("chromium.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    format!(
        "Chromium's stderr, last lines:\n{}",
        lines[lines.len().saturating_sub(20)..].join("\n")
    )
}
