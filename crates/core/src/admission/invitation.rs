//! Invitation codes: the one line a new node needs to join a grid.
//!
//! An [`Invitation`] names the grid, the role it grants, how many nodes may use it and until
//! when, a random secret, the inviter and up to [`INVITATION_SERVERS_MAX`] server addresses to
//! contact, all signed by the inviter. Its text form is `herald-`, the lowercase base32 of its
//! postcard encoding, and one check character ([`super::check`]) so that a mistyped code is
//! told apart from a forged one. The inviter's key travels in the code, so reading a code
//! checks its signature too; whether the inviter may invite is for the admitting server to
//! decide ([`super::decide`]).
//!
//! Records that count an invitation's uses name it by its [`Invitation::id`], a hash of the
//! signed invitation, never by its secret: the grid learns which invitation was used without
//! learning a code it could use.

use std::net::SocketAddr;

use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use super::check::{base32_lower, check_character, has_valid_check};
use crate::id::{Keypair, NodeId};
use crate::role::Role;

/// Most server addresses an invitation carries.
pub const INVITATION_SERVERS_MAX: usize = 16;
/// Longest invitation code read, in bytes; a code with 16 IPv6 addresses is under 800.
pub const INVITATION_CODE_LEN_MAX: usize = 4096;
/// What every invitation code starts with.
pub const INVITATION_CODE_PREFIX: &str = "herald-";
/// The domain-separation tag prefixed to an invitation's signed bytes.
const DOMAIN_TAG: &[u8] = b"herald/v1/invitation\0";

/// A signed invitation to join a grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The grid to join, named by its root public key.
    pub grid: NodeId,
    /// The role the joiner is admitted with.
    pub role: Role,
    /// How many distinct nodes may join with it; at least 1.
    pub uses: u32,
    /// When it stops being accepted, in milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
    /// Random bytes that make every invitation distinct.
    pub secret: [u8; 16],
    /// The node that signed it: the grid root or a server.
    pub inviter: NodeId,
    /// Servers to contact to join, at most [`INVITATION_SERVERS_MAX`].
    pub servers: Vec<SocketAddr>,
    /// The inviter's signature over every other field.
    pub signature: Signature,
}

/// Why an invitation could not be made or read. Each message is meant for the person who
/// pasted the code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    /// The text is not an invitation code at all.
    #[error(
        "this is not a herald invitation code: a code starts with `herald-` followed by letters \
         a-z and digits 2-7"
    )]
    NotACode,
    /// The check character does not match: a character was mistyped, swapped or cut off.
    #[error("the invitation code is damaged or mistyped: its check character does not match")]
    Damaged,
    /// The code is intact but does not hold a valid invitation.
    #[error("the invitation code is malformed: it may come from a different version of herald")]
    Malformed,
    /// The signature does not match the invitation's content and inviter.
    #[error("the invitation code has been tampered with: its signature does not match its content")]
    Tampered,
    /// The invitation is past its expiry.
    #[error("the invitation expired {seconds_ago} seconds ago: ask for a new one")]
    Expired {
        /// How long ago it expired, in whole seconds.
        seconds_ago: u64,
    },
    /// An invitation was asked for with more server addresses than fit.
    #[error("an invitation carries at most {INVITATION_SERVERS_MAX} server addresses, not {0}")]
    TooManyServers(usize),
    /// An invitation was asked for with zero uses.
    #[error("an invitation must allow at least one use")]
    NoUses,
}

impl Invitation {
    /// Signs a new invitation with `inviter`'s key.
    pub fn sign(
        inviter: &Keypair,
        grid: NodeId,
        role: Role,
        uses: u32,
        expires_at_ms: u64,
        secret: [u8; 16],
        servers: Vec<SocketAddr>,
    ) -> Result<Invitation, InvitationError> {
        if uses == 0 {
            return Err(InvitationError::NoUses);
        }
        if servers.len() > INVITATION_SERVERS_MAX {
            return Err(InvitationError::TooManyServers(servers.len()));
        }
        let mut invitation = Invitation {
            grid,
            role,
            uses,
            expires_at_ms,
            secret,
            inviter: inviter.id(),
            servers,
            signature: Signature::from_bytes(&[0; 64]),
        };
        invitation.signature = inviter.sign(&invitation.signing_bytes());
        Ok(invitation)
    }

    /// The bytes the signature covers: the tag, then every other field in order.
    fn signing_bytes(&self) -> Vec<u8> {
        let fields = (
            self.grid,
            self.role,
            self.uses,
            self.expires_at_ms,
            self.secret,
            self.inviter,
            &self.servers,
        );
        postcard::to_extend(&fields, DOMAIN_TAG.to_vec()).expect("encoding into a Vec cannot fail")
    }

