//! `netpath diff`: every flow class whose reachability changed between two snapshots.
//!
//! A flow class is a pair of endpoints ([`endpoints`]: pods, nodes, instances, the internet;
//! load balancers and Services as destinations) and a protocol with a port interval
//! ([`ports`]: cut at every boundary a rule of either snapshot draws, so one representative
//! port answers for the interval). Each class is traced in both snapshots and compared by
//! [`signature`]: reachability, the places of each path and the deciding rules by stable
//! identity. Classes whose traces before the change touch nothing the change can influence
//! ([`scope`]) are not traced again.

pub mod endpoints;
pub mod filter;
pub use crate::trace::port_cuts as ports;
pub mod scope;
pub mod signature;

use crate::endpoint::{resolve_destination, resolve_source, Destination, Source};
use crate::eval::ports::PortSet;
use crate::graph::Index;
use crate::model::{PortRange, Protocol, Snapshot};
use crate::report::findings::{Finding, FindingLevel};
use crate::trace::{Query, Reachable, Start, Step, TraceResult, Tracer};
use signature::{signature, stable_rule, touched, RuleNames, TraceSig};
use std::collections::BTreeSet;

/// How a flow class changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Reachable on more paths than before (or at all).
    NewlyAllowed,
    /// Reachable on fewer paths than before (or not at all).
    NewlyDenied,
    /// Same reachability, but another path or deciding rule.
    Changed,
}

impl ChangeKind {
    /// `newly-allowed`, `newly-denied`, `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::NewlyAllowed => "newly-allowed",
            ChangeKind::NewlyDenied => "newly-denied",
            ChangeKind::Changed => "changed",
        }
    }
    /// A heading for reports.
    pub fn title(self) -> &'static str {
        match self {
            ChangeKind::NewlyAllowed => "newly allowed",
            ChangeKind::NewlyDenied => "newly denied",
            ChangeKind::Changed => "changed path or deciding rule",
        }
    }
}

/// A deciding step, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Layer (`security_group`, `network_policy`, …).
    pub layer: String,
    /// What it did (`permitted`, `denied`, …).
    pub action: String,
    /// The rule as the trace names it.
    pub rule: String,
    /// Its explanation.
    pub detail: String,
    /// File of the rule.
    pub file: Option<String>,
    /// Line in `file`.
    pub line: Option<u32>,
}

impl Decision {
    fn of(snap: &Snapshot, s: &Step) -> Decision {
        let (file, line) = match &s.source {
            Some(p) => (
                Some(snap.sources.path(p.file).display().to_string()),
                Some(snap.sources.resolve(p).line),
            ),
            None => (None, None),
        };
        Decision {
            layer: s.layer.as_str().to_string(),
            action: s.action.as_str().to_string(),
            rule: s.rule.clone(),
            detail: s.detail.clone(),
            file,
            line,
        }
    }
    /// `file:line`, when the rule has a source.
    pub fn cite(&self) -> Option<String> {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => Some(format!("{f}:{l}")),
            _ => None,
        }
    }
}

/// One side of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSide {
    /// Reachability; `None` when an endpoint does not exist on this side.
    pub reachable: Option<Reachable>,
    /// Number of paths.
    pub paths: usize,
    /// What stopped the first path that did not get through.
    pub stopped_by: Option<Decision>,
}

/// One flow class whose reachability changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowChange {
    /// How it changed.
    pub kind: ChangeKind,
    /// Source endpoint.
    pub src: String,
    /// Destination endpoint.
    pub dst: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Ports (empty for port-less protocols).
    pub ports: PortSet,
    /// Before.
    pub before: FlowSide,
    /// After.
    pub after: FlowSide,
    /// The deciding rule that differs: a rule of the after snapshot, or (when `cause_lost`) the
    /// rule of the before snapshot that no longer applies.
    pub cause: Option<Decision>,
    /// True when `cause` is a rule of the before snapshot that no longer applies.
    pub cause_lost: bool,
    /// Where the changed object that decides is defined in the after snapshot (`file`, `line`):
    /// the input to look at.
    pub after_at: Option<(String, u32)>,
}

/// The result of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffResult {
    /// The objects that changed (`security group sg-…`, `NetworkPolicy ns/name`, …).
    pub changed_objects: Vec<String>,
    /// Every changed flow class, ranked: newly allowed, newly denied, changed; from the
    /// internet first.
    pub changes: Vec<FlowChange>,
    /// Flow classes traced in the before snapshot (endpoint pairs × protocol intervals; pairs
    /// the change cannot reach are not traced at all).
    pub classes: usize,
    /// Flow classes traced again in the after snapshot (the rest were out of the change's reach).
    pub retraced: usize,
}

