//! Synthesis: kube-proxy's behaviour on one node derived from Services and EndpointSlices,
//! for when no `iptables-save` dump exists. Produces the same [`ProxyOutcome`] as the
//! interpreter, generated directly (no rule text is parsed); every branch says it is
//! [`Origin::Derived`].

use super::types::{Origin, ProxyBranch, ProxyOutcome, RuleRef, Verdict};
use crate::model::cluster::{ClusterObjects, Service, ServiceType, TrafficPolicy};
use crate::model::flow::{Packet, Protocol};
use crate::source::Provenance;
use ipnet::IpNet;
use std::net::IpAddr;

/// kube-proxy settings that change the rules (defaults: no local detector, as on EKS).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynthOptions {
    /// The node's addresses (`addrtype LOCAL`, besides loopback). Empty: taken from the Node
    /// object's `status.addresses`.
    pub local_addresses: Vec<IpAddr>,
    /// The local-traffic detector (`--cluster-cidr`); `None` = no detector (EKS default).
    pub local_detector: Option<IpNet>,
    /// `--masquerade-all`.
    pub masquerade_all: bool,
    /// `nodePortAddresses`; `None` = every LOCAL address accepts nodePorts.
    pub node_port_addresses: Option<Vec<IpNet>>,
    /// `localhostNodePorts` (IPv4 iptables-mode default: true).
    pub localhost_node_ports: bool,
}

/// One service port as kube-proxy sees it on this node, for one IP family.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthServicePort {
    /// `ns/name:port` (`ns/name` when the port has no name), as in kube-proxy's comments.
    pub key: String,
    /// The port's protocol.
    pub protocol: Protocol,
    /// The service port.
    pub port: u16,
    /// ClusterIPs of this family.
    pub cluster_ips: Vec<IpAddr>,
    /// `nodePort`.
    pub node_port: Option<u16>,
    /// `externalIPs` of this family.
    pub external_ips: Vec<IpAddr>,
    /// LoadBalancer ingress IPs of this family (hostname-only and `ipMode: Proxy` entries excluded).
    pub lb_ips: Vec<IpAddr>,
    /// `loadBalancerSourceRanges` (applies to LB IPs only).
    pub source_ranges: Vec<IpNet>,
    /// `internalTrafficPolicy: Local`.
    pub internal_local: bool,
    /// `externalTrafficPolicy: Local`.
    pub external_local: bool,
    /// `sessionAffinity: ClientIP`.
    pub affinity: bool,
    /// `healthCheckNodePort`.
    pub health_check_node_port: Option<u16>,
    /// Endpoints for Cluster policy (Ready, else serving∧terminating), sorted by `IP:port`.
    pub cluster_endpoints: Vec<(IpAddr, u16)>,
    /// Endpoints on this node (Ready, else serving∧terminating), sorted by `IP:port`.
    pub local_endpoints: Vec<(IpAddr, u16)>,
    /// Any endpoint anywhere is Ready or serving∧terminating.
    pub has_endpoints: bool,
    /// Where the Service is defined.
    pub at: Provenance,
}

impl SynthServicePort {
    /// Has a nodePort, externalIPs or LB IPs.
    pub fn externally_accessible(&self) -> bool {
        self.node_port.is_some() || !self.external_ips.is_empty() || !self.lb_ips.is_empty()
    }
    /// kube-proxy writes a KUBE-SVC chain (Cluster endpoints) for this port.
    pub fn uses_cluster(&self) -> bool {
        !self.internal_local || self.externally_accessible()
    }
    /// kube-proxy writes a KUBE-SVL chain (local endpoints) for this port.
    pub fn uses_local(&self) -> bool {
        self.internal_local || (self.external_local && self.externally_accessible())
    }
    fn has_internal(&self) -> bool {
        self.has_endpoints && (!self.internal_local || !self.local_endpoints.is_empty())
    }
    fn has_external(&self) -> bool {
        self.has_endpoints && (!self.external_local || !self.local_endpoints.is_empty())
    }
}

