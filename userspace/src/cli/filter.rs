//! `rampart filter attach|detach|status`: the XDP program's attachment.

use clap::{Args, Subcommand};

use crate::filter::{AttachMode, Loader};

/// `rampart filter …`
#[derive(Debug, Subcommand)]
pub enum FilterCommand {
    /// Load the XDP filter and attach it to an interface.
    Attach(AttachArgs),
    /// Detach the filter from an interface (rules and counters stay pinned).
    Detach {
        /// Interface name.
        iface: String,
        /// Also remove the pinned maps (rules, counters) if nothing stays attached.
        #[arg(long)]
        purge: bool,
    },
    /// Where the filter is attached, in which mode, and the protected ports.
    Status,
}

/// Arguments of `rampart filter attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Interface name.
    iface: String,
    /// auto (native, falling back to skb), native, or skb.
    #[arg(long, default_value = "auto")]
    mode: AttachMode,
    /// Protected UDP port (repeatable). Default: 8009, the TPU QUIC port of a
    /// validator whose TPU port is 8003 (QUIC = UDP + 6). Keeps the current
    /// set when the filter's maps already exist and no port is given.
    #[arg(long = "port")]
    ports: Vec<u16>,
}

/// Default protected port when none was ever set.
const DEFAULT_PORT: u16 = 8009;

/// Runs a `rampart filter` subcommand.
///
/// # Errors
/// The filter's errors, which name what to do.
pub fn run(command: &FilterCommand) -> anyhow::Result<()> {
    let loader = Loader::default();
    match command {
        FilterCommand::Attach(args) => {
            let mut ports = args.ports.clone();
            if ports.is_empty()
                && loader
                    .maps()
                    .map(|m| m.ports().unwrap_or_default())
                    .unwrap_or_default()
                    .is_empty()
            {
                ports.push(DEFAULT_PORT);
            }
            let mode = loader.attach(&args.iface, args.mode, &ports)?;
            let ports = loader.maps()?.ports()?;
            println!(
                "attached to {} in {mode} mode; protected UDP ports: {}",
                args.iface,
                join(&ports)
            );
            if mode == "skb" && args.mode == AttachMode::Auto {
                println!("note: the driver lacks native XDP, so generic (skb) mode is in use; it runs after the socket buffer is allocated");
            }
        }
        FilterCommand::Detach { iface, purge } => {
            loader.detach(iface, *purge)?;
            println!(
                "detached from {iface}{}",
                if *purge { "; maps removed" } else { "" }
            );
        }
        FilterCommand::Status => {
            let attachments = loader.status()?;
            if attachments.is_empty() {
                println!("not attached to any interface");
            }
            for a in &attachments {
                println!(
                    "{}: {} mode{}",
                    a.iface,
                    a.mode,
                    if a.live {
                        ""
                    } else {
                        " (stale pin: interface gone?)"
                    }
                );
            }
            if let Ok(maps) = loader.maps() {
                println!("protected UDP ports: {}", join(&maps.ports()?));
            }
        }
    }
    Ok(())
}

fn join(ports: &[u16]) -> String {
    if ports.is_empty() {
        return "none".into();
    }
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
