//! AWS ingest: the Batfish conformance snapshots load cleanly; lowered values spot-checked;
//! bad inputs give the documented diagnostics at the right lines.

use netpath::diag::{Diagnostics, Severity};
use netpath::ingest::{load_snapshot, load_texts};
use netpath::model::*;
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/aws-batfish");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("note: {} absent; conformance checks skipped", p.display());
        None
    }
}

fn load(rel: &str) -> Option<(Snapshot, Diagnostics)> {
    let root = corpus()?.join(rel);
    Some(load_snapshot(&root))
}

fn errors(snap: &Snapshot, d: &Diagnostics) -> Vec<String> {
    d.items
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .map(|x| x.render(&snap.sources))
        .collect()
}

#[test]
fn every_conformance_snapshot_loads_without_errors() {
    let Some(root) = corpus() else { return };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("aws_configs"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.push(root.join("unit-fixtures"));
    dirs.sort();
    assert!(
        dirs.len() >= 19,
        "expected the conformance snapshots, found {dirs:?}"
    );
    for dir in dirs {
        let (snap, diags) = load_snapshot(&dir);
        let errs = errors(&snap, &diags);
        assert!(errs.is_empty(), "{}:\n{}", dir.display(), errs.join("\n"));
        assert!(
            !snap.cloud.vpcs.is_empty() || dir.ends_with("unit-fixtures"),
            "{}: no VPCs",
            dir.display()
        );
        println!("{}: {} diagnostics", dir.display(), diags.items.len());
        for d in &diags.items {
            println!("  {}", d.render(&snap.sources).lines().next().unwrap_or(""));
        }
    }
}

fn net(s: &str) -> ipnet::IpNet {
    s.parse().expect("test CIDR")
}

#[test]
fn vpc_peering_secondary_cidrs_and_region() {
    let Some((snap, _)) = load("test-vpc-peering/aws_configs") else {
        return;
    };
    let a = &snap.cloud.vpcs["vpc-0404e08ceddf7f650"];
    // The snapshot lists 10.11.0.0/16 too, but in state `disassociated`: not VPC space.
    let cidrs: Vec<String> = a.cidrs_v4.iter().map(|c| c.to_string()).collect();
    assert_eq!(cidrs, ["10.10.0.0/16"]);
    assert_eq!(a.region.as_deref(), Some("us-east-2"));
    assert!(snap.cloud.vpcs.keys().is_sorted());
    assert!(
        snap.present.vpcs
            && snap.present.subnets
            && snap.present.route_tables
            && snap.present.security_groups
    );
    assert!(!snap.present.target_health);
    let b = &snap.cloud.vpcs["vpc-00a31ce9d0c06675c"];
    assert!(
        !b.contains("192.169.1.1".parse().expect("ip")),
        "disassociated secondary"
    );
    assert!(b.contains("192.168.1.1".parse().expect("ip")));
    // B's main table has a blackhole default route.
    let main_b = snap
        .cloud
        .route_tables
        .values()
        .find(|t| t.vpc_id == b.id && t.main)
        .expect("main table of B");
    assert!(main_b
        .routes
        .iter()
        .any(|r| r.destination == RouteDestination::Cidr(net("0.0.0.0/0")) && !r.active));
    let pcx = &snap.cloud.peerings["pcx-0b89b559e3319d6cf"];
    assert!(pcx.forwards());
    assert!(pcx.other_side("vpc-0404e08ceddf7f650").is_some());
}

#[test]
fn hybrid_cloud_blackhole_nat_route() {
    let Some((snap, _)) = load("hybrid-cloud-aws/aws_configs") else {
        return;
    };
    let route = snap
        .cloud
        .route_tables
        .values()
        .filter(|t| t.vpc_id == "vpc-925131f4")
        .flat_map(|t| &t.routes)
        .find(|r| r.target == RouteTarget::NatGateway("nat-055c00735cace0ec4".into()))
        .expect("route to the deleted NAT");
    assert!(
        !route.active,
        "route to a deleted NAT gateway is a blackhole"
    );
    assert_eq!(route.destination, RouteDestination::Cidr(net("0.0.0.0/0")));
    assert_eq!(route.origin, RouteOrigin::Static);
    let line = snap.sources.resolve(&route.prov).line;
    let text = snap
        .sources
        .line_text(route.prov.file, line + 2)
        .unwrap_or("");
    assert!(snap
        .sources
        .path(route.prov.file)
        .ends_with("RouteTables.json"));
    assert!(
        line > 1,
        "route provenance resolves to a line, got {line} ({text})"
    );
    // Every instance is stopped; ENIs exist for them.
    assert!(snap
        .cloud
        .instances
        .values()
        .all(|i| !i.forwards() || i.vpc_id.is_some()));
    let acl = &snap.cloud.network_acls["acl-4db39c28"];
    assert!(acl.ingress.windows(2).all(|w| w[0].number <= w[1].number));
}

#[test]
fn load_balancer_targets_health_and_cross_zone() {
    let Some((snap, _)) = load("test-load-balancer/aws_configs") else {
        return;
    };
    let lb = snap
        .cloud
        .load_balancers
        .values()
        .find(|l| l.name == "test-lb")
        .expect("test-lb");
    assert_eq!(lb.kind, LoadBalancerKind::Network);
    assert!(!lb.internet_facing);
    assert_eq!(lb.cross_zone, Some(true));
    assert_eq!(lb.zones.len(), 2);
    let listeners = lb.listeners.as_ref().expect("listeners read");
    assert_eq!(listeners.len(), 1);
    assert_eq!(listeners[0].port, 80);
    let tg_arn = &listeners[0].target_group_arns[0];
    let tg = &snap.cloud.target_groups[tg_arn];
    assert_eq!(tg.name, "test-lb-tg");
    assert_eq!(tg.target_type, TargetType::Instance);
    assert!(tg.preserves_client_ip());
    assert!(tg.load_balancer_arns.contains(&lb.arn));
    let targets = tg.targets.as_ref().expect("target health read");
    let mut ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["i-055b0db7be365202c", "i-0f4af951d61a19245"]);
    assert!(targets
        .iter()
        .all(|t| t.health == "healthy" && t.port == Some(22)));
    assert!(snap.present.target_health && snap.present.listeners);
    // NLB node ENIs are typed.
    let node = &snap.cloud.interfaces["eni-01f261dccaba46564"];
    assert_eq!(node.kind, InterfaceKind::NetworkLoadBalancer);
    assert_eq!(node.primary_ip(), Some("10.1.1.237".parse().expect("ip")));
}

