//! floodd compatibility between real `herald run` processes: three sites read their own
//! configuration files, messages sent through the client line protocol reach every other
//! site's export command (a failing command loses nothing), a site that was stopped gets what
//! it missed exactly once, the master site's topology generator decides the group's topology
//! (and an answer that leaves a member out is refused, logged, and never used), the manual's
//! sample configuration starts a node, and a malformed configuration is refused naming its
//! line.

// Shared with grid.rs, which uses all of it.
#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::time::Duration;

use support::{Node, run, wait_for};

/// Time for three sites to find each other and agree on the group's topology.
const SETTLE: Duration = Duration::from_secs(30);

/// A port free on loopback for both UDP (peer traffic) and TCP (the client interface).
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("a UDP port");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// One site: its name, its data and client ports.
struct Site {
    name: &'static str,
    data_port: u16,
    client_port: u16,
}

/// A site's configuration file: every site's definition, the group, and its own export command
/// (a script in its data directory) followed by `local`, more local parameters.
fn configuration_with(sites: &[Site], export: &Path, local: &str, group: &str) -> String {
    let mut text = String::from("; three sites on one machine\n");
    for site in sites {
        text += &format!(
            "(:site-define (:site-name {}) (:inet-address 127.0.0.1) (:client-port {}) (:data-port {}))\n",
            site.name, site.client_port, site.data_port
        );
    }
    text += "(:group-define (:group-name mirror) (:site alpha) (:site beta) (:site gamma)\n";
    text += &format!("  (:connectivity 2) (:ping-period 15.0){group})\n");
    text += &format!("(:local (:export-command \"{}\"){local})\n", export.display());
    text
}

/// Writes `site`'s export script: it appends each batch to `exported.bin` in the data
/// directory, after failing `failures` times.
fn export_script(dir: &Path, failures: u32) -> std::path::PathBuf {
    let path = dir.join("export.sh");
    let script = format!(
        "#!/bin/sh\nn=$(cat tries 2>/dev/null || echo 0)\necho $((n + 1)) > tries\n\
         [ \"$n\" -ge {failures} ] || exit 1\necho \"$HERALD_GROUP $HERALD_MESSAGES\" >> batches\n\
         cat >> exported.bin\n"
    );
    std::fs::write(&path, script).unwrap();
    let _ = std::process::Command::new("chmod").args(["+x", path.to_str().unwrap()]).status();
    path
}

/// Starts `site` on its own configuration file, with `--open`.
fn start(root: &Path, sites: &[Site], index: usize) -> Node {
    start_with(root, sites, index, &["--open"])
}

/// Starts `site` on its own configuration file, with `extra` flags.
fn start_with(root: &Path, sites: &[Site], index: usize, extra: &[&str]) -> Node {
    let site = &sites[index];
    let dir = root.join(site.name);
    let config = root.join(format!("{}.conf", site.name));
    let listen = format!("127.0.0.1:{}", site.data_port);
    let mut args = vec!["--floodd-config", config.to_str().unwrap(), "--name", site.name];
    args.extend_from_slice(extra);
    Node::start_listening(&dir, &listen, &args)
}

/// Three sites on free ports, each with its own configuration file whose local parameters
/// are `local(index)`, and an export script that fails `failures(index)` times first.
fn three_sites(
    root: &Path,
    failures: impl Fn(usize) -> u32,
    local: impl Fn(usize) -> String,
    group: &str,
) -> Vec<Site> {
    let sites: Vec<Site> = ["alpha", "beta", "gamma"]
        .into_iter()
        .map(|name| Site { name, data_port: free_port(), client_port: free_port() })
        .collect();
    for (index, site) in sites.iter().enumerate() {
        let dir = root.join(site.name);
        std::fs::create_dir_all(&dir).unwrap();
        let script = export_script(&dir, failures(index));
        let text = configuration_with(&sites, &script, &local(index), group);
        std::fs::write(root.join(format!("{}.conf", site.name)), text).unwrap();
    }
    sites
}

/// Sends `request` on the client port and returns every reply line until the server closes.
fn client(port: u16, request: &[u8]) -> Vec<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the client port");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request).unwrap();
    BufReader::new(stream).lines().map_while(Result::ok).collect()
}

