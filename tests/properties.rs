//! Properties over random inputs: answers do not depend on input order; adding an allow rule
//! never removes reachability and removing a route never adds it; the trace JSON round-trips;
//! security groups and NetworkPolicies agree with naive reference interpreters. (LPM, NACL
//! first match and SG union against references are unit properties in `src/eval`.)

#![allow(clippy::field_reassign_with_default)]

mod common;

use common::*;
use netpath::model::Protocol;
use netpath::policy::netpol::{Endpoint, Peer, PolicyContext};
use netpath::trace::{Disposition, Reachable};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::path::PathBuf;

/// Inbound NACL entries by rule number: (allow, protocol, ports, CIDR).
type NaclEntries = std::collections::BTreeMap<i64, (bool, &'static str, (i64, i64), &'static str)>;

fn delivered(net: &MiniVpc, proto: &str, port: u16) -> bool {
    trace(&net.load(), ENI_A, ENI_B, proto, port).reachable == Reachable::All
}

/// `(protocol, from, to, cidr)` of a random security group rule.
fn sg_rule_strategy() -> impl Strategy<Value = (&'static str, i64, i64, &'static str)> {
    (
        prop::sample::select(vec!["tcp", "udp", "-1"]),
        prop::sample::select(vec![22i64, 80, 443, 1000]),
        0i64..2000,
        prop::sample::select(vec![
            "10.1.1.0/24",
            "10.1.0.0/16",
            "10.2.0.0/16",
            "0.0.0.0/0",
            "10.1.1.10/32",
        ]),
    )
        .prop_map(|(p, lo, span, cidr)| (p, lo, (lo + span).min(65535), cidr))
}

fn with_b_ingress(rules: &[(&str, i64, i64, &str)]) -> MiniVpc {
    let mut net = MiniVpc::default();
    let ingress = rules
        .iter()
        .map(|(p, a, b, c)| sg_rule(p, *a, *b, c))
        .collect();
    net.security_groups = Some(json!({"SecurityGroups": [
        sg("sg-0aaa00000000000a1", vec![], vec![sg_rule("-1", 0, 0, "0.0.0.0/0")]),
        sg("sg-0aaa00000000000b2", ingress, vec![sg_rule("-1", 0, 0, "0.0.0.0/0")])]}));
    net
}

