//! Node identity in TLS: the certificates herald nodes present to each other and how they are
//! checked.
//!
//! Every node presents a self-signed X.509 certificate whose key is its own Ed25519 node key, so
//! a finished TLS 1.3 handshake proves the peer holds the secret of the [`NodeId`] read from its
//! certificate. A node that has been admitted also carries its membership certificate (opaque
//! bytes here) in a private extension, [`MEMBERSHIP_OID`]. Both sides authenticate (mutual TLS):
//! the verifiers read the peer's identity with [`peer_identity`], ask the caller's
//! [`PeerPolicy`], then check the handshake signature with the ring provider.
//!
//! The expected peer travels in the TLS server name: `"<node id>.herald"` requires that exact id,
//! [`ANY_SERVER_NAME`] accepts whoever the policy accepts.
//!
//! Not here: what makes a membership certificate valid (the policy decides), the certificate's
//! own signature and validity dates (the handshake signature is the proof of key possession;
//! a self-signature adds nothing), and any use of the web PKI.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use herald_core::{Keypair, NodeId};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use x509_parser::asn1_rs::{OctetString, ToDer};
use x509_parser::der_parser::der::parse_der_octetstring;
use x509_parser::oid_registry::{OID_SIG_ED25519, Oid};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The ALPN protocol id of herald's QUIC connections.
pub const ALPN: &[u8] = b"herald/1";

/// Object identifier of the non-critical extension that carries a node's membership
/// certificate: 1.3.6.1.4.1.32473.1.1.
///
/// 32473 is the private enterprise number IANA reserves for documentation (RFC 5612); it stands
/// in until the project registers its own number, and only herald nodes read this extension.
/// The extension value is a DER OCTET STRING holding the opaque membership bytes.
pub const MEMBERSHIP_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 32473, 1, 1];

/// The subject alternative name (a DNS name) of every herald certificate.
pub const SUBJECT_ALT_NAME: &str = "herald";

/// The suffix of the TLS server name that names the expected peer.
pub const SERVER_NAME_SUFFIX: &str = ".herald";

/// The TLS server name that accepts any node id the policy accepts (dialling a bare address).
pub const ANY_SERVER_NAME: &str = "any.herald";

/// How often an idle link to an overlay neighbour sends a keep-alive.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(2);

