//! Static checks of the AWS side: routes, security groups, NACLs, targets, instances.
//!
//! Tiers: a subnet is **public** when its route table has an active route to an internet
//! gateway; it is **isolated** when its `tier` tag is `isolated`, `db`, `database` or `data`,
//! or (without a `tier` tag) its `Name` tag contains `isolated`, `db` or `database` as a
//! word; every other subnet is **private**.

use super::finding;
use crate::graph::Index;
use crate::model::{
    tag_value, PortMatch, ProtocolMatch, RouteTarget, SgPeer, Snapshot, TargetType,
};
use crate::report::findings::{Finding, FindingLevel};
use ipnet::IpNet;

/// The tier of a subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Routes to an internet gateway.
    Public,
    /// Neither public nor isolated.
    Private,
    /// Tagged or named as isolated (databases).
    Isolated,
}

/// The tier of `subnet_id` (see the module documentation for the rule).
pub fn tier(snap: &Snapshot, ix: &Index, subnet_id: &str) -> Tier {
    let Some(s) = snap.cloud.subnets.get(subnet_id) else {
        return Tier::Private;
    };
    let isolated_word = |w: &str| matches!(w, "isolated" | "db" | "database" | "data");
    let by_tag = tag_value(&s.tags, "tier").map(|t| isolated_word(&t.to_ascii_lowercase()));
    let by_name = tag_value(&s.tags, "Name").is_some_and(|n| {
        n.to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w != "data" && isolated_word(w))
    });
    if by_tag.unwrap_or(by_name) {
        return Tier::Isolated;
    }
    let public = ix
        .subnet_route_table
        .get(subnet_id)
        .and_then(|t| snap.cloud.route_tables.get(t))
        .is_some_and(|t| {
            t.routes
                .iter()
                .any(|r| r.active && matches!(r.target, RouteTarget::InternetGateway(_)))
        });
    if public {
        Tier::Public
    } else {
        Tier::Private
    }
}

fn world(net: &IpNet) -> bool {
    net.prefix_len() == 0
}

/// Runs the cloud checks.
pub fn check(snap: &Snapshot, ix: &Index, out: &mut Vec<Finding>) {
    routes(snap, ix, out);
    security_groups(snap, ix, out);
    nacl_shadowing(snap, out);
    targets(snap, out);
}

fn routes(snap: &Snapshot, ix: &Index, out: &mut Vec<Finding>) {
    for t in snap.cloud.route_tables.values() {
        for r in &t.routes {
            if !r.active {
                out.push(finding(
                    snap,
                    "audit/blackhole-route",
                    FindingLevel::Error,
                    format!("{} {} -> {}", t.id, dest_text(&r.destination), r.target.id()),
                    format!(
                        "route table {} sends {} to {}, which no longer exists (state blackhole): matching packets are dropped; delete the route or point it at a live target",
                        t.id,
                        dest_text(&r.destination),
                        r.target.id()
                    ),
                    Some(&r.prov),
                ));
            }
        }
        let subnets: Vec<&String> = snap
            .cloud
            .subnets
            .keys()
            .filter(|s| ix.subnet_route_table.get(*s) == Some(&t.id))
            .collect();
        for s in subnets {
            if tier(snap, ix, s) != Tier::Isolated {
                continue;
            }
            for r in t.routes.iter().filter(|r| r.active) {
                if matches!(
                    r.target,
                    RouteTarget::InternetGateway(_)
                        | RouteTarget::EgressOnlyInternetGateway(_)
                        | RouteTarget::NatGateway(_)
                ) {
                    out.push(finding(
                        snap,
                        "audit/isolated-subnet-internet-route",
                        FindingLevel::Error,
                        format!("{s} via {}", t.id),
                        format!(
                            "subnet {s} is in the isolated tier but its route table {} sends {} to {}: remove the route (isolated subnets have local routes only)",
                            t.id,
                            dest_text(&r.destination),
                            r.target.id()
                        ),
                        Some(&r.prov),
                    ));
                }
            }
        }
    }
}

fn dest_text(d: &crate::model::RouteDestination) -> String {
    match d {
        crate::model::RouteDestination::Cidr(c) => c.to_string(),
        crate::model::RouteDestination::PrefixList(p) => p.clone(),
    }
}

