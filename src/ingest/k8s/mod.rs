//! Kubernetes, Istio and CNI objects from `kubectl get -o yaml|json`.
//!
//! Both formats are first read into a position-annotated tree ([`tree`]): YAML with
//! serde-saphyr (multi-document streams, explicit budgets, `Spanned` positions), JSON with a
//! one-pass reader ([`json`]; serde_json for malformed or unusual input). Each document is then dispatched explicitly on `apiVersion` group and `kind`
//! ([`lower_object`]) and lowered by hand ([`core`], [`netpol`], [`istio`], [`extra`]) so that
//! every problem is a located [`Diagnostic`] with what was expected, and reading goes on.
//! `List`/`XxxList` objects are unwrapped; their items inherit the implied kind.

mod core;
mod cx;
mod extra;
mod istio;
mod json;
mod netpol;
mod rollback;
mod tree;

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::model::cluster::{ClusterObjects, ObjectMeta, UnsupportedObject};
use crate::source::{FileId, LineCol, Provenance};
use cx::Cx;
use tree::{Node, Val};

/// Reads a `kubectl get -o json` file (a `List` or a single object).
pub fn read_json(file: FileId, text: &str, out: &mut ClusterObjects, diags: &mut Diagnostics) {
    let counts = rollback::counts(out);
    let diags_before = diags.items.len();
    if read_json_list_streaming(file, text, out, diags) {
        return;
    }
    rollback::truncate(out, counts, file);
    diags.items.truncate(diags_before);
    match tree::parse_json(text) {
        Ok(root) => {
            let mut cx = Cx {
                file,
                diags,
                doc_at: LineCol { line: 1, col: 1 },
            };
            cx.doc_at = if root.at.line > 0 { root.at } else { cx.doc_at };
            match &root.v {
                Val::Seq(items) => {
                    for item in items {
                        cx.doc_at = item.at;
                        lower_object(&mut cx, item, None, out);
                    }
                }
                _ => lower_object(&mut cx, &root, None, out),
            }
        }
        Err(e) => {
            // Malformed JSON: the diagnostic any file that is not JSON gets (`recognise` leaves
            // checking a kubectl file's syntax to this reader).
            if let Some(bad) = super::recognise::json_syntax_error(text) {
                diags.push(bad.into_diagnostic(file));
                return;
            }
            let msg = e.to_string();
            let msg = msg
                .rfind(" at line ")
                .map(|i| msg[..i].to_string())
                .unwrap_or(msg);
            diags.push(
                Diagnostic::error(
                    "json-syntax",
                    Provenance::at(file, e.line().max(1) as u32, e.column().max(1) as u32),
                    format!("malformed JSON: {msg}"),
                )
                .expected("the complete, unmodified output of `kubectl get -o json`"),
            );
        }
    }
}

/// Reads a `kubectl get -o json` list lowering each item as soon as it is parsed, so that the
/// tree of a large list is never held whole; false (with whatever was added to be discarded) when
/// the file is not such a list of items that each name their own `apiVersion` and `kind`, which
/// the whole-tree read then handles exactly as before.
fn read_json_list_streaming(
    file: FileId,
    text: &str,
    out: &mut ClusterObjects,
    diags: &mut Diagnostics,
) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut cx = Cx {
        file,
        diags,
        doc_at: LineCol { line: 1, col: 1 },
    };
    let is_str = |n: Option<&Node>| matches!(n, Some(Node { v: Val::Str(_), .. }));
    let mut lower_item = |item: Node| {
        if !is_str(item.get("apiVersion")) || !is_str(item.get("kind")) {
            return false;
        }
        cx.doc_at = if item.at.line > 0 {
            item.at
        } else {
            LineCol { line: 1, col: 1 }
        };
        lower_object(&mut cx, &item, None, out);
        true
    };
    let Some(root) = json::parse_streaming_items(text, &mut lower_item) else {
        return false;
    };
    // What the whole-tree read would have done with the root: read it as a list of items
    // without a diagnostic of its own.
    let kind = match root.get("kind") {
        Some(Node { v: Val::Str(k), .. }) => k,
        _ => return false,
    };
    let api_version_ok = root.get("apiVersion").is_none() || is_str(root.get("apiVersion"));
    let items_streamed = matches!(root.get("items"), Some(Node { v: Val::Seq(_), .. }));
    api_version_ok && items_streamed && (kind == "List" || kind.ends_with("List"))
}

