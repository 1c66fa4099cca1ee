//! Data-driven trace cases: every folder under `tests/cases/` holds a `case.yaml`
//! (`snapshot`: a path relative to the repository root, or absent to use the folder's own
//! `snapshot/`; `args`: the CLI arguments after `trace`; `exit`: the expected exit code).
//! The harness runs the binary on each, in sorted order, asserts the exit code and
//! snapshots stdout. A new behaviour is a new folder, not new test code.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    snapshot: Option<String>,
    args: Vec<String>,
    exit: i32,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/cases"))
        .expect("tests/cases exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.join("case.yaml").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn trace_cases() {
    let dirs = case_dirs();
    assert!(dirs.len() >= 15, "expected the trace cases, found {dirs:?}");
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(dir.join("case.yaml")).unwrap();
        let case: Case =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}/case.yaml: {e}"));
        // Paths relative to the repository root keep the `source` lines in the output stable.
        let snapshot = match &case.snapshot {
            Some(s) => s.clone(),
            None => format!("tests/cases/{name}/snapshot"),
        };
        let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
            .current_dir(root())
            .env_remove("NETPATH_SNAPSHOT")
            .args(["--no-color", "-s", &snapshot, "trace"])
            .args(&case.args)
            .output()
            .expect("run netpath");
        let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(case.exit) {
            failures.push(format!(
                "{name}: exit {:?}, expected {}\nstderr:\n{stderr}",
                out.status.code(),
                case.exit
            ));
        }
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(dir);
        settings.set_prepend_module_to_snapshot(false);
        settings.set_description(format!(
            "netpath -s {snapshot} trace {}",
            case.args.join(" ")
        ));
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(name.as_str(), stdout));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