impl DiffResult {
    /// Number of changes of a kind.
    pub fn count(&self, k: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == k).count()
    }
}

/// Which changes fail a CI run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Never (report only).
    Nothing,
    /// A newly allowed flow.
    NewlyAllowed,
    /// A newly denied flow.
    NewlyDenied,
    /// Any change.
    Any,
}

impl FailOn {
    /// True when a change of kind `k` fails the run.
    pub fn fails(self, k: ChangeKind) -> bool {
        match self {
            FailOn::Nothing => false,
            FailOn::NewlyAllowed => k == ChangeKind::NewlyAllowed,
            FailOn::NewlyDenied => k == ChangeKind::NewlyDenied,
            FailOn::Any => true,
        }
    }
}

/// One traced flow class, reduced to what the diff needs.
struct Outcome {
    sig: Option<TraceSig>,
    reachable: Option<Reachable>,
    paths: usize,
    stopped_by: Option<Decision>,
    decisive: Vec<(String, Decision)>,
}

fn rank(r: Option<Reachable>) -> u8 {
    match r {
        Some(Reachable::All) => 2,
        Some(Reachable::Some) => 1,
        _ => 0,
    }
}

/// The outcome of a traced class; `explained` adds the deciding rules (`stopped_by`,
/// `decisive`), which only a changed class reports.
fn outcome(names: &RuleNames, t: Option<&TraceResult>, explained: bool) -> Outcome {
    let snap = names.snapshot();
    let Some(t) = t else {
        return Outcome {
            sig: None,
            reachable: None,
            paths: 0,
            stopped_by: None,
            decisive: Vec::new(),
        };
    };
    if !explained {
        return Outcome {
            sig: Some(signature(names, t)),
            reachable: Some(t.reachable),
            paths: t.paths.len(),
            stopped_by: None,
            decisive: Vec::new(),
        };
    }
    let stopped_by = t
        .paths
        .iter()
        .find(|p| !p.disposition.is_success())
        .and_then(|p| {
            let hop = if p.forward.is_success() {
                p.reply.last()
            } else {
                p.hops.last()
            };
            hop.and_then(|h| h.steps.last())
        })
        .map(|s| Decision::of(snap, s));
    let mut decisive = Vec::new();
    for p in &t.paths {
        for h in p.hops.iter().chain(p.reply.iter()) {
            for s in &h.steps {
                if matches!(
                    s.kind,
                    crate::trace::StepKind::Filter
                        | crate::trace::StepKind::Route
                        | crate::trace::StepKind::Drop
                ) && s.source.is_some()
                {
                    let id = format!("{}:{}", s.layer.as_str(), stable_rule(names, s));
                    if !decisive.iter().any(|(k, _)| *k == id) {
                        decisive.push((id, Decision::of(snap, s)));
                    }
                }
            }
        }
    }
    Outcome {
        sig: Some(signature(names, t)),
        reachable: Some(t.reachable),
        paths: t.paths.len(),
        stopped_by,
        decisive,
    }
}

/// One snapshot prepared for tracing.
struct Side<'a> {
    snap: &'a Snapshot,
    ix: &'a Index,
    tracer: Tracer<'a>,
}

impl<'a> Side<'a> {
    fn new(snap: &'a Snapshot, ix: &'a Index) -> Self {
        Side {
            snap,
            ix,
            tracer: Tracer::new(snap, ix),
        }
    }
    fn resolve(&self, src: &str, dst: &str) -> Option<(Source, Destination)> {
        let s = resolve_source(self.snap, self.ix, src).ok()?;
        let d = resolve_destination(self.snap, self.ix, dst, s.start == Start::Internet).ok()?;
        if d.ips.is_empty() || d.ips.contains(&s.ip) {
            return None;
        }
        Some((s, d))
    }
    fn trace(&self, ends: &(Source, Destination), proto: Protocol, port: u16) -> TraceResult {
        let icmp = matches!(proto, Protocol::Icmp | Protocol::Icmpv6);
        self.tracer.trace(&Query {
            start: ends.0.start.clone(),
            src_ip: ends.0.ip,
            dst_ips: ends.1.ips.clone(),
            protocol: proto,
            dst_port: port,
            src_port: None,
            icmp_type: if icmp { 8 } else { 0 },
            http: None,
        })
    }
}

