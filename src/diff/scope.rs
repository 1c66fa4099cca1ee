//! What changed between two snapshots, by stable identity, and which places of a trace it can
//! influence. A flow whose traces before the change touch none of those places cannot have
//! changed (every decision of the walk depends only on the objects of the places it visits),
//! so the diff skips re-tracing it.
//!
//! Objects are compared by content with their provenance removed, so an edit that only moves
//! an object within its file (or to another file) is no change.

use crate::model::Snapshot;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// The changes between two snapshots, as tokens that name the places and rules they influence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeScope {
    /// The objects that changed (`kind id`), for the report.
    pub changed: Vec<String>,
    /// The ids of changed filters and policies (`sg-…`, `acl-…`, `rtb-…`, `ns/name` of a
    /// policy), to recognise the rules a trace cites that belong to them.
    pub ids: Vec<String>,
    /// True when a change can influence any flow (addresses, Services, pods, gateways…): every
    /// flow is re-traced.
    pub global: bool,
    /// Tokens (ids of ENIs, instances, subnets, security groups, NACLs, route tables; pod keys)
    /// whose presence in a trace means the trace may have changed.
    pub tokens: BTreeSet<String>,
    /// When every change is local to endpoints: the endpoints it can affect (pairs with neither
    /// end among them are not traced).
    pub filter: Option<super::filter::PairFilter>,
}

impl ChangeScope {
    /// True when a trace that touched `touched` may differ after the change.
    pub fn affects(&self, touched: &BTreeSet<String>) -> bool {
        self.global || self.tokens.iter().any(|t| touched.contains(t))
    }
}

/// The content of a value without its provenance (file ids, JSON paths, lines and columns).
pub fn fingerprint<T: Debug>(v: &T) -> String {
    strip_provenance(&format!("{v:?}"))
}

fn strip_provenance(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("Provenance {") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, ch) in after.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push('P');
        rest = &after[end..];
    }
    out.push_str(rest);
    strip_file_ids(&out)
}