/// kube-proxy's derived state for one node.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesizedProxy {
    /// The node.
    pub node: String,
    /// The settings used (with `local_addresses` filled in).
    pub options: SynthOptions,
    /// The service ports, in Service then port order.
    pub services: Vec<SynthServicePort>,
    /// What was skipped or assumed (headless, ExternalName, hostname-only LBs...).
    pub notes: Vec<String>,
}

fn endpoint_sort(v: &mut Vec<(IpAddr, u16)>) {
    v.sort_by_key(|(ip, port)| match ip {
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        ip => format!("{ip}:{port}"),
    });
    v.dedup();
}

/// One endpoint of a service port with its conditions.
struct Ep {
    addr: (IpAddr, u16),
    ready: bool,
    serving_terminating: bool,
    local: bool,
}

fn endpoints_for(
    objects: &ClusterObjects,
    svc: &Service,
    port_name: &str,
    protocol: Protocol,
    family_v4: bool,
    node: &str,
) -> Vec<Ep> {
    let ns = svc.meta.namespace_or_default();
    let mut out: Vec<Ep> = Vec::new();
    for slice in &objects.endpoint_slices {
        if slice.meta.namespace_or_default() != ns
            || slice.service_name.as_deref() != Some(svc.meta.name.as_str())
            || slice
                .meta
                .labels
                .contains_key("service.kubernetes.io/headless")
        {
            continue;
        }
        let want_type = if family_v4 { "IPv4" } else { "IPv6" };
        if !slice.address_type.eq_ignore_ascii_case(want_type) {
            continue;
        }
        let Some(port) = slice
            .ports
            .iter()
            .find(|p| p.name.as_deref().unwrap_or("") == port_name && p.protocol == protocol)
            .and_then(|p| p.port)
        else {
            continue;
        };
        for e in &slice.endpoints {
            let Some(ip) = e
                .addresses
                .first()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
            else {
                continue;
            };
            if out.iter().any(|x| x.addr == (ip, port)) {
                continue;
            }
            let ready = e.ready.unwrap_or(true);
            let serving = e.serving.unwrap_or(ready);
            let terminating = e.terminating.unwrap_or(false);
            out.push(Ep {
                addr: (ip, port),
                ready,
                serving_terminating: serving && terminating,
                local: e.node_name.as_deref() == Some(node),
            });
        }
    }
    out
}

/// Chooses Ready endpoints, else serving∧terminating ones, among those `keep` allows.
fn choose(eps: &[Ep], keep: impl Fn(&Ep) -> bool) -> Vec<(IpAddr, u16)> {
    let mut v: Vec<_> = eps
        .iter()
        .filter(|e| e.ready && keep(e))
        .map(|e| e.addr)
        .collect();
    if v.is_empty() {
        v = eps
            .iter()
            .filter(|e| e.serving_terminating && keep(e))
            .map(|e| e.addr)
            .collect();
    }
    endpoint_sort(&mut v);
    v
}

