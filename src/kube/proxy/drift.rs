//! Drift between a node's observed rules and the state derived from the API objects:
//! per service port, the endpoints in KUBE-SVC (Cluster) and KUBE-SVL (Local) chains.

use super::synth::SynthesizedProxy;
use super::types::{service_in_comment, RuleRef};
use crate::model::iptables::{IptablesDump, Table, Target};
use std::net::IpAddr;

/// One KUBE-SVC / KUBE-SVL chain read from a dump.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedServicePort {
    /// The service port named by the comments (`ns/name:port`); `None` if no comment names it.
    pub service: Option<String>,
    /// The chain.
    pub chain: String,
    /// True for a KUBE-SVL (Local policy) chain.
    pub local: bool,
    /// The DNAT destinations reached through its KUBE-SEP chains, in rule order.
    pub endpoints: Vec<(IpAddr, u16)>,
    /// Some rule of the nat table jumps to the chain (unreferenced chains are stale leftovers of
    /// a partial sync: harmless, never reached).
    pub referenced: bool,
    /// The chain's first rule (for citing), if it has any.
    pub first_rule: Option<RuleRef>,
}

/// What kind of difference was found.
#[derive(Debug, Clone, PartialEq)]
pub enum DriftKind {
    /// The objects give the service port endpoints, but the node has no chain for it.
    MissingService,
    /// The node has a chain for a service port the objects do not proxy on this node (or that
    /// has no endpoints).
    StaleService,
    /// An endpoint the objects select is absent from the node's chain.
    MissingEndpoint {
        /// Endpoint address.
        ip: IpAddr,
        /// Endpoint port.
        port: u16,
    },
    /// The node's chain still sends traffic to an endpoint the objects no longer select.
    StaleEndpoint {
        /// Endpoint address.
        ip: IpAddr,
        /// Endpoint port.
        port: u16,
    },
    /// A KUBE-SVC/SVL chain nothing jumps to (partial-sync leftover; informational).
    UnreferencedChain,
}

/// One difference between observed and synthesized kube-proxy state.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftFinding {
    /// What differs.
    pub kind: DriftKind,
    /// The service port (`ns/name:port`), or the chain name when no comment names it.
    pub service: String,
    /// `KUBE-SVC` (Cluster set) or `KUBE-SVL` (Local set) side, with the chain name if observed.
    pub chain: String,
    /// A human-readable explanation.
    pub detail: String,
    /// The observed rule to cite, when there is one.
    pub rule: Option<RuleRef>,
}

fn rule_ref(dump: &IptablesDump, table: &Table, chain: &str, idx: usize) -> Option<RuleRef> {
    let rule = table.chain(chain)?.rules().get(idx)?;
    Some(RuleRef {
        table: table.name.clone(),
        chain: chain.to_string(),
        line: rule.line,
        text: rule.text.clone(),
        comment: rule.comment().map(str::to_string),
        at: Some(dump.provenance(&rule)),
    })
}

fn sep_destination(table: &Table, sep: &str) -> Option<(IpAddr, u16)> {
    table
        .chain(sep)?
        .rules()
        .iter()
        .find_map(|r| match &r.target {
            Some(Target::Dnat {
                to_destination: Some(d),
                ..
            }) => {
                let (ip, port) = match d.strip_prefix('[') {
                    Some(rest) => rest.split_once("]:")?,
                    None => d.rsplit_once(':')?,
                };
                Some((ip.parse().ok()?, port.parse().ok()?))
            }
            _ => None,
        })
}

