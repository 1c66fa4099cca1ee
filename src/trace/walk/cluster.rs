//! The cluster datapath on a node: pods over veth pairs, the node's host network, VPC CNI
//! source NAT, and overlay encapsulation between nodes.

use super::*;
use crate::kube::join::{CniMode, Encap, NodeJoin};
use crate::model::cluster::Pod;

/// The UDP port of VXLAN.
const VXLAN_PORT: u16 = 4789;

impl Tracer<'_> {
    fn pod(&self, idx: usize) -> Option<&Pod> {
        self.snap.cluster.pods.get(idx)
    }

    fn pod_name(p: &Pod) -> String {
        match &p.meta.namespace {
            Some(ns) => crate::cat!("pod/", ns, '/', p.meta.name),
            None => crate::cat!("pod/", p.meta.name),
        }
    }

    /// A pod sends: over its veth pair to the node (host-network pods are the node).
    pub(super) fn pod_send(&self, st: &mut PathState, idx: usize) -> Next {
        let Some(pod) = self.pod(idx) else {
            return self.unknown(
                st,
                Layer::Fabric,
                "pod",
                "the pod is not in the snapshot: add `kubectl get pods -A -o yaml`",
            );
        };
        let name = Self::pod_name(pod);
        if !self.enter(st, &name, NodeKind::Host) {
            return Next::Done(Disposition::Loop);
        }
        st.src_pod = Some(idx);
        // The host side of the pod's veth pair, as each CNI names it.
        st.in_interface = Some(match self.ix.cluster.cni {
            Some(CniMode::Overlay { .. }) => "cali0pod0veth".to_string(),
            _ => "eni0pod0veth".to_string(),
        });
        if let Some(phase) = pod.phase.as_deref().filter(|p| *p != "Running") {
            return self.deny(
                st,
                Step::new(
                    StepKind::Drop,
                    Layer::Fabric,
                    Action::Denied,
                    pod.meta.key(),
                    format!("pod {} is {phase}: it sends nothing", pod.meta.key()),
                )
                .at(&pod.meta.at),
            );
        }
        let Some(node) = pod.spec.node_name.clone() else {
            return self.unknown(
                st,
                Layer::Fabric,
                pod.meta.key(),
                format!("pod {} is not scheduled on a node", pod.meta.key()),
            );
        };
        if !self.ix.cluster.nodes.contains_key(&node) {
            return self.unknown(
                st,
                Layer::Fabric,
                node.clone(),
                format!(
                    "node {node} of pod {} is not in the snapshot: add `kubectl get nodes -o yaml`",
                    pod.meta.key()
                ),
            );
        }
        if pod.spec.host_network {
            st.local_origin = true;
            st.step(
                Step::new(
                    StepKind::Veth,
                    Layer::Fabric,
                    Action::Forwarded,
                    pod.meta.key(),
                    format!("hostNetwork pod: sends from the node {node}'s own network stack"),
                )
                .at(&pod.meta.at),
            );
        } else {
            st.step(
                Step::new(
                    StepKind::Veth,
                    Layer::Fabric,
                    Action::Forwarded,
                    pod.meta.key(),
                    crate::cat!(
                        "eth0 of ",
                        pod.meta.key(),
                        " -> veth pair -> host network of ",
                        node
                    ),
                )
                .at(&pod.meta.at),
            );
        }
        Next::Go(Loc::NodeStack(node))
    }

    /// Delivery to a pod over its veth pair.
    pub(super) fn pod_deliver(&self, st: &mut PathState, idx: usize) -> Next {
        let Some(pod) = self.pod(idx) else {
            return self.unknown(
                st,
                Layer::Fabric,
                "pod",
                "the destination pod is not in the snapshot",
            );
        };
        let name = Self::pod_name(pod);
        if !self.enter(st, &name, NodeKind::Host) {
            return Next::Done(Disposition::Loop);
        }
        if let Some(phase) = pod.phase.as_deref().filter(|p| *p != "Running") {
            return self.deny(
                st,
                Step::new(
                    StepKind::Drop,
                    Layer::Fabric,
                    Action::Denied,
                    pod.meta.key(),
                    format!("pod {} is {phase}: nothing listens", pod.meta.key()),
                )
                .at(&pod.meta.at),
            );
        }
        if let Some(n) = self.netpol_ingress(st, idx, pod) {
            return n;
        }
        if let Some(n) = self.istio_check(st, pod) {
            return n;
        }
        st.step(
            Step::new(
                StepKind::Deliver,
                Layer::Fabric,
                Action::Accepted,
                pod.meta.key(),
                crate::cat!("delivered to ", pod.meta.key(), " (", st.pkt.dst, ")"),
            )
            .at(&pod.meta.at),
        );
        Next::Done(Disposition::Delivered)
    }

    /// When `ip` is an EKS Hybrid Node (label `eks.amazonaws.com/compute-type: hybrid`) or a pod
    /// on one: what it is and the remote network the VPC must route to reach it (the node's pod
    /// CIDR holding the pod, else the pod's or node's own address).
    pub(super) fn hybrid_target(&self, ip: IpAddr) -> Option<(String, IpNet)> {
        let cluster = &self.snap.cluster;
        let is_hybrid = |n: &crate::model::cluster::Node| {
            n.meta
                .labels
                .get("eks.amazonaws.com/compute-type")
                .map(String::as_str)
                == Some("hybrid")
        };
        let host = IpNet::from(ip);
        if let Some(&p) = self.ix.cluster.pod_by_ip.get(&ip) {
            let pod = self.pod(p)?;
            let node = cluster
                .nodes
                .iter()
                .find(|n| Some(n.meta.name.as_str()) == pod.spec.node_name.as_deref())
                .filter(|n| is_hybrid(n))?;
            let net = node
                .pod_cidrs
                .iter()
                .find(|c| c.contains(&ip))
                .copied()
                .unwrap_or(host);
            return Some((
                format!("pod {} on hybrid node {}", pod.meta.key(), node.meta.name),
                net,
            ));
        }
        let name = self.ix.cluster.node_by_ip.get(&ip)?;
        cluster
            .nodes
            .iter()
            .find(|n| &n.meta.name == name)
            .filter(|n| is_hybrid(n))
            .map(|n| (format!("hybrid node {}", n.meta.name), host))
    }

    /// What the on-premises side of a hybrid node must do for this packet, or `None` when the
    /// destination is not on a hybrid node.
    pub(super) fn hybrid_remote_routes(&self, st: &PathState, via: &str) -> Option<String> {
        let (what, net) = self.hybrid_target(st.pkt.dst)?;
        let back = self
            .cloud()
            .vpcs
            .values()
            .find(|v| v.contains(st.pkt.src))
            .map(|v| format!("{} ({})", st.pkt.src, v.id))
            .unwrap_or_else(|| st.pkt.src.to_string());
        Some(format!(
            "{} is {what} (on premises): beyond {via} the on-premises network must route {net} to that node and route the replies to {back} back over {via}; those routes (static or learned over BGP) are not in the snapshot",
            st.pkt.dst
        ))
    }

    /// The branch ENI of the pod at `ip`, when security groups for pods run in strict mode.
    fn strict_branch_pod(&self, ip: IpAddr) -> Option<String> {
        if !matches!(
            self.ix.cluster.cni,
            Some(CniMode::VpcCni {
                sgp_strict: true,
                ..
            })
        ) || !self.ix.cluster.pod_by_ip.contains_key(&ip)
        {
            return None;
        }
        let eni = self.ix.owner_of(ip)?;
        (self.cloud().interfaces.get(eni)?.kind == InterfaceKind::Branch).then(|| eni.to_string())
    }

    /// True when `ip` is a pod running on the node `eni` is attached to (an overlay pod routed to
    /// its node natively).
    pub(super) fn local_pod_of(&self, eni: &Interface, ip: IpAddr) -> bool {
        let Some(node) = eni
            .instance_id
            .as_deref()
            .and_then(|i| self.ix.cluster.node_by_instance(i))
        else {
            return false;
        };
        self.ix
            .cluster
            .pod_by_ip
            .get(&ip)
            .and_then(|&p| self.pod(p))
            .is_some_and(|pod| pod.spec.node_name.as_deref() == Some(node.name.as_str()))
    }

    /// After an interface of a cluster node accepts a packet: decapsulate overlay traffic, and
    /// hand pod-bound (or node-bound) packets to the node's network stack.
    pub(super) fn hand_to_node(&self, st: &mut PathState, eni: &Interface) -> Option<Next> {
        if eni.kind == InterfaceKind::Branch {
            let &p = self.ix.cluster.pod_by_ip.get(&st.pkt.dst)?;
            let pod = self.pod(p)?;
            st.step(Step::new(
                StepKind::Veth,
                Layer::Fabric,
                Action::Forwarded,
                pod.meta.key(),
                format!(
                    "{} is the branch ENI of {} (security groups for pods): over the node's VLAN to the pod",
                    eni.id,
                    pod.meta.key()
                ),
            ));
            return Some(Next::Go(Loc::PodDeliver(p)));
        }
        let node = eni
            .instance_id
            .as_deref()
            .and_then(|i| self.ix.cluster.node_by_instance(i))?;
        if let Some((inner, ports)) = st.inner.take() {
            if Some(st.pkt.dst) == node.ip {
                let encap = match &self.ix.cluster.cni {
                    Some(CniMode::Overlay { encap, .. }) => *encap,
                    _ => Encap::Vxlan,
                };
                st.step(
                    Step::new(
                        StepKind::Tunnel,
                        Layer::Fabric,
                        Action::Transformed,
                        format!("{} decap", node.name),
                        format!("decapsulated on {}: inner {inner}", node.name),
                    )
                    .encap(encap.as_str()),
                );
                st.pkt = inner;
                st.in_interface = Some(match encap {
                    Encap::Vxlan => "vxlan.calico".to_string(),
                    Encap::Ipip => "tunl0".to_string(),
                });
                st.src_ports = ports;
                return Some(Next::Go(Loc::NodeStack(node.name.clone())));
            }
            st.inner = Some((inner, ports));
        }
        st.in_interface = Some(crate::cat!("eth", eni.device_index.unwrap_or(0)));
        let to_pod = self.ix.cluster.pod_by_ip.contains_key(&st.pkt.dst);
        let to_node = Some(st.pkt.dst) == node.ip;
        (to_pod || to_node).then(|| Next::Go(Loc::NodeStack(node.name.clone())))
    }

    /// The node's host network: local delivery, pods on this node, or out through an interface
    /// (with the CNI's source NAT or overlay encapsulation).
    pub(super) fn node_stack(&self, st: &mut PathState, node_name: &str) -> Next {
        let Some(node) = self.ix.cluster.nodes.get(node_name) else {
            return self.unknown(
                st,
                Layer::Fabric,
                node_name,
                format!("node {node_name} is not in the snapshot: add `kubectl get nodes -o yaml`"),
            );
        };
        if !self.enter(st, &crate::cat!("node/", node_name), NodeKind::Host) {
            return Next::Done(Disposition::Loop);
        }
        if let Some(next) = self.kube_proxy(st, node) {
            return next;
        }
        self.node_route(st, node)
    }

    /// Routing on the node once kube-proxy has had its say: local delivery, a pod on this node,
    /// or out through an interface.
    pub(super) fn node_route(&self, st: &mut PathState, node: &NodeJoin) -> Next {
        let node_name = node.name.as_str();
        if let Some(n) = self.netpol_egress(st) {
            return n;
        }
        if Some(st.pkt.dst) == node.ip {
            st.step(Step::new(
                StepKind::Deliver,
                Layer::Fabric,
                Action::Accepted,
                node_name,
                format!("delivered to the host network of {node_name}"),
            ));
            return Next::Done(Disposition::Delivered);
        }
        let strict_branch = self
            .strict_branch_pod(st.pkt.src)
            .or_else(|| self.strict_branch_pod(st.pkt.dst));
        if let Some(&p) = self.ix.cluster.pod_by_ip.get(&st.pkt.dst) {
            if let Some(pod) = self.pod(p) {
                let same_node = pod.spec.node_name.as_deref() == Some(node_name);
                if let Some(eni) = strict_branch.as_deref().filter(|_| same_node) {
                    st.step(Step::new(
                        StepKind::Route,
                        Layer::Routing,
                        Action::Forwarded,
                        "POD_SECURITY_GROUP_ENFORCING_MODE=strict",
                        format!(
                            "{} is on this node, but {eni} is a pod's branch ENI in strict mode: the packet goes out through the VPC and back (no veth shortcut), so the branch ENIs' security groups apply",
                            pod.meta.key()
                        ),
                    ));
                } else if same_node {
                    st.step(Step::new(
                        StepKind::Veth,
                        Layer::Fabric,
                        Action::Forwarded,
                        pod.meta.key(),
                        crate::cat!(
                            st.pkt.dst,
                            " is ",
                            pod.meta.key(),
                            " on this node: over its veth pair, no VPC hop"
                        ),
                    ));
                    return Next::Go(Loc::PodDeliver(p));
                }
            }
        }
        match &self.ix.cluster.cni {
            Some(CniMode::Overlay {
                encap,
                pools,
                nat_outgoing,
                cross_subnet,
            }) => self.overlay_out(st, node, *encap, pools, *nat_outgoing, *cross_subnet),
            Some(CniMode::VpcCni {
                external_snat,
                exclude_snat,
                ..
            }) => self.vpc_cni_out(st, node, *external_snat, exclude_snat),
            None => self.send_from_node(st, node, None),
        }
    }

    fn vpc_cni_out(
        &self,
        st: &mut PathState,
        node: &NodeJoin,
        external_snat: bool,
        exclude: &[IpNet],
    ) -> Next {
        if let Some(branch) = self.strict_branch_pod(st.pkt.src) {
            st.step(Step::new(
                StepKind::Route,
                Layer::Routing,
                Action::Forwarded,
                "POD_SECURITY_GROUP_ENFORCING_MODE=strict",
                format!(
                    "{} is on branch ENI {branch} in strict mode: everything it sends leaves through that ENI, without node SNAT",
                    st.pkt.src
                ),
            ));
            return self.send_from_node(st, node, Some(branch));
        }
        let from_pod = self.ix.cluster.pod_by_ip.contains_key(&st.pkt.src);
        let vpc = node
            .primary_eni
            .as_ref()
            .and_then(|e| self.cloud().interfaces.get(e))
            .and_then(|e| self.cloud().vpcs.get(&e.vpc_id));
        let inside_vpc = vpc.is_some_and(|v| v.contains(st.pkt.dst));
        let excluded = exclude.iter().any(|c| c.contains(&st.pkt.dst));
        if from_pod && !inside_vpc && st.pkt.dst.is_ipv6() {
            st.step(Step::new(StepKind::Route, Layer::Iptables, Action::Forwarded, "VPC CNI IPv6",
                format!("{} is outside the VPC: an IPv6 pod address is a global VPC address, so the VPC CNI does not SNAT it (it leaves as {})", st.pkt.dst, st.pkt.src)));
        } else if from_pod && !inside_vpc && !excluded {
            if external_snat {
                st.step(Step::new(StepKind::Route, Layer::Iptables, Action::Forwarded, "AWS_VPC_K8S_CNI_EXTERNALSNAT=true", format!("{} is outside the VPC; external SNAT is on, so the pod address is kept (a NAT gateway must translate it)", st.pkt.dst)));
            } else if let Some(ip) = node.ip {
                let old = st.snat(ip, "node SNAT session");
                st.step(Step::new(StepKind::Snat, Layer::Iptables, Action::Transformed, "AWS-SNAT-CHAIN-0 SNAT --random-fully",
                    format!("{} is outside every VPC CIDR: the VPC CNI SNATs {old} to the node's primary address {ip}", st.pkt.dst)));
                return self.send_from_node(st, node, None);
            }
        }
        // Pod traffic leaves through the interface that owns the pod's address.
        let owner = self.ix.owner_of(st.pkt.src).map(str::to_string);
        self.send_from_node(st, node, owner)
    }

    fn overlay_out(
        &self,
        st: &mut PathState,
        node: &NodeJoin,
        encap: Encap,
        pools: &[IpNet],
        nat_outgoing: bool,
        cross_subnet: bool,
    ) -> Next {
        let in_pool = |ip: IpAddr| pools.iter().any(|p| p.contains(&ip));
        if in_pool(st.pkt.dst) {
            let Some(&p) = self.ix.cluster.pod_by_ip.get(&st.pkt.dst) else {
                st.step(Step::new(
                    StepKind::Drop,
                    Layer::Fabric,
                    Action::NoRoute,
                    "overlay",
                    format!("no pod owns {} in the overlay", st.pkt.dst),
                ));
                return Next::Done(Disposition::NoRoute);
            };
            let Some(dst_node) = self.pod(p).and_then(|pod| self.ix.cluster.node_of(pod)) else {
                return self.unknown(
                    st,
                    Layer::Fabric,
                    "overlay",
                    format!(
                        "the node of the pod owning {} is not in the snapshot",
                        st.pkt.dst
                    ),
                );
            };
            let (Some(src_ip), Some(dst_ip)) = (node.ip, dst_node.ip) else {
                return self.unknown(
                    st,
                    Layer::Fabric,
                    "overlay",
                    "a node without an InternalIP cannot be a tunnel endpoint",
                );
            };
            if cross_subnet {
                if let Some(next) = self.cross_subnet_native(st, node, dst_node, encap) {
                    return next;
                }
            }
            let (protocol, dst_port) = match encap {
                Encap::Vxlan => (Protocol::Udp, VXLAN_PORT),
                Encap::Ipip => (Protocol::Other(4), 0),
            };
            let inner = st.pkt;
            st.inner = Some((inner, st.src_ports));
            st.pkt = Packet {
                src: src_ip,
                dst: dst_ip,
                protocol,
                src_port: LINUX_EPHEMERAL.lo,
                dst_port,
            };
            if protocol.has_ports() {
                st.src_ports = LINUX_EPHEMERAL;
            }
            let outer = match encap {
                Encap::Vxlan => format!("UDP {src_ip} -> {dst_ip}:{VXLAN_PORT}"),
                Encap::Ipip => format!("IP protocol 4 {src_ip} -> {dst_ip}"),
            };
            st.step(Step::new(StepKind::Tunnel, Layer::Fabric, Action::Transformed, format!("{} to {}", encap.as_str(), dst_node.name),
                format!("encapsulated ({}) toward {}: the VPC sees only the outer header {outer}, so security groups and NACLs must admit it", encap.as_str(), dst_node.name)).encap(encap.as_str()));
            return self.send_from_node(st, node, None);
        }
        if in_pool(st.pkt.src) && nat_outgoing {
            if let Some(ip) = node.ip {
                let old = st.snat(ip, "natOutgoing session");
                st.step(Step::new(
                    StepKind::Snat,
                    Layer::Iptables,
                    Action::Transformed,
                    "IPPool natOutgoing",
                    format!("{} leaves the pod pools: SNAT {old} -> {ip}", st.pkt.dst),
                ));
            }
        }
        self.send_from_node(st, node, None)
    }

    /// Calico `CrossSubnet`: between two nodes in the same subnet the pod packet is routed
    /// natively (`via <node IP> dev eth0`), pod addresses on the wire: the sending interface's
    /// security groups see the pod addresses, the VPC delivers it to the other node's interface
    /// without route table or NACL, and both interfaces need source/destination check off.
    /// `None` when the nodes are in different subnets (the packet is encapsulated).
    fn cross_subnet_native(
        &self,
        st: &mut PathState,
        node: &NodeJoin,
        dst_node: &NodeJoin,
        encap: Encap,
    ) -> Option<Next> {
        let cloud = self.cloud();
        let src_eni = node
            .primary_eni
            .as_ref()
            .and_then(|e| cloud.interfaces.get(e))?;
        let dst_eni = dst_node
            .primary_eni
            .as_ref()
            .and_then(|e| cloud.interfaces.get(e))?;
        if src_eni.subnet_id != dst_eni.subnet_id {
            return None;
        }
        let pool_rule = format!(
            "IPPool {}Mode CrossSubnet",
            if encap == Encap::Vxlan {
                "vxlan"
            } else {
                "ipip"
            }
        );
        st.step(Step::new(
            StepKind::Route,
            Layer::Routing,
            Action::Forwarded,
            pool_rule.clone(),
            format!(
                "{} and {} share {}: no encapsulation, {} is routed natively via {} on eth0 (pod addresses on the wire)",
                node.name,
                dst_node.name,
                src_eni.subnet_id,
                st.pkt.dst,
                dst_node.ip.map(|i| i.to_string()).unwrap_or_default()
            ),
        ));
        st.step(Step::new(
            StepKind::VpcFabric,
            Layer::Fabric,
            Action::Forwarded,
            src_eni.id.clone(),
            format!("leaves {} through {}", node.name, src_eni.id),
        ));
        st.origin_vpc = Some(src_eni.vpc_id.clone());
        st.local_origin = false;
        if src_eni.source_dest_check && !src_eni.owns(st.pkt.src) {
            return Some(self.deny(
                st,
                Step::new(
                    StepKind::Drop,
                    Layer::Fabric,
                    Action::Denied,
                    format!("{} source/dest check", src_eni.id),
                    format!(
                        "{} sends from {}, an address it does not own, with source/destination check on ({pool_rule} needs it off)",
                        src_eni.id, st.pkt.src
                    ),
                )
                .at(&src_eni.prov)
                .code("ENI_SOURCE_DEST_CHECK_RESTRICTION"),
            ));
        }
        if let Some(n) = self.check_sg(st, src_eni, SgDirection::Egress) {
            return Some(n);
        }
        let subnet_prov = cloud
            .subnets
            .get(&src_eni.subnet_id)
            .map(|s| s.prov.clone());
        st.step(
            Step::new(
                StepKind::VpcFabric,
                Layer::Fabric,
                Action::Forwarded,
                src_eni.subnet_id.clone(),
                format!(
                    "next hop {} is in the same subnet {}: delivered to {} directly, no route table or NACL",
                    dst_node.ip.map(|i| i.to_string()).unwrap_or_default(),
                    src_eni.subnet_id,
                    dst_eni.id
                ),
            )
            .at_opt(subnet_prov.as_ref()),
        );
        Some(Next::Go(Loc::Arrive(dst_eni.id.clone())))
    }

    /// Sends from one of the node's interfaces (the primary one unless `eni` names another):
    /// the interface's security groups apply, then the VPC forwards.
    fn send_from_node(&self, st: &mut PathState, node: &NodeJoin, eni: Option<String>) -> Next {
        let Some(eni_id) = eni.or_else(|| node.primary_eni.clone()) else {
            let inst = node
                .instance_id
                .clone()
                .unwrap_or_else(|| "(no providerID)".into());
            return self.unknown(st, Layer::Fabric, node.name.clone(), format!(
                "node {} maps to instance {inst}, which is not in the snapshot: add `aws ec2 describe-instances` (and describe-network-interfaces)", node.name));
        };
        let Some(eni) = self.cloud().interfaces.get(&eni_id) else {
            return self.unknown(st, Layer::Fabric, eni_id.clone(), format!("interface {eni_id} of node {} is not in the snapshot: add `aws ec2 describe-network-interfaces`", node.name));
        };
        st.step(Step::new(
            StepKind::VpcFabric,
            Layer::Fabric,
            Action::Forwarded,
            eni_id.clone(),
            crate::cat!("leaves ", node.name, " through ", eni_id),
        ));
        st.origin_vpc = Some(eni.vpc_id.clone());
        st.local_origin = false;
        if let Some(n) = self.check_sg(st, eni, SgDirection::Egress) {
            return n;
        }
        self.leave_interface(st, eni)
    }
}
