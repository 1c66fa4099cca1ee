//! Cluster endpoint names: `NS/NAME` and `pod/NS/NAME` (a pod, or a workload's pods),
//! `node/NAME`, `svc/NS/NAME` and the DNS names CoreDNS answers (`NAME.NS`,
//! `NAME.NS.svc.cluster.local`). Each function returns `None` when the name is not a cluster
//! form, so the caller tries the cloud forms.

use crate::endpoint::{Destination, Source};
use crate::graph::Index;
use crate::model::cluster::{Pod, Workload};
use crate::model::Snapshot;
use crate::trace::Start;
use std::net::IpAddr;

/// The pods a `NS/NAME` names: the pod itself, else the pods of the workload of that name
/// (selected by its selector), sorted by name.
fn pods_named<'a>(
    snap: &'a Snapshot,
    ix: &Index,
    key: &str,
) -> Option<(Vec<&'a Pod>, Option<String>)> {
    let (ns, name) = key.split_once('/')?;
    if let Some(p) = ix
        .cluster
        .pod_by_name
        .get(key)
        .and_then(|i| snap.cluster.pods.get(*i))
    {
        return Some((vec![p], None));
    }
    let workloads = snap
        .cluster
        .deployments
        .iter()
        .chain(&snap.cluster.stateful_sets)
        .chain(&snap.cluster.daemon_sets)
        .chain(&snap.cluster.replica_sets);
    let w: &Workload = workloads
        .into_iter()
        .find(|w| w.meta.namespace_or_default() == ns && w.meta.name == name)?;
    let sel = w.selector.as_ref()?;
    let mut pods: Vec<&Pod> = snap
        .cluster
        .pods
        .iter()
        .filter(|p| p.meta.namespace_or_default() == ns && sel.matches(&p.meta.labels))
        .collect();
    pods.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    Some((pods, Some(format!("{:?} {key}", w.kind))))
}

fn pod_ip(ix: &Index, p: &Pod) -> Option<IpAddr> {
    if p.spec.host_network {
        return p
            .spec
            .node_name
            .as_ref()
            .and_then(|n| ix.cluster.nodes.get(n))
            .and_then(|n| n.ip)
            .or(p.host_ip);
    }
    p.pod_ips.first().copied()
}

/// Resolves a cluster source name.
pub fn source(snap: &Snapshot, ix: &Index, name: &str) -> Option<Result<Source, String>> {
    if let Some(node) = name.strip_prefix("node/") {
        return Some(match ix.cluster.nodes.get(node) {
            Some(n) => match n.ip {
                Some(ip) => Ok(Source {
                    start: Start::Node(node.to_string()),
                    ip,
                    note: None,
                }),
                None => Err(format!("node {node} has no InternalIP in the snapshot")),
            },
            None => Err(format!("no node named {node:?} in the snapshot")),
        });
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        let p = ix
            .cluster
            .pod_by_ip
            .get(&ip)
            .and_then(|i| snap.cluster.pods.get(*i))?;
        return Some(Ok(Source {
            start: Start::Pod(p.meta.key()),
            ip,
            note: Some(format!("{ip} is pod {}", p.meta.key())),
        }));
    }
    let key = name.strip_prefix("pod/").unwrap_or(name);
    if !key.contains('/') || key.split('/').count() != 2 || snap.cluster.is_empty() {
        return None;
    }
    let (pods, workload) = pods_named(snap, ix, key)?;
    Some(match pods.first() {
        None => Err(format!("{key} has no pods in the snapshot")),
        Some(p) => match pod_ip(ix, p) {
            None => Err(format!(
                "pod {} has no address in the snapshot (is it running?)",
                p.meta.key()
            )),
            Some(ip) => Ok(Source {
                start: Start::Pod(p.meta.key()),
                ip,
                note: workload.map(|w| {
                    format!(
                        "{w}: traced from its pod {} ({} pods in all)",
                        p.meta.key(),
                        pods.len()
                    )
                }),
            }),
        },
    })
}

