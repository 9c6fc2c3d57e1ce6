//! The kernel's side of the ingress socket: datagrams it dropped because the
//! receive buffer was full, and the bytes waiting in that buffer.
//!
//! Those drops happen before Rampart reads a byte, so no stage can count
//! them; and they fall on every peer alike, staked ones too (QUIC then
//! retransmits, late). An operator watching them sees when the admitted
//! load is more than the network edge can read. Read from
//! `/proc/net/udp` and `/proc/net/udp6` by the socket's inode.

use std::{os::fd::AsRawFd, time::Duration};

use crate::metrics::Counters;

/// What the kernel reports for one UDP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketStats {
    /// Bytes waiting in the receive buffer.
    pub queued_bytes: u64,
    /// Datagrams dropped since the socket was made (receive buffer full,
    /// or no memory).
    pub drops: u64,
}

/// The inode of `socket`, its key in `/proc/net/udp*`; `None` where the
/// kernel does not say (not Linux, no `/proc`).
pub fn inode(socket: &std::net::UdpSocket) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
    let link = link.to_str()?;
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The row of the socket with `inode` in a `/proc/net/udp` or
/// `/proc/net/udp6` listing, if it is there.
///
/// Columns: `sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid
/// timeout inode ref pointer drops`, queues in hexadecimal.
pub fn parse_proc_net_udp(listing: &str, inode: u64) -> Option<SocketStats> {
    listing.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(9)?.parse::<u64>().ok()? != inode {
            return None;
        }
        let (_, rx_queue) = fields.get(4)?.split_once(':')?;
        Some(SocketStats {
            queued_bytes: u64::from_str_radix(rx_queue, 16).ok()?,
            drops: fields.get(12)?.parse().ok()?,
        })
    })
}

/// The socket with `inode`, looked up in both listings.
pub fn read(inode: u64) -> Option<SocketStats> {
    ["/proc/net/udp", "/proc/net/udp6"]
        .into_iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .find_map(|listing| parse_proc_net_udp(&listing, inode))
}

/// Copies the socket's figures into `counters` every `period`, for as long
/// as the socket exists: the drop counter by the kernel's increments, the
/// buffer as a gauge. Runs on the back office, not on the network edge
/// (it reads files).
pub async fn watch(inode: u64, counters: std::sync::Arc<Counters>, period: Duration) {
    let mut seen_drops = None;
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let Some(stats) = read(inode) else {
            // Gone: the endpoint closed.
            return;
        };
        counters.socket_queue_bytes.set(stats.queued_bytes);
        // The kernel's count starts with the socket, before this watch:
        // only increments from the first reading on are added.
        if let Some(seen) = seen_drops {
            counters
                .socket_dropped
                .add(stats.drops.saturating_sub(seen));
        }
        seen_drops = Some(stats.drops);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "\
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  158: 0100007F:1F49 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41414 2 0000000000000000 0
  301: 00000000:A3D2 00000000:0000 07 00000000:0002A300 00:00000000 00000000     0        0 77777 2 0000000000000000 1234
";

    #[test]
    fn finds_its_own_row_by_inode_and_reads_queue_and_drops() {
        assert_eq!(
            parse_proc_net_udp(LISTING, 77777),
            Some(SocketStats {
                queued_bytes: 0x2A300,
                drops: 1234,
            })
        );
        assert_eq!(
            parse_proc_net_udp(LISTING, 41414),
            Some(SocketStats::default())
        );
        assert_eq!(
            parse_proc_net_udp(LISTING, 1234),
            None,
            "drops are not an inode"
        );
        assert_eq!(parse_proc_net_udp("", 77777), None);
        assert_eq!(parse_proc_net_udp("header\n1: short line", 1), None);
    }

    #[test]
    fn a_bound_socket_is_found_in_the_kernel_listing() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let inode = inode(&socket).expect("the socket's inode");
        let stats = read(inode).expect("listed in /proc/net/udp");
        assert_eq!(stats, SocketStats::default());
    }

    #[test]
    fn datagrams_the_buffer_cannot_hold_are_counted_as_drops() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let inode = inode(&socket).expect("the socket's inode");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let payload = [0u8; 1200];
        // Nothing reads: the receive buffer (rmem_default, a few hundred KB
        // on Debian) fills, and the rest of these datagrams, four times its
        // size at least, are dropped.
        let buffer: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_default")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(212_992);
        let count = (4 * buffer / payload.len()).clamp(4_000, 200_000);
        for _ in 0..count {
            let _ = sender.send_to(&payload, socket.local_addr().expect("addr"));
        }
        let stats = read(inode).expect("listed");
        assert!(stats.queued_bytes > 0, "{stats:?}");
        assert!(stats.drops > 0, "{stats:?}");
    }
}
