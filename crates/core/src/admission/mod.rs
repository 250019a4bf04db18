//! Admission: who may join a grid, and the proof that a node belongs to one.
//!
//! A grid is named by its root public key. Membership is proven by a [`CertChain`] of
//! [`MembershipCert`]s leading from a node up to that root ([`cert`]). A new node joins with an
//! [`Invitation`], a signed one-line code with a check character ([`invitation`], [`check`]),
//! which it presents in a [`JoinRequest`] to any server; the server's pure [`decide`] checks the
//! invitation, its inviter and how often it has been used, and issues the joiner a chain
//! ([`join`]). Uses are counted through [`crate::RecordKind::Admission`] records that servers
//! broadcast.
//!
//! Everything here is a pure function of its inputs: the current time comes in as
//! milliseconds since the Unix epoch, because certificates and invitations expire by the wall
//! clock shared across machines, not by a node's own monotonic [`crate::Instant`]. Invitation
//! secrets come in from the caller too; the core draws no randomness of its own here.
//!
//! Not here: the transport that proves a joiner's id, publishing records, revocation.

pub mod cert;
pub mod check;
pub mod invitation;
pub mod join;

pub use cert::{CHAIN_LEN_MAX, CertChain, CertError, MembershipCert};
pub use check::{check_character, has_valid_check};
pub use invitation::{
    INVITATION_CODE_LEN_MAX, INVITATION_CODE_PREFIX, INVITATION_SERVERS_MAX, Invitation,
    InvitationError,
};
pub use join::{
    AdmissionPolicy, AdmissionUse, Admitted, JOIN_MESSAGE_LEN_MAX, JOIN_NAME_LEN_MAX,
    JOIN_SERVERS_MAX, JOIN_VERSION, JoinAnswer, JoinDecodeError, JoinRequest, Refusal, decide,
    uses_of,
};

/// The proptest configuration of this module's tests: 256 cases, seeded from `HERALD_SEED` or
/// a freshly drawn seed, which is printed so a failure can be replayed.
#[cfg(test)]
pub(crate) fn test_config() -> proptest::test_runner::Config {
    use std::hash::{BuildHasher, Hasher};

    let seed = match std::env::var("HERALD_SEED") {
        Ok(text) => text.parse().expect("HERALD_SEED must be a u64"),
        // RandomState is seeded by the OS: a way to draw a seed without reading a clock.
        Err(_) => std::collections::hash_map::RandomState::new().build_hasher().finish(),
    };
    // Captured by the test harness and shown only when the test fails.
    eprintln!("seed {seed}; re-run with: HERALD_SEED={seed} cargo test -p herald-core admission");
    proptest::test_runner::Config {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
