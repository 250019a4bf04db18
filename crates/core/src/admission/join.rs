//! The admission exchange: a joiner presents an invitation to a server, and the server decides.
//!
//! The joiner sends a [`JoinRequest`] (the invitation and a petname) to any server the code
//! lists; the transport has already proven the joiner's node id. The server runs [`decide`], a
//! pure function of its policy, its record set and the request, and answers with a
//! [`JoinAnswer`]: a certificate chain and contacts, or a [`Refusal`] that says why in one
//! sentence. On a first admission the server publishes the returned [`AdmissionUse`] as a
//! [`RecordKind::Admission`] record, which is how every server counts the invitation's uses.
//!
//! The count is only as fresh as the records a server holds. Two servers that admit different
//! nodes with the same code before either's admission record reaches the other both see a free
//! use, so an invitation can be used up to `uses` plus (servers admitting at that moment − 1)
//! times. Admission records travel by broadcast and arrive within about a second, so the window
//! is that small; closing it would take a consensus round per join, which a gossip grid lacks.
//! A joiner who retries after a lost answer is admitted again without using a second use.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::cert::{CertChain, CertError};
use super::invitation::{Invitation, InvitationError};
use crate::id::{Keypair, NodeId};
use crate::profile::PROFILE_ADDRESSES_MAX;
use crate::record::{Record, RecordKind, Version, decode_payload, encode_payload};
use crate::record_set::{RecordSet, SlotKey};
use crate::role::Role;

/// The version byte that starts every join message.
pub const JOIN_VERSION: u8 = 1;
/// Largest join message read, in bytes.
pub const JOIN_MESSAGE_LEN_MAX: usize = 64 * 1024;
/// Longest petname a joiner may give, in bytes.
pub const JOIN_NAME_LEN_MAX: usize = 64;
/// Most servers an answer lists, each with at most [`PROFILE_ADDRESSES_MAX`] addresses; the
/// largest answer stays well under [`JOIN_MESSAGE_LEN_MAX`].
pub const JOIN_SERVERS_MAX: usize = 64;

/// What a joiner sends the server it contacts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The invitation, as read from the code.
    pub invitation: Invitation,
    /// The joiner's petname, at most [`JOIN_NAME_LEN_MAX`] bytes.
    pub name: String,
}

/// The server's answer to a [`JoinRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinAnswer {
    /// The joiner is a member now.
    Admitted {
        /// The joiner's certificate chain, for this grid.
        chain: CertChain,
        /// The joiner's address as the server saw it, so it learns how it is reached.
        observed_addr: SocketAddr,
        /// Servers to connect to, with their addresses; at most [`JOIN_SERVERS_MAX`].
        servers: Vec<(NodeId, Vec<SocketAddr>)>,
    },
    /// The joiner was not admitted.
    Refused(Refusal),
}

