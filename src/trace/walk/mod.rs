//! The hop loop: one handler per kind of place, each returning where the packet goes next.

mod cluster;
mod lb;
mod mesh;
mod netpol;
mod proxy;
mod service_index;
mod tgw;

use super::names::host_name;
use super::state::{PathState, ReplyCheck, Rewrite};
use super::types::*;
use super::{Query, TraceResult, LINUX_EPHEMERAL, NAT_EPHEMERAL};
use crate::eval::lpm::{self, Candidate};
use crate::eval::nacl::{self, AclDecision, AclDirection};
use crate::eval::sg::{self, SgContext, SgDecision, SgDirection};
use crate::graph::Index;
use crate::model::*;
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Where a flow starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A host's interface sends it.
    Interface(String),
    /// A host on the internet sends it.
    Internet,
    /// Injected at a subnet's router (for addresses no interface owns).
    Subnet(String),
    /// Injected at a VPC's router.
    Vpc(String),
    /// Arrives from a virtual private gateway.
    VpnGateway(String),
    /// Arrives over a VPN connection from the customer side.
    VpnConnection(String),
    /// A pod (`namespace/name`) sends it.
    Pod(String),
    /// A node's host network (node name) sends it.
    Node(String),
}

/// Where the packet is next.
#[derive(Debug, Clone)]
enum Loc {
    Originate(String),
    Arrive(String),
    SubnetOut(String),
    SubnetIn(String),
    VpcLocal(String),
    VpcTo(String, RouteTarget),
    Igw { id: String, outbound: bool },
    Nat(String),
    Tgw { id: String, attachment: String },
    Vgw { id: String, outbound: bool },
    VpnPeer(String),
    GatewayEndpoint(String),
    Backbone { outbound: bool },
    InternetStart,
    InternetDst,
    PodSend(usize),
    NodeStack(String),
    PodDeliver(usize),
}

enum Next {
    Go(Loc),
    Done(Disposition),
    Branch(Vec<(PathState, Next)>),
}

/// Traces flows through one compiled snapshot.
pub struct Tracer<'a> {
    /// The snapshot.
    pub snap: &'a Snapshot,
    /// Its index.
    pub ix: &'a Index,
    assumptions: std::cell::RefCell<BTreeSet<String>>,
    http: std::cell::RefCell<Option<crate::policy::istio::HttpAttrs>>,
    proxy_cache: std::cell::RefCell<std::collections::HashMap<String, proxy::NodeProxy>>,
    netpol: std::cell::OnceCell<crate::policy::netpol::PolicyContext<'a>>,
    services: std::cell::OnceCell<service_index::ServiceIndex>,
    pod_policies: std::cell::RefCell<netpol::PodPolicies<'a>>,
}

struct Ctx<'a>(&'a Snapshot, &'a Index);

impl SgContext for Ctx<'_> {
    fn prefix_list(&self, id: &str) -> Option<Vec<IpNet>> {
        self.0
            .cloud
            .prefix_lists
            .get(id)
            .and_then(|p| p.cidrs.clone())
    }
    fn group_holds(&self, group_id: &str, ip: IpAddr) -> bool {
        match self.1.owner_of(ip) {
            Some(eni) => self
                .0
                .cloud
                .interfaces
                .get(eni)
                .is_some_and(|e| e.groups.iter().any(|g| g == group_id)),
            None => false,
        }
    }
    fn group_known(&self, group_id: &str) -> bool {
        self.0.cloud.security_groups.contains_key(group_id)
    }
}

