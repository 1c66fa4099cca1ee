//! Compiling a snapshot into lookup indexes and a topology graph; topology only, no decisions.
//!
//! The [`Index`] answers "who owns this address", "which route table / NACL applies to this
//! subnet", "which interfaces carry this security group" in constant time, so that a trace
//! never scans the snapshot. The topology (a petgraph graph of VPCs, subnets and gateways)
//! tells whether two VPCs are connected at all.

mod prefixes;

pub use prefixes::PrefixTable;

use crate::model::{Cloud, InterfaceKind, RouteTarget, TgwResource};
use petgraph::graph::{NodeIndex, UnGraph};
use std::collections::HashMap;

/// A hash map with a fast (not DoS-resistant) hasher, for lookups by id and address.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::net::{IpAddr, Ipv4Addr};

/// Lookup tables over a snapshot's cloud model.
#[derive(Debug, Default)]
pub struct Index {
    /// Private address (v4 and v6) → interface id.
    pub ip_owner: FastMap<IpAddr, String>,
    /// Delegated prefixes → interface id, in interface order.
    pub prefix_owner: Vec<(ipnet::IpNet, String)>,
    /// `prefix_owner` indexed by network (rebuilt by [`Index::build`]).
    prefix_table: PrefixTable,
    /// Public IPv4 → (interface id, private address).
    pub public_owner: FastMap<Ipv4Addr, (String, IpAddr)>,
    /// Subnet → route table id (explicit association, else the VPC's main table).
    pub subnet_route_table: FastMap<String, String>,
    /// Subnet → whether the association was explicit.
    pub subnet_route_table_explicit: FastMap<String, bool>,
    /// Gateway (igw/vgw) → edge route table id.
    pub gateway_route_table: FastMap<String, String>,
    /// Subnet → network ACL id (explicit association, else the VPC's default NACL).
    pub subnet_nacl: FastMap<String, String>,
    /// Security group → interfaces carrying it.
    pub group_members: FastMap<String, Vec<String>>,
    /// VPC → its subnets.
    pub vpc_subnets: FastMap<String, Vec<String>>,
    /// VPC → attached internet gateways (not egress-only).
    pub vpc_igw: FastMap<String, String>,
    /// VPC → attached virtual private gateways.
    pub vpc_vgw: FastMap<String, String>,
    /// Interface → NAT gateway id.
    pub nat_by_interface: FastMap<String, String>,
    /// Interface → load balancer ARN.
    pub lb_by_interface: FastMap<String, String>,
    /// Interface → interface VPC endpoint id.
    pub endpoint_by_interface: FastMap<String, String>,
    /// (TGW, VPC) → VPC attachment id.
    pub tgw_vpc_attachment: FastMap<(String, String), String>,
    /// VPN tunnel outside address → VPN connection id.
    pub vpn_outside: FastMap<IpAddr, String>,
    /// The cluster's joins to the cloud (empty without cluster inputs).
    pub cluster: crate::kube::join::ClusterIndex,
    /// The topology graph.
    pub topology: UnGraph<String, ()>,
    nodes: FastMap<String, NodeIndex>,
}

impl Index {
    /// Compiles a whole snapshot: the cloud index and the cluster's joins to it.
    pub fn compile(snap: &crate::model::Snapshot) -> Index {
        let mut ix = Index::build(&snap.cloud);
        ix.cluster = crate::kube::join::ClusterIndex::build(&snap.cluster, &snap.cloud);
        ix
    }

