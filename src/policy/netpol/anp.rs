//! AdminNetworkPolicy and BaselineAdminNetworkPolicy layers (KEP-2091 semantics).

use super::{Citation, ConnSet, Effect, Endpoint, Peer, PolicyContext};
use crate::model::cluster::{
    AnpAction, AnpPeer, AnpPort, AnpRule, AnpSubject, BaselineAdminNetworkPolicy, PolicyType,
};
use crate::source::Provenance;

pub(super) fn subject_matches(ctx: &PolicyContext<'_>, s: &AnpSubject, me: &Endpoint) -> bool {
    match s {
        AnpSubject::Namespaces(sel) => ctx.ns_matches(sel, &me.namespace),
        AnpSubject::Pods {
            namespace_selector,
            pod_selector,
        } => ctx.ns_matches(namespace_selector, &me.namespace) && pod_selector.matches(&me.labels),
    }
}

fn peer_matches(ctx: &PolicyContext<'_>, p: &AnpPeer, other: Peer<'_>) -> bool {
    match (p, other) {
        (AnpPeer::Namespaces(sel), Peer::Pod(pod)) => ctx.ns_matches(sel, &pod.namespace),
        (
            AnpPeer::Pods {
                namespace_selector,
                pod_selector,
            },
            Peer::Pod(pod),
        ) => {
            ctx.ns_matches(namespace_selector, &pod.namespace) && pod_selector.matches(&pod.labels)
        }
        (AnpPeer::Networks(nets), Peer::External(ip)) => nets.iter().any(|n| n.contains(&ip)),
        _ => false,
    }
}

/// The connections of an ANP/BANP rule's `ports` towards `dst` (named ports take their
/// protocol from the destination pod; towards an address they resolve to nothing).
fn rule_ports(rule: &AnpRule, dst: Option<&Endpoint>) -> ConnSet {
    let Some(ports) = &rule.ports else {
        return ConnSet::all();
    };
    let mut out = ConnSet::empty();
    for p in ports {
        match p {
            AnpPort::Number { protocol, port } => out.add(&ConnSet::range(*protocol, *port, *port)),
            AnpPort::Range {
                protocol,
                start,
                end,
            } => out.add(&ConnSet::range(*protocol, *start, (*end).max(*start))),
            AnpPort::Named(name) => {
                if let Some(d) = dst {
                    for np in d.resolve(name) {
                        out.add(&ConnSet::range(np.protocol, np.port, np.port));
                    }
                }
            }
        }
    }
    out
}

fn citation(kind: &str, name: &str, at: &Provenance, rule: &AnpRule, dir: PolicyType) -> Citation {
    let key = match dir {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    };
    let (effect, verb) = match rule.action {
        AnpAction::Allow => (Effect::Allow, "allows"),
        AnpAction::Deny => (Effect::Deny, "denies"),
        AnpAction::Pass => (Effect::Pass, "passes to NetworkPolicy"),
    };
    let rule_name = rule
        .name
        .as_ref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    Citation {
        policy: format!("{kind} {name}"),
        policy_at: at.clone(),
        rule: Some(format!("{key}[{}]", rule.index)),
        rule_at: Some(rule.at.clone()),
        effect,
        direction: dir,
        reason: format!("rule{rule_name} {verb} first"),
    }
}

fn dst_of<'a>(me: &'a Endpoint, other: Peer<'a>, dir: PolicyType) -> Option<&'a Endpoint> {
    match dir {
        PolicyType::Ingress => Some(me),
        PolicyType::Egress => match other {
            Peer::Pod(p) => Some(p),
            Peer::External(_) => None,
        },
    }
}

/// The ANP layer: (allowed, undecided = passed or matched by no rule).
pub(super) fn admin_layer(
    ctx: &PolicyContext<'_>,
    me: &Endpoint,
    other: Peer<'_>,
    dir: PolicyType,
    explain: bool,
    because: &mut Vec<(Citation, ConnSet)>,
) -> (ConnSet, ConnSet) {
    let mut remaining = ConnSet::all();
    let mut allow = ConnSet::empty();
    let mut pass = ConnSet::empty();
    let dst = dst_of(me, other, dir);
    for anp in &ctx.anps {
        if remaining.is_empty() {
            break;
        }
        if !subject_matches(ctx, &anp.subject, me) {
            continue;
        }
        let rules = match dir {
            PolicyType::Ingress => &anp.ingress,
            PolicyType::Egress => &anp.egress,
        };
        for rule in rules {
            if !rule.peers.iter().any(|p| peer_matches(ctx, p, other)) {
                continue;
            }
            let m = rule_ports(rule, dst).intersect(&remaining);
            if m.is_empty() {
                continue;
            }
            match rule.action {
                AnpAction::Allow => allow.add(&m),
                AnpAction::Pass => pass.add(&m),
                AnpAction::Deny => {}
            }
            remaining = remaining.minus(&m);
            if explain {
                because.push((
                    citation(
                        "AdminNetworkPolicy",
                        &anp.meta.name,
                        &anp.meta.at,
                        rule,
                        dir,
                    ),
                    m,
                ));
            }
        }
    }
    (allow, remaining.union(&pass))
}

/// The BANP layer over `undecided`: what it allows plus what it leaves undecided (allowed).
#[allow(clippy::too_many_arguments)]
pub(super) fn baseline_layer(
    ctx: &PolicyContext<'_>,
    b: &BaselineAdminNetworkPolicy,
    me: &Endpoint,
    other: Peer<'_>,
    dir: PolicyType,
    undecided: &ConnSet,
    explain: bool,
    because: &mut Vec<(Citation, ConnSet)>,
) -> ConnSet {
    if !subject_matches(ctx, &b.subject, me) {
        return undecided.clone();
    }
    let rules = match dir {
        PolicyType::Ingress => &b.ingress,
        PolicyType::Egress => &b.egress,
    };
    let dst = dst_of(me, other, dir);
    let mut remaining = undecided.clone();
    let mut allow = ConnSet::empty();
    for rule in rules {
        if remaining.is_empty() {
            break;
        }
        if !rule.peers.iter().any(|p| peer_matches(ctx, p, other)) {
            continue;
        }
        let m = rule_ports(rule, dst).intersect(&remaining);
        if m.is_empty() {
            continue;
        }
        if rule.action == AnpAction::Allow {
            allow.add(&m);
        }
        remaining = remaining.minus(&m);
        if explain {
            because.push((
                citation(
                    "BaselineAdminNetworkPolicy",
                    &b.meta.name,
                    &b.meta.at,
                    rule,
                    dir,
                ),
                m,
            ));
        }
    }
    allow.union(&remaining)
}
