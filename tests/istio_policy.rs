//! Istio PeerAuthentication and AuthorizationPolicy evaluation on in-memory snapshots.

use netpath::ingest::load_texts;
use netpath::model::cluster::Pod;
use netpath::model::{Protocol, Snapshot};
use netpath::policy::istio::*;
use netpath::source::Provenance;
use std::net::IpAddr;
use std::path::PathBuf;

/// Namespaces and pods shared by every test. `default/client` (sa sleep) and
/// `legacy/meshed` are in the mesh; `legacy/plain` is not; `default/server` (app=server) and
/// `default/other` (app=other) are meshed destinations.
const BASE: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec:
  serviceAccountName: sleep
  containers: [{name: app}, {name: istio-proxy}]
status: {phase: Running, podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: legacy, labels: {app: plain}}
spec:
  containers: [{name: app}]
status: {phase: Running, podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: meshed, namespace: legacy, labels: {app: meshed}}
spec:
  serviceAccountName: bot
  containers: [{name: app}, {name: istio-proxy}]
status: {phase: Running, podIP: 10.0.1.2}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: default, labels: {app: server}}
spec:
  serviceAccountName: httpbin
  containers: [{name: app}, {name: istio-proxy}]
status: {phase: Running, podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: default, labels: {app: other}}
spec:
  containers: [{name: app}, {name: istio-proxy}]
status: {phase: Running, podIP: 10.0.0.3}
"#;

struct World {
    snap: Snapshot,
    text: String,
}

fn world(policies: &str) -> World {
    let text = format!("{BASE}---\n{policies}");
    let (snap, diags) = load_texts(vec![(PathBuf::from("mesh.yaml"), text.clone())]);
    assert!(!diags.has_errors(), "{diags:?}");
    World { snap, text }
}

impl World {
    fn pod(&self, ns: &str, name: &str) -> &Pod {
        self.snap
            .cluster
            .pods
            .iter()
            .find(|p| p.meta.name == name && p.meta.namespace_or_default() == ns)
            .unwrap_or_else(|| panic!("no pod {ns}/{name}"))
    }
    fn tcp(&self, src: (&str, &str), dst: (&str, &str), port: u16) -> AuthzVerdict {
        self.tcp_in(&MeshConfig::default(), src, dst, port)
    }
    fn tcp_in(
        &self,
        mesh: &MeshConfig,
        src: (&str, &str),
        dst: (&str, &str),
        port: u16,
    ) -> AuthzVerdict {
        let req = MeshRequest::pod_to_pod(
            &self.snap.cluster,
            self.pod(src.0, src.1),
            self.pod(dst.0, dst.1),
            port,
        );
        evaluate_in(&self.snap.cluster, mesh, &req)
    }
    fn http(&self, src: (&str, &str), dst: (&str, &str), port: u16, h: HttpAttrs) -> AuthzVerdict {
        let mut req = MeshRequest::pod_to_pod(
            &self.snap.cluster,
            self.pod(src.0, src.1),
            self.pod(dst.0, dst.1),
            port,
        );
        req.http = Some(h);
        evaluate(&self.snap.cluster, &req)
    }
    fn line(&self, at: &Provenance) -> u32 {
        self.snap.sources.resolve(at).line
    }
    /// The 1-based line of the only line containing `marker`.
    fn line_of(&self, marker: &str) -> u32 {
        let hits: Vec<usize> = self
            .text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_end().ends_with(marker))
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(hits.len(), 1, "marker {marker}");
        hits[0] as u32
    }
    /// Asserts that the verdict cites `policy` (rule `rule`) at the line marked `marker`.
    fn assert_cites(&self, v: &AuthzVerdict, policy: &str, rule: Option<usize>, marker: &str) {
        let want = self.line_of(marker);
        assert!(
            v.deciding
                .iter()
                .any(|c| c.policy == policy && c.rule == rule && self.line(&c.at) == want),
            "expected {policy} rule {rule:?} at line {want}, got {:#?}",
            v.deciding
        );
    }
}

const CLIENT: (&str, &str) = ("default", "client");
const PLAIN: (&str, &str) = ("legacy", "plain");
const MESHED: (&str, &str) = ("legacy", "meshed");
const SERVER: (&str, &str) = ("default", "server");
const OTHER: (&str, &str) = ("default", "other");

