//! Membership certificates: who belongs to a grid, in which role, until when, and who said so.
//!
//! A grid is named by its root public key. The root signs certificates for the first servers;
//! a server signs certificates for the nodes it admits, and hands them its own chain too. A
//! [`CertChain`] is that path read from the node up, `[leaf, its issuer's certificate, …, the
//! certificate the root signed]`, and anyone who knows the grid id can check it alone: every
//! link is signed by the subject of the next, every issuer is a server, the last issuer is the
//! root, and nothing in it has expired. Chains are at most [`CHAIN_LEN_MAX`] long, so checking
//! one costs a bounded number of signature verifications.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::id::{Keypair, NodeId};
use crate::record::{Record, RecordKind, Version};
use crate::role::Role;
use ed25519_dalek::Signature;

/// Most certificates in a chain: the root and up to seven servers above the leaf.
pub const CHAIN_LEN_MAX: usize = 8;
/// Largest encoded chain accepted. A certificate encodes to at most 171 bytes, so a full
/// chain fits with room to spare, and nothing larger is read.
const CHAIN_ENCODED_LEN_MAX: usize = 4096;
/// The domain-separation tag prefixed to a certificate's signed bytes.
const DOMAIN_TAG: &[u8] = b"herald/v1/membership-cert\0";

/// One signed statement: `subject` belongs to `grid` with `role` until `expires_at_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipCert {
    /// The grid, named by its root public key.
    pub grid: NodeId,
    /// The node the certificate is about.
    pub subject: NodeId,
    /// The subject's role.
    pub role: Role,
    /// When the certificate stops being valid, in milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
    /// The node that signed it: the grid root, or a server.
    pub issuer: NodeId,
    /// The issuer's Ed25519 signature over the domain tag and the other fields.
    pub signature: Signature,
}

impl MembershipCert {
    /// Signs a certificate with `issuer`'s key.
    pub fn sign(
        issuer: &Keypair,
        grid: NodeId,
        subject: NodeId,
        role: Role,
        expires_at_ms: u64,
    ) -> MembershipCert {
        let bytes = signing_bytes(grid, subject, role, expires_at_ms, issuer.id());
        let signature = issuer.sign(&bytes);
        MembershipCert { grid, subject, role, expires_at_ms, issuer: issuer.id(), signature }
    }

    /// Whether the signature is the issuer's over this certificate's content.
    pub fn has_valid_signature(&self) -> bool {
        let bytes =
            signing_bytes(self.grid, self.subject, self.role, self.expires_at_ms, self.issuer);
        self.issuer.verify(&bytes, &self.signature)
    }
}

/// The bytes a certificate's signature covers.
fn signing_bytes(
    grid: NodeId,
    subject: NodeId,
    role: Role,
    expires_at_ms: u64,
    issuer: NodeId,
) -> Vec<u8> {
    postcard::to_extend(&(grid, subject, role, expires_at_ms, issuer), DOMAIN_TAG.to_vec())
        .expect("encoding into a Vec cannot fail")
}

/// Why a certificate chain was refused or could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The chain holds no certificate.
    #[error("the certificate chain is empty")]
    Empty,
    /// The chain is longer than [`CHAIN_LEN_MAX`].
    #[error("the certificate chain is longer than the {CHAIN_LEN_MAX} certificates allowed")]
    TooLong,
    /// A certificate names another grid.
    #[error("the certificate is for grid {found}, not for grid {expected}")]
    WrongGrid {
        /// The grid the chain was checked against.
        expected: NodeId,
        /// The grid the certificate names.
        found: NodeId,
    },
    /// A signature does not match its issuer and content.
    #[error("a certificate's signature does not match its issuer and content")]
    BadSignature,
    /// The links do not lead from the subject up to the grid root.
    #[error(
        "the certificate chain is broken: each certificate must be signed by the subject of the \
         next, and the last by the grid root"
    )]
    BrokenChain,
    /// A certificate was signed by a node that is not a server.
    #[error("a certificate in the chain was signed by a node that is not a server")]
    IssuerNotServer,
    /// A certificate has expired.
    #[error("the membership certificate of {subject} has expired")]
    Expired {
        /// The subject of the expired certificate.
        subject: NodeId,
    },
    /// The signing key is not the subject of the chain it presents.
    #[error("the signing key is not the node the presented certificate chain belongs to")]
    NotIssuer,
    /// The bytes are not a certificate chain.
    #[error("the certificate chain could not be decoded")]
    Malformed,
}