/// `FileId(7)` → `FileId`: file numbering depends on the directory, not the content.
fn strip_file_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("FileId(") {
        out.push_str(&rest[..i + "FileId".len()]);
        let after = &rest[i + "FileId(".len()..];
        rest = match after.find(')') {
            Some(k) => &after[k + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

fn keyed<'a, T: Debug + 'a>(
    items: impl Iterator<Item = (String, &'a T)>,
) -> BTreeMap<String, String> {
    items.map(|(k, v)| (k, fingerprint(v))).collect()
}

/// Keys whose content differs (added, removed or changed).
fn changed_keys(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

macro_rules! by_id {
    ($s:expr, $field:ident) => {
        keyed($s.cloud.$field.iter().map(|(k, v)| (k.clone(), v)))
    };
}

macro_rules! by_meta {
    ($s:expr, $field:ident) => {
        keyed($s.cluster.$field.iter().map(|v| (v.meta.key(), v)))
    };
}

/// Compares two snapshots object by object.
pub fn compare(before: &Snapshot, after: &Snapshot) -> ChangeScope {
    let mut sc = ChangeScope::default();
    let both = [before, after];
    let mut sgs = Vec::new();
    let mut instances = Vec::new();
    let mut pods = BTreeSet::new();
    let mut middle = false;
    // Filters and routing: local influence.
    for id in changed_keys(
        &by_id!(before, security_groups),
        &by_id!(after, security_groups),
    ) {
        sc.changed.push(format!("security group {id}"));
        sc.ids.push(id.clone());
        sgs.push(id.clone());
        sc.tokens.insert(id);
    }
    for id in changed_keys(&by_id!(before, network_acls), &by_id!(after, network_acls)) {
        middle = true;
        sc.changed.push(format!("network ACL {id}"));
        sc.ids.push(id.clone());
        for s in both {
            if let Some(a) = s.cloud.network_acls.get(&id) {
                sc.tokens.extend(a.subnet_ids.iter().cloned());
            }
        }
        sc.tokens.insert(id);
    }
    for id in changed_keys(&by_id!(before, route_tables), &by_id!(after, route_tables)) {
        middle = true;
        sc.changed.push(format!("route table {id}"));
        sc.ids.push(id.clone());
        for s in both {
            match s.cloud.route_tables.get(&id) {
                Some(t) if t.main => sc.global = true,
                Some(t) => {
                    sc.tokens.extend(t.subnet_ids.iter().cloned());
                    sc.tokens.extend(t.gateway_ids.iter().cloned());
                }
                None => {}
            }
        }
        sc.tokens.insert(id);
    }
    for id in changed_keys(&by_id!(before, instances), &by_id!(after, instances)) {
        instances.push(id.clone());
        sc.changed.push(format!("instance {id}"));
        for s in both {
            if let Some(i) = s.cloud.instances.get(&id) {
                sc.tokens.extend(i.interface_ids.iter().cloned());
            }
        }
        sc.tokens.insert(id);
    }
    // Everything else in the cloud changes addresses, gateways or load balancing: global.
    let global_cloud = [
        (
            "VPC",
            changed_keys(&by_id!(before, vpcs), &by_id!(after, vpcs)),
        ),
        (
            "subnet",
            changed_keys(&by_id!(before, subnets), &by_id!(after, subnets)),
        ),
        (
            "interface",
            changed_keys(&by_id!(before, interfaces), &by_id!(after, interfaces)),
        ),
        (
            "internet gateway",
            changed_keys(
                &by_id!(before, internet_gateways),
                &by_id!(after, internet_gateways),
            ),
        ),
        (
            "NAT gateway",
            changed_keys(&by_id!(before, nat_gateways), &by_id!(after, nat_gateways)),
        ),
        (
            "peering",
            changed_keys(&by_id!(before, peerings), &by_id!(after, peerings)),
        ),
        (
            "VPN gateway",
            changed_keys(&by_id!(before, vpn_gateways), &by_id!(after, vpn_gateways)),
        ),
        (
            "VPN connection",
            changed_keys(
                &by_id!(before, vpn_connections),
                &by_id!(after, vpn_connections),
            ),
        ),
        (
            "transit gateway",
            changed_keys(
                &by_id!(before, transit_gateways),
                &by_id!(after, transit_gateways),
            ),
        ),
        (
            "TGW attachment",
            changed_keys(
                &by_id!(before, tgw_attachments),
                &by_id!(after, tgw_attachments),
            ),
        ),
        (
            "TGW route table",
            changed_keys(
                &by_id!(before, tgw_route_tables),
                &by_id!(after, tgw_route_tables),
            ),
        ),
        (
            "prefix list",
            changed_keys(&by_id!(before, prefix_lists), &by_id!(after, prefix_lists)),
        ),
        (
            "VPC endpoint",
            changed_keys(
                &by_id!(before, vpc_endpoints),
                &by_id!(after, vpc_endpoints),
            ),
        ),
        (
            "load balancer",
            changed_keys(
                &by_id!(before, load_balancers),
                &by_id!(after, load_balancers),
            ),
        ),
        (
            "target group",
            changed_keys(
                &by_id!(before, target_groups),
                &by_id!(after, target_groups),
            ),
        ),
        (
            "TGW peering",
            changed_keys(
                &by_id!(before, tgw_peering_views),
                &by_id!(after, tgw_peering_views),
            ),
        ),
    ];
    for (kind, ids) in global_cloud {
        for id in ids {
            sc.changed.push(format!("{kind} {id}"));
            sc.global = true;
        }
    }
    // Policies: they decide at the pods they select (and at their nodes, for egress).
    for key in changed_keys(
        &by_meta!(before, network_policies),
        &by_meta!(after, network_policies),
    ) {
        sc.changed.push(format!("NetworkPolicy {key}"));
        sc.ids.push(key.clone());
        for s in both {
            if let Some(np) = s
                .cluster
                .network_policies
                .iter()
                .find(|n| n.meta.key() == key)
            {
                let ns = np.meta.namespace_or_default();
                for p in &s.cluster.pods {
                    if p.meta.namespace_or_default() == ns
                        && np.pod_selector.matches(&p.meta.labels)
                    {
                        sc.tokens.insert(p.meta.key());
                        pods.insert(p.meta.key());
                    }
                }
            }
        }
    }
    let istio = changed_keys(
        &by_meta!(before, authorization_policies),
        &by_meta!(after, authorization_policies),
    )
    .into_iter()
    .map(|k| ("AuthorizationPolicy", k))
    .chain(
        changed_keys(
            &by_meta!(before, peer_authentications),
            &by_meta!(after, peer_authentications),
        )
        .into_iter()
        .map(|k| ("PeerAuthentication", k)),
    );
    for (kind, key) in istio {
        sc.changed.push(format!("{kind} {key}"));
        sc.ids.push(key.clone());
        let ns = key.split('/').next().unwrap_or_default().to_string();
        for s in both {
            for p in &s.cluster.pods {
                if ns == "istio-system" || p.meta.namespace_or_default() == ns {
                    sc.tokens.insert(p.meta.key());
                    pods.insert(p.meta.key());
                }
            }
        }
    }
    // Every other cluster object (pods, Services, endpoints, nodes, namespaces, workloads,
    // admin policies, CNI objects) and the iptables dumps: global.
    let b = &before.cluster;
    let a = &after.cluster;
    let mut other = Vec::new();
    macro_rules! cmp_list {
        ($name:expr, $field:ident) => {
            if fingerprint(&b.$field) != fingerprint(&a.$field) {
                other.push($name);
            }
        };
    }
    cmp_list!("namespaces", namespaces);
    cmp_list!("nodes", nodes);
    cmp_list!("pods", pods);
    cmp_list!("deployments", deployments);
    cmp_list!("stateful sets", stateful_sets);
    cmp_list!("daemon sets", daemon_sets);
    cmp_list!("replica sets", replica_sets);
    cmp_list!("other workloads", other_workloads);
    cmp_list!("services", services);
    cmp_list!("endpoint slices", endpoint_slices);
    cmp_list!("endpoints", endpoints);
    cmp_list!("admin network policies", admin_network_policies);
    cmp_list!(
        "baseline admin network policies",
        baseline_admin_network_policies
    );
    cmp_list!("ingresses", ingresses);
    cmp_list!("ENIConfigs", eni_configs);
    cmp_list!("SecurityGroupPolicies", security_group_policies);
    cmp_list!("IP pools", ip_pools);
    cmp_list!("ServiceEntries", service_entries);
    cmp_list!("Istio gateways", gateways);
    cmp_list!("VirtualServices", virtual_services);
    cmp_list!("DestinationRules", destination_rules);
    if fingerprint(&before.iptables) != fingerprint(&after.iptables) {
        other.push("iptables dumps");
    }
    if before.present != after.present {
        other.push("the set of inputs");
    }
    for o in other {
        sc.changed.push(o.to_string());
        sc.global = true;
    }
    sc.changed.sort();
    sc.changed.dedup();
    if !sc.global && !middle {
        sc.filter = super::filter::PairFilter::new(both, &sgs, &instances, &pods);
    }
    sc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_is_ignored() {
        let a = "Rule { port: 1, prov: Provenance { file: FileId(1), locator: At(LineCol { line: 3, col: 1 }) } }";
        let b =
            "Rule { port: 1, prov: Provenance { file: FileId(7), locator: JsonPath(\"X[2]\") } }";
        assert_eq!(strip_provenance(a), strip_provenance(b));
        let c = "Rule { port: 2, prov: Provenance { file: FileId(1), locator: File } }";
        assert_ne!(strip_provenance(a), strip_provenance(c));
    }
}
