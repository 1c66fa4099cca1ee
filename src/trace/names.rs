//! How places are named in hops.

use crate::graph::Index;
use crate::model::Snapshot;

/// The name of the host behind an interface: the instance, NAT gateway, load balancer node or
/// endpoint it belongs to, else the interface id.
pub fn host_name(snap: &Snapshot, ix: &Index, eni_id: &str) -> String {
    if let Some(nat) = ix.nat_by_interface.get(eni_id) {
        return nat.clone();
    }
    if let Some(lb) = ix
        .lb_by_interface
        .get(eni_id)
        .and_then(|arn| snap.cloud.load_balancers.get(arn))
    {
        let az = snap
            .cloud
            .interfaces
            .get(eni_id)
            .map(|e| e.az.as_str())
            .unwrap_or("");
        return format!("lb/{}@{}", lb.name, az);
    }
    if let Some(ep) = ix.endpoint_by_interface.get(eni_id) {
        return ep.clone();
    }
    match snap
        .cloud
        .interfaces
        .get(eni_id)
        .and_then(|e| e.instance_id.clone())
    {
        Some(i) => i,
        None => eni_id.to_string(),
    }
}
