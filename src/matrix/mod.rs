//! The connectivity matrix: every pod (or workload) to every pod (or workload) and to and from
//! the external address ranges the policies name, each cell the exact allowed [`ConnSet`].
//!
//! Pods are grouped into equivalence classes (namespace, labels, named ports, service
//! account): policies cannot tell two pods of one class apart, so each class pair is evaluated
//! once. Workloads without live pods get one abstract pod from their template.
//!
//! Two layers are combined ([`Layers`]): NetworkPolicy (with ANP/BANP), and Istio
//! authorization at the destination's sidecar ([`istio`]). With Istio, the class key also holds
//! the service account, sidecar presence, interception annotations and which of the
//! policies' IP blocks the pod's address falls in, so classes stay exact.

pub mod ipranges;
pub mod istio;

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::cluster::Pod;
use crate::model::cluster::{
    AnpPeer, ClusterObjects, LabelSelector, PodSpec, PortRef, StringMap, Workload, WorkloadKind,
};
use crate::model::Protocol;
use crate::policy::istio::{pod_sidecar, MeshConfig, SourcePod};
use crate::policy::netpol::{ConnSet, Endpoint, Peer, PolicyContext, Selection};
use ipranges::V4Range;
use istio::{Client, IstioCell, L7Narrowing};
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
    /// Allowed pairs, sorted by (src, dst) index; empty pairs and self-pairs are left out.
    pub cells: Vec<MatrixCell>,
    /// The distinct connection sets the cells refer to.
    pub sets: Vec<ConnSet>,
    /// Per entry of [`Matrix::sets`]: the TCP ports that Istio allows only for some requests
    /// (already within the set), with what they require; empty when nothing is narrowed.
    pub l7: Vec<Vec<L7Narrowing>>,
    /// How many equivalence classes of pods were evaluated.
    pub classes: usize,
    /// The layers combined.
    pub layers: Layers,
}

impl Matrix {
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
struct Unit {
    key: MatrixEndpoint,
    endpoint: Endpoint,
    /// Every container port: (name, protocol, number).
    container_ports: Vec<(Option<String>, Protocol, u16)>,
    labels_by_pod: Vec<(crate::source::Provenance, StringMap)>,
    /// A representative pod (the first pod, or the template as a pod not yet running).
    pod: Pod,
    /// Indices into `ClusterObjects::pods` of the pods the unit stands for.
    members: Vec<usize>,
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
fn units(o: &ClusterObjects, by: Grouping) -> Vec<Unit> {
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
            endpoint: Endpoint::from_spec(&ns, &p.meta.labels, &p.spec),
            container_ports: ports_of(&p.spec),
            labels_by_pod: Vec::new(),
            pod: p.clone(),
            members: Vec::new(),
        });
        entry
            .labels_by_pod
            .push((p.meta.at.clone(), p.meta.labels.clone()));
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
        out.entry(key.clone()).or_insert_with(|| Unit {
            key,
            endpoint: Endpoint::from_spec(&ns, &w.template_labels, &w.template),
            container_ports: ports_of(&w.template),
            labels_by_pod: vec![(w.meta.at.clone(), w.template_labels.clone())],
            pod,
            members: Vec::new(),
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
                let first = sel.matches(&u.labels_by_pod[0].1);
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
    let ip = pod.pod_ips.first();
    let inside: Vec<Option<bool>> = nets.iter().map(|n| ip.map(|a| n.contains(a))).collect();
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

/// Source classes evaluated per parallel block (bounds the memory of uninterned rows).
const ROW_BLOCK: usize = 64;

/// One source class's evaluated row, before its sets are interned.
struct SourceRow {
    /// Per destination class: the combined set and L7 narrowings (`None`: NetworkPolicy denies all).
    to_classes: Vec<Option<(ConnSet, Vec<L7Narrowing>)>>,
    /// Per egress-side external range: the NetworkPolicy set.
    to_ext: Vec<ConnSet>,
}

/// `f` over `items` on up to `workers` threads, results in input order.
fn parallel_map<T: Send>(
    items: &[usize],
    workers: usize,
    f: &(dyn Fn(usize) -> T + Sync),
) -> Vec<T> {
    if workers <= 1 || items.len() <= 1 {
        return items.iter().map(|&i| f(i)).collect();
    }
    let chunk = items.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|&i| f(i)).collect::<Vec<T>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    })
}

