//! Tests of the floodd configuration: the manual's sample, every parameter, every error with its
//! line and column, and the parser on damaged copies of the sample.

use super::*;

const SAMPLE: &str = include_str!("../../../tests/fixtures/floodd/sample.conf");

fn at(line: u32, column: u32) -> Position {
    Position { line, column }
}

fn secs(seconds: u64) -> Option<Duration> {
    Some(Duration::from_secs(seconds))
}

fn error_text(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("expected an error for {text:?}, got {config:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn the_manuals_sample_loads_unchanged_with_its_values() {
    let config = parse(SAMPLE).unwrap();
    let site = |position, name: &str, hostname: &str| SiteDef {
        position,
        name: name.to_owned(),
        hostname: Some(hostname.to_owned()),
        inet_address: None,
        client_port: Some(2000),
        data_port: Some(2001),
        latitude: None,
        longitude: None,
    };
    assert_eq!(
        config.sites,
        vec![site(at(8, 1), "master", "valhalla"), site(at(15, 1), "inferno", "inferno")]
    );
    assert_eq!(
        config.groups,
        vec![GroupDef {
            position: at(24, 1),
            name: "mirror-1".to_owned(),
            sites: vec!["master".to_owned(), "inferno".to_owned()],
            master_site: Some("master".to_owned()),
            connectivity: None,
            ping_period: secs(15),
            bandwidth_period: secs(60),
            estimates_period: secs(30),
            join_period: None,
            update_period: secs(120),
            topology_generator: None,
            access: None,
        }]
    );
    assert_eq!(
        config.local,
        LocalDef {
            position: Some(at(36, 1)),
            data_storage_max: None,
            export_command: Some("/homes/dante/mirrord/inferno/bin/filer".to_owned()),
            log_purge_period: None,
            site_purge_period: secs(600),
            grid_secret: None,
        }
    );
}

#[test]
fn the_sample_with_crlf_line_ends_reads_the_same() {
    // Positions are the same too: a CR only adds a column at the end of a line.
    assert_eq!(parse(&SAMPLE.replace('\n', "\r\n")).unwrap(), parse(SAMPLE).unwrap());
}

#[test]
fn every_parameter_is_read() {
    let text = r#"
(:site-define (:site-name a) (:hostname a.example.org) (:inet-address 192.0.2.7)
  (:client-port 9000) (:data-port 9001) (:lattitude 40.0) (:longitude -105.25))
(:site-define (:SITE-NAME "b") (:inet-address 2001:db8::1) (:coordinate -33.5 151))
(:site-define (:site-name c) (:latitude 1.5)) ; trailing comment
(:group-define
  (:group-name g) (:site a) (:site b) (:master-site c) (:connectivity 3)
  (:ping-period 0.5) (:bandwidth-period 60) (:estimates-period 30.25) (:join-period 45)
  (:update-period 120.0) (:topology-generator /usr/bin/topo --degree 3))
(:group-define (:group-name h) (:site c) (:topology-generator "gen \"x y\" \\ z") (:access Listed))
(:local (:data-storage-max 1048576) (:export-command cat > /tmp/out)
  (:log-purge-period 3600))
(:local (:site-purge-period 600) (:grid-secret "s3cret \"quoted\""))
"#;
    let config = parse(text).unwrap();
    let [a, b, c] = &config.sites[..] else { panic!("three sites: {:?}", config.sites) };
    assert_eq!(a.hostname.as_deref(), Some("a.example.org"));
    assert_eq!(a.inet_address, Some("192.0.2.7".parse().unwrap()));
    assert_eq!((a.client_port, a.data_port), (Some(9000), Some(9001)));
    assert_eq!((a.latitude, a.longitude), (Some(40.0), Some(-105.25)));
    assert_eq!(b.name, "b");
    assert_eq!(b.inet_address, Some("2001:db8::1".parse().unwrap()));
    assert_eq!((b.latitude, b.longitude), (Some(-33.5), Some(151.0)));
    assert_eq!((c.latitude, c.longitude), (Some(1.5), None));
    let [g, h] = &config.groups[..] else { panic!("two groups: {:?}", config.groups) };
    assert_eq!(g.sites, ["a", "b"]);
    assert_eq!(g.master_site.as_deref(), Some("c"));
    assert_eq!(g.connectivity, NonZeroU32::new(3));
    assert_eq!(g.ping_period, Some(Duration::from_millis(500)));
    assert_eq!(g.bandwidth_period, secs(60));
    assert_eq!(g.estimates_period, Some(Duration::from_millis(30_250)));
    assert_eq!(g.join_period, secs(45));
    assert_eq!(g.update_period, secs(120));
    assert_eq!(g.topology_generator.as_deref(), Some("/usr/bin/topo --degree 3"));
    assert_eq!(h.topology_generator.as_deref(), Some("gen \"x y\" \\ z"));
    assert_eq!((g.access, h.access), (None, Some(GroupAccess::Listed)));
    let local = &config.local;
    assert_eq!(local.position, Some(at(11, 1)));
    assert_eq!(local.data_storage_max, Some(1 << 20));
    assert_eq!(local.export_command.as_deref(), Some("cat > /tmp/out"));
    assert_eq!(local.log_purge_period, secs(3600));
    assert_eq!(local.site_purge_period, secs(600));
    let secret = local.grid_secret.as_ref().unwrap();
    assert_eq!(secret.expose(), "s3cret \"quoted\"");
    assert!(!format!("{local:?}").contains("s3cret"), "Debug hides the secret");
}

#[test]
fn an_empty_file_or_one_of_comments_is_an_empty_configuration() {
    for text in ["", "\n", "; only\n# comments\n   ;; here"] {
        let config = parse(text).unwrap();
        assert_eq!((config.sites.len(), config.groups.len()), (0, 0));
        assert_eq!(config.local, LocalDef::default());
    }
}

#[test]
fn each_error_names_its_line_and_column() {
    let site_a = "(:site-define (:site-name a))\n";
    let cases = [
        (
            "(:site-define\n (:site-name a)\n (:foo 1))".to_owned(),
            "line 3, column 3: unknown parameter `:foo` in a site definition",
        ),
        (
            "(:site-define (site-name a))".to_owned(),
            "line 1, column 16: unknown parameter `site-name` in a site definition (parameter \
             names start with `:`)",
        ),
        (
            "; c\n(:site-define\n (:site-name a)\n".to_owned(),
            "line 2, column 1: the list opened here is never closed",
        ),
        (
            "(:site-define (:site-name a)))".to_owned(),
            "line 1, column 30: unexpected `)` with no list open",
        ),
        (
            "(:site-define\n (:site-name a)\n (:client-port 20x0))".to_owned(),
            "line 3, column 16: `:client-port` needs a port number from 0 to 65535, found `20x0`",
        ),
        (
            "(:site-define (:site-name a)\n (:data-port 65536))".to_owned(),
            "line 2, column 14: `:data-port` needs a port number from 0 to 65535, found `65536`",
        ),
        (
            "(:site-define (:site-name a) (:inet-address valhalla))".to_owned(),
            "line 1, column 45: `:inet-address` needs an IP address such as 192.0.2.7, found \
             `valhalla`",
        ),
        (
            "(:site-define (:site-name a) (:lattitude 91))".to_owned(),
            "line 1, column 42: `:latitude` needs a latitude in degrees from -90 to 90, found `91`",
        ),
        (
            "(:site-define (:site-name a) (:coordinate 1))".to_owned(),
            "line 1, column 30: `:coordinate` takes a latitude and a longitude, found 1",
        ),
        (
            "(:site-define (:site-name a) (:coordinate 1 east))".to_owned(),
            "line 1, column 45: `:coordinate` needs a longitude in degrees from -180 to 180, \
             found `east`",
        ),
        (
            "\n(:site-define\n (:hostname h))".to_owned(),
            "line 2, column 1: a site definition has no `:site-name`",
        ),
        (
            format!("{site_a}(:site-define (:site-name a))"),
            "line 2, column 1: site `a` is defined twice; the first is at line 1, column 1",
        ),
        (
            format!("{site_a}(:group-define\n (:group-name g)\n (:site b))"),
            "line 4, column 9: site `b` is not defined in this file (defined: a)",
        ),
        (
            format!("(:group-define (:group-name g)\n (:master-site c))\n{site_a}"),
            "line 2, column 16: site `c` is not defined in this file (defined: a)",
        ),
        (
            format!("{site_a}(:group-define (:group-name g) (:site a) (:site a))"),
            "line 2, column 49: site `a` is listed twice in this group",
        ),
        (
            "(:group-define (:group-name g))\n(:group-define (:group-name g))".to_owned(),
            "line 2, column 1: group `g` is defined twice; the first is at line 1, column 1",
        ),
        (
            "(:group-define (:site-name g))".to_owned(),
            "line 1, column 17: unknown parameter `:site-name` in a group definition",
        ),
        (
            "(:group-define (:ping-period 1))".to_owned(),
            "line 1, column 1: a group definition has no `:group-name`",
        ),
        (
            "(:site-define\n (:site-name a)\n (:hostname h)\n (:hostname i))".to_owned(),
            "line 4, column 2: `:hostname` is given twice in a site definition; the first is at \
             line 3, column 2",
        ),
        (
            "(:site-define (:site-name a)\n (:latitude 1)\n (:coordinate 1 2))".to_owned(),
            "line 3, column 2: `:latitude` is given twice in a site definition; the first is at \
             line 2, column 2",
        ),
        (
            "(:local (:site-purge-period 1))\n(:local (:site-purge-period 2))".to_owned(),
            "line 2, column 9: `:site-purge-period` is given twice in the local parameters; the \
             first is at line 1, column 9",
        ),
        (
            "(:site-define (:site-name a b))".to_owned(),
            "line 1, column 15: `:site-name` takes one value, found 2",
        ),
        (
            "(:site-define (:site-name))".to_owned(),
            "line 1, column 15: `:site-name` takes one value, found 0",
        ),
        (
            "(:site-define (:site-name \"a b\"))".to_owned(),
            "line 1, column 27: `:site-name` needs a name without spaces, found `a b`",
        ),
        (
            "(:site-define (:site-name (a)))".to_owned(),
            "line 1, column 27: `:site-name` takes plain values, not a list",
        ),
        (
            "(:group-define (:group-name g) (:ping-period 0))".to_owned(),
            "line 1, column 46: `:ping-period` needs a number of seconds above 0, found `0`",
        ),
        (
            "(:group-define (:group-name g) (:join-period -5))".to_owned(),
            "line 1, column 46: `:join-period` needs a number of seconds above 0, found `-5`",
        ),
        (
            "(:group-define (:group-name g) (:update-period inf))".to_owned(),
            "line 1, column 48: `:update-period` needs a number of seconds above 0, found `inf`",
        ),
        (
            "(:group-define (:group-name g) (:connectivity 0))".to_owned(),
            "line 1, column 47: `:connectivity` needs a whole number of at least 1, found `0`",
        ),
        (
            "(:group-define (:group-name g) (:topology-generator a \"b\"))".to_owned(),
            "line 1, column 32: `:topology-generator` is either one quoted string or bare words, \
             not a mix of both",
        ),
        (
            "(:group-define (:group-name g) (:access everyone))".to_owned(),
            "line 1, column 41: `:access` needs open or listed, found `everyone`",
        ),
        (
            "(:local (:export-command))".to_owned(),
            "line 1, column 9: `:export-command` takes a command, found 0",
        ),
        (
            "(:local (:data-storage-max -1))".to_owned(),
            "line 1, column 28: `:data-storage-max` needs a number of bytes, found `-1`",
        ),
        (
            "(:local (:grid-secret \"\"))".to_owned(),
            "line 1, column 23: `:grid-secret` needs a secret that is not empty, found ``",
        ),
        (
            "(:local :export-command x)".to_owned(),
            "line 1, column 9: expected a parameter list such as `(:export-command ...)` in the \
             local parameters, found `:export-command`",
        ),
        (
            "(:local ())".to_owned(),
            "line 1, column 9: expected a parameter list such as `(:export-command ...)` in the \
             local parameters, found `()`",
        ),
        (
            "(:sites-define)".to_owned(),
            "line 1, column 2: unknown definition `:sites-define`; expected `:site-define`, \
             `:group-define` or `:local`",
        ),
        (
            "\n  ()".to_owned(),
            "line 2, column 3: unknown definition `()`; expected `:site-define`, `:group-define` \
             or `:local`",
        ),
        (
            "site-name master".to_owned(),
            "line 1, column 1: expected `(` to start a definition, found `site-name` (comments \
             start with `;` or, at the start of a line, `#`)",
        ),
        (
            "(:local (:export-command \"cat\\q\"))".to_owned(),
            "line 1, column 30: unknown escape `\\q` in a quoted string (only `\\\"` and `\\\\` \
             are known)",
        ),
        (
            "(:local (:export-command \"cat))\n".to_owned(),
            "line 1, column 26: the quoted string that starts here is never closed",
        ),
        (
            format!("{}{}", "(".repeat(NESTING_MAX + 1), ")".repeat(NESTING_MAX + 1)),
            "line 1, column 17: lists are nested deeper than 16 levels",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(error_text(&text), expected, "for {text:?}");
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let mut text = ";".repeat(CONFIG_SIZE_MAX);
    assert!(parse(&text).is_ok());
    text.push('(');
    let error = parse(&text).unwrap_err();
    assert_eq!(error, ConfigError::TooLarge { size: CONFIG_SIZE_MAX + 1 });
    assert_eq!(error.position(), None);
    assert_eq!(
        error.to_string(),
        "the configuration is 1048577 bytes long, above the 1048576-byte limit"
    );
}

#[test]
fn the_site_is_picked_by_name_then_by_hostname_then_by_its_first_label() {
    let config = parse(SAMPLE).unwrap();
    let name = |site: Result<&SiteDef, SiteChoiceError>| site.map(|site| site.name.clone());
    assert_eq!(name(config.pick_site(Some("inferno"), "valhalla")), Ok("inferno".to_owned()));
    assert_eq!(name(config.pick_site(None, "valhalla")), Ok("master".to_owned()));
    assert_eq!(name(config.pick_site(None, "VALHALLA.cs.example.edu")), Ok("master".to_owned()));
    assert_eq!(name(config.pick_site(None, "inferno.example.edu")), Ok("inferno".to_owned()));
    assert_eq!(
        config.pick_site(Some("hades"), "valhalla").unwrap_err().to_string(),
        "no site is named `hades` in the floodd configuration (sites: master, inferno)"
    );
    assert_eq!(
        config.pick_site(None, "purgatory.example.edu").unwrap_err().to_string(),
        "no site of the floodd configuration has hostname `purgatory.example.edu`; pick one by \
         name (sites: master, inferno)"
    );
    let twins = parse(
        "(:site-define (:site-name a) (:hostname h.example.org))\n\
         (:site-define (:site-name b) (:hostname h))\n\
         (:site-define (:site-name c) (:hostname h))",
    )
    .unwrap();
    // A full match wins over a first-label match.
    assert_eq!(name(twins.pick_site(None, "h.example.org")), Ok("a".to_owned()));
    assert_eq!(
        twins.pick_site(None, "h.example.net").unwrap_err().to_string(),
        "sites b, c all have hostname `h`; pick one by name"
    );
}

#[test]
fn groups_of_a_site_are_those_that_list_it_or_have_it_as_master() {
    let config = parse(
        "(:site-define (:site-name a)) (:site-define (:site-name b))\n\
         (:group-define (:group-name one) (:site a))\n\
         (:group-define (:group-name two) (:site b) (:master-site a))\n\
         (:group-define (:group-name three) (:site b))",
    )
    .unwrap();
    let names = |site| config.groups_of(site).map(|group| group.name.as_str()).collect::<Vec<_>>();
    assert_eq!(names("a"), ["one", "two"]);
    assert_eq!(names("b"), ["two", "three"]);
    assert!(names("c").is_empty());
}

fn seed() -> u64 {
    match std::env::var("HERALD_SEED") {
        Ok(text) => text.parse().expect("HERALD_SEED is a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |elapsed| elapsed.as_nanos() as u64 | 1),
    }
}

/// Parses `text`, failing the test with `rerun` if the parser panics, and checks that an error's
/// position is inside the text.
fn parse_without_panic(text: &str, rerun: &str) {
    let result = std::panic::catch_unwind(|| parse(text));
    let Ok(result) = result else { panic!("{rerun}: parse panicked on {text:?}") };
    if let Err(error) = result {
        let at = error.position().expect("damaged copies of the sample are small");
        let lines = text.split('\n').count() as u32;
        assert!(at.line >= 1 && at.line <= lines && at.column >= 1, "{rerun}: {error} in {text:?}");
    }
}

#[test]
fn every_truncation_of_the_sample_parses_or_fails_without_panicking() {
    for (end, _) in SAMPLE.char_indices() {
        parse_without_panic(&SAMPLE[..end], "truncation");
    }
}

#[test]
fn random_damage_to_the_sample_never_makes_the_parser_panic() {
    let seed = seed();
    let rerun = format!(
        "seed {seed}: HERALD_SEED={seed} cargo test -p herald-node --lib floodd::config::tests::random_damage"
    );
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Characters that matter to the reader, and some that do not.
    let alphabet: Vec<char> = "()\"\\;#: \n\r\t.-0123456789aé".chars().collect();
    let sample: Vec<char> = SAMPLE.chars().collect();
    for _ in 0..2000 {
        let mut text = sample.clone();
        for _ in 0..1 + next() % 6 {
            let index = (next() as usize) % (text.len() + 1);
            let c = alphabet[(next() as usize) % alphabet.len()];
            match next() % 3 {
                0 => text.insert(index, c),
                1 if index < text.len() => text[index] = c,
                _ if index < text.len() => {
                    text.remove(index);
                }
                _ => text.push(c),
            }
        }
        parse_without_panic(&text.into_iter().collect::<String>(), &rerun);
    }
}

#[test]
fn a_long_value_is_cut_in_the_message() {
    let text = format!("(:site-define (:site-name a) (:client-port {}))", "9".repeat(100));
    assert_eq!(
        error_text(&text),
        format!(
            "line 1, column 44: `:client-port` needs a port number from 0 to 65535, found `{}...`",
            "9".repeat(40)
        )
    );
}
