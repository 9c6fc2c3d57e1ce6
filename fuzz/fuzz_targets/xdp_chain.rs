//! `xdp_chain`: the XDP verdict chain's host build (`rampart_common::packet`)
//! on arbitrary frames, under tables and a token bucket drawn from the input.
//!
//! Input: 1 byte QUIC CID length, 1 byte list flags, 2 bytes of an extra
//! protected port, 4 × 8 bytes of rate limit, 3 × 8 bytes of a stored bucket,
//! 8 bytes of clock, then the frame.
//!
//! - Never panics (the fuzz build has overflow checks on, so the bucket
//!   arithmetic's "never wraps" claim is checked too).
//! - Never reads past the end: the frame sits in a buffer with a poisoned
//!   tail that the cursor refuses, like the kernel's `data_end` check; the
//!   verdict equals the plain slice's.
//! - Every frame gets exactly one verdict with a consistent counter row:
//!   the unprotected row exactly for `PassUnprotected` and `DropHeaderChain`,
//!   else the port's row; the list verdicts only when the lists say so; the
//!   token bucket is asked at most once, and only for a frame that passed
//!   everything before it (`Pass` or `DropRateLimited`).
//! - Deterministic: the same frame under the same tables gets the same
//!   judgement.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_common::{
    maps::{Bucket, RateLimit, MAX_BURST, TOKEN_SCALE, UNPROTECTED_ROW},
    packet::{bucket, judge, Cursor, Source, Tables},
    Verdict,
};
use rampart_fuzz::Choices;

/// Protected ports: Agave's usual TPU QUIC port, another, and one from the input.
const PORTS: [u16; 2] = [8009, 4433];

#[derive(Debug, Clone)]
struct FuzzTables {
    ports: [u16; 3],
    flags: u8,
    cid_len: usize,
    limit: RateLimit,
    bucket: Option<Bucket>,
    now: u64,
    bucket_calls: u32,
}

impl FuzzTables {
    fn source_bit(source: Source, bit: u8) -> bool {
        let key = source.key();
        key.addr.iter().fold(0u8, |acc, b| acc ^ b) & (1 << bit) != 0
    }
}

impl Tables for FuzzTables {
    fn port_row(&self, port: u16) -> Option<u32> {
        self.ports
            .iter()
            .position(|&p| p == port)
            .map(|row| row as u32)
    }

    fn allowed(&self, source: Source) -> bool {
        self.flags & 1 != 0 && Self::source_bit(source, 0)
    }

    fn denied(&self, source: Source) -> bool {
        self.flags & 2 != 0 && Self::source_bit(source, 1)
    }

    fn rate_limited(&mut self, _source: Source, bytes: u64) -> bool {
        self.bucket_calls += 1;
        if bucket::is_unlimited(&self.limit) {
            return false;
        }
        let full = MAX_BURST * TOKEN_SCALE;
        match &mut self.bucket {
            Some(stored) => {
                let before = (stored.packet_tokens, stored.byte_tokens);
                let limited = bucket::take(stored, &self.limit, self.now, bytes);
                // Tokens never grow past a full bucket (unless a stored one
                // was already over, when they never grow at all).
                assert!(stored.packet_tokens <= full.max(before.0));
                assert!(stored.byte_tokens <= full.max(before.1));
                assert_eq!(stored.last_ns, self.now);
                limited
            }
            None => {
                let (fresh, limited) = bucket::first(&self.limit, self.now, bytes);
                assert!(fresh.packet_tokens <= full && fresh.byte_tokens <= full);
                self.bucket = Some(fresh);
                limited
            }
        }
    }

    fn quic_cid_len(&self) -> usize {
        self.cid_len
    }
}

/// A frame as the kernel sees it: bytes up to `len`, and beyond it memory
/// the program may not read (poisoned here).
struct Bounded {
    buffer: Vec<u8>,
    len: usize,
}