#[test]
fn security_group_rules_from_unit_fixtures() {
    let Some(root) = corpus() else { return };
    let (snap, diags) = load_snapshot(&root.join("unit-fixtures/SecurityGroupTest.json"));
    assert!(!diags.has_errors(), "{}", diags.render(&snap.sources));
    let sgs = &snap.cloud.security_groups;
    // Single port.
    let r = &sgs["sg-01a88a2ecd621d9ba"].ingress[0];
    assert_eq!(r.protocol, ProtocolMatch::One(Protocol::Tcp));
    assert_eq!(r.ports, PortMatch::Range(PortRange::single(22)));
    assert_eq!(r.peer, SgPeer::Cidr(net("1.2.3.4/32")));
    assert_eq!(r.description.as_deref(), Some("Allowing single port"));
    // -1 egress: any protocol, any port.
    let e = &sgs["sg-01a88a2ecd621d9ba"].egress[0];
    assert_eq!((e.protocol, e.ports), (ProtocolMatch::Any, PortMatch::Any));
    // FromPort -1 with tcp: open start.
    assert_eq!(
        sgs["sg-0de0ddfa8a5a12345"].ingress[0].ports,
        PortMatch::Range(PortRange::new(0, 50))
    );
    assert_eq!(
        sgs["sg-0de0ddfa8a5a12346"].ingress[0].ports,
        PortMatch::Range(PortRange::new(30, 65535))
    );
    // ICMP type 8, any code; one rule per peer (IPv4 and IPv6); first of the duplicate ids wins.
    let icmp = &sgs["sg-0de0ddfa8a5a12348"];
    assert_eq!(icmp.name, "ICMP types with just type");
    assert_eq!(icmp.ingress.len(), 2);
    assert_eq!(icmp.ingress[0].protocol, ProtocolMatch::One(Protocol::Icmp));
    assert_eq!(
        icmp.ingress[0].ports,
        PortMatch::Icmp {
            icmp_type: Some(8),
            code: None
        }
    );
    assert_eq!(icmp.ingress[1].peer, SgPeer::Cidr(net("::/0")));
    let line = snap.sources.resolve(&icmp.ingress[0].prov).line;
    assert_eq!(
        snap.sources
            .line_text(icmp.ingress[0].prov.file, line + 1)
            .map(str::trim),
        Some("\"FromPort\": 8,")
    );

    let (snap, _) = load_snapshot(&root.join("unit-fixtures/SecurityGroupTestDeser.json"));
    let sg = &snap.cloud.security_groups["sg-01a88a2ecd621d9ba"];
    assert_eq!(sg.egress[1].peer, SgPeer::PrefixList("pl-7ba54012".into()));
    assert_eq!(sg.tags[0].key, "testKey");

    let Some((snap, _)) = load("test-rds-elasticsearch/aws_configs") else {
        return;
    };
    let sg = &snap.cloud.security_groups["sg-0de0ddfa8a5a45810"];
    let r = sg.ingress.iter().find(|r| matches!(&r.peer, SgPeer::Group { group_id, .. } if group_id == "sg-08893f1a4413ccfc1")).expect("reference rule");
    assert_eq!(r.ports, PortMatch::Range(PortRange::new(45, 50)));
}

