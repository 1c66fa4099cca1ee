//! Conformance with the Batfish AWS corpus (`../shared/conformance/aws-batfish`): every snapshot
//! loads without errors, and each case of its `expectations.json` is traced and compared with
//! Batfish's disposition and hop sequence (and the reply's, for bidirectional cases).
//! Prints the pass rate per snapshot and the reason for every failure.

use netpath::graph::Index;
use netpath::model::{Protocol, Snapshot};
use netpath::trace::{Disposition, Path as TPath, Query, Reachable, Start, Tracer};
use serde_json::Value;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/aws-batfish");
    p.is_dir().then_some(p)
}

/// Our hop name → Batfish's node name.
fn batfish_name(snap: &Snapshot, ours: &str) -> String {
    if ours == "aws-backbone" {
        return "isp_16509".into();
    }
    if let Some(rest) = ours.strip_prefix("lb/") {
        if let Some((name, az)) = rest.split_once('@') {
            if let Some(lb) = snap.cloud.load_balancers.values().find(|l| l.name == name) {
                return format!("{az}-{}", lb.dns_name);
            }
        }
    }
    if ours.starts_with("vpn-") {
        return format!("{ours}.txt");
    }
    ours.to_string()
}

fn same_hop(snap: &Snapshot, ours: &str, theirs: &str) -> bool {
    let b = batfish_name(snap, ours);
    b == theirs || (ours.starts_with("vpce-") && theirs.starts_with(&format!("{ours}-subnet-")))
}

fn hops_match(snap: &Snapshot, ours: &[String], theirs: &[String]) -> bool {
    ours.len() == theirs.len() && ours.iter().zip(theirs).all(|(a, b)| same_hop(snap, a, b))
}

fn disposition_matches(d: Disposition, expected: &str) -> bool {
    expected.split('|').any(|e| match e {
        "ACCEPTED" => d == Disposition::Delivered,
        "EXITS_NETWORK" => d == Disposition::ExitsNetwork,
        "DENIED_IN" | "DENIED_OUT" => d == Disposition::Denied,
        "NO_ROUTE" => d == Disposition::NoRoute,
        "NULL_ROUTED" => matches!(d, Disposition::NoRoute | Disposition::Blackhole),
        "NEIGHBOR_UNREACHABLE" => d == Disposition::NeighborUnreachable,
        _ => false,
    })
}

fn protocol(v: &Value) -> Protocol {
    match v {
        Value::Number(n) => Protocol::from_number(n.as_u64().unwrap_or(0) as u8),
        Value::String(s) => {
            if let Some(p) = Protocol::parse(s) {
                return p;
            }
            let num = s
                .split(['(', ')'])
                .nth(1)
                .and_then(|x| x.trim().parse::<u8>().ok())
                .unwrap_or(0);
            Protocol::from_number(num)
        }
        _ => Protocol::Other(0),
    }
}

fn start_for(snap: &Snapshot, node: &str, src_ip: Option<IpAddr>) -> Option<(Start, IpAddr)> {
    if node == "internet" {
        return Some((Start::Internet, src_ip.unwrap_or("8.8.8.8".parse().ok()?)));
    }
    if node.starts_with("i-") {
        let inst = snap.cloud.instances.get(node)?;
        let eni = inst.interface_ids.first()?.clone();
        let ip = src_ip
            .or(inst.private_ip)
            .or_else(|| snap.cloud.interfaces.get(&eni).and_then(|e| e.primary_ip()))?;
        return Some((Start::Interface(eni), ip));
    }
    let fallback: IpAddr = "192.0.2.10".parse().ok()?;
    let ip = src_ip.unwrap_or(fallback);
    if node.starts_with("subnet-") {
        return Some((Start::Subnet(node.into()), ip));
    }
    if node.starts_with("vpc-") {
        let ip = src_ip.or_else(|| {
            snap.cloud
                .vpcs
                .get(node)
                .and_then(|v| v.cidrs_v4.first())
                .map(|c| IpAddr::V4(c.network()))
        })?;
        return Some((Start::Vpc(node.into()), ip));
    }
    if node.starts_with("vgw-") {
        return Some((Start::VpnGateway(node.into()), ip));
    }
    if let Some(v) = node.strip_suffix(".txt") {
        return Some((Start::VpnConnection(v.into()), ip));
    }
    None
}

struct Flow {
    node: String,
    src: Option<IpAddr>,
    dst: IpAddr,
    proto: Protocol,
    dst_port: u16,
    src_port: Option<u16>,
}

/// Parses Batfish's flow string: `start=NODE [interface=X] [SRC:SP->DST:DP TCP (SYN)]`.
fn parse_flow_string(s: &str) -> Option<Flow> {
    let node = s
        .strip_prefix("start=")?
        .split_whitespace()
        .next()?
        .to_string();
    let inner = s.split('[').nth(1)?.split(']').next()?;
    let mut parts = inner.split_whitespace();
    let addrs = parts.next()?;
    let proto = Protocol::parse(parts.next()?)?;
    let (a, b) = addrs.split_once("->")?;
    let (sip, sport) = a.rsplit_once(':')?;
    let (dip, dport) = b.rsplit_once(':')?;
    Some(Flow {
        node,
        src: sip.parse().ok(),
        dst: dip.parse().ok()?,
        proto,
        dst_port: dport.parse().ok()?,
        src_port: sport.parse().ok(),
    })
}

