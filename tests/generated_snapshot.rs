//! The snapshot generator: a generated tiny snapshot loads with no diagnostics, its kube-proxy
//! dumps agree with its Services, and flows whose answer follows from the generated policies
//! get that answer.

use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::gen::plan::NetPol;
use netpath::gen::{generate, Parts, Plan, Spec};
use netpath::graph::Index;
use netpath::model::{Protocol, Snapshot};
use netpath::trace::{Query, Reachable, Start, Tracer};
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netpath-gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn trace(
    snap: &Snapshot,
    ix: &Index,
    src: &str,
    dst: &str,
    proto: Protocol,
    port: u16,
) -> Reachable {
    let s = resolve_source(snap, ix, src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let d = resolve_destination(snap, ix, dst, s.start == Start::Internet)
        .unwrap_or_else(|e| panic!("{dst}: {e}"));
    let q = Query {
        start: s.start,
        src_ip: s.ip,
        dst_ips: d.ips,
        protocol: proto,
        dst_port: port,
        src_port: None,
        icmp_type: 0,
        http: None,
    };
    Tracer::new(snap, ix).trace(&q).reachable
}

#[test]
fn tiny_snapshot_loads_and_answers() {
    let spec = Spec::tiny();
    let dir = temp_dir("tiny");
    generate(&spec, &dir, Parts::All).expect("write the snapshot");
    let (snap, diags) = netpath::ingest::load_snapshot(&dir);
    let shown: Vec<String> = diags
        .items
        .iter()
        .map(|d| d.render(&snap.sources))
        .collect();
    assert!(shown.is_empty(), "diagnostics: {shown:#?}");
    let plan = Plan::new(&spec);
    assert_eq!(snap.cluster.pods.len(), plan.pods.len());
    assert_eq!(snap.iptables.len(), spec.iptables_dumps);
    let ix = Index::compile(&snap);
    let pod = |p: usize| format!("{}/{}", plan.ns_of(plan.pods[p].app), plan.pods[p].name);
    let first_pod = |a: usize| plan.pods_of_app[a][0];
    let app_named = |n: &str| (0..plan.apps.len()).find(|a| plan.apps[*a].name == n);
    let unmeshed = |a: usize| !plan.namespaces[plan.apps[a].ns].meshed;
    let egress_free = |a: usize| {
        !plan.network_policies.iter().any(|p| match p {
            NetPol::DefaultDenyEgressAllowDns { ns } => *ns == plan.apps[a].ns,
            NetPol::EgressTo { from, .. } => *from == a,
            _ => false,
        })
    };
    let named_by = |a: usize| {
        plan.network_policies.iter().any(|p| match p {
            NetPol::AppToApp { to, .. }
            | NetPol::FromTeam { to, .. }
            | NetPol::FromIpBlock { to, .. } => *to == a,
            _ => false,
        })
    };
    let deploys: Vec<usize> = (0..plan.apps.len())
        .filter(|a| !plan.apps[*a].daemon && plan.apps[*a].ns >= 3)
        .collect();

    // Prometheus may scrape every pod's metrics port (the broad allow-monitoring policy).
    let prom = app_named("prometheus").expect("prometheus");
    let target = *deploys
        .iter()
        .find(|a| unmeshed(**a))
        .expect("an unmeshed app");
    assert_eq!(
        trace(
            &snap,
            &ix,
            &pod(first_pod(prom)),
            &pod(first_pod(target)),
            Protocol::Tcp,
            9090
        ),
        Reachable::All
    );
    // An app that no policy names is closed to another namespace's pods by default-deny.
    let closed = deploys
        .iter()
        .copied()
        .find(|a| unmeshed(*a) && !named_by(*a))
        .expect("an app no policy opens");
    let client = deploys
        .iter()
        .copied()
        .find(|a| plan.apps[*a].ns != plan.apps[closed].ns && egress_free(*a))
        .expect("a client in another namespace");
    let port = plan.apps[closed].ports[0].1;
    assert_eq!(
        trace(
            &snap,
            &ix,
            &pod(first_pod(client)),
            &pod(first_pod(closed)),
            Protocol::Tcp,
            port
        ),
        Reachable::None
    );
    // An app-to-app allowance opens the destination's port, through its Service's ClusterIP
    // too (kube-proxy from the node's dump).
    let (to, from) = plan
        .network_policies
        .iter()
        .find_map(|p| match p {
            NetPol::AppToApp { to, from } if unmeshed(*to) && egress_free(*from) && to != from => {
                Some((*to, *from))
            }
            _ => None,
        })
        .expect("an app-to-app policy between unmeshed apps");
    let svc = plan
        .services
        .iter()
        .find(|s| s.app == to)
        .expect("its Service");
    let (_, svc_port, target_port) = svc.ports[0];
    assert_eq!(
        trace(
            &snap,
            &ix,
            &pod(first_pod(from)),
            &pod(first_pod(to)),
            Protocol::Tcp,
            target_port
        ),
        Reachable::All
    );
    assert_eq!(
        trace(
            &snap,
            &ix,
            &pod(first_pod(from)),
            &format!("svc/{}/{}", plan.ns_of(to), svc.name),
            Protocol::Tcp,
            svc_port
        ),
        Reachable::All
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generation_is_deterministic() {
    let spec = Spec::tiny();
    let (a, b) = (temp_dir("det-a"), temp_dir("det-b"));
    generate(&spec, &a, Parts::All).expect("write a");
    generate(&spec, &b, Parts::All).expect("write b");
    for f in [
        "k8s/pods.json",
        "k8s/networkpolicies.json",
        "aws/describe-network-interfaces.json",
    ] {
        let x = std::fs::read(a.join(f)).expect("read a");
        let y = std::fs::read(b.join(f)).expect("read b");
        assert!(x == y, "{f} differs between two runs");
    }
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

/// `NS/NAME` names the pod of that name (looked up through the index): every pod of a
/// generated snapshot resolves to itself, as source and as destination, and a pod whose
/// manifest has no namespace answers to `default/NAME`.
#[test]
fn every_pod_resolves_by_name() {
    let spec = Spec::tiny();
    let dir = temp_dir("names");
    generate(&spec, &dir, Parts::All).expect("write the snapshot");
    let (snap, _) = netpath::ingest::load_snapshot(&dir);
    let ix = Index::compile(&snap);
    let mut checked = 0;
    for p in snap.cluster.pods.iter().filter(|p| !p.spec.host_network) {
        let name = format!("{}/{}", p.meta.namespace_or_default(), p.meta.name);
        let s = resolve_source(&snap, &ix, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.start, Start::Pod(p.meta.key()), "{name}");
        assert_eq!(Some(s.ip), p.pod_ips.first().copied(), "{name}");
        let d =
            resolve_destination(&snap, &ix, &name, false).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.ips, p.pod_ips[..1].to_vec(), "{name}");
        checked += 1;
    }
    assert!(checked > 10, "only {checked} pods");
    let _ = std::fs::remove_dir_all(&dir);

    let dir = temp_dir("no-namespace");
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("pods.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: lonely\nspec:\n  containers:\n  - name: c\n    image: x\nstatus:\n  phase: Running\n  podIP: 10.1.2.3\n",
    )
    .expect("write the pod");
    let (snap, _) = netpath::ingest::load_snapshot(&dir);
    let ix = Index::compile(&snap);
    let s = resolve_source(&snap, &ix, "default/lonely").expect("default/lonely");
    assert_eq!(
        s.ip,
        "10.1.2.3".parse::<std::net::IpAddr>().expect("address")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
