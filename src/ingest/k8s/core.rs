//! Core and apps kinds: Namespace, Node, Pod, workloads, Service, EndpointSlice, Endpoints.

use super::cx::Cx;
use super::tree::{Node, Val};
use crate::model::cluster::{
    AwsInstanceRef, ClusterObjects, Container, ContainerPort, EndpointAddress, EndpointPort,
    EndpointSlice, EndpointSubset, Endpoints, EnvVar, LabelSelector, LoadBalancerIngress,
    Namespace, Node as K8sNode, NodeAddress, NodeAddressType, ObjectMeta, Pod, PodSpec, Service,
    ServicePort, ServiceType, SliceEndpoint, TrafficPolicy, Workload, WorkloadKind,
};
use ipnet::IpNet;

fn empty() -> Node<'static> {
    Node::new(Val::Map(Vec::new()))
}

/// `v1 Namespace`.
pub(super) fn namespace(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "Namespace");
    out.namespaces.push(Namespace { meta: meta.clone() });
    Some(meta)
}

/// Parses `aws:///us-east-2a/i-0abc` into zone and instance id.
pub(crate) fn parse_provider_id(id: &str) -> Option<AwsInstanceRef> {
    let rest = id.strip_prefix("aws://")?;
    let mut parts = rest
        .trim_start_matches('/')
        .split('/')
        .filter(|p| !p.is_empty());
    let az = parts.next()?;
    let instance = parts.next()?;
    if !instance.starts_with("i-") {
        return None;
    }
    Some(AwsInstanceRef {
        availability_zone: az.to_string(),
        instance_id: instance.to_string(),
    })
}

/// `v1 Node`.
pub(super) fn node(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "Node");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let status = cx.obj(doc, "status").unwrap_or(&e);
    let provider_id = cx.str(spec, "providerID");
    let aws_instance = provider_id.as_deref().and_then(parse_provider_id);
    if let (Some(p), None) = (&provider_id, &aws_instance) {
        if p.starts_with("aws://") {
            if let Some(n) = spec.get("providerID") {
                cx.error(
                    "k8s-shape",
                    n,
                    format!("providerID {p:?} does not name an EC2 instance"),
                    "providerID: aws:///<zone>/<instance-id>",
                );
            }
        }
    }
    let mut pod_cidrs: Vec<IpNet> = cx.cidrs(spec, "podCIDRs", false);
    if pod_cidrs.is_empty() {
        if let Some(v) = spec.get("podCIDR") {
            pod_cidrs.extend(cx.cidr_value(v, "podCIDR", false));
        }
    }
    let mut addresses = Vec::new();
    for a in cx.seq(status, "addresses") {
        let kind = match cx.str(a, "type").as_deref() {
            Some("InternalIP") => NodeAddressType::InternalIp,
            Some("ExternalIP") => NodeAddressType::ExternalIp,
            Some("Hostname") => NodeAddressType::Hostname,
            Some("InternalDNS") => NodeAddressType::InternalDns,
            Some("ExternalDNS") => NodeAddressType::ExternalDns,
            other => NodeAddressType::Other(other.unwrap_or_default().to_string()),
        };
        let address = cx.str(a, "address").unwrap_or_default();
        let ip = match kind {
            NodeAddressType::InternalIp | NodeAddressType::ExternalIp => cx.ip(a, "address"),
            _ => address.parse().ok(),
        };
        addresses.push(NodeAddress { kind, address, ip });
    }
    out.nodes.push(K8sNode {
        meta: meta.clone(),
        addresses,
        provider_id,
        aws_instance,
        pod_cidrs,
    });
    Some(meta)
}