/// Naive SG reference for a packet from 10.1.1.10: some rule's protocol, ports and CIDR match.
fn sg_reference(rules: &[(&str, i64, i64, &str)], proto: &str, port: u16) -> bool {
    let src: IpAddr = "10.1.1.10".parse().unwrap();
    rules.iter().any(|(p, lo, hi, cidr)| {
        let net: ipnet::IpNet = cidr.parse().unwrap();
        net.contains(&src)
            && (*p == "-1" || (*p == proto && *lo <= port as i64 && port as i64 <= *hi))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// End to end, sg-b's ingress decides exactly as the naive union of its rules, and one more
    /// allow rule never takes reachability away.
    #[test]
    fn sg_union_end_to_end_and_adding_an_allow_rule_is_monotone(
        rules in prop::collection::vec(sg_rule_strategy(), 0..4),
        extra in sg_rule_strategy(),
        proto in prop::sample::select(vec!["tcp", "udp"]),
        port in prop::sample::select(vec![22u16, 80, 443, 999, 1500, 3000]),
    ) {
        let before = delivered(&with_b_ingress(&rules), proto, port);
        prop_assert_eq!(before, sg_reference(&rules, proto, port));
        let mut more = rules.clone();
        more.push(extra);
        let after = delivered(&with_b_ingress(&more), proto, port);
        prop_assert!(!before || after, "adding {:?} removed reachability", extra);
        prop_assert_eq!(after, sg_reference(&more, proto, port));
    }

    /// Inbound NACL entries in random order and numbers: adding an allow entry under a free
    /// number never removes reachability.
    #[test]
    fn adding_a_nacl_allow_entry_is_monotone(
        entries in prop::collection::btree_map(1i64..200, (prop::bool::ANY, prop::sample::select(vec!["6", "17", "-1"]),
            prop::sample::select(vec![(0i64, 100i64), (80, 80), (1024, 65535), (0, 65535)]),
            prop::sample::select(vec!["10.1.1.0/24", "10.1.0.0/16", "10.2.0.0/16", "0.0.0.0/0"])), 0..5),
        extra_number in 1i64..200,
        extra in (prop::sample::select(vec!["6", "17", "-1"]),
            prop::sample::select(vec![(0i64, 100i64), (80, 80), (1024, 65535), (0, 65535)]),
            prop::sample::select(vec!["10.1.1.0/24", "10.1.0.0/16", "0.0.0.0/0"])),
        port in prop::sample::select(vec![22u16, 80, 443]),
    ) {
        let build = |list: &NaclEntries| {
            let mut e: Vec<Value> = list.iter().map(|(n, (allow, p, ports, cidr))| {
                nacl_entry(*n, false, p, (*p != "-1").then_some(*ports), cidr, if *allow { "allow" } else { "deny" })
            }).collect();
            e.push(nacl_entry(32767, false, "-1", None, "0.0.0.0/0", "deny"));
            e.push(nacl_entry(100, true, "-1", None, "0.0.0.0/0", "allow"));
            e.push(nacl_entry(32767, true, "-1", None, "0.0.0.0/0", "deny"));
            let mut net = MiniVpc::default();
            net.network_acls = Some(json!({ "NetworkAcls": [nacl(e)] }));
            delivered(&net, "tcp", port)
        };
        prop_assume!(!entries.contains_key(&extra_number));
        let before = build(&entries);
        let mut more = entries.clone();
        more.insert(extra_number, (true, extra.0, extra.1, extra.2));
        let after = build(&more);
        prop_assert!(!before || after, "adding allow {} {:?} removed reachability", extra_number, extra);
    }

    /// Routes to forwarding targets only: removing one never adds reachability.
    #[test]
    fn removing_a_route_never_adds_reachability(
        routes in prop::collection::btree_set(prop::sample::select(vec![
            "0.0.0.0/0", "8.0.0.0/8", "8.8.0.0/16", "8.8.8.0/24", "1.0.0.0/8", "10.2.0.0/16"]), 0..5),
        removed in 0usize..5,
        dst in prop::sample::select(vec!["8.8.8.8", "1.1.1.1", "10.2.3.4", "10.1.2.20"]),
    ) {
        let routes: Vec<&str> = routes.into_iter().collect();
        let build = |list: &[&str]| {
            let mut net = MiniVpc::default();
            let mut a = eni(ENI_A, SUBNET_A, "10.1.1.10", &["sg-0aaa00000000000a1"]);
            a["Association"] = json!({"PublicIp": "54.0.0.10"});
            net.interfaces = Some(json!({"NetworkInterfaces": [a,
                eni(ENI_B, SUBNET_B, "10.1.2.20", &["sg-0aaa00000000000b2"])]}));
            let mut rt = net.route_tables.clone().unwrap();
            for r in list {
                rt["RouteTables"][0]["Routes"].as_array_mut().unwrap().push(route(r, "GatewayId", "igw-0aaa000000000000a"));
            }
            net.route_tables = Some(rt);
            net.extra.push(("describe-internet-gateways.json".into(), json!({"InternetGateways": [{
                "InternetGatewayId": "igw-0aaa000000000000a", "OwnerId": "111122223333", "Tags": [],
                "Attachments": [{"State": "available", "VpcId": VPC}]}]}).to_string()));
            let r = trace(&net.load(), ENI_A, dst, "tcp", 443);
            r.paths.iter().any(|p| matches!(p.disposition, Disposition::Delivered | Disposition::ExitsNetwork))
        };
        let before = build(&routes);
        let mut fewer = routes.clone();
        if !fewer.is_empty() {
            fewer.remove(removed % routes.len());
        }
        let after = build(&fewer);
        prop_assert!(before || !after, "removing a route from {:?} added reachability to {}", routes, dst);
    }

    /// Files in any order and objects in any order within them give the same answer; the same
    /// files in another order give byte-identical JSON; the JSON round-trips unchanged.
    #[test]
    fn input_order_does_not_change_the_answer(seed in any::<u64>(), port in prop::sample::select(vec![22u16, 80, 443])) {
        let mut net = MiniVpc::default();
        // Some variety so that order could matter: a deny-first NACL and several SGs.
        net.network_acls = Some(json!({"NetworkAcls": [nacl(vec![
            nacl_entry(50, false, "6", Some((22, 22)), "0.0.0.0/0", "deny"),
            nacl_entry(60, false, "6", Some((0, 1000)), "10.1.1.0/24", "allow"),
            nacl_entry(70, false, "-1", None, "10.1.0.0/16", "deny"),
            nacl_entry(32767, false, "-1", None, "0.0.0.0/0", "deny"),
            nacl_entry(100, true, "-1", None, "0.0.0.0/0", "allow"),
            nacl_entry(32767, true, "-1", None, "0.0.0.0/0", "deny")])]}));
        let base = net.files();
        let reference = trace_json(&net.load(), ENI_A, ENI_B, port);
        // Round trip.
        let parsed: Value = serde_json::from_str(&reference).unwrap();
        prop_assert_eq!(&serde_json::to_string_pretty(&parsed).unwrap(), &reference);
        // Files shuffled: identical bytes.
        let mut files = base.clone();
        shuffle(&mut files, seed);
        let snap = load_clean(files);
        prop_assert_eq!(&trace_json(&snap, ENI_A, ENI_B, port), &reference);
        // Objects shuffled within files: identical apart from line numbers.
        let mut shuffled = net.clone();
        for (i, v) in [&mut shuffled.subnets, &mut shuffled.security_groups, &mut shuffled.interfaces, &mut shuffled.network_acls, &mut shuffled.route_tables].into_iter().enumerate() {
            if let Some(v) = v.as_mut() {
                shuffle_arrays(v, seed.wrapping_add(i as u64));
            }
        }
        let got = trace_json(&shuffled.load(), ENI_A, ENI_B, port);
        prop_assert_eq!(without_sources(&got), without_sources(&reference));
    }
}

/// A deterministic Fisher-Yates shuffle from a seed.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        v.swap(i, j);
    }
}

