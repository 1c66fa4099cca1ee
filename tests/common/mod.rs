//! Small snapshots built in tests: a two-subnet VPC written as the AWS CLI would print it, with
//! every input kind a field that a test can change or drop, and helpers to trace through it.
#![allow(dead_code)]

use netpath::diag::{Diagnostics, Severity};
use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::graph::Index;
use netpath::ingest::load_texts;
use netpath::model::{Protocol, Snapshot};
use netpath::trace::{Query, Start, TraceResult, Tracer};
use serde_json::{json, Value};
use std::path::PathBuf;

/// A VPC `10.1.0.0/16` with subnets A (`10.1.1.0/24`) and B (`10.1.2.0/24`), one route table,
/// one NACL allowing everything, ENI A (`10.1.1.10`, sg-a) and ENI B (`10.1.2.20`, sg-b); sg-a
/// allows all egress, sg-b allows all ingress from the VPC. Each field is one CLI output.
#[derive(Debug, Clone)]
pub struct MiniVpc {
    pub vpcs: Option<Value>,
    pub subnets: Option<Value>,
    pub route_tables: Option<Value>,
    pub security_groups: Option<Value>,
    pub network_acls: Option<Value>,
    pub interfaces: Option<Value>,
    /// Extra files `(name, text)` (Kubernetes objects, iptables dumps, more AWS outputs).
    pub extra: Vec<(String, String)>,
}

pub const VPC: &str = "vpc-0aaa1111bbbb2222c";
pub const SUBNET_A: &str = "subnet-0aaa0000000000001";
pub const SUBNET_B: &str = "subnet-0aaa0000000000002";
pub const ENI_A: &str = "eni-0aaa00000000000a1";
pub const ENI_B: &str = "eni-0aaa00000000000b2";

