//! QUIC helpers shared by the ingress server, the forwarder and the lab's
//! clients: the node identity, Solana's TPU TLS, and endpoint setup.
//!
//! - [`identity`]: the appliance's keypair file.
//! - [`tls`]: certificates, ALPN `solana-tpu`, client identity from the TLS handshake.
//! - [`endpoint`]: a quinn endpoint on a bound socket, and the TPU client configuration.

pub mod endpoint;
pub mod identity;
pub mod tls;
