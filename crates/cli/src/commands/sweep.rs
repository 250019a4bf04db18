//! `herald sim --sweep`: runs scenario files and the simulator's randomized checks on many
//! seeds, and prints the commands that replay each failure.
//!
//! The tests run every scenario file on its own seeds and every randomized check
//! (`herald_sim::checks`) on fixed seeds, so that `cargo test` gives one verdict everywhere.
//! The sweep is how other seeds get tried: a failure it finds is a run to replay and explain.
//! Every run is deterministic, so the order in which `--jobs` threads finish changes nothing
//! but the order of the lines.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use herald_sim::ScenarioFile;
use herald_sim::checks::{CHECKS_TEST_TARGET, SEEDED_CHECKS, SeededCheck};
use herald_sim::seed::{draw_seed, replay_command};

/// Most seeds one sweep takes.
const SEEDS_MAX: usize = 1_000_000;

/// The scenario files' directory, relative to the working directory.
const SCENARIOS_DIR: &str = "scenarios";

/// The seeds of a sweep, as `--seeds` gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedList(pub Vec<u64>);

impl FromStr for SeedList {
    type Err = String;

    /// Comma-separated items, each a seed (`42`), a range (`1..200`, 200 excluded, or
    /// `1..=200`) or `random:N` (N seeds drawn afresh).
    fn from_str(text: &str) -> Result<SeedList, String> {
        let number = |text: &str| {
            text.trim().parse::<u64>().map_err(|_| format!("{text:?} is not a seed (0 to 2^64-1)"))
        };
        let mut seeds = Vec::new();
        for item in text.split(',').map(str::trim) {
            let (start, end) = if let Some(count) = item.strip_prefix("random:") {
                let count = usize::try_from(number(count)?).unwrap_or(usize::MAX);
                if count > SEEDS_MAX {
                    return Err(format!("at most {SEEDS_MAX} seeds, not {count}"));
                }
                seeds.extend((0..count).map(|_| draw_seed()));
                continue;
            } else if let Some((start, end)) = item.split_once("..=") {
                (number(start)?, Some(number(end)?))
            } else if let Some((start, end)) = item.split_once("..") {
                let end = number(end)?;
                (number(start)?, end.checked_sub(1))
            } else {
                let seed = number(item)?;
                (seed, Some(seed))
            };
            let Some(end) = end.filter(|end| *end >= start) else {
                return Err(format!("the range {item:?} is empty"));
            };
            if end - start >= (SEEDS_MAX - seeds.len()) as u64 {
                return Err(format!("at most {SEEDS_MAX} seeds"));
            }
            seeds.extend(start..=end);
        }
        if seeds.len() > SEEDS_MAX {
            return Err(format!("at most {SEEDS_MAX} seeds"));
        }
        Ok(SeedList(seeds))
    }
}

/// What to sweep.
pub struct Plan {
    /// The seeds, in order.
    pub seeds: Vec<u64>,
    /// Scenario files named with `--scenario`; with neither these nor checks, all of
    /// `scenarios/`.
    pub files: Vec<PathBuf>,
    /// Randomized checks named with `--check`.
    pub checks: Vec<String>,
    /// Runs at once.
    pub jobs: usize,
}

/// One thing a sweep runs on every seed.
enum Item {
    File(Box<ScenarioFile>),
    Check(SeededCheck),
}

impl Item {
    fn name(&self) -> String {
        match self {
            Item::File(file) => file.path.display().to_string(),
            Item::Check(check) => check.name.to_owned(),
        }
    }

    /// Runs the item on `seed`: the bounds or expectations it missed, if any.
    fn run(&self, seed: u64) -> Vec<String> {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match self {
            Item::File(file) => file.expect.misses(&file.with_seed(seed).run(|_, _| {})),
            Item::Check(check) => (check.run)(seed).err().into_iter().collect(),
        }));
        outcome.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                .unwrap_or_default();
            vec![format!("the run panicked: {message}")]
        })
    }

    /// The commands that replay the item on `seed`.
    fn replay(&self, seed: u64) -> Vec<String> {
        match self {
            Item::File(file) => {
                let mut commands =
                    vec![format!("herald sim --scenario {} --seed {seed}", file.path.display())];
                // tests/scenario_files.rs has a test for each file of scenarios/, named after it.
                let dir = file.path.parent().and_then(Path::file_name);
                if dir.is_some_and(|dir| dir == SCENARIOS_DIR) {
                    let test = file.name().replace('-', "_");
                    commands.push(replay_command(seed, "herald-sim", "scenario_files", &test));
                }
                commands
            }
            Item::Check(check) => {
                let (package, target) = CHECKS_TEST_TARGET;
                vec![replay_command(seed, package, target, check.name)]
            }
        }
    }
}