fn container(cx: &mut Cx<'_>, c: &Node) -> Container {
    let mut ports = Vec::new();
    for p in cx.seq(c, "ports") {
        let Some(container_port) = cx.port(p, "containerPort") else {
            if p.get("containerPort").is_none() {
                // Tolerated (a misspelled key is an unknown field to the API server): skipped.
                let d = crate::diag::Diagnostic::warning(
                    "k8s-shape",
                    cx.prov(p),
                    "container port without containerPort; ignored",
                )
                .expected("containerPort: an integer 1-65535");
                cx.diags.push(d);
            }
            continue;
        };
        ports.push(ContainerPort {
            name: cx.str(p, "name"),
            container_port,
            protocol: cx.protocol(p, "protocol"),
            host_port: cx.port(p, "hostPort"),
        });
    }
    let mut env = Vec::new();
    for e in cx.seq(c, "env") {
        if let Some(name) = cx.str(e, "name") {
            env.push(EnvVar {
                name,
                value: cx.str(e, "value"),
            });
        }
    }
    Container {
        name: cx.str(c, "name").unwrap_or_default(),
        image: cx.str(c, "image"),
        ports,
        env,
    }
}

/// A pod spec (of a Pod or a template).
pub(super) fn pod_spec(cx: &mut Cx<'_>, spec: &Node) -> PodSpec {
    let containers = cx
        .seq(spec, "containers")
        .iter()
        .map(|c| container(cx, c))
        .collect();
    let init_containers = cx
        .seq(spec, "initContainers")
        .iter()
        .map(|c| container(cx, c))
        .collect();
    PodSpec {
        node_name: cx.str(spec, "nodeName"),
        host_network: cx.bool(spec, "hostNetwork").unwrap_or(false),
        service_account_name: cx
            .str(spec, "serviceAccountName")
            .or_else(|| cx.str(spec, "serviceAccount")),
        containers,
        init_containers,
    }
}

/// `v1 Pod`.
pub(super) fn pod(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "Pod");
    let e = empty();
    let spec_node = cx.obj(doc, "spec").unwrap_or(&e);
    let spec = pod_spec(cx, spec_node);
    let status = cx.obj(doc, "status").unwrap_or(&e);
    let mut pod_ips = Vec::new();
    for p in cx.seq(status, "podIPs") {
        if let Some(v) = p.get("ip") {
            pod_ips.extend(cx.ip_value(v, "podIPs[].ip"));
        } else if !p.is_map() {
            cx.shape(p, "podIPs[]", "a mapping with ip");
        }
    }
    if pod_ips.is_empty() {
        pod_ips.extend(cx.ip(status, "podIP"));
    }
    let has_istio_proxy = spec.has_istio_proxy();
    out.pods.push(Pod {
        meta: meta.clone(),
        host_ip: cx.ip(status, "hostIP"),
        phase: cx.str(status, "phase"),
        spec,
        pod_ips,
        has_istio_proxy,
    });
    Some(meta)
}

/// Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob.
pub(super) fn workload(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    kind: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, kind);
    let wk = match kind {
        "Deployment" => WorkloadKind::Deployment,
        "StatefulSet" => WorkloadKind::StatefulSet,
        "DaemonSet" => WorkloadKind::DaemonSet,
        "ReplicaSet" => WorkloadKind::ReplicaSet,
        "ReplicationController" => WorkloadKind::ReplicationController,
        "Job" => WorkloadKind::Job,
        _ => WorkloadKind::CronJob,
    };
    let e = empty();
    let mut spec = cx.obj(doc, "spec").unwrap_or(&e);
    if wk == WorkloadKind::CronJob {
        spec = cx
            .obj(spec, "jobTemplate")
            .and_then(|j| cx.obj(j, "spec"))
            .unwrap_or(&e);
    }
    let selector = if wk == WorkloadKind::ReplicationController {
        cx.opt_str_map(spec, "selector").map(|m| LabelSelector {
            match_labels: m,
            match_expressions: Vec::new(),
        })
    } else {
        cx.selector(spec, "selector")
    };
    let replicas = if wk == WorkloadKind::CronJob {
        None
    } else {
        cx.int(spec, "replicas")
    };
    let template = cx.obj(spec, "template").unwrap_or(&e);
    let tmeta = cx.obj(template, "metadata").unwrap_or(&e);
    let template_labels = cx.str_map(tmeta, "labels");
    let template_annotations = cx.str_map(tmeta, "annotations");
    let tspec = cx.obj(template, "spec").unwrap_or(&e);
    let template = pod_spec(cx, tspec);
    let w = Workload {
        meta: meta.clone(),
        kind: wk,
        replicas,
        selector,
        template_labels,
        template_annotations,
        template,
    };
    match wk {
        WorkloadKind::Deployment => out.deployments.push(w),
        WorkloadKind::StatefulSet => out.stateful_sets.push(w),
        WorkloadKind::DaemonSet => out.daemon_sets.push(w),
        WorkloadKind::ReplicaSet => out.replica_sets.push(w),
        _ => out.other_workloads.push(w),
    }
    Some(meta)
}

