//! Serde mirrors of the AWS CLI's `--output json` (and Batfish's snapshot wrappers).
//!
//! Every struct takes missing fields as defaults and ignores unknown fields, so that newer CLI
//! versions and partial hand-written files still load. Only fields netpath uses are listed.

use serde::{Deserialize, Deserializer};

/// A string that some producers write as a JSON number (`IpProtocol`, NACL `Protocol`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrOrNum(pub String);

impl<'de> Deserialize<'de> for StrOrNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            S(String),
            I(i64),
        }
        Ok(match Either::deserialize(d)? {
            Either::S(s) => StrOrNum(s),
            Either::I(i) => StrOrNum(i.to_string()),
        })
    }
}

/// One AWS JSON file: every top-level key netpath reads, each optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawFile {
    /// `describe-vpcs`.
    pub vpcs: Option<Vec<RawVpc>>,
    /// `describe-subnets`.
    pub subnets: Option<Vec<RawSubnet>>,
    /// `describe-route-tables`.
    pub route_tables: Option<Vec<RawRouteTable>>,
    /// `describe-security-groups`.
    pub security_groups: Option<Vec<RawSecurityGroup>>,
    /// `describe-network-acls`.
    pub network_acls: Option<Vec<RawNetworkAcl>>,
    /// `describe-network-interfaces`.
    pub network_interfaces: Option<Vec<RawEni>>,
    /// `describe-instances`.
    pub reservations: Option<Vec<RawReservation>>,
    /// `describe-internet-gateways`.
    pub internet_gateways: Option<Vec<RawIgw>>,
    /// `describe-egress-only-internet-gateways`.
    pub egress_only_internet_gateways: Option<Vec<RawEigw>>,
    /// `describe-nat-gateways`.
    pub nat_gateways: Option<Vec<RawNatGateway>>,
    /// `describe-vpc-peering-connections`.
    pub vpc_peering_connections: Option<Vec<RawPeering>>,
    /// `describe-transit-gateways`.
    pub transit_gateways: Option<Vec<RawTgw>>,
    /// `describe-transit-gateway-attachments`.
    pub transit_gateway_attachments: Option<Vec<RawTgwAttachment>>,
    /// `describe-transit-gateway-vpc-attachments`.
    pub transit_gateway_vpc_attachments: Option<Vec<RawTgwVpcAttachment>>,
    /// `describe-transit-gateway-route-tables`.
    pub transit_gateway_route_tables: Option<Vec<RawTgwRouteTable>>,
    /// Batfish wrapper: propagations per TGW route table.
    pub transit_gateway_propagations: Option<Vec<RawTgwPropagations>>,
    /// `get-transit-gateway-route-table-propagations` (needs `TransitGatewayRouteTableId`).
    pub transit_gateway_route_table_propagations: Option<Vec<RawTgwPropagation>>,
    /// Batfish wrapper: static routes per TGW route table.
    pub transit_gateway_static_routes: Option<Vec<RawTgwRoutes>>,
    /// `search-transit-gateway-routes` (needs `TransitGatewayRouteTableId`).
    pub routes: Option<Vec<RawTgwRoute>>,
    /// Wrapper key naming the TGW route table of `Routes` / propagations.
    pub transit_gateway_route_table_id: Option<String>,
    /// `describe-prefix-lists` / `describe-managed-prefix-lists`.
    pub prefix_lists: Option<Vec<RawPrefixList>>,
    /// `get-managed-prefix-list-entries` (needs `PrefixListId` or a file named after the list).
    pub entries: Option<Vec<RawPrefixListEntry>>,
    /// Wrapper key naming the prefix list of `Entries`.
    pub prefix_list_id: Option<String>,
    /// `describe-vpc-endpoints`.
    pub vpc_endpoints: Option<Vec<RawVpcEndpoint>>,
    /// `describe-vpn-gateways`.
    pub vpn_gateways: Option<Vec<RawVpnGateway>>,
    /// `describe-vpn-connections`.
    pub vpn_connections: Option<Vec<RawVpnConnection>>,
    /// `elbv2 describe-load-balancers`.
    pub load_balancers: Option<Vec<RawLoadBalancer>>,
    /// `elbv2 describe-target-groups`.
    pub target_groups: Option<Vec<RawTargetGroup>>,
    /// `elbv2 describe-listeners`.
    pub listeners: Option<Vec<RawListener>>,
    /// Batfish wrapper: listeners per load balancer.
    pub load_balancer_listeners: Option<Vec<RawLbListeners>>,
    /// `elbv2 describe-target-health` (needs `TargetGroupArn` or a file named after the group).
    pub target_health_descriptions: Option<Vec<RawTargetHealthDescription>>,
    /// Batfish wrapper: target health per target group.
    pub load_balancer_target_health: Option<Vec<RawLbTargetHealth>>,
    /// Wrapper key naming the target group of `TargetHealthDescriptions` / `Attributes`.
    pub target_group_arn: Option<String>,
    /// Batfish wrapper: load balancer attributes.
    pub load_balancer_attributes: Option<Vec<RawArnAttributes>>,
    /// Wrapper: target group attributes.
    pub target_group_attributes: Option<Vec<RawArnAttributes>>,
    /// `describe-load-balancer-attributes` / `describe-target-group-attributes`.
    pub attributes: Option<Vec<RawAttribute>>,
    /// Wrapper key naming the load balancer of `Attributes`.
    pub load_balancer_arn: Option<String>,
}

