//! Each layer's change: build the snippet in the input's own format and apply the same change
//! to the in-memory snapshot (under a synthetic source file, so re-traces cite it).

use super::{FixChange, SeenPacket};
use crate::graph::Index;
use crate::model::cluster::{
    AuthzAction, AuthzOperation, AuthzRule, AuthzSource, IpBlock, LabelSelector, NetworkPolicy,
    NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule, ObjectMeta, Pod, PolicyType, PortRef,
    StringMap,
};
use crate::model::{
    AclEntry, PortMatch, PortRange, Protocol, ProtocolMatch, SgPeer, SgRule, Snapshot,
};
use crate::source::Provenance;
use crate::trace::{Step, NAT_EPHEMERAL};
use ipnet::IpNet;
use std::net::IpAddr;

const DESCRIPTION: &str = "netpath suggested fix";

fn host(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}

fn source_file(model: &mut Snapshot, name: &str, text: &str) -> crate::source::FileId {
    model
        .sources
        .add(format!("suggested-fix/{name}"), text.to_string())
}

fn proto_match(p: Protocol, ports: Option<PortRange>) -> (ProtocolMatch, PortMatch) {
    let m = match (p, ports) {
        (p, Some(r)) if p.has_ports() => PortMatch::Range(r),
        (Protocol::Icmp | Protocol::Icmpv6, _) => PortMatch::Icmp {
            icmp_type: None,
            code: None,
        },
        _ => PortMatch::Any,
    };
    (ProtocolMatch::One(p), m)
}

fn cli_protocol(p: Protocol) -> String {
    match p {
        Protocol::Tcp | Protocol::Udp | Protocol::Icmp => p.to_string(),
        p => p.number().to_string(),
    }
}

/// A security group denied: allow the peer address on the port in the first group.
pub fn security_group(model: &mut Snapshot, step: &Step, pkt: SeenPacket) -> Option<FixChange> {
    let mut words = step.rule.split_whitespace();
    let group = words.next()?.split(',').next()?.to_string();
    let dir = words.next()?;
    let ingress = match dir {
        "ingress" => true,
        "egress" => false,
        _ => return None,
    };
    let peer = host(if ingress { pkt.src } else { pkt.dst });
    let port = pkt.protocol.has_ports().then_some(pkt.dst_port);
    let (from, to) = match (pkt.protocol, port) {
        (_, Some(p)) => (i32::from(p), i32::from(p)),
        _ => (-1, -1),
    };
    let range_key = if peer.addr().is_ipv6() {
        format!("\"Ipv6Ranges\":[{{\"CidrIpv6\":\"{peer}\",\"Description\":\"{DESCRIPTION}\"}}]")
    } else {
        format!("\"IpRanges\":[{{\"CidrIp\":\"{peer}\",\"Description\":\"{DESCRIPTION}\"}}]")
    };
    let perm = format!(
        "[{{\"IpProtocol\":\"{}\",\"FromPort\":{from},\"ToPort\":{to},{range_key}}}]",
        cli_protocol(pkt.protocol)
    );
    let snippet = format!(
        "aws ec2 authorize-security-group-{dir} --group-id {group} --ip-permissions '{perm}'"
    );
    let fid = source_file(model, &format!("{group}-{dir}.sh"), &snippet);
    let sg = model.cloud.security_groups.get_mut(&group)?;
    let (protocol, ports) = proto_match(pkt.protocol, port.map(PortRange::single));
    let rule = SgRule {
        protocol,
        ports,
        peer: SgPeer::Cidr(peer),
        description: Some(DESCRIPTION.into()),
        prov: Provenance::at(fid, 1, 1),
    };
    if ingress {
        sg.ingress.push(rule);
    } else {
        sg.egress.push(rule);
    }
    Some(FixChange {
        layer: "security_group",
        summary: format!(
            "security group {group}: allow {} {} {peer}",
            port.map(|p| format!("{} {p}", pkt.protocol))
                .unwrap_or_else(|| pkt.protocol.to_string()),
            if ingress { "from" } else { "to" }
        ),
        snippet,
        answers: step.rule.clone(),
    })
}

