//! Link-state routing between real `herald run` processes: a ping to a node that is not a
//! neighbour crosses a relay, and killing the relay reroutes it; `nearest` lists the servers by
//! measured round trip.

// Shared with grid.rs, which uses all of it.
#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use support::{Node, grid, run, wait_for};

/// Time for advertisements to reach everyone, and for a killed relay to be routed around
/// (failure detection, then one advertisement).
const ROUTES: Duration = Duration::from_secs(60);

/// `herald routes --json` at `node`, parsed.
fn routes(node: &Node) -> Vec<serde_json::Value> {
    serde_json::from_str(&node.cli_ok(&["routes", "--json"])).expect("routes JSON")
}

/// `herald nearest --json` at `node`, parsed.
fn nearest(node: &Node) -> Vec<serde_json::Value> {
    serde_json::from_str(&node.cli_ok(&["nearest", "--json"])).expect("nearest JSON")
}

/// The `route` events of `node`'s event stream from now on, as their JSON data, read by a
/// thread of their own until the node goes away.
fn route_events(node: &Node) -> mpsc::Receiver<serde_json::Value> {
    let url = format!("http://{}/v1/events", node.api());
    let (events, received) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok(response) = ureq::get(url).call() else { return };
        let mut named_route = false;
        for line in BufReader::new(response.into_body().into_reader()).lines() {
            let Ok(line) = line else { return };
            if let Some(name) = line.strip_prefix("event:") {
                named_route = name.trim() == "route";
            } else if let Some(data) = line.strip_prefix("data:").filter(|_| named_route) {
                let Ok(event) = serde_json::from_str(data.trim()) else { continue };
                if events.send(event).is_err() {
                    return;
                }
            }
        }
    });
    received
}

/// The path of a routed ping from `node` to `destination`, or `None` if it failed.
fn ping_path(node: &Node, destination: &str) -> Option<Vec<String>> {
    let output = run(&["ping", destination, "--json", "--data-dir", node.dir_str()]);
    if !output.status.success() {
        return None;
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    assert!(answer["rtt_ms"].as_f64().is_some_and(|rtt| rtt > 0.0), "{answer}");
    let path = answer["path"].as_array()?;
    Some(path.iter().filter_map(|id| id.as_str().map(str::to_owned)).collect())
}

#[test]
fn a_ping_crosses_a_relay_and_is_rerouted_when_the_relay_is_killed() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = grid(root.path(), 12);
    let ids: Vec<String> = nodes.iter().map(Node::id).collect();
    wait_for("routes from node 0 to the eleven others", ROUTES, || routes(&nodes[0]).len() == 11);

    // Every other node is a server whose round trip node 0's probes measure, nearest first.
    wait_for("node 0 to measure the eleven others", ROUTES, || nearest(&nodes[0]).len() == 11);
    let round_trips: Vec<f64> =
        nearest(&nodes[0]).iter().map(|server| server["rtt_ms"].as_f64().unwrap()).collect();
    assert!(round_trips.windows(2).all(|pair| pair[0] <= pair[1]), "{round_trips:?}");

    // A destination that is not a neighbour of node 0: its route has a relay.
    let relayed = routes(&nodes[0])
        .into_iter()
        .find(|route| route["path"].as_array().is_some_and(|path| path.len() >= 3))
        .expect("twelve nodes with five links each leave some node two hops away");
    let destination = relayed["destination"].as_str().unwrap().to_owned();
    let mut path = None;
    wait_for("a routed ping to answer", ROUTES, || {
        path = ping_path(&nodes[0], &destination);
        path.is_some()
    });
    let path = path.unwrap();
    assert!(path.len() >= 3, "the ping went through a relay: {path:?}");
    assert_eq!((path.first(), path.last()), (Some(&ids[0]), Some(&destination)));

    // Kill the first relay; routes heal around it, and the event stream says so.
    let events = route_events(&nodes[0]);
    let relay = path[1].clone();
    let relay_index = ids.iter().position(|id| *id == relay).expect("the relay is one of ours");
    nodes[relay_index].kill9();
    wait_for("a ping that avoids the killed relay", ROUTES, || {
        ping_path(&nodes[0], &destination).is_some_and(|path| !path.contains(&relay))
    });
    let mut rerouted = false;
    wait_for("a route event for the destination that avoids the relay", ROUTES, || {
        while let Ok(event) = events.try_recv() {
            let path = event["path"].as_array().cloned().unwrap_or_default();
            rerouted |= event["destination"] == destination.as_str()
                && !path.is_empty()
                && !path.iter().any(|id| *id == relay.as_str());
        }
        rerouted
    });
    let to_the_dead = run(&["ping", &relay, "--data-dir", nodes[0].dir_str()]);
    assert_eq!(to_the_dead.status.code(), Some(1), "a ping to the killed relay fails");
}
