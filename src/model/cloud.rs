//! The cloud network: VPCs, subnets, routing, filters, interfaces, gateways and load balancers.
//!
//! Objects are keyed by their AWS id (ARN for load balancers, listeners and target groups).
//! States are kept as the inputs gave them: objects that do not forward (a stopped instance, a
//! deleted peering) stay in the snapshot, and [`Cloud`] helpers say whether they forward.

use super::{ById, PortRange, Protocol};
use crate::source::Provenance;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The whole cloud side of a snapshot.
#[derive(Debug, Clone, Default)]
pub struct Cloud {
    /// VPCs by id.
    pub vpcs: ById<Vpc>,
    /// Subnets by id.
    pub subnets: ById<Subnet>,
    /// Route tables by id (subnet and gateway route tables).
    pub route_tables: ById<RouteTable>,
    /// Security groups by id.
    pub security_groups: ById<SecurityGroup>,
    /// Network ACLs by id.
    pub network_acls: ById<NetworkAcl>,
    /// Network interfaces (ENIs) by id.
    pub interfaces: ById<Interface>,
    /// EC2 instances by id.
    pub instances: ById<Instance>,
    /// Internet gateways and egress-only internet gateways by id.
    pub internet_gateways: ById<InternetGateway>,
    /// NAT gateways by id.
    pub nat_gateways: ById<NatGateway>,
    /// VPC peering connections by id.
    pub peerings: ById<Peering>,
    /// Virtual private gateways by id.
    pub vpn_gateways: ById<VpnGateway>,
    /// Site-to-site VPN connections by id.
    pub vpn_connections: ById<VpnConnection>,
    /// Transit gateways by id.
    pub transit_gateways: ById<TransitGateway>,
    /// Transit gateway attachments by id.
    pub tgw_attachments: ById<TgwAttachment>,
    /// Transit gateway route tables by id.
    pub tgw_route_tables: ById<TgwRouteTable>,
    /// Managed and AWS prefix lists by id.
    pub prefix_lists: ById<PrefixList>,
    /// VPC endpoints by id.
    pub vpc_endpoints: ById<VpcEndpoint>,
    /// Elastic Load Balancing v2 load balancers by ARN.
    pub load_balancers: ById<LoadBalancer>,
    /// Target groups by ARN.
    pub target_groups: ById<TargetGroup>,
    /// TGW peering attachments as seen from the peer transit gateway (the same attachment id is
    /// listed by both accounts, each with its own TGW and route-table association), by id.
    /// [`Cloud::tgw_attachments`] holds the first view read; use [`Cloud::tgw_attachment_view`].
    pub tgw_peering_views: ById<TgwAttachment>,
}

impl Cloud {
    /// The attachment `id` as seen from transit gateway `tgw_id` (both sides of a TGW peering
    /// share one attachment id); falls back to the only view when `tgw_id` matches none.
    pub fn tgw_attachment_view(&self, id: &str, tgw_id: &str) -> Option<&TgwAttachment> {
        let first = self.tgw_attachments.get(id);
        if first.is_some_and(|a| a.tgw_id == tgw_id) {
            return first;
        }
        match self.tgw_peering_views.get(id) {
            Some(v) if v.tgw_id == tgw_id => Some(v),
            _ => first,
        }
    }
}

/// A name/value tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// Finds a tag's value by key.
pub fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

/// A VPC and its address space.
#[derive(Debug, Clone)]
pub struct Vpc {
    /// `vpc-…`
    pub id: String,
    /// Every associated IPv4 CIDR block (primary and secondary) in state `associated`.
    pub cidrs_v4: Vec<Ipv4Net>,
    /// Every associated IPv6 CIDR block.
    pub cidrs_v6: Vec<Ipv6Net>,
    /// Owning account, when given.
    pub owner: Option<String>,
    /// Region, when known (from a subnet's zone or the file's location).
    pub region: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Where it was defined.
    pub prov: Provenance,
}

