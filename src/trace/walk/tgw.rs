//! Transit gateway forwarding: the route table associated with the arrival attachment decides.

use super::*;

impl Tracer<'_> {
    pub(super) fn tgw_lookup(&self, st: &mut PathState, tgw_id: &str, att_id: &str) -> Next {
        let cloud = self.cloud();
        let Some(att) = cloud.tgw_attachment_view(att_id, tgw_id) else {
            return self.unknown(st, Layer::Routing, att_id, format!("attachment {att_id} is not in the snapshot: add `aws ec2 describe-transit-gateway-attachments`"));
        };
        if !att.forwards() {
            let what = format!("attachment {att_id} is {}", att.state);
            return self.inactive(
                st,
                StepKind::Route,
                Layer::Routing,
                att_id,
                what,
                &att.prov,
                "BAD_STATE_ATTACHMENT",
            );
        }
        let Some(rtb_id) = att.association.as_deref().filter(|_| att.tgw_id == tgw_id) else {
            return self.deny_route(st, Step::new(StepKind::Route, Layer::Routing, Action::NoRoute, att_id, format!("attachment {att_id} is associated with no route table of {tgw_id}: packets arriving on it are dropped")).at(&att.prov).code("TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION"), Disposition::NoRoute);
        };
        let Some(rtb) = cloud.tgw_route_tables.get(rtb_id) else {
            return self.unknown(st, Layer::Routing, rtb_id, format!("route table {rtb_id} is not in the snapshot: add `aws ec2 describe-transit-gateway-route-tables`"));
        };
        // Candidates: the listed (static and searched) routes, then routes propagated from attachments.
        struct Cand<'r> {
            prefix: IpNet,
            targets: Vec<String>,
            blackhole: bool,
            origin: &'static str,
            prov: &'r crate::source::Provenance,
        }
        let mut cands: Vec<Cand> = Vec::new();
        for r in &rtb.routes {
            let origin = if r.origin == TgwRouteOrigin::Static {
                "static"
            } else {
                "propagated"
            };
            cands.push(Cand {
                prefix: r.destination,
                targets: r.attachment_ids.clone(),
                blackhole: r.blackhole,
                origin,
                prov: &r.prov,
            });
        }
        for (pa, prov) in &rtb.propagations {
            let Some(a) = cloud.tgw_attachments.get(pa) else {
                continue;
            };
            if !a.forwards() {
                continue;
            }
            let prefixes: Vec<IpNet> = match &a.resource {
                TgwResource::Vpc(v) => cloud.vpcs.get(v).map(|v| v.cidrs()).unwrap_or_default(),
                TgwResource::Vpn(v) => cloud
                    .vpn_connections
                    .get(v)
                    .map(|v| v.static_routes.clone())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            for p in prefixes {
                if !cands
                    .iter()
                    .any(|c| c.prefix == p && c.targets.iter().any(|t| t == pa))
                {
                    cands.push(Cand {
                        prefix: p,
                        targets: vec![pa.clone()],
                        blackhole: false,
                        origin: "propagated",
                        prov,
                    });
                }
            }
        }
        let lpm_cands: Vec<Candidate> = cands
            .iter()
            .map(|c| Candidate {
                prefix: c.prefix,
                class: if c.origin == "static" { 1 } else { 3 },
                propagated: false,
            })
            .collect();
        let Some(k) = lpm::lookup(&lpm_cands, st.pkt.dst) else {
            return self.deny_route(
                st,
                Step::new(
                    StepKind::Route,
                    Layer::Routing,
                    Action::NoRoute,
                    format!("{rtb_id} (no route)"),
                    format!(
                        "no route in {rtb_id} (associated with {att_id}) matches {}",
                        st.pkt.dst
                    ),
                )
                .at(&rtb.prov)
                .code("TGW_RTB_CANNOT_ROUTE"),
                Disposition::NoRoute,
            );
        };
        let c = &cands[k];
        let rule = format!(
            "{rtb_id} {} -> {} ({})",
            c.prefix,
            if c.blackhole {
                "blackhole".to_string()
            } else {
                c.targets.join(",")
            },
            c.origin
        );
        if c.blackhole || c.targets.is_empty() {
            return self.deny_route(
                st,
                Step::new(
                    StepKind::Route,
                    Layer::Routing,
                    Action::Blackhole,
                    rule,
                    "blackhole route: dropped",
                )
                .at(c.prov)
                .code("BAD_STATE_ROUTE"),
                Disposition::Blackhole,
            );
        }
        let target_id = c.targets[0].clone();
        let step = Step::new(
            StepKind::Route,
            Layer::Routing,
            Action::Forwarded,
            rule,
            format!("{tgw_id} routes {} to {target_id}", st.pkt.dst),
        )
        .at(c.prov);
        st.step(step);
        let Some(target) = cloud.tgw_attachments.get(&target_id) else {
            return self.unknown(
                st,
                Layer::Routing,
                target_id.clone(),
                format!("attachment {target_id} is not in the snapshot"),
            );
        };
        match &target.resource {
            TgwResource::Vpc(v) => Next::Go(Loc::VpcLocal(v.clone())),
            TgwResource::Peering(peer) => {
                let next_tgw = if peer == tgw_id {
                    target.tgw_id.clone()
                } else {
                    peer.clone()
                };
                Next::Go(Loc::Tgw {
                    id: next_tgw,
                    attachment: target_id,
                })
            }
            TgwResource::Vpn(v) => Next::Go(Loc::VpnPeer(v.clone())),
            other => {
                st.step(Step::new(
                    StepKind::Deliver,
                    Layer::Gateway,
                    Action::Exited,
                    target_id.clone(),
                    format!("handed to {other:?}: beyond it is not modelled"),
                ));
                Next::Done(Disposition::ExitsNetwork)
            }
        }
    }
}
