//! AuthorizationPolicy scope and rule matching (istio.md §3-§6).

use super::matching::{self, field, glob, glob_ci, ip_field, parse_net, M};
use super::{HttpAttrs, MeshConfig};
use crate::model::cluster::{
    AuthorizationPolicy, AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, Pod,
};
use std::net::IpAddr;

/// The request attributes a rule is matched against.
pub(crate) struct Attrs<'a> {
    /// Peer identity without `spiffe://` (`<td>/ns/<ns>/sa/<sa>`); empty on plain text.
    pub identity: String,
    /// Namespace from the peer identity; empty on plain text.
    pub src_namespace: String,
    /// `<ns>/<sa>` from the peer identity; empty on plain text.
    pub src_service_account: String,
    /// `source.ip` as the server proxy sees it.
    pub src_ip: Option<IpAddr>,
    /// `remote.ip` (X-Forwarded-For / PROXY protocol), falling back to `source.ip`.
    pub remote_ip: Option<IpAddr>,
    /// `destination.ip`.
    pub dst_ip: Option<IpAddr>,
    /// `destination.port` (workload port).
    pub dst_port: u16,
    /// HTTP attributes; `None` = the port is plain TCP to the proxy.
    pub http: Option<&'a HttpAttrs>,
    /// Trust domains a policy principal may be written with (`cluster.local`, current, aliases).
    pub domains: Vec<String>,
}

/// Whether `p` applies to the sidecar of `dst` (istio.md §3), or why not.
pub(crate) fn applies(p: &AuthorizationPolicy, dst: &Pod, mesh: &MeshConfig) -> Result<(), String> {
    let pns = p.meta.namespace_or_default();
    let dns = dst.meta.namespace_or_default();
    if !p.target_refs.is_empty() {
        let gateway = p.target_refs.iter().any(|t| {
            t.kind == "Gateway"
                && t.group
                    .as_deref()
                    .is_none_or(|g| g == "gateway.networking.k8s.io")
                && t.namespace.as_deref().is_none_or(|n| n == pns)
                && pns == dns
                && dst
                    .meta
                    .labels
                    .get("gateway.networking.k8s.io/gateway-name")
                    .is_some_and(|n| *n == t.name)
        });
        return if gateway {
            Ok(())
        } else {
            Err("targetRefs policy applies to gateways/waypoints, not this workload".into())
        };
    }
    if pns != dns && pns != mesh.root_namespace {
        return Err("other namespace".into());
    }
    match &p.selector {
        Some(sel) if !sel.is_empty() => {
            if sel.iter().all(|(k, v)| dst.meta.labels.get(k) == Some(v)) {
                Ok(())
            } else {
                Err("selector does not match".into())
            }
        }
        _ => Ok(()),
    }
}

/// The HTTP-only fields a rule uses (`hosts`, `methods`, `paths`, `requestPrincipals`, their
/// `not` forms and `request.*` condition keys).
pub(crate) fn http_only_fields(r: &AuthzRule) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |used: bool, name: &str| {
        if used && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    };
    for s in r.from.iter().flatten() {
        add(!s.request_principals.is_empty(), "requestPrincipals");
        add(!s.not_request_principals.is_empty(), "notRequestPrincipals");
    }
    for o in r.to.iter().flatten() {
        add(!o.methods.is_empty(), "methods");
        add(!o.not_methods.is_empty(), "notMethods");
        add(!o.paths.is_empty(), "paths");
        add(!o.not_paths.is_empty(), "notPaths");
        add(!o.hosts.is_empty(), "hosts");
        add(!o.not_hosts.is_empty(), "notHosts");
    }
    for c in r.when.iter().flatten() {
        add(c.key.starts_with("request."), &format!("when {}", c.key));
    }
    out
}

/// Matches one rule. On plain TCP, HTTP-only fields make an ALLOW rule never match and are
/// treated as matching for DENY and CUSTOM (istio.md §5); the caller handles the ALLOW case
/// through [`http_only_fields`] and this function treats them as matching.
pub(crate) fn rule(p: &AuthorizationPolicy, r: &AuthzRule, a: &Attrs<'_>) -> M {
    let pns = p.meta.namespace_or_default();
    let from = match &r.from {
        Some(v) if !v.is_empty() => M::or(v.iter().map(|s| source(s, a, pns))),
        _ => M::Yes,
    };
    let to = match &r.to {
        Some(v) if !v.is_empty() => M::or(v.iter().map(|o| operation(o, a))),
        _ => M::Yes,
    };
    let when = M::and(r.when.iter().flatten().map(|c| condition(c, a)));
    M::and([from, to, when])
}