/// Builds the matrix over the layers present in the snapshot ([`Layers::present`]; call
/// [`validate`] first and stop on its errors).
pub fn build(o: &ClusterObjects, by: Grouping) -> Matrix {
    build_layers(o, by, Layers::present(o))
}

/// Builds the matrix over `layers` (call [`validate`] first and stop on its errors).
pub fn build_layers(o: &ClusterObjects, by: Grouping, layers: Layers) -> Matrix {
    let ctx = PolicyContext::new(o);
    let mesh = MeshConfig::default();
    let units = units(o, by);
    let nets = if layers.istio {
        istio_nets(o)
    } else {
        Vec::new()
    };
    // Equivalence classes.
    let mut class_of_key: HashMap<String, usize> = HashMap::new();
    let mut classes: Vec<&Endpoint> = Vec::new();
    let mut class_pods: Vec<&Pod> = Vec::new();
    let unit_class: Vec<usize> = units
        .iter()
        .map(|u| {
            let e = &u.endpoint;
            let mut labels: Vec<_> = e.labels.iter().collect();
            labels.sort();
            let mesh_key = if layers.istio {
                istio_key(o, &u.pod, &nets)
            } else {
                String::new()
            };
            let key = format!(
                "{:?}",
                (
                    &e.namespace,
                    labels,
                    &e.named_ports,
                    &e.service_account,
                    mesh_key
                )
            );
            *class_of_key.entry(key).or_insert_with(|| {
                classes.push(e);
                class_pods.push(&u.pod);
                classes.len() - 1
            })
        })
        .collect();
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

    let selections: Vec<Selection<'_>> = classes.iter().map(|e| ctx.select(e)).collect();
    let netpol = |sp: Peer<'_>, ss: Option<&Selection<'_>>, dp: Peer<'_>, ds| {
        if layers.netpol {
            ctx.allowed_selected(sp, ss, dp, ds)
        } else {
            ConnSet::all()
        }
    };
    let mesh_cell = |client: &Client, d: usize| {
        layers
            .istio
            .then(|| istio::cell(o, &mesh, client, class_pods[d]))
    };
    let mut sets = SetTable::default();
    let mut cells = Vec::new();
    let mut units_of_class: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for (i, c) in unit_class.iter().enumerate() {
        units_of_class[*c].push(i);
    }
    let ext_peer = |lo: u32| Peer::External(std::net::Ipv4Addr::from(lo).into());
    let unit_ix: Vec<u32> = units.iter().map(|u| index[&u.key] as u32).collect();
    let src_ix: Vec<u32> = src_ranges
        .iter()
        .map(|(lo, hi)| index[&MatrixEndpoint::External { lo: *lo, hi: *hi }] as u32)
        .collect();
    let dst_ix: Vec<u32> = dst_ranges
        .iter()
        .map(|(lo, hi)| index[&MatrixEndpoint::External { lo: *lo, hi: *hi }] as u32)
        .collect();
    // Row by row over source classes: each class pair is evaluated once. Rows are computed
    // in parallel, a block at a time, and interned in class order so set ids stay stable.
    let eval_row = |s: usize| -> SourceRow {
        let sp = Peer::Pod(classes[s]);
        let client = Client::Pod(
            SourcePod::of(o, class_pods[s]),
            class_pods[s].pod_ips.first().copied(),
        );
        let to_classes = (0..classes.len())
            .map(|d| {
                let np = netpol(
                    sp,
                    Some(&selections[s]),
                    Peer::Pod(classes[d]),
                    Some(&selections[d]),
                );
                if np.is_empty() {
                    return None;
                }
                Some(combine(np, mesh_cell(&client, d).as_ref()))
            })
            .collect();
        let to_ext = dst_ranges
            .iter()
            .map(|(lo, _)| netpol(sp, Some(&selections[s]), ext_peer(*lo), None))
            .collect();
        SourceRow { to_classes, to_ext }
    };
    let sources: Vec<usize> = (0..classes.len())
        .filter(|s| !units_of_class[*s].is_empty())
        .collect();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    for block in sources.chunks(ROW_BLOCK) {
        let rows = parallel_map(block, workers, &eval_row);
        for (&s, computed) in block.iter().zip(rows) {
            let row: Vec<Option<u32>> = computed
                .to_classes
                .into_iter()
                .map(|c| c.and_then(|(c, l7)| sets.intern_l7(c, l7)))
                .collect();
            let to_ext: Vec<Option<u32>> = computed
                .to_ext
                .into_iter()
                .map(|c| sets.intern(c))
                .collect();
            for &u in &units_of_class[s] {
                for (v, &dc) in unit_class.iter().enumerate() {
                    if let (true, Some(set)) = (u != v, row[dc]) {
                        cells.push(MatrixCell {
                            src: unit_ix[u],
                            dst: unit_ix[v],
                            set,
                        });
                    }
                }
                for (k, set) in to_ext.iter().enumerate() {
                    if let Some(set) = *set {
                        cells.push(MatrixCell {
                            src: unit_ix[u],
                            dst: dst_ix[k],
                            set,
                        });
                    }
                }
            }
        }
    }
    for (k, (lo, _)) in src_ranges.iter().enumerate() {
        let client = Client::External(std::net::Ipv4Addr::from(*lo).into());
        for (d, dst) in classes.iter().enumerate() {
            let np = netpol(ext_peer(*lo), None, Peer::Pod(dst), Some(&selections[d]));
            if np.is_empty() {
                continue;
            }
            let (c, l7) = combine(np, mesh_cell(&client, d).as_ref());
            if let Some(set) = sets.intern_l7(c, l7) {
                for &v in &units_of_class[d] {
                    cells.push(MatrixCell {
                        src: src_ix[k],
                        dst: unit_ix[v],
                        set,
                    });
                }
            }
        }
    }
    if has_ingress {
        let fake = Endpoint {
            namespace: "ingress-controller-ns".into(),
            labels: StringMap::default(),
            named_ports: Vec::new(),
            service_account: None,
        };
        for (ui, u) in units.iter().enumerate() {
            let ports = ingress_ports(o, u);
            if ports.is_empty() {
                continue;
            }
            let allowed = if layers.netpol {
                ctx.allowed(Peer::Pod(&fake), Peer::Pod(&u.endpoint), false)
                    .ingress
                    .conns
            } else {
                ConnSet::all()
            };
            let (c, l7) = combine(
                ports.intersect(&allowed),
                mesh_cell(&Client::Unknown, unit_class[ui]).as_ref(),
            );
            if let (Some(set), Some(&src), Some(&dst)) = (
                sets.intern_l7(c, l7),
                index.get(&MatrixEndpoint::IngressController),
                index.get(&u.key),
            ) {
                cells.push(MatrixCell {
                    src: src as u32,
                    dst: dst as u32,
                    set,
                });
            }
        }
    }
    cells.sort_unstable_by_key(|c| (c.src, c.dst));
    Matrix {
        endpoints,
        cells,
        sets: sets.sets,
        l7: sets.l7,
        classes: classes.len(),
        layers,
    }
}

