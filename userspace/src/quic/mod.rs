//! QUIC helpers shared by the ingress server, the forwarder and the lab's
//! clients: the node identity, Solana's TPU TLS, and endpoint setup.
//!
//! - [`identity`]: the appliance's keypair file, written atomically and kept
//!   private (as ssh keeps a private key).
//! - [`tls`]: certificates, ALPN `solana-tpu`, and a client's identity: the
//!   key of its certificate's own SubjectPublicKeyInfo, which the TLS
//!   handshake signature proved.
//! - [`endpoint`]: a quinn endpoint on a bound socket, and the TPU client configuration.

pub mod endpoint;
pub mod identity;
pub mod tls;
