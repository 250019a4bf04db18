//! One run's figures, as a child prints them and the parent reads them: every measure is a
//! number where lower is better.

use serde::{Deserialize, Serialize};

/// One measure of one run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Figure {
    /// What is measured, e.g. "latency p99".
    pub measure: String,
    /// Its unit, e.g. "ms".
    pub unit: String,
    /// The value; `None` when the run could not measure it (bytes outside a namespace).
    pub value: Option<f64>,
}

/// Everything one child run measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunFigures {
    /// The figures.
    pub figures: Vec<Figure>,
}

impl RunFigures {
    /// Adds a figure.
    pub fn push(&mut self, measure: &str, unit: &str, value: Option<f64>) {
        self.figures.push(Figure { measure: measure.into(), unit: unit.into(), value });
    }

    /// The value of `measure`, if the run measured it.
    pub fn get(&self, measure: &str) -> Option<f64> {
        self.figures.iter().find(|figure| figure.measure == measure).and_then(|figure| figure.value)
    }
}