impl Vpc {
    /// True when `ip` is inside one of the VPC's CIDR blocks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.cidrs_v4.iter().any(|c| c.contains(&a)),
            IpAddr::V6(a) => self.cidrs_v6.iter().any(|c| c.contains(&a)),
        }
    }
    /// All CIDR blocks as [`IpNet`]s.
    pub fn cidrs(&self) -> Vec<IpNet> {
        self.cidrs_v4
            .iter()
            .map(|c| IpNet::V4(*c))
            .chain(self.cidrs_v6.iter().map(|c| IpNet::V6(*c)))
            .collect()
    }
}

/// A subnet.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// `subnet-…`
    pub id: String,
    /// The VPC it belongs to.
    pub vpc_id: String,
    /// IPv4 CIDR (absent for IPv6-only subnets).
    pub cidr_v4: Option<Ipv4Net>,
    /// IPv6 CIDRs.
    pub cidrs_v6: Vec<Ipv6Net>,
    /// Availability zone name, e.g. `us-east-2a`.
    pub az: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Where it was defined.
    pub prov: Provenance,
}

impl Subnet {
    /// True when `ip` is inside the subnet's CIDRs.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.cidr_v4.is_some_and(|c| c.contains(&a)),
            IpAddr::V6(a) => self.cidrs_v6.iter().any(|c| c.contains(&a)),
        }
    }
}

/// Where a route sends packets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteTarget {
    /// The VPC's local route.
    Local,
    /// `igw-…`
    InternetGateway(String),
    /// `eigw-…`
    EgressOnlyInternetGateway(String),
    /// `nat-…`
    NatGateway(String),
    /// `tgw-…`
    TransitGateway(String),
    /// `pcx-…`
    Peering(String),
    /// `vpce-…` (gateway endpoint or Gateway Load Balancer endpoint)
    VpcEndpoint(String),
    /// `eni-…`
    Interface(String),
    /// `i-…` (its primary interface)
    Instance(String),
    /// `vgw-…`
    VpnGateway(String),
    /// `lgw-…` (Outposts)
    LocalGateway(String),
    /// `cagw-…` (Wavelength)
    CarrierGateway(String),
    /// A Cloud WAN core network ARN.
    CoreNetwork(String),
}

impl RouteTarget {
    /// The target's id as AWS prints it.
    pub fn id(&self) -> &str {
        match self {
            RouteTarget::Local => "local",
            RouteTarget::InternetGateway(s)
            | RouteTarget::EgressOnlyInternetGateway(s)
            | RouteTarget::NatGateway(s)
            | RouteTarget::TransitGateway(s)
            | RouteTarget::Peering(s)
            | RouteTarget::VpcEndpoint(s)
            | RouteTarget::Interface(s)
            | RouteTarget::Instance(s)
            | RouteTarget::VpnGateway(s)
            | RouteTarget::LocalGateway(s)
            | RouteTarget::CarrierGateway(s)
            | RouteTarget::CoreNetwork(s) => s,
        }
    }
}

/// How a route got into its table; decides priority among equal prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteOrigin {
    /// The local route (`CreateRouteTable`).
    Local,
    /// A static route (`CreateRoute`).
    Static,
    /// A route propagated from a virtual private gateway (`EnableVgwRoutePropagation`).
    Propagated,
}

/// A route's destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RouteDestination {
    /// A CIDR block.
    Cidr(IpNet),
    /// Every CIDR of a prefix list.
    PrefixList(String),
}

/// One route of a subnet or gateway route table.
#[derive(Debug, Clone)]
pub struct Route {
    /// What it matches.
    pub destination: RouteDestination,
    /// Where it sends.
    pub target: RouteTarget,
    /// How it was created.
    pub origin: RouteOrigin,
    /// `false` for `State: blackhole`: matching packets are dropped.
    pub active: bool,
    /// Where it was defined (`RouteTables[i].Routes[j]`).
    pub prov: Provenance,
}

