//! The matrix over NetworkPolicy and Istio layers on the bundled `models/eks-reference`.

use netpath::ingest::load_snapshot;
use netpath::matrix::{self, Grouping, Layers, Matrix, MatrixEndpoint};
use netpath::model::Protocol;
use netpath::report::matrix::{render_connlist, render_csv, render_json, render_text};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn model() -> netpath::model::cluster::ClusterObjects {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/eks-reference");
    let (snap, d) = load_snapshot(&root);
    assert!(!d.has_errors(), "{d:?}");
    snap.cluster
}

fn name_of(e: &MatrixEndpoint) -> String {
    match e {
        MatrixEndpoint::Pod { namespace, name } => format!("{namespace}/{name}"),
        other => format!("{other:?}"),
    }
}

/// Every cell whose src and dst names start with the given prefixes.
fn cells<'a>(
    m: &'a Matrix,
    src: &str,
    dst: &str,
) -> Vec<(
    &'a netpath::policy::netpol::ConnSet,
    &'a [matrix::istio::L7Narrowing],
)> {
    m.cells()
        .filter(|c| {
            let (s, d) = m.ends(c);
            name_of(s).starts_with(src) && name_of(d).starts_with(dst)
        })
        .map(|c| (m.conns(&c), m.narrowings(&c)))
        .collect()
}

#[test]
fn frontend_to_backend_is_narrowed_by_methods() {
    let o = model();
    let m = matrix::build(&o, Grouping::Pod);
    assert!(m.layers.istio && m.layers.netpol);
    let fb = cells(&m, "prod/frontend-", "prod/backend-");
    assert_eq!(fb.len(), 4, "2 frontends x 2 backends");
    for (c, l7) in fb {
        assert_eq!(c.ports(Protocol::Tcp).to_string(), "9090");
        assert!(!c.includes_portless());
        assert_eq!(l7.len(), 1, "{l7:?}");
        assert_eq!(l7[0].ports.to_string(), "9090");
        assert_eq!(l7[0].methods, vec!["GET".to_string(), "POST".to_string()]);
        assert!(
            l7[0]
                .conditions
                .iter()
                .any(|c| c.contains("prod/backend-deny-admin")),
            "{:?}",
            l7[0].conditions
        );
    }
    // JSON: the contract's L7 keys on the narrowed TCP entry.
    let json: Value = serde_json::from_str(&render_json(&m)).expect("valid JSON");
    let conns = json["connections"].as_array().expect("connections");
    let cell = conns
        .iter()
        .find(|c| {
            c["src"]
                .as_str()
                .is_some_and(|s| s.starts_with("prod/frontend-"))
                && c["dst"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("prod/backend-"))
        })
        .expect("frontend -> backend");
    let entry = &cell["allowed"][0];
    assert_eq!(entry["protocol"], "TCP");
    assert_eq!(entry["ports"], "9090");
    assert_eq!(entry["methods"], serde_json::json!(["GET", "POST"]));
    assert!(entry["conditions"].is_array());
}

#[test]
fn frontend_to_postgres_is_nothing() {
    let o = model();
    for layers in [
        Layers::all(),
        Layers {
            netpol: true,
            istio: false,
        },
    ] {
        let m = matrix::build_layers(&o, Grouping::Pod, layers);
        assert!(
            cells(&m, "prod/frontend-", "prod/postgres-0").is_empty(),
            "{layers:?}"
        );
    }
    // Istio alone: ALLOW only from backend's principal, so no TCP port; the sidecar does not
    // intercept UDP/SCTP, which Istio alone leaves open.
    let istio_only = matrix::build_layers(
        &o,
        Grouping::Pod,
        Layers {
            netpol: false,
            istio: true,
        },
    );
    let fp = cells(&istio_only, "prod/frontend-", "prod/postgres-0");
    assert_eq!(fp.len(), 2);
    for (c, l7) in fp {
        assert!(c.ports(Protocol::Tcp).is_empty(), "{c}");
        assert!(!c.ports(Protocol::Udp).is_empty(), "{c}");
        assert!(l7.is_empty());
    }
    // backend -> postgres: both layers allow 5432 (backend's principal), no L7 narrowing.
    let m = matrix::build(&o, Grouping::Pod);
    let bp = cells(&m, "prod/backend-", "prod/postgres-0");
    assert_eq!(bp.len(), 2);
    for (c, l7) in bp {
        assert_eq!(c.ports(Protocol::Tcp).to_string(), "5432");
        assert!(l7.is_empty());
    }
}

#[test]
fn istio_alone_narrows_tcp_only_and_rejects_plain_text_at_strict() {
    let o = model();
    let m = matrix::build_layers(
        &o,
        Grouping::Pod,
        Layers {
            netpol: false,
            istio: true,
        },
    );
    for (c, _) in cells(&m, "prod/frontend-", "prod/backend-") {
        assert_eq!(c.ports(Protocol::Tcp).to_string(), "9090");
        assert!(!c.ports(Protocol::Udp).is_empty(), "UDP is not intercepted");
    }
    // External sources are plain text: STRICT backend rejects every TCP port.
    for c in m.cells() {
        let (s, d) = m.ends(&c);
        if matches!(s, MatrixEndpoint::External { .. }) && name_of(d).starts_with("prod/backend-") {
            assert!(m.conns(&c).ports(Protocol::Tcp).is_empty(), "{s:?}");
        }
    }
}