/// The flow classes of one endpoint pair: (protocol, port interval).
fn classes(tcp: &[PortRange], udp: &[PortRange]) -> Vec<(Protocol, Option<PortRange>)> {
    tcp.iter()
        .map(|r| (Protocol::Tcp, Some(*r)))
        .chain(udp.iter().map(|r| (Protocol::Udp, Some(*r))))
        .chain(std::iter::once((Protocol::Icmp, None)))
        .collect()
}

/// Compares every flow class of two snapshots, skipping what the change cannot reach.
pub fn diff(before: &Snapshot, after: &Snapshot) -> DiffResult {
    diff_with(before, after, true)
}

/// Compares every flow class of two snapshots; with `prune` false, every class is traced in
/// both (the reference the pruning is checked against).
pub fn diff_with(before: &Snapshot, after: &Snapshot, prune: bool) -> DiffResult {
    let (ixb, ixa) = (Index::compile(before), Index::compile(after));
    let mut scope = scope::compare(before, after);
    if !prune {
        scope.filter = None;
        scope.global = true;
    }
    let eps = endpoints::of(before).union(&endpoints::of(after));
    let tcp = ports::intervals(&[before, after], Protocol::Tcp);
    let udp = ports::intervals(&[before, after], Protocol::Udp);
    let classes = classes(&tcp, &udp);
    let mut result = DiffResult {
        changed_objects: scope.changed.clone(),
        changes: Vec::new(),
        classes: 0,
        retraced: 0,
    };
    if scope.changed.is_empty() {
        return result;
    }
    // Endpoints a local change can affect (in either snapshot), when the change is local.
    let near: Option<BTreeSet<&String>> = scope.filter.as_ref().map(|f| {
        let (rb, ra) = (f.in_snapshot(before), f.in_snapshot(after));
        eps.sources
            .iter()
            .chain(eps.destinations.iter())
            .filter(|n| rb.relevant(n) || ra.relevant(n))
            .collect()
    });
    let ctx = PairContext {
        before,
        after,
        ixb: &ixb,
        ixa: &ixa,
        scope: &scope,
        classes: &classes,
        near: near.as_ref(),
        destinations: &eps.destinations,
        names: (RuleNames::new(before), RuleNames::new(after)),
    };
    let sources: Vec<&String> = eps.sources.iter().collect();
    for part in in_parallel(&sources, |part| ctx.sources(part)) {
        result.classes += part.classes;
        result.retraced += part.retraced;
        result.changes.extend(part.changes);
    }
    result.changes.sort_by(|x, y| {
        (x.kind, x.src != "internet", &x.src, &x.dst, x.protocol)
            .cmp(&(y.kind, y.src != "internet", &y.src, &y.dst, y.protocol))
            .then_with(|| x.ports.ranges().cmp(y.ports.ranges()))
    });
    result
}

/// What every endpoint pair of a diff is compared with.
struct PairContext<'a> {
    before: &'a Snapshot,
    after: &'a Snapshot,
    ixb: &'a Index,
    ixa: &'a Index,
    scope: &'a scope::ChangeScope,
    classes: &'a [(Protocol, Option<PortRange>)],
    /// The endpoints a local change can affect; `None` when every pair counts.
    near: Option<&'a BTreeSet<&'a String>>,
    destinations: &'a BTreeSet<String>,
    /// The stable rule names of the two snapshots.
    names: (RuleNames<'a>, RuleNames<'a>),
}

/// The changes found for some sources, with the class counts of the summary.
#[derive(Default)]
struct PartResult {
    changes: Vec<FlowChange>,
    classes: usize,
    retraced: usize,
}