    /// Whether the invitation allows a use and lists at most [`INVITATION_SERVERS_MAX`]
    /// servers.
    pub fn is_within_bounds(&self) -> bool {
        self.uses >= 1 && self.servers.len() <= INVITATION_SERVERS_MAX
    }

    /// Checks the bounds ([`InvitationError::Malformed`]) and the inviter's signature
    /// ([`InvitationError::Tampered`]).
    pub fn verify(&self) -> Result<(), InvitationError> {
        if !self.is_within_bounds() {
            return Err(InvitationError::Malformed);
        }
        if self.inviter.verify(&self.signing_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(InvitationError::Tampered)
        }
    }

    /// Whether the invitation is still accepted at `now_unix_ms`; it expires at its expiry.
    pub fn check_expiry(&self, now_unix_ms: u64) -> Result<(), InvitationError> {
        if self.expires_at_ms > now_unix_ms {
            Ok(())
        } else {
            Err(InvitationError::Expired { seconds_ago: (now_unix_ms - self.expires_at_ms) / 1000 })
        }
    }

    /// The name admission records use: the first 16 bytes of the BLAKE3 hash of the signed
    /// bytes and the signature. It reveals nothing of the secret.
    pub fn id(&self) -> [u8; 16] {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.signing_bytes());
        hasher.update(&self.signature.to_bytes());
        let mut id = [0; 16];
        id.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        id
    }

    /// [`Invitation::id`] as 32 lowercase hex digits.
    pub fn id_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.id())
    }

    /// The one-line text form: `herald-`, the base32 body, a check character.
    pub fn to_code(&self) -> String {
        let bytes = postcard::to_allocvec(self).expect("encoding into a Vec cannot fail");
        let body = base32_lower().encode(&bytes);
        let check = check_character(&body).expect("base32 output is in the check alphabet");
        format!("{INVITATION_CODE_PREFIX}{body}{check}")
    }

    /// Reads a code as [`Invitation::to_code`] writes it, surrounding whitespace allowed, and
    /// checks its signature. Never panics, and reads at most [`INVITATION_CODE_LEN_MAX`] bytes.
    pub fn from_code(code: &str) -> Result<Invitation, InvitationError> {
        let code = code.trim();
        let body_and_check =
            code.strip_prefix(INVITATION_CODE_PREFIX).ok_or(InvitationError::NotACode)?;
        if code.len() > INVITATION_CODE_LEN_MAX {
            return Err(InvitationError::Malformed);
        }
        if check_character(body_and_check).is_none() || body_and_check.is_empty() {
            return Err(InvitationError::NotACode);
        }
        if !has_valid_check(body_and_check) {
            return Err(InvitationError::Damaged);
        }
        // The check character is ASCII, so this slice is on a character boundary.
        let body = &body_and_check[..body_and_check.len() - 1];
        let bytes =
            base32_lower().decode(body.as_bytes()).map_err(|_| InvitationError::NotACode)?;
        let (invitation, rest) = postcard::take_from_bytes::<Invitation>(&bytes)
            .map_err(|_| InvitationError::Malformed)?;
        if !rest.is_empty() {
            return Err(InvitationError::Malformed);
        }
        invitation.verify()?;
        Ok(invitation)
    }
}

