//! Times the phases of one run on a snapshot directory: ingest, compile, tracer, matrix.
//!
//! `cargo run --release --example phases -- DIR [matrix]`

use std::time::Instant;

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
    drop(tracer);
    if args.get(2).map(String::as_str) == Some("matrix") {
        let t = Instant::now();
        let m = netpath::matrix::build(&snap.cluster, netpath::matrix::Grouping::Pod);
        eprintln!(
            "matrix   {:>9.3} s ({} classes, {} cells)",
            t.elapsed().as_secs_f64(),
            m.classes,
            m.cells.len()
        );
    }
}
