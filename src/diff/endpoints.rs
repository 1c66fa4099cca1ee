//! The endpoints a diff compares flows between: pods, nodes, instances that are not nodes, the
//! internet (as sources and destinations), and load balancers and Services (as destinations).
//! Each is named as a user would type it, so the same name resolves in both snapshots.

use crate::model::cluster::ServiceType;
use crate::model::{tag_value, Snapshot};
use std::collections::{BTreeMap, BTreeSet};

/// Sources and destinations of one snapshot, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowEndpoints {
    /// Names usable as a source.
    pub sources: BTreeSet<String>,
    /// Names usable as a destination.
    pub destinations: BTreeSet<String>,
}

impl FlowEndpoints {
    /// The union of two endpoint sets.
    pub fn union(&self, other: &FlowEndpoints) -> FlowEndpoints {
        FlowEndpoints {
            sources: self.sources.union(&other.sources).cloned().collect(),
            destinations: self
                .destinations
                .union(&other.destinations)
                .cloned()
                .collect(),
        }
    }
}

/// The flow endpoints of a snapshot.
pub fn of(snap: &Snapshot) -> FlowEndpoints {
    let mut e = FlowEndpoints::default();
    let mut both = |name: String| {
        e.sources.insert(name.clone());
        e.destinations.insert(name);
    };
    let c = &snap.cluster;
    for p in &c.pods {
        if !p.spec.host_network && !p.pod_ips.is_empty() {
            both(p.meta.key());
        }
    }
    let mut node_instances = BTreeSet::new();
    for n in &c.nodes {
        both(format!("node/{}", n.meta.name));
        if let Some(a) = &n.aws_instance {
            node_instances.insert(a.instance_id.clone());
        }
    }
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for i in snap.cloud.instances.values() {
        if let Some(n) = tag_value(&i.tags, "Name") {
            *names.entry(n.to_string()).or_default() += 1;
        }
    }
    for i in snap.cloud.instances.values() {
        if node_instances.contains(&i.id) {
            continue;
        }
        let name = match tag_value(&i.tags, "Name") {
            Some(n) if names.get(n) == Some(&1) && !n.contains(char::is_whitespace) => {
                format!("instance/{n}")
            }
            _ => i.id.clone(),
        };
        both(name);
    }
    both("internet".to_string());
    for lb in snap.cloud.load_balancers.values() {
        e.destinations.insert(format!("lb/{}", lb.name));
    }
    for s in &c.services {
        if s.service_type != ServiceType::ExternalName && !s.cluster_ips.is_empty() && !s.headless {
            e.destinations.insert(format!("svc/{}", s.meta.key()));
        }
    }
    e
}
