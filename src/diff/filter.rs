//! Skipping endpoint pairs a change cannot reach, before tracing them at all.
//!
//! When every change is local to endpoints — security groups carried only by instances'
//! ordinary interfaces, instance states, NetworkPolicies and Istio policies (which decide at
//! the pods they select) — a flow can only change if one of its ends is such an instance, such
//! a pod, a pod on such an instance, or a destination that forwards to one (a Service whose
//! endpoints or kube-proxy DNAT targets are such pods or instances; a node or a load balancer
//! when a Service with node ports forwards to one, or a target is one). Other pairs are not
//! traced. Changes that act in the middle of paths (NACLs, routes, gateways, addresses) turn
//! the filter off.

use crate::graph::FastMap;
use crate::kube::proxy::observed_endpoints;
use crate::model::cluster::Pod;
use crate::model::{tag_value, Interface, InterfaceKind, Snapshot};
use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The endpoints a set of endpoint-local changes can affect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairFilter {
    /// Instance ids whose interfaces carry a changed security group, or whose state changed.
    pub instances: BTreeSet<String>,
    /// Pod keys selected by a changed NetworkPolicy or in the scope of a changed Istio policy.
    pub pods: BTreeSet<String>,
}

impl PairFilter {
    /// The filter for changed groups `sgs`, changed instances and the pods of changed policies;
    /// `None` when a changed group is on an interface that is not an instance's own (NAT, load
    /// balancer, endpoint, branch ENI…), where it acts in the middle of paths.
    pub fn new(
        snaps: [&Snapshot; 2],
        sgs: &[String],
        instances: &[String],
        pods: &BTreeSet<String>,
    ) -> Option<PairFilter> {
        let mut f = PairFilter {
            instances: instances.iter().cloned().collect(),
            pods: pods.clone(),
        };
        for s in snaps {
            for eni in s.cloud.interfaces.values() {
                if !eni.groups.iter().any(|g| sgs.contains(g)) {
                    continue;
                }
                match (&eni.kind, &eni.instance_id) {
                    (InterfaceKind::Interface, Some(i)) => {
                        f.instances.insert(i.clone());
                    }
                    _ => return None,
                }
            }
        }
        Some(f)
    }

    /// The filter's questions about one snapshot, with that snapshot's lookups built once
    /// (pods by name and address, Service endpoints, kube-proxy DNAT targets).
    pub fn in_snapshot<'a>(&'a self, s: &'a Snapshot) -> Relevance<'a> {
        Relevance::new(self, s)
    }
}

/// [`PairFilter`] applied to one snapshot: the endpoints it names, looked up by key and
/// address instead of by scanning the snapshot for every question.
pub struct Relevance<'a> {
    filter: &'a PairFilter,
    s: &'a Snapshot,
    /// Interfaces of the filter's instances.
    interfaces: Vec<&'a Interface>,
    /// Pods by `namespace/name` (the first of a name, as a scan finds it).
    pods: FastMap<String, &'a Pod>,
    /// Pods by address, in snapshot order.
    pods_by_ip: FastMap<IpAddr, Vec<&'a Pod>>,
    /// Addresses each Service (`namespace/name`) forwards to in its EndpointSlices and
    /// Endpoints.
    service_addresses: FastMap<String, Vec<IpAddr>>,
    /// The DNAT targets of every kube-proxy service chain, with the `namespace/name:port`
    /// its comment names.
    observed: Vec<(String, Vec<IpAddr>)>,
    /// Indexes into `observed` by what precedes the name's first colon.
    observed_by_service: FastMap<String, Vec<usize>>,
    exposed: OnceCell<bool>,
    targets: OnceCell<bool>,
}

