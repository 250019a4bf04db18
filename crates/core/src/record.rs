//! The signed record envelope that carries every piece of replicated state in herald.
//!
//! One envelope serves every kind: announcements and their tombstones, link-state
//! advertisements, estimates, membership certificates, revocations, manager lists, group
//! messages, liveness claims, node profiles and admission records. A record is named by its
//! slot, (origin, family, key), and ordered inside the slot by its [`Version`], (epoch, seq).
//! The origin signs the record with a tag that names its kind over the record's canonical
//! postcard encoding, so a signature made for one kind can never be replayed as another.

use std::fmt;

use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::id::{Keypair, NodeId};

/// Longest record key, in bytes.
pub const KEY_LEN_MAX: usize = 256;
/// Largest record payload, in bytes.
pub const PAYLOAD_LEN_MAX: usize = 64 * 1024;

/// What a record is about. Its discriminant is part of the wire format: add kinds at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordKind {
    /// A service announcement: key is the service name, payload a JSON object.
    Announcement,
    /// The withdrawal of the announcement with the same key; empty payload.
    Tombstone,
    /// A link-state advertisement: the origin's adjacencies and their costs.
    LinkState,
    /// Round-trip-time and bandwidth estimates measured by the origin.
    Estimate,
    /// A membership certificate: node id, role and expiry, signed by its issuer.
    MembershipCert,
    /// The revocation of a membership certificate.
    Revocation,
    /// A grid manager's signed list of servers.
    ManagerList,
    /// One message flooded to a group: key is the group name.
    GroupMessage,
    /// A liveness claim (alive, suspect, dead, left) about the member named by the key.
    Liveness,
    /// A node's description of itself (name, role, addresses): key is empty, payload an encoded
    /// [`crate::Profile`].
    Profile,
    /// A server's note that it admitted a joiner with an invitation: key is
    /// `{invitation id in hex}/{joiner}`, payload an encoded [`crate::admission::AdmissionUse`].
    Admission,
    /// A floodd group's definition, as one member read it from its configuration: key is the
    /// group name, payload an encoded [`crate::groups::GroupSpec`].
    GroupDefinition,
    /// A group's topology as its master site computed it: key is the group name, payload an
    /// encoded [`crate::groups::TopologyDecree`].
    GroupTopology,
    /// A node's request to be a member of a group its definition does not list: key is the
    /// group name, payload empty (or `leave` once the node left the group). Granted when the
    /// group's access rule is `open`.
    GroupJoin,
}

impl RecordKind {
    /// Every kind, in wire order.
    pub const ALL: [RecordKind; 14] = [
        RecordKind::Announcement,
        RecordKind::Tombstone,
        RecordKind::LinkState,
        RecordKind::Estimate,
        RecordKind::MembershipCert,
        RecordKind::Revocation,
        RecordKind::ManagerList,
        RecordKind::GroupMessage,
        RecordKind::Liveness,
        RecordKind::Profile,
        RecordKind::Admission,
        RecordKind::GroupDefinition,
        RecordKind::GroupTopology,
        RecordKind::GroupJoin,
    ];

