//! The report: each pairing's figures, herald's median beside the peer's, as the JSON object
//! issue 21 fixes (`{"date", "comparisons": [{"peer", "n", "measure", "unit", "herald",
//! "peer_value", "ratio"}]}`, plus the setting the peer ran at) and as a table.

use anyhow::Result;
use serde::Serialize;

use crate::child::System;
use crate::figures::RunFigures;

/// herald and one peer on one workload at one size, over one or more runs.
pub struct Pairing {
    peer_system: System,
    n: usize,
    setting: String,
    /// herald's runs.
    pub herald: Vec<RunFigures>,
    /// The peer's runs, in the same order.
    pub peer: Vec<RunFigures>,
}

impl Pairing {
    /// A pairing with no runs yet.
    pub fn new(peer: System, n: usize, setting: &str) -> Pairing {
        Pairing {
            peer_system: peer,
            n,
            setting: setting.into(),
            herald: Vec::new(),
            peer: Vec::new(),
        }
    }
}

/// Every pairing of a run of `versus`.
#[derive(Default)]
pub struct Report {
    /// The pairings, in the order they ran.
    pub pairings: Vec<Pairing>,
}

/// One figure of the JSON report.
#[derive(Debug, Serialize)]
struct Comparison {
    peer: &'static str,
    n: usize,
    measure: String,
    unit: String,
    herald: Option<f64>,
    peer_value: Option<f64>,
    /// herald ÷ peer; lower is better for every measure.
    ratio: Option<f64>,
    setting: String,
}

#[derive(Serialize)]
struct Json {
    date: String,
    comparisons: Vec<Comparison>,
}

impl Report {
    /// Prints the table to stderr and, with `json`, the object to stdout.
    pub fn print(&self, json: bool) -> Result<()> {
        let comparisons = self.comparisons();
        print_table(&comparisons);
        if json {
            let report = Json { date: today(), comparisons };
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Ok(())
    }

    fn comparisons(&self) -> Vec<Comparison> {
        let mut comparisons = Vec::new();
        for pairing in &self.pairings {
            // Every measure any run of either side reported, in the order first seen: a run
            // that failed reported none, and must not hide the others'.
            let mut measures: Vec<(&str, &str)> = Vec::new();
            for figure in pairing.herald.iter().chain(&pairing.peer).flat_map(|run| &run.figures) {
                if !measures.iter().any(|(measure, _)| *measure == figure.measure) {
                    measures.push((&figure.measure, &figure.unit));
                }
            }
            for (measure, unit) in measures {
                let herald = median(&pairing.herald, measure);
                let peer_value = median(&pairing.peer, measure);
                comparisons.push(Comparison {
                    peer: peer_name(pairing.peer_system),
                    n: pairing.n,
                    measure: measure.into(),
                    unit: unit.into(),
                    herald,
                    peer_value,
                    ratio: ratio(herald, peer_value),
                    setting: pairing.setting.clone(),
                });
            }
        }
        comparisons
    }
}

fn peer_name(system: System) -> &'static str {
    match system {
        System::Herald => "herald",
        System::IrohGossip => "iroh-gossip",
        System::Chitchat => "chitchat",
        System::Foca => "foca",
    }
}

/// herald ÷ peer. Two zeros are even (1.0); herald above a peer's zero has no finite ratio.
fn ratio(herald: Option<f64>, peer: Option<f64>) -> Option<f64> {
    match (herald?, peer?) {
        (ours, theirs) if theirs > 0.0 => Some(ours / theirs),
        (0.0, _) => Some(1.0),
        _ => None,
    }
}

/// The median of `measure` over the runs that measured it (the lower middle of an even count).
fn median(runs: &[RunFigures], measure: &str) -> Option<f64> {
    let mut values: Vec<f64> = runs.iter().filter_map(|run| run.get(measure)).collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len().saturating_sub(1) / 2).copied()
}

fn print_table(comparisons: &[Comparison]) {
    let cell = |value: Option<f64>| value.map_or("-".to_owned(), |value| format!("{value:.3}"));
    let rows: Vec<[String; 7]> = comparisons
        .iter()
        .map(|c| {
            [
                c.peer.to_owned(),
                c.n.to_string(),
                format!("{} ({})", c.measure, c.unit),
                cell(c.herald),
                cell(c.peer_value),
                cell(c.ratio),
                c.setting.clone(),
            ]
        })
        .collect();
    let header =
        ["peer", "n", "measure", "herald", "peer", "ratio", "peer's setting"].map(String::from);
    let mut widths = [0; 7];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(text, width)| format!("{text}{}", " ".repeat(width - text.chars().count())))
            .collect();
        eprintln!("{}", cells.join("  ").trim_end());
    }
}

/// Today's date in UTC, as YYYY-MM-DD, from the system clock (the civil-from-days conversion
/// of the proleptic Gregorian calendar).
fn today() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The (year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Count from 0000-03-01, so that a leap day ends its 400-year era's years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_794), (2026, 12, 7));
    }

    #[test]
    fn ratios() {
        assert_eq!(ratio(Some(2.0), Some(4.0)), Some(0.5));
        assert_eq!(ratio(Some(0.0), Some(0.0)), Some(1.0));
        assert_eq!(ratio(Some(3.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(1.0)), None);
    }

    #[test]
    fn medians() {
        let run = |value| {
            let mut figures = RunFigures::default();
            figures.push("m", "s", Some(value));
            figures
        };
        assert_eq!(median(&[run(3.0), run(1.0), run(2.0)], "m"), Some(2.0));
        assert_eq!(median(&[run(3.0), run(1.0)], "m"), Some(1.0));
        assert_eq!(median(&[], "m"), None);
    }

    #[test]
    fn a_failed_herald_run_does_not_hide_the_peers_figures() {
        let mut peer = RunFigures::default();
        peer.push("full view", "s", Some(7.0));
        let mut pairing = Pairing::new(System::Chitchat, 200, "default");
        pairing.herald.push(RunFigures::default());
        pairing.peer.push(peer);
        let report = Report { pairings: vec![pairing] };
        let comparisons = report.comparisons();
        assert_eq!(comparisons.len(), 1);
        assert_eq!(comparisons[0].measure, "full view");
        assert_eq!((comparisons[0].herald, comparisons[0].peer_value), (None, Some(7.0)));
        assert_eq!(comparisons[0].ratio, None);
    }
}
