//! Network Load Balancers modelled from their Service when the AWS snapshot does not hold them.
//!
//! A Service of type LoadBalancer handled by the AWS Load Balancer Controller (or the in-tree
//! provider with `aws-load-balancer-type: nlb`) gets an NLB. When no load balancer of the snapshot
//! serves the Service (by `status.loadBalancer.ingress` hostname or the `aws-load-balancer-name`
//! annotation), the NLB is built from what the controller would build from the Service: scheme,
//! target type, subnets, listeners and target groups. Every modelled object cites the Service,
//! and the trace says the load balancer was modelled.

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::kube::lb::{service_for_load_balancer, LB_NAME_ANNOTATION};
use crate::kube::proxy::{synthesize, SynthOptions, SynthesizedProxy};
use crate::model::cluster::{Service, ServiceType, TrafficPolicy};
use crate::model::{
    tag_value, Interface, InterfaceKind, Listener, LoadBalancer, LoadBalancerKind,
    LoadBalancerZone, PrivateAddress, Protocol, Snapshot, Subnet, Target, TargetGroup, TargetType,
};
use crate::source::Provenance;
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

const ANN: &str = "service.beta.kubernetes.io/";
/// The first placeholder public address of a modelled internet-facing node (RFC 2544 range).
const PLACEHOLDER_PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

fn annotation<'a>(svc: &'a Service, key: &str) -> Option<&'a str> {
    svc.meta
        .annotations
        .get(&format!("{ANN}{key}"))
        .map(|s| s.trim())
}

/// `key=value` pairs of an attributes annotation.
fn attribute(svc: &Service, annotation_key: &str, attr: &str) -> Option<bool> {
    annotation(svc, annotation_key)?
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim() == attr)
        .map(|(_, v)| v.trim().eq_ignore_ascii_case("true"))
}

/// Whether the Service asks for an NLB (controller class, `external`, `nlb` or `nlb-ip`).
fn wants_nlb(svc: &Service) -> bool {
    if svc.service_type != ServiceType::LoadBalancer {
        return false;
    }
    match svc.load_balancer_class.as_deref() {
        Some("service.k8s.aws/nlb") => true,
        Some(_) => false,
        None => matches!(
            annotation(svc, "aws-load-balancer-type"),
            Some("nlb" | "external" | "nlb-ip")
        ),
    }
}

/// The controller (class or `external`) defaults to internal; the in-tree `nlb` to internet-facing.
fn internet_facing(svc: &Service) -> bool {
    if let Some(s) = annotation(svc, "aws-load-balancer-scheme") {
        return s == "internet-facing";
    }
    if annotation(svc, "aws-load-balancer-internal")
        .is_some_and(|v| v == "true" || v == "0.0.0.0/0")
    {
        return false;
    }
    let controller = svc.load_balancer_class.is_some()
        || annotation(svc, "aws-load-balancer-type") == Some("external");
    !controller
}

fn target_type(svc: &Service) -> TargetType {
    match annotation(svc, "aws-load-balancer-nlb-target-type") {
        Some("ip") => TargetType::Ip,
        Some(_) => TargetType::Instance,
        None if annotation(svc, "aws-load-balancer-type") == Some("nlb-ip") => TargetType::Ip,
        None => TargetType::Instance,
    }
}

/// The NLB's name: the name annotation, else the one in the status hostname, else the
/// controller's `k8s-NS-NAME` pattern (32 characters at most).
fn lb_name(svc: &Service) -> String {
    if let Some(n) = svc.meta.annotations.get(LB_NAME_ANNOTATION) {
        return n.clone();
    }
    let from_host = svc.load_balancer_ingress.iter().find_map(|i| {
        let host = i.hostname.as_deref()?;
        let first = host.split('.').next()?;
        let (name, id) = first.rsplit_once('-')?;
        (id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit())).then(|| name.to_string())
    });
    from_host.unwrap_or_else(|| {
        let n = format!("k8s-{}-{}", svc.meta.namespace_or_default(), svc.meta.name);
        n.chars().take(32).collect()
    })
}

