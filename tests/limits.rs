//! Resource limits: hostile or broken inputs generated here (nothing large is committed) end
//! with a clear diagnostic naming the file and the limit, or a `loop` disposition, in bounded
//! time. Each case also asserts its own time budget; the whole file runs in a few seconds in
//! a debug build.

mod common;

use common::*;
use netpath::diag::{Diagnostics, Severity};
use netpath::ingest::load_texts;
use netpath::kube::proxy::{evaluate, NodeContext, Verdict};
use netpath::model::{Packet, Protocol, Snapshot};
use netpath::trace::{Disposition, Reachable};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Loads one generated file, asserting the load stays within `budget`.
fn load_one(name: &str, text: String, budget: Duration) -> (Snapshot, Diagnostics) {
    let t = Instant::now();
    let out = load_texts(vec![(PathBuf::from(name), text)]);
    let took = t.elapsed();
    assert!(took < budget, "{name}: took {took:?}, budget {budget:?}");
    out
}

/// The rendered error diagnostics.
fn errors(snap: &Snapshot, d: &Diagnostics) -> String {
    d.items
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .map(|x| x.render(&snap.sources))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_error_naming(snap: &Snapshot, d: &Diagnostics, file: &str, limit: &str) {
    let e = errors(snap, d);
    assert!(e.starts_with(file), "diagnostic does not name {file}:\n{e}");
    assert!(
        e.to_lowercase().contains(limit),
        "diagnostic does not name the limit {limit:?}:\n{e}"
    );
    // The source line is shown cut short, never whole.
    assert!(e.len() < 4096, "diagnostic too long: {} bytes", e.len());
}

#[test]
fn yaml_alias_bomb_is_refused_by_the_alias_budget() {
    let mut y = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n");
    y.push_str(
        "  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let refs = [prev.as_str(); 9].join(",");
        y.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    let (snap, d) = load_one("bomb.yaml", y.clone(), Duration::from_secs(5));
    assert_error_naming(&snap, &d, "bomb.yaml:", "budget");
    // The same bomb in a scenario file.
    let scenario = format!(
        "apiVersion: netpath/v1\nkind: Scenario\nexpect:\n  - {{from: a, to: b, reachable: true}}\n{}",
        y.split_once("data:\n").map(|(_, rest)| rest.replace("  a", "x-a")).unwrap_or_default()
    );
    let mut sources = netpath::source::SourceMap::new();
    let file = sources.add("bomb-scenario.yaml", scenario);
    let start = Instant::now();
    let err = netpath::check::parse(&sources, file).expect_err("the bomb is refused");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let shown = err[0].render(&sources);
    assert!(shown.starts_with("bomb-scenario.yaml:"), "{shown}");
}

// The two cases below parse 100 MB and a million documents: about 5-10 s in a release build,
// minutes in a debug one. `cargo test` skips them; `.ci/run` runs them in release.

#[test]
#[ignore = "heavy: run in release by .ci/run"]
fn hundred_megabyte_single_line_files() {
    let big = 100 << 20;
    // Not any netpath input: one warning, no copy of the line in the message.
    let (snap, d) = load_one("blob.txt", "x".repeat(big), Duration::from_secs(20));
    assert!(errors(&snap, &d).is_empty());
    let w = d
        .items
        .iter()
        .map(|x| x.render(&snap.sources))
        .collect::<String>();
    assert!(
        w.contains("blob.txt") && w.len() < 4096,
        "{}",
        &w[..w.len().min(300)]
    );
    drop(snap);
    // JSON on one line with a wrong type at its end: located at line 1 and a far column.
    let mut j = String::with_capacity(big + 64);
    j.push_str("{\"Vpcs\": [], \"Description\": \"");
    j.push_str(&"y".repeat(big));
    j.push_str("\", \"Subnets\": 7}");
    let (snap, d) = load_one("describe-subnets.json", j, Duration::from_secs(30));
    let e = errors(&snap, &d);
    assert!(
        e.starts_with("describe-subnets.json:1:"),
        "{}",
        &e[..e.len().min(300)]
    );
    assert!(e.len() < 4096, "diagnostic too long: {} bytes", e.len());
}

#[test]
fn deeply_nested_json_hits_the_recursion_limit() {
    let depth = 100_000;
    let j = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": {}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let (snap, d) = load_one("deep.json", j, Duration::from_secs(5));
    assert_error_naming(&snap, &d, "deep.json:", "recursion limit");
    let j = format!("{{\"Vpcs\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
    // AWS files are read into typed structures: the shape is wrong long before the depth limit.
    let (snap, d) = load_one("describe-vpcs.json", j, Duration::from_secs(5));
    assert_error_naming(
        &snap,
        &d,
        "describe-vpcs.json:1:",
        "\"vpcs\": a list of objects",
    );
}

#[test]
fn deeply_nested_yaml_hits_the_depth_budget() {
    let depth = 100_000;
    let flow = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let (snap, d) = load_one("deep-flow.yaml", flow, Duration::from_secs(5));
    assert_error_naming(&snap, &d, "deep-flow.yaml:3:", "recursion limit");
    // Within the budget: parsed, even on a test thread's small stack in a debug build (this
    // once overflowed the stack at about 60 levels).
    let mut within = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
    for i in 0..120 {
        within.push_str(&" ".repeat(i + 1));
        within.push_str(&format!("k{i}:\n"));
    }
    let (snap, d) = load_one("deep-ok.yaml", within, Duration::from_secs(5));
    assert!(errors(&snap, &d).is_empty(), "{}", errors(&snap, &d));
    let mut block = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
    for i in 0..1000 {
        block.push_str(&" ".repeat(i + 1));
        block.push_str(&format!("k{i}:\n"));
    }
    let (snap, d) = load_one("deep-block.yaml", block, Duration::from_secs(5));
    assert_error_naming(&snap, &d, "deep-block.yaml:", "budget");
}

#[test]
#[ignore = "heavy: run in release by .ci/run"]
fn a_million_tiny_yaml_documents() {
    let n = 1_000_000;
    let mut y = String::with_capacity(n * 8);
    for _ in 0..n {
        y.push_str("--- ~\n");
    }
    let (snap, d) = load_one(
        "many.yaml",
        format!("apiVersion: v1\nkind: List\nitems: []\n{y}"),
        Duration::from_secs(30),
    );
    assert!(errors(&snap, &d).is_empty(), "{}", errors(&snap, &d));
}

fn iptables(text: String) -> netpath::model::iptables::IptablesDump {
    let (mut snap, d) = load_one("node.iptables-save", text, Duration::from_secs(5));
    assert!(errors(&snap, &d).is_empty(), "{}", errors(&snap, &d));
    snap.iptables.remove(0)
}

fn packet() -> Packet {
    Packet {
        src: "10.0.0.1".parse().unwrap(),
        dst: "10.0.0.2".parse().unwrap(),
        protocol: Protocol::Tcp,
        src_port: 40000,
        dst_port: 80,
    }
}

#[test]
fn iptables_jump_cycle_is_a_loop() {
    // 200 chains in a ring: C0 -> C1 -> ... -> C199 -> C0.
    let n = 200;
    let mut t = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
    );
    for i in 0..n {
        t.push_str(&format!(":C{i} - [0:0]\n"));
    }
    t.push_str("-A PREROUTING -j C0\n");
    for i in 0..n {
        t.push_str(&format!("-A C{i} -j C{}\n", (i + 1) % n));
    }
    t.push_str("COMMIT\n");
    let dump = iptables(t);
    let start = Instant::now();
    let out = evaluate(&dump, &packet(), &NodeContext::new(vec![]));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        out.branches
            .iter()
            .all(|b| matches!(b.verdict, Verdict::Loop(_))),
        "{:?}",
        out.branches
    );
}

#[test]
fn iptables_statistic_fan_out_is_capped() {
    // 16 levels that each fork in two: 65536 branches unless the walk caps them.
    let n = 16;
    let mut t = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
    );
    for i in 0..=n {
        t.push_str(&format!(":L{i} - [0:0]\n"));
    }
    t.push_str("-A PREROUTING -j L0\n");
    for i in 0..n {
        t.push_str(&format!(
            "-A L{i} -m statistic --mode random --probability 0.50000000000 -j L{j}\n-A L{i} -j L{j}\n",
            j = i + 1
        ));
    }
    t.push_str("-A L16 -p tcp -j DNAT --to-destination 10.9.9.9:80\nCOMMIT\n");
    let dump = iptables(t);
    let start = Instant::now();
    let out = evaluate(&dump, &packet(), &NodeContext::new(vec![]));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(
        out.branches.len() <= 4097,
        "{} branches",
        out.branches.len()
    );
    assert!(
        out.branches
            .iter()
            .any(|b| matches!(b.verdict, Verdict::Undecidable(_))),
        "the cap is not reported"
    );
}

