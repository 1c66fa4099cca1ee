//! The vendor-neutral snapshot: everything the inputs said, lowered into typed values.
//!
//! Invariants: a [`Snapshot`] is immutable once built; every object keeps the [`Provenance`] of
//! the input it came from; maps are [`IndexMap`]s sorted by id, so iteration order (and so every
//! output) is deterministic. This module never imports `ingest`.
//!
//! [`Provenance`]: crate::source::Provenance

pub mod cloud;
pub mod cluster;
pub mod flow;
pub mod iptables;
pub mod text;

pub use crate::source::SourceMap;
pub use cloud::*;
pub use flow::*;

use indexmap::IndexMap;

/// Which kinds of input were present in the snapshot, so that a missing layer is reported as an
/// assumption or `unknown` instead of being silently allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputsPresent {
    /// `describe-vpcs` (or any AWS input at all, see [`InputsPresent::any_aws`]).
    pub vpcs: bool,
    /// `describe-subnets`.
    pub subnets: bool,
    /// `describe-route-tables`.
    pub route_tables: bool,
    /// `describe-security-groups`.
    pub security_groups: bool,
    /// `describe-network-acls`.
    pub network_acls: bool,
    /// `describe-network-interfaces`.
    pub network_interfaces: bool,
    /// `describe-instances`.
    pub instances: bool,
    /// `elbv2 describe-target-health`.
    pub target_health: bool,
    /// `elbv2 describe-listeners`.
    pub listeners: bool,
}

impl InputsPresent {
    /// True when any AWS input was read.
    pub fn any_aws(&self) -> bool {
        self.vpcs
            || self.subnets
            || self.route_tables
            || self.security_groups
            || self.network_acls
            || self.network_interfaces
            || self.instances
    }
}

/// Everything netpath knows about one account set and cluster.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The files read, for citing provenance.
    pub sources: SourceMap,
    /// Which inputs were present.
    pub present: InputsPresent,
    /// The AWS network.
    pub cloud: Cloud,
    /// Kubernetes, Istio and CNI objects, parsed and typed.
    pub cluster: cluster::ClusterObjects,
    /// Per-node `iptables-save` dumps.
    pub iptables: Vec<iptables::IptablesDump>,
    /// Files that were recognised as nothing netpath reads (listed in a warning).
    pub unrecognised: Vec<crate::source::FileId>,
}

/// A map from id to object, ordered by id once the snapshot is built (insertion order; the
/// hasher only speeds lookups up).
pub type ById<T> = IndexMap<String, T, foldhash::fast::RandomState>;