    /// The domain-separation tag prefixed to the signed bytes of this kind.
    pub const fn domain_tag(self) -> &'static [u8] {
        match self {
            RecordKind::Announcement => b"herald/v1/record/announcement\0",
            RecordKind::Tombstone => b"herald/v1/record/tombstone\0",
            RecordKind::LinkState => b"herald/v1/record/link-state\0",
            RecordKind::Estimate => b"herald/v1/record/estimate\0",
            RecordKind::MembershipCert => b"herald/v1/record/membership-cert\0",
            RecordKind::Revocation => b"herald/v1/record/revocation\0",
            RecordKind::ManagerList => b"herald/v1/record/manager-list\0",
            RecordKind::GroupMessage => b"herald/v1/record/group-message\0",
            RecordKind::Liveness => b"herald/v1/record/liveness\0",
            RecordKind::Profile => b"herald/v1/record/profile\0",
            RecordKind::Admission => b"herald/v1/record/admission\0",
            RecordKind::GroupDefinition => b"herald/v1/record/group-definition\0",
            RecordKind::GroupTopology => b"herald/v1/record/group-topology\0",
            RecordKind::GroupJoin => b"herald/v1/record/group-join\0",
        }
    }

    /// The kind whose slot this kind occupies. A tombstone shares its announcement's slot, which
    /// is how a withdrawal replaces the record it withdraws.
    pub const fn family(self) -> RecordKind {
        match self {
            RecordKind::Tombstone => RecordKind::Announcement,
            other => other,
        }
    }

    /// Whether a record of this kind withdraws what its slot held.
    pub const fn is_tombstone(self) -> bool {
        matches!(self, RecordKind::Tombstone)
    }

    /// A short lowercase name for logs and counters.
    pub const fn name(self) -> &'static str {
        match self {
            RecordKind::Announcement => "announcement",
            RecordKind::Tombstone => "tombstone",
            RecordKind::LinkState => "link-state",
            RecordKind::Estimate => "estimate",
            RecordKind::MembershipCert => "membership-cert",
            RecordKind::Revocation => "revocation",
            RecordKind::ManagerList => "manager-list",
            RecordKind::GroupMessage => "group-message",
            RecordKind::Liveness => "liveness",
            RecordKind::Profile => "profile",
            RecordKind::Admission => "admission",
            RecordKind::GroupDefinition => "group-definition",
            RecordKind::GroupTopology => "group-topology",
            RecordKind::GroupJoin => "group-join",
        }
    }

    /// Whether records of this kind are kept after their origin departed and its other records
    /// expired. A membership certificate still vouches for the nodes its holder invited, a
    /// revocation must keep a revoked node out, and admission records count an invitation's
    /// uses, whether or not the node that made them is still around.
    pub const fn outlives_origin(self) -> bool {
        matches!(self, RecordKind::MembershipCert | RecordKind::Revocation | RecordKind::Admission)
    }
}

/// A record's freshness: compared by epoch first, then by sequence number.
///
/// The epoch changes when an origin restarts without its stored sequence numbers, so a restarted
/// node's records win even though their `seq` starts low again. (Receptor's merged route code
/// compared the two with OR; see the regression test in `record_set`.)
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Version {
    /// Incarnation of the origin's sequence space.
    pub epoch: u64,
    /// Sequence number inside the epoch.
    pub seq: u64,
}

impl Version {
    /// The version (epoch, seq).
    pub const fn new(epoch: u64, seq: u64) -> Version {
        Version { epoch, seq }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.epoch, self.seq)
    }
}

/// The signed content of a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The node that made and signed the record.
    pub origin: NodeId,
    /// What the record is about.
    pub kind: RecordKind,
    /// Which record of that kind: a service name, a group name, or empty.
    pub key: String,
    /// Freshness inside the slot.
    pub version: Version,
    /// When the origin issued it, in milliseconds since the Unix epoch by the origin's clock.
    /// Informational: ordering uses `version`, never this.
    pub issued_at_ms: u64,
    /// Kind-specific bytes.
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
}

/// Why a record was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The signature does not match the origin and content.
    #[error("the signature does not match the record's origin and content")]
    BadSignature,
    /// The key is longer than [`KEY_LEN_MAX`].
    #[error("the record key has {0} bytes, more than the {KEY_LEN_MAX} allowed")]
    KeyTooLong(usize),
    /// The payload is larger than [`PAYLOAD_LEN_MAX`].
    #[error("the record payload has {0} bytes, more than the {PAYLOAD_LEN_MAX} allowed")]
    PayloadTooLarge(usize),
    /// A tombstone carries a payload.
    #[error("a tombstone must have an empty payload")]
    TombstoneWithPayload,
}

