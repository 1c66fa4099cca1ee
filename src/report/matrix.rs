//! Rendering the connectivity matrix: text, the contract's JSON, CSV, and the peer tool's
//! connlist (`src => dst : conns`, netpol-analyzer's `list` format).

use crate::matrix::{ipranges, Matrix, MatrixEndpoint};
use crate::policy::netpol::ConnSet;
use serde_json::{json, Value};

use std::net::Ipv4Addr;

/// The contract's names for an endpoint: `NS/NAME`, `NS/NAME[Kind]`, `{ingress-controller}`,
/// and for an external range one `ip:CIDR` per CIDR of its exact decomposition.
pub fn contract_names(e: &MatrixEndpoint) -> Vec<String> {
    match e {
        MatrixEndpoint::Pod { namespace, name } => vec![format!("{namespace}/{name}")],
        MatrixEndpoint::Workload {
            namespace,
            name,
            kind,
        } => vec![format!("{namespace}/{name}[{kind}]")],
        MatrixEndpoint::External { lo, hi } => ipranges::to_cidrs((*lo, *hi))
            .iter()
            .map(|n| format!("ip:{n}"))
            .collect(),
        MatrixEndpoint::IngressController => vec!["{ingress-controller}".to_string()],
    }
}

/// The peer tool's name: `ns/name[Kind]` (a pod: `ns/name[Pod]`), `a.b.c.d-e.f.g.h[External]`,
/// `{ingress-controller}`.
pub fn connlist_name(e: &MatrixEndpoint) -> String {
    match e {
        MatrixEndpoint::Pod { namespace, name } => format!("{namespace}/{name}[Pod]"),
        MatrixEndpoint::Workload {
            namespace,
            name,
            kind,
        } => format!("{namespace}/{name}[{kind}]"),
        MatrixEndpoint::External { lo, hi } => {
            format!("{}-{}[External]", Ipv4Addr::from(*lo), Ipv4Addr::from(*hi))
        }
        MatrixEndpoint::IngressController => "{ingress-controller}".to_string(),
    }
}

/// Connlist text: one `src => dst : conns` line per pair, sorted as byte strings. Pairs whose
/// only allowed traffic is port-less (ICMP, …), which the peer model cannot express, are left
/// out.
pub fn render_connlist(m: &Matrix) -> String {
    let mut lines: Vec<String> = m
        .cells
        .iter()
        .filter(|c| !m.conns(c).groups().is_empty())
        .map(|c| {
            let (s, d) = m.ends(c);
            format!(
                "{} => {} : {}",
                connlist_name(s),
                connlist_name(d),
                m.conns(c)
            )
        })
        .collect();
    lines.sort();
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The contract's `allowed` value: `"all"`, or `[{protocol, ports}]` (protocols SCTP, TCP,
/// UDP; `{"protocol": "OTHER"}` stands for every port-less protocol such as ICMP).
pub fn allowed_json(c: &ConnSet) -> Value {
    if c.is_all() {
        return json!("all");
    }
    let mut v: Vec<Value> = c
        .groups()
        .iter()
        .map(|(p, s)| json!({"protocol": p.to_string().to_ascii_uppercase(), "ports": s.to_string()}))
        .collect();
    if c.includes_portless() {
        v.push(json!({"protocol": "OTHER"}));
    }
    Value::Array(v)
}

fn expand<'a>(m: &'a Matrix) -> impl Iterator<Item = (String, String, &'a ConnSet)> + 'a {
    m.cells.iter().flat_map(move |c| {
        let (s, d) = m.ends(c);
        let srcs = contract_names(s);
        let dsts = contract_names(d);
        let conns = m.conns(c);
        srcs.into_iter()
            .flat_map(move |s| dsts.clone().into_iter().map(move |d| (s.clone(), d, conns)))
    })
}

fn endpoint_list(m: &Matrix) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    m.endpoints
        .iter()
        .flat_map(contract_names)
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The contract's JSON: `{"endpoints": [...], "connections": [{src, dst, allowed}]}`, one
/// connection per line. Written as a stream (each distinct connection set rendered once), so
/// that matrices with millions of pairs need no document tree in memory.
pub fn render_json(m: &Matrix) -> String {
    let allowed: Vec<String> = m
        .sets
        .iter()
        .map(|c| serde_json::to_string(&allowed_json(c)).unwrap_or_default())
        .collect();
    let mut out = String::from("{\n  \"endpoints\": [");
    for (i, e) in endpoint_list(m).iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        out.push_str(&json_str(e));
    }
    out.push_str("\n  ],\n  \"connections\": [");
    let mut first = true;
    for c in &m.cells {
        let (s, d) = m.ends(c);
        let a = &allowed[c.set as usize];
        for sn in contract_names(s) {
            for dn in contract_names(d) {
                out.push_str(if first { "\n    " } else { ",\n    " });
                first = false;
                out.push_str(&format!(
                    "{{\"src\": {}, \"dst\": {}, \"allowed\": {a}}}",
                    json_str(&sn),
                    json_str(&dn)
                ));
            }
        }
    }
    out.push_str("\n  ]\n}\n");
    out
}

fn human(c: &ConnSet) -> String {
    if c.is_all() {
        return "all".into();
    }
    let mut parts: Vec<String> = c
        .groups()
        .iter()
        .map(|(p, s)| format!("{} {}", p.to_string().to_ascii_uppercase(), s))
        .collect();
    if c.includes_portless() {
        parts.push("other protocols".into());
    }
    parts.join(", ")
}

/// Text: a summary line, then `src -> dst: allowed` per pair.
pub fn render_text(m: &Matrix) -> String {
    let mut out = format!(
        "{} endpoints ({} policy classes), {} allowed pairs\n",
        endpoint_list(m).len(),
        m.classes,
        m.cells.len()
    );
    for (s, d, c) in expand(m) {
        out.push_str(&format!("{s} -> {d}: {}\n", human(c)));
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV: `src,dst,protocol,ports`, one row per protocol group (`all` for everything).
pub fn render_csv(m: &Matrix) -> String {
    let mut out = String::from("src,dst,protocol,ports\n");
    for (s, d, c) in expand(m) {
        let (s, d) = (csv_field(&s), csv_field(&d));
        if c.is_all() {
            out.push_str(&format!("{s},{d},all,\n"));
            continue;
        }
        for (p, ports) in c.groups() {
            out.push_str(&format!(
                "{s},{d},{},{}\n",
                p.to_string().to_ascii_uppercase(),
                csv_field(&ports.to_string())
            ));
        }
        if c.includes_portless() {
            out.push_str(&format!("{s},{d},OTHER,\n"));
        }
    }
    out
}
