//! The ordered rule interpreter: hooks, chains, jumps, gotos, RETURN, policies and forks.

use super::matcher::{match_rule, Hook, MatchResult, PacketState};
use super::types::{
    service_in_comment, NodeContext, Origin, ProxyBranch, ProxyOutcome, RuleRef, Verdict, WalkMode,
};
use crate::model::flow::Packet;
use crate::model::iptables::{IptablesDump, MarkOp, RawOption, Rule, Rules, Table, Target};
use std::cell::Cell;
use std::net::IpAddr;

/// One path through the rules so far.
#[derive(Debug, Clone)]
struct Path {
    st: PacketState,
    prob: f64,
    rules: Vec<RuleRef>,
    notes: Vec<String>,
    /// An ACCEPT rule matched in the filter table.
    explicit_accept: bool,
    /// A rule of KUBE-MARK-MASQ matched (used only when there is no KUBE-POSTROUTING).
    mark_masq_hit: bool,
    /// MASQUERADE or SNAT applied.
    masqueraded: bool,
}

/// A terminating decision.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    Accept,
    Drop,
    Reject,
    Dnat,
    Nat,
    Undecidable(String),
    Loop(String),
}

/// How a chain walk ended for one path.
#[derive(Debug, Clone, PartialEq)]
enum Exit {
    /// Fell off the end of the chain.
    FellOff,
    /// `RETURN` (or a goto'd chain ended).
    Returned,
    /// A terminating target.
    Term(Term),
}

/// After a target: go on with the next rule, or leave the chain.
enum Step {
    Continue,
    Leave(Exit),
}

/// Non-terminating targets that do not change what the interpreter tracks.
const PASSIVE_TARGETS: &[&str] = &[
    "LOG",
    "NFLOG",
    "ULOG",
    "TRACE",
    "AUDIT",
    "CT",
    "NOTRACK",
    "CHECKSUM",
    "TCPMSS",
    "TOS",
    "DSCP",
    "TTL",
    "HL",
    "CLASSIFY",
    "SECMARK",
    "CONNSECMARK",
    "NFACCT",
];

struct Walker<'a> {
    dump: &'a IptablesDump,
    ctx: &'a NodeContext,
    table: &'a Table,
    hook: Hook,
    /// Forks made so far in the whole evaluation (shared across stages).
    forks: &'a Cell<usize>,
}

