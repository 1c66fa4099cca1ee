//! NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy, validated as the API
//! server would (peers, ports, CIDRs, selectors), each rule keeping its position.

use super::cx::Cx;
use super::tree::{Node, Val};
use crate::model::cluster::{
    AdminNetworkPolicy, AnpAction, AnpPeer, AnpPort, AnpRule, AnpSubject,
    BaselineAdminNetworkPolicy, ClusterObjects, IpBlock, LabelSelector, NetworkPolicy,
    NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule, ObjectMeta, PolicyType, PortRef,
};

fn empty() -> Node<'static> {
    Node::new(Val::Map(Vec::new()))
}

/// `networking.k8s.io/v1 NetworkPolicy`.
pub(super) fn network_policy(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "NetworkPolicy");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    // An absent podSelector is the empty selector (the Go type is not a pointer).
    let pod_selector = cx.selector(spec, "podSelector").unwrap_or_default();
    let policy_types = cx.opt_seq(spec, "policyTypes").map(|items| {
        let mut types = Vec::new();
        for t in items {
            match cx.as_str(t, "policyTypes").as_deref() {
                Some("Ingress") => types.push(PolicyType::Ingress),
                Some("Egress") => types.push(PolicyType::Egress),
                Some(other) => cx.error(
                    "k8s-shape",
                    t,
                    format!("unknown policy type {other:?}"),
                    "policyTypes: a list of Ingress and/or Egress",
                ),
                None => {}
            }
        }
        types
    });
    let ingress = rules(cx, spec, "ingress", "from");
    let egress = rules(cx, spec, "egress", "to");
    out.network_policies.push(NetworkPolicy {
        meta: meta.clone(),
        pod_selector,
        policy_types,
        ingress,
        egress,
    });
    Some(meta)
}

fn rules(cx: &mut Cx<'_>, spec: &Node, key: &str, peers_key: &str) -> Vec<NetworkPolicyRule> {
    let items = cx.seq(spec, key);
    let mut out = Vec::with_capacity(items.len());
    for (index, r) in items.iter().enumerate() {
        if !r.is_map() && r.v != Val::Null {
            cx.shape(
                r,
                &format!("{key}[{index}]"),
                "a rule mapping with optional from/to and ports",
            );
            continue;
        }
        let mut peers = Vec::new();
        for p in cx.seq(r, peers_key) {
            if let Some(peer) = peer(cx, p, peers_key) {
                peers.push(peer);
            }
        }
        let mut ports = Vec::new();
        for p in cx.seq(r, "ports") {
            if let Some(port) = np_port(cx, p) {
                ports.push(port);
            }
        }
        out.push(NetworkPolicyRule {
            at: cx.prov(r),
            index,
            peers,
            ports,
        });
    }
    out
}

fn peer(cx: &mut Cx<'_>, p: &Node, key: &str) -> Option<NetworkPolicyPeer> {
    if !p.is_map() {
        cx.shape(
            p,
            key,
            "a peer with podSelector, namespaceSelector or ipBlock",
        );
        return None;
    }
    let pod_selector = cx.selector(p, "podSelector");
    let namespace_selector = cx.selector(p, "namespaceSelector");
    let ip_block = match cx.obj(p, "ipBlock") {
        Some(b) => ip_block(cx, b),
        None => None,
    };
    let has_ip = p.get("ipBlock").is_some();
    let has_sel = p.get("podSelector").is_some() || p.get("namespaceSelector").is_some();
    if has_ip && has_sel {
        cx.error(
            "bad-peer",
            p,
            format!("a `{key}` peer sets ipBlock together with podSelector/namespaceSelector"),
            "either ipBlock, or podSelector and/or namespaceSelector",
        );
        return None;
    }
    if !has_ip && !has_sel {
        cx.error(
            "bad-peer",
            p,
            format!("an empty `{key}` peer"),
            "a peer with podSelector, namespaceSelector or ipBlock (omit `from`/`to` to match every peer)",
        );
        return None;
    }
    if has_ip && ip_block.is_none() {
        return None;
    }
    Some(NetworkPolicyPeer {
        at: cx.prov(p),
        pod_selector,
        namespace_selector,
        ip_block,
    })
}

