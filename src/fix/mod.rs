//! Suggesting the fix for a denied flow: the smallest change, at the layer that denied it, that
//! lets the flow through — a security group rule, a NACL entry, a route for a destination no
//! route matched, a NetworkPolicy, an AuthorizationPolicy rule — printed in that input's own format and **verified**: the change is
//! applied to a copy of the snapshot, the index is compiled again and the flow re-traced. When
//! the next layer stops it, the next change is suggested, up to a few layers.

mod apply;

use crate::graph::Index;
use crate::model::{Protocol, Snapshot};
use crate::trace::{Action, Hop, Layer, Path, Query, Reachable, Step, Tracer};
use std::net::IpAddr;

/// One suggested change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixChange {
    /// The layer it changes (`security_group`, `nacl`, `network_policy`, `istio_authz`).
    pub layer: &'static str,
    /// What the change does, in one line.
    pub summary: String,
    /// The patch-ready snippet (AWS CLI command or YAML), in the input's own format.
    pub snippet: String,
    /// The rule it lets the flow past (the denial it answers).
    pub answers: String,
}

/// How the flow ends with every suggested change applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Re-traced with the changes: delivered on every path.
    Delivered,
    /// Re-traced with the changes: still stopped, by this step (`rule [file:line]: detail`),
    /// for which no change can be suggested.
    StillBlocked(String),
    /// The flow was not denied in the first place.
    NothingToFix,
}

/// The suggested changes and the verdict of the re-trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPlan {
    /// Changes in the order they apply along the path.
    pub changes: Vec<FixChange>,
    /// The verdict with all changes applied.
    pub verdict: Verdict,
}

/// The packet as a hop shows it: protocol, source, source port, destination, destination port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenPacket {
    /// Protocol.
    pub protocol: Protocol,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port (0 for port-less protocols).
    pub dst_port: u16,
}

/// Parses a hop's rendered packet (`tcp 10.0.1.5:40000 -> 10.0.2.7:443`, `icmp A -> B`).
pub fn parse_packet(s: &str) -> Option<SeenPacket> {
    let (proto, rest) = s.split_once(' ')?;
    let protocol = Protocol::parse(proto)?;
    let (a, b) = rest.split_once(" -> ")?;
    let addr = |x: &str| -> Option<(IpAddr, u16)> {
        if protocol.has_ports() {
            let (ip, port) = x.rsplit_once(':')?;
            Some((
                ip.trim_matches(['[', ']']).parse().ok()?,
                port.parse().ok()?,
            ))
        } else {
            Some((x.parse().ok()?, 0))
        }
    };
    let (src, _) = addr(a.trim())?;
    let (dst, dst_port) = addr(b.trim())?;
    Some(SeenPacket {
        protocol,
        src,
        dst,
        dst_port,
    })
}

/// Where a path was stopped: the hop, the step, and whether it was the reply.
fn stop(p: &Path) -> Option<(&Hop, &Step, bool)> {
    let (hop, reply) = if p.forward.is_success() {
        (p.reply.last()?, true)
    } else {
        (p.hops.last()?, false)
    };
    Some((hop, hop.steps.last()?, reply))
}

/// The most changes a plan holds (one per layer that can deny a flow, with room to spare).
pub const MAX_CHANGES: usize = 6;

/// Suggests the changes that let `q` through in `snap`, each verified by re-tracing.
pub fn suggest(snap: &Snapshot, q: &Query) -> FixPlan {
    let mut model = snap.clone();
    let mut changes = Vec::new();
    loop {
        let ix = Index::compile(&model);
        let t = Tracer::new(&model, &ix).trace(q);
        if t.reachable == Reachable::All {
            let verdict = if changes.is_empty() {
                Verdict::NothingToFix
            } else {
                Verdict::Delivered
            };
            return FixPlan { changes, verdict };
        }
        let Some((hop, step, reply)) = t
            .paths
            .iter()
            .find(|p| !p.disposition.is_success())
            .and_then(stop)
        else {
            return FixPlan {
                changes,
                verdict: Verdict::StillBlocked("no path".into()),
            };
        };
        let cite = step
            .source
            .as_ref()
            .map(|p| format!(" [{}]", model.sources.cite(p)))
            .unwrap_or_default();
        let why = format!("{} at {}{cite}: {}", step.rule, hop.at, step.detail);
        let blocked = || Verdict::StillBlocked(why.clone());
        let fixable = step.action == Action::Denied
            || (step.layer == Layer::Routing && step.action == Action::NoRoute);
        if changes.len() >= MAX_CHANGES || !fixable {
            return FixPlan {
                changes,
                verdict: blocked(),
            };
        }
        let Some(pkt) = parse_packet(&hop.packet) else {
            return FixPlan {
                changes,
                verdict: blocked(),
            };
        };
        let proposed = match step.layer {
            Layer::SecurityGroup => apply::security_group(&mut model, step, pkt),
            Layer::Nacl => apply::nacl(&mut model, step, pkt, reply),
            Layer::NetworkPolicy => apply::network_policy(&mut model, &ix, step, pkt),
            Layer::IstioAuthz => apply::istio(&mut model, &ix, step, pkt),
            Layer::Routing => apply::route(&mut model, &ix, step, pkt),
            _ => None,
        };
        match proposed {
            Some(c) => changes.push(c),
            None => {
                return FixPlan {
                    changes,
                    verdict: blocked(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_parse() {
        let p = parse_packet("tcp 10.0.17.101:32768 -> 172.20.41.7:9090").unwrap();
        assert_eq!(p.dst_port, 9090);
        assert_eq!(p.src.to_string(), "10.0.17.101");
        let p = parse_packet("icmp 10.0.0.1 -> 10.0.0.2").unwrap();
        assert_eq!(p.protocol, Protocol::Icmp);
        assert!(parse_packet("garbage").is_none());
    }
}
