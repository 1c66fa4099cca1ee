//! Istio PeerAuthentication (mTLS) and AuthorizationPolicy evaluation (sidecar mode).
//!
//! Pure functions over [`ClusterObjects`]; the exact semantics are in
//! `shared/semantics/istio.md`. The entry points:
//!
//! - [`evaluate`] / [`evaluate_in`]: one connection or request ([`MeshRequest`]) to a
//!   destination pod → [`AuthzVerdict`]: allowed / denied / undecidable, whether it is mTLS and
//!   with which peer identity, the policies and rules that decided (with [`Provenance`]), what
//!   could not be decided and the effective PeerAuthentication mode;
//! - [`allowed_ports`]: the TCP ports of a destination a source may reach ([`PortVerdict`]),
//!   with notes where HTTP attributes would narrow the answer;
//! - [`pod_sidecar`] / [`template_sidecar`]: sidecar presence; [`peer_auth_mode`]: the
//!   effective mTLS mode of a destination port.
//!
//! Order of decisions for one connection: a destination without a sidecar, a non-TCP
//! protocol, or a port excluded from interception is not seen by Istio (allowed, not
//! enforced); then PeerAuthentication (STRICT rejects plain text before authorization); then
//! CUSTOM → DENY → ALLOW (istio.md §2), with the per-action treatment of HTTP-only fields on
//! plain TCP (§5) and empty identity on plain text (§6).
//!
//! A meshed client originates mTLS (auto mTLS) unless the DestinationRule that applies to the
//! destination's Service sets `tls.mode: DISABLE` (then plain text: accepted by PERMISSIVE,
//! rejected by STRICT). Policies annotated `istio.io/dry-run: "true"` and AUDIT policies never
//! decide.
//!
//! Not modelled: ambient mode (ztunnel/waypoints: reported undecidable), DestinationRule
//! `exportTo`/`portLevelSettings`, `GatewayClass` and waypoint (`Service`/`ServiceEntry`)
//! `targetRefs`, policy creation times (input order stands for age).

mod authz;
mod client;
mod matching;
mod peer;
mod sidecar;

pub use peer::{peer_auth_mode, PeerAuthVerdict, PeerMode};
pub use sidecar::{pod_sidecar, template_sidecar, SidecarPresence};

pub(crate) use authz::applies;
pub(crate) use matching::{glob, principal};

use crate::eval::ports::PortSet;
use crate::model::cluster::{AuthorizationPolicy, AuthzAction, ClusterObjects, Pod, StringMap};
use crate::model::{PortRange, Protocol};
use crate::source::Provenance;
use indexmap::IndexMap;
use matching::M;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Mesh-wide settings from MeshConfig that change evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshConfig {
    /// `rootNamespace` (default `istio-system`): its policies without selector are mesh-wide.
    pub root_namespace: String,
    /// `trustDomain` (default `cluster.local`).
    pub trust_domain: String,
    /// `trustDomainAliases`.
    pub trust_domain_aliases: Vec<String>,
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            root_namespace: "istio-system".into(),
            trust_domain: "cluster.local".into(),
            trust_domain_aliases: Vec::new(),
        }
    }
}

/// A three-valued decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
    /// Depends on something the input does not give (see [`AuthzVerdict::undecided`]).
    Undecidable,
}

/// The client side of a request when it is a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePod {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Service account (`default` when the pod names none).
    pub service_account: String,
    /// True when the pod has a sidecar (it originates mTLS to meshed destinations).
    pub in_mesh: bool,
}

impl SourcePod {
    /// The source description of a pod of the snapshot (sidecar presence by [`pod_sidecar`]).
    pub fn of(objects: &ClusterObjects, pod: &Pod) -> SourcePod {
        SourcePod {
            namespace: pod.meta.namespace_or_default().to_string(),
            name: pod.meta.name.clone(),
            service_account: pod
                .spec
                .service_account_name
                .clone()
                .unwrap_or_else(|| "default".into()),
            in_mesh: pod_sidecar(objects, pod).in_mesh,
        }
    }
}

/// HTTP request attributes. A `None` field is unknown: rules that test it are undecidable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpAttrs {
    /// Method (`GET`; gRPC is always `POST`).
    pub method: Option<String>,
    /// Path (query allowed; normalized before matching).
    pub path: Option<String>,
    /// Host / `:authority`.
    pub host: Option<String>,
    /// Request headers when known (then a missing header is absent, not unknown).
    pub headers: Option<IndexMap<String, String>>,
}

