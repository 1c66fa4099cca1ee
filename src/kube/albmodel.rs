//! Application Load Balancers modelled from their Ingress when the AWS snapshot does not hold
//! them, as the AWS Load Balancer Controller builds them: scheme, subnets, security groups,
//! listeners from `listen-ports`, one target group per backend Service port.

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::kube::lb::{
    ingresses_for_load_balancer, is_alb_ingress, target_group_prefix, ALB_GROUP_ANNOTATION,
};
use crate::kube::lbmodel::{ip_targets, pick_subnets, ModelledNodes, Placement};
use crate::kube::proxy::{synthesize, SynthOptions};
use crate::model::cluster::{Ingress, PortRef};
use crate::model::{
    Interface, InterfaceKind, Listener, LoadBalancer, LoadBalancerKind, Snapshot, Target,
    TargetGroup, TargetType,
};

const ALB_ANN: &str = "alb.ingress.kubernetes.io/";

fn alb_annotation<'a>(ing: &'a Ingress, key: &str) -> Option<&'a str> {
    ing.meta
        .annotations
        .get(&format!("{ALB_ANN}{key}"))
        .map(|s| s.trim())
}

/// `listen-ports` (`[{"HTTP": 80}, {"HTTPS": 443}]`), HTTP:80 when absent or unreadable.
fn listen_ports(ing: &Ingress) -> Vec<(String, u16)> {
    let parsed: Option<Vec<(String, u16)>> = alb_annotation(ing, "listen-ports").and_then(|v| {
        let list: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(v).ok()?;
        Some(
            list.iter()
                .flat_map(|m| m.iter())
                .filter_map(|(k, v)| Some((k.clone(), u16::try_from(v.as_u64()?).ok()?)))
                .collect(),
        )
    });
    parsed
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| vec![("HTTP".into(), 80)])
}

