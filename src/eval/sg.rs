//! Security group evaluation: the union of every allow rule of every group on an interface.

use super::ports::rule_matches;
use crate::model::{Packet, SecurityGroup, SgPeer, SgRule};
use std::net::IpAddr;

/// Which rules of a group to consult.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SgDirection {
    /// Packets arriving at the interface (peer = source address).
    Ingress,
    /// Packets leaving the interface (peer = destination address).
    Egress,
}

/// What the evaluation needs to know beyond the groups themselves.
pub trait SgContext {
    /// The CIDRs of a prefix list; `None` when the list (or its entries) is not in the snapshot.
    fn prefix_list(&self, id: &str) -> Option<Vec<ipnet::IpNet>>;
    /// True when `ip` is a private address of an interface that carries group `group_id`
    /// (the rule for referenced groups).
    fn group_holds(&self, group_id: &str, ip: IpAddr) -> bool;
    /// True when the group is in the snapshot (a reference to an absent group cannot be decided).
    fn group_known(&self, group_id: &str) -> bool;
}

/// The outcome of evaluating the groups of one interface.
#[derive(Debug, Clone)]
pub enum SgDecision<'a> {
    /// A rule allows the packet (the first found, in group then rule order).
    Allowed {
        /// The group holding the rule.
        group: &'a SecurityGroup,
        /// The rule's index in its list.
        index: usize,
        /// The rule.
        rule: &'a SgRule,
    },
    /// No rule of any group allows it.
    NoRuleMatched,
    /// A rule might allow it, but the data to decide is missing (named).
    Unknown(String),
}

/// Evaluates the groups of one interface for a packet, in the given direction.
pub fn evaluate<'a>(
    groups: &[&'a SecurityGroup],
    dir: SgDirection,
    pkt: &Packet,
    ctx: &dyn SgContext,
) -> SgDecision<'a> {
    let peer = match dir {
        SgDirection::Ingress => pkt.src,
        SgDirection::Egress => pkt.dst,
    };
    let mut missing = None;
    for g in groups {
        let rules = match dir {
            SgDirection::Ingress => &g.ingress,
            SgDirection::Egress => &g.egress,
        };
        for (i, r) in rules.iter().enumerate() {
            if !rule_matches(
                r.protocol,
                r.ports,
                pkt.protocol,
                pkt.src_port,
                pkt.dst_port,
            ) {
                continue;
            }
            let hit = match &r.peer {
                SgPeer::Cidr(c) => c.contains(&peer),
                SgPeer::PrefixList(id) => match ctx.prefix_list(id) {
                    Some(cidrs) => cidrs.iter().any(|c| c.contains(&peer)),
                    None => {
                        missing.get_or_insert_with(|| {
                            format!("prefix list {id} (referenced by {}) has no entries in the snapshot: add `aws ec2 get-managed-prefix-list-entries --prefix-list-id {id}`", g.id)
                        });
                        false
                    }
                },
                SgPeer::Group { group_id, .. } => {
                    if !ctx.group_known(group_id) {
                        missing.get_or_insert_with(|| {
                            format!("security group {group_id} (referenced by {} rule {i}) is not in the snapshot: add the owning account's `aws ec2 describe-security-groups`", g.id)
                        });
                    }
                    ctx.group_holds(group_id, peer)
                }
            };
            if hit {
                return SgDecision::Allowed {
                    group: g,
                    index: i,
                    rule: r,
                };
            }
        }
    }
    match missing {
        Some(m) => SgDecision::Unknown(m),
        None => SgDecision::NoRuleMatched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PortMatch, PortRange, Protocol, ProtocolMatch};
    use crate::source::{FileId, Provenance};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    struct NoRefs;
    impl SgContext for NoRefs {
        fn prefix_list(&self, _: &str) -> Option<Vec<ipnet::IpNet>> {
            None
        }
        fn group_holds(&self, _: &str, _: IpAddr) -> bool {
            false
        }
        fn group_known(&self, _: &str) -> bool {
            true
        }
    }

    fn group(id: &str, rules: &[(bool, u16, u16, u8, u8)]) -> SecurityGroup {
        let ingress = rules
            .iter()
            .map(|&(any, lo, hi, net, len)| SgRule {
                protocol: if any {
                    ProtocolMatch::Any
                } else {
                    ProtocolMatch::One(Protocol::Tcp)
                },
                ports: if any {
                    PortMatch::Any
                } else {
                    PortMatch::Range(PortRange::new(lo.min(hi), lo.max(hi)))
                },
                peer: SgPeer::Cidr(ipnet::IpNet::V4(
                    ipnet::Ipv4Net::new(Ipv4Addr::new(10, net, 0, 0), len)
                        .unwrap()
                        .trunc(),
                )),
                description: None,
                prov: Provenance::file(FileId(0)),
            })
            .collect();
        SecurityGroup {
            id: id.into(),
            name: id.into(),
            vpc_id: "vpc-x".into(),
            ingress,
            egress: vec![],
            tags: vec![],
            prov: Provenance::file(FileId(0)),
        }
    }

    proptest! {
        /// Allowed exactly when some rule of some group matches protocol, port and source: the
        /// union of allows, checked against a direct reading of each rule.
        #[test]
        fn union_of_allows(a in prop::collection::vec((any::<bool>(), 0u16..100, 0u16..100, 0u8..4, 8u8..=24), 0..5),
                           b in prop::collection::vec((any::<bool>(), 0u16..100, 0u16..100, 0u8..4, 8u8..=24), 0..5),
                           port in 0u16..110, src in 0u8..5, udp in any::<bool>()) {
            let (ga, gb) = (group("sg-a", &a), group("sg-b", &b));
            let pkt = Packet {
                src: IpAddr::V4(Ipv4Addr::new(10, src, 1, 1)),
                dst: IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)),
                protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
                src_port: 40000,
                dst_port: port,
            };
            let naive = a.iter().chain(b.iter()).any(|&(any, lo, hi, net, len)| {
                let proto_ok = any || !udp;
                let port_ok = any || (lo.min(hi)..=lo.max(hi)).contains(&port);
                let cidr = ipnet::Ipv4Net::new(Ipv4Addr::new(10, net, 0, 0), len).unwrap().trunc();
                proto_ok && port_ok && cidr.contains(&Ipv4Addr::new(10, src, 1, 1))
            });
            let got = matches!(evaluate(&[&ga, &gb], SgDirection::Ingress, &pkt, &NoRefs), SgDecision::Allowed { .. });
            prop_assert_eq!(got, naive);
        }
    }
}
