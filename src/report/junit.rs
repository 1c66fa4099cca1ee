//! JUnit XML (the Jenkins/Ant/Surefire dialect) over [`Finding`]s, for CI systems that render
//! test reports: one `<testsuite>` per finding group, one `<testcase>` per finding, a
//! `<failure>` for each failed finding.

use super::ci::Verbosity;
use super::findings::Finding;
use indexmap::IndexMap;
use std::fmt::Write as _;

/// Escapes text for XML attributes and character data; drops characters XML 1.0 cannot carry.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The name a finding has as a test case: its place (`file:line`) and its name.
pub fn case_name(f: &Finding) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{file}:{line} {}", f.name),
        (Some(file), None) => format!("{file} {}", f.name),
        _ => f.name.clone(),
    }
}

/// Renders a JUnit XML document: `<testsuites name=suite>` with one `<testsuite>` per group
/// (in order of first appearance). With [`Verbosity::Quiet`] only failed findings are listed;
/// a finding's `detail` goes to `<system-out>` when it failed or with [`Verbosity::Verbose`].
pub fn render(suite: &str, findings: &[Finding], verbosity: Verbosity) -> String {
    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| verbosity != Verbosity::Quiet || f.failed)
        .collect();
    let mut groups: IndexMap<&str, Vec<&Finding>> = IndexMap::new();
    for f in &shown {
        groups.entry(f.group.as_str()).or_default().push(f);
    }
    let total_failed = shown.iter().filter(|f| f.failed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{total_failed}\" errors=\"0\">",
        esc(suite),
        shown.len()
    );
    for (group, cases) in &groups {
        let failed = cases.iter().filter(|f| f.failed).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\">",
            esc(group),
            cases.len()
        );
        for f in cases {
            let _ = writeln!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\">",
                esc(&case_name(f)),
                esc(&f.group)
            );
            if f.failed {
                let first = f.message.lines().next().unwrap_or("");
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    esc(&f.rule_id),
                    esc(first),
                    esc(&f.message)
                );
            }
            if !f.detail.is_empty() && (f.failed || verbosity == Verbosity::Verbose) {
                let _ = writeln!(out, "      <system-out>{}</system-out>", esc(&f.detail));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