/// One connection (TCP) or request (HTTP) arriving at a destination pod's sidecar.
#[derive(Debug, Clone)]
pub struct MeshRequest<'a> {
    /// The client pod; `None` for a client outside the cluster, a node or anything not a pod
    /// (never in the mesh, never mTLS).
    pub src: Option<SourcePod>,
    /// `source.ip` as the server proxy sees it (after any SNAT); `None` = unknown.
    pub src_ip: Option<IpAddr>,
    /// `remote.ip` (X-Forwarded-For / PROXY protocol); `None` = same as `src_ip`.
    pub remote_ip: Option<IpAddr>,
    /// The destination pod.
    pub dst: &'a Pod,
    /// The destination pod port (container/target port, not the Service port).
    pub dst_port: u16,
    /// The L4 protocol (Istio intercepts TCP only).
    pub protocol: Protocol,
    /// `None`: the port is plain TCP to the proxy (HTTP attributes do not exist);
    /// `Some`: HTTP, with whichever attributes are known.
    pub http: Option<HttpAttrs>,
}

impl<'a> MeshRequest<'a> {
    /// A TCP connection from pod `src` (its first IP as `source.ip`) to `dst:dst_port`.
    pub fn pod_to_pod(objects: &ClusterObjects, src: &Pod, dst: &'a Pod, dst_port: u16) -> Self {
        MeshRequest {
            src: Some(SourcePod::of(objects, src)),
            src_ip: src.pod_ips.first().copied(),
            remote_ip: None,
            dst,
            dst_port,
            protocol: Protocol::Tcp,
            http: None,
        }
    }
}

/// A policy (and rule) that took part in a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    /// `AuthorizationPolicy` or `PeerAuthentication`.
    pub kind: &'static str,
    /// `namespace/name`.
    pub policy: String,
    /// Index in `rules`, when one rule decided.
    pub rule: Option<usize>,
    /// The rule's (or else the policy's) location.
    pub at: Provenance,
    /// Why it decided.
    pub why: String,
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct AuthzVerdict {
    /// The decision.
    pub allowed: Tri,
    /// False when Istio does not see the connection (no sidecar at the destination, a port
    /// excluded from interception, a non-TCP protocol): then `allowed` is `Allow`.
    pub enforced: bool,
    /// True when the connection is mutual TLS.
    pub mtls: bool,
    /// The client's identity `spiffe://<td>/ns/<ns>/sa/<sa>` when mTLS.
    pub identity: Option<String>,
    /// What decided: the PeerAuthentication that rejected plain text, the DENY rules that
    /// matched, the ALLOW rules that matched, or every ALLOW policy none of whose rules matched.
    pub deciding: Vec<Citation>,
    /// Rules whose match could not be decided and what would settle them
    /// (e.g. `default/p rules[0]: methods: needs --http-method`).
    pub undecided: Vec<String>,
    /// Other remarks (scope, ignored policies, AUDIT/dry-run, assumptions).
    pub notes: Vec<String>,
    /// The effective PeerAuthentication mode at the destination port.
    pub peer_auth: PeerAuthVerdict,
}

/// Evaluates one request with the default [`MeshConfig`].
pub fn evaluate(objects: &ClusterObjects, req: &MeshRequest<'_>) -> AuthzVerdict {
    evaluate_in(objects, &MeshConfig::default(), req)
}

fn port_list(annotations: &StringMap, key: &str) -> Option<Vec<String>> {
    annotations
        .get(key)
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
}

/// Why Istio does not see this connection at all, if so.
fn bypass(objects: &ClusterObjects, req: &MeshRequest<'_>) -> Option<String> {
    let dst = req.dst;
    let presence = pod_sidecar(objects, dst);
    if !presence.in_mesh {
        return Some(format!("destination not in the mesh: {}", presence.reason));
    }
    if req.protocol != Protocol::Tcp {
        return Some("the sidecar intercepts TCP only".into());
    }
    let port = req.dst_port.to_string();
    let ann = &dst.meta.annotations;
    if port_list(ann, "traffic.sidecar.istio.io/excludeInboundPorts")
        .is_some_and(|l| l.contains(&port))
    {
        return Some(format!(
            "port {port} is in traffic.sidecar.istio.io/excludeInboundPorts (bypasses the proxy)"
        ));
    }
    if let Some(l) = port_list(ann, "traffic.sidecar.istio.io/includeInboundPorts") {
        if !l.iter().any(|p| p == "*" || *p == port) {
            return Some(format!(
                "port {port} is not in traffic.sidecar.istio.io/includeInboundPorts"
            ));
        }
    }
    None
}