#[test]
fn route_tables_that_loop_end_in_bounded_time() {
    // Subnet A sends 10.9.0.0/16 to ENI B (an appliance, source/destination check off) and
    // subnet B sends it back to ENI A: the trace ends, and says why, without walking forever.
    let mut net = MiniVpc::default();
    let mut a = eni(ENI_A, SUBNET_A, "10.1.1.10", &["sg-0aaa00000000000a1"]);
    a["SourceDestCheck"] = json!(false);
    let mut b = eni(ENI_B, SUBNET_B, "10.1.2.20", &["sg-0aaa00000000000b2"]);
    b["SourceDestCheck"] = json!(false);
    net.interfaces = Some(json!({ "NetworkInterfaces": [a, b] }));
    let table = |id: &str, subnet: &str, via: &str| {
        json!({"RouteTableId": id, "VpcId": VPC, "OwnerId": "111122223333",
            "PropagatingVgws": [], "Tags": [],
            "Associations": [{"Main": false, "SubnetId": subnet, "RouteTableAssociationId": format!("{id}-assoc"),
                "RouteTableId": id, "AssociationState": {"State": "associated"}}],
            "Routes": [
                {"DestinationCidrBlock": "10.1.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"},
                route("10.9.0.0/16", "NetworkInterfaceId", via)]})
    };
    net.route_tables = Some(json!({"RouteTables": [
        table("rtb-0aaa00000000000a1", SUBNET_A, ENI_B),
        table("rtb-0aaa00000000000b2", SUBNET_B, ENI_A)]}));
    let snap = net.load();
    let start = Instant::now();
    let r = trace(&snap, ENI_A, "10.9.0.5", "tcp", 443);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_ne!(r.reachable, Reachable::All, "{r:#?}");
    assert!(
        r.paths
            .iter()
            .all(|p| matches!(p.disposition, Disposition::Loop | Disposition::Unknown)),
        "{r:#?}"
    );
}

