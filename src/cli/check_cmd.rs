//! `netpath check SCENARIO.yaml...`.

use super::ci_out::{self, CiOutput};
use super::{load, EXIT_BAD_INPUT};
use netpath::check::{self, Expectation};
use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::graph::Index;
use netpath::model::{Protocol, Snapshot, SourceMap};
use netpath::report::ci::Verbosity;
use netpath::report::findings::{Finding, FindingLevel};
use netpath::report::{junit, summary};
use netpath::trace::{Query, Reachable, Start, Tracer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Output format on stdout (the exit code is the same in every format).
    #[arg(short, long, value_enum, default_value_t = CiOutput::Text)]
    pub output: CiOutput,
}

struct Outcome {
    pass: bool,
    summary: String,
    /// What stopped each path that was not delivered (and unmet `via` kinds).
    stops: String,
    /// Every path, step by step.
    trace: String,
}

/// Runs one expectation against a snapshot.
fn evaluate(snap: &Snapshot, ix: &Index, e: &Expectation) -> Result<Outcome, String> {
    let protocol = match &e.protocol {
        Some(p) => Protocol::parse(p).ok_or_else(|| format!("unknown protocol {p:?}"))?,
        None => Protocol::Tcp,
    };
    let src = resolve_source(snap, ix, &e.from)?;
    let dst = resolve_destination(snap, ix, &e.to, src.start == Start::Internet)?;
    let tracer = Tracer::new(snap, ix);
    let port = e.port.map(|p| p as u16);
    let q = Query {
        start: src.start,
        src_ip: src.ip,
        dst_ips: dst.ips,
        protocol,
        dst_port: port.unwrap_or(0),
        src_port: None,
        icmp_type: if matches!(protocol, Protocol::Icmp | Protocol::Icmpv6) {
            8
        } else {
            0
        },
        http: (e.http_method.is_some() || e.http_path.is_some() || e.http_host.is_some()).then(
            || netpath::policy::istio::HttpAttrs {
                method: e.http_method.clone(),
                path: e.http_path.clone(),
                host: e.http_host.clone(),
                headers: None,
            },
        ),
    };
    let (reachable, paths) = if port.is_none() && protocol.has_ports() {
        let a = tracer.trace_all_ports(&q);
        let r = a.reachable();
        let paths: Vec<_> = a.outcomes.into_iter().flat_map(|o| o.trace.paths).collect();
        // Without a port, "reachable" asks whether anything gets through.
        (
            if matches!(r, Reachable::Some) {
                Reachable::All
            } else {
                r
            },
            paths,
        )
    } else {
        let t = tracer.trace(&q);
        (t.reachable, t.paths)
    };
    let mut pass = if e.reachable {
        reachable == Reachable::All
    } else {
        reachable == Reachable::None
    };
    let mut stops = String::new();
    if pass && e.reachable {
        if let Some(via) = &e.via {
            for v in via {
                let seen = paths
                    .iter()
                    .filter(|p| p.disposition.is_success())
                    .all(|p| {
                        p.hops
                            .iter()
                            .any(|h| h.steps.iter().any(|s| s.kind.as_str() == v))
                    });
                if !seen {
                    pass = false;
                    stops.push_str(&format!(
                        "expected every delivered path to include a {v} step\n"
                    ));
                }
            }
        }
    }
    stops.push_str(&summary::stops(&snap.sources, &paths));
    if !pass && e.reachable && port.is_some() {
        let plan = netpath::fix::suggest(snap, &q);
        stops.push_str(&netpath::report::fix::render_text(&plan, 0));
    }
    let port_text = port
        .map(|p| format!("{protocol}/{p}"))
        .unwrap_or_else(|| "any port".into());
    let summary = format!(
        "{} -> {} {port_text}: expected {}, got {}",
        e.from,
        e.to,
        if e.reachable {
            "reachable"
        } else {
            "not reachable"
        },
        reachable.as_str()
    );
    Ok(Outcome {
        pass,
        summary,
        stops,
        trace: summary::paths(&snap.sources, &paths),
    })
}

/// Runs `check`; returns the exit code.
pub fn run(
    global_snapshot: Option<&Path>,
    a: &CheckArgs,
    _color: bool,
    verbosity: Verbosity,
) -> i32 {
    let quiet = verbosity == Verbosity::Quiet;
    let mut cache: BTreeMap<PathBuf, Option<(&'static Snapshot, Index)>> = BTreeMap::new();
    let mut bad = false;
    let mut findings = Vec::new();
    for path in &a.scenarios {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error[scenario]: {}: cannot read: {e}", path.display());
                bad = true;
                continue;
            }
        };
        let mut sources = SourceMap::new();
        let file = sources.add(path.clone(), text);
        let scenario = match check::parse(&sources, file) {
            Ok(s) => s,
            Err(diags) => {
                for d in diags {
                    eprintln!("{}", d.render(&sources));
                }
                bad = true;
                continue;
            }
        };
        let dir = match (&scenario.snapshot, global_snapshot) {
            (Some(rel), _) => path.parent().unwrap_or(Path::new(".")).join(rel),
            (None, Some(g)) => g.to_path_buf(),
            (None, None) => PathBuf::from("."),
        };
        let entry = cache.entry(dir.clone()).or_insert_with(|| {
            load(&dir, quiet).map(|s| {
                let ix = Index::compile(s);
                (s, ix)
            })
        });
        let Some((snap, ix)) = entry else {
            bad = true;
            continue;
        };
        let shown_path = path.display().to_string();
        for (line, e) in &scenario.expect {
            match evaluate(snap, ix, e) {
                Ok(o) => findings.push(finding(&shown_path, *line, o)),
                Err(msg) => {
                    eprintln!("{shown_path}:{line}: error[endpoint]: {msg}");
                    bad = true;
                }
            }
        }
    }
    if let Some(j) = &a.junit {
        let xml = junit::render("netpath check", &findings, verbosity);
        if let Err(e) = std::fs::write(j, xml) {
            eprintln!("error[junit]: {}: cannot write: {e}", j.display());
            return EXIT_BAD_INPUT;
        }
    }
    let code = if !findings.is_empty() || !bad {
        ci_out::emit(a.output, "check", &findings, verbosity)
    } else {
        0
    };
    if bad {
        EXIT_BAD_INPUT
    } else {
        code
    }
}

/// One expectation's outcome as a finding at its scenario file and line.
fn finding(file: &str, line: u32, o: Outcome) -> Finding {
    let message = if o.stops.is_empty() {
        o.summary.clone()
    } else {
        format!("{}\n{}", o.summary, o.stops.trim_end())
    };
    Finding {
        rule_id: "check/assertion".into(),
        level: if o.pass {
            FindingLevel::Note
        } else {
            FindingLevel::Error
        },
        name: o.summary,
        group: file.to_string(),
        message,
        file: Some(file.to_string()),
        line: Some(line),
        column: None,
        detail: o.trace,
        failed: !o.pass,
    }
}
