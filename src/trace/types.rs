//! What a trace is made of: steps, hops, paths and their dispositions.

use crate::source::Provenance;

/// What a step did (the contract's step kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// Pod to host over a veth pair.
    Veth,
    /// Carried by the VPC fabric between interfaces.
    VpcFabric,
    /// Encapsulated in an overlay tunnel.
    Tunnel,
    /// A routing decision.
    Route,
    /// A filter (security group, NACL, policy…).
    Filter,
    /// Destination address translation.
    Dnat,
    /// Source address translation.
    Snat,
    /// A load balancer picked a target.
    LoadBalancer,
    /// Delivered to the destination.
    Deliver,
    /// Dropped.
    Drop,
}

impl StepKind {
    /// Every step kind.
    pub const ALL: [StepKind; 10] = [
        StepKind::Veth,
        StepKind::VpcFabric,
        StepKind::Tunnel,
        StepKind::Route,
        StepKind::Filter,
        StepKind::Dnat,
        StepKind::Snat,
        StepKind::LoadBalancer,
        StepKind::Deliver,
        StepKind::Drop,
    ];
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Veth => "veth",
            StepKind::VpcFabric => "vpc_fabric",
            StepKind::Tunnel => "tunnel",
            StepKind::Route => "route",
            StepKind::Filter => "filter",
            StepKind::Dnat => "dnat",
            StepKind::Snat => "snat",
            StepKind::LoadBalancer => "load_balancer",
            StepKind::Deliver => "deliver",
            StepKind::Drop => "drop",
        }
    }
}

/// Which layer a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// AWS security groups.
    SecurityGroup,
    /// AWS network ACLs.
    Nacl,
    /// Route tables (subnet, gateway, transit gateway).
    Routing,
    /// Gateways: internet, NAT, VPN, endpoints, peering.
    Gateway,
    /// Elastic Load Balancing.
    LoadBalancer,
    /// Interfaces and the VPC fabric.
    Fabric,
    /// Kubernetes NetworkPolicy.
    NetworkPolicy,
    /// Istio authorization.
    IstioAuthz,
    /// Node iptables.
    Iptables,
    /// Service `loadBalancerSourceRanges`.
    LbSourceRanges,
}

impl Layer {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::SecurityGroup => "security_group",
            Layer::Nacl => "nacl",
            Layer::Routing => "routing",
            Layer::Gateway => "gateway",
            Layer::LoadBalancer => "load_balancer",
            Layer::Fabric => "fabric",
            Layer::NetworkPolicy => "network_policy",
            Layer::IstioAuthz => "istio_authz",
            Layer::Iptables => "iptables",
            Layer::LbSourceRanges => "lb_source_ranges",
        }
    }
}

/// What happened to the packet at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A filter let it through.
    Permitted,
    /// A filter stopped it.
    Denied,
    /// Forwarded toward the next hop.
    Forwarded,
    /// Headers rewritten.
    Transformed,
    /// Accepted by the destination.
    Accepted,
    /// No route matched.
    NoRoute,
    /// A blackhole route matched.
    Blackhole,
    /// The data to decide is missing.
    Unknown,
    /// Leaves the modelled network.
    Exited,
}

impl Action {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Permitted => "permitted",
            Action::Denied => "denied",
            Action::Forwarded => "forwarded",
            Action::Transformed => "transformed",
            Action::Accepted => "accepted",
            Action::NoRoute => "no_route",
            Action::Blackhole => "blackhole",
            Action::Unknown => "unknown",
            Action::Exited => "exited",
        }
    }
}

/// One decision on a hop, with the rule that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What kind of step.
    pub kind: StepKind,
    /// Which layer decided.
    pub layer: Layer,
    /// What happened.
    pub action: Action,
    /// The rule, route or default that decided, e.g. `sg-0ab ingress[2]`, `rtb-1 10.0.0.0/16 -> local`.
    pub rule: String,
    /// Human explanation.
    pub detail: String,
    /// Where the rule is defined; `None` for built-in behaviour (an implicit default).
    pub source: Option<Provenance>,
    /// A Reachability Analyzer explanation code for drops, where one applies.
    pub code: Option<&'static str>,
    /// For `tunnel` steps: the encapsulation (`vxlan` or `ipip`).
    pub encap: Option<&'static str>,
}