const MAX_HOPS: usize = 64;

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || a.is_unspecified()
        }
        IpAddr::V6(a) => {
            (a.segments()[0] & 0xfe00) == 0xfc00
                || a.is_loopback()
                || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

impl<'a> Tracer<'a> {
    /// A tracer over a snapshot and its index.
    pub fn new(snap: &'a Snapshot, ix: &'a Index) -> Self {
        Tracer {
            snap,
            ix,
            assumptions: Default::default(),
            http: Default::default(),
            proxy_cache: Default::default(),
            netpol: std::cell::OnceCell::new(),
            services: std::cell::OnceCell::new(),
            pod_policies: Default::default(),
        }
    }

    fn cloud(&self) -> &'a Cloud {
        &self.snap.cloud
    }

    fn assume(&self, s: impl Into<String>) {
        self.assumptions.borrow_mut().insert(s.into());
    }

    /// Traces one concrete query: every path, each with its reply.
    pub fn trace(&self, q: &Query) -> TraceResult {
        self.assumptions.borrow_mut().clear();
        *self.http.borrow_mut() = q.http.clone();
        let mut paths = Vec::with_capacity(q.dst_ips.len());
        for dst in &q.dst_ips {
            let (src_port, src_ports) = match q.src_port {
                Some(p) => (p, PortRange::single(p)),
                None if q.protocol.has_ports() => {
                    let r = if q.start == Start::Internet {
                        NAT_EPHEMERAL
                    } else {
                        LINUX_EPHEMERAL
                    };
                    self.assume(crate::cat!(
                        "client source port assumed in ",
                        r,
                        " (",
                        if r == LINUX_EPHEMERAL {
                            "Linux ephemeral range"
                        } else {
                            "any client: 1024-65535"
                        },
                        "); the reply must pass NACLs on that range"
                    ));
                    (r.lo, r)
                }
                None => (q.icmp_type, PortRange::single(q.icmp_type)),
            };
            let pkt = Packet {
                src: q.src_ip,
                dst: *dst,
                protocol: q.protocol,
                src_port,
                dst_port: q.dst_port,
            };
            let mut st = PathState::new(pkt, src_ports);
            st.local_origin = matches!(q.start, Start::Node(_));
            let loc = match &q.start {
                Start::Interface(e) => Loc::Originate(e.clone()),
                Start::Internet => Loc::InternetStart,
                Start::Subnet(s) => Loc::SubnetOut(s.clone()),
                Start::Vpc(v) => Loc::VpcLocal(v.clone()),
                Start::VpnGateway(v) => Loc::Vgw {
                    id: v.clone(),
                    outbound: false,
                },
                Start::VpnConnection(v) => Loc::VpnPeer(v.clone()),
                Start::Pod(k) => Loc::PodSend(
                    self.ix
                        .cluster
                        .pod_by_key
                        .get(k)
                        .copied()
                        .unwrap_or(usize::MAX),
                ),
                Start::Node(n) => Loc::NodeStack(n.clone()),
            };
            self.run(st, loc, &mut paths);
        }
        if !self.snap.present.security_groups && self.snap.present.any_aws() {
            self.assume("security groups not checked: no `aws ec2 describe-security-groups` input");
        }
        if !self.snap.present.network_acls && self.snap.present.any_aws() {
            self.assume("network ACLs not checked: no `aws ec2 describe-network-acls` input");
        }
        let reachable = Reachable::of(&paths);
        TraceResult {
            reachable,
            assumptions: std::mem::take(&mut *self.assumptions.borrow_mut())
                .into_iter()
                .collect(),
            paths,
        }
    }

    fn run(&self, st: PathState, loc: Loc, out: &mut Vec<Path>) {
        self.run_next(st, Next::Go(loc), out)
    }

    fn run_next(&self, mut st: PathState, next: Next, out: &mut Vec<Path>) {
        let mut loc = match next {
            Next::Go(l) => l,
            Next::Done(d) => {
                out.push(self.finish(st, d));
                return;
            }
            Next::Branch(v) => {
                for (s, n) in v {
                    self.run_next(s, n, out);
                }
                return;
            }
        };
        loop {
            if st.hops.len() >= MAX_HOPS {
                st.step(Step::new(
                    StepKind::Drop,
                    Layer::Routing,
                    Action::Denied,
                    "hop limit",
                    format!("more than {MAX_HOPS} hops: forwarding loop"),
                ));
                out.push(self.finish(st, Disposition::Loop));
                return;
            }
            match self.visit(&mut st, loc) {
                Next::Go(l) => loc = l,
                Next::Done(d) => {
                    out.push(self.finish(st, d));
                    return;
                }
                Next::Branch(v) => {
                    for (s, n) in v {
                        self.run_next(s, n, out);
                    }
                    return;
                }
            }
        }
    }

    fn finish(&self, st: PathState, forward: Disposition) -> Path {
        if !forward.is_success() {
            return Path {
                disposition: forward,
                hops: st.hops,
                forward,
                reply: Vec::new(),
            };
        }
        let (reply, ok) = super::reply::evaluate_reply(self.cloud(), &st);
        let disposition = if ok { forward } else { Disposition::Denied };
        Path {
            disposition,
            hops: st.hops,
            forward,
            reply,
        }
    }

    fn enter(&self, st: &mut PathState, at: &str, kind: NodeKind) -> bool {
        if !st.enter(at, kind) {
            st.step(Step::new(
                StepKind::Drop,
                Layer::Routing,
                Action::Denied,
                "loop",
                format!("{at} reached again with the same packet: forwarding loop"),
            ));
            return false;
        }
        true
    }

    fn visit(&self, st: &mut PathState, loc: Loc) -> Next {
        match loc {
            Loc::Originate(eni) => self.originate(st, &eni),
            Loc::Arrive(eni) => self.arrive(st, &eni),
            Loc::SubnetOut(s) => self.subnet_out(st, &s),
            Loc::SubnetIn(s) => self.subnet_in(st, &s),
            Loc::VpcLocal(v) => self.vpc_local(st, &v),
            Loc::VpcTo(v, t) => self.vpc_to(st, &v, t),
            Loc::Igw { id, outbound } => self.igw(st, &id, outbound),
            Loc::Nat(id) => self.nat(st, &id),
            Loc::Tgw { id, attachment } => self.tgw(st, &id, &attachment),
            Loc::Vgw { id, outbound } => self.vgw(st, &id, outbound),
            Loc::VpnPeer(id) => self.vpn_peer(st, &id),
            Loc::GatewayEndpoint(id) => self.gateway_endpoint(st, &id),
            Loc::Backbone { outbound } => self.backbone(st, outbound),
            Loc::InternetStart => self.internet_start(st),
            Loc::PodSend(p) => self.pod_send(st, p),
            Loc::NodeStack(n) => self.node_stack(st, &n),
            Loc::PodDeliver(p) => self.pod_deliver(st, p),
            Loc::InternetDst => {
                if !self.enter(st, "internet", NodeKind::External) {
                    return Next::Done(Disposition::Loop);
                }
                st.step(Step::new(
                    StepKind::Deliver,
                    Layer::Gateway,
                    Action::Exited,
                    "internet",
                    format!(
                        "{} is on the internet: leaves the modelled network",
                        st.pkt.dst
                    ),
                ));
                Next::Done(Disposition::ExitsNetwork)
            }
        }
    }

    // ----- hosts -------------------------------------------------------------------------

    fn unknown(
        &self,
        st: &mut PathState,
        layer: Layer,
        rule: impl Into<String>,
        detail: impl Into<String>,
    ) -> Next {
        st.step(Step::new(
            StepKind::Drop,
            layer,
            Action::Unknown,
            rule,
            detail,
        ));
        Next::Done(Disposition::Unknown)
    }

    fn deny(&self, st: &mut PathState, step: Step) -> Next {
        st.step(step);
        Next::Done(Disposition::Denied)
    }

    /// Evaluates the security groups of an interface; returns `None` when the packet passes.
    fn check_sg(&self, st: &mut PathState, eni: &Interface, dir: SgDirection) -> Option<Next> {
        if eni.groups.is_empty() {
            return None;
        }
        if !self.snap.present.security_groups {
            return None;
        }
        let mut groups = Vec::with_capacity(eni.groups.len());
        for g in &eni.groups {
            match self.cloud().security_groups.get(g) {
                Some(sg) => groups.push(sg),
                None => {
                    return Some(self.unknown(st, Layer::SecurityGroup, g.clone(), format!(
                        "{} carries security group {g}, which is not in the snapshot: add `aws ec2 describe-security-groups --group-ids {g}`", eni.id)));
                }
            }
        }
        let (dir_name, peer) = match dir {
            SgDirection::Ingress => ("ingress", st.pkt.src),
            SgDirection::Egress => ("egress", st.pkt.dst),
        };
        let ids = || groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>();
        match sg::evaluate(&groups, dir, &st.pkt, &Ctx(self.snap, self.ix)) {
            SgDecision::Allowed { group, index, rule } => {
                let what = describe_sg_rule(rule);
                st.step(
                    Step::new(
                        StepKind::Filter,
                        Layer::SecurityGroup,
                        Action::Permitted,
                        crate::cat!(group.id, ' ', dir_name, '[', index, ']'),
                        crate::cat!(eni.id, ' ', dir_name, ": ", what, " matches ", peer),
                    )
                    .at(&rule.prov),
                );
                let hop = st.hop_index();
                const STATEFUL: &str = " (security groups are stateful)";
                let mut stateful = String::with_capacity(
                    groups.iter().map(|g| g.id.len() + 2).sum::<usize>() + STATEFUL.len(),
                );
                for (i, g) in groups.iter().enumerate() {
                    if i > 0 {
                        stateful.push_str(", ");
                    }
                    stateful.push_str(&g.id);
                }
                stateful.push_str(STATEFUL);
                st.stateful_hops.push((hop, stateful));
                None
            }
            SgDecision::NoRuleMatched => {
                let first = groups[0];
                let code = if groups.iter().all(|g| match dir {
                    SgDirection::Ingress => g.ingress.is_empty(),
                    SgDirection::Egress => g.egress.is_empty(),
                }) {
                    "SG_HAS_NO_RULES"
                } else {
                    "ENI_SG_RULES_MISMATCH"
                };
                Some(
                    self.deny(
                        st,
                        Step::new(
                            StepKind::Filter,
                            Layer::SecurityGroup,
                            Action::Denied,
                            format!("{} {dir_name} (no rule matched)", ids().join(",")),
                            format!(
                                "no {dir_name} rule of {} on {} allows {} {} {}",
                                ids().join(", "),
                                eni.id,
                                st.pkt.protocol,
                                if matches!(dir, SgDirection::Ingress) {
                                    "from"
                                } else {
                                    "to"
                                },
                                describe_peer_port(&st.pkt, dir)
                            ),
                        )
                        .at(&first.prov)
                        .code(code),
                    ),
                )
            }
            SgDecision::Unknown(why) => {
                Some(self.unknown(st, Layer::SecurityGroup, ids().join(","), why))
            }
        }
    }

    fn instance_forwards(&self, st: &mut PathState, eni: &Interface) -> Option<Next> {
        if let Some(inst) = eni
            .instance_id
            .as_ref()
            .and_then(|i| self.cloud().instances.get(i))
        {
            if !inst.forwards() {
                return Some(
                    self.deny(
                        st,
                        Step::new(
                            StepKind::Drop,
                            Layer::Fabric,
                            Action::Denied,
                            inst.id.clone(),
                            format!(
                                "instance {} is {}: it neither sends nor receives",
                                inst.id, inst.state
                            ),
                        )
                        .at(&inst.prov)
                        .code("BAD_STATE"),
                    ),
                );
            }
        }
        None
    }

    fn originate(&self, st: &mut PathState, eni_id: &str) -> Next {
        let Some(eni) = self.cloud().interfaces.get(eni_id) else {
            return self.unknown(st, Layer::Fabric, eni_id, format!("interface {eni_id} is not in the snapshot: add `aws ec2 describe-network-interfaces`"));
        };
        let name = host_name(self.snap, self.ix, eni_id);
        if !self.enter(st, &name, NodeKind::Host) {
            return Next::Done(Disposition::Loop);
        }
        st.origin_vpc = Some(eni.vpc_id.clone());
        if let Some(n) = self.instance_forwards(st, eni) {
            return n;
        }
        if eni.kind == InterfaceKind::VpcEndpoint {
            return self.deny(
                st,
                Step::new(
                    StepKind::Drop,
                    Layer::Fabric,
                    Action::Denied,
                    eni_id,
                    "interface endpoints never initiate connections",
                )
                .at(&eni.prov),
            );
        }
        if let Some(n) = self.check_sg(st, eni, SgDirection::Egress) {
            return n;
        }
        if eni.owns(st.pkt.dst) {
            st.step(
                Step::new(
                    StepKind::Deliver,
                    Layer::Fabric,
                    Action::Accepted,
                    eni_id,
                    "destination is the sender itself",
                )
                .at(&eni.prov),
            );
            return Next::Done(Disposition::Delivered);
        }
        self.leave_interface(st, eni)
    }

    /// A packet leaves an interface: same-subnet destinations are delivered at layer 2 (no
    /// route table, no NACL); anything else goes to the subnet router.
    fn leave_interface(&self, st: &mut PathState, eni: &Interface) -> Next {
        let Some(subnet) = self.cloud().subnets.get(&eni.subnet_id) else {
            return self.unknown(
                st,
                Layer::Fabric,
                eni.subnet_id.clone(),
                format!(
                    "subnet {} of {} is not in the snapshot: add `aws ec2 describe-subnets`",
                    eni.subnet_id, eni.id
                ),
            );
        };
        if subnet.contains(st.pkt.dst) {
            if let Some(owner) = self.ix.owner_of(st.pkt.dst).map(str::to_string) {
                let in_subnet = self
                    .cloud()
                    .interfaces
                    .get(&owner)
                    .is_some_and(|o| o.subnet_id == subnet.id);
                if in_subnet {
                    st.step(Step::new(StepKind::VpcFabric, Layer::Fabric, Action::Forwarded, subnet.id.clone(),
                        format!("{} is in the same subnet {}: delivered directly, no route table or NACL", st.pkt.dst, subnet.id)).at(&subnet.prov));
                    return Next::Go(Loc::Arrive(owner));
                }
            }
            if !reserved_in_subnet(subnet, st.pkt.dst) {
                st.step(
                    Step::new(
                        StepKind::Drop,
                        Layer::Fabric,
                        Action::NoRoute,
                        subnet.id.clone(),
                        format!("no interface in {} owns {}", subnet.id, st.pkt.dst),
                    )
                    .at(&subnet.prov),
                );
                return Next::Done(Disposition::NeighborUnreachable);
            }
        }
        st.step(Step::new(
            StepKind::VpcFabric,
            Layer::Fabric,
            Action::Forwarded,
            eni.id.clone(),
            crate::cat!("sent to the router of ", subnet.id),
        ));
        Next::Go(Loc::SubnetOut(subnet.id.clone()))
    }

    fn arrive(&self, st: &mut PathState, eni_id: &str) -> Next {
        let Some(eni) = self.cloud().interfaces.get(eni_id) else {
            return self.unknown(
                st,
                Layer::Fabric,
                eni_id,
                format!("interface {eni_id} is not in the snapshot"),
            );
        };
        if let Some(lb_arn) = self.ix.lb_by_interface.get(eni_id) {
            return self.lb_node(st, lb_arn, eni);
        }
        let name = host_name(self.snap, self.ix, eni_id);
        if !self.enter(st, &name, NodeKind::Host) {
            return Next::Done(Disposition::Loop);
        }
        if let Some(nat) = self.ix.nat_by_interface.get(eni_id) {
            let prov = self.cloud().nat_gateways.get(nat).map(|n| n.prov.clone());
            return self.deny(st, Step::new(StepKind::Filter, Layer::Gateway, Action::Denied, nat.clone(),
                "a NAT gateway accepts no connections to itself (no session matches: only replies to connections it translated come back)").at_opt(prov.as_ref()));
        }
        if let Some(n) = self.instance_forwards(st, eni) {
            return n;
        }
        if !eni.owns(st.pkt.dst) {
            if eni.source_dest_check {
                return self.deny(
                    st,
                    Step::new(
                        StepKind::Drop,
                        Layer::Fabric,
                        Action::Denied,
                        format!("{} source/dest check", eni.id),
                        format!(
                            "{} does not own {} and has source/destination check on",
                            eni.id, st.pkt.dst
                        ),
                    )
                    .at(&eni.prov)
                    .code("ENI_SOURCE_DEST_CHECK_RESTRICTION"),
                );
            }
            if !self.local_pod_of(eni, st.pkt.dst) {
                return self.unknown(st, Layer::Fabric, eni.id.clone(), format!("{} forwards for {} (source/destination check off): what the appliance does next is not modelled", eni.id, st.pkt.dst));
            }
        }
        if let Some(n) = self.check_sg(st, eni, SgDirection::Ingress) {
            return n;
        }
        if let Some(next) = self.hand_to_node(st, eni) {
            return next;
        }
        st.step(
            Step::new(
                StepKind::Deliver,
                Layer::Fabric,
                Action::Accepted,
                eni.id.clone(),
                crate::cat!("delivered to ", st.pkt.dst, " on ", eni.id),
            )
            .at(&eni.prov),
        );
        Next::Done(Disposition::Delivered)
    }

    // ----- subnet routers -----------------------------------------------------------------

    fn check_nacl(&self, st: &mut PathState, subnet: &Subnet, dir: AclDirection) -> Option<Next> {
        if !self.snap.present.network_acls {
            return None;
        }
        let Some(acl) = self
            .ix
            .subnet_nacl
            .get(&subnet.id)
            .and_then(|a| self.cloud().network_acls.get(a))
        else {
            return Some(self.unknown(st, Layer::Nacl, subnet.id.clone(), format!(
                "no network ACL for {} (and no default NACL of {}) in the snapshot: add `aws ec2 describe-network-acls`", subnet.id, subnet.vpc_id)));
        };
        let dname = if dir == AclDirection::Inbound {
            "inbound"
        } else {
            "outbound"
        };
        let decision = nacl::evaluate(acl, dir, &st.pkt);
        let (rule, prov) = match decision {
            AclDecision::Entry(e, _) => (
                crate::cat!(acl.id, ' ', dname, " rule ", e.number),
                Some(e.prov.clone()),
            ),
            AclDecision::ImplicitDeny => (
                format!("{} {dname} rule * (default deny)", acl.id),
                Some(acl.prov.clone()),
            ),
        };
        if !decision.allows() {
            return Some(
                self.deny(
                    st,
                    Step::new(
                        StepKind::Filter,
                        Layer::Nacl,
                        Action::Denied,
                        rule,
                        format!("{} {dname} denies {}", acl.id, st.pkt),
                    )
                    .at_opt(prov.as_ref())
                    .code("SUBNET_ACL_RESTRICTION"),
                ),
            );
        }
        st.step(
            Step::new(
                StepKind::Filter,
                Layer::Nacl,
                Action::Permitted,
                rule,
                crate::cat!(acl.id, ' ', dname, " allows it"),
            )
            .at_opt(prov.as_ref()),
        );
        let reverse = if dir == AclDirection::Inbound {
            AclDirection::Outbound
        } else {
            AclDirection::Inbound
        };
        st.reply_checks.push(ReplyCheck {
            hop: st.hop_index(),
            acl_id: acl.id.clone(),
            dir: reverse,
            packet: st.pkt.reversed(),
            reply_dst_ports: st.src_ports,
        });
        None
    }

    fn subnet_out(&self, st: &mut PathState, subnet_id: &str) -> Next {
        let Some(subnet) = self.cloud().subnets.get(subnet_id) else {
            return self.unknown(
                st,
                Layer::Fabric,
                subnet_id,
                format!(
                    "subnet {subnet_id} is not in the snapshot: add `aws ec2 describe-subnets`"
                ),
            );
        };
        if !self.enter(st, subnet_id, NodeKind::SubnetRouter) {
            return Next::Done(Disposition::Loop);
        }
        if let Some(n) = self.check_nacl(st, subnet, AclDirection::Outbound) {
            return n;
        }
        let Some(rt) = self
            .ix
            .subnet_route_table
            .get(subnet_id)
            .and_then(|r| self.cloud().route_tables.get(r))
        else {
            return self.unknown(st, Layer::Routing, subnet_id, format!(
                "no route table for {subnet_id} (and no main table for {}): add `aws ec2 describe-route-tables`", subnet.vpc_id));
        };
        let Some(route) = self.lookup(rt, st.pkt.dst) else {
            // If the destination is in another VPC of the snapshot that nothing connects to this
            // one, say so: no route table change alone can fix that.
            let other_vpc = self
                .cloud()
                .vpcs
                .values()
                .find(|v| v.id != subnet.vpc_id && v.contains(st.pkt.dst));
            let (detail, code) = match other_vpc {
                Some(v) if !self.ix.connected(&subnet.vpc_id, &v.id) => (
                    format!(
                        "no route in {} matches {}; it is in {}, which is not connected to {} at all (no peering, transit gateway or VPN between them)",
                        rt.id, st.pkt.dst, v.id, subnet.vpc_id
                    ),
                    "DISCONNECTED_VPCS",
                ),
                _ => match self.hybrid_target(st.pkt.dst) {
                    Some((what, net)) => (
                        format!(
                            "no route in {} matches {}, {what} (on premises): the VPC needs a route for {net} to the transit gateway or virtual private gateway that reaches the on-premises network",
                            rt.id, st.pkt.dst
                        ),
                        "HYBRID_NO_ROUTE",
                    ),
                    None => (
                        format!("no route in {} matches {}", rt.id, st.pkt.dst),
                        "NO_ROUTE_TO_DESTINATION",
                    ),
                },
            };
            return self.deny_route(
                st,
                Step::new(
                    StepKind::Route,
                    Layer::Routing,
                    Action::NoRoute,
                    format!("{} (no route)", rt.id),
                    detail,
                )
                .at(&rt.prov)
                .code(code),
                Disposition::NoRoute,
            );
        };
        let rule = crate::cat!(
            rt.id,
            ' ',
            dest_text(&route.destination, st.pkt.dst, self.cloud()),
            " -> ",
            route.target.id()
        );
        if !route.active {
            return self.deny_route(st, Step::new(StepKind::Route, Layer::Routing, Action::Blackhole, rule,
                format!("the matching route's target {} no longer exists (state blackhole): packets are dropped", route.target.id())).at(&route.prov).code("BAD_STATE_ROUTE"), Disposition::Blackhole);
        }
        if let RouteTarget::TransitGateway(tgw) = &route.target {
            let serves_az = self
                .ix
                .tgw_vpc_attachment
                .get(&(tgw.clone(), subnet.vpc_id.clone()))
                .and_then(|a| self.cloud().tgw_attachments.get(a))
                .map(|a| {
                    a.subnet_ids.is_empty()
                        || a.subnet_ids.iter().any(|s| {
                            self.cloud()
                                .subnets
                                .get(s)
                                .is_some_and(|x| x.az == subnet.az)
                        })
                });
            if serves_az == Some(false) {
                return self.deny_route(st, Step::new(StepKind::Route, Layer::Routing, Action::Blackhole, rule,
                    format!("the transit gateway attachment of {} has no subnet in {}: traffic from this zone cannot enter {tgw}", subnet.vpc_id, subnet.az)).at(&route.prov).code("TGW_ROUTE_AZ_RESTRICTION"), Disposition::NoRoute);
            }
        }
        st.step(
            Step::new(
                StepKind::Route,
                Layer::Routing,
                Action::Forwarded,
                rule,
                crate::cat!(rt.id, " routes ", st.pkt.dst, " to ", route.target.id()),
            )
            .at(&route.prov),
        );
        match &route.target {
            RouteTarget::Local => Next::Go(Loc::VpcLocal(subnet.vpc_id.clone())),
            t => Next::Go(Loc::VpcTo(subnet.vpc_id.clone(), t.clone())),
        }
    }

    fn deny_route(&self, st: &mut PathState, step: Step, d: Disposition) -> Next {
        st.step(step);
        Next::Done(d)
    }

    /// An object on the path that exists but does not forward (deleted peering, failed NAT
    /// gateway, attachment being deleted): the packet is dropped there.
    #[allow(clippy::too_many_arguments)]
    fn inactive(
        &self,
        st: &mut PathState,
        kind: StepKind,
        layer: Layer,
        id: &str,
        what: String,
        prov: &crate::source::Provenance,
        code: &'static str,
    ) -> Next {
        let step = Step::new(kind, layer, Action::Blackhole, id, what)
            .at(prov)
            .code(code);
        self.deny_route(st, step, Disposition::Blackhole)
    }

    /// Longest-prefix match over one route table with AWS priorities.
    fn lookup<'r>(&self, rt: &'r RouteTable, dst: IpAddr) -> Option<&'r Route> {
        let mut cands = Vec::with_capacity(rt.routes.len());
        let mut owners = Vec::with_capacity(rt.routes.len());
        for (i, r) in rt.routes.iter().enumerate() {
            let class = match r.origin {
                RouteOrigin::Local => 0,
                RouteOrigin::Static => 1,
                RouteOrigin::Propagated => 3,
            };
            match &r.destination {
                RouteDestination::Cidr(c) => {
                    cands.push(Candidate { prefix: *c, class, propagated: class == 3 });
                    owners.push(i);
                }
                RouteDestination::PrefixList(pl) => match self.cloud().prefix_lists.get(pl).and_then(|p| p.cidrs.as_ref()) {
                    Some(cidrs) => {
                        for c in cidrs {
                            cands.push(Candidate { prefix: *c, class: class.max(2), propagated: false });
                            owners.push(i);
                        }
                    }
                    None => self.assume(format!("prefix list {pl} (a route destination in {}) has no entries in the snapshot; its route was ignored", rt.id)),
                },
            }
        }
        lpm::lookup(&cands, dst).map(|k| &rt.routes[owners[k]])
    }

    fn subnet_in(&self, st: &mut PathState, subnet_id: &str) -> Next {
        let Some(subnet) = self.cloud().subnets.get(subnet_id) else {
            return self.unknown(
                st,
                Layer::Fabric,
                subnet_id,
                format!("subnet {subnet_id} is not in the snapshot"),
            );
        };
        if !self.enter(st, subnet_id, NodeKind::SubnetRouter) {
            return Next::Done(Disposition::Loop);
        }
        if let Some(n) = self.check_nacl(st, subnet, AclDirection::Inbound) {
            return n;
        }
        match self.ix.owner_of(st.pkt.dst) {
            Some(owner)
                if self
                    .cloud()
                    .interfaces
                    .get(owner)
                    .is_some_and(|o| o.subnet_id == subnet_id) =>
            {
                st.step(Step::new(
                    StepKind::VpcFabric,
                    Layer::Fabric,
                    Action::Forwarded,
                    owner.to_string(),
                    crate::cat!(st.pkt.dst, " is owned by ", owner),
                ));
                Next::Go(Loc::Arrive(owner.to_string()))
            }
            _ => {
                st.step(
                    Step::new(
                        StepKind::Drop,
                        Layer::Fabric,
                        Action::NoRoute,
                        subnet_id,
                        format!("no interface in {subnet_id} owns {}", st.pkt.dst),
                    )
                    .at(&subnet.prov),
                );
                Next::Done(Disposition::NeighborUnreachable)
            }
        }
    }

    // ----- VPC router -----------------------------------------------------------------------

    fn vpc_local(&self, st: &mut PathState, vpc_id: &str) -> Next {
        if !self.enter(st, vpc_id, NodeKind::VpcRouter) {
            return Next::Done(Disposition::Loop);
        }
        let Some(vpc) = self.cloud().vpcs.get(vpc_id) else {
            return self.unknown(
                st,
                Layer::Routing,
                vpc_id,
                format!("VPC {vpc_id} is not in the snapshot: add `aws ec2 describe-vpcs`"),
            );
        };
        let subnet = self
            .ix
            .vpc_subnets
            .get(vpc_id)
            .into_iter()
            .flatten()
            .filter_map(|s| self.cloud().subnets.get(s))
            .find(|s| s.contains(st.pkt.dst));
        match subnet {
            Some(s) => {
                st.step(
                    Step::new(
                        StepKind::Route,
                        Layer::Routing,
                        Action::Forwarded,
                        crate::cat!(vpc_id, " local"),
                        crate::cat!(
                            st.pkt.dst,
                            " is in ",
                            s.id,
                            " (",
                            cidr_text(s, st.pkt.dst),
                            ')'
                        ),
                    )
                    .at(&vpc.prov),
                );
                Next::Go(Loc::SubnetIn(s.id.clone()))
            }
            None => {
                // An interface of this VPC holds the address but its subnet is not in the
                // snapshot: the answer depends on that subnet (NACL, delivery), so say so.
                if let Some(eni) = self
                    .ix
                    .owner_of(st.pkt.dst)
                    .and_then(|e| self.cloud().interfaces.get(e))
                    .filter(|e| {
                        e.vpc_id == vpc_id && !self.cloud().subnets.contains_key(&e.subnet_id)
                    })
                {
                    let detail = format!(
                        "{} is held by {} in subnet {}, which is not in the snapshot: add `aws ec2 describe-subnets --subnet-ids {}`",
                        st.pkt.dst, eni.id, eni.subnet_id, eni.subnet_id
                    );
                    return self.unknown(st, Layer::Routing, eni.subnet_id.clone(), detail);
                }
                let why = if vpc.contains(st.pkt.dst) {
                    "is inside the VPC's CIDR but in no subnet"
                } else {
                    "is not in this VPC"
                };
                st.step(
                    Step::new(
                        StepKind::Route,
                        Layer::Routing,
                        Action::NoRoute,
                        format!("{vpc_id} local"),
                        format!("{} {why}: dropped by the VPC router", st.pkt.dst),
                    )
                    .at(&vpc.prov)
                    .code("NO_ROUTE_TO_DESTINATION"),
                );
                Next::Done(Disposition::NoRoute)
            }
        }
    }

    fn vpc_to(&self, st: &mut PathState, vpc_id: &str, target: RouteTarget) -> Next {
        if !self.enter(st, vpc_id, NodeKind::VpcRouter) {
            return Next::Done(Disposition::Loop);
        }
        match target {
            RouteTarget::Local => Next::Go(Loc::VpcLocal(vpc_id.to_string())),
            RouteTarget::InternetGateway(id) | RouteTarget::EgressOnlyInternetGateway(id) => {
                match self.cloud().internet_gateways.get(&id) {
                    Some(g) if g.vpc_ids.iter().any(|v| v == vpc_id) => Next::Go(Loc::Igw { id, outbound: true }),
                    Some(g) => self.deny_route(st, Step::new(StepKind::Route, Layer::Gateway, Action::Blackhole, id.clone(), format!("{id} is not attached to {vpc_id}")).at(&g.prov).code("BAD_STATE_ROUTE"), Disposition::Blackhole),
                    None => self.unknown(st, Layer::Gateway, id.clone(), format!("internet gateway {id} is not in the snapshot: add `aws ec2 describe-internet-gateways`")),
                }
            }
            RouteTarget::NatGateway(id) => Next::Go(Loc::Nat(id)),
            RouteTarget::Peering(id) => self.peering(st, vpc_id, &id),
            RouteTarget::TransitGateway(id) => match self.ix.tgw_vpc_attachment.get(&(id.clone(), vpc_id.to_string())) {
                Some(att) => Next::Go(Loc::Tgw { id, attachment: att.clone() }),
                None => self.unknown(st, Layer::Gateway, id.clone(), format!("no attachment of {id} to {vpc_id} in the snapshot: add `aws ec2 describe-transit-gateway-attachments`")),
            },
            RouteTarget::VpnGateway(id) => Next::Go(Loc::Vgw { id, outbound: true }),
            RouteTarget::VpcEndpoint(id) => Next::Go(Loc::GatewayEndpoint(id)),
            RouteTarget::Interface(eni) => match self.cloud().interfaces.get(&eni) {
                Some(e) => {
                    let subnet = e.subnet_id.clone();
                    st.step(Step::new(StepKind::Route, Layer::Routing, Action::Forwarded, eni.clone(), format!("to appliance interface {eni} in {subnet}")));
                    self.appliance(st, e)
                }
                None => self.unknown(st, Layer::Routing, eni.clone(), format!("route target {eni} is not in the snapshot")),
            },
            RouteTarget::Instance(i) => {
                let eni = self.cloud().instances.get(&i).and_then(|x| x.interface_ids.first().cloned());
                match eni.and_then(|e| self.cloud().interfaces.get(&e)) {
                    Some(e) => self.appliance(st, e),
                    None => self.unknown(st, Layer::Routing, i.clone(), format!("route target {i} is not in the snapshot")),
                }
            }
            other => {
                st.step(Step::new(StepKind::Deliver, Layer::Gateway, Action::Exited, other.id().to_string(), format!("handed to {}: beyond it is not modelled", other.id())));
                Next::Done(Disposition::ExitsNetwork)
            }
        }
    }

    fn appliance(&self, st: &mut PathState, e: &Interface) -> Next {
        let name = host_name(self.snap, self.ix, &e.id);
        if !self.enter(st, &name, NodeKind::Host) {
            return Next::Done(Disposition::Loop);
        }
        if let Some(n) = self.check_sg(st, e, SgDirection::Ingress) {
            return n;
        }
        if e.source_dest_check && !e.owns(st.pkt.dst) {
            return self.deny(st, Step::new(StepKind::Drop, Layer::Fabric, Action::Denied, format!("{} source/dest check", e.id),
                format!("{} receives traffic for {} it does not own with source/destination check on", e.id, st.pkt.dst)).at(&e.prov).code("ENI_SOURCE_DEST_CHECK_RESTRICTION"));
        }
        self.unknown(
            st,
            Layer::Fabric,
            e.id.clone(),
            format!(
                "{} is a network appliance: what it forwards is not modelled",
                e.id
            ),
        )
    }

    fn peering(&self, st: &mut PathState, vpc_id: &str, id: &str) -> Next {
        let Some(p) = self.cloud().peerings.get(id) else {
            return self.unknown(st, Layer::Gateway, id, format!("peering {id} is not in the snapshot: add `aws ec2 describe-vpc-peering-connections`"));
        };
        if !p.forwards() {
            let what = format!("peering {id} is {}", p.status);
            return self.inactive(
                st,
                StepKind::Route,
                Layer::Gateway,
                id,
                what,
                &p.prov,
                "BAD_STATE",
            );
        }
        let Some(other) = p.other_side(vpc_id) else {
            return self.unknown(
                st,
                Layer::Gateway,
                id,
                format!("peering {id} does not connect {vpc_id}"),
            );
        };
        let local_cidrs: Vec<IpNet> = self
            .cloud()
            .vpcs
            .get(vpc_id)
            .map(|v| v.cidrs())
            .unwrap_or_default();
        let peer_cidrs: Vec<IpNet> = if other.cidrs.is_empty() {
            self.cloud()
                .vpcs
                .get(&other.vpc_id)
                .map(|v| v.cidrs())
                .unwrap_or_default()
        } else {
            other.cidrs.clone()
        };
        if !peer_cidrs.iter().any(|c| c.contains(&st.pkt.dst))
            || !local_cidrs.iter().any(|c| c.contains(&st.pkt.src))
        {
            return self.deny(st, Step::new(StepKind::Filter, Layer::Gateway, Action::Denied, id,
                format!("peering carries only traffic between the two VPCs' CIDRs (no edge-to-edge routing): {} -> {}", st.pkt.src, st.pkt.dst)).at(&p.prov).code("PCX_REQUIRES_ADDRESS_IN_VPC_CIDR"));
        }
        st.step(
            Step::new(
                StepKind::VpcFabric,
                Layer::Gateway,
                Action::Forwarded,
                id,
                format!("over peering {id} to {}", other.vpc_id),
            )
            .at(&p.prov),
        );
        Next::Go(Loc::VpcLocal(other.vpc_id.clone()))
    }

    // ----- gateways -------------------------------------------------------------------------

    fn public_ip_of(&self, private: IpAddr) -> Option<std::net::Ipv4Addr> {
        if let Some(p) = self
            .ix
            .owner_of(private)
            .and_then(|e| self.cloud().interfaces.get(e))
            .and_then(|e| e.public_for_private(private))
        {
            return Some(p);
        }
        self.cloud()
            .nat_gateways
            .values()
            .flat_map(|n| n.addresses.iter())
            .find(|a| a.private_ip == Some(private))
            .and_then(|a| a.public_ip)
    }

    fn igw(&self, st: &mut PathState, id: &str, outbound: bool) -> Next {
        if !self.enter(st, id, NodeKind::Gateway) {
            return Next::Done(Disposition::Loop);
        }
        let prov = self
            .cloud()
            .internet_gateways
            .get(id)
            .map(|g| g.prov.clone());
        if outbound {
            if st.pkt.src.is_ipv4() {
                let Some(public) = self.public_ip_of(st.pkt.src) else {
                    return self.deny(
                        st,
                        Step::new(
                            StepKind::Filter,
                            Layer::Gateway,
                            Action::Denied,
                            id,
                            format!(
                                "{} has no public IPv4 association: the internet gateway drops it",
                                st.pkt.src
                            ),
                        )
                        .at_opt(prov.as_ref())
                        .code("IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS"),
                    );
                };
                let old = st.pkt.src;
                st.pkt.src = IpAddr::V4(public);
                st.rewrites.push(Rewrite {
                    hop: st.hop_index(),
                    detail: format!("destination {public} -> {old} (1:1 NAT)"),
                });
                st.step(
                    Step::new(
                        StepKind::Snat,
                        Layer::Gateway,
                        Action::Transformed,
                        id,
                        format!("source {old} -> {public} (1:1 NAT of the associated public IP)"),
                    )
                    .at_opt(prov.as_ref()),
                );
            } else {
                st.step(
                    Step::new(
                        StepKind::Route,
                        Layer::Gateway,
                        Action::Forwarded,
                        id,
                        "IPv6: no translation",
                    )
                    .at_opt(prov.as_ref()),
                );
            }
            return Next::Go(Loc::Backbone { outbound: true });
        }
        // Inbound: 1:1 DNAT of a public IPv4 to its private address.
        if is_private(st.pkt.src) {
            return self.deny(
                st,
                Step::new(
                    StepKind::Filter,
                    Layer::Gateway,
                    Action::Denied,
                    id,
                    format!(
                        "source {} is a private address: the internet gateway drops it",
                        st.pkt.src
                    ),
                )
                .at_opt(prov.as_ref()),
            );
        }
        let vpc = self
            .cloud()
            .internet_gateways
            .get(id)
            .and_then(|g| g.vpc_ids.first().cloned());
        let Some(vpc) = vpc else {
            return self.unknown(
                st,
                Layer::Gateway,
                id,
                format!("{id} is attached to no VPC in the snapshot"),
            );
        };
        if st.pkt.dst.is_ipv6() {
            st.step(
                Step::new(
                    StepKind::Route,
                    Layer::Gateway,
                    Action::Forwarded,
                    id,
                    "IPv6: no translation",
                )
                .at_opt(prov.as_ref()),
            );
        }
        if let IpAddr::V4(d) = st.pkt.dst {
            match self.ix.public_owner.get(&d) {
                Some((_, private)) => {
                    let private = *private;
                    st.pkt.dst = private;
                    st.rewrites.push(Rewrite {
                        hop: st.hop_index(),
                        detail: format!("source {private} -> {d} (1:1 NAT)"),
                    });
                    st.step(Step::new(StepKind::Dnat, Layer::Gateway, Action::Transformed, id, format!("destination {d} -> {private} (1:1 NAT of the associated public IP)")).at_opt(prov.as_ref()));
                }
                None => {
                    return self.deny_route(
                        st,
                        Step::new(
                            StepKind::Drop,
                            Layer::Gateway,
                            Action::NoRoute,
                            id,
                            format!("{d} is not a public IP of this VPC"),
                        )
                        .at_opt(prov.as_ref())
                        .code("IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"),
                        Disposition::NoRoute,
                    );
                }
            }
        }
        if let Some(edge) = self
            .ix
            .gateway_route_table
            .get(id)
            .and_then(|r| self.cloud().route_tables.get(r))
        {
            if let Some(route) = self.lookup(edge, st.pkt.dst) {
                if route.target != RouteTarget::Local {
                    st.step(
                        Step::new(
                            StepKind::Route,
                            Layer::Routing,
                            Action::Forwarded,
                            format!(
                                "{} {} -> {}",
                                edge.id,
                                dest_text(&route.destination, st.pkt.dst, self.cloud()),
                                route.target.id()
                            ),
                            "gateway route table redirects inbound traffic",
                        )
                        .at(&route.prov),
                    );
                    return Next::Go(Loc::VpcTo(vpc, route.target.clone()));
                }
            }
        }
        Next::Go(Loc::VpcLocal(vpc))
    }

    fn backbone(&self, st: &mut PathState, outbound: bool) -> Next {
        if !self.enter(st, "aws-backbone", NodeKind::Backbone) {
            return Next::Done(Disposition::Loop);
        }
        if outbound && is_private(st.pkt.dst) {
            return self.deny(
                st,
                Step::new(
                    StepKind::Filter,
                    Layer::Gateway,
                    Action::Denied,
                    "aws-backbone",
                    format!(
                        "{} is a private or reserved address: not routable on the internet",
                        st.pkt.dst
                    ),
                )
                .code("IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS"),
            );
        }
        if let Some(igw) = self.igw_for_public(st.pkt.dst) {
            st.step(Step::new(
                StepKind::Route,
                Layer::Gateway,
                Action::Forwarded,
                "aws-backbone",
                format!("{} is a public address behind {igw}", st.pkt.dst),
            ));
            return Next::Go(Loc::Igw {
                id: igw,
                outbound: false,
            });
        }
        if let Some(vpn) = self.ix.vpn_outside.get(&st.pkt.dst) {
            let vgw = self
                .cloud()
                .vpn_connections
                .get(vpn)
                .and_then(|v| v.vpn_gateway_id.clone());
            if let Some(vgw) = vgw {
                if !self.enter(st, &vgw, NodeKind::Gateway) {
                    return Next::Done(Disposition::Loop);
                }
                st.step(Step::new(
                    StepKind::Deliver,
                    Layer::Gateway,
                    Action::Accepted,
                    vpn.clone(),
                    format!("{} is the tunnel endpoint of {vpn}", st.pkt.dst),
                ));
                return Next::Done(Disposition::Delivered);
            }
        }
        if outbound {
            st.step(Step::new(
                StepKind::Route,
                Layer::Gateway,
                Action::Forwarded,
                "aws-backbone",
                format!("{} is outside AWS's modelled addresses", st.pkt.dst),
            ));
            return Next::Go(Loc::InternetDst);
        }
        st.step(Step::new(
            StepKind::Drop,
            Layer::Gateway,
            Action::NoRoute,
            "aws-backbone",
            format!(
                "{} is not a public address of anything in the snapshot",
                st.pkt.dst
            ),
        ));
        Next::Done(Disposition::NoRoute)
    }

    /// The internet gateway behind which a public address lives: a public IPv4 associated with
    /// an interface or NAT gateway, or a global IPv6 address of an interface, in a VPC with an
    /// internet gateway.
    fn igw_for_public(&self, dst: IpAddr) -> Option<String> {
        let vpc = match dst {
            IpAddr::V4(d) => {
                let (eni, _) = self.ix.public_owner.get(&d)?;
                self.cloud()
                    .interfaces
                    .get(eni)
                    .map(|e| e.vpc_id.clone())
                    .or_else(|| {
                        self.cloud()
                            .nat_gateways
                            .values()
                            .find(|n| n.addresses.iter().any(|a| a.public_ip == Some(d)))
                            .map(|n| n.vpc_id.clone())
                    })?
            }
            IpAddr::V6(_) if !is_private(dst) => {
                let eni = self.ix.owner_of(dst)?;
                self.cloud().interfaces.get(eni)?.vpc_id.clone()
            }
            IpAddr::V6(_) => return None,
        };
        self.ix.vpc_igw.get(&vpc).cloned()
    }

    fn internet_start(&self, st: &mut PathState) -> Next {
        if !self.enter(st, "internet", NodeKind::External) {
            return Next::Done(Disposition::Loop);
        }
        if is_private(st.pkt.dst) {
            st.step(
                Step::new(
                    StepKind::Drop,
                    Layer::Gateway,
                    Action::NoRoute,
                    "internet",
                    format!(
                        "{} is a private address: not routable from the internet",
                        st.pkt.dst
                    ),
                )
                .code("IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"),
            );
            return Next::Done(Disposition::NoRoute);
        }
        let known = self.igw_for_public(st.pkt.dst).is_some()
            || matches!(st.pkt.dst, IpAddr::V4(d) if self.ix.public_owner.contains_key(&d))
            || self.ix.vpn_outside.contains_key(&st.pkt.dst);
        if known {
            st.step(Step::new(
                StepKind::Route,
                Layer::Gateway,
                Action::Forwarded,
                "internet",
                format!("{} is an AWS public address", st.pkt.dst),
            ));
            return Next::Go(Loc::Backbone { outbound: false });
        }
        if let Some((vpc, eigw)) = self.egress_only_gateway_for(st.pkt.dst) {
            st.step(Step::new(
                StepKind::Route,
                Layer::Gateway,
                Action::Forwarded,
                "internet",
                format!(
                    "{} is an IPv6 address of {vpc}, whose only internet gateway is egress-only",
                    st.pkt.dst
                ),
            ));
            if !self.enter(st, &eigw.id, NodeKind::Gateway) {
                return Next::Done(Disposition::Loop);
            }
            return self.deny(
                st,
                Step::new(
                    StepKind::Filter,
                    Layer::Gateway,
                    Action::Denied,
                    eigw.id.clone(),
                    format!(
                        "{} is an egress-only internet gateway: it passes connections initiated from {vpc} and their replies, never a connection from the internet to {}",
                        eigw.id, st.pkt.dst
                    ),
                )
                .at(&eigw.prov)
                .code("EIGW_INBOUND"),
            );
        }
        st.step(Step::new(
            StepKind::Deliver,
            Layer::Gateway,
            Action::Exited,
            "internet",
            format!(
                "{} is not in the snapshot: stays on the internet",
                st.pkt.dst
            ),
        ));
        Next::Done(Disposition::ExitsNetwork)
    }

    /// A global IPv6 address inside a VPC that has an egress-only internet gateway and no
    /// internet gateway: the VPC and that gateway.
    fn egress_only_gateway_for(&self, dst: IpAddr) -> Option<(String, &'a InternetGateway)> {
        if !dst.is_ipv6() || is_private(dst) {
            return None;
        }
        let vpc = self.cloud().vpcs.values().find(|v| v.contains(dst))?;
        if self.ix.vpc_igw.contains_key(&vpc.id) {
            return None;
        }
        self.cloud()
            .internet_gateways
            .values()
            .find(|g| g.egress_only && g.vpc_ids.contains(&vpc.id))
            .map(|g| (vpc.id.clone(), g))
    }

    fn nat(&self, st: &mut PathState, id: &str) -> Next {
        if !self.enter(st, id, NodeKind::Gateway) {
            return Next::Done(Disposition::Loop);
        }
        let Some(nat) = self.cloud().nat_gateways.get(id) else {
            return self.unknown(
                st,
                Layer::Gateway,
                id,
                format!(
                    "NAT gateway {id} is not in the snapshot: add `aws ec2 describe-nat-gateways`"
                ),
            );
        };
        if !nat.forwards() {
            let what = format!("NAT gateway {id} is {}", nat.state);
            return self.inactive(
                st,
                StepKind::Drop,
                Layer::Gateway,
                id,
                what,
                &nat.prov,
                "BAD_STATE",
            );
        }
        if let Some(subnet) = self.cloud().subnets.get(&nat.subnet_id) {
            if !subnet.contains(st.pkt.src) {
                if let Some(n) = self.check_nacl(st, subnet, AclDirection::Inbound) {
                    return n;
                }
            }
        }
        if !matches!(
            st.pkt.protocol,
            Protocol::Tcp | Protocol::Udp | Protocol::Icmp
        ) {
            return self.deny(
                st,
                Step::new(
                    StepKind::Filter,
                    Layer::Gateway,
                    Action::Denied,
                    id,
                    format!(
                        "NAT gateways translate only TCP, UDP and ICMP; not protocol {}",
                        st.pkt.protocol
                    ),
                )
                .at(&nat.prov)
                .code("PROTOCOL_RESTRICTION"),
            );
        }
        let in_vpc = self
            .cloud()
            .vpcs
            .get(&nat.vpc_id)
            .is_some_and(|v| v.contains(st.pkt.src))
            || st.origin_vpc.as_deref() == Some(nat.vpc_id.as_str());
        if !in_vpc {
            return self.deny(
                st,
                Step::new(
                    StepKind::Filter,
                    Layer::Gateway,
                    Action::Denied,
                    id,
                    format!(
                        "{} is not from {}: a NAT gateway serves only its own VPC",
                        st.pkt.src, nat.vpc_id
                    ),
                )
                .at(&nat.prov)
                .code("NGW_REQUIRES_SOURCE_IN_VPC"),
            );
        }
        let Some(private) = nat.addresses.iter().find_map(|a| a.private_ip) else {
            return self.unknown(
                st,
                Layer::Gateway,
                id,
                format!("NAT gateway {id} has no private address in the snapshot"),
            );
        };
        let old = st.snat(private, &format!("session of {id}"));
        st.step(
            Step::new(
                StepKind::Snat,
                Layer::Gateway,
                Action::Transformed,
                id,
                format!("source {old} -> {private}, source port remapped into {NAT_EPHEMERAL}"),
            )
            .at(&nat.prov),
        );
        Next::Go(Loc::SubnetOut(nat.subnet_id.clone()))
    }

    fn tgw(&self, st: &mut PathState, id: &str, attachment: &str) -> Next {
        if !self.enter(st, id, NodeKind::Gateway) {
            return Next::Done(Disposition::Loop);
        }
        self.tgw_lookup(st, id, attachment)
    }

    fn vgw(&self, st: &mut PathState, id: &str, outbound: bool) -> Next {
        if !self.enter(st, id, NodeKind::Gateway) {
            return Next::Done(Disposition::Loop);
        }
        let prov = self.cloud().vpn_gateways.get(id).map(|g| g.prov.clone());
        if outbound {
            let vpns: Vec<&VpnConnection> = self
                .cloud()
                .vpn_connections
                .values()
                .filter(|v| v.vpn_gateway_id.as_deref() == Some(id) && v.state == "available")
                .collect();
            if vpns.is_empty() {
                return self.deny_route(
                    st,
                    Step::new(
                        StepKind::Route,
                        Layer::Gateway,
                        Action::NoRoute,
                        id,
                        format!("{id} has no available VPN connection in the snapshot"),
                    )
                    .at_opt(prov.as_ref()),
                    Disposition::NoRoute,
                );
            }
            for v in &vpns {
                if let Some(r) = v.static_routes.iter().find(|r| r.contains(&st.pkt.dst)) {
                    if let Some(why) = self.hybrid_remote_routes(st, &v.id) {
                        st.step(
                            Step::new(
                                StepKind::Route,
                                Layer::Gateway,
                                Action::Forwarded,
                                format!("{} static route {r}", v.id),
                                format!("sent over {} to the customer network", v.id),
                            )
                            .at(&v.prov),
                        );
                        return self.unknown(
                            st,
                            Layer::Gateway,
                            format!("{} on-premises routes", v.id),
                            why,
                        );
                    }
                    st.step(
                        Step::new(
                            StepKind::Route,
                            Layer::Gateway,
                            Action::Exited,
                            format!("{} static route {r}", v.id),
                            format!("sent over {} to the customer network", v.id),
                        )
                        .at(&v.prov),
                    );
                    return Next::Done(Disposition::ExitsNetwork);
                }
            }
            if vpns.iter().all(|v| !v.static_routes.is_empty()) {
                return self.deny_route(
                    st,
                    Step::new(
                        StepKind::Route,
                        Layer::Gateway,
                        Action::NoRoute,
                        id,
                        format!(
                            "no static route of {}'s VPN connections covers {}",
                            id, st.pkt.dst
                        ),
                    )
                    .at_opt(prov.as_ref()),
                    Disposition::NoRoute,
                );
            }
            let vpn = vpns[0];
            st.step(
                Step::new(
                    StepKind::Route,
                    Layer::Gateway,
                    Action::Forwarded,
                    format!("{} (BGP)", vpn.id),
                    format!("{} learns its routes over BGP", vpn.id),
                )
                .at(&vpn.prov),
            );
            if !self.enter(st, &vpn.id, NodeKind::External) {
                return Next::Done(Disposition::Loop);
            }
            if let Some(why) = self.hybrid_remote_routes(st, &vpn.id) {
                return self.unknown(
                    st,
                    Layer::Gateway,
                    format!("{} on-premises routes", vpn.id),
                    why,
                );
            }
            return self.unknown(st, Layer::Gateway, vpn.id.clone(), format!(
                "whether the customer network routes {} is decided by routes learned over BGP on {}, which are not in the snapshot: add the customer gateway's advertised routes (or use static routes)", st.pkt.dst, vpn.id));
        }
        let vpc = self
            .cloud()
            .vpn_gateways
            .get(id)
            .and_then(|g| g.vpc_ids.first().cloned());
        let Some(vpc) = vpc else {
            return self.unknown(
                st,
                Layer::Gateway,
                id,
                format!("{id} is attached to no VPC in the snapshot"),
            );
        };
        if !self
            .cloud()
            .vpcs
            .get(&vpc)
            .is_some_and(|v| v.contains(st.pkt.dst))
        {
            return self.deny_route(st, Step::new(StepKind::Route, Layer::Gateway, Action::NoRoute, id, format!("{} is not a private address of {vpc}: a virtual private gateway delivers only into its VPC", st.pkt.dst)).at_opt(prov.as_ref()).code("VGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"), Disposition::NoRoute);
        }
        st.step(
            Step::new(
                StepKind::Route,
                Layer::Gateway,
                Action::Forwarded,
                id,
                format!("into {vpc}"),
            )
            .at_opt(prov.as_ref()),
        );
        Next::Go(Loc::VpcLocal(vpc))
    }

    fn vpn_peer(&self, st: &mut PathState, id: &str) -> Next {
        let first = st.hops.is_empty();
        if !self.enter(st, id, NodeKind::External) {
            return Next::Done(Disposition::Loop);
        }
        let vpn = self.cloud().vpn_connections.get(id);
        if first {
            return match vpn.and_then(|v| v.vpn_gateway_id.clone()) {
                Some(vgw) => {
                    st.step(Step::new(StepKind::Route, Layer::Gateway, Action::Forwarded, id, format!("from the customer network over {id}")).at_opt(vpn.map(|v| &v.prov)));
                    Next::Go(Loc::Vgw { id: vgw, outbound: false })
                }
                None => self.unknown(st, Layer::Gateway, id, format!("VPN connection {id} terminates on no virtual private gateway in the snapshot")),
            };
        }
        if let Some(why) = self.hybrid_remote_routes(st, id) {
            return self.unknown(st, Layer::Gateway, format!("{id} on-premises routes"), why);
        }
        st.step(
            Step::new(
                StepKind::Deliver,
                Layer::Gateway,
                Action::Exited,
                id,
                "handed to the customer network; routes there are not in the snapshot",
            )
            .at_opt(vpn.map(|v| &v.prov)),
        );
        Next::Done(Disposition::ExitsNetwork)
    }

    fn gateway_endpoint(&self, st: &mut PathState, id: &str) -> Next {
        if !self.enter(st, id, NodeKind::Gateway) {
            return Next::Done(Disposition::Loop);
        }
        let ep = self.cloud().vpc_endpoints.get(id);
        let prov = ep.map(|e| e.prov.clone());
        if !matches!(st.pkt.protocol, Protocol::Tcp | Protocol::Icmp) {
            return self.deny(
                st,
                Step::new(
                    StepKind::Filter,
                    Layer::Gateway,
                    Action::Denied,
                    id,
                    "gateway endpoints carry only TCP (and ICMP echo)",
                )
                .at_opt(prov.as_ref())
                .code("VPCE_GATEWAY_PROTOCOL_RESTRICTION"),
            );
        }
        let service = ep
            .map(|e| e.service.clone())
            .unwrap_or_else(|| "the AWS service".into());
        st.step(
            Step::new(
                StepKind::Deliver,
                Layer::Gateway,
                Action::Exited,
                id,
                format!("to {service} through gateway endpoint {id}"),
            )
            .at_opt(prov.as_ref()),
        );
        Next::Done(Disposition::ExitsNetwork)
    }
}