/// Shuffles every array of objects in a JSON document (NACL entries, routes, subnets...), but
/// not the rule lists whose positions are cited (security group permissions).
fn shuffle_arrays(v: &mut Value, seed: u64) {
    match v {
        Value::Array(a) => {
            shuffle(a, seed);
            for x in a.iter_mut() {
                shuffle_arrays(x, seed.rotate_left(7));
            }
        }
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k != "IpPermissions" && k != "IpPermissionsEgress" {
                    shuffle_arrays(x, seed.rotate_left(3));
                }
            }
        }
        _ => {}
    }
}

fn without_sources(json: &str) -> String {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.shift_remove("source");
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: Value = serde_json::from_str(json).unwrap();
    strip(&mut v);
    v.to_string()
}

#[test]
fn cluster_file_order_does_not_change_the_answer() {
    let files = repo_files("models/eks-reference");
    let pod = "prod/frontend-7c9d8b6f4d-x2k9p";
    let answer = |files: Vec<(PathBuf, String)>| {
        let snap = load_clean(files);
        let r = trace_http(
            &snap,
            pod,
            "svc/prod/backend",
            "tcp",
            9090,
            Some(("GET", "/api/orders")),
        );
        let flow = netpath::report::FlowSpec {
            src: pod.into(),
            dst: "svc/prod/backend".into(),
            protocol: "tcp".into(),
            dst_port: Some(9090),
        };
        serde_json::to_string(&netpath::report::json::trace(&snap.sources, &flow, &r)).unwrap()
    };
    let reference = answer(files.clone());
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(answer(reversed), reference);
    let mut shuffled = files;
    shuffle(&mut shuffled, 42);
    assert_eq!(answer(shuffled), reference);
}

