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

use crate::model::{tag_value, InterfaceKind, Snapshot};
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

    fn instance_of_ip(&self, s: &Snapshot, ip: IpAddr) -> bool {
        s.cloud.interfaces.values().any(|e| {
            e.owns(ip)
                && e.instance_id
                    .as_ref()
                    .is_some_and(|i| self.instances.contains(i))
        })
    }

    fn pod_hit(&self, s: &Snapshot, key: &str) -> bool {
        if self.pods.contains(key) {
            return true;
        }
        let Some(p) = s.cluster.pods.iter().find(|p| p.meta.key() == key) else {
            return false;
        };
        p.pod_ips.iter().any(|ip| self.instance_of_ip(s, *ip))
            || p.host_ip.is_some_and(|ip| self.instance_of_ip(s, ip))
    }

    fn address_hit(&self, s: &Snapshot, ip: IpAddr) -> bool {
        if self.instance_of_ip(s, ip) {
            return true;
        }
        s.cluster
            .pods
            .iter()
            .filter(|p| p.pod_ips.contains(&ip))
            .any(|p| self.pod_hit(s, &p.meta.key()))
    }

    /// True when a flow from or to the endpoint `name` may be affected, in snapshot `s`.
    pub fn relevant(&self, s: &Snapshot, name: &str) -> bool {
        if name == "internet" {
            return false;
        }
        if name.starts_with("lb/") {
            return self.exposed_hit(s) || self.targets_hit(s);
        }
        if let Some(n) = name.strip_prefix("node/") {
            return self.exposed_hit(s)
                || s.cluster
                    .nodes
                    .iter()
                    .filter(|x| x.meta.name == n)
                    .filter_map(|x| x.aws_instance.as_ref())
                    .any(|a| self.instances.contains(&a.instance_id))
                || s.cluster.nodes.iter().all(|x| x.meta.name != n);
        }
        if let Some(key) = name.strip_prefix("svc/") {
            return self.service_hit(s, key);
        }
        if let Some(n) = name.strip_prefix("instance/") {
            return s
                .cloud
                .instances
                .values()
                .any(|i| tag_value(&i.tags, "Name") == Some(n) && self.instances.contains(&i.id));
        }
        if name.starts_with("i-") {
            return self.instances.contains(name);
        }
        if s.cluster.pods.iter().any(|p| p.meta.key() == name) {
            return self.pod_hit(s, name);
        }
        true
    }

    /// A Service reachable through node ports (NodePort, LoadBalancer) forwards to an
    /// affected endpoint.
    fn exposed_hit(&self, s: &Snapshot) -> bool {
        s.cluster
            .services
            .iter()
            .filter(|svc| svc.ports.iter().any(|p| p.node_port.is_some()))
            .any(|svc| self.service_hit(s, &svc.meta.key()))
    }

    /// A load balancer target is an affected instance or address.
    fn targets_hit(&self, s: &Snapshot) -> bool {
        s.cloud
            .target_groups
            .values()
            .flat_map(|tg| tg.targets.iter().flatten())
            .any(|t| {
                self.instances.contains(&t.id)
                    || t.id
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| self.address_hit(s, ip))
            })
    }

    fn service_hit(&self, s: &Snapshot, key: &str) -> bool {
        let (ns, name) = key.split_once('/').unwrap_or(("default", key));
        let sliced = s
            .cluster
            .endpoint_slices
            .iter()
            .filter(|e| {
                e.meta.namespace_or_default() == ns && e.service_name.as_deref() == Some(name)
            })
            .flat_map(|e| e.endpoints.iter())
            .flat_map(|e| e.addresses.iter())
            .filter_map(|a| a.parse::<IpAddr>().ok());
        let legacy = s
            .cluster
            .endpoints
            .iter()
            .filter(|e| e.meta.namespace_or_default() == ns && e.meta.name == name)
            .flat_map(|e| e.subsets.iter())
            .flat_map(|ss| ss.addresses.iter().chain(ss.not_ready_addresses.iter()))
            .filter_map(|a| a.ip);
        let prefix = format!("{key}:");
        let observed = s
            .iptables
            .iter()
            .flat_map(crate::kube::proxy::observed_endpoints)
            .filter(|o| o.service.as_deref().is_some_and(|x| x.starts_with(&prefix)))
            .flat_map(|o| o.endpoints.into_iter().map(|(ip, _)| ip))
            .collect::<Vec<_>>();
        sliced
            .chain(legacy)
            .chain(observed)
            .any(|ip| self.address_hit(s, ip))
    }
}
