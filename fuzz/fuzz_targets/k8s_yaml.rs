//! Kubernetes YAML: objects read into the cluster model, joined to an empty cloud, and the
//! cluster's derived views (kube-proxy behaviour, policies) built.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netpath::diag::Diagnostics;
use netpath::model::Snapshot;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut snap = Snapshot::default();
    let mut diags = Diagnostics::default();
    let file = snap.sources.add("objects.yaml", text.to_string());
    netpath::ingest::k8s::read_yaml(file, text, &mut snap.cluster, &mut diags);
    let _ = diags.render(&snap.sources);
    netpath_fuzz::exercise_cluster(&snap);
});
