//! Kubernetes NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy evaluation.
