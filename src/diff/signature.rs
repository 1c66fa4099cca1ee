//! What a diff compares of a trace: per path, how it ended, the places it visited and the rules
//! that decided, each rule named by a stable identity (not by a line number or a list index
//! that an unrelated edit can shift).

use crate::graph::FastMap;
use crate::model::{SgRule, Snapshot};
use crate::trace::{Hop, Path, Step, StepKind, TraceResult};
use std::collections::BTreeSet;

/// The comparable content of one trace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceSig {
    /// `all`, `some`, `none`, `unknown`.
    pub reachable: &'static str,
    /// One entry per path: disposition, places, deciding rules.
    pub paths: Vec<String>,
}

/// A security group rule by content: `sg-… ingress tcp 443 from 0.0.0.0/0`.
pub fn sg_rule_identity(group: &str, dir: &str, r: &SgRule) -> String {
    format!("{group} {dir} {:?} {:?} {:?}", r.protocol, r.ports, r.peer)
}

/// The stable identities of one snapshot's security group rules, by the name a step cites
/// them with (`sg-… ingress[3]`), formatted once instead of at every step.
pub struct RuleNames<'a> {
    snap: &'a Snapshot,
    sg_rules: FastMap<String, String>,
}

impl<'a> RuleNames<'a> {
    /// The identities of `snap`'s security group rules.
    pub fn new(snap: &'a Snapshot) -> Self {
        let mut sg_rules = FastMap::default();
        for (id, sg) in &snap.cloud.security_groups {
            for (dir, list) in [("ingress", &sg.ingress), ("egress", &sg.egress)] {
                for (k, r) in list.iter().enumerate() {
                    let cited = crate::cat!(id, ' ', dir, '[', k, ']');
                    sg_rules.insert(cited, sg_rule_identity(id, dir, r));
                }
            }
        }
        RuleNames { snap, sg_rules }
    }

    /// The snapshot the names are of.
    pub fn snapshot(&self) -> &'a Snapshot {
        self.snap
    }
}

/// The stable identity of the rule a step cites.
pub fn stable_rule(names: &RuleNames, step: &Step) -> String {
    let rule = step.rule.as_str();
    // `sg-… ingress[3]` → the rule's content.
    if let Some(identity) = names.sg_rules.get(rule) {
        return identity.clone();
    }
    // `nat KUBE-SEP-… line 158` → the chain.
    if let Some((head, tail)) = rule.rsplit_once(" line ") {
        if tail.chars().all(|c| c.is_ascii_digit()) {
            return head.to_string();
        }
    }
    rule.to_string()
}

fn decides(step: &Step) -> bool {
    matches!(
        step.kind,
        StepKind::Filter
            | StepKind::Drop
            | StepKind::Route
            | StepKind::Dnat
            | StepKind::Snat
            | StepKind::LoadBalancer
    )
}

fn hop_sig(names: &RuleNames, hops: &[Hop], out: &mut String) {
    for h in hops {
        out.push_str(&h.at);
        out.push('{');
        for s in h.steps.iter().filter(|s| decides(s)) {
            out.push_str(s.layer.as_str());
            out.push(':');
            out.push_str(s.action.as_str());
            out.push(':');
            out.push_str(&stable_rule(names, s));
            out.push(';');
        }
        out.push('}');
    }
}

fn path_sig(names: &RuleNames, p: &Path) -> String {
    let mut s = format!("{} ", p.disposition.as_str());
    hop_sig(names, &p.hops, &mut s);
    s.push_str(" reply ");
    hop_sig(names, &p.reply, &mut s);
    s
}

/// The signature of a trace in the snapshot of `names`.
pub fn signature(names: &RuleNames, t: &TraceResult) -> TraceSig {
    TraceSig {
        reachable: t.reachable.as_str(),
        paths: t.paths.iter().map(|p| path_sig(names, p)).collect(),
    }
}

/// Every token a trace touched: the places it visited and the words of the rules it cited
/// (ids of interfaces, groups, ACLs, route tables; pod keys).
pub fn touched(t: &TraceResult, into: &mut BTreeSet<String>) {
    for p in &t.paths {
        for h in p.hops.iter().chain(p.reply.iter()) {
            let at = h.at.as_str();
            into.insert(at.to_string());
            for prefix in ["pod/", "node/"] {
                if let Some(rest) = at.strip_prefix(prefix) {
                    into.insert(rest.to_string());
                }
            }
            for s in &h.steps {
                for w in s.rule.split([' ', ',']) {
                    if !w.is_empty() {
                        into.insert(w.to_string());
                    }
                }
            }
        }
    }
}
