//! The connectivity matrix: every pod (or workload) to every pod (or workload) and to and from
//! the external address ranges the policies name, each cell the exact allowed [`ConnSet`].
//!
//! Pods are grouped into equivalence classes (namespace, labels, named ports, service
//! account): policies cannot tell two pods of one class apart, so the matrix holds one verdict
//! per class pair (`cells`) and expands it to the pods of the pair only as [`Matrix::cells`]
//! is read. Workloads without live pods get one abstract pod from their template.
//!
//! Each layer is evaluated once per case it can tell apart rather than per class pair:
//! NetworkPolicy per group of classes with the same deciding policies and remote classes
//! selected by the same rule peers (`netpol_rows`), Istio per destination class and group
//! of sources its AuthorizationPolicies treat alike (`mesh_pairs`).
//!
//! Two layers are combined ([`Layers`]): NetworkPolicy (with ANP/BANP), and Istio
//! authorization at the destination's sidecar ([`istio`]). With Istio, the class key also holds
//! the service account, sidecar presence, interception annotations and which of the
//! policies' IP blocks the pod's address falls in, so classes stay exact.

mod cells;
pub mod ipranges;
pub mod istio;
mod mesh_pairs;
mod netpol_rows;
mod pair_memo;

pub use cells::Cells;

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::cluster::Pod;
use crate::model::cluster::{
    AnpPeer, ClusterObjects, LabelSelector, PodSpec, PortRef, StringMap, Workload, WorkloadKind,
};
use crate::model::Protocol;
use crate::policy::istio::{pod_sidecar, MeshConfig, SourcePod};
use crate::policy::netpol::{ConnSet, Endpoint, Peer, PolicyContext, Selection};
use cells::CellGrid;
use ipranges::V4Range;
use istio::{Client, IstioCell, L7Narrowing};
use mesh_pairs::MeshPairs;
use netpol_rows::NetpolRows;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// Which policy layers the matrix combines (a cell is the intersection of the enabled ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    /// NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy.
    pub netpol: bool,
    /// Istio PeerAuthentication and AuthorizationPolicy at destination sidecars.
    pub istio: bool,
}

impl Layers {
    /// Every layer.
    pub fn all() -> Self {
        Layers {
            netpol: true,
            istio: true,
        }
    }
    /// The layers the snapshot has objects for (NetworkPolicy is always on: without
    /// policies it allows everything; Istio when any AuthorizationPolicy or
    /// PeerAuthentication is present).
    pub fn present(o: &ClusterObjects) -> Self {
        Layers {
            netpol: true,
            istio: !o.authorization_policies.is_empty() || !o.peer_authentications.is_empty(),
        }
    }
    /// Names of the enabled layers, comma-separated (`netpol,istio`).
    pub fn names(&self) -> String {
        let mut v = Vec::new();
        if self.netpol {
            v.push("netpol");
        }
        if self.istio {
            v.push("istio");
        }
        v.join(",")
    }
}

/// How pods are grouped into matrix rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    /// One row per pod (`NS/NAME`); workloads without pods as one abstract pod.
    #[default]
    Pod,
    /// One row per controller (`NS/NAME[Kind]`), as the peer tool netpol-analyzer does.
    Workload,
}

/// One row/column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatrixEndpoint {
    /// A pod, `NS/NAME`.
    Pod {
        /// Namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
    /// A workload (its pods, or its template's abstract pod), `NS/NAME[Kind]`.
    Workload {
        /// Namespace.
        namespace: String,
        /// Controller name.
        name: String,
        /// Controller kind as written (`Deployment`, `ReplicaSet`, `Pod`, …).
        kind: String,
    },
    /// A range of external IPv4 addresses, first and last inclusive.
    External {
        /// First address.
        lo: u32,
        /// Last address.
        hi: u32,
    },
    /// The cluster's ingress controller (source only; present when Ingress/Route objects are).
    IngressController,
}

/// One allowed pair (compact: 12 bytes, so that large matrices fit in memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatrixCell {
    /// Index into [`Matrix::endpoints`].
    pub src: u32,
    /// Index into [`Matrix::endpoints`].
    pub dst: u32,
    /// Index into [`Matrix::sets`]: what `src` may initiate to `dst` (never empty).
    pub set: u32,
}

/// The whole matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// Rows/columns, sorted.
    pub endpoints: Vec<MatrixEndpoint>,
    /// The distinct connection sets the cells refer to.
    pub sets: Vec<ConnSet>,
    /// Per entry of [`Matrix::sets`]: the TCP ports that Istio allows only for some requests
    /// (already within the set), with what they require; empty when nothing is narrowed.
    pub l7: Vec<Vec<L7Narrowing>>,
    /// How many equivalence classes of pods were evaluated.
    pub classes: usize,
    /// The layers combined.
    pub layers: Layers,
    /// The cells, per class pair.
    grid: CellGrid,
}

impl Matrix {
    /// The allowed pairs, sorted by (src, dst) index; empty pairs and self-pairs are left out.
    /// Each cell is expanded from its class pair as it is read.
    pub fn cells(&self) -> Cells<'_> {
        Cells::new(&self.grid)
    }
    /// How many cells [`Matrix::cells`] yields.
    pub fn cell_count(&self) -> usize {
        self.grid.count
    }
    /// The cell from endpoint index `src` to endpoint index `dst`, if that pair is allowed.
    pub fn cell(&self, src: usize, dst: usize) -> Option<MatrixCell> {
        if src >= self.endpoints.len() || dst >= self.endpoints.len() {
            return None;
        }
        self.grid.set(src, dst).map(|set| MatrixCell {
            src: src as u32,
            dst: dst as u32,
            set,
        })
    }
    /// The connections of a cell.
    pub fn conns(&self, c: &MatrixCell) -> &ConnSet {
        &self.sets[c.set as usize]
    }
    /// The L7 narrowings of a cell (see [`Matrix::l7`]).
    pub fn narrowings(&self, c: &MatrixCell) -> &[L7Narrowing] {
        self.l7.get(c.set as usize).map_or(&[], |v| v.as_slice())
    }
    /// The endpoints of a cell.
    pub fn ends(&self, c: &MatrixCell) -> (&MatrixEndpoint, &MatrixEndpoint) {
        (
            &self.endpoints[c.src as usize],
            &self.endpoints[c.dst as usize],
        )
    }
}