/// Why a server did not admit a joiner. Sent to the joiner, who shows it to its user; the
/// variants are part of the wire format, so new ones are added at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The invitation names another grid than the server's.
    WrongGrid {
        /// The server's grid.
        ours: NodeId,
        /// The invitation's grid.
        theirs: NodeId,
    },
    /// The invitation's signature does not verify.
    Tampered,
    /// The invitation has expired.
    Expired {
        /// How long ago, in whole seconds.
        seconds_ago: u64,
    },
    /// The server knows no valid membership certificate for the inviter.
    UnknownInviter,
    /// The inviter's certificate is not a server's.
    InviterNotServer,
    /// As many distinct nodes as the invitation allows have joined with it.
    Spent {
        /// The uses the invitation allowed.
        uses: u32,
    },
    /// The node contacted cannot admit anyone: it holds no valid server certificate.
    NotAServer,
    /// The server's own chain is as long as a chain may be, so it cannot extend it.
    ChainTooLong,
    /// The request could not be read.
    Malformed,
    /// The server could not record the admission durably; another server may succeed.
    Unavailable,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::WrongGrid { ours, theirs } => write!(
                f,
                "this invitation is for grid {}, but the server contacted belongs to grid {}",
                theirs.short(),
                ours.short()
            ),
            Refusal::Tampered => {
                f.write_str("this invitation's signature does not verify: it was altered or forged")
            }
            Refusal::Expired { seconds_ago } => {
                write!(f, "this invitation expired {seconds_ago} seconds ago: ask for a new one")
            }
            Refusal::UnknownInviter => f.write_str(
                "the server contacted knows no valid membership certificate for the node that \
                 signed this invitation",
            ),
            Refusal::InviterNotServer => f.write_str(
                "this invitation was signed by a client, and only servers may invite new nodes",
            ),
            Refusal::Spent { uses } => {
                let noun = if *uses == 1 { "use" } else { "uses" };
                write!(f, "this invitation has been used up: it allowed {uses} {noun}")
            }
            Refusal::NotAServer => f.write_str(
                "the node contacted cannot admit new members: it holds no valid server \
                 certificate for this grid",
            ),
            Refusal::ChainTooLong => f.write_str(
                "the server contacted is too many steps from the grid root to admit new members: \
                 try another server",
            ),
            Refusal::Malformed => f.write_str(
                "the server could not read the join request: the two nodes may run different \
                 versions of herald",
            ),
            Refusal::Unavailable => f.write_str(
                "the server could not record the admission in its store; another server may",
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// Why bytes could not be read as a join message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinDecodeError {
    /// No bytes at all.
    #[error("the join message is empty")]
    Empty,
    /// More than [`JOIN_MESSAGE_LEN_MAX`] bytes.
    #[error("the join message has {0} bytes, more than the {JOIN_MESSAGE_LEN_MAX} allowed")]
    TooLarge(usize),
    /// Another version of the exchange.
    #[error("the join message has version {0}, this node speaks version {JOIN_VERSION}")]
    UnsupportedVersion(u8),
    /// Not a valid message, trailing bytes, or a value out of bounds.
    #[error("the join message is malformed")]
    Malformed,
}

fn encode_message<T: Serialize>(message: &T) -> Vec<u8> {
    postcard::to_extend(message, vec![JOIN_VERSION]).expect("encoding into a Vec cannot fail")
}

fn decode_message<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JoinDecodeError> {
    if bytes.len() > JOIN_MESSAGE_LEN_MAX {
        return Err(JoinDecodeError::TooLarge(bytes.len()));
    }
    let (&version, body) = bytes.split_first().ok_or(JoinDecodeError::Empty)?;
    if version != JOIN_VERSION {
        return Err(JoinDecodeError::UnsupportedVersion(version));
    }
    match postcard::take_from_bytes::<T>(body) {
        Ok((message, [])) => Ok(message),
        _ => Err(JoinDecodeError::Malformed),
    }
}

impl JoinRequest {
    /// The version byte, then the postcard encoding.
    pub fn encode(&self) -> Vec<u8> {
        encode_message(self)
    }

    /// Reads a request, checking its bounds but not the invitation's signature ([`decide`]
    /// does). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<JoinRequest, JoinDecodeError> {
        let request: JoinRequest = decode_message(bytes)?;
        if request.name.len() <= JOIN_NAME_LEN_MAX && request.invitation.is_within_bounds() {
            Ok(request)
        } else {
            Err(JoinDecodeError::Malformed)
        }
    }
}

impl JoinAnswer {
    /// The version byte, then the postcard encoding.
    pub fn encode(&self) -> Vec<u8> {
        encode_message(self)
    }

    /// Reads an answer, checking its bounds but not the chain's signatures. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<JoinAnswer, JoinDecodeError> {
        let answer: JoinAnswer = decode_message(bytes)?;
        if let JoinAnswer::Admitted { servers, .. } = &answer {
            let fits = servers.len() <= JOIN_SERVERS_MAX
                && servers.iter().all(|(_, addresses)| addresses.len() <= PROFILE_ADDRESSES_MAX);
            if !fits {
                return Err(JoinDecodeError::Malformed);
            }
        }
        Ok(answer)
    }
}

/// One use of an invitation: the payload of a [`RecordKind::Admission`] record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionUse {
    /// The invitation's [`Invitation::id`].
    pub invitation: [u8; 16],
    /// The node admitted.
    pub joiner: NodeId,
    /// The role it was admitted with.
    pub role: Role,
}

