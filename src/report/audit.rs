//! Rendering `netpath audit`: one block per finding (severity, rule, file:line, message), and
//! JSON.

use crate::report::findings::{Finding, FindingLevel};
use serde_json::{json, Value};
use std::fmt::Write;

fn count(f: &[Finding], l: FindingLevel) -> usize {
    f.iter().filter(|x| x.level == l).count()
}

fn location(f: &Finding) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{file}:{line}"),
        (Some(file), None) => file.clone(),
        _ => "(no input file)".to_string(),
    }
}

/// The text report.
pub fn render_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(
            out,
            "{:<7} {}  {}\n        {}\n        {}",
            f.level.as_str(),
            f.rule_id,
            f.name,
            location(f),
            f.message
        );
    }
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} note(s)",
        count(findings, FindingLevel::Error),
        count(findings, FindingLevel::Warning),
        count(findings, FindingLevel::Note)
    );
    out
}

/// The JSON report: `findings[]` (`rule_id`, `level`, `name`, `message`, `file`, `line`,
/// `column`) and `summary`.
pub fn render_json(findings: &[Finding]) -> Value {
    json!({
        "findings": findings.iter().map(|f| json!({
            "rule_id": f.rule_id,
            "level": f.level.as_str(),
            "name": f.name,
            "message": f.message,
            "file": f.file,
            "line": f.line,
            "column": f.column,
        })).collect::<Vec<_>>(),
        "summary": {
            "errors": count(findings, FindingLevel::Error),
            "warnings": count(findings, FindingLevel::Warning),
            "notes": count(findings, FindingLevel::Note),
        }
    })
}
