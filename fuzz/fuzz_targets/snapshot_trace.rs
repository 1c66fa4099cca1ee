//! A whole snapshot from fuzzed pieces: the first line is `SRC DST PORT PROTOCOL`, then files
//! each introduced by `@@file NAME`. The snapshot is loaded, compiled and the flow traced.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (header, files) = netpath_fuzz::split_files(text);
    let mut words = header.split_whitespace();
    let src = words.next().unwrap_or("internet").to_string();
    let dst = words.next().unwrap_or("10.0.0.1").to_string();
    let port = words
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(0);
    let proto = words.next().unwrap_or("tcp").to_string();
    let (snap, diags) = netpath::ingest::load_texts(files);
    let _ = diags.render(&snap.sources);
    let ix = netpath::graph::Index::compile(&snap);
    netpath_fuzz::exercise_cluster(&snap);
    netpath_fuzz::trace_names(&snap, &ix, &src, &dst, port, &proto);
});
