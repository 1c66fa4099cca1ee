//! Client-side TLS origination: a DestinationRule `trafficPolicy.tls.mode: DISABLE` makes a
//! meshed client send plain text (istio.md §6 table).
//!
//! The DestinationRule for a destination is looked up as Istio does: the client's namespace
//! first, then the Service's namespace, then the root namespace; in one namespace an exact
//! host beats a wildcard; the first such rule decides as a whole (rules are not merged).
//! Hosts are Services selecting the destination pod, as `<svc>.<ns>.svc.cluster.local`; a
//! short host is qualified with the rule's namespace. `exportTo` and `portLevelSettings` are
//! not evaluated.

use super::{Citation, MeshConfig};
use crate::model::cluster::{ClusterObjects, DestinationRule, Pod};

fn qualified(dr: &DestinationRule, host: &str) -> String {
    if host.contains('.') || host == "*" {
        host.to_string()
    } else {
        format!(
            "{host}.{}.svc.cluster.local",
            dr.meta.namespace_or_default()
        )
    }
}

/// 2 = exact host, 1 = wildcard, 0 = no match.
fn host_match(dr: &DestinationRule, fqdns: &[String]) -> u8 {
    let Some(host) = dr.host.as_deref() else {
        return 0;
    };
    let h = qualified(dr, host).to_ascii_lowercase();
    if fqdns.contains(&h) {
        2
    } else if let Some(suffix) = h.strip_prefix('*') {
        u8::from(fqdns.iter().any(|f| f.ends_with(suffix)))
    } else {
        0
    }
}

/// The DestinationRule that disables TLS origination from `src_ns` to `dst`, if any.
pub(crate) fn tls_disabled(
    objects: &ClusterObjects,
    mesh: &MeshConfig,
    src_ns: &str,
    dst: &Pod,
) -> Option<Citation> {
    let dns = dst.meta.namespace_or_default();
    let root = mesh.root_namespace.as_str();
    let consulted = |d: &&DestinationRule| {
        let ns = d.meta.namespace_or_default();
        ns == src_ns || ns == dns || ns == root
    };
    if !objects.destination_rules.iter().any(|d| consulted(&d)) {
        return None;
    }
    let fqdns: Vec<String> = objects
        .services
        .iter()
        .filter(|s| s.meta.namespace_or_default() == dns)
        .filter(|s| {
            s.selector.as_ref().is_some_and(|sel| {
                !sel.is_empty() && sel.iter().all(|(k, v)| dst.meta.labels.get(k) == Some(v))
            })
        })
        .map(|s| format!("{}.{dns}.svc.cluster.local", s.meta.name).to_ascii_lowercase())
        .collect();
    if fqdns.is_empty() {
        return None;
    }
    for ns in [src_ns, dns, mesh.root_namespace.as_str()] {
        let in_ns = objects
            .destination_rules
            .iter()
            .filter(|d| d.meta.namespace_or_default() == ns);
        let best = in_ns
            .map(|d| (host_match(d, &fqdns), d))
            .filter(|(m, _)| *m > 0)
            .fold(None::<(u8, &DestinationRule)>, |acc, (m, d)| match acc {
                Some((am, _)) if am >= m => acc,
                _ => Some((m, d)),
            });
        if let Some((_, d)) = best {
            return (d.tls_mode.as_deref() == Some("DISABLE")).then(|| Citation {
                kind: "DestinationRule",
                policy: d.meta.key(),
                rule: None,
                at: d.meta.at.clone(),
                why: "trafficPolicy.tls.mode: DISABLE: the client sidecar sends plain text".into(),
            });
        }
    }
    None
}
