//! Rendering the connectivity matrix: text, the contract's JSON, CSV, and the peer tool's
//! connlist (`src => dst : conns`, netpol-analyzer's `list` format).

use crate::eval::ports::PortSet;
use crate::matrix::istio::L7Narrowing;
use crate::matrix::{ipranges, Matrix, MatrixEndpoint};
use crate::model::Protocol;
use crate::policy::netpol::ConnSet;
use serde_json::{json, Value};

use std::io::{self, Write};
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
        .cells()
        .filter(|c| !m.conns(c).groups().is_empty())
        .map(|c| {
            let (s, d) = m.ends(&c);
            format!(
                "{} => {} : {}",
                connlist_name(s),
                connlist_name(d),
                m.conns(&c)
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
    allowed_json_l7(c, &[])
}

/// TCP ports of `c` that no narrowing covers.
fn plain_tcp(c: &ConnSet, l7: &[L7Narrowing]) -> PortSet {
    let mut plain = c.ports(Protocol::Tcp);
    for n in l7 {
        plain = plain.minus(&n.ports);
    }
    plain
}

/// One narrowed TCP entry: `{protocol, ports, methods?, paths?, hosts?, conditions?}` (a list
/// key only when non-empty).
fn narrowing_json(n: &L7Narrowing) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("protocol".into(), json!("TCP"));
    o.insert("ports".into(), json!(n.ports.to_string()));
    for (k, v) in [
        ("methods", &n.methods),
        ("paths", &n.paths),
        ("hosts", &n.hosts),
        ("conditions", &n.conditions),
    ] {
        if !v.is_empty() {
            o.insert(k.into(), json!(v));
        }
    }
    Value::Object(o)
}

/// [`allowed_json`] with Istio's L7 narrowings: the narrowed TCP ports appear as separate TCP
/// entries carrying `methods`/`paths`/`hosts` (what an ALLOW rule admits) and `conditions`
/// (everything undecidable, as the evaluator states it).
pub fn allowed_json_l7(c: &ConnSet, l7: &[L7Narrowing]) -> Value {
    if c.is_all() && l7.is_empty() {
        return json!("all");
    }
    let mut v: Vec<Value> = Vec::new();
    for (p, s) in c.groups() {
        if p == Protocol::Tcp && !l7.is_empty() {
            let plain = plain_tcp(c, l7);
            if !plain.is_empty() {
                v.push(json!({"protocol": "TCP", "ports": plain.to_string()}));
            }
            v.extend(l7.iter().map(narrowing_json));
        } else {
            v.push(json!({"protocol": p.to_string().to_ascii_uppercase(), "ports": s.to_string()}));
        }
    }
    if c.includes_portless() {
        v.push(json!({"protocol": "OTHER"}));
    }
    Value::Array(v)
}

/// A one-line rendering of a narrowing: `TCP 9090 only methods GET,POST; if …`.
fn narrowing_text(n: &L7Narrowing) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("methods", &n.methods),
        ("paths", &n.paths),
        ("hosts", &n.hosts),
    ] {
        if !v.is_empty() {
            parts.push(format!("{k} {}", v.join(",")));
        }
    }
    if !n.conditions.is_empty() {
        parts.push(format!("undecidable: {}", n.conditions.join("; ")));
    }
    parts.join("; ")
}

type Expanded<'a> = (String, String, &'a ConnSet, &'a [L7Narrowing]);

