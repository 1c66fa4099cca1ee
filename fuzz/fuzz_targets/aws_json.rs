//! AWS CLI JSON: one file read, lowered, validated and compiled into an index.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netpath::diag::Diagnostics;
use netpath::ingest::aws::AwsCollector;
use netpath::model::Snapshot;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut snap = Snapshot::default();
    let mut diags = Diagnostics::default();
    let file = snap.sources.add("describe.json", text.to_string());
    let mut aws = AwsCollector::default();
    aws.read(file, text, &mut diags);
    aws.lower(&mut snap, &mut diags);
    let _ = diags.render(&snap.sources);
    let _ = netpath::graph::Index::compile(&snap);
});