fn parse_flow(v: &Value) -> Option<Flow> {
    if let Some(s) = v.as_str() {
        return parse_flow_string(s);
    }
    Some(Flow {
        node: v["ingress_node"].as_str()?.to_string(),
        src: v["src_ip"].as_str().and_then(|s| s.parse().ok()),
        dst: v["dst_ip"].as_str()?.parse().ok()?,
        proto: protocol(&v["ip_protocol"]),
        dst_port: v["dst_port"].as_u64().unwrap_or(0) as u16,
        src_port: v["src_port"].as_u64().map(|p| p as u16),
    })
}

fn names(p: &[netpath::trace::Hop]) -> Vec<String> {
    p.iter().map(|h| h.at.clone()).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs one flow case; Ok(()) or the reason it failed.
fn run_flow_case(snap: &Snapshot, ix: &Index, case: &Value) -> Result<(), String> {
    let flow = parse_flow(&case["flow"]).ok_or("unparsable flow")?;
    let (start, src_ip) = start_for(snap, &flow.node, flow.src)
        .ok_or_else(|| format!("unknown ingress node {}", flow.node))?;
    let q = Query {
        start,
        src_ip,
        dst_ips: vec![flow.dst],
        protocol: flow.proto,
        dst_port: flow.dst_port,
        src_port: flow.src_port.or(flow.proto.has_ports().then_some(49152)),
        icmp_type: 0,
        http: None,
    };
    let res = Tracer::new(snap, ix).trace(&q);
    let exp = &case["expect"];
    let want_disp = exp["disposition"].as_str().unwrap_or("");
    let want_hops = strings(&exp["hops"]);
    let matching: Vec<&TPath> = res
        .paths
        .iter()
        .filter(|p| hops_match(snap, &names(&p.hops), &want_hops))
        .collect();
    let Some(path) = matching.first() else {
        let got: Vec<String> = res
            .paths
            .iter()
            .map(|p| {
                format!(
                    "{} {:?}",
                    p.forward.as_str(),
                    names(&p.hops)
                        .iter()
                        .map(|h| batfish_name(snap, h))
                        .collect::<Vec<_>>()
                )
            })
            .collect();
        return Err(format!(
            "hops differ: want {want_disp} {want_hops:?}; got {got:?}"
        ));
    };
    if !disposition_matches(path.forward, want_disp) {
        let last = path
            .hops
            .last()
            .and_then(|h| h.steps.last())
            .map(|s| format!("{}: {}", s.rule, s.detail))
            .unwrap_or_default();
        return Err(format!(
            "disposition: want {want_disp}, got {} ({last})",
            path.forward.as_str()
        ));
    }
    if let Some(rev) = exp.get("reverse") {
        let want = strings(&rev["hops"]);
        let rdisp = rev["disposition"].as_str().unwrap_or("");
        let ok = path.disposition.is_success() == rdisp.contains("ACCEPTED");
        if !ok || !hops_match(snap, &names(&path.reply), &want) {
            return Err(format!(
                "reply: want {rdisp} {want:?}; got {} {:?}",
                path.disposition.as_str(),
                names(&path.reply)
            ));
        }
    }
    Ok(())
}

fn instance_dst(snap: &Snapshot, ix: &Index, id: &str, from_internet: bool) -> Option<IpAddr> {
    let inst = snap.cloud.instances.get(id)?;
    let eni = snap.cloud.interfaces.get(inst.interface_ids.first()?)?;
    let _ = ix;
    if from_internet {
        return eni
            .addresses
            .iter()
            .find_map(|a| a.public_ip)
            .map(IpAddr::V4)
            .or(eni.primary_ip());
    }
    eni.primary_ip()
}

/// Runs one reachability query case.
fn run_query_case(snap: &Snapshot, ix: &Index, case: &Value) -> Result<(), String> {
    let tracer = Tracer::new(snap, ix);
    let id = case["id"].as_str().unwrap_or("");
    if let Some(instances) = case["instances"].as_object() {
        let want: Vec<String> = strings(&case["expect"]["reachable"]);
        for (label, iid) in instances {
            let dst = instance_dst(snap, ix, iid.as_str().unwrap_or(""), true)
                .ok_or("instance without address")?;
            let q = Query {
                start: Start::Internet,
                src_ip: "8.8.8.8".parse().map_err(|_| "ip")?,
                dst_ips: vec![dst],
                protocol: Protocol::Tcp,
                dst_port: 0,
                src_port: Some(49152),
                icmp_type: 0,
                http: None,
            };
            let a = tracer.trace_all_ports(&q);
            let reachable = !matches!(a.reachable(), Reachable::None | Reachable::Unknown);
            if reachable != want.contains(label) {
                return Err(format!(
                    "{label} ({iid}): reachable from the internet = {reachable}"
                ));
            }
        }
        return Ok(());
    }
    if id == "internet-non-ssh-tcp" {
        // The four instances of the notebook's network (inputs of the query, not answers).
        let all = [
            "i-04cd3db5124a05ee6",
            "i-01602d9efaed4409a",
            "i-0a5d64b8b58c6dd09",
            "i-02cae6eaa9edeed70",
        ];
        let mut reached = Vec::new();
        for iid in all {
            let Some(dst) = instance_dst(snap, ix, iid, true) else {
                continue;
            };
            let q = Query {
                start: Start::Internet,
                src_ip: "8.8.8.8".parse().map_err(|_| "ip")?,
                dst_ips: vec![dst],
                protocol: Protocol::Tcp,
                dst_port: 0,
                src_port: Some(49152),
                icmp_type: 0,
                http: None,
            };
            let a = tracer.trace_all_ports(&q);
            let non_ssh = a.outcomes.iter().any(|o| {
                o.protocol == Protocol::Tcp
                    && matches!(o.reachable, Reachable::All | Reachable::Some)
                    && o.ports.ranges().iter().any(|r| r.lo != 22 || r.hi != 22)
            });
            if non_ssh {
                reached.push(iid);
            }
        }
        return if reached == ["i-01602d9efaed4409a"] {
            Ok(())
        } else {
            Err(format!("non-SSH TCP reaches {reached:?}"))
        };
    }
    if id == "client-reaches-both-targets" {
        let from = case["from"].as_str().unwrap_or("");
        let (start, src_ip) = start_for(snap, from, None).ok_or("unknown client")?;
        let mut reached = std::collections::BTreeSet::new();
        for eni in snap
            .cloud
            .interfaces
            .values()
            .filter(|e| ix.lb_by_interface.contains_key(&e.id))
        {
            let Some(dst) = eni.primary_ip() else {
                continue;
            };
            let q = Query {
                start: start.clone(),
                src_ip,
                dst_ips: vec![dst],
                protocol: Protocol::Tcp,
                dst_port: 0,
                src_port: Some(49152),
                icmp_type: 0,
                http: None,
            };
            for o in tracer.trace_all_ports(&q).outcomes {
                for p in o.trace.paths.iter().filter(|p| p.disposition.is_success()) {
                    if let Some(h) = p.hops.last() {
                        reached.insert(h.at.clone());
                    }
                }
            }
        }
        let want: std::collections::BTreeSet<String> = strings(&case["to"]).into_iter().collect();
        return if want.is_subset(&reached) {
            Ok(())
        } else {
            Err(format!("reached {reached:?}, want {want:?}"))
        };
    }
    Err(format!(
        "query {:?} not supported by this harness",
        case["query"]
    ))
}

#[test]
fn aws_batfish_corpus() {
    let Some(root) = corpus() else {
        eprintln!("aws-batfish corpus not found beside the repository; skipped");
        return;
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.join("aws_configs").is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    let (mut total, mut passed, mut skipped) = (0usize, 0usize, 0usize);
    let mut load_errors = Vec::new();
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let (snap, diags) = netpath::ingest::load_snapshot(&dir.join("aws_configs"));
        if diags.has_errors() {
            load_errors.push(format!("{name}:\n{}", diags.render(&snap.sources)));
            continue;
        }
        let Ok(text) = std::fs::read_to_string(dir.join("expectations.json")) else {
            continue;
        };
        let exp: Value = serde_json::from_str(&text).expect("expectations.json is JSON");
        let ix = Index::build(&snap.cloud);
        let (mut t, mut p) = (0, 0);
        for case in exp["cases"].as_array().into_iter().flatten() {
            let id = case["id"].as_str().unwrap_or("?");
            if case.get("aws_only") == Some(&Value::Bool(false)) {
                skipped += 1;
                println!("  skip {name}/{id}: needs the on-premises router configurations, not in the corpus");
                continue;
            }
            t += 1;
            let r = if case.get("query").is_some() {
                run_query_case(&snap, &ix, case)
            } else {
                run_flow_case(&snap, &ix, case)
            };
            match r {
                Ok(()) => p += 1,
                Err(e) => failures.push(format!("{name}/{id}: {e}")),
            }
        }
        println!("{name}: {p}/{t}");
        total += t;
        passed += p;
    }
    for f in &failures {
        println!("  FAIL {f}");
    }
    let rate = if total == 0 {
        0.0
    } else {
        100.0 * passed as f64 / total as f64
    };
    println!("aws-batfish conformance: {passed}/{total} cases pass ({rate:.1}%), {skipped} skipped (need on-premises configs)");
    assert!(
        load_errors.is_empty(),
        "snapshots failed to load:\n{}",
        load_errors.join("\n")
    );
    assert!(rate >= 90.0, "pass rate {rate:.1}% is below 90%");
}
