//! Turning the names users type (`i-…`, `instance/web`, `10.0.1.5`, `internet`, `lb/NAME`)
//! into where a flow starts and which addresses it goes to.

use crate::graph::Index;
use crate::model::{tag_value, LoadBalancer, Snapshot, TargetType};
use crate::trace::Start;
use std::net::IpAddr;

/// The address that stands for "a host on the internet".
pub const INTERNET_HOST: &str = "8.8.8.8";

/// A resolved source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Where the packet starts.
    pub start: Start,
    /// Its source address.
    pub ip: IpAddr,
    /// A note on how the name was read, for the assumptions list.
    pub note: Option<String>,
}

/// A resolved destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The addresses to try (one per load balancer node).
    pub ips: Vec<IpAddr>,
    /// Notes on how the name was read.
    pub notes: Vec<String>,
}

/// The source forms this build understands, for error messages.
pub const SOURCE_FORMS: &str = "NS/NAME or pod/NS/NAME (a pod or a workload's pods), node/NAME, an instance id (i-…), instance/NAME-TAG, an ENI id (eni-…), an IP address, `internet`, subnet-…, vpc-…, vgw-… or vpn-… (optionally :ADDRESS)";
/// The destination forms this build understands, for error messages.
pub const DESTINATION_FORMS: &str = "NS/NAME or pod/NS/NAME, svc/NS/NAME, NAME.NS.svc.cluster.local, NAME.NS, node/NAME, an instance id (i-…), instance/NAME-TAG, an ENI id (eni-…), an IP address, `internet`, lb/NAME or a load balancer DNS name, ingress/NS/NAME";