impl Record {
    /// Checks the bounds every record must keep, signed or not.
    pub fn check_bounds(&self) -> Result<(), RecordError> {
        if self.key.len() > KEY_LEN_MAX {
            return Err(RecordError::KeyTooLong(self.key.len()));
        }
        if self.payload.len() > PAYLOAD_LEN_MAX {
            return Err(RecordError::PayloadTooLarge(self.payload.len()));
        }
        if self.kind.is_tombstone() && !self.payload.is_empty() {
            return Err(RecordError::TombstoneWithPayload);
        }
        Ok(())
    }

    /// The exact bytes that are signed: the kind's domain tag, then the canonical encoding.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let bytes = self.kind.domain_tag().to_vec();
        // Postcard has one encoding per value, so this is canonical.
        postcard::to_extend(self, bytes).expect("encoding into a Vec cannot fail")
    }

    /// Signs the record with `keypair`, which must be the origin's.
    pub fn sign(self, keypair: &Keypair) -> Result<SignedRecord, RecordError> {
        debug_assert_eq!(self.origin, keypair.id(), "a record is signed by its origin");
        self.check_bounds()?;
        let signature = keypair.sign(&self.signing_bytes());
        Ok(SignedRecord { record: self, signature, digest: DigestCell::default() })
    }
}

/// A record with its origin's signature.
///
/// Its digest is computed once, on first use, and kept: a relayed record is named by its digest
/// in the broadcast's duplicate check, in the store's fingerprints and in IHAVE announcements.
/// The fields stay public for reading; a record is never changed once made (a changed copy is a
/// clone, and a clone computes its own digest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRecord {
    /// The signed content.
    pub record: Record,
    /// Ed25519 signature by `record.origin` over [`Record::signing_bytes`].
    pub signature: Signature,
    /// The digest, once computed; not part of the encoding.
    #[serde(skip)]
    digest: DigestCell,
}

/// A lazily computed digest that every comparison ignores and no clone copies.
#[derive(Default)]
struct DigestCell(std::sync::OnceLock<Digest>);

impl Clone for DigestCell {
    fn clone(&self) -> DigestCell {
        DigestCell::default()
    }
}

impl PartialEq for DigestCell {
    fn eq(&self, _other: &DigestCell) -> bool {
        true
    }
}

impl Eq for DigestCell {}

impl fmt::Debug for DigestCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("..")
    }
}

/// A record payload's bytes: the postcard encoding of `value`. Every payload type the core
/// reads (profiles, liveness claims, admissions, advertisements) is encoded this way.
pub(crate) fn encode_payload<T: serde::Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("encoding into a Vec cannot fail")
}

/// Reads a record payload of type `T`: `None` unless it is exactly one `T` with nothing after
/// it. Never panics; the payload came from the network.
pub(crate) fn decode_payload<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Some(value),
        _ => None,
    }
}

/// A 32-byte content digest that names a signed record: its message id.
pub type Digest = [u8; 32];

impl SignedRecord {
    /// An upper bound on the record's encoded size, used to pack records into frames.
    pub fn encoded_len_max(&self) -> usize {
        // Fixed fields: origin 32, kind 1, version 2x10, issue time 10, signature 64, and three
        // length prefixes of at most 5 bytes each.
        const FIXED_FIELDS_MAX: usize = 32 + 1 + 20 + 10 + 64 + 15;
        FIXED_FIELDS_MAX + self.record.key.len() + self.record.payload.len()
    }

    /// The record's encoded size, exactly: what it adds to a frame that carries it.
    pub fn encoded_len(&self) -> usize {
        postcard::experimental::serialized_size(self).unwrap_or_else(|_| self.encoded_len_max())
    }

    /// Checks the bounds and the signature.
    pub fn verify(&self) -> Result<(), RecordError> {
        self.record.check_bounds()?;
        if self.record.origin.verify(&self.record.signing_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(RecordError::BadSignature)
        }
    }

