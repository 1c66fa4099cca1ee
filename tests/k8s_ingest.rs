//! Kubernetes ingest: the netpol-analyzer corpus, typed spot checks and bad-input locations.

use netpath::diag::{Diagnostics, Severity};
use netpath::ingest::load_texts;
use netpath::model::cluster::*;
use netpath::model::Protocol;
use netpath::model::Snapshot;
use netpath::source::{Locator, Provenance};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/netpol-analyzer");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("note: {} absent; corpus tests skipped", p.display());
        None
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(p);
        }
    }
}

fn load_dir(dir: &Path) -> (Snapshot, Diagnostics) {
    let mut files = Vec::new();
    collect(dir, &mut files);
    let inputs = files.into_iter().map(|p| {
        let text = std::fs::read_to_string(&p).unwrap();
        (p, text)
    });
    load_texts(inputs.collect())
}

fn load_one(name: &str, text: &str) -> (Snapshot, Diagnostics) {
    load_texts(vec![(PathBuf::from(name), text.to_string())])
}

/// Cases whose rejection is a peer-tool limitation or a cross-object check, not a per-object
/// Kubernetes validation error (README section D, "peer-specific").
const PEER_SPECIFIC: &[&str] = &[
    "bad_netpols_subdir6",
    "example_pods_w_same_owner_and_labels_gap_with_bad_match_expression",
    "semanticDiff-same-topologies-illegal-podlist",
];

#[test]
fn corpus_parses() {
    let Some(root) = corpus() else { return };
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("index.json")).unwrap()).unwrap();
    let mut ok = 0;
    let mut rejected = 0;
    let mut report = String::new();
    for case in index["cases"].as_array().unwrap() {
        let name = case["case"].as_str().unwrap();
        let category = case["category"].as_str().unwrap();
        let (snap, diags) = load_dir(&root.join("cases").join(name));
        let errors: Vec<_> = diags.errors().collect();
        if category == "np-error" {
            if PEER_SPECIFIC.contains(&name) {
                continue;
            }
            if errors.is_empty() {
                report.push_str(&format!("{name}: invalid case produced no error\n"));
            }
            for e in &errors {
                match &e.at {
                    Some(p) => assert!(
                        matches!(p.locator, Locator::At(lc) if lc.line > 0),
                        "{name}: unlocated {e:?}"
                    ),
                    None => panic!("{name}: error without location {e:?}"),
                }
            }
            rejected += 1;
        } else {
            if !errors.is_empty() {
                report.push_str(&format!("{name}:\n{}\n", diags.render(&snap.sources)));
            }
            assert!(snap.unrecognised.is_empty(), "{name}: unrecognised files");
            assert!(!snap.cluster.is_empty(), "{name}: nothing read");
            ok += 1;
        }
    }
    assert!(report.is_empty(), "{report}");
    eprintln!("netpol-analyzer: {ok} valid cases parsed without errors, {rejected} invalid cases rejected");
    assert!(ok >= 100 && rejected >= 9, "{ok} {rejected}");
}

/// The `(line, col)` of every error with `code`.
fn errors_with(d: &Diagnostics, code: &str) -> Vec<(u32, u32)> {
    d.errors()
        .filter(|e| e.code == code)
        .map(|e| match e.at.as_ref().map(|p| &p.locator) {
            Some(Locator::At(lc)) => (lc.line, lc.col),
            _ => panic!("unlocated {e:?}"),
        })
        .collect()
}

fn line_of(p: &Provenance) -> u32 {
    match p.locator {
        Locator::At(lc) => lc.line,
        _ => 0,
    }
}

