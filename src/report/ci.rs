//! One entry point for every CI format: `check`, `audit` and `diff` turn their results into
//! [`Finding`]s and call [`render`]; the exit code comes from [`exit_code`], never from the
//! format.

use super::findings::{Finding, FindingLevel};
use super::{github, junit, sarif};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// Output formats shared by `check`, `audit` and `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiFormat {
    /// `PASS`/`FAIL`/`WARN` lines and an `N passed, N failed` summary.
    Text,
    /// `{"command", "summary", "findings"}`.
    Json,
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…::message`).
    Github,
}

/// How much to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Failures only.
    Quiet,
    /// Every finding; details of failures.
    Normal,
    /// Every finding with its details (the trace of each assertion).
    Verbose,
}

impl Verbosity {
    /// From the `-q` / `-v` flags (`-q` wins).
    pub fn from_flags(quiet: bool, verbose: bool) -> Self {
        if quiet {
            Verbosity::Quiet
        } else if verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }
}

/// Renders `findings` of `command` (`check`, `audit`, `diff`) in `format`.
pub fn render(format: CiFormat, command: &str, findings: &[Finding], v: Verbosity) -> String {
    match format {
        CiFormat::Text => text(findings, v),
        CiFormat::Json => {
            let mut s = serde_json::to_string_pretty(&to_json(command, findings, v))
                .unwrap_or_else(|_| "{}".into());
            s.push('\n');
            s
        }
        CiFormat::Junit => junit::render(&format!("netpath {command}"), findings, v),
        CiFormat::Sarif => sarif::render(command, findings, v),
        CiFormat::Github => github::render(findings, v),
    }
}

/// The exit code the findings call for: 1 when any failed, else 0 (bad input, 2, is decided
/// before there are findings).
pub fn exit_code(findings: &[Finding]) -> i32 {
    if findings.iter().any(|f| f.failed) {
        1
    } else {
        0
    }
}

/// The closing line: `N passed, N failed` (`, N warnings` when there are any).
pub fn summary_line(findings: &[Finding]) -> String {
    let failed = findings.iter().filter(|f| f.failed).count();
    let warnings = findings
        .iter()
        .filter(|f| !f.failed && f.level == FindingLevel::Warning)
        .count();
    let passed = findings.len() - failed - warnings;
    let mut s = format!("{passed} passed, {failed} failed");
    if warnings > 0 {
        let _ = write!(s, ", {warnings} warnings");
    }
    s
}

/// `PASS`, `FAIL` or `WARN`.
pub fn status_word(f: &Finding) -> &'static str {
    if f.failed {
        "FAIL"
    } else if f.level == FindingLevel::Warning {
        "WARN"
    } else {
        "PASS"
    }
}

/// `file:line:col`, `file:line`, `file`, or empty.
pub fn place(f: &Finding) -> String {
    match (&f.file, f.line, f.column) {
        (Some(file), Some(l), Some(c)) => format!("{file}:{l}:{c}"),
        (Some(file), Some(l), None) => format!("{file}:{l}"),
        (Some(file), None, _) => file.clone(),
        _ => String::new(),
    }
}

/// The message without a first line that only repeats the finding's name.
fn message_body(f: &Finding) -> Vec<&str> {
    let mut lines: Vec<&str> = f.message.lines().collect();
    if lines.first() == Some(&f.name.as_str()) {
        lines.remove(0);
    }
    lines
}

/// Plain text: one `STATUS  place  name` line per finding, the message under failures and
/// warnings, the detail under every finding with `-v`, then the summary line.
pub fn text(findings: &[Finding], v: Verbosity) -> String {
    let mut out = String::new();
    for f in findings {
        if v == Verbosity::Quiet && !f.failed {
            continue;
        }
        let p = place(f);
        if p.is_empty() {
            let _ = writeln!(out, "{}  {}", status_word(f), f.name);
        } else {
            let _ = writeln!(out, "{}  {p}  {}", status_word(f), f.name);
        }
        if f.failed || f.level == FindingLevel::Warning || v == Verbosity::Verbose {
            for l in message_body(f) {
                let _ = writeln!(out, "        {l}");
            }
        }
        if v == Verbosity::Verbose {
            for l in f.detail.lines() {
                let _ = writeln!(out, "        {l}");
            }
        }
    }
    out.push_str(&summary_line(findings));
    out.push('\n');
    out
}

/// One finding as JSON.
pub fn finding_json(f: &Finding, v: Verbosity) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("rule_id".into(), json!(f.rule_id));
    m.insert("level".into(), json!(f.level.as_str()));
    m.insert("failed".into(), json!(f.failed));
    m.insert("name".into(), json!(f.name));
    m.insert("group".into(), json!(f.group));
    m.insert("message".into(), json!(f.message));
    m.insert("file".into(), json!(f.file));
    m.insert("line".into(), json!(f.line));
    m.insert("column".into(), json!(f.column));
    if v == Verbosity::Verbose || f.failed {
        m.insert("detail".into(), json!(f.detail));
    }
    Value::Object(m)
}

/// The JSON document: `command`, `summary` (`passed`, `failed`, `warnings`) and `findings`.
pub fn to_json(command: &str, findings: &[Finding], v: Verbosity) -> Value {
    let failed = findings.iter().filter(|f| f.failed).count();
    let warnings = findings
        .iter()
        .filter(|f| !f.failed && f.level == FindingLevel::Warning)
        .count();
    json!({
        "command": command,
        "summary": {
            "passed": findings.len() - failed - warnings,
            "failed": failed,
            "warnings": warnings,
        },
        "findings": findings
            .iter()
            .filter(|f| v != Verbosity::Quiet || f.failed)
            .map(|f| finding_json(f, v))
            .collect::<Vec<_>>(),
    })
}

/// A one-line description of a rule id, for SARIF's `tool.driver.rules`.
pub fn rule_description(rule_id: &str) -> String {
    match rule_id {
        "check/assertion" => "A reachability expectation of a scenario file".into(),
        _ => {
            let (cmd, rest) = rule_id.split_once('/').unwrap_or(("netpath", rule_id));
            format!("netpath {cmd}: {}", rest.replace('-', " "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, failed: bool, level: FindingLevel) -> Finding {
        Finding {
            rule_id: "check/assertion".into(),
            level,
            name: name.into(),
            group: "s.yaml".into(),
            message: format!("{name}\nstopped by rule X"),
            file: Some("s.yaml".into()),
            line: Some(4),
            column: Some(5),
            detail: "path 1: denied".into(),
            failed,
        }
    }

    #[test]
    fn text_quiet_shows_only_failures_and_the_summary() {
        let fs = [
            f("a", false, FindingLevel::Note),
            f("b", true, FindingLevel::Error),
        ];
        let out = text(&fs, Verbosity::Quiet);
        assert!(!out.contains("PASS"), "{out}");
        assert!(out.contains("FAIL  s.yaml:4:5  b\n        stopped by rule X\n"));
        assert!(out.ends_with("1 passed, 1 failed\n"));
        let verbose = text(&fs, Verbosity::Verbose);
        assert!(verbose
            .contains("PASS  s.yaml:4:5  a\n        stopped by rule X\n        path 1: denied\n"));
    }

    #[test]
    fn exit_code_follows_failures_only() {
        assert_eq!(exit_code(&[f("a", false, FindingLevel::Warning)]), 0);
        assert_eq!(exit_code(&[f("a", true, FindingLevel::Error)]), 1);
        assert_eq!(
            summary_line(&[f("a", false, FindingLevel::Warning)]),
            "0 passed, 0 failed, 1 warnings"
        );
    }
}