/// Derives kube-proxy's behaviour on `node_name` from the Services and EndpointSlices.
///
/// Follows kube-proxy's `CategorizeEndpoints` (Ready endpoints, else serving∧terminating ones;
/// the local set is the same restricted to `nodeName == node_name`), its traffic policies and
/// its REJECT/DROP rules. Topology hints are not applied (noted). Headless, ExternalName and
/// `service-proxy-name`-labelled Services are skipped (noted).
pub fn synthesize(
    objects: &ClusterObjects,
    node_name: &str,
    options: &SynthOptions,
) -> SynthesizedProxy {
    let mut opts = options.clone();
    let mut notes = Vec::new();
    if opts.local_addresses.is_empty() {
        if let Some(node) = objects.nodes.iter().find(|n| n.meta.name == node_name) {
            opts.local_addresses = node.addresses.iter().filter_map(|a| a.ip).collect();
        }
        if opts.local_addresses.is_empty() {
            notes.push(format!(
                "no addresses known for node {node_name}: only loopback counts as LOCAL"
            ));
        }
    }
    let mut services = Vec::new();
    for svc in &objects.services {
        let key_base = format!("{}/{}", svc.meta.namespace_or_default(), svc.meta.name);
        if svc.headless || svc.service_type == ServiceType::ExternalName {
            notes.push(format!("{key_base}: headless/ExternalName, not proxied"));
            continue;
        }
        if svc
            .meta
            .labels
            .contains_key("service.kubernetes.io/service-proxy-name")
        {
            notes.push(format!(
                "{key_base}: labelled service-proxy-name, not handled by kube-proxy"
            ));
            continue;
        }
        if svc.cluster_ips.is_empty() {
            notes.push(format!("{key_base}: no clusterIP, skipped"));
            continue;
        }
        let is_lb = svc.service_type == ServiceType::LoadBalancer;
        let lb_ips: Vec<IpAddr> = if is_lb {
            svc.load_balancer_ingress
                .iter()
                .filter(|i| {
                    !i.ip_mode
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case("Proxy"))
                })
                .filter_map(|i| i.ip)
                .collect()
        } else {
            Vec::new()
        };
        if is_lb && svc.load_balancer_ingress.iter().any(|i| i.ip.is_none()) {
            notes.push(format!(
                "{key_base}: load balancer ingress without an IP (AWS NLB/CLB hostname): no LB-IP rules on the node"
            ));
        }
        let mut families: Vec<bool> = svc.cluster_ips.iter().map(|ip| ip.is_ipv4()).collect();
        families.dedup();
        for family_v4 in families {
            let fam = |ip: &&IpAddr| ip.is_ipv4() == family_v4;
            for sp in &svc.ports {
                let pname = sp.name.clone().unwrap_or_default();
                let key = if pname.is_empty() {
                    key_base.clone()
                } else {
                    format!("{key_base}:{pname}")
                };
                let eps = endpoints_for(objects, svc, &pname, sp.protocol, family_v4, node_name);
                let has_endpoints = eps.iter().any(|e| e.ready || e.serving_terminating);
                let node_port = match svc.service_type {
                    ServiceType::NodePort | ServiceType::LoadBalancer => sp.node_port,
                    _ => None,
                };
                services.push(SynthServicePort {
                    key,
                    protocol: sp.protocol,
                    port: sp.port,
                    cluster_ips: svc.cluster_ips.iter().filter(fam).copied().collect(),
                    node_port,
                    external_ips: svc.external_ips.iter().filter(fam).copied().collect(),
                    lb_ips: lb_ips.iter().filter(fam).copied().collect(),
                    source_ranges: svc
                        .load_balancer_source_ranges
                        .iter()
                        .filter(|n| matches!(n, IpNet::V4(_)) == family_v4)
                        .copied()
                        .collect(),
                    internal_local: svc.internal_traffic_policy == Some(TrafficPolicy::Local),
                    external_local: svc.external_traffic_policy == Some(TrafficPolicy::Local),
                    affinity: svc
                        .session_affinity
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case("ClientIP")),
                    health_check_node_port: svc.health_check_node_port,
                    cluster_endpoints: choose(&eps, |_| true),
                    local_endpoints: choose(&eps, |e| e.local),
                    has_endpoints,
                    at: svc.meta.at.clone(),
                });
            }
        }
    }
    notes.push("topology hints (PreferSameZone/PreferSameNode) not applied".to_string());
    SynthesizedProxy {
        node: node_name.to_string(),
        options: opts,
        services,
        notes,
    }
}

/// Which capture rule a packet meets.
#[derive(Clone, Copy, PartialEq)]
enum Capture {
    ClusterIp,
    ExternalIp,
    LoadBalancer,
    NodePort,
}