/// A route table and what it is associated with.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// `rtb-…`
    pub id: String,
    /// The VPC.
    pub vpc_id: String,
    /// True when it is the VPC's main route table.
    pub main: bool,
    /// Subnets explicitly associated.
    pub subnet_ids: Vec<String>,
    /// Gateways (IGW, VGW) associated as an edge route table.
    pub gateway_ids: Vec<String>,
    /// Routes in input order.
    pub routes: Vec<Route>,
    /// Virtual private gateways whose routes propagate into it.
    pub propagating_vgws: Vec<String>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// A protocol selector in an SG rule or NACL entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolMatch {
    /// `-1`: every protocol, ports ignored.
    Any,
    /// One protocol.
    One(Protocol),
}

impl ProtocolMatch {
    /// True when the selector matches `p`.
    pub fn matches(&self, p: Protocol) -> bool {
        match self {
            ProtocolMatch::Any => true,
            ProtocolMatch::One(q) => *q == p,
        }
    }
}

/// The port part of a rule: a port range for TCP/UDP, an ICMP type/code, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortMatch {
    /// Every port (or the protocol has none).
    Any,
    /// A destination port range (TCP, UDP).
    Range(PortRange),
    /// ICMP type and code; `None` means any.
    Icmp {
        /// ICMP type, `None` = any.
        icmp_type: Option<u8>,
        /// ICMP code, `None` = any.
        code: Option<u8>,
    },
}

/// Who an SG rule admits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SgPeer {
    /// An address block (`IpRanges` / `Ipv6Ranges`).
    Cidr(IpNet),
    /// A prefix list (`PrefixListIds`).
    PrefixList(String),
    /// A referenced security group (`UserIdGroupPairs`).
    Group {
        /// `sg-…`
        group_id: String,
        /// Set when the group is in a peered VPC.
        peering_id: Option<String>,
        /// Owning account of the referenced group.
        user_id: Option<String>,
    },
}

/// One permission of a security group (expanded: one peer per rule).
#[derive(Debug, Clone)]
pub struct SgRule {
    /// Protocol selector.
    pub protocol: ProtocolMatch,
    /// Ports or ICMP type.
    pub ports: PortMatch,
    /// Source (ingress) or destination (egress).
    pub peer: SgPeer,
    /// The rule's description, if any.
    pub description: Option<String>,
    /// Where it was defined (`SecurityGroups[i].IpPermissions[j]`).
    pub prov: Provenance,
}

/// A security group: a stateful allow-list attached to interfaces.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    /// `sg-…`
    pub id: String,
    /// Group name.
    pub name: String,
    /// The VPC.
    pub vpc_id: String,
    /// Inbound rules.
    pub ingress: Vec<SgRule>,
    /// Outbound rules.
    pub egress: Vec<SgRule>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// One entry of a network ACL.
#[derive(Debug, Clone)]
pub struct AclEntry {
    /// Rule number; evaluated in ascending order, 32767 is the implicit deny.
    pub number: u32,
    /// Allow or deny.
    pub allow: bool,
    /// Protocol selector.
    pub protocol: ProtocolMatch,
    /// Ports or ICMP type.
    pub ports: PortMatch,
    /// Address block matched against the source (inbound) or destination (outbound).
    pub cidr: IpNet,
    /// Where it was defined (`NetworkAcls[i].Entries[j]`).
    pub prov: Provenance,
}