/// Reads a YAML stream of Kubernetes objects.
pub fn read_yaml(file: FileId, text: &str, out: &mut ClusterObjects, diags: &mut Diagnostics) {
    match tree::parse_yaml(text) {
        Ok(docs) => {
            let mut cx = Cx {
                file,
                diags,
                doc_at: LineCol { line: 1, col: 1 },
            };
            for doc in &docs {
                if doc.v == Val::Null {
                    continue; // an empty document (a bare `---`)
                }
                cx.doc_at = if doc.at.line > 0 {
                    doc.at
                } else {
                    LineCol { line: 1, col: 1 }
                };
                lower_object(&mut cx, doc, None, out);
            }
        }
        Err(e) => diags.push(
            Diagnostic::error(
                "yaml-syntax",
                Provenance::at(file, e.at.line, e.at.col),
                format!("malformed YAML: {}", e.message),
            )
            .expected("a YAML stream of Kubernetes objects, as `kubectl get -o yaml` prints it"),
        ),
    }
}

/// The API group of an `apiVersion` (`""` for the core group).
fn group_of(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((g, _)) => g,
        None => "",
    }
}

/// Lowers one object (or list of objects) into `out`. `implied` is the `(apiVersion, kind)` a
/// typed list gives its items.
fn lower_object(
    cx: &mut Cx<'_>,
    doc: &Node,
    implied: Option<(&str, &str)>,
    out: &mut ClusterObjects,
) {
    if !doc.is_map() {
        cx.error(
            "k8s-shape",
            doc,
            format!("a document is {}, not a Kubernetes object", doc.type_name()),
            "a mapping with apiVersion, kind and metadata",
        );
        return;
    }
    let kind = cx
        .str(doc, "kind")
        .or_else(|| implied.map(|i| i.1.to_string()));
    let api_version = cx
        .str(doc, "apiVersion")
        .or_else(|| implied.map(|i| i.0.to_string()));
    let Some(kind) = kind else {
        cx.error(
            "k8s-shape",
            doc,
            "object without `kind`",
            "kind: the object's kind, e.g. Pod or NetworkPolicy",
        );
        return;
    };
    let api_version = api_version.unwrap_or_default();
    if kind == "List" || (kind.ends_with("List") && doc.get("items").is_some()) {
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        let items = cx.seq(doc, "items");
        for item in items {
            let saved = cx.doc_at;
            if item.at.line > 0 {
                cx.doc_at = item.at;
            }
            lower_object(cx, item, item_kind.map(|k| (api_version.as_str(), k)), out);
            cx.doc_at = saved;
        }
        return;
    }
    let group = group_of(&api_version);
    let modelled = match (group, kind.as_str()) {
        ("", "Namespace") => core::namespace(cx, doc, &api_version, out),
        ("", "Node") => core::node(cx, doc, &api_version, out),
        ("", "Pod") => core::pod(cx, doc, &api_version, out),
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("", "ReplicationController")
        | ("batch", "Job" | "CronJob") => core::workload(cx, doc, &api_version, &kind, out),
        ("", "Service") => core::service(cx, doc, &api_version, out),
        ("discovery.k8s.io", "EndpointSlice") => core::endpoint_slice(cx, doc, &api_version, out),
        ("", "Endpoints") => core::endpoints(cx, doc, &api_version, out),
        ("networking.k8s.io" | "extensions", "NetworkPolicy") => {
            netpol::network_policy(cx, doc, &api_version, out)
        }
        ("policy.networking.k8s.io", "AdminNetworkPolicy") => {
            netpol::admin_network_policy(cx, doc, &api_version, out)
        }
        ("policy.networking.k8s.io", "BaselineAdminNetworkPolicy") => {
            netpol::baseline_admin_network_policy(cx, doc, &api_version, out)
        }
        ("networking.k8s.io" | "extensions", "Ingress") => {
            extra::ingress(cx, doc, &api_version, out)
        }
        ("route.openshift.io", "Route") => extra::route(cx, doc, &api_version, out),
        ("crd.k8s.amazonaws.com", "ENIConfig") => extra::eni_config(cx, doc, &api_version, out),
        ("vpcresources.k8s.aws", "SecurityGroupPolicy") => {
            extra::security_group_policy(cx, doc, &api_version, out)
        }
        ("crd.projectcalico.org" | "projectcalico.org", "IPPool") => {
            extra::ip_pool(cx, doc, &api_version, out)
        }
        ("security.istio.io", "PeerAuthentication") => {
            istio::peer_authentication(cx, doc, &api_version, out)
        }
        ("security.istio.io", "AuthorizationPolicy") => {
            istio::authorization_policy(cx, doc, &api_version, out)
        }
        ("networking.istio.io", "ServiceEntry") => istio::service_entry(cx, doc, &api_version, out),
        ("networking.istio.io", "Gateway") => istio::gateway(cx, doc, &api_version, out),
        ("networking.istio.io", "VirtualService") => {
            istio::virtual_service(cx, doc, &api_version, out)
        }
        ("networking.istio.io", "DestinationRule") => {
            istio::destination_rule(cx, doc, &api_version, out)
        }
        _ => None,
    };
    match modelled {
        Some(meta) => check_duplicate(cx, &meta, out),
        None => unsupported(cx, doc, &api_version, &kind, out),
    }
}

