//! Unit tests of the interpreter and the synthesizer on small hand-written inputs.

use super::*;
use crate::model::flow::{Packet, Protocol};
use crate::model::iptables::IptablesDump;
use std::net::IpAddr;
use std::path::PathBuf;

fn dump(text: &str) -> IptablesDump {
    let (mut snap, diags) = crate::ingest::load_texts(vec![(
        PathBuf::from("node.iptables-save"),
        text.to_string(),
    )]);
    assert!(!snap.iptables.is_empty(), "{:?}", diags.items);
    snap.iptables.remove(0)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pkt(src: &str, dst: &str, port: u16) -> Packet {
    Packet {
        src: ip(src),
        dst: ip(dst),
        protocol: Protocol::Tcp,
        src_port: 40000,
        dst_port: port,
    }
}

fn ctx() -> NodeContext {
    NodeContext::new(vec![ip("192.168.0.2")])
}

fn nat(rules: &str) -> IptablesDump {
    dump(&format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
         :A - [0:0]\n:B - [0:0]\n:C - [0:0]\n{rules}COMMIT\n"
    ))
}

#[test]
fn jump_cycle_is_a_loop() {
    let d = nat("-A PREROUTING -j A\n-A A -j B\n-A B -j A\n");
    let out = evaluate(&d, &pkt("10.0.0.1", "10.0.0.2", 80), &ctx());
    assert_eq!(out.branches.len(), 1);
    assert!(
        matches!(&out.branches[0].verdict, Verdict::Loop(r) if r.contains("A -> B -> A")),
        "{:?}",
        out.branches[0].verdict
    );
}

#[test]
fn unknown_match_is_undecidable_and_named() {
    let d = nat("-A PREROUTING -m frobnicate --level 3 -j DNAT --to-destination 10.9.9.9:80\n");
    let out = evaluate(&d, &pkt("10.0.0.1", "10.0.0.2", 80), &ctx());
    assert!(
        matches!(&out.branches[0].verdict, Verdict::Undecidable(r) if r.contains("frobnicate")),
        "{:?}",
        out.branches[0].verdict
    );
    // But a failing decidable match in the same rule decides it.
    let d = nat("-A PREROUTING -d 1.1.1.1/32 -m frobnicate -j DNAT --to-destination 10.9.9.9:80\n");
    let out = evaluate(&d, &pkt("10.0.0.1", "10.0.0.2", 80), &ctx());
    assert_eq!(out.branches[0].verdict, Verdict::Accept { explicit: false });
}

#[test]
fn goto_return_skips_the_rest_of_the_calling_chain() {
    let d = nat(
        "-A PREROUTING -g A\n-A PREROUTING -j DNAT --to-destination 10.9.9.9:80\n-A A -j RETURN\n",
    );
    let out = evaluate(&d, &pkt("10.0.0.1", "10.0.0.2", 80), &ctx());
    assert_eq!(out.branches[0].verdict, Verdict::Accept { explicit: false });
    let d = nat(
        "-A PREROUTING -j A\n-A PREROUTING -j DNAT --to-destination 10.9.9.9:80\n-A A -j RETURN\n",
    );
    let out = evaluate(&d, &pkt("10.0.0.1", "10.0.0.2", 80), &ctx());
    assert_eq!(
        out.branches[0].verdict,
        Verdict::Dnat {
            ip: ip("10.9.9.9"),
            port: 80
        }
    );
}

#[test]
fn statistic_cascade_is_exact() {
    let d = nat(
        "-A PREROUTING -d 172.30.0.1/32 -p tcp -m tcp --dport 80 -j A\n\
         -A A -m statistic --mode random --probability 0.25 -j DNAT --to-destination 10.0.0.1:80\n\
         -A A -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.0.2:80\n\
         -A A -j DNAT --to-destination 10.0.0.3:80\n",
    );
    let out = evaluate(&d, &pkt("10.1.0.1", "172.30.0.1", 80), &ctx());
    let probs: Vec<f64> = out.branches.iter().map(|b| b.probability).collect();
    assert_eq!(probs.len(), 3);
    assert!((probs[0] - 0.25).abs() < 1e-12);
    assert!((probs[1] - 0.375).abs() < 1e-12);
    assert!((probs[2] - 0.375).abs() < 1e-12);
    assert!((out.total_probability() - 1.0).abs() < 1e-12);
    assert_eq!(out.dnat_destinations()[1], (ip("10.0.0.2"), 80));
    assert!(out.branches[1].rules.iter().any(|r| r.line == 8));
}