/// One run's outcome.
struct Outcome {
    seed_index: usize,
    item: usize,
    misses: Vec<String>,
    wall: Duration,
}

/// The items a plan names, checked before anything runs.
fn items(plan: &Plan) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    let files = if plan.files.is_empty() && plan.checks.is_empty() {
        scenario_files(Path::new(SCENARIOS_DIR))?
    } else {
        plan.files.clone()
    };
    for path in files {
        items.push(Item::File(Box::new(ScenarioFile::load(&path)?)));
    }
    let all_checks = plan.files.is_empty() && plan.checks.is_empty();
    for check in SEEDED_CHECKS {
        if all_checks || plan.checks.iter().any(|name| name == check.name) {
            items.push(Item::Check(*check));
        }
    }
    if let Some(unknown) =
        plan.checks.iter().find(|name| SEEDED_CHECKS.iter().all(|check| check.name != *name))
    {
        let known: Vec<&str> = SEEDED_CHECKS.iter().map(|check| check.name).collect();
        bail!("there is no check named {unknown:?}; the checks are {}", known.join(", "));
    }
    Ok(items)
}

/// Every `.toml` file in `dir`, sorted by name.
fn scenario_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "reading {}/ (run the sweep from the repository's root, or name files with --scenario)",
            dir.display()
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.with_context(|| format!("reading {}/", dir.display()))?.path();
        if path.extension().is_some_and(|extension| extension == "toml") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("{}/ holds no scenario files", dir.display());
    }
    Ok(files)
}

/// Runs a sweep: exit status 1 if any run failed.
pub fn run(plan: Plan) -> anyhow::Result<ExitCode> {
    let items = items(&plan)?;
    let seeds = &plan.seeds;
    let runs = seeds.len() * items.len();
    let jobs = plan.jobs.clamp(1, runs.max(1));
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "sweep: {} seeds × {} ({}) = {runs} runs, {jobs} at once",
        seeds.len(),
        items.len(),
        items.iter().map(Item::name).collect::<Vec<_>>().join(", ")
    )?;
    out.flush()?;

    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<Outcome>();
    let mut failures: Vec<(u64, usize, Vec<String>)> = Vec::new();
    let mut walls = vec![Duration::ZERO; items.len()];
    let mut failed_by_item = vec![0usize; items.len()];
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..jobs {
            let sender = sender.clone();
            let (next, items) = (&next, &items);
            scope.spawn(move || {
                loop {
                    let unit = next.fetch_add(1, Ordering::Relaxed);
                    if unit >= runs {
                        break;
                    }
                    let (seed_index, item) = (unit / items.len(), unit % items.len());
                    let started = Instant::now();
                    let misses = items[item].run(seeds[seed_index]);
                    let outcome = Outcome { seed_index, item, misses, wall: started.elapsed() };
                    if sender.send(outcome).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        // Per seed: runs finished, names of the failed items, wall time spent.
        let mut pending: BTreeMap<usize, (usize, Vec<String>, Duration)> = BTreeMap::new();
        let mut seeds_done = 0;
        for outcome in receiver {
            let seed = seeds[outcome.seed_index];
            let item = &items[outcome.item];
            walls[outcome.item] += outcome.wall;
            let entry = pending.entry(outcome.seed_index).or_default();
            entry.0 += 1;
            entry.2 += outcome.wall;
            if !outcome.misses.is_empty() {
                failed_by_item[outcome.item] += 1;
                entry.1.push(item.name());
                writeln!(
                    out,
                    "FAILED {} with seed {seed}: {}",
                    item.name(),
                    outcome.misses.join("; ")
                )?;
                for command in item.replay(seed) {
                    writeln!(out, "  replay: {command}")?;
                }
                failures.push((seed, outcome.item, outcome.misses));
            }
            if entry.0 == items.len() {
                let (_, failed, wall) = pending.remove(&outcome.seed_index).unwrap_or_default();
                seeds_done += 1;
                let verdict = if failed.is_empty() {
                    "ok".to_owned()
                } else {
                    format!("{} FAILED ({})", failed.len(), failed.join(", "))
                };
                writeln!(
                    out,
                    "[{seeds_done}/{}] seed {seed}: {verdict}, {:.1} s of runs, {} elapsed",
                    seeds.len(),
                    wall.as_secs_f64(),
                    whole_seconds(started.elapsed())
                )?;
            }
            out.flush()?;
        }
        Ok(())
    })?;

    writeln!(
        out,
        "\nsweep done: {} seeds, {runs} runs, {} failed, in {}",
        seeds.len(),
        failures.len(),
        whole_seconds(started.elapsed())
    )?;
    for (index, item) in items.iter().enumerate() {
        let mean = walls[index].as_secs_f64() / seeds.len().max(1) as f64;
        writeln!(
            out,
            "  {:<70} {:>4} failed, {mean:>6.1} s a run",
            item.name(),
            failed_by_item[index]
        )?;
    }
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "\nfailures, with the commands that replay them:")?;
    failures.sort_by_key(|(seed, item, _)| (*item, *seed));
    for (seed, item, misses) in &failures {
        let item = &items[*item];
        writeln!(out, "  {} with seed {seed}: {}", item.name(), misses.join("; "))?;
        for command in item.replay(*seed) {
            writeln!(out, "    {command}")?;
        }
    }
    Ok(ExitCode::from(1))
}