/// Runs `work` over interleaved shares of `items` on the available cores (at most one share
/// per item) and returns the results in share order. Each share sees its items in order.
fn in_parallel<'i, T: Sync, R: Send>(
    items: &'i [T],
    work: impl Fn(Vec<&'i T>) -> R + Sync,
) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |w| w.get())
        .clamp(1, 8)
        .min(items.len().max(1));
    let share = |k: usize| items.iter().skip(k).step_by(workers).collect::<Vec<_>>();
    if workers == 1 {
        return vec![work(share(0))];
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..workers)
            .map(|k| {
                let (work, part) = (&work, share(k));
                scope.spawn(move || work(part))
            })
            .collect();
        let mut out = vec![work(share(0))];
        for h in handles {
            match h.join() {
                Ok(r) => out.push(r),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

impl PairContext<'_> {
    /// Compares every pair whose source is one of `sources`.
    fn sources(&self, sources: Vec<&&String>) -> PartResult {
        let (b, a) = (
            Side::new(self.before, self.ixb),
            Side::new(self.after, self.ixa),
        );
        let after = self.after;
        let (scope, classes, near) = (self.scope, self.classes, self.near);
        let mut result = PartResult::default();
        for src in sources.into_iter().copied() {
            for dst in self.destinations {
                if src == dst {
                    continue;
                }
                if near
                    .as_ref()
                    .is_some_and(|n| !n.contains(src) && !n.contains(dst))
                {
                    continue;
                }
                let (eb, ea) = (b.resolve(src, dst), a.resolve(src, dst));
                if eb.is_none() && ea.is_none() {
                    continue;
                }
                result.classes += classes.len();
                let before_traces: Vec<Option<TraceResult>> = classes
                    .iter()
                    .map(|(p, r)| {
                        eb.as_ref()
                            .map(|e| b.trace(e, *p, r.map(|r| r.lo).unwrap_or(0)))
                    })
                    .collect();
                let mut tokens = BTreeSet::new();
                for t in before_traces.iter().flatten() {
                    touched(t, &mut tokens);
                }
                let same_ends = match (&eb, &ea) {
                    (Some(x), Some(y)) => x.0.ip == y.0.ip && x.1.ips == y.1.ips,
                    _ => false,
                };
                if same_ends && !scope.affects(&tokens) {
                    continue;
                }
                result.retraced += classes.len();
                let mut pending: Option<FlowChange> = None;
                let mut pending_sigs: Option<(Option<TraceSig>, Option<TraceSig>)> = None;
                for ((proto, range), bt) in classes.iter().zip(before_traces.iter()) {
                    let at = ea
                        .as_ref()
                        .map(|e| a.trace(e, *proto, range.map(|r| r.lo).unwrap_or(0)));
                    let ob = outcome(&self.names.0, bt.as_ref(), false);
                    let oa = outcome(&self.names.1, at.as_ref(), false);
                    // An endpoint that exists on one side only: only a change of reachability
                    // counts (a new pod that nothing reaches is not a changed flow).
                    let one_sided = ob.sig.is_none() || oa.sig.is_none();
                    if ob.sig == oa.sig || (one_sided && rank(ob.reachable) == rank(oa.reachable)) {
                        if let Some(c) = pending.take() {
                            result.changes.push(c);
                        }
                        pending_sigs = None;
                        continue;
                    }
                    let sigs = (ob.sig.clone(), oa.sig.clone());
                    if let (Some(c), Some(ps)) = (pending.as_mut(), pending_sigs.as_ref()) {
                        if c.protocol == *proto && *ps == sigs {
                            if let Some(r) = range {
                                c.ports.insert(*r);
                            }
                            continue;
                        }
                    }
                    if let Some(c) = pending.take() {
                        result.changes.push(c);
                    }
                    let ob = outcome(&self.names.0, bt.as_ref(), true);
                    let oa = outcome(&self.names.1, at.as_ref(), true);
                    let mut c = change(src, dst, *proto, *range, &ob, &oa, &scope.ids);
                    c.after_at = match &c.cause {
                        Some(d) if !c.cause_lost => d.file.clone().zip(d.line),
                        Some(d) => scope
                            .ids
                            .iter()
                            .filter(|id| d.rule.contains(id.as_str()))
                            .find_map(|id| locate(after, id)),
                        None => None,
                    };
                    pending = Some(c);
                    pending_sigs = Some(sigs);
                }
                if let Some(c) = pending.take() {
                    result.changes.push(c);
                }
            }
        }
        result
    }
}

fn change(
    src: &str,
    dst: &str,
    protocol: Protocol,
    range: Option<PortRange>,
    ob: &Outcome,
    oa: &Outcome,
    changed_ids: &[String],
) -> FlowChange {
    let kind = match rank(oa.reachable).cmp(&rank(ob.reachable)) {
        std::cmp::Ordering::Greater => ChangeKind::NewlyAllowed,
        std::cmp::Ordering::Less => ChangeKind::NewlyDenied,
        std::cmp::Ordering::Equal => ChangeKind::Changed,
    };
    let of_change = |d: &Decision| changed_ids.iter().any(|id| d.rule.contains(id.as_str()));
    let gained: Vec<&Decision> = oa
        .decisive
        .iter()
        .filter(|(id, _)| !ob.decisive.iter().any(|(k, _)| k == id))
        .map(|(_, d)| d)
        .collect();
    let lost: Vec<&Decision> = ob
        .decisive
        .iter()
        .filter(|(id, _)| !oa.decisive.iter().any(|(k, _)| k == id))
        .map(|(_, d)| d)
        .collect();
    // Prefer a rule of a changed object: what the after snapshot now decides with, else the
    // rule of the before snapshot that no longer applies.
    let gained_change = gained.iter().find(|d| of_change(d));
    let lost_change = lost.iter().find(|d| of_change(d));
    let cause_lost = gained_change.is_none() && lost_change.is_some();
    let cause = gained_change
        .or(lost_change)
        .map(|d| (*d).clone())
        .or_else(|| match kind {
            ChangeKind::NewlyDenied => oa.stopped_by.clone(),
            _ => gained.first().map(|d| (*d).clone()),
        })
        .or_else(|| oa.stopped_by.clone());
    FlowChange {
        kind,
        src: src.to_string(),
        dst: dst.to_string(),
        protocol,
        ports: range.map(PortSet::from_range).unwrap_or_default(),
        before: FlowSide {
            reachable: ob.reachable,
            paths: ob.paths,
            stopped_by: ob.stopped_by.clone(),
        },
        after: FlowSide {
            reachable: oa.reachable,
            paths: oa.paths,
            stopped_by: oa.stopped_by.clone(),
        },
        cause,
        cause_lost,
        after_at: None,
    }
}

/// Where the object `id` (a group, ACL or route table id, or a policy's `ns/name`) is defined
/// in `snap`.
fn locate(snap: &Snapshot, id: &str) -> Option<(String, u32)> {
    let c = &snap.cloud;
    let k = &snap.cluster;
    let prov = c
        .security_groups
        .get(id)
        .map(|g| &g.prov)
        .or_else(|| c.network_acls.get(id).map(|a| &a.prov))
        .or_else(|| c.route_tables.get(id).map(|t| &t.prov))
        .or_else(|| {
            k.network_policies
                .iter()
                .find(|p| p.meta.key() == id)
                .map(|p| &p.meta.at)
        })
        .or_else(|| {
            k.authorization_policies
                .iter()
                .find(|p| p.meta.key() == id)
                .map(|p| &p.meta.at)
        })
        .or_else(|| {
            k.peer_authentications
                .iter()
                .find(|p| p.meta.key() == id)
                .map(|p| &p.meta.at)
        })?;
    Some((
        snap.sources.path(prov.file).display().to_string(),
        snap.sources.resolve(prov).line,
    ))
}

/// The diff as CI findings (`diff/newly-allowed`, `diff/newly-denied`, `diff/changed`), each
/// pointing at the rule of the after snapshot that decides the new behaviour.
pub fn findings(r: &DiffResult, fail_on: FailOn) -> Vec<Finding> {
    r.changes
        .iter()
        .map(|c| {
            let failed = fail_on.fails(c.kind);
            let level = if failed {
                FindingLevel::Error
            } else if c.kind == ChangeKind::Changed {
                FindingLevel::Note
            } else {
                FindingLevel::Warning
            };
            let flow = flow_label(c);
            let message = format!(
                "{flow}: {} (before: {}, after: {}){}",
                c.kind.title(),
                side_label(&c.before),
                side_label(&c.after),
                c.cause
                    .as_ref()
                    .map(|d| format!("; decided by {}", d.rule))
                    .unwrap_or_default()
            );
            Finding {
                rule_id: format!("diff/{}", c.kind.as_str()),
                level,
                name: flow,
                group: format!("diff/{}", c.kind.as_str()),
                message,
                file: c.after_at.as_ref().map(|a| a.0.clone()),
                line: c.after_at.as_ref().map(|a| a.1),
                column: None,
                detail: c
                    .cause
                    .as_ref()
                    .map(|d| d.detail.clone())
                    .unwrap_or_default(),
                failed,
            }
        })
        .collect()
}

/// `SRC -> DST tcp 443` for one change.
pub fn flow_label(c: &FlowChange) -> String {
    if c.ports.is_empty() {
        format!("{} -> {} {}", c.src, c.dst, c.protocol)
    } else {
        format!("{} -> {} {} {}", c.src, c.dst, c.protocol, c.ports)
    }
}

/// `reachable`, `not reachable`, `some paths`, `unknown`, `absent`.
pub fn side_label(s: &FlowSide) -> &'static str {
    match s.reachable {
        None => "endpoint absent",
        Some(Reachable::All) => "reachable",
        Some(Reachable::Some) => "reachable on some paths",
        Some(Reachable::None) => "not reachable",
        Some(Reachable::Unknown) => "unknown",
    }
}
