//! The NetworkPolicy layer of the matrix per class pair.
//!
//! A pair's set is the source's egress side intersected with the destination's ingress side
//! ([`PolicyContext::allowed_selected`]). Each side depends on its own endpoint only through
//! the policies that decide it ([`Deciding`], plus the named ports for ingress), and on the
//! remote end only through which of those policies' rule peers select it (plus its named
//! ports for egress). So classes are grouped by their deciding policies; per group, the
//! remote classes are told apart by the rule peers that select them, each peer's classes
//! found once by selector matching on classes; and every distinct case is evaluated once.

use super::pair_memo::PairMemo;
use crate::model::cluster::{AnpPeer, AnpRule, IpBlock, NetworkPolicyPeer, PolicyType};
use crate::policy::netpol::{ConnSet, Deciding, Endpoint, Peer, PolicyContext, Selection};
use foldhash::HashMap;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// No connection (the empty set).
pub(super) const EMPTY: u32 = u32::MAX;

/// Distinct connection sets, numbered in order of first appearance.
#[derive(Default)]
pub(super) struct SetIds {
    /// The sets, by id.
    pub sets: Vec<ConnSet>,
    ids: HashMap<ConnSet, u32>,
}

impl SetIds {
    /// The id of `c` ([`EMPTY`] for the empty set).
    pub fn id(&mut self, c: ConnSet) -> u32 {
        if c.is_empty() {
            return EMPTY;
        }
        if let Some(id) = self.ids.get(&c) {
            return *id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(c.clone());
        self.ids.insert(c, id);
        id
    }
}

/// A rule peer that matches addresses (external ends) rather than pods.
#[derive(Clone, Copy)]
enum AddressPeer<'a> {
    Block(&'a IpBlock),
    Networks(&'a [IpNet]),
}

impl AddressPeer<'_> {
    /// 0: not matched, 1: matched, 2: in an `except`.
    fn matches(&self, ip: IpAddr) -> u8 {
        match self {
            AddressPeer::Block(b) if !b.cidr.contains(&ip) => 0,
            AddressPeer::Block(b) if b.except.iter().any(|x| x.contains(&ip)) => 2,
            AddressPeer::Block(_) => 1,
            AddressPeer::Networks(nets) => u8::from(nets.iter().any(|n| n.contains(&ip))),
        }
    }
}

/// A rule peer of a deciding policy.
#[derive(Clone, Copy)]
enum RulePeer<'a> {
    Np(&'a str, &'a NetworkPolicyPeer),
    Anp(&'a AnpPeer),
}

impl<'a> RulePeer<'a> {
    /// The peer as an address matcher, if it matches addresses.
    fn for_addresses(&self) -> Option<AddressPeer<'a>> {
        match self {
            RulePeer::Np(_, p) => p.ip_block.as_ref().map(AddressPeer::Block),
            RulePeer::Anp(AnpPeer::Networks(n)) => Some(AddressPeer::Networks(n)),
            RulePeer::Anp(_) => None,
        }
    }

    fn address(&self) -> usize {
        match self {
            RulePeer::Np(_, p) => *p as *const NetworkPolicyPeer as usize,
            RulePeer::Anp(p) => *p as *const AnpPeer as usize,
        }
    }
}

/// The rule peers of the policies deciding one side, in a fixed order.
fn rule_peers<'a>(d: &Deciding<'a>, dir: PolicyType) -> Vec<RulePeer<'a>> {
    let anp_rules = |ingress: &'a [AnpRule], egress: &'a [AnpRule]| match dir {
        PolicyType::Ingress => ingress,
        PolicyType::Egress => egress,
    };
    let mut out = Vec::new();
    for a in &d.anps {
        for r in anp_rules(&a.ingress, &a.egress) {
            out.extend(r.peers.iter().map(RulePeer::Anp));
        }
    }
    for np in &d.network_policies {
        let rules = match dir {
            PolicyType::Ingress => &np.ingress,
            PolicyType::Egress => &np.egress,
        };
        let ns = np.meta.namespace_or_default();
        for r in rules {
            out.extend(r.peers.iter().map(|p| RulePeer::Np(ns, p)));
        }
    }
    if let Some(b) = d.baseline {
        for r in anp_rules(&b.ingress, &b.egress) {
            out.extend(r.peers.iter().map(RulePeer::Anp));
        }
    }
    out
}