/// What `site`'s export command has written, if anything.
fn exported(root: &Path, site: &str) -> Vec<u8> {
    std::fs::read(root.join(site).join("exported.bin")).unwrap_or_default()
}

/// `GET path` on `node`'s API, parsed; `None` if it failed.
fn api_get(node: &Node, path: &str) -> Option<serde_json::Value> {
    let mut response = ureq::get(format!("http://{}{path}", node.api())).call().ok()?;
    response.body_mut().read_json().ok()
}

/// The edges of the group's topology as `node` computed it.
fn topology_edges(node: &Node) -> usize {
    api_get(node, "/v1/groups/mirror/topology")
        .and_then(|topology| topology["edges"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// Writes the master's topology generator, an executable shell script, into `root`.
fn write_generator(root: &Path, script: &str) -> std::path::PathBuf {
    let generator = root.join("generator.sh");
    std::fs::write(&generator, script).unwrap();
    let _ = std::process::Command::new("chmod").args(["+x", generator.to_str().unwrap()]).status();
    generator
}

/// The group parameters that make alpha the master running `generator`, and `extra`.
fn generator_group(generator: &Path, extra: &str) -> String {
    format!(" (:master-site alpha) (:topology-generator \"{}\"){extra}", generator.display())
}

/// Stops alpha and checks that it logged why it refused its generator's answer.
fn assert_alpha_refused_the_generator(alpha: &mut Node) {
    let (stopped, log) = alpha.terminate_with_log();
    assert!(stopped, "alpha stops cleanly: {log}");
    assert!(
        log.lines().any(|line| line.contains("the topology generator's answer was refused")
            && line.contains("the edges do not connect all 3 members")),
        "alpha logs why it refused the generator's answer: {log}"
    );
}

#[test]
fn messages_reach_every_other_sites_export_command_once_even_across_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    // beta's command fails twice before it takes anything.
    let sites = three_sites(root, |index| if index == 1 { 2 } else { 0 }, |_| String::new(), "");
    let mut nodes: Vec<Node> = (0..3).map(|index| start(root, &sites, index)).collect();
    for node in &nodes {
        wait_for("the three sites to agree on a topology", SETTLE, || topology_edges(node) == 3);
    }

    let replies = client(
        sites[0].client_port,
        b"data\r\nfirst line\r\n..dotted\r\n.\r\nbinary 5 mirror\r\n\x00\x01\x02\x03\x04quit\r\n",
    );
    let ids: Vec<&String> = replies.iter().filter(|line| line.starts_with("250 ")).collect();
    assert_eq!(ids.len(), 2, "{replies:?}");
    assert!(replies.iter().any(|line| line.starts_with("354 ")), "{replies:?}");
    let both: &[u8] = b"first line\n.dotted\n\x00\x01\x02\x03\x04";
    for site in ["beta", "gamma"] {
        wait_for("both messages at the export command", SETTLE, || exported(root, site) == both);
    }
    let tries = std::fs::read_to_string(root.join("beta").join("tries")).unwrap();
    assert!(tries.trim().parse::<u32>().unwrap() >= 3, "beta's command ran {tries} times");
    assert!(exported(root, "alpha").is_empty(), "a site does not export its own messages");

    // gamma stops; a message published meanwhile reaches it once it is back, exactly once.
    assert!(nodes[2].terminate(), "gamma stops cleanly");
    let replies = client(sites[1].client_port, b"data\r\nwhile gamma was away\r\n.\r\nquit\r\n");
    assert!(replies.iter().any(|line| line.starts_with("250 ")), "{replies:?}");
    nodes[2] = start(root, &sites, 2);
    let all: Vec<u8> = [both, b"while gamma was away\n"].concat();
    wait_for("gamma to export what it missed", SETTLE, || exported(root, "gamma") == all);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(exported(root, "gamma"), all, "nothing exported twice");
    assert_eq!(exported(root, "alpha"), b"while gamma was away\n");
}

#[test]
fn a_grid_secret_admits_the_sites_that_hold_it_and_no_other() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let secret = |index: usize| {
        let secret =
            if index == 2 { "another-secret-entirely" } else { "a-long-random-grid-secret" };
        format!(" (:grid-secret \"{secret}\")")
    };
    let sites = three_sites(root, |_| 0, secret, "");
    let nodes: Vec<Node> = (0..3).map(|index| start_with(root, &sites, index, &[])).collect();
    assert_eq!(nodes[0].status()["grid_id"], nodes[1].status()["grid_id"]);
    assert_ne!(nodes[0].status()["grid_id"], nodes[2].status()["grid_id"]);
    let beta = nodes[1].id();
    wait_for("alpha and beta to see each other", SETTLE, || {
        nodes[0].state_of(&beta).as_deref() == Some("alive")
    });
    let replies = client(sites[0].client_port, b"data\r\nsecret news\r\n.\r\nquit\r\n");
    assert!(replies.iter().any(|line| line.starts_with("250 ")), "{replies:?}");
    wait_for("beta to export it", SETTLE, || exported(root, "beta") == b"secret news\n");
    std::thread::sleep(Duration::from_secs(2));
    assert!(exported(root, "gamma").is_empty(), "a site with another secret got the message");
    assert_eq!(nodes[0].state_of(&nodes[2].id()), None, "alpha admitted gamma");
}

#[test]
fn the_master_sites_topology_generator_decides_the_topology_of_every_member() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    // A path through the three sites: connected, though not 2-connected, which a generator
    // may decide.
    let generator = write_generator(
        root,
        "#!/bin/sh\ncat > input.json\necho 'alpha beta'\necho 'beta gamma'\n",
    );
    let group = generator_group(&generator, "");
    let sites = three_sites(root, |_| 0, |_| String::new(), &group);
    let nodes: Vec<Node> = (0..3).map(|index| start(root, &sites, index)).collect();
    let alpha = nodes[0].id();
    for node in &nodes {
        wait_for("every site to flood over the generator's topology", SETTLE, || {
            api_get(node, "/v1/groups/mirror/topology").is_some_and(|topology| {
                topology["computed_by"] == format!("master:{alpha}")
                    && topology["edges"].as_array().map_or(0, Vec::len) == 2
            })
        });
    }
    let input = std::fs::read_to_string(root.join("alpha").join("input.json")).unwrap();
    let input: serde_json::Value = serde_json::from_str(&input).expect("the generator read JSON");
    assert_eq!(input["group"], "mirror");
    assert_eq!(input["members"].as_array().map(Vec::len), Some(3), "{input}");
    let replies = client(sites[2].client_port, b"data\r\nover the path\r\n.\r\nquit\r\n");
    assert!(replies.iter().any(|line| line.starts_with("250 ")), "{replies:?}");
    for site in ["alpha", "beta"] {
        wait_for("the message along the path", SETTLE, || {
            exported(root, site) == b"over the path\n"
        });
    }
}

