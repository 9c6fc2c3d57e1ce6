//! `rampart stats`: the filter's counters per verdict and port, and top talkers.

use std::time::{Duration, Instant};

use clap::Args;
use rampart_common::Verdict;

use crate::filter::{maps::Counters, Loader};

/// Arguments of `rampart stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Redraw every --interval with per-second rates, until interrupted.
    #[arg(long)]
    watch: bool,
    /// Seconds between redraws with --watch.
    #[arg(long, default_value_t = 1.0)]
    interval: f64,
    /// How many top talkers (sources with most drops) to show.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Print one JSON object (counters only) and exit.
    #[arg(long)]
    json: bool,
    /// The appliance's metrics endpoint, whose pipeline counters are shown
    /// after the filter's (skipped when nothing listens there).
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics: std::net::SocketAddr,
}

/// Runs `rampart stats`.
///
/// # Errors
/// Not root, or the filter never attached.
pub fn run(args: &StatsArgs) -> anyhow::Result<()> {
    let maps = match Loader::default().maps() {
        Ok(maps) => Some(maps),
        Err(error) => {
            // The pipeline's numbers may still be there without the filter.
            match pipeline_metrics(args.metrics) {
                Some(text) => {
                    println!("XDP filter: {error}");
                    println!();
                    print_pipeline(&text);
                    return Ok(());
                }
                None => return Err(error.into()),
            }
        }
    };
    let Some(maps) = maps else { return Ok(()) };
    if args.json {
        let counters = maps.counters()?;
        let mut object = serde_json::Map::new();
        for verdict in Verdict::ALL {
            object.insert(verdict.label().into(), counters.packets(verdict).into());
        }
        println!("{}", serde_json::Value::Object(object));
        return Ok(());
    }
    let interval = Duration::from_secs_f64(args.interval.max(0.1));
    let mut previous: Option<(Counters, Instant)> = None;
    loop {
        let counters = maps.counters()?;
        let now = Instant::now();
        if args.watch {
            // Clear the screen and home the cursor.
            print!("\x1b[2J\x1b[H");
        }
        print_table(
            &counters,
            previous.as_ref().map(|(c, t)| (c, now.duration_since(*t))),
        );
        println!();
        println!("top talkers (drops):");
        for (source, drops) in maps.top_talkers(args.top)? {
            println!("  {source:<40} {drops:>12}");
        }
        println!("sources with a token bucket: {}", maps.tracked_sources());
        if let Some(text) = pipeline_metrics(args.metrics) {
            println!();
            print_pipeline(&text);
        }
        if !args.watch {
            return Ok(());
        }
        previous = Some((counters, now));
        std::thread::sleep(interval);
    }
}

fn print_table(counters: &Counters, previous: Option<(&Counters, Duration)>) {
    let mut header = format!("{:<32}", "verdict");
    for port in counters.ports.keys() {
        header.push_str(&format!("{:>14}", format!("port {port}")));
    }
    header.push_str(&format!("{:>14}{:>14}", "other", "total"));
    if previous.is_some() {
        header.push_str(&format!("{:>14}", "per second"));
    }
    println!("{header}");
    for verdict in Verdict::ALL {
        let mut line = format!("{:<32}", verdict.label());
        for row in counters.ports.values() {
            line.push_str(&format!("{:>14}", row.verdicts[verdict as usize].packets));
        }
        line.push_str(&format!(
            "{:>14}{:>14}",
            counters.unprotected.verdicts[verdict as usize].packets,
            counters.packets(verdict)
        ));
        if let Some((before, elapsed)) = previous {
            let delta = counters
                .packets(verdict)
                .saturating_sub(before.packets(verdict));
            line.push_str(&format!("{:>14.0}", delta as f64 / elapsed.as_secs_f64()));
        }
        println!("{line}");
    }
}

/// The appliance's Prometheus text, if its endpoint answers.
fn pipeline_metrics(addr: std::net::SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let timeout = Duration::from_millis(300);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: rampart\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// The pipeline's counters, one per line, without the Prometheus comments.
fn print_pipeline(text: &str) {
    println!("pipeline (rampart run):");
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        if let Some((name, value)) = line.rsplit_once(' ') {
            println!("  {:<72}{value:>14}", name.trim_start_matches("rampart_"));
        }
    }
}
