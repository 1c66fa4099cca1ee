//! Effective PeerAuthentication mode for a destination workload and port.
//!
//! Narrowest wins, field by field: the workload policy's `portLevelMtls[port]`, then its
//! `mtls.mode`, then the namespace-wide policy, then the mesh-wide policy (root namespace, no
//! selector), then PERMISSIVE. `UNSET` (or an omitted `mtls`) inherits. When several
//! namespace- or mesh-wide policies exist Istio keeps the oldest; the snapshot carries no
//! creation times, so the first in input order is used and a note says so. A policy with a
//! selector in the root namespace is ignored (istio.md §6). `portLevelMtls` needs a selector;
//! on a policy without one it is ignored.

use super::{Citation, MeshConfig};
use crate::model::cluster::{ClusterObjects, MtlsMode, PeerAuthentication, Pod};

/// An effective (inherited and resolved) mTLS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerMode {
    /// mTLS only: plain text is rejected.
    Strict,
    /// mTLS and plain text are both accepted.
    Permissive,
    /// The server proxy does not terminate mTLS: plain text.
    Disable,
}

impl std::fmt::Display for PeerMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PeerMode::Strict => "STRICT",
            PeerMode::Permissive => "PERMISSIVE",
            PeerMode::Disable => "DISABLE",
        })
    }
}

/// The effective PeerAuthentication mode at a destination port and what set it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerAuthVerdict {
    /// The resolved mode.
    pub mode: PeerMode,
    /// The policy (and `portLevelMtls` or `mtls` field) that set it; `None` = mesh default
    /// PERMISSIVE with no policy setting a mode.
    pub citation: Option<Citation>,
    /// Ambiguities met (several policies at one level, ignored policies).
    pub notes: Vec<String>,
}

fn has_selector(p: &PeerAuthentication) -> bool {
    p.selector.as_ref().is_some_and(|s| !s.is_empty())
}

fn cite(p: &PeerAuthentication, why: String) -> Citation {
    Citation {
        kind: "PeerAuthentication",
        policy: p.meta.key(),
        rule: None,
        at: p.meta.at.clone(),
        why,
    }
}

fn concrete(m: Option<MtlsMode>) -> Option<PeerMode> {
    match m? {
        MtlsMode::Unset => None,
        MtlsMode::Strict => Some(PeerMode::Strict),
        MtlsMode::Permissive => Some(PeerMode::Permissive),
        MtlsMode::Disable => Some(PeerMode::Disable),
    }
}

/// The effective mode for `dst` on its workload (container/target) port `port`.
pub fn peer_auth_mode(
    objects: &ClusterObjects,
    mesh: &MeshConfig,
    dst: &Pod,
    port: u16,
) -> PeerAuthVerdict {
    let ns = dst.meta.namespace_or_default();
    let root = mesh.root_namespace.as_str();
    let mut notes = Vec::new();
    if is_gateway(dst) {
        // A gateway's Envoy terminates its listeners itself: clients reach it in plain text (or
        // their own TLS), and PeerAuthentication does not apply to those listeners.
        return PeerAuthVerdict {
            mode: PeerMode::Permissive,
            citation: None,
            notes: vec![format!(
                "{} is an Istio gateway: its listeners accept clients without mesh mTLS",
                dst.meta.key()
            )],
        };
    }
    fn in_ns<'a>(
        objects: &'a ClusterObjects,
        n: &'a str,
    ) -> impl Iterator<Item = &'a PeerAuthentication> + 'a {
        objects
            .peer_authentications
            .iter()
            .filter(move |p| p.meta.namespace_or_default() == n)
    }
    for p in in_ns(objects, root).filter(|p| has_selector(p)) {
        notes.push(format!(
            "PeerAuthentication {} has a selector in the root namespace and is ignored",
            p.meta.key()
        ));
    }
    let workload: Vec<&PeerAuthentication> = if ns == root {
        Vec::new()
    } else {
        in_ns(objects, ns)
            .filter(|p| {
                p.selector.as_ref().is_some_and(|s| {
                    !s.is_empty() && s.iter().all(|(k, v)| dst.meta.labels.get(k) == Some(v))
                })
            })
            .collect()
    };
    let namespace: Vec<&PeerAuthentication> =
        in_ns(objects, ns).filter(|p| !has_selector(p)).collect();
    let meshwide: Vec<&PeerAuthentication> = if ns == root {
        Vec::new()
    } else {
        in_ns(objects, root).filter(|p| !has_selector(p)).collect()
    };
    for (level, list) in [
        ("workload", &workload),
        ("namespace-wide", &namespace),
        ("mesh-wide", &meshwide),
    ] {
        if list.len() > 1 {
            let names: Vec<String> = list.iter().map(|p| p.meta.key()).collect();
            notes.push(format!(
                "several {level} PeerAuthentications ({}); Istio keeps the oldest, input order used",
                names.join(", ")
            ));
        }
    }
    for p in namespace.iter().chain(&meshwide) {
        if !p.port_level_mtls.is_empty() {
            notes.push(format!(
                "PeerAuthentication {} sets portLevelMtls without a selector; ignored",
                p.meta.key()
            ));
        }
    }
    if let Some(w) = workload.first() {
        if let Some(m) = concrete(w.port_level_mtls.get(&port).copied()) {
            return PeerAuthVerdict {
                mode: m,
                citation: Some(cite(w, format!("portLevelMtls[{port}]: {m}"))),
                notes,
            };
        }
        if let Some(m) = concrete(w.mtls_mode) {
            return PeerAuthVerdict {
                mode: m,
                citation: Some(cite(w, format!("workload policy mtls.mode: {m}"))),
                notes,
            };
        }
    }
    if let Some(n) = namespace.first() {
        if let Some(m) = concrete(n.mtls_mode) {
            let scope = if ns == root {
                "mesh-wide"
            } else {
                "namespace-wide"
            };
            return PeerAuthVerdict {
                mode: m,
                citation: Some(cite(n, format!("{scope} mtls.mode: {m}"))),
                notes,
            };
        }
    }
    if let Some(g) = meshwide.first() {
        if let Some(m) = concrete(g.mtls_mode) {
            return PeerAuthVerdict {
                mode: m,
                citation: Some(cite(g, format!("mesh-wide mtls.mode: {m}"))),
                notes,
            };
        }
    }
    PeerAuthVerdict {
        mode: PeerMode::Permissive,
        citation: None,
        notes,
    }
}

/// True for an Istio ingress or egress gateway pod (its `istio-proxy` runs as the gateway, not
/// as a sidecar): labels `istio=ingressgateway|egressgateway` or a `-gateway` app label with the
/// proxy's `router` mode.
pub fn is_gateway(pod: &Pod) -> bool {
    let l = &pod.meta.labels;
    matches!(
        l.get("istio").map(String::as_str),
        Some("ingressgateway" | "egressgateway")
    ) || l.get("gateway.istio.io/managed").is_some()
        || l.get("app")
            .is_some_and(|a| a == "istio-ingressgateway" || a == "istio-egressgateway")
}
