//! Ingress, OpenShift Route, and the CNI custom resources: ENIConfig, SecurityGroupPolicy and
//! Calico IPPool.

use super::cx::Cx;
use super::tree::{Node, Val};
use crate::model::cluster::{
    ClusterObjects, EncapMode, EniConfig, Ingress, IngressBackend, IngressPath, IngressRule,
    IpPool, ObjectMeta, ObjectRef, PortRef, Route, RouteBackend, SecurityGroupPolicy,
};

fn empty() -> Node<'static> {
    Node::new(Val::Map(Vec::new()))
}

fn backend(cx: &mut Cx<'_>, b: &Node) -> IngressBackend {
    let mut out = IngressBackend {
        service_name: None,
        service_port: None,
        resource: None,
    };
    if let Some(s) = cx.obj(b, "service") {
        out.service_name = cx.str(s, "name");
        if let Some(p) = cx.obj(s, "port") {
            out.service_port = match (cx.port(p, "number"), cx.str(p, "name")) {
                (Some(n), _) => Some(PortRef::Number(n)),
                (None, Some(name)) => Some(PortRef::Name(name)),
                _ => None,
            };
        }
    } else if b.get("serviceName").is_some() {
        // extensions/v1beta1 and networking.k8s.io/v1beta1 form.
        out.service_name = cx.str(b, "serviceName");
        out.service_port = cx.port_ref(b, "servicePort");
    }
    if let Some(r) = cx.obj(b, "resource") {
        out.resource = Some(ObjectRef {
            kind: cx.str(r, "kind"),
            namespace: None,
            name: cx.str(r, "name"),
            uid: None,
        });
    }
    out
}

/// `networking.k8s.io/v1 Ingress`.
pub(super) fn ingress(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "Ingress");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let default_backend = cx
        .obj(spec, "defaultBackend")
        .or_else(|| spec.get("backend"))
        .map(|b| backend(cx, b));
    let mut rules = Vec::new();
    for r in cx.seq(spec, "rules") {
        let mut paths = Vec::new();
        if let Some(http) = cx.obj(r, "http") {
            for p in cx.seq(http, "paths") {
                let b = cx.obj(p, "backend").unwrap_or(&e);
                paths.push(IngressPath {
                    path: cx.str(p, "path"),
                    path_type: cx.str(p, "pathType"),
                    backend: backend(cx, b),
                    at: cx.prov(p),
                });
            }
        }
        rules.push(IngressRule {
            host: cx.str(r, "host"),
            paths,
        });
    }
    let status = cx.obj(doc, "status").unwrap_or(&e);
    let lb = cx.obj(status, "loadBalancer").unwrap_or(&e);
    let load_balancer_hostnames = cx
        .seq(lb, "ingress")
        .iter()
        .filter_map(|i| i.get("hostname"))
        .filter_map(|h| match &h.v {
            Val::Str(s) => Some(s.to_string()),
            _ => None,
        })
        .collect();
    out.ingresses.push(Ingress {
        meta: meta.clone(),
        ingress_class_name: cx.str(spec, "ingressClassName"),
        default_backend,
        rules,
        load_balancer_hostnames,
    });
    Some(meta)
}

fn route_backend(cx: &mut Cx<'_>, b: &Node) -> Option<RouteBackend> {
    let name = cx.str(b, "name")?;
    Some(RouteBackend {
        kind: cx.str(b, "kind"),
        name,
        weight: cx.int(b, "weight"),
    })
}

/// OpenShift `route.openshift.io/v1 Route`.
pub(super) fn route(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "Route");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let mut backends = Vec::new();
    if let Some(to) = cx.obj(spec, "to") {
        backends.extend(route_backend(cx, to));
    }
    for b in cx.seq(spec, "alternateBackends") {
        backends.extend(route_backend(cx, b));
    }
    let target_port = cx
        .obj(spec, "port")
        .and_then(|p| cx.port_ref(p, "targetPort"));
    out.routes.push(Route {
        meta: meta.clone(),
        host: cx.str(spec, "host"),
        backends,
        target_port,
    });
    Some(meta)
}

/// `crd.k8s.amazonaws.com ENIConfig`.
pub(super) fn eni_config(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "ENIConfig");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    out.eni_configs.push(EniConfig {
        meta: meta.clone(),
        subnet: cx.str(spec, "subnet"),
        security_groups: cx.strings(spec, "securityGroups"),
    });
    Some(meta)
}

/// `vpcresources.k8s.aws SecurityGroupPolicy`.
pub(super) fn security_group_policy(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "SecurityGroupPolicy");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let pod_selector = cx.selector(spec, "podSelector");
    let service_account_selector = cx.selector(spec, "serviceAccountSelector");
    let group_ids = match cx.obj(spec, "securityGroups") {
        Some(g) => cx.strings(g, "groupIds"),
        None => Vec::new(),
    };
    if group_ids.is_empty() {
        cx.error(
            "k8s-shape",
            spec,
            "SecurityGroupPolicy without securityGroups.groupIds",
            "securityGroups: {groupIds: [sg-...]}",
        );
    }
    out.security_group_policies.push(SecurityGroupPolicy {
        meta: meta.clone(),
        pod_selector,
        service_account_selector,
        group_ids,
    });
    Some(meta)
}

fn encap(cx: &mut Cx<'_>, spec: &Node, key: &str) -> EncapMode {
    let Some(v) = spec.get(key) else {
        return EncapMode::Never;
    };
    match cx.as_str(v, key).as_deref() {
        Some("Always") => EncapMode::Always,
        Some("CrossSubnet") => EncapMode::CrossSubnet,
        Some("Never") | None => EncapMode::Never,
        Some(other) => {
            cx.error(
                "k8s-shape",
                v,
                format!("unknown {key} {other:?}"),
                format!("{key}: Never, Always or CrossSubnet"),
            );
            EncapMode::Never
        }
    }
}

/// Calico `IPPool`.
pub(super) fn ip_pool(
    cx: &mut Cx<'_>,
    doc: &Node,
    api: &str,
    out: &mut ClusterObjects,
) -> Option<ObjectMeta> {
    let meta = cx.meta(doc, api, "IPPool");
    let e = empty();
    let spec = cx.obj(doc, "spec").unwrap_or(&e);
    let cidr = spec
        .get("cidr")
        .and_then(|c| cx.cidr_value(c, "cidr", false));
    out.ip_pools.push(IpPool {
        meta: meta.clone(),
        cidr,
        vxlan_mode: encap(cx, spec, "vxlanMode"),
        ipip_mode: encap(cx, spec, "ipipMode"),
        nat_outgoing: cx.bool(spec, "natOutgoing").unwrap_or(false),
        disabled: cx.bool(spec, "disabled").unwrap_or(false),
        node_selector: cx.str(spec, "nodeSelector"),
    });
    Some(meta)
}
