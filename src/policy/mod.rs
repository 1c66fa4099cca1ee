//! Policy layers: Kubernetes NetworkPolicy (and AdminNetworkPolicy) and Istio authorization.

pub mod istio;
pub mod netpol;