impl SynthesizedProxy {
    fn is_local(&self, ip: IpAddr) -> bool {
        ip.is_loopback() || self.options.local_addresses.contains(&ip)
    }

    fn node_port_address(&self, dst: IpAddr) -> bool {
        if dst.is_loopback() && (!self.options.localhost_node_ports || dst.is_ipv6()) {
            return false;
        }
        match &self.options.node_port_addresses {
            None => self.is_local(dst),
            Some(cidrs) => self.is_local(dst) && cidrs.iter().any(|c| c.contains(&dst)),
        }
    }

    fn rule(&self, table: &str, chain: String, text: String, comment: &str) -> RuleRef {
        RuleRef {
            table: table.to_string(),
            chain,
            line: 0,
            text,
            comment: Some(comment.to_string()),
            at: None,
        }
    }

    fn branch(
        &self,
        sp: &SynthServicePort,
        probability: f64,
        verdict: Verdict,
        masquerade: bool,
        rules: Vec<RuleRef>,
    ) -> ProxyBranch {
        let mut notes = vec!["derived from Services and EndpointSlices, not observed".to_string()];
        if sp.affinity {
            notes.push(format!(
                "session affinity (ClientIP) on {}: first connection assumed, no affinity hit",
                sp.key
            ));
        }
        ProxyBranch {
            probability,
            verdict,
            masquerade,
            service: Some(sp.key.clone()),
            rules,
            notes,
            origin: Origin::Derived {
                node: self.node.clone(),
            },
        }
    }

    /// One branch per endpoint, each 1/n; hairpin (source == endpoint) is masqueraded.
    fn dispatch(
        &self,
        sp: &SynthServicePort,
        pkt: &Packet,
        local: bool,
        masq: bool,
        rules: Vec<RuleRef>,
    ) -> Vec<ProxyBranch> {
        let eps = if local {
            &sp.local_endpoints
        } else {
            &sp.cluster_endpoints
        };
        let chain = format!(
            "{}({})",
            if local { "KUBE-SVL" } else { "KUBE-SVC" },
            sp.key
        );
        let n = eps.len() as f64;
        eps.iter()
            .map(|&(ip, port)| {
                let mut r = rules.clone();
                let hairpin = pkt.src == ip;
                r.push(self.rule(
                    "nat",
                    chain.clone(),
                    format!(
                        "-A {chain} -m comment --comment \"{} -> {ip}:{port}\" -j KUBE-SEP",
                        sp.key
                    ),
                    &format!("{} -> {ip}:{port}", sp.key),
                ));
                r.push(self.rule(
                    "nat",
                    format!("KUBE-SEP({} {ip}:{port})", sp.key),
                    format!("-j DNAT --to-destination {ip}:{port}"),
                    &sp.key,
                ));
                self.branch(sp, 1.0 / n, Verdict::Dnat { ip, port }, masq || hairpin, r)
            })
            .collect()
    }

    fn single(&self, sp: &SynthServicePort, verdict: Verdict, rule: RuleRef) -> ProxyOutcome {
        ProxyOutcome {
            branches: vec![self.branch(sp, 1.0, verdict, false, vec![rule])],
            notes: Vec::new(),
        }
    }

