//! Three-valued matching and Istio's string matching rules (exact, prefix `abc*`, suffix
//! `*abc`, presence `*`, path templates `{*}`/`{**}`, trust-domain aliasing of principals).

use ipnet::IpNet;
use std::net::IpAddr;

/// The result of matching one field, source, operation, condition or rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum M {
    /// Matches.
    Yes,
    /// Does not match; the reason names the field that failed.
    No(String),
    /// Cannot be decided from what the request gives; what would settle it.
    Unknown(Vec<String>),
}

impl M {
    /// Conjunction (Kleene): any `No` wins, then any `Unknown`.
    pub(crate) fn and(items: impl IntoIterator<Item = M>) -> M {
        let mut unknown = Vec::new();
        let mut any_unknown = false;
        for m in items {
            match m {
                M::No(r) => return M::No(r),
                M::Unknown(r) => {
                    any_unknown = true;
                    unknown.extend(r)
                }
                M::Yes => {}
            }
        }
        if !any_unknown {
            M::Yes
        } else {
            M::Unknown(unknown)
        }
    }

    /// Disjunction (Kleene): any `Yes` wins, then any `Unknown`; the `No` reasons are joined.
    pub(crate) fn or(items: impl IntoIterator<Item = M>) -> M {
        let mut unknown = Vec::new();
        let mut any_unknown = false;
        let mut no = Vec::new();
        for m in items {
            match m {
                M::Yes => return M::Yes,
                M::Unknown(r) => {
                    any_unknown = true;
                    unknown.extend(r)
                }
                M::No(r) => no.push(r),
            }
        }
        if any_unknown {
            M::Unknown(unknown)
        } else {
            no.dedup();
            M::No(no.join("; "))
        }
    }
}

/// Istio string matching: exact, `*` = present (non-empty), `abc*` prefix, `*abc` suffix.
pub(crate) fn glob(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return !value.is_empty();
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return value.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return value.ends_with(suffix);
    }
    pattern == value
}

/// `glob` ignoring ASCII case (hosts, header names).
pub(crate) fn glob_ci(pattern: &str, value: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &value.to_ascii_lowercase())
}

/// A value list and its `not` form against one attribute value, with `matcher`.
/// Returns `None` when neither list is set (the field does not constrain).
pub(crate) fn field(
    name: &str,
    values: &[String],
    not_values: &[String],
    attr: &str,
    matcher: impl Fn(&str, &str) -> bool,
) -> Option<M> {
    if values.is_empty() && not_values.is_empty() {
        return None;
    }
    let shown = if attr.is_empty() { "(empty)" } else { attr };
    if !values.is_empty() && !values.iter().any(|v| matcher(v, attr)) {
        return Some(M::No(format!("{name}: {shown} not in {values:?}")));
    }
    let not_name = not_field_name(name);
    if not_values.iter().any(|v| matcher(v, attr)) {
        return Some(M::No(format!("{not_name}: {shown} in {not_values:?}")));
    }
    Some(M::Yes)
}

/// `methods` → `notMethods`.
pub(crate) fn not_field_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => format!("not{}{}", f.to_ascii_uppercase(), c.as_str()),
        None => String::from("not"),
    }
}

/// CIDR lists (`ipBlocks`/`notIpBlocks`, `remoteIpBlocks`/...) against an address.
pub(crate) fn ip_field(
    name: &str,
    values: &[IpNet],
    not_values: &[IpNet],
    attr: Option<IpAddr>,
    missing: &str,
) -> Option<M> {
    if values.is_empty() && not_values.is_empty() {
        return None;
    }
    let Some(ip) = attr else {
        return Some(M::Unknown(vec![format!("{name}: {missing}")]));
    };
    if !values.is_empty() && !values.iter().any(|n| n.contains(&ip)) {
        return Some(M::No(format!("{name}: {ip} not in {}", nets(values))));
    }
    if not_values.iter().any(|n| n.contains(&ip)) {
        return Some(M::No(format!(
            "{}: {ip} in {}",
            not_field_name(name),
            nets(not_values)
        )));
    }
    Some(M::Yes)
}