fn expand<'a>(m: &'a Matrix) -> impl Iterator<Item = Expanded<'a>> + 'a {
    m.cells().flat_map(move |c| {
        let (s, d) = m.ends(&c);
        let srcs = contract_names(s);
        let dsts = contract_names(d);
        let conns = m.conns(&c);
        let l7 = m.narrowings(&c);
        srcs.into_iter().flat_map(move |s| {
            dsts.clone()
                .into_iter()
                .map(move |d| (s.clone(), d, conns, l7))
        })
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
    to_string(|w| write_json(m, w))
}

/// [`render_json`] written to `w` as it is produced (nothing of the size of the output is held).
pub fn write_json(m: &Matrix, w: &mut dyn Write) -> io::Result<()> {
    let allowed: Vec<String> = m
        .sets
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let l7 = m.l7.get(i).map_or(&[][..], |v| v.as_slice());
            serde_json::to_string(&allowed_json_l7(c, l7)).unwrap_or_default()
        })
        .collect();
    w.write_all(b"{\n  \"endpoints\": [")?;
    for (i, e) in endpoint_list(m).iter().enumerate() {
        w.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
        w.write_all(json_str(e).as_bytes())?;
    }
    w.write_all(b"\n  ],\n  \"connections\": [")?;
    let mut first = true;
    for c in m.cells() {
        let (s, d) = m.ends(&c);
        let a = &allowed[c.set as usize];
        for sn in contract_names(s) {
            for dn in contract_names(d) {
                w.write_all(if first { b"\n    " } else { b",\n    " })?;
                first = false;
                write!(
                    w,
                    "{{\"src\": {}, \"dst\": {}, \"allowed\": {a}}}",
                    json_str(&sn),
                    json_str(&dn)
                )?;
            }
        }
    }
    w.write_all(b"\n  ]\n}\n")
}

/// What `write` writes, as a string (the writers only ever write UTF-8).
fn to_string(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write(&mut buf);
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn human(c: &ConnSet, l7: &[L7Narrowing]) -> String {
    if c.is_all() && l7.is_empty() {
        return "all".into();
    }
    let mut parts: Vec<String> = Vec::new();
    for (p, s) in c.groups() {
        if p == Protocol::Tcp && !l7.is_empty() {
            let plain = plain_tcp(c, l7);
            if !plain.is_empty() {
                parts.push(format!("TCP {plain}"));
            }
            for n in l7 {
                parts.push(format!("TCP {} [L7: {}]", n.ports, narrowing_text(n)));
            }
        } else {
            parts.push(format!("{} {}", p.to_string().to_ascii_uppercase(), s));
        }
    }
    if c.includes_portless() {
        parts.push("other protocols".into());
    }
    parts.join(", ")
}

/// Text: a summary line (with the layers combined), then `src -> dst: allowed` per pair; TCP
/// ports that Istio allows only for some requests carry `[L7: …]`.
pub fn render_text(m: &Matrix) -> String {
    to_string(|w| write_text(m, w))
}

/// [`render_text`] written to `w` as it is produced.
pub fn write_text(m: &Matrix, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "{} endpoints ({} policy classes), {} allowed pairs; layers: {}",
        endpoint_list(m).len(),
        m.classes,
        m.cell_count(),
        m.layers.names()
    )?;
    for (s, d, c, l7) in expand(m) {
        writeln!(w, "{s} -> {d}: {}", human(c, l7))?;
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV: `src,dst,protocol,ports,l7`, one row per protocol group (`all` for everything); TCP
/// ports that Istio allows only for some requests get their own rows with the `l7` column
/// (`methods GET,POST; undecidable: …`), empty elsewhere.
pub fn render_csv(m: &Matrix) -> String {
    to_string(|w| write_csv(m, w))
}

/// [`render_csv`] written to `w` as it is produced.
pub fn write_csv(m: &Matrix, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(b"src,dst,protocol,ports,l7\n")?;
    for (s, d, c, l7) in expand(m) {
        let (s, d) = (csv_field(&s), csv_field(&d));
        if c.is_all() && l7.is_empty() {
            writeln!(w, "{s},{d},all,,")?;
            continue;
        }
        for (p, ports) in c.groups() {
            if p == Protocol::Tcp && !l7.is_empty() {
                let plain = plain_tcp(c, l7);
                if !plain.is_empty() {
                    writeln!(w, "{s},{d},TCP,{},", csv_field(&plain.to_string()))?;
                }
                for n in l7 {
                    writeln!(
                        w,
                        "{s},{d},TCP,{},{}",
                        csv_field(&n.ports.to_string()),
                        csv_field(&narrowing_text(n))
                    )?;
                }
                continue;
            }
            writeln!(
                w,
                "{s},{d},{},{},",
                p.to_string().to_ascii_uppercase(),
                csv_field(&ports.to_string())
            )?;
        }
        if c.includes_portless() {
            writeln!(w, "{s},{d},OTHER,,")?;
        }
    }
    Ok(())
}
