//! Requests a node answers on a bidirectional stream, outside the gossip protocol: a hello that
//! tells a dialler who it reached and from where, and the admission exchange of a joiner.
//!
//! Gossip frames (herald-core's `wire`) flow on long-lived one-way streams between members;
//! these requests are one frame each way, and a guest (a peer without a membership certificate)
//! may send nothing else.

use std::net::SocketAddr;

use herald_core::admission::{JoinAnswer, JoinRequest};
use serde::{Deserialize, Serialize};

/// The version byte in front of every request and answer.
const REQUEST_VERSION: u8 = 1;
/// The largest request or answer accepted, in bytes.
pub const REQUEST_SIZE_MAX: usize = 64 * 1024;

/// What a dialler asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PeerRequest {
    /// Who are you, and where do you see me from? (Used to resolve a `--peer` address.)
    Hello,
    /// Admit me with this invitation (boxed: it is large, and rare beside `Hello`).
    Join(Box<JoinRequest>),
}

/// What the node answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PeerAnswer {
    /// The address the request came from, as this node saw it.
    Hello {
        /// The dialler's address, as seen here.
        observed: SocketAddr,
    },
    /// The admission decision.
    Join(JoinAnswer),
    /// The request could not be decoded or is not allowed here.
    Refused(String),
}

/// Why a request or an answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestDecodeError {
    /// Larger than [`REQUEST_SIZE_MAX`].
    #[error("a request of {0} bytes is larger than the {REQUEST_SIZE_MAX} allowed")]
    TooLarge(usize),
    /// From another protocol version.
    #[error("a request from protocol version {0} is not understood (this node speaks version 1)")]
    Version(u8),
    /// Not a valid encoding.
    #[error("a request could not be decoded: {0}")]
    Malformed(#[from] postcard::Error),
}

/// Encodes a request or an answer with its version byte.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut bytes = vec![REQUEST_VERSION];
    // Encoding plain data into a vector cannot fail.
    bytes.extend(postcard::to_stdvec(message).unwrap_or_default());
    bytes
}

/// Decodes a request or an answer; never panics on any input.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, RequestDecodeError> {
    if bytes.len() > REQUEST_SIZE_MAX {
        return Err(RequestDecodeError::TooLarge(bytes.len()));
    }
    match bytes.split_first() {
        Some((&REQUEST_VERSION, body)) => Ok(postcard::from_bytes(body)?),
        Some((&version, _)) => Err(RequestDecodeError::Version(version)),
        None => Err(RequestDecodeError::Malformed(postcard::Error::DeserializeUnexpectedEnd)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_round_trips() {
        let bytes = encode(&PeerRequest::Hello);
        assert_eq!(decode::<PeerRequest>(&bytes).unwrap(), PeerRequest::Hello);
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let mut bytes = encode(&PeerRequest::Hello);
        bytes[0] = 9;
        assert!(matches!(decode::<PeerRequest>(&bytes), Err(RequestDecodeError::Version(9))));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for length in 0..64u8 {
            let bytes: Vec<u8> = (0..length).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
            let _ = decode::<PeerRequest>(&bytes);
            let _ = decode::<PeerAnswer>(&bytes);
        }
        assert!(matches!(
            decode::<PeerRequest>(&vec![1; REQUEST_SIZE_MAX + 1]),
            Err(RequestDecodeError::TooLarge(_))
        ));
    }
}
