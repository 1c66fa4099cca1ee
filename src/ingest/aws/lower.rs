//! Lowering raw AWS documents into [`Cloud`]: ids deduplicated across files and accounts, every
//! object given a JSON-path provenance, every value validated.

use super::raw::*;
use super::Doc;
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::*;
use crate::source::{FileId, Provenance, SourceMap};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Lowers every document into `snap.cloud`, sets `snap.present`, validates references.
pub(super) fn lower(docs: &[Doc], snap: &mut Snapshot, diags: &mut Diagnostics) {
    let Snapshot {
        sources,
        present,
        cloud,
        ..
    } = snap;
    let mut lw = Lowerer {
        cloud,
        diags,
        sources,
        sg_owner: HashMap::new(),
    };
    for d in docs {
        set_present(present, &d.raw);
    }
    // Prefix lists first: TGW routes may name them.
    for d in docs {
        lw.prefix_lists(d);
    }
    for d in docs {
        lw.vpcs_subnets(d);
    }
    for d in docs {
        lw.route_tables(d);
        lw.security_groups(d);
        lw.network_acls(d);
        lw.enis(d);
    }
    for d in docs {
        lw.instances(d);
        lw.gateways(d);
        lw.peerings(d);
        lw.vpn(d);
        lw.tgws(d);
        lw.vpc_endpoints(d);
    }
    for d in docs {
        lw.tgw_vpc_attachments(d);
        lw.tgw_route_tables(d);
    }
    for d in docs {
        lw.tgw_routes(d);
    }
    for d in docs {
        lw.load_balancers(d);
    }
    for d in docs {
        lw.listeners(d);
        lw.target_health(d);
        lw.attributes(d);
    }
    lw.regions(docs);
    if present.security_groups {
        lw.check_sg_references();
    }
    sort_all(lw.cloud);
}

fn set_present(p: &mut InputsPresent, r: &RawFile) {
    p.vpcs |= r.vpcs.is_some();
    p.subnets |= r.subnets.is_some();
    p.route_tables |= r.route_tables.is_some();
    p.security_groups |= r.security_groups.is_some();
    p.network_acls |= r.network_acls.is_some();
    p.network_interfaces |= r.network_interfaces.is_some();
    p.instances |= r.reservations.is_some();
    p.target_health |=
        r.target_health_descriptions.is_some() || r.load_balancer_target_health.is_some();
    p.listeners |= r.listeners.is_some() || r.load_balancer_listeners.is_some();
}

fn sort_all(c: &mut Cloud) {
    c.vpcs.sort_keys();
    c.subnets.sort_keys();
    c.route_tables.sort_keys();
    c.security_groups.sort_keys();
    c.network_acls.sort_keys();
    c.interfaces.sort_keys();
    c.instances.sort_keys();
    c.internet_gateways.sort_keys();
    c.nat_gateways.sort_keys();
    c.peerings.sort_keys();
    c.vpn_gateways.sort_keys();
    c.vpn_connections.sort_keys();
    c.transit_gateways.sort_keys();
    c.tgw_attachments.sort_keys();
    c.tgw_route_tables.sort_keys();
    c.prefix_lists.sort_keys();
    c.vpc_endpoints.sort_keys();
    c.load_balancers.sort_keys();
    c.target_groups.sort_keys();
    c.tgw_peering_views.sort_keys();
}

/// Inserts `v` under `id` unless an object with that id was read before (first wins).
fn insert_first<T>(map: &mut ById<T>, id: &str, v: T) {
    if !map.contains_key(id) {
        map.insert(id.to_string(), v);
    }
}

fn tags(raw: &[RawTag]) -> Vec<Tag> {
    raw.iter()
        .map(|t| Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

/// The region of an availability zone name (`us-east-2a` -> `us-east-2`).
fn region_of_az(az: &str) -> Option<String> {
    let r = az.trim_end_matches(|c: char| c.is_ascii_lowercase());
    (!r.is_empty() && r.len() < az.len() && r.ends_with(|c: char| c.is_ascii_digit()))
        .then(|| r.to_string())
}

/// A path component that looks like a region name (`us-east-1`, `us-gov-west-1`).
fn looks_like_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
}

/// Attributes of a load balancer and/or target group (by ARN), where read, and the attributes.
type AttrBatch<'a> = (
    Option<String>,
    Option<String>,
    Provenance,
    &'a [RawAttribute],
);

/// The protocol and port selector of one rule, or `None` after reporting a bad value.
type Selector = (ProtocolMatch, PortMatch);

struct Lowerer<'a> {
    cloud: &'a mut Cloud,
    diags: &'a mut Diagnostics,
    sources: &'a SourceMap,
    /// Owning account of each security group read, for cross-account references.
    sg_owner: HashMap<String, String>,
}