fn ambient(objects: &ClusterObjects, pod: &Pod) -> bool {
    let ns = pod.meta.namespace_or_default();
    let label = |l: &StringMap| {
        l.get("istio.io/dataplane-mode")
            .is_some_and(|v| v == "ambient")
    };
    label(&pod.meta.labels)
        || objects
            .namespaces
            .iter()
            .any(|n| n.meta.name == ns && label(&n.meta.labels))
}

/// Evaluates one request under `mesh` (see the module documentation for the order).
pub fn evaluate_in(
    objects: &ClusterObjects,
    mesh: &MeshConfig,
    req: &MeshRequest<'_>,
) -> AuthzVerdict {
    evaluate_with(objects, mesh, req, objects.authorization_policies.iter())
}

/// [`evaluate_in`] with only the AuthorizationPolicies of `candidates` considered (in their
/// order). Equal to [`evaluate_in`] (but for notes on policies that do not apply) when
/// `candidates` holds, in input order, every policy that applies to the destination.
pub fn evaluate_among(
    objects: &ClusterObjects,
    mesh: &MeshConfig,
    req: &MeshRequest<'_>,
    candidates: &[&AuthorizationPolicy],
) -> AuthzVerdict {
    evaluate_with(objects, mesh, req, candidates.iter().copied())
}

fn evaluate_with<'p>(
    objects: &ClusterObjects,
    mesh: &MeshConfig,
    req: &MeshRequest<'_>,
    policies: impl Iterator<Item = &'p AuthorizationPolicy>,
) -> AuthzVerdict {
    let peer_auth = peer_auth_mode(objects, mesh, req.dst, req.dst_port);
    let mut v = AuthzVerdict {
        allowed: Tri::Allow,
        enforced: false,
        mtls: false,
        identity: None,
        deciding: Vec::new(),
        undecided: Vec::new(),
        notes: peer_auth.notes.clone(),
        peer_auth,
    };
    if let Some(why) = bypass(objects, req) {
        if !req.dst.has_istio_proxy && ambient(objects, req.dst) {
            v.allowed = Tri::Undecidable;
            v.undecided
                .push("destination is in ambient mode (ztunnel/waypoint not evaluated)".into());
        }
        v.notes.push(why);
        return v;
    }
    v.enforced = true;
    let mut src_in_mesh = req.src.as_ref().is_some_and(|s| s.in_mesh);
    if let Some(s) = req.src.as_ref().filter(|s| s.in_mesh) {
        if let Some(dr) = client::tls_disabled(objects, mesh, &s.namespace, req.dst) {
            if v.peer_auth.mode == PeerMode::Strict {
                let mut c = dr;
                c.why = format!("{}; the STRICT server requires a client certificate", c.why);
                v.allowed = Tri::Deny;
                v.deciding.push(c);
                return v;
            }
            v.notes.push(format!(
                "DestinationRule {} disables TLS from the client: plain text",
                dr.policy
            ));
            src_in_mesh = false;
        }
    }
    match (src_in_mesh, v.peer_auth.mode) {
        (_, PeerMode::Disable) => {}
        (true, _) => {
            v.mtls = true;
        }
        (false, PeerMode::Strict) => {
            v.allowed = Tri::Deny;
            let mut c = v.peer_auth.citation.clone().unwrap_or_else(|| Citation {
                kind: "PeerAuthentication",
                policy: String::new(),
                rule: None,
                at: req.dst.meta.at.clone(),
                why: String::new(),
            });
            c.why = format!(
                "{}; plain text from a client without a sidecar is rejected before authorization",
                c.why
            );
            v.deciding.push(c);
            return v;
        }
        (false, PeerMode::Permissive) => {}
    }
    let (identity, src_ns, src_sa) = match (&req.src, v.mtls) {
        (Some(s), true) => (
            format!(
                "{}/ns/{}/sa/{}",
                mesh.trust_domain, s.namespace, s.service_account
            ),
            s.namespace.clone(),
            format!("{}/{}", s.namespace, s.service_account),
        ),
        _ => Default::default(),
    };
    if v.mtls {
        v.identity = Some(format!("spiffe://{identity}"));
    }
    let mut domains = vec!["cluster.local".to_string(), mesh.trust_domain.clone()];
    domains.extend(mesh.trust_domain_aliases.iter().cloned());
    let attrs = authz::Attrs {
        identity,
        src_namespace: src_ns,
        src_service_account: src_sa,
        src_ip: req.src_ip,
        remote_ip: req.remote_ip,
        dst_ip: req.dst.pod_ips.first().copied(),
        dst_port: req.dst_port,
        http: req.http.as_ref(),
        domains,
    };
    decide(policies, mesh, req.dst, &attrs, &mut v);
    v
}

