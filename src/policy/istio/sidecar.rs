//! Sidecar presence: whether a pod (or a pod template) runs an Istio sidecar.
//!
//! A live pod (one with a `status`: a phase or an IP) is in the mesh exactly when it has an
//! `istio-proxy` container; injection labels only act at creation time. For rendered
//! manifests and templates the injector's documented logic decides ("Installing the
//! Sidecar", *Controlling the injection policy*):
//!
//! 1. `hostNetwork` pods and pods in `kube-system`/`kube-public` are never injected;
//! 2. if either `istio-injection` (namespace label) or `sidecar.istio.io/inject` (pod label,
//!    or the legacy pod annotation) is disabled, the pod is not injected;
//! 3. if either `istio-injection=enabled`, `sidecar.istio.io/inject=true` or an `istio.io/rev`
//!    label (namespace or pod) is set, the pod is injected;
//! 4. otherwise it is not.

use crate::model::cluster::{ClusterObjects, Pod, PodSpec, StringMap};

/// Whether a workload is in the mesh, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarPresence {
    /// True when the workload runs (or will be injected with) an Istio sidecar.
    pub in_mesh: bool,
    /// What decided, e.g. ``namespace label `istio-injection=enabled` ``.
    pub reason: String,
}

/// Sidecar presence of a pod (see the module documentation for the rules).
pub fn pod_sidecar(objects: &ClusterObjects, pod: &Pod) -> SidecarPresence {
    let live = pod.phase.is_some() || !pod.pod_ips.is_empty();
    if pod.has_istio_proxy || pod.spec.has_istio_proxy() {
        return SidecarPresence {
            in_mesh: true,
            reason: "pod has an `istio-proxy` container".into(),
        };
    }
    if live {
        return SidecarPresence {
            in_mesh: false,
            reason: "running pod has no `istio-proxy` container".into(),
        };
    }
    template_sidecar(
        objects,
        pod.meta.namespace_or_default(),
        &pod.meta.labels,
        &pod.meta.annotations,
        &pod.spec,
    )
}

/// Sidecar presence of a pod template (a Deployment's, or a manifest Pod not yet running).
pub fn template_sidecar(
    objects: &ClusterObjects,
    namespace: &str,
    labels: &StringMap,
    annotations: &StringMap,
    spec: &PodSpec,
) -> SidecarPresence {
    let no = |reason: String| SidecarPresence {
        in_mesh: false,
        reason,
    };
    let yes = |reason: String| SidecarPresence {
        in_mesh: true,
        reason,
    };
    if spec.has_istio_proxy() {
        return yes("template has an `istio-proxy` container".into());
    }
    if spec.host_network {
        return no("hostNetwork pods are never injected".into());
    }
    if matches!(namespace, "kube-system" | "kube-public") {
        return no(format!("namespace {namespace} is never injected"));
    }
    let ns_labels = objects
        .namespaces
        .iter()
        .find(|n| n.meta.name == namespace)
        .map(|n| &n.meta.labels);
    let ns_inject = ns_labels.and_then(|l| l.get("istio-injection"));
    let ns_rev = ns_labels.and_then(|l| l.get("istio.io/rev"));
    let pod_label = labels.get("sidecar.istio.io/inject");
    let pod_annot = annotations.get("sidecar.istio.io/inject");
    let pod_rev = labels.get("istio.io/rev");

    if ns_inject.is_some_and(|v| v == "disabled") {
        return no(format!(
            "namespace label `istio-injection=disabled` on {namespace}"
        ));
    }
    if pod_label.is_some_and(|v| v == "false") {
        return no("pod label `sidecar.istio.io/inject=false`".into());
    }
    if pod_annot.is_some_and(|v| v == "false") {
        return no("pod annotation `sidecar.istio.io/inject: \"false\"`".into());
    }
    if ns_inject.is_some_and(|v| v == "enabled") {
        return yes(format!(
            "namespace label `istio-injection=enabled` on {namespace}"
        ));
    }
    if let Some(rev) = ns_rev {
        return yes(format!(
            "namespace label `istio.io/rev={rev}` on {namespace}"
        ));
    }
    if pod_label.is_some_and(|v| v == "true") {
        return yes("pod label `sidecar.istio.io/inject=true`".into());
    }
    if let Some(rev) = pod_rev {
        return yes(format!("pod label `istio.io/rev={rev}`"));
    }
    no("no istio-proxy container and no injection label".into())
}