/// A pod or abstract pod with what the matrix needs.
#[derive(Debug, Clone)]
struct Unit<'o> {
    key: MatrixEndpoint,
    labels_by_pod: Vec<(&'o crate::source::Provenance, &'o StringMap)>,
    /// A representative pod (the first pod, or the template as a pod not yet running).
    pod: Cow<'o, Pod>,
    /// Indices into `ClusterObjects::pods` of the pods the unit stands for.
    members: Vec<usize>,
}

impl Unit<'_> {
    /// What the policies see of the unit (its representative pod).
    fn endpoint(&self) -> Endpoint {
        let p = &self.pod;
        Endpoint::from_spec(p.meta.namespace_or_default(), &p.meta.labels, &p.spec)
    }
}

fn kind_name(k: WorkloadKind) -> &'static str {
    match k {
        WorkloadKind::Deployment => "Deployment",
        WorkloadKind::StatefulSet => "StatefulSet",
        WorkloadKind::DaemonSet => "DaemonSet",
        WorkloadKind::ReplicaSet => "ReplicaSet",
        WorkloadKind::ReplicationController => "ReplicationController",
        WorkloadKind::Job => "Job",
        WorkloadKind::CronJob => "CronJob",
    }
}

fn ports_of(spec: &PodSpec) -> Vec<(Option<String>, Protocol, u16)> {
    spec.containers
        .iter()
        .chain(&spec.init_containers)
        .flat_map(|c| &c.ports)
        .map(|p| (p.name.clone(), p.protocol, p.container_port))
        .collect()
}

fn all_workloads(o: &ClusterObjects) -> impl Iterator<Item = &Workload> {
    o.deployments
        .iter()
        .chain(&o.stateful_sets)
        .chain(&o.daemon_sets)
        .chain(&o.replica_sets)
        .chain(&o.other_workloads)
}

/// Pods and abstract pods, grouped per `by` (sorted by key).
fn units(o: &ClusterObjects, by: Grouping) -> Vec<Unit<'_>> {
    let mut out: BTreeMap<MatrixEndpoint, Unit> = BTreeMap::new();
    let mut owned: std::collections::HashSet<(String, String, String)> = Default::default();
    let mut pods: Vec<_> = o.pods.iter().enumerate().collect();
    pods.sort_by(|(_, a), (_, b)| {
        (a.meta.namespace_or_default(), &a.meta.name)
            .cmp(&(b.meta.namespace_or_default(), &b.meta.name))
    });
    for (pi, p) in pods {
        let ns = p.meta.namespace_or_default().to_string();
        let (wname, wkind) = match p.meta.controller() {
            Some(c) if c.kind.as_deref() != Some("Node") => (
                c.name.clone(),
                c.kind.clone().unwrap_or_else(|| "Pod".into()),
            ),
            _ => (p.meta.name.clone(), "Pod".to_string()),
        };
        owned.insert((ns.clone(), wname.clone(), wkind.clone()));
        let key = match by {
            Grouping::Pod => MatrixEndpoint::Pod {
                namespace: ns.clone(),
                name: p.meta.name.clone(),
            },
            Grouping::Workload => MatrixEndpoint::Workload {
                namespace: ns.clone(),
                name: wname,
                kind: wkind,
            },
        };
        let entry = out.entry(key.clone()).or_insert_with(|| Unit {
            key,
            labels_by_pod: Vec::new(),
            pod: Cow::Borrowed(p),
            members: Vec::new(),
        });
        entry.labels_by_pod.push((&p.meta.at, &p.meta.labels));
        entry.members.push(pi);
    }
    // A controller whose pods (or whose ReplicaSet's/Job's pods) are present is represented by
    // them; a controller owned by another controller in the snapshot is represented by its owner.
    let key_of = |w: &Workload| {
        (
            w.meta.namespace_or_default().to_string(),
            w.meta.name.clone(),
            kind_name(w.kind).to_string(),
        )
    };
    let present: std::collections::HashSet<_> = all_workloads(o).map(key_of).collect();
    let owner_of = |w: &Workload| {
        w.meta.controller().and_then(|c| {
            c.kind.as_ref().map(|k| {
                (
                    w.meta.namespace_or_default().to_string(),
                    c.name.clone(),
                    k.clone(),
                )
            })
        })
    };
    for _ in 0..2 {
        for w in all_workloads(o) {
            if owned.contains(&key_of(w)) {
                if let Some(up) = owner_of(w) {
                    owned.insert(up);
                }
            }
        }
    }
    for w in all_workloads(o) {
        let ns = w.meta.namespace_or_default().to_string();
        let kind = kind_name(w.kind).to_string();
        if owned.contains(&key_of(w)) || owner_of(w).is_some_and(|up| present.contains(&up)) {
            continue;
        }
        let key = MatrixEndpoint::Workload {
            namespace: ns.clone(),
            name: w.meta.name.clone(),
            kind,
        };
        out.entry(key.clone()).or_insert_with(|| {
            let mut meta = w.meta.clone();
            meta.labels = w.template_labels.clone();
            meta.annotations = w.template_annotations.clone();
            meta.owner_references.clear();
            let pod = Pod {
                meta,
                spec: w.template.clone(),
                pod_ips: Vec::new(),
                host_ip: None,
                phase: None,
                has_istio_proxy: false,
            };
            Unit {
                key,
                labels_by_pod: vec![(&w.meta.at, &w.template_labels)],
                pod: Cow::Owned(pod),
                members: Vec::new(),
            }
        });
    }
    out.into_values().collect()
}

