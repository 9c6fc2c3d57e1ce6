//! Bounds-checked reads from the frame, in the shape the verifier accepts:
//! every read first proves `start + offset + size <= end`.

use aya_ebpf::programs::XdpContext;

/// Reads a `T` at `offset` bytes into the frame, or `None` past its end.
#[inline(always)]
pub fn read<T: Copy>(ctx: &XdpContext, offset: usize) -> Option<T> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + offset + core::mem::size_of::<T>() > end {
        return None;
    }
    // Safety: the check above keeps the whole T inside [data, data_end).
    Some(unsafe { core::ptr::read_unaligned((start + offset) as *const T) })
}

/// Reads one byte.
#[inline(always)]
pub fn byte(ctx: &XdpContext, offset: usize) -> Option<u8> {
    read::<u8>(ctx, offset)
}

/// Reads a big-endian u16.
#[inline(always)]
pub fn be16(ctx: &XdpContext, offset: usize) -> Option<u16> {
    read::<[u8; 2]>(ctx, offset).map(u16::from_be_bytes)
}

/// Reads a big-endian u32.
#[inline(always)]
pub fn be32(ctx: &XdpContext, offset: usize) -> Option<u32> {
    read::<[u8; 4]>(ctx, offset).map(u32::from_be_bytes)
}

/// Length of the frame in bytes.
#[inline(always)]
pub fn frame_len(ctx: &XdpContext) -> usize {
    ctx.data_end() - ctx.data()
}