/// A NACL entry (or its default) denied: an allow entry numbered before it.
pub fn nacl(model: &mut Snapshot, step: &Step, pkt: SeenPacket, reply: bool) -> Option<FixChange> {
    let words: Vec<&str> = step.rule.split_whitespace().collect();
    let [acl_id, dir, "rule", number] = words.as_slice() else {
        return None;
    };
    let denied_at: u32 = if *number == "*" {
        32767
    } else {
        number.parse().ok()?
    };
    let egress = match *dir {
        "inbound" => false,
        "outbound" => true,
        _ => return None,
    };
    let acl = model.cloud.network_acls.get(*acl_id)?;
    let entries = if egress { &acl.egress } else { &acl.ingress };
    let used: Vec<u32> = entries.iter().map(|e| e.number).collect();
    let below = used
        .iter()
        .copied()
        .filter(|n| *n < denied_at)
        .max()
        .unwrap_or(0);
    let candidate = ((below / 10) + 1) * 10;
    let rule_number = if candidate < denied_at && !used.contains(&candidate) {
        candidate
    } else {
        (1..denied_at).rev().find(|n| !used.contains(n))?
    };
    let peer = host(if egress { pkt.dst } else { pkt.src });
    // A reply goes to the client's ephemeral port: allow the whole range clients and NAT use.
    let ports = if !pkt.protocol.has_ports() {
        None
    } else if reply {
        Some(NAT_EPHEMERAL)
    } else {
        Some(PortRange::single(pkt.dst_port))
    };
    let port_arg = match (pkt.protocol, ports) {
        (_, Some(r)) => format!(" --port-range From={},To={}", r.lo, r.hi),
        (Protocol::Icmp | Protocol::Icmpv6, _) => " --icmp-type-code Type=-1,Code=-1".into(),
        _ => String::new(),
    };
    let cidr_arg = if peer.addr().is_ipv6() {
        "--ipv6-cidr-block"
    } else {
        "--cidr-block"
    };
    let snippet = format!(
        "aws ec2 create-network-acl-entry --network-acl-id {acl_id} {} --rule-number {rule_number} --protocol {}{port_arg} {cidr_arg} {peer} --rule-action allow",
        if egress { "--egress" } else { "--ingress" },
        cli_protocol(pkt.protocol)
    );
    let fid = source_file(model, &format!("{acl_id}-{rule_number}.sh"), &snippet);
    let (protocol, pm) = proto_match(pkt.protocol, ports);
    let acl = model.cloud.network_acls.get_mut(*acl_id)?;
    let list = if egress {
        &mut acl.egress
    } else {
        &mut acl.ingress
    };
    list.push(AclEntry {
        number: rule_number,
        allow: true,
        protocol,
        ports: pm,
        cidr: peer,
        prov: Provenance::at(fid, 1, 1),
    });
    list.sort_by_key(|e| e.number);
    Some(FixChange {
        layer: "nacl",
        summary: format!(
            "network ACL {acl_id}: {dir} rule {rule_number} allows {} {} {peer}{}",
            match ports {
                Some(r) => format!("{} {r}", pkt.protocol),
                None => pkt.protocol.to_string(),
            },
            if egress { "to" } else { "from" },
            if reply { " (the reply)" } else { "" }
        ),
        snippet,
        answers: step.rule.clone(),
    })
}

/// The labels that identify a pod's workload: `app` (or the usual equivalents), else all.
fn identity_labels(p: &Pod) -> StringMap {
    for k in ["app", "app.kubernetes.io/name", "k8s-app", "name"] {
        if let Some(v) = p.meta.labels.get(k) {
            let mut m = StringMap::default();
            m.insert(k.to_string(), v.clone());
            return m;
        }
    }
    p.meta
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() != "pod-template-hash")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn yaml_labels(m: &StringMap, indent: usize) -> String {
    let pad = " ".repeat(indent);
    if m.is_empty() {
        return format!("{pad}{{}}\n");
    }
    m.iter()
        .map(|(k, v)| format!("{pad}{k}: \"{v}\"\n"))
        .collect()
}

/// The peer of a denial as the NetworkPolicy step names it (`allows tcp to 10.0.52.140 port
/// 5432`), else the packet's.
fn netpol_peer(detail: &str, egress: bool, pkt: SeenPacket) -> (IpAddr, u16) {
    let parsed = detail.split("allows ").nth(1).and_then(|rest| {
        let w: Vec<&str> = rest.split_whitespace().collect();
        let ip: IpAddr = w.get(2)?.parse().ok()?;
        let port: u16 = w
            .get(4)?
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()?;
        Some((ip, port))
    });
    parsed.unwrap_or(if egress {
        (pkt.dst, pkt.dst_port)
    } else {
        (pkt.src, pkt.dst_port)
    })
}

fn dns_label(s: &str) -> String {
    let t: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    t.trim_matches('-').to_string()
}

