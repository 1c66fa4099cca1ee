//! Graphviz `dot` for a trace picture (`trace -o dot`, and `-o svg` through Graphviz).

use super::picture::Picture;
use std::fmt::Write as _;

/// Escapes a string for a double-quoted dot attribute (lines joined with `\n`).
pub fn quote(lines: &[String]) -> String {
    let body: Vec<String> = lines
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace('"', "\\\""))
        .collect();
    format!("\"{}\"", body.join("\\n"))
}

/// Renders the picture as a `digraph`: one cluster per path, left to right.
pub fn render(p: &Picture) -> String {
    let mut out = String::from("digraph netpath {\n");
    out.push_str("  rankdir=LR;\n  labelloc=t;\n");
    let _ = writeln!(out, "  label={};", quote(std::slice::from_ref(&p.title)));
    out.push_str("  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for g in &p.groups {
        let _ = writeln!(out, "  subgraph cluster_{} {{", g.id);
        let _ = writeln!(out, "    label={};", quote(std::slice::from_ref(&g.title)));
        for n in &g.nodes {
            let mut attrs = format!("label={}", quote(&n.lines));
            if n.terminal {
                attrs.push_str(", shape=oval");
            }
            if n.denied {
                attrs.push_str(", color=red, fontcolor=red, penwidth=2");
            }
            let _ = writeln!(out, "    {} [{attrs}];", n.id);
        }
        for e in &g.edges {
            let mut attrs = format!("label={}", quote(&e.label));
            if e.reply {
                attrs.push_str(", style=dashed");
            }
            if e.denied {
                attrs.push_str(", color=red, fontcolor=red, penwidth=2");
            }
            let _ = writeln!(out, "    {} -> {} [{attrs}];", e.from, e.to);
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}
