//! Static checks of the cluster: default-deny per namespace, Services without endpoints,
//! policies that select or reference nothing, Istio mTLS and ALLOW rules that cannot match
//! plain TCP, duplicated AuthorizationPolicy rules, kube-proxy rules that drifted from the
//! EndpointSlices.

use super::finding;
use crate::graph::Index;
use crate::kube::proxy::{self, DriftKind, SynthOptions};
use crate::model::cluster::{
    AuthzAction, ClusterObjects, LabelSelector, MtlsMode, PodSpec, PolicyType, ServiceType,
    StringMap,
};
use crate::model::Snapshot;
use crate::report::findings::{Finding, FindingLevel};
use std::collections::BTreeSet;

/// Runs the cluster checks.
pub fn check(snap: &Snapshot, ix: &Index, out: &mut Vec<Finding>) {
    default_deny(snap, out);
    services(snap, out);
    policies(snap, out);
    istio(snap, out);
    drift(snap, ix, out);
}

/// The pod labels of a namespace: live pods and workload templates (pods to come).
fn labels_in<'a>(o: &'a ClusterObjects, ns: &str) -> Vec<&'a StringMap> {
    let pods = o
        .pods
        .iter()
        .filter(|p| p.meta.namespace_or_default() == ns && !p.spec.host_network)
        .map(|p| &p.meta.labels);
    let templates = o
        .deployments
        .iter()
        .chain(&o.stateful_sets)
        .chain(&o.daemon_sets)
        .chain(&o.replica_sets)
        .chain(&o.other_workloads)
        .filter(|w| w.meta.namespace_or_default() == ns && !w.template.host_network)
        .map(|w| &w.template_labels);
    pods.chain(templates).collect()
}

fn namespaces_with_pods(o: &ClusterObjects) -> BTreeSet<String> {
    o.pods
        .iter()
        .filter(|p| !p.spec.host_network && !p.pod_ips.is_empty())
        .map(|p| p.meta.namespace_or_default().to_string())
        .collect()
}

fn default_deny(snap: &Snapshot, out: &mut Vec<Finding>) {
    let o = &snap.cluster;
    if o.nodes.is_empty() && o.pods.is_empty() {
        return;
    }
    for ns in namespaces_with_pods(o) {
        let at = o
            .namespaces
            .iter()
            .find(|n| n.meta.name == ns)
            .map(|n| n.meta.at.clone())
            .or_else(|| {
                o.pods
                    .iter()
                    .find(|p| p.meta.namespace_or_default() == ns)
                    .map(|p| p.meta.at.clone())
            });
        for (ty, word) in [
            (PolicyType::Ingress, "ingress"),
            (PolicyType::Egress, "egress"),
        ] {
            let has = o.network_policies.iter().any(|np| {
                np.meta.namespace_or_default() == ns
                    && np.pod_selector.is_empty()
                    && np.effective_policy_types().contains(&ty)
                    && match ty {
                        PolicyType::Ingress => np.ingress.is_empty(),
                        PolicyType::Egress => np.egress.is_empty(),
                    }
            });
            if !has {
                out.push(finding(
                    snap,
                    &format!("audit/no-default-deny-{word}"),
                    FindingLevel::Warning,
                    format!("namespace {ns}"),
                    format!(
                        "namespace {ns} has no default-deny {word} NetworkPolicy (podSelector: {{}}, policyTypes: [{}], no rules): every pod without a policy of its own accepts {}",
                        if word == "ingress" { "Ingress" } else { "Egress" },
                        if word == "ingress" { "any connection" } else { "any destination" }
                    ),
                    at.as_ref(),
                ));
            }
        }
    }
}

fn services(snap: &Snapshot, out: &mut Vec<Finding>) {
    let o = &snap.cluster;
    for s in &o.services {
        if s.service_type == ServiceType::ExternalName || s.selector.is_none() {
            continue;
        }
        let ns = s.meta.namespace_or_default();
        let ready = o
            .endpoint_slices
            .iter()
            .filter(|e| {
                e.meta.namespace_or_default() == ns
                    && e.service_name.as_deref() == Some(s.meta.name.as_str())
            })
            .flat_map(|e| e.endpoints.iter())
            .any(|e| e.ready != Some(false) && !e.addresses.is_empty());
        let legacy = o
            .endpoints
            .iter()
            .filter(|e| e.meta.namespace_or_default() == ns && e.meta.name == s.meta.name)
            .flat_map(|e| e.subsets.iter())
            .any(|ss| !ss.addresses.is_empty());
        if !ready && !legacy {
            let selector = s
                .selector
                .iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            out.push(finding(
                snap,
                "audit/service-no-endpoints",
                FindingLevel::Warning,
                format!("svc/{}", s.meta.key()),
                format!(
                    "Service {} has no ready endpoints (selector {selector} matches no ready pod): connections to it are rejected",
                    s.meta.key()
                ),
                Some(&s.meta.at),
            ));
        }
    }
}