#[test]
fn mark_then_masquerade_in_postrouting() {
    let d = nat(
        "-A PREROUTING -j A\n-A A -j MARK --set-xmark 0x4000/0x4000\n\
         -A A -j DNAT --to-destination 10.0.0.9:8080\n\
         -A POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n\
         -A POSTROUTING -j MARK --set-xmark 0x0/0x4000\n-A POSTROUTING -j MASQUERADE\n",
    );
    let out = evaluate(&d, &pkt("203.0.113.1", "192.168.0.2", 30000), &ctx());
    // 192.168.0.2 is local before DNAT; after DNAT the packet is forwarded.
    let b = &out.branches[0];
    assert_eq!(
        b.verdict,
        Verdict::Dnat {
            ip: ip("10.0.0.9"),
            port: 8080
        }
    );
    assert!(b.masquerade);
}

#[test]
fn interfaces_need_the_context() {
    let d = nat("-A PREROUTING -i eni+ -j DNAT --to-destination 10.0.0.9:80\n");
    let p = pkt("10.0.0.1", "10.0.0.2", 80);
    let out = evaluate(&d, &p, &ctx());
    assert!(matches!(&out.branches[0].verdict, Verdict::Undecidable(r) if r.contains("-i eni+")));
    let mut c = ctx();
    c.in_interface = Some("eni1234".into());
    let out = evaluate(&d, &p, &c);
    assert!(matches!(out.branches[0].verdict, Verdict::Dnat { .. }));
    c.in_interface = Some("eth0".into());
    let out = evaluate(&d, &p, &c);
    assert_eq!(out.branches[0].verdict, Verdict::Accept { explicit: false });
}

#[test]
fn forward_policy_drop_applies_on_fall_through() {
    let d = dump(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n\
         *nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
         -A PREROUTING -d 1.1.1.1/32 -j RETURN\nCOMMIT\n",
    );
    let out = evaluate(&d, &pkt("172.16.0.1", "10.0.0.2", 80), &ctx());
    assert_eq!(out.branches[0].verdict, Verdict::Drop);
    let out = evaluate(&d, &pkt("10.0.0.1", "10.0.0.2", 80), &ctx());
    assert_eq!(out.branches[0].verdict, Verdict::Accept { explicit: true });
}

fn objects(yaml: &str) -> crate::model::cluster::ClusterObjects {
    let (snap, _) =
        crate::ingest::load_texts(vec![(PathBuf::from("objects.yaml"), yaml.to_string())]);
    snap.cluster
}