fn covers_ports(a: &PortMatch, b: &PortMatch) -> bool {
    match (a, b) {
        (PortMatch::Any, _) => true,
        (PortMatch::Range(x), PortMatch::Range(y)) => x.lo <= y.lo && y.hi <= x.hi,
        (
            PortMatch::Icmp {
                icmp_type: t1,
                code: c1,
            },
            PortMatch::Icmp {
                icmp_type: t2,
                code: c2,
            },
        ) => (t1.is_none() || t1 == t2) && (c1.is_none() || c1 == c2),
        _ => false,
    }
}

fn covers_proto(a: &ProtocolMatch, b: &ProtocolMatch) -> bool {
    match (a, b) {
        (ProtocolMatch::Any, _) => true,
        (ProtocolMatch::One(x), ProtocolMatch::One(y)) => x == y,
        _ => false,
    }
}

/// A port match for a protocol selector: `-1` ignores ports.
fn effective_ports(p: &ProtocolMatch, m: &PortMatch) -> PortMatch {
    match p {
        ProtocolMatch::Any => PortMatch::Any,
        _ => *m,
    }
}

fn security_groups(snap: &Snapshot, ix: &Index, out: &mut Vec<Finding>) {
    let referenced: std::collections::BTreeSet<&str> = snap
        .cloud
        .security_groups
        .values()
        .flat_map(|g| g.ingress.iter().chain(g.egress.iter()))
        .filter_map(|r| match &r.peer {
            SgPeer::Group { group_id, .. } => Some(group_id.as_str()),
            _ => None,
        })
        .collect();
    for g in snap.cloud.security_groups.values() {
        let members = ix.group_members.get(&g.id).cloned().unwrap_or_default();
        if members.is_empty() && g.name != "default" && !referenced.contains(g.id.as_str()) {
            out.push(finding(
                snap,
                "audit/unused-security-group",
                FindingLevel::Note,
                format!("{} ({})", g.id, g.name),
                format!(
                    "security group {} ({}) is attached to no interface and referenced by no rule",
                    g.id, g.name
                ),
                Some(&g.prov),
            ));
        }
        // Duplicates: a rule covered by another rule of the same group and direction.
        for (dir, rules) in [("ingress", &g.ingress), ("egress", &g.egress)] {
            for (i, r) in rules.iter().enumerate() {
                let covered_by = rules.iter().enumerate().find(|(j, o)| {
                    *j != i
                        && o.peer == r.peer
                        && covers_proto(&o.protocol, &r.protocol)
                        && covers_ports(
                            &effective_ports(&o.protocol, &o.ports),
                            &effective_ports(&r.protocol, &r.ports),
                        )
                        // Of two identical rules, report the later one.
                        && (j < &i
                            || !(covers_proto(&r.protocol, &o.protocol)
                                && covers_ports(
                                    &effective_ports(&r.protocol, &r.ports),
                                    &effective_ports(&o.protocol, &o.ports),
                                )))
                });
                if let Some((j, _)) = covered_by {
                    out.push(finding(
                        snap,
                        "audit/shadowed-rule",
                        FindingLevel::Warning,
                        format!("{} {dir}[{i}]", g.id),
                        format!(
                            "security group {} {dir} rule {i} ({}) is covered by rule {j} of the same group: it never decides anything; remove it",
                            g.id,
                            crate::diff::signature::sg_rule_identity(&g.id, dir, r)
                        ),
                        Some(&r.prov),
                    ));
                }
            }
        }
        // Open to the world on a non-public tier.
        let tiers: Vec<Tier> = members
            .iter()
            .filter_map(|e| snap.cloud.interfaces.get(e))
            .map(|e| tier(snap, ix, &e.subnet_id))
            .collect();
        let worst = if tiers.contains(&Tier::Isolated) {
            Some(Tier::Isolated)
        } else if tiers.contains(&Tier::Private) {
            Some(Tier::Private)
        } else {
            None
        };
        let Some(worst) = worst else { continue };
        for r in &g.ingress {
            let SgPeer::Cidr(net) = &r.peer else { continue };
            if !world(net) {
                continue;
            }
            let explained = worst != Tier::Isolated && lb_explains(snap, &members, r);
            let (level, why) = if explained {
                (
                    FindingLevel::Note,
                    "needed: it is the port of an internet-facing load balancer's instance targets, which see the client's address",
                )
            } else {
                (
                    FindingLevel::Error,
                    "no internet-facing load balancer with client IP preservation explains it; narrow the source",
                )
            };
            out.push(finding(
                snap,
                "audit/sg-open-to-world",
                level,
                format!("{} ingress {net}", g.id),
                format!(
                    "security group {} ({}) admits {} from {net} on interfaces in a {} subnet: {why}",
                    g.id,
                    g.name,
                    port_text(&r.protocol, &r.ports),
                    if worst == Tier::Isolated { "isolated" } else { "private" }
                ),
                Some(&r.prov),
            ));
        }
    }
}

