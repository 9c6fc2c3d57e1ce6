//! A bounded UDP flood for benchmarks: sendmmsg in batches from one socket,
//! stopping at a packet count or a deadline, whichever comes first.

use std::{
    io,
    net::{SocketAddr, UdpSocket},
    os::fd::AsRawFd,
    time::{Duration, Instant},
};

/// What one flood did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    /// Datagrams handed to the kernel.
    pub packets: u64,
    /// How long sending took.
    pub elapsed: Duration,
}

/// Sends copies of `payload` from `source` to `dest` with sendmmsg, 64 at a
/// time, until `max_packets` are sent or `max_time` has passed.
///
/// # Errors
/// Binding or connecting the socket, or a send error other than a full queue.
pub fn flood(
    source: SocketAddr,
    dest: SocketAddr,
    payload: &[u8],
    max_packets: u64,
    max_time: Duration,
) -> io::Result<Sent> {
    const BATCH: usize = 64;
    let socket = UdpSocket::bind(source)?;
    socket.connect(dest)?;
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    // Safety: zeroed mmsghdr is a valid empty header; each points at `iov`,
    // which outlives every sendmmsg call below and is only read by the kernel.
    let mut headers: Vec<libc::mmsghdr> = (0..BATCH)
        .map(|_| {
            let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
            header.msg_hdr.msg_iov = &mut iov;
            header.msg_hdr.msg_iovlen = 1;
            header
        })
        .collect();
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < max_packets && started.elapsed() < max_time {
        let want = BATCH.min((max_packets - sent) as usize);
        // Safety: `headers` holds `want` valid entries for the connected socket.
        let n = unsafe { libc::sendmmsg(socket.as_raw_fd(), headers.as_mut_ptr(), want as u32, 0) };
        if n < 0 {
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) => continue,
                _ => return Err(error),
            }
        }
        sent += n as u64;
    }
    Ok(Sent {
        packets: sent,
        elapsed: started.elapsed(),
    })
}
