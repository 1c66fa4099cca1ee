//! Istio kinds: AuthorizationPolicy and PeerAuthentication fully typed; ServiceEntry, Gateway,
//! VirtualService and DestinationRule with their key fields and the raw spec.

use super::cx::Cx;
use super::tree::{Node, Val};
use crate::model::cluster::{
    AuthorizationPolicy, AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource,
    ClusterObjects, DestinationRule, IstioGateway, MtlsMode, ObjectMeta, PeerAuthentication,
    PolicyTargetRef, ServiceEntry, VirtualService,
};
use indexmap::IndexMap;

fn empty() -> Node<'static> {
    Node::new(Val::Map(Vec::new()))
}

/// `spec.selector.matchLabels` (Istio's WorkloadSelector).
fn workload_selector(cx: &mut Cx<'_>, spec: &Node) -> Option<crate::model::cluster::StringMap> {
    let s = cx.obj(spec, "selector")?;
    Some(cx.str_map(s, "matchLabels"))
}

fn parse_mtls_mode(cx: &mut Cx<'_>, n: &Node) -> Option<MtlsMode> {
    let v = n.get("mode")?;
    match cx.as_str(v, "mode").as_deref() {
        Some("UNSET") => Some(MtlsMode::Unset),
        Some("DISABLE") => Some(MtlsMode::Disable),
        Some("PERMISSIVE") => Some(MtlsMode::Permissive),
        Some("STRICT") => Some(MtlsMode::Strict),
        Some(other) => {
            cx.error(
                "k8s-shape",
                v,
                format!("unknown mTLS mode {other:?}"),
                "mode: UNSET, DISABLE, PERMISSIVE or STRICT",
            );
            None
        }
        None => None,
    }
}

/// `security.istio.io PeerAuthentication`.
pub(super) fn peer_authentication(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "PeerAuthentication");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let selector = workload_selector(cx, spec);
    let mtls_mode = cx
        .obj(spec, "mtls")
        .map(|m| parse_mtls_mode(cx, m).unwrap_or(MtlsMode::Unset));
    let mut port_level_mtls = IndexMap::new();
    if let Some(Node { v: Val::Map(m), .. }) = spec.get("portLevelMtls") {
        for (k, v) in m {
            let key_node = Node {
                v: Val::Str(k.clone()),
                at: v.at,
            };
            let Some(port) = cx.port_value(&key_node, "portLevelMtls") else {
                continue;
            };
            if let Some(mode) = parse_mtls_mode(cx, v) {
                port_level_mtls.insert(port, mode);
            }
        }
    } else if let Some(v) = spec.get("portLevelMtls") {
        cx.shape(v, "portLevelMtls", "a mapping from port number to {mode}");
    }
    out.peer_authentications.push(PeerAuthentication {
        meta: meta.clone(),
        selector,
        mtls_mode,
        port_level_mtls,
    });
    Some(meta)
}

fn target_ref(cx: &mut Cx<'_>, n: &Node) -> Option<PolicyTargetRef> {
    if !n.is_map() {
        cx.shape(n, "targetRef", "a mapping with group, kind and name");
        return None;
    }
    let kind = cx.str(n, "kind");
    let name = cx.str(n, "name");
    match (kind, name) {
        (Some(kind), Some(name)) => Some(PolicyTargetRef {
            group: cx.str(n, "group"),
            kind,
            name,
            namespace: cx.str(n, "namespace"),
        }),
        _ => {
            cx.error(
                "k8s-shape",
                n,
                "targetRef without kind or name",
                "targetRef: {group, kind, name}",
            );
            None
        }
    }
}

fn ip_list(cx: &mut Cx<'_>, n: &Node, key: &str) -> Vec<ipnet::IpNet> {
    cx.cidrs(n, key, true)
}

fn port_list(cx: &mut Cx<'_>, n: &Node, key: &str) -> Vec<u16> {
    let items = cx.seq(n, key);
    items.iter().filter_map(|i| cx.port_value(i, key)).collect()
}

fn authz_rule(cx: &mut Cx<'_>, r: &Node, index: usize) -> Option<AuthzRule> {
    if !r.is_map() {
        cx.shape(r, "rules[]", "a rule with from, to and when");
        return None;
    }
    let from = cx.opt_seq(r, "from").map(|items| {
        let mut out = Vec::new();
        for f in items {
            let e = empty();
            let s = cx.obj(f, "source").unwrap_or(&e);
            out.push(AuthzSource {
                principals: cx.strings(s, "principals"),
                not_principals: cx.strings(s, "notPrincipals"),
                request_principals: cx.strings(s, "requestPrincipals"),
                not_request_principals: cx.strings(s, "notRequestPrincipals"),
                namespaces: cx.strings(s, "namespaces"),
                not_namespaces: cx.strings(s, "notNamespaces"),
                service_accounts: cx.strings(s, "serviceAccounts"),
                not_service_accounts: cx.strings(s, "notServiceAccounts"),
                ip_blocks: ip_list(cx, s, "ipBlocks"),
                not_ip_blocks: ip_list(cx, s, "notIpBlocks"),
                remote_ip_blocks: ip_list(cx, s, "remoteIpBlocks"),
                not_remote_ip_blocks: ip_list(cx, s, "notRemoteIpBlocks"),
            });
        }
        out
    });
    let to = cx.opt_seq(r, "to").map(|items| {
        let mut out = Vec::new();
        for t in items {
            let e = empty();
            let o = cx.obj(t, "operation").unwrap_or(&e);
            out.push(AuthzOperation {
                ports: port_list(cx, o, "ports"),
                not_ports: port_list(cx, o, "notPorts"),
                methods: cx.strings(o, "methods"),
                not_methods: cx.strings(o, "notMethods"),
                paths: cx.strings(o, "paths"),
                not_paths: cx.strings(o, "notPaths"),
                hosts: cx.strings(o, "hosts"),
                not_hosts: cx.strings(o, "notHosts"),
            });
        }
        out
    });
    let when = cx.opt_seq(r, "when").map(|items| {
        let mut out = Vec::new();
        for w in items {
            let Some(key) = cx.str(w, "key") else {
                cx.error(
                    "k8s-shape",
                    w,
                    "condition without key",
                    "when[]: {key, values, notValues}",
                );
                continue;
            };
            out.push(AuthzCondition {
                key,
                values: cx.strings(w, "values"),
                not_values: cx.strings(w, "notValues"),
            });
        }
        out
    });
    Some(AuthzRule {
        at: cx.prov(r),
        index,
        from,
        to,
        when,
    })
}