fn get() -> HttpAttrs {
    HttpAttrs {
        method: Some("GET".into()),
        path: Some("/info".into()),
        host: Some("server.default.svc".into()),
        headers: None,
    }
}

// ---------------------------------------------------------------- PeerAuthentication

#[test]
fn strict_rejects_plaintext_from_non_mesh_pod() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @pa
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: STRICT}}
"#,
    );
    let v = w.tcp(PLAIN, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Deny);
    assert!(v.enforced);
    assert!(!v.mtls);
    assert_eq!(v.peer_auth.mode, PeerMode::Strict);
    w.assert_cites(&v, "default/default", None, "# @pa");
    assert!(v.deciding[0].why.contains("rejected before authorization"));

    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert!(v.mtls);
    assert_eq!(
        v.identity.as_deref(),
        Some("spiffe://cluster.local/ns/default/sa/sleep")
    );
    let pa = v.peer_auth.citation.as_ref().unwrap();
    assert_eq!(w.line(&pa.at), w.line_of("# @pa"));
}

#[test]
fn permissive_by_default_accepts_both() {
    let w = world("");
    let v = w.tcp(PLAIN, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert!(!v.mtls);
    assert_eq!(v.identity, None);
    assert_eq!(v.peer_auth.mode, PeerMode::Permissive);
    assert!(v.peer_auth.citation.is_none());
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert!(v.mtls);
}

#[test]
fn explicit_permissive_and_disable() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @ns
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: PERMISSIVE}}
---
apiVersion: security.istio.io/v1  # @off
kind: PeerAuthentication
metadata: {name: off, namespace: default}
spec:
  selector: {matchLabels: {app: other}}
  mtls: {mode: DISABLE}
"#,
    );
    let v = w.tcp(PLAIN, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert_eq!(v.peer_auth.mode, PeerMode::Permissive);
    let pa = v.peer_auth.citation.unwrap();
    assert_eq!(w.line(&pa.at), w.line_of("# @ns"));
    // DISABLE: even a meshed client talks plain text.
    let v = w.tcp(CLIENT, OTHER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert!(!v.mtls);
    assert_eq!(v.peer_auth.mode, PeerMode::Disable);
    assert_eq!(
        w.line(&v.peer_auth.citation.unwrap().at),
        w.line_of("# @off")
    );
}

#[test]
fn port_level_mtls_overrides_and_unset_inherits() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @mesh
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1  # @nsunset
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: UNSET}}
---
apiVersion: security.istio.io/v1  # @wl
kind: PeerAuthentication
metadata: {name: server, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  portLevelMtls:
    8080: {mode: PERMISSIVE}
"#,
    );
    // Port 8080 of the server: port-level PERMISSIVE.
    let v = w.tcp(PLAIN, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert_eq!(v.peer_auth.mode, PeerMode::Permissive);
    let c = v.peer_auth.citation.as_ref().unwrap();
    assert_eq!(w.line(&c.at), w.line_of("# @wl"));
    assert!(c.why.contains("portLevelMtls[8080]"));
    // Port 9090: the workload policy has no mode, the namespace one is UNSET → mesh STRICT.
    let v = w.tcp(PLAIN, SERVER, 9090);
    assert_eq!(v.allowed, Tri::Deny);
    assert_eq!(v.peer_auth.mode, PeerMode::Strict);
    w.assert_cites(&v, "istio-system/default", None, "# @mesh");
    // Another workload in the namespace: mesh STRICT as well.
    assert_eq!(w.tcp(PLAIN, OTHER, 8080).allowed, Tri::Deny);
}

#[test]
fn root_namespace_peer_auth_with_selector_is_ignored() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: sel, namespace: istio-system}
spec:
  selector: {matchLabels: {app: server}}
  mtls: {mode: STRICT}
"#,
    );
    let v = w.tcp(PLAIN, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert_eq!(v.peer_auth.mode, PeerMode::Permissive);
    assert!(v.notes.iter().any(|n| n.contains("root namespace")));
}

// ---------------------------------------------------------------- evaluation order

#[test]
fn deny_is_evaluated_before_allow() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @allowall
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: default}
spec:
  rules:
  - {}  # @allowall-r0
