//! Scenario files: reachability assertions run in CI.
//!
//! A scenario (`apiVersion: netpath/v1`, `kind: Scenario`) names a snapshot (relative to the
//! file) and a list of expectations; each is traced and compared with what it expects.

use crate::diag::{Diagnostic, Severity};
use crate::source::{FileId, Provenance, SourceMap};
use serde::Deserialize;
use serde_saphyr::Spanned;

/// One expectation as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Source endpoint.
    pub from: String,
    /// Destination endpoint.
    pub to: String,
    /// Destination port; absent means "any protocol and port".
    #[serde(default)]
    pub port: Option<u32>,
    /// Protocol (default tcp).
    #[serde(default)]
    pub protocol: Option<String>,
    /// What must hold: `true` = reachable on every path, `false` = on none.
    pub reachable: bool,
    /// Step kinds the delivered paths must include.
    #[serde(default)]
    pub via: Option<Vec<String>>,
    /// HTTP method, for Istio rules on methods.
    #[serde(default)]
    pub http_method: Option<String>,
    /// HTTP path, for Istio rules on paths.
    #[serde(default)]
    pub http_path: Option<String>,
    /// HTTP host, for Istio rules on hosts.
    #[serde(default)]
    pub http_host: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(rename = "apiVersion")]
    api_version: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    snapshot: Option<String>,
    #[serde(default)]
    description: Option<String>,
    expect: Vec<Spanned<Expectation>>,
}

/// A parsed scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file.
    pub file: FileId,
    /// The snapshot it names, relative to the file's directory.
    pub snapshot: Option<String>,
    /// A description, if given.
    pub description: Option<String>,
    /// Expectations with their line numbers.
    pub expect: Vec<(u32, Expectation)>,
}

fn err(file: FileId, line: u32, col: u32, msg: impl Into<String>, expected: &str) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        code: "scenario",
        message: msg.into(),
        at: Some(Provenance::at(file, line, col)),
        expected: Some(expected.into()),
    }
}

/// The YAML budget for scenario files: the parser's defaults, with anchors and aliases held to
/// a small allowance so that an alias bomb is a quick, located error.
fn scenario_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_recorded_anchor_events = 10_000;
    budget.max_recorded_anchor_bytes = 8 << 20;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    opts.alias_limits.max_total_replayed_events = 100_000;
    opts
}

/// Parses a scenario file already added to `sources`.
pub fn parse(sources: &SourceMap, file: FileId) -> Result<Scenario, Vec<Diagnostic>> {
    let text = &sources.file(file).text;
    let raw: RawScenario = match serde_saphyr::from_str_with_options(text, scenario_options()) {
        Ok(r) => r,
        Err(e) => {
            let (line, col) = e
                .location()
                .map(|l| (l.line() as u32, l.column() as u32))
                .unwrap_or((1, 1));
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid scenario").to_string();
            return Err(vec![err(file, line.max(1), col.max(1), format!("invalid scenario: {first}"),
                "apiVersion: netpath/v1, kind: Scenario, optional snapshot, and expect: a list of {from, to, port, protocol, reachable, via}")]);
        }
    };
    let mut problems = Vec::new();
    if raw.api_version.value != "netpath/v1" {
        let l = &raw.api_version.referenced;
        problems.push(err(
            file,
            l.line() as u32,
            l.column() as u32,
            format!("unsupported apiVersion {:?}", raw.api_version.value),
            "netpath/v1",
        ));
    }
    if raw.kind.value != "Scenario" {
        let l = &raw.kind.referenced;
        problems.push(err(
            file,
            l.line() as u32,
            l.column() as u32,
            format!("unsupported kind {:?}", raw.kind.value),
            "Scenario",
        ));
    }
    let mut expect = Vec::new();
    for e in raw.expect {
        let (line, col) = (e.referenced.line() as u32, e.referenced.column() as u32);
        if let Some(p) = e.value.port {
            if p > 65535 {
                problems.push(err(
                    file,
                    line,
                    col,
                    format!("port {p} is outside 0-65535"),
                    "a port number from 0 to 65535",
                ));
            }
        }
        if let Some(p) = &e.value.protocol {
            if crate::model::Protocol::parse(p).is_none() {
                problems.push(err(
                    file,
                    line,
                    col,
                    format!("unknown protocol {p:?}"),
                    "tcp, udp, sctp, icmp, icmpv6 or a protocol number",
                ));
            }
        }
        for v in e.value.via.iter().flatten() {
            if !crate::trace::StepKind::ALL.iter().any(|k| k.as_str() == v) {
                problems.push(err(
                    file,
                    line,
                    col,
                    format!("unknown step kind {v:?} in via"),
                    "veth, vpc_fabric, tunnel, route, filter, dnat, snat, load_balancer, deliver",
                ));
            }
        }
        expect.push((line, e.value));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Scenario {
        file,
        snapshot: raw.snapshot,
        description: raw.description,
        expect,
    })
}
