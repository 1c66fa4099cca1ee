//! Kubernetes NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy evaluation.
//!
//! A pure evaluator over [`ClusterObjects`]: given a source and a destination ([`Peer`]: an
//! abstract pod [`Endpoint`] or an external address) it returns the exact [`ConnSet`] the
//! policies allow from source to destination, and, on request, the [`Citation`]s that decided.
//!
//! Semantics (per direction, then egress of the source ∩ ingress of the destination):
//! AdminNetworkPolicies by ascending priority, rules in order, first match wins per port
//! (`Allow`/`Deny`/`Pass`); the ports left undecided (or passed) go to the NetworkPolicies
//! (if any selects the pod for that direction: the union of their matching rules, the rest
//! denied); if none selects it, to the BaselineAdminNetworkPolicy (first match wins), and what
//! is still undecided is allowed.

mod anp;
pub mod connset;

pub use connset::{ConnSet, FULL_PORTS, PORT_PROTOCOLS};

use crate::eval::ports::PortSet;
use crate::graph::FastMap;
use crate::model::cluster::{
    AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterObjects, IpBlock, NetworkPolicy,
    NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule, PolicyType, PortRef, StringMap,
};
use crate::model::{PortRange, Protocol};
use crate::source::Provenance;
use std::net::IpAddr;

/// The label every namespace carries: `kubernetes.io/metadata.name=<name>`.
pub const NS_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// A named container port of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NamedPort {
    /// The port's `name`.
    pub name: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// `containerPort`.
    pub port: u16,
}

/// What policies see of a pod: namespace, labels, named ports, service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's labels.
    pub labels: StringMap,
    /// Named container ports (unnamed ones cannot be referenced by policies).
    pub named_ports: Vec<NamedPort>,
    /// `serviceAccountName`.
    pub service_account: Option<String>,
}

impl Endpoint {
    /// An endpoint from a pod spec's containers.
    pub fn from_spec(
        namespace: &str,
        labels: &StringMap,
        spec: &crate::model::cluster::PodSpec,
    ) -> Self {
        let mut named_ports: Vec<NamedPort> = spec
            .containers
            .iter()
            .chain(&spec.init_containers)
            .flat_map(|c| &c.ports)
            .filter_map(|p| {
                p.name.as_ref().map(|n| NamedPort {
                    name: n.clone(),
                    protocol: p.protocol,
                    port: p.container_port,
                })
            })
            .collect();
        named_ports.sort();
        named_ports.dedup();
        Endpoint {
            namespace: namespace.to_string(),
            labels: labels.clone(),
            named_ports,
            service_account: spec.service_account_name.clone(),
        }
    }
    /// The container ports named `name` (any protocol).
    pub fn resolve<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a NamedPort> + 'a {
        self.named_ports.iter().filter(move |p| p.name == name)
    }
}

/// One side of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer<'a> {
    /// A pod (or a workload's abstract pod).
    Pod(&'a Endpoint),
    /// An address outside the cluster's pods (ipBlocks and `networks` match these only).
    External(IpAddr),
}

/// What a policy rule did to the connection it is cited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The rule allows (part of) the connection.
    Allow,
    /// The rule denies it (ANP/BANP `Deny`).
    Deny,
    /// The rule passes it to the NetworkPolicy layer (ANP `Pass`).
    Pass,
    /// The policy selects the pod (isolating it) and none of its rules allows the connection.
    Isolate,
    /// An `except` of an ipBlock excluded the address.
    Except,
}

/// A policy (and rule) that decided, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    /// `NetworkPolicy ns/name`, `AdminNetworkPolicy name`, `BaselineAdminNetworkPolicy default`.
    pub policy: String,
    /// Where the policy starts.
    pub policy_at: Provenance,
    /// The rule, e.g. `ingress[0]`; `None` when the policy as a whole decided (isolation).
    pub rule: Option<String>,
    /// Where the rule starts.
    pub rule_at: Option<Provenance>,
    /// What it did.
    pub effect: Effect,
    /// Ingress (the destination's side) or egress (the source's side).
    pub direction: PolicyType,
    /// One sentence for people.
    pub reason: String,
}

/// The answer for one direction (the source's egress or the destination's ingress).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectionResult {
    /// What this side allows.
    pub conns: ConnSet,
    /// Why (only when asked for), each citation with the connections it covers.
    pub because: Vec<(Citation, ConnSet)>,
}