impl AdmissionUse {
    /// The record payload.
    pub fn encode(&self) -> Vec<u8> {
        encode_payload(self)
    }

    /// Reads a record payload; `None` unless it is exactly one use. Never panics.
    pub fn decode(bytes: &[u8]) -> Option<AdmissionUse> {
        decode_payload(bytes)
    }

    /// The record key: `{invitation id in hex}/{joiner}`.
    pub fn record_key(&self) -> String {
        format!("{}/{}", data_encoding::HEXLOWER.encode(&self.invitation), self.joiner)
    }

    /// The unsigned record by which `origin`, the admitting server, publishes this use.
    pub fn record(&self, origin: NodeId, version: Version, issued_at_ms: u64) -> Record {
        Record {
            origin,
            kind: RecordKind::Admission,
            key: self.record_key(),
            version,
            issued_at_ms,
            payload: self.encode(),
        }
    }
}

/// Everything a server decides an admission with.
#[derive(Clone, Copy, Debug)]
pub struct AdmissionPolicy<'a> {
    /// The server's grid.
    pub grid: NodeId,
    /// The server's key, which signs the joiner's certificate.
    pub me: &'a Keypair,
    /// The server's own certificate chain.
    pub my_chain: &'a CertChain,
    /// The records the server holds: inviters' certificates and admission records.
    pub records: &'a RecordSet,
    /// The current time, in milliseconds since the Unix epoch.
    pub now_unix_ms: u64,
    /// How long an issued certificate is valid; it never outlives the server's own chain.
    pub cert_validity_ms: u64,
}

/// A successful decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// The joiner's new certificate chain.
    pub chain: CertChain,
    /// The use to publish as an admission record; `None` when the joiner had already been
    /// admitted with this invitation and is only retrying.
    pub use_record: Option<AdmissionUse>,
}

/// The distinct nodes admitted with the invitation `invitation_id`, by admission records of
/// any origin. Reads every record, which is fine for something as rare as a join.
pub fn uses_of(records: &RecordSet, invitation_id: [u8; 16]) -> BTreeSet<NodeId> {
    let prefix = format!("{}/", data_encoding::HEXLOWER.encode(&invitation_id));
    records
        .iter()
        .filter(|held| held.record.kind == RecordKind::Admission)
        .filter(|held| held.record.key.starts_with(&prefix))
        .filter_map(|held| {
            let admission = AdmissionUse::decode(&held.record.payload)?;
            // The key must name what the payload says, so one record counts one joiner.
            (admission.invitation == invitation_id && held.record.key == admission.record_key())
                .then_some(admission.joiner)
        })
        .collect()
}

/// Checks that `inviter` may invite: the grid root, or a server whose chain the records hold.
fn check_inviter(policy: &AdmissionPolicy<'_>, inviter: NodeId) -> Result<(), Refusal> {
    if inviter == policy.grid {
        return Ok(());
    }
    let slot = SlotKey { origin: inviter, family: RecordKind::MembershipCert, key: String::new() };
    let held = policy.records.get(&slot).ok_or(Refusal::UnknownInviter)?;
    let chain = CertChain::decode(&held.record.payload).map_err(|_| Refusal::UnknownInviter)?;
    if chain.subject() != inviter || chain.verify(policy.grid, policy.now_unix_ms).is_err() {
        return Err(Refusal::UnknownInviter);
    }
    if chain.role() != Role::Server {
        return Err(Refusal::InviterNotServer);
    }
    Ok(())
}