fn port_text(p: &ProtocolMatch, m: &PortMatch) -> String {
    match (p, m) {
        (ProtocolMatch::Any, _) => "all traffic".to_string(),
        (ProtocolMatch::One(p), PortMatch::Range(r)) => format!("{p} {r}"),
        (ProtocolMatch::One(p), _) => p.to_string(),
    }
}

/// True when every port of the rule is the port of a target group of an internet-facing load
/// balancer that preserves client addresses toward instance targets carrying the group.
fn lb_explains(snap: &Snapshot, members: &[String], r: &crate::model::SgRule) -> bool {
    let PortMatch::Range(range) = r.ports else {
        return false;
    };
    let member_instances: Vec<&str> = members
        .iter()
        .filter_map(|e| snap.cloud.interfaces.get(e))
        .filter_map(|e| e.instance_id.as_deref())
        .collect();
    snap.cloud.target_groups.values().any(|tg| {
        tg.target_type == TargetType::Instance
            && tg.preserves_client_ip()
            && tg.port.is_some_and(|p| range.lo == p && range.hi == p)
            && tg.load_balancer_arns.iter().any(|a| {
                snap.cloud
                    .load_balancers
                    .get(a)
                    .is_some_and(|lb| lb.internet_facing)
            })
            && tg
                .targets
                .iter()
                .flatten()
                .any(|t| member_instances.contains(&t.id.as_str()))
    })
}

fn nacl_shadowing(snap: &Snapshot, out: &mut Vec<Finding>) {
    for acl in snap.cloud.network_acls.values() {
        for (dir, entries) in [("inbound", &acl.ingress), ("outbound", &acl.egress)] {
            for (i, e) in entries.iter().enumerate() {
                if e.number >= 32767 {
                    continue;
                }
                let earlier = entries[..i].iter().find(|o| {
                    o.number < e.number
                        && covers_proto(&o.protocol, &e.protocol)
                        && covers_ports(
                            &effective_ports(&o.protocol, &o.ports),
                            &effective_ports(&e.protocol, &e.ports),
                        )
                        && o.cidr.contains(&e.cidr)
                });
                if let Some(o) = earlier {
                    out.push(finding(
                        snap,
                        "audit/shadowed-rule",
                        FindingLevel::Warning,
                        format!("{} {dir} rule {}", acl.id, e.number),
                        format!(
                            "network ACL {} {dir} rule {} ({}) is shadowed by rule {} ({}): it never matches; remove it or renumber it before rule {}",
                            acl.id,
                            e.number,
                            if e.allow { "allow" } else { "deny" },
                            o.number,
                            if o.allow { "allow" } else { "deny" },
                            o.number
                        ),
                        Some(&e.prov),
                    ));
                }
            }
        }
    }
}

fn targets(snap: &Snapshot, out: &mut Vec<Finding>) {
    for tg in snap.cloud.target_groups.values() {
        for t in tg.targets.iter().flatten() {
            if t.health != "healthy" && t.health != "unused" {
                out.push(finding(
                    snap,
                    "audit/unhealthy-target",
                    FindingLevel::Warning,
                    format!("{} {}", tg.name, t.id),
                    format!(
                        "target {} of target group {} is {}{}: it gets no new connections",
                        t.id,
                        tg.name,
                        t.health,
                        t.reason
                            .as_ref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                    Some(&t.prov),
                ));
            }
        }
    }
    for i in snap.cloud.instances.values() {
        if !i.forwards() {
            out.push(finding(
                snap,
                "audit/stopped-instance",
                FindingLevel::Note,
                i.id.clone(),
                format!(
                    "instance {} ({}) is {}: it sends and receives nothing, whatever its security groups allow",
                    i.id,
                    tag_value(&i.tags, "Name").unwrap_or("no name"),
                    i.state
                ),
                Some(&i.prov),
            ));
        }
    }
}
