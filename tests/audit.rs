//! `netpath audit`: every planted problem of the bundled model is found at the right file and
//! line, a clean model gives nothing, and a subnet tagged as isolated with a route to the
//! internet is an error.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn audit(snapshot: &Path) -> (Value, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(root())
        .env_remove("NETPATH_SNAPSHOT")
        .arg("-s")
        .arg(snapshot)
        .args(["audit", "-o", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (v, out.status.code())
}

fn rows(v: &Value) -> Vec<(String, String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
                format!(
                    "{}:{}",
                    f["file"].as_str().unwrap_or("-"),
                    f["line"].as_u64().unwrap_or(0)
                ),
                f["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn planted_problems_of_the_bundled_model() {
    let (v, code) = audit(Path::new("models/eks-reference"));
    assert_eq!(code, Some(1), "errors make the audit fail");
    let got = rows(&v);
    let has = |level: &str, rule: &str, at: &str| {
        assert!(
            got.iter()
                .any(|(l, r, a, _)| l == level && r == rule && a == at),
            "missing {level} {rule} at {at} in {got:#?}"
        );
    };
    let m = "models/eks-reference";
    // Planted 1: the blackhole route of prod-database-c.
    has(
        "error",
        "audit/blackhole-route",
        &format!("{m}/aws/describe-route-tables.json:260"),
    );
    // Planted 2: the database NACL drops the replies to AZ c (its default deny entry).
    has(
        "error",
        "audit/nacl-breaks-reply",
        &format!("{m}/aws/describe-network-acls.json:288"),
    );
    // Planted 3: the unhealthy node-c targets.
    has(
        "warning",
        "audit/unhealthy-target",
        &format!("{m}/aws/elbv2-describe-target-health-prod-ingress-nodes.json:24"),
    );
    // Planted 4: the stopped instance.
    has(
        "note",
        "audit/stopped-instance",
        &format!("{m}/aws/describe-instances.json:771"),
    );
    // The stale backend endpoint in node c's kube-proxy rules.
    has(
        "error",
        "audit/kube-proxy-drift",
        &format!("{m}/k8s/iptables/ip-10-0-49-66.ec2.internal.iptables-save:193"),
    );
    // prod/orders selects no pod.
    has(
        "warning",
        "audit/service-no-endpoints",
        &format!("{m}/k8s/services.yaml:312"),
    );
    // Namespaces with pods and no default deny.
    for ns_line in ["18", "32"] {
        has(
            "warning",
            "audit/no-default-deny-ingress",
            &format!("{m}/k8s/namespaces.yaml:{ns_line}"),
        );
        has(
            "warning",
            "audit/no-default-deny-egress",
            &format!("{m}/k8s/namespaces.yaml:{ns_line}"),
        );
    }
    // The frontend pods answer the bastion directly (prod-nodes admits 8080 from the public subnets).
    has(
        "warning",
        "audit/pod-reachable-directly",
        &format!("{m}/aws/describe-security-groups.json:212"),
    );
    // The PERMISSIVE port of the frontend.
    has(
        "warning",
        "audit/mtls-not-strict",
        &format!("{m}/k8s/istio.yaml:16"),
    );
    // The NodePorts open to the world are explained by the instance-target NLBs: notes, not errors.
    let open: Vec<_> = got
        .iter()
        .filter(|(_, r, _, _)| r == "audit/sg-open-to-world")
        .collect();
    assert_eq!(open.len(), 2, "{open:#?}");
    assert!(open.iter().all(|(l, _, _, _)| l == "note"));
    // prod has its default deny: no finding names it.
    assert!(!got
        .iter()
        .any(|(_, r, _, n)| r.starts_with("audit/no-default-deny") && n == "namespace prod"));
    // Exactly three errors: the blackhole, the NACL reply and the drift.
    assert_eq!(v["summary"]["errors"], 3, "{got:#?}");
}

#[test]
fn a_clean_model_has_no_findings() {
    let (v, code) = audit(Path::new("tests/audit/clean"));
    assert_eq!(code, Some(0));
    assert_eq!(v["findings"], serde_json::json!([]));
}

#[test]
fn an_isolated_subnet_with_an_internet_route() {
    let tmp = std::env::temp_dir().join(format!("netpath-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    for e in std::fs::read_dir(root().join("tests/audit/clean")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
    }
    let f = tmp.join("describe-subnets.json");
    let text = std::fs::read_to_string(&f).unwrap();
    let tagged = text.replacen(
        "\"Value\": \"subnet-0aaa0000000000001\"",
        "\"Value\": \"subnet-0aaa0000000000001\"\n                },\n                {\n                    \"Key\": \"tier\",\n                    \"Value\": \"isolated\"",
        1,
    );
    assert_ne!(text, tagged);
    std::fs::write(&f, tagged).unwrap();
    let (v, code) = audit(&tmp);
    assert_eq!(code, Some(1));
    let got = rows(&v);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].1, "audit/isolated-subnet-internet-route");
    assert!(
        got[0].2.ends_with("describe-route-tables.json:23"),
        "{got:#?}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn audit_text_of_the_bundled_model() {
    let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(root())
        .env_remove("NETPATH_SNAPSHOT")
        .args(["-s", "models/eks-reference", "audit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(
        "audit_eks_reference",
        String::from_utf8(out.stdout).unwrap()
    );
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

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from:?} in {file:?}");
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_duplicate_sg_rule_and_an_allow_that_cannot_match_tcp() {
    let tmp = std::env::temp_dir().join(format!("netpath-audit-more-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&root().join("models/eks-reference"), &tmp);
    edit(
        &tmp.join("aws/describe-security-groups.json"),
        "\"office\",\n                            \"CidrIp\": \"203.0.113.0/24\"\n                        }",
        "\"office\",\n                            \"CidrIp\": \"203.0.113.0/24\"\n                        },\n                        {\n                            \"CidrIp\": \"203.0.113.0/24\"\n                        }",
    );
    edit(
        &tmp.join("k8s/istio.yaml"),
        "          ports:\n          - \"5432\"\n    selector:",
        "          methods:\n          - GET\n          ports:\n          - \"5432\"\n    selector:",
    );
    let (v, _) = audit(&tmp);
    let (base, _) = audit(Path::new("models/eks-reference"));
    let strip =
        |rows: Vec<(String, String, String, String)>| -> Vec<(String, String, String, String)> {
            rows.into_iter()
                .map(|(l, r, a, n)| {
                    (
                        l,
                        r,
                        a.rsplit('/').next().unwrap_or_default().to_string(),
                        n,
                    )
                })
                .collect()
        };
    let new: Vec<_> = strip(rows(&v))
        .into_iter()
        .filter(|r| !strip(rows(&base)).contains(r))
        .collect();
    assert_eq!(
        new,
        vec![
            (
                "warning".to_string(),
                "audit/allow-cannot-match-tcp".to_string(),
                "istio.yaml:141".to_string(),
                "AuthorizationPolicy prod/postgres-allow-backend rules[0]".to_string()
            ),
            (
                "warning".to_string(),
                "audit/shadowed-rule".to_string(),
                "describe-security-groups.json:277".to_string(),
                "sg-066b3802e44340644 ingress[1]".to_string()
            ),
        ]
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