/// A network ACL: a stateless, ordered, first-match filter at the subnet edge.
#[derive(Debug, Clone)]
pub struct NetworkAcl {
    /// `acl-…`
    pub id: String,
    /// The VPC.
    pub vpc_id: String,
    /// True for the VPC's default NACL.
    pub is_default: bool,
    /// Subnets associated.
    pub subnet_ids: Vec<String>,
    /// Inbound entries, sorted by rule number.
    pub ingress: Vec<AclEntry>,
    /// Outbound entries, sorted by rule number.
    pub egress: Vec<AclEntry>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// What kind of interface an ENI is (`InterfaceType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InterfaceKind {
    /// An ordinary interface (instances, EKS control plane, Lambda…).
    Interface,
    /// A NAT gateway's interface.
    NatGateway,
    /// A Network Load Balancer node.
    NetworkLoadBalancer,
    /// A load balancer ENI of another type (ALB nodes are `interface` with an `ELB app/…` description).
    LoadBalancer,
    /// A transit gateway attachment interface.
    TransitGateway,
    /// An interface VPC endpoint.
    VpcEndpoint,
    /// A Gateway Load Balancer or its endpoint.
    GatewayLoadBalancer,
    /// A trunk ENI (security groups for pods).
    Trunk,
    /// A branch ENI (security groups for pods).
    Branch,
    /// Any other type, kept by name.
    Other(String),
}

/// One private address of an interface and its public association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateAddress {
    /// The private address.
    pub ip: IpAddr,
    /// True for the interface's primary address.
    pub primary: bool,
    /// The associated public IPv4 (auto-assigned or Elastic IP), if any.
    pub public_ip: Option<Ipv4Addr>,
}

/// An elastic network interface.
#[derive(Debug, Clone)]
pub struct Interface {
    /// `eni-…`
    pub id: String,
    /// Subnet.
    pub subnet_id: String,
    /// VPC.
    pub vpc_id: String,
    /// Availability zone.
    pub az: String,
    /// Interface type.
    pub kind: InterfaceKind,
    /// Description (load balancer ENIs are named here: `ELB net/NAME/ID`).
    pub description: String,
    /// Private IPv4 addresses with their public associations.
    pub addresses: Vec<PrivateAddress>,
    /// IPv6 addresses.
    pub ipv6_addresses: Vec<Ipv6Addr>,
    /// Delegated prefixes (IPv4 /28, IPv6 /80): every address inside belongs to the interface.
    pub prefixes: Vec<IpNet>,
    /// Security groups.
    pub groups: Vec<String>,
    /// Source/destination check.
    pub source_dest_check: bool,
    /// The instance it is attached to, if any.
    pub instance_id: Option<String>,
    /// Device index of the attachment (0 = primary interface).
    pub device_index: Option<u32>,
    /// `in-use`, `available`, …
    pub status: String,
    /// True for interfaces created by a service (EKS control plane, NAT gateway, NLB…).
    pub requester_managed: bool,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Where it was defined.
    pub prov: Provenance,
}

impl Interface {
    /// True when the interface owns `ip` (primary, secondary, IPv6 or delegated prefix).
    pub fn owns(&self, ip: IpAddr) -> bool {
        self.addresses.iter().any(|a| a.ip == ip)
            || matches!(ip, IpAddr::V6(v6) if self.ipv6_addresses.contains(&v6))
            || self.prefixes.iter().any(|p| p.contains(&ip))
    }
    /// The primary private IPv4 address.
    pub fn primary_ip(&self) -> Option<IpAddr> {
        self.addresses
            .iter()
            .find(|a| a.primary)
            .or(self.addresses.first())
            .map(|a| a.ip)
    }
    /// The private address mapped to a public IPv4, if any.
    pub fn private_for_public(&self, public: Ipv4Addr) -> Option<IpAddr> {
        self.addresses
            .iter()
            .find(|a| a.public_ip == Some(public))
            .map(|a| a.ip)
    }
    /// The public IPv4 associated with a private address.
    pub fn public_for_private(&self, private: IpAddr) -> Option<Ipv4Addr> {
        self.addresses
            .iter()
            .find(|a| a.ip == private)
            .and_then(|a| a.public_ip)
    }
}

/// An EC2 instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// `i-…`
    pub id: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// `running`, `stopped`, …
    pub state: String,
    /// Subnet of the primary interface.
    pub subnet_id: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Primary private IP.
    pub private_ip: Option<IpAddr>,
    /// Interfaces attached, by id, primary first.
    pub interface_ids: Vec<String>,
    /// Source/destination check of the instance.
    pub source_dest_check: bool,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Where it was defined.
    pub prov: Provenance,
}

