//! Findings: the common shape of everything `check`, `audit` and `diff` report to CI systems.
//!
//! Each command turns its results into [`Finding`]s; the CI renderers (plain text, JUnit XML,
//! SARIF 2.1.0, GitHub workflow annotations) take a slice of them, so every format carries the
//! same facts and the exit code never depends on the format.

/// How serious a finding is (maps to SARIF `level` and GitHub `::error`/`::warning`/`::notice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingLevel {
    /// Fails the run (a broken assertion, a high-severity audit finding, a forbidden change).
    Error,
    /// Worth a look; does not fail the run by itself.
    Warning,
    /// Informational (a passing assertion, an unchanged flow shown with `-v`).
    Note,
}

impl FindingLevel {
    /// The lowercase name (`error`, `warning`, `note`).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingLevel::Error => "error",
            FindingLevel::Warning => "warning",
            FindingLevel::Note => "note",
        }
    }
}

/// One reportable result, pointing at the input file and line to change when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable identifier of the kind of finding (`check/assertion`, `audit/no-default-deny`,
    /// `diff/newly-allowed`, …); SARIF `ruleId`.
    pub rule_id: String,
    /// Severity.
    pub level: FindingLevel,
    /// Short name of this instance (the assertion, the flow, the object), a JUnit test-case name.
    pub name: String,
    /// Group it belongs to (the scenario file, the audit category, the diff class); JUnit class name.
    pub group: String,
    /// One-paragraph explanation.
    pub message: String,
    /// Input file the finding points at, relative to the working directory when possible.
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<u32>,
    /// 1-based column in `file`.
    pub column: Option<u32>,
    /// Longer detail (a trace summary), shown with `-v` and in JUnit `system-out`.
    pub detail: String,
    /// Whether this finding is a failure (decides JUnit `<failure>` and counts toward exit 1).
    pub failed: bool,
}
