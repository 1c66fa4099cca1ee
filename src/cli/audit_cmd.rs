//! `netpath audit`.

use super::ci_out::{emit, CiOutput};
use super::{load, EXIT_BAD_INPUT};
use netpath::report::audit as render;
use netpath::report::ci::Verbosity;
use netpath::report::findings::FindingLevel;
use std::path::Path;

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Output format: text and json are the full report; junit, sarif and github carry the
    /// same findings for CI systems.
    #[arg(short, long, value_enum, default_value_t = CiOutput::Text)]
    pub output: CiOutput,
}

/// Runs `audit`; exit 1 when any finding is an error, else 0.
pub fn run(snapshot: &Path, a: &AuditArgs, quiet: bool, verbosity: Verbosity) -> i32 {
    let Some(snap) = load(snapshot, quiet) else {
        return EXIT_BAD_INPUT;
    };
    let findings = netpath::audit::audit(snap);
    let out = match a.output {
        CiOutput::Text => render::render_text(&findings),
        CiOutput::Junit | CiOutput::Sarif | CiOutput::Github => {
            return emit(a.output, "audit", &findings, verbosity);
        }
        CiOutput::Json => {
            serde_json::to_string_pretty(&render::render_json(&findings))
                .unwrap_or_else(|_| "{}".into())
                + "\n"
        }
    };
    super::write_stdout(&out);
    if findings.iter().any(|f| f.level == FindingLevel::Error) {
        1
    } else {
        0
    }
}