    /// What kube-proxy's rules on this node would do with `pkt` (first packet of a new
    /// connection), derived rather than observed.
    pub fn evaluate(&self, pkt: &Packet) -> ProxyOutcome {
        let fits = |sp: &SynthServicePort| sp.protocol == pkt.protocol;
        let mut found: Option<(&SynthServicePort, Capture)> = None;
        for sp in self.services.iter().filter(|s| fits(s)) {
            if sp.port != pkt.dst_port {
                continue;
            }
            if sp.cluster_ips.contains(&pkt.dst) {
                found = Some((sp, Capture::ClusterIp));
            } else if sp.external_ips.contains(&pkt.dst) {
                found = Some((sp, Capture::ExternalIp));
            } else if sp.lb_ips.contains(&pkt.dst) {
                found = Some((sp, Capture::LoadBalancer));
            }
            if found.is_some() {
                break;
            }
        }
        if found.is_none() {
            found = self
                .services
                .iter()
                .filter(|s| fits(s))
                .find(|sp| sp.node_port == Some(pkt.dst_port) && self.is_local(pkt.dst))
                .map(|sp| (sp, Capture::NodePort));
        }
        let Some((sp, capture)) = found else {
            if let Some(sp) = self.services.iter().find(|sp| {
                sp.health_check_node_port == Some(pkt.dst_port)
                    && pkt.protocol == Protocol::Tcp
                    && self.is_local(pkt.dst)
            }) {
                let c = format!("{} health check node port", sp.key);
                let r = self.rule(
                    "filter",
                    "KUBE-NODEPORTS".into(),
                    format!("--dport {} -j ACCEPT", pkt.dst_port),
                    &c,
                );
                return self.single(sp, Verdict::Accept { explicit: true }, r);
            }
            return ProxyOutcome {
                branches: vec![ProxyBranch {
                    probability: 1.0,
                    verdict: Verdict::Accept { explicit: false },
                    masquerade: false,
                    service: None,
                    rules: Vec::new(),
                    notes: vec!["derived: no service captures this destination".to_string()],
                    origin: Origin::Derived {
                        node: self.node.clone(),
                    },
                }],
                notes: Vec::new(),
            };
        };
        let mut out = self.evaluate_capture(sp, capture, pkt);
        out.notes
            .push("derived from Services and EndpointSlices, not observed".to_string());
        out
    }

