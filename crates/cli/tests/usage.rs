//! Bad values that clap parses but the commands refuse exit 2, like clap's own usage errors, so
//! that a script can tell a bad call from a failure; they print one sentence and nothing else.

// Shared with grid.rs, which uses all of it.
#[allow(dead_code)]
mod support;

use support::run;

#[test]
fn bad_values_exit_2_with_one_sentence() {
    for args in [
        &["sim", "--nodes", "0"][..],
        &["sim", "--loss", "1"],
        &["sim", "--kill", "2"],
        &["sim", "--partition", "x"],
        &["announce", "web", "not json"],
        &["announce", "web", "[1]"],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("herald: "), "{args:?}: {stderr}");
    }
}