/// Resolves a cluster destination name.
pub fn destination(snap: &Snapshot, ix: &Index, name: &str) -> Option<Result<Destination, String>> {
    if let Some(node) = name.strip_prefix("node/") {
        return Some(match ix.cluster.nodes.get(node).and_then(|n| n.ip) {
            Some(ip) => Ok(Destination {
                ips: vec![ip],
                notes: vec![],
            }),
            None => Err(format!(
                "no node named {node:?} with an InternalIP in the snapshot"
            )),
        });
    }
    if let Some(found) = service(snap, name) {
        return Some(found);
    }
    let key = name.strip_prefix("pod/").unwrap_or(name);
    if !key.contains('/') || key.split('/').count() != 2 || snap.cluster.is_empty() {
        return None;
    }
    let (pods, workload) = pods_named(snap, ix, key)?;
    let ips: Vec<IpAddr> = pods.iter().filter_map(|p| pod_ip(ix, p)).collect();
    if ips.is_empty() {
        return Some(Err(format!(
            "{key} has no pod with an address in the snapshot"
        )));
    }
    let notes = workload
        .map(|w| {
            vec![format!(
                "{w}: one path per pod ({})",
                pods.iter()
                    .map(|p| p.meta.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )]
        })
        .unwrap_or_default();
    Some(Ok(Destination { ips, notes }))
}

/// `svc/NS/NAME`, `NAME.NS`, `NAME.NS.svc`, `NAME.NS.svc.cluster.local`: the Service's
/// ClusterIP(s), as CoreDNS answers (headless Services: the ready pod addresses).
fn service(snap: &Snapshot, name: &str) -> Option<Result<Destination, String>> {
    let (ns, svc, dns) = if let Some(rest) = name.strip_prefix("svc/") {
        let (ns, n) = rest.split_once('/')?;
        (ns.to_string(), n.to_string(), false)
    } else {
        let trimmed = name.trim_end_matches('.');
        let base = trimmed
            .strip_suffix(".svc.cluster.local")
            .or_else(|| trimmed.strip_suffix(".svc"))
            .unwrap_or(trimmed);
        let (n, ns) = base.split_once('.')?;
        if ns.contains('.') || n.is_empty() {
            return None;
        }
        (ns.to_string(), n.to_string(), true)
    };
    let s = snap
        .cluster
        .services
        .iter()
        .find(|s| s.meta.namespace_or_default() == ns && s.meta.name == svc);
    let Some(s) = s else {
        if dns {
            return None;
        }
        return Some(Err(format!("no Service {ns}/{svc} in the snapshot")));
    };
    let fqdn = format!("{svc}.{ns}.svc.cluster.local");
    if let Some(ext) = &s.external_name {
        return Some(Err(format!("{fqdn} is an ExternalName Service: a DNS alias (CNAME) to {ext}, not routed by the cluster; trace to {ext}'s address instead")));
    }
    if s.headless {
        let mut ips = Vec::new();
        for slice in snap.cluster.endpoint_slices.iter().filter(|e| {
            e.meta.namespace_or_default() == ns && e.service_name.as_deref() == Some(svc.as_str())
        }) {
            for ep in slice.endpoints.iter().filter(|e| e.ready != Some(false)) {
                ips.extend(ep.addresses.iter().filter_map(|a| a.parse::<IpAddr>().ok()));
            }
        }
        ips.sort();
        ips.dedup();
        if ips.is_empty() {
            return Some(Err(format!(
                "{fqdn} is headless and has no ready endpoints: CoreDNS returns no address"
            )));
        }
        return Some(Ok(Destination {
            notes: vec![format!(
                "CoreDNS resolves headless {fqdn} to its ready pods: {}",
                ips.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
            ips,
        }));
    }
    if s.cluster_ips.is_empty() {
        return Some(Err(format!(
            "Service {ns}/{svc} has no ClusterIP in the snapshot"
        )));
    }
    let ips = s.cluster_ips.clone();
    Some(Ok(Destination {
        notes: vec![format!(
            "CoreDNS resolves {fqdn} to the ClusterIP {}",
            ips.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )],
        ips: ips.into_iter().take(1).collect(),
    }))
}
