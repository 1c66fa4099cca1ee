//! Undoing what lowering one file added to [`ClusterObjects`], for a streamed read that turns out
//! to need the whole-tree read after all.

use crate::model::cluster::ClusterObjects;
use crate::source::FileId;

macro_rules! object_lists {
    ($($field:ident),* $(,)?) => {
        /// How many objects of each kind a [`ClusterObjects`] holds: the point to cut back to.
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct ObjectCounts {
            $($field: usize),*
        }

        /// The object counts of `objects` now.
        pub(crate) fn counts(objects: &ClusterObjects) -> ObjectCounts {
            // Exhaustive on purpose: a new kind of object must be listed above.
            let ClusterObjects { $($field),*, seen: _ } = objects;
            ObjectCounts { $($field: $field.len()),* }
        }

        /// Drops the objects added since `to` was taken, and what `file` put in the index of
        /// objects already seen.
        pub(crate) fn truncate(objects: &mut ClusterObjects, to: ObjectCounts, file: FileId) {
            let ClusterObjects { $($field),*, seen } = objects;
            $($field.truncate(to.$field);)*
            seen.retain(|_, at| at.file != file);
        }
    };
}

object_lists!(
    namespaces,
    nodes,
    pods,
    deployments,
    stateful_sets,
    daemon_sets,
    replica_sets,
    other_workloads,
    services,
    endpoint_slices,
    endpoints,
    network_policies,
    admin_network_policies,
    baseline_admin_network_policies,
    ingresses,
    routes,
    eni_configs,
    security_group_policies,
    ip_pools,
    peer_authentications,
    authorization_policies,
    service_entries,
    gateways,
    virtual_services,
    destination_rules,
    unsupported,
);