/// `Key`/`Value` tag.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A `{"State": ...}` object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawState {
    /// State name.
    pub state: Option<String>,
}

/// A `{"Code": ...}` object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawCode {
    /// Status code.
    pub code: Option<String>,
}

/// A `{"Name": ...}` object (instance state).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawName {
    /// Name.
    pub name: Option<String>,
}

/// IPv4 CIDR association of a VPC.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawCidrAssoc {
    /// CIDR.
    pub cidr_block: Option<String>,
    /// State.
    pub cidr_block_state: Option<RawState>,
}

/// IPv6 CIDR association of a VPC or subnet.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawIpv6CidrAssoc {
    /// CIDR.
    pub ipv6_cidr_block: Option<String>,
    /// State.
    pub ipv6_cidr_block_state: Option<RawState>,
}

/// `describe-vpcs` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawVpc {
    /// Id.
    pub vpc_id: String,
    /// Primary CIDR.
    pub cidr_block: Option<String>,
    /// IPv4 associations.
    pub cidr_block_association_set: Vec<RawCidrAssoc>,
    /// IPv6 associations.
    pub ipv6_cidr_block_association_set: Vec<RawIpv6CidrAssoc>,
    /// Account.
    pub owner_id: Option<String>,
    /// Tags.
    pub tags: Vec<RawTag>,
}

/// `describe-subnets` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawSubnet {
    /// Id.
    pub subnet_id: String,
    /// VPC.
    pub vpc_id: String,
    /// IPv4 CIDR.
    pub cidr_block: Option<String>,
    /// IPv6 associations.
    pub ipv6_cidr_block_association_set: Vec<RawIpv6CidrAssoc>,
    /// Zone.
    pub availability_zone: String,
    /// Tags.
    pub tags: Vec<RawTag>,
}

/// Route table association.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawRtAssoc {
    /// Main table flag.
    pub main: bool,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// Gateway (edge association).
    pub gateway_id: Option<String>,
    /// State.
    pub association_state: Option<RawState>,
}

/// `{"GatewayId": ...}` (propagating VGW).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawGatewayRef {
    /// Gateway id.
    pub gateway_id: String,
}

/// One route of a VPC route table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawRoute {
    /// IPv4 destination.
    pub destination_cidr_block: Option<String>,
    /// IPv6 destination.
    pub destination_ipv6_cidr_block: Option<String>,
    /// Prefix-list destination.
    pub destination_prefix_list_id: Option<String>,
    /// igw-, vgw-, vpce-, `local`.
    pub gateway_id: Option<String>,
    /// eigw-.
    pub egress_only_internet_gateway_id: Option<String>,
    /// nat-.
    pub nat_gateway_id: Option<String>,
    /// tgw-.
    pub transit_gateway_id: Option<String>,
    /// pcx-.
    pub vpc_peering_connection_id: Option<String>,
    /// eni-.
    pub network_interface_id: Option<String>,
    /// i-.
    pub instance_id: Option<String>,
    /// lgw-.
    pub local_gateway_id: Option<String>,
    /// cagw-.
    pub carrier_gateway_id: Option<String>,
    /// Cloud WAN.
    pub core_network_arn: Option<String>,
    /// CreateRouteTable / CreateRoute / EnableVgwRoutePropagation.
    pub origin: Option<String>,
    /// active / blackhole.
    pub state: Option<String>,
}

