//! Benchmarks on generated snapshots (`netpath::gen`): ingest, compile, one trace, 10,000
//! assertions, the full matrix and a diff after one NetworkPolicy edit, per size. `small` by default; more sizes with
//! `NETPATH_BENCH_SIZES=small,large,extreme` (large and extreme take minutes and gigabytes).
//! Snapshots are generated into a temporary directory and removed afterwards.

use criterion::{criterion_group, criterion_main, Criterion};
use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::gen::{generate, Parts, Plan, Spec};
use netpath::graph::Index;
use netpath::model::{Protocol, Snapshot};
use netpath::trace::{Query, Start, Tracer};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

/// The allocator the `netpath` binary uses, so that the figures compare like with like.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn sizes() -> Vec<Spec> {
    std::env::var("NETPATH_BENCH_SIZES")
        .unwrap_or_else(|_| "small".into())
        .split(',')
        .filter_map(|s| Spec::by_name(s.trim()))
        .collect()
}

fn query(snap: &Snapshot, ix: &Index, src: &str, dst: &str, port: u16) -> Option<Query> {
    let s = resolve_source(snap, ix, src).ok()?;
    let d = resolve_destination(snap, ix, dst, s.start == Start::Internet).ok()?;
    Some(Query {
        start: s.start,
        src_ip: s.ip,
        dst_ips: d.ips,
        protocol: Protocol::Tcp,
        dst_port: port,
        src_port: None,
        icmp_type: 0,
        http: None,
    })
}

/// Pod-to-pod queries over the plan's apps: `n` of them, spread deterministically.
fn queries(plan: &Plan, snap: &Snapshot, ix: &Index, n: usize) -> Vec<Query> {
    let pods = &plan.pods;
    let name = |p: usize| format!("{}/{}", plan.ns_of(pods[p].app), pods[p].name);
    let mut out = Vec::with_capacity(n);
    let mut k = 0usize;
    while out.len() < n && k < 4 * n {
        let a = (k * 7919) % pods.len();
        let b = (k * 104_729 + 13) % pods.len();
        k += 1;
        let port = plan.apps[pods[b].app].ports[0].1;
        if let Some(q) = query(snap, ix, &name(a), &name(b), port) {
            out.push(q);
        }
    }
    out
}

/// The snapshot after the edit a typical pull request makes: the first port of the narrowest
/// NetworkPolicy (the one selecting the fewest pods, at least one) moved up by one.
fn one_policy_edited(snap: &Snapshot) -> Option<Snapshot> {
    let k = &snap.cluster;
    let selected = |p: &netpath::model::cluster::NetworkPolicy| {
        k.pods
            .iter()
            .filter(|pod| pod.meta.namespace_or_default() == p.meta.namespace_or_default())
            .filter(|pod| p.pod_selector.matches(&pod.meta.labels))
            .count()
    };
    let numbered = |p: &netpath::model::cluster::NetworkPolicy| {
        p.ingress.iter().flat_map(|r| r.ports.iter()).any(|port| {
            matches!(
                port.port,
                Some(netpath::model::cluster::PortRef::Number(n)) if n < u16::MAX
            )
        })
    };
    let (at, _) = k
        .network_policies
        .iter()
        .enumerate()
        .filter(|(_, p)| numbered(p))
        .map(|(i, p)| (i, selected(p)))
        .filter(|(_, n)| *n > 0)
        .min_by_key(|(i, n)| (*n, *i))?;
    let mut after = snap.clone();
    let port = after.cluster.network_policies[at]
        .ingress
        .iter_mut()
        .flat_map(|r| r.ports.iter_mut())
        .find_map(|port| match &mut port.port {
            Some(netpath::model::cluster::PortRef::Number(n)) if *n < u16::MAX => Some(n),
            _ => None,
        })?;
    *port += 1;
    Some(after)
}

fn scale(c: &mut Criterion) {
    for spec in sizes() {
        let dir: PathBuf = std::env::temp_dir().join(format!(
            "netpath-bench-{}-{}",
            spec.name,
            std::process::id()
        ));
        generate(&spec, &dir, Parts::All).expect("generate the snapshot");
        let plan = Plan::new(&spec);
        // Loads take seconds: ten samples, no long warm-up.
        let mut g = c.benchmark_group(format!("scale/{}", spec.name));
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_secs(1));
        g.bench_function("ingest", |b| {
            b.iter(|| netpath::ingest::load_snapshot(black_box(&dir)))
        });
        let (snap, _) = netpath::ingest::load_snapshot(&dir);
        g.bench_function("compile", |b| b.iter(|| Index::compile(black_box(&snap))));
        let ix = Index::compile(&snap);
        let tracer = Tracer::new(&snap, &ix);
        let batch = queries(&plan, &snap, &ix, 10_000);
        if let Some(q) = batch.first() {
            g.bench_function("one trace (pod -> pod)", |b| {
                b.iter(|| tracer.trace(black_box(q)))
            });
        }
        g.bench_function("10000 assertions", |b| {
            b.iter(|| {
                batch
                    .iter()
                    .filter(|q| tracer.trace(q).reachable == netpath::trace::Reachable::All)
                    .count()
            })
        });
        g.bench_function("matrix (netpol + istio, per pod)", |b| {
            b.iter(|| {
                netpath::matrix::build(black_box(&snap.cluster), netpath::matrix::Grouping::Pod)
            })
        });
        if let Some(after) = one_policy_edited(&snap) {
            g.bench_function("diff (one NetworkPolicy port changed)", |b| {
                b.iter(|| netpath::diff::diff(black_box(&snap), black_box(&after)))
            });
        }
        g.finish();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

criterion_group!(scale_benches, scale);
criterion_main!(scale_benches);