/// A duration in whole seconds, as humantime writes it ("1h 2m 3s").
fn whole_seconds(elapsed: Duration) -> String {
    humantime::format_duration(Duration::from_secs(elapsed.as_secs())).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(text: &str) -> Result<Vec<u64>, String> {
        text.parse::<SeedList>().map(|list| list.0)
    }

    #[test]
    fn seeds_are_ranges_lists_or_fresh_draws() {
        assert_eq!(seeds("1..4"), Ok(vec![1, 2, 3]));
        assert_eq!(seeds("1..=3,10, 7"), Ok(vec![1, 2, 3, 10, 7]));
        assert_eq!(seeds("18446744073709551615"), Ok(vec![u64::MAX]));
        assert_eq!(seeds("random:5").map(|seeds| seeds.len()), Ok(5));
    }

    #[test]
    fn bad_seeds_are_one_sentence_errors() {
        assert_eq!(seeds("5..5"), Err("the range \"5..5\" is empty".to_owned()));
        assert_eq!(seeds("x"), Err("\"x\" is not a seed (0 to 2^64-1)".to_owned()));
        assert_eq!(seeds("0..=18446744073709551615"), Err("at most 1000000 seeds".to_owned()));
        assert_eq!(seeds("random:2000000"), Err("at most 1000000 seeds, not 2000000".to_owned()));
    }

    #[test]
    fn a_failed_file_replays_with_the_cli_and_its_test() {
        let path = format!("{}/../../scenarios/steady-state.toml", env!("CARGO_MANIFEST_DIR"));
        let item = Item::File(Box::new(ScenarioFile::load(&path).unwrap()));
        let replay = item.replay(9);
        assert_eq!(replay[0], format!("herald sim --scenario {path} --seed 9"));
        assert_eq!(
            replay[1],
            "HERALD_SEED=9 cargo test -p herald-sim --test scenario_files -- --exact steady_state"
        );
        let elsewhere = ScenarioFile::parse("seeds = [1]\n", "/tmp/mine.toml").unwrap();
        let replay = Item::File(Box::new(elsewhere)).replay(9);
        assert_eq!(
            replay,
            vec!["herald sim --scenario /tmp/mine.toml --seed 9"],
            "no test to name"
        );
    }

    #[test]
    fn unknown_checks_are_refused_before_anything_runs() {
        let plan =
            Plan { seeds: vec![1], files: Vec::new(), checks: vec!["nope".to_owned()], jobs: 1 };
        let error = items(&plan).err().expect("an error").to_string();
        assert!(error.starts_with("there is no check named \"nope\"; the checks are "), "{error}");
    }
}