fn ip_block(cx: &mut Cx<'_>, b: &Node) -> Option<IpBlock> {
    let Some(cv) = b.get("cidr") else {
        cx.error(
            "bad-cidr",
            b,
            "ipBlock without cidr",
            "cidr: a CIDR, e.g. 10.0.0.0/16",
        );
        return None;
    };
    let cidr = cx.cidr_value(cv, "ipBlock.cidr", false)?;
    let mut except = Vec::new();
    for x in cx.seq(b, "except") {
        if let Some(n) = cx.cidr_value(x, "ipBlock.except", false) {
            if !cidr.contains(&n) || n == cidr {
                cx.error(
                    "bad-cidr",
                    x,
                    format!("except {n} is not strictly inside cidr {cidr}"),
                    "except: CIDRs strictly inside the ipBlock's cidr",
                );
                continue;
            }
            except.push(n);
        }
    }
    Some(IpBlock { cidr, except })
}

fn np_port(cx: &mut Cx<'_>, p: &Node) -> Option<NetworkPolicyPort> {
    if !p.is_map() {
        cx.shape(p, "ports[]", "a mapping with protocol, port and endPort");
        return None;
    }
    let protocol = cx.protocol(p, "protocol");
    let port = cx.port_ref(p, "port");
    let end_port = cx.port(p, "endPort");
    if let Some(ev) = p.get("endPort") {
        match (&port, end_port) {
            (None, _) if p.get("port").is_none() => {
                cx.error(
                    "bad-port",
                    ev,
                    "endPort without port",
                    "port: the start of the range, with endPort",
                );
                return None;
            }
            (Some(PortRef::Name(n)), _) => {
                cx.error(
                    "bad-port",
                    ev,
                    format!("endPort with the named port {n:?}"),
                    "endPort only with a numeric port",
                );
                return None;
            }
            (Some(PortRef::Number(start)), Some(end)) if end < *start => {
                cx.error(
                    "bad-port",
                    ev,
                    format!("port range {start}-{end} is empty"),
                    "endPort: at least port, at most 65535",
                );
                return None;
            }
            _ => {}
        }
    }
    if p.get("port").is_some() && port.is_none() {
        return None;
    }
    Some(NetworkPolicyPort {
        protocol,
        port,
        end_port,
    })
}

fn subject(cx: &mut Cx<'_>, spec: &Node) -> AnpSubject {
    let Some(s) = cx.obj(spec, "subject") else {
        cx.error(
            "k8s-shape",
            spec,
            "policy without subject",
            "subject: namespaces or pods",
        );
        return AnpSubject::Namespaces(LabelSelector::default());
    };
    if let Some(ns) = s.get("namespaces") {
        if ns.is_map() {
            return AnpSubject::Namespaces(cx.selector_value(ns, "subject.namespaces"));
        }
        cx.shape(ns, "subject.namespaces", "a label selector");
    }
    if let Some(p) = cx.obj(s, "pods") {
        let namespace_selector = cx.selector(p, "namespaceSelector").unwrap_or_default();
        let pod_selector = cx.selector(p, "podSelector").unwrap_or_default();
        return AnpSubject::Pods {
            namespace_selector,
            pod_selector,
        };
    }
    cx.error(
        "k8s-shape",
        s,
        "subject selects neither namespaces nor pods",
        "subject: namespaces or pods",
    );
    AnpSubject::Namespaces(LabelSelector::default())
}

fn anp_peer(cx: &mut Cx<'_>, p: &Node, egress: bool) -> Option<AnpPeer> {
    if let Some(ns) = p.get("namespaces") {
        return if ns.is_map() {
            Some(AnpPeer::Namespaces(cx.selector_value(ns, "namespaces")))
        } else {
            cx.shape(ns, "namespaces", "a label selector");
            None
        };
    }
    if let Some(pods) = cx.obj(p, "pods") {
        let namespace_selector = cx.selector(pods, "namespaceSelector").unwrap_or_default();
        let pod_selector = cx.selector(pods, "podSelector").unwrap_or_default();
        return Some(AnpPeer::Pods {
            namespace_selector,
            pod_selector,
        });
    }
    if egress {
        if let Some(n) = p.get("nodes") {
            return if n.is_map() {
                Some(AnpPeer::Nodes(cx.selector_value(n, "nodes")))
            } else {
                cx.shape(n, "nodes", "a label selector");
                None
            };
        }
        if p.get("networks").is_some() {
            return Some(AnpPeer::Networks(cx.cidrs(p, "networks", false)));
        }
    }
    let expected = if egress {
        "namespaces, pods, nodes or networks"
    } else {
        "namespaces or pods"
    };
    cx.error(
        "bad-peer",
        p,
        "a peer with no known selector",
        format!("a peer: {expected}"),
    );
    None
}