impl Lowerer<'_> {
    fn error(&mut self, code: &'static str, at: Provenance, msg: String, expected: &str) {
        self.diags
            .push(Diagnostic::error(code, at, msg).expected(expected));
    }

    fn warning(&mut self, code: &'static str, at: Provenance, msg: String, expected: &str) {
        self.diags
            .push(Diagnostic::warning(code, at, msg).expected(expected));
    }

    /// Reports a missing id; true when present.
    fn has_id(&mut self, id: &str, prov: &Provenance, field: &str) -> bool {
        if id.is_empty() {
            self.error(
                "json-shape",
                prov.clone(),
                format!("object has no {field}"),
                &format!("a \"{field}\" string"),
            );
            false
        } else {
            true
        }
    }

    /// Parses an address or CIDR, reporting `code` with `what` and an example when it is invalid.
    fn parse_or_report<T: std::str::FromStr>(
        &mut self,
        s: &str,
        at: Provenance,
        code: &'static str,
        what: &str,
        example: &str,
    ) -> Option<T> {
        match s.trim().parse::<T>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.error(code, at, format!("invalid {what} {s:?}"), example);
                None
            }
        }
    }

    fn net(&mut self, s: &str, at: Provenance) -> Option<IpNet> {
        self.parse_or_report::<IpNet>(
            s,
            at,
            "bad-cidr",
            "CIDR block",
            "an IPv4 or IPv6 CIDR such as 10.0.0.0/16",
        )
        .map(|n| n.trunc())
    }

    fn net4(&mut self, s: &str, at: Provenance) -> Option<Ipv4Net> {
        self.parse_or_report::<Ipv4Net>(
            s,
            at,
            "bad-cidr",
            "IPv4 CIDR block",
            "an IPv4 CIDR such as 10.0.0.0/16",
        )
        .map(|n| n.trunc())
    }

    fn net6(&mut self, s: &str, at: Provenance) -> Option<Ipv6Net> {
        self.parse_or_report::<Ipv6Net>(
            s,
            at,
            "bad-cidr",
            "IPv6 CIDR block",
            "an IPv6 CIDR such as 2600:1f16::/56",
        )
        .map(|n| n.trunc())
    }

    fn ip(&mut self, s: &str, at: Provenance) -> Option<IpAddr> {
        self.parse_or_report(
            s,
            at,
            "bad-address",
            "IP address",
            "an IPv4 or IPv6 address",
        )
    }

    fn ip4(&mut self, s: &str, at: Provenance) -> Option<Ipv4Addr> {
        self.parse_or_report(
            s,
            at,
            "bad-address",
            "IPv4 address",
            "an IPv4 address such as 3.135.127.225",
        )
    }

    fn ip6(&mut self, s: &str, at: Provenance) -> Option<Ipv6Addr> {
        self.parse_or_report(s, at, "bad-address", "IPv6 address", "an IPv6 address")
    }

    /// A port number (0-65535); -1 or absent gives `default`.
    fn port(&mut self, v: Option<i64>, default: u16, at: Provenance) -> Option<u16> {
        match v {
            None | Some(-1) => Some(default),
            Some(p) => match u16::try_from(p) {
                Ok(p) => Some(p),
                Err(_) => {
                    self.error(
                        "bad-port",
                        at,
                        format!("port {p} is outside 0-65535"),
                        "a port number from 0 to 65535 (or -1 for all)",
                    );
                    None
                }
            },
        }
    }

    /// A TCP/UDP port range; `-1` or absent ends are open.
    fn port_range(
        &mut self,
        from: Option<i64>,
        to: Option<i64>,
        at_from: Provenance,
        at_to: Provenance,
        at: &Provenance,
    ) -> Option<PortMatch> {
        let lo = self.port(from, 0, at_from);
        let hi = self.port(to, 65535, at_to);
        let (lo, hi) = (lo?, hi?);
        if lo > hi {
            self.error(
                "bad-port",
                at.clone(),
                format!("port range {lo}-{hi} is empty (from > to)"),
                "FromPort <= ToPort",
            );
            return None;
        }
        Some(PortMatch::Range(PortRange::new(lo, hi)))
    }

    /// An ICMP type or code: -1 or absent = any.
    fn icmp_part(&mut self, v: Option<i64>, what: &str, at: Provenance) -> Result<Option<u8>, ()> {
        match v {
            None | Some(-1) => Ok(None),
            Some(x) => u8::try_from(x).map(Some).map_err(|_| {
                self.error(
                    "bad-port",
                    at,
                    format!("ICMP {what} {x} is outside 0-255"),
                    "an ICMP type/code from 0 to 255, or -1 for any",
                );
            }),
        }
    }

    fn icmp(
        &mut self,
        t: Option<i64>,
        c: Option<i64>,
        at_t: Provenance,
        at_c: Provenance,
    ) -> Option<PortMatch> {
        let icmp_type = self.icmp_part(t, "type", at_t);
        let code = self.icmp_part(c, "code", at_c);
        Some(PortMatch::Icmp {
            icmp_type: icmp_type.ok()?,
            code: code.ok()?,
        })
    }

    fn protocol(&mut self, s: &str, at: Provenance) -> Option<ProtocolMatch> {
        let s = s.trim();
        if s == "-1" || s.eq_ignore_ascii_case("all") {
            return Some(ProtocolMatch::Any);
        }
        match Protocol::parse(s) {
            Some(p) => Some(ProtocolMatch::One(p)),
            None => {
                self.error(
                    "bad-protocol",
                    at,
                    format!("unknown IP protocol {s:?}"),
                    "-1, tcp, udp, icmp, icmpv6 or a protocol number 0-255",
                );
                None
            }
        }
    }

    // ---------------------------------------------------------------- prefix lists

    fn prefix_lists(&mut self, d: &Doc) {
        let f = d.file;
        for (i, p) in d.raw.prefix_lists.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("PrefixLists[{i}]"));
            if !self.has_id(&p.prefix_list_id, &prov, "PrefixListId") {
                continue;
            }
            let cidrs = p.cidrs.as_ref().map(|cs| {
                cs.iter()
                    .enumerate()
                    .filter_map(|(j, c)| self.net(c, prov.child(&format!(".Cidrs[{j}]"))))
                    .collect::<Vec<_>>()
            });
            match self.cloud.prefix_lists.get_mut(&p.prefix_list_id) {
                Some(existing) => {
                    if existing.cidrs.is_none() {
                        existing.cidrs = cidrs;
                    }
                    if existing.name.is_empty() {
                        existing.name = p.prefix_list_name.clone();
                    }
                }
                None => {
                    let pl = PrefixList {
                        id: p.prefix_list_id.clone(),
                        name: p.prefix_list_name.clone(),
                        cidrs,
                        prov,
                    };
                    self.cloud.prefix_lists.insert(p.prefix_list_id.clone(), pl);
                }
            }
        }
        if let Some(entries) = &d.raw.entries {
            let id = d
                .raw
                .prefix_list_id
                .clone()
                .or_else(|| self.name_from_file(f, |s| s.starts_with("pl-")));
            let Some(id) = id else {
                self.error(
                    "missing-context",
                    Provenance::json(f, "Entries"),
                    "prefix-list entries without the prefix list they belong to".into(),
                    "a \"PrefixListId\" key beside \"Entries\", or a file named after the prefix list (pl-...)",
                );
                return;
            };
            let cidrs: Vec<IpNet> = entries
                .iter()
                .enumerate()
                .filter_map(|(j, e)| {
                    self.net(&e.cidr, Provenance::json(f, format!("Entries[{j}].Cidr")))
                })
                .collect();
            let pl = self
                .cloud
                .prefix_lists
                .entry(id.clone())
                .or_insert_with(|| PrefixList {
                    id: id.clone(),
                    name: String::new(),
                    cidrs: None,
                    prov: Provenance::json(f, "Entries"),
                });
            pl.cidrs.get_or_insert_with(Vec::new).extend(cidrs);
        }
    }

    /// The file's stem (or any path component) accepted by `ok`, for wrapper-less inputs.
    fn name_from_file(&self, f: FileId, ok: impl Fn(&str) -> bool) -> Option<String> {
        let path = self.sources.path(f);
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_string())?;
        ok(&stem).then_some(stem)
    }

    // ---------------------------------------------------------------- VPCs and subnets

    fn vpcs_subnets(&mut self, d: &Doc) {
        let f = d.file;
        for (i, v) in d.raw.vpcs.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("Vpcs[{i}]"));
            if !self.has_id(&v.vpc_id, &prov, "VpcId") || self.cloud.vpcs.contains_key(&v.vpc_id) {
                continue;
            }
            let mut cidrs_v4 = Vec::new();
            for (j, a) in v.cidr_block_association_set.iter().enumerate() {
                let state = a
                    .cidr_block_state
                    .as_ref()
                    .and_then(|s| s.state.as_deref())
                    .unwrap_or("associated");
                if state != "associated" {
                    continue;
                }
                if let Some(c) = &a.cidr_block {
                    if let Some(n) = self.net4(
                        c,
                        prov.child(&format!(".CidrBlockAssociationSet[{j}].CidrBlock")),
                    ) {
                        cidrs_v4.push(n);
                    }
                }
            }
            if cidrs_v4.is_empty() && v.cidr_block_association_set.is_empty() {
                if let Some(c) = &v.cidr_block {
                    cidrs_v4.extend(self.net4(c, prov.child(".CidrBlock")));
                }
            }
            let mut cidrs_v6 = Vec::new();
            for (j, a) in v.ipv6_cidr_block_association_set.iter().enumerate() {
                let state = a
                    .ipv6_cidr_block_state
                    .as_ref()
                    .and_then(|s| s.state.as_deref())
                    .unwrap_or("associated");
                if state != "associated" {
                    continue;
                }
                if let Some(c) = &a.ipv6_cidr_block {
                    cidrs_v6.extend(self.net6(
                        c,
                        prov.child(&format!(".Ipv6CidrBlockAssociationSet[{j}].Ipv6CidrBlock")),
                    ));
                }
            }
            let vpc = Vpc {
                id: v.vpc_id.clone(),
                cidrs_v4,
                cidrs_v6,
                owner: v.owner_id.clone(),
                region: None,
                tags: tags(&v.tags),
                prov,
            };
            self.cloud.vpcs.insert(v.vpc_id.clone(), vpc);
        }
        for (i, s) in d.raw.subnets.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("Subnets[{i}]"));
            if !self.has_id(&s.subnet_id, &prov, "SubnetId")
                || self.cloud.subnets.contains_key(&s.subnet_id)
            {
                continue;
            }
            let cidr_v4 = s
                .cidr_block
                .as_ref()
                .and_then(|c| self.net4(c, prov.child(".CidrBlock")));
            let mut cidrs_v6 = Vec::new();
            for (j, a) in s.ipv6_cidr_block_association_set.iter().enumerate() {
                let state = a
                    .ipv6_cidr_block_state
                    .as_ref()
                    .and_then(|s| s.state.as_deref())
                    .unwrap_or("associated");
                if state != "associated" {
                    continue;
                }
                if let Some(c) = &a.ipv6_cidr_block {
                    cidrs_v6.extend(self.net6(
                        c,
                        prov.child(&format!(".Ipv6CidrBlockAssociationSet[{j}].Ipv6CidrBlock")),
                    ));
                }
            }
            let subnet = Subnet {
                id: s.subnet_id.clone(),
                vpc_id: s.vpc_id.clone(),
                cidr_v4,
                cidrs_v6,
                az: s.availability_zone.clone(),
                tags: tags(&s.tags),
                prov,
            };
            self.cloud.subnets.insert(s.subnet_id.clone(), subnet);
        }
    }

    /// VPC regions from their subnets' zones, else from a region-named folder of the VPC's file.
    fn regions(&mut self, _docs: &[Doc]) {
        let mut found: Vec<(String, String)> = Vec::new();
        for s in self.cloud.subnets.values() {
            if let Some(r) = region_of_az(&s.az) {
                found.push((s.vpc_id.clone(), r));
            }
        }
        for (vpc, r) in found {
            if let Some(v) = self.cloud.vpcs.get_mut(&vpc) {
                v.region.get_or_insert(r);
            }
        }
        for v in self.cloud.vpcs.values_mut() {
            if v.region.is_none() {
                let path = self.sources.path(v.prov.file);
                v.region = path
                    .components()
                    .rev()
                    .filter_map(|c| c.as_os_str().to_str())
                    .find(|c| looks_like_region(c))
                    .map(str::to_string);
            }
        }
    }

    // ---------------------------------------------------------------- route tables

    fn route_tables(&mut self, d: &Doc) {
        let f = d.file;
        for (i, t) in d.raw.route_tables.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("RouteTables[{i}]"));
            if !self.has_id(&t.route_table_id, &prov, "RouteTableId")
                || self.cloud.route_tables.contains_key(&t.route_table_id)
            {
                continue;
            }
            let mut main = false;
            let mut subnet_ids = Vec::new();
            let mut gateway_ids = Vec::new();
            for a in &t.associations {
                let state = a
                    .association_state
                    .as_ref()
                    .and_then(|s| s.state.as_deref())
                    .unwrap_or("associated");
                if state != "associated" {
                    continue;
                }
                main |= a.main;
                if let Some(s) = &a.subnet_id {
                    subnet_ids.push(s.clone());
                }
                if let Some(g) = &a.gateway_id {
                    gateway_ids.push(g.clone());
                }
            }
            let mut routes = Vec::new();
            for (j, r) in t.routes.iter().enumerate() {
                if let Some(route) = self.route(r, prov.child(&format!(".Routes[{j}]"))) {
                    routes.push(route);
                }
            }
            let rt = RouteTable {
                id: t.route_table_id.clone(),
                vpc_id: t.vpc_id.clone(),
                main,
                subnet_ids,
                gateway_ids,
                routes,
                propagating_vgws: t
                    .propagating_vgws
                    .iter()
                    .map(|g| g.gateway_id.clone())
                    .collect(),
                prov,
            };
            self.cloud.route_tables.insert(t.route_table_id.clone(), rt);
        }
    }

    fn route(&mut self, r: &RawRoute, prov: Provenance) -> Option<Route> {
        let destination = if let Some(c) = &r.destination_cidr_block {
            RouteDestination::Cidr(IpNet::V4(
                self.net4(c, prov.child(".DestinationCidrBlock"))?,
            ))
        } else if let Some(c) = &r.destination_ipv6_cidr_block {
            RouteDestination::Cidr(IpNet::V6(
                self.net6(c, prov.child(".DestinationIpv6CidrBlock"))?,
            ))
        } else if let Some(p) = &r.destination_prefix_list_id {
            RouteDestination::PrefixList(p.clone())
        } else {
            self.error(
                "bad-cidr",
                prov,
                "route has no destination".into(),
                "one of DestinationCidrBlock, DestinationIpv6CidrBlock, DestinationPrefixListId",
            );
            return None;
        };
        let target = route_target(r);
        let Some(target) = target else {
            self.error(
                "unknown-route-target",
                prov,
                "route has no recognisable target".into(),
                "one of GatewayId (local, igw-, vgw-, vpce-, eigw-), NatGatewayId, TransitGatewayId, VpcPeeringConnectionId, \
                 EgressOnlyInternetGatewayId, NetworkInterfaceId, InstanceId, LocalGatewayId, CarrierGatewayId, CoreNetworkArn",
            );
            return None;
        };
        let origin = match r.origin.as_deref() {
            Some("CreateRouteTable") => RouteOrigin::Local,
            Some("EnableVgwRoutePropagation") => RouteOrigin::Propagated,
            Some(_) => RouteOrigin::Static,
            None if target == RouteTarget::Local => RouteOrigin::Local,
            None => RouteOrigin::Static,
        };
        let active = r.state.as_deref() != Some("blackhole");
        Some(Route {
            destination,
            target,
            origin,
            active,
            prov,
        })
    }

    // ---------------------------------------------------------------- security groups

    fn security_groups(&mut self, d: &Doc) {
        let f = d.file;
        for (i, g) in d.raw.security_groups.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("SecurityGroups[{i}]"));
            if !self.has_id(&g.group_id, &prov, "GroupId")
                || self.cloud.security_groups.contains_key(&g.group_id)
            {
                continue;
            }
            let mut ingress = Vec::new();
            for (j, p) in g.ip_permissions.iter().enumerate() {
                self.sg_rules(p, prov.child(&format!(".IpPermissions[{j}]")), &mut ingress);
            }
            let mut egress = Vec::new();
            for (j, p) in g.ip_permissions_egress.iter().enumerate() {
                self.sg_rules(
                    p,
                    prov.child(&format!(".IpPermissionsEgress[{j}]")),
                    &mut egress,
                );
            }
            let sg = SecurityGroup {
                id: g.group_id.clone(),
                name: g.group_name.clone(),
                vpc_id: g.vpc_id.clone(),
                ingress,
                egress,
                tags: tags(&g.tags),
                prov,
            };
            self.cloud.security_groups.insert(g.group_id.clone(), sg);
            if let Some(owner) = &g.owner_id {
                self.sg_owner.insert(g.group_id.clone(), owner.clone());
            }
        }
    }

    fn sg_selector(&mut self, p: &RawPermission, prov: &Provenance) -> Option<Selector> {
        let protocol = self.protocol(&p.ip_protocol.0, prov.child(".IpProtocol"))?;
        let ports = match protocol {
            ProtocolMatch::Any => PortMatch::Any,
            ProtocolMatch::One(Protocol::Tcp | Protocol::Udp) => self.port_range(
                p.from_port,
                p.to_port,
                prov.child(".FromPort"),
                prov.child(".ToPort"),
                prov,
            )?,
            ProtocolMatch::One(Protocol::Icmp | Protocol::Icmpv6) => self.icmp(
                p.from_port,
                p.to_port,
                prov.child(".FromPort"),
                prov.child(".ToPort"),
            )?,
            ProtocolMatch::One(_) => PortMatch::Any,
        };
        Some((protocol, ports))
    }

    fn sg_rules(&mut self, p: &RawPermission, prov: Provenance, out: &mut Vec<SgRule>) {
        let Some((protocol, ports)) = self.sg_selector(p, &prov) else {
            return;
        };
        let rule = |peer: SgPeer, description: &Option<String>| SgRule {
            protocol,
            ports,
            peer,
            description: description.clone(),
            prov: prov.clone(),
        };
        for (k, r) in p.ip_ranges.iter().enumerate() {
            if let Some(n) = self.net4(&r.cidr_ip, prov.child(&format!(".IpRanges[{k}].CidrIp"))) {
                out.push(rule(SgPeer::Cidr(IpNet::V4(n)), &r.description));
            }
        }
        for (k, r) in p.ipv6_ranges.iter().enumerate() {
            if let Some(n) = self.net6(
                &r.cidr_ipv6,
                prov.child(&format!(".Ipv6Ranges[{k}].CidrIpv6")),
            ) {
                out.push(rule(SgPeer::Cidr(IpNet::V6(n)), &r.description));
            }
        }
        for r in &p.prefix_list_ids {
            out.push(rule(
                SgPeer::PrefixList(r.prefix_list_id.clone()),
                &r.description,
            ));
        }
        for (k, r) in p.user_id_group_pairs.iter().enumerate() {
            if !self.has_id(
                &r.group_id,
                &prov.child(&format!(".UserIdGroupPairs[{k}]")),
                "GroupId",
            ) {
                continue;
            }
            let peer = SgPeer::Group {
                group_id: r.group_id.clone(),
                peering_id: r.vpc_peering_connection_id.clone(),
                user_id: r.user_id.clone(),
            };
            let mut sg_rule = rule(peer, &r.description);
            sg_rule.prov = prov.child(&format!(".UserIdGroupPairs[{k}]"));
            out.push(sg_rule);
        }
    }

    /// Rules referencing groups absent from the snapshot: a warning, worded differently when the
    /// reference names another account or a peering (a group legitimately outside this snapshot).
    fn check_sg_references(&mut self) {
        let mut found = Vec::new();
        for sg in self.cloud.security_groups.values() {
            let owner = self.sg_owner.get(&sg.id).map(String::as_str);
            for r in sg.ingress.iter().chain(&sg.egress) {
                if let SgPeer::Group {
                    group_id,
                    peering_id,
                    user_id,
                } = &r.peer
                {
                    if self.cloud.security_groups.contains_key(group_id) {
                        continue;
                    }
                    let foreign = peering_id.is_some()
                        || matches!((user_id, owner), (Some(u), Some(o)) if u != o);
                    found.push((foreign, group_id.clone(), sg.id.clone(), r.prov.clone()));
                }
            }
        }
        // Both cases are warnings: the contract makes a referenced-but-absent group an
        // incomplete layer (flows it decides are `unknown`), not bad input, and real snapshots
        // (hybrid-cloud-aws) reference deleted same-account groups.
        for (foreign, group, sg, prov) in found {
            let msg =
                format!("{sg} references security group {group}, which is not in the snapshot");
            if foreign {
                self.warning(
                    "unknown-reference",
                    prov,
                    format!("{msg} (another account's or a peered VPC's group; its members are unknown)"),
                    "the referenced group's describe-security-groups output, from its own account",
                );
            } else {
                self.warning(
                    "unknown-reference",
                    prov,
                    format!("{msg} (same account: deleted, or its describe-security-groups output is missing); flows it decides are unknown"),
                    "the referenced group in a describe-security-groups input",
                );
            }
        }
    }

    // ---------------------------------------------------------------- network ACLs

    fn network_acls(&mut self, d: &Doc) {
        let f = d.file;
        for (i, a) in d.raw.network_acls.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("NetworkAcls[{i}]"));
            if !self.has_id(&a.network_acl_id, &prov, "NetworkAclId")
                || self.cloud.network_acls.contains_key(&a.network_acl_id)
            {
                continue;
            }
            let mut ingress = Vec::new();
            let mut egress = Vec::new();
            for (j, e) in a.entries.iter().enumerate() {
                if let Some(entry) = self.acl_entry(e, prov.child(&format!(".Entries[{j}]"))) {
                    if e.egress {
                        egress.push(entry);
                    } else {
                        ingress.push(entry);
                    }
                }
            }
            ingress.sort_by_key(|e| e.number);
            egress.sort_by_key(|e| e.number);
            let acl = NetworkAcl {
                id: a.network_acl_id.clone(),
                vpc_id: a.vpc_id.clone(),
                is_default: a.is_default,
                subnet_ids: a
                    .associations
                    .iter()
                    .map(|s| s.subnet_id.clone())
                    .filter(|s| !s.is_empty())
                    .collect(),
                ingress,
                egress,
                prov,
            };
            self.cloud
                .network_acls
                .insert(a.network_acl_id.clone(), acl);
        }
    }

    fn acl_entry(&mut self, e: &RawAclEntry, prov: Provenance) -> Option<AclEntry> {
        let number = match u32::try_from(e.rule_number) {
            // 32767 is the IPv4 default rule, 32768 the IPv6 one.
            Ok(n) if (1..=32768).contains(&n) => Some(n),
            _ => {
                self.error(
                    "bad-rule-number",
                    prov.child(".RuleNumber"),
                    format!("rule number {} is outside 1-32768", e.rule_number),
                    "a rule number from 1 to 32766 (32767 and 32768 are the IPv4 and IPv6 default rules)",
                );
                None
            }
        };
        let allow = match e.rule_action.to_ascii_lowercase().as_str() {
            "allow" => Some(true),
            "deny" => Some(false),
            other => {
                self.error(
                    "bad-value",
                    prov.child(".RuleAction"),
                    format!("unknown rule action {other:?}"),
                    "allow or deny",
                );
                None
            }
        };
        let cidr = if let Some(c) = &e.cidr_block {
            self.net4(c, prov.child(".CidrBlock")).map(IpNet::V4)
        } else if let Some(c) = &e.ipv6_cidr_block {
            self.net6(c, prov.child(".Ipv6CidrBlock")).map(IpNet::V6)
        } else {
            self.error(
                "bad-cidr",
                prov.clone(),
                "network ACL entry has no CIDR block".into(),
                "CidrBlock or Ipv6CidrBlock",
            );
            None
        };
        let protocol = self.protocol(&e.protocol.0, prov.child(".Protocol"));
        let ports = match protocol? {
            ProtocolMatch::One(Protocol::Tcp | Protocol::Udp) => match &e.port_range {
                Some(r) => self.port_range(
                    r.from,
                    r.to,
                    prov.child(".PortRange.From"),
                    prov.child(".PortRange.To"),
                    &prov.child(".PortRange"),
                )?,
                None => PortMatch::Range(PortRange::ALL),
            },
            ProtocolMatch::One(Protocol::Icmp | Protocol::Icmpv6) => match &e.icmp_type_code {
                Some(t) => self.icmp(
                    t.icmp_type,
                    t.code,
                    prov.child(".IcmpTypeCode.Type"),
                    prov.child(".IcmpTypeCode.Code"),
                )?,
                None => PortMatch::Icmp {
                    icmp_type: None,
                    code: None,
                },
            },
            _ => PortMatch::Any,
        };
        Some(AclEntry {
            number: number?,
            allow: allow?,
            protocol: protocol?,
            ports,
            cidr: cidr?,
            prov,
        })
    }

    // ---------------------------------------------------------------- interfaces and instances

    fn enis(&mut self, d: &Doc) {
        let f = d.file;
        for (i, e) in d.raw.network_interfaces.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("NetworkInterfaces[{i}]"));
            if !self.has_id(&e.network_interface_id, &prov, "NetworkInterfaceId")
                || self.cloud.interfaces.contains_key(&e.network_interface_id)
            {
                continue;
            }
            let eni = self.eni(e, prov, None, None);
            self.cloud
                .interfaces
                .insert(e.network_interface_id.clone(), eni);
        }
    }

    fn eni(
        &mut self,
        e: &RawEni,
        prov: Provenance,
        az: Option<&str>,
        instance: Option<&str>,
    ) -> Interface {
        let mut addresses = Vec::new();
        for (k, a) in e.private_ip_addresses.iter().enumerate() {
            let p = prov.child(&format!(".PrivateIpAddresses[{k}]"));
            let Some(ip) = self.ip(&a.private_ip_address, p.child(".PrivateIpAddress")) else {
                continue;
            };
            let public_ip = a
                .association
                .as_ref()
                .and_then(|x| x.public_ip.as_ref())
                .and_then(|s| self.ip4(s, p.child(".Association.PublicIp")));
            addresses.push(PrivateAddress {
                ip,
                primary: a.primary,
                public_ip,
            });
        }
        if addresses.is_empty() {
            if let Some(s) = &e.private_ip_address {
                if let Some(ip) = self.ip(s, prov.child(".PrivateIpAddress")) {
                    let public_ip = e
                        .association
                        .as_ref()
                        .and_then(|x| x.public_ip.as_ref())
                        .and_then(|s| self.ip4(s, prov.child(".Association.PublicIp")));
                    addresses.push(PrivateAddress {
                        ip,
                        primary: true,
                        public_ip,
                    });
                }
            }
        }
        let mut ipv6_addresses = Vec::new();
        for (k, a) in e.ipv6_addresses.iter().enumerate() {
            ipv6_addresses.extend(self.ip6(
                &a.ipv6_address,
                prov.child(&format!(".Ipv6Addresses[{k}].Ipv6Address")),
            ));
        }
        let mut prefixes = Vec::new();
        for (k, p) in e.ipv4_prefixes.iter().enumerate() {
            prefixes.extend(
                self.net4(
                    &p.ipv4_prefix,
                    prov.child(&format!(".Ipv4Prefixes[{k}].Ipv4Prefix")),
                )
                .map(IpNet::V4),
            );
        }
        for (k, p) in e.ipv6_prefixes.iter().enumerate() {
            prefixes.extend(
                self.net6(
                    &p.ipv6_prefix,
                    prov.child(&format!(".Ipv6Prefixes[{k}].Ipv6Prefix")),
                )
                .map(IpNet::V6),
            );
        }
        let kind = match e.interface_type.as_deref().unwrap_or("interface") {
            "interface" if e.description.starts_with("ELB ") => InterfaceKind::LoadBalancer,
            "interface" => InterfaceKind::Interface,
            "nat_gateway" => InterfaceKind::NatGateway,
            "network_load_balancer" => InterfaceKind::NetworkLoadBalancer,
            "transit_gateway" => InterfaceKind::TransitGateway,
            "vpc_endpoint" => InterfaceKind::VpcEndpoint,
            "gateway_load_balancer" | "gateway_load_balancer_endpoint" => {
                InterfaceKind::GatewayLoadBalancer
            }
            "trunk" => InterfaceKind::Trunk,
            "branch" => InterfaceKind::Branch,
            other => InterfaceKind::Other(other.to_string()),
        };
        let att = e.attachment.as_ref();
        let subnet_az = self.cloud.subnets.get(&e.subnet_id).map(|s| s.az.clone());
        Interface {
            id: e.network_interface_id.clone(),
            subnet_id: e.subnet_id.clone(),
            vpc_id: e.vpc_id.clone(),
            az: e
                .availability_zone
                .clone()
                .or(az.map(str::to_string))
                .or(subnet_az)
                .unwrap_or_default(),
            kind,
            description: e.description.clone(),
            addresses,
            ipv6_addresses,
            prefixes,
            groups: e.groups.iter().map(|g| g.group_id.clone()).collect(),
            source_dest_check: e.source_dest_check.unwrap_or(true),
            instance_id: att
                .and_then(|a| a.instance_id.clone())
                .or(instance.map(str::to_string)),
            device_index: att
                .and_then(|a| a.device_index)
                .and_then(|x| u32::try_from(x).ok()),
            status: e
                .status
                .clone()
                .or(att.and_then(|a| a.status.clone()))
                .unwrap_or_default(),
            requester_managed: e.requester_managed,
            tags: tags(&e.tag_set),
            prov,
        }
    }

    fn instances(&mut self, d: &Doc) {
        let f = d.file;
        for (i, r) in d.raw.reservations.iter().flatten().enumerate() {
            for (j, inst) in r.instances.iter().enumerate() {
                let prov = Provenance::json(f, format!("Reservations[{i}].Instances[{j}]"));
                if !self.has_id(&inst.instance_id, &prov, "InstanceId")
                    || self.cloud.instances.contains_key(&inst.instance_id)
                {
                    continue;
                }
                let az = inst
                    .placement
                    .as_ref()
                    .and_then(|p| p.availability_zone.clone());
                let mut nics: Vec<(u32, String)> = Vec::new();
                for (k, n) in inst.network_interfaces.iter().enumerate() {
                    let p = prov.child(&format!(".NetworkInterfaces[{k}]"));
                    if !self.has_id(&n.network_interface_id, &p, "NetworkInterfaceId") {
                        continue;
                    }
                    let idx = n
                        .attachment
                        .as_ref()
                        .and_then(|a| a.device_index)
                        .and_then(|x| u32::try_from(x).ok());
                    nics.push((idx.unwrap_or(u32::MAX), n.network_interface_id.clone()));
                    if !self.cloud.interfaces.contains_key(&n.network_interface_id) {
                        let eni = self.eni(n, p, az.as_deref(), Some(&inst.instance_id));
                        self.cloud
                            .interfaces
                            .insert(n.network_interface_id.clone(), eni);
                    }
                }
                nics.sort_by_key(|(idx, _)| *idx);
                let private_ip = inst
                    .private_ip_address
                    .as_ref()
                    .and_then(|s| self.ip(s, prov.child(".PrivateIpAddress")));
                let t = tags(&inst.tags);
                let instance = Instance {
                    id: inst.instance_id.clone(),
                    name: tag_value(&t, "Name").map(str::to_string),
                    state: inst
                        .state
                        .as_ref()
                        .and_then(|s| s.name.clone())
                        .unwrap_or_default(),
                    subnet_id: inst.subnet_id.clone(),
                    vpc_id: inst.vpc_id.clone(),
                    private_ip,
                    interface_ids: nics.into_iter().map(|(_, id)| id).collect(),
                    source_dest_check: inst.source_dest_check.unwrap_or(true),
                    tags: t,
                    prov,
                };
                self.cloud
                    .instances
                    .insert(inst.instance_id.clone(), instance);
            }
        }
    }

    // ---------------------------------------------------------------- gateways

    fn gateways(&mut self, d: &Doc) {
        let f = d.file;
        let attached = |a: &RawVpcAttachment| {
            matches!(a.state.as_deref(), None | Some("available" | "attached"))
        };
        for (i, g) in d.raw.internet_gateways.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("InternetGateways[{i}]"));
            if !self.has_id(&g.internet_gateway_id, &prov, "InternetGatewayId") {
                continue;
            }
            let vpc_ids = g
                .attachments
                .iter()
                .filter(|a| attached(a))
                .map(|a| a.vpc_id.clone())
                .collect();
            let igw = InternetGateway {
                id: g.internet_gateway_id.clone(),
                egress_only: false,
                vpc_ids,
                prov,
            };
            insert_first(
                &mut self.cloud.internet_gateways,
                &g.internet_gateway_id,
                igw,
            );
        }
        for (i, g) in d
            .raw
            .egress_only_internet_gateways
            .iter()
            .flatten()
            .enumerate()
        {
            let prov = Provenance::json(f, format!("EgressOnlyInternetGateways[{i}]"));
            if !self.has_id(
                &g.egress_only_internet_gateway_id,
                &prov,
                "EgressOnlyInternetGatewayId",
            ) {
                continue;
            }
            let vpc_ids = g
                .attachments
                .iter()
                .filter(|a| attached(a))
                .map(|a| a.vpc_id.clone())
                .collect();
            let igw = InternetGateway {
                id: g.egress_only_internet_gateway_id.clone(),
                egress_only: true,
                vpc_ids,
                prov,
            };
            insert_first(
                &mut self.cloud.internet_gateways,
                &g.egress_only_internet_gateway_id,
                igw,
            );
        }
        for (i, n) in d.raw.nat_gateways.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("NatGateways[{i}]"));
            if !self.has_id(&n.nat_gateway_id, &prov, "NatGatewayId")
                || self.cloud.nat_gateways.contains_key(&n.nat_gateway_id)
            {
                continue;
            }
            let mut addresses = Vec::new();
            for (k, a) in n.nat_gateway_addresses.iter().enumerate() {
                let p = prov.child(&format!(".NatGatewayAddresses[{k}]"));
                let private_ip = a
                    .private_ip
                    .as_ref()
                    .and_then(|s| self.ip(s, p.child(".PrivateIp")));
                let public_ip = a
                    .public_ip
                    .as_ref()
                    .and_then(|s| self.ip4(s, p.child(".PublicIp")));
                addresses.push(NatAddress {
                    private_ip,
                    public_ip,
                    interface_id: a.network_interface_id.clone(),
                });
            }
            let nat = NatGateway {
                id: n.nat_gateway_id.clone(),
                vpc_id: n.vpc_id.clone(),
                subnet_id: n.subnet_id.clone(),
                state: n.state.clone(),
                private: n.connectivity_type.as_deref() == Some("private"),
                addresses,
                prov,
            };
            self.cloud
                .nat_gateways
                .insert(n.nat_gateway_id.clone(), nat);
        }
        for (i, g) in d.raw.vpn_gateways.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("VpnGateways[{i}]"));
            if !self.has_id(&g.vpn_gateway_id, &prov, "VpnGatewayId") {
                continue;
            }
            let vpc_ids = g
                .vpc_attachments
                .iter()
                .filter(|a| attached(a))
                .map(|a| a.vpc_id.clone())
                .collect();
            let vgw = VpnGateway {
                id: g.vpn_gateway_id.clone(),
                vpc_ids,
                state: g.state.clone(),
                prov,
            };
            insert_first(&mut self.cloud.vpn_gateways, &g.vpn_gateway_id, vgw);
        }
    }

    fn peering_side(&mut self, s: &RawPeeringSide, prov: Provenance) -> PeeringSide {
        let mut cidrs = Vec::new();
        for (k, c) in s.cidr_block_set.iter().enumerate() {
            cidrs.extend(
                self.net4(
                    &c.cidr_block,
                    prov.child(&format!(".CidrBlockSet[{k}].CidrBlock")),
                )
                .map(IpNet::V4),
            );
        }
        if s.cidr_block_set.is_empty() {
            if let Some(c) = &s.cidr_block {
                cidrs.extend(self.net4(c, prov.child(".CidrBlock")).map(IpNet::V4));
            }
        }
        for (k, c) in s.ipv6_cidr_block_set.iter().enumerate() {
            cidrs.extend(
                self.net6(
                    &c.ipv6_cidr_block,
                    prov.child(&format!(".Ipv6CidrBlockSet[{k}].Ipv6CidrBlock")),
                )
                .map(IpNet::V6),
            );
        }
        PeeringSide {
            vpc_id: s.vpc_id.clone(),
            owner: s.owner_id.clone(),
            region: s.region.clone(),
            cidrs,
        }
    }

    fn peerings(&mut self, d: &Doc) {
        let f = d.file;
        for (i, p) in d.raw.vpc_peering_connections.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("VpcPeeringConnections[{i}]"));
            if !self.has_id(
                &p.vpc_peering_connection_id,
                &prov,
                "VpcPeeringConnectionId",
            ) {
                continue;
            }
            let status = p
                .status
                .as_ref()
                .and_then(|s| s.code.clone())
                .unwrap_or_default();
            if let Some(existing) = self.cloud.peerings.get(&p.vpc_peering_connection_id) {
                // A later record wins only when it is more informative (active beats the rest).
                if existing.forwards() || status != "active" {
                    continue;
                }
            }
            let requester =
                self.peering_side(&p.requester_vpc_info, prov.child(".RequesterVpcInfo"));
            let accepter = self.peering_side(&p.accepter_vpc_info, prov.child(".AccepterVpcInfo"));
            let pcx = Peering {
                id: p.vpc_peering_connection_id.clone(),
                status,
                requester,
                accepter,
                prov,
            };
            self.cloud
                .peerings
                .insert(p.vpc_peering_connection_id.clone(), pcx);
        }
    }

    fn vpn(&mut self, d: &Doc) {
        let f = d.file;
        for (i, v) in d.raw.vpn_connections.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("VpnConnections[{i}]"));
            if !self.has_id(&v.vpn_connection_id, &prov, "VpnConnectionId")
                || self
                    .cloud
                    .vpn_connections
                    .contains_key(&v.vpn_connection_id)
            {
                continue;
            }
            let mut static_routes = Vec::new();
            for (k, r) in v.routes.iter().enumerate() {
                if matches!(r.state.as_deref(), Some("deleted" | "deleting")) {
                    continue;
                }
                static_routes.extend(self.net(
                    &r.destination_cidr_block,
                    prov.child(&format!(".Routes[{k}].DestinationCidrBlock")),
                ));
            }
            let mut outside_ips = Vec::new();
            for (k, t) in v.vgw_telemetry.iter().enumerate() {
                if let Some(s) = &t.outside_ip_address {
                    outside_ips.extend(self.ip(
                        s,
                        prov.child(&format!(".VgwTelemetry[{k}].OutsideIpAddress")),
                    ));
                }
            }
            let vpn = VpnConnection {
                id: v.vpn_connection_id.clone(),
                vpn_gateway_id: v.vpn_gateway_id.clone().filter(|s| !s.is_empty()),
                transit_gateway_id: v.transit_gateway_id.clone().filter(|s| !s.is_empty()),
                state: v.state.clone(),
                static_routes,
                outside_ips,
                prov,
            };
            self.cloud
                .vpn_connections
                .insert(v.vpn_connection_id.clone(), vpn);
        }
    }

    // ---------------------------------------------------------------- transit gateways

    fn tgws(&mut self, d: &Doc) {
        let f = d.file;
        for (i, t) in d.raw.transit_gateways.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("TransitGateways[{i}]"));
            if !self.has_id(&t.transit_gateway_id, &prov, "TransitGatewayId") {
                continue;
            }
            let tgw = TransitGateway {
                id: t.transit_gateway_id.clone(),
                owner: t.owner_id.clone(),
                state: t.state.clone(),
                prov,
            };
            insert_first(&mut self.cloud.transit_gateways, &t.transit_gateway_id, tgw);
        }
        for (i, a) in d
            .raw
            .transit_gateway_attachments
            .iter()
            .flatten()
            .enumerate()
        {
            let prov = Provenance::json(f, format!("TransitGatewayAttachments[{i}]"));
            if !self.has_id(
                &a.transit_gateway_attachment_id,
                &prov,
                "TransitGatewayAttachmentId",
            ) {
                continue;
            }
            let resource = match a.resource_type.as_str() {
                "vpc" => TgwResource::Vpc(a.resource_id.clone()),
                "vpn" => TgwResource::Vpn(a.resource_id.clone()),
                "peering" => TgwResource::Peering(a.resource_id.clone()),
                "direct-connect-gateway" => {
                    TgwResource::DirectConnectGateway(a.resource_id.clone())
                }
                other => TgwResource::Other(other.to_string(), a.resource_id.clone()),
            };
            let association = a
                .association
                .as_ref()
                .filter(|x| matches!(x.state.as_deref(), None | Some("associated")))
                .and_then(|x| x.transit_gateway_route_table_id.clone());
            let att = TgwAttachment {
                id: a.transit_gateway_attachment_id.clone(),
                tgw_id: a.transit_gateway_id.clone(),
                resource,
                state: a.state.clone(),
                association,
                subnet_ids: Vec::new(),
                prov,
            };
            self.merge_attachment(att);
        }
    }

    /// Adds an attachment record: the same id seen from the same TGW is merged; from the other
    /// TGW of a peering it becomes the peer view.
    fn merge_attachment(&mut self, att: TgwAttachment) {
        let id = att.id.clone();
        let slot = match self.cloud.tgw_attachments.get(&id) {
            None => {
                self.cloud.tgw_attachments.insert(id, att);
                return;
            }
            Some(e) if e.tgw_id == att.tgw_id || att.tgw_id.is_empty() => {
                self.cloud.tgw_attachments.get_mut(&id)
            }
            Some(_) => match self.cloud.tgw_peering_views.get(&id) {
                None => {
                    self.cloud.tgw_peering_views.insert(id, att);
                    return;
                }
                Some(_) => self.cloud.tgw_peering_views.get_mut(&id),
            },
        };
        if let Some(e) = slot {
            if e.association.is_none() {
                e.association = att.association;
            }
            if e.subnet_ids.is_empty() {
                e.subnet_ids = att.subnet_ids;
            }
            if !e.forwards() && att.state == "available" {
                e.state = att.state;
            }
            if let (TgwResource::Other(t, _), r @ TgwResource::Vpc(_)) =
                (&e.resource, &att.resource)
            {
                if t.is_empty() {
                    e.resource = r.clone();
                }
            }
        }
    }

    fn tgw_vpc_attachments(&mut self, d: &Doc) {
        let f = d.file;
        for (i, a) in d
            .raw
            .transit_gateway_vpc_attachments
            .iter()
            .flatten()
            .enumerate()
        {
            let prov = Provenance::json(f, format!("TransitGatewayVpcAttachments[{i}]"));
            if !self.has_id(
                &a.transit_gateway_attachment_id,
                &prov,
                "TransitGatewayAttachmentId",
            ) {
                continue;
            }
            let att = TgwAttachment {
                id: a.transit_gateway_attachment_id.clone(),
                tgw_id: a.transit_gateway_id.clone(),
                resource: TgwResource::Vpc(a.vpc_id.clone()),
                state: a.state.clone(),
                association: None,
                subnet_ids: a.subnet_ids.clone(),
                prov,
            };
            self.merge_attachment(att);
        }
    }

    fn tgw_route_tables(&mut self, d: &Doc) {
        let f = d.file;
        for (i, t) in d
            .raw
            .transit_gateway_route_tables
            .iter()
            .flatten()
            .enumerate()
        {
            let prov = Provenance::json(f, format!("TransitGatewayRouteTables[{i}]"));
            if !self.has_id(
                &t.transit_gateway_route_table_id,
                &prov,
                "TransitGatewayRouteTableId",
            ) {
                continue;
            }
            let rt = TgwRouteTable {
                id: t.transit_gateway_route_table_id.clone(),
                tgw_id: t.transit_gateway_id.clone(),
                routes: Vec::new(),
                propagations: Vec::new(),
                prov,
            };
            insert_first(
                &mut self.cloud.tgw_route_tables,
                &t.transit_gateway_route_table_id,
                rt,
            );
        }
    }

    /// The TGW route table `id`, created (TGW inferred from an associated attachment) when only
    /// its routes or propagations were read.
    fn tgw_table(&mut self, id: &str, prov: &Provenance) -> Option<&mut TgwRouteTable> {
        if !self.cloud.tgw_route_tables.contains_key(id) {
            let tgw_id = self
                .cloud
                .tgw_attachments
                .values()
                .chain(self.cloud.tgw_peering_views.values())
                .find(|a| a.association.as_deref() == Some(id))
                .map(|a| a.tgw_id.clone());
            let Some(tgw_id) = tgw_id else {
                self.warning(
                    "unknown-reference",
                    prov.clone(),
                    format!("routes or propagations for transit gateway route table {id}, which no input describes; ignored"),
                    "the table in a describe-transit-gateway-route-tables input",
                );
                return None;
            };
            let rt = TgwRouteTable {
                id: id.to_string(),
                tgw_id,
                routes: Vec::new(),
                propagations: Vec::new(),
                prov: prov.clone(),
            };
            self.cloud.tgw_route_tables.insert(id.to_string(), rt);
        }
        self.cloud.tgw_route_tables.get_mut(id)
    }

    fn tgw_routes(&mut self, d: &Doc) {
        let f = d.file;
        let mut batches: Vec<(String, Provenance, &[RawTgwRoute])> = Vec::new();
        for (i, s) in d
            .raw
            .transit_gateway_static_routes
            .iter()
            .flatten()
            .enumerate()
        {
            let prov = Provenance::json(f, format!("TransitGatewayStaticRoutes[{i}]"));
            if self.has_id(
                &s.transit_gateway_route_table_id,
                &prov,
                "TransitGatewayRouteTableId",
            ) {
                batches.push((
                    s.transit_gateway_route_table_id.clone(),
                    prov.child(".Routes"),
                    &s.routes,
                ));
            }
        }
        let wrapped_id = d
            .raw
            .transit_gateway_route_table_id
            .clone()
            .or_else(|| self.name_from_file(f, |s| s.starts_with("tgw-rtb-")));
        if let Some(routes) = &d.raw.routes {
            match &wrapped_id {
                Some(id) => batches.push((id.clone(), Provenance::json(f, "Routes"), routes)),
                None => self.error(
                    "missing-context",
                    Provenance::json(f, "Routes"),
                    "transit gateway routes without the route table they belong to".into(),
                    "a \"TransitGatewayRouteTableId\" key beside \"Routes\", or a file named after the table (tgw-rtb-...)",
                ),
            }
        }
        for (table, base, routes) in batches {
            let mut lowered = Vec::new();
            for (j, r) in routes.iter().enumerate() {
                lowered.extend(self.tgw_route(r, base.child(&format!("[{j}]"))));
            }
            if let Some(t) = self.tgw_table(&table, &base) {
                t.routes.extend(lowered);
            }
        }
        let mut props: Vec<(String, Provenance, &[RawTgwPropagation])> = Vec::new();
        for (i, p) in d
            .raw
            .transit_gateway_propagations
            .iter()
            .flatten()
            .enumerate()
        {
            let prov = Provenance::json(f, format!("TransitGatewayPropagations[{i}]"));
            if self.has_id(
                &p.transit_gateway_route_table_id,
                &prov,
                "TransitGatewayRouteTableId",
            ) {
                props.push((
                    p.transit_gateway_route_table_id.clone(),
                    prov.child(".TransitGatewayRouteTablePropagations"),
                    &p.transit_gateway_route_table_propagations,
                ));
            }
        }
        if let Some(ps) = &d.raw.transit_gateway_route_table_propagations {
            match &wrapped_id {
                Some(id) => props.push((id.clone(), Provenance::json(f, "TransitGatewayRouteTablePropagations"), ps)),
                None => self.error(
                    "missing-context",
                    Provenance::json(f, "TransitGatewayRouteTablePropagations"),
                    "transit gateway propagations without the route table they belong to".into(),
                    "a \"TransitGatewayRouteTableId\" key beside \"TransitGatewayRouteTablePropagations\", or a file named after the table",
                ),
            }
        }
        for (table, base, ps) in props {
            let list: Vec<(String, Provenance)> = ps
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    matches!(p.state.as_deref(), None | Some("enabled" | "enabling"))
                        && !p.transit_gateway_attachment_id.is_empty()
                })
                .map(|(j, p)| {
                    (
                        p.transit_gateway_attachment_id.clone(),
                        base.child(&format!("[{j}]")),
                    )
                })
                .collect();
            if let Some(t) = self.tgw_table(&table, &base) {
                for (att, prov) in list {
                    if !t.propagations.iter().any(|(a, _)| *a == att) {
                        t.propagations.push((att, prov));
                    }
                }
            }
        }
    }

    fn tgw_route(&mut self, r: &RawTgwRoute, prov: Provenance) -> Vec<TgwRoute> {
        if matches!(r.state.as_deref(), Some("deleted" | "deleting" | "pending")) {
            return Vec::new();
        }
        let blackhole = r.state.as_deref() == Some("blackhole");
        let origin = match r.route_type.as_deref() {
            Some("propagated") => TgwRouteOrigin::Propagated,
            _ => TgwRouteOrigin::Static,
        };
        let attachment_ids: Vec<String> = r
            .transit_gateway_attachments
            .iter()
            .map(|a| a.transit_gateway_attachment_id.clone())
            .filter(|s| !s.is_empty())
            .collect();
        let dests: Vec<IpNet> = if let Some(c) = &r.destination_cidr_block {
            self.net(c, prov.child(".DestinationCidrBlock"))
                .into_iter()
                .collect()
        } else if let Some(pl) = &r.prefix_list_id {
            match self
                .cloud
                .prefix_lists
                .get(pl)
                .and_then(|p| p.cidrs.clone())
            {
                Some(cidrs) => cidrs,
                None => {
                    self.warning(
                        "unknown-reference",
                        prov.child(".PrefixListId"),
                        format!("transit gateway route to prefix list {pl}, whose entries are not in the snapshot; ignored"),
                        "get-managed-prefix-list-entries for the list",
                    );
                    Vec::new()
                }
            }
        } else {
            self.error(
                "bad-cidr",
                prov.clone(),
                "transit gateway route has no destination".into(),
                "DestinationCidrBlock or PrefixListId",
            );
            Vec::new()
        };
        dests
            .into_iter()
            .map(|destination| TgwRoute {
                destination,
                attachment_ids: attachment_ids.clone(),
                blackhole,
                origin,
                prov: prov.clone(),
            })
            .collect()
    }

    // ---------------------------------------------------------------- endpoints

    fn vpc_endpoints(&mut self, d: &Doc) {
        let f = d.file;
        for (i, e) in d.raw.vpc_endpoints.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("VpcEndpoints[{i}]"));
            if !self.has_id(&e.vpc_endpoint_id, &prov, "VpcEndpointId") {
                continue;
            }
            let kind = match e.vpc_endpoint_type.as_str() {
                "Gateway" => EndpointKind::Gateway,
                "GatewayLoadBalancer" => EndpointKind::GatewayLoadBalancer,
                _ => EndpointKind::Interface,
            };
            let vpce = VpcEndpoint {
                id: e.vpc_endpoint_id.clone(),
                kind,
                vpc_id: e.vpc_id.clone(),
                service: e.service_name.clone(),
                state: e.state.clone(),
                route_table_ids: e.route_table_ids.clone(),
                subnet_ids: e.subnet_ids.clone(),
                interface_ids: e.network_interface_ids.clone(),
                prov,
            };
            insert_first(&mut self.cloud.vpc_endpoints, &e.vpc_endpoint_id, vpce);
        }
    }

    // ---------------------------------------------------------------- load balancing

    fn load_balancers(&mut self, d: &Doc) {
        let f = d.file;
        for (i, l) in d.raw.load_balancers.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("LoadBalancers[{i}]"));
            if !self.has_id(&l.load_balancer_arn, &prov, "LoadBalancerArn")
                || self.cloud.load_balancers.contains_key(&l.load_balancer_arn)
            {
                continue;
            }
            let kind = match l.lb_type.as_str() {
                "network" => LoadBalancerKind::Network,
                "application" => LoadBalancerKind::Application,
                "gateway" => LoadBalancerKind::Gateway,
                other => {
                    self.error(
                        "bad-value",
                        prov.child(".Type"),
                        format!("unknown load balancer type {other:?}"),
                        "network, application or gateway",
                    );
                    continue;
                }
            };
            let mut zones = Vec::new();
            for (k, z) in l.availability_zones.iter().enumerate() {
                let mut addresses = Vec::new();
                for (m, a) in z.load_balancer_addresses.iter().enumerate() {
                    let p = prov.child(&format!(
                        ".AvailabilityZones[{k}].LoadBalancerAddresses[{m}]"
                    ));
                    for (field, v) in [
                        ("IpAddress", &a.ip_address),
                        ("PrivateIPv4Address", &a.private_ipv4_address),
                        ("IPv6Address", &a.ipv6_address),
                    ] {
                        if let Some(s) = v {
                            addresses.extend(self.ip(s, p.child(&format!(".{field}"))));
                        }
                    }
                }
                zones.push(LoadBalancerZone {
                    zone: z.zone_name.clone(),
                    subnet_id: z.subnet_id.clone(),
                    addresses,
                });
            }
            let lb = LoadBalancer {
                arn: l.load_balancer_arn.clone(),
                name: l.load_balancer_name.clone(),
                dns_name: l.dns_name.clone(),
                kind,
                internet_facing: l.scheme == "internet-facing",
                vpc_id: l.vpc_id.clone(),
                zones,
                security_groups: l.security_groups.clone(),
                state: l
                    .state
                    .as_ref()
                    .and_then(|s| s.code.clone())
                    .unwrap_or_default(),
                cross_zone: None,
                listeners: None,
                modelled_from: None,
                prov,
            };
            self.cloud
                .load_balancers
                .insert(l.load_balancer_arn.clone(), lb);
        }
        for (i, t) in d.raw.target_groups.iter().flatten().enumerate() {
            let prov = Provenance::json(f, format!("TargetGroups[{i}]"));
            if !self.has_id(&t.target_group_arn, &prov, "TargetGroupArn")
                || self.cloud.target_groups.contains_key(&t.target_group_arn)
            {
                continue;
            }
            let target_type = match t.target_type.as_deref() {
                None | Some("instance") => TargetType::Instance,
                Some("ip") => TargetType::Ip,
                Some("lambda") => TargetType::Lambda,
                Some("alb") => TargetType::Alb,
                Some(other) => {
                    self.error(
                        "bad-value",
                        prov.child(".TargetType"),
                        format!("unknown target type {other:?}"),
                        "instance, ip, lambda or alb",
                    );
                    continue;
                }
            };
            let port = match t.port {
                Some(p) => self.port(Some(p), 0, prov.child(".Port")),
                None => None,
            };
            let tg = TargetGroup {
                arn: t.target_group_arn.clone(),
                name: t.target_group_name.clone(),
                target_type,
                protocol: t.protocol.clone().unwrap_or_default(),
                port,
                vpc_id: t.vpc_id.clone(),
                load_balancer_arns: t.load_balancer_arns.clone(),
                targets: None,
                preserve_client_ip: None,
                prov,
            };
            self.cloud
                .target_groups
                .insert(t.target_group_arn.clone(), tg);
        }
    }

    fn listeners(&mut self, d: &Doc) {
        let f = d.file;
        let mut batches: Vec<(Option<String>, Provenance, &[RawListener])> = Vec::new();
        if let Some(ls) = &d.raw.listeners {
            batches.push((
                d.raw.load_balancer_arn.clone(),
                Provenance::json(f, "Listeners"),
                ls,
            ));
        }
        for (i, w) in d.raw.load_balancer_listeners.iter().flatten().enumerate() {
            let lb = Some(w.load_balancer_arn.clone()).filter(|s| !s.is_empty());
            batches.push((
                lb,
                Provenance::json(f, format!("LoadBalancerListeners[{i}].Listeners")),
                &w.listeners,
            ));
        }
        for (wrapper_lb, base, ls) in batches {
            if let Some(lb) = &wrapper_lb {
                self.lb_listeners(lb, &base);
            }
            for (j, l) in ls.iter().enumerate() {
                let prov = base.child(&format!("[{j}]"));
                let lb_arn = Some(l.load_balancer_arn.clone())
                    .filter(|s| !s.is_empty())
                    .or(wrapper_lb.clone());
                let Some(lb_arn) = lb_arn else {
                    self.error(
                        "json-shape",
                        prov,
                        "listener has no LoadBalancerArn".into(),
                        "a \"LoadBalancerArn\" string",
                    );
                    continue;
                };
                let Some(port) = l
                    .port
                    .and_then(|p| self.port(Some(p), 0, prov.child(".Port")))
                else {
                    if l.port.is_none() {
                        self.error(
                            "bad-port",
                            prov,
                            "listener has no Port".into(),
                            "a listener port from 1 to 65535",
                        );
                    }
                    continue;
                };
                let mut target_group_arns: Vec<String> = Vec::new();
                for a in l
                    .default_actions
                    .iter()
                    .filter(|a| a.action_type.eq_ignore_ascii_case("forward"))
                {
                    let from_config = a
                        .forward_config
                        .iter()
                        .flat_map(|c| c.target_groups.iter().map(|t| t.target_group_arn.clone()));
                    for tg in a.target_group_arn.clone().into_iter().chain(from_config) {
                        if !tg.is_empty() && !target_group_arns.contains(&tg) {
                            target_group_arns.push(tg);
                        }
                    }
                }
                for tg in &target_group_arns {
                    if let Some(t) = self.cloud.target_groups.get_mut(tg) {
                        if !t.load_balancer_arns.contains(&lb_arn) {
                            t.load_balancer_arns.push(lb_arn.clone());
                        }
                    }
                }
                let listener = Listener {
                    arn: l.listener_arn.clone(),
                    port,
                    protocol: l.protocol.clone(),
                    target_group_arns,
                    prov: prov.clone(),
                };
                if let Some(list) = self.lb_listeners(&lb_arn, &prov) {
                    if !list
                        .iter()
                        .any(|x| x.arn == listener.arn && !x.arn.is_empty())
                    {
                        list.push(listener);
                    }
                }
            }
        }
    }

    /// The listener list of a load balancer (made `Some` now that listeners were read).
    fn lb_listeners(&mut self, arn: &str, prov: &Provenance) -> Option<&mut Vec<Listener>> {
        if !self.cloud.load_balancers.contains_key(arn) {
            self.warning(
                "unknown-reference",
                prov.clone(),
                format!("listeners of load balancer {arn}, which is not in the snapshot; ignored"),
                "the load balancer in an elbv2 describe-load-balancers input",
            );
            return None;
        }
        self.cloud
            .load_balancers
            .get_mut(arn)
            .map(|lb| lb.listeners.get_or_insert_with(Vec::new))
    }

    /// A target group named by a file: its name or the last part of its ARN.
    fn tg_from_file(&self, f: FileId) -> Option<String> {
        let stem = self.name_from_file(f, |_| true)?;
        self.cloud
            .target_groups
            .values()
            .find(|t| {
                t.name == stem || t.arn.rsplit('/').next() == Some(stem.as_str()) || t.arn == stem
            })
            .map(|t| t.arn.clone())
    }

    fn target_health(&mut self, d: &Doc) {
        let f = d.file;
        let mut batches: Vec<(Option<String>, Provenance, &[RawTargetHealthDescription])> =
            Vec::new();
        if let Some(ts) = &d.raw.target_health_descriptions {
            let tg = d
                .raw
                .target_group_arn
                .clone()
                .or_else(|| self.tg_from_file(f));
            batches.push((tg, Provenance::json(f, "TargetHealthDescriptions"), ts));
        }
        for (i, w) in d
            .raw
            .load_balancer_target_health
            .iter()
            .flatten()
            .enumerate()
        {
            let tg = Some(w.target_group_arn.clone()).filter(|s| !s.is_empty());
            batches.push((
                tg,
                Provenance::json(
                    f,
                    format!("LoadBalancerTargetHealth[{i}].TargetHealthDescriptions"),
                ),
                &w.target_health_descriptions,
            ));
        }
        for (tg, base, ts) in batches {
            let Some(tg) = tg else {
                self.error(
                    "missing-context",
                    base,
                    "target health without the target group it belongs to".into(),
                    "a \"TargetGroupArn\" key beside \"TargetHealthDescriptions\", or a file named after the target group (its name or the last part of its ARN)",
                );
                continue;
            };
            let mut targets = Vec::new();
            for (j, t) in ts.iter().enumerate() {
                let prov = base.child(&format!("[{j}]"));
                let port = match t.target.port {
                    Some(p) => self.port(Some(p), 0, prov.child(".Target.Port")),
                    None => None,
                };
                if !self.has_id(&t.target.id, &prov.child(".Target"), "Id") {
                    continue;
                }
                targets.push(Target {
                    id: t.target.id.clone(),
                    port,
                    az: t.target.availability_zone.clone(),
                    health: t
                        .target_health
                        .state
                        .clone()
                        .unwrap_or_else(|| "unknown".into()),
                    reason: t.target_health.reason.clone(),
                    prov,
                });
            }
            match self.cloud.target_groups.get_mut(&tg) {
                Some(group) => group.targets.get_or_insert_with(Vec::new).extend(targets),
                None => self.warning(
                    "unknown-reference",
                    base,
                    format!(
                        "target health of target group {tg}, which is not in the snapshot; ignored"
                    ),
                    "the target group in an elbv2 describe-target-groups input",
                ),
            }
        }
    }

    fn attributes(&mut self, d: &Doc) {
        let f = d.file;
        let mut batches: Vec<AttrBatch<'_>> = Vec::new();
        for (i, w) in d.raw.load_balancer_attributes.iter().flatten().enumerate() {
            batches.push((
                w.load_balancer_arn.clone(),
                w.target_group_arn.clone(),
                Provenance::json(f, format!("LoadBalancerAttributes[{i}]")),
                &w.attributes,
            ));
        }
        for (i, w) in d.raw.target_group_attributes.iter().flatten().enumerate() {
            batches.push((
                w.load_balancer_arn.clone(),
                w.target_group_arn.clone(),
                Provenance::json(f, format!("TargetGroupAttributes[{i}]")),
                &w.attributes,
            ));
        }
        if let Some(attrs) = &d.raw.attributes {
            let (mut lb, mut tg) = (
                d.raw.load_balancer_arn.clone(),
                d.raw.target_group_arn.clone(),
            );
            if lb.is_none() && tg.is_none() {
                tg = self.tg_from_file(f);
                if tg.is_none() {
                    let stem = self.name_from_file(f, |_| true);
                    lb = stem.and_then(|s| {
                        self.cloud
                            .load_balancers
                            .values()
                            .find(|l| l.name == s || l.arn.rsplit('/').next() == Some(s.as_str()))
                            .map(|l| l.arn.clone())
                    });
                }
            }
            batches.push((lb, tg, Provenance::json(f, "Attributes"), attrs));
        }
        for (lb, tg, prov, attrs) in batches {
            let get = |key: &str| {
                attrs
                    .iter()
                    .rev()
                    .find(|a| a.key == key)
                    .map(|a| a.value.as_str())
            };
            let parse = |v: Option<&str>| match v {
                Some("true") => Some(Some(true)),
                Some("false") => Some(Some(false)),
                None => Some(None),
                Some(_) => None,
            };
            if let Some(arn) = lb {
                let cz = parse(get("load_balancing.cross_zone.enabled"));
                match (self.cloud.load_balancers.get_mut(&arn), cz) {
                    (Some(l), Some(v)) => l.cross_zone = v.or(l.cross_zone),
                    (Some(_), None) => self.error("bad-value", prov, "load_balancing.cross_zone.enabled is neither true nor false".into(), "\"true\" or \"false\""),
                    (None, _) => self.warning(
                        "unknown-reference",
                        prov,
                        format!("attributes of load balancer {arn}, which is not in the snapshot; ignored"),
                        "the load balancer in an elbv2 describe-load-balancers input",
                    ),
                }
            } else if let Some(arn) = tg {
                let pc = parse(get("preserve_client_ip.enabled"));
                match (self.cloud.target_groups.get_mut(&arn), pc) {
                    (Some(t), Some(v)) => t.preserve_client_ip = v.or(t.preserve_client_ip),
                    (Some(_), None) => self.error("bad-value", prov, "preserve_client_ip.enabled is neither true nor false".into(), "\"true\" or \"false\""),
                    (None, _) => self.warning(
                        "unknown-reference",
                        prov,
                        format!("attributes of target group {arn}, which is not in the snapshot; ignored"),
                        "the target group in an elbv2 describe-target-groups input",
                    ),
                }
            } else {
                self.error(
                    "missing-context",
                    prov,
                    "attributes without the load balancer or target group they belong to".into(),
                    "a \"LoadBalancerArn\" or \"TargetGroupArn\" key beside \"Attributes\", or a file named after the load balancer or target group",
                );
            }
        }
    }
}