/// A NetworkPolicy denied: a new policy selecting the pod, allowing the peer on the port.
pub fn network_policy(
    model: &mut Snapshot,
    ix: &Index,
    step: &Step,
    pkt: SeenPacket,
) -> Option<FixChange> {
    let mut w = step.detail.split_whitespace();
    let who = w.next()?.trim_end_matches(':').to_string();
    let egress = match w.next()?.trim_end_matches([',', ':']) {
        "egress" => true,
        "ingress" => false,
        _ => return None,
    };
    let subject = model
        .cluster
        .pods
        .iter()
        .find(|p| p.meta.key() == who)?
        .clone();
    let ns = subject.meta.namespace_or_default().to_string();
    let (peer_ip, port) = netpol_peer(&step.detail, egress, pkt);
    let peer_pod = ix
        .cluster
        .pod_by_ip
        .get(&peer_ip)
        .and_then(|i| model.cluster.pods.get(*i))
        .cloned();
    let sel = identity_labels(&subject);
    let (peer_name, peer_yaml, peer) = match &peer_pod {
        Some(pp) => {
            let labels = identity_labels(pp);
            let pns = pp.meta.namespace_or_default().to_string();
            let mut y = format!(
                "    - podSelector:\n        matchLabels:\n{}",
                yaml_labels(&labels, 10)
            );
            let ns_sel = (pns != ns).then(|| {
                let mut m = StringMap::default();
                m.insert("kubernetes.io/metadata.name".into(), pns.clone());
                m
            });
            if let Some(m) = &ns_sel {
                y.push_str(&format!(
                    "      namespaceSelector:\n        matchLabels:\n{}",
                    yaml_labels(m, 10)
                ));
            }
            (
                labels
                    .values()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| pp.meta.name.clone()),
                y,
                (Some(labels), ns_sel, None),
            )
        }
        None => {
            let net = host(peer_ip);
            (
                peer_ip.to_string(),
                format!("    - ipBlock:\n        cidr: {net}\n"),
                (None, None, Some(net)),
            )
        }
    };
    let (word, peers_key, ty) = if egress {
        ("egress", "to", PolicyType::Egress)
    } else {
        ("ingress", "from", PolicyType::Ingress)
    };
    let proto_name = match pkt.protocol {
        Protocol::Udp => "UDP",
        Protocol::Sctp => "SCTP",
        _ => "TCP",
    };
    let name = dns_label(&format!(
        "allow-{word}-{}-{}-{port}",
        sel.values()
            .next()
            .cloned()
            .unwrap_or_else(|| subject.meta.name.clone()),
        peer_name
    ));
    let mut yaml = format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels:\n{}  policyTypes:\n  - {}\n  {word}:\n",
        yaml_labels(&sel, 6),
        if egress { "Egress" } else { "Ingress" }
    );
    let rule_line = yaml.lines().count() as u32 + 1;
    yaml.push_str(&format!("  - {peers_key}:\n{peer_yaml}"));
    yaml.push_str(&format!(
        "    ports:\n    - protocol: {proto_name}\n      port: {port}\n"
    ));
    let fid = source_file(model, &format!("{ns}-{name}.yaml"), &yaml);
    let at = |line: u32| Provenance::at(fid, line, 1);
    let rule = NetworkPolicyRule {
        at: at(rule_line),
        index: 0,
        peers: vec![NetworkPolicyPeer {
            at: at(rule_line + 1),
            pod_selector: peer.0.map(|m| LabelSelector {
                match_labels: m,
                match_expressions: vec![],
            }),
            namespace_selector: peer.1.map(|m| LabelSelector {
                match_labels: m,
                match_expressions: vec![],
            }),
            ip_block: peer.2.map(|cidr| IpBlock {
                cidr,
                except: vec![],
            }),
        }],
        ports: vec![NetworkPolicyPort {
            protocol: pkt.protocol,
            port: Some(PortRef::Number(port)),
            end_port: None,
        }],
    };
    let np = NetworkPolicy {
        meta: ObjectMeta {
            api_version: "networking.k8s.io/v1".into(),
            kind: "NetworkPolicy".into(),
            name: name.clone(),
            namespace: Some(ns.clone()),
            labels: StringMap::default(),
            annotations: StringMap::default(),
            uid: None,
            owner_references: vec![],
            at: at(1),
        },
        pod_selector: LabelSelector {
            match_labels: sel,
            match_expressions: vec![],
        },
        policy_types: Some(vec![ty]),
        ingress: if egress { vec![] } else { vec![rule.clone()] },
        egress: if egress { vec![rule] } else { vec![] },
    };
    model.cluster.network_policies.push(np);
    Some(FixChange {
        layer: "network_policy",
        summary: format!(
            "NetworkPolicy {ns}/{name}: {word} {peers_key} {peer_name} on {} {port}",
            pkt.protocol
        ),
        snippet: yaml,
        answers: step.rule.clone(),
    })
}

