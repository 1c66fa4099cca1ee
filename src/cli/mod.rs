//! Command-line parsing (clap) and the glue between arguments, the library and output.
//! Exit codes: 0 holds / reachable on every path, 1 does not hold, 3 some paths only,
//! 2 bad input or usage.

mod audit_cmd;
mod check_cmd;
pub mod ci_out;
mod collect_cmd;
mod diff_cmd;
mod matrix_cmd;
mod trace_cmd;

use clap::{Parser, Subcommand};
use netpath::diag::{Diagnostics, Severity};
use netpath::model::Snapshot;
use netpath::report::ci::Verbosity;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Exit code for bad input or usage.
pub const EXIT_BAD_INPUT: i32 = 2;

/// netpath: can A reach B, and why? Hop by hop through VPCs, subnets, route tables, security
/// groups, NACLs, gateways and load balancers.
#[derive(Debug, Parser)]
#[command(name = "netpath", version, about, long_about = None)]
pub struct Cli {
    /// Snapshot directory (default: $NETPATH_SNAPSHOT, else the current directory).
    #[arg(
        short = 's',
        long = "snapshot",
        global = true,
        env = "NETPATH_SNAPSHOT"
    )]
    pub snapshot: Option<PathBuf>,
    /// Never colour the output (colour is used only on a terminal, and never with NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Print only the verdicts (no warnings); `check`, `audit`, `diff`: only failures.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// `check`, `audit`, `diff`: show the details of every finding (the trace of each assertion).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats of `trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, hop by hop.
    Text,
    /// The contract's JSON.
    Json,
    /// Graphviz dot: hops as nodes, the deciding rule on each edge, denials in red.
    Dot,
    /// Mermaid flowchart (renders in GitHub/GitLab Markdown).
    Mermaid,
    /// SVG drawn by Graphviz `dot` (must be installed).
    Svg,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Trace a flow from SRC to DST, hop by hop, and its reply.
    Trace(trace_cmd::TraceArgs),
    /// Run scenario files of reachability assertions.
    Check(check_cmd::CheckArgs),
    /// Every workload to every workload: the connections the policies allow.
    Matrix(matrix_cmd::MatrixArgs),
    /// Every flow whose reachability changed between two snapshots.
    Diff(diff_cmd::DiffArgs),
    /// Findings about the snapshot, each with a severity and the file and line to change.
    Audit(audit_cmd::AuditArgs),
    /// Gather a snapshot from the live account and cluster with your `aws` and `kubectl`.
    Collect(collect_cmd::CollectArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Parses arguments and runs; returns the exit code.
pub fn run() -> i32 {
    let mut command = <Cli as clap::CommandFactory>::command();
    if invoked_as_kubectl_plugin() {
        command = command.bin_name(KUBECTL_PLUGIN_USAGE);
    }
    let parsed = command
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_BAD_INPUT } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let color = !cli.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal();
    let snapshot = cli.snapshot.clone().unwrap_or_else(|| PathBuf::from("."));
    match &cli.command {
        Command::Trace(a) => trace_cmd::run(&snapshot, a, color, cli.quiet),
        Command::Check(a) => check_cmd::run(
            cli.snapshot.as_deref(),
            a,
            color,
            Verbosity::from_flags(cli.quiet, cli.verbose),
        ),
        Command::Matrix(a) => matrix_cmd::run(&snapshot, a, color, cli.quiet),
        Command::Diff(a) => {
            diff_cmd::run(a, cli.quiet, Verbosity::from_flags(cli.quiet, cli.verbose))
        }
        Command::Audit(a) => audit_cmd::run(
            &snapshot,
            a,
            cli.quiet,
            Verbosity::from_flags(cli.quiet, cli.verbose),
        ),
        Command::Collect(a) => collect_cmd::run(a),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let name = cmd.get_name().to_string();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut cmd, name, &mut script);
            // A closed pipe (`| head`) is not an error.
            let mut stdout = std::io::stdout().lock();
            let _ = std::io::Write::write_all(&mut stdout, &script)
                .and_then(|()| std::io::Write::flush(&mut stdout));
            0
        }
    }
}

/// The executable name kubectl looks for on PATH (`kubectl netpath …` runs `kubectl-netpath …`).
pub const KUBECTL_PLUGIN_NAME: &str = "kubectl-netpath";

/// How usage and help name the command when run as the kubectl plugin.
const KUBECTL_PLUGIN_USAGE: &str = "kubectl netpath";

/// True when the binary was started as (or through a symlink named) `kubectl-netpath`.
fn invoked_as_kubectl_plugin() -> bool {
    std::env::args_os()
        .next()
        .and_then(|a| Path::new(&a).file_stem().map(|s| s == KUBECTL_PLUGIN_NAME))
        .unwrap_or(false)
}

/// Loads a snapshot; on errors prints every diagnostic and returns `None`.
///
/// The snapshot lives until the process exits: it is leaked rather than dropped, since freeing
/// millions of small allocations one by one just before exit costs time and gains nothing.
pub fn load(dir: &Path, quiet: bool) -> Option<&'static Snapshot> {
    if !dir.exists() {
        eprintln!("error[snapshot]: {}: no such file or directory\n  expected: a snapshot directory (-s DIR or $NETPATH_SNAPSHOT)", dir.display());
        return None;
    }
    let (snap, diags) = netpath::ingest::load_snapshot(dir);
    report_diags(&snap, &diags, quiet);
    if diags.has_errors() {
        return None;
    }
    Some(Box::leak(Box::new(snap)))
}

fn report_diags(snap: &Snapshot, diags: &Diagnostics, quiet: bool) {
    let shown = Diagnostics {
        items: diags
            .items
            .iter()
            .filter(|d| !quiet || d.severity == Severity::Error)
            .cloned()
            .collect(),
    };
    if !shown.items.is_empty() {
        eprintln!("{}", shown.render(&snap.sources));
    }
    let n = diags.errors().count();
    if n > 0 {
        eprintln!("{n} error(s) in the snapshot; nothing was traced");
    }
}

/// Writes a report to stdout; a closed pipe (`| head`) is not an error: stop quietly.
pub fn write_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, text.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut stdout));
}