impl Instance {
    /// Only running instances send or receive packets.
    pub fn forwards(&self) -> bool {
        self.state == "running"
    }
}

/// An internet gateway or egress-only internet gateway.
#[derive(Debug, Clone)]
pub struct InternetGateway {
    /// `igw-…` or `eigw-…`
    pub id: String,
    /// True for an egress-only internet gateway (IPv6, outbound-initiated only).
    pub egress_only: bool,
    /// VPCs it is attached to (state `available`/`attached`).
    pub vpc_ids: Vec<String>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// One address of a NAT gateway.
#[derive(Debug, Clone)]
pub struct NatAddress {
    /// Private address (the SNAT source).
    pub private_ip: Option<IpAddr>,
    /// Elastic IP for public NAT gateways.
    pub public_ip: Option<Ipv4Addr>,
    /// Interface holding it.
    pub interface_id: Option<String>,
}

/// A NAT gateway.
#[derive(Debug, Clone)]
pub struct NatGateway {
    /// `nat-…`
    pub id: String,
    /// VPC.
    pub vpc_id: String,
    /// Subnet it sits in.
    pub subnet_id: String,
    /// `available`, `failed`, `deleted`, …
    pub state: String,
    /// True for a private NAT gateway (no Elastic IP, no IGW).
    pub private: bool,
    /// Its addresses.
    pub addresses: Vec<NatAddress>,
    /// Where it was defined.
    pub prov: Provenance,
}

impl NatGateway {
    /// Only `available` NAT gateways forward.
    pub fn forwards(&self) -> bool {
        self.state == "available"
    }
}

/// One side of a VPC peering connection.
#[derive(Debug, Clone)]
pub struct PeeringSide {
    /// VPC id.
    pub vpc_id: String,
    /// Account.
    pub owner: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// The VPC CIDRs shared over the peering.
    pub cidrs: Vec<IpNet>,
}

/// A VPC peering connection.
#[derive(Debug, Clone)]
pub struct Peering {
    /// `pcx-…`
    pub id: String,
    /// `active`, `deleted`, `failed`, …
    pub status: String,
    /// Requester side.
    pub requester: PeeringSide,
    /// Accepter side.
    pub accepter: PeeringSide,
    /// Where it was defined.
    pub prov: Provenance,
}

impl Peering {
    /// Only active peerings forward.
    pub fn forwards(&self) -> bool {
        self.status == "active"
    }
    /// The side that is not `vpc_id`.
    pub fn other_side(&self, vpc_id: &str) -> Option<&PeeringSide> {
        if self.requester.vpc_id == vpc_id {
            Some(&self.accepter)
        } else if self.accepter.vpc_id == vpc_id {
            Some(&self.requester)
        } else {
            None
        }
    }
}

/// A virtual private gateway.
#[derive(Debug, Clone)]
pub struct VpnGateway {
    /// `vgw-…`
    pub id: String,
    /// Attached VPCs.
    pub vpc_ids: Vec<String>,
    /// `available`, …
    pub state: String,
    /// Where it was defined.
    pub prov: Provenance,
}

/// A site-to-site VPN connection.
#[derive(Debug, Clone)]
pub struct VpnConnection {
    /// `vpn-…`
    pub id: String,
    /// The VGW it terminates on, if any.
    pub vpn_gateway_id: Option<String>,
    /// The TGW it terminates on, if any.
    pub transit_gateway_id: Option<String>,
    /// `available`, …
    pub state: String,
    /// Static routes toward the customer side.
    pub static_routes: Vec<IpNet>,
    /// Tunnel outside addresses on the AWS side.
    pub outside_ips: Vec<IpAddr>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// A transit gateway.
#[derive(Debug, Clone)]
pub struct TransitGateway {
    /// `tgw-…`
    pub id: String,
    /// Owning account.
    pub owner: Option<String>,
    /// `available`, …
    pub state: String,
    /// Where it was defined.
    pub prov: Provenance,
}

/// What a transit gateway attachment connects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TgwResource {
    /// A VPC (`ResourceId` = `vpc-…`).
    Vpc(String),
    /// A VPN connection.
    Vpn(String),
    /// A peering with another transit gateway (`ResourceId` = the peer `tgw-…`).
    Peering(String),
    /// A Direct Connect gateway.
    DirectConnectGateway(String),
    /// Anything else, by type and id.
    Other(String, String),
}

/// A transit gateway attachment.
#[derive(Debug, Clone)]
pub struct TgwAttachment {
    /// `tgw-attach-…`
    pub id: String,
    /// The transit gateway.
    pub tgw_id: String,
    /// What it connects.
    pub resource: TgwResource,
    /// `available`, `deleting`, …
    pub state: String,
    /// The TGW route table it is associated with (used for lookups of packets arriving on it).
    pub association: Option<String>,
    /// For VPC attachments: one subnet per served availability zone.
    pub subnet_ids: Vec<String>,
    /// Where it was defined.
    pub prov: Provenance,
}

impl TgwAttachment {
    /// Only `available` attachments forward.
    pub fn forwards(&self) -> bool {
        self.state == "available"
    }
}

/// How a TGW route was installed; decides priority among equal prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TgwRouteOrigin {
    /// Static route (includes routes over TGW peering).
    Static,
    /// Propagated from an attachment.
    Propagated,
}

