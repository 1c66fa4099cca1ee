//! The Istio layer of the matrix: which TCP ports of a destination pod a source may reach
//! through the destination's sidecar, and which of them only for some HTTP requests.
//!
//! Each port that an AuthorizationPolicy which applies to the destination, a
//! PeerAuthentication or an interception annotation names is evaluated on its own (once as
//! plain TCP, once as HTTP with unknown attributes); every other port shares one evaluation. A port allowed as plain TCP is kept as is; a port
//! denied as plain TCP but allowed or undecidable as HTTP, or undecidable as plain TCP, is
//! kept with an [`L7Narrowing`] that lists what the request must satisfy.

use crate::eval::ports::PortSet;
use crate::model::cluster::{AuthorizationPolicy, AuthzAction, ClusterObjects, Pod};
use crate::model::{PortRange, Protocol};
use crate::policy::istio::{
    applies, evaluate_among, HttpAttrs, MeshConfig, MeshRequest, SourcePod, Tri,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// What an allowed-but-narrowed set of TCP ports requires of a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct L7Narrowing {
    /// The TCP ports this narrowing applies to.
    pub ports: PortSet,
    /// HTTP methods an ALLOW rule admits (empty: not narrowed by method).
    pub methods: Vec<String>,
    /// HTTP paths an ALLOW rule admits.
    pub paths: Vec<String>,
    /// Hosts (`:authority`) an ALLOW rule admits.
    pub hosts: Vec<String>,
    /// Everything that is undecidable for these ports, as the evaluator states it
    /// (`prod/p rules[0]: methods: needs --http-method`, DENY rules that might match, …).
    pub conditions: Vec<String>,
}

/// The Istio outcome for one (source, destination pod) pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct IstioCell {
    /// TCP ports allowed without condition (including ports the sidecar does not see).
    pub allowed: PortSet,
    /// TCP ports allowed only for some requests, grouped by what they require.
    pub narrowed: Vec<L7Narrowing>,
    /// True when Istio does not constrain the pair at all (every TCP port allowed).
    pub unconstrained: bool,
}

impl IstioCell {
    /// Every TCP port that may carry some traffic (allowed or narrowed).
    pub fn reachable(&self) -> PortSet {
        let mut out = self.allowed.clone();
        for n in &self.narrowed {
            for r in n.ports.ranges() {
                out.insert(*r);
            }
        }
        out
    }
}

/// The client of a matrix cell as Istio sees it.
#[derive(Debug, Clone)]
pub enum Client {
    /// A pod (its identity and first IP).
    Pod(SourcePod, Option<IpAddr>),
    /// An external address (plain text, no identity).
    External(IpAddr),
    /// A client with no known identity or address (e.g. the ingress controller).
    Unknown,
}

/// Ports the AuthorizationPolicies `policies` name.
fn authz_ports<'p>(policies: impl Iterator<Item = &'p AuthorizationPolicy>) -> BTreeSet<u16> {
    let mut named: BTreeSet<u16> = BTreeSet::new();
    for p in policies {
        for r in p.rules.iter().flatten() {
            for o in r.to.iter().flatten() {
                named.extend(o.ports.iter().chain(&o.not_ports));
            }
            for c in r.when.iter().flatten() {
                if c.key == "destination.port" {
                    named.extend(
                        c.values
                            .iter()
                            .chain(&c.not_values)
                            .filter_map(|s| s.parse::<u16>().ok()),
                    );
                }
            }
        }
    }
    named
}

/// Ports any PeerAuthentication names.
fn peer_auth_ports(objects: &ClusterObjects) -> BTreeSet<u16> {
    let mut named: BTreeSet<u16> = BTreeSet::new();
    for p in &objects.peer_authentications {
        named.extend(p.port_level_mtls.keys());
    }
    named
}

/// Ports that may be decided apart from the others for `dst`: those the AuthorizationPolicies
/// that apply (`candidates`), any PeerAuthentication or an interception annotation name.
/// Every other port is decided alike, so one evaluation stands for all of them.
fn named_ports(
    peer_auth_ports: &BTreeSet<u16>,
    candidates: &[&AuthorizationPolicy],
    dst: &Pod,
) -> BTreeSet<u16> {
    let mut named = authz_ports(candidates.iter().copied());
    named.extend(peer_auth_ports);
    for key in [
        "traffic.sidecar.istio.io/excludeInboundPorts",
        "traffic.sidecar.istio.io/includeInboundPorts",
    ] {
        if let Some(v) = dst.meta.annotations.get(key) {
            named.extend(v.split(',').filter_map(|s| s.trim().parse::<u16>().ok()));
        }
    }
    named
}

/// The Istio layer prepared for many cells: the ports policies name, and the
/// AuthorizationPolicies per namespace.
pub struct MeshLayer<'o> {
    /// The objects.
    pub objects: &'o ClusterObjects,
    /// The mesh settings.
    pub mesh: MeshConfig,
    peer_auth_ports: BTreeSet<u16>,
    /// Namespace → indices of its AuthorizationPolicies, in input order.
    by_ns: HashMap<&'o str, Vec<usize>>,
}

impl<'o> MeshLayer<'o> {
    /// Prepares `objects` under `mesh`.
    pub fn new(objects: &'o ClusterObjects, mesh: MeshConfig) -> Self {
        let mut by_ns: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in objects.authorization_policies.iter().enumerate() {
            by_ns
                .entry(p.meta.namespace_or_default())
                .or_default()
                .push(i);
        }
        MeshLayer {
            objects,
            mesh,
            peer_auth_ports: peer_auth_ports(objects),
            by_ns,
        }
    }