fn reserved_in_subnet(s: &Subnet, ip: IpAddr) -> bool {
    match (s.cidr_v4, ip) {
        (Some(c), IpAddr::V4(a)) => {
            let n = u32::from(c.network());
            let b = u32::from(c.broadcast());
            let x = u32::from(a);
            x <= n + 3 || x == b
        }
        _ => false,
    }
}

fn cidr_text(s: &Subnet, ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(_) => s.cidr_v4.map(|c| crate::cat!(c)).unwrap_or_default(),
        IpAddr::V6(a) => s
            .cidrs_v6
            .iter()
            .find(|c| c.contains(&a))
            .map(|c| c.to_string())
            .unwrap_or_default(),
    }
}

fn dest_text(d: &RouteDestination, dst: IpAddr, cloud: &Cloud) -> String {
    match d {
        RouteDestination::Cidr(c) => crate::cat!(c),
        RouteDestination::PrefixList(pl) => {
            let hit = cloud
                .prefix_lists
                .get(pl)
                .and_then(|p| p.cidrs.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.contains(&dst)).copied());
            match hit {
                Some(c) => crate::cat!(pl, " (", c, ')'),
                None => pl.clone(),
            }
        }
    }
}

/// One-line description of an SG rule for trace text.
pub fn describe_sg_rule(r: &SgRule) -> String {
    if let PortMatch::Any | PortMatch::Range(_) = r.ports {
        use crate::model::text::Piece;
        let mut out = String::with_capacity(64);
        match r.protocol {
            ProtocolMatch::Any => out.push_str("all traffic"),
            ProtocolMatch::One(p) => p.push_to(&mut out),
        }
        if let PortMatch::Range(pr) = r.ports {
            out.push(' ');
            pr.push_to(&mut out);
        }
        out.push(' ');
        match &r.peer {
            SgPeer::Cidr(c) => c.push_to(&mut out),
            SgPeer::Group { group_id, .. } => {
                out.push_str("members of ");
                out.push_str(group_id);
            }
            SgPeer::PrefixList(p) => out.push_str(p),
        }
        return out;
    }
    let proto = match r.protocol {
        ProtocolMatch::Any => "all traffic".to_string(),
        ProtocolMatch::One(p) => p.to_string(),
    };
    let ports = match r.ports {
        PortMatch::Any => String::new(),
        PortMatch::Range(pr) => format!(" {pr}"),
        PortMatch::Icmp { icmp_type, code } => format!(
            " type {} code {}",
            icmp_type.map(|t| t.to_string()).unwrap_or("any".into()),
            code.map(|t| t.to_string()).unwrap_or("any".into())
        ),
    };
    let peer = match &r.peer {
        SgPeer::Cidr(c) => c.to_string(),
        SgPeer::PrefixList(p) => p.clone(),
        SgPeer::Group { group_id, .. } => format!("members of {group_id}"),
    };
    format!("{proto}{ports} {peer}")
}

fn describe_peer_port(p: &Packet, dir: SgDirection) -> String {
    let peer = if matches!(dir, SgDirection::Ingress) {
        p.src
    } else {
        p.dst
    };
    if p.protocol.has_ports() {
        format!("{peer} on port {}", p.dst_port)
    } else {
        peer.to_string()
    }
}