impl Step {
    /// A new step.
    pub fn new(
        kind: StepKind,
        layer: Layer,
        action: Action,
        rule: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Step {
            kind,
            layer,
            action,
            rule: rule.into(),
            detail: detail.into(),
            source: None,
            code: None,
            encap: None,
        }
    }
    /// Sets the provenance.
    pub fn at(mut self, p: &Provenance) -> Self {
        self.source = Some(p.clone());
        self
    }
    /// Sets the provenance if any.
    pub fn at_opt(mut self, p: Option<&Provenance>) -> Self {
        self.source = p.cloned();
        self
    }
    /// Sets the encapsulation of a tunnel step.
    pub fn encap(mut self, e: &'static str) -> Self {
        self.encap = Some(e);
        self
    }
    /// Sets the explanation code.
    pub fn code(mut self, c: &'static str) -> Self {
        self.code = Some(c);
        self
    }
}

/// What kind of place a hop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// An interface of a host (instance, endpoint, NAT gateway, LB node).
    Host,
    /// A subnet's implicit router (NACL + route table).
    SubnetRouter,
    /// A VPC's router (local routes).
    VpcRouter,
    /// A gateway (internet, NAT, VPN, endpoint, transit).
    Gateway,
    /// A load balancer node.
    LoadBalancer,
    /// The AWS backbone.
    Backbone,
    /// Outside the modelled network (internet, on-premises).
    External,
}

/// One place on the path and the steps taken there.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    /// The place, named by its id (`i-…`, `subnet-…`, `vpc-…`, `igw-…`, `internet`…).
    pub at: String,
    /// What kind of place.
    pub kind: NodeKind,
    /// The packet as it arrived, rendered (`tcp 10.0.1.5:40000 -> 10.0.2.7:443`).
    pub packet: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// How a path ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Disposition {
    /// Accepted by the destination.
    Delivered,
    /// Left the modelled network toward the destination (internet, on-premises).
    ExitsNetwork,
    /// A filter stopped it.
    Denied,
    /// No route, or an address nothing owns.
    NoRoute,
    /// A blackhole route dropped it.
    Blackhole,
    /// An address inside a subnet that no interface owns.
    NeighborUnreachable,
    /// The path visited the same place twice with the same packet.
    Loop,
    /// The snapshot lacks what is needed to decide.
    Unknown,
}

impl Disposition {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Delivered => "delivered",
            Disposition::ExitsNetwork => "exits_network",
            Disposition::Denied => "denied",
            Disposition::NoRoute => "no_route",
            Disposition::Blackhole => "blackhole",
            Disposition::NeighborUnreachable => "neighbor_unreachable",
            Disposition::Loop => "loop",
            Disposition::Unknown => "unknown",
        }
    }
    /// True when the packet reached its destination (or left toward it).
    pub fn is_success(self) -> bool {
        matches!(self, Disposition::Delivered | Disposition::ExitsNetwork)
    }
}

/// One way the packet can go, forward and (when delivered) back.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// How the whole round trip ended: a delivered forward path whose reply is dropped is
    /// `denied` here.
    pub disposition: Disposition,
    /// The forward hops.
    pub hops: Vec<Hop>,
    /// How the forward direction alone ended.
    pub forward: Disposition,
    /// The reply's hops (evaluated with the sessions the forward path set up), when the
    /// forward path succeeded.
    pub reply: Vec<Hop>,
}

/// Overall answer across paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reachable {
    /// Every path succeeds.
    All,
    /// Some paths succeed.
    Some,
    /// No path succeeds.
    None,
    /// Not decidable from the snapshot.
    Unknown,
}

impl Reachable {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reachable::All => "all",
            Reachable::Some => "some",
            Reachable::None => "none",
            Reachable::Unknown => "unknown",
        }
    }
    /// Summarises a set of path dispositions.
    pub fn of(paths: &[Path]) -> Reachable {
        let ok = paths.iter().filter(|p| p.disposition.is_success()).count();
        let unknown = paths.iter().any(|p| p.disposition == Disposition::Unknown);
        if paths.is_empty() {
            Reachable::None
        } else if ok == paths.len() {
            Reachable::All
        } else if ok > 0 {
            Reachable::Some
        } else if unknown {
            Reachable::Unknown
        } else {
            Reachable::None
        }
    }
    /// The process exit code the contract gives this answer (unknown counts as not holding).
    pub fn exit_code(self) -> i32 {
        match self {
            Reachable::All => 0,
            Reachable::Some => 3,
            Reachable::None | Reachable::Unknown => 1,
        }
    }
}
