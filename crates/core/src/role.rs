//! A node's role in the grid, which every protocol component reads: servers relay and keep
//! full state, clients keep a few servers and never relay.

use serde::{Deserialize, Serialize};

/// A node's role in the grid.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Role {
    /// Relays gossip, keeps full state, answers joins.
    #[default]
    Server,
    /// Keeps a few connections to servers and never relays.
    Client,
}

impl Role {
    /// The lowercase name the interface uses: `server` or `client`.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }

    /// The role called `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Role> {
        [Role::Server, Role::Client].into_iter().find(|role| role.name() == name)
    }
}
