//! The dashboard in a real browser (issue 20, item 1). Headless Chromium, driven over the
//! DevTools protocol, opens the dashboard of one node of a five-node grid on 127.0.0.1. That
//! node's API is bound off loopback, so it asks for its token: the page is refused without it
//! and shows the members with `/?token=...`. Four of the five nodes are the sites of a floodd
//! group (from a floodd configuration file). The page must show all five members alive and the
//! group's topology: its four sites alive, every link labelled with its cost, some of them
//! measured. Then, without a reload, it must show a node killed with SIGKILL as dead, in the
//! members and in the group's graph, in the same colour; the members route is blocked before
//! the kill, so the death can only arrive by the event stream. A screenshot is left in
//! `target/test-artifacts/dashboard.png`.
//!
//! Without `/usr/bin/chromium` the test is skipped, or fails when `CI` is set.

#[path = "support/cdp.rs"]
mod cdp;
#[allow(dead_code)]
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use cdp::Browser;
use herald_core::groups::topology::UNKNOWN_COST_MS_DEFAULT;
use support::{Node, grid_around_with};

/// How long the page has to show the grid, and to show a killed node dead. The failure detector
/// takes a few seconds on loopback; the grid test allows the same 60 s.
const LOAD: Duration = Duration::from_secs(30);
const DETECT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

/// The floodd group the page must draw, and the nodes that are its sites (node `i` is site
/// `n<i>`). Node 4, killed below, is one of them.
const GROUP: &str = "news";
const SITES: [usize; 4] = [0, 1, 2, 4];

/// What the test reads from the page: each member row's id, `data-state`, the text of its state
/// badge and the badge's colour; each group graph's sites (id, `data-state`, the colour they are
/// drawn in) and its links' cost labels; the error banner's text when it shows; the event
/// stream's state; and a marker the test leaves in `window` to tell a reload.
const READ_PAGE: &str = r##"(() => {
  const rows = [...document.querySelectorAll("#members tbody tr[data-id]")].map((row) => {
    const badge = row.querySelector(".badge");
    return {
      id: row.dataset.id, state: row.dataset.state, badge: badge ? badge.textContent : null,
      colour: badge ? getComputedStyle(badge).backgroundColor : null,
    };
  });
  const groups = [...document.querySelectorAll("#group-graphs svg[data-group]")].map((svg) => ({
    name: svg.dataset.group,
    sites: [...svg.querySelectorAll("g[data-id]")].map((site) => ({
      id: site.dataset.id, state: site.dataset.state,
      colour: getComputedStyle(site.querySelector("circle")).fill,
    })),
    links: svg.querySelectorAll("g.link").length,
    costs: [...svg.querySelectorAll("g.link text.cost")].map((label) => label.textContent),
  }));
  const error = document.getElementById("error");
  const stream = document.getElementById("stream");
  return {
    rows,
    groups,
    error: error && !error.hidden ? error.textContent : null,
    stream: stream ? stream.dataset.state : null,
    marker: window.heraldTestMarker || null,
    body: document.body ? document.body.innerText.slice(0, 400) : "",
  };
})()"##;

