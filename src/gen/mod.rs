//! A deterministic, seeded generator of snapshot directories at realistic cluster sizes, in the
//! raw formats netpath reads (`aws ec2 describe-*` JSON, `kubectl get -o json` lists and per-node
//! `iptables-save` dumps), for benchmarks and scale tests.
//!
//! The cluster has the structure of real ones: namespaces of applications (Deployments behind
//! Services, DaemonSets on every node, some on the host network), a default-deny ingress policy
//! per namespace, a few broad policies (monitoring, DNS) and many narrow ones (one app to
//! another, some across namespaces, some to IP blocks), Istio AuthorizationPolicies in meshed
//! namespaces, security groups per node group, and kube-proxy rules that match the Services
//! and EndpointSlices exactly. The same [`Spec`] and seed always give byte-identical files.

mod aws;
mod iptables;
mod k8s;
pub mod plan;

pub use plan::Plan;

use std::io;
use std::path::Path;

/// Object counts of a generated snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Name of the size (`tiny`, `small`, `large`, `extreme`, or `pods-N`).
    pub name: String,
    /// Worker nodes (EC2 instances).
    pub nodes: usize,
    /// Pods in all, DaemonSet pods included.
    pub pods: usize,
    /// Services.
    pub services: usize,
    /// Deployments.
    pub deployments: usize,
    /// Namespaces holding applications (besides kube-system, monitoring and istio-system).
    pub namespaces: usize,
    /// NetworkPolicies.
    pub network_policies: usize,
    /// Istio AuthorizationPolicies.
    pub authorization_policies: usize,
    /// Security groups.
    pub security_groups: usize,
    /// Node groups (each with its own security group).
    pub node_groups: usize,
    /// DaemonSets on every node on the pod network.
    pub pod_daemonsets: usize,
    /// DaemonSets on every node on the host network.
    pub host_daemonsets: usize,
    /// Nodes that get an `iptables-save` dump (the first ones); the others' kube-proxy
    /// behaviour is derived from Services and EndpointSlices.
    pub iptables_dumps: usize,
    /// Seed of the pseudo-random choices.
    pub seed: u64,
}

impl Spec {
    /// A few nodes and pods: for tests.
    pub fn tiny() -> Spec {
        Spec {
            name: "tiny".into(),
            nodes: 3,
            pods: 40,
            services: 10,
            deployments: 8,
            namespaces: 3,
            network_policies: 12,
            authorization_policies: 4,
            security_groups: 6,
            node_groups: 2,
            pod_daemonsets: 1,
            host_daemonsets: 1,
            iptables_dumps: 3,
            seed: 1,
        }
    }
    /// One realistic EKS cluster (performance.md, section 3).
    pub fn small() -> Spec {
        Spec {
            name: "small".into(),
            nodes: 50,
            pods: 1_500,
            services: 300,
            deployments: 180,
            namespaces: 40,
            network_policies: 200,
            authorization_policies: 120,
            security_groups: 40,
            node_groups: 3,
            pod_daemonsets: 3,
            host_daemonsets: 3,
            iptables_dumps: 50,
            seed: 1,
        }
    }
    /// About 1,000 nodes. Only the first 50 nodes get a raw dump (the "large-raw" variant:
    /// 1,000 dumps of about 11 MB each would be 11 GB).
    pub fn large() -> Spec {
        Spec {
            name: "large".into(),
            nodes: 1_000,
            pods: 30_000,
            services: 5_000,
            deployments: 4_500,
            namespaces: 500,
            network_policies: 2_000,
            authorization_policies: 1_500,
            security_groups: 400,
            node_groups: 10,
            pod_daemonsets: 5,
            host_daemonsets: 3,
            iptables_dumps: 50,
            seed: 1,
        }
    }
    /// At the scale limits of Kubernetes; no raw dumps (kube-proxy derived).
    pub fn extreme() -> Spec {
        Spec {
            name: "extreme".into(),
            nodes: 5_000,
            pods: 150_000,
            services: 10_000,
            deployments: 9_000,
            namespaces: 2_000,
            network_policies: 10_000,
            authorization_policies: 6_000,
            security_groups: 2_500,
            node_groups: 20,
            pod_daemonsets: 5,
            host_daemonsets: 3,
            iptables_dumps: 0,
            seed: 1,
        }
    }
    /// The small cluster scaled to about `pods` pods (at least one node per 30 pods).
    pub fn with_pods(pods: usize) -> Spec {
        let s = Spec::small();
        let f = |n: usize| ((n * pods) / s.pods).max(1);
        Spec {
            name: format!("pods-{pods}"),
            nodes: f(s.nodes).max(2),
            pods,
            services: f(s.services).max(2),
            deployments: f(s.deployments).max(2),
            namespaces: f(s.namespaces).max(2),
            network_policies: f(s.network_policies).max(2),
            authorization_policies: f(s.authorization_policies),
            security_groups: s.security_groups.min(f(s.security_groups).max(4)),
            node_groups: 2,
            pod_daemonsets: 1,
            host_daemonsets: 1,
            iptables_dumps: f(s.nodes).max(2),
            seed: 1,
        }
    }
    /// The spec of a size name: `tiny`, `small`, `large`, `extreme` or `pods-N`.
    pub fn by_name(name: &str) -> Option<Spec> {
        match name {
            "tiny" => Some(Spec::tiny()),
            "small" => Some(Spec::small()),
            "large" => Some(Spec::large()),
            "extreme" => Some(Spec::extreme()),
            _ => name
                .strip_prefix("pods-")
                .and_then(|n| n.parse().ok())
                .filter(|n: &usize| *n >= 10)
                .map(Spec::with_pods),
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Pods in the snapshot.
    pub pods: usize,
    /// Lines of the largest `iptables-save` dump.
    pub iptables_lines: usize,
}

/// Which parts of the snapshot to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// AWS, Kubernetes, Istio and iptables.
    All,
    /// Only namespaces, pods and NetworkPolicies (the input of NetworkPolicy-only analyzers).
    NetworkPolicy,
}

/// Writes the snapshot of `spec` into `dir` (created if missing): `aws/*.json`,
/// `k8s/*.json` and `k8s/iptables/<node>.iptables-save`.
pub fn generate(spec: &Spec, dir: &Path, parts: Parts) -> io::Result<Summary> {
    let plan = Plan::new(spec);
    let mut sum = Summary {
        pods: plan.pods.len(),
        ..Summary::default()
    };
    std::fs::create_dir_all(dir.join("k8s"))?;
    k8s::write(&plan, &dir.join("k8s"), parts, &mut sum)?;
    if parts == Parts::All {
        std::fs::create_dir_all(dir.join("aws"))?;
        aws::write(&plan, &dir.join("aws"), &mut sum)?;
        if spec.iptables_dumps > 0 {
            std::fs::create_dir_all(dir.join("k8s/iptables"))?;
            iptables::write(&plan, &dir.join("k8s/iptables"), &mut sum)?;
        }
    }
    Ok(sum)
}

/// Writes `value` as pretty JSON (as the CLIs print it) to `path`, counting it in `sum`.
fn write_json(path: &Path, value: &serde_json::Value, sum: &mut Summary) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    write_text(path, &text, sum)
}

fn write_text(path: &Path, text: &str, sum: &mut Summary) -> io::Result<()> {
    std::fs::write(path, text)?;
    sum.files += 1;
    sum.bytes += text.len() as u64;
    Ok(())
}
