//! `rampart rules …`: edit the filter's allow, deny and rate-limit rules live.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use rampart_common::maps::RateLimit;

use crate::filter::{
    describe_rate,
    rules_file::{self, parse_ttl},
    Cidr, ListKind, Loader,
};

/// `rampart rules …`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Add a block to the allow- or deny-list.
    Add {
        /// `allow` or `deny`.
        list: AddList,
        /// The block, e.g. 203.0.113.0/24 or 2001:db8::/32.
        cidr: Cidr,
        /// Deny only for this long (e.g. 30s, 10m, 2h, 1d).
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
    },
    /// Remove a block from a list.
    Del {
        /// `allow`, `deny` or `ratelimit`.
        list: DelList,
        /// The block exactly as added.
        cidr: Cidr,
    },
    /// Set the global rate limit, or one for a block with --cidr.
    Ratelimit(RatelimitArgs),
    /// Show every rule.
    List,
    /// Replace every rule with a TOML file's, after checking all of it.
    Load {
        /// The rules file (see `deploy/rules.example.toml`).
        file: PathBuf,
    },
}

/// Lists `rules add` takes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AddList {
    /// Pass without further checks.
    Allow,
    /// Drop.
    Deny,
}

/// Lists `rules del` takes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DelList {
    /// The allow-list.
    Allow,
    /// The deny-list.
    Deny,
    /// Per-CIDR rate limits.
    Ratelimit,
}

/// Arguments of `rampart rules ratelimit`.
#[derive(Debug, Args)]
pub struct RatelimitArgs {
    /// Apply to this block only (default: every source no block rule covers).
    #[arg(long)]
    cidr: Option<Cidr>,
    /// Packets per second per source (0 = no packet limit).
    #[arg(long)]
    pps: u64,
    /// Packets a source may send at once.
    #[arg(long)]
    burst: u64,
    /// Bytes per second per source (0 = no byte limit).
    #[arg(long, default_value_t = 0)]
    bps: u64,
    /// Bytes a source may send at once (default: one second of --bps).
    #[arg(long)]
    burst_bytes: Option<u64>,
}

const EDIT: &str = "editing the filter's rules"; // as refusals name them
const RATE: &str = "changing the filter's rate limits";
const LIST: &str = "reading the filter's rules";

/// Runs a `rampart rules` subcommand; who may is checked before anything else.
///
/// # Errors
/// The filter's errors (neither root nor the configured group, not attached,
/// overlap, bad values).
pub fn run(command: &RulesCommand) -> anyhow::Result<()> {
    let loader = Loader::default();
    match command {
        RulesCommand::Load { file } => {
            let mut maps = loader.maps_for(EDIT)?;
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let rules = rules_file::parse(&text)
                .with_context(|| format!("{} is not valid; nothing changed", file.display()))?;
            maps.replace_rules(&rules)?;
            println!(
                "loaded {}: {} allow, {} deny, {} rate-limit blocks",
                file.display(),
                rules.allow.len(),
                rules.deny.len(),
                rules.rate.len()
            );
        }
        RulesCommand::Add { list, cidr, ttl } => {
            let mut maps = loader.maps_for(EDIT)?;
            match list {
                AddList::Allow => {
                    anyhow::ensure!(ttl.is_none(), "--ttl applies to deny entries only");
                    maps.add_allow(*cidr)?;
                }
                AddList::Deny => maps.add_deny(*cidr, *ttl)?,
            }
            println!("added {cidr}");
        }
        RulesCommand::Del { list, cidr } => {
            let kind = match list {
                DelList::Allow => ListKind::Allow,
                DelList::Deny => ListKind::Deny,
                DelList::Ratelimit => ListKind::Rate,
            };
            loader.maps_for(EDIT)?.remove(kind, *cidr)?;
            println!("removed {cidr} from the {} list", kind.label());
        }
        RulesCommand::Ratelimit(args) => {
            let limit = RateLimit {
                pps: args.pps,
                burst_packets: args.burst,
                bps: args.bps,
                burst_bytes: args.burst_bytes.unwrap_or(args.bps),
            };
            loader.maps_for(RATE)?.set_rate(args.cidr, limit)?;
            let target = args.cidr.map_or("global rate limit".into(), |c| {
                format!("rate limit for {c}")
            });
            println!("{target}: {}", describe_rate(&limit));
        }
        RulesCommand::List => print!("{}", loader.maps_for(LIST)?.rules()?),
    }
    Ok(())
}