---
apiVersion: security.istio.io/v1  # @deny
kind: AuthorizationPolicy
metadata: {name: deny-default, namespace: default}
spec:
  action: DENY
  rules:
  - from:  # @deny-r0
    - source: {namespaces: [default]}
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/deny-default", Some(0), "# @deny-r0");
    // Plain text has no namespace: the DENY by namespace is bypassed (ISTIO-SECURITY-2021-004).
    let v = w.tcp(PLAIN, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    w.assert_cites(&v, "default/allow-all", Some(0), "# @allowall-r0");
    assert!(v.deciding[0].why.contains("matches everything"));
}

#[test]
fn allow_policies_without_a_match_deny() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @p
kind: AuthorizationPolicy
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  action: ALLOW
  rules:
  - to:  # @p-r0
    - operation: {ports: ["8080"]}
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    w.assert_cites(&v, "default/web", Some(0), "# @p-r0");
    let v = w.tcp(CLIENT, SERVER, 9090);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/web", None, "# @p");
    assert!(v.deciding[0].why.contains("ports"), "{:?}", v.deciding);
}

#[test]
fn no_allow_policy_means_allow() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @d
kind: AuthorizationPolicy
metadata: {name: no-ssh, namespace: default}
spec:
  action: DENY
  rules:
  - to:  # @d-r0
    - operation: {ports: ["22"]}
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert!(v.deciding.is_empty());
    assert!(v.notes.iter().any(|n| n.contains("no ALLOW policy")));
    let v = w.tcp(PLAIN, SERVER, 22);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/no-ssh", Some(0), "# @d-r0");
}

// ---------------------------------------------------------------- rules absent / [] / [{}]

#[test]
fn allow_with_absent_rules_allows_nothing() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @nothing
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: default}
spec: {}
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/allow-nothing", None, "# @nothing");
    assert!(v.deciding[0].why.contains("rules absent"));
}

#[test]
fn allow_with_empty_rules_allows_nothing() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @empty
kind: AuthorizationPolicy
metadata: {name: empty, namespace: default}
spec:
  rules: []
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/empty", None, "# @empty");
    assert!(v.deciding[0].why.contains("rules: []"));
}

#[test]
fn deny_with_absent_rules_denies_nothing() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-nothing, namespace: default}
spec: {action: DENY}
"#,
    );
    assert_eq!(w.tcp(CLIENT, SERVER, 8080).allowed, Tri::Allow);
}

#[test]
fn deny_with_one_empty_rule_denies_everything() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: default}
spec:
  action: DENY
  rules:
  - {}  # @da-r0
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: default}
spec:
  rules:
  - {}
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/deny-all", Some(0), "# @da-r0");
}

// ---------------------------------------------------------------- identity and mTLS

#[test]
fn principals_need_mtls() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @pp
kind: AuthorizationPolicy
metadata: {name: only-sleep, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  rules:
  - from:  # @pp-r0
    - source: {principals: ["cluster.local/ns/default/sa/sleep"]}
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    w.assert_cites(&v, "default/only-sleep", Some(0), "# @pp-r0");
    // Plain text: empty principal, no match → deny.
    let v = w.tcp(PLAIN, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/only-sleep", None, "# @pp");
    assert!(v.deciding[0].why.contains("(empty)"));
    // mTLS but another service account → deny.
    assert_eq!(w.tcp(MESHED, SERVER, 8080).allowed, Tri::Deny);
    // `cluster.local` in a policy points at the mesh's real trust domain.
    let mesh = MeshConfig {
        trust_domain: "my-td".into(),
        ..MeshConfig::default()
    };
    let v = w.tcp_in(&mesh, CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert_eq!(
        v.identity.as_deref(),
        Some("spiffe://my-td/ns/default/sa/sleep")
    );
}

#[test]
fn principal_globs() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mtls-only, namespace: default}
spec:
  rules:
  - from:
    - source: {principals: ["*"]}
  - from:
    - source: {principals: ["*/sa/bot"]}
    to:
    - operation: {ports: ["7000"]}
"#,
    );
    assert_eq!(w.tcp(CLIENT, SERVER, 1).allowed, Tri::Allow);
    assert_eq!(w.tcp(PLAIN, SERVER, 1).allowed, Tri::Deny);
}

#[test]
fn not_namespaces_matches_plaintext() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: not-legacy, namespace: default}
spec:
  rules:
  - from:  # @nn-r0
    - source: {notNamespaces: [legacy]}
