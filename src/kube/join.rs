//! Joining the cluster to the cloud: nodes to instances and interfaces, pod addresses to the
//! interfaces that own them, Services to their addresses, and which CNI datapath the cluster
//! uses.
//!
//! Built once per snapshot (part of the compile step); lookups only, no decisions.

use crate::graph::FastMap;
use crate::model::cluster::{ClusterObjects, EncapMode, IpPool, Pod};
use crate::model::Cloud;
use ipnet::IpNet;
use std::net::IpAddr;

/// How pod packets cross between nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CniMode {
    /// Amazon VPC CNI: pod addresses are VPC addresses owned by the nodes' ENIs; packets cross the
    /// VPC fabric as they are.
    VpcCni {
        /// `AWS_VPC_K8S_CNI_EXTERNALSNAT=true`: no node SNAT for destinations outside the VPC.
        external_snat: bool,
        /// `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS`.
        exclude_snat: Vec<IpNet>,
        /// Where the settings were read (the aws-node DaemonSet), if present.
        from_daemonset: bool,
        /// `ENABLE_POD_ENI=true` with `POD_SECURITY_GROUP_ENFORCING_MODE` strict (the default):
        /// pods on branch ENIs send everything through their branch ENI, even to the same node.
        sgp_strict: bool,
    },
    /// An overlay (Calico VXLAN or IPIP): pod packets are encapsulated node to node.
    Overlay {
        /// The encapsulation.
        encap: Encap,
        /// The pod address pools.
        pools: Vec<IpNet>,
        /// `natOutgoing`: pod traffic leaving the pools is SNATed to the node.
        nat_outgoing: bool,
        /// `CrossSubnet` mode: only traffic between nodes in different subnets is encapsulated;
        /// within a subnet pod packets are routed natively, pod addresses on the wire.
        cross_subnet: bool,
    },
}

/// An overlay encapsulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encap {
    /// VXLAN: UDP 4789 between node addresses.
    Vxlan,
    /// IP-in-IP: IP protocol 4 between node addresses.
    Ipip,
}

impl Encap {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Encap::Vxlan => "vxlan",
            Encap::Ipip => "ipip",
        }
    }
}

/// One node, joined to its instance.
#[derive(Debug, Clone)]
pub struct NodeJoin {
    /// Index into `ClusterObjects::nodes`.
    pub index: usize,
    /// Node name.
    pub name: String,
    /// The node's primary address (InternalIP).
    pub ip: Option<IpAddr>,
    /// The EC2 instance, from `providerID`.
    pub instance_id: Option<String>,
    /// The instance's primary interface.
    pub primary_eni: Option<String>,
}

/// Lookups over the cluster and its joins to the cloud.
#[derive(Debug, Default)]
pub struct ClusterIndex {
    /// `ns/name` → pod index.
    pub pod_by_key: FastMap<String, usize>,
    /// `ns/name`, with `default` for a pod without a namespace → the first pod of that name
    /// (what endpoint names such as `NS/NAME` resolve to).
    pub pod_by_name: FastMap<String, usize>,
    /// Pod address → pod index (pods on the pod network only, not hostNetwork).
    pub pod_by_ip: FastMap<IpAddr, usize>,
    /// Nodes by name.
    pub nodes: FastMap<String, NodeJoin>,
    /// Node address → node name.
    pub node_by_ip: FastMap<IpAddr, String>,
    /// `ns/name` → service index.
    pub service_by_key: FastMap<String, usize>,
    /// ClusterIP → service index.
    pub service_by_ip: FastMap<IpAddr, usize>,
    /// The datapath.
    pub cni: Option<CniMode>,
    /// EC2 instance → the node on it (the first by name when several claim it).
    node_on_instance: FastMap<String, NodeJoin>,
    /// Primary interface → the node it belongs to (the first by name).
    node_on_eni: FastMap<String, NodeJoin>,
}

