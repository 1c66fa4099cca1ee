//! The all-ports answer: which protocols and ports get through, and what stops the rest.
//!
//! The port space of each protocol is cut at every boundary any rule in the snapshot draws
//! (security group and NACL port ranges, listener ports, target ports); within one piece no
//! rule can tell two ports apart, so one representative trace answers for the whole piece.
//! Adjacent pieces with the same outcome are merged. Nothing enumerates ports.

use super::{Query, Reachable, TraceResult, Tracer};
use crate::eval::ports::PortSet;
use crate::model::Protocol;
use std::collections::BTreeSet;

/// How a protocol is shown in an all-ports answer (protocol 0 stands for every protocol
/// that no rule names).
pub fn protocol_label(p: Protocol) -> String {
    match p {
        Protocol::Other(0) => "other".to_string(),
        p => p.to_string(),
    }
}

/// The outcome for one protocol and port set.
#[derive(Debug, Clone, PartialEq)]
pub struct PortOutcome {
    /// The protocol.
    pub protocol: Protocol,
    /// The ports (empty for port-less protocols).
    pub ports: PortSet,
    /// The overall answer for these ports.
    pub reachable: Reachable,
    /// What stops it (for blocked ports): the deciding rule and its text, from the first path.
    pub stopped_by: Option<(String, String, Option<String>)>,
    /// A representative trace.
    pub trace: TraceResult,
}

/// The answer for every protocol and port.
#[derive(Debug, Clone, PartialEq)]
pub struct AllPortsAnswer {
    /// One entry per (protocol, merged port set).
    pub outcomes: Vec<PortOutcome>,
    /// Assumptions of all traces, merged.
    pub assumptions: Vec<String>,
}

impl AllPortsAnswer {
    /// Overall: all if everything passes, none if nothing passes, else some.
    pub fn reachable(&self) -> Reachable {
        let any = self
            .outcomes
            .iter()
            .any(|o| matches!(o.reachable, Reachable::All | Reachable::Some));
        let all = self.outcomes.iter().all(|o| o.reachable == Reachable::All);
        let unknown = self
            .outcomes
            .iter()
            .any(|o| o.reachable == Reachable::Unknown);
        if all {
            Reachable::All
        } else if any {
            Reachable::Some
        } else if unknown {
            Reachable::Unknown
        } else {
            Reachable::None
        }
    }
}

fn signature(t: &TraceResult) -> Vec<(String, String)> {
    t.paths
        .iter()
        .map(|p| {
            let last = p
                .reply
                .last()
                .filter(|_| !p.disposition.is_success())
                .or(p.hops.last());
            let rule = last
                .and_then(|h| h.steps.last())
                .map(|s| s.rule.clone())
                .unwrap_or_default();
            (
                p.disposition.as_str().to_string(),
                if p.disposition.is_success() {
                    String::new()
                } else {
                    rule
                },
            )
        })
        .collect()
}

impl Tracer<'_> {
    /// Answers for every protocol and port between the query's endpoints.
    pub fn trace_all_ports(&self, base: &Query) -> AllPortsAnswer {
        self.trace_ports(base, None)
    }

    /// Answers for every port of one protocol, or of every protocol when `only` is `None`.
    pub fn trace_ports(&self, base: &Query, only: Option<Protocol>) -> AllPortsAnswer {
        let v6 = base.dst_ips.first().is_some_and(|d| d.is_ipv6());
        let icmp = if v6 { Protocol::Icmpv6 } else { Protocol::Icmp };
        let mut outcomes = Vec::new();
        let mut assumptions = BTreeSet::new();
        let wanted = |p: Protocol| only.is_none_or(|o| o == p);
        for proto in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
            .into_iter()
            .filter(|p| wanted(*p))
        {
            if proto == Protocol::Sctp && only.is_none() {
                continue;
            }
            let mut current: Option<PortOutcome> = None;
            for range in super::port_cuts::intervals(&[self.snap], proto) {
                let q = Query {
                    protocol: proto,
                    dst_port: range.lo,
                    ..base.clone()
                };
                let t = self.trace(&q);
                assumptions.extend(t.assumptions.iter().cloned());
                let sig = signature(&t);
                match &mut current {
                    Some(c) if signature(&c.trace) == sig => c.ports.insert(range),
                    _ => {
                        if let Some(c) = current.take() {
                            outcomes.push(c);
                        }
                        current = Some(outcome(proto, PortSet::from_range(range), t));
                    }
                }
            }
            outcomes.extend(current);
        }
        for proto in [icmp, Protocol::Other(0)]
            .into_iter()
            .filter(|p| only.is_none() && wanted(*p))
        {
            let q = Query {
                protocol: proto,
                dst_port: 0,
                icmp_type: if proto == icmp { 8 } else { 0 },
                ..base.clone()
            };
            let t = self.trace(&q);
            assumptions.extend(t.assumptions.iter().cloned());
            outcomes.push(outcome(proto, PortSet::empty(), t));
        }
        AllPortsAnswer {
            outcomes,
            assumptions: assumptions.into_iter().collect(),
        }
    }
}

fn outcome(protocol: Protocol, ports: PortSet, trace: TraceResult) -> PortOutcome {
    let stopped_by = trace
        .paths
        .iter()
        .find(|p| !p.disposition.is_success())
        .and_then(|p| {
            let hop = if p.forward.is_success() {
                p.reply.last()
            } else {
                p.hops.last()
            };
            hop.and_then(|h| h.steps.last())
                .map(|s| (s.rule.clone(), s.detail.clone(), None))
        });
    PortOutcome {
        protocol,
        ports,
        reachable: trace.reachable,
        stopped_by,
        trace,
    }
}
