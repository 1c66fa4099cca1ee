//! Flows and the sets they are made of: protocols, port ranges, addresses.

use super::text::{push_decimal, push_ipv4};
use std::fmt;
use std::net::IpAddr;

/// An IP protocol. Numbers other than the named ones are kept as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// Transmission Control Protocol (6).
    Tcp,
    /// User Datagram Protocol (17).
    Udp,
    /// ICMP for IPv4 (1).
    Icmp,
    /// ICMP for IPv6 (58).
    Icmpv6,
    /// SCTP (132).
    Sctp,
    /// Any other protocol number (0 is Batfish's "any flow").
    Other(u8),
}

impl Protocol {
    /// The IANA protocol number.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Icmp => 1,
            Protocol::Icmpv6 => 58,
            Protocol::Sctp => 132,
            Protocol::Other(n) => n,
        }
    }
    /// The protocol for an IANA number.
    pub fn from_number(n: u8) -> Protocol {
        match n {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            1 => Protocol::Icmp,
            58 => Protocol::Icmpv6,
            132 => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }
    /// Parses `tcp`, `udp`, `sctp`, `icmp`, `icmpv6` or a number.
    pub fn parse(s: &str) -> Option<Protocol> {
        let is = |name: &str| s.eq_ignore_ascii_case(name);
        if is("tcp") {
            Some(Protocol::Tcp)
        } else if is("udp") {
            Some(Protocol::Udp)
        } else if is("icmp") {
            Some(Protocol::Icmp)
        } else if is("icmpv6") || is("ipv6-icmp") {
            Some(Protocol::Icmpv6)
        } else if is("sctp") {
            Some(Protocol::Sctp)
        } else {
            s.parse::<u8>().ok().map(Protocol::from_number)
        }
    }
    /// True for protocols whose packets carry ports (TCP, UDP, SCTP).
    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp | Protocol::Sctp)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Icmpv6 => f.write_str("icmpv6"),
            Protocol::Sctp => f.write_str("sctp"),
            Protocol::Other(n) => write!(f, "{n}"),
        }
    }
}

/// An inclusive range of ports (or ICMP types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port, inclusive.
    pub lo: u16,
    /// Last port, inclusive.
    pub hi: u16,
}

impl PortRange {
    /// Every port.
    pub const ALL: PortRange = PortRange { lo: 0, hi: 65535 };
    /// A range; `lo <= hi` is the caller's duty.
    pub fn new(lo: u16, hi: u16) -> Self {
        PortRange { lo, hi }
    }
    /// One port.
    pub fn single(p: u16) -> Self {
        PortRange { lo: p, hi: p }
    }
    /// True when `p` is in the range.
    pub fn contains(&self, p: u16) -> bool {
        self.lo <= p && p <= self.hi
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

/// One concrete packet's headers: what a trace follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol.
    pub protocol: Protocol,
    /// Source port (0 for port-less protocols; ICMP: type).
    pub src_port: u16,
    /// Destination port (0 for port-less protocols; ICMP: code).
    pub dst_port: u16,
}

impl Packet {
    /// The reply's headers: addresses and ports swapped.
    pub fn reversed(&self) -> Packet {
        Packet {
            src: self.dst,
            dst: self.src,
            protocol: self.protocol,
            src_port: self.dst_port,
            dst_port: self.src_port,
        }
    }
}

impl Packet {
    /// The packet as [`fmt::Display`] shows it (`tcp 10.0.1.5:40000 -> 10.0.2.7:443`), written
    /// without the formatting machinery for IPv4 packets with a named protocol.
    pub fn render(&self) -> String {
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (self.src, self.dst) else {
            return self.to_string();
        };
        let name = match self.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Icmpv6 => "icmpv6",
            Protocol::Sctp => "sctp",
            Protocol::Other(_) => return self.to_string(),
        };
        let ports = self.protocol.has_ports();
        let mut out = String::with_capacity(48);
        out.push_str(name);
        out.push(' ');
        push_ipv4(&mut out, src);
        if ports {
            out.push(':');
            push_decimal(&mut out, u64::from(self.src_port));
        }
        out.push_str(" -> ");
        push_ipv4(&mut out, dst);
        if ports {
            out.push(':');
            push_decimal(&mut out, u64::from(self.dst_port));
        }
        out
    }
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.protocol.has_ports() {
            write!(
                f,
                "{} {}:{} -> {}:{}",
                self.protocol, self.src, self.src_port, self.dst, self.dst_port
            )
        } else {
            write!(f, "{} {} -> {}", self.protocol, self.src, self.dst)
        }
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;

    #[test]
    fn render_matches_display() {
        let ips = [
            "0.0.0.0",
            "10.0.1.5",
            "255.255.255.255",
            "192.168.100.9",
            "fd00::1",
        ];
        let protocols = [
            Protocol::Tcp,
            Protocol::Udp,
            Protocol::Icmp,
            Protocol::Icmpv6,
            Protocol::Sctp,
            Protocol::Other(4),
        ];
        for src in ips {
            for dst in ips {
                for protocol in protocols {
                    for (sp, dp) in [(0, 0), (9, 10), (40000, 443), (65535, 65535)] {
                        let p = Packet {
                            src: src.parse().unwrap(),
                            dst: dst.parse().unwrap(),
                            protocol,
                            src_port: sp,
                            dst_port: dp,
                        };
                        assert_eq!(p.render(), p.to_string());
                    }
                }
            }
        }
    }
}
