//! The Istio layer of the matrix per (source group, destination class) pair.
//!
//! A pod client reaches Istio only through its namespace, service account, sidecar and
//! address (which of the policies' IP blocks hold it): classes alike in these form one source
//! group. For one destination, source groups differ further only in which values of the
//! source fields (`principals`, `namespaces`, `serviceAccounts`, `source.*` conditions, and
//! their `not` forms) of the AuthorizationPolicies that may apply match them: groups of one
//! profile (sidecar, DestinationRule namespace, IP blocks) matching the same values are
//! treated alike, so one evaluation stands for all of them (most groups match no value).
//! External clients differ only by IP blocks. Destinations are evaluated on two threads;
//! cells are numbered in destination order, so the result does not depend on the threads.

use super::istio::{Client, IstioCell, MeshLayer};
use crate::model::cluster::{AuthorizationPolicy, Pod};
use crate::policy::istio::{glob, principal, SourcePod};
use std::collections::HashMap;
use std::net::IpAddr;

/// No cell: every source group of the profile is named by the destination's policies.
const NONE: u32 = u32::MAX;

/// A source group: what Istio sees of a client pod.
struct Group {
    /// The pod standing for the group.
    pod: usize,
    namespace: String,
    /// `<trust domain>/ns/<ns>/sa/<sa>`.
    identity: String,
}

/// Namespace, service account, sidecar and IP blocks of a source group.
type GroupKey<'k> = (String, String, bool, &'k [Option<bool>]);

/// Sidecar, DestinationRule namespace and IP blocks of a profile.
type ProfileKey<'k> = (bool, Option<String>, &'k [Option<bool>]);

/// Source groups and their lookup indices.
struct Groups {
    list: Vec<Group>,
    /// `/ns/<ns>/sa/<sa>` → groups.
    by_rest: HashMap<String, Vec<u32>>,
    /// Namespace → groups.
    by_ns: HashMap<String, Vec<u32>>,
    /// `<ns>/<sa>` → groups.
    by_sa: HashMap<String, Vec<u32>>,
}

impl Groups {
    /// The groups a source field value matches, as the evaluator matches it.
    fn matching(&self, kind: Field, value: &str, policy_ns: &str, domains: &[String]) -> Vec<u32> {
        let scan = |f: &dyn Fn(&Group) -> bool| -> Vec<u32> {
            (0..self.list.len() as u32)
                .filter(|g| f(&self.list[*g as usize]))
                .collect()
        };
        let get = |m: &HashMap<String, Vec<u32>>, k: &str| m.get(k).cloned().unwrap_or_default();
        match kind {
            // `*` matches every identity and namespace alike (never empty for a pod).
            Field::Principal | Field::Namespace if value == "*" => Vec::new(),
            Field::Principal if value.contains('*') => {
                scan(&|g| principal(value, &g.identity, domains))
            }
            Field::Principal => value
                .find('/')
                .map(|i| get(&self.by_rest, &value[i..]))
                .unwrap_or_default()
                .into_iter()
                .filter(|g| principal(value, &self.list[*g as usize].identity, domains))
                .collect(),
            Field::Namespace if value.contains('*') => scan(&|g| glob(value, &g.namespace)),
            Field::Namespace => get(&self.by_ns, value),
            Field::ServiceAccount if value.contains('/') => get(&self.by_sa, value),
            Field::ServiceAccount => get(&self.by_sa, &format!("{policy_ns}/{value}")),
        }
    }
}

/// Which source attribute a policy value is matched against.
#[derive(Clone, Copy)]
enum Field {
    Principal,
    Namespace,
    ServiceAccount,
}

/// Every source field value of `p`, with what it is matched against.
fn source_values(p: &AuthorizationPolicy) -> Vec<(Field, &str)> {
    let mut out = Vec::new();
    for r in p.rules.iter().flatten() {
        for s in r.from.iter().flatten() {
            let fields = [
                (Field::Principal, &s.principals),
                (Field::Principal, &s.not_principals),
                (Field::Namespace, &s.namespaces),
                (Field::Namespace, &s.not_namespaces),
                (Field::ServiceAccount, &s.service_accounts),
                (Field::ServiceAccount, &s.not_service_accounts),
            ];
            for (f, values) in fields {
                out.extend(values.iter().map(|v| (f, v.as_str())));
            }
        }
        for c in r.when.iter().flatten() {
            let f = match c.key.as_str() {
                "source.principal" => Field::Principal,
                "source.namespace" => Field::Namespace,
                _ => continue,
            };
            out.extend(
                c.values
                    .iter()
                    .chain(&c.not_values)
                    .map(|v| (f, v.as_str())),
            );
        }
    }
    out
}

