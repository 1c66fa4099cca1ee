//! Benchmarks on the bundled model: load (ingest), compile (index), one trace, one all-ports
//! answer, and a batch of assertions.

use criterion::{criterion_group, criterion_main, Criterion};
use netpath::endpoint::{resolve_destination, resolve_source};
use netpath::graph::Index;
use netpath::model::Protocol;
use netpath::trace::{Query, Start, Tracer};
use std::hint::black_box;
use std::path::Path;

/// The allocator the `netpath` binary uses, so that the figures compare like with like.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn model() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/eks-reference"))
}

fn query(snap: &netpath::model::Snapshot, ix: &Index, src: &str, dst: &str, port: u16) -> Query {
    let s = resolve_source(snap, ix, src).expect("bundled model source");
    let d = resolve_destination(snap, ix, dst, s.start == Start::Internet)
        .expect("bundled model destination");
    Query {
        start: s.start,
        src_ip: s.ip,
        dst_ips: d.ips,
        protocol: Protocol::Tcp,
        dst_port: port,
        src_port: None,
        icmp_type: 0,
        http: None,
    }
}

fn benches(c: &mut Criterion) {
    c.bench_function("ingest bundled model", |b| {
        b.iter(|| netpath::ingest::load_snapshot(black_box(model())))
    });
    let (snap, _) = netpath::ingest::load_snapshot(model());
    c.bench_function("compile index", |b| {
        b.iter(|| Index::compile(black_box(&snap)))
    });
    let ix = Index::compile(&snap);
    let tracer = Tracer::new(&snap, &ix);
    let q = query(
        &snap,
        &ix,
        "instance/prod-node-a",
        "instance/prod-db-a",
        5432,
    );
    c.bench_function("one trace (node -> database)", |b| {
        b.iter(|| tracer.trace(black_box(&q)))
    });
    let q_nat = query(&snap, &ix, "instance/prod-node-a", "internet", 443);
    c.bench_function("one trace (node -> internet via NAT)", |b| {
        b.iter(|| tracer.trace(black_box(&q_nat)))
    });
    let q_svc = query(
        &snap,
        &ix,
        "prod/frontend-7c9d8b6f4d-x2k9p",
        "svc/prod/backend",
        9090,
    );
    c.bench_function("one trace (pod -> ClusterIP, kube-proxy + policies)", |b| {
        b.iter(|| tracer.trace(black_box(&q_svc)))
    });
    c.bench_function("all-ports answer (node -> database)", |b| {
        b.iter(|| tracer.trace_all_ports(black_box(&q)))
    });
    let batch: Vec<Query> = (0..1000u16)
        .map(|i| Query {
            dst_port: 1000 + i,
            ..q.clone()
        })
        .collect();
    c.bench_function("1000 assertions", |b| {
        b.iter(|| {
            batch
                .iter()
                .filter(|q| tracer.trace(q).reachable == netpath::trace::Reachable::All)
                .count()
        })
    });
}

criterion_group!(trace_benches, benches);
criterion_main!(trace_benches);
