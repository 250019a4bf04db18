//! A scenario file's `[grid_control]` table: [`GridControlScenario`]'s fields, each optional.

use serde::Deserialize;

use super::values::HumanDuration;
use crate::grid_control::GridControlScenario;

/// `[grid_control]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GridControlRepr {
    recommenders: Option<u32>,
    recommendations_each: Option<u32>,
    publish_interval: Option<HumanDuration>,
    servers: Option<u32>,
    removal_after: Option<HumanDuration>,
    policy: Option<bool>,
}

impl GridControlRepr {
    pub(super) fn grid_control(self) -> GridControlScenario {
        let base = GridControlScenario::default();
        GridControlScenario {
            recommenders: self.recommenders.unwrap_or(base.recommenders),
            recommendations_each: self.recommendations_each.unwrap_or(base.recommendations_each),
            publish_interval: self.publish_interval.map_or(base.publish_interval, |d| d.0),
            servers: self.servers.unwrap_or(base.servers),
            removal_after: self.removal_after.map_or(base.removal_after, |d| d.0),
            policy: self.policy.unwrap_or(base.policy),
        }
    }
}
