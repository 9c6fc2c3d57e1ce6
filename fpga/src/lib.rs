//! Rampart's FPGA ed25519 verification core (the strict rule, as Agave's
//! `verify_strict`, and the zip215 and amended zip215 rules): Verilog in
//! `rtl/`, simulated with Verilator and driven from Rust.
//!
//! * RTL: `sha512.v` (compression, one round per clock), `sha512_msg.v`
//!   (SHA-512 of R ‖ A ‖ message with the padding in RTL), `scalar_reduce.v`
//!   (digest mod L, S < L), `fe_mul.v` (pipelined multiplier mod 2^255 − 19),
//!   `engine.v` (16 barrel-scheduled contexts running the microcode around
//!   one multiplier), `verify_top.v` (streaming requests and tagged
//!   responses). `docs/fpga.md` has the design, cycle counts and resources.
//! * [`microcode`]: the engine's instruction set, the verify program and the
//!   generated ROM files; [`model`] runs the program on [`field`] values.
//! * [`sim`] (feature `verilator`, on by default): the Verilator models.
//! * [`driver`]: submission and completion rings with tags, the simulated
//!   card behind a [`driver::Device`]; [`backend::FpgaSimBackend`] makes it
//!   a `rampart-sigverify` backend; [`perf`] measures its cycles.

#[cfg(feature = "verilator")]
pub mod backend;
pub mod driver;
pub mod field;
pub mod microcode;
pub mod model;
#[cfg(feature = "verilator")]
pub mod perf;
pub mod scalar;
#[cfg(feature = "verilator")]
pub mod sim;

/// Clock cycles the SHA-512 core spends per 1024-bit block when blocks are
/// offered back to back: one edge to accept the block, 80 round edges, and
/// one for the final state addition.
pub const SHA512_CYCLES_PER_BLOCK: u64 = 82;

/// Clock edges an operand pair spends in `fe_mul`, counting the edge that
/// accepts it: after the `FE_MUL_LATENCY`-th edge its product is shown on `r`
/// with `out_valid`. Seven register stages (products, column sums, fold, carry resolve, two folds of
/// the bits above 2^255, final conditional subtraction of p).
pub const FE_MUL_LATENCY: u64 = 7;

/// Size of one SHA-512 message block in bytes.
pub const SHA512_BLOCK_BYTES: usize = 128;

/// Pads `message` as FIPS 180-4 specifies for SHA-512 (a `0x80` byte, zeros,
/// and the 128-bit big-endian bit length) and returns the padded blocks as
/// 16 big-endian 64-bit message words each (`W0..W15`).
pub fn pad_message(message: &[u8]) -> Vec<[u64; 16]> {
    let bit_len = (message.len() as u128) * 8;
    let mut bytes = Vec::with_capacity(message.len() + 2 * SHA512_BLOCK_BYTES);
    bytes.extend_from_slice(message);
    bytes.push(0x80);
    while bytes.len() % SHA512_BLOCK_BYTES != SHA512_BLOCK_BYTES - 16 {
        bytes.push(0);
    }
    bytes.extend_from_slice(&bit_len.to_be_bytes());
    bytes
        .chunks_exact(SHA512_BLOCK_BYTES)
        .map(|block| {
            let mut words = [0u64; 16];
            for (word, chunk) in words.iter_mut().zip(block.chunks_exact(8)) {
                *word = u64::from_be_bytes(chunk.try_into().expect("8-byte chunk"));
            }
            words
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_block_counts() {
        assert_eq!(pad_message(b"").len(), 1);
        assert_eq!(pad_message(&[0; 111]).len(), 1);
        assert_eq!(pad_message(&[0; 112]).len(), 2);
        assert_eq!(pad_message(&[0; 239]).len(), 2);
        assert_eq!(pad_message(&[0; 240]).len(), 3);
    }

    #[test]
    fn padding_layout() {
        let blocks = pad_message(b"abc");
        assert_eq!(blocks[0][0], 0x6162_6380_0000_0000);
        assert_eq!(blocks[0][1..15], [0; 14]);
        assert_eq!(blocks[0][15], 24);
    }
}