fn nets(v: &[IpNet]) -> String {
    let parts: Vec<String> = v.iter().map(|n| n.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Parses a condition value as an IP or CIDR (`when: source.ip`).
pub(crate) fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Matches a policy principal against a peer identity `<td>/ns/<ns>/sa/<sa>` (without
/// `spiffe://`). The trust domain of the policy value may be the current domain, any alias or
/// `cluster.local` (a pointer to the current domain); all of them are tried.
pub(crate) fn principal(pattern: &str, identity: &str, domains: &[String]) -> bool {
    if identity.is_empty() {
        return glob(pattern, identity);
    }
    let rest = match identity.find('/') {
        Some(i) => &identity[i..],
        None => return glob(pattern, identity),
    };
    if glob(pattern, identity) {
        return true;
    }
    domains.iter().any(|d| glob(pattern, &format!("{d}{rest}")))
}

/// Istio's path matching after normalization: exact, presence, prefix, suffix, and the
/// `{*}` (one segment) / `{**}` (any rest) templates.
pub(crate) fn path(pattern: &str, raw: &str) -> bool {
    let value = normalize_path(raw);
    if pattern.contains("{*}") || pattern.contains("{**}") {
        return template(pattern, &value);
    }
    glob(pattern, &value)
}

fn template(pattern: &str, value: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    let val: Vec<&str> = value.split('/').collect();
    let mut i = 0;
    for (k, p) in pat.iter().enumerate() {
        if *p == "{**}" {
            // Matches the rest (one or more segments) only as the last operator.
            return k + 1 == pat.len() && i < val.len() && !val[i..].join("/").is_empty();
        }
        let Some(v) = val.get(i) else { return false };
        let ok = if *p == "{*}" { !v.is_empty() } else { p == v };
        if !ok {
            return false;
        }
        i += 1;
    }
    i == val.len()
}

/// Drops the query and fragment, merges duplicate slashes and resolves `.`/`..` segments
/// (Istio's default `BASE` normalization plus `MERGE_SLASHES`).
pub(crate) fn normalize_path(raw: &str) -> String {
    let p = raw.split(['?', '#']).next().unwrap_or_default();
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let trailing = p.len() > 1 && p.ends_with('/');
    let mut s = format!("/{}", out.join("/"));
    if trailing && s != "/" {
        s.push('/');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", "x"));
        assert!(!glob("*", ""));
        assert!(glob("/api/*", "/api/v1"));
        assert!(glob("*.svc", "a.svc"));
        assert!(!glob("a", "b"));
        assert!(glob_ci("Example.COM", "example.com"));
    }

    #[test]
    fn paths() {
        assert!(path("/a/b", "/a/./x/../b?q=1"));
        assert!(path("/a/{*}/c", "/a/b/c"));
        assert!(!path("/a/{*}/c", "/a/b/d/c"));
        assert!(path("/a/{**}", "/a/b/d/c"));
        assert!(!path("/a/{**}", "/a"));
        assert!(path("/a//b", "/a/b") || path("/a/b", "/a//b"));
    }

    #[test]
    fn principals() {
        let d = vec!["cluster.local".to_string(), "old-td".to_string()];
        assert!(principal("cluster.local/ns/a/sa/b", "my-td/ns/a/sa/b", &d));
        assert!(principal("old-td/ns/a/sa/b", "my-td/ns/a/sa/b", &d));
        assert!(!principal("other/ns/a/sa/b", "my-td/ns/a/sa/b", &d));
        assert!(principal("*/ns/a/sa/b", "my-td/ns/a/sa/b", &d));
        assert!(!principal("*", "", &d));
    }

    #[test]
    fn kleene() {
        assert_eq!(M::and([M::Yes, M::Unknown(vec![])]), M::Unknown(vec![]));
        assert!(matches!(
            M::and([M::Unknown(vec![]), M::No("x".into())]),
            M::No(_)
        ));
        assert_eq!(M::or([M::No("a".into()), M::Yes]), M::Yes);
    }
}
