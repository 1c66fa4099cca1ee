//! Kubernetes NetworkPolicy (and AdminNetworkPolicy) on the trace: the sender's egress where
//! the engine enforces it, the receiver's ingress at delivery, with the source as it arrives.

use super::*;
use crate::model::cluster::Pod;
use crate::model::cluster::PolicyType;
use crate::policy::netpol::{Citation, Effect, Endpoint, Peer, PolicyContext, Selection};
use std::rc::Rc;

/// What NetworkPolicies see of one pod, and the policies selecting it, computed once per pod
/// and tracer.
pub(super) struct PodPolicy<'a> {
    /// The pod as a policy endpoint.
    endpoint: Endpoint,
    /// The NetworkPolicies selecting it, per direction.
    selection: Selection<'a>,
}

/// Per pod index, its [`PodPolicy`].
pub(super) type PodPolicies<'a> =
    std::collections::HashMap<usize, Rc<PodPolicy<'a>>, foldhash::fast::RandomState>;

/// Which engine enforces NetworkPolicy, and so where egress is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PolicyEngine {
    /// The Amazon VPC CNI network-policy agent (eBPF on the pod's veth).
    VpcCniAgent,
    /// calico-node (iptables/eBPF after kube-proxy).
    Calico,
    /// No engine detected in the snapshot.
    Unknown,
}

