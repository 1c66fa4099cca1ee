//! Network ACL evaluation: ordered, first match wins, stateless.

use super::ports::{rule_matches, PortSet};
use crate::model::{AclEntry, NetworkAcl, Packet, PortMatch, PortRange, ProtocolMatch};

/// Which list of a NACL to consult.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AclDirection {
    /// Packets entering the subnet (matched on their source address).
    Inbound,
    /// Packets leaving the subnet (matched on their destination address).
    Outbound,
}

/// The outcome of a NACL lookup.
#[derive(Debug, Clone, Copy)]
pub enum AclDecision<'a> {
    /// An entry matched; its `allow` decides.
    Entry(&'a AclEntry, usize),
    /// No entry matched: the implicit deny (also when the `*` entry is absent from the input).
    ImplicitDeny,
}

impl AclDecision<'_> {
    /// True when the packet passes.
    pub fn allows(&self) -> bool {
        matches!(self, AclDecision::Entry(e, _) if e.allow)
    }
}

fn entries(acl: &NetworkAcl, dir: AclDirection) -> &[AclEntry] {
    match dir {
        AclDirection::Inbound => &acl.ingress,
        AclDirection::Outbound => &acl.egress,
    }
}

fn address_matches(e: &AclEntry, pkt: &Packet, dir: AclDirection) -> bool {
    let addr = match dir {
        AclDirection::Inbound => pkt.src,
        AclDirection::Outbound => pkt.dst,
    };
    e.cidr.contains(&addr)
}

/// Evaluates a NACL on a packet: the first entry (ascending rule number) that matches decides.
pub fn evaluate<'a>(acl: &'a NetworkAcl, dir: AclDirection, pkt: &Packet) -> AclDecision<'a> {
    for (i, e) in entries(acl, dir).iter().enumerate() {
        if address_matches(e, pkt, dir)
            && rule_matches(
                e.protocol,
                e.ports,
                pkt.protocol,
                pkt.src_port,
                pkt.dst_port,
            )
        {
            return AclDecision::Entry(e, i);
        }
    }
    AclDecision::ImplicitDeny
}

/// Evaluates a NACL for a packet whose destination port ranges over `ports`: the result splits
/// the range into pieces, each with the entry that decides it. Interval arithmetic, no port
/// enumeration.
pub fn evaluate_range<'a>(
    acl: &'a NetworkAcl,
    dir: AclDirection,
    pkt: &Packet,
    ports: PortRange,
) -> Vec<(PortSet, AclDecision<'a>)> {
    let mut remaining = PortSet::from_range(ports);
    let mut out = Vec::new();
    for (i, e) in entries(acl, dir).iter().enumerate() {
        if remaining.is_empty() {
            break;
        }
        if !address_matches(e, pkt, dir) || !e.protocol.matches(pkt.protocol) {
            continue;
        }
        let covered = match (e.protocol, e.ports) {
            (ProtocolMatch::Any, _) | (_, PortMatch::Any) => PortSet::all(),
            (_, PortMatch::Range(r)) if pkt.protocol.has_ports() => PortSet::from_range(r),
            (_, PortMatch::Range(_)) => PortSet::all(),
            (_, PortMatch::Icmp { .. }) => {
                if rule_matches(
                    e.protocol,
                    e.ports,
                    pkt.protocol,
                    pkt.src_port,
                    pkt.dst_port,
                ) {
                    PortSet::all()
                } else {
                    PortSet::empty()
                }
            }
        };
        let hit = remaining.intersect(&covered);
        if !hit.is_empty() {
            remaining = remaining.minus(&hit);
            out.push((hit, AclDecision::Entry(e, i)));
        }
    }
    if !remaining.is_empty() {
        out.push((remaining, AclDecision::ImplicitDeny));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;
    use crate::source::{FileId, Provenance};
    use proptest::prelude::*;

    fn entry(number: u32, allow: bool, lo: u16, hi: u16, cidr: &str) -> AclEntry {
        AclEntry {
            number,
            allow,
            protocol: ProtocolMatch::One(Protocol::Tcp),
            ports: PortMatch::Range(PortRange::new(lo, hi)),
            cidr: cidr.parse().unwrap(),
            prov: Provenance::file(FileId(0)),
        }
    }

    fn pkt(dst_port: u16) -> Packet {
        Packet {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.1.0.1".parse().unwrap(),
            protocol: Protocol::Tcp,
            src_port: 40000,
            dst_port,
        }
    }

    proptest! {
        /// The range evaluation agrees with evaluating every port one by one.
        #[test]
        fn range_matches_pointwise(rules in prop::collection::vec((any::<bool>(), 0u16..300, 0u16..300, any::<bool>()), 0..8)) {
            let mut acl = NetworkAcl { id: "acl-x".into(), vpc_id: "vpc-x".into(), is_default: false, subnet_ids: vec![], ingress: vec![], egress: vec![], prov: Provenance::file(FileId(0)) };
            for (i, (allow, a, b, wide)) in rules.iter().enumerate() {
                let cidr = if *wide { "0.0.0.0/0" } else { "192.168.0.0/16" };
                acl.egress.push(entry(100 + i as u32, *allow, (*a).min(*b), (*a).max(*b), cidr));
            }
            let pieces = evaluate_range(&acl, AclDirection::Outbound, &pkt(0), PortRange::new(0, 320));
            for p in 0..=320u16 {
                let single = evaluate(&acl, AclDirection::Outbound, &pkt(p)).allows();
                let piece = pieces.iter().find(|(s, _)| s.contains(p)).map(|(_, d)| d.allows());
                prop_assert_eq!(Some(single), piece);
            }
        }
    }

    #[test]
    fn first_match_wins() {
        let mut acl = NetworkAcl {
            id: "a".into(),
            vpc_id: "v".into(),
            is_default: false,
            subnet_ids: vec![],
            ingress: vec![],
            egress: vec![],
            prov: Provenance::file(FileId(0)),
        };
        acl.egress.push(entry(100, false, 22, 22, "0.0.0.0/0"));
        acl.egress.push(entry(200, true, 0, 65535, "0.0.0.0/0"));
        assert!(!evaluate(&acl, AclDirection::Outbound, &pkt(22)).allows());
        assert!(evaluate(&acl, AclDirection::Outbound, &pkt(23)).allows());
    }
}
