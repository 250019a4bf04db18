//! The values a scenario file's fields take, each checked as it is read: durations written as
//! humantime, fractions, probabilities, rates and counts. A value out of range is an error that
//! says what was expected.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::FILE_NODES_MAX;

/// Durations longer than this are surely a mistake in a simulation (and would overflow
/// virtual time arithmetic long before they made sense).
const DURATION_MAX: Duration = Duration::from_secs(24 * 3600);

/// A duration written as humantime: "500ms", "20s", "1m 30s".
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct HumanDuration(pub(super) Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration in a string, such as \"500ms\" or \"20s\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<HumanDuration, E> {
                let duration = humantime::parse_duration(text).map_err(|error| {
                    E::custom(format!(
                        "{text:?} is not a duration such as \"500ms\" or \"20s\" ({error})"
                    ))
                })?;
                if duration > DURATION_MAX {
                    return Err(E::custom(format!("{text:?} is longer than a day")));
                }
                Ok(HumanDuration(duration))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A number from 0 to 1 inclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Fraction(pub(super) f64);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if !(0.0..=1.0).contains(&value) {
            return Err(de::Error::custom(format!("a fraction must be from 0 to 1, not {value}")));
        }
        Ok(Fraction(value))
    }
}

/// A loss probability: at least 0 and below 1 (at 1 nothing would ever arrive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Probability(pub(super) f64);

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if !(0.0..1.0).contains(&value) {
            return Err(de::Error::custom(format!(
                "a loss probability must be at least 0 and below 1, not {value}"
            )));
        }
        Ok(Probability(value))
    }
}

/// A rate per second: finite and not negative.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Rate(pub(super) f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if !(value.is_finite() && value >= 0.0) {
            return Err(de::Error::custom(format!("a rate must be 0 or more, not {value}")));
        }
        Ok(Rate(value))
    }
}

/// A grid size from 1 to [`FILE_NODES_MAX`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct NodeCount(pub(super) u32);

impl<'de> Deserialize<'de> for NodeCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u64::deserialize(deserializer)?;
        match u32::try_from(value) {
            Ok(count @ 1..=FILE_NODES_MAX) => Ok(NodeCount(count)),
            _ => Err(de::Error::custom(format!(
                "nodes must be from 1 to {FILE_NODES_MAX}, not {value}"
            ))),
        }
    }
}

/// A count that must be at least 1 (`cores`, `inputs_per_turn`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Positive(pub(super) u32);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u64::deserialize(deserializer)?;
        match u32::try_from(value) {
            Ok(count @ 1..) => Ok(Positive(count)),
            _ => Err(de::Error::custom(format!("must be from 1 to {}, not {value}", u32::MAX))),
        }
    }
}
