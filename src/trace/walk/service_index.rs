//! The addresses and node ports kube-proxy answers on, gathered once per tracer so that a
//! packet's "does it address a Service?" is a few hash lookups, not a scan of every Service.

use crate::model::cluster::ClusterObjects;
use crate::model::{Packet, Protocol};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;

/// Service addresses beyond ClusterIPs, and node ports, of a cluster.
#[derive(Debug, Default)]
pub(super) struct ServiceIndex {
    /// `spec.externalIPs` and `status.loadBalancer.ingress[].ip` of every Service.
    outside_ips: FastSet<IpAddr>,
    /// `(protocol, nodePort)` of every Service port.
    node_ports: FastSet<(Protocol, u16)>,
    /// `spec.healthCheckNodePort` of every Service.
    health_ports: FastSet<u16>,
    /// Namespace → its Services' indexes, in input order.
    by_namespace: HashMap<String, Vec<usize>, foldhash::fast::RandomState>,
}

impl ServiceIndex {
    /// Gathers the Services of `cluster`.
    pub(super) fn build(cluster: &ClusterObjects) -> Self {
        let mut ix = ServiceIndex::default();
        for (i, s) in cluster.services.iter().enumerate() {
            ix.by_namespace
                .entry(s.meta.namespace_or_default().to_string())
                .or_default()
                .push(i);
            ix.outside_ips.extend(s.external_ips.iter().copied());
            ix.outside_ips
                .extend(s.load_balancer_ingress.iter().filter_map(|i| i.ip));
            ix.node_ports.extend(
                s.ports
                    .iter()
                    .filter_map(|p| p.node_port.map(|n| (p.protocol, n))),
            );
            ix.health_ports.extend(s.health_check_node_port);
        }
        ix
    }

    /// The indexes of the Services in namespace `ns`, in input order.
    pub(super) fn in_namespace(&self, ns: &str) -> &[usize] {
        self.by_namespace.get(ns).map_or(&[], Vec::as_slice)
    }

    /// True when `pkt` addresses a Service by an external or load-balancer address, or by a
    /// node port of an address `is_local` says is the node's own. ClusterIPs are not covered.
    pub(super) fn hit(&self, pkt: &Packet, is_local: impl Fn(IpAddr) -> bool) -> bool {
        self.outside_ips.contains(&pkt.dst)
            || (is_local(pkt.dst)
                && (self.node_ports.contains(&(pkt.protocol, pkt.dst_port))
                    || self.health_ports.contains(&pkt.dst_port)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICES: &str = "
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: kube-system}
spec:
  type: LoadBalancer
  clusterIP: 172.20.0.10
  externalIPs: [192.0.2.10]
  healthCheckNodePort: 31000
  ports:
  - {name: dns, protocol: UDP, port: 53, nodePort: 30053}
status:
  loadBalancer:
    ingress: [{ip: 198.51.100.7}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 172.20.0.11
  ports: [{port: 80}]
";

    fn pkt(dst: &str, protocol: Protocol, port: u16) -> Packet {
        Packet {
            src: "10.0.0.1".parse().unwrap(),
            dst: dst.parse().unwrap(),
            protocol,
            src_port: 40000,
            dst_port: port,
        }
    }

    #[test]
    fn finds_external_lb_and_node_port_addresses() {
        let mut cluster = ClusterObjects::default();
        let mut diags = crate::diag::Diagnostics::default();
        crate::ingest::k8s::read_yaml(crate::source::FileId(0), SERVICES, &mut cluster, &mut diags);
        assert_eq!(cluster.services.len(), 2, "{diags:?}");
        let ix = ServiceIndex::build(&cluster);
        let node: IpAddr = "10.0.1.5".parse().unwrap();
        let local = |ip: IpAddr| ip == node;
        assert!(ix.hit(&pkt("192.0.2.10", Protocol::Tcp, 1), |_| false));
        assert!(ix.hit(&pkt("198.51.100.7", Protocol::Tcp, 1), |_| false));
        assert!(ix.hit(&pkt("10.0.1.5", Protocol::Udp, 30053), local));
        assert!(!ix.hit(&pkt("10.0.1.5", Protocol::Tcp, 30053), local));
        assert!(!ix.hit(&pkt("10.0.1.6", Protocol::Udp, 30053), local));
        assert!(ix.hit(&pkt("10.0.1.5", Protocol::Tcp, 31000), local));
        assert!(!ix.hit(&pkt("10.0.9.9", Protocol::Tcp, 80), local));
        assert!(!ix.hit(&pkt("172.20.0.11", Protocol::Tcp, 80), local));
        assert_eq!(ix.in_namespace("shop"), &[1]);
        assert_eq!(ix.in_namespace("kube-system"), &[0]);
        assert!(ix.in_namespace("none").is_empty());
    }
}