#[test]
fn the_dashboard_shows_the_grid_and_a_killed_node_turning_dead_without_a_reload() {
    if !cdp::chromium_present("the dashboard browser test") {
        return;
    }
    let started = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("floodd.conf");
    std::fs::write(&config, floodd_config(5)).expect("writing the floodd configuration");
    let flags = |index: usize| {
        let config = config.to_str().expect("a UTF-8 path").to_owned();
        let name = format!("n{index}");
        ["--floodd-config", &config, "--name", &name, "--client-port", "127.0.0.1:0"]
            .map(str::to_owned)
            .to_vec()
    };
    // Node 0's API listens on every address, so it requires the token in `api.token`.
    let first_flags = flags(0);
    let first_flags: Vec<&str> = first_flags.iter().map(String::as_str).collect();
    let first =
        Node::start_on(&root.path().join("node-0"), "127.0.0.1:0", "0.0.0.0:0", &first_flags);
    let mut nodes = grid_around_with(first, root.path(), 5, flags);
    let ids: Vec<String> = nodes.iter().map(Node::id).collect();
    let token = std::fs::read_to_string(nodes[0].dir.join("api.token")).expect("api.token");
    let port = nodes[0].api().parse::<SocketAddr>().expect("api.addr").port();
    let base = format!("http://127.0.0.1:{port}");

    let mut browser = Browser::launch(1280, 1000);

    // Without the token, the page is refused: the token below is really needed.
    browser.navigate(&format!("{base}/"));
    wait_for_page(&mut browser, "the page without a token to be refused", LOAD, |page| {
        page["body"].as_str().is_some_and(|body| body.contains("unauthorized"))
            && page["rows"].as_array().is_some_and(Vec::is_empty)
    });

    // With it, the page shows every member alive, the event stream open, and no error.
    browser.navigate(&format!("{base}/?token={}", token.trim()));
    wait_for_page(&mut browser, "five alive members on the page", LOAD, |page| {
        page["error"].is_null()
            && page["stream"] == "open"
            && member_rows(page).len() == ids.len()
            && ids.iter().all(|id| shown_state(page, id) == Some("alive"))
    });
    // The group's graph: its four sites, all alive, and every link labelled with its cost, at
    // least one of them measured: not the default that an unmeasured link costs.
    let mut sites: Vec<&String> = SITES.iter().map(|&index| &ids[index]).collect();
    sites.sort();
    let unmeasured = format!("{UNKNOWN_COST_MS_DEFAULT} ms");
    let page = wait_for_page(&mut browser, "the group's measured topology", LOAD, |page| {
        group_graph(page).is_some_and(|graph| {
            let labels = cost_labels(graph);
            site_ids(graph) == sites
                && sites.iter().all(|id| site_state(page, id) == Some("alive"))
                && graph["links"].as_u64().is_some_and(|links| links >= 3)
                && graph["links"].as_u64() == Some(labels.len() as u64)
                && labels.iter().any(|label| *label != unmeasured)
        })
    });
    let graph = group_graph(&page).expect("the group's graph");
    assert!(cost_labels(graph).iter().all(|label| is_cost(label)), "{graph:#}");
    println!("the group's links cost {:?}", cost_labels(graph));
    browser.evaluate("window.heraldTestMarker = 'no reload'").expect("setting the marker");
    // From now on the page cannot re-read the members: a death can only reach it as an event.
    browser.call("Network.enable", json!({}));
    browser.call("Network.setBlockedURLs", json!({ "urls": ["*/v1/members*"] }));

    // kill -9 node 4, a site of the group: the same page, left as it is, shows it dead and the
    // others alive, in the members and in the group's graph.
    let killed = 4;
    nodes[killed].kill9();
    let killed_at = Instant::now();
    let page = wait_for_page(&mut browser, "the killed node dead on the page", DETECT, |page| {
        shown_state(page, &ids[killed]) == Some("dead")
            && site_state(page, &ids[killed]) == Some("dead")
            && ids.iter().enumerate().all(|(index, id)| {
                index == killed
                    || (shown_state(page, id) == Some("alive")
                        && (!SITES.contains(&index) || site_state(page, id) == Some("alive")))
            })
    });
    println!("the page showed the killed node dead {:?} after the kill", killed_at.elapsed());
    assert_eq!(page["marker"], "no reload", "the page was reloaded: {page:#}");
    // The banner may name the blocked route, and nothing else.
    let error = page["error"].as_str().unwrap_or("");
    assert!(
        error.split("; ").all(|failure| failure.is_empty() || failure.starts_with("/v1/members")),
        "the error banner shows: {page:#}"
    );
    assert_eq!(member_rows(&page).len(), ids.len(), "{page:#}");

    let path = save_screenshot(&mut browser, "dashboard.png");
    println!("dashboard screenshot saved to {}", path.display());
    println!("the dashboard test took {:?}", started.elapsed());
}

