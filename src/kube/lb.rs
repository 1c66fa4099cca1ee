//! Services of type LoadBalancer joined to the load balancers that serve them.

use crate::model::cluster::{ClusterObjects, Ingress, IngressPath, Service, ServiceType};
use crate::model::LoadBalancer;
use crate::source::Provenance;
use ipnet::IpNet;

/// The annotation naming the load balancer the AWS Load Balancer Controller creates.
pub const LB_NAME_ANNOTATION: &str = "service.beta.kubernetes.io/aws-load-balancer-name";

/// The legacy annotation form of `spec.loadBalancerSourceRanges` (comma-separated CIDRs).
pub const SOURCE_RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

/// The Service a load balancer serves: the LoadBalancer Service whose
/// `status.loadBalancer.ingress` hostname is the load balancer's DNS name, else the one whose
/// `aws-load-balancer-name` annotation names it.
pub fn service_for_load_balancer<'a>(
    cluster: &'a ClusterObjects,
    lb: &LoadBalancer,
) -> Option<&'a Service> {
    let lbs = || {
        cluster
            .services
            .iter()
            .filter(|s| s.service_type == ServiceType::LoadBalancer)
    };
    if let Some(from) = &lb.modelled_from {
        let key = from.strip_prefix("Service ")?;
        return lbs().find(|s| s.meta.key() == key);
    }
    lbs()
        .find(|s| {
            s.load_balancer_ingress.iter().any(|i| {
                i.hostname
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(&lb.dns_name))
            })
        })
        .or_else(|| {
            lbs().find(|s| {
                s.meta
                    .annotations
                    .get(LB_NAME_ANNOTATION)
                    .map(String::as_str)
                    == Some(lb.name.as_str())
            })
        })
}

/// The client ranges a Service admits to its load balancer, with where they are written:
/// `spec.loadBalancerSourceRanges`, else the legacy annotation. `None` when neither is set
/// (every client is admitted).
pub struct SourceRanges {
    /// The admitted client ranges.
    pub ranges: Vec<IpNet>,
    /// The field or annotation they come from.
    pub field: &'static str,
    /// Where it is written.
    pub at: Provenance,
}

/// The source ranges of a Service, if it restricts its clients.
pub fn source_ranges(svc: &Service) -> Option<SourceRanges> {
    if !svc.load_balancer_source_ranges.is_empty() {
        return Some(SourceRanges {
            ranges: svc.load_balancer_source_ranges.clone(),
            field: "spec.loadBalancerSourceRanges",
            at: svc
                .load_balancer_source_ranges_at
                .clone()
                .unwrap_or_else(|| svc.meta.at.clone()),
        });
    }
    let text = svc.meta.annotations.get(SOURCE_RANGES_ANNOTATION)?;
    let ranges: Vec<IpNet> = text
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    if ranges.is_empty() {
        return None;
    }
    Some(SourceRanges {
        ranges,
        field: "annotation service.beta.kubernetes.io/load-balancer-source-ranges",
        at: svc.meta.at.clone(),
    })
}

/// The annotation naming the ALB the AWS Load Balancer Controller creates for an Ingress.
pub const ALB_NAME_ANNOTATION: &str = "alb.ingress.kubernetes.io/load-balancer-name";
/// The annotation grouping several Ingresses onto one ALB.
pub const ALB_GROUP_ANNOTATION: &str = "alb.ingress.kubernetes.io/group.name";

/// An Ingress handled by the AWS Load Balancer Controller (`ingressClassName: alb` or the
/// `kubernetes.io/ingress.class: alb` annotation).
pub fn is_alb_ingress(ing: &Ingress) -> bool {
    ing.ingress_class_name.as_deref() == Some("alb")
        || ing
            .meta
            .annotations
            .get("kubernetes.io/ingress.class")
            .map(String::as_str)
            == Some("alb")
}

