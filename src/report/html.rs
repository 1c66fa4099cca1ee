//! The connectivity matrix as one self-contained HTML page (`matrix -o html`): no external
//! resources; rows and columns grouped by namespace; each cell shows what the policies allow;
//! clicking a cell shows that pair's trace, embedded in the page as data.

use crate::matrix::{Matrix, MatrixEndpoint};
use crate::model::SourceMap;
use crate::trace::{Path, Reachable};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The trace of one matrix pair, for the page's detail panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairTrace {
    /// The flow traced (`tcp/8080`).
    pub flow: String,
    /// `all`, `some`, `none` or `unknown`.
    pub reachable: String,
    /// The compact trace text ([`trace_summary`]).
    pub text: String,
}

/// The namespace a matrix endpoint is shown under.
pub fn namespace_of(e: &MatrixEndpoint) -> String {
    match e {
        MatrixEndpoint::Pod { namespace, .. } | MatrixEndpoint::Workload { namespace, .. } => {
            namespace.clone()
        }
        MatrixEndpoint::External { .. } => "(external)".into(),
        MatrixEndpoint::IngressController => "(ingress)".into(),
    }
}

/// The endpoint's short name within its namespace.
pub fn short_name(e: &MatrixEndpoint) -> String {
    match e {
        MatrixEndpoint::Pod { name, .. } => name.clone(),
        MatrixEndpoint::Workload { name, kind, .. } => format!("{name}[{kind}]"),
        MatrixEndpoint::External { lo, hi } if lo == hi => {
            std::net::Ipv4Addr::from(*lo).to_string()
        }
        MatrixEndpoint::External { lo, hi } => format!(
            "{}-{}",
            std::net::Ipv4Addr::from(*lo),
            std::net::Ipv4Addr::from(*hi)
        ),
        MatrixEndpoint::IngressController => "{ingress-controller}".into(),
    }
}

/// A compact trace: per path its disposition, the hops it crossed, the rules that let it
/// through and, when it was stopped, the rule and `file:line` that stopped it.
pub fn trace_summary(sources: &SourceMap, reachable: Reachable, paths: &[Path]) -> String {
    let mut out = format!("reachable: {}\n", reachable.as_str());
    for (i, p) in paths.iter().enumerate() {
        let _ = writeln!(out, "path {}: {}", i + 1, p.disposition.as_str());
        let route: Vec<&str> = p.hops.iter().map(|h| h.at.as_str()).collect();
        let _ = writeln!(out, "  {}", route.join(" -> "));
        let permits: Vec<&str> = p
            .hops
            .iter()
            .chain(&p.reply)
            .flat_map(|h| &h.steps)
            .filter(|s| s.action == crate::trace::Action::Permitted)
            .map(|s| s.rule.as_str())
            .collect();
        if !permits.is_empty() {
            let _ = writeln!(out, "  permitted by: {}", permits.join("; "));
        }
        if let Some((h, s, dir)) = super::summary::stopping_step(p) {
            let src = s
                .source
                .as_ref()
                .map(|x| format!(" [{}]", sources.cite(x)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  stopped ({dir}) at {}: {}: {}{src}",
                h.at, s.rule, s.detail
            );
        }
    }
    out
}

fn esc(s: &str) -> String {
    super::junit::esc(s)
}

/// Short cell text: `all`, `TCP 8080`, … (empty when nothing is allowed).
fn cell_text(allowed: &str) -> String {
    if allowed == "All Connections" {
        "all".into()
    } else if allowed == "No Connections" {
        "ICMP etc.".into()
    } else if allowed.chars().count() > 14 {
        let cut: String = allowed.chars().take(12).collect();
        format!("{cut}…")
    } else {
        allowed.to_string()
    }
}

const STYLE: &str = "body{font:13px/1.4 system-ui,sans-serif;margin:1em;color:#222}\
h1{font-size:18px}table{border-collapse:collapse}\
th,td{border:1px solid #ccc;padding:2px 4px;white-space:nowrap}\
th.ns{background:#eef;text-align:left}th.name{font-weight:normal;text-align:left}\
thead th.name{writing-mode:vertical-rl;transform:rotate(180deg);max-height:14em}\
td.cell{cursor:pointer;text-align:center;min-width:2em;font-size:11px}\
td.all{background:#c8efc8}td.some{background:#fff1b8}td.none{background:#f6d5d5}\
td.self{background:#eee;cursor:default}td.sel{outline:3px solid #1565c0}\
#panel{position:sticky;top:0;background:#fafafa;border:1px solid #bbb;padding:.5em;margin-bottom:1em}\
#trace{white-space:pre-wrap;font:12px/1.35 ui-monospace,monospace;margin:0}";

const SCRIPT: &str = r#"(function(){
var data=JSON.parse(document.getElementById('netpath-data').textContent);
var panelTitle=document.getElementById('trace-title');
var panel=document.getElementById('trace');
var selected=null;
function show(td){
  var s=+td.getAttribute('data-src'),d=+td.getAttribute('data-dst');
  var key=s+','+d,info=data.pairs[key]||{};
  var src=data.endpoints[s],dst=data.endpoints[d];
  if(selected){selected.classList.remove('sel');}
  selected=td;td.classList.add('sel');
  panelTitle.textContent=src+' -> '+dst;
  var lines=['policies allow: '+(info.allowed||'No Connections')];
  if(info.trace){lines.push('trace '+info.trace.flow+': '+info.trace.reachable);lines.push(info.trace.text);}
  else if(info.command){lines.push('no trace embedded for this pair'+(info.why?' ('+info.why+')':''));}
  else{lines.push('not traced: only pods and workloads are traced here; trace an address of the range with netpath trace');}
  if(info.command){lines.push('to trace it: '+info.command);}
  panel.textContent=lines.join('\n');
  panel.setAttribute('data-pair',key);
}
document.getElementById('matrix').addEventListener('click',function(ev){
  var td=ev.target.closest('td.cell');if(td&&!td.classList.contains('self')){show(td);}
});
})();"#;

