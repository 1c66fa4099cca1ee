//! Rendering a suggested fix: each change with its snippet, then the re-trace's verdict.

use crate::fix::{FixPlan, Verdict};
use serde_json::{json, Value};
use std::fmt::Write;

/// The verdict in words.
pub fn verdict_text(p: &FixPlan) -> String {
    match &p.verdict {
        Verdict::Delivered if p.changes.len() == 1 => {
            "verified: the flow is delivered with this change".to_string()
        }
        Verdict::Delivered => "verified: the flow is delivered with these changes".to_string(),
        Verdict::StillBlocked(why) if p.changes.is_empty() => {
            format!("no change can be suggested for what stops it: {why}")
        }
        Verdict::StillBlocked(why) => {
            format!("not enough: with these changes the flow is still stopped by {why}")
        }
        Verdict::NothingToFix => "nothing to fix: the flow is delivered".to_string(),
    }
}

/// The text block (indented by `indent` spaces).
pub fn render_text(p: &FixPlan, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    if !p.changes.is_empty() {
        let _ = writeln!(out, "{pad}suggested fix:");
    }
    for (i, c) in p.changes.iter().enumerate() {
        let _ = writeln!(
            out,
            "{pad}  {}. {} (it was stopped by {})",
            i + 1,
            c.summary,
            c.answers
        );
        for l in c.snippet.lines() {
            let _ = writeln!(out, "{pad}       {l}");
        }
    }
    let _ = writeln!(out, "{pad}{}", verdict_text(p));
    out
}

/// The JSON form: `changes[]` (`layer`, `summary`, `snippet`, `answers`), `verified`, `verdict`.
pub fn render_json(p: &FixPlan) -> Value {
    json!({
        "changes": p.changes.iter().map(|c| json!({
            "layer": c.layer,
            "summary": c.summary,
            "snippet": c.snippet,
            "answers": c.answers,
        })).collect::<Vec<_>>(),
        "verified": matches!(p.verdict, Verdict::Delivered),
        "verdict": verdict_text(p),
    })
}