/// Every pod selector a policy uses, with the policy's location.
fn pod_selectors(o: &ClusterObjects) -> Vec<(&LabelSelector, &crate::source::Provenance)> {
    let mut out = Vec::new();
    for np in &o.network_policies {
        out.push((&np.pod_selector, &np.meta.at));
        for r in np.ingress.iter().chain(&np.egress) {
            for p in &r.peers {
                if let Some(s) = &p.pod_selector {
                    out.push((s, &p.at));
                }
            }
        }
    }
    let anp_rules = o
        .admin_network_policies
        .iter()
        .flat_map(|a| {
            a.ingress
                .iter()
                .chain(&a.egress)
                .map(move |r| (r, &a.meta.at))
        })
        .chain(o.baseline_admin_network_policies.iter().flat_map(|a| {
            a.ingress
                .iter()
                .chain(&a.egress)
                .map(move |r| (r, &a.meta.at))
        }));
    for (r, _) in anp_rules {
        for p in &r.peers {
            if let AnpPeer::Pods { pod_selector, .. } = p {
                out.push((pod_selector, &r.at));
            }
        }
    }
    for a in &o.admin_network_policies {
        if let crate::model::cluster::AnpSubject::Pods { pod_selector, .. } = &a.subject {
            out.push((pod_selector, &a.meta.at));
        }
    }
    for a in &o.baseline_admin_network_policies {
        if let crate::model::cluster::AnpSubject::Pods { pod_selector, .. } = &a.subject {
            out.push((pod_selector, &a.meta.at));
        }
    }
    out
}

/// Checks the matrix's own preconditions: unique ANP priorities, and (per workload) pods of one
/// owner that a policy selector tells apart. Named ports towards ipBlocks are warnings.
pub fn validate(o: &ClusterObjects, by: Grouping) -> Diagnostics {
    let mut d = Diagnostics::default();
    let mut prio: HashMap<u32, &str> = HashMap::new();
    for a in &o.admin_network_policies {
        if let Some(first) = prio.insert(a.priority, &a.meta.name) {
            d.push(
                Diagnostic::error(
                    "anp-priority",
                    a.meta.at.clone(),
                    format!(
                        "AdminNetworkPolicies {first:?} and {:?} both have priority {}: their order is undefined",
                        a.meta.name, a.priority
                    ),
                )
                .expected("a distinct spec.priority per AdminNetworkPolicy"),
            );
        }
    }
    for np in &o.network_policies {
        for r in &np.egress {
            let to_ip = r.peers.iter().any(|p| p.ip_block.is_some());
            for p in &r.ports {
                if let (true, Some(PortRef::Name(n))) = (to_ip, &p.port) {
                    d.push(
                        Diagnostic::warning(
                            "named-port-ip",
                            r.at.clone(),
                            format!(
                                "egress rule names port {n:?} towards an ipBlock: a named port resolves only on a destination pod, so it opens nothing towards external addresses"
                            ),
                        )
                        .expected("a port number for ipBlock destinations"),
                    );
                }
            }
        }
    }
    let anp_egress = o
        .admin_network_policies
        .iter()
        .flat_map(|a| &a.egress)
        .chain(
            o.baseline_admin_network_policies
                .iter()
                .flat_map(|b| &b.egress),
        );
    for r in anp_egress {
        for p in &r.peers {
            match p {
                AnpPeer::Nodes(_) => d.push(Diagnostic::warning(
                    "anp-nodes",
                    r.at.clone(),
                    "a `nodes` peer is not part of the matrix (it has no node endpoints); the rule is evaluated for its other peers only",
                )),
                AnpPeer::Networks(nets) if nets.iter().any(|n| matches!(n, ipnet::IpNet::V6(_))) => {
                    d.push(Diagnostic::warning(
                        "anp-ipv6",
                        r.at.clone(),
                        "IPv6 `networks` are not in the matrix (its external ranges are IPv4)",
                    ))
                }
                _ => {}
            }
        }
    }
    if by == Grouping::Workload && Layers::present(o).istio {
        let nets = istio_nets(o);
        for u in units(o, by) {
            let mut keys = u
                .members
                .iter()
                .filter_map(|i| o.pods.get(*i))
                .map(|p| (istio_key(o, p, &nets), p));
            let Some((first, _)) = keys.next() else {
                continue;
            };
            if let Some((_, p)) = keys.find(|(k, _)| *k != first) {
                d.push(
                    Diagnostic::warning(
                        "owner-mesh-gap",
                        p.meta.at.clone(),
                        format!(
                            "pod {} differs from the other pods of its workload in what Istio tells apart (sidecar, service account, interception annotations or policy IP blocks): the workload row shows its first pod",
                            p.meta.key()
                        ),
                    )
                    .expected("pods of one owner alike for Istio, or `--by pod`"),
                );
            }
        }
    }
    if by == Grouping::Workload {
        let sels = pod_selectors(o);
        for u in units(o, by) {
            if u.labels_by_pod.len() < 2 {
                continue;
            }
            for (sel, at) in &sels {
                let first = sel.matches(u.labels_by_pod[0].1);
                if u.labels_by_pod.iter().any(|(_, l)| sel.matches(l) != first) {
                    let name = match &u.key {
                        MatrixEndpoint::Workload {
                            namespace, name, ..
                        } => format!("{namespace}/{name}"),
                        _ => String::new(),
                    };
                    d.push(
                        Diagnostic::error(
                            "owner-label-gap",
                            (*at).clone(),
                            format!(
                                "pods of the same owner workload `{name}` have different labels, and this selector matches some of them but not others: the workload cannot be one matrix row"
                            ),
                        )
                        .expected("pods of one owner with the labels policies select on in common, or `--by pod`"),
                    );
                    break;
                }
            }
        }
    }
    d
}

/// The IPv4 intervals that policies name: (ingress-side sources, egress-side destinations).
fn named_ranges(o: &ClusterObjects) -> (Vec<V4Range>, Vec<V4Range>) {
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for np in &o.network_policies {
        for (rules, side) in [(&np.ingress, &mut src), (&np.egress, &mut dst)] {
            for r in rules {
                for p in &r.peers {
                    if let Some(b) = &p.ip_block {
                        side.extend(ipranges::block_intervals(b));
                    }
                }
            }
        }
    }
    let anp_egress = o
        .admin_network_policies
        .iter()
        .flat_map(|a| &a.egress)
        .chain(
            o.baseline_admin_network_policies
                .iter()
                .flat_map(|b| &b.egress),
        );
    for r in anp_egress {
        for p in &r.peers {
            if let AnpPeer::Networks(nets) = p {
                dst.extend(nets.iter().filter_map(ipranges::v4_range));
            }
        }
    }
    (src, dst)
}

