//! SARIF 2.1.0 over [`Finding`]s: one run, `tool.driver` with the rules that occur, one result
//! per finding with its level, kind (`fail`/`pass`), message and the input file and line to
//! change (GitHub code scanning, GitLab and Azure DevOps read this).

use super::ci::{rule_description, Verbosity};
use super::findings::{Finding, FindingLevel};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The schema URI written in `$schema`.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Percent-encodes a file path into a URI reference (`/` kept, backslashes made `/`).
pub fn path_to_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn location(f: &Finding) -> Option<Value> {
    let file = f.file.as_ref()?;
    let mut physical = Map::new();
    physical.insert(
        "artifactLocation".into(),
        json!({ "uri": path_to_uri(file) }),
    );
    if let Some(line) = f.line.filter(|l| *l >= 1) {
        let mut region = Map::new();
        region.insert("startLine".into(), json!(line));
        if let Some(c) = f.column.filter(|c| *c >= 1) {
            region.insert("startColumn".into(), json!(c));
        }
        physical.insert("region".into(), Value::Object(region));
    }
    Some(json!({ "physicalLocation": Value::Object(physical) }))
}

/// SARIF `kind` and `level` of a finding: a failure or warning is `fail` at its level; anything
/// else is `pass` with level `none`, as the specification requires for non-failures.
fn kind_and_level(f: &Finding) -> (&'static str, &'static str) {
    if f.failed || f.level == FindingLevel::Warning {
        ("fail", f.level.as_str())
    } else {
        ("pass", "none")
    }
}

/// Renders the SARIF log for `command`. Quiet keeps failures only; verbose puts each finding's
/// detail in the message (markdown-free text).
pub fn render(command: &str, findings: &[Finding], v: Verbosity) -> String {
    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| v != Verbosity::Quiet || f.failed)
        .collect();
    let mut rule_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &shown {
        rule_ids.insert(f.rule_id.as_str(), 0);
    }
    for (i, idx) in rule_ids.values_mut().enumerate() {
        *idx = i;
    }
    let rules: Vec<Value> = rule_ids
        .keys()
        .map(|id| {
            json!({
                "id": id,
                "name": id.replace(['/', '-'], "_"),
                "shortDescription": { "text": rule_description(id) },
            })
        })
        .collect();
    let results: Vec<Value> = shown
        .iter()
        .map(|f| {
            let (kind, level) = kind_and_level(f);
            let mut text = f.message.clone();
            if (v == Verbosity::Verbose || f.failed) && !f.detail.is_empty() {
                text.push_str("\n\n");
                text.push_str(&f.detail);
            }
            let mut r = Map::new();
            r.insert("ruleId".into(), json!(f.rule_id));
            r.insert(
                "ruleIndex".into(),
                json!(rule_ids.get(f.rule_id.as_str()).copied().unwrap_or(0)),
            );
            r.insert("kind".into(), json!(kind));
            r.insert("level".into(), json!(level));
            r.insert("message".into(), json!({ "text": text }));
            if let Some(loc) = location(f) {
                r.insert("locations".into(), json!([loc]));
            }
            r.insert(
                "properties".into(),
                json!({ "name": f.name, "group": f.group }),
            );
            Value::Object(r)
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "netpath",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "automationDetails": { "id": format!("netpath/{command}/") },
            "results": results,
        }]
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(path_to_uri("scenarios/a b.yaml"), "scenarios/a%20b.yaml");
        assert_eq!(path_to_uri("dir\\x#1.yaml"), "dir/x%231.yaml");
    }
}