/// `describe-route-tables` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawRouteTable {
    /// Id.
    pub route_table_id: String,
    /// VPC.
    pub vpc_id: String,
    /// Associations.
    pub associations: Vec<RawRtAssoc>,
    /// Routes.
    pub routes: Vec<RawRoute>,
    /// Propagating VGWs.
    pub propagating_vgws: Vec<RawGatewayRef>,
}

/// `IpRanges` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawIpRange {
    /// CIDR.
    pub cidr_ip: String,
    /// Description.
    pub description: Option<String>,
}

/// `Ipv6Ranges` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawIpv6Range {
    /// CIDR.
    pub cidr_ipv6: String,
    /// Description.
    pub description: Option<String>,
}

/// `PrefixListIds` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawPrefixListRef {
    /// Id.
    pub prefix_list_id: String,
    /// Description.
    pub description: Option<String>,
}

/// `UserIdGroupPairs` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawGroupPair {
    /// Referenced group.
    pub group_id: String,
    /// Its account.
    pub user_id: Option<String>,
    /// Peering, for groups in a peered VPC.
    pub vpc_peering_connection_id: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// One permission of a security group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawPermission {
    /// `-1`, a name or a number.
    pub ip_protocol: StrOrNum,
    /// First port / ICMP type.
    pub from_port: Option<i64>,
    /// Last port / ICMP code.
    pub to_port: Option<i64>,
    /// IPv4 peers.
    pub ip_ranges: Vec<RawIpRange>,
    /// IPv6 peers.
    pub ipv6_ranges: Vec<RawIpv6Range>,
    /// Prefix-list peers.
    pub prefix_list_ids: Vec<RawPrefixListRef>,
    /// Group peers.
    pub user_id_group_pairs: Vec<RawGroupPair>,
}

/// `describe-security-groups` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawSecurityGroup {
    /// Id.
    pub group_id: String,
    /// Name.
    pub group_name: String,
    /// VPC.
    pub vpc_id: String,
    /// Account.
    pub owner_id: Option<String>,
    /// Inbound.
    pub ip_permissions: Vec<RawPermission>,
    /// Outbound.
    pub ip_permissions_egress: Vec<RawPermission>,
    /// Tags.
    pub tags: Vec<RawTag>,
}

/// NACL `PortRange`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawPortRange {
    /// First port.
    pub from: Option<i64>,
    /// Last port.
    pub to: Option<i64>,
}

/// NACL `IcmpTypeCode`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawIcmpTypeCode {
    /// Type, -1 = any.
    #[serde(rename = "Type")]
    pub icmp_type: Option<i64>,
    /// Code, -1 = any.
    pub code: Option<i64>,
}

/// NACL entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawAclEntry {
    /// Rule number.
    pub rule_number: i64,
    /// `-1` or a number.
    pub protocol: StrOrNum,
    /// allow / deny.
    pub rule_action: String,
    /// Outbound when true.
    pub egress: bool,
    /// IPv4 block.
    pub cidr_block: Option<String>,
    /// IPv6 block.
    pub ipv6_cidr_block: Option<String>,
    /// Ports.
    pub port_range: Option<RawPortRange>,
    /// ICMP type and code.
    pub icmp_type_code: Option<RawIcmpTypeCode>,
}

/// NACL association.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawAclAssoc {
    /// Subnet.
    pub subnet_id: String,
}

/// `describe-network-acls` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawNetworkAcl {
    /// Id.
    pub network_acl_id: String,
    /// VPC.
    pub vpc_id: String,
    /// Default NACL.
    pub is_default: bool,
    /// Associations.
    pub associations: Vec<RawAclAssoc>,
    /// Entries.
    pub entries: Vec<RawAclEntry>,
}

/// Public IP association.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawAssociation {
    /// Public IP.
    pub public_ip: Option<String>,
}

/// One private address of an ENI.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawPrivateIp {
    /// Address.
    pub private_ip_address: String,
    /// Primary flag.
    pub primary: bool,
    /// Public association.
    pub association: Option<RawAssociation>,
}

/// IPv6 address of an ENI.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawIpv6Address {
    /// Address.
    pub ipv6_address: String,
}

/// Delegated IPv4 prefix.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawIpv4Prefix {
    /// Prefix.
    pub ipv4_prefix: String,
}

/// Delegated IPv6 prefix.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawIpv6Prefix {
    /// Prefix.
    pub ipv6_prefix: String,
}