    fn evaluate_capture(
        &self,
        sp: &SynthServicePort,
        capture: Capture,
        pkt: &Packet,
    ) -> ProxyOutcome {
        let detector_local = self
            .options
            .local_detector
            .is_some_and(|d| d.contains(&pkt.src));
        if capture == Capture::ClusterIp {
            let c = format!("{} cluster IP", sp.key);
            if sp.has_internal() {
                let masq = self.options.masquerade_all
                    || self.options.local_detector.is_some() && !detector_local;
                let r = self.rule(
                    "nat",
                    "KUBE-SERVICES".into(),
                    format!(
                        "-d {} --dport {} -j {}",
                        pkt.dst,
                        sp.port,
                        if sp.internal_local {
                            "KUBE-SVL"
                        } else {
                            "KUBE-SVC"
                        }
                    ),
                    &c,
                );
                return ProxyOutcome {
                    branches: self.dispatch(sp, pkt, sp.internal_local, masq, vec![r]),
                    notes: Vec::new(),
                };
            }
            let (verdict, what, target) = if sp.has_endpoints {
                (Verdict::Drop, "has no local endpoints", "DROP")
            } else {
                (Verdict::Reject, "has no endpoints", "REJECT")
            };
            let c = format!("{} {what}", sp.key);
            let r = self.rule(
                "filter",
                "KUBE-SERVICES".into(),
                format!("-d {} --dport {} -j {target}", pkt.dst, sp.port),
                &c,
            );
            return self.single(sp, verdict, r);
        }
        if capture == Capture::NodePort && !self.node_port_address(pkt.dst) {
            // Only the filter rule (addrtype LOCAL) can act.
            if !sp.has_external() {
                return self.reject_or_drop_external(sp, pkt);
            }
            return ProxyOutcome {
                branches: vec![ProxyBranch {
                    probability: 1.0,
                    verdict: Verdict::Accept { explicit: false },
                    masquerade: false,
                    service: Some(sp.key.clone()),
                    rules: Vec::new(),
                    notes: vec![format!(
                        "derived: {} is not a nodePort address of this node",
                        pkt.dst
                    )],
                    origin: Origin::Derived {
                        node: self.node.clone(),
                    },
                }],
                notes: Vec::new(),
            };
        }
        if !sp.has_endpoints {
            return self.reject_or_drop_external(sp, pkt);
        }
        let what = match capture {
            Capture::ExternalIp => "external IP",
            Capture::LoadBalancer => "loadbalancer IP",
            _ => "node port",
        };
        let mut rules = vec![self.rule(
            "nat",
            if capture == Capture::NodePort {
                "KUBE-NODEPORTS"
            } else {
                "KUBE-SERVICES"
            }
            .into(),
            format!("-d {} --dport {} -j KUBE-EXT", pkt.dst, pkt.dst_port),
            &format!("{} {what}", sp.key),
        )];
        if capture == Capture::LoadBalancer && !sp.source_ranges.is_empty() {
            let node_in_range = sp.source_ranges.iter().any(|r| {
                self.options
                    .local_addresses
                    .iter()
                    .any(|a| !a.is_loopback() && r.contains(a))
            });
            let allowed = sp.source_ranges.iter().any(|r| r.contains(&pkt.src))
                || (node_in_range && sp.lb_ips.contains(&pkt.src));
            if !allowed {
                rules.push(self.rule(
                    "filter",
                    "KUBE-PROXY-FIREWALL".into(),
                    format!("-d {} --dport {} -j DROP", pkt.dst, pkt.dst_port),
                    &format!("{} traffic not accepted by KUBE-FW", sp.key),
                ));
                let mut out = self.single(sp, Verdict::Drop, rules.remove(0));
                if let Some(b) = out.branches.first_mut() {
                    b.rules.extend(rules);
                    b.notes.push(format!(
                        "source {} is outside loadBalancerSourceRanges",
                        pkt.src
                    ));
                }
                return out;
            }
        }
        let ext = format!("KUBE-EXT({})", sp.key);
        if !sp.external_local {
            rules.push(self.rule(
                "nat",
                ext,
                "-j KUBE-MARK-MASQ".into(),
                &format!("masquerade traffic for {} external destinations", sp.key),
            ));
            return ProxyOutcome {
                branches: self.dispatch(sp, pkt, false, true, rules),
                notes: Vec::new(),
            };
        }
        if detector_local {
            rules.push(self.rule(
                "nat",
                ext,
                "-j KUBE-SVC".into(),
                &format!("pod traffic for {} external destinations", sp.key),
            ));
            return ProxyOutcome {
                branches: self.dispatch(sp, pkt, false, false, rules),
                notes: Vec::new(),
            };
        }
        if self.is_local(pkt.src) {
            rules.push(self.rule(
                "nat",
                ext,
                "-m addrtype --src-type LOCAL -j KUBE-SVC".into(),
                &format!("route LOCAL traffic for {} external destinations", sp.key),
            ));
            return ProxyOutcome {
                branches: self.dispatch(sp, pkt, false, true, rules),
                notes: Vec::new(),
            };
        }
        if !sp.local_endpoints.is_empty() {
            rules.push(self.rule("nat", ext, "-j KUBE-SVL".into(), &sp.key));
            return ProxyOutcome {
                branches: self.dispatch(sp, pkt, true, false, rules),
                notes: Vec::new(),
            };
        }
        self.reject_or_drop_external(sp, pkt)
    }

    fn reject_or_drop_external(&self, sp: &SynthServicePort, pkt: &Packet) -> ProxyOutcome {
        let (verdict, what, target) = if sp.has_endpoints {
            (Verdict::Drop, "has no local endpoints", "DROP")
        } else {
            (Verdict::Reject, "has no endpoints", "REJECT")
        };
        let r = self.rule(
            "filter",
            "KUBE-EXTERNAL-SERVICES".into(),
            format!("-d {} --dport {} -j {target}", pkt.dst, pkt.dst_port),
            &format!("{} {what}", sp.key),
        );
        self.single(sp, verdict, r)
    }
}
