//! kube-proxy on a node: the node's own `iptables-save` rules when the snapshot has them,
//! otherwise the same behaviour derived from Services and EndpointSlices (and said so).
//! Each outcome branch (one per endpoint, with its probability) becomes a path.

use super::service_index::ServiceIndex;
use super::*;
use crate::kube::join::NodeJoin;
use crate::kube::proxy::{self, NodeContext, ProxyBranch, SynthOptions, Verdict};

/// kube-proxy's derived behaviour on one node and the drift findings against its dump, computed
/// once per node and tracer.
pub(super) type NodeProxy = (
    std::rc::Rc<proxy::SynthesizedProxy>,
    std::rc::Rc<Vec<String>>,
);

impl Tracer<'_> {
    fn node_proxy(
        &self,
        node: &NodeJoin,
        local: &[IpAddr],
        dump: Option<&crate::model::iptables::IptablesDump>,
    ) -> NodeProxy {
        if let Some(hit) = self.proxy_cache.borrow().get(&node.name) {
            return hit.clone();
        }
        let synth = proxy::synthesize(
            &self.snap.cluster,
            &node.name,
            &SynthOptions {
                local_addresses: local.to_vec(),
                ..Default::default()
            },
        );
        let drift: Vec<String> = dump
            .map(|d| {
                proxy::drift(d, &synth)
                    .into_iter()
                    .filter(|f| !matches!(f.kind, proxy::DriftKind::UnreferencedChain))
                    .map(|f| {
                        format!(
                            "kube-proxy drift on {}: {} ({})",
                            node.name, f.detail, f.service
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let entry = (std::rc::Rc::new(synth), std::rc::Rc::new(drift));
        self.proxy_cache
            .borrow_mut()
            .insert(node.name.clone(), entry.clone());
        entry
    }

    /// The Services' addresses, node ports and namespaces, gathered on first use.
    pub(super) fn service_index(&self) -> &ServiceIndex {
        self.services
            .get_or_init(|| ServiceIndex::build(&self.snap.cluster))
    }

    fn service_hit(&self, pkt: &Packet, node: &NodeJoin) -> bool {
        let is_local = |ip: IpAddr| {
            self.snap
                .cluster
                .nodes
                .get(node.index)
                .is_some_and(|n| n.addresses.iter().any(|a| a.ip == Some(ip)))
        };
        self.ix.cluster.service_by_ip.contains_key(&pkt.dst)
            || self.service_index().hit(pkt, is_local)
    }

    /// Runs kube-proxy's rules for the packet on `node`; `None` when no Service is addressed.
    pub(super) fn kube_proxy(&self, st: &mut PathState, node: &NodeJoin) -> Option<Next> {
        if !self.service_hit(&st.pkt, node) {
            return None;
        }
        let cluster = &self.snap.cluster;
        let local: Vec<IpAddr> = cluster
            .nodes
            .get(node.index)
            .map(|n| n.addresses.iter().filter_map(|a| a.ip).collect())
            .unwrap_or_default();
        let dump = self
            .snap
            .iptables
            .iter()
            .find(|d| d.node.as_deref() == Some(node.name.as_str()));
        let (synth, drift) = self.node_proxy(node, &local, dump);
        let outcome = match dump {
            Some(d) => {
                let mut ctx = NodeContext::new(local.clone());
                ctx.locally_originated = st.local_origin;
                if !st.local_origin {
                    ctx.in_interface = st.in_interface.clone();
                }
                for line in drift.iter() {
                    self.assume(line.clone());
                }
                proxy::evaluate(d, &st.pkt, &ctx)
            }
            None => {
                self.assume(format!(
                    "kube-proxy rules on {} were derived from Services and EndpointSlices, not observed: add the node's `iptables-save` output to check them",
                    node.name
                ));
                synth.evaluate(&st.pkt)
            }
        };
        for n in &outcome.notes {
            self.assume(format!("kube-proxy on {}: {n}", node.name));
        }
        if outcome.branches.is_empty() {
            return None;
        }
        let mut branches = Vec::new();
        for b in &outcome.branches {
            let mut s = st.clone();
            let next = self.proxy_branch(&mut s, node, b, outcome.branches.len() > 1);
            branches.push((s, next));
        }
        if branches.len() == 1 {
            let (s, next) = branches.pop()?;
            *st = s;
            return Some(next);
        }
        Some(Next::Branch(branches))
    }

    fn proxy_branch(
        &self,
        st: &mut PathState,
        node: &NodeJoin,
        b: &ProxyBranch,
        several: bool,
    ) -> Next {
        for n in &b.notes {
            self.assume(format!("kube-proxy on {}: {n}", node.name));
        }
        // Cite the rule that decided: the DNAT (or REJECT/DROP) rule, not the bookkeeping after it.
        let deciding = b
            .rules
            .iter()
            .rposition(|r| {
                r.text.contains("--to-destination")
                    || r.text.contains("-j REJECT")
                    || r.text.contains("-j DROP")
            })
            .unwrap_or(b.rules.len().saturating_sub(1));
        let upto = &b.rules[..(deciding + 1).min(b.rules.len())];
        let mut chain: Vec<&str> = Vec::new();
        for r in upto {
            if chain.last() != Some(&r.chain.as_str()) {
                chain.push(r.chain.as_str());
            }
        }
        let last = upto.last();
        let rule = last
            .map(|r| {
                if r.line > 0 {
                    format!("{} {} line {}", r.table, r.chain, r.line)
                } else {
                    format!("{} {} (derived)", r.table, r.chain)
                }
            })
            .unwrap_or_else(|| "kube-proxy".into());
        let service = b.service.clone().unwrap_or_else(|| "a Service".into());
        let prob = if several {
            format!(" with probability {:.4}", b.probability)
        } else {
            String::new()
        };
        let via = if chain.is_empty() {
            String::new()
        } else {
            format!(" (via {})", chain.join(" -> "))
        };
        let source = last.and_then(|r| r.at.clone());
        match &b.verdict {
            Verdict::Dnat { ip, port } => {
                let old = (st.pkt.dst, st.pkt.dst_port);
                st.pkt.dst = *ip;
                st.pkt.dst_port = *port;
                let hop = st.hop_index();
                st.rewrites.push(Rewrite { hop, detail: format!("source {ip}:{port} -> {}:{} (kube-proxy DNAT session)", old.0, old.1) });
                st.step(Step::new(StepKind::Dnat, Layer::Iptables, Action::Transformed, rule, format!("{service}: {}:{} -> {ip}:{port}{prob}{via}", old.0, old.1)).at_opt(source.as_ref()));
                if b.masquerade {
                    if let Some(nip) = node.ip {
                        if st.pkt.src != nip {
                            let old_src = st.snat(nip, "kube-proxy masquerade session");
                            st.step(Step::new(StepKind::Snat, Layer::Iptables, Action::Transformed, "KUBE-POSTROUTING MASQUERADE", format!("source {old_src} -> {nip}: the client address is not kept")));
                        }
                    }
                }
                self.node_route(st, node)
            }
            Verdict::Accept { .. } => self.node_route(st, node),
            Verdict::Reject => self.deny(st, Step::new(StepKind::Filter, Layer::Iptables, Action::Denied, rule, format!("{service}: REJECT — the Service has no endpoints this node may use (the client sees connection refused){via}")).at_opt(source.as_ref())),
            Verdict::Drop => self.deny(st, Step::new(StepKind::Filter, Layer::Iptables, Action::Denied, rule, format!("{service}: DROP{via}")).at_opt(source.as_ref())),
            Verdict::Undecidable(why) => self.unknown(st, Layer::Iptables, rule, format!("{service}: cannot be decided: {why}")),
            Verdict::Loop(why) => {
                st.step(Step::new(StepKind::Drop, Layer::Iptables, Action::Denied, rule, format!("chain loop: {why}")));
                Next::Done(Disposition::Loop)
            }
        }
    }
}