"#,
    );
    // Meshed client from legacy: identity namespace legacy → excluded → deny.
    assert_eq!(w.tcp(MESHED, SERVER, 8080).allowed, Tri::Deny);
    // Plain text from legacy: namespace is empty, not in [legacy] → allowed (the pitfall).
    let v = w.tcp(PLAIN, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    w.assert_cites(&v, "default/not-legacy", Some(0), "# @nn-r0");
    assert_eq!(w.tcp(CLIENT, SERVER, 8080).allowed, Tri::Allow);
}

#[test]
fn service_accounts_field() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: sa, namespace: default}
spec:
  rules:
  - from:
    - source: {serviceAccounts: [sleep, "legacy/bot"]}
"#,
    );
    assert_eq!(w.tcp(CLIENT, SERVER, 80).allowed, Tri::Allow);
    assert_eq!(w.tcp(MESHED, SERVER, 80).allowed, Tri::Allow);
    assert_eq!(w.tcp(PLAIN, SERVER, 80).allowed, Tri::Deny);
}

#[test]
fn ip_blocks_use_the_source_ip() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ips, namespace: default}
spec:
  rules:
  - from:  # @ip-r0
    - source: {ipBlocks: ["10.0.1.0/24"], notIpBlocks: ["10.0.1.2"]}
"#,
    );
    let v = w.tcp(PLAIN, SERVER, 80);
    assert_eq!(v.allowed, Tri::Allow);
    w.assert_cites(&v, "default/ips", Some(0), "# @ip-r0");
    assert_eq!(w.tcp(MESHED, SERVER, 80).allowed, Tri::Deny);
    assert_eq!(w.tcp(CLIENT, SERVER, 80).allowed, Tri::Deny);
    // Unknown source IP: undecidable.
    let mut req = MeshRequest::pod_to_pod(
        &w.snap.cluster,
        w.pod("legacy", "plain"),
        w.pod("default", "server"),
        80,
    );
    req.src_ip = None;
    let v = evaluate(&w.snap.cluster, &req);
    assert_eq!(v.allowed, Tri::Undecidable);
    assert!(v.undecided[0].contains("source IP"));
    // An external client (no pod) by address.
    req.src = None;
    req.src_ip = Some("10.0.1.9".parse::<IpAddr>().unwrap());
    assert_eq!(evaluate(&w.snap.cluster, &req).allowed, Tri::Allow);
}

// ---------------------------------------------------------------- HTTP-only fields on TCP

#[test]
fn http_only_field_in_allow_never_matches_tcp() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @tcpallow
kind: AuthorizationPolicy
metadata: {name: tcp-policy, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  action: ALLOW
  rules:
  - to:  # @tcpallow-r0
    - operation:
        methods: ["GET"]
        ports: ["9000"]
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 9000);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/tcp-policy", None, "# @tcpallow");
    assert!(v.deciding[0].why.contains("HTTP-only methods"));
    assert_eq!(w.tcp(CLIENT, SERVER, 9001).allowed, Tri::Deny);
    // As HTTP the rule applies.
    let v = w.http(CLIENT, SERVER, 9000, get());
    assert_eq!(v.allowed, Tri::Allow);
    w.assert_cites(&v, "default/tcp-policy", Some(0), "# @tcpallow-r0");
    let post = HttpAttrs {
        method: Some("POST".into()),
        ..get()
    };
    assert_eq!(w.http(CLIENT, SERVER, 9000, post).allowed, Tri::Deny);
    // HTTP with an unknown method: undecidable, naming what would settle it.
    let v = w.http(CLIENT, SERVER, 9000, HttpAttrs::default());
    assert_eq!(v.allowed, Tri::Undecidable);
    assert!(
        v.undecided
            .iter()
            .any(|u| u.contains("default/tcp-policy rules[0]") && u.contains("--http-method")),
        "{:?}",
        v.undecided
    );
}

#[test]
fn http_only_field_in_deny_matches_all_tcp() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-get, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  action: DENY
  rules:
  - to:  # @dg-r0
    - operation: {methods: ["GET"]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-get-9000, namespace: default}
spec:
  selector: {matchLabels: {app: other}}
  action: DENY
  rules:
  - to:  # @dg9-r0
    - operation: {methods: ["GET"], ports: ["9000"]}
