//! Load balancer nodes: listener, target group, target choice, and address translation.

use super::*;
use crate::model::cluster::PortRef;

impl Tracer<'_> {
    /// The Service's `loadBalancerSourceRanges`, checked against the client address as the load
    /// balancer sees it. On AWS they become security group rules (the load balancer's frontend
    /// group with the AWS Load Balancer Controller, node group rules with the legacy provider);
    /// kube-proxy adds no KUBE-FW chain for a load balancer known by a hostname.
    fn check_source_ranges(&self, st: &mut PathState, lb: &LoadBalancer) -> Option<Next> {
        let svc = crate::kube::lb::service_for_load_balancer(&self.snap.cluster, lb)?;
        let sr = crate::kube::lb::source_ranges(svc)?;
        let key = format!(
            "{}/{}",
            svc.meta.namespace.as_deref().unwrap_or("default"),
            svc.meta.name
        );
        let client = st.pkt.src;
        let rule = format!("Service {key} loadBalancerSourceRanges");
        let listed: Vec<String> = sr.ranges.iter().map(ToString::to_string).collect();
        let enforced = if lb.security_groups.is_empty() {
            "enforced by the node security group rules the cloud provider writes from it"
        } else {
            "enforced by the load balancer's frontend security group, which the controller writes from it"
        };
        match sr.ranges.iter().find(|r| r.contains(&client)) {
            Some(r) => {
                st.step(
                    Step::new(
                        StepKind::Filter,
                        Layer::LbSourceRanges,
                        Action::Permitted,
                        rule,
                        format!(
                            "client {client} is in {r} ({} of Service {key}; {enforced})",
                            sr.field
                        ),
                    )
                    .at(&sr.at),
                );
                None
            }
            None => Some(
                self.deny(
                    st,
                    Step::new(
                        StepKind::Filter,
                        Layer::LbSourceRanges,
                        Action::Denied,
                        rule,
                        format!(
                            "client {client} is outside {} of Service {key} ({}; {enforced})",
                            sr.field,
                            listed.join(", ")
                        ),
                    )
                    .at(&sr.at)
                    .code("LB_SOURCE_RANGES"),
                ),
            ),
        }
    }

    /// The zone a target lives in: given by target health, else its instance's or address's subnet.
    fn target_zone(&self, tg: &TargetGroup, t: &Target) -> Option<String> {
        if let Some(z) = &t.az {
            return Some(z.clone());
        }
        let cloud = self.cloud();
        let eni = match tg.target_type {
            TargetType::Instance => cloud
                .instances
                .get(&t.id)
                .and_then(|i| i.interface_ids.first())
                .cloned(),
            _ => {
                t.id.parse::<IpAddr>()
                    .ok()
                    .and_then(|ip| self.ix.owner_of(ip).map(str::to_string))
            }
        };
        eni.and_then(|e| cloud.interfaces.get(&e))
            .map(|e| e.az.clone())
    }

    /// An ALB serving Ingresses routes by their host and path rules (the controller writes them
    /// as listener rules): the request's host and path pick one Ingress path, whose backend
    /// Service has the target groups named after it. Without request attributes every target
    /// group of the load balancer is traced; with them and no matching rule, the controller's
    /// default action answers 404.
    fn alb_route(
        &self,
        st: &mut PathState,
        lb: &LoadBalancer,
        listener: &Listener,
    ) -> Result<Vec<String>, Next> {
        let ings = crate::kube::lb::ingresses_for_load_balancer(&self.snap.cluster, lb);
        if ings.is_empty() {
            return Ok(listener.target_group_arns.clone());
        }
        let mut all: Vec<String> = listener.target_group_arns.clone();
        for tg in self.cloud().target_groups.values() {
            if tg.load_balancer_arns.contains(&lb.arn) && !all.contains(&tg.arn) {
                all.push(tg.arn.clone());
            }
        }
        let keys: Vec<String> = ings.iter().map(|i| i.meta.key()).collect();
        let http = self.http.borrow().clone().unwrap_or_default();
        if http.host.is_none() && http.path.is_none() {
            self.assume(format!(
                "{} routes by the host and path rules of Ingress {}: without --http-host/--http-path every target group behind it is traced",
                lb.name,
                keys.join(", ")
            ));
            return Ok(all);
        }
        let path = http.path.as_deref().unwrap_or("/");
        let host = http.host.as_deref();
        let shown = format!("host {} path {path}", host.unwrap_or("(none)"));
        let Some((ing, p)) = crate::kube::lb::route_request(&ings, host, path) else {
            return Err(self.deny(
                st,
                Step::new(
                    StepKind::Filter,
                    Layer::LoadBalancer,
                    Action::Denied,
                    format!("{} Ingress rules", lb.name),
                    format!(
                        "no rule of Ingress {} matches {shown}: the ALB answers with the controller's default action (fixed response 404)",
                        keys.join(", ")
                    ),
                )
                .at(&ing_prov(&ings))
                .code("ALB_NO_RULE_MATCH"),
            ));
        };
        let ns = ing.meta.namespace_or_default();
        let svc = p.backend.service_name.clone().unwrap_or_default();
        let port = match &p.backend.service_port {
            Some(PortRef::Number(n)) => n.to_string(),
            Some(PortRef::Name(n)) => n.clone(),
            None => "?".into(),
        };
        st.step(
            Step::new(
                StepKind::LoadBalancer,
                Layer::LoadBalancer,
                Action::Forwarded,
                format!("Ingress {} {}", ing.meta.key(), p.path.as_deref().unwrap_or("/")),
                format!(
                    "{shown} matches Ingress {} path {} ({}): backend Service {ns}/{svc} port {port}",
                    ing.meta.key(),
                    p.path.as_deref().unwrap_or("/"),
                    p.path_type.as_deref().unwrap_or("ImplementationSpecific")
                ),
            )
            .at(&p.at),
        );
        let prefix = crate::kube::lb::target_group_prefix(ns, &svc);
        let chosen: Vec<String> = all
            .iter()
            .filter(|a| {
                self.cloud()
                    .target_groups
                    .get(*a)
                    .is_some_and(|t| t.name.starts_with(&prefix))
            })
            .cloned()
            .collect();
        if chosen.is_empty() {
            return Err(self.unknown(
                st,
                Layer::LoadBalancer,
                format!("{ns}/{svc}"),
                format!(
                    "no target group of {} is named for Service {ns}/{svc} ({prefix}…): add `aws elbv2 describe-target-groups --load-balancer-arn {}`",
                    lb.name, lb.arn
                ),
            ));
        }
        Ok(chosen)
    }

    fn target_ip(&self, tg: &TargetGroup, t: &Target) -> Option<IpAddr> {
        match tg.target_type {
            TargetType::Instance => {
                let inst = self.cloud().instances.get(&t.id)?;
                inst.private_ip.or_else(|| {
                    inst.interface_ids
                        .first()
                        .and_then(|e| self.cloud().interfaces.get(e))
                        .and_then(|e| e.primary_ip())
                })
            }
            _ => t.id.parse().ok(),
        }
    }

    pub(super) fn lb_node(&self, st: &mut PathState, lb_arn: &str, eni: &Interface) -> Next {
        let cloud = self.cloud();
        let Some(lb) = cloud.load_balancers.get(lb_arn) else {
            return self.unknown(
                st,
                Layer::LoadBalancer,
                lb_arn,
                format!("load balancer {lb_arn} is not in the snapshot"),
            );
        };
        let name = format!("lb/{}@{}", lb.name, eni.az);
        if !st.enter(&name, NodeKind::LoadBalancer) {
            return Next::Done(Disposition::Loop);
        }
        if lb.state != "active" {
            return self.deny(
                st,
                Step::new(
                    StepKind::Drop,
                    Layer::LoadBalancer,
                    Action::Denied,
                    lb.name.clone(),
                    format!("load balancer {} is {}", lb.name, lb.state),
                )
                .at(&lb.prov)
                .code("BAD_STATE"),
            );
        }
        if let Some(from) = &lb.modelled_from {
            self.assume(format!(
                "load balancer {} modelled from {from} ({}): not in the AWS snapshot; its node addresses{} are placeholders and its targets are assumed healthy unless the Service says otherwise (add `aws elbv2 describe-load-balancers`, `describe-listeners`, `describe-target-groups` and `describe-target-health` to check the real one)",
                lb.name,
                self.snap.sources.cite(&lb.prov),
                if lb.internet_facing { " (private and public)" } else { "" },
            ));
        }
        if let Some(n) = self.check_source_ranges(st, lb) {
            return n;
        }
        if !lb.security_groups.is_empty() {
            if let Some(n) = self.check_sg(st, eni, SgDirection::Ingress) {
                return n;
            }
        }
        let Some(listeners) = &lb.listeners else {
            return self.unknown(st, Layer::LoadBalancer, lb.name.clone(), format!(
                "the listeners of {} are not in the snapshot: add `aws elbv2 describe-listeners --load-balancer-arn {}`", lb.name, lb.arn));
        };
        let Some(listener) = listeners
            .iter()
            .find(|l| l.port == st.pkt.dst_port && l.accepts(st.pkt.protocol))
        else {
            let have: Vec<String> = listeners
                .iter()
                .map(|l| format!("{}:{}", l.protocol, l.port))
                .collect();
            return self.deny(
                st,
                Step::new(
                    StepKind::Filter,
                    Layer::LoadBalancer,
                    Action::Denied,
                    format!("{} listeners", lb.name),
                    format!(
                        "no listener of {} for {} port {} (listeners: {})",
                        lb.name,
                        st.pkt.protocol,
                        st.pkt.dst_port,
                        if have.is_empty() {
                            "none".into()
                        } else {
                            have.join(", ")
                        }
                    ),
                )
                .at(&lb.prov)
                .code("ELBV2_LISTENERS_MISMATCH"),
            );
        };
        let cross_zone = lb
            .cross_zone
            .unwrap_or(lb.kind == LoadBalancerKind::Application);
        let listener_rule = format!(
            "{} listener {}:{}",
            lb.name, listener.protocol, listener.port
        );
        let tg_arns = if lb.kind == LoadBalancerKind::Application {
            match self.alb_route(st, lb, listener) {
                Ok(v) => v,
                Err(n) => return n,
            }
        } else {
            listener.target_group_arns.clone()
        };
        let mut branches = Vec::new();
        for tg_arn in &tg_arns {
            let Some(tg) = cloud.target_groups.get(tg_arn) else {
                return self.unknown(st, Layer::LoadBalancer, tg_arn.clone(), format!("target group {tg_arn} is not in the snapshot: add `aws elbv2 describe-target-groups`"));
            };
            let Some(targets) = &tg.targets else {
                return self.unknown(st, Layer::LoadBalancer, tg.name.clone(), format!(
                    "the targets of {} are not in the snapshot: add `aws elbv2 describe-target-health --target-group-arn {}`", tg.name, tg.arn));
            };
            let eligible: Vec<&Target> = targets
                .iter()
                .filter(|t| {
                    cross_zone
                        || match self.target_zone(tg, t) {
                            Some(z) => z == eni.az || z == "all",
                            None => true,
                        }
                })
                .collect();
            if eligible.is_empty() {
                return self.deny(
                    st,
                    Step::new(
                        StepKind::LoadBalancer,
                        Layer::LoadBalancer,
                        Action::Denied,
                        format!("{listener_rule} -> {}", tg.name),
                        format!(
                            "{} has no target in {} and cross-zone load balancing is off",
                            tg.name, eni.az
                        ),
                    )
                    .at(&tg.prov)
                    .code("ELBV2_NO_TARGETS_IN_AZ"),
                );
            }
            let healthy: Vec<&Target> = eligible
                .iter()
                .copied()
                .filter(|t| t.health == "healthy")
                .collect();
            let any_healthy_in_group = targets.iter().any(|t| t.health == "healthy");
            let skipped: Vec<String> = eligible
                .iter()
                .filter(|t| t.health != "healthy")
                .map(|t| {
                    format!(
                        "{} ({}{})",
                        t.id,
                        t.health,
                        t.reason
                            .as_ref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            let chosen: Vec<&Target> = if !healthy.is_empty() {
                healthy
            } else if !any_healthy_in_group {
                self.assume(format!("every target of {} is unhealthy: the load balancer fails open and sends to all of them", tg.name));
                eligible.clone()
            } else {
                return self.deny(st, Step::new(StepKind::LoadBalancer, Layer::LoadBalancer, Action::Denied, format!("{listener_rule} -> {}", tg.name),
                    format!("no healthy target of {} in {} (cross-zone off): {}; this node is taken out of DNS", tg.name, eni.az, skipped.join(", "))).at(&tg.prov).code("ELBV2_NO_TARGETS_IN_AZ"));
            };
            let preserve = lb.kind == LoadBalancerKind::Network && tg.preserves_client_ip();
            for t in chosen {
                let mut s = st.clone();
                let Some(ip) = self.target_ip(tg, t) else {
                    let n = self.unknown(&mut s, Layer::LoadBalancer, t.id.clone(), format!("target {} of {} is not in the snapshot: add `aws ec2 describe-instances`", t.id, tg.name));
                    branches.push((s, n));
                    continue;
                };
                let port = t.port.or(tg.port).unwrap_or(s.pkt.dst_port);
                let mut detail = format!(
                    "{listener_rule} forwards to {} target {} ({ip}:{port})",
                    tg.name, t.id
                );
                if !skipped.is_empty() {
                    detail.push_str(&format!("; skipped, not healthy: {}", skipped.join(", ")));
                }
                s.step(
                    Step::new(
                        StepKind::LoadBalancer,
                        Layer::LoadBalancer,
                        Action::Forwarded,
                        format!("{listener_rule} -> {}", tg.name),
                        detail,
                    )
                    .at(&listener.prov),
                );
                let old = (s.pkt.dst, s.pkt.dst_port);
                s.pkt.dst = ip;
                s.pkt.dst_port = port;
                let hop = s.hop_index();
                s.rewrites.push(Rewrite {
                    hop,
                    detail: format!(
                        "source {ip}:{port} -> {}:{} (load balancer session)",
                        old.0, old.1
                    ),
                });
                s.step(
                    Step::new(
                        StepKind::Dnat,
                        Layer::LoadBalancer,
                        Action::Transformed,
                        tg.name.clone(),
                        format!("destination {}:{} -> {ip}:{port}", old.0, old.1),
                    )
                    .at(&t.prov),
                );
                if preserve && s.pkt.src == ip {
                    let n = self.deny(
                        &mut s,
                        Step::new(
                            StepKind::Drop,
                            Layer::LoadBalancer,
                            Action::Denied,
                            format!("{} client IP preservation", tg.name),
                            format!(
                                "the client {ip} is the chosen target itself and {} keeps the client IP: a Network Load Balancer does not support hairpinning (NAT loopback) with client IP preservation, so the connection times out",
                                tg.name
                            ),
                        )
                        .at(&tg.prov)
                        .code("NLB_LOOPBACK"),
                    );
                    branches.push((s, n));
                    continue;
                }
                if !preserve {
                    if let Some(node_ip) = eni.primary_ip() {
                        let old_src = s.snat(node_ip, "load balancer session");
                        let why = if lb.kind == LoadBalancerKind::Application {
                            "an ALB is a proxy: the target sees the ALB node"
                        } else {
                            "client IP preservation is off for this target group"
                        };
                        s.step(
                            Step::new(
                                StepKind::Snat,
                                Layer::LoadBalancer,
                                Action::Transformed,
                                tg.name.clone(),
                                format!("source {old_src} -> {node_ip} ({why})"),
                            )
                            .at(&tg.prov),
                        );
                    }
                }
                if !lb.security_groups.is_empty() {
                    if let Some(n) = self.check_sg(&mut s, eni, SgDirection::Egress) {
                        branches.push((s, n));
                        continue;
                    }
                }
                let n = self.leave_interface(&mut s, eni);
                branches.push((s, n));
            }
        }
        Next::Branch(branches)
    }
}

fn ing_prov(ings: &[&crate::model::cluster::Ingress]) -> crate::source::Provenance {
    ings.first()
        .map(|i| i.meta.at.clone())
        .unwrap_or_else(|| crate::source::Provenance::file(crate::source::FileId(0)))
}