/// How long a link to an overlay neighbour may stay silent before QUIC drops it.
///
/// The failure detector in herald-core, not QUIC, decides that a peer is dead; this timeout
/// only reclaims connections whose peer vanished, and tells the core early that a neighbour is
/// gone. With keep-alives every [`KEEP_ALIVE_INTERVAL`], a live link is never idle this long.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long any other connection (a probe's, a repair round's, a join's) may stay silent: it
/// sends no keep-alive, so it costs nothing on the wire while idle, and stays open for the
/// next probe of the same member instead of paying a handshake of about 9 KB again
/// (BENCHMARKS.md, "Idle, on the wire"). The dialler chooses: QUIC takes the smaller of the two
/// sides' timeouts, and a server offers this one.
pub const QUIET_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Most unidirectional streams a peer may have open at once on one connection (a frame link
/// uses one per direction; a few more cover a stream being replaced).
pub const UNI_STREAMS_MAX: u32 = 4;

/// Most bidirectional (request) streams a peer may have open at once on one connection.
pub const BI_STREAMS_MAX: u32 = 16;

/// PKCS#8 v1 (RFC 8410) encoding of an Ed25519 private key, up to the 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Why a certificate or a TLS configuration could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen could not build the certificate.
    #[error("making the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("configuring TLS: {0}")]
    Rustls(#[from] rustls::Error),
    /// The TLS configuration is not usable for QUIC.
    #[error("configuring QUIC: {0}")]
    Quic(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
    /// A value could not be encoded in DER.
    #[error("encoding {0}")]
    Encode(&'static str),
    /// A peer's certificate is not a herald certificate.
    #[error("bad peer certificate: {0}")]
    BadCertificate(&'static str),
}

/// A peer's identity as proven by its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The node id: the certificate's Ed25519 public key.
    pub id: NodeId,
    /// The membership certificate bytes, if the certificate carries the extension.
    pub membership: Option<Vec<u8>>,
}

/// The caller's decision on whom to talk to, asked during every handshake, on both sides.
///
/// The node checks membership certificate chains here, or accepts guests for joins. A refusal
/// fails the handshake.
pub trait PeerPolicy: Send + Sync + fmt::Debug {
    /// `Ok` to accept `peer`; `Err` with a reason (logged at debug) to refuse it.
    fn check(&self, peer: &PeerIdentity) -> Result<(), String>;

    /// Whether a peer without a membership certificate (a guest, let in to ask to join) may
    /// also send protocol frames. If not, a guest that opens a frame stream is disconnected
    /// before anything it sends is read.
    fn guests_may_gossip(&self) -> bool {
        false
    }
}

/// The TLS server name that requires the peer to be `id`: `"<id>.herald"`.
pub fn server_name(id: &NodeId) -> String {
    format!("{id}{SERVER_NAME_SUFFIX}")
}

/// A self-signed certificate whose key is `keypair`'s Ed25519 key, with subject alt name
/// [`SUBJECT_ALT_NAME`] and, if given, `membership` in the [`MEMBERSHIP_OID`] extension.
/// Returns the certificate and the matching private key for rustls.
pub fn certificate(
    keypair: &Keypair,
    membership: Option<&[u8]>,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let mut pkcs8 = PKCS8_ED25519_PREFIX.to_vec();
    pkcs8.extend_from_slice(&keypair.secret());
    let pkcs8 = PrivatePkcs8KeyDer::from(pkcs8);
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519)?;
    let mut params = rcgen::CertificateParams::new(vec![SUBJECT_ALT_NAME.to_owned()])?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, format!("herald node {}", keypair.id()));
    params.distinguished_name = name;
    if let Some(bytes) = membership {
        let content = OctetString::new(bytes)
            .to_der_vec()
            .map_err(|_| TlsError::Encode("the membership certificate as an OCTET STRING"))?;
        let mut extension = rcgen::CustomExtension::from_oid_content(MEMBERSHIP_OID, content);
        extension.set_criticality(false);
        params.custom_extensions.push(extension);
    }
    let cert = params.self_signed(&key)?;
    Ok((cert.der().clone(), PrivateKeyDer::Pkcs8(pkcs8)))
}

/// Reads a peer's identity from its end-entity certificate: the key must be Ed25519 (OID
/// 1.3.101.112) with 32 bytes; the membership extension is read if present. Any malformed input
/// is an error, never a panic.
pub fn peer_identity(cert: &CertificateDer<'_>) -> Result<PeerIdentity, TlsError> {
    let (rest, cert) = X509Certificate::from_der(cert.as_ref())
        .map_err(|_| TlsError::BadCertificate("not a DER X.509 certificate"))?;
    if !rest.is_empty() {
        return Err(TlsError::BadCertificate("trailing bytes after the certificate"));
    }
    let spki = cert.public_key();
    if spki.algorithm.algorithm != OID_SIG_ED25519 {
        return Err(TlsError::BadCertificate("the key is not Ed25519"));
    }
    let key: [u8; 32] = match spki.subject_public_key.data.as_ref().try_into() {
        Ok(key) if spki.subject_public_key.unused_bits == 0 => key,
        _ => return Err(TlsError::BadCertificate("the Ed25519 key is not 32 bytes")),
    };
    let oid = Oid::from(MEMBERSHIP_OID).expect("the membership OID is well formed");
    let mut membership = None;
    for extension in cert.extensions().iter().filter(|e| e.oid == oid) {
        if membership.is_some() {
            return Err(TlsError::BadCertificate("two membership extensions"));
        }
        let bad = TlsError::BadCertificate("the membership extension is not an OCTET STRING");
        let (rest, value) = parse_der_octetstring(extension.value).map_err(|_| bad)?;
        let bytes = value
            .as_slice()
            .map_err(|_| TlsError::BadCertificate("the membership extension is not bytes"))?;
        if !rest.is_empty() {
            return Err(TlsError::BadCertificate("trailing bytes in the membership extension"));
        }
        membership = Some(bytes.to_vec());
    }
    Ok(PeerIdentity { id: NodeId::from_bytes(key), membership })
}

/// The QUIC configurations of a node, both presenting `keypair`'s certificate (with
/// `membership`) and checking the peer's with `policy`: TLS 1.3 only, ALPN [`ALPN`], the ring
/// provider, no session resumption (so every handshake is checked by the policy).
/// - The server requires a client certificate.
/// - The client checks the server's id against the server name (see [`server_name`] and
///   [`ANY_SERVER_NAME`]).
pub fn configs(
    keypair: &Keypair,
    membership: Option<&[u8]>,
    policy: Arc<dyn PeerPolicy>,
) -> Result<(quinn::ServerConfig, quinn::ClientConfig), TlsError> {
    let (cert, key) = certificate(keypair, membership)?;
    let provider = provider();
    let checker = || Checker::new(&provider, policy.clone());

    let mut tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(ClientVerifier(checker())))
        .with_single_cert(vec![cert.clone()], key.clone_key())?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    tls.send_tls13_tickets = 0;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(tls)?));
    server.transport_config(transport_config(None, QUIET_IDLE_TIMEOUT));

    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ServerVerifier(checker())))
        .with_client_auth_cert(vec![cert], key)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.resumption = rustls::client::Resumption::disabled();
    let mut client = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls)?));
    client.transport_config(transport_config(Some(KEEP_ALIVE_INTERVAL), IDLE_TIMEOUT));
    Ok((server, client))
}