impl ClusterIndex {
    /// Builds the joins of a cluster to a cloud model.
    pub fn build(objects: &ClusterObjects, cloud: &Cloud) -> ClusterIndex {
        let mut cx = ClusterIndex::default();
        for (i, p) in objects.pods.iter().enumerate() {
            let key = p.meta.key();
            let named = match p.meta.namespace {
                Some(_) => key.clone(),
                None => crate::cat!("default/", p.meta.name),
            };
            cx.pod_by_name.entry(named).or_insert(i);
            cx.pod_by_key.insert(key, i);
            if !p.spec.host_network {
                for ip in &p.pod_ips {
                    cx.pod_by_ip.entry(*ip).or_insert(i);
                }
            }
        }
        for (i, n) in objects.nodes.iter().enumerate() {
            let instance_id = n.aws_instance.as_ref().map(|a| a.instance_id.clone());
            let primary_eni = instance_id
                .as_ref()
                .and_then(|id| cloud.instances.get(id))
                .and_then(|inst| inst.interface_ids.first().cloned());
            let ip = n.internal_ip();
            if let Some(ip) = ip {
                cx.node_by_ip.insert(ip, n.meta.name.clone());
            }
            cx.nodes.insert(
                n.meta.name.clone(),
                NodeJoin {
                    index: i,
                    name: n.meta.name.clone(),
                    ip,
                    instance_id,
                    primary_eni,
                },
            );
        }
        for n in cx.nodes.values() {
            if let Some(id) = &n.instance_id {
                keep_first_by_name(&mut cx.node_on_instance, id, n);
            }
            if let Some(eni) = &n.primary_eni {
                keep_first_by_name(&mut cx.node_on_eni, eni, n);
            }
        }
        for (i, s) in objects.services.iter().enumerate() {
            cx.service_by_key.insert(s.meta.key(), i);
            for ip in &s.cluster_ips {
                cx.service_by_ip.insert(*ip, i);
            }
        }
        cx.cni = detect_cni(objects);
        cx
    }

    /// The node a pod runs on.
    pub fn node_of<'a>(&'a self, pod: &Pod) -> Option<&'a NodeJoin> {
        pod.spec.node_name.as_ref().and_then(|n| self.nodes.get(n))
    }

    /// The node whose primary interface is `eni`.
    pub fn node_by_eni(&self, eni: &str) -> Option<&NodeJoin> {
        self.node_on_eni.get(eni)
    }

    /// The node running on an instance.
    pub fn node_by_instance(&self, instance_id: &str) -> Option<&NodeJoin> {
        self.node_on_instance.get(instance_id)
    }
}

/// Records `node` for `key` unless a node whose name sorts before it is already there.
fn keep_first_by_name(map: &mut FastMap<String, NodeJoin>, key: &str, node: &NodeJoin) {
    match map.get_mut(key) {
        Some(have) if have.name <= node.name => {}
        Some(have) => *have = node.clone(),
        None => {
            map.insert(key.to_string(), node.clone());
        }
    }
}

/// Decides the datapath: an enabled Calico pool with VXLAN or IPIP makes an overlay; otherwise
/// a cluster with nodes or pods uses the VPC CNI (the EKS default), with options read from the
/// `aws-node` DaemonSet when it is present.
pub fn detect_cni(objects: &ClusterObjects) -> Option<CniMode> {
    let overlay: Vec<_> = objects
        .ip_pools
        .iter()
        .filter(|p| {
            !p.disabled && (p.vxlan_mode != EncapMode::Never || p.ipip_mode != EncapMode::Never)
        })
        .collect();
    if !overlay.is_empty() {
        let encap = if overlay.iter().any(|p| p.vxlan_mode != EncapMode::Never) {
            Encap::Vxlan
        } else {
            Encap::Ipip
        };
        let mode = |p: &IpPool| -> EncapMode {
            match encap {
                Encap::Vxlan => p.vxlan_mode.clone(),
                Encap::Ipip => p.ipip_mode.clone(),
            }
        };
        let encapsulating: Vec<EncapMode> = overlay
            .iter()
            .map(|p| mode(p))
            .filter(|m| *m != EncapMode::Never)
            .collect();
        let cross_subnet =
            !encapsulating.is_empty() && encapsulating.iter().all(|m| *m == EncapMode::CrossSubnet);
        return Some(CniMode::Overlay {
            encap,
            pools: overlay.iter().filter_map(|p| p.cidr).collect(),
            nat_outgoing: overlay.iter().any(|p| p.nat_outgoing),
            cross_subnet,
        });
    }
    if objects.nodes.is_empty() && objects.pods.is_empty() {
        return None;
    }
    let aws_node = objects.daemon_set("kube-system", "aws-node");
    let external_snat = aws_node
        .and_then(|d| d.env_value("AWS_VPC_K8S_CNI_EXTERNALSNAT"))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let exclude_snat = aws_node
        .and_then(|d| d.env_value("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS"))
        .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
        .unwrap_or_default();
    let pod_eni = aws_node
        .and_then(|d| d.env_value("ENABLE_POD_ENI"))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let sgp_strict = pod_eni
        && !aws_node
            .and_then(|d| d.env_value("POD_SECURITY_GROUP_ENFORCING_MODE"))
            .is_some_and(|v| v.eq_ignore_ascii_case("standard"));
    Some(CniMode::VpcCni {
        external_snat,
        exclude_snat,
        from_daemonset: aws_node.is_some(),
        sgp_strict,
    })
}