#[test]
fn nacl_entries_and_icmp() {
    let Some(root) = corpus() else { return };
    let (snap, diags) = load_snapshot(&root.join("unit-fixtures/NetworkAclIcmpTest.json"));
    assert!(!diags.has_errors(), "{}", diags.render(&snap.sources));
    let acl = snap.cloud.network_acls.values().next().expect("a NACL");
    assert!(acl
        .ingress
        .iter()
        .chain(&acl.egress)
        .any(|e| matches!(e.ports, PortMatch::Icmp { .. })));
    let (snap, _) = load_snapshot(&root.join("unit-fixtures/NetworkAclV6Test.json"));
    let acl = snap.cloud.network_acls.values().next().expect("a NACL");
    assert!(acl
        .ingress
        .iter()
        .chain(&acl.egress)
        .any(|e| e.cidr.to_string().contains(':')));
}

#[test]
fn multi_account_dedup_and_tgw_peering_views() {
    let Some((snap, diags)) = load("test-transit-gateway-multi-account/aws_configs") else {
        return;
    };
    assert!(!diags.has_errors());
    assert!(snap
        .cloud
        .transit_gateways
        .contains_key("tgw-0efdeab79e9a8e490"));
    assert_eq!(snap.cloud.transit_gateways.len(), 1);
    let Some((snap, _)) = load("test-transit-gateway-peering/aws_configs") else {
        return;
    };
    let id = "tgw-attach-012e5d602f859dd80";
    let bat = snap
        .cloud
        .tgw_attachment_view(id, "tgw-0e20010ebf43d07a2")
        .expect("bat view");
    let fish = snap
        .cloud
        .tgw_attachment_view(id, "tgw-03201f1960ddb0c25")
        .expect("fish view");
    assert_eq!(bat.tgw_id, "tgw-0e20010ebf43d07a2");
    assert_eq!(fish.tgw_id, "tgw-03201f1960ddb0c25");
    assert!(matches!(&bat.resource, TgwResource::Peering(p) if p == "tgw-03201f1960ddb0c25"));
    assert!(
        bat.association.is_some()
            && fish.association.is_some()
            && bat.association != fish.association
    );
    let fish_rt = &snap.cloud.tgw_route_tables["tgw-rtb-00be87593fb2cd0ae"];
    assert!(fish_rt
        .routes
        .iter()
        .any(|r| r.destination == net("10.20.0.0/16") && r.attachment_ids == [id]));
    let Some((snap, _)) = load("test-vpc-peering-multi-account/aws_configs") else {
        return;
    };
    assert!(snap.cloud.peerings["pcx-0040f7640e10191f4"].forwards());
}