impl Walker<'_> {
    fn rule_ref(&self, chain: &str, rule: &Rule<'_>) -> RuleRef {
        RuleRef {
            table: self.table.name.clone(),
            chain: chain.to_string(),
            line: rule.line,
            text: rule.text.clone(),
            comment: rule.comment().map(str::to_string),
            at: Some(self.dump.provenance(rule)),
        }
    }

    /// Walks `chain` for `path`; every resulting path with how the chain ended for it.
    fn run_chain(&self, chain: &str, path: Path, stack: &mut Vec<String>) -> Vec<(Path, Exit)> {
        if stack.iter().any(|c| c == chain) {
            let cycle = format!("{} -> {chain}", stack.join(" -> "));
            return vec![(path, Exit::Term(Term::Loop(format!("jump cycle {cycle}"))))];
        }
        if stack.len() >= self.ctx.max_depth {
            return vec![(
                path,
                Exit::Term(Term::Loop(format!(
                    "chain nesting deeper than {} at {chain}",
                    self.ctx.max_depth
                ))),
            )];
        }
        let Some(c) = self.table.chain(chain) else {
            return vec![(
                path,
                Exit::Term(Term::Undecidable(format!(
                    "jump to chain {chain} which is not in table {}",
                    self.table.name
                ))),
            )];
        };
        stack.push(chain.to_string());
        let out = self.walk_from(chain, c.rules(), 0, path, stack);
        stack.pop();
        out
    }

    fn walk_from(
        &self,
        chain: &str,
        rules: Rules<'_>,
        start: usize,
        mut path: Path,
        stack: &mut Vec<String>,
    ) -> Vec<(Path, Exit)> {
        let mut out = Vec::new();
        let mut i = start;
        while let Some(rule) = rules.get(i) {
            let rule = &rule;
            let r = match_rule(rule, &path.st, self.ctx, self.hook, &mut path.notes);
            let taken_prob = match r {
                MatchResult::No => {
                    i += 1;
                    continue;
                }
                MatchResult::Unknown(reason) => {
                    let mut p = path;
                    p.rules.push(self.rule_ref(chain, rule));
                    out.push((
                        p,
                        Exit::Term(Term::Undecidable(format!(
                            "{reason} in {} {chain} line {}",
                            self.table.name, rule.line
                        ))),
                    ));
                    return out;
                }
                MatchResult::Yes => None,
                MatchResult::Prob(p) => Some(p),
            };
            if taken_prob.is_some_and(|p| p > 0.0 && p < 1.0) {
                self.forks.set(self.forks.get() + 1);
                if self.forks.get() >= self.ctx.max_branches {
                    path.rules.push(self.rule_ref(chain, rule));
                    out.push((
                        path,
                        Exit::Term(Term::Undecidable(format!(
                            "more than {} branches (statistic forks); walk cut at {} {chain} line {}",
                            self.ctx.max_branches, self.table.name, rule.line
                        ))),
                    ));
                    return out;
                }
            }
            let mut taken = match taken_prob {
                // Fork: the taken branch here, the skipped one continues this loop.
                Some(p) => {
                    let mut t = path.clone();
                    t.prob *= p;
                    path.prob *= 1.0 - p;
                    t
                }
                None => path.clone(),
            };
            taken.rules.push(self.rule_ref(chain, rule));
            let results = self.apply(rule, taken, stack);
            let mut continuing = Vec::new();
            for (p, step) in results {
                match step {
                    Step::Continue => continuing.push(p),
                    Step::Leave(e) => out.push((p, e)),
                }
            }
            if taken_prob.is_none() {
                // The whole path went through the rule; continue with what came back.
                if continuing.len() == 1 && out.is_empty() {
                    if let Some(p) = continuing.pop() {
                        path = p;
                        i += 1;
                        continue;
                    }
                }
                for p in continuing {
                    out.extend(self.walk_from(chain, rules, i + 1, p, stack));
                }
                return out;
            }
            for p in continuing {
                out.extend(self.walk_from(chain, rules, i + 1, p, stack));
            }
            if path.prob <= 0.0 {
                return out;
            }
            i += 1;
        }
        out.push((path, Exit::FellOff));
        out
    }

    fn apply(&self, rule: &Rule<'_>, mut path: Path, stack: &mut Vec<String>) -> Vec<(Path, Step)> {
        let leave = |p: Path, t: Term| vec![(p, Step::Leave(Exit::Term(t)))];
        if stack.last().map(String::as_str) == Some("KUBE-MARK-MASQ") {
            path.mark_masq_hit = true;
        }
        let Some(target) = &rule.target else {
            return vec![(path, Step::Continue)];
        };
        match target {
            Target::Accept => {
                if self.table.name == "filter" {
                    path.explicit_accept = true;
                }
                leave(path, Term::Accept)
            }
            Target::Drop => leave(path, Term::Drop),
            Target::Reject { .. } => leave(path, Term::Reject),
            Target::Return => vec![(path, Step::Leave(Exit::Returned))],
            Target::Chain(c) => {
                let goto = rule.goto;
                self.run_chain(c, path, stack)
                    .into_iter()
                    .map(|(p, e)| match e {
                        Exit::FellOff | Exit::Returned if goto => (p, Step::Leave(Exit::Returned)),
                        Exit::FellOff | Exit::Returned => (p, Step::Continue),
                        t => (p, Step::Leave(t)),
                    })
                    .collect()
            }
            Target::Dnat { to_destination, .. } => {
                match to_destination.as_deref().map(parse_dnat) {
                    Some(Some((ip, port))) => {
                        path.st.pkt.dst = ip;
                        if let Some(port) = port {
                            path.st.pkt.dst_port = port;
                        }
                        path.st.dnat = true;
                        leave(path, Term::Dnat)
                    }
                    other => {
                        let what = match other {
                            Some(_) => to_destination.clone().unwrap_or_default(),
                            None => "(none)".into(),
                        };
                        leave(
                            path,
                            Term::Undecidable(format!("DNAT --to-destination {what}")),
                        )
                    }
                }
            }
            Target::Snat { .. } | Target::Masquerade { .. } => {
                path.st.snat = true;
                path.masqueraded = true;
                leave(path, Term::Nat)
            }
            Target::Mark(op) => match apply_mark(op, path.st.mark) {
                Some(m) => {
                    path.st.mark = m;
                    vec![(path, Step::Continue)]
                }
                None => leave(path, Term::Undecidable("MARK with unknown options".into())),
            },
            Target::Connmark(op) => match apply_connmark(op, &mut path.st) {
                true => vec![(path, Step::Continue)],
                false => leave(
                    path,
                    Term::Undecidable("CONNMARK with unknown options".into()),
                ),
            },
            Target::Other { name, .. } => {
                if PASSIVE_TARGETS.contains(&name.as_str()) {
                    vec![(path, Step::Continue)]
                } else {
                    leave(path, Term::Undecidable(format!("target {name}")))
                }
            }
        }
    }
}

