//! `netpath audit`.

use super::{load, Format, EXIT_BAD_INPUT};
use netpath::report::audit as render;
use netpath::report::findings::FindingLevel;
use std::path::Path;

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

/// Runs `audit`; exit 1 when any finding is an error, else 0.
pub fn run(snapshot: &Path, a: &AuditArgs, quiet: bool) -> i32 {
    let Some(snap) = load(snapshot, quiet) else {
        return EXIT_BAD_INPUT;
    };
    let findings = netpath::audit::audit(&snap);
    let out = match a.output {
        Format::Text => render::render_text(&findings),
        Format::Json => {
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