fn traffic_policy(cx: &mut Cx<'_>, spec: &Node, key: &str) -> Option<TrafficPolicy> {
    let v = spec.get(key)?;
    match cx.as_str(v, key).as_deref() {
        Some("Cluster") => Some(TrafficPolicy::Cluster),
        Some("Local") => Some(TrafficPolicy::Local),
        Some(other) => {
            cx.error(
                "k8s-shape",
                v,
                format!("unknown {key} {other:?}"),
                format!("{key}: Cluster or Local"),
            );
            None
        }
        None => None,
    }
}

/// `v1 Service`.
pub(super) fn service(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "Service");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let service_type = match spec.get("type") {
        None => ServiceType::ClusterIp,
        Some(v) => match cx.as_str(v, "type").as_deref() {
            Some("ClusterIP") | None => ServiceType::ClusterIp,
            Some("NodePort") => ServiceType::NodePort,
            Some("LoadBalancer") => ServiceType::LoadBalancer,
            Some("ExternalName") => ServiceType::ExternalName,
            Some(other) => {
                cx.error(
                    "k8s-shape",
                    v,
                    format!("unknown Service type {other:?}"),
                    "type: ClusterIP, NodePort, LoadBalancer or ExternalName",
                );
                ServiceType::ClusterIp
            }
        },
    };
    let mut headless = false;
    let mut cluster_ips = Vec::new();
    let ip_nodes: Vec<&Node> = match spec.get("clusterIPs") {
        Some(Node { v: Val::Seq(s), .. }) => s.iter().collect(),
        _ => spec.get("clusterIP").into_iter().collect(),
    };
    for n in ip_nodes {
        match &n.v {
            Val::Str(s) if s == "None" => headless = true,
            Val::Str(s) if s.is_empty() => {}
            _ => cluster_ips.extend(cx.ip_value(n, "clusterIP")),
        }
    }
    let mut ports = Vec::new();
    for p in cx.seq(spec, "ports") {
        let Some(port) = cx.port(p, "port") else {
            if p.get("port").is_none() {
                cx.error(
                    "k8s-shape",
                    p,
                    "Service port without `port`",
                    "port: an integer 1-65535",
                );
            }
            continue;
        };
        ports.push(ServicePort {
            name: cx.str(p, "name"),
            protocol: cx.protocol(p, "protocol"),
            port,
            target_port: cx.port_ref(p, "targetPort"),
            node_port: cx.port(p, "nodePort"),
            app_protocol: cx.str(p, "appProtocol"),
        });
    }
    let external_ips = {
        let items = cx.seq(spec, "externalIPs");
        items
            .iter()
            .filter_map(|i| cx.ip_value(i, "externalIPs"))
            .collect()
    };
    let status = cx.obj(doc, "status").unwrap_or(&e);
    let lb = cx.obj(status, "loadBalancer").unwrap_or(&e);
    let mut load_balancer_ingress = Vec::new();
    for i in cx.seq(lb, "ingress") {
        load_balancer_ingress.push(LoadBalancerIngress {
            ip: cx.ip(i, "ip"),
            hostname: cx.str(i, "hostname"),
            ip_mode: cx.str(i, "ipMode"),
        });
    }
    let svc = Service {
        meta: meta.clone(),
        service_type,
        cluster_ips,
        headless,
        ports,
        selector: cx.opt_str_map(spec, "selector"),
        external_traffic_policy: traffic_policy(cx, spec, "externalTrafficPolicy"),
        internal_traffic_policy: traffic_policy(cx, spec, "internalTrafficPolicy"),
        session_affinity: cx.str(spec, "sessionAffinity"),
        load_balancer_source_ranges: cx.cidrs(spec, "loadBalancerSourceRanges", false),
        load_balancer_source_ranges_at: spec.get("loadBalancerSourceRanges").map(|n| cx.prov(n)),
        external_name: cx.str(spec, "externalName"),
        external_ips,
        health_check_node_port: cx.port(spec, "healthCheckNodePort"),
        load_balancer_class: cx.str(spec, "loadBalancerClass"),
        load_balancer_ingress,
    };
    out.services.push(svc);
    Some(meta)
}

