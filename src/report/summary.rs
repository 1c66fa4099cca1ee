//! Compact trace summaries: one line per step, for `check -v`, CI details and the HTML matrix.

use crate::model::SourceMap;
use crate::trace::{Hop, Path, Step};
use std::fmt::Write as _;

/// The step that stopped a path that was not delivered (the last step of the forward hops, or
/// of the reply when the forward direction succeeded), with `"forward"` or `"reply"`.
pub fn stopping_step(p: &Path) -> Option<(&Hop, &Step, &'static str)> {
    if p.disposition.is_success() {
        return None;
    }
    let (hop, dir) = if p.forward.is_success() {
        (p.reply.last()?, "reply")
    } else {
        (p.hops.last()?, "forward")
    };
    Some((hop, hop.steps.last()?, dir))
}

/// `rule: detail [file:line]` of one step.
pub fn step_line(sources: &SourceMap, s: &Step) -> String {
    let mut line = format!(
        "{} {} {} {}: {}",
        s.kind.as_str(),
        s.layer.as_str(),
        s.action.as_str(),
        s.rule,
        s.detail
    );
    if let Some(p) = &s.source {
        let _ = write!(line, " [{}]", sources.cite(p));
    }
    line
}

fn hops(out: &mut String, sources: &SourceMap, indent: &str, hs: &[Hop]) {
    for h in hs {
        for s in &h.steps {
            let _ = writeln!(out, "{indent}{}: {}", h.at, step_line(sources, s));
        }
    }
}

/// Every path, hop by hop, one line per step (reply included).
pub fn paths(sources: &SourceMap, ps: &[Path]) -> String {
    let mut out = String::new();
    for (i, p) in ps.iter().enumerate() {
        let _ = writeln!(out, "path {}: {}", i + 1, p.disposition.as_str());
        hops(&mut out, sources, "  ", &p.hops);
        if p.forward.is_success() {
            let _ = writeln!(out, "  reply:");
            hops(&mut out, sources, "    ", &p.reply);
        }
    }
    out
}

/// One line per path that was not delivered: `path N: disposition (direction) at HOP: rule:
/// detail [file:line]`.
pub fn stops(sources: &SourceMap, ps: &[Path]) -> String {
    let mut out = String::new();
    for (i, p) in ps.iter().enumerate() {
        if let Some((h, s, dir)) = stopping_step(p) {
            let src = s
                .source
                .as_ref()
                .map(|x| format!(" [{}]", sources.cite(x)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "path {}: {} ({dir}) at {}: {}: {}{src}",
                i + 1,
                p.disposition.as_str(),
                h.at,
                s.rule,
                s.detail
            );
        }
    }
    out
}
