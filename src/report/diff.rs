//! Rendering `netpath diff`: text grouped by kind of change, and JSON.

use crate::diff::{flow_label, side_label, ChangeKind, Decision, DiffResult, FlowSide};
use serde_json::{json, Value};
use std::fmt::Write;

fn decision_text(d: &Decision) -> String {
    match d.cite() {
        Some(c) => format!("{} [{c}]", d.rule),
        None => d.rule.clone(),
    }
}

fn side_text(s: &FlowSide) -> String {
    let mut t = side_label(s).to_string();
    if s.paths > 1 {
        let _ = write!(t, " ({} paths)", s.paths);
    }
    if let Some(d) = &s.stopped_by {
        let _ = write!(t, ", stopped by {}", decision_text(d));
    }
    t
}

/// The text report.
pub fn render_text(before: &str, after: &str, r: &DiffResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "netpath diff: {before} -> {after}");
    if r.changed_objects.is_empty() {
        let _ = writeln!(out, "no object changed: every flow is unchanged");
        return out;
    }
    let _ = writeln!(out, "changed objects: {}", r.changed_objects.join(", "));
    let _ = writeln!(
        out,
        "{} flow class(es) changed: {} newly allowed, {} newly denied, {} changed ({} classes within reach of the change traced, {} of them again after it)",
        r.changes.len(),
        r.count(ChangeKind::NewlyAllowed),
        r.count(ChangeKind::NewlyDenied),
        r.count(ChangeKind::Changed),
        r.classes,
        r.retraced
    );
    for kind in [
        ChangeKind::NewlyAllowed,
        ChangeKind::NewlyDenied,
        ChangeKind::Changed,
    ] {
        let items: Vec<_> = r.changes.iter().filter(|c| c.kind == kind).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{} ({})", kind.title(), items.len());
        for c in items {
            let _ = writeln!(out, "  {}", flow_label(c));
            let _ = writeln!(out, "      before: {}", side_text(&c.before));
            let _ = writeln!(out, "      after:  {}", side_text(&c.after));
            if let Some(d) = &c.cause {
                let what = if c.cause_lost {
                    "no longer applies: "
                } else {
                    ""
                };
                let _ = writeln!(out, "      because: {what}{}", decision_text(d));
                if c.cause_lost {
                    if let Some((f, l)) = &c.after_at {
                        let _ = writeln!(out, "      now:     {f}:{l}");
                    }
                }
            }
        }
    }
    out
}

fn decision_json(d: &Decision) -> Value {
    json!({
        "layer": d.layer,
        "action": d.action,
        "rule": d.rule,
        "detail": d.detail,
        "source": d.cite(),
    })
}

fn side_json(s: &FlowSide) -> Value {
    json!({
        "reachable": s.reachable.map(|r| r.as_str()).unwrap_or("absent"),
        "paths": s.paths,
        "stopped_by": s.stopped_by.as_ref().map(decision_json),
    })
}

/// The JSON report: `before`, `after`, `changed_objects`, `summary`, `changes[]`.
pub fn render_json(before: &str, after: &str, r: &DiffResult) -> Value {
    json!({
        "before": before,
        "after": after,
        "changed_objects": r.changed_objects,
        "summary": {
            "newly_allowed": r.count(ChangeKind::NewlyAllowed),
            "newly_denied": r.count(ChangeKind::NewlyDenied),
            "changed": r.count(ChangeKind::Changed),
            "classes": r.classes,
            "retraced": r.retraced,
        },
        "changes": r.changes.iter().map(|c| json!({
            "kind": c.kind.as_str(),
            "src": c.src,
            "dst": c.dst,
            "protocol": c.protocol.to_string(),
            "ports": if c.ports.is_empty() { Value::Null } else { Value::String(c.ports.to_string()) },
            "before": side_json(&c.before),
            "after": side_json(&c.after),
            "cause": c.cause.as_ref().map(decision_json),
            "cause_no_longer_applies": c.cause_lost,
            "source_after": c.after_at.as_ref().map(|(f, l)| format!("{f}:{l}")),
        })).collect::<Vec<_>>(),
    })
}