/// Distinct cell values (connection set and L7 narrowings), each stored once.
#[derive(Default)]
struct SetTable {
    sets: Vec<ConnSet>,
    l7: Vec<Vec<L7Narrowing>>,
    ids: HashMap<(ConnSet, Vec<L7Narrowing>), u32>,
}

impl SetTable {
    /// The id of `c` with `l7`, `None` for the empty set.
    fn intern_l7(&mut self, c: ConnSet, l7: Vec<L7Narrowing>) -> Option<u32> {
        if c.is_empty() {
            return None;
        }
        let key = (c, l7);
        if let Some(id) = self.ids.get(&key) {
            return Some(*id);
        }
        let id = self.sets.len() as u32;
        self.sets.push(key.0.clone());
        self.l7.push(key.1.clone());
        self.ids.insert(key, id);
        Some(id)
    }
    /// The id of `c` (no L7 narrowing), `None` for the empty set.
    fn intern(&mut self, c: ConnSet) -> Option<u32> {
        self.intern_l7(c, Vec::new())
    }
}

/// The IP networks AuthorizationPolicies test (`ipBlocks`, `remoteIpBlocks` and their
/// negations, `source.ip`/`remote.ip`/`destination.ip` conditions), sorted.
fn istio_nets(o: &ClusterObjects) -> Vec<ipnet::IpNet> {
    let mut out = Vec::new();
    for p in &o.authorization_policies {
        for r in p.rules.iter().flatten() {
            for f in r.from.iter().flatten() {
                out.extend(
                    f.ip_blocks
                        .iter()
                        .chain(&f.not_ip_blocks)
                        .chain(&f.remote_ip_blocks)
                        .chain(&f.not_remote_ip_blocks)
                        .copied(),
                );
            }
            for c in r.when.iter().flatten() {
                if matches!(c.key.as_str(), "source.ip" | "remote.ip" | "destination.ip") {
                    for v in c.values.iter().chain(&c.not_values) {
                        if let Ok(n) = v.parse::<ipnet::IpNet>() {
                            out.push(n);
                        } else if let Ok(a) = v.parse::<std::net::IpAddr>() {
                            out.push(a.into());
                        }
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// What Istio can tell apart between two pods beyond namespace, labels and service account.
fn istio_key(o: &ClusterObjects, pod: &Pod, nets: &[ipnet::IpNet]) -> String {
    let ann = |k: &str| pod.meta.annotations.get(k).cloned();
    let inside = inside_nets(pod.pod_ips.first(), nets);
    format!(
        "{:?}",
        (
            pod_sidecar(o, pod).in_mesh,
            pod.has_istio_proxy,
            SourcePod::of(o, pod).service_account,
            ann("traffic.sidecar.istio.io/excludeInboundPorts"),
            ann("traffic.sidecar.istio.io/includeInboundPorts"),
            inside,
        )
    )
}

/// A NetworkPolicy connection set narrowed by an Istio cell: TCP ports to those Istio lets
/// through (non-TCP protocols are not intercepted), with the L7 narrowings within them.
fn combine(np: ConnSet, ic: Option<&IstioCell>) -> (ConnSet, Vec<L7Narrowing>) {
    let Some(c) = ic.filter(|c| !c.unconstrained) else {
        return (np, Vec::new());
    };
    let non_tcp = ConnSet::all().minus(&ConnSet::protocol(Protocol::Tcp));
    let istio = ConnSet::ports_of(Protocol::Tcp, c.reachable()).union(&non_tcp);
    let conns = np.intersect(&istio);
    let tcp = conns.ports(Protocol::Tcp);
    let l7 = c
        .narrowed
        .iter()
        .filter_map(|n| {
            let ports = n.ports.intersect(&tcp);
            (!ports.is_empty()).then(|| L7Narrowing { ports, ..n.clone() })
        })
        .collect();
    (conns, l7)
}

/// Builds the matrix over the layers present in the snapshot ([`Layers::present`]; call
/// [`validate`] first and stop on its errors).
pub fn build(o: &ClusterObjects, by: Grouping) -> Matrix {
    build_layers(o, by, Layers::present(o))
}

/// Pods grouped into equivalence classes: the policies of the layers cannot tell the
/// members of one class apart.
struct Classes<'u> {
    /// What the policies see of each class (its first unit's endpoint).
    endpoints: Vec<Endpoint>,
    /// The pod standing for each class (its first unit's).
    pods: Vec<&'u Pod>,
    /// The class of each unit.
    of_unit: Vec<usize>,
}

/// Namespace, sorted labels, named ports, service account and what Istio tells apart.
type ClassKey<'k> = (
    &'k str,
    Vec<(&'k String, &'k String)>,
    Vec<(&'k String, Protocol, u16)>,
    &'k Option<String>,
    String,
);

/// Groups `units` into classes, numbered in order of first appearance.
fn classes<'u>(
    o: &ClusterObjects,
    units: &'u [Unit<'_>],
    layers: Layers,
    nets: &[ipnet::IpNet],
) -> Classes<'u> {
    let mut class_of_key: HashMap<ClassKey<'_>, usize> = HashMap::new();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut pods: Vec<&Pod> = Vec::new();
    let of_unit: Vec<usize> = units
        .iter()
        .map(|u| {
            let p: &Pod = &u.pod;
            let mut labels: Vec<_> = p.meta.labels.iter().collect();
            labels.sort();
            // The named ports as `Endpoint::from_spec` keeps them: sorted, without repeats.
            let mut named: Vec<(&String, Protocol, u16)> = p
                .spec
                .containers
                .iter()
                .chain(&p.spec.init_containers)
                .flat_map(|c| &c.ports)
                .filter_map(|cp| {
                    cp.name
                        .as_ref()
                        .map(|n| (n, cp.protocol, cp.container_port))
                })
                .collect();
            named.sort();
            named.dedup();
            let mesh_key = if layers.istio {
                istio_key(o, &u.pod, nets)
            } else {
                String::new()
            };
            let key = (
                p.meta.namespace_or_default(),
                labels,
                named,
                &p.spec.service_account_name,
                mesh_key,
            );
            *class_of_key.entry(key).or_insert_with(|| {
                endpoints.push(u.endpoint());
                pods.push(p);
                endpoints.len() - 1
            })
        })
        .collect();
    Classes {
        endpoints,
        pods,
        of_unit,
    }
}

/// Builds the matrix over `layers` (call [`validate`] first and stop on its errors).
pub fn build_layers(o: &ClusterObjects, by: Grouping, layers: Layers) -> Matrix {
    let ctx = PolicyContext::new(o);
    let units = units(o, by);
    let nets = if layers.istio {
        istio_nets(o)
    } else {
        Vec::new()
    };
    let Classes {
        endpoints: class_endpoints,
        pods: class_pods,
        of_unit: unit_class,
    } = classes(o, &units, layers, &nets);
    let classes: Vec<&Endpoint> = class_endpoints.iter().collect();
    let (mut src_iv, dst_iv) = named_ranges(o);
    src_iv.extend(nets.iter().filter_map(ipranges::v4_range));
    let src_ranges = ipranges::partition(&src_iv);
    let dst_ranges = ipranges::partition(&dst_iv);

    let mut endpoints: Vec<MatrixEndpoint> = units.iter().map(|u| u.key.clone()).collect();
    for (lo, hi) in src_ranges.iter().chain(&dst_ranges) {
        endpoints.push(MatrixEndpoint::External { lo: *lo, hi: *hi });
    }
    let has_ingress = !o.ingresses.is_empty() || !o.routes.is_empty();
    if has_ingress {
        endpoints.push(MatrixEndpoint::IngressController);
    }
    endpoints.sort();
    endpoints.dedup();
    let index: HashMap<&MatrixEndpoint, usize> =
        endpoints.iter().enumerate().map(|(i, e)| (e, i)).collect();

    let n_classes = classes.len();
    let selections: Vec<Selection<'_>> = classes.iter().map(|e| ctx.select(e)).collect();
    let mesh = layers
        .istio
        .then(|| istio::MeshLayer::new(o, MeshConfig::default()));
    let ext_ip = |lo: u32| -> std::net::IpAddr { std::net::Ipv4Addr::from(lo).into() };
    // External sources: Istio tells their addresses apart only by the policies' IP blocks.
    let mut external_clients: Vec<std::net::IpAddr> = Vec::new();
    let mut external_of_range: Vec<usize> = Vec::new();
    let mut external_ids: HashMap<Vec<Option<bool>>, usize> = HashMap::new();
    for (lo, _) in &src_ranges {
        let ip = ext_ip(*lo);
        let next = external_clients.len();
        let k = *external_ids
            .entry(inside_nets(Some(&ip), &nets))
            .or_insert_with(|| {
                external_clients.push(ip);
                next
            });
        external_of_range.push(k);
    }
    let mesh_pairs = mesh.as_ref().map(|l| {
        let inside: Vec<Vec<Option<bool>>> = class_pods
            .iter()
            .map(|p| inside_nets(p.pod_ips.first(), &nets))
            .collect();
        MeshPairs::new(l, &class_pods, &inside, &external_clients)
    });
    let mut rows = layers
        .netpol
        .then(|| NetpolRows::new(&ctx, &classes, &selections));
    let all = ConnSet::all();
    let mut sets = SetTable::default();

    // Class pairs, row by row, interned in (source, destination) order.
    let mut pairs = vec![cells::NONE; n_classes * n_classes];
    let mut to_ranges = vec![cells::NONE; n_classes * dst_ranges.len()];
    let mut combined: foldhash::HashMap<(u32, u32), u32> = Default::default();
    let to_external: Vec<Option<Vec<u32>>> = dst_ranges
        .iter()
        .map(|(lo, _)| rows.as_mut().map(|r| r.egress_to_address(ext_ip(*lo))))
        .collect();
    let mut interned_to: foldhash::HashMap<u32, u32> = Default::default();
    for s in 0..n_classes {
        let row = &mut pairs[s * n_classes..(s + 1) * n_classes];
        for (d, slot) in row.iter_mut().enumerate() {
            let np = match rows.as_mut() {
                Some(r) => r.pair(s, d),
                None => 0,
            };
            if np == netpol_rows::EMPTY {
                continue;
            }
            let ist = mesh_pairs.as_ref().map_or(0, |m| m.cell(s, d));
            *slot = *combined.entry((np, ist)).or_insert_with(|| {
                let conns = rows.as_ref().map_or(&all, |r| &r.sets.sets[np as usize]);
                let cell = mesh_pairs.as_ref().map(|m| &m.cells[ist as usize]);
                let (c, l7) = combine(conns.clone(), cell);
                sets.intern_l7(c, l7).unwrap_or(cells::NONE)
            });
        }
        for (k, ids) in to_external.iter().enumerate() {
            let np = match (rows.as_ref(), ids) {
                (Some(r), Some(ids)) => ids[r.egress_group(s) as usize],
                _ => 0,
            };
            to_ranges[s * dst_ranges.len() + k] = *interned_to.entry(np).or_insert_with(|| {
                let conns = match rows.as_ref() {
                    Some(r) => r.external_sets.sets.get(np as usize).cloned(),
                    None => Some(ConnSet::all()),
                };
                conns.and_then(|c| sets.intern(c)).unwrap_or(cells::NONE)
            });
        }
    }
    let mut from_ranges = vec![cells::NONE; src_ranges.len() * n_classes];
    let mut combined_from: foldhash::HashMap<(u32, u32), u32> = Default::default();
    for (k, (lo, _)) in src_ranges.iter().enumerate() {
        let ids = rows.as_mut().map(|r| r.ingress_from_address(ext_ip(*lo)));
        for d in 0..n_classes {
            let np = match (rows.as_ref(), &ids) {
                (Some(r), Some(ids)) => ids[r.ingress_group(d) as usize],
                _ => 0,
            };
            if np == netpol_rows::EMPTY {
                continue;
            }
            let ist = mesh_pairs
                .as_ref()
                .map_or(0, |m| m.external(external_of_range[k], d));
            from_ranges[k * n_classes + d] = *combined_from.entry((np, ist)).or_insert_with(|| {
                let conns = rows
                    .as_ref()
                    .map_or(&all, |r| &r.external_sets.sets[np as usize]);
                let cell = mesh_pairs.as_ref().map(|m| &m.cells[ist as usize]);
                let (c, l7) = combine(conns.clone(), cell);
                sets.intern_l7(c, l7).unwrap_or(cells::NONE)
            });
        }
    }
    let mut from_ingress = Vec::new();
    if has_ingress {
        from_ingress = vec![cells::NONE; endpoints.len()];
        let fake = Endpoint {
            namespace: "ingress-controller-ns".into(),
            labels: StringMap::default(),
            named_ports: Vec::new(),
            service_account: None,
        };
        let mut unknown_cells: HashMap<usize, IstioCell> = HashMap::new();
        for (ui, u) in units.iter().enumerate() {
            let endpoint = u.endpoint();
            let ports = ingress_ports(o, u, &endpoint);
            if ports.is_empty() {
                continue;
            }
            let allowed = if layers.netpol {
                ctx.allowed(Peer::Pod(&fake), Peer::Pod(&endpoint), false)
                    .ingress
                    .conns
            } else {
                ConnSet::all()
            };
            let d = unit_class[ui];
            let cell = match (&mesh, &mesh_pairs) {
                (Some(l), Some(m)) => Some(
                    unknown_cells
                        .entry(d)
                        .or_insert_with(|| l.cell(&Client::Unknown, class_pods[d], m.candidates(d)))
                        .clone(),
                ),
                _ => None,
            };
            let (c, l7) = combine(ports.intersect(&allowed), cell.as_ref());
            if let (Some(set), Some(&dst)) = (sets.intern_l7(c, l7), index.get(&u.key)) {
                from_ingress[dst] = set;
            }
        }
    }
    let mut src_role = vec![cells::Role::None; endpoints.len()];
    let mut dst_role = vec![cells::Role::None; endpoints.len()];
    let mut members = vec![0usize; n_classes];
    for (u, c) in units.iter().zip(&unit_class) {
        members[*c] += 1;
        if let Some(&i) = index.get(&u.key) {
            src_role[i] = cells::Role::Class(*c as u32);
            dst_role[i] = cells::Role::Class(*c as u32);
        }
    }
    for (roles, ranges) in [(&mut src_role, &src_ranges), (&mut dst_role, &dst_ranges)] {
        for (k, (lo, hi)) in ranges.iter().enumerate() {
            if let Some(&i) = index.get(&MatrixEndpoint::External { lo: *lo, hi: *hi }) {
                roles[i] = cells::Role::Range(k as u32);
            }
        }
    }
    if let Some(&i) = index.get(&MatrixEndpoint::IngressController) {
        src_role[i] = cells::Role::Ingress;
    }
    let mut grid = CellGrid {
        classes: n_classes,
        pairs,
        dst_ranges: dst_ranges.len(),
        to_ranges,
        from_ranges,
        from_ingress,
        src_role,
        dst_role,
        count: 0,
    };
    grid.count = grid.count_cells(&members);
    Matrix {
        endpoints,
        sets: sets.sets,
        l7: sets.l7,
        classes: n_classes,
        layers,
        grid,
    }
}

/// Which of `nets` hold `ip` (`None` each when the address is unknown).
fn inside_nets(ip: Option<&std::net::IpAddr>, nets: &[ipnet::IpNet]) -> Vec<Option<bool>> {
    nets.iter().map(|n| ip.map(|a| n.contains(a))).collect()
}

/// TCP ports of `u` that an Ingress or Route reaches through a Service selecting it.
fn ingress_ports(o: &ClusterObjects, u: &Unit, endpoint: &Endpoint) -> ConnSet {
    let mut out = ConnSet::empty();
    let container_ports = ports_of(&u.pod.spec);
    let mut reach =
        |ns: &str, svc_name: &str, want: &dyn Fn(&crate::model::cluster::ServicePort) -> bool| {
            for svc in &o.services {
                if svc.meta.namespace_or_default() != ns || svc.meta.name != svc_name {
                    continue;
                }
                let Some(sel) = &svc.selector else { continue };
                if sel.is_empty()
                    || endpoint.namespace != ns
                    || !sel.iter().all(|(k, v)| endpoint.labels.get(k) == Some(v))
                {
                    continue;
                }
                for sp in svc.ports.iter().filter(|sp| want(sp)) {
                    let target = sp.target_port.clone().unwrap_or(PortRef::Number(sp.port));
                    let port = match target {
                        PortRef::Number(0) => Some(sp.port),
                        PortRef::Number(n) => Some(n),
                        PortRef::Name(name) => container_ports
                            .iter()
                            .find(|(pn, _, _)| pn.as_deref() == Some(name.as_str()))
                            .map(|(_, _, n)| *n),
                    };
                    if let Some(p) = port {
                        if container_ports.iter().any(|(_, _, n)| *n == p) {
                            out.add(&ConnSet::range(Protocol::Tcp, p, p));
                        }
                    }
                }
            }
        };
    for ing in &o.ingresses {
        let ns = ing.meta.namespace_or_default();
        let backends = ing.default_backend.iter().chain(
            ing.rules
                .iter()
                .flat_map(|r| r.paths.iter().map(|p| &p.backend)),
        );
        for b in backends {
            let Some(name) = &b.service_name else {
                continue;
            };
            let sp_ref = b.service_port.clone();
            reach(ns, name, &|sp| match &sp_ref {
                None => true,
                Some(PortRef::Number(n)) => sp.port == *n,
                Some(PortRef::Name(n)) => sp.name.as_deref() == Some(n.as_str()),
            });
        }
    }
    for r in &o.routes {
        let ns = r.meta.namespace_or_default();
        for b in &r.backends {
            if b.kind.as_deref().is_some_and(|k| k != "Service") {
                continue;
            }
            let tp = r.target_port.clone();
            reach(ns, &b.name, &|sp| match &tp {
                None => true,
                Some(PortRef::Number(n)) => {
                    sp.port == *n || sp.target_port == Some(PortRef::Number(*n))
                }
                Some(PortRef::Name(n)) => {
                    sp.name.as_deref() == Some(n.as_str())
                        || sp.target_port == Some(PortRef::Name(n.clone()))
                }
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::load_texts;
    use std::path::PathBuf;

    const SNAP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d9
  namespace: prod
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d9-a
  namespace: prod
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9, controller: true}]
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d9-b
  namespace: prod
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9, controller: true}]
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: prod}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]
"#;

    /// Pods in three namespaces with sidecars, service accounts and addresses; a
    /// NetworkPolicy with named ports and an ipBlock with an `except`; an ANP and the BANP;
    /// AuthorizationPolicies naming sources by principal, wildcard, namespace pattern,
    /// service account and `source.namespace`.
    const MESHED: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: ns1, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns2, labels: {team: b}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns3, labels: {team: c}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: ns1, labels: {app: web}}
