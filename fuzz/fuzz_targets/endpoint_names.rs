//! Endpoint names as typed on the command line (`SRC\nDST`), resolved against the reference
//! model and, when both resolve, traced.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (src, rest) = text.split_once('\n').unwrap_or((text, "internet"));
    let (dst, port) = rest.split_once('\n').unwrap_or((rest, "443"));
    let port = port.trim().parse::<u16>().unwrap_or(443);
    let (snap, ix) = netpath_fuzz::reference_model();
    netpath_fuzz::trace_names(snap, ix, src, dst, port, "tcp");
});
