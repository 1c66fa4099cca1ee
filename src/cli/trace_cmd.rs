//! `netpath trace SRC DST`.

use super::{load, Format, EXIT_BAD_INPUT};
use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::graph::Index;
use netpath::model::Protocol;
use netpath::report::{dot, json, mermaid, picture, text, FlowSpec};
use netpath::trace::{protocol_label, Query, Reachable, Start, Tracer};
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
    let ix = Index::compile(snap);
    let src = match resolve_source(snap, &ix, &a.src) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error[endpoint]: source: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let dst = match resolve_destination(snap, &ix, &a.dst, src.start == Start::Internet) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error[endpoint]: destination: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let tracer = Tracer::new(snap, &ix);
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
        let code = ans.reachable().exit_code();
        let out = match a.output {
            Format::Text => text::all_ports(&snap.sources, &flow, &ans, style),
            Format::Json => pretty(&json::all_ports(&snap.sources, &flow, &ans)) + "\n",
            Format::Dot | Format::Mermaid | Format::Svg => {
                let paths = ans.outcomes.iter().flat_map(|o| {
                    let label = match o.ports.is_empty() {
                        true => protocol_label(o.protocol).to_string(),
                        false => format!("{} {}", protocol_label(o.protocol), o.ports),
                    };
                    o.trace.paths.iter().enumerate().map(move |(i, p)| {
                        (
                            format!("{label} path {}: {}", i + 1, p.disposition.as_str()),
                            p,
                        )
                    })
                });
                let pic = picture::picture(title(&flow, ans.reachable()), paths);
                match draw(a.output, &pic) {
                    Ok(s) => s,
                    Err(code) => return code,
                }
            }
        };
        write_stdout(&out);
        return code;
    }
    let mut res = tracer.trace(&query);
    res.assumptions.extend(notes);
    res.assumptions.sort();
    res.assumptions.dedup();
    let fix = a.suggest_fix.then(|| netpath::fix::suggest(snap, &query));
    let out = match a.output {
        Format::Text => {
            let mut s = text::trace(&snap.sources, &flow, &res, style);
            if let Some(p) = &fix {
                s.push_str(&netpath::report::fix::render_text(p, 0));
            }
            s
        }
        Format::Json => {
            let mut v = json::trace(&snap.sources, &flow, &res);
            if let (Some(p), Some(o)) = (&fix, v.as_object_mut()) {
                o.insert("suggested_fix".into(), netpath::report::fix::render_json(p));
            }
            pretty(&v) + "\n"
        }
        Format::Dot | Format::Mermaid | Format::Svg => {
            let paths = res
                .paths
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("path {}: {}", i + 1, p.disposition.as_str()), p));
            let pic = picture::picture(title(&flow, res.reachable), paths);
            match draw(a.output, &pic) {
                Ok(s) => s,
                Err(code) => return code,
            }
        }
    };
    write_stdout(&out);
    res.reachable.exit_code()
}

/// `SRC -> DST proto/port: verdict`.
fn title(f: &FlowSpec, r: Reachable) -> String {
    let port = f.dst_port.map(|p| format!("/{p}")).unwrap_or_default();
    format!(
        "{} -> {} {}{port}: {}",
        f.src,
        f.dst,
        f.protocol,
        r.as_str()
    )
}

/// Draws a picture as dot, Mermaid or (through Graphviz) SVG; `Err(2)` when Graphviz is missing
/// or fails.
fn draw(format: Format, pic: &picture::Picture) -> Result<String, i32> {
    match format {
        Format::Mermaid => Ok(mermaid::render(pic)),
        Format::Svg => svg(&dot::render(pic)),
        _ => Ok(dot::render(pic)),
    }
}

/// Runs Graphviz `dot -Tsvg` on `source`.
fn svg(source: &str) -> Result<String, i32> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error[svg]: cannot run Graphviz `dot`: {e}\n  expected: Graphviz installed and `dot` on PATH (e.g. apt-get install graphviz), or use -o dot and draw it elsewhere");
            return Err(EXIT_BAD_INPUT);
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(source.as_bytes());
    }
    match child.wait_with_output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => {
            eprintln!(
                "error[svg]: Graphviz `dot` failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            );
            Err(EXIT_BAD_INPUT)
        }
        Err(e) => {
            eprintln!("error[svg]: Graphviz `dot` failed: {e}");
            Err(EXIT_BAD_INPUT)
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(s: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(s.as_bytes()).and_then(|()| stdout.flush());
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into())
}