/// `mark = f(mark)` for a MARK target; `None` for options netpath does not model.
fn apply_mark(op: &MarkOp, mark: u32) -> Option<u32> {
    Some(match op {
        MarkOp::SetXmark { value, mask } => (mark & !mask) ^ value,
        MarkOp::SetMark { value, mask } => (mark & !mask) | value,
        MarkOp::Or(v) => mark | v,
        MarkOp::Xor(v) => mark ^ v,
        MarkOp::And(v) => mark & v,
        MarkOp::Other(_) => return None,
    })
}

fn raw_mask(opts: &[RawOption], name: &str) -> Option<u32> {
    match opts.iter().find(|o| o.name == name) {
        None => Some(u32::MAX),
        Some(o) => {
            let a = o.args.first()?;
            match a.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => a.parse().ok(),
            }
        }
    }
}

/// Applies a CONNMARK target; false when its options are not modelled.
fn apply_connmark(op: &MarkOp, st: &mut PacketState) -> bool {
    match op {
        MarkOp::Other(opts) => {
            let (Some(nf), Some(ct)) = (raw_mask(opts, "--nfmask"), raw_mask(opts, "--ctmask"))
            else {
                return false;
            };
            if opts.iter().any(|o| o.name == "--restore-mark") {
                st.mark = (st.mark & !nf) | (st.ctmark & ct);
                true
            } else if opts.iter().any(|o| o.name == "--save-mark") {
                st.ctmark = (st.ctmark & !ct) | (st.mark & nf);
                true
            } else {
                false
            }
        }
        op => match apply_mark(op, st.ctmark) {
            Some(m) => {
                st.ctmark = m;
                true
            }
            None => false,
        },
    }
}

/// `IP`, `IP:PORT`, `[IPv6]:PORT`; `None` for ranges and anything else.
fn parse_dnat(s: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some((ip, None));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, port) = rest.split_once("]:")?;
        return Some((ip.parse().ok()?, Some(port.parse().ok()?)));
    }
    let (ip, port) = s.rsplit_once(':')?;
    Some((ip.parse().ok()?, Some(port.parse().ok()?)))
}

/// Whether the dump carries the built-in hook rules (i.e. is real `iptables-save` output).
fn has_hooks(dump: &IptablesDump) -> bool {
    ["PREROUTING", "OUTPUT"].iter().any(|c| {
        dump.table("nat")
            .and_then(|t| t.chain(c))
            .is_some_and(|c| !c.rules().is_empty())
    })
}

/// A path finished: with its final decision (`None` = still going).
type Finished = (Path, Option<Term>);