/// Subnets named by the subnets annotation (ids or Name tags), else the VPC's subnets tagged for
/// this scheme's load balancers, one per zone (lowest id first).
pub(crate) fn pick_subnets<'a>(
    named: Option<&str>,
    subnets: impl Iterator<Item = &'a Subnet> + Clone,
    vpc: &str,
    public: bool,
) -> Vec<&'a Subnet> {
    if let Some(list) = named {
        let want: Vec<&str> = list.split(',').map(str::trim).collect();
        let mut out: Vec<&Subnet> = subnets
            .filter(|s| {
                want.iter()
                    .any(|w| *w == s.id || tag_value(&s.tags, "Name") == Some(*w))
            })
            .collect();
        out.sort_by(|a, b| a.az.cmp(&b.az).then(a.id.cmp(&b.id)));
        return out;
    }
    let role = if public {
        "kubernetes.io/role/elb"
    } else {
        "kubernetes.io/role/internal-elb"
    };
    let mut by_zone: BTreeMap<&str, &Subnet> = BTreeMap::new();
    let mut tagged: Vec<&Subnet> = subnets
        .filter(|s| s.vpc_id == vpc && matches!(tag_value(&s.tags, role), Some("1" | "")))
        .collect();
    tagged.sort_by(|a, b| a.id.cmp(&b.id));
    for s in tagged {
        by_zone.entry(s.az.as_str()).or_insert(s);
    }
    by_zone.into_values().collect()
}

/// The highest address of the subnet no interface holds (AWS reserves the last one).
pub(crate) fn free_address(subnet: &Subnet, used: &HashSet<IpAddr>) -> Option<IpAddr> {
    let net = subnet.cidr_v4?;
    let last = u32::from(net.broadcast()).checked_sub(1)?;
    let first = u32::from(net.network()).checked_add(4)?;
    (first..=last)
        .rev()
        .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
        .find(|a| !used.contains(a))
}

/// The addresses already taken, for placing modelled load balancer nodes.
pub(crate) struct Placement {
    /// Private addresses in use.
    pub used: HashSet<IpAddr>,
    /// Public addresses in use.
    pub used_public: HashSet<Ipv4Addr>,
    /// The next placeholder public address to try.
    pub next_public: u32,
}

impl Placement {
    /// A free private address in `subnet`, marked as used.
    pub fn private(&mut self, subnet: &Subnet) -> Option<IpAddr> {
        let ip = free_address(subnet, &self.used)?;
        self.used.insert(ip);
        Some(ip)
    }
    /// The next free placeholder public address, marked as used.
    pub fn public(&mut self) -> Ipv4Addr {
        while self.used_public.contains(&Ipv4Addr::from(self.next_public)) {
            self.next_public += 1;
        }
        let p = Ipv4Addr::from(self.next_public);
        self.used_public.insert(p);
        self.next_public += 1;
        p
    }
}

/// What a modelled load balancer's nodes share: its name, kind, security groups and origin.
pub(crate) struct ModelledNodes<'a> {
    /// The load balancer's name.
    pub name: &'a str,
    /// `InterfaceKind::NetworkLoadBalancer` or `InterfaceKind::LoadBalancer` (ALB).
    pub kind: InterfaceKind,
    /// `net` or `app`, as in the ENI description AWS writes (`ELB net/NAME/...`).
    pub type_tag: &'a str,
    /// Whether the nodes get (placeholder) public addresses.
    pub public: bool,
    /// Security groups of the nodes' ENIs.
    pub groups: Vec<String>,
    /// Source/destination check of the nodes' ENIs.
    pub source_dest_check: bool,
    /// The Kubernetes object the load balancer is modelled from.
    pub prov: Provenance,
}

