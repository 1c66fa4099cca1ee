//! Flow checks: traces of the flows an audit cares about.
//!
//! - **NACL breaks the reply**: between every two running instances in different subnets, on
//!   every TCP/UDP port interval, a flow whose forward packet is delivered but whose reply a
//!   network ACL drops (NACLs are stateless: the reply needs its own rule).
//! - **Pod reachable directly**: with the VPC CNI, pods have VPC addresses; an instance that is
//!   not a node reaching a pod's container port by the pod's address bypasses Services and load
//!   balancers (and their source ranges).

use super::finding;
use crate::endpoint::resolve_source;
use crate::graph::Index;
use crate::kube::join::CniMode;
use crate::model::{Protocol, Snapshot};
use crate::report::findings::{Finding, FindingLevel};
use crate::trace::{Action, Layer, Query, TraceResult, Tracer};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Runs the flow checks.
pub fn check(snap: &Snapshot, ix: &Index, out: &mut Vec<Finding>) {
    let tracer = Tracer::new(snap, ix);
    nacl_replies(snap, ix, &tracer, out);
    direct_pods(snap, ix, &tracer, out);
}

fn query(
    snap: &Snapshot,
    ix: &Index,
    src: &str,
    dst: IpAddr,
    proto: Protocol,
    port: u16,
) -> Option<Query> {
    let s = resolve_source(snap, ix, src).ok()?;
    Some(Query {
        start: s.start,
        src_ip: s.ip,
        dst_ips: vec![dst],
        protocol: proto,
        dst_port: port,
        src_port: None,
        icmp_type: 0,
        http: None,
    })
}

fn nacl_replies(snap: &Snapshot, ix: &Index, tracer: &Tracer, out: &mut Vec<Finding>) {
    if !snap.present.network_acls {
        return;
    }
    let running: Vec<(&str, &str, IpAddr)> = snap
        .cloud
        .instances
        .values()
        .filter(|i| i.forwards())
        .filter_map(|i| Some((i.id.as_str(), i.subnet_id.as_deref()?, i.private_ip?)))
        .collect();
    // Rule that drops replies → (its step, the flows).
    let mut hits: BTreeMap<String, (crate::trace::Step, Vec<String>)> = BTreeMap::new();
    for proto in crate::diff::ports::PORT_PROTOCOLS {
        let intervals = crate::diff::ports::intervals(&[snap], proto);
        for (sid, ssub, _) in &running {
            for (did, dsub, dip) in &running {
                if sid == did || ssub == dsub {
                    continue;
                }
                for r in &intervals {
                    let Some(q) = query(snap, ix, sid, *dip, proto, r.lo) else {
                        continue;
                    };
                    let t = tracer.trace(&q);
                    if let Some(step) = reply_nacl_drop(&t) {
                        let e = hits
                            .entry(format!("{} {}", step.rule, step.detail))
                            .or_insert_with(|| (step.clone(), Vec::new()));
                        e.1.push(format!(
                            "{} -> {} {proto} {r}",
                            crate::endpoint::instance_label(snap, sid),
                            crate::endpoint::instance_label(snap, did)
                        ));
                    }
                }
            }
        }
    }
    for (_, (step, flows)) in hits {
        let shown: Vec<&String> = flows.iter().take(4).collect();
        out.push(finding(
            snap,
            "audit/nacl-breaks-reply",
            FindingLevel::Error,
            step.rule.clone(),
            format!(
                "{} drops the replies of flows the forward direction allows ({}{}): add an entry for the reply (the client's ephemeral ports) before it; `netpath trace SRC DST --port P --suggest-fix` prints it",
                step.rule,
                shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; "),
                if flows.len() > shown.len() {
                    format!("; and {} more", flows.len() - shown.len())
                } else {
                    String::new()
                }
            ),
            step.source.as_ref(),
        ));
    }
}

fn reply_nacl_drop(t: &TraceResult) -> Option<&crate::trace::Step> {
    t.paths.iter().find_map(|p| {
        if !p.forward.is_success() || p.disposition.is_success() {
            return None;
        }
        let s = p.reply.last()?.steps.last()?;
        (s.layer == Layer::Nacl && s.action == Action::Denied).then_some(s)
    })
}

fn direct_pods(snap: &Snapshot, ix: &Index, tracer: &Tracer, out: &mut Vec<Finding>) {
    if !matches!(ix.cluster.cni, Some(CniMode::VpcCni { .. })) {
        return;
    }
    let node_instances: Vec<&str> = ix
        .cluster
        .nodes
        .values()
        .filter_map(|n| n.instance_id.as_deref())
        .collect();
    let outsiders: Vec<&str> = snap
        .cloud
        .instances
        .values()
        .filter(|i| i.forwards() && !node_instances.contains(&i.id.as_str()))
        .map(|i| i.id.as_str())
        .collect();
    for pod in &snap.cluster.pods {
        if pod.spec.host_network {
            continue;
        }
        let Some(ip) = pod.pod_ips.first() else {
            continue;
        };
        let ports: Vec<(Protocol, u16)> = pod
            .spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().map(|p| (p.protocol, p.container_port)))
            .collect();
        for src in &outsiders {
            for (proto, port) in &ports {
                let Some(q) = query(snap, ix, src, *ip, *proto, *port) else {
                    continue;
                };
                let t = tracer.trace(&q);
                if !t.paths.iter().any(|p| p.disposition.is_success()) {
                    continue;
                }
                let sg = t
                    .paths
                    .iter()
                    .flat_map(|p| p.hops.iter())
                    .flat_map(|h| h.steps.iter())
                    .rfind(|s| s.layer == Layer::SecurityGroup && s.action == Action::Permitted);
                out.push(finding(
                    snap,
                    "audit/pod-reachable-directly",
                    FindingLevel::Warning,
                    format!("{} -> {} {proto} {port}", crate::endpoint::instance_label(snap, src), pod.meta.key()),
                    format!(
                        "{} (not a node) reaches pod {} directly at its VPC address {ip} on {proto} {port}, bypassing Services and load balancers{}; narrow the rule to the load balancer's addresses or add a NetworkPolicy",
                        crate::endpoint::instance_label(snap, src),
                        pod.meta.key(),
                        sg.map(|s| format!(" (admitted by {})", s.rule)).unwrap_or_default()
                    ),
                    sg.and_then(|s| s.source.as_ref()),
                ));
            }
        }
    }
}
