//! Following a flow hop by hop through the compiled snapshot, and back.
//!
//! [`Tracer::trace`] walks one concrete packet from its start to every place it can end
//! (branching at load balancers), then evaluates the reply along the same path with the
//! sessions the forward packet set up: security groups admit it (stateful), NACLs are checked
//! again (stateless) with the assumed ephemeral port range. [`Tracer::trace_all_ports`]
//! answers for every protocol and port at once by tracing one representative of each port
//! interval on which no rule changes its mind.

mod allports;
mod names;
pub mod port_cuts;
mod reply;
mod state;
pub mod types;
mod walk;

pub use allports::{protocol_label, AllPortsAnswer, PortOutcome};
pub use types::*;
pub use walk::{Start, Tracer};

use crate::model::{PortRange, Protocol};
use std::net::IpAddr;

/// What to trace: resolved endpoints and the packet's protocol and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Where the packet starts.
    pub start: Start,
    /// The source address.
    pub src_ip: IpAddr,
    /// The destination addresses to try (several for a load balancer with one node per zone).
    pub dst_ips: Vec<IpAddr>,
    /// The protocol.
    pub protocol: Protocol,
    /// The destination port (ICMP: the code; 0 for port-less protocols).
    pub dst_port: u16,
    /// The source port, when the user fixed it; otherwise an ephemeral range is assumed.
    pub src_port: Option<u16>,
    /// ICMP type for ICMP flows.
    pub icmp_type: u16,
    /// HTTP attributes for layer-7 policies; `None` = plain TCP.
    pub http: Option<crate::policy::istio::HttpAttrs>,
}

/// The answer for one query: every path and the assumptions made.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceResult {
    /// Overall reachability.
    pub reachable: Reachable,
    /// Assumptions that qualify the answer (missing layers, ephemeral ports…).
    pub assumptions: Vec<String>,
    /// Every path.
    pub paths: Vec<Path>,
}

/// The ephemeral source ports a Linux client picks (`net.ipv4.ip_local_port_range`).
pub const LINUX_EPHEMERAL: PortRange = PortRange {
    lo: 32768,
    hi: 60999,
};
/// The source ports a NAT gateway or load balancer picks when it translates.
pub const NAT_EPHEMERAL: PortRange = PortRange {
    lo: 1024,
    hi: 65535,
};
