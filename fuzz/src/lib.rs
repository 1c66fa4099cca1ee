//! Shared pieces of the fuzz targets: splitting one fuzz input into snapshot files, and
//! running a flow through a snapshot end to end (resolve, trace, all-ports, reports).

use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::graph::Index;
use netpath::model::{Protocol, Snapshot};
use netpath::report::{json, text, FlowSpec};
use netpath::trace::{Query, Start, Tracer};
use std::path::{Path, PathBuf};

/// The line that starts a new file in a multi-file fuzz input: `@@file NAME`.
pub const FILE_MARK: &str = "@@file ";

/// Splits `input` into a header (the text before the first file mark) and files.
pub fn split_files(input: &str) -> (&str, Vec<(PathBuf, String)>) {
    let mut pieces = input.split("\n@@file ");
    let first = pieces.next().unwrap_or("");
    let (header, first_file) = match first.strip_prefix(FILE_MARK) {
        Some(rest) => ("", Some(rest)),
        None => (first, None),
    };
    let files = first_file
        .into_iter()
        .chain(pieces)
        .take(32)
        .enumerate()
        .map(|(i, piece)| {
            let (name, body) = piece.split_once('\n').unwrap_or((piece, ""));
            let name = name.trim();
            let name = if name.is_empty() || name.contains("..") || name.starts_with('/') {
                format!("file{i}")
            } else {
                name.to_string()
            };
            (PathBuf::from("fuzz").join(name), body.to_string())
        })
        .collect();
    (header, files)
}

/// Resolves `src` and `dst` in the snapshot and traces the flow (one port, and every port when
/// `port` is 0), rendering both reports; endpoints that do not resolve end the run quietly.
pub fn trace_names(snap: &Snapshot, ix: &Index, src: &str, dst: &str, port: u16, proto: &str) {
    let Ok(source) = resolve_source(snap, ix, src) else {
        return;
    };
    let Ok(dest) = resolve_destination(snap, ix, dst, source.start == Start::Internet) else {
        return;
    };
    let protocol = Protocol::parse(proto).unwrap_or(Protocol::Tcp);
    let tracer = Tracer::new(snap, ix);
    let query = Query {
        start: source.start.clone(),
        src_ip: source.ip,
        dst_ips: dest.ips.clone(),
        protocol,
        dst_port: port,
        src_port: None,
        icmp_type: 0,
        http: None,
    };
    let flow = FlowSpec {
        src: src.to_string(),
        dst: dst.to_string(),
        protocol: protocol.to_string(),
        dst_port: Some(port),
    };
    let style = text::Style { color: false };
    let res = tracer.trace(&query);
    let _ = text::trace(&snap.sources, &flow, &res, style);
    let value = json::trace(&snap.sources, &flow, &res);
    let _ = serde_json::to_string(&value);
    if port == 0 && protocol.has_ports() {
        let ans = tracer.trace_ports(&query, None);
        let _ = text::all_ports(&snap.sources, &flow, &ans, style);
        let _ = json::all_ports(&snap.sources, &flow, &ans);
    }
}

/// The repository's reference model, for targets that fuzz names against a real snapshot.
pub fn reference_model() -> &'static (Snapshot, Index) {
    static MODEL: std::sync::OnceLock<(Snapshot, Index)> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/eks-reference");
        let (snap, _diags) = netpath::ingest::load_snapshot(&dir);
        let ix = Index::compile(&snap);
        (snap, ix)
    })
}

/// Builds the cluster's derived views: the join to the cloud, the policy matrix, kube-proxy's
/// behaviour per node (synthesised and interpreted from each dump) and the drift between them.
pub fn exercise_cluster(snap: &Snapshot) {
    use netpath::kube::proxy::{self, NodeContext, SynthOptions};
    use netpath::model::Packet;
    use std::net::{IpAddr, Ipv4Addr};
    let objects = &snap.cluster;
    let _ = netpath::kube::join::ClusterIndex::build(objects, &snap.cloud);
    let _ = netpath::kube::join::detect_cni(objects);
    if objects.pods.len() + objects.network_policies.len() <= 64 {
        let _ = netpath::matrix::validate(objects, netpath::matrix::Grouping::Pod);
        let _ = netpath::matrix::build(objects, netpath::matrix::Grouping::Workload);
    }
    let packet = |dst: IpAddr, port: u16| Packet {
        src: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 5)),
        dst,
        protocol: Protocol::Tcp,
        src_port: 40000,
        dst_port: port,
    };
    let node_names: Vec<&str> = objects
        .nodes
        .iter()
        .map(|n| n.meta.name.as_str())
        .take(2)
        .collect();
    for node in node_names.iter().copied().chain(std::iter::once("node-x")) {
        let synth = proxy::synthesize(objects, node, &SynthOptions::default());
        for svc in synth.services.iter().take(4) {
            for ip in svc.cluster_ips.iter().take(2) {
                let _ = synth.evaluate(&packet(*ip, svc.port));
            }
        }
        for dump in &snap.iptables {
            let _ = proxy::drift(dump, &synth);
        }
    }
    for dump in &snap.iptables {
        let ctx = NodeContext::new(vec![IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1))]);
        for observed in proxy::observed_endpoints(dump).iter().take(4) {
            for (ip, port) in observed.endpoints.iter().take(2) {
                let _ = proxy::evaluate(dump, &packet(*ip, *port), &ctx);
            }
        }
        let _ = proxy::evaluate(
            dump,
            &packet(IpAddr::V4(Ipv4Addr::new(172, 20, 0, 10)), 80),
            &ctx,
        );
    }
}