// ----- NetworkPolicy against a naive reference ------------------------------------------------

/// One generated NetworkPolicy rule peer.
#[derive(Debug, Clone)]
enum GenPeer {
    Pods(Option<&'static str>, Option<&'static str>),
    Block(&'static str),
}

/// One generated rule: peers (empty = everyone) and ports (empty = all).
#[derive(Debug, Clone)]
struct GenRule {
    peers: Vec<GenPeer>,
    ports: Vec<(&'static str, u16, Option<u16>)>,
}

/// One generated policy in namespace `ns` selecting `app` (None = every pod).
#[derive(Debug, Clone)]
struct GenPolicy {
    ns: &'static str,
    app: Option<&'static str>,
    ingress: Option<Vec<GenRule>>,
    egress: Option<Vec<GenRule>>,
}

const NAMESPACES: [&str; 2] = ["alpha", "beta"];
const APPS: [&str; 3] = ["web", "api", "db"];

fn gen_rule() -> impl Strategy<Value = GenRule> {
    let peer = prop_oneof![
        (
            prop::option::of(prop::sample::select(APPS.to_vec())),
            prop::option::of(prop::sample::select(NAMESPACES.to_vec()))
        )
            .prop_filter("a peer needs a selector", |(a, n)| a.is_some()
                || n.is_some())
            .prop_map(|(a, n)| GenPeer::Pods(a, n)),
        prop::sample::select(vec!["192.0.2.0/24", "0.0.0.0/0", "198.51.100.7/32"])
            .prop_map(GenPeer::Block),
    ];
    let port = (
        prop::sample::select(vec!["TCP", "UDP"]),
        prop::sample::select(vec![80u16, 443, 5432]),
        prop::option::of(0u16..200),
    );
    (
        prop::collection::vec(peer, 0..3),
        prop::collection::vec(port, 0..3),
    )
        .prop_map(|(peers, ports)| GenRule {
            peers,
            ports: ports
                .into_iter()
                .map(|(p, n, end)| (p, n, end.map(|e| n + e)))
                .collect(),
        })
}

fn gen_policy() -> impl Strategy<Value = GenPolicy> {
    (
        prop::sample::select(NAMESPACES.to_vec()),
        prop::option::of(prop::sample::select(APPS.to_vec())),
        prop::option::of(prop::collection::vec(gen_rule(), 0..3)),
        prop::option::of(prop::collection::vec(gen_rule(), 0..3)),
    )
        .prop_filter("a policy has a direction", |(_, _, i, e)| {
            i.is_some() || e.is_some()
        })
        .prop_map(|(ns, app, ingress, egress)| GenPolicy {
            ns,
            app,
            ingress,
            egress,
        })
}

fn policy_yaml(i: usize, p: &GenPolicy) -> String {
    let rules = |rules: &[GenRule], key: &str| -> String {
        let mut out = String::new();
        for r in rules {
            out.push_str("  - ");
            let mut first = true;
            let mut field = |s: String| {
                if !first {
                    out.push_str("    ");
                }
                first = false;
                out.push_str(&s);
                out.push('\n');
            };
            let peers: Vec<String> = r
                .peers
                .iter()
                .map(|p| match p {
                    GenPeer::Pods(app, ns) => {
                        let mut parts = Vec::new();
                        if let Some(a) = app {
                            parts.push(format!("podSelector: {{matchLabels: {{app: {a}}}}}"));
                        }
                        if let Some(n) = ns {
                            parts
                                .push(format!("namespaceSelector: {{matchLabels: {{team: {n}}}}}"));
                        }
                        format!("{{{}}}", parts.join(", "))
                    }
                    GenPeer::Block(c) => format!("{{ipBlock: {{cidr: \"{c}\"}}}}"),
                })
                .collect();
            field(format!("{key}: [{}]", peers.join(", ")));
            let ports: Vec<String> = r
                .ports
                .iter()
                .map(|(proto, port, end)| match end {
                    Some(e) => format!("{{protocol: {proto}, port: {port}, endPort: {e}}}"),
                    None => format!("{{protocol: {proto}, port: {port}}}"),
                })
                .collect();
            field(format!("ports: [{}]", ports.join(", ")));
        }
        out
    };
    let mut types = Vec::new();
    let mut body = String::new();
    if let Some(r) = &p.ingress {
        types.push("Ingress");
        body.push_str(&format!("  ingress:\n{}", rules(r, "from")));
        if r.is_empty() {
            body = body.replace("  ingress:\n", "  ingress: []\n");
        }
    }
    if let Some(r) = &p.egress {
        types.push("Egress");
        let part = format!("  egress:\n{}", rules(r, "to"));
        body.push_str(&if r.is_empty() {
            "  egress: []\n".to_string()
        } else {
            part
        });
    }
    let selector = match p.app {
        Some(a) => format!("{{matchLabels: {{app: {a}}}}}"),
        None => "{}".into(),
    };
    format!(
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{i}, namespace: {}}}\nspec:\n  podSelector: {selector}\n  policyTypes: [{}]\n{body}",
        p.ns,
        types.join(", ")
    )
}