    /// Checks the bounds and the signature against the origin's already decompressed key, which
    /// must be the key of `record.origin`.
    pub fn verify_with(&self, key: &ed25519_dalek::VerifyingKey) -> Result<(), RecordError> {
        debug_assert_eq!(key.as_bytes(), self.record.origin.as_bytes());
        self.record.check_bounds()?;
        use ed25519_dalek::Verifier as _;
        key.verify(&self.record.signing_bytes(), &self.signature)
            .map_err(|_| RecordError::BadSignature)
    }

    /// The record's content digest, over the signed bytes and the signature. Two records with
    /// the same digest are the same record; it serves as the broadcast message id.
    pub fn digest(&self) -> Digest {
        *self.digest.0.get_or_init(|| {
            let mut hasher = blake3::Hasher::new();
            hasher.update(&self.record.signing_bytes());
            hasher.update(&self.signature.to_bytes());
            *hasher.finalize().as_bytes()
        })
    }
}

#[cfg(test)]
pub(crate) use tests::announcement as test_announcement;

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn announcement(keypair: &Keypair, key: &str, version: Version) -> SignedRecord {
        Record {
            origin: keypair.id(),
            kind: RecordKind::Announcement,
            key: key.to_owned(),
            version,
            issued_at_ms: 1_700_000_000_000,
            payload: br#"{"furl":"pb://example"}"#.to_vec(),
        }
        .sign(keypair)
        .unwrap()
    }

    #[test]
    fn signed_record_verifies() {
        let keypair = Keypair::from_secret([3; 32]);
        assert_eq!(announcement(&keypair, "storage", Version::new(0, 1)).verify(), Ok(()));
    }

    #[test]
    fn flipped_bit_anywhere_in_the_encoded_record_is_rejected() {
        let keypair = Keypair::from_secret([4; 32]);
        let signed = announcement(&keypair, "storage", Version::new(2, 9));
        let bytes = postcard::to_allocvec(&signed).unwrap();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            // A flip either breaks the encoding or yields a record whose signature fails.
            if let Ok(decoded) = postcard::from_bytes::<SignedRecord>(&flipped) {
                assert!(decoded.verify().is_err(), "bit {bit} flipped and still verified");
            }
        }
    }

    #[test]
    fn a_signature_for_one_kind_does_not_verify_as_another() {
        let keypair = Keypair::from_secret([5; 32]);
        let mut signed = announcement(&keypair, "storage", Version::new(0, 1));
        signed.record.kind = RecordKind::GroupMessage;
        assert_eq!(signed.verify(), Err(RecordError::BadSignature));
    }

    #[test]
    fn oversized_records_cannot_be_signed() {
        let keypair = Keypair::from_secret([6; 32]);
        let record = Record {
            origin: keypair.id(),
            kind: RecordKind::Announcement,
            key: "k".repeat(KEY_LEN_MAX + 1),
            version: Version::default(),
            issued_at_ms: 0,
            payload: Vec::new(),
        };
        assert_eq!(record.sign(&keypair), Err(RecordError::KeyTooLong(KEY_LEN_MAX + 1)));
    }

    #[test]
    fn every_kind_has_its_own_domain_tag_and_name_and_new_kinds_come_last() {
        let tags: std::collections::BTreeSet<&[u8]> =
            RecordKind::ALL.iter().map(|kind| kind.domain_tag()).collect();
        let names: std::collections::BTreeSet<&str> =
            RecordKind::ALL.iter().map(|kind| kind.name()).collect();
        assert_eq!((tags.len(), names.len()), (RecordKind::ALL.len(), RecordKind::ALL.len()));
        // The discriminant is the wire encoding: the kinds added later keep their positions.
        assert_eq!(postcard::to_allocvec(&RecordKind::Liveness).unwrap(), [8]);
        assert_eq!(postcard::to_allocvec(&RecordKind::Profile).unwrap(), [9]);
        assert_eq!(postcard::to_allocvec(&RecordKind::Admission).unwrap(), [10]);
    }

    #[test]
    fn versions_compare_epoch_before_seq() {
        assert!(Version::new(2, 0) > Version::new(1, 999));
        assert!(Version::new(1, 5) > Version::new(1, 4));
    }
}
