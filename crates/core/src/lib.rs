//! herald-core: the herald protocol as pure, deterministic state machines.
//!
//! This crate holds everything herald decides, and nothing it does: no sockets, clocks, threads,
//! OS entropy or files. A driver (herald-sim's simulator, or herald-node's tokio actor) feeds a
//! [`Node`] inputs stamped with herald's own [`Instant`], drains its ordered [`Output`]s, and
//! wakes it at [`Node::poll_timeout`]. Randomness comes from a [`Rng`] seeded from a `u64`, so a
//! run replays exactly from its seed.
//!
//! Main types:
//! - [`NodeId`] and [`Keypair`]: Ed25519 identities, shown as 52-character base32.
//! - [`SignedRecord`]: the one signed envelope for every kind of replicated state.
//! - [`RecordSet`]: the store rules (newest version per slot wins; merge is a join).
//! - [`wire`]: frames and the [`Message`]s nodes exchange; [`wire::decode`] never panics.
//! - [`overlay`] (HyParView), [`broadcast`] (Plumtree), [`anti_entropy`] and [`membership`]
//!   (SWIM with Lifeguard): the protocol components, each a module folder holding its state
//!   machine, its messages and its config.
//! - [`Node`]: the sans-IO node (`handle`, `poll_output`, `poll_timeout`, and command methods
//!   such as [`Node::announce`] that answer directly) that wires them.
//! - [`grid_control`]: Tahoe's recommendations, reachability over them and grid-manager lists,
//!   as rules over the records every node holds.
//! - [`Role`]: server or client, read by every component.
//! - [`admission`]: membership certificate chains ([`CertChain`]), invitation codes
//!   ([`Invitation`]) and the pure join decision ([`admission::decide`]); [`Profile`] is how a
//!   node describes itself.
//!
//! Not here: transport, persistence (herald-store applies the [`PersistOp`]s), the simulator.

pub mod admission;
pub mod anti_entropy;
pub mod broadcast;
pub mod grid_control;
pub mod groups;
mod id;
mod liveness;
pub mod membership;
mod node;
pub mod overlay;
mod persist;
mod profile;
mod record;
mod record_set;
mod rng;
mod role;
pub mod routing;
mod stats;
mod time;
mod verify;
pub mod wire;

pub use admission::{
    AdmissionPolicy, AdmissionUse, Admitted, CertChain, CertError, Invitation, InvitationError,
    JoinAnswer, JoinRequest, MembershipCert, Refusal,
};
pub use anti_entropy::AntiEntropyConfig;
pub use broadcast::{BroadcastConfig, BroadcastMode};
pub use id::{Keypair, NODE_ID_SHORT_LEN, NODE_ID_TEXT_LEN, NodeId, NodeIdParseError};
pub use liveness::{LivenessClaim, MemberState};
pub use membership::MembershipConfig;
pub use node::{
    Announcement, CommandError, Config, Event, Input, Nearby, Node, Output, RecordsConfig,
};
pub use overlay::OverlayConfig;
pub use persist::{PersistOp, Snapshot};
pub use profile::{PROFILE_ADDRESSES_MAX, PROFILE_NAME_LEN_MAX, Profile};
pub use record::{
    Digest, KEY_LEN_MAX, PAYLOAD_LEN_MAX, Record, RecordError, RecordKind, SignedRecord, Version,
};
pub use record_set::{
    FINGERPRINT_BUCKETS, MergeOutcome, OriginSummary, RecordSet, SlotKey, bucket_of,
};
pub use rng::Rng;
pub use role::Role;
pub use routing::RoutingConfig;
pub use stats::{ByKind, KindCounts, Stats};
pub use time::Instant;
pub use verify::{DirectVerifier, Verifier};
pub use wire::{DecodeError, EncodeError, FRAME_SIZE_MAX, Message, MessageKind, PROTOCOL_VERSION};

/// Re-exported so drivers name the same signature type the records carry.
pub use ed25519_dalek::Signature;