    /// The AuthorizationPolicies that apply to `dst` (among those of its namespace and of the
    /// root namespace), in input order: no other policy takes part in its decisions.
    pub fn candidates(&self, dst: &Pod) -> Vec<&'o AuthorizationPolicy> {
        let mut ix: Vec<usize> = [
            dst.meta.namespace_or_default(),
            self.mesh.root_namespace.as_str(),
        ]
        .iter()
        .filter_map(|ns| self.by_ns.get(ns))
        .flatten()
        .copied()
        .collect();
        ix.sort_unstable();
        ix.dedup();
        ix.iter()
            .filter_map(|i| self.objects.authorization_policies.get(*i))
            .filter(|p| applies(p, dst, &self.mesh).is_ok())
            .collect()
    }

    /// [`cell`] with the AuthorizationPolicies limited to `candidates`
    /// ([`MeshLayer::candidates`] of `dst`).
    pub fn cell(
        &self,
        client: &Client,
        dst: &Pod,
        candidates: &[&AuthorizationPolicy],
    ) -> IstioCell {
        cell_among(self, client, dst, candidates)
    }
}

/// The L7 fields of the ALLOW rule an `undecided` entry (`ns/name rules[i]: …`) names.
fn allow_fields(objects: &ClusterObjects, entry: &str, n: &mut L7Narrowing) {
    let Some((key, rest)) = entry.split_once(" rules[") else {
        return;
    };
    let Some(ix) = rest.split(']').next().and_then(|s| s.parse::<usize>().ok()) else {
        return;
    };
    let Some(p) = objects
        .authorization_policies
        .iter()
        .find(|p| p.meta.key() == key && p.action == AuthzAction::Allow)
    else {
        return;
    };
    for r in p.rules.iter().flatten().filter(|r| r.index == ix) {
        for o in r.to.iter().flatten() {
            n.methods.extend(o.methods.iter().cloned());
            n.paths.extend(o.paths.iter().cloned());
            n.hosts.extend(o.hosts.iter().cloned());
        }
    }
}

/// (methods, paths, hosts, conditions) of a narrowing.
type NarrowKey = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);

fn tidy(v: &mut Vec<String>) {
    v.sort();
    v.dedup();
}

/// Evaluates the Istio layer for `client` → `dst` over every TCP port.
pub fn cell(objects: &ClusterObjects, mesh: &MeshConfig, client: &Client, dst: &Pod) -> IstioCell {
    let layer = MeshLayer::new(objects, mesh.clone());
    let candidates = layer.candidates(dst);
    layer.cell(client, dst, &candidates)
}

fn cell_among(
    layer: &MeshLayer<'_>,
    client: &Client,
    dst: &Pod,
    candidates: &[&AuthorizationPolicy],
) -> IstioCell {
    let (objects, mesh) = (layer.objects, &layer.mesh);
    let (src, src_ip) = match client {
        Client::Pod(s, ip) => (Some(s.clone()), *ip),
        Client::External(ip) => (None, Some(*ip)),
        Client::Unknown => (None, None),
    };
    let named = named_ports(&layer.peer_auth_ports, candidates, dst);
    let mut probes: Vec<(u16, PortSet)> = named
        .iter()
        .map(|p| (*p, PortSet::from_range(PortRange::single(*p))))
        .collect();
    if let Some(rep) = (0..=u16::MAX).find(|p| !named.contains(p)) {
        let mut others = PortSet::all();
        for (_, s) in &probes {
            others = others.minus(s);
        }
        probes.push((rep, others));
    }
    let mut out = IstioCell::default();
    let mut narrowed: BTreeMap<NarrowKey, PortSet> = BTreeMap::new();
    let mut all_plain = true;
    for (port, set) in probes {
        let mut req = MeshRequest {
            src: src.clone(),
            src_ip,
            remote_ip: None,
            dst,
            dst_port: port,
            protocol: Protocol::Tcp,
            http: None,
        };
        let tcp = evaluate_among(objects, mesh, &req, candidates);
        if tcp.allowed == Tri::Allow {
            for r in set.ranges() {
                out.allowed.insert(*r);
            }
            continue;
        }
        all_plain = false;
        req.http = Some(HttpAttrs::default());
        let http = evaluate_among(objects, mesh, &req, candidates);
        let mut n = L7Narrowing::default();
        match (tcp.allowed, http.allowed) {
            (Tri::Deny, Tri::Deny) => continue,
            (Tri::Deny, _) => {
                for u in &http.undecided {
                    allow_fields(objects, u, &mut n);
                }
                n.conditions.extend(http.undecided.iter().cloned());
                if http.allowed == Tri::Allow {
                    n.conditions
                        .push("allowed as HTTP only (denied as plain TCP)".into());
                }
            }
            _ => {
                for u in tcp.undecided.iter().chain(&http.undecided) {
                    allow_fields(objects, u, &mut n);
                }
                n.conditions.extend(tcp.undecided.iter().cloned());
                n.conditions.extend(http.undecided.iter().cloned());
            }
        }
        tidy(&mut n.methods);
        tidy(&mut n.paths);
        tidy(&mut n.hosts);
        tidy(&mut n.conditions);
        let slot = narrowed
            .entry((n.methods, n.paths, n.hosts, n.conditions))
            .or_insert_with(PortSet::empty);
        for r in set.ranges() {
            slot.insert(*r);
        }
    }
    out.unconstrained = all_plain;
    out.narrowed = narrowed
        .into_iter()
        .map(|((methods, paths, hosts, conditions), ports)| L7Narrowing {
            ports,
            methods,
            paths,
            hosts,
            conditions,
        })
        .collect();
    out
}
