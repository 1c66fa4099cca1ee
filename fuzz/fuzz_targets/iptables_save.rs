//! iptables-save: one dump parsed into tables, chains and rules.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netpath::diag::Diagnostics;
use netpath::model::Snapshot;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut snap = Snapshot::default();
    let mut diags = Diagnostics::default();
    let name = Path::new("ip-10-0-1-1.ec2.internal.iptables-save");
    let file = snap.sources.add(name, text.to_string());
    if let Some(dump) = netpath::ingest::iptables::read(file, name, text, &mut diags) {
        snap.iptables.push(dump);
    }
    let _ = diags.render(&snap.sources);
    netpath_fuzz::exercise_cluster(&snap);
});
