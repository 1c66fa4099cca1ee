//! `netpath collect` against stand-in `aws` and `kubectl` executables (tests/collect/bin) that
//! answer from the bundled reference model and refuse some calls: the layout written, the
//! wrappers, the messages, the exit codes, and the collected directory traced.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const NODES: &str =
    "ip-10-0-17-42.ec2.internal,ip-10-0-33-58.ec2.internal,ip-10-0-49-66.ec2.internal";

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netpath-collect-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn stand_in_path() -> String {
    let bin = Path::new(ROOT).join("tests/collect/bin");
    let system = std::env::var("PATH").unwrap_or_default();
    format!("{}:{system}", bin.display())
}

fn collect(dir: &Path, args: &[&str], path: &str, allow_all: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_netpath"));
    c.current_dir(ROOT)
        .env("PATH", path)
        .env(
            "NETPATH_FAKE_MODEL",
            Path::new(ROOT).join("models/eks-reference"),
        )
        .env("NETPATH_FAKE_LOG", dir.join("calls.log"))
        .args(["collect", "-o"])
        .arg(dir.join("snap"))
        .args(args);
    if allow_all {
        c.env("NETPATH_FAKE_ALLOW_ALL", "1");
    }
    c.output().expect("run netpath collect")
}

fn netpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(ROOT)
        .env_remove("NETPATH_SNAPSHOT")
        .args(args)
        .output()
        .expect("run netpath")
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn collects_the_layout_reports_refusals_and_the_result_traces_like_the_model() {
    let dir = temp("partial");
    let out = collect(
        &dir,
        &[
            "--region",
            "us-east-1",
            "--context",
            "prod",
            "--iptables-from",
            NODES,
        ],
        &stand_in_path(),
        false,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "some parts refused: {stderr}");
    assert!(out.stdout.is_empty(), "diagnostics only on stderr");
    assert!(
        stderr.contains("not permitted: aws ec2 describe-vpc-peering-connections"),
        "{stderr}"
    );
    assert!(stderr.contains("UnauthorizedOperation"));
    assert!(stderr.contains("not permitted: kubectl --context prod get ingresses -A -o yaml"));
    assert!(stderr.contains(
        "skipped: kubectl --context prod get ippools.crd.projectcalico.org -o yaml: not installed"
    ));
    assert!(stderr.contains("(2 not collected, 3 skipped)"), "{stderr}");

    let snap = dir.join("snap");
    for f in [
        "aws/ec2-describe-vpcs.json",
        "aws/ec2-describe-network-acls.json",
        "aws/elbv2-describe-load-balancers.json",
        "aws/elbv2-describe-listeners-prod-ingress-3f9e1c27a8b4d6e0.json",
        "k8s/pods.yaml",
        "k8s/networkpolicies.yaml",
        "k8s/authorizationpolicies.yaml",
        "iptables/ip-10-0-33-58.ec2.internal.iptables-save",
    ] {
        assert!(snap.join(f).is_file(), "{f} written");
    }
    for f in [
        "aws/ec2-describe-vpc-peering-connections.json",
        "k8s/ingresses.yaml",
        "k8s/ippools.yaml",
    ] {
        assert!(!snap.join(f).exists(), "{f} not written");
    }
    // The outputs that do not name their target group / load balancer are wrapped.
    let health = json(
        &snap.join("aws/elbv2-describe-target-health-prod-ingress-nodes-b71d0e5a94c3f286.json"),
    );
    let first_key = health.as_object().and_then(|o| o.keys().next().cloned());
    assert_eq!(first_key.as_deref(), Some("TargetGroupArn"));
    assert!(health["TargetGroupArn"]
        .as_str()
        .is_some_and(|a| a.ends_with("targetgroup/prod-ingress-nodes/b71d0e5a94c3f286")));
    assert!(health["TargetHealthDescriptions"].is_array());
    let attrs = json(
        &snap
            .join("aws/elbv2-describe-load-balancer-attributes-prod-ingress-3f9e1c27a8b4d6e0.json"),
    );
    assert!(attrs["LoadBalancerArn"].is_string());
    // Every call carried the region / the context.
    let log = std::fs::read_to_string(dir.join("calls.log")).expect("call log");
    for line in log.lines() {
        if line.starts_with("aws ") {
            assert!(
                line.contains("--output json") && line.contains("--region us-east-1"),
                "{line}"
            );
        } else {
            assert!(line.starts_with("kubectl --context prod "), "{line}");
        }
    }
    assert!(log.contains("kubectl --context prod debug node/ip-10-0-17-42.ec2.internal"));

    // The collected snapshot answers like the bundled model.
    let snap_s = snap.to_str().expect("utf-8");
    for (src, dst, port) in [
        ("instance/prod-node-c", "instance/prod-db-a", "5432"),
        ("prod/frontend-7c9d8b6f4d-x2k9p", "svc/prod/backend", "9090"),
        ("internet", "lb/prod-ingress", "443"),
    ] {
        let got = netpath(&[
            "-q", "-s", snap_s, "trace", src, dst, "--port", port, "-o", "json",
        ]);
        let want = netpath(&[
            "-q",
            "-s",
            "models/eks-reference",
            "trace",
            src,
            dst,
            "--port",
            port,
            "-o",
            "json",
        ]);
        assert_eq!(got.status.code(), want.status.code(), "{src} -> {dst}");
        let (g, w): (Value, Value) = (
            serde_json::from_slice(&got.stdout).expect("JSON"),
            serde_json::from_slice(&want.stdout).expect("JSON"),
        );
        assert_eq!(g["reachable"], w["reachable"], "{src} -> {dst}");
        assert_eq!(
            g["paths"].as_array().map(Vec::len),
            w["paths"].as_array().map(Vec::len)
        );
    }
    let reply = netpath(&[
        "-s",
        snap_s,
        "trace",
        "instance/prod-node-c",
        "instance/prod-db-a",
        "--port",
        "5432",
    ]);
    let text = String::from_utf8_lossy(&reply.stdout);
    assert!(
        text.contains("acl-0912141462f266b57 outbound rule 32767")
            && text.contains("aws/ec2-describe-network-acls.json:"),
        "the drop is cited in the collected file:\n{text}"
    );
}

#[test]
fn all_collected_is_exit_0_and_filters_reach_the_calls() {
    let dir = temp("all");
    let out = collect(
        &dir,
        &[
            "--profile",
            "audit",
            "--vpc-id",
            "vpc-011a37c2efce5330b",
            "-n",
            "prod,kube-system",
        ],
        &stand_in_path(),
        true,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(dir.join("calls.log")).expect("call log");
    assert!(log.contains(
        "aws ec2 describe-subnets --filters Name=vpc-id,Values=vpc-011a37c2efce5330b --output json --profile audit"
    ));
    assert!(log.contains("kubectl get pods -n prod -o yaml"));
    assert!(dir.join("snap/k8s/pods-kube-system.yaml").is_file());
    assert!(
        dir.join("snap/k8s/nodes.yaml").is_file(),
        "cluster-scoped kinds whatever -n says"
    );
}

#[test]
fn nothing_collected_is_exit_2() {
    let dir = temp("none");
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).expect("dir");
    let out = collect(&dir, &[], empty.to_str().expect("utf-8"), false);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "failed: aws ec2 describe-vpcs --output json: cannot run aws: `aws` is not on PATH"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("cannot run kubectl"));
}
