//! kube-proxy conformance: every flow of `shared/conformance/kube-proxy/expectations.json`,
//! evaluated on the dump as kube-proxy wrote it and on its rendered `iptables-save` twins, and
//! (where fixtures transcribe the `.md` files' Services/EndpointSlices) on the synthesized state.

use netpath::kube::proxy::{
    drift, evaluate, synthesize, DriftKind, NodeContext, Origin, ProxyOutcome, SynthOptions,
    Verdict,
};
use netpath::model::flow::{Packet, Protocol};
use netpath::model::iptables::IptablesDump;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/kube-proxy")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube_proxy")
}

fn load_dump(path: &Path) -> Result<IptablesDump, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut snap, diags) = netpath::ingest::load_texts(vec![(path.to_path_buf(), text)]);
    if snap.iptables.is_empty() {
        return Err(format!(
            "{}: not parsed as iptables ({:?})",
            path.display(),
            diags.items.iter().map(|d| &d.message).collect::<Vec<_>>()
        ));
    }
    Ok(snap.iptables.remove(0))
}

struct Flow {
    id: u64,
    pkt: Packet,
    output: String,
    masq: bool,
}

fn flows(d: &Value) -> Vec<Flow> {
    d["flows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| Flow {
            id: f["id"].as_u64().unwrap(),
            pkt: Packet {
                src: f["src"].as_str().unwrap().parse().unwrap(),
                dst: f["dst"].as_str().unwrap().parse().unwrap(),
                protocol: Protocol::parse(f["protocol"].as_str().unwrap()).unwrap(),
                src_port: 40000,
                dst_port: f["dport"].as_u64().unwrap() as u16,
            },
            output: f["output"].as_str().unwrap().to_string(),
            masq: f["masq"].as_bool().unwrap(),
        })
        .collect()
}

fn context(d: &Value, pkt: &Packet) -> NodeContext {
    let local: Vec<IpAddr> = d["node"]["local_ips"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .collect();
    let mut ctx = NodeContext::new(local);
    // A packet from 127/8 can only have been generated on the node (nat OUTPUT).
    ctx.locally_originated = pkt.src.is_loopback();
    ctx
}

fn fmt_dest(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        ip => format!("{ip}:{port}"),
    }
}

/// Compares one outcome with the expected `output`/`masq`; `Err(reason)` on mismatch.
fn check(out: &ProxyOutcome, flow: &Flow) -> Result<(), String> {
    if out.branches.is_empty() {
        return Err("no branches".into());
    }
    let total = out.total_probability();
    if (total - 1.0).abs() > 1e-6 {
        return Err(format!("branch probabilities sum to {total}"));
    }
    let describe = || {
        out.distribution()
            .iter()
            .map(|(v, m, p)| format!("{v} masq={m} p={p:.6}"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let expected = flow.output.trim();
    match expected {
        "" | "ACCEPT" | "DROP" | "REJECT" => {
            let want = match expected {
                "" => Verdict::Accept { explicit: false },
                "ACCEPT" => Verdict::Accept { explicit: true },
                "DROP" => Verdict::Drop,
                _ => Verdict::Reject,
            };
            if out.branches.iter().any(|b| b.verdict != want) {
                return Err(format!("expected {want}, got {}", describe()));
            }
        }
        list => {
            let want: Vec<String> = list.split(',').map(|s| s.trim().to_string()).collect();
            if out
                .branches
                .iter()
                .any(|b| !matches!(b.verdict, Verdict::Dnat { .. }))
            {
                return Err(format!("expected DNAT {list}, got {}", describe()));
            }
            let got: Vec<String> = out
                .dnat_destinations()
                .into_iter()
                .map(|(ip, port)| fmt_dest(ip, port))
                .collect();
            if got != want {
                return Err(format!("expected DNAT {want:?}, got {got:?}"));
            }
            // kube-proxy spreads a chain's endpoints evenly: each gets 1/n.
            let n = want.len() as f64;
            for (ip, port) in out.dnat_destinations() {
                let share: f64 = out
                    .branches
                    .iter()
                    .filter(|b| b.verdict == Verdict::Dnat { ip, port })
                    .map(|b| b.probability)
                    .sum();
                if (share - 1.0 / n).abs() > 1e-6 {
                    return Err(format!(
                        "{} has probability {share}, expected {}",
                        fmt_dest(ip, port),
                        1.0 / n
                    ));
                }
            }
        }
    }
    if out.branches.iter().any(|b| b.masquerade != flow.masq) {
        return Err(format!("expected masq={}, got {}", flow.masq, describe()));
    }
    Ok(())
}

fn load_expectations() -> Option<Value> {
    let path = corpus_dir().join("expectations.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap()),
        Err(_) => {
            eprintln!("kube-proxy conformance: {} absent, skipped", path.display());
            None
        }
    }
}

#[test]
fn kube_proxy_conformance_dumps() {
    let Some(exp) = load_expectations() else {
        return;
    };
    // form -> (passed, total)
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for d in exp["dumps"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let mut forms = vec![(
            "restore".to_string(),
            d["file"].as_str().unwrap().to_string(),
        )];
        for r in d["rendered"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            let form = r.split('/').take(2).collect::<Vec<_>>().join("/");
            forms.push((form, r.to_string()));
        }
        let flows = flows(d);
        for (form, file) in forms {
            let dump = load_dump(&corpus_dir().join(&file));
            for flow in &flows {
                let slot = tally.entry(form.clone()).or_default();
                slot.1 += 1;
                let res = match &dump {
                    Ok(dump) => {
                        let out = evaluate(dump, &flow.pkt, &context(d, &flow.pkt));
                        assert!(out
                            .branches
                            .iter()
                            .all(|b| matches!(b.origin, Origin::Observed { .. })));
                        check(&out, flow)
                    }
                    Err(e) => Err(e.clone()),
                };
                match res {
                    Ok(()) => slot.0 += 1,
                    Err(e) => {
                        failures.push(format!("[{form}] {name} #{}: {}: {e}", flow.id, flow.pkt))
                    }
                }
            }
        }
    }
    for (form, (pass, total)) in &tally {
        println!("kube-proxy conformance: {pass}/{total} outcomes ({form})");
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    let restore = tally.get("restore").copied().unwrap_or_default();
    let nft = tally.get("rendered/nft").copied().unwrap_or_default();
    let legacy = tally.get("rendered/legacy").copied().unwrap_or_default();
    assert!(restore.0 >= 68, "restore form: {}/{}", restore.0, restore.1);
    assert!(nft.0 >= 68, "rendered/nft form: {}/{}", nft.0, nft.1);
    assert!(
        legacy.0 >= 19,
        "rendered/legacy form: {}/{}",
        legacy.0,
        legacy.1
    );
}

fn synth_options(d: &Value) -> SynthOptions {
    let node = &d["node"];
    SynthOptions {
        local_addresses: node["local_ips"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap().parse().unwrap())
            .collect(),
        local_detector: node["pod_cidr_detector"]
            .as_str()
            .map(|s| s.parse().unwrap()),
        masquerade_all: false,
        node_port_addresses: node["nodeport_addresses"].as_array().map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap().parse().unwrap())
                .collect()
        }),
        localhost_node_ports: node["localhost_nodeports"].as_bool().unwrap_or(true),
    }
}

fn load_objects(name: &str) -> Option<netpath::model::cluster::ClusterObjects> {
    let path = fixtures_dir().join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).ok()?;
    let (snap, diags) = netpath::ingest::load_texts(vec![(path, text)]);
    for d in &diags.items {
        println!("fixture {name}: {}", d.message);
    }
    Some(snap.cluster)
}