fn anp_ports(cx: &mut Cx<'_>, r: &Node) -> Option<Vec<AnpPort>> {
    let items = cx.opt_seq(r, "ports")?;
    let mut out = Vec::new();
    for p in items {
        if let Some(n) = cx.obj(p, "portNumber") {
            let protocol = cx.protocol(n, "protocol");
            if let Some(port) = cx.port(n, "port") {
                out.push(AnpPort::Number { protocol, port });
            } else if n.get("port").is_none() {
                cx.error(
                    "bad-port",
                    n,
                    "portNumber without port",
                    "port: an integer 1-65535",
                );
            }
        } else if let Some(name) = cx.str(p, "namedPort") {
            out.push(AnpPort::Named(name));
        } else if let Some(rg) = cx.obj(p, "portRange") {
            let protocol = cx.protocol(rg, "protocol");
            match (cx.port(rg, "start"), cx.port(rg, "end")) {
                (Some(start), Some(end)) if start <= end => out.push(AnpPort::Range {
                    protocol,
                    start,
                    end,
                }),
                (Some(start), Some(end)) => cx.error(
                    "bad-port",
                    rg,
                    format!("port range {start}-{end} is empty"),
                    "portRange: start <= end, both 1-65535",
                ),
                _ => cx.error(
                    "bad-port",
                    rg,
                    "portRange needs start and end",
                    "portRange: {protocol, start, end}",
                ),
            }
        } else {
            cx.error(
                "bad-port",
                p,
                "a port with none of portNumber, namedPort, portRange",
                "portNumber, namedPort or portRange",
            );
        }
    }
    Some(out)
}

fn anp_rules(cx: &mut Cx<'_>, spec: &Node, key: &str, baseline: bool) -> Vec<AnpRule> {
    let egress = key == "egress";
    let peers_key = if egress { "to" } else { "from" };
    let items = cx.seq(spec, key);
    let mut out = Vec::new();
    for (index, r) in items.iter().enumerate() {
        if !r.is_map() {
            cx.shape(r, key, "a rule with action, from/to and ports");
            continue;
        }
        let action_node = r.get("action");
        let action = match cx.str(r, "action").as_deref() {
            Some("Allow") => Some(AnpAction::Allow),
            Some("Deny") => Some(AnpAction::Deny),
            Some("Pass") if !baseline => Some(AnpAction::Pass),
            other => {
                let expected = if baseline {
                    "action: Allow or Deny"
                } else {
                    "action: Allow, Deny or Pass"
                };
                let msg = match other {
                    Some(a) => format!("unknown action {a:?}"),
                    None => "rule without action".to_string(),
                };
                cx.error("k8s-shape", action_node.unwrap_or(r), msg, expected);
                None
            }
        };
        let mut peers = Vec::new();
        for p in cx.seq(r, peers_key) {
            peers.extend(anp_peer(cx, p, egress));
        }
        if r.get(peers_key).is_none() {
            cx.error(
                "k8s-shape",
                r,
                format!("rule without `{peers_key}`"),
                format!("{peers_key}: a non-empty list of peers"),
            );
        }
        let ports = anp_ports(cx, r);
        if let Some(action) = action {
            out.push(AnpRule {
                at: cx.prov(r),
                index,
                name: cx.str(r, "name"),
                action,
                peers,
                ports,
            });
        }
    }
    out
}

/// `policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy`.
pub(super) fn admin_network_policy(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "AdminNetworkPolicy");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let priority = match (spec.get("priority"), cx.int(spec, "priority")) {
        (_, Some(p)) if (0..=1000).contains(&p) => p as u32,
        (Some(n), Some(p)) => {
            cx.error(
                "k8s-shape",
                n,
                format!("priority {p} is out of range"),
                "priority: an integer 0-1000",
            );
            p.clamp(0, 1000) as u32
        }
        (None, _) => {
            cx.error(
                "k8s-shape",
                spec,
                "AdminNetworkPolicy without priority",
                "priority: an integer 0-1000",
            );
            1000
        }
        (Some(_), None) => 1000,
    };
    let subject = subject(cx, spec);
    let ingress = anp_rules(cx, spec, "ingress", false);
    let egress = anp_rules(cx, spec, "egress", false);
    out.admin_network_policies.push(AdminNetworkPolicy {
        meta: meta.clone(),
        priority,
        subject,
        ingress,
        egress,
    });
    Some(meta)
}

/// `policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy`.
pub(super) fn baseline_admin_network_policy(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "BaselineAdminNetworkPolicy");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let subject = subject(cx, spec);
    let ingress = anp_rules(cx, spec, "ingress", true);
    let egress = anp_rules(cx, spec, "egress", true);
    out.baseline_admin_network_policies
        .push(BaselineAdminNetworkPolicy {
            meta: meta.clone(),
            subject,
            ingress,
            egress,
        });
    Some(meta)
}
