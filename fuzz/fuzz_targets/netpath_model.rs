//! netpath/v1 files and content recognition: any text goes through `recognise` and the
//! snapshot loader; a netpath/v1 file is also read as a scenario.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netpath::ingest::{load_texts, recognise, FileKind};
use std::path::PathBuf;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let kind = recognise(text);
    let (snap, diags) = load_texts(vec![(PathBuf::from("model.yaml"), text.to_string())]);
    let _ = diags.render(&snap.sources);
    if matches!(kind, FileKind::NetpathModel) {
        let _ = netpath::check::parse(&snap.sources, netpath::source::FileId(0));
    }
});
