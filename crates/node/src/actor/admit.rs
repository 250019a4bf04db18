//! The server side of admission: answering hellos and join requests, and making invitations.
//!
//! The decision itself is herald-core's (`admission::decide`); this module feeds it the node's
//! state and the wall clock, records a spent use durably before the answer leaves, and signs
//! invitation codes with the addresses of live servers.

use std::net::SocketAddr;
use std::time::Duration;

use herald_core::admission::{
    AdmissionPolicy, Invitation, JoinAnswer, JoinRequest, Refusal, decide,
};
use herald_core::{NodeId, Role};
use tracing::{info, warn};

use super::Actor;
use crate::api::model::{ApiError, InvitationRequest, InvitationView};
use crate::datadir::{os_random, unix_ms};
use crate::peer_requests::{self, PeerAnswer, PeerRequest};

/// How long a certificate issued at join lasts: one year (guess; renewal is not built yet).
pub const CERT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// At most this many server addresses go into an invitation (interface.md).
const INVITATION_SERVERS_MAX: usize = 16;
/// The default lifetime of an invitation: 24 hours (interface.md).
pub const INVITATION_EXPIRY_DEFAULT: Duration = Duration::from_secs(24 * 3600);

impl Actor {
    /// Answers one request frame from `from`, seen at `remote`.
    pub(crate) fn answer_request(
        &mut self,
        from: NodeId,
        remote: SocketAddr,
        admitted: bool,
        bytes: &[u8],
    ) -> Vec<u8> {
        let answer = match peer_requests::decode::<PeerRequest>(bytes) {
            Err(error) => PeerAnswer::Refused(error.to_string()),
            Ok(PeerRequest::Hello) => {
                if admitted || self.policy.open {
                    self.addresses.learn(from, remote);
                }
                PeerAnswer::Hello { observed: remote }
            }
            Ok(PeerRequest::Join(request)) => PeerAnswer::Join(self.admit(from, remote, &request)),
        };
        peer_requests::encode(&answer)
    }

    fn admit(&mut self, joiner: NodeId, remote: SocketAddr, request: &JoinRequest) -> JoinAnswer {
        let keypair = self.data.keypair().clone();
        let policy = AdmissionPolicy {
            grid: self.policy.grid,
            me: &keypair,
            my_chain: &self.chain,
            records: self.node.records(),
            now_unix_ms: unix_ms(),
            cert_validity_ms: CERT_VALIDITY.as_millis() as u64,
        };
        let admitted = match decide(&policy, joiner, request) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                info!(joiner = %joiner.short(), %remote, %refusal, "join refused");
                return JoinAnswer::Refused(refusal);
            }
        };
        if let Some(spent) = admitted.use_record {
            // The use must be durable (and on its way to the grid) before the joiner hears yes.
            match self.command(|node, now| node.publish_admission(now, &spent, unix_ms())) {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    warn!(%error, "could not record an invitation use");
                    return JoinAnswer::Refused(Refusal::Unavailable);
                }
                Err(error) => {
                    warn!(error = %format!("{error:#}"), "could not record an invitation use");
                    return JoinAnswer::Refused(Refusal::Unavailable);
                }
            }
        }
        info!(joiner = %joiner.short(), %remote, role = request.invitation.role.name(), "admitted");
        let servers = self
            .live_servers(INVITATION_SERVERS_MAX)
            .into_iter()
            .map(|contact| (contact.id, contact.addresses))
            .collect();
        JoinAnswer::Admitted { chain: admitted.chain, observed_addr: remote, servers }
    }

    /// `POST /v1/invitations`: signs an invitation code with this node's key.
    pub(crate) fn invite(
        &mut self,
        request: &InvitationRequest,
    ) -> Result<InvitationView, ApiError> {
        if self.profile.role != Role::Server {
            return Err(ApiError::Conflict(
                "only a server can invite; this node is a client".into(),
            ));
        }
        let role = match request.role.as_deref() {
            None => Role::Client,
            Some(name) => Role::from_name(name).ok_or_else(|| {
                ApiError::BadRequest(format!("role must be server or client, not {name:?}"))
            })?,
        };
        let uses = request.uses.unwrap_or(1);
        if uses == 0 {
            return Err(ApiError::BadRequest("uses must be at least 1".into()));
        }
        let expires_s = request.expires_s.unwrap_or(INVITATION_EXPIRY_DEFAULT.as_secs());
        let expires_at_ms = unix_ms().saturating_add(expires_s.saturating_mul(1000));
        let secret = os_random::<16>().map_err(|error| ApiError::NotReady(format!("{error:#}")))?;
        let servers: Vec<SocketAddr> = self
            .live_servers(INVITATION_SERVERS_MAX)
            .into_iter()
            .flat_map(|contact| contact.addresses.into_iter().take(1))
            .collect();
        if servers.is_empty() {
            return Err(ApiError::NotReady(
                "this node knows no server address to put in an invitation yet".into(),
            ));
        }
        let invitation = Invitation::sign(
            self.data.keypair(),
            self.policy.grid,
            role,
            uses,
            expires_at_ms,
            secret,
            servers,
        )
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
        Ok(InvitationView { code: invitation.to_code() })
    }
}
