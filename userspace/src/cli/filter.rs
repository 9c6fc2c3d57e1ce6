//! `rampart filter attach|detach|status|access`: the XDP program's attachment,
//! and who besides root may edit its rules.

use clap::{Args, Subcommand};

use crate::filter::{
    access::{blocked_note, Need},
    describe_ports, Access, AttachMode, Loader,
};

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
    /// Where the filter is attached, in which mode, the protected ports, and
    /// who may edit the rules.
    Status,
    /// Let a group read and edit the rules and counters, or take that away,
    /// without detaching. Attaching and detaching stay root's.
    Access(AccessArgs),
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
    /// Group (name or gid) whose members may read and edit the rules and
    /// counters too. Default: whatever the pin directory already grants,
    /// root only for a new one.
    #[arg(long)]
    group: Option<String>,
}

/// Arguments of `rampart filter access`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct AccessArgs {
    /// Group (name or gid) whose members may read and edit rules and counters.
    #[arg(long)]
    group: Option<String>,
    /// Root only.
    #[arg(long)]
    root_only: bool,
}

/// Default protected port when none was ever set.
const DEFAULT_PORT: u16 = 8009;

/// Runs a `rampart filter` subcommand.
///
/// # Errors
/// The filter's errors, which name what to do (or what is needed).
pub fn run(command: &FilterCommand) -> anyhow::Result<()> {
    let mut loader = Loader::default();
    match command {
        FilterCommand::Attach(args) => {
            loader.check(Need::Root, "attaching the XDP filter")?;
            if let Some(group) = &args.group {
                loader.access(Access::for_group(group)?);
            }
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
                describe_ports(&ports)
            );
            print_access(&loader)?;
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
                let stale = if a.live {
                    ""
                } else {
                    " (stale pin: interface gone?)"
                };
                println!("{}: {} mode{stale}", a.iface, a.mode);
            }
            if let Ok(maps) = loader.maps() {
                println!("protected UDP ports: {}", describe_ports(&maps.ports()?));
            }
            print_access(&loader)?;
        }
        FilterCommand::Access(args) => {
            let access = match &args.group {
                Some(group) => Access::for_group(group)?,
                None => Access::RootOnly,
            };
            loader.change_access(access)?;
            print_access(&loader)?;
        }
    }
    Ok(())
}

fn print_access(loader: &Loader) -> anyhow::Result<()> {
    if let Some(access) = loader.current_access()? {
        println!("control: {}", access.describe());
        if let Some(note) = blocked_note(loader.pin_dir(), access) {
            println!("{note}");
        }
    }
    Ok(())
}
