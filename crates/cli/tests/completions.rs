//! `herald completions SHELL`: a script that the shell parses, naming every command and flag.

// Shared with grid.rs, which uses all of it.
#[allow(dead_code)]
mod support;

use support::run;

#[test]
fn the_bash_script_parses_and_names_the_commands_and_their_flags() {
    let output = run(&["completions", "bash"]);
    assert!(output.status.success());
    let script = String::from_utf8(output.stdout).unwrap();
    for word in ["recommend", "reachable", "manager", "follow", "--print-config", "--followed"] {
        assert!(script.contains(word), "the script completes {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.bash");
    std::fs::write(&path, &script).unwrap();
    let parsed = std::process::Command::new("bash").arg("-n").arg(&path).status().unwrap();
    assert!(parsed.success(), "bash -n refuses the script");
}

#[test]
fn other_shells_get_theirs_and_an_unknown_one_is_a_usage_error() {
    let zsh = String::from_utf8(run(&["completions", "zsh"]).stdout).unwrap();
    assert!(zsh.starts_with("#compdef herald"), "{}", &zsh[..zsh.len().min(80)]);
    let fish = String::from_utf8(run(&["completions", "fish"]).stdout).unwrap();
    assert!(fish.contains("complete -c herald"), "fish");
    assert_eq!(run(&["completions", "nosh"]).status.code(), Some(2));
}