#[test]
fn invalid_cases_give_the_right_errors() {
    let Some(root) = corpus() else { return };
    let expect = [
        ("bad_netpols_subdir1", "bad-cidr"),
        ("bad_netpols_subdir2", "bad-label"),
        ("bad_netpols_subdir3", "bad-peer"),
        ("bad_netpols_subdir4", "bad-peer"),
        ("bad_netpols_subdir7", "bad-label"),
        ("bad_path_namespace_with_same_name", "duplicate-object"),
        ("np_bad_path_test_1", "duplicate-object"),
        ("np_bad_path_test_2", "bad-port"),
        ("np_test_with_empty_port_range", "bad-port"),
    ];
    for (case, code) in expect {
        let (_, diags) = load_dir(&root.join("cases").join(case));
        assert!(
            !errors_with(&diags, code).is_empty(),
            "{case}: {:?}",
            diags.items
        );
    }
}

#[test]
fn corpus_spot_checks() {
    let Some(root) = corpus() else { return };
    let (snap, _) = load_dir(&root.join("cases/anp_test_named_ports_multiple_peers"));
    let anp = &snap.cluster.admin_network_policies[0];
    assert_eq!(anp.priority, 30);
    assert_eq!(anp.egress.len(), 2);
    assert_eq!(anp.egress[0].action, AnpAction::Allow);
    assert_eq!(anp.egress[1].action, AnpAction::Deny);
    assert!(
        matches!(&anp.egress[0].peers[0], AnpPeer::Networks(n) if n[0].to_string() == "104.154.164.170/32")
    );
    let ports = anp.egress[0].ports.as_ref().unwrap();
    assert_eq!(
        ports[0],
        AnpPort::Range {
            protocol: Protocol::Udp,
            start: 5000,
            end: 6000
        }
    );
    assert_eq!(ports[2], AnpPort::Named("dns".into()));
    assert!(anp.egress[1].ports.is_none());
    assert!(
        matches!(&anp.subject, AnpSubject::Namespaces(s) if s.match_labels["apps"] == "all-apps")
    );
    assert!(line_of(&anp.egress[1].at) > line_of(&anp.egress[0].at));

    // JSON lists whose items omit kind.
    let (snap, diags) = load_dir(&root.join("cases/semanticDiff-same-topologies-old1"));
    assert!(!diags.has_errors());
    assert!(!snap.cluster.pods.is_empty());
    let pod = &snap.cluster.pods[0];
    assert!(line_of(&pod.meta.at) > 1, "JSON objects keep their line");
}

const POLICY: &str = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api
  namespace: prod
spec:
  podSelector:
    matchExpressions:
    - {key: app, operator: In, values: [api, web]}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports:
    - port: 8080
    - {port: http, protocol: UDP}
    - {port: 9000, endPort: 9010}
  - {}
  egress: []
---
---
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
"#;

#[test]
fn network_policy_typed_values_and_rule_lines() {
    let (snap, diags) = load_one("np.yaml", POLICY);
    assert!(!diags.has_errors(), "{}", diags.render(&snap.sources));
    let np = &snap.cluster.network_policies[0];
    assert_eq!(np.meta.key(), "prod/api");
    assert_eq!(
        np.pod_selector.match_expressions[0].operator,
        SelectorOperator::In
    );
    assert_eq!(np.ingress.len(), 2);
    assert_eq!(line_of(&np.ingress[0].at), 11);
    assert_eq!(line_of(&np.ingress[1].at), 19);
    assert_eq!(line_of(&np.meta.at), 1);
    assert!(np.ingress[1].peers.is_empty() && np.ingress[1].ports.is_empty());
    let r = &np.ingress[0];
    assert!(
        r.peers[0].namespace_selector.is_some()
            && r.peers[0].pod_selector.as_ref().unwrap().is_empty()
    );
    let ib = r.peers[1].ip_block.as_ref().unwrap();
    assert_eq!(ib.except[0].to_string(), "10.1.0.0/16");
    assert_eq!(r.ports[0].port, Some(PortRef::Number(8080)));
    assert_eq!(r.ports[1].port, Some(PortRef::Name("http".into())));
    assert_eq!(r.ports[1].protocol, Protocol::Udp);
    assert_eq!(r.ports[2].end_port, Some(9010));
    assert_eq!(np.effective_policy_types(), vec![PolicyType::Ingress]);
    assert_eq!(snap.cluster.unsupported.len(), 1);
    assert!(diags
        .items
        .iter()
        .any(|d| d.code == "unsupported-kind" && d.severity == Severity::Unsupported));
}