/// `client`, for a connection that is not a link to an overlay neighbour: no keep-alives, and
/// [`QUIET_IDLE_TIMEOUT`].
pub fn quiet(client: &quinn::ClientConfig) -> quinn::ClientConfig {
    let mut quiet = client.clone();
    quiet.transport_config(transport_config(None, QUIET_IDLE_TIMEOUT));
    quiet
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn transport_config(keep_alive: Option<Duration>, idle: Duration) -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(keep_alive);
    let idle = quinn::IdleTimeout::try_from(idle).expect("30 minutes fit a QUIC varint");
    transport.max_idle_timeout(Some(idle));
    transport.max_concurrent_uni_streams(UNI_STREAMS_MAX.into());
    transport.max_concurrent_bidi_streams(BI_STREAMS_MAX.into());
    transport.datagram_receive_buffer_size(None);
    Arc::new(transport)
}

/// What both verifiers share: the policy and the signature algorithms of the ring provider.
#[derive(Debug)]
struct Checker {
    policy: Arc<dyn PeerPolicy>,
    algorithms: WebPkiSupportedAlgorithms,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refusal(String);

impl Checker {
    fn new(provider: &CryptoProvider, policy: Arc<dyn PeerPolicy>) -> Checker {
        Checker { policy, algorithms: provider.signature_verification_algorithms }
    }

    fn check(
        &self,
        cert: &CertificateDer<'_>,
        expected: Option<NodeId>,
    ) -> Result<(), rustls::Error> {
        let peer = peer_identity(cert).map_err(|error| {
            tracing::debug!(%error, "refusing a peer certificate");
            rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
        })?;
        if let Some(expected) = expected.filter(|expected| *expected != peer.id) {
            tracing::debug!(%expected, found = %peer.id, "refusing a peer: not the expected id");
            return Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName));
        }
        self.policy.check(&peer).map_err(|reason| {
            tracing::debug!(peer = %peer.id, %reason, "the peer policy refused a peer");
            let reason = rustls::OtherError(Arc::new(Refusal(reason)));
            rustls::Error::InvalidCertificate(CertificateError::Other(reason))
        })
    }
}

/// The handshake signature checks, the same in both verifiers (each wraps a [`Checker`]):
/// TLS 1.3 signatures with the ring provider's algorithms; TLS 1.2 is refused (it is not even
/// enabled).
macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::General("herald only speaks TLS 1.3".to_owned()))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.algorithms.supported_schemes()
        }
    };
}

