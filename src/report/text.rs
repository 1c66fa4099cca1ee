//! Human-readable trace output for terminals.

use super::FlowSpec;
use crate::model::SourceMap;
use crate::trace::{
    protocol_label, Action, AllPortsAnswer, Disposition, Hop, Path, Reachable, TraceResult,
};
use std::fmt::Write as _;

/// Whether to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// True to emit ANSI colours.
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn good(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn bad(&self, s: &str) -> String {
        self.paint("31", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

fn verdict(st: Style, r: Reachable) -> String {
    match r {
        Reachable::All => st.good("reachable (all paths)"),
        Reachable::Some => st.paint("33", "reachable on some paths only"),
        Reachable::None => st.bad("not reachable"),
        Reachable::Unknown => st.paint("33", "unknown (insufficient information)"),
    }
}

fn disposition(st: Style, d: Disposition) -> String {
    if d.is_success() {
        st.good(d.as_str())
    } else {
        st.bad(d.as_str())
    }
}

fn write_hops(out: &mut String, sources: &SourceMap, st: Style, hops: &[Hop]) {
    for h in hops {
        let _ = write!(out, "    {}", st.bold(&h.at));
        if !h.packet.is_empty() {
            let _ = write!(out, "  {}", st.dim(&h.packet));
        }
        out.push('\n');
        for s in &h.steps {
            let action = match s.action {
                Action::Denied | Action::NoRoute | Action::Blackhole => st.bad(s.action.as_str()),
                Action::Unknown => st.paint("33", s.action.as_str()),
                _ => s.action.as_str().to_string(),
            };
            let _ = writeln!(
                out,
                "      {:<13} {:<15} {:<10} {}",
                s.kind.as_str(),
                s.layer.as_str(),
                action,
                s.rule
            );
            let _ = write!(out, "        {}", s.detail);
            if let Some(p) = &s.source {
                let _ = write!(out, "  {}", st.dim(&format!("[{}]", sources.cite(p))));
            }
            if let Some(c) = s.code {
                let _ = write!(out, "  {}", st.dim(&format!("({c})")));
            }
            out.push('\n');
        }
    }
}

fn write_path(out: &mut String, sources: &SourceMap, st: Style, i: usize, p: &Path) {
    let _ = writeln!(out, "  path {}: {}", i + 1, disposition(st, p.disposition));
    write_hops(out, sources, st, &p.hops);
    if p.forward.is_success() {
        let _ = writeln!(out, "    {}", st.dim("reply:"));
        write_hops(out, sources, st, &p.reply);
    }
}

fn header(f: &FlowSpec) -> String {
    match f.dst_port {
        Some(p) => format!("{} -> {} {}/{}", f.src, f.dst, f.protocol, p),
        None if f.protocol == "any" => format!("{} -> {} (every protocol and port)", f.src, f.dst),
        None => format!("{} -> {} (every {} port)", f.src, f.dst, f.protocol),
    }
}

fn write_assumptions(out: &mut String, a: &[String]) {
    if !a.is_empty() {
        out.push_str("assumptions:\n");
        for s in a {
            let _ = writeln!(out, "  - {s}");
        }
    }
}

/// A concrete trace, hop by hop.
pub fn trace(sources: &SourceMap, f: &FlowSpec, r: &TraceResult, st: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", st.bold(&header(f)));
    let _ = writeln!(
        out,
        "{} ({} path{})",
        verdict(st, r.reachable),
        r.paths.len(),
        if r.paths.len() == 1 { "" } else { "s" }
    );
    for (i, p) in r.paths.iter().enumerate() {
        write_path(&mut out, sources, st, i, p);
    }
    write_assumptions(&mut out, &r.assumptions);
    out
}

/// An all-ports answer: what gets through, and what stops the rest.
pub fn all_ports(sources: &SourceMap, f: &FlowSpec, a: &AllPortsAnswer, st: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", st.bold(&header(f)));
    let overall = match a.reachable() {
        Reachable::All => st.good("every protocol and port gets through"),
        Reachable::Some => st.good("some connections get through"),
        Reachable::None => st.bad("nothing gets through"),
        Reachable::Unknown => st.paint("33", "unknown (insufficient information)"),
    };
    let _ = writeln!(out, "{overall}");
    for o in &a.outcomes {
        let what = if o.ports.is_empty() {
            protocol_label(o.protocol)
        } else {
            format!("{} {}", o.protocol, o.ports)
        };
        match o.reachable {
            Reachable::All | Reachable::Some => {
                let _ = writeln!(out, "  {:<28} {}", what, verdict(st, o.reachable));
            }
            _ => {
                let _ = writeln!(out, "  {:<28} {}", what, verdict(st, o.reachable));
                if let Some(p) = o.trace.paths.iter().find(|p| !p.disposition.is_success()) {
                    let (hop, dir) = if p.forward.is_success() {
                        (p.reply.last(), "the reply ")
                    } else {
                        (p.hops.last(), "")
                    };
                    if let (Some(h), Some(s)) = (hop, hop.and_then(|h| h.steps.last())) {
                        let src = s
                            .source
                            .as_ref()
                            .map(|p| format!(" [{}]", sources.cite(p)))
                            .unwrap_or_default();
                        let _ = writeln!(
                            out,
                            "      {dir}stopped at {} by {}{}",
                            h.at,
                            s.rule,
                            st.dim(&src)
                        );
                    }
                }
            }
        }
    }
    write_assumptions(&mut out, &a.assumptions);
    out
}
