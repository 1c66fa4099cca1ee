//! The binary as the kubectl plugin (`kubectl-netpath`, so that `kubectl netpath …` works) and
//! the shell completions.

use std::path::PathBuf;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The built binary under the plugin's name, through a symlink as the README installs it.
fn plugin() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netpath-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let link = dir.join("kubectl-netpath");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_netpath"), &link).expect("symlink");
    link
}

#[test]
fn invoked_as_kubectl_netpath_it_traces_and_names_itself_so() {
    let exe = plugin();
    let help = Command::new(&exe).arg("--help").output().expect("run");
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("Usage: kubectl netpath "), "{text}");
    let args = [
        "-s",
        "models/eks-reference",
        "trace",
        "instance/prod-node-c",
        "instance/prod-db-a",
        "--port",
        "5432",
    ];
    let as_plugin = Command::new(&exe)
        .current_dir(ROOT)
        .env_remove("NETPATH_SNAPSHOT")
        .args(args)
        .output()
        .expect("run");
    let direct = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(ROOT)
        .env_remove("NETPATH_SNAPSHOT")
        .args(args)
        .output()
        .expect("run");
    assert_eq!(as_plugin.status.code(), Some(1));
    assert_eq!(
        as_plugin.stdout, direct.stdout,
        "same answer under either name"
    );
    let usage = Command::new(&exe).arg("trace").output().expect("run");
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("kubectl netpath trace <SRC> <DST>"));
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_command() {
    for (shell, marker) in [
        ("bash", "complete -F _netpath"),
        ("zsh", "#compdef netpath"),
        ("fish", "complete -c netpath"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
            .args(["completions", shell])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {marker}");
        for sub in ["trace", "check", "matrix", "collect", "diff", "audit"] {
            assert!(script.contains(sub), "{shell} completes {sub}");
        }
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .args(["completions", "tcsh"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
}