/// A chain of membership certificates from a node up to its grid's root: never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertChain {
    /// `[leaf, its issuer's certificate, …, the certificate issued by the grid root]`.
    certs: Vec<MembershipCert>,
}

impl CertChain {
    /// A one-link chain: the grid root certifies `subject`. The grid is the root's id.
    pub fn issue_by_root(
        root: &Keypair,
        subject: NodeId,
        role: Role,
        expires_at_ms: u64,
    ) -> CertChain {
        let cert = MembershipCert::sign(root, root.id(), subject, role, expires_at_ms);
        CertChain { certs: vec![cert] }
    }

    /// A chain for `subject` signed by `issuer`, a server presenting its own `issuer_chain`.
    /// The new certificate expires no later than the issuer's chain does.
    pub fn issue(
        issuer: &Keypair,
        issuer_chain: &CertChain,
        subject: NodeId,
        role: Role,
        expires_at_ms: u64,
    ) -> Result<CertChain, CertError> {
        let issuer_leaf = issuer_chain.leaf();
        if issuer_leaf.subject != issuer.id() {
            return Err(CertError::NotIssuer);
        }
        if issuer_leaf.role != Role::Server {
            return Err(CertError::IssuerNotServer);
        }
        if issuer_chain.certs.len() >= CHAIN_LEN_MAX {
            return Err(CertError::TooLong);
        }
        let expires_at_ms = expires_at_ms.min(issuer_chain.expires_at_ms());
        let leaf = MembershipCert::sign(issuer, issuer_leaf.grid, subject, role, expires_at_ms);
        let mut certs = Vec::with_capacity(issuer_chain.certs.len() + 1);
        certs.push(leaf);
        certs.extend(issuer_chain.certs.iter().cloned());
        Ok(CertChain { certs })
    }

    /// Checks the whole chain for `grid` at `now_unix_ms`: bounded length, one grid, valid
    /// signatures, unbroken links up to the root, servers as issuers, nothing expired.
    pub fn verify(&self, grid: NodeId, now_unix_ms: u64) -> Result<(), CertError> {
        let Some(last) = self.certs.last() else { return Err(CertError::Empty) };
        if self.certs.len() > CHAIN_LEN_MAX {
            return Err(CertError::TooLong);
        }
        if let Some(cert) = self.certs.iter().find(|cert| cert.grid != grid) {
            return Err(CertError::WrongGrid { expected: grid, found: cert.grid });
        }
        let linked = self.certs.windows(2).all(|pair| pair[0].issuer == pair[1].subject);
        if !linked || last.issuer != grid {
            return Err(CertError::BrokenChain);
        }
        // Roles and expiry are read only from certificates whose signatures hold.
        if !self.certs.iter().all(MembershipCert::has_valid_signature) {
            return Err(CertError::BadSignature);
        }
        if self.certs[1..].iter().any(|cert| cert.role != Role::Server) {
            return Err(CertError::IssuerNotServer);
        }
        if let Some(cert) = self.certs.iter().find(|cert| cert.expires_at_ms <= now_unix_ms) {
            return Err(CertError::Expired { subject: cert.subject });
        }
        Ok(())
    }

    /// The certificate about the chain's node.
    pub fn leaf(&self) -> &MembershipCert {
        &self.certs[0]
    }

    /// The node the chain certifies.
    pub fn subject(&self) -> NodeId {
        self.leaf().subject
    }

    /// The certified node's role.
    pub fn role(&self) -> Role {
        self.leaf().role
    }

    /// The grid the leaf names.
    pub fn grid(&self) -> NodeId {
        self.leaf().grid
    }

    /// When the chain stops verifying: the earliest expiry in it.
    pub fn expires_at_ms(&self) -> u64 {
        self.certs.iter().map(|cert| cert.expires_at_ms).min().unwrap_or(0)
    }

    /// The certificates, leaf first.
    pub fn certs(&self) -> &[MembershipCert] {
        &self.certs
    }

    /// The postcard encoding: the payload of a [`RecordKind::MembershipCert`] record.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("encoding into a Vec cannot fail")
    }

    /// Reads an encoded chain, refusing an empty or over-long one and trailing bytes. Checks no
    /// signature: call [`CertChain::verify`]. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<CertChain, CertError> {
        if bytes.len() > CHAIN_ENCODED_LEN_MAX {
            return Err(CertError::TooLong);
        }
        let (certs, rest) = postcard::take_from_bytes::<Vec<MembershipCert>>(bytes)
            .map_err(|_| CertError::Malformed)?;
        if !rest.is_empty() {
            return Err(CertError::Malformed);
        }
        CertChain::try_from(certs)
    }

    /// The unsigned record by which the chain's subject publishes it, to be signed by the
    /// subject: kind [`RecordKind::MembershipCert`], empty key.
    pub fn record(&self, version: Version, issued_at_ms: u64) -> Record {
        Record {
            origin: self.subject(),
            kind: RecordKind::MembershipCert,
            key: String::new(),
            version,
            issued_at_ms,
            payload: self.encode(),
        }
    }
}

