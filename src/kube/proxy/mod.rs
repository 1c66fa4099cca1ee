//! kube-proxy (iptables mode): evaluating a node's nat and filter chains for a packet.