/// `{"GroupId": ...}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawGroupRef {
    /// Group id.
    pub group_id: String,
}

/// ENI attachment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawEniAttachment {
    /// Instance.
    pub instance_id: Option<String>,
    /// Device index.
    pub device_index: Option<i64>,
    /// Status.
    pub status: Option<String>,
}

/// `describe-network-interfaces` item (also `Instances[].NetworkInterfaces[]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawEni {
    /// Id.
    pub network_interface_id: String,
    /// Subnet.
    pub subnet_id: String,
    /// VPC.
    pub vpc_id: String,
    /// Zone.
    pub availability_zone: Option<String>,
    /// Type.
    pub interface_type: Option<String>,
    /// Description.
    pub description: String,
    /// Primary private IP.
    pub private_ip_address: Option<String>,
    /// All private IPs.
    pub private_ip_addresses: Vec<RawPrivateIp>,
    /// Association of the primary IP.
    pub association: Option<RawAssociation>,
    /// IPv6 addresses.
    pub ipv6_addresses: Vec<RawIpv6Address>,
    /// IPv4 prefixes.
    pub ipv4_prefixes: Vec<RawIpv4Prefix>,
    /// IPv6 prefixes.
    pub ipv6_prefixes: Vec<RawIpv6Prefix>,
    /// Security groups.
    pub groups: Vec<RawGroupRef>,
    /// Source/destination check.
    pub source_dest_check: Option<bool>,
    /// Attachment.
    pub attachment: Option<RawEniAttachment>,
    /// Status.
    pub status: Option<String>,
    /// Service-managed.
    pub requester_managed: bool,
    /// Tags.
    pub tag_set: Vec<RawTag>,
}

/// `describe-instances` reservation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawReservation {
    /// Account.
    pub owner_id: Option<String>,
    /// Instances.
    pub instances: Vec<RawInstance>,
}

/// Instance placement.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawPlacement {
    /// Zone.
    pub availability_zone: Option<String>,
}

/// An instance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawInstance {
    /// Id.
    pub instance_id: String,
    /// State.
    pub state: Option<RawName>,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Primary private IP.
    pub private_ip_address: Option<String>,
    /// Interfaces.
    pub network_interfaces: Vec<RawEni>,
    /// Source/destination check.
    pub source_dest_check: Option<bool>,
    /// Placement.
    pub placement: Option<RawPlacement>,
    /// Tags.
    pub tags: Vec<RawTag>,
}

/// Gateway attachment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawVpcAttachment {
    /// VPC.
    pub vpc_id: String,
    /// State.
    pub state: Option<String>,
}

/// `describe-internet-gateways` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawIgw {
    /// Id.
    pub internet_gateway_id: String,
    /// Attachments.
    pub attachments: Vec<RawVpcAttachment>,
}

/// `describe-egress-only-internet-gateways` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawEigw {
    /// Id.
    pub egress_only_internet_gateway_id: String,
    /// Attachments.
    pub attachments: Vec<RawVpcAttachment>,
}

/// NAT gateway address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawNatAddress {
    /// Private IP.
    pub private_ip: Option<String>,
    /// Elastic IP.
    pub public_ip: Option<String>,
    /// ENI.
    pub network_interface_id: Option<String>,
}

/// `describe-nat-gateways` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawNatGateway {
    /// Id.
    pub nat_gateway_id: String,
    /// VPC.
    pub vpc_id: String,
    /// Subnet.
    pub subnet_id: String,
    /// State.
    pub state: String,
    /// public / private.
    pub connectivity_type: Option<String>,
    /// Addresses.
    pub nat_gateway_addresses: Vec<RawNatAddress>,
}

/// `{"CidrBlock": ...}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawCidrItem {
    /// CIDR.
    pub cidr_block: String,
}

/// `{"Ipv6CidrBlock": ...}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawIpv6CidrItem {
    /// CIDR.
    pub ipv6_cidr_block: String,
}

/// One side of a peering.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawPeeringSide {
    /// VPC.
    pub vpc_id: String,
    /// Account.
    pub owner_id: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Primary CIDR.
    pub cidr_block: Option<String>,
    /// IPv4 CIDRs.
    pub cidr_block_set: Vec<RawCidrItem>,
    /// IPv6 CIDRs.
    pub ipv6_cidr_block_set: Vec<RawIpv6CidrItem>,
}

