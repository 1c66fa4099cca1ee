//! Scenario files: parsed and validated, their expectations resolved against the reference
//! model (names, protocols, ports) and traced.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netpath::source::SourceMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = SourceMap::new();
    let file = sources.add("scenario.yaml", text.to_string());
    match netpath::check::parse(&sources, file) {
        Ok(scenario) => {
            let (snap, ix) = netpath_fuzz::reference_model();
            for (_, e) in scenario.expect.iter().take(4) {
                let port = e.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
                let proto = e.protocol.as_deref().unwrap_or("tcp");
                netpath_fuzz::trace_names(snap, ix, &e.from, &e.to, port, proto);
            }
        }
        Err(diags) => {
            for d in diags {
                let _ = d.render(&sources);
            }
        }
    }
});
