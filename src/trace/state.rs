//! The state carried along one path while walking it.

use super::types::{Hop, NodeKind, Step};
use crate::eval::nacl::AclDirection;
use crate::model::{Packet, PortRange};

/// A check the reply must pass, recorded on the way out.
#[derive(Debug, Clone)]
pub struct ReplyCheck {
    /// Index of the forward hop where it was recorded.
    pub hop: usize,
    /// The NACL to evaluate.
    pub acl_id: String,
    /// The direction the reply crosses it.
    pub dir: AclDirection,
    /// The reply packet at that point (the forward packet, reversed).
    pub packet: Packet,
    /// The ports the reply's destination port may take (the forward source port range).
    pub reply_dst_ports: PortRange,
}

/// A translation the reply undoes, recorded on the way out.
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// Index of the forward hop where it happened.
    pub hop: usize,
    /// Human text of the reverse rewrite.
    pub detail: String,
}

/// Where a path is, and what it has collected so far.
#[derive(Debug, Clone)]
pub struct PathState {
    /// The packet as it is now.
    pub pkt: Packet,
    /// The range the source port may take (a single port when fixed).
    pub src_ports: PortRange,
    /// Hops so far.
    pub hops: Vec<Hop>,
    /// Checks for the reply.
    pub reply_checks: Vec<ReplyCheck>,
    /// Rewrites the reply undoes.
    pub rewrites: Vec<Rewrite>,
    /// The packet as it entered each hop (parallel to `hops`), for loop detection: a place
    /// reached again with the same packet is a loop.
    pub entered_with: Vec<Packet>,
    /// The last packet rendered for a hop, and its text (consecutive hops mostly carry the
    /// same packet).
    last_rendered: Option<(Packet, String)>,
    /// Hops at which security groups admitted the packet (the reply passes them by tracking).
    pub stateful_hops: Vec<(usize, String)>,
    /// VPC the packet originated in (NAT gateways serve only their own VPC's sources).
    pub origin_vpc: Option<String>,
    /// While encapsulated in an overlay tunnel: the inner packet and its source port range.
    pub inner: Option<(Packet, PortRange)>,
    /// The pod that sent the packet, if a pod did (its mesh identity survives address translation).
    pub src_pod: Option<usize>,
    /// True while the packet is on the node that generated it (host network): kube-proxy's nat
    /// OUTPUT chain applies instead of PREROUTING.
    pub local_origin: bool,
    /// True once the sender's NetworkPolicy egress has been checked.
    pub egress_checked: bool,
    /// The node interface the packet last arrived on (`eth0`, a pod's host-side veth, the
    /// tunnel device), for iptables `-i` matches.
    pub in_interface: Option<String>,
}

impl PathState {
    /// Starts a path.
    pub fn new(pkt: Packet, src_ports: PortRange) -> Self {
        PathState {
            pkt,
            src_ports,
            hops: Vec::with_capacity(10),
            reply_checks: Vec::new(),
            rewrites: Vec::new(),
            entered_with: Vec::with_capacity(10),
            last_rendered: None,
            stateful_hops: Vec::new(),
            origin_vpc: None,
            inner: None,
            src_pod: None,
            local_origin: false,
            egress_checked: false,
            in_interface: None,
        }
    }
    /// Opens a new hop; returns false when this place was already visited with this packet.
    pub fn enter(&mut self, at: &str, kind: NodeKind) -> bool {
        let fresh = !self
            .hops
            .iter()
            .zip(&self.entered_with)
            .any(|(h, p)| *p == self.pkt && h.at == at);
        self.entered_with.push(self.pkt);
        let packet = self.rendered_packet();
        self.hops.push(Hop {
            at: at.to_string(),
            kind,
            packet,
            steps: Vec::with_capacity(4),
        });
        fresh
    }
    /// The current packet's text, rendered once while the packet stays the same.
    fn rendered_packet(&mut self) -> String {
        match &self.last_rendered {
            Some((p, text)) if *p == self.pkt => text.clone(),
            _ => {
                let text = self.pkt.render();
                self.last_rendered = Some((self.pkt, text.clone()));
                text
            }
        }
    }
    /// Adds a step to the current hop.
    pub fn step(&mut self, s: Step) {
        if let Some(h) = self.hops.last_mut() {
            h.steps.push(s);
        }
    }
    /// Source NAT: rewrites the source address (and, for protocols with ports, remaps the
    /// source port into the translator's range) and records the session the reply undoes.
    /// Returns the old source address.
    pub fn snat(&mut self, to: std::net::IpAddr, session: &str) -> std::net::IpAddr {
        let old = self.pkt.src;
        self.pkt.src = to;
        if self.pkt.protocol.has_ports() {
            self.src_ports = super::NAT_EPHEMERAL;
            self.pkt.src_port = super::NAT_EPHEMERAL.lo;
        }
        let hop = self.hop_index();
        self.rewrites.push(Rewrite {
            hop,
            detail: format!("destination {to} -> {old} ({session})"),
        });
        old
    }

    /// Index of the current hop.
    pub fn hop_index(&self) -> usize {
        self.hops.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    fn packet(dst_port: u16) -> Packet {
        Packet {
            src: "10.0.1.5".parse().unwrap(),
            dst: "10.0.2.7".parse().unwrap(),
            protocol: Protocol::Tcp,
            src_port: 40000,
            dst_port,
        }
    }

    #[test]
    fn a_place_reached_again_with_the_same_packet_is_a_loop() {
        let mut st = PathState::new(packet(443), PortRange::single(40000));
        assert!(st.enter("eni-a", NodeKind::Host));
        assert!(st.enter("subnet-a", NodeKind::SubnetRouter));
        assert!(!st.enter("eni-a", NodeKind::Host));
        st.pkt.dst_port = 8443;
        assert!(st.enter("eni-a", NodeKind::Host));
        assert!(st.enter("subnet-a", NodeKind::SubnetRouter));
        assert!(!st.enter("eni-a", NodeKind::Host));
        assert_eq!(st.hops.len(), 6);
    }

    #[test]
    fn each_hop_shows_the_packet_it_was_entered_with() {
        let mut st = PathState::new(packet(443), PortRange::single(40000));
        st.enter("a", NodeKind::Host);
        st.enter("b", NodeKind::Host);
        st.pkt.dst_port = 8443;
        st.enter("c", NodeKind::Host);
        st.pkt.dst_port = 443;
        st.enter("d", NodeKind::Host);
        let shown: Vec<&str> = st.hops.iter().map(|h| h.packet.as_str()).collect();
        assert_eq!(
            shown,
            [
                packet(443).to_string(),
                packet(443).to_string(),
                packet(8443).to_string(),
                packet(443).to_string()
            ]
        );
    }
}
