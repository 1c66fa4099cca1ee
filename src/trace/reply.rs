//! The reply: the forward path walked backwards with the sessions the forward packet set up.
//!
//! Security groups, NAT gateways, internet gateways and load balancers keep state, so the reply
//! passes them by connection tracking. Network ACLs keep none: every NACL the forward packet
//! crossed is evaluated again in the other direction, with addresses and ports swapped and the
//! reply's destination port ranging over the client's assumed ephemeral range.

use super::state::PathState;
use super::types::*;
use crate::eval::nacl::{self, AclDecision, AclDirection};
use crate::model::Cloud;

/// Evaluates the reply of a forward path; returns its hops and whether it gets back.
pub fn evaluate_reply(cloud: &Cloud, st: &PathState) -> (Vec<Hop>, bool) {
    let mut hops = Vec::with_capacity(st.hops.len());
    for (i, fwd) in st.hops.iter().enumerate().rev() {
        let mut hop = Hop {
            at: fwd.at.clone(),
            kind: fwd.kind,
            packet: String::new(),
            steps: Vec::with_capacity(2),
        };
        for (h, groups) in &st.stateful_hops {
            if *h == i {
                hop.steps.push(Step::new(
                    StepKind::Filter,
                    Layer::SecurityGroup,
                    Action::Permitted,
                    "connection tracking",
                    crate::cat!("reply admitted by the forward connection's state: ", groups),
                ));
            }
        }
        for rw in st.rewrites.iter().filter(|r| r.hop == i) {
            hop.steps.push(Step::new(
                StepKind::Dnat,
                Layer::Gateway,
                Action::Transformed,
                "session",
                crate::cat!("reverse translation: ", rw.detail),
            ));
        }
        for chk in st.reply_checks.iter().filter(|c| c.hop == i) {
            let Some(acl) = cloud.network_acls.get(&chk.acl_id) else {
                continue;
            };
            hop.packet = chk.packet.render();
            let dname = if chk.dir == AclDirection::Inbound {
                "inbound"
            } else {
                "outbound"
            };
            let pieces = if chk.packet.protocol.has_ports() {
                nacl::evaluate_range(acl, chk.dir, &chk.packet, chk.reply_dst_ports)
            } else {
                let d = nacl::evaluate(acl, chk.dir, &chk.packet);
                vec![(crate::eval::ports::PortSet::all(), d)]
            };
            let denied: Vec<_> = pieces.iter().filter(|(_, d)| !d.allows()).collect();
            let rule_of = |d: &AclDecision| match d {
                AclDecision::Entry(e, _) => (
                    crate::cat!(acl.id, ' ', dname, " rule ", e.number),
                    Some(e.prov.clone()),
                ),
                AclDecision::ImplicitDeny => (
                    format!("{} {dname} rule * (default deny)", acl.id),
                    Some(acl.prov.clone()),
                ),
            };
            if let Some((ports, d)) = denied.first() {
                let (rule, prov) = rule_of(d);
                let what = if chk.packet.protocol.has_ports() {
                    format!(
                        "the reply to ports {ports} (of the assumed client range {})",
                        chk.reply_dst_ports
                    )
                } else {
                    "the reply".to_string()
                };
                hop.steps.push(Step::new(StepKind::Filter, Layer::Nacl, Action::Denied, rule,
                    format!("{} {dname} denies {what}: NACLs are stateless, so replies need their own rule", acl.id)).at_opt(prov.as_ref()).code("SUBNET_ACL_RESTRICTION"));
                hops.push(hop);
                return (hops, false);
            }
            if let Some((_, d)) = pieces.first() {
                let (rule, prov) = rule_of(d);
                hop.steps.push(
                    Step::new(
                        StepKind::Filter,
                        Layer::Nacl,
                        Action::Permitted,
                        rule,
                        crate::cat!(acl.id, ' ', dname, " allows the reply"),
                    )
                    .at_opt(prov.as_ref()),
                );
            }
        }
        hops.push(hop);
    }
    if let Some(last) = hops.last_mut() {
        last.steps.push(Step::new(
            StepKind::Deliver,
            Layer::Fabric,
            Action::Accepted,
            "reply",
            "the reply reaches the client",
        ));
    }
    (hops, true)
}