/// An Istio ALLOW policy matched nothing: a rule for this source and port.
pub fn istio(model: &mut Snapshot, ix: &Index, step: &Step, pkt: SeenPacket) -> Option<FixChange> {
    let key = step
        .rule
        .strip_prefix("AuthorizationPolicy ")?
        .split_whitespace()
        .next()?
        .to_string();
    let src_pod = ix
        .cluster
        .pod_by_ip
        .get(&pkt.src)
        .and_then(|i| model.cluster.pods.get(*i));
    let (source, source_yaml) = match src_pod.filter(|p| p.has_istio_proxy) {
        Some(p) => {
            let principal = format!(
                "cluster.local/ns/{}/sa/{}",
                p.meta.namespace_or_default(),
                p.spec.service_account_name.as_deref().unwrap_or("default")
            );
            (
                AuthzSource {
                    principals: vec![principal.clone()],
                    ..Default::default()
                },
                format!("principals: [\"{principal}\"]"),
            )
        }
        None => {
            let net = host(pkt.src);
            (
                AuthzSource {
                    ip_blocks: vec![net],
                    ..Default::default()
                },
                format!("ipBlocks: [\"{net}\"]"),
            )
        }
    };
    let port = pkt.dst_port;
    let snippet = format!(
        "# add under spec.rules of AuthorizationPolicy {key}\n- from:\n  - source:\n      {source_yaml}\n  to:\n  - operation:\n      ports: [\"{port}\"]\n"
    );
    let fid = source_file(model, &format!("{}.yaml", dns_label(&key)), &snippet);
    let ap = model
        .cluster
        .authorization_policies
        .iter_mut()
        .find(|a| a.meta.key() == key && a.action == AuthzAction::Allow)?;
    let rules = ap.rules.get_or_insert_with(Vec::new);
    rules.push(AuthzRule {
        at: Provenance::at(fid, 2, 1),
        index: rules.len(),
        from: Some(vec![source]),
        to: Some(vec![AuthzOperation {
            ports: vec![port],
            ..Default::default()
        }]),
        when: None,
    });
    Some(FixChange {
        layer: "istio_authz",
        summary: format!("AuthorizationPolicy {key}: allow {source_yaml} on port {port}"),
        snippet,
        answers: step.rule.clone(),
    })
}

/// A route table had no route: a host route to the peering that reaches the destination's
/// VPC, else to a NAT gateway of the VPC (the subnet's zone first), else to its internet
/// gateway.
pub fn route(model: &mut Snapshot, ix: &Index, step: &Step, pkt: SeenPacket) -> Option<FixChange> {
    let rtb = step.rule.strip_suffix(" (no route)")?.to_string();
    let table = model.cloud.route_tables.get(&rtb)?;
    let vpc = table.vpc_id.clone();
    let zones: Vec<String> = table
        .subnet_ids
        .iter()
        .filter_map(|s| model.cloud.subnets.get(s))
        .map(|s| s.az.clone())
        .collect();
    let c = &model.cloud;
    let peering = c.peerings.values().find(|p| {
        p.forwards()
            && p.other_side(&vpc)
                .is_some_and(|o| o.cidrs.iter().any(|n| n.contains(&pkt.dst)))
    });
    let in_some_vpc = c.vpcs.values().any(|v| v.contains(pkt.dst));
    let zone_of = |subnet: &str| c.subnets.get(subnet).map(|s| s.az.clone());
    let mut nats: Vec<_> = c
        .nat_gateways
        .values()
        .filter(|n| n.vpc_id == vpc && n.forwards() && !n.private)
        .collect();
    nats.sort_by_key(|n| !zone_of(&n.subnet_id).is_some_and(|z| zones.contains(&z)));
    let target = match (peering, in_some_vpc) {
        (Some(p), _) => crate::model::RouteTarget::Peering(p.id.clone()),
        (None, true) => return None,
        (None, false) => match nats.first() {
            Some(n) => crate::model::RouteTarget::NatGateway(n.id.clone()),
            None => crate::model::RouteTarget::InternetGateway(ix.vpc_igw.get(&vpc)?.clone()),
        },
    };
    let dest = host(pkt.dst);
    let (flag, what) = match &target {
        crate::model::RouteTarget::Peering(_) => ("--vpc-peering-connection-id", "peering"),
        crate::model::RouteTarget::NatGateway(_) => ("--nat-gateway-id", "NAT gateway"),
        _ => ("--gateway-id", "internet gateway"),
    };
    let cidr_flag = if dest.addr().is_ipv6() {
        "--destination-ipv6-cidr-block"
    } else {
        "--destination-cidr-block"
    };
    let snippet = format!(
        "aws ec2 create-route --route-table-id {rtb} {cidr_flag} {dest} {flag} {}",
        target.id()
    );
    let fid = source_file(model, &format!("{rtb}.sh"), &snippet);
    let summary = format!("route table {rtb}: {dest} -> {what} {}", target.id());
    model
        .cloud
        .route_tables
        .get_mut(&rtb)?
        .routes
        .push(crate::model::Route {
            destination: crate::model::RouteDestination::Cidr(dest),
            target,
            origin: crate::model::RouteOrigin::Static,
            active: true,
            prov: Provenance::at(fid, 1, 1),
        });
    Some(FixChange {
        layer: "routing",
        summary,
        snippet,
        answers: step.rule.clone(),
    })
}