spec: {serviceAccountName: web, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}, {name: istio-proxy}]}
status: {phase: Running, podIP: 10.1.0.1, podIPs: [{ip: 10.1.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: ns1, labels: {app: web}}
spec: {serviceAccountName: web, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}, {name: istio-proxy}]}
status: {phase: Running, podIP: 10.2.0.2, podIPs: [{ip: 10.2.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: ns3, labels: {app: db}}
spec: {serviceAccountName: db, containers: [{name: c, ports: [{name: pg, containerPort: 5432}]}, {name: istio-proxy}]}
status: {phase: Running, podIP: 10.1.0.3, podIPs: [{ip: 10.1.0.3}]}
---
apiVersion: v1
kind: Pod
metadata: {name: cache-1, namespace: ns1, labels: {app: cache}}
spec: {serviceAccountName: cache, containers: [{name: c}, {name: istio-proxy}]}
status: {phase: Running, podIP: 10.2.0.7, podIPs: [{ip: 10.2.0.7}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client-1, namespace: ns2, labels: {app: client}}
spec: {serviceAccountName: client, containers: [{name: c}, {name: istio-proxy}]}
status: {phase: Running, podIP: 10.2.0.4, podIPs: [{ip: 10.2.0.4}]}
---
apiVersion: v1
kind: Pod
metadata: {name: batch-1, namespace: ns2, labels: {app: batch}}
spec: {serviceAccountName: batch, containers: [{name: c}, {name: istio-proxy}]}
status: {phase: Running, podIP: 10.2.0.5, podIPs: [{ip: 10.2.0.5}]}
---
apiVersion: v1
kind: Pod
metadata: {name: plain-1, namespace: other, labels: {app: plain}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 9090}]}]}
status: {phase: Running, podIP: 10.3.0.6, podIPs: [{ip: 10.3.0.6}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: ns1}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: b}}, podSelector: {matchLabels: {app: client}}}], ports: [{port: http}]}]
  egress:
  - to: [{namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}]
    ports: [{port: pg}]
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.3.0.0/16]}}]
    ports: [{port: http}, {port: 443}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: guard-db}
