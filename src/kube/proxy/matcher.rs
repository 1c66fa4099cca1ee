//! Deciding whether one rule's matches hold for the packet in its current state.

use super::types::NodeContext;
use crate::model::flow::{Packet, Protocol};
use crate::model::iptables::{AddrMatch, IfaceMatch, Match, PortMatch, RecentAction, Rule};
use std::net::IpAddr;

/// The netfilter hook a chain walk was entered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
    /// Entered at a kube-proxy chain directly (no hook known).
    Direct,
}

/// What the interpreter tracks about the packet while walking.
#[derive(Debug, Clone)]
pub(crate) struct PacketState {
    /// Headers as they are now (after any DNAT).
    pub pkt: Packet,
    /// The skb mark.
    pub mark: u32,
    /// The conntrack mark.
    pub ctmark: u32,
    /// A DNAT has been applied (conntrack status DNAT).
    pub dnat: bool,
    /// A SNAT/MASQUERADE has been applied.
    pub snat: bool,
}

/// The result of matching one rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MatchResult {
    /// All matches hold.
    Yes,
    /// Some match fails.
    No,
    /// The rule matches with this probability (`statistic`).
    Prob(f64),
    /// A match cannot be decided; the reason names it.
    Unknown(String),
}

/// An interface as the rule sees it.
enum Iface<'a> {
    /// The hook has no such interface (`-i` in OUTPUT, `-o` in PREROUTING).
    Absent,
    /// Known name.
    Known(&'a str),
    /// Not given in the context.
    Unknown,
}

fn in_iface<'a>(ctx: &'a NodeContext, hook: Hook) -> Iface<'a> {
    match hook {
        Hook::Output | Hook::Postrouting if ctx.locally_originated => Iface::Absent,
        Hook::Input if ctx.locally_originated => Iface::Known("lo"),
        _ => match &ctx.in_interface {
            Some(i) => Iface::Known(i),
            None => Iface::Unknown,
        },
    }
}

fn out_iface<'a>(ctx: &'a NodeContext, hook: Hook, st: &PacketState) -> Iface<'a> {
    match hook {
        Hook::Prerouting | Hook::Input => Iface::Absent,
        _ if ctx.locally_originated && ctx.is_local(st.pkt.dst) => Iface::Known("lo"),
        _ => match &ctx.out_interface {
            Some(i) => Iface::Known(i),
            None => Iface::Unknown,
        },
    }
}

/// Combines one match's result into the running conjunction.
fn and(acc: MatchResult, next: MatchResult) -> MatchResult {
    match (acc, next) {
        (MatchResult::No, _) | (_, MatchResult::No) => MatchResult::No,
        (MatchResult::Unknown(r), _) | (_, MatchResult::Unknown(r)) => MatchResult::Unknown(r),
        (MatchResult::Prob(a), MatchResult::Prob(b)) => MatchResult::Prob(a * b),
        (MatchResult::Prob(a), MatchResult::Yes) | (MatchResult::Yes, MatchResult::Prob(a)) => {
            MatchResult::Prob(a)
        }
        (MatchResult::Yes, MatchResult::Yes) => MatchResult::Yes,
    }
}

fn bool_result(b: bool) -> MatchResult {
    if b {
        MatchResult::Yes
    } else {
        MatchResult::No
    }
}

fn addr(m: &AddrMatch, ip: IpAddr) -> MatchResult {
    let same_family = matches!(
        (m.net, ip),
        (ipnet::IpNet::V4(_), IpAddr::V4(_)) | (ipnet::IpNet::V6(_), IpAddr::V6(_))
    );
    if !same_family {
        return MatchResult::No;
    }
    bool_result(m.net.contains(&ip) != m.negated)
}

fn iface(m: &IfaceMatch, actual: Iface<'_>, which: &str) -> MatchResult {
    match actual {
        Iface::Absent => bool_result(m.negated),
        Iface::Known(name) => bool_result(m.name_matches(name) != m.negated),
        Iface::Unknown => MatchResult::Unknown(format!(
            "{}{} {} (interface not given)",
            if m.negated { "! " } else { "" },
            which,
            m.name
        )),
    }
}

fn ports(m: &PortMatch, port: u16) -> bool {
    m.ranges.iter().any(|(lo, hi)| *lo <= port && port <= *hi) != m.negated
}

fn addr_types(types: &[String], ip: IpAddr, ctx: &NodeContext) -> Result<bool, String> {
    let mut any = false;
    for t in types {
        let hit = match t.to_ascii_uppercase().as_str() {
            "LOCAL" => ctx.is_local(ip),
            "UNICAST" => !ip.is_multicast() && ip != IpAddr::from([255, 255, 255, 255]),
            "MULTICAST" => ip.is_multicast(),
            "BROADCAST" => ip == IpAddr::from([255, 255, 255, 255]),
            "UNSPEC" => ip.is_unspecified(),
            other => return Err(format!("addrtype {other}")),
        };
        any |= hit;
    }
    Ok(any)
}

fn proto_matches(name: &str, p: Protocol) -> bool {
    match name {
        "all" | "0" => true,
        _ => Protocol::parse(name) == Some(p),
    }
}

