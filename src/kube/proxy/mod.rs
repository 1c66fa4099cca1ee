//! kube-proxy (iptables mode): evaluating a node's nat and filter chains for a packet.
//!
//! Three parts, all pure (no I/O):
//!
//! - [`evaluate`]: an ordered rule interpreter over a parsed [`IptablesDump`](crate::model::iptables::IptablesDump).
//!   It walks the built-in hooks in kernel order (nat PREROUTING or OUTPUT, filter INPUT/FORWARD/OUTPUT,
//!   nat POSTROUTING) when the dump has them, or kube-proxy's own chains directly (the way upstream's
//!   test tracer does) when the dump is kube-proxy's restore input without hook rules. `-m statistic`
//!   rules fork the walk; every branch carries its exact probability.
//! - [`synthesize`]: the same behaviour derived from Services and EndpointSlices when no dump exists;
//!   its branches are marked [`Origin::Derived`].
//! - [`drift`]: per service-port comparison of an observed dump with the synthesized state.

mod drift;
mod interp;
mod matcher;
mod synth;
mod types;

pub use drift::{drift, observed_endpoints, DriftFinding, DriftKind, ObservedServicePort};
pub use interp::evaluate;
pub use synth::{synthesize, SynthOptions, SynthServicePort, SynthesizedProxy};
pub use types::{NodeContext, Origin, ProxyBranch, ProxyOutcome, RuleRef, Verdict, WalkMode};

#[cfg(test)]
mod tests;