#[derive(Debug, Clone, Copy)]
enum RefPeer {
    Pod(&'static str, &'static str),
    Ext(&'static str),
}

fn ref_peer_matches(p: &GenPeer, policy_ns: &str, other: RefPeer) -> bool {
    match (p, other) {
        (GenPeer::Pods(app, ns), RefPeer::Pod(o_ns, o_app)) => {
            let ns_ok = match ns {
                Some(n) => *n == o_ns,
                None => o_ns == policy_ns,
            };
            ns_ok && app.is_none_or(|a| a == o_app)
        }
        (GenPeer::Block(c), RefPeer::Ext(ip)) => {
            let net: ipnet::IpNet = c.parse().unwrap();
            net.contains(&ip.parse::<IpAddr>().unwrap())
        }
        _ => false,
    }
}

fn ref_rule_matches(r: &GenRule, policy_ns: &str, other: RefPeer, proto: &str, port: u16) -> bool {
    let peer_ok = r.peers.is_empty()
        || r.peers
            .iter()
            .any(|p| ref_peer_matches(p, policy_ns, other));
    let port_ok = r.ports.is_empty()
        || r.ports
            .iter()
            .any(|(p, lo, hi)| *p == proto && *lo <= port && port <= hi.unwrap_or(*lo));
    peer_ok && port_ok
}

/// The reference: per direction, a pod selected by no policy of that direction is open;
/// otherwise some rule of some selecting policy must match. Both directions must allow.
fn ref_allowed(policies: &[GenPolicy], src: RefPeer, dst: RefPeer, proto: &str, port: u16) -> bool {
    let side = |me: RefPeer, other: RefPeer, ingress: bool| -> bool {
        let RefPeer::Pod(ns, app) = me else {
            return true;
        };
        let mut selected = false;
        for p in policies
            .iter()
            .filter(|p| p.ns == ns && p.app.is_none_or(|a| a == app))
        {
            let rules = if ingress { &p.ingress } else { &p.egress };
            if let Some(rules) = rules {
                selected = true;
                if rules
                    .iter()
                    .any(|r| ref_rule_matches(r, p.ns, other, proto, port))
                {
                    return true;
                }
            }
        }
        !selected
    };
    side(src, dst, false) && side(dst, src, true)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn network_policy_matches_the_reference(policies in prop::collection::vec(gen_policy(), 0..4)) {
        let mut yaml = String::new();
        for ns in NAMESPACES {
            yaml.push_str(&format!("---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{team: {ns}}}}}\n"));
        }
        for (i, p) in policies.iter().enumerate() {
            yaml.push_str(&policy_yaml(i, p));
        }
        let snap = load_clean(vec![(PathBuf::from("policies.yaml"), yaml.clone())]);
        prop_assert_eq!(snap.cluster.network_policies.len(), policies.len(), "{}", yaml);
        let cx = PolicyContext::new(&snap.cluster);
        let endpoint = |ns: &str, app: &str| Endpoint {
            namespace: ns.into(),
            labels: [("app".to_string(), app.to_string())].into_iter().collect(),
            named_ports: Vec::new(),
            service_account: None,
        };
        let mut peers: Vec<RefPeer> = Vec::new();
        for ns in NAMESPACES {
            for app in APPS {
                peers.push(RefPeer::Pod(ns, app));
            }
        }
        peers.push(RefPeer::Ext("192.0.2.9"));
        peers.push(RefPeer::Ext("198.51.100.7"));
        let eps: Vec<Option<Endpoint>> = peers.iter().map(|p| match p {
            RefPeer::Pod(ns, app) => Some(endpoint(ns, app)),
            RefPeer::Ext(_) => None,
        }).collect();
        let as_peer = |i: usize| -> Peer<'_> {
            match (&eps[i], peers[i]) {
                (Some(e), _) => Peer::Pod(e),
                (None, RefPeer::Ext(ip)) => Peer::External(ip.parse().unwrap()),
                (None, RefPeer::Pod(..)) => unreachable!(),
            }
        };
        for s in 0..peers.len() {
            for d in 0..peers.len() {
                if matches!((peers[s], peers[d]), (RefPeer::Ext(_), RefPeer::Ext(_))) {
                    continue;
                }
                for (proto, protocol) in [("TCP", Protocol::Tcp), ("UDP", Protocol::Udp)] {
                    for port in [80u16, 150, 443, 5432] {
                        let got = cx.evaluate_flow(as_peer(s), as_peer(d), protocol, port).allowed;
                        let want = ref_allowed(&policies, peers[s], peers[d], proto, port);
                        prop_assert_eq!(got, want, "{:?} -> {:?} {} {}\n{}", peers[s], peers[d], proto, port, yaml);
                    }
                }
            }
        }
    }
}