impl<'a> Relevance<'a> {
    fn new(filter: &'a PairFilter, s: &'a Snapshot) -> Self {
        let interfaces = s
            .cloud
            .interfaces
            .values()
            .filter(|e| {
                e.instance_id
                    .as_ref()
                    .is_some_and(|i| filter.instances.contains(i))
            })
            .collect();
        let mut pods = FastMap::default();
        let mut pods_by_ip: FastMap<IpAddr, Vec<&Pod>> = FastMap::default();
        for p in &s.cluster.pods {
            pods.entry(p.meta.key()).or_insert(p);
            for ip in &p.pod_ips {
                pods_by_ip.entry(*ip).or_default().push(p);
            }
        }
        let mut service_addresses: FastMap<String, Vec<IpAddr>> = FastMap::default();
        for e in &s.cluster.endpoint_slices {
            if let Some(name) = &e.service_name {
                let key = crate::cat!(e.meta.namespace_or_default(), '/', name);
                service_addresses.entry(key).or_default().extend(
                    e.endpoints
                        .iter()
                        .flat_map(|e| e.addresses.iter())
                        .filter_map(|a| a.parse::<IpAddr>().ok()),
                );
            }
        }
        for e in &s.cluster.endpoints {
            let key = crate::cat!(e.meta.namespace_or_default(), '/', e.meta.name);
            service_addresses.entry(key).or_default().extend(
                e.subsets
                    .iter()
                    .flat_map(|ss| ss.addresses.iter().chain(ss.not_ready_addresses.iter()))
                    .filter_map(|a| a.ip),
            );
        }
        let observed = s
            .iptables
            .iter()
            .flat_map(observed_endpoints)
            .filter_map(|o| {
                let ips = o.endpoints.into_iter().map(|(ip, _)| ip).collect();
                o.service.map(|name| (name, ips))
            })
            .collect::<Vec<(String, Vec<IpAddr>)>>();
        let mut observed_by_service: FastMap<String, Vec<usize>> = FastMap::default();
        for (i, (name, _)) in observed.iter().enumerate() {
            if let Some((service, _)) = name.split_once(':') {
                observed_by_service
                    .entry(service.to_string())
                    .or_default()
                    .push(i);
            }
        }
        Relevance {
            filter,
            s,
            interfaces,
            pods,
            pods_by_ip,
            service_addresses,
            observed,
            observed_by_service,
            exposed: OnceCell::new(),
            targets: OnceCell::new(),
        }
    }

    /// True when a flow from or to the endpoint `name` may be affected.
    pub fn relevant(&self, name: &str) -> bool {
        let s = self.s;
        if name == "internet" {
            return false;
        }
        if name.starts_with("lb/") {
            return self.exposed_hit() || self.targets_hit();
        }
        if let Some(n) = name.strip_prefix("node/") {
            return self.exposed_hit()
                || s.cluster
                    .nodes
                    .iter()
                    .filter(|x| x.meta.name == n)
                    .filter_map(|x| x.aws_instance.as_ref())
                    .any(|a| self.filter.instances.contains(&a.instance_id))
                || s.cluster.nodes.iter().all(|x| x.meta.name != n);
        }
        if let Some(key) = name.strip_prefix("svc/") {
            return self.service_hit(key);
        }
        if let Some(n) = name.strip_prefix("instance/") {
            return s.cloud.instances.values().any(|i| {
                tag_value(&i.tags, "Name") == Some(n) && self.filter.instances.contains(&i.id)
            });
        }
        if name.starts_with("i-") {
            return self.filter.instances.contains(name);
        }
        if self.pods.contains_key(name) {
            return self.pod_hit(name);
        }
        true
    }

    fn instance_of_ip(&self, ip: IpAddr) -> bool {
        self.interfaces.iter().any(|e| e.owns(ip))
    }

    fn pod_hit(&self, key: &str) -> bool {
        if self.filter.pods.contains(key) {
            return true;
        }
        let Some(p) = self.pods.get(key) else {
            return false;
        };
        p.pod_ips.iter().any(|ip| self.instance_of_ip(*ip))
            || p.host_ip.is_some_and(|ip| self.instance_of_ip(ip))
    }

    fn address_hit(&self, ip: IpAddr) -> bool {
        if self.instance_of_ip(ip) {
            return true;
        }
        self.pods_by_ip
            .get(&ip)
            .is_some_and(|pods| pods.iter().any(|p| self.pod_hit(&p.meta.key())))
    }

    /// A Service reachable through node ports (NodePort, LoadBalancer) forwards to an
    /// affected endpoint.
    fn exposed_hit(&self) -> bool {
        *self.exposed.get_or_init(|| {
            self.s
                .cluster
                .services
                .iter()
                .filter(|svc| svc.ports.iter().any(|p| p.node_port.is_some()))
                .any(|svc| self.service_hit(&svc.meta.key()))
        })
    }

    /// A load balancer target is an affected instance or address.
    fn targets_hit(&self) -> bool {
        *self.targets.get_or_init(|| {
            self.s
                .cloud
                .target_groups
                .values()
                .flat_map(|tg| tg.targets.iter().flatten())
                .any(|t| {
                    self.filter.instances.contains(&t.id)
                        || t.id.parse::<IpAddr>().is_ok_and(|ip| self.address_hit(ip))
                })
        })
    }

    fn service_hit(&self, key: &str) -> bool {
        let listed = match key.split_once('/') {
            Some(_) => self.service_addresses.get(key),
            None => self.service_addresses.get(&crate::cat!("default/", key)),
        };
        let hit = |ips: &Vec<IpAddr>| ips.iter().any(|ip| self.address_hit(*ip));
        if listed.is_some_and(hit) {
            return true;
        }
        if key.contains(':') {
            let prefix = crate::cat!(key, ':');
            return self
                .observed
                .iter()
                .filter(|(name, _)| name.starts_with(&prefix))
                .any(|(_, ips)| hit(ips));
        }
        self.observed_by_service
            .get(key)
            .is_some_and(|all| all.iter().any(|&i| hit(&self.observed[i].1)))
    }
}