#[test]
fn netpol_layer_alone_differs_where_istio_narrows() {
    let o = model();
    let np = matrix::build_layers(
        &o,
        Grouping::Pod,
        Layers {
            netpol: true,
            istio: false,
        },
    );
    let both = matrix::build(&o, Grouping::Pod);
    assert!(np.l7.iter().all(|v| v.is_empty()));
    for (c, l7) in cells(&np, "prod/frontend-", "prod/backend-") {
        assert_eq!(c.ports(Protocol::Tcp).to_string(), "9090");
        assert!(l7.is_empty());
    }
    assert_ne!(render_json(&np), render_json(&both));
    assert_ne!(render_text(&np), render_text(&both));
    assert_ne!(render_csv(&np), render_csv(&both));
    // fewer classes without the mesh key
    assert!(np.classes <= both.classes);
    // The connlist has no L7 column; on this model Istio removes no whole connection that
    // NetworkPolicy allows (the gateway accepts plain text), so only the L7 formats differ.
    let np_rows = cells(&np, "kube-system/coredns-", "prod/backend-");
    assert!(np_rows.is_empty(), "NetworkPolicy isolates backend");
    let lines = render_connlist(&both);
    assert!(!lines.contains("kube-system/coredns-787cb67946-4xvkl[Pod] => prod/"));
}

#[test]
fn cli_layers_and_determinism() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/eks-reference");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
            .arg("-s")
            .arg(&root)
            .arg("matrix")
            .args(args)
            .output()
            .expect("run netpath");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    for fmt in ["text", "json", "csv", "connlist"] {
        let a = run(&["-o", fmt]);
        let b = run(&["-o", fmt]);
        assert_eq!(a, b, "{fmt} not deterministic");
        let all = run(&["-o", fmt, "--layers", "netpol,istio"]);
        assert_eq!(a, all, "{fmt}: default is every layer present");
    }
    let np = String::from_utf8(run(&["-o", "json", "--layers", "netpol"])).expect("utf8");
    let def = String::from_utf8(run(&["-o", "json"])).expect("utf8");
    assert!(!np.contains("\"methods\""));
    assert!(def.contains("\"methods\":[\"GET\",\"POST\"]"));
    let bad = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .arg("-s")
        .arg(&root)
        .args(["matrix", "--layers", "bogus"])
        .output()
        .expect("run netpath");
    assert_eq!(bad.status.code(), Some(2));
}

const SA_SNAP: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: api-a, namespace: shop, labels: {app: api}}
spec:
  serviceAccountName: a
  containers: [{name: c}, {name: istio-proxy}]
status: {phase: Running, podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api-b, namespace: shop, labels: {app: api}}
spec:
  serviceAccountName: b
  containers: [{name: c}, {name: istio-proxy}]
status: {phase: Running, podIP: 10.1.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: api-plain, namespace: shop, labels: {app: api}}
spec:
  serviceAccountName: a
  containers: [{name: c}]
status: {phase: Running, podIP: 10.1.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: db}}
spec:
  containers: [{name: c, ports: [{containerPort: 5432}]}, {name: istio-proxy}]
status: {phase: Running, podIP: 10.1.0.9}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  action: ALLOW
  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/a]}}], to: [{operation: {ports: ["5432"]}}]}]
"#;

#[test]
fn service_account_and_sidecar_split_classes() {
    let (snap, d) = netpath::ingest::load_texts(vec![(
        std::path::PathBuf::from("s.yaml"),
        SA_SNAP.to_string(),
    )]);
    assert!(!d.has_errors(), "{d:?}");
    let m = matrix::build(&snap.cluster, Grouping::Pod);
    assert!(m.layers.istio);
    // api-a (sa a, meshed), api-b (sa b), api-plain (sa a, no sidecar), db: four classes.
    assert_eq!(m.classes, 4);
    let a = cells(&m, "shop/api-a", "shop/db-0");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].0.ports(Protocol::Tcp).to_string(), "5432");
    for src in ["shop/api-b", "shop/api-plain"] {
        for (c, _) in cells(&m, src, "shop/db-0") {
            assert!(c.ports(Protocol::Tcp).is_empty(), "{src}: {c}");
            assert!(
                !c.ports(Protocol::Udp).is_empty(),
                "{src}: UDP not intercepted"
            );
        }
    }
    // Without Istio every api pod reaches db on every port.
    let np = matrix::build_layers(
        &snap.cluster,
        Grouping::Pod,
        Layers {
            netpol: true,
            istio: false,
        },
    );
    for src in ["shop/api-a", "shop/api-b", "shop/api-plain"] {
        let c = cells(&np, src, "shop/db-0");
        assert!(c.len() == 1 && c[0].0.is_all(), "{src}");
    }
}

#[test]
fn workload_with_mixed_sidecars_is_warned() {
    let owner = "ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-rs, controller: true}]";
    let text = SA_SNAP
        .replace(
            "{name: api-a, namespace: shop, labels: {app: api}}",
            &format!("{{name: api-a, namespace: shop, labels: {{app: api}}, {owner}}}"),
        )
        .replace(
            "{name: api-plain, namespace: shop, labels: {app: api}}",
            &format!("{{name: api-plain, namespace: shop, labels: {{app: api}}, {owner}}}"),
        );
    let (snap, d) = netpath::ingest::load_texts(vec![(std::path::PathBuf::from("s.yaml"), text)]);
    assert!(!d.has_errors(), "{d:?}");
    let v = matrix::validate(&snap.cluster, Grouping::Workload);
    assert!(!v.has_errors());
    assert!(v.items.iter().any(|x| x.code == "owner-mesh-gap"), "{v:?}");
    assert!(!matrix::validate(&snap.cluster, Grouping::Pod)
        .items
        .iter()
        .any(|x| x.code == "owner-mesh-gap"));
}