"#,
    );
    // methods alone: every TCP port of the server is denied.
    for port in [9000, 9001, 22] {
        let v = w.tcp(CLIENT, SERVER, port);
        assert_eq!(v.allowed, Tri::Deny, "port {port}");
        w.assert_cites(&v, "default/deny-get", Some(0), "# @dg-r0");
        assert!(v.deciding[0].why.contains("HTTP-only methods"));
    }
    // As HTTP, only GET is denied.
    let post = HttpAttrs {
        method: Some("POST".into()),
        ..get()
    };
    assert_eq!(w.http(CLIENT, SERVER, 9000, post).allowed, Tri::Allow);
    assert_eq!(w.http(CLIENT, SERVER, 9000, get()).allowed, Tri::Deny);
    // Scoped to a port: only that port.
    let v = w.tcp(CLIENT, OTHER, 9000);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/deny-get-9000", Some(0), "# @dg9-r0");
    assert_eq!(w.tcp(CLIENT, OTHER, 9001).allowed, Tri::Allow);
}

#[test]
fn paths_hosts_and_not_forms_on_http() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: paths, namespace: default}
spec:
  rules:
  - to:
    - operation:
        paths: ["/api/*", "/v1/{*}/status", "*.json"]
        notPaths: ["/api/admin*"]
        hosts: ["*.default.svc"]
"#,
    );
    let at = |path: &str, host: &str| {
        w.http(
            CLIENT,
            SERVER,
            80,
            HttpAttrs {
                method: Some("GET".into()),
                path: Some(path.into()),
                host: Some(host.into()),
                headers: None,
            },
        )
        .allowed
    };
    assert_eq!(at("/api/users?x=1", "server.default.svc"), Tri::Allow);
    assert_eq!(at("/api/admin/x", "server.default.svc"), Tri::Deny);
    assert_eq!(at("/api/./x/../admin", "server.default.svc"), Tri::Deny);
    assert_eq!(at("/v1/abc/status", "SERVER.Default.svc"), Tri::Allow);
    assert_eq!(at("/v1/a/b/status", "server.default.svc"), Tri::Deny);
    assert_eq!(at("/data.json", "server.default.svc"), Tri::Allow);
    assert_eq!(at("/api/users", "example.com"), Tri::Deny);
    assert_eq!(w.tcp(CLIENT, SERVER, 80).allowed, Tri::Deny);
}

// ---------------------------------------------------------------- when conditions

#[test]
fn when_conditions() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: when, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  rules:
  - when:  # @w-r0
    - {key: source.ip, values: ["10.0.0.0/24"]}
    - {key: destination.port, notValues: ["22"]}
    - {key: source.namespace, values: ["default"]}
  - to:
    - operation: {ports: ["8443"]}
    when:
    - {key: "request.headers[X-Tenant]", values: ["a*"]}
  - to:
    - operation: {ports: ["9443"]}
    when:
    - {key: connection.sni, values: ["x.example"]}
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 80);
    assert_eq!(v.allowed, Tri::Allow);
    w.assert_cites(&v, "default/when", Some(0), "# @w-r0");
    assert_eq!(w.tcp(CLIENT, SERVER, 22).allowed, Tri::Deny);
    // Plain text: no source.namespace.
    assert_eq!(w.tcp(PLAIN, SERVER, 80).allowed, Tri::Deny);
    // Header condition: HTTP-only, ignored rule on TCP; decided on HTTP when headers are given.
    assert_eq!(w.tcp(PLAIN, SERVER, 8443).allowed, Tri::Deny);
    let mut h = get();
    h.headers = Some(
        [("x-tenant".to_string(), "acme".to_string())]
            .into_iter()
            .collect(),
    );
    assert_eq!(w.http(PLAIN, SERVER, 8443, h.clone()).allowed, Tri::Allow);
    h.headers = Some(Default::default());
    assert_eq!(w.http(PLAIN, SERVER, 8443, h).allowed, Tri::Deny);
    let v = w.http(PLAIN, SERVER, 8443, get());
    assert_eq!(v.allowed, Tri::Undecidable);
    assert!(v.undecided[0].contains("--http-header X-Tenant"));
    // A key netpath does not evaluate: undecidable.
    let v = w.tcp(PLAIN, SERVER, 9443);
    assert_eq!(v.allowed, Tri::Undecidable);
    assert!(v.undecided[0].contains("connection.sni"));
}

