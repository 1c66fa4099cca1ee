//! `trace -o dot|mermaid|svg`: snapshots of the drawings, the denial in red, one group per path,
//! and a clear exit 2 when Graphviz is missing for SVG.

use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn netpath(args: &[&str], path_env: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_netpath"));
    c.current_dir(ROOT)
        .env_remove("NETPATH_SNAPSHOT")
        .args(["-s", "models/eks-reference", "trace"])
        .args(args);
    if let Some(p) = path_env {
        c.env("PATH", p);
    }
    c.output().expect("run netpath")
}

fn draw(args: &[&str], format: &str) -> (String, Option<i32>) {
    let mut all = args.to_vec();
    all.extend(["-o", format]);
    let out = netpath(&all, None);
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        out.status.code(),
    )
}

const REPLY_NACL: &[&str] = &[
    "instance/prod-node-c",
    "instance/prod-db-a",
    "--port",
    "5432",
];
const POD_TO_SERVICE: &[&str] = &[
    "prod/frontend-7c9d8b6f4d-x2k9p",
    "svc/prod/backend",
    "--port",
    "9090",
    "--http-method",
    "GET",
    "--http-path",
    "/api/orders",
];
const BLACKHOLE: &[&str] = &["instance/prod-db-c", "10.200.0.5", "--port", "443"];

#[test]
fn dot_snapshots() {
    for (name, args) in [
        ("dot-reply-nacl", REPLY_NACL),
        ("dot-pod-to-service", POD_TO_SERVICE),
        ("dot-blackhole", BLACKHOLE),
    ] {
        let (dot, code) = draw(args, "dot");
        assert!(dot.starts_with("digraph netpath {"), "{dot}");
        assert!(code.is_some_and(|c| c != 2), "{name}: exit {code:?}");
        insta::assert_snapshot!(name, dot);
    }
}

#[test]
fn mermaid_snapshots() {
    for (name, args) in [
        ("mermaid-reply-nacl", REPLY_NACL),
        ("mermaid-pod-to-service", POD_TO_SERVICE),
    ] {
        let (m, _) = draw(args, "mermaid");
        assert!(m.contains("flowchart LR"), "{m}");
        insta::assert_snapshot!(name, m);
    }
}

#[test]
fn the_denial_is_red_and_the_exit_code_is_the_traces() {
    let (dot, code) = draw(REPLY_NACL, "dot");
    assert_eq!(code, Some(1), "not reachable: exit 1 as with -o text");
    let red: Vec<&str> = dot.lines().filter(|l| l.contains("color=red")).collect();
    assert!(
        red.iter()
            .any(|l| l.contains("->") && l.contains("acl-0912141462f266b57 outbound rule 32767")),
        "the edge into the denial names the NACL rule: {red:#?}"
    );
    assert!(red.iter().any(|l| l.contains("reply denied")));
    let (m, code) = draw(REPLY_NACL, "mermaid");
    assert_eq!(code, Some(1));
    assert!(m.contains("class ") && m.contains(" denied\n"), "{m}");
    assert!(m.contains("linkStyle "), "{m}");
    // Two endpoints behind the Service: two groups.
    let (dot, _) = draw(POD_TO_SERVICE, "dot");
    assert_eq!(dot.matches("subgraph cluster_").count(), 2, "{dot}");
}

#[test]
fn every_port_set_gets_its_own_group() {
    let (dot, _) = draw(&["instance/prod-node-c", "instance/prod-db-a"], "dot");
    let groups = dot.matches("subgraph cluster_").count();
    assert!(groups >= 2, "{dot}");
    assert!(dot.contains("tcp 5432 path 1"), "{dot}");
}

#[test]
fn svg_needs_graphviz_and_says_so() {
    let out = netpath(
        &[REPLY_NACL, &["-o", "svg"]].concat(),
        Some("/nonexistent-netpath-path"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Graphviz") && err.contains("-o dot"), "{err}");
    let has_dot = Command::new("dot").arg("-V").output().is_ok();
    if !has_dot {
        eprintln!("skipped the SVG rendering: Graphviz is not installed");
        return;
    }
    let (svg, code) = draw(REPLY_NACL, "svg");
    assert_eq!(code, Some(1));
    assert!(svg.contains("<svg"), "{svg}");
    assert!(svg.contains("acl&#45;0912141462f266b57") || svg.contains("acl-0912141462f266b57"));
}
