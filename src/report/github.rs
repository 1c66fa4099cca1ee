//! GitHub Actions workflow commands over [`Finding`]s: `::error file=F,line=L,col=C,title=T::msg`
//! annotations for failures and warnings (notices for passes with `-v`), with the escaping the
//! runner requires, then the plain summary line.

use super::ci::{summary_line, Verbosity};
use super::findings::{Finding, FindingLevel};
use std::fmt::Write as _;

/// Escapes a command's message: `%`, `\r`, `\n`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: as [`escape_data`], and also `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation line for a finding.
pub fn annotation(f: &Finding, command: &str, v: Verbosity) -> String {
    let mut props = Vec::new();
    if let Some(file) = &f.file {
        props.push(format!("file={}", escape_property(file)));
        if let Some(l) = f.line {
            props.push(format!("line={l}"));
            if let Some(c) = f.column {
                props.push(format!("col={c}"));
            }
        }
    }
    props.push(format!("title={}", escape_property(&f.name)));
    let mut msg = f.message.clone();
    if (f.failed || v == Verbosity::Verbose) && !f.detail.is_empty() {
        msg.push('\n');
        msg.push_str(&f.detail);
    }
    format!("::{command} {}::{}", props.join(","), escape_data(&msg))
}

/// Renders the annotations: `error` for failures (`warning` for failing findings of warning
/// level), `warning` for warnings, `notice` for passes only with `-v`; `-q` shows failures only.
pub fn render(findings: &[Finding], v: Verbosity) -> String {
    let mut out = String::new();
    for f in findings {
        let command = if f.failed {
            match f.level {
                FindingLevel::Warning => "warning",
                _ => "error",
            }
        } else if v == Verbosity::Quiet {
            continue;
        } else if f.level == FindingLevel::Warning {
            "warning"
        } else if v == Verbosity::Verbose {
            "notice"
        } else {
            continue;
        };
        let _ = writeln!(out, "{}", annotation(f, command, v));
    }
    out.push_str(&summary_line(findings));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn failure_annotation_has_file_line_col_and_title() {
        let f = Finding {
            rule_id: "check/assertion".into(),
            level: FindingLevel::Error,
            name: "a -> b tcp/5432: expected reachable, got none".into(),
            group: "s.yaml".into(),
            message: "expected reachable\nstopped by acl-1 rule 32767".into(),
            file: Some("scenarios/s,1.yaml".into()),
            line: Some(7),
            column: Some(5),
            detail: String::new(),
            failed: true,
        };
        assert_eq!(
            render(&[f], Verbosity::Normal),
            "::error file=scenarios/s%2C1.yaml,line=7,col=5,title=a -> b tcp/5432%3A expected reachable%2C got none::expected reachable%0Astopped by acl-1 rule 32767\n0 passed, 1 failed\n"
        );
    }
}