// ---------------------------------------------------------------- CUSTOM, AUDIT, dry-run

#[test]
fn custom_is_undecidable_naming_the_provider() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  action: CUSTOM
  provider: {name: my-ext-authz}
  rules:
  - to:  # @ext-r0
    - operation: {ports: ["8080"]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-22, namespace: default}
spec:
  action: DENY
  rules:
  - to:
    - operation: {ports: ["22"]}
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Undecidable);
    assert!(v.undecided.iter().any(|u| u.contains("my-ext-authz")));
    w.assert_cites(&v, "default/ext", Some(0), "# @ext-r0");
    // CUSTOM does not match this port: plain allow.
    assert_eq!(w.tcp(CLIENT, SERVER, 8081).allowed, Tri::Allow);
    // DENY still denies regardless of the provider.
    let w2 = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  action: CUSTOM
  provider: {name: my-ext-authz}
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: default}
spec:
  action: DENY
  rules: [{}]
"#,
    );
    assert_eq!(w2.tcp(CLIENT, SERVER, 8080).allowed, Tri::Deny);
}

#[test]
fn audit_and_dry_run_do_not_decide() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: default}
spec:
  action: AUDIT
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: dry
  namespace: default
  annotations: {istio.io/dry-run: "true"}
spec:
  action: DENY
  rules: [{}]
"#,
    );
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert!(v.notes.iter().any(|n| n.contains("AUDIT")));
    assert!(v.notes.iter().any(|n| n.contains("dry-run")));
}

// ---------------------------------------------------------------- scope

#[test]
fn root_namespace_policy_is_mesh_wide() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @root
kind: AuthorizationPolicy
metadata: {name: mesh-allow, namespace: istio-system}
spec:
  rules:
  - from:  # @root-r0
    - source: {namespaces: [default]}
"#,
    );
    let v = w.tcp(PLAIN, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "istio-system/mesh-allow", None, "# @root");
    let v = w.tcp(CLIENT, ("legacy", "meshed"), 8080);
    assert_eq!(v.allowed, Tri::Allow);
    w.assert_cites(&v, "istio-system/mesh-allow", Some(0), "# @root-r0");
    // Another root namespace: the policy is then an ordinary istio-system policy.
    let mesh = MeshConfig {
        root_namespace: "mesh-root".into(),
        ..MeshConfig::default()
    };
    assert_eq!(w.tcp_in(&mesh, PLAIN, SERVER, 8080).allowed, Tri::Allow);
}

#[test]
fn root_namespace_selector_applies_in_every_namespace() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: lock-meshed, namespace: istio-system}
spec:
  selector: {matchLabels: {app: meshed}}
  action: DENY
  rules:
  - {}  # @lm-r0
"#,
    );
    let v = w.tcp(CLIENT, MESHED, 80);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "istio-system/lock-meshed", Some(0), "# @lm-r0");
    assert_eq!(w.tcp(CLIENT, SERVER, 80).allowed, Tri::Allow);
}

#[test]
fn selector_scopes_to_matching_workloads_in_its_namespace() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1  # @sel
kind: AuthorizationPolicy
metadata: {name: other-only, namespace: default}
spec:
  selector: {matchLabels: {app: other}}
  rules:
  - from:
    - source: {namespaces: [nowhere]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: elsewhere, namespace: legacy}
spec:
  rules: []
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: gw, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: server}]
  rules: []
"#,
    );
    assert_eq!(w.tcp(CLIENT, SERVER, 80).allowed, Tri::Allow);
    let v = w.tcp(CLIENT, OTHER, 80);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/other-only", None, "# @sel");
    // The legacy namespace policy only affects legacy workloads.
    assert_eq!(w.tcp(CLIENT, MESHED, 80).allowed, Tri::Deny);
}

// ---------------------------------------------------------------- not enforced