/// Decides whether `joiner`, whose id the transport proved, is admitted with `request`. The
/// checks run in this order: grid, signature, expiry, inviter, uses, this server's own chain.
pub fn decide(
    policy: &AdmissionPolicy<'_>,
    joiner: NodeId,
    request: &JoinRequest,
) -> Result<Admitted, Refusal> {
    let invitation = &request.invitation;
    if invitation.grid != policy.grid {
        return Err(Refusal::WrongGrid { ours: policy.grid, theirs: invitation.grid });
    }
    invitation.verify().map_err(|error| match error {
        InvitationError::Tampered => Refusal::Tampered,
        _ => Refusal::Malformed,
    })?;
    if let Err(InvitationError::Expired { seconds_ago }) =
        invitation.check_expiry(policy.now_unix_ms)
    {
        return Err(Refusal::Expired { seconds_ago });
    }
    check_inviter(policy, invitation.inviter)?;

    let id = invitation.id();
    let admitted = uses_of(policy.records, id);
    let use_record = if admitted.contains(&joiner) {
        None
    } else if admitted.len() >= invitation.uses as usize {
        return Err(Refusal::Spent { uses: invitation.uses });
    } else {
        Some(AdmissionUse { invitation: id, joiner, role: invitation.role })
    };

    let mine = policy.my_chain;
    if mine.subject() != policy.me.id()
        || mine.role() != Role::Server
        || mine.verify(policy.grid, policy.now_unix_ms).is_err()
    {
        return Err(Refusal::NotAServer);
    }
    let expires_at_ms = policy.now_unix_ms.saturating_add(policy.cert_validity_ms);
    let chain = CertChain::issue(policy.me, mine, joiner, invitation.role, expires_at_ms).map_err(
        |error| match error {
            CertError::TooLong => Refusal::ChainTooLong,
            _ => Refusal::NotAServer,
        },
    )?;
    Ok(Admitted { chain, use_record })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::admission::invitation::test_invitation;

    /// The invitations of `test_invitation` expire an hour after this.
    const NOW: u64 = 1_700_000_000_000;
    const DAY: u64 = 24 * 3600 * 1000;

    fn key(n: u8) -> Keypair {
        Keypair::from_secret([n; 32])
    }

    /// A grid with root 1 and server 2, which admits; `records` holds what server 2 knows.
    struct Grid {
        root: Keypair,
        server: Keypair,
        server_chain: CertChain,
        records: RecordSet,
    }

    impl Grid {
        fn new() -> Grid {
            let root = key(1);
            let server = key(2);
            let server_chain =
                CertChain::issue_by_root(&root, server.id(), Role::Server, NOW + DAY);
            Grid { root, server, server_chain, records: RecordSet::new() }
        }

        fn policy(&self, now_unix_ms: u64) -> AdmissionPolicy<'_> {
            AdmissionPolicy {
                grid: self.root.id(),
                me: &self.server,
                my_chain: &self.server_chain,
                records: &self.records,
                now_unix_ms,
                cert_validity_ms: 7 * DAY,
            }
        }

        /// Publishes `keypair`'s chain, issued by the root with `role`, as its record.
        fn certify(&mut self, keypair: &Keypair, role: Role) {
            let chain = CertChain::issue_by_root(&self.root, keypair.id(), role, NOW + DAY);
            let record = chain.record(Version::new(0, 1), NOW).sign(keypair).unwrap();
            self.records.merge(Arc::new(record));
        }

        /// Decides for `joiner` and, as the node would, publishes the use as server 2's record.
        fn admit(&mut self, joiner: NodeId, invitation: &Invitation) -> Result<Admitted, Refusal> {
            let request = JoinRequest { invitation: invitation.clone(), name: "j".to_owned() };
            let admitted = decide(&self.policy(NOW), joiner, &request)?;
            if let Some(admission) = admitted.use_record {
                let record = admission.record(self.server.id(), Version::new(0, 1), NOW);
                self.records.merge(Arc::new(record.sign(&self.server).unwrap()));
            }
            Ok(admitted)
        }
    }

    fn request(invitation: Invitation) -> JoinRequest {
        JoinRequest { invitation, name: "laptop".to_owned() }
    }

    #[test]
    fn a_root_invitation_admits_the_joiner_with_a_chain_through_this_server() {
        let grid = Grid::new();
        let invitation = test_invitation(&grid.root, grid.root.id(), 1);
        let joiner = key(3).id();
        let admitted = decide(&grid.policy(NOW), joiner, &request(invitation.clone())).unwrap();
        assert_eq!(admitted.chain.verify(grid.root.id(), NOW), Ok(()));
        assert_eq!((admitted.chain.subject(), admitted.chain.role()), (joiner, Role::Client));
        assert_eq!(admitted.chain.certs().len(), 2);
        assert_eq!(admitted.chain.leaf().issuer, grid.server.id());
        // The certificate does not outlive the server's own.
        assert_eq!(admitted.chain.expires_at_ms(), NOW + DAY);
        let admission = admitted.use_record.unwrap();
        assert_eq!(
            admission,
            AdmissionUse { invitation: invitation.id(), joiner, role: Role::Client }
        );
        assert_eq!(admission.record_key(), format!("{}/{joiner}", invitation.id_hex()));
    }

    #[test]
    fn an_invitation_by_a_server_whose_certificate_is_known_admits() {
        let mut grid = Grid::new();
        let inviter = key(4);
        grid.certify(&inviter, Role::Server);
        let invitation = test_invitation(&inviter, grid.root.id(), 1);
        assert!(decide(&grid.policy(NOW), key(3).id(), &request(invitation)).is_ok());
    }

    #[test]
    fn an_invitation_by_an_unknown_node_or_a_client_is_refused() {
        let mut grid = Grid::new();
        let stranger = test_invitation(&key(4), grid.root.id(), 1);
        assert_eq!(
            decide(&grid.policy(NOW), key(3).id(), &request(stranger)),
            Err(Refusal::UnknownInviter)
        );
        let client = key(5);
        grid.certify(&client, Role::Client);
        let by_client = test_invitation(&client, grid.root.id(), 1);
        assert_eq!(
            decide(&grid.policy(NOW), key(3).id(), &request(by_client)),
            Err(Refusal::InviterNotServer)
        );
    }

    #[test]
    fn an_invitation_is_spent_after_its_uses_by_distinct_joiners() {
        let mut grid = Grid::new();
        let invitation = test_invitation(&grid.root, grid.root.id(), 2);
        grid.admit(key(10).id(), &invitation).unwrap();
        // A use recorded by another server counts as well.
        let other = key(6);
        let admission =
            AdmissionUse { invitation: invitation.id(), joiner: key(11).id(), role: Role::Client };
        let record = admission.record(other.id(), Version::new(0, 1), NOW).sign(&other).unwrap();
        grid.records.merge(Arc::new(record));
        assert_eq!(uses_of(&grid.records, invitation.id()).len(), 2);
        let refusal = grid.admit(key(12).id(), &invitation).unwrap_err();
        assert_eq!(refusal, Refusal::Spent { uses: 2 });
        assert_eq!(refusal.to_string(), "this invitation has been used up: it allowed 2 uses");
        assert_eq!(
            Refusal::Spent { uses: 1 }.to_string(),
            "this invitation has been used up: it allowed 1 use"
        );
    }

    #[test]
    fn the_same_joiner_admitted_twice_uses_the_invitation_once() {
        let mut grid = Grid::new();
        let invitation = test_invitation(&grid.root, grid.root.id(), 1);
        let first = grid.admit(key(10).id(), &invitation).unwrap();
        assert!(first.use_record.is_some());
        let again = grid.admit(key(10).id(), &invitation).unwrap();
        assert_eq!(again.use_record, None);
        assert_eq!(again.chain.subject(), key(10).id());
        assert_eq!(uses_of(&grid.records, invitation.id()).len(), 1);
        assert_eq!(grid.admit(key(11).id(), &invitation), Err(Refusal::Spent { uses: 1 }));
    }

    #[test]
    fn an_invitation_for_another_grid_is_refused_naming_both() {
        let grid = Grid::new();
        let elsewhere = key(7);
        let invitation = test_invitation(&elsewhere, elsewhere.id(), 1);
        let refusal = decide(&grid.policy(NOW), key(3).id(), &request(invitation)).unwrap_err();
        assert_eq!(refusal, Refusal::WrongGrid { ours: grid.root.id(), theirs: elsewhere.id() });
        let text = refusal.to_string();
        assert!(text.contains(&elsewhere.id().short()) && text.contains(&grid.root.id().short()));
    }

    #[test]
    fn an_expired_or_tampered_invitation_is_refused() {
        let grid = Grid::new();
        let invitation = test_invitation(&grid.root, grid.root.id(), 1);
        let later = NOW + 3_600_000 + 5_000;
        assert_eq!(
            decide(&grid.policy(later), key(3).id(), &request(invitation.clone())),
            Err(Refusal::Expired { seconds_ago: 5 })
        );
        let mut tampered = invitation;
        tampered.role = Role::Server;
        assert_eq!(
            decide(&grid.policy(NOW), key(3).id(), &request(tampered)),
            Err(Refusal::Tampered)
        );
    }

    #[test]
    fn a_node_without_a_valid_server_chain_cannot_admit() {
        let mut grid = Grid::new();
        grid.server_chain =
            CertChain::issue_by_root(&grid.root, grid.server.id(), Role::Client, NOW + DAY);
        let invitation = test_invitation(&grid.root, grid.root.id(), 1);
        assert_eq!(
            decide(&grid.policy(NOW), key(3).id(), &request(invitation.clone())),
            Err(Refusal::NotAServer)
        );
        grid.server_chain =
            CertChain::issue_by_root(&grid.root, grid.server.id(), Role::Server, NOW);
        assert_eq!(
            decide(&grid.policy(NOW), key(3).id(), &request(invitation)),
            Err(Refusal::NotAServer)
        );
    }

    #[test]
    fn join_messages_round_trip_and_start_with_the_version() {
        let grid = Grid::new();
        let join = request(test_invitation(&grid.root, grid.root.id(), 1));
        let bytes = join.encode();
        assert_eq!(bytes[0], JOIN_VERSION);
        assert_eq!(JoinRequest::decode(&bytes), Ok(join.clone()));

        let admitted = decide(&grid.policy(NOW), key(3).id(), &join).unwrap();
        let answers = [
            JoinAnswer::Admitted {
                chain: admitted.chain,
                observed_addr: "198.51.100.9:40000".parse().unwrap(),
                servers: vec![(grid.server.id(), vec!["192.0.2.2:7420".parse().unwrap()])],
            },
            JoinAnswer::Refused(Refusal::Spent { uses: 3 }),
            JoinAnswer::Refused(Refusal::WrongGrid { ours: key(1).id(), theirs: key(2).id() }),
        ];
        for answer in answers {
            assert_eq!(JoinAnswer::decode(&answer.encode()), Ok(answer));
        }
    }

    #[test]
    fn join_messages_out_of_bounds_or_from_another_version_are_refused() {
        let grid = Grid::new();
        let mut join = request(test_invitation(&grid.root, grid.root.id(), 1));
        let mut bytes = join.encode();
        bytes[0] = 2;
        assert_eq!(JoinRequest::decode(&bytes), Err(JoinDecodeError::UnsupportedVersion(2)));
        assert_eq!(JoinRequest::decode(&[]), Err(JoinDecodeError::Empty));
        let huge = vec![JOIN_VERSION; JOIN_MESSAGE_LEN_MAX + 1];
        assert_eq!(JoinAnswer::decode(&huge), Err(JoinDecodeError::TooLarge(huge.len())));
        join.name = "n".repeat(JOIN_NAME_LEN_MAX + 1);
        assert_eq!(JoinRequest::decode(&join.encode()), Err(JoinDecodeError::Malformed));
        let mut trailing = JoinAnswer::Refused(Refusal::Tampered).encode();
        trailing.push(0);
        assert_eq!(JoinAnswer::decode(&trailing), Err(JoinDecodeError::Malformed));
    }

    proptest! {
        #![proptest_config(crate::admission::test_config())]

        #[test]
        fn decoding_arbitrary_join_bytes_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..700),
        ) {
            let mut bytes = vec![JOIN_VERSION];
            bytes.extend_from_slice(&body);
            let _ = JoinRequest::decode(&bytes);
            let _ = JoinAnswer::decode(&bytes);
            let _ = JoinAnswer::decode(&body);
            let _ = AdmissionUse::decode(&body);
        }
    }
}