/// What to evaluate for one destination.
#[derive(Default)]
struct Plan {
    /// Groups matched by some source field value, with their case.
    named: Vec<(u32, u32)>,
    /// Per profile, the case of its groups that match no value ([`NONE`]: there are none).
    unnamed: Vec<u32>,
    /// The group evaluated for each case.
    cases: Vec<u32>,
}

/// The Istio cell of every (source class, destination class) pair, by id.
pub(super) struct MeshPairs<'o> {
    /// Source group of each class.
    group_of: Vec<u32>,
    /// Profile of each source group.
    profile_of: Vec<u32>,
    profiles: usize,
    /// Per destination class: the groups its policies' values match (sorted), with cell ids.
    named: Vec<Vec<(u32, u32)>>,
    /// Per destination class and profile: the cell id of the groups matching no value.
    by_profile: Vec<u32>,
    /// Number of external clients.
    externals: usize,
    /// Per destination class and external client: the cell id.
    by_external: Vec<u32>,
    /// Per destination class: the AuthorizationPolicies that may apply.
    candidates: Vec<Vec<&'o AuthorizationPolicy>>,
    /// The distinct cells, by id.
    pub cells: Vec<IstioCell>,
}

impl<'o> MeshPairs<'o> {
    /// Evaluates the cells of every class pair and of every external client to every class;
    /// `pods` holds one pod per class, `inside` per class which of the policies' IP blocks
    /// hold its address.
    pub fn new(
        layer: &MeshLayer<'o>,
        pods: &[&Pod],
        inside: &[Vec<Option<bool>>],
        externals: &[IpAddr],
    ) -> Self {
        let objects = layer.objects;
        let mesh = &layer.mesh;
        let mut domains = vec!["cluster.local".to_string(), mesh.trust_domain.clone()];
        domains.extend(mesh.trust_domain_aliases.iter().cloned());
        let dr_namespaces: std::collections::HashSet<&str> = objects
            .destination_rules
            .iter()
            .map(|d| d.meta.namespace_or_default())
            .collect();
        // Source groups and profiles.
        let mut groups = Groups {
            list: Vec::new(),
            by_rest: HashMap::new(),
            by_ns: HashMap::new(),
            by_sa: HashMap::new(),
        };
        let mut group_ids: HashMap<GroupKey<'_>, u32> = HashMap::new();
        let mut profile_ids: HashMap<ProfileKey<'_>, u32> = HashMap::new();
        let mut profile_of: Vec<u32> = Vec::new();
        let mut members: Vec<Vec<u32>> = Vec::new();
        let group_of: Vec<u32> = pods
            .iter()
            .enumerate()
            .map(|(c, pod)| {
                let sp = SourcePod::of(objects, pod);
                let key = (
                    sp.namespace.clone(),
                    sp.service_account.clone(),
                    sp.in_mesh,
                    inside[c].as_slice(),
                );
                if let Some(g) = group_ids.get(&key) {
                    return *g;
                }
                let g = groups.list.len() as u32;
                group_ids.insert(key, g);
                let rest = format!("/ns/{}/sa/{}", sp.namespace, sp.service_account);
                groups.by_rest.entry(rest.clone()).or_default().push(g);
                groups
                    .by_ns
                    .entry(sp.namespace.clone())
                    .or_default()
                    .push(g);
                groups
                    .by_sa
                    .entry(format!("{}/{}", sp.namespace, sp.service_account))
                    .or_default()
                    .push(g);
                let dr_ns = dr_namespaces
                    .contains(sp.namespace.as_str())
                    .then(|| sp.namespace.clone());
                let next = profile_ids.len() as u32;
                let profile = *profile_ids
                    .entry((sp.in_mesh, dr_ns, inside[c].as_slice()))
                    .or_insert(next);
                profile_of.push(profile);
                if members.len() <= profile as usize {
                    members.push(Vec::new());
                }
                members[profile as usize].push(g);
                groups.list.push(Group {
                    pod: c,
                    identity: format!("{}{rest}", mesh.trust_domain),
                    namespace: sp.namespace,
                });
                g
            })
            .collect();
        let profiles = members.len();
        let candidates: Vec<Vec<&AuthorizationPolicy>> =
            pods.iter().map(|p| layer.candidates(p)).collect();
        let plan = |cands: &[&AuthorizationPolicy]| -> Plan {
            let mut hits: Vec<(u32, u32)> = Vec::new();
            let mut value = 0u32;
            for p in cands {
                let pns = p.meta.namespace_or_default();
                for (f, v) in source_values(p) {
                    hits.extend(
                        groups
                            .matching(f, v, pns, &domains)
                            .into_iter()
                            .map(|g| (g, value)),
                    );
                    value += 1;
                }
            }
            hits.sort_unstable();
            hits.dedup();
            let mut plan = Plan::default();
            let mut case_of: HashMap<(u32, Vec<u32>), u32> = HashMap::new();
            let mut case = |g: u32, matched: Vec<u32>, cases: &mut Vec<u32>| {
                *case_of
                    .entry((profile_of[g as usize], matched))
                    .or_insert_with(|| {
                        cases.push(g);
                        cases.len() as u32 - 1
                    })
            };
            for run in hits.chunk_by(|a, b| a.0 == b.0) {
                let g = run[0].0;
                let matched = run.iter().map(|h| h.1).collect();
                let c = case(g, matched, &mut plan.cases);
                plan.named.push((g, c));
            }
            let named = &plan.named;
            for m in &members {
                let stand_in = m
                    .iter()
                    .copied()
                    .find(|g| named.binary_search_by_key(g, |n| n.0).is_err());
                let c = stand_in.map_or(NONE, |g| case(g, Vec::new(), &mut plan.cases));
                plan.unnamed.push(c);
            }
            plan
        };
        let clients: Vec<Client> = groups
            .list
            .iter()
            .map(|g| {
                let pod = pods[g.pod];
                Client::Pod(SourcePod::of(objects, pod), pod.pod_ips.first().copied())
            })
            .collect();
        let external_clients: Vec<Client> =
            externals.iter().map(|ip| Client::External(*ip)).collect();
        let evaluate = |d: usize| -> (Plan, Vec<IstioCell>) {
            let cands = &candidates[d];
            let plan = plan(cands);
            let cells = plan
                .cases
                .iter()
                .map(|g| &clients[*g as usize])
                .chain(&external_clients)
                .map(|client| layer.cell(client, pods[d], cands))
                .collect();
            (plan, cells)
        };
        let evaluated = on_two_threads(pods.len(), &evaluate);
        let mut ids: HashMap<IstioCell, u32> = HashMap::new();
        let mut cells = Vec::new();
        let mut intern = |c: IstioCell| {
            let next = cells.len() as u32;
            *ids.entry(c).or_insert_with_key(|c| {
                cells.push(c.clone());
                next
            })
        };
        let mut named = Vec::with_capacity(pods.len());
        let mut by_profile = Vec::with_capacity(pods.len() * profiles);
        let mut by_external = Vec::with_capacity(pods.len() * externals.len());
        for (plan, evaluated) in evaluated {
            let ids: Vec<u32> = evaluated.into_iter().map(&mut intern).collect();
            let (case_ids, external_ids) = ids.split_at(plan.cases.len());
            let id = |c: u32| case_ids.get(c as usize).copied().unwrap_or(NONE);
            named.push(plan.named.iter().map(|(g, c)| (*g, id(*c))).collect());
            by_profile.extend(plan.unnamed.iter().map(|c| id(*c)));
            by_external.extend_from_slice(external_ids);
        }
        MeshPairs {
            group_of,
            profile_of,
            profiles,
            named,
            by_profile,
            externals: externals.len(),
            by_external,
            candidates,
            cells,
        }
    }

