//! `netpath diff --before DIR --after DIR`.

use super::ci_out::{emit, CiOutput};
use super::{load, EXIT_BAD_INPUT};
use netpath::diff::{self, FailOn};
use netpath::report::ci::Verbosity;
use netpath::report::diff as render;
use std::path::PathBuf;

/// Which changes make `diff` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOnArg {
    /// Never: report only (the default).
    None,
    /// A flow that was not reachable and now is (the security gate).
    NewlyAllowed,
    /// A flow that was reachable and no longer is (the outage gate).
    NewlyDenied,
    /// Any changed flow, including a changed path or deciding rule.
    Any,
}

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The snapshot before the change.
    #[arg(long)]
    pub before: PathBuf,
    /// The snapshot after the change.
    #[arg(long)]
    pub after: PathBuf,
    /// Output format: text and json are the full report; junit, sarif and github carry the
    /// same changes as findings for CI systems.
    #[arg(short, long, value_enum, default_value_t = CiOutput::Text)]
    pub output: CiOutput,
    /// Exit 1 when a change of this kind is found (default: never; report only).
    #[arg(long, value_enum, default_value_t = FailOnArg::None)]
    pub fail_on: FailOnArg,
}

/// Runs `diff`; returns the exit code.
pub fn run(a: &DiffArgs, quiet: bool, verbosity: Verbosity) -> i32 {
    let Some(before) = load(&a.before, quiet) else {
        return EXIT_BAD_INPUT;
    };
    let Some(after) = load(&a.after, quiet) else {
        return EXIT_BAD_INPUT;
    };
    let r = diff::diff(before, after);
    let (bn, an) = (
        a.before.display().to_string(),
        a.after.display().to_string(),
    );
    let fail_on = match a.fail_on {
        FailOnArg::None => FailOn::Nothing,
        FailOnArg::NewlyAllowed => FailOn::NewlyAllowed,
        FailOnArg::NewlyDenied => FailOn::NewlyDenied,
        FailOnArg::Any => FailOn::Any,
    };
    let out = match a.output {
        CiOutput::Text => render::render_text(&bn, &an, &r),
        CiOutput::Junit | CiOutput::Sarif | CiOutput::Github => {
            return emit(a.output, "diff", &diff::findings(&r, fail_on), verbosity);
        }
        CiOutput::Json => {
            serde_json::to_string_pretty(&render::render_json(&bn, &an, &r))
                .unwrap_or_else(|_| "{}".into())
                + "\n"
        }
    };
    super::write_stdout(&out);
    if r.changes.iter().any(|c| fail_on.fails(c.kind)) {
        1
    } else {
        0
    }
}
