//! `trace --suggest-fix`: for a denied flow, the change at each layer that stops it, verified by
//! re-tracing with the change applied; and a suggested NetworkPolicy, written into a copy of
//! the snapshot, turns the denied trace into a delivered one.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const MODEL: &str = "models/eks-reference";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn netpath(snapshot: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(root())
        .env_remove("NETPATH_SNAPSHOT")
        .arg("-s")
        .arg(snapshot)
        .args(args)
        .output()
        .unwrap()
}

fn suggest(src: &str, dst: &str, port: &str) -> (Value, Option<i32>) {
    let out = netpath(
        Path::new(MODEL),
        &[
            "trace",
            src,
            dst,
            "--port",
            port,
            "--suggest-fix",
            "-o",
            "json",
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code())
}

fn layers(v: &Value) -> Vec<String> {
    v["suggested_fix"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["layer"].as_str().unwrap().to_string())
        .collect()
}

/// (source, destination, port, layers of the suggested changes, verified).
const CASES: &[(&str, &str, &str, &[&str], bool)] = &[
    // prod-database admits 5432 from prod-nodes only.
    (
        "instance/prod-tools-a",
        "instance/prod-db-a",
        "5432",
        &["security_group"],
        true,
    ),
    // Planted: the database NACL has no outbound rule for AZ c's replies.
    (
        "instance/prod-node-c",
        "instance/prod-db-a",
        "5432",
        &["nacl"],
        true,
    ),
    // backend's egress policies allow postgres only.
    (
        "prod/backend-5f6b9c8d7b-h8w2n",
        "kube-system/coredns-787cb67946-4xvkl",
        "8080",
        &["network_policy"],
        true,
    ),
    // frontend -> backend on another port: egress, ingress, then the backend's Istio ALLOW.
    (
        "prod/frontend-7c9d8b6f4d-x2k9p",
        "prod/backend-5f6b9c8d7b-h8w2n",
        "9091",
        &["network_policy", "network_policy", "istio_authz"],
        true,
    ),
    // Plain text into STRICT mTLS: the NetworkPolicy can be fixed, mTLS is named as what is left.
    (
        "kube-system/coredns-787cb67946-4xvkl",
        "prod/backend-5f6b9c8d7b-h8w2n",
        "9090",
        &["network_policy"],
        false,
    ),
    // The isolated database to the internet: its SG, its NACL, a route, the NACL for the reply.
    (
        "instance/prod-db-a",
        "internet",
        "443",
        &["security_group", "nacl", "routing", "nacl"],
        true,
    ),
    // A blackhole route: no change suggested, the route is named.
    ("instance/prod-db-c", "10.200.0.5", "443", &[], false),
];

#[test]
fn suggested_changes_are_verified_by_re_tracing() {
    for (src, dst, port, want, verified) in CASES {
        let (v, code) = suggest(src, dst, port);
        assert_eq!(code, Some(1), "{src} -> {dst}: the flow itself is denied");
        assert_eq!(layers(&v), *want, "{src} -> {dst} {port}");
        assert_eq!(
            v["suggested_fix"]["verified"], *verified,
            "{src} -> {dst} {port}: {}",
            v["suggested_fix"]["verdict"]
        );
    }
}

#[test]
fn nacl_reply_fix_text() {
    let out = netpath(
        Path::new(MODEL),
        &[
            "trace",
            "instance/prod-node-c",
            "instance/prod-db-a",
            "--port",
            "5432",
            "--suggest-fix",
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let fix = &text[text.find("suggested fix:").expect("a fix")..];
    insta::assert_snapshot!("fix_nacl_reply", fix);
}

#[test]
fn a_suggested_network_policy_written_to_the_snapshot_delivers_the_flow() {
    let (src, dst, port) = (
        "prod/backend-5f6b9c8d7b-h8w2n",
        "kube-system/coredns-787cb67946-4xvkl",
        "8080",
    );
    let (v, _) = suggest(src, dst, port);
    let yaml = v["suggested_fix"]["changes"][0]["snippet"]
        .as_str()
        .unwrap()
        .to_string();
    let tmp = std::env::temp_dir().join(format!("netpath-fix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&root().join(MODEL), &tmp);
    assert_eq!(
        netpath(&tmp, &["trace", src, dst, "--port", port])
            .status
            .code(),
        Some(1)
    );
    std::fs::write(tmp.join("k8s/suggested-fix.yaml"), yaml).unwrap();
    let out = netpath(&tmp, &["trace", src, dst, "--port", port]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn suggest_fix_needs_a_port() {
    let out = netpath(
        Path::new(MODEL),
        &[
            "trace",
            "instance/prod-node-c",
            "instance/prod-db-a",
            "--suggest-fix",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dst = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).unwrap();
        }
    }
}

#[test]
fn check_suggests_a_fix_for_a_failing_reachable_assertion() {
    let tmp = std::env::temp_dir().join(format!("netpath-fix-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let scenario = tmp.join("s.yaml");
    std::fs::write(
        &scenario,
        format!(
            "apiVersion: netpath/v1\nkind: Scenario\nsnapshot: {}\nexpect:\n  - {{from: instance/prod-node-c, to: instance/prod-db-a, port: 5432, reachable: true}}\n",
            root().join(MODEL).display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(root())
        .env_remove("NETPATH_SNAPSHOT")
        .arg("check")
        .arg(&scenario)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        text.contains(
            "aws ec2 create-network-acl-entry --network-acl-id acl-0912141462f266b57 --egress"
        ),
        "{text}"
    );
    assert!(
        text.contains("verified: the flow is delivered with this change"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