    /// The cell id of source class `s` to destination class `d`.
    pub fn cell(&self, s: usize, d: usize) -> u32 {
        let g = self.group_of[s];
        let named = &self.named[d];
        if !named.is_empty() {
            if let Ok(i) = named.binary_search_by_key(&g, |x| x.0) {
                return named[i].1;
            }
        }
        self.by_profile[d * self.profiles + self.profile_of[g as usize] as usize]
    }

    /// The cell id of external client `k` (an index into the `externals` given to
    /// [`MeshPairs::new`]) to destination class `d`.
    pub fn external(&self, k: usize, d: usize) -> u32 {
        self.by_external[d * self.externals + k]
    }

    /// The AuthorizationPolicies that may apply to destination class `d`.
    pub fn candidates(&self, d: usize) -> &[&'o AuthorizationPolicy] {
        &self.candidates[d]
    }
}
/// `f` for every index below `n`, on two threads, results in index order.
fn on_two_threads<T: Send>(n: usize, f: &(dyn Fn(usize) -> T + Sync)) -> Vec<T> {
    let workers = std::thread::available_parallelism().map_or(1, |w| w.get().min(2));
    if workers <= 1 || n < 2 {
        return (0..n).map(f).collect();
    }
    let half = n.div_ceil(2);
    std::thread::scope(|scope| {
        let second = scope.spawn(move || (half..n).map(f).collect::<Vec<T>>());
        let mut out: Vec<T> = (0..half).map(f).collect();
        match second.join() {
            Ok(v) => out.extend(v),
            Err(e) => std::panic::resume_unwind(e),
        }
        out
    })
}