#[test]
fn destinations_istio_does_not_see() {
    let w = world(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: excl
  namespace: default
  annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "9100,9200"}
spec:
  containers: [{name: app}, {name: istio-proxy}]
status: {phase: Running, podIP: 10.0.0.9}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: default}
spec: {action: DENY, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: legacy}
spec: {action: DENY, rules: [{}]}
"#,
    );
    // No sidecar at the destination: not enforced.
    let v = w.tcp(CLIENT, PLAIN, 80);
    assert_eq!(v.allowed, Tri::Allow);
    assert!(!v.enforced);
    assert!(!v.mtls);
    // Excluded inbound port bypasses the proxy.
    let v = w.tcp(CLIENT, ("default", "excl"), 9100);
    assert_eq!(v.allowed, Tri::Allow);
    assert!(!v.enforced);
    assert_eq!(w.tcp(CLIENT, ("default", "excl"), 80).allowed, Tri::Deny);
    // UDP is not intercepted.
    let mut req = MeshRequest::pod_to_pod(
        &w.snap.cluster,
        w.pod("default", "client"),
        w.pod("default", "server"),
        53,
    );
    req.protocol = Protocol::Udp;
    assert!(!evaluate(&w.snap.cluster, &req).enforced);
}

// ---------------------------------------------------------------- sidecar presence

#[test]
fn sidecar_injection_rules() {
    let w = world(
        r#"
apiVersion: v1
kind: Namespace
metadata: {name: inj, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: rev, labels: {istio.io/rev: canary}}
---
apiVersion: v1
kind: Namespace
metadata: {name: noinj, labels: {istio-injection: disabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: inj}
spec: {containers: [{name: app}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: inj, labels: {sidecar.istio.io/inject: "false"}}
spec: {containers: [{name: app}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: rev}
spec: {containers: [{name: app}]}
---
apiVersion: v1
kind: Pod
metadata: {name: d, namespace: noinj, labels: {sidecar.istio.io/inject: "true"}}
spec: {containers: [{name: app}]}
---
apiVersion: v1
kind: Pod
metadata: {name: e, namespace: default, labels: {sidecar.istio.io/inject: "true"}}
spec: {containers: [{name: app}]}
---
apiVersion: v1
kind: Pod
metadata: {name: f, namespace: inj}
spec: {hostNetwork: true, containers: [{name: app}]}
---
apiVersion: v1
kind: Pod
metadata: {name: g, namespace: inj}
spec: {containers: [{name: app}]}
status: {phase: Running, podIP: 10.9.9.9}
---
apiVersion: v1
kind: Pod
metadata: {name: h, namespace: inj, annotations: {sidecar.istio.io/inject: "false"}}
spec: {containers: [{name: app}]}
"#,
    );
    let c = &w.snap.cluster;
    let has = |ns: &str, n: &str| pod_sidecar(c, w.pod(ns, n)).in_mesh;
    assert!(has("inj", "a"));
    assert!(!has("inj", "b"));
    assert!(has("rev", "c"));
    assert!(!has("noinj", "d"));
    assert!(has("default", "e"));
    assert!(!has("inj", "f"));
    assert!(
        !has("inj", "g"),
        "a running pod without istio-proxy is not meshed"
    );
    assert!(!has("inj", "h"));
    assert!(has("default", "client"));
    assert!(!has("legacy", "plain"));
    assert!(pod_sidecar(c, w.pod("rev", "c")).reason.contains("canary"));
}

// ---------------------------------------------------------------- connection sets

#[test]
fn allowed_ports_for_a_matrix() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: tcp, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  rules:
  - to:
    - operation: {ports: ["9000", "9001"]}
  - to:
    - operation: {methods: ["GET"], ports: ["8080"]}
"#,
    );
    let req = MeshRequest::pod_to_pod(
        &w.snap.cluster,
        w.pod("default", "client"),
        w.pod("default", "server"),
        0,
    );
    let p = allowed_ports(&w.snap.cluster, &MeshConfig::default(), &req);
    assert_eq!(p.allowed.to_string(), "9000-9001");
    assert!(p.undecidable.is_empty());
    assert!(
        p.notes
            .iter()
            .any(|n| n.starts_with("port 8080 as HTTP") && n.contains("--http-method")),
        "{:?}",
        p.notes
    );
    // No policy at all: every port.
    let w = world("");
    let req = MeshRequest::pod_to_pod(
        &w.snap.cluster,
        w.pod("default", "client"),
        w.pod("default", "server"),
        0,
    );
    let p = allowed_ports(&w.snap.cluster, &MeshConfig::default(), &req);
    assert_eq!(p.allowed, netpath::eval::ports::PortSet::all());
}

// ---------------------------------------------------------------- client TLS, targetRefs, aliases

const SVC: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: server, namespace: default}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 8080}]
"#;