fn instance_by_name<'a>(
    snap: &'a Snapshot,
    name: &str,
) -> Result<&'a crate::model::Instance, String> {
    let matches: Vec<_> = snap
        .cloud
        .instances
        .values()
        .filter(|i| i.name.as_deref() == Some(name) || i.id == name)
        .collect();
    let running: Vec<_> = matches.iter().copied().filter(|i| i.forwards()).collect();
    match (matches.len(), running.len()) {
        (0, _) => Err(format!("no instance named {name:?} in the snapshot")),
        (1, _) => Ok(matches[0]),
        (_, 1) => Ok(running[0]),
        _ => Err(format!(
            "{} instances are named {name:?}: {}; name one by id",
            matches.len(),
            matches
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn instance_interface(
    snap: &Snapshot,
    inst: &crate::model::Instance,
) -> Result<(String, IpAddr), String> {
    let eni = inst.interface_ids.first().ok_or_else(|| {
        format!(
            "instance {} has no network interface in the snapshot",
            inst.id
        )
    })?;
    let ip = inst
        .private_ip
        .or_else(|| snap.cloud.interfaces.get(eni).and_then(|e| e.primary_ip()))
        .ok_or_else(|| {
            format!(
                "instance {} has no private address in the snapshot",
                inst.id
            )
        })?;
    Ok((eni.clone(), ip))
}

fn find_lb<'a>(snap: &'a Snapshot, name: &str) -> Option<&'a LoadBalancer> {
    let n = name.strip_prefix("lb/").unwrap_or(name);
    snap.cloud
        .load_balancers
        .values()
        .find(|lb| lb.name == n || lb.dns_name == n || lb.arn == n)
}

/// Resolves a source name.
pub fn resolve_source(snap: &Snapshot, ix: &Index, name: &str) -> Result<Source, String> {
    if let Some(found) = crate::kube::names::source(snap, ix, name) {
        return found;
    }
    if name == "internet" {
        let ip = INTERNET_HOST
            .parse()
            .map_err(|_| "internal: bad internet address".to_string())?;
        return Ok(Source { start: Start::Internet, ip, note: Some(format!("`internet` stands for a host at {INTERNET_HOST}; give an IP address to test a specific client")) });
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        if let Some(eni) = ix.owner_of(ip) {
            return Ok(Source {
                start: Start::Interface(eni.to_string()),
                ip,
                note: None,
            });
        }
        if let IpAddr::V4(v4) = ip {
            if let Some((eni, private)) = ix.public_owner.get(&v4) {
                return Ok(Source {
                    start: Start::Interface(eni.clone()),
                    ip: *private,
                    note: Some(format!(
                        "{ip} is the public address of {eni}; it sends from {private}"
                    )),
                });
            }
        }
        if let Some(s) = snap.cloud.subnets.values().find(|s| s.contains(ip)) {
            return Ok(Source {
                start: Start::Subnet(s.id.clone()),
                ip,
                note: Some(format!(
                    "{ip} is owned by no interface; injected at the router of {}",
                    s.id
                )),
            });
        }
        return Ok(Source {
            start: Start::Internet,
            ip,
            note: None,
        });
    }
    if let Some(id) = name.strip_prefix("instance/") {
        let inst = instance_by_name(snap, id)?;
        let (eni, ip) = instance_interface(snap, inst)?;
        return Ok(Source {
            start: Start::Interface(eni),
            ip,
            note: None,
        });
    }
    if name.starts_with("i-") {
        let inst = snap
            .cloud
            .instances
            .get(name)
            .ok_or_else(|| format!("instance {name} is not in the snapshot"))?;
        let (eni, ip) = instance_interface(snap, inst)?;
        return Ok(Source {
            start: Start::Interface(eni),
            ip,
            note: None,
        });
    }
    if name.starts_with("eni-") {
        let eni = snap
            .cloud
            .interfaces
            .get(name)
            .ok_or_else(|| format!("interface {name} is not in the snapshot"))?;
        let ip = eni
            .primary_ip()
            .ok_or_else(|| format!("interface {name} has no address"))?;
        return Ok(Source {
            start: Start::Interface(name.to_string()),
            ip,
            note: None,
        });
    }
    for (prefix, make) in [
        ("subnet-", Start::Subnet as fn(String) -> Start),
        ("vpc-", Start::Vpc),
        ("vgw-", Start::VpnGateway),
        ("vpn-", Start::VpnConnection),
    ] {
        if name.starts_with(prefix) {
            let base = name.split(':').next().unwrap_or(name);
            let ip = name.split_once(':').and_then(|(_, ip)| ip.parse().ok());
            let ip = match ip {
                Some(ip) => ip,
                None => default_injected_source(snap, base)
                    .ok_or_else(|| format!("give the source address as {base}:ADDRESS"))?,
            };
            return Ok(Source {
                start: make(base.to_string()),
                ip,
                note: Some(format!("injected at {base} with source {ip}")),
            });
        }
    }
    if let Some(inst) = snap
        .cloud
        .instances
        .values()
        .find(|i| i.name.as_deref() == Some(name))
    {
        let (eni, ip) = instance_interface(snap, inst)?;
        return Ok(Source {
            start: Start::Interface(eni),
            ip,
            note: None,
        });
    }
    if find_lb(snap, name).is_some() {
        return Err(format!(
            "{name} is a load balancer: it does not initiate connections"
        ));
    }
    Err(format!("unknown source {name:?}: expected {SOURCE_FORMS}"))
}

fn default_injected_source(snap: &Snapshot, id: &str) -> Option<IpAddr> {
    if let Some(s) = snap.cloud.subnets.get(id) {
        return s.cidr_v4.and_then(|c| c.hosts().nth(9)).map(IpAddr::V4);
    }
    if id.starts_with("vgw-") || id.starts_with("vpn-") {
        return "192.0.2.10".parse().ok();
    }
    snap.cloud
        .vpcs
        .get(id)
        .and_then(|v| v.cidrs_v4.first())
        .and_then(|c| c.hosts().nth(9))
        .map(IpAddr::V4)
}

/// Resolves a destination name; `from_outside` picks a load balancer's public addresses.
pub fn resolve_destination(
    snap: &Snapshot,
    ix: &Index,
    name: &str,
    from_outside: bool,
) -> Result<Destination, String> {
    if let Some(found) = crate::kube::names::destination(snap, ix, name) {
        return found;
    }
    if name == "internet" {
        let ip = INTERNET_HOST
            .parse()
            .map_err(|_| "internal: bad internet address".to_string())?;
        return Ok(Destination {
            ips: vec![ip],
            notes: vec![format!("`internet` stands for a host at {INTERNET_HOST}")],
        });
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(Destination {
            ips: vec![ip],
            notes: vec![],
        });
    }
    if let Some(lb) = find_lb(snap, name) {
        return resolve_lb(snap, ix, lb, from_outside);
    }
    if let Some(key) = name.strip_prefix("ingress/") {
        return resolve_ingress(snap, ix, key, from_outside);
    }
    let eni_id = if name.starts_with("eni-") {
        snap.cloud
            .interfaces
            .get(name)
            .ok_or_else(|| format!("interface {name} is not in the snapshot"))?;
        Some(name.to_string())
    } else {
        let inst_name = name.strip_prefix("instance/").unwrap_or(name);
        if name.starts_with("instance/")
            || name.starts_with("i-")
            || snap
                .cloud
                .instances
                .values()
                .any(|i| i.name.as_deref() == Some(name))
        {
            let inst = instance_by_name(snap, inst_name)?;
            Some(instance_interface(snap, inst)?.0)
        } else {
            None
        }
    };
    if let Some(eni) = eni_id.and_then(|e| snap.cloud.interfaces.get(&e)) {
        let private = eni
            .primary_ip()
            .ok_or_else(|| format!("interface {} has no address", eni.id))?;
        if from_outside {
            return match eni.public_for_private(private) {
                Some(public) => Ok(Destination {
                    ips: vec![IpAddr::V4(public)],
                    notes: vec![format!(
                        "from outside the VPC, {name} is reached at its public address {public}"
                    )],
                }),
                None => Ok(Destination {
                    ips: vec![private],
                    notes: vec![format!(
                        "{name} has no public address; its private address {private} is tried"
                    )],
                }),
            };
        }
        return Ok(Destination {
            ips: vec![private],
            notes: vec![],
        });
    }
    Err(format!(
        "unknown destination {name:?}: expected {DESTINATION_FORMS}"
    ))
}

/// An Ingress (`ingress/NS/NAME`): the front end of the load balancer its status names.
fn resolve_ingress(
    snap: &Snapshot,
    ix: &Index,
    key: &str,
    from_outside: bool,
) -> Result<Destination, String> {
    let ing = snap
        .cluster
        .ingresses
        .iter()
        .find(|i| i.meta.key() == key)
        .ok_or_else(|| format!("Ingress {key} is not in the snapshot"))?;
    let lb = snap
        .cloud
        .load_balancers
        .values()
        .find(|lb| {
            crate::kube::lb::ingresses_for_load_balancer(&snap.cluster, lb)
                .iter()
                .any(|i| std::ptr::eq(*i, ing))
        })
        .ok_or_else(|| {
            format!("no load balancer of the snapshot serves Ingress {key} (by its status hostname or the alb.ingress.kubernetes.io/load-balancer-name annotation): add `aws elbv2 describe-load-balancers`")
        })?;
    let mut d = resolve_lb(snap, ix, lb, from_outside)?;
    d.notes.push(format!(
        "Ingress {key} is served by {} ({})",
        lb.name, lb.dns_name
    ));
    Ok(d)
}

/// A load balancer's front end: one address per node. From outside, an internet-facing load
/// balancer's DNS name resolves to the nodes' public addresses; nodes in zones without a
/// healthy target (cross-zone off) are left out of DNS while another node has one.
fn resolve_lb(
    snap: &Snapshot,
    ix: &Index,
    lb: &LoadBalancer,
    from_outside: bool,
) -> Result<Destination, String> {
    let mut nodes: Vec<(String, IpAddr)> = Vec::new();
    for (eni_id, arn) in &ix.lb_by_interface {
        if arn != &lb.arn {
            continue;
        }
        let Some(eni) = snap.cloud.interfaces.get(eni_id) else {
            continue;
        };
        let ip = if from_outside && lb.internet_facing {
            eni.addresses
                .iter()
                .find_map(|a| a.public_ip)
                .map(IpAddr::V4)
        } else {
            eni.primary_ip()
        };
        if let Some(ip) = ip {
            nodes.push((eni.az.clone(), ip));
        }
    }
    nodes.sort();
    if nodes.is_empty() {
        return Err(format!("load balancer {} has no node interfaces in the snapshot: add `aws ec2 describe-network-interfaces`", lb.name));
    }
    let mut notes = Vec::new();
    let cross_zone = lb.cross_zone.unwrap_or(false);
    if !cross_zone && lb.kind == crate::model::LoadBalancerKind::Network {
        let healthy_zones = healthy_target_zones(snap, lb);
        if let Some(zones) = healthy_zones {
            let (keep, drop): (Vec<_>, Vec<_>) =
                nodes.iter().cloned().partition(|(z, _)| zones.contains(z));
            if !keep.is_empty() && !drop.is_empty() {
                notes.push(format!(
                    "{} resolves only to nodes with a healthy target in their zone (cross-zone off): {} left out of DNS",
                    lb.name,
                    drop.iter().map(|(z, ip)| format!("{ip} in {z}")).collect::<Vec<_>>().join(", ")
                ));
                nodes = keep;
            }
        }
    }
    Ok(Destination {
        ips: nodes.into_iter().map(|(_, ip)| ip).collect(),
        notes,
    })
}

fn healthy_target_zones(snap: &Snapshot, lb: &LoadBalancer) -> Option<Vec<String>> {
    let mut zones = Vec::new();
    for l in lb.listeners.as_ref()? {
        for tg in l
            .target_group_arns
            .iter()
            .filter_map(|a| snap.cloud.target_groups.get(a))
        {
            for t in tg
                .targets
                .as_ref()?
                .iter()
                .filter(|t| t.health == "healthy")
            {
                let zone = t.az.clone().or_else(|| match tg.target_type {
                    TargetType::Instance => snap
                        .cloud
                        .instances
                        .get(&t.id)
                        .and_then(|i| i.interface_ids.first())
                        .and_then(|e| snap.cloud.interfaces.get(e))
                        .map(|e| e.az.clone()),
                    _ => None,
                });
                if let Some(z) = zone {
                    zones.push(z);
                }
            }
        }
    }
    Some(zones)
}

/// The display name of an instance (its Name tag, else its id).
pub fn instance_label(snap: &Snapshot, id: &str) -> String {
    snap.cloud
        .instances
        .get(id)
        .and_then(|i| tag_value(&i.tags, "Name").map(str::to_string))
        .unwrap_or_else(|| id.to_string())
}