#[test]
fn a_generator_answer_that_leaves_a_member_out_is_refused_and_the_computed_topology_stays() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    // The generator never gives a usable answer: once it sees all three sites it answers the
    // one edge alpha-beta, which leaves gamma out (the core refuses it); before that it names
    // a site that does not exist (the node refuses it).
    let generator = write_generator(
        root,
        "#!/bin/sh\ncat > input.json\n\
         if grep -q '\"site\":\"beta\"' input.json && grep -q '\"site\":\"gamma\"' input.json\n\
         then touch saw-all-three; echo 'alpha beta'\nelse echo 'alpha nowhere'; fi\n",
    );
    let group = generator_group(&generator, "");
    let sites = three_sites(root, |_| 0, |_| String::new(), &group);
    let mut nodes: Vec<Node> = (0..3).map(|index| start(root, &sites, index)).collect();
    let saw_all_three = root.join("alpha").join("saw-all-three");
    wait_for("the generator to be run with all three sites", SETTLE, || saw_all_three.exists());
    // Time for the refused answer to have been published and reached the sites, had it not
    // been refused.
    std::thread::sleep(Duration::from_secs(3));
    // With no earlier good answer, every site floods over the topology the members compute
    // (k = 2 over three sites: all three edges), not over the generator's single edge.
    let computed_by_members = |node: &Node| {
        api_get(node, "/v1/groups/mirror/topology").is_some_and(|topology| {
            topology["computed_by"] == "members"
                && topology["edges"].as_array().map_or(0, Vec::len) == 3
        })
    };
    for node in &nodes {
        wait_for("every site to use the members' topology", SETTLE, || computed_by_members(node));
    }
    let replies = client(sites[0].client_port, b"data\r\ndespite the generator\r\n.\r\nquit\r\n");
    assert!(replies.iter().any(|line| line.starts_with("250 ")), "{replies:?}");
    for site in ["beta", "gamma"] {
        wait_for("the message at every other site", SETTLE, || {
            exported(root, site) == b"despite the generator\n"
        });
    }
    for node in &nodes {
        assert!(computed_by_members(node), "the generator's answer was never used");
    }
    assert_alpha_refused_the_generator(&mut nodes[0]);
}