/// A security group rule allowing `proto` ports `from..=to` from/to `cidr` (`-1`: all traffic).
pub fn sg_rule(proto: &str, from: i64, to: i64, cidr: &str) -> Value {
    let mut r = json!({"IpProtocol": proto, "IpRanges": [{"CidrIp": cidr}],
        "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []});
    if proto != "-1" {
        r["FromPort"] = json!(from);
        r["ToPort"] = json!(to);
    }
    r
}

/// A security group with ingress and egress rules.
pub fn sg(id: &str, ingress: Vec<Value>, egress: Vec<Value>) -> Value {
    json!({"GroupId": id, "GroupName": id, "Description": id, "VpcId": VPC,
        "OwnerId": "111122223333", "IpPermissions": ingress, "IpPermissionsEgress": egress})
}

/// A NACL entry.
pub fn nacl_entry(
    number: i64,
    egress: bool,
    proto: &str,
    ports: Option<(i64, i64)>,
    cidr: &str,
    action: &str,
) -> Value {
    let mut e = json!({"RuleNumber": number, "Egress": egress, "Protocol": proto,
        "CidrBlock": cidr, "RuleAction": action});
    if let Some((a, b)) = ports {
        e["PortRange"] = json!({"From": a, "To": b});
    }
    e
}

/// A NACL associated with both subnets.
pub fn nacl(entries: Vec<Value>) -> Value {
    json!({"NetworkAclId": "acl-0aaa000000000000a", "VpcId": VPC, "IsDefault": true,
        "OwnerId": "111122223333", "Tags": [],
        "Associations": [
            {"NetworkAclAssociationId": "aclassoc-00", "NetworkAclId": "acl-0aaa000000000000a", "SubnetId": SUBNET_A},
            {"NetworkAclAssociationId": "aclassoc-01", "NetworkAclId": "acl-0aaa000000000000a", "SubnetId": SUBNET_B}],
        "Entries": entries})
}

/// The allow-all NACL entries (rule 100 both ways, then the default deny).
pub fn allow_all_entries() -> Vec<Value> {
    vec![
        nacl_entry(100, false, "-1", None, "0.0.0.0/0", "allow"),
        nacl_entry(32767, false, "-1", None, "0.0.0.0/0", "deny"),
        nacl_entry(100, true, "-1", None, "0.0.0.0/0", "allow"),
        nacl_entry(32767, true, "-1", None, "0.0.0.0/0", "deny"),
    ]
}

/// A route; `target` is `(key, id)` such as `("GatewayId", "local")`.
pub fn route(cidr: &str, key: &str, id: &str) -> Value {
    let mut r = json!({"DestinationCidrBlock": cidr, "Origin": "CreateRoute", "State": "active"});
    r[key] = json!(id);
    r
}

/// An interface in `subnet` with `ip` and security groups.
pub fn eni(id: &str, subnet: &str, ip: &str, groups: &[&str]) -> Value {
    json!({"NetworkInterfaceId": id, "SubnetId": subnet, "VpcId": VPC,
        "AvailabilityZone": "us-east-1a", "Description": "", "InterfaceType": "interface",
        "OwnerId": "111122223333", "PrivateIpAddress": ip,
        "PrivateIpAddresses": [{"Primary": true, "PrivateIpAddress": ip}],
        "Ipv6Addresses": [], "RequesterManaged": false, "SourceDestCheck": true,
        "Status": "in-use", "TagSet": [],
        "Groups": groups.iter().map(|g| json!({"GroupId": g, "GroupName": g})).collect::<Vec<_>>()})
}

impl Default for MiniVpc {
    fn default() -> Self {
        MiniVpc {
            vpcs: Some(
                json!({"Vpcs": [{"VpcId": VPC, "CidrBlock": "10.1.0.0/16", "State": "available",
                "OwnerId": "111122223333", "IsDefault": false,
                "CidrBlockAssociationSet": [{"CidrBlock": "10.1.0.0/16", "CidrBlockState": {"State": "associated"}}]}]}),
            ),
            subnets: Some(json!({"Subnets": [
                {"SubnetId": SUBNET_A, "VpcId": VPC, "CidrBlock": "10.1.1.0/24", "AvailabilityZone": "us-east-1a", "State": "available"},
                {"SubnetId": SUBNET_B, "VpcId": VPC, "CidrBlock": "10.1.2.0/24", "AvailabilityZone": "us-east-1a", "State": "available"}]})),
            route_tables: Some(
                json!({"RouteTables": [{"RouteTableId": "rtb-0aaa000000000000a", "VpcId": VPC,
                "OwnerId": "111122223333", "PropagatingVgws": [], "Tags": [],
                "Associations": [{"Main": true, "RouteTableAssociationId": "rtbassoc-01",
                    "RouteTableId": "rtb-0aaa000000000000a", "AssociationState": {"State": "associated"}}],
                "Routes": [{"DestinationCidrBlock": "10.1.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"}]}]}),
            ),
            security_groups: Some(json!({"SecurityGroups": [
                sg("sg-0aaa00000000000a1", vec![], vec![sg_rule("-1", 0, 0, "0.0.0.0/0")]),
                sg("sg-0aaa00000000000b2", vec![sg_rule("-1", 0, 0, "10.1.0.0/16")], vec![sg_rule("-1", 0, 0, "0.0.0.0/0")])]})),
            network_acls: Some(json!({"NetworkAcls": [nacl(allow_all_entries())]})),
            interfaces: Some(json!({"NetworkInterfaces": [
                eni(ENI_A, SUBNET_A, "10.1.1.10", &["sg-0aaa00000000000a1"]),
                eni(ENI_B, SUBNET_B, "10.1.2.20", &["sg-0aaa00000000000b2"])]})),
            extra: Vec::new(),
        }
    }
}

impl MiniVpc {
    /// The snapshot's files, in a fixed order.
    pub fn files(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let named = [
            ("describe-vpcs.json", &self.vpcs),
            ("describe-subnets.json", &self.subnets),
            ("describe-route-tables.json", &self.route_tables),
            ("describe-security-groups.json", &self.security_groups),
            ("describe-network-acls.json", &self.network_acls),
            ("describe-network-interfaces.json", &self.interfaces),
        ];
        for (name, v) in named {
            if let Some(v) = v {
                out.push((
                    PathBuf::from(name),
                    serde_json::to_string_pretty(v).unwrap(),
                ));
            }
        }
        for (name, text) in &self.extra {
            out.push((PathBuf::from(name), text.clone()));
        }
        out
    }

    /// Loads the snapshot; panics (a test failure) on any error diagnostic.
    pub fn load(&self) -> Snapshot {
        load_clean(self.files())
    }
}

/// Loads files and fails the test on any error diagnostic.
pub fn load_clean(files: Vec<(PathBuf, String)>) -> Snapshot {
    let (snap, diags) = load_texts(files);
    assert_no_errors(&snap, &diags);
    snap
}

/// Fails the test when `diags` has errors.
pub fn assert_no_errors(snap: &Snapshot, diags: &Diagnostics) {
    let errs: Vec<String> = diags
        .items
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.render(&snap.sources))
        .collect();
    assert!(errs.is_empty(), "unexpected errors:\n{}", errs.join("\n"));
}

/// Traces `src` → `dst` (names as typed on the command line) on one protocol and port.
pub fn trace(snap: &Snapshot, src: &str, dst: &str, proto: &str, port: u16) -> TraceResult {
    trace_http(snap, src, dst, proto, port, None)
}

/// [`trace`] with HTTP request attributes (method, path) for layer-7 policies.
pub fn trace_http(
    snap: &Snapshot,
    src: &str,
    dst: &str,
    proto: &str,
    port: u16,
    http: Option<(&str, &str)>,
) -> TraceResult {
    let ix = Index::compile(snap);
    let s = resolve_source(snap, &ix, src).unwrap_or_else(|e| panic!("source {src}: {e}"));
    let d = resolve_destination(snap, &ix, dst, s.start == Start::Internet)
        .unwrap_or_else(|e| panic!("destination {dst}: {e}"));
    let protocol = Protocol::parse(proto).expect("protocol");
    let q = Query {
        start: s.start,
        src_ip: s.ip,
        dst_ips: d.ips,
        protocol,
        dst_port: port,
        src_port: None,
        icmp_type: 0,
        http: http.map(|(method, path)| netpath::policy::istio::HttpAttrs {
            method: Some(method.into()),
            path: Some(path.into()),
            host: None,
            headers: None,
        }),
    };
    Tracer::new(snap, &ix).trace(&q)
}

/// The trace as the contract's JSON text.
pub fn trace_json(snap: &Snapshot, src: &str, dst: &str, port: u16) -> String {
    let r = trace(snap, src, dst, "tcp", port);
    let flow = netpath::report::FlowSpec {
        src: src.into(),
        dst: dst.into(),
        protocol: "tcp".into(),
        dst_port: Some(port),
    };
    serde_json::to_string_pretty(&netpath::report::json::trace(&snap.sources, &flow, &r)).unwrap()
}

/// Every step's detail text of every path, for asserting what a result names.
pub fn all_details(r: &TraceResult) -> String {
    format!("{:?}", r.paths)
}

/// The files of a directory under the repository (recursively, sorted), as `(path, text)`
/// with paths relative to the repository root.
pub fn repo_files(rel: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if !p.to_string_lossy().ends_with(".md") {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    walk(&root.join(rel), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.strip_prefix(root).unwrap().to_path_buf(), text)
        })
        .collect()
}