/// `security.istio.io AuthorizationPolicy`.
pub(super) fn authorization_policy(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "AuthorizationPolicy");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let selector = workload_selector(cx, spec);
    let mut target_refs = Vec::new();
    if let Some(t) = spec.get("targetRef") {
        target_refs.extend(target_ref(cx, t));
    }
    for t in cx.seq(spec, "targetRefs") {
        target_refs.extend(target_ref(cx, t));
    }
    if selector.is_some() && !target_refs.is_empty() {
        cx.error(
            "k8s-shape",
            spec,
            "selector and targetRef(s) are both set",
            "either selector or targetRefs",
        );
    }
    let action = match spec.get("action") {
        None => AuthzAction::Allow,
        Some(v) => match cx.as_str(v, "action").as_deref() {
            Some("ALLOW") | None => AuthzAction::Allow,
            Some("DENY") => AuthzAction::Deny,
            Some("AUDIT") => AuthzAction::Audit,
            Some("CUSTOM") => AuthzAction::Custom,
            Some(other) => {
                cx.error(
                    "k8s-shape",
                    v,
                    format!("unknown action {other:?}"),
                    "action: ALLOW, DENY, AUDIT or CUSTOM",
                );
                AuthzAction::Allow
            }
        },
    };
    let provider = cx.obj(spec, "provider").and_then(|p| cx.str(p, "name"));
    if action == AuthzAction::Custom && provider.is_none() {
        cx.error(
            "k8s-shape",
            spec,
            "CUSTOM action without provider",
            "provider: {name: <extension provider>}",
        );
    }
    let rules = cx.opt_seq(spec, "rules").map(|items| {
        let mut rules = Vec::new();
        for (i, r) in items.iter().enumerate() {
            rules.extend(authz_rule(cx, r, i));
        }
        rules
    });
    out.authorization_policies.push(AuthorizationPolicy {
        meta: meta.clone(),
        selector,
        target_refs,
        action,
        provider,
        rules,
    });
    Some(meta)
}

fn spec_json<'a>(cx: &mut Cx<'_>, doc: &Node<'a>) -> (serde_json::Value, Node<'a>) {
    match cx.obj(doc, "spec") {
        Some(s) => (s.to_json(), s.clone()),
        None => (serde_json::Value::Object(Default::default()), empty()),
    }
}

/// `networking.istio.io ServiceEntry`.
pub(super) fn service_entry(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "ServiceEntry");
    let (json, spec) = spec_json(cx, doc);
    out.service_entries.push(ServiceEntry {
        meta: meta.clone(),
        hosts: cx.strings(&spec, "hosts"),
        addresses: cx.strings(&spec, "addresses"),
        location: cx.str(&spec, "location"),
        resolution: cx.str(&spec, "resolution"),
        spec: json,
    });
    Some(meta)
}

/// `networking.istio.io Gateway`.
pub(super) fn gateway(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "Gateway");
    let (json, spec) = spec_json(cx, doc);
    out.gateways.push(IstioGateway {
        meta: meta.clone(),
        selector: cx.str_map(&spec, "selector"),
        spec: json,
    });
    Some(meta)
}

/// `networking.istio.io VirtualService`.
pub(super) fn virtual_service(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "VirtualService");
    let (json, spec) = spec_json(cx, doc);
    out.virtual_services.push(VirtualService {
        meta: meta.clone(),
        hosts: cx.strings(&spec, "hosts"),
        gateways: cx.strings(&spec, "gateways"),
        spec: json,
    });
    Some(meta)
}

/// `networking.istio.io DestinationRule`.
pub(super) fn destination_rule(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "DestinationRule");
    let (json, spec) = spec_json(cx, doc);
    let tls_mode = spec
        .get("trafficPolicy")
        .and_then(|t| t.get("tls"))
        .and_then(|t| cx.str(t, "mode"));
    out.destination_rules.push(DestinationRule {
        meta: meta.clone(),
        host: cx.str(&spec, "host"),
        tls_mode,
        spec: json,
    });
    Some(meta)
}
