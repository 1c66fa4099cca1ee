use super::*;
use crate::ingest::load_texts;
use std::path::PathBuf;

fn objs(yaml: &str) -> ClusterObjects {
    let (snap, diags) = load_texts(vec![(PathBuf::from("t.yaml"), yaml.to_string())]);
    assert!(!diags.has_errors(), "{diags:?}");
    snap.cluster
}

fn ep(ns: &str, labels: &[(&str, &str)], ports: &[(&str, Protocol, u16)]) -> Endpoint {
    Endpoint {
        namespace: ns.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        named_ports: ports
            .iter()
            .map(|(n, p, port)| NamedPort {
                name: n.to_string(),
                protocol: *p,
                port: *port,
            })
            .collect(),
        service_account: None,
    }
}

const POLICIES: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {env: prod}}
      podSelector: {matchExpressions: [{key: app, operator: In, values: [api]}]}
    ports:
    - {port: pg, protocol: TCP}
    - {port: 9000, endPort: 9010}
  - from:
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-egress, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {}}]
    ports: [{port: pg}]
"#;

#[test]
fn and_vs_or_named_ports_ranges_and_except() {
    let o = objs(POLICIES);
    let cx = PolicyContext::new(&o);
    let db = ep("prod", &[("app", "db")], &[("pg", Protocol::Tcp, 5432)]);
    let api = ep("prod", &[("app", "api")], &[]);
    let web = ep("prod", &[("app", "web")], &[]);
    let a = cx.allowed(Peer::Pod(&api), Peer::Pod(&db), false);
    // egress named port resolves on the destination: 5432 only; ingress adds 9000-9010.
    assert_eq!(a.egress.conns.to_string(), "TCP 5432");
    assert_eq!(a.ingress.conns.to_string(), "TCP 5432,9000-9010");
    assert_eq!(a.conns.to_string(), "TCP 5432");
    assert!(cx
        .allowed(Peer::Pod(&web), Peer::Pod(&db), false)
        .conns
        .is_empty());
    // web is not isolated on egress: anything to api.
    assert!(cx
        .allowed(Peer::Pod(&web), Peer::Pod(&api), false)
        .conns
        .is_all());
    let ext: IpAddr = "10.2.3.4".parse().unwrap();
    assert!(cx
        .allowed(Peer::External(ext), Peer::Pod(&db), false)
        .conns
        .is_all());
    let v = cx.evaluate_flow(
        Peer::External("10.1.2.3".parse().unwrap()),
        Peer::Pod(&db),
        Protocol::Tcp,
        5432,
    );
    assert!(!v.allowed);
    assert!(v.deciding.iter().any(|c| c.effect == Effect::Except));
    assert!(v.deciding.iter().any(|c| c.effect == Effect::Isolate));
    let ok = cx.evaluate_flow(Peer::Pod(&api), Peer::Pod(&db), Protocol::Tcp, 5432);
    assert!(ok.allowed);
    assert_eq!(ok.deciding.len(), 2, "{:?}", ok.deciding);
    // a pod in another namespace with app=api does not match the AND peer.
    let other = ep("dev", &[("app", "api")], &[]);
    assert!(cx
        .allowed(Peer::Pod(&other), Peer::Pod(&db), false)
        .conns
        .is_empty());
}

#[test]
fn anp_priority_pass_and_banp() {
    let o = objs(
        r#"
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: first}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: a}}}
  ingress:
  - {action: Pass, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 80}}]}
  - {action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: b}}}], ports: [{portRange: {protocol: TCP, start: 1, end: 100}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 80}}]}
"#,
    );
    let cx = PolicyContext::new(&o);
    let a = ep("a", &[], &[]);
    let b = ep("b", &[], &[]);
    let got = cx.allowed(Peer::Pod(&b), Peer::Pod(&a), false).conns;
    assert_eq!(
        got.to_string(),
        "SCTP 1-65535,TCP 101-65535,UDP 1-65535",
        "80 passed to BANP (deny), 1-79 and 81-100 denied by ANP"
    );
}