/// A key for the deciding policies (by identity).
fn deciding_key(d: &Deciding<'_>) -> Vec<usize> {
    let mut k: Vec<usize> = d.anps.iter().map(|a| *a as *const _ as usize).collect();
    k.push(0);
    k.extend(d.network_policies.iter().map(|n| *n as *const _ as usize));
    k.push(0);
    k.extend(d.baseline.map(|b| b as *const _ as usize));
    k
}

/// The classes a rule peer selects, found by selector matching on classes.
struct PeerClasses<'c> {
    classes: &'c [&'c Endpoint],
    /// Namespace → classes in it.
    by_ns: BTreeMap<&'c str, Vec<u32>>,
    /// Peer (by address) → the classes it selects.
    cache: HashMap<usize, Vec<u32>>,
    /// Namespace selector (as written) → the namespaces of classes it selects.
    namespaces: HashMap<String, Vec<&'c str>>,
}

impl<'c> PeerClasses<'c> {
    fn new(classes: &'c [&'c Endpoint]) -> Self {
        let mut by_ns: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (i, e) in classes.iter().enumerate() {
            by_ns
                .entry(e.namespace.as_str())
                .or_default()
                .push(i as u32);
        }
        PeerClasses {
            classes,
            by_ns,
            cache: HashMap::default(),
            namespaces: HashMap::default(),
        }
    }

    /// The classes `p` selects (as [`PolicyContext`] matches peers against pods).
    fn of(&mut self, ctx: &PolicyContext<'_>, p: RulePeer<'_>) -> &[u32] {
        let key = p.address();
        if !self.cache.contains_key(&key) {
            let found = self.select(ctx, p);
            self.cache.insert(key, found);
        }
        self.cache.get(&key).map_or(&[], |v| v.as_slice())
    }

    fn select(&mut self, ctx: &PolicyContext<'_>, p: RulePeer<'_>) -> Vec<u32> {
        let (namespace_selector, pod_selector) = match p {
            RulePeer::Np(_, peer) if peer.ip_block.is_some() => return Vec::new(),
            RulePeer::Np(policy_ns, peer) => match &peer.namespace_selector {
                None => {
                    let in_ns = self.by_ns.get(policy_ns).map_or(&[][..], |v| v.as_slice());
                    return self.matching(in_ns, peer.pod_selector.as_ref());
                }
                Some(sel) => (sel, peer.pod_selector.as_ref()),
            },
            RulePeer::Anp(AnpPeer::Namespaces(sel)) => (sel, None),
            RulePeer::Anp(AnpPeer::Pods {
                namespace_selector,
                pod_selector,
            }) => (namespace_selector, Some(pod_selector)),
            RulePeer::Anp(AnpPeer::Nodes(_) | AnpPeer::Networks(_)) => return Vec::new(),
        };
        let by_ns = &self.by_ns;
        let namespaces = self
            .namespaces
            .entry(format!("{namespace_selector:?}"))
            .or_insert_with(|| {
                by_ns
                    .keys()
                    .copied()
                    .filter(|ns| ctx.ns_matches(namespace_selector, ns))
                    .collect()
            })
            .clone();
        let mut out = Vec::new();
        for ns in namespaces {
            let in_ns = self.by_ns.get(ns).map_or(&[][..], |v| v.as_slice());
            out.extend(self.matching(in_ns, pod_selector));
        }
        out
    }

    /// The classes of `candidates` whose labels `pod_selector` selects (all without one).
    fn matching(
        &self,
        candidates: &[u32],
        pod_selector: Option<&crate::model::cluster::LabelSelector>,
    ) -> Vec<u32> {
        candidates
            .iter()
            .copied()
            .filter(|c| pod_selector.is_none_or(|s| s.matches(&self.classes[*c as usize].labels)))
            .collect()
    }
}

/// Not computed yet.
const UNSET: u32 = u32::MAX - 1;

/// One side (egress or ingress) for every (group of endpoint classes, remote class).
struct Side<'a> {
    /// Per group, the rule peers of its deciding policies that match addresses.
    address_peers: Vec<Vec<AddressPeer<'a>>>,
    /// The group of each class.
    group: Vec<u32>,
    /// A representative class per group.
    reps: Vec<usize>,
    /// Set id (in `sets`) per group and remote class.
    values: Vec<u32>,
    /// `values[remote * groups + g]` when true, else `values[g * classes + remote]`.
    remote_major: bool,
    groups: usize,
    classes: usize,
    sets: SetIds,
}