impl<'a> Tracer<'a> {
    /// The prepared policies, built once per tracer.
    fn policy_ctx(&self) -> &PolicyContext<'a> {
        self.netpol
            .get_or_init(|| PolicyContext::new(&self.snap.cluster))
    }

    fn policy_engine(&self) -> PolicyEngine {
        let c = &self.snap.cluster;
        if c.daemon_set("kube-system", "calico-node").is_some()
            || c.daemon_sets.iter().any(|d| d.meta.name == "calico-node")
        {
            return PolicyEngine::Calico;
        }
        if let Some(d) = c.daemon_set("kube-system", "aws-node") {
            let agent = d.template.containers.iter().any(|ct| {
                (ct.name == "aws-eks-nodeagent" || ct.name == "aws-network-policy-agent")
                    && !ct.env.iter().any(|e| {
                        e.name == "ENABLE_NETWORK_POLICY" && e.value.as_deref() == Some("false")
                    })
            });
            if agent
                || d.env_value("ENABLE_NETWORK_POLICY")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            {
                return PolicyEngine::VpcCniAgent;
            }
        }
        PolicyEngine::Unknown
    }

    fn policies_present(&self) -> bool {
        let c = &self.snap.cluster;
        !c.network_policies.is_empty()
            || !c.admin_network_policies.is_empty()
            || !c.baseline_admin_network_policies.is_empty()
    }

    fn endpoint_of(pod: &Pod) -> Endpoint {
        Endpoint::from_spec(pod.meta.namespace_or_default(), &pod.meta.labels, &pod.spec)
    }

    /// The endpoint and selecting policies of the pod at index `idx` (cached per tracer).
    fn pod_policy(&self, idx: usize, pod: &Pod) -> Rc<PodPolicy<'a>> {
        if let Some(hit) = self.pod_policies.borrow().get(&idx) {
            return hit.clone();
        }
        let endpoint = Self::endpoint_of(pod);
        let selection = self.policy_ctx().select(&endpoint);
        let entry = Rc::new(PodPolicy {
            endpoint,
            selection,
        });
        self.pod_policies.borrow_mut().insert(idx, entry.clone());
        entry
    }

    /// The policy peer a packet address stands for: a pod on the pod network, else an address.
    fn peer_pod(&self, ip: IpAddr) -> Option<(usize, &'a Pod)> {
        let snap: &'a Snapshot = self.snap;
        self.ix
            .cluster
            .pod_by_ip
            .get(&ip)
            .and_then(|&i| Some((i, snap.cluster.pods.get(i)?)))
            .filter(|(_, p)| !p.spec.host_network)
    }

    fn cite(&self, c: &Citation) -> (String, Option<crate::source::Provenance>) {
        let rule = match &c.rule {
            Some(r) => crate::cat!(c.policy, ' ', r),
            None => c.policy.clone(),
        };
        (
            rule,
            c.rule_at.clone().or_else(|| Some(c.policy_at.clone())),
        )
    }

    fn engine_note(&self, engine: PolicyEngine) {
        if engine == PolicyEngine::Unknown {
            self.assume("NetworkPolicy enforced as written, but no policy engine (VPC CNI network-policy agent, calico-node) was found in the snapshot: add `kubectl get ds -n kube-system -o yaml`");
        }
    }

    /// The sender's egress policies, checked once when the packet leaves its pod's node.
    pub(super) fn netpol_egress(&self, st: &mut PathState) -> Option<Next> {
        if st.egress_checked || !self.policies_present() {
            return None;
        }
        st.egress_checked = true;
        let src = st
            .src_pod
            .and_then(|i| self.snap.cluster.pods.get(i))
            .filter(|p| !p.spec.host_network)?;
        let engine = self.policy_engine();
        self.engine_note(engine);
        let ctx = self.policy_ctx();
        let src_idx = st.src_pod?;
        let se = self.pod_policy(src_idx, src);
        let de = self
            .peer_pod(st.pkt.dst)
            .map(|(i, p)| self.pod_policy(i, p));
        let dst_peer = match &de {
            Some(e) => Peer::Pod(&e.endpoint),
            None => Peer::External(st.pkt.dst),
        };
        let egress = ctx.side(
            &se.endpoint,
            dst_peer,
            PolicyType::Egress,
            true,
            Some(&se.selection.egress),
        );
        let allowed = egress.conns.contains(st.pkt.protocol, st.pkt.dst_port);
        let stage = match engine {
            PolicyEngine::VpcCniAgent => "egress, enforced by the VPC CNI agent on the pod's veth (Service addresses resolved to the pods they select)",
            PolicyEngine::Calico => "egress, enforced by Calico after kube-proxy's DNAT (pod address and target port)",
            PolicyEngine::Unknown => "egress",
        };
        self.netpol_step(st, &egress.because, allowed, stage, &src.meta.key())
    }

    /// The receiver's ingress policies, with the source as it arrives (after any SNAT).
    pub(super) fn netpol_ingress(
        &self,
        st: &mut PathState,
        dst_idx: usize,
        dst: &Pod,
    ) -> Option<Next> {
        if !self.policies_present() || dst.spec.host_network {
            return None;
        }
        let node_ip = self.ix.cluster.node_of(dst).and_then(|n| n.ip);
        if node_ip == Some(st.pkt.src) {
            st.step(Step::new(
                StepKind::Filter,
                Layer::NetworkPolicy,
                Action::Permitted,
                "from its own node",
                format!(
                    "{} is {}'s own node: NetworkPolicy always allows it (kubelet probes)",
                    st.pkt.src,
                    dst.meta.key()
                ),
            ));
            return None;
        }
        let ctx = self.policy_ctx();
        let de = self.pod_policy(dst_idx, dst);
        let se = self
            .peer_pod(st.pkt.src)
            .map(|(i, p)| self.pod_policy(i, p));
        let src_peer = match &se {
            Some(e) => Peer::Pod(&e.endpoint),
            None => Peer::External(st.pkt.src),
        };
        let ingress = ctx.side(
            &de.endpoint,
            src_peer,
            PolicyType::Ingress,
            true,
            Some(&de.selection.ingress),
        );
        let allowed = ingress.conns.contains(st.pkt.protocol, st.pkt.dst_port);
        let seen = if se.is_some() {
            "from the pod"
        } else {
            "from the address as it arrives"
        };
        self.netpol_step(
            st,
            &ingress.because,
            allowed,
            &crate::cat!("ingress, ", seen, ' ', st.pkt.src),
            &dst.meta.key(),
        )
    }

    fn netpol_step(
        &self,
        st: &mut PathState,
        because: &[(Citation, crate::policy::netpol::ConnSet)],
        allowed: bool,
        stage: &str,
        who: &str,
    ) -> Option<Next> {
        let (p, port) = (st.pkt.protocol, st.pkt.dst_port);
        let relevant: Vec<&Citation> = because
            .iter()
            .filter(|(c, covers)| match c.effect {
                Effect::Allow => allowed && covers.contains(p, port),
                Effect::Pass => covers.contains(p, port),
                Effect::Deny | Effect::Except => !allowed && covers.contains(p, port),
                Effect::Isolate => !allowed,
            })
            .map(|(c, _)| c)
            .collect();
        if relevant.is_empty() && allowed {
            return None; // no policy selects this side
        }
        let first = relevant.first().map(|c| self.cite(c));
        let rule = first
            .as_ref()
            .map(|(r, _)| r.clone())
            .unwrap_or_else(|| "NetworkPolicy".into());
        let prov = first.and_then(|(_, p)| p);
        let isolating: Vec<&str> = relevant
            .iter()
            .filter(|c| c.effect == Effect::Isolate)
            .map(|c| c.policy.as_str())
            .collect();
        let others: Vec<String> = relevant
            .iter()
            .filter(|c| c.effect != Effect::Isolate)
            .map(|c| match &c.rule {
                Some(r) => crate::cat!(c.policy, ' ', r, ": ", c.reason),
                None => crate::cat!(c.policy, ": ", c.reason),
            })
            .collect();
        let mut parts = others;
        if !isolating.is_empty() {
            let (toward, peer) = if stage.starts_with("egress") {
                ("to ", st.pkt.dst)
            } else {
                ("from ", st.pkt.src)
            };
            parts.push(crate::cat!(
                "selected by ",
                isolating.join(", "),
                ", and no rule of them allows ",
                st.pkt.protocol,
                ' ',
                toward,
                peer,
                " port ",
                st.pkt.dst_port
            ));
        }
        let detail = crate::cat!(who, ' ', stage, ": ", parts.join("; "));
        if allowed {
            st.step(
                Step::new(
                    StepKind::Filter,
                    Layer::NetworkPolicy,
                    Action::Permitted,
                    rule,
                    detail,
                )
                .at_opt(prov.as_ref()),
            );
            None
        } else {
            Some(
                self.deny(
                    st,
                    Step::new(
                        StepKind::Filter,
                        Layer::NetworkPolicy,
                        Action::Denied,
                        rule,
                        detail,
                    )
                    .at_opt(prov.as_ref()),
                ),
            )
        }
    }
}