#[test]
fn bad_values_are_located() {
    let text = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad}
spec:
  podSelector:
    matchExpressions:
    - {key: app, operator: Includes, values: [a]}
  ingress:
  - from:
    - ipBlock:
        cidr: 10.0.0.0/33
    ports:
    - port: 70000
    - port: [1]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
status:
  podIP: 10.0.0.999
"#;
    let (_, diags) = load_one("bad.yaml", text);
    assert_eq!(errors_with(&diags, "bad-selector"), vec![(7, 28)]);
    assert_eq!(errors_with(&diags, "bad-cidr"), vec![(11, 15)]);
    assert_eq!(errors_with(&diags, "bad-port"), vec![(13, 13)]);
    assert_eq!(errors_with(&diags, "k8s-shape"), vec![(14, 13)]);
    assert_eq!(errors_with(&diags, "bad-ip"), vec![(20, 10)]);
    let e = diags.errors().find(|e| e.code == "k8s-shape").unwrap();
    assert_eq!(
        e.expected.as_deref(),
        Some("port: an integer 1-65535 or a port name")
    );
}

#[test]
fn yaml_and_json_syntax_errors() {
    let (_, diags) = load_one(
        "s.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a\n",
    );
    assert!(
        diags
            .errors()
            .any(|e| e.code == "yaml-syntax" && e.at.is_some()),
        "{:?}",
        diags.items
    );
    let mut d = Diagnostics::default();
    let mut out = ClusterObjects::default();
    netpath::ingest::k8s::read_json(
        netpath::source::FileId(0),
        "{\"kind\": \"Pod\",\n \"x\": }",
        &mut out,
        &mut d,
    );
    assert_eq!(errors_with(&d, "json-syntax"), vec![(2, 7)]);
}

#[test]
fn json_list_with_positions() {
    let text = r#"{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "web", "namespace": "prod",
       "annotations": {"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"}},
     "spec": {"type": "LoadBalancer", "clusterIP": "172.20.0.10", "clusterIPs": ["172.20.0.10"],
              "externalTrafficPolicy": "Local", "selector": {"app": "web"},
              "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080, "protocol": "TCP"}],
              "loadBalancerSourceRanges": ["203.0.113.0/24"]},
     "status": {"loadBalancer": {"ingress": [{"hostname": "k8s-prod-web.elb.amazonaws.com"}]}}},
    {"apiVersion": "v1", "kind": "Node",
     "metadata": {"name": "ip-10-0-1-23", "labels": {"topology.kubernetes.io/zone": "us-east-2a"}},
     "spec": {"providerID": "aws:///us-east-2a/i-0abc", "podCIDR": "10.244.1.0/24"},
     "status": {"addresses": [{"type": "InternalIP", "address": "10.0.1.23"}, {"type": "Hostname", "address": "ip-10-0-1-23"}]}},
    {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "aws-node", "namespace": "kube-system"},
     "spec": {"selector": {"matchLabels": {"k8s-app": "aws-node"}},
              "template": {"metadata": {"labels": {"k8s-app": "aws-node"}},
                           "spec": {"hostNetwork": true, "containers": [{"name": "aws-node",
                             "env": [{"name": "AWS_VPC_K8S_CNI_EXTERNALSNAT", "value": "true"},
                                     {"name": "MY_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]}}}}
  ]
}"#;
    let (snap, diags) = load_one("all.json", text);
    assert!(!diags.has_errors(), "{}", diags.render(&snap.sources));
    let svc = &snap.cluster.services[0];
    assert_eq!(line_of(&svc.meta.at), 5);
    assert_eq!(svc.service_type, ServiceType::LoadBalancer);
    assert_eq!(svc.external_traffic_policy, Some(TrafficPolicy::Local));
    assert_eq!(svc.ports[0].target_port, Some(PortRef::Name("http".into())));
    assert_eq!(svc.ports[0].node_port, Some(30080));
    assert_eq!(svc.nlb_target_type(), Some("ip"));
    assert_eq!(
        svc.load_balancer_ingress[0].hostname.as_deref(),
        Some("k8s-prod-web.elb.amazonaws.com")
    );
    let node = &snap.cluster.nodes[0];
    assert_eq!(line_of(&node.meta.at), 13);
    let aws = node.aws_instance.as_ref().unwrap();
    assert_eq!(
        (aws.availability_zone.as_str(), aws.instance_id.as_str()),
        ("us-east-2a", "i-0abc")
    );
    assert_eq!(node.internal_ip().unwrap().to_string(), "10.0.1.23");
    assert_eq!(node.pod_cidrs[0].to_string(), "10.244.1.0/24");
    let ds = snap.cluster.daemon_set("kube-system", "aws-node").unwrap();
    assert_eq!(ds.env_value("AWS_VPC_K8S_CNI_EXTERNALSNAT"), Some("true"));
    assert_eq!(ds.env_value("MY_NODE_NAME"), None);
    assert!(ds.template.host_network);
}

const ISTIO: &str = r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: none, namespace: prod}
spec:
  action: DENY
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: empty, namespace: prod}
spec:
  rules: []
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: all, namespace: prod}
spec:
  selector: {matchLabels: {app: api}}
  rules:
  - {}
  - from:
    - source:
        principals: ["cluster.local/ns/prod/sa/web"]
        notNamespaces: [dev]
        ipBlocks: [10.0.0.1, 10.1.0.0/16]
    to:
    - operation: {ports: ["8080"], methods: [GET], notPaths: ["/admin*"]}
    when:
    - {key: "request.headers[x]", values: [a], notValues: [b]}
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
  portLevelMtls:
    8080: {mode: PERMISSIVE}
---
apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata: {name: default-ipv4-ippool}
spec: {cidr: 192.168.0.0/16, vxlanMode: CrossSubnet, ipipMode: Never, natOutgoing: true}
---
apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {role: db}}
  securityGroups: {groupIds: [sg-0123]}