#[test]
fn a_generator_answer_refused_after_a_good_one_leaves_the_last_good_topology() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    // Once the generator sees all three sites it answers a path; every later run (the costs
    // moved: round trips, then bandwidths, measured every second) leaves gamma out.
    let generator = write_generator(
        root,
        "#!/bin/sh\ncat > input.json\n\
         if grep -q '\"site\":\"beta\"' input.json && grep -q '\"site\":\"gamma\"' input.json\n\
         then if [ -e good-given ]; then touch bad-given; echo 'alpha beta'\n\
         else touch good-given; echo 'alpha beta'; echo 'beta gamma'; fi\n\
         else echo 'alpha nowhere'; fi\n",
    );
    let group = generator_group(
        &generator,
        " (:bandwidth-period 1) (:estimates-period 1) (:update-period 1)",
    );
    let sites = three_sites(root, |_| 0, |_| String::new(), &group);
    let mut nodes: Vec<Node> = (0..3).map(|index| start(root, &sites, index)).collect();
    let alpha = nodes[0].id();
    let on_the_path = |node: &Node| {
        api_get(node, "/v1/groups/mirror/topology").is_some_and(|topology| {
            topology["computed_by"] == format!("master:{alpha}")
                && topology["edges"].as_array().map_or(0, Vec::len) == 2
        })
    };
    let bad_given = root.join("alpha").join("bad-given");
    wait_for("the generator to be run again after its good answer", SETTLE, || bad_given.exists());
    // Time for the refused answer to have been published and reached the sites, had it not
    // been refused.
    std::thread::sleep(Duration::from_secs(3));
    for node in &nodes {
        assert!(on_the_path(node), "every site keeps the generator's last good topology");
    }
    assert_alpha_refused_the_generator(&mut nodes[0]);
}

#[test]
fn the_manuals_sample_configuration_starts_a_node() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("sample.conf");
    std::fs::write(&config, include_str!("../../node/tests/fixtures/floodd/sample.conf")).unwrap();
    let node = Node::start(
        &root.path().join("inferno"),
        &[
            "--floodd-config",
            config.to_str().unwrap(),
            "--name",
            "inferno",
            "--open",
            "--client-port",
            "127.0.0.1:0",
        ],
    );
    let groups = api_get(&node, "/v1/groups").expect("GET /v1/groups");
    assert_eq!(groups[0]["name"], "mirror-1", "{groups}");
    assert_eq!(groups[0]["member"], true, "{groups}");
    assert_eq!(node.status()["name"], "inferno");
}

#[test]
fn a_malformed_configuration_is_refused_naming_its_line_and_column() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("bad.conf");
    std::fs::write(
        &config,
        "; fine\n(:site-define (:site-name a))\n(:site-define (:colour blue))\n",
    )
    .unwrap();
    let dir = root.path().join("node");
    let output = run(&[
        "run",
        "--data-dir",
        dir.to_str().unwrap(),
        "--floodd-config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let mut stderr = String::new();
    output.stderr.as_slice().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("line 3, column 16"), "{stderr}");
    assert!(stderr.contains(":colour"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