#[test]
fn tgw_attachment_subnets_and_propagations() {
    let Some((snap, _)) = load("test-transit-gateway-multi-table/aws_configs") else {
        return;
    };
    let a = snap
        .cloud
        .tgw_attachments
        .values()
        .find(|a| a.resource == TgwResource::Vpc("vpc-0404e08ceddf7f650".into()))
        .expect("A attachment");
    assert_eq!(a.association.as_deref(), Some("tgw-rtb-0fa40c8df355dce6e"));
    assert!(!a.subnet_ids.is_empty());
    let rt = &snap.cloud.tgw_route_tables["tgw-rtb-0fa40c8df355dce6e"];
    assert!(!rt.propagations.is_empty());
}

#[test]
fn instance_enis_created_when_missing_from_describe_network_interfaces() {
    let text = r#"{"Reservations": [{"Instances": [{
        "InstanceId": "i-1", "State": {"Name": "running"}, "SubnetId": "subnet-1", "VpcId": "vpc-1",
        "PrivateIpAddress": "10.0.0.5", "Placement": {"AvailabilityZone": "us-east-1a"},
        "Tags": [{"Key": "Name", "Value": "web"}],
        "NetworkInterfaces": [
          {"NetworkInterfaceId": "eni-2", "SubnetId": "subnet-1", "VpcId": "vpc-1", "Attachment": {"DeviceIndex": 1},
           "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.9", "Primary": true}], "Groups": [{"GroupId": "sg-1"}]},
          {"NetworkInterfaceId": "eni-1", "SubnetId": "subnet-1", "VpcId": "vpc-1", "Attachment": {"DeviceIndex": 0},
           "SourceDestCheck": false,
           "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.5", "Primary": true, "Association": {"PublicIp": "3.3.3.3"}}]}
        ]}]}]}"#;
    let (snap, diags) = load_texts(vec![("Reservations.json".into(), text.into())]);
    assert!(!diags.has_errors(), "{}", diags.render(&snap.sources));
    let i = &snap.cloud.instances["i-1"];
    assert_eq!(i.interface_ids, ["eni-1", "eni-2"]);
    assert_eq!(i.name.as_deref(), Some("web"));
    let eni = &snap.cloud.interfaces["eni-1"];
    assert_eq!(eni.instance_id.as_deref(), Some("i-1"));
    assert_eq!(eni.az, "us-east-1a");
    assert!(!eni.source_dest_check);
    assert_eq!(
        eni.public_for_private("10.0.0.5".parse().expect("ip")),
        Some("3.3.3.3".parse().expect("ip"))
    );
    assert!(snap.present.instances && !snap.present.network_interfaces);
}

// ------------------------------------------------------------------ bad inputs

/// 1-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let off = text.find(needle).expect("needle in text");
    text[..off].matches('\n').count() as u32 + 1
}

fn diags_for(name: &str, text: &str) -> (Snapshot, Diagnostics) {
    load_texts(vec![(PathBuf::from(name), text.to_string())])
}