impl Side<'_> {
    fn at(&self, g: u32, remote: usize) -> u32 {
        if self.remote_major {
            self.values[remote * self.groups + g as usize]
        } else {
            self.values[g as usize * self.classes + remote]
        }
    }
}

/// Named ports of each class, interned (ids by first appearance).
fn named_port_ids(classes: &[&Endpoint]) -> Vec<u32> {
    let mut ids: HashMap<&[crate::policy::netpol::NamedPort], u32> = HashMap::default();
    classes
        .iter()
        .map(|e| {
            let n = ids.len() as u32;
            *ids.entry(e.named_ports.as_slice()).or_insert(n)
        })
        .collect()
}

fn side<'a>(
    ctx: &PolicyContext<'a>,
    classes: &[&Endpoint],
    sels: &[Selection<'a>],
    dir: PolicyType,
    peers: &mut PeerClasses<'_>,
) -> Side<'a> {
    let n = classes.len();
    let ports = named_port_ids(classes);
    let ports_count = ports.iter().max().map_or(0, |m| *m as usize + 1);
    let mut group_of_key: HashMap<(Vec<usize>, u32), u32> = HashMap::default();
    let mut reps = Vec::new();
    let mut decidings = Vec::new();
    let group: Vec<u32> = (0..n)
        .map(|c| {
            let d = ctx.deciding(classes[c], &sels[c], dir);
            let own_ports = if dir == PolicyType::Ingress {
                ports[c]
            } else {
                0
            };
            let next = reps.len() as u32;
            *group_of_key
                .entry((deciding_key(&d), own_ports))
                .or_insert_with(|| {
                    reps.push(c);
                    decidings.push(d);
                    next
                })
        })
        .collect();
    let mut sets = SetIds::default();
    let groups = reps.len();
    // Ingress is read per source row: store it remote-major so that a row is contiguous.
    let remote_major = dir == PolicyType::Ingress;
    let index = move |g: usize, remote: usize| {
        if remote_major {
            remote * groups + g
        } else {
            g * n + remote
        }
    };
    let mut values = vec![EMPTY; groups * n];
    // Remote classes matched by no peer differ only by their named ports (egress).
    let mut untouched: Vec<u32> = Vec::new();
    let mut hits: Vec<(u32, u32)> = Vec::new();
    for (g, (&rep, d)) in reps.iter().zip(&decidings).enumerate() {
        let me = classes[rep];
        let eval = |remote: usize| ctx.side_conns(me, Peer::Pod(classes[remote]), dir, &sels[rep]);
        hits.clear();
        for (i, p) in rule_peers(d, dir).into_iter().enumerate() {
            let local = i as u32;
            hits.extend(peers.of(ctx, p).iter().map(|c| (*c, local)));
        }
        hits.sort_unstable();
        hits.dedup();
        let remote_ports = |c: usize| {
            if dir == PolicyType::Egress {
                ports[c]
            } else {
                0
            }
        };
        untouched.clear();
        untouched.resize(ports_count.max(1), UNSET);
        let mut seen: HashMap<(Vec<u32>, u32), u32> = HashMap::default();
        let mut next_hit = 0usize;
        for c in 0..n {
            let start = next_hit;
            while next_hit < hits.len() && hits[next_hit].0 as usize == c {
                next_hit += 1;
            }
            let rp = remote_ports(c);
            let id = if start == next_hit {
                let u = &mut untouched[rp as usize];
                if *u == UNSET {
                    *u = sets.id(eval(c));
                }
                *u
            } else {
                // The rule peers that select the remote class tell it apart.
                let key: Vec<u32> = hits[start..next_hit].iter().map(|h| h.1).collect();
                *seen.entry((key, rp)).or_insert_with(|| sets.id(eval(c)))
            };
            values[index(g, c)] = id;
        }
    }
    let address_peers = decidings
        .iter()
        .map(|d| {
            rule_peers(d, dir)
                .iter()
                .filter_map(RulePeer::for_addresses)
                .collect()
        })
        .collect();
    Side {
        address_peers,
        group,
        values,
        remote_major,
        groups,
        classes: n,
        sets,
        reps,
    }
}