fn selects_any(sel: &LabelSelector, labels: &[&StringMap]) -> bool {
    labels.iter().any(|l| sel.matches(l))
}

fn policies(snap: &Snapshot, out: &mut Vec<Finding>) {
    let o = &snap.cluster;
    for np in &o.network_policies {
        let ns = np.meta.namespace_or_default();
        if np.pod_selector.is_empty() {
            continue;
        }
        if !selects_any(&np.pod_selector, &labels_in(o, ns)) {
            out.push(finding(
                snap,
                "audit/selects-nothing",
                FindingLevel::Warning,
                format!("NetworkPolicy {}", np.meta.key()),
                format!(
                    "NetworkPolicy {} selects no pod or workload in namespace {ns}: it has no effect; check its podSelector",
                    np.meta.key()
                ),
                Some(&np.meta.at),
            ));
        }
    }
    for ap in &o.authorization_policies {
        let Some(sel) = &ap.selector else { continue };
        let ns = ap.meta.namespace_or_default();
        let labels = labels_in(o, ns);
        let any = labels
            .iter()
            .any(|l| sel.iter().all(|(k, v)| l.get(k) == Some(v)));
        if !any && ns != "istio-system" {
            out.push(finding(
                snap,
                "audit/selects-nothing",
                FindingLevel::Warning,
                format!("AuthorizationPolicy {}", ap.meta.key()),
                format!(
                    "AuthorizationPolicy {} selects no workload in namespace {ns}: it has no effect; check its selector",
                    ap.meta.key()
                ),
                Some(&ap.meta.at),
            ));
        }
    }
    // Peers that reference nothing: a namespace selector matching no namespace with pods.
    let pod_namespaces = namespaces_with_pods(o);
    for np in &o.network_policies {
        for r in np.ingress.iter().chain(np.egress.iter()) {
            for p in &r.peers {
                let Some(nsel) = &p.namespace_selector else {
                    continue;
                };
                let matched: Vec<&str> = o
                    .namespaces
                    .iter()
                    .filter(|n| {
                        let mut l = n.meta.labels.clone();
                        l.entry("kubernetes.io/metadata.name".into())
                            .or_insert_with(|| n.meta.name.clone());
                        nsel.matches(&l)
                    })
                    .map(|n| n.meta.name.as_str())
                    .collect();
                if !o.namespaces.is_empty() && !matched.iter().any(|n| pod_namespaces.contains(*n))
                {
                    out.push(finding(
                        snap,
                        "audit/references-nothing",
                        FindingLevel::Note,
                        format!("NetworkPolicy {} rule {}", np.meta.key(), r.index),
                        format!(
                            "NetworkPolicy {} rule {} names namespaces ({}) that hold no pod: the peer matches nothing today",
                            np.meta.key(),
                            r.index,
                            if matched.is_empty() { "none".to_string() } else { matched.join(", ") }
                        ),
                        Some(&p.at),
                    ));
                }
            }
        }
    }
}

/// HTTP ports of the Services that select pods with `labels` (port name `http*`/`grpc*` or
/// an HTTP appProtocol), as target (container) port numbers and Service ports.
fn http_ports(o: &ClusterObjects, ns: &str, sel: Option<&StringMap>) -> BTreeSet<u16> {
    let mut out = BTreeSet::new();
    let pods: Vec<(&StringMap, &PodSpec)> = o
        .pods
        .iter()
        .filter(|p| p.meta.namespace_or_default() == ns)
        .map(|p| (&p.meta.labels, &p.spec))
        .filter(|(l, _)| sel.is_none_or(|s| s.iter().all(|(k, v)| l.get(k) == Some(v))))
        .collect();
    for s in o
        .services
        .iter()
        .filter(|s| s.meta.namespace_or_default() == ns)
    {
        let Some(ssel) = &s.selector else { continue };
        let backs = pods
            .iter()
            .any(|(l, _)| ssel.iter().all(|(k, v)| l.get(k) == Some(v)));
        if !backs {
            continue;
        }
        for p in &s.ports {
            let name = p.name.as_deref().unwrap_or("");
            let app = p.app_protocol.as_deref().unwrap_or("");
            let http = ["http", "http2", "grpc", "grpc-web"].iter().any(|h| {
                name == *h
                    || name.starts_with(&format!("{h}-"))
                    || app.starts_with("http")
                    || app == "grpc"
                    || app.starts_with("kubernetes.io/h2c")
            });
            if !http {
                continue;
            }
            out.insert(p.port);
            match &p.target_port {
                Some(crate::model::cluster::PortRef::Number(n)) => {
                    out.insert(*n);
                }
                Some(crate::model::cluster::PortRef::Name(n)) => {
                    for (_, spec) in &pods {
                        for c in &spec.containers {
                            for cp in &c.ports {
                                if cp.name.as_deref() == Some(n.as_str()) {
                                    out.insert(cp.container_port);
                                }
                            }
                        }
                    }
                }
                None => {
                    out.insert(p.port);
                }
            }
        }
    }
    out
}

