//! `netpath trace SRC DST`.

use super::{load, Format, EXIT_BAD_INPUT};
use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::graph::Index;
use netpath::model::Protocol;
use netpath::report::{json, text, FlowSpec};
use netpath::trace::{Query, Start, Tracer};
use std::path::Path;

/// Arguments of `trace`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// Where the flow starts (instance id, instance/NAME, ENI id, IP, `internet`, …).
    pub src: String,
    /// Where it goes (instance id, instance/NAME, ENI id, IP, `internet`, lb/NAME, …).
    pub dst: String,
    /// Destination port; without it, every protocol and port is answered at once.
    #[arg(short, long)]
    pub port: Option<u16>,
    /// Protocol: tcp (default), udp, sctp, icmp, icmpv6 or a number.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Source port (default: the client's ephemeral range, checked as a range on the reply).
    #[arg(long)]
    pub src_port: Option<u16>,
    /// HTTP method, to decide Istio rules on methods.
    #[arg(long)]
    pub http_method: Option<String>,
    /// HTTP path, to decide Istio rules on paths.
    #[arg(long)]
    pub http_path: Option<String>,
    /// HTTP host, to decide Istio rules on hosts.
    #[arg(long)]
    pub http_host: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// For a flow that does not get through: the smallest change at each layer that stops it,
    /// as a patch-ready snippet, verified by re-tracing with the change applied (needs --port).
    #[arg(long, requires = "port")]
    pub suggest_fix: bool,
}

/// Runs `trace`; returns the exit code.
pub fn run(snapshot: &Path, a: &TraceArgs, color: bool, quiet: bool) -> i32 {
    let proto_text = a.protocol.clone().unwrap_or_else(|| "tcp".into());
    let Some(protocol) = Protocol::parse(&proto_text) else {
        eprintln!("error[usage]: unknown protocol {proto_text:?}\n  expected: tcp, udp, sctp, icmp, icmpv6 or a protocol number");
        return EXIT_BAD_INPUT;
    };
    let Some(snap) = load(snapshot, quiet) else {
        return EXIT_BAD_INPUT;
    };
    let ix = Index::compile(&snap);
    let src = match resolve_source(&snap, &ix, &a.src) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error[endpoint]: source: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let dst = match resolve_destination(&snap, &ix, &a.dst, src.start == Start::Internet) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error[endpoint]: destination: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let tracer = Tracer::new(&snap, &ix);
    let query = Query {
        start: src.start.clone(),
        src_ip: src.ip,
        dst_ips: dst.ips.clone(),
        protocol,
        dst_port: a.port.unwrap_or(0),
        src_port: a.src_port,
        icmp_type: if matches!(protocol, Protocol::Icmp | Protocol::Icmpv6) {
            8
        } else {
            0
        },
        http: (a.http_method.is_some() || a.http_path.is_some() || a.http_host.is_some()).then(
            || netpath::policy::istio::HttpAttrs {
                method: a.http_method.clone(),
                path: a.http_path.clone(),
                host: a.http_host.clone(),
                headers: None,
            },
        ),
    };
    let all_ports = a.port.is_none() && protocol.has_ports();
    let shown_protocol = if all_ports && a.protocol.is_none() {
        "any".to_string()
    } else {
        protocol.to_string()
    };
    let flow = FlowSpec {
        src: a.src.clone(),
        dst: a.dst.clone(),
        protocol: shown_protocol,
        dst_port: a.port,
    };
    let notes: Vec<String> = src
        .note
        .iter()
        .cloned()
        .chain(dst.notes.iter().cloned())
        .collect();
    let style = text::Style { color };
    if all_ports {
        let only = a.protocol.as_ref().map(|_| protocol);
        let mut ans = tracer.trace_ports(&query, only);
        ans.assumptions.extend(notes);
        ans.assumptions.sort();
        ans.assumptions.dedup();
        match a.output {
            Format::Text => print!("{}", text::all_ports(&snap.sources, &flow, &ans, style)),
            Format::Json => println!("{}", pretty(&json::all_ports(&snap.sources, &flow, &ans))),
        }
        return ans.reachable().exit_code();
    }
    let mut res = tracer.trace(&query);
    res.assumptions.extend(notes);
    res.assumptions.sort();
    res.assumptions.dedup();
    let fix = a.suggest_fix.then(|| netpath::fix::suggest(&snap, &query));
    match a.output {
        Format::Text => {
            print!("{}", text::trace(&snap.sources, &flow, &res, style));
            if let Some(p) = &fix {
                print!("{}", netpath::report::fix::render_text(p, 0));
            }
        }
        Format::Json => {
            let mut v = json::trace(&snap.sources, &flow, &res);
            if let (Some(p), Some(o)) = (&fix, v.as_object_mut()) {
                o.insert("suggested_fix".into(), netpath::report::fix::render_json(p));
            }
            println!("{}", pretty(&v));
        }
    }
    res.reachable.exit_code()
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into())
}
