//! `netpath audit`: findings about the snapshot, each with a severity and the file and line to
//! change. Static checks read the model ([`cloud`], [`cluster`]); flow checks trace the flows
//! that matter ([`flows`]: replies dropped by NACLs, pods reachable directly by their VPC
//! address).
//!
//! Severity: `error` for what breaks allowed traffic or opens a tier that should be closed
//! (a blackhole route, a NACL that drops the replies of an allowed flow, a route to the
//! internet from an isolated tier, a security group open to the world on a private tier that
//! no load balancer explains, kube-proxy rules pointing at endpoints that no longer exist);
//! `warning` for what weakens isolation or is likely a mistake; `note` for information.

pub mod cloud;
pub mod cluster;
pub mod flows;

use crate::graph::Index;
use crate::model::Snapshot;
use crate::report::findings::{Finding, FindingLevel};
use crate::source::Provenance;

/// Builds one finding, resolving the provenance to a file and line.
pub(crate) fn finding(
    snap: &Snapshot,
    rule_id: &str,
    level: FindingLevel,
    name: String,
    message: String,
    at: Option<&Provenance>,
) -> Finding {
    let (file, line, column) = match at {
        Some(p) => {
            let lc = snap.sources.resolve(p);
            (
                Some(snap.sources.path(p.file).display().to_string()),
                Some(lc.line),
                Some(lc.col),
            )
        }
        None => (None, None, None),
    };
    Finding {
        rule_id: rule_id.to_string(),
        level,
        name,
        group: rule_id
            .split_once('/')
            .map(|(_, g)| g.to_string())
            .unwrap_or_default(),
        message,
        file,
        line,
        column,
        detail: String::new(),
        failed: level == FindingLevel::Error,
    }
}

/// Every finding of the snapshot, sorted by severity, rule, file and line.
pub fn audit(snap: &Snapshot) -> Vec<Finding> {
    let ix = Index::compile(snap);
    let mut out = Vec::new();
    cloud::check(snap, &ix, &mut out);
    cluster::check(snap, &ix, &mut out);
    flows::check(snap, &ix, &mut out);
    out.sort_by(|a, b| {
        (a.level, &a.rule_id, &a.file, a.line, &a.name)
            .cmp(&(b.level, &b.rule_id, &b.file, b.line, &b.name))
    });
    out.dedup_by(|a, b| a.rule_id == b.rule_id && a.name == b.name && a.message == b.message);
    out
}