#[derive(Default)]
struct Tally {
    hits: Vec<Citation>,
    maybe: Vec<String>,
}

fn decide<'p>(
    policies: impl Iterator<Item = &'p AuthorizationPolicy>,
    mesh: &MeshConfig,
    dst: &Pod,
    a: &authz::Attrs<'_>,
    v: &mut AuthzVerdict,
) {
    let tcp = a.http.is_none();
    let mut custom = Tally::default();
    let mut custom_providers: Vec<String> = Vec::new();
    let mut deny = Tally::default();
    let mut allow = Tally::default();
    let mut allow_misses: Vec<Citation> = Vec::new();
    let mut allow_policies = 0usize;
    for p in policies {
        if let Err(why) = authz::applies(p, dst, mesh) {
            if !p.target_refs.is_empty()
                && p.meta.namespace_or_default() == dst.meta.namespace_or_default()
            {
                v.notes
                    .push(format!("AuthorizationPolicy {}: {why}", p.meta.key()));
            }
            continue;
        }
        let key = p.meta.key();
        if p.meta
            .annotations
            .get("istio.io/dry-run")
            .is_some_and(|d| d == "true")
        {
            v.notes.push(format!(
                "AuthorizationPolicy {key} is dry-run (not enforced)"
            ));
            continue;
        }
        if !authz::enforcing(p.action) {
            v.notes
                .push(format!("AuthorizationPolicy {key} is AUDIT (no effect)"));
            continue;
        }
        if p.action == AuthzAction::Allow {
            allow_policies += 1;
        }
        let provider = p.provider.clone().unwrap_or_else(|| "(none)".into());
        let tally = match p.action {
            AuthzAction::Custom => &mut custom,
            AuthzAction::Deny => &mut deny,
            _ => &mut allow,
        };
        let rules = p.rules.as_deref().unwrap_or(&[]);
        if rules.is_empty() && p.action == AuthzAction::Allow {
            let what = if p.rules.is_none() {
                "rules absent"
            } else {
                "rules: []"
            };
            allow_misses.push(Citation {
                kind: "AuthorizationPolicy",
                policy: key.clone(),
                rule: None,
                at: p.meta.at.clone(),
                why: format!("ALLOW with {what} matches nothing"),
            });
            continue;
        }
        let mut reasons = Vec::new();
        for r in rules {
            let http_only = authz::http_only_fields(r);
            let m = if tcp && !http_only.is_empty() && p.action == AuthzAction::Allow {
                M::No(format!(
                    "uses HTTP-only {}: ALLOW rule ignored for plain TCP",
                    http_only.join(", ")
                ))
            } else {
                authz::rule(p, r, a)
            };
            match m {
                M::Yes => {
                    let mut why = match p.action {
                        AuthzAction::Deny => "DENY rule matched".to_string(),
                        AuthzAction::Custom => format!("CUSTOM rule matched (provider {provider})"),
                        _ => "ALLOW rule matched".to_string(),
                    };
                    if tcp && !http_only.is_empty() {
                        why.push_str(&format!(
                            "; HTTP-only {} cannot be checked on plain TCP and count as matching",
                            http_only.join(", ")
                        ));
                    }
                    if r.from.is_none() && r.to.is_none() && r.when.is_none() {
                        why.push_str(" (empty rule `{}` matches everything)");
                    }
                    tally.hits.push(Citation {
                        kind: "AuthorizationPolicy",
                        policy: key.clone(),
                        rule: Some(r.index),
                        at: r.at.clone(),
                        why,
                    });
                }
                M::Unknown(rs) => {
                    for x in rs {
                        tally.maybe.push(format!("{key} rules[{}]: {x}", r.index));
                    }
                }
                M::No(x) => reasons.push(format!("rules[{}]: {x}", r.index)),
            }
        }
        if p.action == AuthzAction::Custom && (!tally.hits.is_empty() || !tally.maybe.is_empty()) {
            custom_providers.push(provider);
        }
        if p.action == AuthzAction::Allow && !reasons.is_empty() {
            allow_misses.push(Citation {
                kind: "AuthorizationPolicy",
                policy: key.clone(),
                rule: None,
                at: p.meta.at.clone(),
                why: format!("no ALLOW rule matched: {}", reasons.join("; ")),
            });
        }
    }
    // 2. DENY that matches decides.
    if !deny.hits.is_empty() {
        v.allowed = Tri::Deny;
        v.deciding = deny.hits;
        return;
    }
    // 3-5. ALLOW.
    let base = if allow_policies == 0 {
        v.notes
            .push("no ALLOW policy applies to the destination: allowed unless denied".into());
        Tri::Allow
    } else if !allow.hits.is_empty() {
        v.deciding.extend(allow.hits);
        Tri::Allow
    } else if !allow.maybe.is_empty() {
        v.undecided.extend(allow.maybe);
        Tri::Undecidable
    } else {
        v.allowed = Tri::Deny;
        v.deciding = allow_misses;
        return;
    };
    v.allowed = base;
    // DENY or CUSTOM that might match can only turn Allow into Undecidable.
    if !deny.maybe.is_empty() {
        v.undecided.extend(deny.maybe);
        v.allowed = Tri::Undecidable;
    }
    if !custom.hits.is_empty() || !custom.maybe.is_empty() {
        custom_providers.dedup();
        v.undecided.push(format!(
            "CUSTOM authorization by extension provider {} cannot be evaluated",
            custom_providers.join(", ")
        ));
        v.undecided.extend(custom.maybe);
        v.deciding.extend(custom.hits);
        v.allowed = Tri::Undecidable;
    }
}