/// Runs one built-in chain (policy applies on fall-through) or one kube-proxy chain (fall-through
/// continues) for every live path.
fn stage(
    dump: &IptablesDump,
    ctx: &NodeContext,
    forks: &Cell<usize>,
    table: &str,
    chain: &str,
    hook: Hook,
    paths: Vec<Finished>,
) -> Vec<Finished> {
    let Some(t) = dump.table(table) else {
        return paths;
    };
    let Some(c) = t.chain(chain) else {
        return paths;
    };
    let builtin_policy = c.policy.clone();
    let w = Walker {
        dump,
        ctx,
        table: t,
        hook,
        forks,
    };
    let mut out = Vec::new();
    for (p, done) in paths {
        if done.is_some() {
            out.push((p, done));
            continue;
        }
        let mut stack = Vec::new();
        for (p, exit) in w.run_chain(chain, p, &mut stack) {
            let decided = match exit {
                Exit::FellOff | Exit::Returned => match builtin_policy.as_deref() {
                    Some("DROP") => Some(Term::Drop),
                    _ => None,
                },
                // ACCEPT/DNAT/NAT end this table's walk for the hook; the packet goes on.
                Exit::Term(Term::Accept) | Exit::Term(Term::Dnat) | Exit::Term(Term::Nat) => None,
                Exit::Term(t) => Some(t),
            };
            out.push((p, decided));
        }
    }
    out
}

/// Evaluates `pkt` (the first packet of a new connection) against a node's kube-proxy rules.
///
/// Walks nat and filter in kernel order when the dump has the built-in hook rules
/// (`iptables-save` output), otherwise kube-proxy's chains directly (see [`WalkMode`]). Every
/// `-m statistic --mode random` rule forks the walk (taken with `p`, skipped with `1-p`), so the
/// result is an exact probability distribution over outcomes. Session-affinity checks
/// (`recent --rcheck`) are assumed not hit and say so in the branch notes; matches that cannot
/// be decided end their branch as [`Verdict::Undecidable`] naming the match.
pub fn evaluate(dump: &IptablesDump, pkt: &Packet, ctx: &NodeContext) -> ProxyOutcome {
    let mut notes = Vec::new();
    let hooks = match ctx.walk {
        WalkMode::Hooks => true,
        WalkMode::KubeChains => false,
        WalkMode::Auto => has_hooks(dump),
    };
    if dump.table("nat").is_none() {
        notes.push("the dump has no nat table: no service translation observed".to_string());
    }
    if dump
        .table("nat")
        .is_some_and(|t| t.chain("KUBE-SERVICES").is_none())
    {
        notes.push(
            "no nat KUBE-SERVICES chain: kube-proxy is absent or runs in nftables/IPVS mode; \
             service translation cannot be observed in this dump"
                .to_string(),
        );
    }
    if dump.legacy_tables_present {
        notes.push(
            "the dump warns that iptables-legacy tables exist too: it is incomplete".to_string(),
        );
    }
    let start = Path {
        st: PacketState {
            pkt: *pkt,
            mark: 0,
            ctmark: 0,
            dnat: false,
            snat: false,
        },
        prob: 1.0,
        rules: Vec::new(),
        notes: Vec::new(),
        explicit_accept: false,
        mark_masq_hit: false,
        masqueraded: false,
    };
    let forks = Cell::new(0usize);
    let mut paths: Vec<Finished> = vec![(start, None)];
    let has_postrouting_rules;
    if hooks {
        notes.push("walked hook by hook from the built-in chains".to_string());
        let nat_hook = if ctx.locally_originated {
            ("OUTPUT", Hook::Output)
        } else {
            ("PREROUTING", Hook::Prerouting)
        };
        paths = stage(dump, ctx, &forks, "nat", nat_hook.0, nat_hook.1, paths);
        // Routing decision per path, on the (possibly DNATed) destination.
        let mut next = Vec::new();
        for (p, done) in paths {
            if done.is_some() {
                next.push((p, done));
                continue;
            }
            let local = ctx.is_local(p.st.pkt.dst);
            let mut v = vec![(p, None)];
            if ctx.locally_originated {
                v = stage(dump, ctx, &forks, "filter", "OUTPUT", Hook::Output, v);
                v = stage(
                    dump,
                    ctx,
                    &forks,
                    "nat",
                    "POSTROUTING",
                    Hook::Postrouting,
                    v,
                );
                if local {
                    v = stage(dump, ctx, &forks, "filter", "INPUT", Hook::Input, v);
                }
            } else if local {
                v = stage(dump, ctx, &forks, "filter", "INPUT", Hook::Input, v);
            } else {
                v = stage(dump, ctx, &forks, "filter", "FORWARD", Hook::Forward, v);
                v = stage(
                    dump,
                    ctx,
                    &forks,
                    "nat",
                    "POSTROUTING",
                    Hook::Postrouting,
                    v,
                );
            }
            next.extend(v);
        }
        paths = next;
        has_postrouting_rules = true;
    } else {
        notes.push(
            "no hook rules in the dump: walked kube-proxy's chains directly (nat KUBE-SERVICES, \
             filter KUBE-SERVICES/KUBE-EXTERNAL-SERVICES/KUBE-NODEPORTS/KUBE-PROXY-FIREWALL, \
             nat KUBE-POSTROUTING)"
                .to_string(),
        );
        paths = stage(
            dump,
            ctx,
            &forks,
            "nat",
            "KUBE-SERVICES",
            Hook::Direct,
            paths,
        );
        for chain in [
            "KUBE-SERVICES",
            "KUBE-EXTERNAL-SERVICES",
            "KUBE-NODEPORTS",
            "KUBE-PROXY-FIREWALL",
        ] {
            paths = stage(dump, ctx, &forks, "filter", chain, Hook::Direct, paths);
        }
        has_postrouting_rules = dump
            .table("nat")
            .is_some_and(|t| t.chain("KUBE-POSTROUTING").is_some());
        paths = stage(
            dump,
            ctx,
            &forks,
            "nat",
            "KUBE-POSTROUTING",
            Hook::Direct,
            paths,
        );
    }
    let branches = paths
        .into_iter()
        .filter(|(p, _)| p.prob > 0.0)
        .map(|(p, done)| finish(dump, p, done, has_postrouting_rules))
        .collect();
    ProxyOutcome { branches, notes }
}

