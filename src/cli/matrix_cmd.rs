//! `netpath matrix`.

use super::{load, EXIT_BAD_INPUT};
use netpath::diag::Severity;
use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::graph::Index;
use netpath::matrix::{self, Grouping, Layers};
use netpath::matrix::{Matrix, MatrixEndpoint};
use netpath::model::{Protocol, Snapshot};
use netpath::report::html::{self, PairTrace};
use netpath::report::matrix as render;
use netpath::trace::{Query, Tracer};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
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
    /// A self-contained HTML page: namespace-grouped matrix, click a cell for its trace.
    Html,
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
    /// `-o html`: at most this many pairs are traced and embedded (allowed pairs first).
    #[arg(long, default_value_t = 2000)]
    pub trace_limit: usize,
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
    // Large formats are written as they are produced; a closed pipe (`| head`) is not an error
    // of the matrix: stop quietly.
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = match a.output {
        MatrixFormat::Text => render::write_text(&m, &mut stdout),
        MatrixFormat::Json => render::write_json(&m, &mut stdout),
        MatrixFormat::Csv => render::write_csv(&m, &mut stdout),
        MatrixFormat::Connlist => stdout.write_all(render::render_connlist(&m).as_bytes()),
        MatrixFormat::Html => {
            stdout.write_all(html_page(snap, snapshot, &m, a.trace_limit).as_bytes())
        }
    };
    let _ = written.and_then(|()| stdout.flush());
    0
}

/// The name `trace` accepts for a matrix endpoint (pods and workloads only).
fn trace_name(e: &MatrixEndpoint) -> Option<String> {
    match e {
        MatrixEndpoint::Pod { namespace, name }
        | MatrixEndpoint::Workload {
            namespace, name, ..
        } => Some(format!("{namespace}/{name}")),
        _ => None,
    }
}

/// The first TCP container port of the pod at one of `ips`.
fn container_port(snap: &Snapshot, ips: &[IpAddr]) -> Option<u16> {
    snap.cluster
        .pods
        .iter()
        .filter(|p| p.pod_ips.iter().any(|ip| ips.contains(ip)))
        .flat_map(|p| &p.spec.containers)
        .flat_map(|c| &c.ports)
        .find(|p| p.protocol == Protocol::Tcp)
        .map(|p| p.container_port)
}

/// Traces up to `limit` pairs (allowed pairs first, then the rest, in matrix order) on one TCP
/// port each (the lowest the policies allow, else the destination's first container port) and
/// renders the page.
fn html_page(snap: &Snapshot, dir: &Path, m: &Matrix, limit: usize) -> String {
    let ix = Index::compile(snap);
    let tracer = Tracer::new(snap, &ix);
    let mut allowed_tcp: BTreeMap<(usize, usize), Option<u16>> = BTreeMap::new();
    for c in m.cells() {
        let set = m.conns(&c);
        // Everything allowed: the destination's own port tells more than port 1.
        let low = (!set.is_all())
            .then(|| {
                set.groups()
                    .into_iter()
                    .find(|(p, _)| *p == Protocol::Tcp)
                    .and_then(|(_, ports)| ports.ranges().first().map(|r| r.lo.max(1)))
            })
            .flatten();
        allowed_tcp.insert((c.src as usize, c.dst as usize), low);
    }
    let n = m.endpoints.len();
    let mut order: Vec<(usize, usize)> = allowed_tcp.keys().copied().collect();
    order.extend(
        (0..n)
            .flat_map(|s| (0..n).map(move |d| (s, d)))
            .filter(|k| k.0 != k.1 && !allowed_tcp.contains_key(k)),
    );
    let mut traces = BTreeMap::new();
    let mut commands = BTreeMap::new();
    let mut traced = 0usize;
    for (s, d) in order {
        let (Some(src_name), Some(dst_name)) =
            (trace_name(&m.endpoints[s]), trace_name(&m.endpoints[d]))
        else {
            continue;
        };
        let Ok(src) = resolve_source(snap, &ix, &src_name) else {
            continue;
        };
        let Ok(dst) = resolve_destination(snap, &ix, &dst_name, false) else {
            continue;
        };
        let port = allowed_tcp
            .get(&(s, d))
            .copied()
            .flatten()
            .or_else(|| container_port(snap, &dst.ips));
        let base = format!("netpath -s {} trace {src_name} {dst_name}", dir.display());
        let Some(port) = port else {
            commands.insert((s, d), base);
            continue;
        };
        commands.insert((s, d), format!("{base} --port {port}"));
        if traced >= limit {
            continue;
        }
        traced += 1;
        let q = Query {
            start: src.start,
            src_ip: src.ip,
            dst_ips: dst.ips,
            protocol: Protocol::Tcp,
            dst_port: port,
            src_port: None,
            icmp_type: 0,
            http: None,
        };
        let t = tracer.trace(&q);
        traces.insert(
            (s, d),
            PairTrace {
                flow: format!("tcp/{port}"),
                reachable: t.reachable.as_str().to_string(),
                text: html::trace_summary(&snap.sources, t.reachable, &t.paths),
            },
        );
    }
    let skipped = if traced >= limit {
        format!("over --trace-limit {limit}")
    } else {
        String::new()
    };
    let title = format!(
        "netpath matrix: {} ({} endpoints, layers: {})",
        dir.display(),
        n,
        m.layers.names()
    );
    html::render(m, &title, &traces, &commands, &skipped)
}
