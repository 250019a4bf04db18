//! Node identities: an Ed25519 key pair per node, named by its public key.
//!
//! A [`NodeId`] is shown as lowercase RFC 4648 base32 without padding (52 characters), with the
//! first 10 characters as its short form in human output.

use std::fmt;
use std::str::FromStr;

use data_encoding::{BASE32_NOPAD, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Length of a node id's text form.
pub const NODE_ID_TEXT_LEN: usize = 52;
/// Length of a node id's short text form.
pub const NODE_ID_SHORT_LEN: usize = 10;

fn base32_lower() -> Encoding {
    let mut spec = BASE32_NOPAD.specification();
    spec.symbols = "abcdefghijklmnopqrstuvwxyz234567".to_owned();
    spec.encoding().expect("lowercase base32 is a valid specification")
}

/// A node's identity: the 32 bytes of its Ed25519 public key.
///
/// The bytes are not checked to be a valid curve point until a signature is verified against
/// them, so a `NodeId` can be decoded from any 32 bytes a peer sends.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId([u8; 32]);

impl NodeId {
    /// The id made of these public-key bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> NodeId {
        NodeId(bytes)
    }

    /// The public-key bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 10-character short form for human output.
    pub fn short(&self) -> String {
        let mut text = self.to_string();
        text.truncate(NODE_ID_SHORT_LEN);
        text
    }

    /// Checks `signature` over `message` against this id's public key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        match VerifyingKey::from_bytes(&self.0) {
            Ok(key) => key.verify(message, signature).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base32_lower().encode(&self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.short())
    }
}

/// Why a text could not be read as a node id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeIdParseError {
    /// The text does not have 52 characters.
    #[error("a node id has {NODE_ID_TEXT_LEN} characters, this one has {0}")]
    Length(usize),
    /// The text is not lowercase base32.
    #[error("a node id is lowercase base32 (a-z, 2-7)")]
    Alphabet,
}

impl FromStr for NodeId {
    type Err = NodeIdParseError;
    fn from_str(text: &str) -> Result<NodeId, NodeIdParseError> {
        if text.len() != NODE_ID_TEXT_LEN {
            return Err(NodeIdParseError::Length(text.chars().count()));
        }
        let bytes =
            base32_lower().decode(text.as_bytes()).map_err(|_| NodeIdParseError::Alphabet)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| NodeIdParseError::Alphabet)?;
        Ok(NodeId(bytes))
    }
}

/// A node's secret signing key with its id.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
    id: NodeId,
}

impl Keypair {
    /// The key pair derived from a 32-byte secret seed.
    pub fn from_secret(secret: [u8; 32]) -> Keypair {
        let signing = SigningKey::from_bytes(&secret);
        let id = NodeId(signing.verifying_key().to_bytes());
        Keypair { signing, id }
    }

    /// The secret seed, for persisting the identity (mode 0600 on disk).
    pub fn secret(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// This key pair's public id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({:?})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_text_is_52_lowercase_characters_and_round_trips() {
        let id = Keypair::from_secret([9; 32]).id();
        let text = id.to_string();
        assert_eq!(text.len(), NODE_ID_TEXT_LEN);
        assert!(text.chars().all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)));
        assert_eq!(text.parse::<NodeId>().unwrap(), id);
        assert_eq!(id.short(), text[..NODE_ID_SHORT_LEN]);
    }

    #[test]
    fn malformed_node_id_text_is_refused_with_a_reason() {
        assert_eq!("abc".parse::<NodeId>(), Err(NodeIdParseError::Length(3)));
        let upper = "A".repeat(NODE_ID_TEXT_LEN);
        assert_eq!(upper.parse::<NodeId>(), Err(NodeIdParseError::Alphabet));
    }

    #[test]
    fn signature_verifies_only_for_its_message_and_key() {
        let alice = Keypair::from_secret([1; 32]);
        let bob = Keypair::from_secret([2; 32]);
        let sig = alice.sign(b"hello");
        assert!(alice.id().verify(b"hello", &sig));
        assert!(!alice.id().verify(b"hellp", &sig));
        assert!(!bob.id().verify(b"hello", &sig));
    }
}
