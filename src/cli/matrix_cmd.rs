//! `netpath matrix`.

use super::{load, EXIT_BAD_INPUT};
use netpath::diag::Severity;
use netpath::matrix::{self, Grouping, Layers};
use netpath::report::matrix as render;
use std::path::Path;

/// Output formats of `matrix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MatrixFormat {
    /// Human-readable, one pair per line.
    Text,
    /// The contract's JSON (`endpoints`, `connections`).
    Json,
    /// `src,dst,protocol,ports`.
    Csv,
    /// netpol-analyzer's connlist lines (`src => dst : conns`).
    Connlist,
}

/// How to group pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// One row per pod.
    Pod,
    /// One row per controller, `NS/NAME[Kind]`.
    Workload,
}

/// A policy layer of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layer {
    /// NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy.
    Netpol,
    /// Istio PeerAuthentication and AuthorizationPolicy.
    Istio,
}

/// Arguments of `matrix`.
#[derive(Debug, clap::Args)]
pub struct MatrixArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = MatrixFormat::Text)]
    pub output: MatrixFormat,
    /// Rows per pod or per workload.
    #[arg(long, value_enum, default_value_t = By::Pod)]
    pub by: By,
    /// Layers to combine, comma-separated (`netpol,istio`); default: every layer present in
    /// the snapshot.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub layers: Option<Vec<Layer>>,
}

/// Runs `matrix`; returns the exit code.
pub fn run(snapshot: &Path, a: &MatrixArgs, _color: bool, quiet: bool) -> i32 {
    let Some(snap) = load(snapshot, quiet) else {
        return EXIT_BAD_INPUT;
    };
    let by = match a.by {
        By::Pod => Grouping::Pod,
        By::Workload => Grouping::Workload,
    };
    let diags = matrix::validate(&snap.cluster, by);
    let shown: Vec<_> = diags
        .items
        .iter()
        .filter(|d| !quiet || d.severity == Severity::Error)
        .collect();
    for d in &shown {
        eprintln!("{}", d.render(&snap.sources));
    }
    if diags.has_errors() {
        eprintln!(
            "{} error(s) in the policies; no matrix was computed",
            diags.errors().count()
        );
        return EXIT_BAD_INPUT;
    }
    let layers = match &a.layers {
        None => Layers::present(&snap.cluster),
        Some(l) => Layers {
            netpol: l.contains(&Layer::Netpol),
            istio: l.contains(&Layer::Istio),
        },
    };
    let m = matrix::build_layers(&snap.cluster, by, layers);
    let out = match a.output {
        MatrixFormat::Text => render::render_text(&m),
        MatrixFormat::Json => render::render_json(&m),
        MatrixFormat::Csv => render::render_csv(&m),
        MatrixFormat::Connlist => render::render_connlist(&m),
    };
    // A closed pipe (`| head`) is not an error of the matrix: stop quietly.
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, out.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut stdout));
    0
}