/// The NetworkPolicy layer for every class pair and external range.
pub(super) struct NetpolRows<'o> {
    ctx: &'o PolicyContext<'o>,
    classes: &'o [&'o Endpoint],
    sels: &'o [Selection<'o>],
    egress: Side<'o>,
    ingress: Side<'o>,
    memo: PairMemo,
    /// Sets towards or from external addresses, by id.
    pub external_sets: SetIds,
    /// (direction, group, how its address peers match the address) → id in `external_sets`.
    external_memo: HashMap<(bool, u32, Vec<u8>), u32>,
    /// The pair sets, by id.
    pub sets: SetIds,
}

impl<'o> NetpolRows<'o> {
    /// Groups the classes and evaluates every distinct side once.
    pub fn new(
        ctx: &'o PolicyContext<'o>,
        classes: &'o [&'o Endpoint],
        sels: &'o [Selection<'o>],
    ) -> Self {
        // The two sides are independent: one on each of two threads.
        let one = |dir| side(ctx, classes, sels, dir, &mut PeerClasses::new(classes));
        let (egress, ingress) = std::thread::scope(|scope| {
            let ingress = scope.spawn(|| one(PolicyType::Ingress));
            let egress = one(PolicyType::Egress);
            match ingress.join() {
                Ok(ingress) => (egress, ingress),
                Err(e) => std::panic::resume_unwind(e),
            }
        });
        let memo = PairMemo::new(egress.sets.sets.len(), ingress.sets.sets.len());
        NetpolRows {
            ctx,
            classes,
            sels,
            egress,
            ingress,
            memo,
            sets: SetIds::default(),
            external_sets: SetIds::default(),
            external_memo: HashMap::default(),
        }
    }

    /// The set id of source class `s` to destination class `d` ([`EMPTY`]: nothing).
    pub fn pair(&mut self, s: usize, d: usize) -> u32 {
        let e = self.egress.at(self.egress.group[s], d);
        if e == EMPTY {
            return EMPTY;
        }
        let i = self.ingress.at(self.ingress.group[d], s);
        if i == EMPTY {
            return EMPTY;
        }
        let (egress, ingress, sets) = (&self.egress, &self.ingress, &mut self.sets);
        self.memo.get_or_insert(e, i, || {
            sets.id(egress.sets.sets[e as usize].intersect(&ingress.sets.sets[i as usize]))
        })
    }

    /// The egress group of class `s`: classes of one group have equal egress sides.
    pub fn egress_group(&self, s: usize) -> u32 {
        self.egress.group[s]
    }

    /// The ingress group of class `d`: classes of one group have equal ingress sides.
    pub fn ingress_group(&self, d: usize) -> u32 {
        self.ingress.group[d]
    }

    /// Per egress group ([`NetpolRows::egress_group`]): the id in
    /// [`NetpolRows::external_sets`] of what the group may initiate to external address `ip`.
    pub fn egress_to_address(&mut self, ip: IpAddr) -> Vec<u32> {
        self.external(PolicyType::Egress, ip)
    }

    /// Per ingress group ([`NetpolRows::ingress_group`]): the id in
    /// [`NetpolRows::external_sets`] of what external address `ip` may initiate to the group.
    pub fn ingress_from_address(&mut self, ip: IpAddr) -> Vec<u32> {
        self.external(PolicyType::Ingress, ip)
    }

    /// Per group of `dir`: only the policies' address peers tell external addresses apart.
    fn external(&mut self, dir: PolicyType, ip: IpAddr) -> Vec<u32> {
        let egress = dir == PolicyType::Egress;
        let side = if egress { &self.egress } else { &self.ingress };
        let (ctx, classes, sels) = (self.ctx, self.classes, self.sels);
        let (memo, sets) = (&mut self.external_memo, &mut self.external_sets);
        side.address_peers
            .iter()
            .zip(&side.reps)
            .enumerate()
            .map(|(g, (peers, &rep))| {
                let view: Vec<u8> = peers.iter().map(|p| p.matches(ip)).collect();
                *memo.entry((egress, g as u32, view)).or_insert_with(|| {
                    let (me, sel) = (Peer::Pod(classes[rep]), Some(&sels[rep]));
                    let ext = Peer::External(ip);
                    sets.id(if egress {
                        ctx.allowed_selected(me, sel, ext, None)
                    } else {
                        ctx.allowed_selected(ext, None, me, sel)
                    })
                })
            })
            .collect()
    }
}
