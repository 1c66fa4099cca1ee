//! The outside contract of the binary: JSON keys, determinism, colour, `check` and JUnit.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const MODEL: &str = "models/eks-reference";

fn netpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NETPATH_SNAPSHOT")
        .env_remove("NO_COLOR")
        .args(args)
        .output()
        .expect("run netpath")
}

fn trace_json(src: &str, dst: &str, port: Option<&str>) -> (Value, Option<i32>) {
    let mut args = vec!["-s", MODEL, "trace", src, dst, "-o", "json"];
    if let Some(p) = port {
        args.extend(["--port", p]);
    }
    let out = netpath(&args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{src} -> {dst}: stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (v, out.status.code())
}

/// Flows with a port, chosen to cover every disposition the reference model produces.
const FLOWS: &[(&str, &str, &str, &str, i32)] = &[
    (
        "instance/prod-node-a",
        "instance/prod-node-b",
        "10250",
        "all",
        0,
    ),
    (
        "instance/prod-node-a",
        "instance/prod-tools-a",
        "9100",
        "all",
        0,
    ),
    ("internet", "lb/prod-ingress", "443", "all", 0),
    (
        "instance/prod-node-c",
        "instance/prod-db-a",
        "5432",
        "none",
        1,
    ),
    ("instance/prod-db-c", "10.200.0.5", "443", "none", 1),
    (
        "instance/prod-node-a",
        "instance/prod-batch-b",
        "22",
        "none",
        1,
    ),
    ("internet", "10.0.17.42", "443", "none", 1),
    ("internet", "198.51.100.33", "443", "none", 1),
    ("192.0.2.50", "instance/prod-bastion-a", "22", "none", 1),
];

const DISPOSITIONS: &[&str] = &["delivered", "denied", "no_route", "blackhole", "unknown"];
const KINDS: &[&str] = &[
    "veth",
    "vpc_fabric",
    "tunnel",
    "route",
    "filter",
    "dnat",
    "snat",
    "load_balancer",
    "deliver",
    "drop",
];

fn is_file_line(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((file, line)) => {
            !file.is_empty() && !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

#[test]
fn json_has_the_contract_keys() {
    for &(src, dst, port, reachable, exit) in FLOWS {
        let (v, code) = trace_json(src, dst, Some(port));
        let ctx = format!("{src} -> {dst}:{port}");
        assert_eq!(code, Some(exit), "{ctx}: exit code");
        assert_eq!(v["flow"]["src"], src, "{ctx}");
        assert_eq!(v["flow"]["dst"], dst, "{ctx}");
        assert_eq!(v["flow"]["protocol"], "tcp", "{ctx}");
        assert_eq!(v["flow"]["dst_port"], port.parse::<u64>().unwrap(), "{ctx}");
        assert_eq!(v["reachable"], reachable, "{ctx}");
        assert!(v["assumptions"].is_array(), "{ctx}: assumptions");
        let paths = v["paths"].as_array().expect("paths is an array");
        assert!(!paths.is_empty(), "{ctx}: no paths");
        for p in paths {
            let disp = p["disposition"].as_str().expect("disposition");
            assert!(DISPOSITIONS.contains(&disp), "{ctx}: disposition {disp}");
            let hops = p["hops"].as_array().expect("hops");
            assert!(!hops.is_empty(), "{ctx}: empty hops");
            let mut last = None;
            for h in hops {
                assert!(
                    h["at"].as_str().is_some_and(|s| !s.is_empty()),
                    "{ctx}: hop.at"
                );
                for s in h["steps"].as_array().expect("steps") {
                    let kind = s["kind"].as_str().expect("step.kind");
                    assert!(KINDS.contains(&kind), "{ctx}: kind {kind}");
                    assert!(s["layer"].is_string(), "{ctx}: step.layer");
                    assert!(s["action"].is_string(), "{ctx}: step.action");
                    assert!(s.get("rule").is_some(), "{ctx}: step.rule");
                    assert!(s.get("source").is_some(), "{ctx}: step.source");
                    if let Some(src) = s["source"].as_str() {
                        assert!(is_file_line(src), "{ctx}: source {src}");
                    }
                    last = Some(s.clone());
                }
            }
            if disp != "delivered" {
                let last = last.unwrap_or_else(|| panic!("{ctx}: {disp} path without steps"));
                let rule = last["rule"].as_str().unwrap_or("");
                assert!(
                    !rule.is_empty(),
                    "{ctx}: last step of a {disp} path has no rule"
                );
                let src = last["source"].as_str();
                // Every stop in the reference model is a rule or object in an input file.
                if disp != "no_route" {
                    assert!(
                        src.is_some_and(is_file_line),
                        "{ctx}: last step of a {disp} path has no file:line source: {last}"
                    );
                }
            }
        }
    }
}

#[test]
fn json_all_ports_answer() {
    let (v, code) = trace_json("instance/prod-node-a", "instance/prod-db-a", None);
    assert_eq!(code, Some(3));
    assert_eq!(v["reachable"], "some");
    assert_eq!(v["flow"]["src"], "instance/prod-node-a");
}

#[test]
fn trace_is_deterministic() {
    for args in [
        &[
            "-s",
            MODEL,
            "trace",
            "internet",
            "lb/prod-ingress",
            "-p",
            "443",
        ][..],
        &[
            "-s",
            MODEL,
            "trace",
            "internet",
            "lb/prod-ingress",
            "-p",
            "443",
            "-o",
            "json",
        ],
        &["-s", MODEL, "trace", "instance/prod-node-a", "internet"],
    ] {
        let a = netpath(args);
        let b = netpath(args);
        assert_eq!(a.status.code(), b.status.code(), "{args:?}");
        assert!(
            a.stdout == b.stdout,
            "{args:?}: stdout differs between runs"
        );
    }
}

#[test]
fn no_escape_codes_when_not_a_tty_or_no_color() {
    let args = [
        "-s",
        MODEL,
        "trace",
        "instance/prod-node-c",
        "instance/prod-db-a",
        "-p",
        "5432",
    ];
    // stdout is a pipe here: never coloured.
    let plain = netpath(&args);
    assert!(!plain.stdout.is_empty());
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("\x1b["));
    let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\x1b["));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("\x1b["));
    assert_eq!(out.stdout, plain.stdout);
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn check_junit_is_well_formed_with_one_testcase_per_expectation() {
    let tmp = std::env::temp_dir().join(format!("netpath-junit-{}.xml", std::process::id()));
    let out = netpath(&[
        "check",
        "scenarios/eks-reference.yaml",
        "--junit",
        tmp.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = std::fs::read_to_string(&tmp).expect("junit file written");
    let _ = std::fs::remove_file(&tmp);
    let scenario = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/eks-reference.yaml"),
    )
    .unwrap();
    let expectations = scenario
        .lines()
        .filter(|l| l.trim_start().starts_with("- {from:"))
        .count();
    assert_eq!(expectations, 12);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(count(&xml, "<testcase "), expectations, "{xml}");
    assert!(xml.contains(&format!("tests=\"{expectations}\"")), "{xml}");
    assert_well_formed(&xml);
}

/// A small XML checker: balanced tags, quoted attributes, only the five predefined entities.
fn assert_well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml")
        .and_then(|r| r.split_once("?>"))
        .map(|(_, r)| r)
        .expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    let mut roots = 0;
    while let Some(i) = rest.find(['<', '&']) {
        let tail = &rest[i..];
        if tail.starts_with('&') {
            let end = tail.find(';').expect("entity terminated");
            let ent = &tail[..=end];
            assert!(
                ["&lt;", "&gt;", "&amp;", "&quot;", "&apos;"].contains(&ent)
                    || ent.starts_with("&#"),
                "bad entity {ent}"
            );
            rest = &tail[end + 1..];
            continue;
        }
        if let Some(r) = tail.strip_prefix("<![CDATA[") {
            let end = r.find("]]>").expect("CDATA terminated");
            rest = &r[end + 3..];
            continue;
        }
        let end = tail.find('>').expect("tag terminated");
        let tag = &tail[1..end];
        rest = &tail[end + 1..];
        assert!(!tag.contains('<'), "'<' inside tag {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().expect("tag name").to_string();
            assert_eq!(count(tag, "\"") % 2, 0, "unbalanced quotes in <{tag}>");
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
        }
    }
    assert!(stack.is_empty(), "unclosed tags {stack:?}");
    assert_eq!(roots, 1, "exactly one root element");
    assert!(rest.trim().is_empty());
}

#[test]
fn check_fails_when_an_expectation_does_not_hold() {
    let dir = std::env::temp_dir().join(format!("netpath-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join(MODEL);
    let scenario = dir.join("blackhole.yaml");
    std::fs::write(
        &scenario,
        format!(
            "apiVersion: netpath/v1\nkind: Scenario\nsnapshot: {}\nexpect:\n  - {{from: instance/prod-db-c, to: 10.200.0.5, port: 443, reachable: true}}\n  - {{from: instance/prod-node-a, to: instance/prod-db-a, port: 5432, reachable: true}}\n",
            model.display()
        ),
    )
    .unwrap();
    let junit = dir.join("j.xml");
    let out = netpath(&[
        "check",
        scenario.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let xml = std::fs::read_to_string(&junit).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert_eq!(count(&xml, "<testcase "), 2, "{xml}");
    assert_eq!(count(&xml, "<failure"), 1, "{xml}");
    assert_well_formed(&xml);
}