fn finish(dump: &IptablesDump, p: Path, done: Option<Term>, postrouting: bool) -> ProxyBranch {
    let verdict = match done {
        Some(Term::Drop) => Verdict::Drop,
        Some(Term::Reject) => Verdict::Reject,
        Some(Term::Undecidable(r)) => Verdict::Undecidable(r),
        Some(Term::Loop(r)) => Verdict::Loop(r),
        _ if p.st.dnat => Verdict::Dnat {
            ip: p.st.pkt.dst,
            port: p.st.pkt.dst_port,
        },
        _ => Verdict::Accept {
            explicit: p.explicit_accept,
        },
    };
    let stopped = matches!(verdict, Verdict::Drop | Verdict::Reject);
    let masquerade = !stopped
        && if postrouting {
            p.masqueraded
        } else {
            p.mark_masq_hit
        };
    let service = p
        .rules
        .iter()
        .filter_map(|r| r.comment.as_deref())
        .find_map(service_in_comment);
    ProxyBranch {
        probability: p.prob,
        verdict,
        masquerade,
        service,
        rules: p.rules,
        notes: p.notes,
        origin: Origin::Observed { file: dump.file },
    }
}

#[cfg(test)]
mod tests {
    use super::parse_dnat;
    use std::net::IpAddr;

    #[test]
    fn dnat_forms() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(parse_dnat("10.0.0.1:80"), Some((v4, Some(80))));
        assert_eq!(parse_dnat("10.0.0.1"), Some((v4, None)));
        let v6: IpAddr = "fd00::1".parse().unwrap();
        assert_eq!(parse_dnat("[fd00::1]:8080"), Some((v6, Some(8080))));
        assert_eq!(parse_dnat("10.0.0.1-10.0.0.2"), None);
    }
}