spec:
  priority: 10
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}}
  ingress:
  - {name: web, action: Allow, from: [{pods: {namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {app: web}}}}], ports: [{namedPort: pg}]}
  - {name: rest, action: Deny, from: [{namespaces: {matchLabels: {team: a}}}]}
  - {name: others, action: Pass, from: [{namespaces: {}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {team: b}}}
  egress:
  - {name: no-db, action: Deny, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}}]}
  - {name: nets, action: Allow, to: [{networks: [10.1.0.0/16]}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web, namespace: ns1}
spec:
  selector: {matchLabels: {app: web}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/ns2/sa/client]}}]
    to: [{operation: {ports: ["8080"], methods: [GET]}}]
  - from: [{source: {namespaces: ["ns*"], notPrincipals: ["*/sa/batch"]}}]
    to: [{operation: {ports: ["9000"]}}]
  - from: [{source: {ipBlocks: [10.2.0.0/16]}}]
    to: [{operation: {ports: ["7000"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: db, namespace: ns3}
spec:
  selector: {matchLabels: {app: db}}
  action: ALLOW
  rules:
  - from: [{source: {serviceAccounts: [ns1/web]}}]
  - when: [{key: source.namespace, values: [ns2]}]
    to: [{operation: {ports: ["5432"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-batch, namespace: istio-system}
spec:
  action: DENY
  rules:
  - from: [{source: {principals: ["*/ns/ns2/sa/batch"]}}]
    to: [{operation: {ports: ["8080"]}}]
"#;

    fn meshed() -> ClusterObjects {
        let (snap, d) = load_texts(vec![(PathBuf::from("m.yaml"), MESHED.to_string())]);
        assert!(!d.has_errors(), "{d:?}");
        snap.cluster
    }

    fn reference() -> ClusterObjects {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/eks-reference");
        let (snap, d) = crate::ingest::load_snapshot(&root);
        assert!(!d.has_errors(), "{d:?}");
        snap.cluster
    }

    /// Addresses inside and outside every block of the fixtures.
    fn probe_ips() -> Vec<std::net::IpAddr> {
        ["10.1.0.9", "10.3.0.9", "10.0.1.5", "8.8.8.8", "192.168.1.1"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    #[test]
    fn netpol_rows_agree_with_pairwise_evaluation() {
        for o in [meshed(), reference()] {
            let units = units(&o, Grouping::Pod);
            let nets = istio_nets(&o);
            let cl = classes(&o, &units, Layers::all(), &nets);
            let ctx = PolicyContext::new(&o);
            let endpoints: Vec<&Endpoint> = cl.endpoints.iter().collect();
            let sels: Vec<Selection<'_>> = endpoints.iter().map(|e| ctx.select(e)).collect();
            let mut rows = NetpolRows::new(&ctx, &endpoints, &sels);
            let n = cl.endpoints.len();
            assert!(n > 3);
            let mut allowed = 0;
            for s in 0..n {
                for d in 0..n {
                    let want = ctx.allowed_selected(
                        Peer::Pod(endpoints[s]),
                        Some(&sels[s]),
                        Peer::Pod(endpoints[d]),
                        Some(&sels[d]),
                    );
                    let id = rows.pair(s, d);
                    let got = rows.sets.sets.get(id as usize).cloned();
                    assert_eq!(got.unwrap_or_else(ConnSet::empty), want, "{s} -> {d}");
                    allowed += usize::from(!want.is_empty());
                }
            }
            assert!(allowed > 0 && allowed < n * n, "{allowed} of {}", n * n);
            for ip in probe_ips() {
                let to = rows.egress_to_address(ip);
                let from = rows.ingress_from_address(ip);
                for c in 0..n {
                    let (me, sel) = (Peer::Pod(endpoints[c]), Some(&sels[c]));
                    let ext = Peer::External(ip);
                    let set = |id: u32| rows.external_sets.sets.get(id as usize).cloned();
                    let want_to = ctx.allowed_selected(me, sel, ext, None);
                    let want_from = ctx.allowed_selected(ext, None, me, sel);
                    let got_to = set(to[rows.egress_group(c) as usize]);
                    let got_from = set(from[rows.ingress_group(c) as usize]);
                    assert_eq!(
                        got_to.unwrap_or_else(ConnSet::empty),
                        want_to,
                        "{c} -> {ip}"
                    );
                    assert_eq!(
                        got_from.unwrap_or_else(ConnSet::empty),
                        want_from,
                        "{ip} -> {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn mesh_pairs_agree_with_pairwise_evaluation() {
        for o in [meshed(), reference()] {
            let units = units(&o, Grouping::Pod);
            let nets = istio_nets(&o);
            assert!(!nets.is_empty());
            let cl = classes(&o, &units, Layers::all(), &nets);
            let layer = istio::MeshLayer::new(&o, MeshConfig::default());
            let inside: Vec<_> = cl
                .pods
                .iter()
                .map(|p| inside_nets(p.pod_ips.first(), &nets))
                .collect();
            let ips = probe_ips();
            let pairs = MeshPairs::new(&layer, &cl.pods, &inside, &ips);
            let mesh = MeshConfig::default();
            let mut kinds = std::collections::HashSet::new();
            for (s, src) in cl.pods.iter().enumerate() {
                let client = Client::Pod(SourcePod::of(&o, src), src.pod_ips.first().copied());
                for (d, dst) in cl.pods.iter().enumerate() {
                    let want = istio::cell(&o, &mesh, &client, dst);
                    assert_eq!(pairs.cells[pairs.cell(s, d) as usize], want, "{s} -> {d}");
                    kinds.insert(format!("{want:?}"));
                }
            }
            assert!(kinds.len() > 2, "{kinds:?}");
            for (k, ip) in ips.iter().enumerate() {
                for (d, dst) in cl.pods.iter().enumerate() {
                    let want = istio::cell(&o, &mesh, &Client::External(*ip), dst);
                    assert_eq!(
                        pairs.cells[pairs.external(k, d) as usize],
                        want,
                        "{ip} -> {d}"
                    );
                }
            }
        }
    }

    #[test]
    fn cells_expand_classes_to_every_pair() {
        for o in [meshed(), reference()] {
            let m = build(&o, Grouping::Pod);
            let cells: Vec<MatrixCell> = m.cells().collect();
            assert_eq!(cells.len(), m.cell_count());
            assert!(cells
                .windows(2)
                .all(|w| (w[0].src, w[0].dst) < (w[1].src, w[1].dst)));
            assert!(cells.iter().all(|c| c.src != c.dst));
            let n = m.endpoints.len();
            let mut looked_up = 0;
            for s in 0..n {
                for d in 0..n {
                    if let Some(c) = m.cell(s, d) {
                        assert_eq!(
                            cells
                                .binary_search_by_key(&(c.src, c.dst), |x| (x.src, x.dst))
                                .map(|i| cells[i]),
                            Ok(c)
                        );
                        looked_up += 1;
                    }
                }
            }
            assert_eq!(looked_up, cells.len());
            assert!(m.cell(n, 0).is_none());
        }
    }

    #[test]
    fn workloads_classes_and_ranges() {
        let (snap, d) = load_texts(vec![(PathBuf::from("s.yaml"), SNAP.to_string())]);
        assert!(!d.has_errors(), "{d:?}");
        let m = build(&snap.cluster, Grouping::Workload);
        let names: Vec<String> = m
            .endpoints
            .iter()
            .map(crate::report::matrix::connlist_name)
            .collect();
        // pods represent the ReplicaSet, which represents the Deployment: no duplicate row.
        assert!(
            names.contains(&"prod/web-5d9[ReplicaSet]".to_string()),
            "{names:?}"
        );
        assert!(
            !names.contains(&"prod/web[Deployment]".to_string()),
            "{names:?}"
        );
        assert!(names.contains(&"prod/db[Deployment]".to_string()));
        assert_eq!(m.classes, 2);
        let text = crate::report::matrix::render_connlist(&m);
        assert!(text.contains("prod/web-5d9[ReplicaSet] => prod/db[Deployment] : TCP 5432\n"));
        assert!(text.contains(
            "prod/db[Deployment] => 10.0.0.0-10.255.255.255[External] : All Connections\n"
        ));
        assert!(!text.contains("prod/db[Deployment] => 11.0.0.0"), "{text}");
        // per pod: the two replicas are one class, two rows, and never paired with themselves.
        let p = build(&snap.cluster, Grouping::Pod);
        assert_eq!(p.classes, 2);
        let pt = crate::report::matrix::render_connlist(&p);
        assert!(pt.contains("prod/web-5d9-a[Pod] => prod/web-5d9-b[Pod] : All Connections"));
        assert!(!pt.contains("prod/web-5d9-a[Pod] => prod/web-5d9-a[Pod]"));
        assert_eq!(
            pt,
            crate::report::matrix::render_connlist(&build(&snap.cluster, Grouping::Pod))
        );
    }
}