/// One route of a transit gateway route table.
#[derive(Debug, Clone)]
pub struct TgwRoute {
    /// Destination prefix.
    pub destination: IpNet,
    /// Target attachments (empty for blackhole routes).
    pub attachment_ids: Vec<String>,
    /// True for `blackhole` routes.
    pub blackhole: bool,
    /// How it was installed.
    pub origin: TgwRouteOrigin,
    /// Where it was defined.
    pub prov: Provenance,
}

/// A transit gateway route table.
#[derive(Debug, Clone)]
pub struct TgwRouteTable {
    /// `tgw-rtb-…`
    pub id: String,
    /// The transit gateway.
    pub tgw_id: String,
    /// Static and listed routes.
    pub routes: Vec<TgwRoute>,
    /// Attachments whose routes propagate into this table, with the provenance of that record.
    pub propagations: Vec<(String, Provenance)>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// A managed or AWS-managed prefix list.
#[derive(Debug, Clone)]
pub struct PrefixList {
    /// `pl-…`
    pub id: String,
    /// Name.
    pub name: String,
    /// Entries. `None` when only the list's header was read (no entries input).
    pub cidrs: Option<Vec<IpNet>>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// What kind of VPC endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointKind {
    /// Gateway endpoint (S3, DynamoDB): a route target.
    Gateway,
    /// Interface endpoint: ENIs.
    Interface,
    /// Gateway Load Balancer endpoint.
    GatewayLoadBalancer,
}

/// A VPC endpoint.
#[derive(Debug, Clone)]
pub struct VpcEndpoint {
    /// `vpce-…`
    pub id: String,
    /// Kind.
    pub kind: EndpointKind,
    /// VPC.
    pub vpc_id: String,
    /// Service name, e.g. `com.amazonaws.us-east-1.s3`.
    pub service: String,
    /// `available`, …
    pub state: String,
    /// Route tables (gateway endpoints).
    pub route_table_ids: Vec<String>,
    /// Subnets (interface endpoints).
    pub subnet_ids: Vec<String>,
    /// Interfaces (interface endpoints).
    pub interface_ids: Vec<String>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// What kind of load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadBalancerKind {
    /// Network Load Balancer (layer 4, passes the connection through).
    Network,
    /// Application Load Balancer (a proxy).
    Application,
    /// Gateway Load Balancer.
    Gateway,
}

/// One availability zone of a load balancer.
#[derive(Debug, Clone)]
pub struct LoadBalancerZone {
    /// Zone name.
    pub zone: String,
    /// Subnet of the node.
    pub subnet_id: String,
    /// Elastic IPs / private addresses given for the node, if any.
    pub addresses: Vec<IpAddr>,
}

/// A listener of a load balancer.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Listener ARN.
    pub arn: String,
    /// Port.
    pub port: u16,
    /// `TCP`, `UDP`, `TCP_UDP`, `TLS`, `HTTP`, `HTTPS`…
    pub protocol: String,
    /// Target groups of the default `forward` action.
    pub target_group_arns: Vec<String>,
    /// Where it was defined.
    pub prov: Provenance,
}

