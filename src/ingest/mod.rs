//! Reading a snapshot directory: the only module that knows vendor syntax.
//!
//! Files are recognised by content, never by name. Each recognised file is parsed and lowered
//! into the [`Snapshot`]; every problem becomes a [`Diagnostic`] and reading goes on, so a user
//! sees all problems at once. Nothing here panics on input.

pub mod aws;
mod dumps;
pub mod iptables;
pub mod k8s;
mod recognise;

pub use recognise::{recognise, FileKind};

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::model::Snapshot;
use crate::source::Provenance;
use std::path::{Path, PathBuf};

/// Reads every file below `root` (recursively, in sorted order) into a snapshot.
///
/// Reading and parsing overlap on two threads: this thread reads and recognises the files in
/// order and parses every file that is not an iptables dump, while a second thread parses the
/// dumps as they are met (and this one joins in once it is done). A dump's text is let go once
/// parsed ([`SourceMap::add_on_disk`](crate::source::SourceMap::add_on_disk)); at most a few
/// dumps are in memory at a time, the others are read again by the thread that parses them.
/// The result, diagnostics included, is the same as reading the files one by one.
pub fn load_snapshot(root: &Path) -> (Snapshot, Diagnostics) {
    let mut files = Vec::new();
    let mut diags = Diagnostics::default();
    if root.is_file() {
        files.push(root.to_path_buf());
    } else {
        collect_files(root, &mut files, &mut diags);
    }
    files.sort();
    let queue = dumps::Queue::new();
    let mut loader = Loader::default();
    let mut order = Vec::with_capacity(files.len());
    let (others, dumps) = std::thread::scope(|s| {
        let worker = s.spawn(|| queue.drain());
        for path in files {
            let shown = path
                .strip_prefix(root)
                .map(|p| root.join(p))
                .unwrap_or(path.clone());
            let Some(text) = read_text(&shown, &path, &mut diags) else {
                continue;
            };
            let kind = recognise(&text);
            if kind == FileKind::IptablesSave {
                let file = loader.snap.sources.add_on_disk(shown.clone());
                queue.push(file, path, text);
                order.push(Entry::Dump);
            } else {
                let file = loader.snap.sources.add(shown, text);
                order.push(Entry::Other(file, kind));
            }
        }
        queue.close();
        let mut parsed = Vec::with_capacity(order.len());
        for entry in &order {
            if let Entry::Other(file, kind) = entry {
                let mut d = Diagnostics::default();
                loader.file(*file, kind.clone(), &mut d);
                parsed.push(d);
            }
        }
        let mine = queue.drain();
        // A panic in the parser is a bug; it surfaces here with its own message.
        let theirs = worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (parsed, dumps::merge(mine, theirs))
    });
    let mut others = others.into_iter();
    let mut dumps = dumps.into_iter();
    for entry in order {
        let more = match entry {
            Entry::Other(..) => others.next(),
            Entry::Dump => dumps.next().map(|(dump, d)| {
                loader.snap.iptables.extend(dump);
                d
            }),
        };
        diags.items.extend(more.into_iter().flat_map(|d| d.items));
    }
    let (snap, more) = loader.finish();
    diags.items.extend(more.items);
    (snap, diags)
}

/// One input file in sorted order: an iptables dump (parsed from the queue) or another
/// recognised file.
enum Entry {
    Dump,
    Other(crate::source::FileId, FileKind),
}

/// Reads a file as UTF-8 text; a file that cannot be read or is not text is a diagnostic.
fn read_text(shown: &Path, path: &Path, diags: &mut Diagnostics) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                diags.push(Diagnostic {
                    severity: Severity::Warning,
                    code: "not-text",
                    message: format!("{}: not UTF-8 text; ignored", shown.display()),
                    at: None,
                    expected: None,
                });
                None
            }
        },
        Err(e) => {
            diags.push(Diagnostic {
                severity: Severity::Error,
                code: "unreadable",
                message: format!("{}: cannot read: {e}", shown.display()),
                at: None,
                expected: Some("a readable file".into()),
            });
            None
        }
    }
}

/// Builds a snapshot from in-memory files `(display path, text)`; used by tests and fuzzing.
pub fn load_texts(inputs: Vec<(PathBuf, String)>) -> (Snapshot, Diagnostics) {
    let mut loader = Loader::default();
    let mut diags = Diagnostics::default();
    let files: Vec<_> = inputs
        .into_iter()
        .map(|(path, text)| loader.snap.sources.add(path, text))
        .collect();
    let kinds: Vec<FileKind> = files
        .iter()
        .map(|f| recognise(&loader.snap.sources.file(*f).text))
        .collect();
    // iptables dumps are independent of each other and of every other input: parse them on
    // two threads first, then take them in file order below (same diagnostics, same order).
    let mut dumps = parse_dumps(&loader.snap.sources, &files, &kinds).into_iter();
    for (file, kind) in files.into_iter().zip(kinds) {
        if kind == FileKind::IptablesSave {
            if let Some((dump, more)) = dumps.next() {
                diags.items.extend(more.items);
                loader.snap.iptables.extend(dump);
            }
        } else {
            loader.file(file, kind, &mut diags);
        }
    }
    let (snap, more) = loader.finish();
    diags.items.extend(more.items);
    (snap, diags)
}

/// The snapshot being built from files other than iptables dumps, taken in file order.
#[derive(Default)]
struct Loader {
    snap: Snapshot,
    aws_docs: aws::AwsCollector,
}

