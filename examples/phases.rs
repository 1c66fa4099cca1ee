//! Times the phases of one run on a snapshot directory: ingest, compile, tracer, matrix.
//!
//! `cargo run --release --example phases -- DIR [matrix|traces]`

use std::time::Instant;

/// The allocator the `netpath` binary uses, so that the figures compare like with like.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: phases DIR [matrix]");
        std::process::exit(2);
    };
    let t = Instant::now();
    let (snap, diags) = netpath::ingest::load_snapshot(std::path::Path::new(dir));
    eprintln!(
        "ingest   {:>9.3} s ({} diagnostics, {} pods)",
        t.elapsed().as_secs_f64(),
        diags.items.len(),
        snap.cluster.pods.len()
    );
    let t = Instant::now();
    let ix = netpath::graph::Index::compile(&snap);
    eprintln!("compile  {:>9.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let tracer = netpath::trace::Tracer::new(&snap, &ix);
    eprintln!("tracer   {:>9.3} s", t.elapsed().as_secs_f64());
    if args.get(2).map(String::as_str) == Some("traces") {
        traces(&snap, &ix, &tracer);
    }
    drop(tracer);
    if args.get(2).map(String::as_str) == Some("matrix") {
        let t = Instant::now();
        let m = netpath::matrix::build(&snap.cluster, netpath::matrix::Grouping::Pod);
        eprintln!(
            "matrix   {:>9.3} s ({} classes, {} cells)",
            t.elapsed().as_secs_f64(),
            m.classes,
            m.cell_count()
        );
    }
}

/// 10,000 pod-to-pod TCP traces between pods spread over the snapshot: p50/p99 of one trace
/// and the whole batch (after a first pass, so that per-node caches are warm).
fn traces(
    snap: &netpath::model::Snapshot,
    ix: &netpath::graph::Index,
    tracer: &netpath::trace::Tracer,
) {
    use netpath::endpoint::{resolve_destination, resolve_source};
    let pods: Vec<String> = snap
        .cluster
        .pods
        .iter()
        .map(|p| format!("{}/{}", p.meta.namespace_or_default(), p.meta.name))
        .collect();
    if pods.is_empty() {
        return;
    }
    let mut batch = Vec::new();
    let mut k = 0usize;
    while batch.len() < 10_000 && k < 40_000 {
        let (a, b) = ((k * 7919) % pods.len(), (k * 104_729 + 13) % pods.len());
        k += 1;
        let Ok(s) = resolve_source(snap, ix, &pods[a]) else {
            continue;
        };
        let Ok(d) = resolve_destination(snap, ix, &pods[b], false) else {
            continue;
        };
        batch.push(netpath::trace::Query {
            start: s.start,
            src_ip: s.ip,
            dst_ips: d.ips,
            protocol: netpath::model::Protocol::Tcp,
            dst_port: 8080,
            src_port: None,
            icmp_type: 0,
            http: None,
        });
    }
    let t = Instant::now();
    let first = batch
        .iter()
        .filter(|q| tracer.trace(q).reachable == netpath::trace::Reachable::All)
        .count();
    eprintln!(
        "10000 traces, cold  {:>9.3} s ({first} reachable)",
        t.elapsed().as_secs_f64()
    );
    let mut each: Vec<f64> = Vec::with_capacity(batch.len());
    let t = Instant::now();
    for q in &batch {
        let t1 = Instant::now();
        std::hint::black_box(tracer.trace(q));
        each.push(t1.elapsed().as_secs_f64() * 1e6);
    }
    let total = t.elapsed().as_secs_f64();
    each.sort_by(f64::total_cmp);
    eprintln!(
        "10000 traces, warm  {total:>9.3} s; one trace p50 {:.1} us, p99 {:.1} us",
        each[each.len() / 2],
        each[each.len() * 99 / 100]
    );
}
