//! [`ConnSet`]: a set of connections, per protocol a [`PortSet`], plus "every protocol without
//! ports" (ICMP and the rest), with union, intersection and subtraction.

use crate::eval::ports::PortSet;
use crate::model::{PortRange, Protocol};
use std::fmt;

/// The protocols with ports, in the order the peer tool prints them (SCTP, TCP, UDP).
pub const PORT_PROTOCOLS: [Protocol; 3] = [Protocol::Sctp, Protocol::Tcp, Protocol::Udp];

/// Every usable port, 1-65535.
pub const FULL_PORTS: PortRange = PortRange { lo: 1, hi: 65535 };

fn slot(p: Protocol) -> Option<usize> {
    match p {
        Protocol::Sctp => Some(0),
        Protocol::Tcp => Some(1),
        Protocol::Udp => Some(2),
        _ => None,
    }
}

/// A set of allowed connections: for TCP, UDP and SCTP a set of destination ports, and whether
/// every protocol without ports (ICMP, ICMPv6, other numbers) is included.
///
/// NetworkPolicy can only open such protocols all together (a rule without `ports`), so one
/// flag is exact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ConnSet {
    ports: [PortSet; 3],
    other: bool,
}

impl ConnSet {
    /// Nothing allowed.
    pub fn empty() -> Self {
        ConnSet::default()
    }
    /// Every protocol and port.
    pub fn all() -> Self {
        let full = PortSet::from_range(FULL_PORTS);
        ConnSet {
            ports: [full.clone(), full.clone(), full],
            other: true,
        }
    }
    /// Every port of one protocol (a port-less protocol sets the "other" flag).
    pub fn protocol(p: Protocol) -> Self {
        ConnSet::ports_of(p, PortSet::from_range(FULL_PORTS))
    }
    /// The given ports of one protocol (ports outside 1-65535 are dropped).
    pub fn ports_of(p: Protocol, ports: PortSet) -> Self {
        let mut c = ConnSet::empty();
        match slot(p) {
            Some(i) => c.ports[i] = ports.intersect(&PortSet::from_range(FULL_PORTS)),
            None => c.other = true,
        }
        c
    }
    /// One port range of one protocol.
    pub fn range(p: Protocol, lo: u16, hi: u16) -> Self {
        ConnSet::ports_of(p, PortSet::from_range(PortRange::new(lo, hi)))
    }
    /// The ports allowed for a protocol with ports (empty for port-less protocols).
    pub fn ports(&self, p: Protocol) -> PortSet {
        slot(p)
            .map(|i| self.ports[i].clone())
            .unwrap_or_else(PortSet::empty)
    }
    /// True when the port-less protocols (ICMP, …) are included.
    pub fn includes_portless(&self) -> bool {
        self.other
    }
    /// True when nothing is allowed.
    pub fn is_empty(&self) -> bool {
        !self.other && self.ports.iter().all(PortSet::is_empty)
    }
    /// True when TCP, UDP and SCTP are open on every port (the peer tool's "All Connections").
    pub fn all_ported(&self) -> bool {
        let full = PortSet::from_range(FULL_PORTS);
        self.ports.iter().all(|p| *p == full)
    }
    /// True when every protocol and port is allowed.
    pub fn is_all(&self) -> bool {
        self.other && self.all_ported()
    }
    /// True when the connection `protocol`/`port` is in the set (`port` ignored without ports).
    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        match slot(protocol) {
            Some(i) => self.ports[i].contains(port),
            None => self.other,
        }
    }
    /// Union.
    pub fn union(&self, o: &ConnSet) -> ConnSet {
        let mut out = self.clone();
        out.add(o);
        out
    }
    /// In-place union.
    pub fn add(&mut self, o: &ConnSet) {
        for (a, b) in self.ports.iter_mut().zip(&o.ports) {
            for r in b.ranges() {
                a.insert(*r);
            }
        }
        self.other |= o.other;
    }
    /// Intersection.
    pub fn intersect(&self, o: &ConnSet) -> ConnSet {
        ConnSet {
            ports: [
                self.ports[0].intersect(&o.ports[0]),
                self.ports[1].intersect(&o.ports[1]),
                self.ports[2].intersect(&o.ports[2]),
            ],
            other: self.other && o.other,
        }
    }
    /// What is in `self` and not in `o`.
    pub fn minus(&self, o: &ConnSet) -> ConnSet {
        ConnSet {
            ports: [
                self.ports[0].minus(&o.ports[0]),
                self.ports[1].minus(&o.ports[1]),
                self.ports[2].minus(&o.ports[2]),
            ],
            other: self.other && !o.other,
        }
    }
    /// The non-empty (protocol, ports) groups, in the order SCTP, TCP, UDP.
    pub fn groups(&self) -> Vec<(Protocol, &PortSet)> {
        PORT_PROTOCOLS
            .iter()
            .zip(&self.ports)
            .filter(|(_, s)| !s.is_empty())
            .map(|(p, s)| (*p, s))
            .collect()
    }
}

/// The peer tool's (netpol-analyzer) wording: `All Connections`, `No Connections`, or
/// `SCTP 1-9,TCP 80,UDP 53` (port-less protocols are not shown).
impl fmt::Display for ConnSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.all_ported() {
            return f.write_str("All Connections");
        }
        let parts: Vec<String> = self
            .groups()
            .iter()
            .map(|(p, s)| format!("{} {}", p.to_string().to_ascii_uppercase(), s))
            .collect();
        if parts.is_empty() {
            f.write_str("No Connections")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algebra_and_wording() {
        let a = ConnSet::range(Protocol::Tcp, 80, 90).union(&ConnSet::range(Protocol::Udp, 53, 53));
        let b = ConnSet::range(Protocol::Tcp, 85, 100);
        assert_eq!(a.to_string(), "TCP 80-90,UDP 53");
        assert_eq!(a.intersect(&b).to_string(), "TCP 85-90");
        assert_eq!(a.minus(&b).to_string(), "TCP 80-84,UDP 53");
        assert_eq!(ConnSet::all().to_string(), "All Connections");
        assert!(ConnSet::all().is_all());
        assert!(ConnSet::all().minus(&ConnSet::all()).is_empty());
        let three = PORT_PROTOCOLS
            .iter()
            .fold(ConnSet::empty(), |acc, p| acc.union(&ConnSet::protocol(*p)));
        assert!(three.all_ported() && !three.is_all());
        assert!(a.contains(Protocol::Tcp, 85) && !a.contains(Protocol::Icmp, 0));
        assert_eq!(
            ConnSet::all()
                .minus(&ConnSet::range(Protocol::Tcp, 80, 80))
                .to_string(),
            "SCTP 1-65535,TCP 1-79,81-65535,UDP 1-65535"
        );
    }
}