/// The answer for a source → destination pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// What the source may initiate to the destination: egress ∩ ingress.
    pub conns: ConnSet,
    /// The source's egress side.
    pub egress: DirectionResult,
    /// The destination's ingress side.
    pub ingress: DirectionResult,
}

/// The verdict for one concrete flow, as a packet tracer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// True when the policies allow the flow.
    pub allowed: bool,
    /// The rules that allowed it, or the policies/rules that denied it (never empty when a
    /// policy decided; empty when no policy applies to either side).
    pub deciding: Vec<Citation>,
}

/// The NetworkPolicies selecting one pod, per direction (see [`PolicyContext::select`]).
#[derive(Debug, Clone, Default)]
pub struct Selection<'a> {
    /// Policies that isolate the pod for ingress.
    pub ingress: Vec<&'a NetworkPolicy>,
    /// Policies that isolate the pod for egress.
    pub egress: Vec<&'a NetworkPolicy>,
}

/// The policies whose subject is one endpoint for one direction. Two endpoints with the same
/// deciding policies (and, for ingress, the same named ports) get the same answer from
/// [`PolicyContext::side`] for every remote end: the remote end is matched only against the
/// rules of these policies.
#[derive(Debug, Clone, Default)]
pub struct Deciding<'a> {
    /// AdminNetworkPolicies whose subject selects the endpoint, by priority.
    pub anps: Vec<&'a AdminNetworkPolicy>,
    /// NetworkPolicies that isolate the endpoint for the direction.
    pub network_policies: Vec<&'a NetworkPolicy>,
    /// The BaselineAdminNetworkPolicy, when its subject selects the endpoint.
    pub baseline: Option<&'a BaselineAdminNetworkPolicy>,
}

/// The policies of a snapshot, prepared for evaluation (namespace labels resolved, ANPs sorted).
#[derive(Debug, Clone)]
pub struct PolicyContext<'a> {
    /// The objects.
    pub objects: &'a ClusterObjects,
    ns_labels: FastMap<String, StringMap>,
    /// Per namespace, its NetworkPolicies with their effective (ingress, egress) types.
    by_ns: FastMap<String, Vec<(&'a NetworkPolicy, bool, bool)>>,
    anps: Vec<&'a AdminNetworkPolicy>,
    banp: Option<&'a BaselineAdminNetworkPolicy>,
}

impl<'a> PolicyContext<'a> {
    /// Prepares the objects: every namespace gets `kubernetes.io/metadata.name`; ANPs are
    /// sorted by priority (ties keep input order; [`crate::matrix`] reports them as errors).
    pub fn new(objects: &'a ClusterObjects) -> Self {
        let mut ns_labels = FastMap::default();
        for ns in &objects.namespaces {
            let mut l = ns.meta.labels.clone();
            l.entry(NS_NAME_LABEL.to_string())
                .or_insert_with(|| ns.meta.name.clone());
            ns_labels.insert(ns.meta.name.clone(), l);
        }
        let mut anps: Vec<&AdminNetworkPolicy> = objects.admin_network_policies.iter().collect();
        anps.sort_by_key(|a| a.priority);
        let banp = objects
            .baseline_admin_network_policies
            .iter()
            .find(|b| b.meta.name == "default")
            .or(objects.baseline_admin_network_policies.first());
        let mut by_ns: FastMap<String, Vec<(&NetworkPolicy, bool, bool)>> = FastMap::default();
        for np in &objects.network_policies {
            let t = np.effective_policy_types();
            by_ns
                .entry(np.meta.namespace_or_default().to_string())
                .or_default()
                .push((
                    np,
                    t.contains(&PolicyType::Ingress),
                    t.contains(&PolicyType::Egress),
                ));
        }
        PolicyContext {
            objects,
            ns_labels,
            by_ns,
            anps,
            banp,
        }
    }

    /// The labels of namespace `ns` (an implicit namespace has only its name label).
    pub fn namespace_labels(&self, ns: &str) -> StringMap {
        match self.ns_labels.get(ns) {
            Some(l) => l.clone(),
            None => {
                let mut l = StringMap::default();
                l.insert(NS_NAME_LABEL.to_string(), ns.to_string());
                l
            }
        }
    }

