//! `matrix -o html`: a self-contained page, checked in a real headless Chromium (Debian's
//! `chromium`, driven by `playwright-core` from `tests/browser/`): load it, click a cell, and the
//! trace panel shows that pair's trace.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn page() -> (PathBuf, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(ROOT)
        .env_remove("NETPATH_SNAPSHOT")
        .args(["-q", "-s", "models/eks-reference", "matrix", "-o", "html"])
        .output()
        .expect("run netpath");
    assert_eq!(out.status.code(), Some(0));
    let html = String::from_utf8(out.stdout).expect("utf-8");
    let file = std::env::temp_dir().join(format!("netpath-matrix-{}.html", std::process::id()));
    std::fs::write(&file, &html).expect("write page");
    (file, html)
}

/// The data the page embeds.
fn embedded(html: &str) -> Value {
    let start = html
        .find("id=\"netpath-data\">")
        .map(|i| i + "id=\"netpath-data\">".len())
        .expect("data block");
    let end = start + html[start..].find("</script>").expect("end of data");
    serde_json::from_str(&html[start..end].replace("<\\/", "</")).expect("data is JSON")
}

fn index(data: &Value, name: &str) -> usize {
    data["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .position(|e| e == name)
        .unwrap_or_else(|| panic!("{name} in the matrix"))
}

#[test]
fn the_page_is_self_contained_and_grouped_by_namespace() {
    let (_, html) = page();
    for needle in [
        "<link", " src=\"", "<img", "<iframe", "href=", "http://", "https://", "@import", "url(",
    ] {
        assert!(
            !html.contains(needle),
            "external resource marker {needle:?}"
        );
    }
    for ns in ["istio-system", "kube-system", "prod"] {
        assert!(html.contains(&format!("<tbody data-namespace=\"{ns}\">")));
    }
    let data = embedded(&html);
    let s = index(&data, "prod/frontend-7c9d8b6f4d-x2k9p");
    let d = index(&data, "prod/backend-5f6b9c8d7b-h8w2n");
    let pair = &data["pairs"][format!("{s},{d}")];
    assert_eq!(pair["allowed"], "TCP 9090");
    assert_eq!(pair["trace"]["flow"], "tcp/9090");
    assert!(pair["trace"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("NetworkPolicy prod/frontend-egress-backend")));
}

struct Browser {
    node: &'static str,
    script: PathBuf,
}

/// Node with playwright-core installed in tests/browser and Debian's chromium, or `None`
/// (skipped outside CI; under CI, where .ci/run installs both, a failure).
fn browser() -> Option<Browser> {
    let dir = Path::new(ROOT).join("tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ok = Command::new("node").arg("--version").output().is_ok()
        && dir
            .join("node_modules/playwright-core/package.json")
            .exists()
        && Path::new(&chromium).exists();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "under CI the browser test must run: .ci/run installs chromium and playwright-core"
        );
        eprintln!("skipped: needs node, chromium and `npm ci --prefix tests/browser`");
        return None;
    }
    Some(Browser {
        node: "node",
        script: dir.join("click-matrix-cell.mjs"),
    })
}

fn click(b: &Browser, page: &Path, pair: &str) -> Value {
    let out = Command::new(b.node)
        .arg(&b.script)
        .arg(page)
        .arg(pair)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "browser run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from the browser script")
}

#[test]
fn clicking_a_cell_in_headless_chromium_shows_that_pairs_trace() {
    let Some(b) = browser() else { return };
    let (file, html) = page();
    let data = embedded(&html);

    let (src, dst) = (
        "prod/frontend-7c9d8b6f4d-x2k9p",
        "prod/backend-5f6b9c8d7b-h8w2n",
    );
    let key = format!("{},{}", index(&data, src), index(&data, dst));
    let shown = click(&b, &file, &format!("{src} -> {dst}"));
    assert_eq!(shown["cells"], 1, "one cell for the pair: {shown}");
    assert_eq!(shown["before"], "", "the panel is empty before the click");
    assert_eq!(shown["title"], format!("{src} -> {dst}"));
    assert_eq!(shown["pair"], key.as_str());
    assert_eq!(shown["selected"], 1);
    assert_eq!(
        shown["requests"],
        serde_json::json!([]),
        "no network requests"
    );
    assert_eq!(shown["errors"], serde_json::json!([]), "no script errors");
    let panel = shown["panel"].as_str().expect("panel text");
    let trace = data["pairs"][&key]["trace"]["text"]
        .as_str()
        .expect("trace");
    assert!(
        panel.starts_with("policies allow: TCP 9090\ntrace tcp/9090: "),
        "{panel}"
    );
    assert!(
        panel.contains(trace),
        "the panel shows the pair's trace:\n{panel}"
    );
    assert!(panel.contains("pod/prod/frontend-7c9d8b6f4d-x2k9p -> node/"));

    // A pair the policies deny: the trace names the NetworkPolicy layer that stops it.
    let (src, dst) = ("prod/frontend-7c9d8b6f4d-x2k9p", "prod/postgres-0");
    let shown = click(&b, &file, &format!("{src} -> {dst}"));
    let panel = shown["panel"].as_str().expect("panel text");
    assert!(
        panel.starts_with("policies allow: No Connections\n"),
        "{panel}"
    );
    assert!(panel.contains("stopped (forward) at "), "{panel}");
    assert!(panel.contains("reachable: none"), "{panel}");
    assert!(
        panel.contains(&format!("trace {src} {dst} --port 5432")),
        "{panel}"
    );
}
