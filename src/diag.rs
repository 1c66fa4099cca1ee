//! Diagnostics: every problem found in the inputs, reported together.
//!
//! Ingest never stops at the first problem: parsers and lowering append to a
//! [`Diagnostics`] list and go on. A run with any [`Severity::Error`] exits with code 2.

use crate::source::{LineCol, Provenance, SourceMap};
use std::fmt::Write as _;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The input is wrong; the run fails with exit code 2.
    Error,
    /// The input is usable but something was ignored or assumed.
    Warning,
    /// The input holds something netpath does not model; listed, never fatal.
    Unsupported,
}

/// One problem in the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error, warning or unsupported.
    pub severity: Severity,
    /// A stable short code, e.g. `json-syntax`, `bad-cidr`, `unknown-reference`.
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where; `None` for problems not tied to a file (e.g. an unreadable directory).
    pub at: Option<Provenance>,
    /// What was expected instead, when that helps.
    pub expected: Option<String>,
}

impl Diagnostic {
    /// An error at a place.
    pub fn error(code: &'static str, at: Provenance, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            at: Some(at),
            expected: None,
        }
    }
    /// A warning at a place.
    pub fn warning(code: &'static str, at: Provenance, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            at: Some(at),
            expected: None,
        }
    }
    /// Adds what was expected.
    pub fn expected(mut self, what: impl Into<String>) -> Self {
        self.expected = Some(what.into());
        self
    }
    /// Renders the diagnostic as `file:line:col: error[code]: message`, with the source line.
    pub fn render(&self, sources: &SourceMap) -> String {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Unsupported => "unsupported",
        };
        let mut out = String::new();
        match &self.at {
            Some(p) => {
                let lc: LineCol = sources.resolve(p);
                let _ = write!(
                    out,
                    "{}:{}: {sev}[{}]: {}",
                    sources.path(p.file).display(),
                    lc,
                    self.code,
                    self.message
                );
                if let Some(e) = &self.expected {
                    let _ = write!(out, "\n  expected: {e}");
                }
                if let Some(text) = sources.line_text(p.file, lc.line) {
                    let shown: String = text.chars().take(160).collect();
                    let _ = write!(out, "\n  {:>5} | {}", lc.line, shown);
                    let pad = (lc.col as usize).saturating_sub(1).min(160);
                    let _ = write!(out, "\n        | {}^", " ".repeat(pad));
                }
            }
            None => {
                let _ = write!(out, "{sev}[{}]: {}", self.code, self.message);
                if let Some(e) = &self.expected {
                    let _ = write!(out, "\n  expected: {e}");
                }
            }
        }
        out
    }
}

/// The diagnostics collected during a run.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// All diagnostics in the order found.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Appends one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }
    /// Renders every diagnostic, sorted by file and line, one block each.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by_key(|d| {
            let key =
                d.at.as_ref()
                    .map(|p| (sources.path(p.file).to_path_buf(), sources.resolve(p)));
            (d.severity, key)
        });
        items
            .iter()
            .map(|d| d.render(sources))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