    /// True when the namespace selector `sel` selects namespace `ns`.
    pub fn ns_matches(&self, sel: &crate::model::cluster::LabelSelector, ns: &str) -> bool {
        match self.ns_labels.get(ns) {
            Some(l) => sel.matches(l),
            None => sel.matches(&self.namespace_labels(ns)),
        }
    }

    /// The NetworkPolicies that select `me`, per direction: compute once per pod class and
    /// pass to [`PolicyContext::allowed_selected`] to evaluate many pairs quickly.
    pub fn select(&self, me: &Endpoint) -> Selection<'a> {
        let mut sel = Selection::default();
        if let Some(here) = self.by_ns.get(&me.namespace) {
            for &(np, ing, eg) in here {
                if np.pod_selector.matches(&me.labels) {
                    if ing {
                        sel.ingress.push(np);
                    }
                    if eg {
                        sel.egress.push(np);
                    }
                }
            }
        }
        sel
    }

    /// [`PolicyContext::allowed`] without explanations, with the selections of the pod
    /// ends precomputed by [`PolicyContext::select`] (`None` for external ends).
    pub fn allowed_selected(
        &self,
        src: Peer<'_>,
        src_sel: Option<&Selection<'_>>,
        dst: Peer<'_>,
        dst_sel: Option<&Selection<'_>>,
    ) -> ConnSet {
        let egress = match src {
            Peer::Pod(me) => {
                let s = src_sel.map(|s| s.egress.as_slice());
                self.side(me, dst, PolicyType::Egress, false, s).conns
            }
            Peer::External(_) => ConnSet::all(),
        };
        if egress.is_empty() {
            return egress;
        }
        let ingress = match dst {
            Peer::Pod(me) => {
                let s = dst_sel.map(|s| s.ingress.as_slice());
                self.side(me, src, PolicyType::Ingress, false, s).conns
            }
            Peer::External(_) => ConnSet::all(),
        };
        egress.intersect(&ingress)
    }

    /// One side without explanations: what `me`'s policies allow towards `other` (`Egress`:
    /// `me` is the source) or from it (`Ingress`: `me` is the destination), with `me`'s
    /// selection precomputed by [`PolicyContext::select`].
    pub fn side_conns(
        &self,
        me: &Endpoint,
        other: Peer<'_>,
        dir: PolicyType,
        sel: &Selection<'_>,
    ) -> ConnSet {
        let s = match dir {
            PolicyType::Ingress => sel.ingress.as_slice(),
            PolicyType::Egress => sel.egress.as_slice(),
        };
        self.side(me, other, dir, false, Some(s)).conns
    }

    /// The policies that decide `me`'s side in `dir` (see [`Deciding`]), with `me`'s selection
    /// precomputed by [`PolicyContext::select`].
    pub fn deciding(&self, me: &Endpoint, sel: &Selection<'a>, dir: PolicyType) -> Deciding<'a> {
        let anps = self
            .anps
            .iter()
            .copied()
            .filter(|a| anp::subject_matches(self, &a.subject, me))
            .collect();
        let network_policies = match dir {
            PolicyType::Ingress => sel.ingress.clone(),
            PolicyType::Egress => sel.egress.clone(),
        };
        let baseline = self
            .banp
            .filter(|b| anp::subject_matches(self, &b.subject, me));
        Deciding {
            anps,
            network_policies,
            baseline,
        }
    }

    /// Everything `src` may initiate to `dst`; with `explain`, the citations too.
    pub fn allowed(&self, src: Peer<'_>, dst: Peer<'_>, explain: bool) -> Allowed {
        let egress = match src {
            Peer::Pod(me) => self.side(me, dst, PolicyType::Egress, explain, None),
            Peer::External(_) => DirectionResult {
                conns: ConnSet::all(),
                because: Vec::new(),
            },
        };
        let ingress = match dst {
            Peer::Pod(me) => self.side(me, src, PolicyType::Ingress, explain, None),
            Peer::External(_) => DirectionResult {
                conns: ConnSet::all(),
                because: Vec::new(),
            },
        };
        Allowed {
            conns: egress.conns.intersect(&ingress.conns),
            egress,
            ingress,
        }
    }

    /// The verdict for one flow: `protocol` to destination port `port` (ignored without ports).
    pub fn evaluate_flow(
        &self,
        src: Peer<'_>,
        dst: Peer<'_>,
        protocol: Protocol,
        port: u16,
    ) -> Verdict {
        let a = self.allowed(src, dst, true);
        let allowed = a.conns.contains(protocol, port);
        let mut deciding = Vec::new();
        for side in [&a.egress, &a.ingress] {
            let side_allows = side.conns.contains(protocol, port);
            if allowed || !side_allows {
                for (c, covers) in &side.because {
                    let relevant = match c.effect {
                        Effect::Allow => side_allows && covers.contains(protocol, port),
                        Effect::Pass => covers.contains(protocol, port),
                        Effect::Deny | Effect::Except => {
                            !side_allows && covers.contains(protocol, port)
                        }
                        Effect::Isolate => !side_allows,
                    };
                    if relevant {
                        deciding.push(c.clone());
                    }
                }
            }
        }
        Verdict { allowed, deciding }
    }

    /// One side alone, with explanations when `explain`: `me`'s policies for `dir` (its
    /// egress when it sends, its ingress when it receives) toward `other`. `selected` is `me`'s
    /// [`Selection`] for `dir` when precomputed. Equals the matching side of
    /// [`PolicyContext::allowed`].
    pub fn side(
        &self,
        me: &Endpoint,
        other: Peer<'_>,
        dir: PolicyType,
        explain: bool,
        selected: Option<&[&NetworkPolicy]>,
    ) -> DirectionResult {
        let mut because = Vec::new();
        // Layer 1: AdminNetworkPolicies.
        let (anp_allow, undecided) = if self.anps.is_empty() {
            (ConnSet::empty(), ConnSet::all())
        } else {
            anp::admin_layer(self, me, other, dir, explain, &mut because)
        };
        if undecided.is_empty() {
            return DirectionResult {
                conns: anp_allow,
                because,
            };
        }
        // Layer 2: NetworkPolicies.
        let (isolated, np_allow) = self.np_layer(me, other, dir, explain, selected, &mut because);
        let rest = if isolated {
            np_allow.intersect(&undecided)
        } else if let Some(b) = self.banp {
            anp::baseline_layer(self, b, me, other, dir, &undecided, explain, &mut because)
        } else {
            undecided
        };
        DirectionResult {
            conns: anp_allow.union(&rest),
            because,
        }
    }

    /// True and the union of the matching rules when a NetworkPolicy selects `me` for `dir`.
    fn np_layer(
        &self,
        me: &Endpoint,
        other: Peer<'_>,
        dir: PolicyType,
        explain: bool,
        selected: Option<&[&NetworkPolicy]>,
        because: &mut Vec<(Citation, ConnSet)>,
    ) -> (bool, ConnSet) {
        let mut allowed = ConnSet::empty();
        let computed;
        let selected = match selected {
            Some(s) => s,
            None => {
                let sel = self.select(me);
                computed = match dir {
                    PolicyType::Ingress => sel.ingress,
                    PolicyType::Egress => sel.egress,
                };
                computed.as_slice()
            }
        };
        let isolated = !selected.is_empty();
        for &np in selected {
            let (rules, key) = match dir {
                PolicyType::Ingress => (&np.ingress, "ingress"),
                PolicyType::Egress => (&np.egress, "egress"),
            };
            let mut from_this = ConnSet::empty();
            for rule in rules {
                match self.rule_peer_match(np, rule, other) {
                    PeerMatch::Yes => {
                        let dst = match dir {
                            PolicyType::Ingress => Some(me),
                            PolicyType::Egress => match other {
                                Peer::Pod(p) => Some(p),
                                Peer::External(_) => None,
                            },
                        };
                        let c = rule_conns(&rule.ports, dst);
                        if explain && !c.is_empty() {
                            because.push((
                                np_citation(np, Some(rule), key, dir, Effect::Allow, "allows"),
                                c.clone(),
                            ));
                        }
                        from_this.add(&c);
                    }
                    PeerMatch::Excepted(at) => {
                        if explain {
                            let mut cite = np_citation(
                                np,
                                Some(rule),
                                key,
                                dir,
                                Effect::Except,
                                "the address is in an `except` of the rule's ipBlock",
                            );
                            cite.rule_at = Some(at);
                            because.push((cite, ConnSet::all()));
                        }
                    }
                    PeerMatch::No => {}
                }
            }
            if explain {
                because.push((
                    np_citation(
                        np,
                        None,
                        key,
                        dir,
                        Effect::Isolate,
                        "selects the pod; no rule of it allows this connection",
                    ),
                    ConnSet::all().minus(&from_this),
                ));
            }
            allowed.add(&from_this);
        }
        (isolated, allowed)
    }

    fn rule_peer_match(
        &self,
        np: &NetworkPolicy,
        rule: &NetworkPolicyRule,
        other: Peer<'_>,
    ) -> PeerMatch {
        if rule.peers.is_empty() {
            return PeerMatch::Yes;
        }
        let mut excepted = None;
        for p in &rule.peers {
            match self.np_peer_match(np, p, other) {
                PeerMatch::Yes => return PeerMatch::Yes,
                PeerMatch::Excepted(at) => excepted = Some(at),
                PeerMatch::No => {}
            }
        }
        excepted.map_or(PeerMatch::No, PeerMatch::Excepted)
    }

    fn np_peer_match(
        &self,
        np: &NetworkPolicy,
        p: &NetworkPolicyPeer,
        other: Peer<'_>,
    ) -> PeerMatch {
        if let Some(b) = &p.ip_block {
            return match other {
                Peer::External(ip) => ip_block_match(b, ip, &p.at),
                Peer::Pod(_) => PeerMatch::No,
            };
        }
        let Peer::Pod(pod) = other else {
            return PeerMatch::No;
        };
        let ns_ok = match &p.namespace_selector {
            None => pod.namespace == np.meta.namespace_or_default(),
            Some(sel) => self.ns_matches(sel, &pod.namespace),
        };
        let pod_ok = p
            .pod_selector
            .as_ref()
            .is_none_or(|s| s.matches(&pod.labels));
        if ns_ok && pod_ok {
            PeerMatch::Yes
        } else {
            PeerMatch::No
        }
    }
}