const LOCAL_SVC: &str = "apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 172.20.0.10
  externalTrafficPolicy: Local
  ports:
  - {name: http, port: 80, protocol: TCP, nodePort: 30080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports:
- {name: http, port: 8080, protocol: TCP}
endpoints:
- addresses: [10.0.5.5]
  nodeName: node-a
  conditions: {ready: false, serving: true, terminating: true}
- addresses: [10.0.6.6]
  nodeName: node-b
  conditions: {ready: true}
";

#[test]
fn synthesis_terminating_fallback_is_local_only() {
    let objs = objects(LOCAL_SVC);
    let opts = SynthOptions {
        local_addresses: vec![ip("192.168.0.2")],
        ..SynthOptions::default()
    };
    let a = synthesize(&objs, "node-a", &opts);
    let sp = &a.services[0];
    assert_eq!(sp.key, "shop/web:http");
    // Cluster set: the ready endpoint only; local set on node-a: the terminating fallback.
    assert_eq!(sp.cluster_endpoints, vec![(ip("10.0.6.6"), 8080)]);
    assert_eq!(sp.local_endpoints, vec![(ip("10.0.5.5"), 8080)]);
    let out = a.evaluate(&pkt("203.0.113.9", "192.168.0.2", 30080));
    assert_eq!(
        out.branches[0].verdict,
        Verdict::Dnat {
            ip: ip("10.0.5.5"),
            port: 8080
        }
    );
    assert!(!out.branches[0].masquerade);
    assert!(matches!(out.branches[0].origin, Origin::Derived { .. }));
    // node-c has no local endpoint: external traffic is dropped, not rejected.
    let c = synthesize(&objs, "node-c", &opts);
    let out = c.evaluate(&pkt("203.0.113.9", "192.168.0.2", 30080));
    assert_eq!(out.branches[0].verdict, Verdict::Drop);
    // No detector (EKS default): a pod is treated as external.
    let out = c.evaluate(&pkt("10.0.7.7", "192.168.0.2", 30080));
    assert_eq!(out.branches[0].verdict, Verdict::Drop);
    // The node itself short-circuits to the cluster set, masqueraded.
    let out = c.evaluate(&pkt("192.168.0.2", "192.168.0.2", 30080));
    assert_eq!(
        out.branches[0].verdict,
        Verdict::Dnat {
            ip: ip("10.0.6.6"),
            port: 8080
        }
    );
    assert!(out.branches[0].masquerade);
}

#[test]
fn synthesis_hostname_only_lb_has_no_lb_rules() {
    let objs = objects(
        "apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec:
  type: LoadBalancer
  clusterIP: 172.20.0.11
  ports:
  - {port: 443, protocol: TCP, nodePort: 31443}
status:
  loadBalancer:
    ingress:
    - hostname: k8s-default-api-123.elb.us-east-1.amazonaws.com
",
    );
    let s = synthesize(&objs, "node-a", &SynthOptions::default());
    assert!(s.services[0].lb_ips.is_empty());
    assert!(s.notes.iter().any(|n| n.contains("hostname")));
    // No endpoints: the clusterIP is rejected.
    let out = s.evaluate(&pkt("10.0.0.1", "172.20.0.11", 443));
    assert_eq!(out.branches[0].verdict, Verdict::Reject);
}

#[test]
fn branch_bound_cuts_the_walk() {
    let mut rules = String::from("-A PREROUTING -j A\n");
    for i in 0..20 {
        rules.push_str(&format!(
            "-A A -m statistic --mode random --probability 0.5 -j MARK --or-mark 0x{:x}\n",
            1u32 << i
        ));
    }
    let d = nat(&rules);
    let mut c = ctx();
    c.max_branches = 64;
    let out = evaluate(&d, &pkt("10.0.0.1", "10.0.0.2", 80), &c);
    assert!(out.branches.len() <= 64);
    assert!((out.total_probability() - 1.0).abs() < 1e-9);
    assert!(out
        .branches
        .iter()
        .any(|b| matches!(&b.verdict, Verdict::Undecidable(r) if r.contains("branches"))));
}

#[test]
fn affinity_hit_when_given() {
    let d = nat("-A PREROUTING -d 172.30.0.1/32 -j A\n\
         -A A -m recent --name KUBE-SEP-B --rcheck --seconds 10800 --reap -j B\n\
         -A A -m statistic --mode random --probability 0.5 -j C\n-A A -j B\n\
         -A B -j DNAT --to-destination 10.0.0.2:80\n-A C -j DNAT --to-destination 10.0.0.3:80\n");
    let p = pkt("10.1.0.1", "172.30.0.1", 80);
    let out = evaluate(&d, &p, &ctx());
    assert_eq!(out.branches.len(), 2);
    assert!(out.branches[0].notes.iter().any(|n| n.contains("not hit")));
    let mut c = ctx();
    c.recent_hits = vec!["KUBE-SEP-B".into()];
    let out = evaluate(&d, &p, &c);
    assert_eq!(out.branches.len(), 1);
    assert_eq!(
        out.branches[0].verdict,
        Verdict::Dnat {
            ip: ip("10.0.0.2"),
            port: 80
        }
    );
}

/// An EKS-shaped node: kube-proxy's chains beside the VPC CNI's connmark and SNAT rules.
const EKS: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:AWS-CONNMARK-CHAIN-0 - [0:0]
:AWS-SNAT-CHAIN-0 - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-AAAA - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-AAAA - [0:0]
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES
-A PREROUTING -i eni+ -m comment --comment \"AWS, outbound connections\" -j AWS-CONNMARK-CHAIN-0
-A PREROUTING -m comment --comment \"AWS, CONNMARK\" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80
-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING
-A POSTROUTING -m comment --comment \"AWS SNAT CHAIN\" -j AWS-SNAT-CHAIN-0
-A AWS-CONNMARK-CHAIN-0 -d 10.0.0.0/16 -m comment --comment \"AWS CONNMARK CHAIN, VPC CIDR\" -j RETURN
-A AWS-CONNMARK-CHAIN-0 -m comment --comment \"AWS, CONNMARK\" -j CONNMARK --set-xmark 0x80/0x80
-A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16 -m comment --comment \"AWS SNAT CHAIN\" -j RETURN
-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment \"AWS, SNAT\" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.1.23 --random-fully
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully
-A KUBE-SEP-AAAA -s 10.0.2.7/32 -m comment --comment \"shop/web:http\" -j KUBE-MARK-MASQ
-A KUBE-SEP-AAAA -p tcp -m comment --comment \"shop/web:http\" -m tcp -j DNAT --to-destination 10.0.2.7:8080
-A KUBE-SERVICES -d 172.20.0.10/32 -p tcp -m comment --comment \"shop/web:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-AAAA
-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-SVC-AAAA -m comment --comment \"shop/web:http -> 10.0.2.7:8080\" -j KUBE-SEP-AAAA
:KUBE-NODEPORTS - [0:0]
COMMIT
";

#[test]
fn eks_node_hooks_with_vpc_cni_rules() {
    let d = dump(EKS);
    let mut c = NodeContext::new(vec![ip("10.0.1.23")]);
    c.in_interface = Some("eni3f2a".into());
    c.out_interface = Some("eth0".into());
    // Pod -> clusterIP: DNAT ends nat PREROUTING before the AWS connmark rules; no masquerade
    // (EKS has no local detector) and the AWS SNAT chain returns for a VPC destination.
    let out = evaluate(&d, &pkt("10.0.1.50", "172.20.0.10", 80), &c);
    assert_eq!(out.branches.len(), 1);
    let b = &out.branches[0];
    assert_eq!(
        b.verdict,
        Verdict::Dnat {
            ip: ip("10.0.2.7"),
            port: 8080
        }
    );
    assert!(!b.masquerade);
    assert_eq!(b.service.as_deref(), Some("shop/web:http"));
    assert!(b.rules.iter().all(|r| !r.chain.starts_with("AWS-CONNMARK")));
    // Pod -> internet: connmark set, then SNAT to the node's primary IP.
    let out = evaluate(&d, &pkt("10.0.1.50", "1.1.1.1", 443), &c);
    let b = &out.branches[0];
    assert_eq!(b.verdict, Verdict::Accept { explicit: false });
    assert!(b.masquerade);
    assert!(b.rules.iter().any(|r| r.chain == "AWS-SNAT-CHAIN-0"));
    // Hairpin: the endpoint reaching its own service is masqueraded by KUBE-POSTROUTING.
    let out = evaluate(&d, &pkt("10.0.2.7", "172.20.0.10", 80), &c);
    assert!(out.branches[0].masquerade);
    assert!(out.branches[0]
        .rules
        .iter()
        .any(|r| r.chain == "KUBE-POSTROUTING" && r.text.contains("MASQUERADE")));
}
