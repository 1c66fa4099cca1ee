//! The AWS side of a generated snapshot, as `aws ec2 describe-*` JSON.

use super::plan::{Plan, Rng};
use super::{write_json, Summary};
use serde_json::{json, Value};
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;

const OWNER: &str = "111122223333";

fn tags(name: &str) -> Value {
    json!([{"Key": "Name", "Value": name}, {"Key": "kubernetes.io/cluster/scale", "Value": "owned"}])
}

/// Writes the describe-* files into `dir`.
pub(super) fn write(plan: &Plan, dir: &Path, sum: &mut Summary) -> io::Result<()> {
    let mut rng = Rng::new(plan.spec.seed ^ 0xa5);
    let assoc: Vec<Value> = plan
        .vpc_cidrs
        .iter()
        .enumerate()
        .map(|(i, (ip, len))| {
            json!({"AssociationId": format!("vpc-cidr-assoc-{:017x}", i + 1), "CidrBlock": format!("{ip}/{len}"),
                   "CidrBlockState": {"State": "associated"}})
        })
        .collect();
    let vpcs = json!({"Vpcs": [{
        "CidrBlock": format!("{}/{}", plan.vpc_cidrs[0].0, plan.vpc_cidrs[0].1),
        "CidrBlockAssociationSet": assoc, "DhcpOptionsId": "dopt-02530584535a67020",
        "InstanceTenancy": "default", "IsDefault": false, "OwnerId": OWNER, "State": "available",
        "Tags": tags("scale-vpc"), "VpcId": plan.vpc
    }]});
    write_json(&dir.join("describe-vpcs.json"), &vpcs, sum)?;

    let subnets: Vec<Value> = plan
        .subnets
        .iter()
        .map(|s| {
            json!({
                "AssignIpv6AddressOnCreation": false, "AvailabilityZone": s.az,
                "AvailableIpAddressCount": 1000, "CidrBlock": format!("{}/{}", s.cidr.0, s.cidr.1),
                "DefaultForAz": false, "Ipv6CidrBlockAssociationSet": [], "MapPublicIpOnLaunch": s.public,
                "OwnerId": OWNER, "State": "available",
                "SubnetArn": format!("arn:aws:ec2:us-east-1:{OWNER}:subnet/{}", s.id), "SubnetId": s.id,
                "Tags": tags(if s.public { "scale-public" } else { "scale-private" }), "VpcId": plan.vpc
            })
        })
        .collect();
    write_json(
        &dir.join("describe-subnets.json"),
        &json!({ "Subnets": subnets }),
        sum,
    )?;

    let locals: Vec<Value> = plan
        .vpc_cidrs
        .iter()
        .map(|(ip, len)| {
            json!({"DestinationCidrBlock": format!("{ip}/{len}"), "GatewayId": "local",
                   "Origin": "CreateRouteTable", "State": "active"})
        })
        .collect();
    let table = |id: String, name: &str, def: Value, subnets: Vec<&str>, main: bool| {
        let mut routes = locals.clone();
        routes.push(def);
        let mut assocs: Vec<Value> = subnets
            .iter()
            .enumerate()
            .map(|(k, s)| {
                json!({"Main": false, "RouteTableAssociationId": format!("rtbassoc-{:017x}", fnv_id(&id, k)),
                       "RouteTableId": id, "SubnetId": s, "AssociationState": {"State": "associated"}})
            })
            .collect();
        if main {
            assocs.push(json!({"Main": true, "RouteTableAssociationId": format!("rtbassoc-{:017x}", fnv_id(&id, 999_999)),
                               "RouteTableId": id, "AssociationState": {"State": "associated"}}));
        }
        json!({"Associations": assocs, "PropagatingVgws": [], "RouteTableId": id, "Routes": routes,
               "Tags": tags(name), "VpcId": plan.vpc, "OwnerId": OWNER})
    };
    let private: Vec<&str> = plan
        .subnets
        .iter()
        .filter(|s| !s.public)
        .map(|s| s.id.as_str())
        .collect();
    let public: Vec<&str> = plan
        .subnets
        .iter()
        .filter(|s| s.public)
        .map(|s| s.id.as_str())
        .collect();
    let rts = json!({"RouteTables": [
        table(format!("rtb-{}", rng.hex(17)), "scale-private",
              json!({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": plan.nat.0, "Origin": "CreateRoute", "State": "active"}),
              private, true),
        table(format!("rtb-{}", rng.hex(17)), "scale-public",
              json!({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": plan.igw, "Origin": "CreateRoute", "State": "active"}),
              public.clone(), false),
    ]});
    write_json(&dir.join("describe-route-tables.json"), &rts, sum)?;

    let igw = json!({"InternetGateways": [{"Attachments": [{"State": "available", "VpcId": plan.vpc}],
        "InternetGatewayId": plan.igw, "OwnerId": OWNER, "Tags": tags("scale-igw")}]});
    write_json(&dir.join("describe-internet-gateways.json"), &igw, sum)?;
    let public_subnet = public.first().copied().unwrap_or_default();
    let nat = json!({"NatGateways": [{
        "ConnectivityType": "public", "CreateTime": "2025-01-14T10:00:00+00:00",
        "NatGatewayAddresses": [{"AllocationId": "eipalloc-0817cefe5e5ea56ef", "IsPrimary": true,
            "NetworkInterfaceId": plan.nat.1, "PrivateIp": plan.nat.2.to_string(), "PublicIp": "198.51.100.11",
            "Status": "succeeded"}],
        "NatGatewayId": plan.nat.0, "State": "available", "SubnetId": public_subnet,
        "Tags": tags("scale-nat"), "VpcId": plan.vpc
    }]});
    write_json(&dir.join("describe-nat-gateways.json"), &nat, sum)?;

    write_json(
        &dir.join("describe-security-groups.json"),
        &security_groups(plan, &mut rng),
        sum,
    )?;
    write_json(&dir.join("describe-network-acls.json"), &nacls(plan), sum)?;
    write_json(&dir.join("describe-instances.json"), &instances(plan), sum)?;
    write_json(
        &dir.join("describe-network-interfaces.json"),
        &interfaces(plan, public_subnet),
        sum,
    )?;
    Ok(())
}

fn fnv_id(s: &str, k: usize) -> u64 {
    super::k8s::fnv(s.as_bytes()) ^ (k as u64).wrapping_mul(0x9e37_79b9)
}

/// The security groups of node group `g` (indices): cluster, node, and the group's own.
fn node_group_sgs(plan: &Plan, g: usize) -> [usize; 3] {
    [0, 1, 2 + g % (plan.security_groups.len() - 2)]
}

fn sg_name(i: usize) -> String {
    match i {
        0 => "eks-cluster-sg-scale".into(),
        1 => "scale-nodes".into(),
        _ => format!("scale-sg-{i}"),
    }
}

fn perm(proto: &str, from: i64, to: i64) -> Value {
    if proto == "-1" {
        json!({"IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []})
    } else {
        json!({"FromPort": from, "ToPort": to, "IpProtocol": proto, "IpRanges": [], "Ipv6Ranges": [],
               "PrefixListIds": [], "UserIdGroupPairs": []})
    }
}

fn security_groups(plan: &Plan, rng: &mut Rng) -> Value {
    let sgs = &plan.security_groups;
    let vpc_cidr = format!("{}/{}", plan.vpc_cidrs[0].0, 8);
    let all_out = {
        let mut p = perm("-1", 0, 0);
        p["IpRanges"] = json!([{"CidrIp": "0.0.0.0/0"}]);
        json!([p])
    };
    let group_ref = |g: &str, d: &str| json!([{"Description": d, "GroupId": g, "UserId": OWNER}]);
    let mut out = Vec::new();
    for (i, id) in sgs.iter().enumerate() {
        let mut ingress = Vec::new();
        let name = sg_name(i);
        match i {
            0 => {
                let mut p = perm("-1", 0, 0);
                p["UserIdGroupPairs"] = group_ref(id, "cluster members");
                ingress.push(p);
            }
            1 => {
                let mut p = perm("-1", 0, 0);
                p["UserIdGroupPairs"] = group_ref(id, "node to node and pods");
                ingress.push(p);
                let mut p = perm("tcp", 1025, 65535);
                p["UserIdGroupPairs"] =
                    group_ref(&sgs[0], "control plane to kubelets and webhooks");
                ingress.push(p);
                let mut p = perm("tcp", 443, 443);
                p["UserIdGroupPairs"] = group_ref(&sgs[0], "control plane");
                ingress.push(p);
            }
            _ => {
                for _ in 0..(4 + rng.below(8)) {
                    let port = [22u16, 443, 8080, 8443, 9090, 5432, 6379, 3306][rng.below(8)];
                    let mut p = perm("tcp", i64::from(port), i64::from(port));
                    match rng.below(7) {
                        0 => {
                            p["UserIdGroupPairs"] =
                                group_ref(&sgs[rng.below(sgs.len())], "peer group")
                        }
                        1 => {
                            p["IpRanges"] = json!([{"CidrIp": vpc_cidr, "Description": "internal"}])
                        }
                        _ => {
                            p["IpRanges"] = json!([{"CidrIp": format!("{}.{}.{}.0/24", 100 + rng.below(100), rng.below(256), rng.below(256)),
                                                    "Description": "partner"}])
                        }
                    }
                    ingress.push(p);
                }
            }
        }
        out.push(json!({
            "Description": format!("{name} security group"), "GroupId": id, "GroupName": name,
            "IpPermissions": ingress, "IpPermissionsEgress": all_out.clone(), "OwnerId": OWNER,
            "SecurityGroupArn": format!("arn:aws:ec2:us-east-1:{OWNER}:security-group/{id}"),
            "Tags": tags(&name), "VpcId": plan.vpc
        }));
    }
    json!({ "SecurityGroups": out })
}

fn nacls(plan: &Plan) -> Value {
    let assocs: Vec<Value> = plan
        .subnets
        .iter()
        .enumerate()
        .map(|(k, s)| {
            json!({"NetworkAclAssociationId": format!("aclassoc-{:017x}", fnv_id(&s.id, k)),
                   "NetworkAclId": "acl-0a1b2c3d4e5f60718", "SubnetId": s.id})
        })
        .collect();
    let mut entries = Vec::new();
    for egress in [false, true] {
        for (n, cidr) in [(50, "192.0.2.0/24"), (60, "203.0.113.0/24")] {
            entries.push(json!({"CidrBlock": cidr, "Egress": egress, "Protocol": "-1", "RuleAction": "deny", "RuleNumber": n}));
        }
        entries.push(json!({"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1", "RuleAction": "allow", "RuleNumber": 100}));
        entries.push(json!({"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1", "RuleAction": "deny", "RuleNumber": 32767}));
    }
    json!({"NetworkAcls": [{
        "Associations": assocs, "Entries": entries, "IsDefault": true, "NetworkAclId": "acl-0a1b2c3d4e5f60718",
        "OwnerId": OWNER, "Tags": tags("scale-acl"), "VpcId": plan.vpc
    }]})
}

fn groups(plan: &Plan, g: usize) -> Vec<Value> {
    node_group_sgs(plan, g)
        .into_iter()
        .map(|i| json!({"GroupId": plan.security_groups[i], "GroupName": sg_name(i)}))
        .collect()
}

fn instances(plan: &Plan) -> Value {
    let reservations: Vec<Value> = plan
        .nodes
        .iter()
        .map(|n| {
            let subnet = &plan.subnets[n.subnet];
            json!({
                "Groups": [], "OwnerId": OWNER, "ReservationId": format!("r-{}", &n.instance[2..]),
                "Instances": [{
                    "AmiLaunchIndex": 0, "Architecture": "x86_64", "ImageId": "ami-052321f621cb23f6c",
                    "InstanceId": n.instance, "InstanceType": "m6i.2xlarge", "LaunchTime": "2025-01-14T10:02:00+00:00",
                    "Monitoring": {"State": "disabled"},
                    "NetworkInterfaces": [{
                        "Attachment": {"AttachTime": "2025-01-14T10:02:00+00:00", "AttachmentId": format!("eni-attach-{}", &n.eni[4..]),
                                       "DeleteOnTermination": true, "DeviceIndex": 0, "Status": "attached", "NetworkCardIndex": 0},
                        "Description": "", "Groups": groups(plan, n.group), "Ipv6Addresses": [],
                        "NetworkInterfaceId": n.eni, "OwnerId": OWNER, "PrivateDnsName": n.name,
                        "PrivateIpAddress": n.ip.to_string(),
                        "PrivateIpAddresses": [{"Primary": true, "PrivateDnsName": n.name, "PrivateIpAddress": n.ip.to_string()}],
                        "SourceDestCheck": true, "Status": "in-use", "SubnetId": subnet.id, "VpcId": plan.vpc,
                        "InterfaceType": "interface"
                    }],
                    "Placement": {"AvailabilityZone": subnet.az, "GroupName": "", "Tenancy": "default"},
                    "PrivateDnsName": n.name, "PrivateIpAddress": n.ip.to_string(), "PublicDnsName": "",
                    "SecurityGroups": groups(plan, n.group), "SourceDestCheck": true,
                    "State": {"Code": 16, "Name": "running"}, "SubnetId": subnet.id, "VpcId": plan.vpc,
                    "Tags": [{"Key": "Name", "Value": format!("scale-ng-{}", n.group)},
                             {"Key": "eks:nodegroup-name", "Value": format!("ng-{}", n.group)}]
                }]
            })
        })
        .collect();
    json!({ "Reservations": reservations })
}

fn interfaces(plan: &Plan, public_subnet: &str) -> Value {
    let mut out: Vec<Value> = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let subnet = &plan.subnets[n.subnet];
            let prefixes: Vec<Value> = plan
                .prefixes(i)
                .map(|p: Ipv4Addr| json!({"Ipv4Prefix": format!("{p}/28")}))
                .collect();
            json!({
                "Attachment": {"AttachTime": "2025-01-14T10:02:00+00:00", "AttachmentId": format!("eni-attach-{}", &n.eni[4..]),
                               "DeleteOnTermination": true, "DeviceIndex": 0, "InstanceId": n.instance,
                               "InstanceOwnerId": OWNER, "Status": "attached"},
                "AvailabilityZone": subnet.az, "Description": "", "Groups": groups(plan, n.group),
                "InterfaceType": "interface", "Ipv4Prefixes": prefixes, "Ipv6Addresses": [],
                "MacAddress": format!("0e:{:02x}:{:02x}:00:00:01", (i >> 8) & 0xff, i & 0xff),
                "NetworkInterfaceId": n.eni, "OwnerId": OWNER, "PrivateDnsName": n.name,
                "PrivateIpAddress": n.ip.to_string(),
                "PrivateIpAddresses": [{"Primary": true, "PrivateDnsName": n.name, "PrivateIpAddress": n.ip.to_string()}],
                "RequesterManaged": false, "SourceDestCheck": true, "Status": "in-use", "SubnetId": subnet.id,
                "TagSet": [{"Key": "node.k8s.amazonaws.com/instance_id", "Value": n.instance}], "VpcId": plan.vpc
            })
        })
        .collect();
    out.push(json!({
        "AvailabilityZone": "us-east-1a", "Description": format!("Interface for NAT Gateway {}", plan.nat.0),
        "Groups": [], "InterfaceType": "nat_gateway", "Ipv6Addresses": [],
        "Association": {"IpOwnerId": OWNER, "PublicIp": "198.51.100.11"},
        "NetworkInterfaceId": plan.nat.1, "OwnerId": OWNER, "PrivateIpAddress": plan.nat.2.to_string(),
        "PrivateIpAddresses": [{"Association": {"IpOwnerId": OWNER, "PublicIp": "198.51.100.11"}, "Primary": true,
                                "PrivateIpAddress": plan.nat.2.to_string()}],
        "RequesterManaged": true, "SourceDestCheck": false, "Status": "in-use", "SubnetId": public_subnet,
        "TagSet": [], "VpcId": plan.vpc
    }));
    json!({ "NetworkInterfaces": out })
}
