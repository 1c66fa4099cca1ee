//! The port intervals `trace` without `--port` and `diff` trace: every boundary any rule of the
//! snapshots draws, in the cloud (security groups, NACLs, listeners, target groups) and in the
//! cluster (Service, container, NetworkPolicy, AdminNetworkPolicy and Istio ports). Within one interval no rule
//! of any snapshot tells two ports apart, so one representative answers for all of them.

use crate::model::cluster::{AnpPort, PortRef};
use crate::model::{PortMatch, PortRange, Protocol, ProtocolMatch, Snapshot};
use std::collections::BTreeSet;

/// The protocols with ports that a diff compares port by port.
pub const PORT_PROTOCOLS: [Protocol; 2] = [Protocol::Tcp, Protocol::Udp];

/// Disjoint intervals covering 0-65535 for `proto`, cut at every boundary of `snaps`.
pub fn intervals(snaps: &[&Snapshot], proto: Protocol) -> Vec<PortRange> {
    let mut cuts: BTreeSet<u32> = BTreeSet::new();
    cuts.insert(0);
    for s in snaps {
        add_cloud(s, proto, &mut cuts);
        add_cluster(s, proto, &mut cuts);
    }
    let cuts: Vec<u32> = cuts.into_iter().filter(|c| *c <= 65535).collect();
    cuts.iter()
        .enumerate()
        .map(|(k, lo)| {
            let hi = cuts.get(k + 1).map(|n| n - 1).unwrap_or(65535);
            PortRange::new(*lo as u16, hi as u16)
        })
        .collect()
}

fn range(cuts: &mut BTreeSet<u32>, lo: u16, hi: u16) {
    cuts.insert(u32::from(lo));
    cuts.insert(u32::from(hi) + 1);
}

fn add_cloud(s: &Snapshot, proto: Protocol, cuts: &mut BTreeSet<u32>) {
    let mut add = |pm: &ProtocolMatch, ports: &PortMatch| {
        if let (ProtocolMatch::One(p), PortMatch::Range(r)) = (pm, ports) {
            if *p == proto {
                range(cuts, r.lo, r.hi);
            }
        }
    };
    for sg in s.cloud.security_groups.values() {
        for r in sg.ingress.iter().chain(sg.egress.iter()) {
            add(&r.protocol, &r.ports);
        }
    }
    for acl in s.cloud.network_acls.values() {
        for e in acl.ingress.iter().chain(acl.egress.iter()) {
            add(&e.protocol, &e.ports);
        }
    }
    for lb in s.cloud.load_balancers.values() {
        for l in lb.listeners.iter().flatten() {
            range(cuts, l.port, l.port);
        }
    }
    for tg in s.cloud.target_groups.values() {
        if let Some(p) = tg.port {
            range(cuts, p, p);
        }
    }
}

fn add_cluster(s: &Snapshot, proto: Protocol, cuts: &mut BTreeSet<u32>) {
    let c = &s.cluster;
    let mut one = |p: Protocol, port: u16| {
        if p == proto {
            range(cuts, port, port);
        }
    };
    for svc in &c.services {
        for p in &svc.ports {
            one(p.protocol, p.port);
            if let Some(PortRef::Number(n)) = p.target_port {
                one(p.protocol, n);
            }
            if let Some(n) = p.node_port {
                one(p.protocol, n);
            }
        }
        if let Some(n) = svc.health_check_node_port {
            one(Protocol::Tcp, n);
        }
    }
    let specs = c.pods.iter().map(|p| &p.spec).chain(
        c.deployments
            .iter()
            .chain(&c.stateful_sets)
            .chain(&c.daemon_sets)
            .chain(&c.replica_sets)
            .chain(&c.other_workloads)
            .map(|w| &w.template),
    );
    for spec in specs {
        for ct in spec.containers.iter() {
            for p in &ct.ports {
                one(p.protocol, p.container_port);
            }
        }
    }
    for np in &c.network_policies {
        for r in np.ingress.iter().chain(np.egress.iter()) {
            for p in &r.ports {
                if p.protocol != proto {
                    continue;
                }
                if let Some(PortRef::Number(n)) = p.port {
                    range(cuts, n, p.end_port.unwrap_or(n).max(n));
                }
            }
        }
    }
    let anp_rules = c
        .admin_network_policies
        .iter()
        .flat_map(|a| a.ingress.iter().chain(a.egress.iter()))
        .chain(
            c.baseline_admin_network_policies
                .iter()
                .flat_map(|a| a.ingress.iter().chain(a.egress.iter())),
        );
    for r in anp_rules {
        for p in r.ports.iter().flatten() {
            match p {
                AnpPort::Number { protocol, port } if *protocol == proto => {
                    range(cuts, *port, *port)
                }
                AnpPort::Range {
                    protocol,
                    start,
                    end,
                } if *protocol == proto => range(cuts, *start, (*end).max(*start)),
                _ => {}
            }
        }
    }
    if proto == Protocol::Tcp {
        for ap in &c.authorization_policies {
            for r in ap.rules.iter().flatten() {
                for op in r.to.iter().flatten() {
                    for p in op.ports.iter().chain(op.not_ports.iter()) {
                        range(cuts, *p, *p);
                    }
                }
            }
        }
        for pa in &c.peer_authentications {
            for p in pa.port_level_mtls.keys() {
                range(cuts, *p, *p);
            }
        }
    }
}