impl Placement {
    /// One node (zone and ENI) per subnet with a free address, placed and marked as used.
    pub fn nodes(
        &mut self,
        lb: &ModelledNodes<'_>,
        subnets: &[&Subnet],
    ) -> (Vec<Interface>, Vec<LoadBalancerZone>) {
        let mut enis = Vec::new();
        let mut zones = Vec::new();
        for s in subnets {
            let Some(ip) = self.private(s) else {
                continue;
            };
            let public_ip = lb.public.then(|| self.public());
            zones.push(LoadBalancerZone {
                zone: s.az.clone(),
                subnet_id: s.id.clone(),
                addresses: vec![],
            });
            enis.push(Interface {
                id: format!("eni-modelled-{}-{}", lb.name, s.az),
                subnet_id: s.id.clone(),
                vpc_id: s.vpc_id.clone(),
                az: s.az.clone(),
                kind: lb.kind.clone(),
                description: format!("ELB {}/{}/modelled", lb.type_tag, lb.name),
                addresses: vec![PrivateAddress {
                    ip,
                    primary: true,
                    public_ip,
                }],
                ipv6_addresses: vec![],
                prefixes: vec![],
                groups: lb.groups.clone(),
                source_dest_check: lb.source_dest_check,
                instance_id: None,
                device_index: Some(1),
                status: "in-use".into(),
                requester_managed: true,
                tags: vec![],
                prov: lb.prov.clone(),
            });
        }
        (enis, zones)
    }
}

/// The `ip` targets of a modelled target group: the Service port's cluster endpoints as
/// kube-proxy's synthesized rules select them, each assumed healthy.
pub(crate) fn ip_targets(
    synth: Option<&SynthesizedProxy>,
    port_key: &str,
    port: u16,
    prov: &Provenance,
) -> Vec<Target> {
    synth
        .and_then(|s| {
            s.services
                .iter()
                .find(|p| p.key == port_key && p.port == port)
        })
        .map(|p| p.cluster_endpoints.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(ip, port)| Target {
            id: ip.to_string(),
            port: Some(port),
            az: None,
            health: "healthy".into(),
            reason: None,
            prov: prov.clone(),
        })
        .collect()
}

fn warn(diags: &mut Diagnostics, svc: &Service, message: String) {
    diags.push(Diagnostic {
        severity: Severity::Warning,
        code: "lb-not-modelled",
        message,
        at: Some(svc.meta.at.clone()),
        expected: None,
    });
}

