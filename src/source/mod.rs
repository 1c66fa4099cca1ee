//! Where things come from: the files of a snapshot, and locations inside them.
//!
//! Every object lowered from an input keeps a [`Provenance`] so that a trace step can cite
//! `file:line`. Locations inside JSON files are stored as JSON paths and resolved to a line and
//! column only when displayed ([`SourceMap::resolve`]); YAML and line-oriented inputs store the
//! line directly.

mod json_locate;

pub use json_locate::{locate_json_path, top_level_keys, top_level_keys_until};

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Index of a file in the [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A position inside a file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct LineCol {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column number.
    pub col: u32,
}

/// How a location inside a file is named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Locator {
    /// A JSON path such as `SecurityGroups[3].IpPermissions[1]`, resolved to a line on display
    /// (shared, so that citing it in a trace step does not copy it).
    JsonPath(Arc<str>),
    /// A known line and column.
    At(LineCol),
    /// The whole file.
    File,
}

/// What a decision cites: the file, the place in it, and the vendor's name for the object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Provenance {
    /// The file the object came from.
    pub file: FileId,
    /// Where in the file.
    pub locator: Locator,
}

impl Provenance {
    /// Provenance for a JSON path inside a file.
    pub fn json(file: FileId, path: impl Into<Arc<str>>) -> Self {
        Provenance {
            file,
            locator: Locator::JsonPath(path.into()),
        }
    }
    /// Provenance for a known line and column.
    pub fn at(file: FileId, line: u32, col: u32) -> Self {
        Provenance {
            file,
            locator: Locator::At(LineCol { line, col }),
        }
    }
    /// Provenance naming a whole file.
    pub fn file(file: FileId) -> Self {
        Provenance {
            file,
            locator: Locator::File,
        }
    }
    /// A child JSON path (`.Key` or `[i]` appended); for non-JSON locators, the same location.
    pub fn child(&self, suffix: &str) -> Self {
        match &self.locator {
            Locator::JsonPath(p) => Provenance::json(self.file, format!("{p}{suffix}")),
            _ => self.clone(),
        }
    }
}

/// One input file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as given (relative to the snapshot root when read from a directory).
    pub path: PathBuf,
    /// The full text; empty when the file was read, parsed and let go ([`SourceMap::add_on_disk`]).
    pub text: String,
    /// The text of a file let go after parsing, read again from `path` the first time a line of
    /// it is shown.
    on_disk: Option<OnceLock<Option<String>>>,
}

/// All files of a snapshot, addressed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    located: Located,
}

/// JSON paths already resolved to a line and column, by file: a diff or a matrix page cites
/// the same rules many times, and each resolution scans the file up to the path.
#[derive(Debug, Default)]
struct Located(std::sync::Mutex<std::collections::HashMap<(FileId, Arc<str>), LineCol>>);

impl Clone for Located {
    fn clone(&self) -> Self {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Located(std::sync::Mutex::new(seen))
    }
}

impl Located {
    fn get(&self, key: &(FileId, Arc<str>)) -> Option<LineCol> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
    }
    fn put(&self, key: (FileId, Arc<str>), lc: LineCol) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, lc);
    }
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile {
            path: path.into(),
            text,
            on_disk: None,
        });
        id
    }

    /// Adds a file whose text is not kept in memory: it was parsed already, and is read again
    /// from `path` only if one of its lines is shown ([`SourceMap::line_text`]). Large inputs
    /// that are cited by line (iptables dumps) are held this way.
    pub fn add_on_disk(&mut self, path: impl Into<PathBuf>) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile {
            path: path.into(),
            text: String::new(),
            on_disk: Some(OnceLock::new()),
        });
        id
    }

    /// The file behind an id.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The display path of a file.
    pub fn path(&self, id: FileId) -> &Path {
        &self.files[id.0 as usize].path
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when no file was added.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Resolves a provenance to a line and column (1:1 for a whole file or a path not found).
    pub fn resolve(&self, prov: &Provenance) -> LineCol {
        match &prov.locator {
            Locator::At(lc) => *lc,
            Locator::File => LineCol { line: 1, col: 1 },
            Locator::JsonPath(p) => {
                let key = (prov.file, p.clone());
                if let Some(lc) = self.located.get(&key) {
                    return lc;
                }
                let lc = locate_json_path(&self.file(prov.file).text, p)
                    .unwrap_or(LineCol { line: 1, col: 1 });
                self.located.put(key, lc);
                lc
            }
        }
    }

    /// Renders `file:line` for a provenance, the form trace steps cite.
    pub fn cite(&self, prov: &Provenance) -> String {
        let lc = self.resolve(prov);
        format!("{}:{}", self.path(prov.file).display(), lc.line)
    }

    /// The text of one line (1-based), without its end of line.
    pub fn line_text(&self, id: FileId, line: u32) -> Option<&str> {
        let file = self.file(id);
        let text = match &file.on_disk {
            Some(reread) => reread
                .get_or_init(|| std::fs::read_to_string(&file.path).ok())
                .as_deref()?,
            None => &file.text,
        };
        text.lines().nth(line.saturating_sub(1) as usize)
    }
}

/// Converts a byte offset in `text` to a 1-based line and column (column counts characters).
pub fn offset_to_linecol(text: &str, offset: usize) -> LineCol {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = memchr::memchr_iter(b'\n', before).count() as u32 + 1;
    let line_start = memchr::memrchr(b'\n', before).map(|p| p + 1).unwrap_or(0);
    // Characters, not bytes: count every byte that does not continue a UTF-8 sequence.
    let col = before[line_start..]
        .iter()
        .filter(|b| (**b & 0xC0) != 0x80)
        .count() as u32
        + 1;
    LineCol { line, col }
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}