#[test]
fn nlb_targeting_itself_is_a_loop() {
    // The IP target group of the reference model's NLB, pointed at the NLB's own addresses.
    let files: Vec<(PathBuf, String)> = repo_files("models/eks-reference")
        .into_iter()
        .map(|(p, text)| {
            if !p.ends_with("elbv2-describe-target-health-k8s-prod-frontend-3c71e9a4b2.json") {
                return (p, text);
            }
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["TargetHealthDescriptions"] = json!([
                {"Target": {"Id": "10.0.0.143", "Port": 80, "AvailabilityZone": "us-east-1a"},
                 "HealthCheckPort": "80", "TargetHealth": {"State": "healthy"}},
                {"Target": {"Id": "10.0.1.212", "Port": 80, "AvailabilityZone": "us-east-1b"},
                 "HealthCheckPort": "80", "TargetHealth": {"State": "healthy"}}]);
            (p, serde_json::to_string_pretty(&v).unwrap())
        })
        .collect();
    let snap = load_clean(files);
    let start = Instant::now();
    let r = trace(
        &snap,
        "internet",
        "k8s-prod-frontend-5e8a1c93d2-9b4f07d6e2a1c385.elb.us-east-1.amazonaws.com",
        "tcp",
        80,
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(!r.paths.is_empty());
    assert!(
        r.paths
            .iter()
            .all(|p| p.disposition != Disposition::Delivered),
        "{r:#?}"
    );
    assert!(
        r.paths.iter().any(|p| p.disposition == Disposition::Loop),
        "no path ends in a loop: {:?}",
        r.paths.iter().map(|p| p.disposition).collect::<Vec<_>>()
    );
}
