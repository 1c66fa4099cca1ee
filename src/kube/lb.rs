//! Services of type LoadBalancer joined to the load balancers that serve them.

use crate::model::cluster::{ClusterObjects, Service, ServiceType};
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
    if let Some(key) = &lb.modelled_from {
        return lbs().find(|s| &s.meta.key() == key);
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