#[test]
fn kube_proxy_conformance_synthesis() {
    let Some(exp) = load_expectations() else {
        return;
    };
    let (mut pass, mut total) = (0usize, 0usize);
    let mut failures = Vec::new();
    let mut drift_problems = Vec::new();
    for d in exp["dumps"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let Some(objects) = load_objects(name) else {
            println!("synthesis: no fixture for {name}, skipped");
            continue;
        };
        let node = d["node"]["name"].as_str().unwrap();
        let synth = synthesize(&objects, node, &synth_options(d));
        for flow in flows(d) {
            total += 1;
            let out = synth.evaluate(&flow.pkt);
            assert!(out
                .branches
                .iter()
                .all(|b| matches!(b.origin, Origin::Derived { .. })));
            match check(&out, &flow) {
                Ok(()) => pass += 1,
                Err(e) => failures.push(format!("{name} #{}: {}: {e}", flow.id, flow.pkt)),
            }
        }
        // The dump kube-proxy wrote from these objects shows no drift from them.
        let dump = load_dump(&corpus_dir().join(d["file"].as_str().unwrap())).unwrap();
        for f in drift(&dump, &synth) {
            if f.kind != DriftKind::UnreferencedChain {
                drift_problems.push(format!("{name}: {:?} {} {}", f.kind, f.service, f.detail));
            }
        }
    }
    println!("kube-proxy conformance: {pass}/{total} outcomes (synthesized from Services/EndpointSlices)");
    for f in &failures {
        println!("FAIL synthesis {f}");
    }
    for f in &drift_problems {
        println!("DRIFT {f}");
    }
    assert!(pass >= 68, "synthesis: {pass}/{total}");
    assert!(drift_problems.is_empty());
}

#[test]
fn drift_finds_stale_and_missing_endpoints() {
    let Some(exp) = load_expectations() else {
        return;
    };
    let d = exp["dumps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "k8s-v127-clusterip-three-endpoints")
        .unwrap();
    let mut objects = load_objects("k8s-v127-clusterip-three-endpoints").unwrap();
    // 10.0.1.3 went away and 10.0.1.9 appeared since the dump was taken.
    let slice = &mut objects.endpoint_slices[0];
    slice.endpoints[2].addresses = vec!["10.0.1.9".into()];
    let synth = synthesize(&objects, "test-hostname", &synth_options(d));
    let dump = load_dump(&corpus_dir().join(d["file"].as_str().unwrap())).unwrap();
    let findings = drift(&dump, &synth);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert!(findings.iter().any(|f| f.kind
        == DriftKind::StaleEndpoint {
            ip: ip("10.0.1.3"),
            port: 80
        }
        && f.rule.as_ref().is_some_and(|r| r.line > 0)));
    assert!(findings.iter().any(|f| f.kind
        == DriftKind::MissingEndpoint {
            ip: ip("10.0.1.9"),
            port: 80
        }));
    assert_eq!(findings.len(), 2, "{findings:?}");
}