enum PeerMatch {
    Yes,
    No,
    Excepted(Provenance),
}

fn ip_block_match(b: &IpBlock, ip: IpAddr, at: &Provenance) -> PeerMatch {
    if !b.cidr.contains(&ip) {
        return PeerMatch::No;
    }
    if b.except.iter().any(|x| x.contains(&ip)) {
        return PeerMatch::Excepted(at.clone());
    }
    PeerMatch::Yes
}

fn np_citation(
    np: &NetworkPolicy,
    rule: Option<&NetworkPolicyRule>,
    key: &str,
    dir: PolicyType,
    effect: Effect,
    reason: &str,
) -> Citation {
    Citation {
        policy: crate::cat!(
            "NetworkPolicy ",
            np.meta.namespace_or_default(),
            '/',
            np.meta.name
        ),
        policy_at: np.meta.at.clone(),
        rule: rule.map(|r| crate::cat!(key, '[', r.index, ']')),
        rule_at: rule.map(|r| r.at.clone()),
        effect,
        direction: dir,
        reason: reason.to_string(),
    }
}

/// The connections a NetworkPolicy rule's `ports` open towards `dst` (whose container ports
/// resolve named ports; `None` for an external destination, where names resolve to nothing).
pub fn rule_conns(ports: &[NetworkPolicyPort], dst: Option<&Endpoint>) -> ConnSet {
    if ports.is_empty() {
        return ConnSet::all();
    }
    let mut out = ConnSet::empty();
    for p in ports {
        match &p.port {
            None => out.add(&ConnSet::protocol(p.protocol)),
            Some(PortRef::Number(n)) => {
                let hi = p.end_port.unwrap_or(*n).max(*n);
                out.add(&ConnSet::range(p.protocol, *n, hi));
            }
            Some(PortRef::Name(name)) => {
                if let Some(d) = dst {
                    for np in d.resolve(name).filter(|np| np.protocol == p.protocol) {
                        out.add(&ConnSet::ports_of(
                            np.protocol,
                            PortSet::from_range(PortRange::single(np.port)),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Convenience for a packet tracer: the verdict for one flow over `objects`.
///
/// Builds a [`PolicyContext`] each call; a caller with many flows should build one context and
/// call [`PolicyContext::evaluate_flow`].
pub fn evaluate_flow(
    objects: &ClusterObjects,
    src: Peer<'_>,
    dst: Peer<'_>,
    protocol: Protocol,
    port: u16,
) -> Verdict {
    PolicyContext::new(objects).evaluate_flow(src, dst, protocol, port)
}

#[cfg(test)]
mod tests;
