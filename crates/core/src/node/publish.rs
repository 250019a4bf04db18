//! The local commands, and how this node signs and versions its own records.
//!
//! Each command answers at once with the version of the record it made, or why it was refused.
//! The record's persist operations and transmits are queued by then, in that order; the driver
//! makes the persists durable before it reports the answer to whoever asked.

use std::sync::Arc;

use crate::admission::{AdmissionUse, CertChain};
use crate::anti_entropy::AntiEntropyMessage;
use crate::id::NodeId;
use crate::liveness::{LivenessClaim, MemberState};
use crate::membership::Membership;
use crate::persist::PersistOp;
use crate::profile::Profile;
use crate::record::{KEY_LEN_MAX, PAYLOAD_LEN_MAX, Record, RecordKind, SignedRecord, Version};
use crate::record_set::SlotKey;
use crate::time::Instant;
use crate::wire::Message;

use super::{Announcement, Arrival, CommandError, Node, Output};

impl Node {
    /// Joins the grid through the first reachable of `contacts`, in order of preference; the
    /// others are kept as spares.
    pub fn join(&mut self, now: Instant, contacts: &[NodeId]) {
        let mut out = Vec::new();
        if let Some((first, spares)) = contacts.split_first() {
            self.overlay.learn(spares.iter().copied(), &mut self.rng);
            self.overlay.join(*first, &mut self.rng, &mut out);
        }
        self.apply_overlay(now, out);
    }

    /// Publishes or replaces this node's announcement of a service.
    pub fn announce(
        &mut self,
        now: Instant,
        announcement: Announcement,
    ) -> Result<Version, CommandError> {
        self.refused_unless(check_service(&announcement.service, &announcement.payload))?;
        self.check_grid_control(&announcement)?;
        let Announcement { service, payload, issued_at_ms, seq } = announcement;
        let current = self.records.version_of(self.id(), RecordKind::Announcement, &service);
        let version = self.refused_unless(self.next_version(current, seq))?;
        self.publish(now, RecordKind::Announcement, service, payload, issued_at_ms, version);
        Ok(version)
    }

    /// Withdraws this node's announcement of `service` with a tombstone.
    pub fn withdraw(
        &mut self,
        now: Instant,
        service: &str,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        self.refused_unless(check_service(service, &[]))?;
        let version = self.next_unrequested_version();
        self.publish(now, RecordKind::Tombstone, service.into(), Vec::new(), issued_at_ms, version);
        Ok(version)
    }

    /// Publishes this node's profile (name, role, addresses), unless it holds the same one.
    pub fn publish_profile(
        &mut self,
        now: Instant,
        profile: &Profile,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        self.publish_own(now, RecordKind::Profile, String::new(), profile.encode(), issued_at_ms)
    }

    /// Publishes this node's membership certificate chain, unless it holds the same one.
    pub fn publish_membership_cert(
        &mut self,
        now: Instant,
        chain: &CertChain,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        let payload = chain.encode();
        self.publish_own(now, RecordKind::MembershipCert, String::new(), payload, issued_at_ms)
    }

    /// Publishes the note that this server spent a use of an invitation on a joiner, so that
    /// every server counts it.
    pub fn publish_admission(
        &mut self,
        now: Instant,
        spent: &AdmissionUse,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        let key = spent.record_key();
        self.publish_own(now, RecordKind::Admission, key, spent.encode(), issued_at_ms)
    }

    /// Announces departure, signed at `issued_at_ms`; the node stops probing and answering
    /// probes. The departure is this node's last word: it will not be there to answer a graft,
    /// so it is pushed whole to every neighbour, not announced by IHAVE to the lazy ones.
    pub fn leave(&mut self, now: Instant, issued_at_ms: u64) {
        if let Some(claim) = self.membership.as_mut().map(Membership::leave) {
            let record = self.publish_claim(now, claim, issued_at_ms);
            let mut out = Vec::new();
            self.broadcast.push_to_lazy(&record, &mut out);
            self.apply_broadcast(out);
        }
    }

    /// Publishes one of this node's descriptive records (one per slot). Publishing the exact
    /// payload the slot already holds changes nothing and answers with the held version.
    pub(super) fn publish_own(
        &mut self,
        now: Instant,
        kind: RecordKind,
        key: String,
        payload: Vec<u8>,
        issued_at_ms: u64,
    ) -> Result<Version, CommandError> {
        let slot = SlotKey { origin: self.id(), family: kind, key };
        if let Some(held) = self.records.get(&slot).filter(|held| held.record.payload == payload) {
            return Ok(held.record.version);
        }
        // Profile and certificate records have an empty key, which a service name may not.
        if slot.key.len() > KEY_LEN_MAX {
            return self.refused_unless(Err(CommandError::BadServiceName));
        }
        if payload.len() > PAYLOAD_LEN_MAX {
            return self.refused_unless(Err(CommandError::PayloadTooLarge(payload.len())));
        }
        let version = self.next_unrequested_version();
        self.publish(now, kind, slot.key, payload, issued_at_ms, version);
        Ok(version)
    }