/// `describe-vpc-peering-connections` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawPeering {
    /// Id.
    pub vpc_peering_connection_id: String,
    /// Status.
    pub status: Option<RawCode>,
    /// Requester.
    pub requester_vpc_info: RawPeeringSide,
    /// Accepter.
    pub accepter_vpc_info: RawPeeringSide,
}

/// `describe-transit-gateways` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgw {
    /// Id.
    pub transit_gateway_id: String,
    /// Account.
    pub owner_id: Option<String>,
    /// State.
    pub state: String,
}

/// TGW attachment association.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgwAssociation {
    /// Route table.
    pub transit_gateway_route_table_id: Option<String>,
    /// State.
    pub state: Option<String>,
}

/// `describe-transit-gateway-attachments` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgwAttachment {
    /// Id.
    pub transit_gateway_attachment_id: String,
    /// TGW.
    pub transit_gateway_id: String,
    /// vpc / vpn / peering / direct-connect-gateway / connect.
    pub resource_type: String,
    /// Resource.
    pub resource_id: String,
    /// State.
    pub state: String,
    /// Association.
    pub association: Option<RawTgwAssociation>,
}

/// `describe-transit-gateway-vpc-attachments` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgwVpcAttachment {
    /// Id.
    pub transit_gateway_attachment_id: String,
    /// TGW.
    pub transit_gateway_id: String,
    /// VPC.
    pub vpc_id: String,
    /// Subnets.
    pub subnet_ids: Vec<String>,
    /// State.
    pub state: String,
}

/// `describe-transit-gateway-route-tables` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgwRouteTable {
    /// Id.
    pub transit_gateway_route_table_id: String,
    /// TGW.
    pub transit_gateway_id: String,
}

/// Attachment of a TGW route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgwRouteAttachment {
    /// Attachment.
    pub transit_gateway_attachment_id: String,
}

/// One TGW route (`search-transit-gateway-routes`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgwRoute {
    /// Destination.
    pub destination_cidr_block: Option<String>,
    /// Prefix-list destination.
    pub prefix_list_id: Option<String>,
    /// static / propagated.
    #[serde(rename = "Type")]
    pub route_type: Option<String>,
    /// active / blackhole.
    pub state: Option<String>,
    /// Targets.
    pub transit_gateway_attachments: Vec<RawTgwRouteAttachment>,
}

/// Batfish `TransitGatewayStaticRoutes` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgwRoutes {
    /// Table.
    pub transit_gateway_route_table_id: String,
    /// Routes.
    pub routes: Vec<RawTgwRoute>,
}

/// One propagation record.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgwPropagation {
    /// Attachment.
    pub transit_gateway_attachment_id: String,
    /// enabled / disabled.
    pub state: Option<String>,
}

/// Batfish `TransitGatewayPropagations` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgwPropagations {
    /// Table.
    pub transit_gateway_route_table_id: String,
    /// Propagations.
    pub transit_gateway_route_table_propagations: Vec<RawTgwPropagation>,
}

/// `describe-prefix-lists` / `describe-managed-prefix-lists` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawPrefixList {
    /// Id.
    pub prefix_list_id: String,
    /// Name.
    pub prefix_list_name: String,
    /// Entries (AWS-managed lists from `describe-prefix-lists`).
    pub cidrs: Option<Vec<String>>,
}

/// `get-managed-prefix-list-entries` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawPrefixListEntry {
    /// CIDR.
    pub cidr: String,
}

/// `describe-vpc-endpoints` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawVpcEndpoint {
    /// Id.
    pub vpc_endpoint_id: String,
    /// Gateway / Interface / GatewayLoadBalancer.
    pub vpc_endpoint_type: String,
    /// VPC.
    pub vpc_id: String,
    /// Service.
    pub service_name: String,
    /// State.
    pub state: String,
    /// Route tables.
    pub route_table_ids: Vec<String>,
    /// Subnets.
    pub subnet_ids: Vec<String>,
    /// ENIs.
    pub network_interface_ids: Vec<String>,
}

/// `describe-vpn-gateways` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawVpnGateway {
    /// Id.
    pub vpn_gateway_id: String,
    /// State.
    pub state: String,
    /// Attachments.
    pub vpc_attachments: Vec<RawVpcAttachment>,
}

/// Static VPN route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawVpnRoute {
    /// Destination.
    pub destination_cidr_block: String,
    /// State.
    pub state: Option<String>,
}