impl Listener {
    /// True when the listener accepts packets of protocol `p`.
    pub fn accepts(&self, p: Protocol) -> bool {
        match self.protocol.as_str() {
            "UDP" => p == Protocol::Udp,
            "TCP_UDP" => p == Protocol::Tcp || p == Protocol::Udp,
            _ => p == Protocol::Tcp,
        }
    }
}

/// An Elastic Load Balancing v2 load balancer.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// DNS name.
    pub dns_name: String,
    /// Kind.
    pub kind: LoadBalancerKind,
    /// True for `internet-facing`.
    pub internet_facing: bool,
    /// VPC.
    pub vpc_id: String,
    /// Zones and subnets.
    pub zones: Vec<LoadBalancerZone>,
    /// Security groups (NLBs may have none).
    pub security_groups: Vec<String>,
    /// `active`, `provisioning`, `failed`.
    pub state: String,
    /// `load_balancing.cross_zone.enabled`, when the attributes were read.
    pub cross_zone: Option<bool>,
    /// Listeners, when read. `None` when no `describe-listeners` input names this LB.
    pub listeners: Option<Vec<Listener>>,
    /// The Service (`namespace/name`) it was modelled from, when the AWS snapshot lacks it.
    pub modelled_from: Option<String>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// One registered target.
#[derive(Debug, Clone)]
pub struct Target {
    /// Instance id or IP address.
    pub id: String,
    /// Port (the group's port when absent).
    pub port: Option<u16>,
    /// Availability zone (`all` for IP targets outside the VPC).
    pub az: Option<String>,
    /// `healthy`, `unhealthy`, `initial`, `draining`, `unused`, `unavailable`.
    pub health: String,
    /// Why, when not healthy.
    pub reason: Option<String>,
    /// Where it was defined.
    pub prov: Provenance,
}

/// What a target group registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetType {
    /// EC2 instances (their primary private IP).
    Instance,
    /// IP addresses.
    Ip,
    /// Lambda functions.
    Lambda,
    /// An ALB.
    Alb,
}

/// A target group.
#[derive(Debug, Clone)]
pub struct TargetGroup {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Target type.
    pub target_type: TargetType,
    /// Protocol.
    pub protocol: String,
    /// Port.
    pub port: Option<u16>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Load balancers using it.
    pub load_balancer_arns: Vec<String>,
    /// Targets and health; `None` when no `describe-target-health` input names this group.
    pub targets: Option<Vec<Target>>,
    /// `preserve_client_ip.enabled`, when the attributes were read.
    pub preserve_client_ip: Option<bool>,
    /// Where it was defined.
    pub prov: Provenance,
}

impl TargetGroup {
    /// Whether the target sees the client's address (NLB rules: on for instance targets and for
    /// UDP/TCP_UDP IP targets, off by default for TCP/TLS IP targets).
    pub fn preserves_client_ip(&self) -> bool {
        if let Some(v) = self.preserve_client_ip {
            return v;
        }
        match self.target_type {
            TargetType::Instance => true,
            _ => matches!(
                self.protocol.as_str(),
                "UDP" | "TCP_UDP" | "QUIC" | "TCP_QUIC"
            ),
        }
    }
}
