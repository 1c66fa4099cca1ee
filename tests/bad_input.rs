//! Bad input: one fault per folder under `tests/bad-input/`. netpath must exit 2, print nothing
//! on stdout, and name file:line:col and what was expected on stderr (snapshotted).

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input")
}

/// Runs netpath on one folder: the arguments in its `args` file (one a line) if it has one,
/// `check NAME/scenario.yaml` for `scenario-*` folders, else a trace over the folder.
fn run(name: &str) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netpath"));
    cmd.current_dir(dir())
        .env_remove("NETPATH_SNAPSHOT")
        .env("NO_COLOR", "1")
        .arg("--no-color");
    let args_file = dir().join(name).join("args");
    if let Ok(text) = std::fs::read_to_string(&args_file) {
        cmd.args(text.lines());
    } else if name.starts_with("scenario-") {
        cmd.args(["check", &format!("{name}/scenario.yaml")]);
    } else if name == "unknown-endpoint" {
        cmd.args([
            "-s",
            name,
            "trace",
            "10.0.0.1",
            "nosuchname",
            "--port",
            "80",
        ]);
    } else {
        cmd.args(["-s", name, "trace", "10.0.0.1", "10.0.0.2", "--port", "80"]);
    }
    cmd.output().expect("run netpath")
}

/// Names typed on the command line have no file position to cite.
fn is_command_line_fault(name: &str) -> bool {
    name == "unknown-endpoint" || name.starts_with("endpoint-")
}

#[test]
fn bad_input_folders() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("tests/bad-input exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir() && !p.ends_with("snapshots"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 55,
        "expected the bad-input folders, found {names:?}"
    );
    let mut failures = Vec::new();
    for name in &names {
        let out = run(name);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(2) {
            failures.push(format!("{name}: exit {:?}, expected 2", out.status.code()));
        }
        if !stdout.is_empty() {
            failures.push(format!("{name}: stdout not empty:\n{stdout}"));
        }
        assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");
        // Every diagnostic except the usage error names file:line:col and what was expected.
        if !is_command_line_fault(name) {
            let located = stderr
                .lines()
                .filter(|l| l.contains(": error["))
                .all(|l| l.split(": error[").next().unwrap().split(':').count() >= 3);
            if !located || !stderr.contains("expected:") {
                failures.push(format!(
                    "{name}: diagnostic lacks file:line:col or expected:\n{stderr}"
                ));
            }
        }
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("bad-input/snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(name.as_str(), stderr));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn several_faults_are_all_reported_at_once() {
    let out = run("several-faults");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for file in [
        "describe-vpcs.json:4:",
        "describe-route-tables.json:13:",
        "describe-security-groups.json:12:",
        "describe-network-acls.json:7:",
    ] {
        assert!(stderr.contains(file), "{file} missing from:\n{stderr}");
    }
    assert_eq!(out.status.code(), Some(2));
}
