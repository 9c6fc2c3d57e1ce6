//! The kernel's [`Cursor`]: bounds-checked reads from the XDP frame, in the
//! shape the verifier accepts — every read first proves
//! `data + offset + size <= data_end`.

use aya_ebpf::programs::XdpContext;
use rampart_common::packet::Cursor;

/// The frame of one XDP run, read through [`Cursor`].
pub struct XdpFrame<'a> {
    ctx: &'a XdpContext,
}

impl<'a> XdpFrame<'a> {
    /// The frame `ctx` points at.
    #[inline(always)]
    pub fn new(ctx: &'a XdpContext) -> Self {
        XdpFrame { ctx }
    }
}

impl Cursor for XdpFrame<'_> {
    #[inline(always)]
    fn frame_len(&self) -> usize {
        self.ctx.data_end() - self.ctx.data()
    }

    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let start = self.ctx.data();
        let end = self.ctx.data_end();
        if start + offset + N > end {
            return None;
        }
        // Safety: the check above keeps all N bytes inside [data, data_end).
        Some(unsafe { core::ptr::read_unaligned((start + offset) as *const [u8; N]) })
    }
}