/// The id required by a server name: `Some(id)` for `"<id>.herald"`, `None` for "any.herald".
fn expected_peer(name: &ServerName<'_>) -> Result<Option<NodeId>, rustls::Error> {
    let refuse = || rustls::Error::General(format!("{name:?} does not name a herald peer"));
    let ServerName::DnsName(dns) = name else { return Err(refuse()) };
    if dns.as_ref() == ANY_SERVER_NAME {
        return Ok(None);
    }
    let label = dns.as_ref().strip_suffix(SERVER_NAME_SUFFIX).ok_or_else(refuse)?;
    label.parse::<NodeId>().map(Some).map_err(|_| refuse())
}

/// Client side: checks the server's certificate.
#[derive(Debug)]
struct ServerVerifier(Checker);

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0.check(end_entity, expected_peer(server_name)?)?;
        Ok(ServerCertVerified::assertion())
    }

    signature_checks!();
}

/// Server side: requires and checks the client's certificate.
#[derive(Debug)]
struct ClientVerifier(Checker);

impl ClientCertVerifier for ClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.0.check(end_entity, None)?;
        Ok(ClientCertVerified::assertion())
    }

    signature_checks!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_round_trips_to_the_same_identity_without_membership() {
        let keypair = Keypair::from_secret([7; 32]);
        let (cert, _) = certificate(&keypair, None).unwrap();
        let peer = peer_identity(&cert).unwrap();
        assert_eq!(peer, PeerIdentity { id: keypair.id(), membership: None });
    }

    #[test]
    fn certificate_round_trips_membership_bytes_of_any_length() {
        let keypair = Keypair::from_secret([8; 32]);
        for len in [1, 127, 128, 255, 256, 70_000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let (cert, _) = certificate(&keypair, Some(&bytes)).unwrap();
            let peer = peer_identity(&cert).unwrap();
            assert_eq!(peer.id, keypair.id());
            assert_eq!(peer.membership.as_deref(), Some(&bytes[..]), "{len} bytes");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let (cert, _) = certificate(&Keypair::from_secret([9; 32]), Some(b"member")).unwrap();
        let good = cert.as_ref().to_vec();
        let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0x30], vec![0xff; 64], b"hello".to_vec()];
        inputs.extend((0..good.len()).step_by(7).map(|cut| good[..cut].to_vec()));
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2_000 {
            let mut mutated = good.clone();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % mutated.len();
            mutated[at] ^= (state >> 32) as u8 | 1;
            inputs.push(mutated);
        }
        inputs.push([good.clone(), vec![0]].concat());
        for input in inputs {
            let _ = peer_identity(&CertificateDer::from(input));
        }
        assert!(peer_identity(&CertificateDer::from(vec![0x30, 0x03, 1, 2, 3])).is_err());
        assert!(peer_identity(&CertificateDer::from([good, vec![0]].concat())).is_err());
    }

    #[test]
    fn a_certificate_with_another_key_type_is_refused() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["herald".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert!(matches!(peer_identity(cert.der()), Err(TlsError::BadCertificate(_))));
    }

    #[test]
    fn server_names_name_the_expected_peer() {
        let id = Keypair::from_secret([3; 32]).id();
        let name = ServerName::try_from(server_name(&id)).unwrap();
        assert_eq!(expected_peer(&name).unwrap(), Some(id));
        let any = ServerName::try_from(ANY_SERVER_NAME).unwrap();
        assert_eq!(expected_peer(&any).unwrap(), None);
        let other = ServerName::try_from("example.org").unwrap();
        assert!(expected_peer(&other).is_err());
    }

    #[test]
    fn configs_build_with_and_without_membership() {
        #[derive(Debug)]
        struct Anyone;
        impl PeerPolicy for Anyone {
            fn check(&self, _: &PeerIdentity) -> Result<(), String> {
                Ok(())
            }
        }
        let keypair = Keypair::from_secret([4; 32]);
        for membership in [None, Some(&b"m"[..])] {
            configs(&keypair, membership, Arc::new(Anyone)).unwrap();
        }
    }
}