/// Reads every KUBE-SVC/KUBE-SVL chain of the dump's nat table with its endpoints.
pub fn observed_endpoints(dump: &IptablesDump) -> Vec<ObservedServicePort> {
    let Some(nat) = dump.table("nat") else {
        return Vec::new();
    };
    // The rules jumping to each chain, in file order, found in one pass.
    let mut jumps: crate::graph::FastMap<&str, Vec<crate::model::iptables::Rule>> =
        crate::graph::FastMap::default();
    for r in nat.chains.values().flat_map(|c| c.rules().iter()) {
        if let Some(target) = r.body.jump_chain() {
            jumps.entry(target).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for (name, chain) in &nat.chains {
        let local = name.starts_with("KUBE-SVL-");
        if !local && !name.starts_with("KUBE-SVC-") {
            continue;
        }
        let mut endpoints = Vec::new();
        let mut service = None;
        for r in chain.rules().iter() {
            if service.is_none() {
                service = r.comment().and_then(service_in_comment);
            }
            if let Some(sep) = r.jump_chain().filter(|c| c.starts_with("KUBE-SEP-")) {
                if let Some(ep) = sep_destination(nat, sep) {
                    if !endpoints.contains(&ep) {
                        endpoints.push(ep);
                    }
                }
            }
        }
        let jumpers: &[crate::model::iptables::Rule] =
            jumps.get(&**name).map_or(&[], Vec::as_slice);
        if service.is_none() {
            service = jumpers
                .iter()
                .filter_map(|r| r.comment())
                .find_map(service_in_comment);
        }
        out.push(ObservedServicePort {
            service,
            chain: name.to_string(),
            local,
            endpoints,
            referenced: !jumpers.is_empty(),
            first_rule: rule_ref(dump, nat, name, 0),
        });
    }
    out
}

/// Compares the endpoints a node's rules use with those the API objects select, per service
/// port and policy (KUBE-SVC = Cluster set, KUBE-SVL = Local set).
pub fn drift(observed: &IptablesDump, synthesized: &SynthesizedProxy) -> Vec<DriftFinding> {
    let obs = observed_endpoints(observed);
    let mut findings = Vec::new();
    for o in obs.iter().filter(|o| !o.referenced) {
        findings.push(DriftFinding {
            kind: DriftKind::UnreferencedChain,
            service: o.service.clone().unwrap_or_else(|| o.chain.clone()),
            chain: o.chain.clone(),
            detail: format!(
                "{} is not jumped to by any rule (stale, never reached)",
                o.chain
            ),
            rule: o.first_rule.clone(),
        });
    }
    let live: Vec<&ObservedServicePort> = obs.iter().filter(|o| o.referenced).collect();
    for sp in &synthesized.services {
        for local in [false, true] {
            let used = if local {
                sp.uses_local()
            } else {
                sp.uses_cluster()
            };
            let expected = if local {
                &sp.local_endpoints
            } else {
                &sp.cluster_endpoints
            };
            let side = if local { "KUBE-SVL" } else { "KUBE-SVC" };
            let o = live
                .iter()
                .find(|o| o.local == local && o.service.as_deref() == Some(sp.key.as_str()));
            let Some(o) = o else {
                if used && sp.has_endpoints && !expected.is_empty() {
                    findings.push(DriftFinding {
                        kind: DriftKind::MissingService,
                        service: sp.key.clone(),
                        chain: side.to_string(),
                        detail: format!(
                            "{} has {} endpoint(s) for {side} but the node has no such chain \
                             (stale dump, nftables/IPVS mode, or ipMode: Proxy)",
                            sp.key,
                            expected.len()
                        ),
                        rule: None,
                    });
                }
                continue;
            };
            for &(ip, port) in expected {
                if !o.endpoints.contains(&(ip, port)) {
                    findings.push(DriftFinding {
                        kind: DriftKind::MissingEndpoint { ip, port },
                        service: sp.key.clone(),
                        chain: o.chain.clone(),
                        detail: format!("{ip}:{port} is selected but missing from {}", o.chain),
                        rule: o.first_rule.clone(),
                    });
                }
            }
            for &(ip, port) in &o.endpoints {
                if !expected.contains(&(ip, port)) {
                    findings.push(DriftFinding {
                        kind: DriftKind::StaleEndpoint { ip, port },
                        service: sp.key.clone(),
                        chain: o.chain.clone(),
                        detail: format!(
                            "{} still sends to {ip}:{port}, which the EndpointSlices no longer select",
                            o.chain
                        ),
                        rule: o.first_rule.clone(),
                    });
                }
            }
        }
    }
    for o in &live {
        let known = o.service.as_deref().is_some_and(|s| {
            synthesized
                .services
                .iter()
                .any(|sp| sp.key == s && sp.has_endpoints)
        });
        if !known {
            findings.push(DriftFinding {
                kind: DriftKind::StaleService,
                service: o.service.clone().unwrap_or_else(|| o.chain.clone()),
                chain: o.chain.clone(),
                detail: format!(
                    "{} is live on the node but no Service port with endpoints matches it",
                    o.chain
                ),
                rule: o.first_rule.clone(),
            });
        }
    }
    findings
}
