//! Honest unknowns: a layer the snapshot lacks altogether is listed under `assumptions`; a
//! layer present but incomplete for the flow gives `unknown` naming the missing input. Never a
//! silent allow or deny. Each case is a small snapshot built here.

#![allow(clippy::field_reassign_with_default)]

mod common;

use common::*;
use netpath::model::Snapshot;
use netpath::trace::{Disposition, Reachable, TraceResult};
use serde_json::json;

fn assumptions(r: &TraceResult) -> String {
    r.assumptions.join("\n")
}

fn assert_unknown_naming(r: &TraceResult, needles: &[&str]) {
    assert_eq!(r.reachable, Reachable::Unknown, "{r:#?}");
    let details = all_details(r);
    for n in needles {
        assert!(
            details.contains(n),
            "unknown does not name {n:?}:\n{details}"
        );
    }
}

#[test]
fn complete_snapshot_is_delivered_without_assumptions_about_layers() {
    let snap = MiniVpc::default().load();
    let r = trace(&snap, ENI_A, ENI_B, "tcp", 80);
    assert_eq!(r.reachable, Reachable::All, "{r:#?}");
    assert!(!assumptions(&r).contains("not checked"), "{r:#?}");
}

#[test]
fn no_nacl_file_is_an_assumption() {
    let snap = MiniVpc {
        network_acls: None,
        ..Default::default()
    }
    .load();
    let r = trace(&snap, ENI_A, ENI_B, "tcp", 80);
    assert_eq!(r.reachable, Reachable::All);
    assert!(
        assumptions(&r).contains("network ACLs not checked"),
        "{:?}",
        r.assumptions
    );
}

#[test]
fn no_security_group_file_is_an_assumption() {
    let snap = MiniVpc {
        security_groups: None,
        ..Default::default()
    }
    .load();
    let r = trace(&snap, ENI_A, ENI_B, "tcp", 80);
    assert_eq!(r.reachable, Reachable::All);
    assert!(
        assumptions(&r).contains("security groups not checked"),
        "{:?}",
        r.assumptions
    );
}

#[test]
fn security_group_referenced_but_absent_is_unknown() {
    let mut net = MiniVpc::default();
    net.interfaces = Some(json!({"NetworkInterfaces": [
        eni(ENI_A, SUBNET_A, "10.1.1.10", &["sg-0aaa00000000000a1"]),
        eni(ENI_B, SUBNET_B, "10.1.2.20", &["sg-0aaa0000000missing"])]}));
    let r = trace(&net.load(), ENI_A, ENI_B, "tcp", 80);
    assert_unknown_naming(&r, &["sg-0aaa0000000missing", "describe-security-groups"]);
}

#[test]
fn nacl_file_without_the_subnets_nacl_is_unknown() {
    let mut net = MiniVpc::default();
    let mut acl = nacl(allow_all_entries());
    acl["Associations"] = json!([{"NetworkAclAssociationId": "aclassoc-00",
        "NetworkAclId": "acl-0aaa000000000000a", "SubnetId": SUBNET_A}]);
    acl["IsDefault"] = json!(false);
    net.network_acls = Some(json!({ "NetworkAcls": [acl] }));
    let r = trace(&net.load(), ENI_A, ENI_B, "tcp", 80);
    assert_unknown_naming(&r, &[SUBNET_B, "describe-network-acls"]);
}

#[test]
fn eni_whose_subnet_is_missing_is_unknown() {
    let mut net = MiniVpc::default();
    net.subnets = Some(json!({"Subnets": [{"SubnetId": SUBNET_A, "VpcId": VPC,
        "CidrBlock": "10.1.1.0/24", "AvailabilityZone": "us-east-1a", "State": "available"}]}));
    let (snap, _diags) = netpath::ingest::load_texts(net.files());
    let r = trace(&snap, ENI_A, ENI_B, "tcp", 80);
    assert_unknown_naming(&r, &[SUBNET_B, "describe-subnets"]);
}

#[test]
fn source_eni_whose_subnet_is_missing_is_unknown() {
    let mut net = MiniVpc::default();
    net.subnets = Some(json!({"Subnets": [{"SubnetId": SUBNET_B, "VpcId": VPC,
        "CidrBlock": "10.1.2.0/24", "AvailabilityZone": "us-east-1a", "State": "available"}]}));
    let (snap, _diags) = netpath::ingest::load_texts(net.files());
    let r = trace(&snap, ENI_A, ENI_B, "tcp", 80);
    assert_unknown_naming(&r, &[SUBNET_A, "describe-subnets"]);
}

#[test]
fn no_route_table_file_is_unknown_for_routed_flows() {
    let net = MiniVpc {
        route_tables: None,
        ..Default::default()
    };
    let r = trace(&net.load(), ENI_A, ENI_B, "tcp", 80);
    assert_unknown_naming(&r, &[SUBNET_A, "describe-route-tables"]);
}

// ----- cluster layers, on the reference model with inputs taken away --------------------------

const POD: &str = "prod/frontend-7c9d8b6f4d-x2k9p";
const SVC: &str = "svc/prod/backend";

fn reference_without(drop: impl Fn(&std::path::Path) -> bool) -> Snapshot {
    let files = repo_files("models/eks-reference")
        .into_iter()
        .filter(|(p, _)| !drop(p))
        .collect();
    load_clean(files)
}

#[test]
fn no_iptables_dump_is_an_assumption_and_service_still_decided() {
    let snap = reference_without(|p| p.to_string_lossy().ends_with(".iptables-save"));
    let r = trace_http(&snap, POD, SVC, "tcp", 9090, Some(("GET", "/api/orders")));
    assert_eq!(r.reachable, Reachable::All, "{r:#?}");
    assert!(
        assumptions(&r).contains("add the node's `iptables-save` output"),
        "no assumption names the missing iptables dumps: {:?}",
        r.assumptions
    );
}

#[test]
fn no_istio_objects_is_an_assumption() {
    let snap = reference_without(|p| p.ends_with("istio.yaml"));
    let r = trace(&snap, POD, SVC, "tcp", 9090);
    assert!(
        assumptions(&r).to_lowercase().contains("istio"),
        "no assumption names the missing Istio objects: {:?}",
        r.assumptions
    );
}

#[test]
fn pod_on_a_node_whose_instance_is_missing_is_unknown() {
    let full = reference_without(|_| false);
    let node = full
        .cluster
        .pods
        .iter()
        .find(|p| {
            format!(
                "{}/{}",
                p.meta.namespace.as_deref().unwrap_or(""),
                p.meta.name
            ) == POD
        })
        .and_then(|p| p.spec.node_name.clone())
        .expect("the pod has a node");
    let files = repo_files("models/eks-reference")
        .into_iter()
        .map(|(p, text)| {
            if !p.ends_with("describe-instances.json") {
                return (p, text);
            }
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            for r in v["Reservations"].as_array_mut().unwrap() {
                r["Instances"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|i| i["PrivateDnsName"] != json!(node));
            }
            (p, serde_json::to_string_pretty(&v).unwrap())
        })
        .collect();
    let (snap, _diags) = netpath::ingest::load_texts(files);
    let r = trace_http(&snap, POD, SVC, "tcp", 9090, Some(("GET", "/api/orders")));
    assert_eq!(r.reachable, Reachable::Unknown, "{r:#?}");
    let details = all_details(&r);
    assert!(details.contains(&node), "{details}");
    assert!(
        r.paths
            .iter()
            .all(|p| p.disposition == Disposition::Unknown),
        "{r:#?}"
    );
}