/// The ALB Ingresses a load balancer serves: those whose status names its DNS name or whose
/// name annotation names it, and every Ingress of their `group.name`.
pub fn ingresses_for_load_balancer<'a>(
    cluster: &'a ClusterObjects,
    lb: &LoadBalancer,
) -> Vec<&'a Ingress> {
    let albs = || cluster.ingresses.iter().filter(|i| is_alb_ingress(i));
    let modelled = lb
        .modelled_from
        .as_deref()
        .and_then(|m| m.strip_prefix("Ingress "));
    let direct: Vec<&Ingress> = albs()
        .filter(|i| {
            modelled.is_some_and(|k| i.meta.key() == k)
                || i.load_balancer_hostnames
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&lb.dns_name))
                || i.meta
                    .annotations
                    .get(ALB_NAME_ANNOTATION)
                    .map(String::as_str)
                    == Some(lb.name.as_str())
        })
        .collect();
    let groups: Vec<&String> = direct
        .iter()
        .filter_map(|i| i.meta.annotations.get(ALB_GROUP_ANNOTATION))
        .collect();
    let mut out: Vec<&Ingress> = albs()
        .filter(|i| {
            direct.iter().any(|d| std::ptr::eq(*d, *i))
                || i.meta
                    .annotations
                    .get(ALB_GROUP_ANNOTATION)
                    .is_some_and(|g| groups.contains(&g))
        })
        .collect();
    out.sort_by_key(|i| i.meta.key());
    out
}

/// The Ingress path that routes a request, as the controller orders the ALB's rules: rules
/// whose host matches (exactly, or a `*.` wildcard of one label; a rule without host matches
/// every host), `Exact` paths before prefixes, longer prefixes first. `None`: no rule matches.
pub fn route_request<'a>(
    ingresses: &[&'a Ingress],
    host: Option<&str>,
    path: &str,
) -> Option<(&'a Ingress, &'a IngressPath)> {
    let host_ok = |rule_host: Option<&str>| match (rule_host, host) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(r), Some(h)) => {
            let h = h.split(':').next().unwrap_or(h);
            match r.strip_prefix("*.") {
                Some(suffix) => h
                    .split_once('.')
                    .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(suffix)),
                None => r.eq_ignore_ascii_case(h),
            }
        }
    };
    let path = path.split('?').next().unwrap_or(path);
    let mut best: Option<(u8, usize, &Ingress, &IngressPath)> = None;
    for ing in ingresses {
        for rule in &ing.rules {
            if !host_ok(rule.host.as_deref()) {
                continue;
            }
            for p in &rule.paths {
                let want = p.path.as_deref().unwrap_or("/");
                let exact = p.path_type.as_deref() == Some("Exact");
                let score = if exact {
                    (want == path).then_some((2, want.len()))
                } else if prefix_matches(want, path) {
                    Some((1, want.len()))
                } else {
                    None
                };
                if let Some((kind, len)) = score {
                    if best.is_none_or(|(k, l, _, _)| (kind, len) > (k, l)) {
                        best = Some((kind, len, ing, p));
                    }
                }
            }
        }
    }
    best.map(|(_, _, i, p)| (i, p))
}

/// Kubernetes `Prefix` matching: element-wise over `/`-separated segments.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    let p = prefix.trim_end_matches('/');
    if p.is_empty() {
        return true;
    }
    path == p || path.starts_with(&format!("{p}/"))
}

/// The name prefix the controller gives a Service's target groups: `k8s-` + namespace and
/// Service name cut to 8 characters each.
pub fn target_group_prefix(namespace: &str, service: &str) -> String {
    let cut = |s: &str| s.chars().take(8).collect::<String>();
    format!("k8s-{}-{}-", cut(namespace), cut(service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_element_wise() {
        assert!(prefix_matches("/", "/anything"));
        assert!(prefix_matches("/api", "/api"));
        assert!(prefix_matches("/api/", "/api/v1"));
        assert!(!prefix_matches("/api", "/apiv2"));
    }

    #[test]
    fn target_group_names_follow_the_controller() {
        assert_eq!(
            target_group_prefix("production", "frontend-web"),
            "k8s-producti-frontend-"
        );
    }
}