fn istio(snap: &Snapshot, out: &mut Vec<Finding>) {
    let o = &snap.cluster;
    for pa in &o.peer_authentications {
        let weak = |m: MtlsMode| matches!(m, MtlsMode::Permissive | MtlsMode::Disable);
        if pa.mtls_mode.is_some_and(weak) {
            out.push(finding(
                snap,
                "audit/mtls-not-strict",
                FindingLevel::Warning,
                format!("PeerAuthentication {}", pa.meta.key()),
                format!(
                    "PeerAuthentication {} sets mTLS {:?}: plain-text connections are accepted",
                    pa.meta.key(),
                    pa.mtls_mode.unwrap_or(MtlsMode::Unset)
                ),
                Some(&pa.meta.at),
            ));
        }
        for (port, mode) in &pa.port_level_mtls {
            if weak(*mode) {
                out.push(finding(
                    snap,
                    "audit/mtls-not-strict",
                    FindingLevel::Warning,
                    format!("PeerAuthentication {} port {port}", pa.meta.key()),
                    format!(
                        "PeerAuthentication {} sets mTLS {mode:?} on port {port}: plain-text connections are accepted there (needed only for clients outside the mesh, such as a load balancer)",
                        pa.meta.key()
                    ),
                    Some(&pa.meta.at),
                ));
            }
        }
    }
    for ap in &o.authorization_policies {
        let ns = ap.meta.namespace_or_default();
        for (i, r) in ap.rules.iter().flatten().enumerate() {
            if ap
                .rules
                .iter()
                .flatten()
                .take(i)
                .any(|e| e.from == r.from && e.to == r.to && e.when == r.when)
            {
                out.push(finding(
                    snap,
                    "audit/shadowed-rule",
                    FindingLevel::Warning,
                    format!("AuthorizationPolicy {} rules[{i}]", ap.meta.key()),
                    format!(
                        "AuthorizationPolicy {} rule {i} repeats an earlier rule: remove it",
                        ap.meta.key()
                    ),
                    Some(&r.at),
                ));
            }
            if ap.action != AuthzAction::Allow {
                continue;
            }
            let http_only =
                r.to.iter().flatten().any(|op| {
                    !op.methods.is_empty() || !op.paths.is_empty() || !op.hosts.is_empty()
                }) || r
                    .from
                    .iter()
                    .flatten()
                    .any(|s| !s.request_principals.is_empty())
                    || r.when
                        .iter()
                        .flatten()
                        .any(|c| c.key.starts_with("request."));
            if !http_only {
                continue;
            }
            let http = http_ports(o, ns, ap.selector.as_ref());
            let ports: Vec<u16> =
                r.to.iter()
                    .flatten()
                    .flat_map(|op| op.ports.iter().copied())
                    .collect();
            let plain: Vec<u16> = ports.into_iter().filter(|p| !http.contains(p)).collect();
            if !plain.is_empty() {
                out.push(finding(
                    snap,
                    "audit/allow-cannot-match-tcp",
                    FindingLevel::Warning,
                    format!("AuthorizationPolicy {} rules[{i}]", ap.meta.key()),
                    format!(
                        "AuthorizationPolicy {} rule {i} uses HTTP-only fields on port(s) {} that no Service declares as HTTP: on plain TCP the rule never matches, so the ALLOW admits nothing there",
                        ap.meta.key(),
                        plain.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
                    ),
                    Some(&r.at),
                ));
            }
        }
    }
}

fn drift(snap: &Snapshot, ix: &Index, out: &mut Vec<Finding>) {
    for dump in &snap.iptables {
        let Some(node) = dump.node.as_deref() else {
            continue;
        };
        let local: Vec<std::net::IpAddr> = ix
            .cluster
            .nodes
            .get(node)
            .and_then(|n| n.ip)
            .into_iter()
            .collect();
        let synth = proxy::synthesize(
            &snap.cluster,
            node,
            &SynthOptions {
                local_addresses: local,
                ..Default::default()
            },
        );
        for f in proxy::drift(dump, &synth) {
            let level = match f.kind {
                DriftKind::StaleEndpoint { .. } | DriftKind::MissingEndpoint { .. } => {
                    FindingLevel::Error
                }
                DriftKind::UnreferencedChain => continue,
                _ => FindingLevel::Warning,
            };
            out.push(finding(
                snap,
                "audit/kube-proxy-drift",
                level,
                format!("{node} {}", f.chain),
                format!("kube-proxy on {node}: {} ({})", f.detail, f.service),
                f.rule.as_ref().and_then(|r| r.at.as_ref()),
            ));
        }
    }
}
