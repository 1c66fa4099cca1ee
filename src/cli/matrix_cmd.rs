//! `netpath matrix`.

use super::EXIT_BAD_INPUT;
use std::path::Path;

/// Arguments of `matrix`.
#[derive(Debug, clap::Args)]
pub struct MatrixArgs {}

/// Runs `matrix`; returns the exit code.
pub fn run(_snapshot: &Path, _a: &MatrixArgs, _color: bool, _quiet: bool) -> i32 {
    eprintln!("error[usage]: matrix is not available in this build");
    EXIT_BAD_INPUT
}