/// Reports an object whose `(kind, namespace, name)` was already read.
fn check_duplicate(cx: &mut Cx<'_>, meta: &ObjectMeta, out: &mut ClusterObjects) {
    if meta.name.is_empty() {
        return;
    }
    let key = (
        meta.kind.clone(),
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone(),
    );
    if let Some(first) = out.seen.get(&key) {
        let first_at = match &first.locator {
            crate::source::Locator::At(lc) => format!(" (first at line {})", lc.line),
            _ => String::new(),
        };
        let other_file = if first.file != cx.file {
            " in another file"
        } else {
            ""
        };
        cx.diags.push(
            Diagnostic::error(
                "duplicate-object",
                meta.at.clone(),
                format!(
                    "{} {:?} appears twice{other_file}{first_at}",
                    meta.kind,
                    meta.key()
                ),
            )
            .expected("at most one object of a kind with a given namespace and name"),
        );
    } else {
        out.seen.insert(key, meta.at.clone());
    }
}

/// Records an object of a kind netpath does not model; the first of each kind gets a diagnostic.
fn unsupported(
    cx: &mut Cx<'_>,
    doc: &Node,
    api_version: &str,
    kind: &str,
    out: &mut ClusterObjects,
) {
    let m = doc.get("metadata");
    let name = m
        .and_then(|m| m.get("name"))
        .and_then(|n| cx.as_str(n, "metadata.name"))
        .unwrap_or_default();
    let namespace = m
        .and_then(|m| m.get("namespace"))
        .and_then(|n| cx.as_str(n, "metadata.namespace"));
    let at = cx.prov(doc);
    let first = !out
        .unsupported
        .iter()
        .any(|u| u.kind == kind && group_of(&u.api_version) == group_of(api_version));
    if first {
        cx.diags.push(Diagnostic {
            severity: Severity::Unsupported,
            code: "unsupported-kind",
            message: format!("{kind} ({api_version}) objects are not modelled and are ignored"),
            at: Some(at.clone()),
            expected: None,
        });
    }
    out.unsupported.push(UnsupportedObject {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        namespace,
        name,
        at,
    });
}