// ----- Istio AuthorizationPolicy against a naive reference ------------------------------------

/// One generated AuthorizationPolicy rule: source namespaces (None = any source) and
/// destination ports (None = any port).
#[derive(Debug, Clone)]
struct GenAuthzRule {
    namespaces: Option<Vec<&'static str>>,
    ports: Option<Vec<u16>>,
}

/// One generated AuthorizationPolicy in namespace `ns`, selecting `app` (None = every
/// workload of the namespace); `rules: None` writes no `rules` field at all.
#[derive(Debug, Clone)]
struct GenAuthz {
    ns: &'static str,
    app: Option<&'static str>,
    deny: bool,
    rules: Option<Vec<GenAuthzRule>>,
}

fn gen_authz() -> impl Strategy<Value = GenAuthz> {
    let rule = (
        prop::option::of(prop::collection::vec(
            prop::sample::select(NAMESPACES.to_vec()),
            1..3,
        )),
        prop::option::of(prop::collection::vec(
            prop::sample::select(vec![80u16, 443, 5432]),
            1..3,
        )),
    )
        .prop_map(|(namespaces, ports)| GenAuthzRule { namespaces, ports });
    (
        prop::sample::select(NAMESPACES.to_vec()),
        prop::option::of(prop::sample::select(APPS.to_vec())),
        prop::bool::ANY,
        prop::option::of(prop::collection::vec(rule, 0..3)),
    )
        .prop_map(|(ns, app, deny, rules)| GenAuthz {
            ns,
            app,
            deny,
            rules,
        })
}

