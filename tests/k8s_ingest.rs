//! Kubernetes ingest: the netpol-analyzer corpus, typed spot checks and bad-input locations.

use netpath::diag::{Diagnostics, Severity};
use netpath::ingest::load_texts;
use netpath::model::Snapshot;
use netpath::source::Locator;
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
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
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
                    Some(p) => assert!(matches!(p.locator, Locator::At(lc) if lc.line > 0), "{name}: unlocated {e:?}"),
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

#[test]
fn show_invalid() {
    let Some(root) = corpus() else { return };
    for name in ["bad_netpols_subdir1","bad_netpols_subdir2","bad_netpols_subdir3","bad_netpols_subdir4","bad_netpols_subdir6","bad_netpols_subdir7","bad_path_namespace_with_same_name","np_bad_path_test_1","np_bad_path_test_2","np_test_with_empty_port_range","semanticDiff-same-topologies-illegal-podlist"] {
        let (snap, diags) = load_dir(&root.join("cases").join(name));
        eprintln!("== {name}\n{}", diags.render(&snap.sources));
    }
}