    /// Publishes one of this node's descriptive records again under a new version, even if the
    /// slot holds the same payload, so that it spreads afresh (a repeated join request). The
    /// caller keeps the key and payload within bounds.
    pub(super) fn republish_own(
        &mut self,
        now: Instant,
        kind: RecordKind,
        key: String,
        payload: Vec<u8>,
    ) {
        let version = self.next_unrequested_version();
        self.publish(now, kind, key, payload, 0, version);
    }

    /// Counts a refusal on its way back to the caller.
    pub(super) fn refused_unless<T>(
        &mut self,
        result: Result<T, CommandError>,
    ) -> Result<T, CommandError> {
        if result.is_err() {
            self.stats.commands_refused += 1;
        }
        result
    }

    /// Signs, persists, stores and spreads a record of this node's own.
    fn publish(
        &mut self,
        now: Instant,
        kind: RecordKind,
        key: String,
        payload: Vec<u8>,
        issued_at_ms: u64,
        version: Version,
    ) -> Arc<SignedRecord> {
        let record = Record { origin: self.id(), kind, key, version, issued_at_ms, payload };
        let record = Arc::new(
            record.sign(&self.keypair).expect("keys and payloads are checked before signing"),
        );
        self.issued_high = Some(self.issued_high.map_or(version, |high| high.max(version)));
        self.outputs.push_back(Output::Persist(PersistOp::SetIssuedHigh(version)));
        if self.store(now, record.clone(), None, 0) {
            self.spread(now, record.clone(), None, Arrival::Tree { hops: 0 });
        }
        record
    }

    /// Publishes a liveness claim of this node's membership component. The core has no wall
    /// clock: claims membership makes on its own are signed with issue time 0; a departure
    /// carries the driver's time.
    pub(super) fn publish_claim(
        &mut self,
        now: Instant,
        claim: LivenessClaim,
        issued_at_ms: u64,
    ) -> Arc<SignedRecord> {
        let version = self.next_unrequested_version();
        let key = claim.subject.to_string();
        let record =
            self.publish(now, RecordKind::Liveness, key, claim.encode(), issued_at_ms, version);
        // The suspect hears of it straight away, not only when the broadcast reaches it, so it
        // can refute before the suspicion times out (SWIM sends it on the probe path too).
        if claim.state == MemberState::Suspect {
            let message =
                AntiEntropyMessage::Records { records: vec![record.clone()], more: false };
            self.send(claim.subject, &Message::AntiEntropy(message));
        }
        record
    }

    /// The next version in this node's sequence space.
    fn next_unrequested_version(&self) -> Version {
        let epoch =
            self.issued_high.map_or(self.config.epoch, |high| high.epoch.max(self.config.epoch));
        match self.issued_high {
            // A sequence number given as 2^64 - 1 leaves no room in the epoch: the next one
            // starts the epoch after, which is newer still.
            Some(high) if high.epoch == epoch && high.seq == u64::MAX => {
                Version::new(epoch.saturating_add(1), 1)
            }
            Some(high) if high.epoch == epoch => Version::new(epoch, high.seq + 1),
            _ => Version::new(epoch, 1),
        }
    }

    /// The version of the next record in a slot that holds `current`: the next in this node's
    /// sequence space, or the sequence number the caller insists on. That one must exceed the
    /// slot's sequence number, the one `herald services` shows; it is then newer whatever the
    /// epochs, because this node's epoch never falls below that of a version it issued.
    fn next_version(
        &self,
        current: Option<Version>,
        requested: Option<u64>,
    ) -> Result<Version, CommandError> {
        let counted = self.next_unrequested_version();
        let Some(requested) = requested else {
            return Ok(counted);
        };
        match current {
            Some(current) if requested <= current.seq => {
                Err(CommandError::Stale { requested, current: current.seq })
            }
            _ => Ok(Version::new(
                current.map_or(counted.epoch, |c| c.epoch.max(counted.epoch)),
                requested,
            )),
        }
    }
}

/// A service name has 1 to [`KEY_LEN_MAX`] bytes and a payload at most [`PAYLOAD_LEN_MAX`].
fn check_service(service: &str, payload: &[u8]) -> Result<(), CommandError> {
    if service.is_empty() || service.len() > KEY_LEN_MAX {
        return Err(CommandError::BadServiceName);
    }
    if payload.len() > PAYLOAD_LEN_MAX {
        return Err(CommandError::PayloadTooLarge(payload.len()));
    }
    Ok(())
}