/// The (severity, line) of every diagnostic with `code`.
fn found(snap: &Snapshot, d: &Diagnostics, code: &str) -> Vec<(Severity, u32)> {
    d.items
        .iter()
        .filter(|x| x.code == code)
        .map(|x| {
            (
                x.severity,
                x.at.as_ref()
                    .map(|p| snap.sources.resolve(p).line)
                    .unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn wrong_top_level_shape_is_json_shape_with_line() {
    let text = "{\n  \"Subnets\": [],\n  \"Vpcs\": {}\n}\n";
    let (snap, d) = diags_for("v.json", text);
    assert_eq!(found(&snap, &d, "json-shape"), [(Severity::Error, 3)]);
    let e = d
        .items
        .iter()
        .find(|x| x.code == "json-shape")
        .expect("diag");
    assert!(
        e.expected
            .as_deref()
            .unwrap_or("")
            .contains("describe-vpcs"),
        "{e:?}"
    );
    assert!(e.message.contains("Vpcs"), "{e:?}");

    let text = "{\n  \"Vpcs\": [\n    1,\n    2\n  ]\n}\n";
    let (snap, d) = diags_for("v.json", text);
    assert_eq!(found(&snap, &d, "json-shape"), [(Severity::Error, 3)]);

    let text = "{\"Vpcs\": [{\"VpcId\": \"vpc-1\", \"CidrBlock\": 17}]}";
    let (snap, d) = diags_for("v.json", text);
    assert_eq!(found(&snap, &d, "json-shape"), [(Severity::Error, 1)]);
}

const BAD_SG: &str = r#"{
  "SecurityGroups": [
    {
      "GroupId": "sg-a",
      "GroupName": "a",
      "OwnerId": "111",
      "VpcId": "vpc-1",
      "IpPermissions": [
        {
          "IpProtocol": "tcp",
          "FromPort": 80,
          "ToPort": 70000,
          "IpRanges": [{"CidrIp": "10.0.0.0/8"}]
        },
        {
          "IpProtocol": "tcp",
          "FromPort": 90,
          "ToPort": 20,
          "IpRanges": [{"CidrIp": "10.0.0.0/8"}]
        },
        {
          "IpProtocol": "6",
          "FromPort": 22,
          "ToPort": 22,
          "IpRanges": [{"CidrIp": "10.300.0.0/16"}],
          "UserIdGroupPairs": [
            {"GroupId": "sg-missing", "UserId": "111"},
            {"GroupId": "sg-other-account", "UserId": "222"},
            {"GroupId": "sg-peer", "VpcPeeringConnectionId": "pcx-1"}
          ]
        }
      ],
      "IpPermissionsEgress": []
    }
  ]
}
"#;

#[test]
fn bad_ports_cidrs_and_references() {
    let (snap, d) = diags_for("sg.json", BAD_SG);
    let bad_port = found(&snap, &d, "bad-port");
    assert!(
        bad_port.contains(&(Severity::Error, line_of(BAD_SG, "\"ToPort\": 70000"))),
        "{bad_port:?}"
    );
    assert!(
        bad_port.contains(&(Severity::Error, line_of(BAD_SG, "\"FromPort\": 90") - 2)),
        "{bad_port:?}"
    );
    assert_eq!(
        found(&snap, &d, "bad-cidr"),
        [(Severity::Error, line_of(BAD_SG, "10.300.0.0/16"))]
    );
    let refs = found(&snap, &d, "unknown-reference");
    assert_eq!(refs.len(), 3, "{refs:?}");
    assert!(refs.iter().all(|(s, _)| *s == Severity::Warning));
    assert_eq!(refs[0].1, line_of(BAD_SG, "sg-missing"));
    assert_eq!(refs[2].1, line_of(BAD_SG, "sg-peer"));
    // The numeric "6" protocol still lowers, with its three group peers.
    let sg = &snap.cloud.security_groups["sg-a"];
    assert_eq!(sg.ingress.len(), 3);
    assert!(sg
        .ingress
        .iter()
        .all(|r| r.protocol == ProtocolMatch::One(Protocol::Tcp)));
    for x in d.errors() {
        assert!(x.expected.is_some(), "{x:?}");
    }
}

#[test]
fn route_without_target_and_nacl_errors() {
    let text = r#"{
  "RouteTables": [
    {
      "RouteTableId": "rtb-1",
      "VpcId": "vpc-1",
      "Associations": [{"Main": true}],
      "Routes": [
        {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"},
        {"DestinationCidrBlock": "0.0.0.0/0", "Origin": "CreateRoute", "State": "active"},
        {"DestinationCidrBlock": "10.1.0.0/16", "InstanceId": "i-1", "NetworkInterfaceId": "eni-1", "Origin": "CreateRoute", "State": "blackhole"},
        {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1", "Origin": "CreateRoute"},
        {"DestinationPrefixListId": "pl-1", "GatewayId": "vpce-1", "Origin": "CreateRoute"},
        {"DestinationCidrBlock": "10.9.0.0/16", "GatewayId": "vgw-1", "Origin": "EnableVgwRoutePropagation"}
      ]
    }
  ],
  "NetworkAcls": [
    {
      "NetworkAclId": "acl-1",
      "VpcId": "vpc-1",
      "Entries": [
        {"RuleNumber": 200, "Protocol": "6", "RuleAction": "allow", "Egress": false, "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 443, "To": 80}},
        {"RuleNumber": 100, "Protocol": "17", "RuleAction": "deny", "Egress": false, "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 53, "To": 53}},
        {"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": false, "CidrBlock": "0.0.0.0/0"},
        {"RuleNumber": 100, "Protocol": "1", "RuleAction": "allow", "Egress": true, "CidrBlock": "10.0.0.0/33", "IcmpTypeCode": {"Type": 8, "Code": -1}},
        {"RuleNumber": 110, "Protocol": "1", "RuleAction": "allow", "Egress": true, "CidrBlock": "10.0.0.0/8", "IcmpTypeCode": {"Type": -1, "Code": -1}}
      ]
    }
  ]
}
"#;
    let (snap, d) = diags_for("rt.json", text);
    assert_eq!(
        found(&snap, &d, "unknown-route-target"),
        [(Severity::Error, line_of(text, "\"0.0.0.0/0\", \"Origin\""))]
    );
    assert_eq!(
        found(&snap, &d, "bad-port"),
        [(Severity::Error, line_of(text, "\"From\": 443"))]
    );
    assert_eq!(
        found(&snap, &d, "bad-cidr"),
        [(Severity::Error, line_of(text, "10.0.0.0/33"))]
    );
    let rt = &snap.cloud.route_tables["rtb-1"];
    assert!(rt.main);
    let targets: Vec<&RouteTarget> = rt.routes.iter().map(|r| &r.target).collect();
    assert_eq!(
        targets,
        [
            &RouteTarget::Local,
            &RouteTarget::Interface("eni-1".into()),
            &RouteTarget::EgressOnlyInternetGateway("eigw-1".into()),
            &RouteTarget::VpcEndpoint("vpce-1".into()),
            &RouteTarget::VpnGateway("vgw-1".into()),
        ]
    );
    assert!(!rt.routes[1].active);
    assert_eq!(rt.routes[0].origin, RouteOrigin::Local);
    assert_eq!(rt.routes[4].origin, RouteOrigin::Propagated);
    assert_eq!(
        rt.routes[3].destination,
        RouteDestination::PrefixList("pl-1".into())
    );
    let acl = &snap.cloud.network_acls["acl-1"];
    let numbers: Vec<u32> = acl.ingress.iter().map(|e| e.number).collect();
    assert_eq!(numbers, [100, 32767]);
    assert_eq!(acl.egress.len(), 1);
    assert_eq!(
        acl.egress[0].ports,
        PortMatch::Icmp {
            icmp_type: None,
            code: None
        }
    );
}

#[test]
fn target_health_needs_its_target_group() {
    let tgs = r#"{"TargetGroups": [{"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc123",
        "TargetGroupName": "web", "TargetType": "ip", "Protocol": "TCP", "Port": 80}]}"#;
    let health = "{\n  \"TargetHealthDescriptions\": [\n    {\"Target\": {\"Id\": \"10.0.0.1\", \"Port\": 8080}, \"TargetHealth\": {\"State\": \"unhealthy\", \"Reason\": \"Target.Timeout\"}}\n  ]\n}\n";
    // Unnamed: an error at the key.
    let (snap, d) = load_texts(vec![
        ("tgs.json".into(), tgs.into()),
        ("health.json".into(), health.into()),
    ]);
    assert_eq!(found(&snap, &d, "missing-context"), [(Severity::Error, 2)]);
    // Named after the last part of the ARN, or the group's name.
    for name in ["snap/abc123.json", "snap/web.json"] {
        let (snap, d) = load_texts(vec![
            ("tgs.json".into(), tgs.into()),
            (name.into(), health.into()),
        ]);
        assert!(!d.has_errors(), "{}", d.render(&snap.sources));
        let tg = snap.cloud.target_groups.values().next().expect("tg");
        let t = &tg.targets.as_ref().expect("targets")[0];
        assert_eq!(
            (t.health.as_str(), t.port, t.reason.as_deref()),
            ("unhealthy", Some(8080), Some("Target.Timeout"))
        );
        assert!(!tg.preserves_client_ip());
    }
    // Wrapped, with target group attributes and a weighted listener.
    let wrapped = r#"{"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc123",
        "TargetHealthDescriptions": [{"Target": {"Id": "10.0.0.2"}, "TargetHealth": {"State": "healthy"}}]}"#;
    let attrs = r#"{"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc123",
        "Attributes": [{"Key": "preserve_client_ip.enabled", "Value": "true"}]}"#;
    let (snap, d) = load_texts(vec![
        ("tgs.json".into(), tgs.into()),
        ("h.json".into(), wrapped.into()),
        ("a.json".into(), attrs.into()),
    ]);
    assert!(!d.has_errors(), "{}", d.render(&snap.sources));
    let tg = snap.cloud.target_groups.values().next().expect("tg");
    assert_eq!(tg.targets.as_ref().map(Vec::len), Some(1));
    assert!(tg.preserves_client_ip());
}

#[test]
fn unsupported_keys_listed_once_and_present_flags() {
    let a = r#"{"DBInstances": [], "Vpcs": []}"#;
    let b = r#"{"DBInstances": [], "Addresses": []}"#;
    let (_, d) = load_texts(vec![
        ("a.json".into(), a.into()),
        ("b.json".into(), b.into()),
    ]);
    let unsupported: Vec<_> = d
        .items
        .iter()
        .filter(|x| x.severity == Severity::Unsupported)
        .collect();
    assert_eq!(unsupported.len(), 1);
    assert!(unsupported[0].message.contains("DBInstances (2 file(s))"));
    assert!(!unsupported[0].message.contains("Addresses"));
    assert!(!d.has_errors());
}

#[test]
fn vpc_cidrs_from_association_sets() {
    let text = r#"{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16", "OwnerId": "111",
        "CidrBlockAssociationSet": [
          {"CidrBlock": "10.0.0.0/16", "CidrBlockState": {"State": "associated"}},
          {"CidrBlock": "100.64.0.0/16", "CidrBlockState": {"State": "associated"}},
          {"CidrBlock": "10.9.0.0/16", "CidrBlockState": {"State": "disassociated"}}],
        "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600:1f16:1::/56", "Ipv6CidrBlockState": {"State": "associated"}}]},
      {"VpcId": "vpc-2", "CidrBlock": "172.16.0.0/16"}],
      "Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "eu-west-1b"}]}"#;
    let (snap, d) = load_texts(vec![(
        "accounts/111/us-east-2/Vpcs.json".into(),
        text.into(),
    )]);
    assert!(!d.has_errors());
    let v = &snap.cloud.vpcs["vpc-1"];
    let cidrs: Vec<String> = v.cidrs().iter().map(|c| c.to_string()).collect();
    assert_eq!(cidrs, ["10.0.0.0/16", "100.64.0.0/16", "2600:1f16:1::/56"]);
    assert_eq!(
        v.region.as_deref(),
        Some("eu-west-1"),
        "subnet zone wins over the folder name"
    );
    assert_eq!(v.owner.as_deref(), Some("111"));
    let v2 = &snap.cloud.vpcs["vpc-2"];
    assert_eq!(v2.cidrs_v4.len(), 1, "falls back to CidrBlock");
    assert_eq!(
        v2.region.as_deref(),
        Some("us-east-2"),
        "region from the folder name"
    );
}