    /// Builds the index of a cloud model alone.
    pub fn build(cloud: &Cloud) -> Index {
        let mut ix = Index::default();
        for (id, eni) in &cloud.interfaces {
            for a in &eni.addresses {
                ix.ip_owner.entry(a.ip).or_insert_with(|| id.clone());
                if let Some(p) = a.public_ip {
                    ix.public_owner
                        .entry(p)
                        .or_insert_with(|| (id.clone(), a.ip));
                }
            }
            for a in &eni.ipv6_addresses {
                ix.ip_owner
                    .entry(IpAddr::V6(*a))
                    .or_insert_with(|| id.clone());
            }
            for p in &eni.prefixes {
                ix.prefix_owner.push((*p, id.clone()));
            }
            for g in &eni.groups {
                ix.group_members
                    .entry(g.clone())
                    .or_default()
                    .push(id.clone());
            }
            if eni.kind == InterfaceKind::NetworkLoadBalancer || eni.description.starts_with("ELB ")
            {
                if let Some(lb) = lb_for_description(cloud, &eni.description) {
                    ix.lb_by_interface.insert(id.clone(), lb);
                }
            }
        }
        for (id, nat) in &cloud.nat_gateways {
            for a in &nat.addresses {
                if let Some(eni) = &a.interface_id {
                    ix.nat_by_interface.insert(eni.clone(), id.clone());
                }
                if let (Some(pubip), Some(eni), Some(private)) =
                    (a.public_ip, &a.interface_id, a.private_ip)
                {
                    ix.public_owner
                        .entry(pubip)
                        .or_insert_with(|| (eni.clone(), private));
                }
            }
        }
        for (id, ep) in &cloud.vpc_endpoints {
            for eni in &ep.interface_ids {
                ix.endpoint_by_interface.insert(eni.clone(), id.clone());
            }
        }
        for (id, s) in &cloud.subnets {
            ix.vpc_subnets
                .entry(s.vpc_id.clone())
                .or_default()
                .push(id.clone());
        }
        let mut main_rtb: FastMap<&str, &str> = FastMap::default();
        for (id, rt) in &cloud.route_tables {
            if rt.main {
                main_rtb.insert(&rt.vpc_id, id);
            }
            for s in &rt.subnet_ids {
                ix.subnet_route_table.insert(s.clone(), id.clone());
                ix.subnet_route_table_explicit.insert(s.clone(), true);
            }
            for g in &rt.gateway_ids {
                ix.gateway_route_table.insert(g.clone(), id.clone());
            }
        }
        let mut default_acl: FastMap<&str, &str> = FastMap::default();
        for (id, acl) in &cloud.network_acls {
            if acl.is_default {
                default_acl.insert(&acl.vpc_id, id);
            }
            for s in &acl.subnet_ids {
                ix.subnet_nacl.insert(s.clone(), id.clone());
            }
        }
        for (id, s) in &cloud.subnets {
            if !ix.subnet_route_table.contains_key(id) {
                if let Some(rt) = main_rtb.get(s.vpc_id.as_str()) {
                    ix.subnet_route_table.insert(id.clone(), rt.to_string());
                    ix.subnet_route_table_explicit.insert(id.clone(), false);
                }
            }
            if !ix.subnet_nacl.contains_key(id) {
                if let Some(acl) = default_acl.get(s.vpc_id.as_str()) {
                    ix.subnet_nacl.insert(id.clone(), acl.to_string());
                }
            }
        }
        for (id, igw) in &cloud.internet_gateways {
            if !igw.egress_only {
                for v in &igw.vpc_ids {
                    ix.vpc_igw.insert(v.clone(), id.clone());
                }
            }
        }
        for (id, vgw) in &cloud.vpn_gateways {
            for v in &vgw.vpc_ids {
                ix.vpc_vgw.insert(v.clone(), id.clone());
            }
        }
        for (id, att) in &cloud.tgw_attachments {
            if let TgwResource::Vpc(vpc) = &att.resource {
                ix.tgw_vpc_attachment
                    .insert((att.tgw_id.clone(), vpc.clone()), id.clone());
            }
        }
        for (id, vpn) in &cloud.vpn_connections {
            for ip in &vpn.outside_ips {
                ix.vpn_outside.insert(*ip, id.clone());
            }
        }
        ix.prefix_table = PrefixTable::build(ix.prefix_owner.iter().map(|(p, _)| p));
        ix.build_topology(cloud);
        ix
    }

    fn node(&mut self, name: &str) -> NodeIndex {
        if let Some(n) = self.nodes.get(name) {
            return *n;
        }
        let n = self.topology.add_node(name.to_string());
        self.nodes.insert(name.to_string(), n);
        n
    }

    fn link(&mut self, a: &str, b: &str) {
        let (x, y) = (self.node(a), self.node(b));
        self.topology.update_edge(x, y, ());
    }

    fn build_topology(&mut self, cloud: &Cloud) {
        for (id, s) in &cloud.subnets {
            self.link(id, &s.vpc_id);
        }
        for (id, rt) in &cloud.route_tables {
            for r in rt.routes.iter().filter(|r| r.active) {
                match &r.target {
                    RouteTarget::Local => {}
                    t => self.link(&rt.vpc_id, t.id()),
                }
            }
            let _ = id;
        }
        for (id, p) in &cloud.peerings {
            if p.forwards() {
                self.link(id, &p.requester.vpc_id);
                self.link(id, &p.accepter.vpc_id);
            }
        }
        for (id, att) in &cloud.tgw_attachments {
            if !att.forwards() {
                continue;
            }
            self.link(id, &att.tgw_id);
            match &att.resource {
                TgwResource::Vpc(v) => self.link(id, v),
                TgwResource::Peering(t) => self.link(id, t),
                TgwResource::Vpn(v) => self.link(id, v),
                _ => {}
            }
        }
        for (id, igw) in &cloud.internet_gateways {
            for v in &igw.vpc_ids {
                self.link(id, v);
                self.link(id, "internet");
            }
        }
    }

    /// True when the topology has any connection between two places (VPC ids, gateway ids…).
    pub fn connected(&self, a: &str, b: &str) -> bool {
        match (self.nodes.get(a), self.nodes.get(b)) {
            (Some(x), Some(y)) => petgraph::algo::has_path_connecting(&self.topology, *x, *y, None),
            _ => false,
        }
    }

    /// The interface owning a private address (including delegated prefixes).
    pub fn owner_of(&self, ip: IpAddr) -> Option<&str> {
        self.ip_owner.get(&ip).map(String::as_str).or_else(|| {
            if self.prefix_table.len() == self.prefix_owner.len() {
                let i = self.prefix_table.first_holding(ip)?;
                return self.prefix_owner.get(i).map(|(_, e)| e.as_str());
            }
            // The list was changed after the index was built: scan it.
            self.prefix_owner
                .iter()
                .find(|(p, _)| p.contains(&ip))
                .map(|(_, e)| e.as_str())
        })
    }
}

/// `ELB net/NAME/ID` or `ELB app/NAME/ID` → the ARN of that load balancer.
fn lb_for_description(cloud: &Cloud, description: &str) -> Option<String> {
    let rest = description.strip_prefix("ELB ")?;
    cloud
        .load_balancers
        .keys()
        .find(|arn| arn.ends_with(&format!("loadbalancer/{rest}")))
        .cloned()
}