impl Loader {
    /// Parses one recognised file (not an iptables dump) whose text is in the source map.
    fn file(&mut self, file: crate::source::FileId, kind: FileKind, diags: &mut Diagnostics) {
        let text = &self.snap.sources.file(file).text;
        match kind {
            FileKind::AwsJson => self.aws_docs.read(file, text, diags),
            FileKind::KubernetesJson => k8s::read_json(file, text, &mut self.snap.cluster, diags),
            FileKind::KubernetesYaml => k8s::read_yaml(file, text, &mut self.snap.cluster, diags),
            FileKind::NetpathModel => {
                // Scenario files live beside snapshots and are read by `check`, not as
                // snapshot inputs; any other netpath/v1 kind would be silently dropped.
                if let Some(d) = netpath_kind_problem(file, text) {
                    diags.push(d);
                }
            }
            FileKind::IptablesSave | FileKind::Empty => {}
            FileKind::BadJson(d) => diags.push(d.into_diagnostic(file)),
            FileKind::Unknown => {
                self.snap.unrecognised.push(file);
            }
        }
    }

    /// Lowers what was read into the snapshot's model, with the diagnostics of that step.
    fn finish(self) -> (Snapshot, Diagnostics) {
        let Loader { mut snap, aws_docs } = self;
        let mut diags = Diagnostics::default();
        aws_docs.lower(&mut snap, &mut diags);
        crate::kube::lbmodel::model_service_load_balancers(&mut snap, &mut diags);
        if !snap.unrecognised.is_empty() {
            let names: Vec<String> = snap
                .unrecognised
                .iter()
                .map(|f| snap.sources.path(*f).display().to_string())
                .collect();
            diags.push(Diagnostic {
                severity: Severity::Warning,
                code: "unrecognised-file",
                message: format!(
                    "{} file(s) not recognised as any netpath input: {}",
                    names.len(),
                    names.join(", ")
                ),
                at: None,
                expected: Some(
                    "AWS CLI JSON, kubectl YAML/JSON, iptables-save output or a netpath/v1 file"
                        .into(),
                ),
            });
        }
        (snap, diags)
    }
}

/// A netpath/v1 file whose `kind` is not one netpath reads (only `Scenario`, run by `check`).
fn netpath_kind_problem(file: crate::source::FileId, text: &str) -> Option<Diagnostic> {
    let (line, kind) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.strip_prefix("kind:").map(|k| (i, k)))
        .map(|(i, k)| (i, k.trim().trim_matches(['"', '\''])))
        .unwrap_or((0, ""));
    if kind == "Scenario" {
        return None;
    }
    let line = u32::try_from(line + 1).unwrap_or(u32::MAX);
    let shown = if kind.is_empty() { "no kind" } else { kind };
    Some(
        Diagnostic::error(
            "netpath-kind",
            Provenance::at(file, line, 1),
            format!("netpath/v1 file of kind {shown:?}: netpath reads no such kind"),
        )
        .expected("kind: Scenario (run with `netpath check`)"),
    )
}

/// Parses the iptables dumps among `files` (in order), on two threads when there are several.
fn parse_dumps(
    sources: &crate::source::SourceMap,
    files: &[crate::source::FileId],
    kinds: &[FileKind],
) -> Vec<(Option<crate::model::iptables::IptablesDump>, Diagnostics)> {
    let dumps: Vec<_> = files
        .iter()
        .zip(kinds)
        .filter(|(_, k)| matches!(k, FileKind::IptablesSave))
        .map(|(f, _)| *f)
        .collect();
    let parse = |f: &crate::source::FileId, cache: &mut iptables::RuleCache| {
        let mut d = Diagnostics::default();
        let src = sources.file(*f);
        let dump = iptables::read_shared(*f, &src.path, &src.text, cache, &mut d);
        (dump, d)
    };
    // Nodes repeat most rule lines: the first dump seeds a cache of parsed lines that both
    // threads then share read-only, each adding the lines it meets first.
    let mut cache = iptables::RuleCache::new();
    let Some((first, rest)) = dumps.split_first() else {
        return Vec::new();
    };
    let mut out = vec![parse(first, &mut cache)];
    if rest.len() < 2 {
        out.extend(rest.iter().map(|f| parse(f, &mut cache)));
        return out;
    }
    let (mut cache_a, mut cache_b) = cache.split();
    let half = rest.len().div_ceil(2);
    let (a, b) = rest.split_at(half);
    std::thread::scope(|s| {
        let second = s.spawn(|| b.iter().map(|f| parse(f, &mut cache_b)).collect::<Vec<_>>());
        out.extend(a.iter().map(|f| parse(f, &mut cache_a)));
        match second.join() {
            Ok(rest) => out.extend(rest),
            // A panic in the parser is a bug; parse the second half here so that it surfaces
            // in this thread with its own message.
            Err(_) => out.extend(b.iter().map(|f| parse(f, &mut cache_a))),
        }
        out
    })
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Diagnostics) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic {
                severity: Severity::Error,
                code: "unreadable",
                message: format!("{}: cannot read directory: {e}", dir.display()),
                at: None,
                expected: Some("a snapshot directory".into()),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_files(&path, out, diags),
            Ok(t) if t.is_file() && !is_documentation(&name) => out.push(path),
            _ => {}
        }
    }
}

/// READMEs, licences and notes that sit beside snapshots are not inputs.
fn is_documentation(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".md")
        || lower == "license"
        || lower == "notice"
        || lower.ends_with(".txt") && lower.starts_with("readme")
}

/// A provenance for a whole file, for diagnostics about it.
pub fn whole(file: crate::source::FileId) -> Provenance {
    Provenance::file(file)
}