/// The TCP ports of a destination a source may reach, computed with one evaluation per
/// port named by any policy and one for every other port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortVerdict {
    /// Ports allowed for plain TCP (including ports Istio does not see).
    pub allowed: PortSet,
    /// Ports whose answer is undecidable even for plain TCP (CUSTOM, unevaluated conditions).
    pub undecidable: PortSet,
    /// Per-port remarks, notably where an HTTP port would be narrowed by L7 rules
    /// (`port 8080 as HTTP: undecidable: default/p rules[0]: methods: needs --http-method`).
    pub notes: Vec<String>,
}

/// The TCP ports of `req.dst` that `req`'s source may reach (`dst_port`, `protocol` and
/// `http` of `req` are ignored), under `mesh`.
pub fn allowed_ports(
    objects: &ClusterObjects,
    mesh: &MeshConfig,
    req: &MeshRequest<'_>,
) -> PortVerdict {
    let mut named: BTreeSet<u16> = BTreeSet::new();
    for p in &objects.authorization_policies {
        for r in p.rules.iter().flatten() {
            for o in r.to.iter().flatten() {
                named.extend(o.ports.iter().chain(&o.not_ports));
            }
            for c in r.when.iter().flatten() {
                if c.key == "destination.port" {
                    named.extend(
                        c.values
                            .iter()
                            .chain(&c.not_values)
                            .filter_map(|s| s.parse::<u16>().ok()),
                    );
                }
            }
        }
    }
    for p in &objects.peer_authentications {
        named.extend(p.port_level_mtls.keys());
    }
    let ann = &req.dst.meta.annotations;
    for key in [
        "traffic.sidecar.istio.io/excludeInboundPorts",
        "traffic.sidecar.istio.io/includeInboundPorts",
    ] {
        for s in port_list(ann, key).unwrap_or_default() {
            named.extend(s.parse::<u16>().ok());
        }
    }
    let rest = (0..=u16::MAX).find(|p| !named.contains(p));
    let mut out = PortVerdict::default();
    let mut check = |port: u16, set: PortSet, label: String| {
        let mut r = req.clone();
        r.dst_port = port;
        r.protocol = Protocol::Tcp;
        r.http = None;
        let tcp = evaluate_in(objects, mesh, &r);
        match tcp.allowed {
            Tri::Allow => {
                for x in set.ranges() {
                    out.allowed.insert(*x);
                }
            }
            Tri::Undecidable => {
                for x in set.ranges() {
                    out.undecidable.insert(*x);
                }
                out.notes.push(format!(
                    "{label}: undecidable: {}",
                    tcp.undecided.join("; ")
                ));
            }
            Tri::Deny => {}
        }
        r.http = Some(HttpAttrs::default());
        let http = evaluate_in(objects, mesh, &r);
        if http.allowed != tcp.allowed {
            let what = match http.allowed {
                Tri::Allow => "allowed".to_string(),
                Tri::Deny => "denied".to_string(),
                Tri::Undecidable => {
                    format!("depends on the request: {}", http.undecided.join("; "))
                }
            };
            out.notes.push(format!("{label} as HTTP: {what}"));
        }
    };
    for p in &named {
        check(
            *p,
            PortSet::from_range(PortRange::single(*p)),
            format!("port {p}"),
        );
    }
    if let Some(rep) = rest {
        let mut others = PortSet::all();
        for p in &named {
            others = others.minus(&PortSet::from_range(PortRange::single(*p)));
        }
        check(rep, others, "other ports".into());
    }
    out
}