fn authz_yaml(i: usize, p: &GenAuthz) -> String {
    let mut y = format!(
        "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: a{i}, namespace: {}}}\nspec:\n  action: {}\n",
        p.ns,
        if p.deny { "DENY" } else { "ALLOW" }
    );
    if let Some(app) = p.app {
        y.push_str(&format!("  selector: {{matchLabels: {{app: {app}}}}}\n"));
    }
    if let Some(rules) = &p.rules {
        if rules.is_empty() {
            y.push_str("  rules: []\n");
        } else {
            y.push_str("  rules:\n");
        }
        for r in rules {
            let mut parts = Vec::new();
            if let Some(ns) = &r.namespaces {
                parts.push(format!(
                    "from: [{{source: {{namespaces: [{}]}}}}]",
                    ns.join(", ")
                ));
            }
            if let Some(ports) = &r.ports {
                let ports: Vec<String> = ports.iter().map(|p| format!("\"{p}\"")).collect();
                parts.push(format!(
                    "to: [{{operation: {{ports: [{}]}}}}]",
                    ports.join(", ")
                ));
            }
            y.push_str(&format!("  - {{{}}}\n", parts.join(", ")));
        }
    }
    y
}

/// Istio's documented order: a matching DENY rule denies; else no ALLOW policy → allow; else a
/// matching ALLOW rule allows, nothing else does. A policy without rules matches nothing.
fn authz_reference(policies: &[GenAuthz], src_ns: &str, dst: (&str, &str), port: u16) -> bool {
    let applies = |p: &&GenAuthz| p.ns == dst.0 && p.app.is_none_or(|a| a == dst.1);
    let matches = |p: &GenAuthz| {
        p.rules.iter().flatten().any(|r| {
            r.namespaces.as_ref().is_none_or(|n| n.contains(&src_ns))
                && r.ports.as_ref().is_none_or(|ps| ps.contains(&port))
        })
    };
    let here: Vec<&GenAuthz> = policies.iter().filter(applies).collect();
    if here.iter().any(|p| p.deny && matches(p)) {
        return false;
    }
    let allows: Vec<&&GenAuthz> = here.iter().filter(|p| !p.deny).collect();
    allows.is_empty() || allows.iter().any(|p| matches(p))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn istio_authorization_matches_the_reference(policies in prop::collection::vec(gen_authz(), 0..4)) {
        let mut yaml = String::new();
        let mut ip = 10;
        for ns in NAMESPACES {
            yaml.push_str(&format!("---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{istio-injection: enabled}}}}\n"));
            for app in APPS {
                ip += 1;
                yaml.push_str(&format!(
                    "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {app}-0, namespace: {ns}, labels: {{app: {app}}}}}\nspec:\n  nodeName: node-a\n  containers:\n  - {{name: {app}, image: app}}\n  - {{name: istio-proxy, image: proxyv2}}\nstatus: {{phase: Running, podIP: 10.0.0.{ip}}}\n"
                ));
            }
        }
        for (i, p) in policies.iter().enumerate() {
            yaml.push_str(&authz_yaml(i, p));
        }
        let snap = load_clean(vec![(PathBuf::from("mesh.yaml"), yaml.clone())]);
        let objects = &snap.cluster;
        prop_assert_eq!(objects.pods.len(), 6);
        for src in &objects.pods {
            for dst in &objects.pods {
                for port in [80u16, 443, 5432, 8080] {
                    let req = netpath::policy::istio::MeshRequest::pod_to_pod(objects, src, dst, port);
                    let v = netpath::policy::istio::evaluate(objects, &req);
                    let src_ns = src.meta.namespace.as_deref().unwrap_or("default");
                    let dst_ns = dst.meta.namespace.as_deref().unwrap_or("default");
                    let app = dst.meta.labels.get("app").map(String::as_str).unwrap_or("");
                    let want = authz_reference(&policies, src_ns, (dst_ns, app), port);
                    let got = v.allowed == netpath::policy::istio::Tri::Allow;
                    prop_assert!(v.enforced, "{:?}", v);
                    prop_assert_eq!(got, want, "{} -> {}/{}:{} {:?}\n{}", src_ns, dst_ns, app, port, v, yaml);
                }
            }
        }
    }
}