/// A floodd configuration for `count` sites `n0`, `n1`... with no addresses (the grid's
/// invitation connects them), and the group [`GROUP`] of the [`SITES`].
fn floodd_config(count: usize) -> String {
    let mut text: String =
        (0..count).map(|index| format!("(:site-define (:site-name n{index}))\n")).collect();
    // Short periods, so that measured costs replace the default ones within [`LOAD`].
    text += &format!("(:group-define (:group-name {GROUP}) (:connectivity 2)");
    text += " (:ping-period 1.0) (:estimates-period 1.0)";
    for index in SITES {
        text += &format!(" (:site n{index})");
    }
    text + ")\n"
}

/// The graph of [`GROUP`] the page drew, if it drew one.
fn group_graph(page: &Value) -> Option<&Value> {
    page["groups"].as_array()?.iter().find(|graph| graph["name"] == GROUP)
}

/// The ids of the sites in a group's graph, sorted.
fn site_ids(graph: &Value) -> Vec<&String> {
    let mut ids: Vec<&String> = graph["sites"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|site| match &site["id"] {
            Value::String(id) => Some(id),
            _ => None,
        })
        .collect();
    ids.sort();
    ids
}

/// The cost labels on a group graph's links.
fn cost_labels(graph: &Value) -> Vec<&str> {
    graph["costs"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether a label reads as a cost: a whole number of milliseconds.
fn is_cost(label: &str) -> bool {
    label
        .strip_suffix(" ms")
        .is_some_and(|ms| !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()))
}

/// The state the group's graph shows site `id` in: its `data-state`, when it is drawn in the
/// colour of the member table's badge for that state.
fn site_state<'a>(page: &'a Value, id: &str) -> Option<&'a str> {
    let site = group_graph(page)?["sites"].as_array()?.iter().find(|site| site["id"] == id)?;
    let state = site["state"].as_str()?;
    let row = member_rows(page).iter().find(|row| row["state"] == state)?;
    (row["colour"].is_string() && row["colour"] == site["colour"]).then_some(state)
}

/// The member rows the page read.
fn member_rows(page: &Value) -> &[Value] {
    page["rows"].as_array().map_or(&[], Vec::as_slice)
}

/// The state the page shows for member `id`: its row's `data-state`, when the badge the operator
/// sees says the same.
fn shown_state<'a>(page: &'a Value, id: &str) -> Option<&'a str> {
    let row = member_rows(page).iter().find(|row| row["id"] == id)?;
    let state = row["state"].as_str()?;
    (row["badge"].as_str() == Some(state)).then_some(state)
}

/// Reads the page every [`POLL`] until `check` holds, and returns what it read. After `limit`,
/// saves a screenshot and fails with the last reading.
fn wait_for_page(
    browser: &mut Browser,
    what: &str,
    limit: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    let mut last = Err(String::from("the page was never read"));
    while started.elapsed() < limit {
        // A reading can fail while the page is between two documents.
        match browser.evaluate(READ_PAGE) {
            Ok(page) if check(&page) => return page,
            reading => last = reading,
        }
        std::thread::sleep(POLL);
    }
    let shot = save_screenshot(browser, "dashboard-failed.png");
    let last = match last {
        Ok(page) => format!("{page:#}"),
        Err(error) => error,
    };
    panic!(
        "timed out after {limit:?} waiting for {what} (screenshot: {}); the page last read:\n{last}",
        shot.display()
    );
}

/// Saves a screenshot as `target/test-artifacts/NAME` and returns its path.
fn save_screenshot(browser: &mut Browser, name: &str) -> PathBuf {
    let png = browser.screenshot();
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace holds crates/cli")
        .to_owned();
    // A relative CARGO_TARGET_DIR is taken from the workspace; an absolute one replaces it.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("target/test-artifacts");
    let path = dir.join(name);
    std::fs::write(&path, png).expect("writing the screenshot");
    path
}