---
apiVersion: crd.k8s.amazonaws.com/v1alpha1
kind: ENIConfig
metadata: {name: us-east-2a}
spec: {subnet: subnet-0abc, securityGroups: [sg-1]}
"#;

#[test]
fn istio_and_cni_kinds() {
    let (snap, diags) = load_one("mesh.yaml", ISTIO);
    assert!(!diags.has_errors(), "{}", diags.render(&snap.sources));
    let aps = &snap.cluster.authorization_policies;
    assert_eq!(aps[0].action, AuthzAction::Deny);
    assert!(aps[0].rules.is_none());
    assert_eq!(aps[1].rules.as_ref().map(Vec::len), Some(0));
    let rules = aps[2].rules.as_ref().unwrap();
    assert_eq!(rules.len(), 2);
    assert!(rules[0].from.is_none() && rules[0].to.is_none() && rules[0].when.is_none());
    assert_eq!(line_of(&rules[0].at), 19);
    assert_eq!(line_of(&rules[1].at), 20);
    let src = &rules[1].from.as_ref().unwrap()[0];
    assert_eq!(src.principals, ["cluster.local/ns/prod/sa/web"]);
    assert_eq!(src.ip_blocks[0].to_string(), "10.0.0.1/32");
    let op = &rules[1].to.as_ref().unwrap()[0];
    assert_eq!(op.ports, [8080]);
    assert_eq!(rules[1].when.as_ref().unwrap()[0].not_values, ["b"]);
    assert_eq!(aps[2].selector.as_ref().unwrap()["app"], "api");
    let pa = &snap.cluster.peer_authentications[0];
    assert_eq!(pa.mtls_mode, Some(MtlsMode::Strict));
    assert_eq!(pa.port_level_mtls.get(&8080), Some(&MtlsMode::Permissive));
    let pool = &snap.cluster.ip_pools[0];
    assert_eq!(pool.vxlan_mode, EncapMode::CrossSubnet);
    assert!(pool.nat_outgoing);
    assert_eq!(
        snap.cluster.security_group_policies[0].group_ids,
        ["sg-0123"]
    );
    assert_eq!(
        snap.cluster.eni_configs[0].subnet.as_deref(),
        Some("subnet-0abc")
    );
}