/// Renders the page. `traces` maps (source index, destination index) to the pair's trace;
/// `commands` to the `netpath trace` command that reproduces it; `skipped` says why pairs
/// without a trace have none.
pub fn render(
    m: &Matrix,
    title: &str,
    traces: &BTreeMap<(usize, usize), PairTrace>,
    commands: &BTreeMap<(usize, usize), String>,
    skipped: &str,
) -> String {
    let names: Vec<String> = m
        .endpoints
        .iter()
        .map(|e| super::matrix::contract_names(e).join(","))
        .collect();
    let mut allowed: BTreeMap<(usize, usize), (String, &'static str)> = BTreeMap::new();
    for c in m.cells() {
        let set = m.conns(&c);
        let class = if set.is_all() { "all" } else { "some" };
        allowed.insert((c.src as usize, c.dst as usize), (set.to_string(), class));
    }
    // Namespace groups in order of first appearance after sorting by (namespace, index).
    let mut order: Vec<usize> = (0..m.endpoints.len()).collect();
    // Namespaces first, then the external ranges and the ingress controller.
    order.sort_by_key(|&i| {
        let e = &m.endpoints[i];
        let outside = matches!(
            e,
            MatrixEndpoint::External { .. } | MatrixEndpoint::IngressController
        );
        (outside, namespace_of(e), i)
    });
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for i in order {
        let ns = namespace_of(&m.endpoints[i]);
        match groups.last_mut() {
            Some((g, members)) if *g == ns => members.push(i),
            _ => groups.push((ns, vec![i])),
        }
    }
    let mut pairs = Map::new();
    let keys: std::collections::BTreeSet<(usize, usize)> = allowed
        .keys()
        .chain(traces.keys())
        .chain(commands.keys())
        .copied()
        .collect();
    for k in keys {
        let mut v = Map::new();
        if let Some((a, _)) = allowed.get(&k) {
            v.insert("allowed".into(), json!(a));
        }
        if let Some(t) = traces.get(&k) {
            v.insert(
                "trace".into(),
                json!({"flow": t.flow, "reachable": t.reachable, "text": t.text}),
            );
        } else if !skipped.is_empty() {
            v.insert("why".into(), json!(skipped));
        }
        if let Some(c) = commands.get(&k) {
            v.insert("command".into(), json!(c));
        }
        pairs.insert(format!("{},{}", k.0, k.1), Value::Object(v));
    }
    let data = json!({ "endpoints": names, "pairs": pairs });
    // `</` must not appear inside a <script> element.
    let data_text = serde_json::to_string(&data)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/");

    let mut h =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(h, "<title>{}</title>", esc(title));
    let _ = writeln!(h, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(h, "<h1>{}</h1>", esc(title));
    h.push_str("<div id=\"panel\"><strong id=\"trace-title\">Click a cell to see its trace</strong>\n<pre id=\"trace\"></pre></div>\n");
    h.push_str("<table id=\"matrix\">\n<thead>\n<tr><th rowspan=\"2\">from \\ to</th><th rowspan=\"2\"></th>");
    for (ns, members) in &groups {
        let _ = write!(
            h,
            "<th class=\"ns\" colspan=\"{}\">{}</th>",
            members.len(),
            esc(ns)
        );
    }
    h.push_str("</tr>\n<tr>");
    for (_, members) in &groups {
        for &i in members {
            let _ = write!(
                h,
                "<th class=\"name\" title=\"{}\">{}</th>",
                esc(&names[i]),
                esc(&short_name(&m.endpoints[i]))
            );
        }
    }
    h.push_str("</tr>\n</thead>\n");
    for (ns, members) in &groups {
        let _ = writeln!(h, "<tbody data-namespace=\"{}\">", esc(ns));
        for (row, &s) in members.iter().enumerate() {
            h.push_str("<tr>");
            if row == 0 {
                let _ = write!(
                    h,
                    "<th class=\"ns\" rowspan=\"{}\">{}</th>",
                    members.len(),
                    esc(ns)
                );
            }
            let _ = write!(
                h,
                "<th class=\"name\" title=\"{}\">{}</th>",
                esc(&names[s]),
                esc(&short_name(&m.endpoints[s]))
            );
            for (_, cols) in &groups {
                for &d in cols {
                    let (text, class) = if s == d {
                        (String::new(), "self")
                    } else {
                        match allowed.get(&(s, d)) {
                            Some((a, c)) => (cell_text(a), *c),
                            None => (String::new(), "none"),
                        }
                    };
                    let _ = write!(
                        h,
                        "<td class=\"cell {class}\" data-src=\"{s}\" data-dst=\"{d}\" title=\"{} -> {}\">{}</td>",
                        esc(&names[s]),
                        esc(&names[d]),
                        esc(&text)
                    );
                }
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n");
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<script type=\"application/json\" id=\"netpath-data\">{data_text}</script>"
    );
    let _ = writeln!(h, "<script>{SCRIPT}</script>\n</body>\n</html>");
    h
}