/// TCP ports of `u` that an Ingress or Route reaches through a Service selecting it.
fn ingress_ports(o: &ClusterObjects, u: &Unit) -> ConnSet {
    let mut out = ConnSet::empty();
    let mut reach =
        |ns: &str, svc_name: &str, want: &dyn Fn(&crate::model::cluster::ServicePort) -> bool| {
            for svc in &o.services {
                if svc.meta.namespace_or_default() != ns || svc.meta.name != svc_name {
                    continue;
                }
                let Some(sel) = &svc.selector else { continue };
                if sel.is_empty()
                    || u.endpoint.namespace != ns
                    || !sel.iter().all(|(k, v)| u.endpoint.labels.get(k) == Some(v))
                {
                    continue;
                }
                for sp in svc.ports.iter().filter(|sp| want(sp)) {
                    let target = sp.target_port.clone().unwrap_or(PortRef::Number(sp.port));
                    let port = match target {
                        PortRef::Number(0) => Some(sp.port),
                        PortRef::Number(n) => Some(n),
                        PortRef::Name(name) => u
                            .container_ports
                            .iter()
                            .find(|(pn, _, _)| pn.as_deref() == Some(name.as_str()))
                            .map(|(_, _, n)| *n),
                    };
                    if let Some(p) = port {
                        if u.container_ports.iter().any(|(_, _, n)| *n == p) {
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
