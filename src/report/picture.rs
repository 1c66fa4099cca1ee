//! The picture of a trace, independent of the drawing language: hops as nodes, the rule that
//! moved the packet on as the edge label, each path (one per endpoint, load balancer node or
//! port set) a group of its own, the reply dashed, the denial marked. [`super::dot`] and
//! [`super::mermaid`] draw it.

use crate::trace::{Action, Hop, Path, Step};

/// One node: a hop, or how a direction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Identifier unique in the picture (`p1_f0`, `p1_end`, `p1_r2`).
    pub id: String,
    /// Label lines.
    pub lines: Vec<String>,
    /// Drawn as a denial (red).
    pub denied: bool,
    /// A terminal node (how a direction ended) rather than a hop.
    pub terminal: bool,
}

/// One edge: the packet moving on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Source node id.
    pub from: String,
    /// Target node id.
    pub to: String,
    /// The rules that decided at the hop it leaves (filters, translations, the route), one per
    /// line.
    pub label: Vec<String>,
    /// Into a denial (red).
    pub denied: bool,
    /// Part of the reply (dashed).
    pub reply: bool,
}

/// One path's group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Identifier (`path1`).
    pub id: String,
    /// Title (`path 1: denied`, with the protocol and ports of an all-ports answer).
    pub title: String,
    /// Nodes in order.
    pub nodes: Vec<Node>,
    /// Edges in order.
    pub edges: Vec<Edge>,
}

/// The whole picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// Title: the flow and the verdict.
    pub title: String,
    /// One group per path.
    pub groups: Vec<Group>,
}

fn is_denial(s: &Step) -> bool {
    matches!(
        s.action,
        Action::Denied | Action::NoRoute | Action::Blackhole | Action::Unknown
    )
}

/// The step that stopped the packet at a hop: the first denial, else the last step.
fn deciding(h: &Hop) -> Option<&Step> {
    h.steps
        .iter()
        .find(|s| is_denial(s))
        .or_else(|| h.steps.last())
}

/// The rules that decided at a hop, up to and including a denial: `action rule` per step.
fn hop_label(h: &Hop) -> Vec<String> {
    let mut lines = Vec::new();
    for s in &h.steps {
        lines.push(format!("{} {}", s.action.as_str(), s.rule));
        if is_denial(s) {
            break;
        }
    }
    lines
}

fn hop_node(id: String, h: &Hop) -> Node {
    let mut lines = vec![h.at.clone()];
    if !h.packet.is_empty() {
        lines.push(h.packet.clone());
    }
    Node {
        id,
        lines,
        denied: h.steps.iter().any(is_denial),
        terminal: false,
    }
}

/// Adds a chain of hops and its end node; returns the end node's id.
fn chain(
    g: &mut Group,
    prefix: &str,
    hops: &[Hop],
    ended: &str,
    success: bool,
    reply: bool,
    from: Option<&str>,
) -> String {
    let mut prev: Option<(String, Option<&Hop>)> = from.map(|f| (f.to_string(), None));
    for (j, h) in hops.iter().enumerate() {
        let id = format!("{}_{prefix}{j}", g.id);
        g.nodes.push(hop_node(id.clone(), h));
        if let Some((p, step)) = prev {
            g.edges.push(Edge {
                from: p,
                to: id.clone(),
                label: step.map(hop_label).unwrap_or_else(|| vec!["reply".into()]),
                denied: false,
                reply,
            });
        }
        prev = Some((id, Some(h)));
    }
    let end = format!("{}_{prefix}end", g.id);
    let mut lines = vec![if reply {
        format!("reply {ended}")
    } else {
        ended.to_string()
    }];
    let last = hops.last().and_then(deciding);
    if !success {
        if let Some(s) = last {
            lines.push(s.detail.clone());
        }
    }
    g.nodes.push(Node {
        id: end.clone(),
        lines,
        denied: !success,
        terminal: true,
    });
    if let Some((p, step)) = prev {
        g.edges.push(Edge {
            from: p,
            to: end.clone(),
            label: step.map(hop_label).unwrap_or_default(),
            denied: !success,
            reply,
        });
    }
    end
}

/// The group of one path: forward hops, how the forward direction ended, and the reply.
pub fn group(index: usize, title: &str, p: &Path) -> Group {
    let mut g = Group {
        id: format!("p{}", index + 1),
        title: title.to_string(),
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    let fwd_ok = p.forward.is_success();
    let end = chain(
        &mut g,
        "f",
        &p.hops,
        p.forward.as_str(),
        fwd_ok,
        false,
        None,
    );
    if fwd_ok && !p.reply.is_empty() {
        chain(
            &mut g,
            "r",
            &p.reply,
            p.disposition.as_str(),
            p.disposition.is_success(),
            true,
            Some(&end),
        );
    }
    g
}

/// A picture of labelled paths (`(title, path)`), under `title`.
pub fn picture<'a>(title: String, paths: impl IntoIterator<Item = (String, &'a Path)>) -> Picture {
    Picture {
        title,
        groups: paths
            .into_iter()
            .enumerate()
            .map(|(i, (t, p))| group(i, &t, p))
            .collect(),
    }
}