/// Adds a modelled NLB for every NLB Service that no load balancer of the snapshot serves.
///
/// Needs the AWS subnets (to place the load balancer); without them the load balancer layer is
/// out of scope and nothing is added. A Service whose status shows no load balancer while the
/// snapshot holds elbv2 inputs is left alone: its controller has not built one.
pub fn model_service_load_balancers(snap: &mut Snapshot, diags: &mut Diagnostics) {
    if snap.cloud.subnets.is_empty() {
        return;
    }
    let elbv2_present = !snap.cloud.load_balancers.is_empty() || snap.present.listeners;
    let mut place = Placement {
        used: snap
            .cloud
            .interfaces
            .values()
            .flat_map(|e| e.addresses.iter().map(|a| a.ip))
            .collect(),
        used_public: snap
            .cloud
            .interfaces
            .values()
            .flat_map(|e| e.addresses.iter().filter_map(|a| a.public_ip))
            .collect(),
        next_public: u32::from(PLACEHOLDER_PUBLIC),
    };
    let mut built: Vec<(LoadBalancer, Vec<Interface>, Vec<TargetGroup>)> = Vec::new();
    let cluster = &snap.cluster;
    let cloud = &snap.cloud;
    for svc in cluster.services.iter().filter(|s| wants_nlb(s)) {
        let key = svc.meta.key();
        let served = cloud
            .load_balancers
            .values()
            .any(|lb| service_for_load_balancer(cluster, lb).is_some_and(|s| s.meta.key() == key));
        if served || (elbv2_present && svc.load_balancer_ingress.is_empty()) {
            continue;
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
            warn(diags, svc, format!("Service {key}: its load balancer is not in the AWS snapshot and no node's instance is, so its VPC is unknown: not modelled"));
            continue;
        };
        let public = internet_facing(svc);
        let subnets = pick_subnets(
            annotation(svc, "aws-load-balancer-subnets"),
            cloud.subnets.values(),
            &vpc,
            public,
        );
        if subnets.is_empty() {
            warn(diags, svc, format!(
                "Service {key}: its load balancer is not in the AWS snapshot and no subnet of {vpc} is tagged {}: not modelled",
                if public { "kubernetes.io/role/elb" } else { "kubernetes.io/role/internal-elb" }));
            continue;
        }
        let name = lb_name(svc);
        let region = subnets[0]
            .az
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .to_string();
        let arn = format!(
            "arn:aws:elasticloadbalancing:{region}:modelled:loadbalancer/net/{name}/modelled"
        );
        let dns_name = svc
            .load_balancer_ingress
            .iter()
            .find_map(|i| i.hostname.clone())
            .unwrap_or_else(|| format!("{name}-modelled.elb.{region}.amazonaws.com"));
        let prov = svc.meta.at.clone();
        let (enis, zones) = place.nodes(
            &ModelledNodes {
                name: &name,
                kind: InterfaceKind::NetworkLoadBalancer,
                type_tag: "net",
                public,
                groups: vec![],
                source_dest_check: false,
                prov: prov.clone(),
            },
            &subnets,
        );
        let tt = target_type(svc);
        let local = svc.external_traffic_policy == Some(TrafficPolicy::Local);
        let synths: Vec<(&str, &str, _)> = nodes
            .iter()
            .map(|(n, id)| (*n, *id, synthesize(cluster, n, &SynthOptions::default())))
            .collect();
        let preserve = attribute(
            svc,
            "aws-load-balancer-target-group-attributes",
            "preserve_client_ip.enabled",
        );
        let mut listeners = Vec::new();
        let mut groups = Vec::new();
        for sp in &svc.ports {
            let proto = match sp.protocol {
                Protocol::Udp => "UDP",
                _ => "TCP",
            };
            let port_key = match &sp.name {
                Some(n) if !n.is_empty() => format!("{key}:{n}"),
                _ => key.clone(),
            };
            let tg_name = format!("{name}-{}", sp.port);
            let tg_arn = format!(
                "arn:aws:elasticloadbalancing:{region}:modelled:targetgroup/{tg_name}/modelled"
            );
            let mut targets = Vec::new();
            let tg_port = match tt {
                TargetType::Instance => {
                    let Some(np) = sp.node_port else {
                        warn(diags, svc, format!("Service {key} port {}: instance targets need a nodePort and it has none: listener not modelled", sp.port));
                        continue;
                    };
                    for (node, id, synth) in &synths {
                        let eps = synth
                            .services
                            .iter()
                            .find(|p| p.key == port_key && p.port == sp.port);
                        let has_local = eps.is_some_and(|p| !p.local_endpoints.is_empty());
                        let (health, reason) = if !local || has_local {
                            ("healthy", None)
                        } else {
                            ("unhealthy", Some(format!("Target.FailedHealthChecks (modelled: {node} has no local endpoint, so kube-proxy's health check on the healthCheckNodePort fails)")))
                        };
                        targets.push(Target {
                            id: id.to_string(),
                            port: Some(np),
                            az: None,
                            health: health.into(),
                            reason,
                            prov: prov.clone(),
                        });
                    }
                    Some(np)
                }
                _ => {
                    targets.extend(ip_targets(
                        synths.first().map(|(_, _, s)| s),
                        &port_key,
                        sp.port,
                        &prov,
                    ));
                    None
                }
            };
            targets.sort_by(|a, b| a.id.cmp(&b.id));
            listeners.push(Listener {
                arn: format!("{arn}/listener/{}", sp.port),
                port: sp.port,
                protocol: proto.into(),
                target_group_arns: vec![tg_arn.clone()],
                prov: prov.clone(),
            });
            groups.push(TargetGroup {
                arn: tg_arn,
                name: tg_name,
                target_type: tt,
                protocol: proto.into(),
                port: tg_port,
                vpc_id: Some(vpc.clone()),
                load_balancer_arns: vec![arn.clone()],
                targets: Some(targets),
                preserve_client_ip: preserve,
                prov: prov.clone(),
            });
        }
        let lb = LoadBalancer {
            arn,
            name,
            dns_name,
            kind: LoadBalancerKind::Network,
            internet_facing: public,
            vpc_id: vpc,
            zones,
            security_groups: vec![],
            state: "active".into(),
            cross_zone: Some(
                attribute(
                    svc,
                    "aws-load-balancer-attributes",
                    "load_balancing.cross_zone.enabled",
                )
                .or_else(|| {
                    annotation(svc, "aws-load-balancer-cross-zone-load-balancing-enabled")
                        .map(|v| v == "true")
                })
                .unwrap_or(false),
            ),
            listeners: Some(listeners),
            modelled_from: Some(format!("Service {key}")),
            prov,
        };
        built.push((lb, enis, groups));
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
    crate::kube::albmodel::model_ingress_load_balancers(snap, diags, elbv2_present, &mut place);
    snap.cloud.interfaces.sort_keys();
    snap.cloud.target_groups.sort_keys();
    snap.cloud.load_balancers.sort_keys();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cluster::{LoadBalancerIngress, ObjectMeta};

    fn svc(annotations: &[(&str, &str)], class: Option<&str>, host: Option<&str>) -> Service {
        let mut meta = ObjectMeta {
            api_version: "v1".into(),
            kind: "Service".into(),
            name: "web".into(),
            namespace: Some("prod".into()),
            labels: Default::default(),
            annotations: Default::default(),
            uid: None,
            owner_references: vec![],
            at: crate::source::Provenance::at(crate::source::FileId(0), 1, 1),
        };
        for (k, v) in annotations {
            meta.annotations.insert(format!("{ANN}{k}"), v.to_string());
        }
        Service {
            meta,
            service_type: ServiceType::LoadBalancer,
            cluster_ips: vec![],
            headless: false,
            ports: vec![],
            selector: None,
            external_traffic_policy: None,
            internal_traffic_policy: None,
            session_affinity: None,
            load_balancer_source_ranges: vec![],
            load_balancer_source_ranges_at: None,
            external_name: None,
            external_ips: vec![],
            health_check_node_port: None,
            load_balancer_class: class.map(str::to_string),
            load_balancer_ingress: host
                .map(|h| LoadBalancerIngress {
                    ip: None,
                    hostname: Some(h.into()),
                    ip_mode: None,
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn scheme_defaults_follow_the_provider() {
        assert!(!internet_facing(&svc(
            &[],
            Some("service.k8s.aws/nlb"),
            None
        )));
        assert!(!internet_facing(&svc(
            &[("aws-load-balancer-type", "external")],
            None,
            None
        )));
        assert!(internet_facing(&svc(
            &[("aws-load-balancer-type", "nlb")],
            None,
            None
        )));
        assert!(!internet_facing(&svc(
            &[
                ("aws-load-balancer-type", "nlb"),
                ("aws-load-balancer-internal", "true")
            ],
            None,
            None
        )));
        assert!(internet_facing(&svc(
            &[
                ("aws-load-balancer-type", "external"),
                ("aws-load-balancer-scheme", "internet-facing")
            ],
            None,
            None
        )));
    }

    #[test]
    fn only_nlb_services_are_modelled() {
        assert!(wants_nlb(&svc(&[], Some("service.k8s.aws/nlb"), None)));
        assert!(!wants_nlb(&svc(&[], Some("example.com/other"), None)));
        assert!(
            !wants_nlb(&svc(&[], None, None)),
            "in-tree default is a Classic ELB"
        );
        assert_eq!(
            target_type(&svc(&[("aws-load-balancer-type", "nlb-ip")], None, None)),
            TargetType::Ip
        );
        assert_eq!(
            target_type(&svc(&[("aws-load-balancer-type", "external")], None, None)),
            TargetType::Instance
        );
    }

    #[test]
    fn name_comes_from_annotation_then_hostname_then_pattern() {
        let host = "k8s-prod-web-3e9b5c1a7d-5a0c8e2f4b6d1937.elb.us-east-1.amazonaws.com";
        assert_eq!(
            lb_name(&svc(&[], None, Some(host))),
            "k8s-prod-web-3e9b5c1a7d"
        );
        assert_eq!(
            lb_name(&svc(
                &[("aws-load-balancer-name", "mine")],
                None,
                Some(host)
            )),
            "mine"
        );
        assert_eq!(lb_name(&svc(&[], None, None)), "k8s-prod-web");
        let mut long = svc(&[], None, None);
        long.meta.name = "é".repeat(40);
        assert_eq!(
            lb_name(&long).chars().count(),
            32,
            "cut on characters, never inside one"
        );
        assert_eq!(
            attribute(
                &svc(
                    &[(
                        "aws-load-balancer-attributes",
                        "a=b, load_balancing.cross_zone.enabled=true"
                    )],
                    None,
                    None
                ),
                "aws-load-balancer-attributes",
                "load_balancing.cross_zone.enabled"
            ),
            Some(true)
        );
    }
}
