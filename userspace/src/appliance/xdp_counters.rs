//! The XDP filter's counters for `/metrics`, read from its pinned maps at
//! each scrape. While no filter is attached (no pins, or no permission to
//! open them) the families are simply absent.

use std::path::PathBuf;

use rampart_common::Verdict;

use crate::{
    filter::Loader,
    metrics::{XdpRow, XdpSource},
};

/// Reads the per-verdict, per-port counters under one pin directory.
#[derive(Debug)]
pub struct PinnedXdpCounters {
    loader: Loader,
}

impl PinnedXdpCounters {
    /// Counters of the filter pinned under `pin_dir`.
    pub fn new(pin_dir: impl Into<PathBuf>) -> Self {
        PinnedXdpCounters {
            loader: Loader::new(pin_dir),
        }
    }
}

impl XdpSource for PinnedXdpCounters {
    fn rows(&self) -> Option<Vec<XdpRow>> {
        let counters = self.loader.maps().ok()?.counters().ok()?;
        let rows = counters
            .ports
            .iter()
            .map(|(port, row)| (Some(*port), row))
            .chain([(None, &counters.unprotected)]);
        let mut out = Vec::new();
        for (port, row) in rows {
            for verdict in Verdict::ALL {
                let count = &row.verdicts[verdict as usize];
                out.push(XdpRow {
                    port,
                    verdict: verdict.label(),
                    packets: count.packets,
                    bytes: count.bytes,
                });
            }
        }
        Some(out)
    }
}
