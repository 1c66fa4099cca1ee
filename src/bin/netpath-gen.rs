//! `netpath-gen`: writes a deterministic synthetic snapshot directory for benchmarks.
//!
//! ```sh
//! netpath-gen --size large --out /tmp/large
//! netpath-gen --size pods-300 --netpol-only --out /tmp/np300
//! ```

use clap::Parser;
use netpath::gen::{generate, Parts, Spec};
use std::path::PathBuf;
use std::process::ExitCode;

/// Writes a synthetic EKS snapshot (aws, kubectl and iptables-save files).
#[derive(Debug, Parser)]
#[command(name = "netpath-gen", version)]
struct Args {
    /// Size: tiny, small, large, extreme, or pods-N (the small cluster scaled to N pods).
    #[arg(long, default_value = "small")]
    size: String,
    /// Output directory (created).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the pseudo-random choices.
    #[arg(long)]
    seed: Option<u64>,
    /// How many nodes get an iptables-save dump (default: the size's own).
    #[arg(long)]
    iptables_dumps: Option<usize>,
    /// Only namespaces, pods and NetworkPolicies.
    #[arg(long)]
    netpol_only: bool,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let Some(mut spec) = Spec::by_name(&a.size) else {
        eprintln!(
            "netpath-gen: unknown size {:?}; expected tiny, small, large, extreme or pods-N (N >= 10)",
            a.size
        );
        return ExitCode::from(2);
    };
    if let Some(s) = a.seed {
        spec.seed = s;
    }
    if let Some(n) = a.iptables_dumps {
        spec.iptables_dumps = n.min(spec.nodes);
    }
    let parts = if a.netpol_only {
        Parts::NetworkPolicy
    } else {
        Parts::All
    };
    match generate(&spec, &a.out, parts) {
        Ok(s) => {
            eprintln!(
                "{}: {} files, {:.1} MB, {} pods, largest iptables-save {} lines",
                spec.name,
                s.files,
                s.bytes as f64 / 1e6,
                s.pods,
                s.iptables_lines
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("netpath-gen: {}: {e}", a.out.display());
            ExitCode::from(2)
        }
    }
}