#[cfg(test)]
pub(crate) use tests::invitation as test_invitation;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn key(n: u8) -> Keypair {
        Keypair::from_secret([n; 32])
    }

    /// An invitation by `inviter` to grid `grid` with `uses` uses, valid for an hour after NOW.
    pub(crate) fn invitation(inviter: &Keypair, grid: NodeId, uses: u32) -> Invitation {
        let servers =
            vec!["192.0.2.7:7420".parse().unwrap(), "[2001:db8::7]:7420".parse().unwrap()];
        Invitation::sign(inviter, grid, Role::Client, uses, NOW + 3_600_000, [42; 16], servers)
            .unwrap()
    }

    #[test]
    fn a_code_round_trips() {
        let original = invitation(&key(1), key(1).id(), 3);
        let code = original.to_code();
        assert!(code.starts_with("herald-"));
        assert!(
            code.chars().all(|c| c == '-' || c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        );
        assert_eq!(Invitation::from_code(&code), Ok(original.clone()));
        assert_eq!(Invitation::from_code(&format!("  {code}\n")), Ok(original));
    }

    #[test]
    fn every_single_character_change_of_a_code_is_refused() {
        let code = invitation(&key(1), key(1).id(), 1).to_code();
        let replacements: Vec<char> =
            "abcdefghijklmnopqrstuvwxyz23456701890AZ-_.".chars().collect();
        let mut characters: Vec<char> = code.chars().collect();
        for position in 0..characters.len() {
            let original = characters[position];
            for &replacement in replacements.iter().filter(|&&c| c != original) {
                characters[position] = replacement;
                let changed: String = characters.iter().collect();
                let result = Invitation::from_code(&changed);
                assert!(
                    matches!(result, Err(InvitationError::Damaged | InvitationError::NotACode)),
                    "position {position}, {original} -> {replacement}: {result:?}"
                );
            }
            characters[position] = original;
        }
    }

    #[test]
    fn a_changed_field_or_another_signer_with_a_valid_check_is_tampered() {
        // `to_code` computes a fresh check character, as a careful forger would.
        let original = invitation(&key(1), key(1).id(), 1);
        let mut more_uses = original.clone();
        more_uses.uses = 1000;
        assert_eq!(Invitation::from_code(&more_uses.to_code()), Err(InvitationError::Tampered));

        let mut other_servers = original.clone();
        other_servers.servers = vec!["203.0.113.66:7420".parse().unwrap()];
        assert_eq!(Invitation::from_code(&other_servers.to_code()), Err(InvitationError::Tampered));

        // Someone else signs the same content, still naming the original inviter.
        let mut resigned = original.clone();
        resigned.signature = key(9).sign(&original.signing_bytes());
        assert_eq!(Invitation::from_code(&resigned.to_code()), Err(InvitationError::Tampered));
    }

    #[test]
    fn an_expired_invitation_says_how_long_ago() {
        let invitation = invitation(&key(1), key(1).id(), 1);
        assert_eq!(invitation.check_expiry(NOW), Ok(()));
        let error = invitation.check_expiry(NOW + 3_600_000 + 90_500).unwrap_err();
        assert_eq!(error, InvitationError::Expired { seconds_ago: 90 });
        assert_eq!(error.to_string(), "the invitation expired 90 seconds ago: ask for a new one");
        assert!(invitation.check_expiry(NOW + 3_600_000).is_err());
    }

    #[test]
    fn more_than_sixteen_servers_or_zero_uses_are_refused() {
        let servers = vec!["192.0.2.1:7420".parse().unwrap(); INVITATION_SERVERS_MAX + 1];
        let signed = Invitation::sign(&key(1), key(1).id(), Role::Server, 1, NOW, [0; 16], servers);
        assert_eq!(signed, Err(InvitationError::TooManyServers(17)));
        let signed = Invitation::sign(&key(1), key(1).id(), Role::Server, 0, NOW, [0; 16], vec![]);
        assert_eq!(signed, Err(InvitationError::NoUses));
    }

    #[test]
    fn an_intact_code_holding_too_many_servers_is_malformed() {
        let mut crowded = invitation(&key(1), key(1).id(), 1);
        crowded.servers = vec!["192.0.2.1:7420".parse().unwrap(); INVITATION_SERVERS_MAX + 1];
        crowded.signature = key(1).sign(&crowded.signing_bytes());
        assert_eq!(Invitation::from_code(&crowded.to_code()), Err(InvitationError::Malformed));
    }

    #[test]
    fn the_id_names_the_signed_invitation_and_not_its_secret() {
        let a = invitation(&key(1), key(1).id(), 1);
        let mut b = a.clone();
        b.secret = [43; 16];
        b.signature = key(1).sign(&b.signing_bytes());
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id_hex().len(), 32);
        assert!(!a.id_hex().contains(&data_encoding::HEXLOWER.encode(&a.secret)));
    }

    #[test]
    fn text_that_is_not_a_code_is_refused_by_name() {
        for text in ["", "herald-", "hello", "HERALD-abc", "herald-ab!c", "herald-1"] {
            assert_eq!(Invitation::from_code(text), Err(InvitationError::NotACode), "{text}");
        }
        let long = format!("herald-{}", "a".repeat(INVITATION_CODE_LEN_MAX));
        assert_eq!(Invitation::from_code(&long), Err(InvitationError::Malformed));
    }

    proptest! {
        #![proptest_config(crate::admission::test_config())]

        #[test]
        fn reading_arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = Invitation::from_code(&text);
            let _ = Invitation::from_code(&format!("herald-{text}"));
        }

        #[test]
        fn reading_arbitrary_base32_with_a_valid_check_never_panics(body in "[a-z2-7]{0,300}") {
            let check = check_character(&body).unwrap();
            let code = format!("herald-{body}{check}");
            prop_assert!(Invitation::from_code(&code).is_err());
        }
    }
}