/// Decides one rule for the packet; `notes` collects assumptions made (affinity).
pub(crate) fn match_rule(
    rule: &Rule<'_>,
    st: &PacketState,
    ctx: &NodeContext,
    hook: Hook,
    notes: &mut Vec<String>,
) -> MatchResult {
    let p = &st.pkt;
    let mut acc = MatchResult::Yes;
    // A `No` decides the rule (`and` keeps it whatever follows), so each part stops there.
    if let Some(m) = &rule.src {
        acc = and(acc, addr(m, p.src));
    }
    if let Some(m) = &rule.dst {
        acc = and(acc, addr(m, p.dst));
    }
    if acc == MatchResult::No {
        return acc;
    }
    if let Some(m) = &rule.protocol {
        acc = and(
            acc,
            bool_result(proto_matches(&m.protocol, p.protocol) != m.negated),
        );
        if acc == MatchResult::No {
            return acc;
        }
    }
    if let Some(m) = &rule.in_iface {
        acc = and(acc, iface(m, in_iface(ctx, hook), "-i"));
        if acc == MatchResult::No {
            return acc;
        }
    }
    if let Some(m) = &rule.out_iface {
        acc = and(acc, iface(m, out_iface(ctx, hook, st), "-o"));
    }
    if let Some(negated) = rule.fragment {
        // A traced packet is never a non-first fragment.
        acc = and(acc, bool_result(negated));
    }
    if acc == MatchResult::No {
        return acc;
    }
    for m in &rule.matches {
        let r = match_one(m, st, ctx, notes);
        acc = and(acc, r);
        if acc == MatchResult::No {
            return acc;
        }
    }
    acc
}

fn ct_states(st: &PacketState) -> Vec<&'static str> {
    let mut v = vec!["NEW"];
    if st.dnat {
        v.push("DNAT");
    }
    if st.snat {
        v.push("SNAT");
    }
    v
}

fn match_one(
    m: &Match,
    st: &PacketState,
    ctx: &NodeContext,
    notes: &mut Vec<String>,
) -> MatchResult {
    let p = &st.pkt;
    match m {
        Match::Comment(_) | Match::Nfacct(_) => MatchResult::Yes,
        Match::Ports {
            module,
            dport,
            sport,
            other,
        } => {
            if !proto_matches(module, p.protocol) || !p.protocol.has_ports() {
                return MatchResult::No;
            }
            if let Some(o) = other.first() {
                return MatchResult::Unknown(format!("-m {module} {}", o.name));
            }
            let d = dport.as_ref().is_none_or(|d| ports(d, p.dst_port));
            let s = sport.as_ref().is_none_or(|s| ports(s, p.src_port));
            bool_result(d && s)
        }
        Match::Multiport {
            dports,
            sports,
            ports: either,
        } => {
            if !p.protocol.has_ports() {
                return MatchResult::No;
            }
            let d = dports.as_ref().is_none_or(|d| ports(d, p.dst_port));
            let s = sports.as_ref().is_none_or(|s| ports(s, p.src_port));
            let e = either
                .as_ref()
                .is_none_or(|e| ports(e, p.dst_port) || ports(e, p.src_port));
            bool_result(d && s && e)
        }
        Match::Addrtype {
            src_type,
            dst_type,
            limit_iface_in,
            limit_iface_out,
        } => {
            if *limit_iface_in || *limit_iface_out {
                return MatchResult::Unknown(
                    "addrtype --limit-iface-in/out (per-interface addresses not known)".into(),
                );
            }
            let mut acc = MatchResult::Yes;
            for (spec, ip) in [(src_type, p.src), (dst_type, p.dst)] {
                if let Some((neg, types)) = spec {
                    match addr_types(types, ip, ctx) {
                        Ok(hit) => acc = and(acc, bool_result(hit != *neg)),
                        Err(r) => acc = and(acc, MatchResult::Unknown(r)),
                    }
                }
            }
            acc
        }
        Match::Statistic {
            mode,
            probability,
            negated,
            ..
        } => match (mode.as_str(), probability) {
            ("random", Some(prob)) => {
                let prob = prob.clamp(0.0, 1.0);
                MatchResult::Prob(if *negated { 1.0 - prob } else { prob })
            }
            _ => MatchResult::Unknown(format!("statistic --mode {mode}")),
        },
        Match::Recent {
            name,
            action,
            negated,
            ..
        } => match action {
            Some(RecentAction::Rcheck) | Some(RecentAction::Update)
                if ctx.recent_hits.iter().any(|h| h == name) =>
            {
                let note = format!("session affinity (recent {name}) assumed hit, as given");
                if !notes.contains(&note) {
                    notes.push(note);
                }
                bool_result(!*negated)
            }
            Some(RecentAction::Rcheck) | Some(RecentAction::Update) => {
                let note = format!(
                    "session affinity (recent {name}) assumed not hit: first connection from this client"
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
                bool_result(*negated)
            }
            Some(RecentAction::Set) | Some(RecentAction::Remove) | None => MatchResult::Yes,
        },
        Match::Mark {
            negated,
            value,
            mask,
        } => bool_result(((st.mark & mask) == *value) != *negated),
        Match::Conntrack { ctstate, other } => {
            if let Some(o) = other.first() {
                return MatchResult::Unknown(format!("conntrack {}", o.name));
            }
            match ctstate {
                Some((neg, states)) => {
                    let have = ct_states(st);
                    let hit = states
                        .iter()
                        .any(|s| have.contains(&s.to_ascii_uppercase().as_str()));
                    bool_result(hit != *neg)
                }
                None => MatchResult::Yes,
            }
        }
        Match::State { negated, states } => {
            let hit = states.iter().any(|s| s.eq_ignore_ascii_case("NEW"));
            bool_result(hit != *negated)
        }
        Match::Set { name, .. } => MatchResult::Unknown(format!(
            "-m set --match-set {name} (ipset contents not known)"
        )),
        Match::Physdev(_) => MatchResult::Unknown("-m physdev".into()),
        Match::Other { module, .. } => MatchResult::Unknown(format!("-m {module}")),
    }
}