#[test]
fn large_streams_and_alias_bombs() {
    // 10^5 documents in release builds; fewer in debug builds, where serde-saphyr is slow.
    let n = if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    };
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{i}}}\n"
        ));
    }
    let t0 = std::time::Instant::now();
    let (snap, diags) = load_one("many.yaml", &text);
    eprintln!("{n} documents: {:?}", t0.elapsed());
    assert!(!diags.has_errors());
    assert_eq!(snap.cluster.namespaces.len(), n);
    assert_eq!(
        line_of(&snap.cluster.namespaces[n - 1].meta.at),
        4 * n as u32 - 2
    );

    if cfg!(debug_assertions) {
        eprintln!("note: alias-bomb check runs in release builds only (it is slow unoptimised)");
        return;
    }
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let t0 = std::time::Instant::now();
    let (_, diags) = load_one("bomb.yaml", &bomb);
    eprintln!("alias bomb rejected in {:?}", t0.elapsed());
    assert!(
        diags.errors().any(|e| e.code == "yaml-syntax"),
        "{:?}",
        diags.items
    );
}

fn pod_json(name: &str, with_type: bool) -> String {
    let head = if with_type {
        r#""apiVersion": "v1", "kind": "Pod", "#
    } else {
        ""
    };
    format!(
        r#"{{{head}"metadata": {{"name": "{name}", "namespace": "default"}}, "spec": {{"nodeName": "n1", "containers": []}}, "status": {{"podIP": "10.1.0.7"}}}}"#
    )
}

fn pod_names(snap: &Snapshot) -> Vec<String> {
    snap.cluster
        .pods
        .iter()
        .map(|p| p.meta.name.clone())
        .collect()
}

#[test]
fn lists_read_item_by_item_give_what_the_whole_tree_gives() {
    // Items that name their own kind are lowered as they are read.
    let list = format!(
        r#"{{"apiVersion": "v1", "items": [{}, {}], "kind": "List", "metadata": {{}}}}"#,
        pod_json("a", true),
        pod_json("b", true)
    );
    let (snap, d) = load_texts(vec![(PathBuf::from("pods.json"), list.clone())]);
    assert!(d.items.is_empty(), "{}", d.render(&snap.sources));
    assert_eq!(pod_names(&snap), ["a", "b"]);

    // An item without its own kind takes the list's (PodList): the first item, already lowered
    // when the second is met, is not kept twice.
    let implied = format!(
        r#"{{"apiVersion": "v1", "items": [{}, {}], "kind": "PodList"}}"#,
        pod_json("a", true),
        pod_json("b", false)
    );
    let (snap, d) = load_texts(vec![(PathBuf::from("pods.json"), implied)]);
    assert!(d.items.is_empty(), "{}", d.render(&snap.sources));
    assert_eq!(pod_names(&snap), ["a", "b"]);

    // `items` in an object that is not a list are not objects of the snapshot.
    let not_a_list = format!(
        r#"{{"apiVersion": "example.com/v1", "kind": "Bundle", "metadata": {{"name": "x"}}, "items": [{}]}}"#,
        pod_json("a", true)
    );
    let (snap, _) = load_texts(vec![(PathBuf::from("bundle.json"), not_a_list)]);
    assert!(pod_names(&snap).is_empty());
    assert_eq!(snap.cluster.unsupported.len(), 1);

    // The same pod in two files is still found twice.
    let (snap, d) = load_texts(vec![
        (PathBuf::from("a.json"), list.clone()),
        (PathBuf::from("b.json"), list),
    ]);
    let dup = d
        .items
        .iter()
        .filter(|x| x.code == "duplicate-object")
        .count();
    assert_eq!(dup, 2, "{}", d.render(&snap.sources));
}