fn endpoint_port(cx: &mut Cx<'_>, p: &Node) -> EndpointPort {
    EndpointPort {
        name: cx.str(p, "name").filter(|s| !s.is_empty()),
        protocol: cx.protocol(p, "protocol"),
        port: cx.port(p, "port"),
        app_protocol: cx.str(p, "appProtocol"),
    }
}

/// `discovery.k8s.io/v1 EndpointSlice`.
pub(super) fn endpoint_slice(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "EndpointSlice");
    let address_type = cx.str(doc, "addressType").unwrap_or_else(|| "IPv4".into());
    let e = empty();
    let mut endpoints = Vec::new();
    for ep in cx.seq(doc, "endpoints") {
        let addresses = cx.strings(ep, "addresses");
        if address_type == "IPv4" || address_type == "IPv6" {
            if let Some(Node {
                v: Val::Seq(items), ..
            }) = ep.get("addresses")
            {
                for a in items {
                    let _ = cx.ip_value(a, "addresses");
                }
            }
        }
        let cond = cx.obj(ep, "conditions").unwrap_or(&e);
        endpoints.push(SliceEndpoint {
            addresses,
            ready: cx.bool(cond, "ready"),
            serving: cx.bool(cond, "serving"),
            terminating: cx.bool(cond, "terminating"),
            node_name: cx.str(ep, "nodeName"),
            zone: cx.str(ep, "zone"),
            target_ref: cx.object_ref(ep, "targetRef"),
        });
    }
    let ports = cx
        .seq(doc, "ports")
        .iter()
        .map(|p| endpoint_port(cx, p))
        .collect();
    let service_name = meta.labels.get("kubernetes.io/service-name").cloned();
    out.endpoint_slices.push(EndpointSlice {
        meta: meta.clone(),
        address_type,
        endpoints,
        ports,
        service_name,
    });
    Some(meta)
}

fn endpoint_addresses(cx: &mut Cx<'_>, subset: &Node, key: &str) -> Vec<EndpointAddress> {
    let items = cx.seq(subset, key);
    items
        .iter()
        .map(|a| EndpointAddress {
            ip: cx.ip(a, "ip"),
            node_name: cx.str(a, "nodeName"),
            target_ref: cx.object_ref(a, "targetRef"),
        })
        .collect()
}

/// `v1 Endpoints`.
pub(super) fn endpoints(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "Endpoints");
    let mut subsets = Vec::new();
    for s in cx.seq(doc, "subsets") {
        subsets.push(EndpointSubset {
            addresses: endpoint_addresses(cx, s, "addresses"),
            not_ready_addresses: endpoint_addresses(cx, s, "notReadyAddresses"),
            ports: cx
                .seq(s, "ports")
                .iter()
                .map(|p| endpoint_port(cx, p))
                .collect(),
        });
    }
    out.endpoints.push(Endpoints {
        meta: meta.clone(),
        subsets,
    });
    Some(meta)
}