fn source(s: &AuthzSource, a: &Attrs<'_>, pns: &str) -> M {
    let sa_match = |v: &str, attr: &str| {
        let full = if v.contains('/') {
            v.to_string()
        } else {
            format!("{pns}/{v}")
        };
        !attr.is_empty() && full == attr
    };
    let pr = |v: &str, attr: &str| matching::principal(v, attr, &a.domains);
    let mut parts: Vec<M> = Vec::new();
    parts.extend(field(
        "principals",
        &s.principals,
        &s.not_principals,
        &a.identity,
        pr,
    ));
    parts.extend(field(
        "namespaces",
        &s.namespaces,
        &s.not_namespaces,
        &a.src_namespace,
        glob,
    ));
    parts.extend(field(
        "serviceAccounts",
        &s.service_accounts,
        &s.not_service_accounts,
        &a.src_service_account,
        sa_match,
    ));
    parts.extend(ip_field(
        "ipBlocks",
        &s.ip_blocks,
        &s.not_ip_blocks,
        a.src_ip,
        "needs the source IP",
    ));
    parts.extend(ip_field(
        "remoteIpBlocks",
        &s.remote_ip_blocks,
        &s.not_remote_ip_blocks,
        a.remote_ip.or(a.src_ip),
        "needs the original client IP",
    ));
    if (!s.request_principals.is_empty() || !s.not_request_principals.is_empty())
        && a.http.is_some()
    {
        parts.push(M::Unknown(vec![
            "requestPrincipals: needs the request's JWT (RequestAuthentication)".into(),
        ]));
    }
    M::and(parts)
}

fn http_field(
    name: &str,
    flag: &str,
    values: &[String],
    not_values: &[String],
    attr: Option<&str>,
    http: bool,
    matcher: impl Fn(&str, &str) -> bool,
) -> Option<M> {
    if values.is_empty() && not_values.is_empty() {
        return None;
    }
    if !http {
        return Some(M::Yes); // HTTP-only on TCP: only reached for DENY/CUSTOM (matches).
    }
    match attr {
        Some(v) => field(name, values, not_values, v, matcher),
        None => Some(M::Unknown(vec![format!("{name}: needs {flag}")])),
    }
}

fn operation(o: &AuthzOperation, a: &Attrs<'_>) -> M {
    let port = a.dst_port.to_string();
    let ports: Vec<String> = o.ports.iter().map(|p| p.to_string()).collect();
    let not_ports: Vec<String> = o.not_ports.iter().map(|p| p.to_string()).collect();
    let http = a.http.is_some();
    let h = a.http;
    let mut parts: Vec<M> = Vec::new();
    parts.extend(field("ports", &ports, &not_ports, &port, |v, x| v == x));
    parts.extend(http_field(
        "methods",
        "--http-method",
        &o.methods,
        &o.not_methods,
        h.and_then(|h| h.method.as_deref()),
        http,
        glob,
    ));
    parts.extend(http_field(
        "paths",
        "--http-path",
        &o.paths,
        &o.not_paths,
        h.and_then(|h| h.path.as_deref()),
        http,
        matching::path,
    ));
    parts.extend(http_field(
        "hosts",
        "--http-host",
        &o.hosts,
        &o.not_hosts,
        h.and_then(|h| h.host.as_deref()),
        http,
        glob_ci,
    ));
    M::and(parts)
}

fn ip_condition(c: &AuthzCondition, attr: Option<IpAddr>) -> M {
    let parse = |v: &[String]| -> Result<Vec<ipnet::IpNet>, String> {
        v.iter()
            .map(|s| parse_net(s).ok_or_else(|| s.clone()))
            .collect()
    };
    match (parse(&c.values), parse(&c.not_values)) {
        (Ok(v), Ok(n)) => ip_field(&c.key, &v, &n, attr, "needs the address").unwrap_or(M::Yes),
        (Err(bad), _) | (_, Err(bad)) => M::Unknown(vec![format!(
            "when {}: value {bad:?} is not an IP or CIDR",
            c.key
        )]),
    }
}

fn condition(c: &AuthzCondition, a: &Attrs<'_>) -> M {
    let key = c.key.as_str();
    let named = |m: Option<M>| m.unwrap_or(M::Yes);
    match key {
        "source.ip" => ip_condition(c, a.src_ip),
        "remote.ip" => ip_condition(c, a.remote_ip.or(a.src_ip)),
        "destination.ip" => ip_condition(c, a.dst_ip),
        "source.namespace" => named(field(
            "when source.namespace",
            &c.values,
            &c.not_values,
            &a.src_namespace,
            glob,
        )),
        "source.principal" => named(field(
            "when source.principal",
            &c.values,
            &c.not_values,
            &a.identity,
            |v, x| matching::principal(v, x, &a.domains),
        )),
        "destination.port" => named(field(
            "when destination.port",
            &c.values,
            &c.not_values,
            &a.dst_port.to_string(),
            |v, x| v == x,
        )),
        k if k.starts_with("request.headers[") && k.ends_with(']') => {
            let Some(http) = a.http else {
                return M::Yes; // HTTP-only on TCP (DENY/CUSTOM only reach here).
            };
            let name = &k["request.headers[".len()..k.len() - 1];
            match &http.headers {
                Some(hs) => {
                    let v = hs
                        .iter()
                        .find(|(hk, _)| hk.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("");
                    named(field(
                        &format!("when {k}"),
                        &c.values,
                        &c.not_values,
                        v,
                        glob,
                    ))
                }
                None => M::Unknown(vec![format!("when {k}: needs --http-header {name}")]),
            }
        }
        k if k.starts_with("request.") => {
            if a.http.is_none() {
                M::Yes
            } else {
                M::Unknown(vec![format!(
                    "when {k}: needs the request's JWT (RequestAuthentication)"
                )])
            }
        }
        k => M::Unknown(vec![format!(
            "when {k}: condition key not evaluated by netpath"
        )]),
    }
}

/// True for actions that decide (AUDIT never changes the decision).
pub(crate) fn enforcing(a: AuthzAction) -> bool {
    !matches!(a, AuthzAction::Audit)
}
