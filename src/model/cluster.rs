//! Kubernetes, Istio and CNI objects, parsed into typed values.

/// Every cluster object of the snapshot, by kind.
#[derive(Debug, Clone, Default)]
pub struct ClusterObjects {}
