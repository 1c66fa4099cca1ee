//! The connectivity matrix: every workload to every workload, as exact connection sets.