#[test]
fn destination_rule_tls_disable_sends_plain_text() {
    let w = world(&format!(
        r#"{SVC}
---
apiVersion: networking.istio.io/v1  # @dr
kind: DestinationRule
metadata: {{name: no-tls, namespace: default}}
spec:
  host: server
  trafficPolicy: {{tls: {{mode: DISABLE}}}}
"#
    ));
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Allow);
    assert!(!v.mtls);
    assert!(v.notes.iter().any(|n| n.contains("default/no-tls")));
    // Other destinations keep auto mTLS.
    assert!(w.tcp(CLIENT, OTHER, 8080).mtls);

    let w = world(&format!(
        r#"{SVC}
---
apiVersion: networking.istio.io/v1  # @dr
kind: DestinationRule
metadata: {{name: no-tls, namespace: default}}
spec:
  host: server.default.svc.cluster.local
  trafficPolicy: {{tls: {{mode: DISABLE}}}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{name: default, namespace: default}}
spec: {{mtls: {{mode: STRICT}}}}
"#
    ));
    let v = w.tcp(CLIENT, SERVER, 8080);
    assert_eq!(v.allowed, Tri::Deny);
    assert_eq!(v.deciding[0].kind, "DestinationRule");
    w.assert_cites(&v, "default/no-tls", None, "# @dr");
}

#[test]
fn gateway_target_ref_applies_to_gateway_pods_only() {
    let w = world(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: gw-pod
  namespace: default
  labels: {gateway.networking.k8s.io/gateway-name: gw}
spec:
  containers: [{name: istio-proxy}]
status: {phase: Running, podIP: 10.0.0.50}
---
apiVersion: security.istio.io/v1  # @gwp
kind: AuthorizationPolicy
metadata: {name: gw-only, namespace: default}
spec:
  targetRefs:
  - {kind: Gateway, group: gateway.networking.k8s.io, name: gw}
  rules: []
"#,
    );
    let v = w.tcp(CLIENT, ("default", "gw-pod"), 80);
    assert_eq!(v.allowed, Tri::Deny);
    w.assert_cites(&v, "default/gw-only", None, "# @gwp");
    assert_eq!(w.tcp(CLIENT, SERVER, 80).allowed, Tri::Allow);
}

#[test]
fn trust_domain_aliases() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: old, namespace: default}
spec:
  rules:
  - from:
    - source: {principals: ["old-td/ns/default/sa/sleep"]}
"#,
    );
    let mut mesh = MeshConfig {
        trust_domain: "new-td".into(),
        ..MeshConfig::default()
    };
    assert_eq!(w.tcp_in(&mesh, CLIENT, SERVER, 80).allowed, Tri::Deny);
    mesh.trust_domain_aliases = vec!["old-td".into()];
    assert_eq!(w.tcp_in(&mesh, CLIENT, SERVER, 80).allowed, Tri::Allow);
}

#[test]
fn request_principals_and_remote_ip() {
    let w = world(
        r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: jwt, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  rules:
  - from:
    - source: {requestPrincipals: ["https://issuer/*"]}
  - from:  # @rip-r1
    - source: {remoteIpBlocks: ["203.0.113.0/24"]}
"#,
    );
    // HTTP: the JWT rule cannot be decided, the remote-IP rule does not match the pod IP.
    let v = w.http(CLIENT, SERVER, 80, get());
    assert_eq!(v.allowed, Tri::Undecidable);
    assert!(v.undecided.iter().any(|u| u.contains("JWT")));
    // TCP: the JWT rule is an HTTP-only ALLOW rule (ignored); remote IP falls back to source.ip.
    assert_eq!(w.tcp(CLIENT, SERVER, 80).allowed, Tri::Deny);
    let mut req = MeshRequest::pod_to_pod(
        &w.snap.cluster,
        w.pod("default", "client"),
        w.pod("default", "server"),
        80,
    );
    req.remote_ip = Some("203.0.113.7".parse::<IpAddr>().unwrap());
    let v = evaluate(&w.snap.cluster, &req);
    assert_eq!(v.allowed, Tri::Allow);
    w.assert_cites(&v, "default/jwt", Some(1), "# @rip-r1");
}