/// Tunnel telemetry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawVgwTelemetry {
    /// AWS-side outside address.
    pub outside_ip_address: Option<String>,
}

/// `describe-vpn-connections` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawVpnConnection {
    /// Id.
    pub vpn_connection_id: String,
    /// VGW.
    pub vpn_gateway_id: Option<String>,
    /// TGW.
    pub transit_gateway_id: Option<String>,
    /// State.
    pub state: String,
    /// Static routes.
    pub routes: Vec<RawVpnRoute>,
    /// Tunnels.
    pub vgw_telemetry: Vec<RawVgwTelemetry>,
}

/// Load balancer address in a zone.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawLbAddress {
    /// Elastic IP.
    pub ip_address: Option<String>,
    /// Private IPv4.
    #[serde(rename = "PrivateIPv4Address")]
    pub private_ipv4_address: Option<String>,
    /// IPv6.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: Option<String>,
}

/// Load balancer zone.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawLbZone {
    /// Zone.
    pub zone_name: String,
    /// Subnet.
    pub subnet_id: String,
    /// Addresses.
    pub load_balancer_addresses: Vec<RawLbAddress>,
}

/// `elbv2 describe-load-balancers` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawLoadBalancer {
    /// ARN.
    pub load_balancer_arn: String,
    /// Name.
    pub load_balancer_name: String,
    /// DNS name.
    #[serde(rename = "DNSName")]
    pub dns_name: String,
    /// network / application / gateway.
    #[serde(rename = "Type")]
    pub lb_type: String,
    /// internet-facing / internal.
    pub scheme: String,
    /// VPC.
    pub vpc_id: String,
    /// State.
    pub state: Option<RawCode>,
    /// Zones.
    pub availability_zones: Vec<RawLbZone>,
    /// SGs.
    pub security_groups: Vec<String>,
}

/// `elbv2 describe-target-groups` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTargetGroup {
    /// ARN.
    pub target_group_arn: String,
    /// Name.
    pub target_group_name: String,
    /// instance / ip / lambda / alb.
    pub target_type: Option<String>,
    /// Protocol.
    pub protocol: Option<String>,
    /// Port.
    pub port: Option<i64>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Load balancers.
    pub load_balancer_arns: Vec<String>,
}

/// Weighted target group of a forward action.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTgTuple {
    /// Target group.
    pub target_group_arn: String,
}

/// `ForwardConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawForwardConfig {
    /// Target groups.
    pub target_groups: Vec<RawTgTuple>,
}

/// Listener action.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawAction {
    /// forward / redirect / fixed-response / ...
    #[serde(rename = "Type")]
    pub action_type: String,
    /// Target group.
    pub target_group_arn: Option<String>,
    /// Weighted forward.
    pub forward_config: Option<RawForwardConfig>,
}

/// `elbv2 describe-listeners` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawListener {
    /// ARN.
    pub listener_arn: String,
    /// Load balancer.
    pub load_balancer_arn: String,
    /// Port.
    pub port: Option<i64>,
    /// Protocol.
    pub protocol: String,
    /// Default actions.
    pub default_actions: Vec<RawAction>,
}

/// Batfish `LoadBalancerListeners` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawLbListeners {
    /// Load balancer.
    pub load_balancer_arn: String,
    /// Listeners.
    pub listeners: Vec<RawListener>,
}

/// Target of a health description.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTarget {
    /// Instance id or IP.
    pub id: String,
    /// Port.
    pub port: Option<i64>,
    /// Zone.
    pub availability_zone: Option<String>,
}

/// Health of a target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTargetHealth {
    /// healthy / unhealthy / ...
    pub state: Option<String>,
    /// Reason code.
    pub reason: Option<String>,
}

/// `elbv2 describe-target-health` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawTargetHealthDescription {
    /// Target.
    pub target: RawTarget,
    /// Health.
    pub target_health: RawTargetHealth,
}

/// Batfish `LoadBalancerTargetHealth` item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawLbTargetHealth {
    /// Target group.
    pub target_group_arn: String,
    /// Targets.
    pub target_health_descriptions: Vec<RawTargetHealthDescription>,
}

/// Attribute key/value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawAttribute {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// Attributes of one load balancer or target group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RawArnAttributes {
    /// Load balancer.
    pub load_balancer_arn: Option<String>,
    /// Target group.
    pub target_group_arn: Option<String>,
    /// Attributes.
    pub attributes: Vec<RawAttribute>,
}