/// The target of a VPC route: the specific id fields first, then `GatewayId` by prefix.
fn route_target(r: &RawRoute) -> Option<RouteTarget> {
    let some = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    if let Some(id) = some(&r.nat_gateway_id) {
        return Some(RouteTarget::NatGateway(id));
    }
    if let Some(id) = some(&r.transit_gateway_id) {
        return Some(RouteTarget::TransitGateway(id));
    }
    if let Some(id) = some(&r.vpc_peering_connection_id) {
        return Some(RouteTarget::Peering(id));
    }
    if let Some(id) = some(&r.egress_only_internet_gateway_id) {
        return Some(RouteTarget::EgressOnlyInternetGateway(id));
    }
    if let Some(id) = some(&r.network_interface_id) {
        return Some(RouteTarget::Interface(id));
    }
    if let Some(id) = some(&r.instance_id) {
        return Some(RouteTarget::Instance(id));
    }
    if let Some(id) = some(&r.local_gateway_id) {
        return Some(RouteTarget::LocalGateway(id));
    }
    if let Some(id) = some(&r.carrier_gateway_id) {
        return Some(RouteTarget::CarrierGateway(id));
    }
    if let Some(id) = some(&r.core_network_arn) {
        return Some(RouteTarget::CoreNetwork(id));
    }
    let g = some(&r.gateway_id)?;
    let t = match g.split('-').next().unwrap_or("") {
        "local" => RouteTarget::Local,
        "igw" => RouteTarget::InternetGateway(g),
        "vgw" => RouteTarget::VpnGateway(g),
        "vpce" => RouteTarget::VpcEndpoint(g),
        "eigw" => RouteTarget::EgressOnlyInternetGateway(g),
        "nat" => RouteTarget::NatGateway(g),
        "tgw" => RouteTarget::TransitGateway(g),
        "pcx" => RouteTarget::Peering(g),
        "lgw" => RouteTarget::LocalGateway(g),
        "cagw" => RouteTarget::CarrierGateway(g),
        _ => return None,
    };
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        assert_eq!(region_of_az("us-east-2a").as_deref(), Some("us-east-2"));
        assert_eq!(region_of_az("us-east-2").as_deref(), None);
        assert!(looks_like_region("us-gov-west-1"));
        assert!(looks_like_region("eu-central-1"));
        assert!(!looks_like_region("test-vpc-peering"));
        assert!(!looks_like_region("aws_configs"));
    }
}
