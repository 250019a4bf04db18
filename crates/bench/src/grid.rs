//! Real `herald run` processes on loopback, for the benchmarks that run a grid of them
//! (`real-grid`, `real-burst`): starting and joining them, their APIs, their event streams and
//! their CPU and memory as /proc tells them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// Starts `nodes` processes under `root`, the first with a fresh grid and the others joined by
/// one invitation, and waits until every node sees every node alive. Returns them and how long
/// that took, in seconds.
pub fn start_grid(herald: &Path, root: &Path, nodes: usize) -> Result<(Vec<Proc>, f64)> {
    eprintln!("starting {nodes} processes");
    let started = Instant::now();
    let mut procs = vec![spawn(herald, &root.join("n0"), 0)?];
    let code = invite(&procs[0].api, nodes)?;
    for index in 1..nodes {
        join(herald, &code, &root.join(format!("n{index}")))?;
        procs.push(spawn(herald, &root.join(format!("n{index}")), index)?);
    }
    let ids: Vec<String> = procs.iter().map(|proc| proc.id.clone()).collect();
    let all: Vec<usize> = (0..nodes).collect();
    wait("every node to see every node alive", || all_see(&procs, &all, &ids, "alive"))?;
    let converged_s = started.elapsed().as_secs_f64();
    eprintln!("grid of {nodes} converged {converged_s:.1} s after the first start");
    Ok((procs, converged_s))
}

/// Longest wait for any one phase.
pub const PHASE_TIMEOUT: Duration = Duration::from_secs(120);

/// One running `herald run` process.
pub struct Proc {
    /// The process.
    pub child: Child,
    /// Its API's address.
    pub api: String,
    /// Its node id.
    pub id: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An event seen on some node's `/v1/events`.
pub struct Seen {
    /// Which node (its index in the grid).
    pub node: usize,
    /// When it was read.
    pub at: Instant,
    /// The event's name (`announcement`, `member`).
    pub kind: String,
    /// The event's data.
    pub data: Value,
}

/// Starts `herald run` on `dir` and waits until its API answers.
pub fn spawn(herald: &Path, dir: &Path, index: usize) -> Result<Proc> {
    let _ = std::fs::remove_file(dir.join("api.addr"));
    let log = std::fs::File::create(dir.with_extension("log"))?;
    let child = Command::new(herald)
        .args(["run", "--data-dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--name"])
        .arg(format!("bench-{index}"))
        .env("HERALD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", herald.display()))?;
    let started = Instant::now();
    let api = loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("api.addr")) {
            break text.trim().to_owned();
        }
        if started.elapsed() > PHASE_TIMEOUT {
            bail!("node {index} did not start; see {}", dir.with_extension("log").display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = get(&api, "/v1/status")?;
    let id = status["node_id"].as_str().ok_or_else(|| anyhow!("no node_id"))?.to_owned();
    Ok(Proc { child, api, id })
}

/// `herald join CODE --data-dir DIR`.
pub fn join(herald: &Path, code: &str, dir: &Path) -> Result<()> {
    let output = Command::new(herald).arg("join").arg(code).arg("--data-dir").arg(dir).output()?;
    if !output.status.success() {
        bail!("herald join failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// An invitation for `uses` servers, from the node serving `api`.
pub fn invite(api: &str, uses: usize) -> Result<String> {
    let body = json!({"role": "server", "uses": uses, "expires_s": 3600});
    let answer: Value = ureq::post(format!("http://{api}/v1/invitations"))
        .send_json(&body)?
        .body_mut()
        .read_json()?;
    Ok(answer["code"].as_str().ok_or_else(|| anyhow!("no code in {answer}"))?.to_owned())
}

/// Announces `service` with `payload` at the node serving `api`; returns once acknowledged.
pub fn put(api: &str, service: &str, payload: &Value) -> Result<()> {
    ureq::put(format!("http://{api}/v1/services/{service}")).send_json(payload)?;
    Ok(())
}

/// `GET path` on the node serving `api`, as JSON.
pub fn get(api: &str, path: &str) -> Result<Value> {
    Ok(ureq::get(format!("http://{api}{path}")).call()?.body_mut().read_json()?)
}

/// Whether every node in `observers` sees every id in `subjects` in `state`.
pub fn all_see(
    procs: &[Proc],
    observers: &[usize],
    subjects: &[String],
    state: &str,
) -> Result<bool> {
    for &observer in observers {
        let members = get(&procs[observer].api, "/v1/members")?;
        let members = members.as_array().map_or(&[][..], Vec::as_slice);
        let sees = |id: &String| {
            members
                .iter()
                .any(|member| member["node_id"] == id.as_str() && member["state"] == state)
        };
        if !subjects.iter().all(sees) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Waits until `check` holds, for at most [`PHASE_TIMEOUT`].
pub fn wait(what: &str, mut check: impl FnMut() -> Result<bool>) -> Result<()> {
    let started = Instant::now();
    while !check()? {
        if started.elapsed() > PHASE_TIMEOUT {
            bail!("gave up waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// Reads node `index`'s event stream on a thread of its own until the node goes away.
pub fn subscribe(index: usize, api: &str, events: mpsc::Sender<Seen>) {
    let url = format!("http://{api}/v1/events");
    std::thread::spawn(move || {
        let Ok(response) = ureq::get(&url).call() else { return };
        let mut kind = String::new();
        for line in BufReader::new(response.into_body().into_reader()).lines() {
            let Ok(line) = line else { return };
            if let Some(name) = line.strip_prefix("event:") {
                kind = name.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:") {
                let at = Instant::now();
                let data = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                let seen = Seen { node: index, at, kind: kind.clone(), data };
                if events.send(seen).is_err() {
                    return;
                }
            }
        }
    });
}

/// Forgets every event read so far.
pub fn drain(events: &mpsc::Receiver<Seen>) {
    while events.try_recv().is_ok() {}
}

/// CPU time the process has used, in ticks of 1/100 s (Linux's USER_HZ).
pub fn cpu_ticks(proc: &Proc) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", proc.child.id()))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
    Ok(utime + stime)
}

/// The process's resident memory now, in KiB.
pub fn rss_kib(proc: &Proc) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", proc.child.id()))?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    Ok(line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).unwrap_or(0.0))
}

/// Frames and bytes the node has sent (its core's counters).
pub fn sent(proc: &Proc) -> Result<(u64, u64)> {
    let stats = get(&proc.api, "/v1/stats")?;
    let core = &stats["core"];
    Ok((core["frames_out"].as_u64().unwrap_or(0), core["bytes_out"].as_u64().unwrap_or(0)))
}
