//! `netpath diff` on two versions of the bundled model: one security group rule and one
//! NetworkPolicy changed in the raw files, plus an unrelated edit that shifts lines. The diff
//! must list exactly the flows those two changes affect, and nothing for a pure line shift.

use netpath::diff::{self, ChangeKind};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let dst = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).unwrap();
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netpath-diff-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} must occur once in {file:?}"
    );
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// Prepends a comment to the policies file: every line below moves, nothing changes.
fn shift_lines(dir: &Path) {
    let f = dir.join("k8s/networkpolicies.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, format!("# reviewed\n# by the network team\n{text}")).unwrap();
}

fn load(dir: &Path) -> netpath::model::Snapshot {
    let (snap, diags) = netpath::ingest::load_snapshot(dir);
    assert!(!diags.has_errors(), "{dir:?} loads");
    snap
}

#[test]
fn one_sg_rule_and_one_network_policy() {
    let tmp = temp_dir("edits");
    let before = tmp.join("before");
    let after = tmp.join("after");
    copy_dir(&root().join("models/eks-reference"), &before);
    copy_dir(&root().join("models/eks-reference"), &after);
    // SSH on the bastion opened to the world.
    edit(
        &after.join("aws/describe-security-groups.json"),
        "\"Description\": \"office\",\n                            \"CidrIp\": \"203.0.113.0/24\"",
        "\"Description\": \"office\",\n                            \"CidrIp\": \"0.0.0.0/0\"",
    );
    // postgres admits backend on 5433 instead of 5432.
    edit(
        &after.join("k8s/networkpolicies.yaml"),
        "      - port: 5432\n        protocol: TCP\n    podSelector:\n      matchLabels:\n        app: postgres",
        "      - port: 5433\n        protocol: TCP\n    podSelector:\n      matchLabels:\n        app: postgres",
    );
    shift_lines(&after);

    let r = diff::diff(&load(&before), &load(&after));
    assert_eq!(
        r.changed_objects,
        vec![
            "NetworkPolicy prod/postgres-ingress".to_string(),
            "security group sg-066b3802e44340644".to_string()
        ]
    );
    let got: Vec<(ChangeKind, String, String, String)> = r
        .changes
        .iter()
        .map(|c| {
            (
                c.kind,
                c.src.clone(),
                c.dst.clone(),
                format!("{} {}", c.protocol, c.ports),
            )
        })
        .collect();
    let allowed = |src: &str| {
        (
            ChangeKind::NewlyAllowed,
            src.to_string(),
            "instance/prod-bastion-a".to_string(),
            "tcp 22".to_string(),
        )
    };
    let denied = |src: &str, dst: &str| {
        (
            ChangeKind::NewlyDenied,
            src.to_string(),
            dst.to_string(),
            "tcp 5432".to_string(),
        )
    };
    // SSH from anywhere: the internet, the other instances, the nodes and the pods that no
    // NetworkPolicy confines (prod pods stay confined by default-deny-all egress).
    let expected = vec![
        allowed("internet"),
        allowed("instance/prod-tools-a"),
        allowed("istio-system/istio-ingressgateway-7b9c6d5f4-wz8rt"),
        allowed("istio-system/istiod-6c7d9b5f8-kq2ms"),
        allowed("kube-system/coredns-787cb67946-4xvkl"),
        allowed("kube-system/coredns-787cb67946-9bqzs"),
        allowed("node/ip-10-0-17-42.ec2.internal"),
        allowed("node/ip-10-0-33-58.ec2.internal"),
        allowed("node/ip-10-0-49-66.ec2.internal"),
        denied("prod/backend-5f6b9c8d7b-h8w2n", "prod/postgres-0"),
        denied("prod/backend-5f6b9c8d7b-h8w2n", "svc/prod/postgres"),
        denied("prod/backend-5f6b9c8d7b-r6tjv", "prod/postgres-0"),
        denied("prod/backend-5f6b9c8d7b-r6tjv", "svc/prod/postgres"),
    ];
    assert_eq!(got, expected);
    // The causes point at the changed objects.
    for c in &r.changes {
        let cause = c.cause.as_ref().expect("a cause");
        match c.kind {
            ChangeKind::NewlyAllowed => assert!(cause.rule.starts_with("sg-066b3802e44340644")),
            _ => assert!(cause.rule.contains("prod/postgres-ingress"), "{cause:?}"),
        }
    }
    let findings = diff::findings(&r, diff::FailOn::NewlyAllowed);
    assert_eq!(findings.iter().filter(|f| f.failed).count(), 9);
    assert!(findings
        .iter()
        .all(|f| f.file.is_some() && f.line.is_some()));
    // Every finding points at the after snapshot: the input to change.
    for f in &findings {
        let file = f.file.as_deref().unwrap_or_default();
        assert!(file.starts_with(&after.display().to_string()), "{file}");
    }

    let text = netpath::report::diff::render_text("before", "after", &r)
        .replace(&format!("{}/", tmp.display()), "");
    insta::assert_snapshot!("diff_sg_and_netpol", text);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The pruning (pair filter, change scope) loses nothing: the pruned diff equals the diff
/// that traces every class in both snapshots. Slow in a debug build: `cargo test --release
/// --test diff -- --ignored`.
#[test]
#[ignore]
fn pruning_loses_nothing() {
    let tmp = temp_dir("prune");
    let before = tmp.join("before");
    let after = tmp.join("after");
    copy_dir(&root().join("models/eks-reference"), &before);
    copy_dir(&root().join("models/eks-reference"), &after);
    // The load balancer's security group rule (the office range; the bastion's has the same
    // range with a description), a policy, and a node port rule.
    edit(
        &after.join("aws/describe-security-groups.json"),
        "{\n                            \"CidrIp\": \"203.0.113.0/24\"",
        "{\n                            \"CidrIp\": \"0.0.0.0/0\"",
    );
    edit(
        &after.join("k8s/networkpolicies.yaml"),
        "      - port: 5432\n        protocol: TCP\n    podSelector:\n      matchLabels:\n        app: postgres",
        "      - port: 5433\n        protocol: TCP\n    podSelector:\n      matchLabels:\n        app: postgres",
    );
    edit(
        &after.join("aws/describe-security-groups.json"),
        "\"FromPort\": 31443,\n                    \"ToPort\": 31443,",
        "\"FromPort\": 31444,\n                    \"ToPort\": 31444,",
    );
    let (b, a) = (load(&before), load(&after));
    let pruned = diff::diff(&b, &a);
    assert!(pruned
        .changes
        .iter()
        .any(|c| c.src == "internet" && c.dst == "lb/prod-frontend-local"));
    let full = diff::diff_with(&b, &a, false);
    assert_eq!(pruned.changes, full.changes);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_line_shift_is_no_change() {
    let tmp = temp_dir("shift");
    let after = tmp.join("after");
    copy_dir(&root().join("models/eks-reference"), &after);
    shift_lines(&after);
    let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(root())
        .args(["diff", "--before", "models/eks-reference", "--after"])
        .arg(&after)
        .args(["-o", "json", "--fail-on", "any"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["changed_objects"], serde_json::json!([]));
    assert_eq!(v["changes"], serde_json::json!([]));
    assert_eq!(v["summary"]["newly_allowed"], 0);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn missing_snapshot_is_bad_input() {
    let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(root())
        .args([
            "diff",
            "--before",
            "models/eks-reference",
            "--after",
            "no/such/dir",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn fail_on_names_the_kinds_that_fail() {
    let tmp = temp_dir("failon");
    let after = tmp.join("after");
    copy_dir(&root().join("models/eks-reference"), &after);
    edit(
        &after.join("k8s/networkpolicies.yaml"),
        "      - port: 5432\n        protocol: TCP\n    podSelector:\n      matchLabels:\n        app: postgres",
        "      - port: 5433\n        protocol: TCP\n    podSelector:\n      matchLabels:\n        app: postgres",
    );
    let run = |fail_on: &str| {
        Command::new(env!("CARGO_BIN_EXE_netpath"))
            .current_dir(root())
            .args(["diff", "--before", "models/eks-reference", "--after"])
            .arg(&after)
            .args(["--fail-on", fail_on])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run("newly-denied"), Some(1));
    assert_eq!(run("any"), Some(1));
    assert_eq!(run("newly-allowed"), Some(0));
    assert_eq!(run("none"), Some(0));
    let _ = std::fs::remove_dir_all(&tmp);
}
