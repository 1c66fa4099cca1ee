//! The `-o` formats shared by `check`, `audit` and `diff`, and the one call that prints
//! findings and gives the exit code.

use netpath::report::ci::{self, CiFormat, Verbosity};
use netpath::report::findings::Finding;
use std::io::Write as _;

/// `-o` of `check`, `audit` and `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CiOutput {
    /// `PASS`/`FAIL` lines and an `N passed, N failed` summary.
    Text,
    /// Findings as JSON.
    Json,
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0 (GitHub code scanning, GitLab, Azure DevOps).
    Sarif,
    /// GitHub Actions annotations (`::error file=…,line=…::…`).
    Github,
}

impl From<CiOutput> for CiFormat {
    fn from(o: CiOutput) -> Self {
        match o {
            CiOutput::Text => CiFormat::Text,
            CiOutput::Json => CiFormat::Json,
            CiOutput::Junit => CiFormat::Junit,
            CiOutput::Sarif => CiFormat::Sarif,
            CiOutput::Github => CiFormat::Github,
        }
    }
}

/// Prints `findings` of `command` on stdout in `format` and returns the exit code they call
/// for (0 none failed, 1 some failed), the same in every format. A closed stdout is not an error.
pub fn emit(format: CiOutput, command: &str, findings: &[Finding], verbosity: Verbosity) -> i32 {
    let out = ci::render(format.into(), command, findings, verbosity);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush());
    ci::exit_code(findings)
}