impl TryFrom<Vec<MembershipCert>> for CertChain {
    type Error = CertError;

    /// Keeps the invariant that a chain has one to [`CHAIN_LEN_MAX`] certificates.
    fn try_from(certs: Vec<MembershipCert>) -> Result<CertChain, CertError> {
        match certs.len() {
            0 => Err(CertError::Empty),
            len if len > CHAIN_LEN_MAX => Err(CertError::TooLong),
            _ => Ok(CertChain { certs }),
        }
    }
}

impl Serialize for CertChain {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.certs.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CertChain {
    /// Refuses an empty or over-long chain, so a decoded chain always has a leaf.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CertChain, D::Error> {
        let certs = Vec::<MembershipCert>::deserialize(deserializer)?;
        CertChain::try_from(certs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW: u64 = 1_700_000_000_000;
    const DAY: u64 = 24 * 3600 * 1000;

    fn key(n: u8) -> Keypair {
        Keypair::from_secret([n; 32])
    }

    /// Root 1 certifies server 2, which certifies node 3 with `role`.
    fn two_links(role: Role) -> CertChain {
        let server_chain = CertChain::issue_by_root(&key(1), key(2).id(), Role::Server, NOW + DAY);
        CertChain::issue(&key(2), &server_chain, key(3).id(), role, NOW + 2 * DAY).unwrap()
    }

    #[test]
    fn a_chain_issued_by_the_root_verifies() {
        let chain = CertChain::issue_by_root(&key(1), key(2).id(), Role::Client, NOW + DAY);
        assert_eq!(chain.verify(key(1).id(), NOW), Ok(()));
        assert_eq!(
            (chain.subject(), chain.role(), chain.grid()),
            (key(2).id(), Role::Client, key(1).id())
        );
        assert_eq!(chain.certs().len(), 1);
    }

    #[test]
    fn a_two_link_chain_issued_by_a_server_verifies_and_expires_with_its_issuer() {
        let chain = two_links(Role::Client);
        assert_eq!(chain.verify(key(1).id(), NOW), Ok(()));
        assert_eq!(chain.certs().len(), 2);
        assert_eq!(chain.subject(), key(3).id());
        assert_eq!(chain.leaf().issuer, key(2).id());
        assert_eq!(chain.leaf().expires_at_ms, NOW + DAY, "capped at the issuer's expiry");
    }

    #[test]
    fn a_client_cannot_issue_certificates() {
        let client_chain = CertChain::issue_by_root(&key(1), key(2).id(), Role::Client, NOW + DAY);
        let issued = CertChain::issue(&key(2), &client_chain, key(3).id(), Role::Client, NOW + DAY);
        assert_eq!(issued, Err(CertError::IssuerNotServer));
    }

    #[test]
    fn a_key_cannot_issue_with_someone_elses_chain() {
        let chain = CertChain::issue_by_root(&key(1), key(2).id(), Role::Server, NOW + DAY);
        let issued = CertChain::issue(&key(9), &chain, key(3).id(), Role::Client, NOW + DAY);
        assert_eq!(issued, Err(CertError::NotIssuer));
    }

    #[test]
    fn a_forged_client_issued_chain_is_refused() {
        // A client signs a leaf itself and presents its client chain above it.
        let client_chain = CertChain::issue_by_root(&key(1), key(2).id(), Role::Client, NOW + DAY);
        let leaf = MembershipCert::sign(&key(2), key(1).id(), key(3).id(), Role::Server, NOW + DAY);
        let forged = CertChain { certs: vec![leaf, client_chain.leaf().clone()] };
        assert_eq!(forged.verify(key(1).id(), NOW), Err(CertError::IssuerNotServer));
    }

    #[test]
    fn a_chain_for_another_grid_is_refused() {
        let chain = two_links(Role::Client);
        let other = key(7).id();
        assert_eq!(
            chain.verify(other, NOW),
            Err(CertError::WrongGrid { expected: other, found: key(1).id() })
        );
    }

    #[test]
    fn a_flipped_signature_byte_is_refused() {
        for link in 0..2 {
            let mut chain = two_links(Role::Client);
            let mut bytes = chain.certs[link].signature.to_bytes();
            bytes[17] ^= 0x01;
            chain.certs[link].signature = Signature::from_bytes(&bytes);
            assert_eq!(chain.verify(key(1).id(), NOW), Err(CertError::BadSignature), "{link}");
        }
    }

    #[test]
    fn a_changed_field_breaks_the_signature() {
        let mut chain = two_links(Role::Client);
        chain.certs[0].role = Role::Server;
        assert_eq!(chain.verify(key(1).id(), NOW), Err(CertError::BadSignature));
    }

    #[test]
    fn an_expired_chain_is_refused_from_its_expiry_on() {
        let chain = two_links(Role::Client);
        assert_eq!(chain.verify(key(1).id(), NOW + DAY - 1), Ok(()));
        assert_eq!(
            chain.verify(key(1).id(), NOW + DAY),
            Err(CertError::Expired { subject: key(3).id() })
        );
    }

    #[test]
    fn a_chain_that_does_not_end_at_the_root_is_refused() {
        let chain = CertChain::issue_by_root(&key(5), key(2).id(), Role::Server, NOW + DAY);
        let mut relabelled = chain.clone();
        relabelled.certs[0].grid = key(1).id();
        // The grid matches, but the last issuer is not the root.
        assert_eq!(relabelled.verify(key(1).id(), NOW), Err(CertError::BrokenChain));
    }

    #[test]
    fn an_over_long_chain_cannot_be_issued_and_does_not_verify() {
        let mut chain = CertChain::issue_by_root(&key(1), key(10).id(), Role::Server, NOW + DAY);
        for n in 11..10 + CHAIN_LEN_MAX as u8 {
            chain = CertChain::issue(&key(n - 1), &chain, key(n).id(), Role::Server, NOW + DAY)
                .unwrap();
        }
        assert_eq!(chain.certs().len(), CHAIN_LEN_MAX);
        assert_eq!(chain.verify(key(1).id(), NOW), Ok(()));
        let last = key(9 + CHAIN_LEN_MAX as u8);
        assert_eq!(
            CertChain::issue(&last, &chain, key(99).id(), Role::Client, NOW + DAY),
            Err(CertError::TooLong)
        );
        // Built by hand, a ninth link is refused by verify and by decode.
        let leaf = MembershipCert::sign(&last, key(1).id(), key(99).id(), Role::Client, NOW + DAY);
        let mut certs = vec![leaf];
        certs.extend(chain.certs().iter().cloned());
        let long = CertChain { certs: certs.clone() };
        assert_eq!(long.verify(key(1).id(), NOW), Err(CertError::TooLong));
        let bytes = postcard::to_allocvec(&certs).unwrap();
        assert_eq!(CertChain::decode(&bytes), Err(CertError::TooLong));
    }

    #[test]
    fn an_empty_chain_does_not_decode() {
        assert_eq!(CertChain::decode(&[0]), Err(CertError::Empty));
        assert_eq!(CertChain::decode(&[]), Err(CertError::Malformed));
    }

    #[test]
    fn a_chain_round_trips_and_trailing_bytes_are_refused() {
        let chain = two_links(Role::Server);
        let bytes = chain.encode();
        assert_eq!(CertChain::decode(&bytes), Ok(chain.clone()));
        let mut trailing = bytes;
        trailing.push(0);
        assert_eq!(CertChain::decode(&trailing), Err(CertError::Malformed));
        let record = chain.record(Version::new(0, 1), NOW).sign(&key(3)).unwrap();
        assert_eq!(record.verify(), Ok(()));
        assert_eq!(CertChain::decode(&record.record.payload), Ok(chain));
    }

    proptest! {
        #![proptest_config(crate::admission::test_config())]

        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            if let Ok(chain) = CertChain::decode(&bytes) {
                prop_assert!((1..=CHAIN_LEN_MAX).contains(&chain.certs().len()));
                let _ = chain.verify(chain.grid(), NOW);
            }
        }

        #[test]
        fn decoding_a_corrupted_chain_never_panics(
            index in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut bytes = two_links(Role::Client).encode();
            let at = index.index(bytes.len());
            bytes[at] = byte;
            if let Ok(chain) = CertChain::decode(&bytes) {
                let _ = chain.verify(key(1).id(), NOW);
            }
        }
    }
}