/// Adds a modelled ALB for every ALB Ingress that no load balancer of the snapshot serves
/// (Ingresses of one `group.name` share one), built as the AWS Load Balancer Controller would.
pub(crate) fn model_ingress_load_balancers(
    snap: &mut Snapshot,
    diags: &mut Diagnostics,
    elbv2_present: bool,
    place: &mut Placement,
) {
    let cluster = &snap.cluster;
    let cloud = &snap.cloud;
    let mut built: Vec<(LoadBalancer, Vec<Interface>, Vec<TargetGroup>)> = Vec::new();
    let mut done_groups: Vec<String> = Vec::new();
    for ing in cluster.ingresses.iter().filter(|i| is_alb_ingress(i)) {
        let key = ing.meta.key();
        let served = cloud.load_balancers.values().any(|lb| {
            ingresses_for_load_balancer(cluster, lb)
                .iter()
                .any(|i| i.meta.key() == key)
        });
        if served
            || (elbv2_present && ing.load_balancer_hostnames.is_empty())
            || built.iter().any(|(lb, _, _)| {
                ingresses_for_load_balancer(cluster, lb)
                    .iter()
                    .any(|i| i.meta.key() == key)
            })
        {
            continue;
        }
        let group = ing.meta.annotations.get(ALB_GROUP_ANNOTATION).cloned();
        if let Some(g) = &group {
            if done_groups.contains(g) {
                continue;
            }
            done_groups.push(g.clone());
        }
        let nodes: Vec<(&str, &str)> = cluster
            .nodes
            .iter()
            .filter_map(|n| {
                let id = n.aws_instance.as_ref()?.instance_id.as_str();
                cloud
                    .instances
                    .contains_key(id)
                    .then_some((n.meta.name.as_str(), id))
            })
            .collect();
        let Some(vpc) = nodes
            .iter()
            .find_map(|(_, id)| cloud.instances.get(*id).and_then(|i| i.vpc_id.clone()))
        else {
            continue;
        };
        let public = alb_annotation(ing, "scheme") == Some("internet-facing");
        let subnets = pick_subnets(
            alb_annotation(ing, "subnets"),
            cloud.subnets.values(),
            &vpc,
            public,
        );
        if subnets.is_empty() {
            diags.push(Diagnostic {
                severity: Severity::Warning,
                code: "lb-not-modelled",
                message: format!("Ingress {key}: its ALB is not in the AWS snapshot and no subnet is tagged for it: not modelled"),
                at: Some(ing.meta.at.clone()),
                expected: None,
            });
            continue;
        }
        let name = alb_annotation(ing, "load-balancer-name")
            .map(str::to_string)
            .or_else(|| {
                ing.load_balancer_hostnames.iter().find_map(|h| {
                    let (name, id) = h.split('.').next()?.rsplit_once('-')?;
                    id.chars()
                        .all(|c| c.is_ascii_digit())
                        .then(|| name.to_string())
                })
            })
            .unwrap_or_else(|| {
                let n = format!(
                    "k8s-{}",
                    group.clone().unwrap_or_else(|| format!(
                        "{}-{}",
                        ing.meta.namespace_or_default(),
                        ing.meta.name
                    ))
                );
                n.chars().take(32).collect()
            });
        let region = subnets[0]
            .az
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .to_string();
        let arn = format!(
            "arn:aws:elasticloadbalancing:{region}:modelled:loadbalancer/app/{name}/modelled"
        );
        let prov = ing.meta.at.clone();
        let groups: Vec<String> = alb_annotation(ing, "security-groups")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter_map(|g| {
                        cloud
                            .security_groups
                            .values()
                            .find(|s| s.id == g || s.name == g)
                            .map(|s| s.id.clone())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (enis, zones) = place.nodes(
            &ModelledNodes {
                name: &name,
                kind: InterfaceKind::LoadBalancer,
                type_tag: "app",
                public,
                groups: groups.clone(),
                source_dest_check: true,
                prov: prov.clone(),
            },
            &subnets,
        );
        // One target group per backend Service port of every Ingress on this ALB.
        let members: Vec<&Ingress> = cluster
            .ingresses
            .iter()
            .filter(|i| {
                is_alb_ingress(i)
                    && match &group {
                        Some(g) => i.meta.annotations.get(ALB_GROUP_ANNOTATION) == Some(g),
                        None => i.meta.key() == key,
                    }
            })
            .collect();
        let mut tgs: Vec<TargetGroup> = Vec::new();
        for m in &members {
            let ns = m.meta.namespace_or_default();
            let tt = match alb_annotation(m, "target-type") {
                Some("ip") => TargetType::Ip,
                _ => TargetType::Instance,
            };
            let backends = m
                .rules
                .iter()
                .flat_map(|r| r.paths.iter().map(|p| &p.backend))
                .chain(m.default_backend.iter());
            for b in backends {
                let Some(svc_name) = &b.service_name else {
                    continue;
                };
                let Some(svc) = cluster
                    .services
                    .iter()
                    .find(|s| s.meta.namespace_or_default() == ns && &s.meta.name == svc_name)
                else {
                    continue;
                };
                let Some(sp) = svc.ports.iter().find(|p| match &b.service_port {
                    Some(PortRef::Number(n)) => p.port == *n,
                    Some(PortRef::Name(n)) => p.name.as_deref() == Some(n.as_str()),
                    None => false,
                }) else {
                    continue;
                };
                let tg_name = format!("{}modelled{}", target_group_prefix(ns, svc_name), sp.port);
                if tgs.iter().any(|t| t.name == tg_name) {
                    continue;
                }
                let port_key = match &sp.name {
                    Some(n) if !n.is_empty() => format!("{}/{}:{n}", ns, svc_name),
                    _ => format!("{}/{}", ns, svc_name),
                };
                let synth = nodes
                    .first()
                    .map(|(n, _)| synthesize(cluster, n, &SynthOptions::default()));
                let mut targets = Vec::new();
                let tg_port = match tt {
                    TargetType::Instance => {
                        let Some(np) = sp.node_port else { continue };
                        for (_, id) in &nodes {
                            targets.push(Target {
                                id: id.to_string(),
                                port: Some(np),
                                az: None,
                                health: "healthy".into(),
                                reason: None,
                                prov: prov.clone(),
                            });
                        }
                        Some(np)
                    }
                    _ => {
                        targets.extend(ip_targets(synth.as_ref(), &port_key, sp.port, &prov));
                        None
                    }
                };
                tgs.push(TargetGroup {
                    arn: format!("arn:aws:elasticloadbalancing:{region}:modelled:targetgroup/{tg_name}/modelled"),
                    name: tg_name,
                    target_type: tt,
                    protocol: "HTTP".into(),
                    port: tg_port,
                    vpc_id: Some(vpc.clone()),
                    load_balancer_arns: vec![arn.clone()],
                    targets: Some(targets),
                    preserve_client_ip: Some(false),
                    prov: prov.clone(),
                });
            }
        }
        let listeners = listen_ports(ing)
            .into_iter()
            .map(|(proto, port)| Listener {
                arn: format!("{arn}/listener/{port}"),
                port,
                protocol: proto,
                target_group_arns: vec![],
                prov: prov.clone(),
            })
            .collect();
        let dns_name = ing
            .load_balancer_hostnames
            .first()
            .cloned()
            .unwrap_or_else(|| format!("{name}-modelled.{region}.elb.amazonaws.com"));
        built.push((
            LoadBalancer {
                arn,
                name,
                dns_name,
                kind: LoadBalancerKind::Application,
                internet_facing: public,
                vpc_id: vpc,
                zones,
                security_groups: groups,
                state: "active".into(),
                cross_zone: Some(true),
                listeners: Some(listeners),
                modelled_from: Some(format!("Ingress {key}")),
                prov,
            },
            enis,
            tgs,
        ));
    }
    for (lb, enis, groups) in built {
        for e in enis {
            snap.cloud.interfaces.insert(e.id.clone(), e);
        }
        for g in groups {
            snap.cloud.target_groups.insert(g.arn.clone(), g);
        }
        snap.cloud.load_balancers.insert(lb.arn.clone(), lb);
    }
}