impl Cursor for Bounded {
    fn frame_len(&self) -> usize {
        self.len
    }

    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        // The kernel's check: data + offset + N <= data_end.
        if offset.checked_add(N)? > self.len {
            return None;
        }
        self.buffer.get(offset..offset + N)?.try_into().ok()
    }
}

thread_local! {
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn u64_of(choices: &mut Choices<'_>) -> u64 {
    u64::from_le_bytes(choices.array::<8>())
}

fuzz_target!(|data: &[u8]| {
    let mut choices = Choices::new(data);
    let cid_len = choices.below(21);
    let flags = choices.byte();
    let extra_port = choices.u16();
    let limit = RateLimit {
        pps: u64_of(&mut choices),
        burst_packets: u64_of(&mut choices),
        bps: u64_of(&mut choices),
        burst_bytes: u64_of(&mut choices),
    };
    let stored = Bucket {
        packet_tokens: u64_of(&mut choices),
        byte_tokens: u64_of(&mut choices),
        last_ns: u64_of(&mut choices),
    };
    let now = u64_of(&mut choices);
    let frame = choices.rest();

    let tables = FuzzTables {
        ports: [PORTS[0], PORTS[1], extra_port],
        flags,
        cid_len,
        limit,
        bucket: (flags & 4 != 0).then_some(stored),
        now,
        bucket_calls: 0,
    };

    let mut plain_tables = tables.clone();
    let plain = judge(frame, &mut plain_tables);

    // The frame, then poison, in a buffer reused across inputs.
    let buffer = BUFFER.with_borrow_mut(|buffer| {
        let mut buffer = std::mem::take(buffer);
        buffer.clear();
        buffer.extend_from_slice(frame);
        buffer.extend_from_slice(&[0xa5; 64]);
        buffer
    });
    let bounded = Bounded {
        buffer,
        len: frame.len(),
    };
    let mut bounded_tables = tables.clone();
    let judged = judge(&bounded, &mut bounded_tables);
    assert_eq!(plain, judged, "the verdict depends on bytes past the end");
    assert_eq!(plain_tables.bucket, bounded_tables.bucket);

    // One verdict, one row.
    let unprotected = matches!(
        judged.verdict,
        Verdict::PassUnprotected | Verdict::DropHeaderChain
    );
    if unprotected {
        assert_eq!(judged.row, UNPROTECTED_ROW, "{judged:?}");
    } else {
        assert!((judged.row as usize) < tables.ports.len(), "{judged:?}");
        assert!(judged.source.is_some(), "{judged:?}");
    }

    // The lists decide only when they say so.
    if let Some(source) = judged.source {
        match judged.verdict {
            Verdict::PassAllowed => assert!(tables.allowed(source)),
            Verdict::DropDenied => assert!(!tables.allowed(source) && tables.denied(source)),
            Verdict::PassUnprotected | Verdict::DropHeaderChain => {}
            _ => assert!(!tables.allowed(source) && !tables.denied(source)),
        }
    }

    // The bucket is asked once, exactly for frames that passed everything else.
    let reached_bucket = matches!(judged.verdict, Verdict::Pass | Verdict::DropRateLimited);
    assert_eq!(
        bounded_tables.bucket_calls,
        u32::from(reached_bucket),
        "{judged:?}"
    );
    if judged.verdict == Verdict::DropRateLimited {
        assert!(!bucket::is_unlimited(&limit));
    }

    // A second frame a moment later: the bucket arithmetic from a state the
    // first one left (or the stored one), never panicking.
    if reached_bucket {
        let mut again = bounded_tables.clone();
        again.now = now.wrapping_add(u64::from(flags) << 20);
        let second = judge(&bounded, &mut again);
        assert_eq!(second.row, judged.row);
        assert!(matches!(
            second.verdict,
            Verdict::Pass | Verdict::DropRateLimited
        ));
    }
    BUFFER.with_borrow_mut(|buffer| *buffer = bounded.buffer);
});
