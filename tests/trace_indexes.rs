//! Traces on a generated snapshot with many pods and Services answer exactly as recorded:
//! pod to pod, pod to Service (by name and by ClusterIP), pod and node to a NodePort, from a
//! node's host network, and to addresses nothing owns, rendered as text and JSON. The lookups
//! a trace makes (addresses, Services, nodes, policies) go through indexes; the recorded
//! answers were made by scanning the snapshot, so any index that disagrees shows up here.
//!
//! The record keeps, per flow, the verdict line and a digest of the whole text and JSON
//! (FNV-1a, 64 bits); `NETPATH_RECORD=1 cargo test --test trace_indexes` rewrites it.

use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::gen::{generate, Parts, Spec};
use netpath::graph::Index;
use netpath::model::{Protocol, Snapshot};
use netpath::report::{json, text, FlowSpec};
use netpath::trace::{Query, Start, Tracer};
use std::fmt::Write;
use std::path::{Path, PathBuf};

const RECORD: &str = "tests/fixtures/trace_indexes/traces.txt";

fn snapshot_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("netpath-trace-indexes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The generated cluster: 300 pods, 60 Services, NetworkPolicies, and kube-proxy dumps on
/// half of the nodes (the other half derive kube-proxy from the Services).
fn spec() -> Spec {
    let mut s = Spec::with_pods(300);
    s.iptables_dumps = s.nodes / 2;
    s
}

/// The flows to trace: (source, destination, protocol, port).
fn flows(snap: &Snapshot) -> Vec<(String, String, Protocol, u16)> {
    let c = &snap.cluster;
    let pods: Vec<String> = c
        .pods
        .iter()
        .map(|p| format!("{}/{}", p.meta.namespace_or_default(), p.meta.name))
        .collect();
    let mut out = Vec::new();
    for k in 0..30 {
        let (a, b) = ((k * 7919) % pods.len(), (k * 104_729 + 13) % pods.len());
        out.push((pods[a].clone(), pods[b].clone(), Protocol::Tcp, 8080));
    }
    for k in 0..6 {
        let (a, b) = ((k * 31 + 5) % pods.len(), (k * 17 + 2) % pods.len());
        out.push((pods[a].clone(), pods[b].clone(), Protocol::Udp, 53));
    }
    for (k, s) in c.services.iter().enumerate().step_by(7) {
        let Some(port) = s.ports.first() else {
            continue;
        };
        let from = pods[(k * 13 + 1) % pods.len()].clone();
        let key = format!("svc/{}/{}", s.meta.namespace_or_default(), s.meta.name);
        out.push((from.clone(), key, port.protocol, port.port));
        if let Some(ip) = s.cluster_ips.first() {
            out.push((from.clone(), ip.to_string(), port.protocol, port.port));
        }
        if let (Some(np), Some(node)) = (port.node_port, c.nodes.get(k % c.nodes.len().max(1))) {
            if let Some(ip) = node.internal_ip() {
                out.push((from, ip.to_string(), port.protocol, np));
                out.push((
                    format!("node/{}", node.meta.name),
                    ip.to_string(),
                    port.protocol,
                    np,
                ));
            }
        }
    }
    if let Some(n) = c.nodes.first() {
        out.push((
            format!("node/{}", n.meta.name),
            pods[3].clone(),
            Protocol::Tcp,
            8080,
        ));
    }
    out.push((pods[0].clone(), "10.255.255.254".into(), Protocol::Tcp, 443));
    out.push((pods[1].clone(), "8.8.8.8".into(), Protocol::Udp, 53));
    out
}

/// FNV-1a, 64 bits: a digest that stays the same across platforms and versions.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every flow traced with one tracer, rendered as text and JSON (the snapshot's directory
/// replaced by `SNAPSHOT`): the flow, the verdict line and the digests of both renderings.
fn render(snap: &Snapshot, ix: &Index, dir: &Path) -> String {
    let dir = dir.display().to_string();
    let tracer = Tracer::new(snap, ix);
    let mut out = String::new();
    for (src, dst, protocol, port) in flows(snap) {
        let _ = writeln!(out, "=== {src} -> {dst} {protocol}/{port}");
        let s = match resolve_source(snap, ix, &src) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(out, "source: {e}");
                continue;
            }
        };
        let d = match resolve_destination(snap, ix, &dst, s.start == Start::Internet) {
            Ok(d) => d,
            Err(e) => {
                let _ = writeln!(out, "destination: {e}");
                continue;
            }
        };
        let q = Query {
            start: s.start,
            src_ip: s.ip,
            dst_ips: d.ips,
            protocol,
            dst_port: port,
            src_port: None,
            icmp_type: 0,
            http: None,
        };
        let r = tracer.trace(&q);
        let f = FlowSpec {
            src,
            dst,
            protocol: protocol.to_string(),
            dst_port: Some(port),
        };
        let shown = text::trace(&snap.sources, &f, &r, text::Style { color: false })
            .replace(&dir, "SNAPSHOT");
        let data = json::trace(&snap.sources, &f, &r)
            .to_string()
            .replace(&dir, "SNAPSHOT");
        let _ = writeln!(
            out,
            "{}\ntext {:016x} json {:016x}",
            shown.lines().nth(1).unwrap_or(""),
            fnv(&shown),
            fnv(&data)
        );
    }
    out
}

#[test]
fn indexed_traces_answer_as_recorded() {
    let dir = snapshot_dir();
    generate(&spec(), &dir, Parts::All).expect("write the snapshot");
    let (snap, _) = netpath::ingest::load_snapshot(&dir);
    let ix = Index::compile(&snap);
    let got = render(&snap, &ix, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let record = Path::new(env!("CARGO_MANIFEST_DIR")).join(RECORD);
    if std::env::var_os("NETPATH_RECORD").is_some() {
        std::fs::write(&record, &got).expect("write the record");
        return;
    }
    let want = std::fs::read_to_string(&record).expect("the record exists");
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or(0);
        panic!(
            "traces differ from the record at line {}:\n got: {}\nwant: {}",
            first + 1,
            got.lines().nth(first).unwrap_or(""),
            want.lines().nth(first).unwrap_or("")
        );
    }
}
