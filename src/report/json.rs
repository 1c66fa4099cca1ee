//! JSON output with the contract's keys (`flow`, `reachable`, `assumptions`, `paths`…).

use super::FlowSpec;
use crate::model::SourceMap;
use crate::trace::{protocol_label, AllPortsAnswer, Hop, Path, Step, TraceResult};
use serde_json::{json, Map, Value};

fn step(sources: &SourceMap, s: &Step) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(s.kind.as_str()));
    m.insert("layer".into(), json!(s.layer.as_str()));
    m.insert("action".into(), json!(s.action.as_str()));
    m.insert("rule".into(), json!(s.rule));
    m.insert(
        "source".into(),
        s.source
            .as_ref()
            .map(|p| json!(sources.cite(p)))
            .unwrap_or(Value::Null),
    );
    m.insert("detail".into(), json!(s.detail));
    if let Some(c) = s.code {
        m.insert("code".into(), json!(c));
    }
    if let Some(e) = s.encap {
        m.insert("encap".into(), json!(e));
    }
    Value::Object(m)
}

fn hops(sources: &SourceMap, hs: &[Hop]) -> Value {
    Value::Array(
        hs.iter()
            .map(|h| json!({"at": h.at, "packet": h.packet, "steps": h.steps.iter().map(|s| step(sources, s)).collect::<Vec<_>>()}))
            .collect(),
    )
}

fn path(sources: &SourceMap, p: &Path) -> Value {
    let mut m = Map::new();
    m.insert("disposition".into(), json!(p.disposition.as_str()));
    m.insert("hops".into(), hops(sources, &p.hops));
    if p.forward.is_success() {
        m.insert("forward".into(), json!(p.forward.as_str()));
        m.insert("reply".into(), json!({"hops": hops(sources, &p.reply)}));
    }
    Value::Object(m)
}

fn flow(f: &FlowSpec) -> Value {
    let mut m = Map::new();
    m.insert("src".into(), json!(f.src));
    m.insert("dst".into(), json!(f.dst));
    m.insert("protocol".into(), json!(f.protocol));
    if let Some(p) = f.dst_port {
        m.insert("dst_port".into(), json!(p));
    }
    Value::Object(m)
}

/// The JSON document for one concrete trace.
pub fn trace(sources: &SourceMap, f: &FlowSpec, r: &TraceResult) -> Value {
    json!({
        "flow": flow(f),
        "reachable": r.reachable.as_str(),
        "assumptions": r.assumptions,
        "paths": r.paths.iter().map(|p| path(sources, p)).collect::<Vec<_>>(),
    })
}

/// The JSON document for an all-ports answer: one entry per protocol and port set.
pub fn all_ports(sources: &SourceMap, f: &FlowSpec, a: &AllPortsAnswer) -> Value {
    let connections: Vec<Value> = a
        .outcomes
        .iter()
        .map(|o| {
            let mut m = Map::new();
            m.insert("protocol".into(), json!(protocol_label(o.protocol)));
            if !o.ports.is_empty() {
                m.insert("ports".into(), json!(o.ports.to_string()));
            }
            m.insert("reachable".into(), json!(o.reachable.as_str()));
            if let Some(p) = o.trace.paths.iter().find(|p| !p.disposition.is_success()) {
                let last = if p.forward.is_success() {
                    p.reply.last()
                } else {
                    p.hops.last()
                };
                if let Some(s) = last.and_then(|h| h.steps.last()) {
                    m.insert("stopped_by".into(), step(sources, s));
                }
            }
            m.insert(
                "paths".into(),
                json!(o
                    .trace
                    .paths
                    .iter()
                    .map(|p| path(sources, p))
                    .collect::<Vec<_>>()),
            );
            Value::Object(m)
        })
        .collect();
    let paths: Vec<Value> = a
        .outcomes
        .iter()
        .flat_map(|o| {
            o.trace.paths.iter().map(move |p| {
                let mut v = path(sources, p);
                if let Value::Object(m) = &mut v {
                    m.insert("protocol".into(), json!(protocol_label(o.protocol)));
                    if !o.ports.is_empty() {
                        m.insert("ports".into(), json!(o.ports.to_string()));
                    }
                }
                v
            })
        })
        .collect();
    json!({
        "flow": flow(f),
        "reachable": a.reachable().as_str(),
        "assumptions": a.assumptions,
        "connections": connections,
        "paths": paths,
    })
}
