//! Mermaid `flowchart` for a trace picture (`trace -o mermaid`), for Markdown that GitHub and
//! GitLab render.

use super::picture::Picture;
use std::fmt::Write as _;

/// Escapes a label for a double-quoted Mermaid string (entity codes; lines joined with `<br/>`).
pub fn quote(lines: &[String]) -> String {
    let body: Vec<String> = lines
        .iter()
        .map(|l| {
            l.replace('#', "#35;")
                .replace('"', "#quot;")
                .replace('<', "#lt;")
                .replace('>', "#gt;")
                .replace('|', "#124;")
        })
        .collect();
    format!("\"{}\"", body.join("<br/>"))
}

/// Renders the picture as `flowchart LR` with one subgraph per path; denials are styled red.
pub fn render(p: &Picture) -> String {
    let mut out = String::from("---\n");
    let title = serde_json::to_string(&p.title).unwrap_or_else(|_| "\"netpath\"".into());
    let _ = writeln!(out, "title: {title}");
    out.push_str("---\nflowchart LR\n");
    let mut link = 0usize;
    let mut red_links = Vec::new();
    let mut red_nodes = Vec::new();
    for g in &p.groups {
        let _ = writeln!(
            out,
            "  subgraph {}[{}]",
            g.id,
            quote(std::slice::from_ref(&g.title))
        );
        for n in &g.nodes {
            let label = quote(&n.lines);
            if n.terminal {
                let _ = writeln!(out, "    {}([{label}])", n.id);
            } else {
                let _ = writeln!(out, "    {}[{label}]", n.id);
            }
            if n.denied {
                red_nodes.push(n.id.clone());
            }
        }
        for e in &g.edges {
            let arrow = if e.reply { "-.->" } else { "-->" };
            if e.label.iter().all(|l| l.is_empty()) {
                let _ = writeln!(out, "    {} {arrow} {}", e.from, e.to);
            } else {
                let _ = writeln!(out, "    {} {arrow}|{}| {}", e.from, quote(&e.label), e.to);
            }
            if e.denied {
                red_links.push(link.to_string());
            }
            link += 1;
        }
        out.push_str("  end\n");
    }
    if !red_nodes.is_empty() {
        out.push_str("  classDef denied fill:#fde8e8,stroke:#c00,color:#900,stroke-width:2px\n");
        let _ = writeln!(out, "  class {} denied", red_nodes.join(","));
    }
    if !red_links.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#c00,color:#c00,stroke-width:2px",
            red_links.join(",")
        );
    }
    out
}
