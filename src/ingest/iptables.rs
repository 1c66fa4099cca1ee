//! `iptables-save` output (and kube-proxy's own `iptables-restore` input, which has the same
//! grammar without built-in chains, in kube-proxy's option order).
//!
//! Line-oriented: `*table`, `:CHAIN POLICY [p:b]`, `[p:b] -A CHAIN options`, `COMMIT`, `#`
//! comments; also the restore-only commands `-N`, `-X`, `-F`, `-I`. Every malformed line
//! (unterminated quote, option without argument, rule outside a table, jump to or rule in a
//! chain that is not declared) is a located `iptables-syntax` error; unknown match modules and
//! targets are kept raw and are never errors.

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::iptables::{
    AddrMatch, Chain, ChainBody, ChainEntry, ChainHasher, Counters, IfaceMatch, IptablesDump,
    MarkOp, Match, PortMatch, ProtoMatch, RawOption, RecentAction, RuleBody, Table, Target,
};
use crate::source::{FileId, Provenance};
use indexmap::IndexMap;
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

/// Rule lines already parsed, keyed by the line as written, so that dumps that repeat a line
/// (most of kube-proxy's rules are the same on every node) parse and hold it once.
///
/// Only lines that parsed without a diagnostic are kept; what depends on the dump around a
/// line (whether its target names a chain the table declares) is checked again on every use.
#[derive(Debug, Default)]
pub struct RuleCache {
    /// Lines shared read-only between caches (e.g. one per parsing thread).
    seed: Arc<LineMap>,
    /// Lines this cache parsed itself.
    own: LineMap,
    /// Runs of consecutive `-A` lines (as written, line ends included; see
    /// [`Lines::run_of_appends`]) whose every line is in the cache: a dump that repeats the run
    /// takes its rules without a lookup per line.
    blocks: HashMap<String, Arc<[CachedRule]>, foldhash::fast::RandomState>,
    /// Chain names met so far, each held once.
    names: HashSet<Arc<str>, foldhash::fast::RandomState>,
    /// Chain contents met so far, by [`ChainKey`] hash: a dump whose chain reads the same
    /// (same rule bodies at the same relative lines) shares it.
    chains: HashMap<u64, Arc<ChainBody>, foldhash::fast::RandomState>,
    /// Hashes [`ChainKey`]s.
    chain_hasher: foldhash::fast::RandomState,
    /// Emptied rule lists, reused for the chains of the next table.
    spare: Vec<Vec<ChainEntry>>,
    /// Blocks of chain declarations that open a table (as written, line ends included), and
    /// the chains they declare: a dump that repeats the block takes them without a lookup.
    declarations: HashMap<String, Arc<Declared>, foldhash::fast::RandomState>,
}

/// The chains a block of declarations opens a table with (see [`RuleCache::declarations`]).
#[derive(Debug)]
struct Declared {
    /// The chains, declared on lines relative to the block's first line, without rules.
    building: IndexMap<Arc<str>, ChainBuilder, ChainHasher>,
    /// The same names in the same order, for a finished table that keeps them (the chains
    /// are placeholders, each replaced).
    finished: IndexMap<Arc<str>, Chain, ChainHasher>,
}

/// Parsed lines by their text (a fast, non-cryptographic hash: the keys are the dump's own lines).
type LineMap = HashMap<String, CachedRule, foldhash::fast::RandomState>;

/// One parsed line and the target name it was parsed with.
#[derive(Debug, Clone)]
struct CachedRule {
    /// The chain the line appends to (`-A CHAIN`).
    chain: Arc<str>,
    /// Where that chain stood among its table's chains where the line was parsed (a hint: the
    /// same chain stands there in most dumps).
    chain_at: usize,
    /// `-j NAME` / `-g NAME` and its column, when the rule has a target.
    target: Option<(Arc<str>, u32)>,
    /// Where a chain named like the target stood where the line was parsed (a hint, as
    /// `chain_at`; `usize::MAX` when there was none).
    target_at: usize,
    /// Whether that target's name is a target extension (ACCEPT, DNAT, ...).
    target_is_extension: bool,
    /// The parsed line.
    body: Arc<RuleBody>,
}

/// Whether a line parsed before means in `table` what it meant where it was parsed: its jump
/// target names a declared chain, or an extension, exactly as it did there. `Some` when it does,
/// carrying the jump (name, line `n`, column) to a chain not declared yet, for COMMIT to find;
/// `None` when the line must be parsed again.
fn same_target(
    table: &TableBuilder,
    cached: &CachedRule,
    n: u32,
) -> Option<Option<(String, u32, u32)>> {
    let Some((name, col)) = &cached.target else {
        return Some(None);
    };
    let declared = chain_index(table, name, cached.target_at).is_some();
    let as_chain = declared || !cached.target_is_extension;
    let was_chain = matches!(cached.body.target, Some(Target::Chain(_)));
    if as_chain != was_chain {
        return None;
    }
    Some((!declared && as_chain).then(|| (name.to_string(), n, *col)))
}

/// Where chain `name` stands in `table`: first tried at `hint` (names are held once, so a
/// pointer comparison tells), else looked up.
fn chain_index(table: &TableBuilder, name: &Arc<str>, hint: usize) -> Option<usize> {
    match table.chains.get_index(hint) {
        Some((k, _)) if Arc::ptr_eq(k, name) => Some(hint),
        _ => table.chains.get_index_of(&**name),
    }
}

impl RuleCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }
    /// Two caches that both start from everything this one holds (shared, not copied).
    pub fn split(self) -> (RuleCache, RuleCache) {
        let mut seed = Arc::try_unwrap(self.seed).unwrap_or_else(|s| (*s).clone());
        seed.extend(self.own);
        let seed = Arc::new(seed);
        let other = RuleCache {
            seed: Arc::clone(&seed),
            own: LineMap::default(),
            blocks: self.blocks.clone(),
            names: self.names.clone(),
            chains: self.chains.clone(),
            chain_hasher: self.chain_hasher.clone(),
            spare: Vec::new(),
            declarations: self.declarations.clone(),
        };
        (
            RuleCache {
                seed,
                own: LineMap::default(),
                blocks: self.blocks,
                names: self.names,
                chains: self.chains,
                chain_hasher: self.chain_hasher,
                spare: Vec::new(),
                declarations: self.declarations,
            },
            other,
        )
    }
    fn get(&self, line: &str) -> Option<&CachedRule> {
        self.own.get(line).or_else(|| self.seed.get(line))
    }
    /// The chain name `name`, held once.
    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return Arc::clone(n);
        }
        let n: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&n));
        n
    }
    /// An empty rule list (one emptied before, when there is one).
    fn rule_list(&mut self) -> Vec<ChainEntry> {
        self.spare.pop().unwrap_or_default()
    }
    /// The finished table: each chain's content shared with an earlier one that reads the same.
    fn finish(&mut self, mut t: TableBuilder) -> Table {
        let declared = t.declared.take().filter(|d| {
            d.finished.len() == t.chains.len()
                && d.finished
                    .keys()
                    .zip(t.chains.keys())
                    .all(|(a, b)| Arc::ptr_eq(a, b))
        });
        let chains = match declared {
            // The same names in the same order: the index of the names is copied, not rebuilt.
            Some(d) => {
                let mut chains = d.finished.clone();
                for (slot, (name, b)) in chains.values_mut().zip(t.chains) {
                    *slot = self.share(&name, b);
                }
                chains
            }
            None => {
                let mut chains =
                    IndexMap::with_capacity_and_hasher(t.chains.len(), ChainHasher::default());
                for (name, b) in t.chains {
                    let chain = self.share(&name, b);
                    chains.insert(name, chain);
                }
                chains
            }
        };
        Table {
            name: t.name,
            line: t.line,
            chains,
        }
    }
    /// One finished chain, its rules stored relative to its first rule's line.
    fn share(&mut self, name: &Arc<str>, mut b: ChainBuilder) -> Chain {
        let base = b.rules.iter().map(|r| r.offset).min().unwrap_or(0);
        for r in &mut b.rules {
            r.offset -= base;
        }
        let key = ChainKey {
            name,
            policy: b.policy.as_deref(),
            counters: b.counters,
            entries: &b.rules,
        };
        let hash = self.chain_hasher.hash_one(&key);
        let body = match self.chains.get(&hash) {
            Some(body) if key.is(body) => Arc::clone(body),
            seen => {
                let fresh = seen.is_none();
                let body = Arc::new(ChainBody {
                    name: Arc::clone(name),
                    policy: b.policy,
                    counters: b.counters,
                    entries: b.rules.as_slice().to_vec(),
                });
                if fresh {
                    self.chains.insert(hash, Arc::clone(&body));
                }
                body
            }
        };
        b.rules.clear();
        self.spare.push(b.rules);
        Chain::new(b.line, base, body)
    }
}

/// A chain's content as it is looked up among the chains met before: rule bodies compare by
/// identity (one line parsed once is one body), so equal keys mean equal chains.
struct ChainKey<'a> {
    /// Held once (see [`RuleCache::intern`]): hashed by address.
    name: &'a Arc<str>,
    policy: Option<&'a str>,
    counters: Option<Counters>,
    entries: &'a [ChainEntry],
}

impl ChainKey<'_> {
    /// Whether `body` is this chain.
    fn is(&self, body: &ChainBody) -> bool {
        (Arc::ptr_eq(&body.name, self.name) || *body.name == **self.name)
            && body.policy.as_deref() == self.policy
            && body.counters == self.counters
            && body.entries.len() == self.entries.len()
            && body
                .entries
                .iter()
                .zip(self.entries)
                .all(|(a, b)| a.offset == b.offset && Arc::ptr_eq(&a.body, &b.body))
    }
}

impl Hash for ChainKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(self.name) as *const u8 as usize).hash(state);
        self.policy.hash(state);
        self.counters.map(|c| (c.packets, c.bytes)).hash(state);
        self.entries.len().hash(state);
        for e in self.entries {
            e.offset.hash(state);
            (Arc::as_ptr(&e.body) as usize).hash(state);
        }
    }
}

/// A table while its lines are read.
struct TableBuilder {
    name: String,
    line: u32,
    chains: IndexMap<Arc<str>, ChainBuilder, ChainHasher>,
    /// The declarations the table opened with, while its chains are still exactly those.
    declared: Option<Arc<Declared>>,
}

/// A chain while its table is read: rule entries carry their absolute lines.
#[derive(Debug, Clone)]
struct ChainBuilder {
    line: u32,
    policy: Option<String>,
    counters: Option<Counters>,
    rules: Vec<ChainEntry>,
}

/// Parses one `iptables-save` dump; the node is named by a first-line comment or the file name.
pub fn read(
    file: FileId,
    path: &Path,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<IptablesDump> {
    read_shared(file, path, text, &mut RuleCache::new(), diags)
}

/// [`read`], sharing parsed rule lines with the other dumps read through the same `cache`.
pub fn read_shared(
    file: FileId,
    path: &Path,
    text: &str,
    cache: &mut RuleCache,
    diags: &mut Diagnostics,
) -> Option<IptablesDump> {
    let mut p = Parser {
        file,
        diags,
        cache,
        last_target: None,
        dump: IptablesDump {
            node: None,
            file,
            tables: Vec::new(),
            legacy_tables_present: false,
        },
        current: None,
        pending: Vec::new(),
        run_chains: Vec::new(),
    };
    let mut seen_content = false;
    let mut last_line = 0u32;
    let mut lines = Lines {
        text,
        pos: 0,
        start: 0,
        no: 0,
    };
    while let Some(raw) = lines.next_line() {
        let line_no = lines.no;
        last_line = line_no;
        let line = raw.trim_end_matches('\r');
        if line.starts_with(':') && p.opening_table() {
            let block = lines.run_of_declarations();
            if p.declare_block(line_no, block) {
                lines.skip(block.lines);
                last_line = lines.no;
                seen_content = true;
                continue;
            }
        }
        if line.starts_with("-A ") && p.current.is_some() {
            let block = lines.run_of_appends(line);
            if p.append_block(line_no, block) {
                lines.skip(block.lines);
                last_line = lines.no;
                seen_content = true;
                continue;
            }
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            let c = comment.trim();
            if !seen_content && p.dump.node.is_none() {
                let lower = c.to_ascii_lowercase();
                if let Some(rest) = lower
                    .strip_prefix("node:")
                    .or_else(|| lower.strip_prefix("node "))
                {
                    let name = c[c.len() - rest.len()..].trim();
                    if !name.is_empty() {
                        p.dump.node = Some(name.to_string());
                    }
                }
            }
            if c.starts_with("Warning: iptables-legacy tables present") {
                p.dump.legacy_tables_present = true;
                p.diags.push(
                    Diagnostic::warning(
                        "iptables-incomplete",
                        Provenance::at(file, line_no, 1),
                        "iptables-legacy tables are also present on this node; this dump does not show them",
                    )
                    .expected("also the output of iptables-legacy-save for this node"),
                );
            }
            continue;
        }
        seen_content = true;
        p.line(line_no, line);
    }
    if let Some(t) = p.current.take() {
        p.err(
            last_line.max(1),
            1,
            format!("table {} is not ended by COMMIT", t.name),
            "COMMIT after the last rule of each table",
        );
        p.finish_table(t);
    }
    if p.dump.node.is_none() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(stem) = name.strip_suffix(".iptables-save") {
            if !stem.is_empty() {
                p.dump.node = Some(stem.to_string());
            }
        }
    }
    Some(p.dump)
}

/// The lines of a dump with their numbers, and runs of lines that append to one chain.
struct Lines<'a> {
    text: &'a str,
    /// Byte offset of the next line.
    pos: usize,
    /// Byte offset of the line last returned.
    start: usize,
    /// Number of the line last returned (1-based).
    no: u32,
}

/// Consecutive `-A` lines from the current one, and their text (see [`Lines::run_of_appends`]).
#[derive(Clone, Copy)]
struct Run<'a> {
    /// The current line and the following ones of the run, as written (line ends included,
    /// except the last line's).
    text: &'a str,
    /// How many lines follow the current one in the run.
    lines: u32,
}

impl<'a> Lines<'a> {
    /// The next line without its `\n` (as [`str::lines`] gives it, before `\r` trimming).
    fn next_line(&mut self) -> Option<&'a str> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let end = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
        self.start = self.pos;
        self.pos += (end + 1).min(rest.len());
        self.no += 1;
        Some(&rest[..end])
    }

    /// The run that starts at the line just returned (`line`, trimmed of `\r`): the `-A`
    /// lines that follow it, up to and including the first that [`ends_run`] (at most
    /// [`MAX_RUN`] lines). Where runs end depends on the lines alone, not on where they stand,
    /// so dumps that differ in a few lines still cut the rest into the same runs.
    fn run_of_appends(&self, line: &'a str) -> Run<'a> {
        let bytes = self.text.as_bytes();
        let start = self.start;
        let mut end = line_end(bytes, start);
        let mut last = line;
        let mut pos = self.pos;
        let mut lines = 0;
        while !ends_run(last)
            && lines + 1 < MAX_RUN
            && pos < bytes.len()
            && bytes[pos..].starts_with(b"-A ")
        {
            end = line_end(bytes, pos);
            last = &self.text[pos..end];
            pos = (end + 1).min(bytes.len());
            lines += 1;
        }
        Run {
            text: &self.text[start..end],
            lines,
        }
    }

    /// The lines from the one just returned that start with `:` (chain declarations).
    fn run_of_declarations(&self) -> Run<'a> {
        let bytes = self.text.as_bytes();
        let start = self.start;
        let mut end = line_end(bytes, start);
        let mut pos = self.pos;
        let mut lines = 0;
        while pos < bytes.len() && bytes[pos] == b':' {
            end = line_end(bytes, pos);
            pos = (end + 1).min(bytes.len());
            lines += 1;
        }
        Run {
            text: &self.text[start..end],
            lines,
        }
    }

    /// Skips `n` lines.
    fn skip(&mut self, n: u32) {
        for _ in 0..n {
            if self.next_line().is_none() {
                break;
            }
        }
    }
}

/// The most lines in one run of `-A` lines.
const MAX_RUN: u32 = 64;

/// Whether a run of `-A` lines ends after `line` (about one line in sixteen, by its hash).
fn ends_run(line: &str) -> bool {
    foldhash::fast::FixedState::default().hash_one(line.as_bytes()) >> 60 == 0
}

/// Byte offset of the end of the line starting at `start` (its `\n`, or the end of the text),
/// without a `\r` before the `\n`.
fn line_end(bytes: &[u8], start: usize) -> usize {
    let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
    let mut e = end;
    while e > start && bytes[e - 1] == b'\r' {
        e -= 1;
    }
    e
}

/// A token with its 1-based column and whether it was quoted.
#[derive(Debug, Clone)]
struct Tok {
    text: String,
    col: u32,
    quoted: bool,
}

/// Splits a line into tokens: whitespace-separated, double quotes with backslash escapes.
/// ASCII lines (all of kube-proxy's) are split on bytes; others char by char.
fn tokenize(line: &str) -> Result<Vec<Tok>, (u32, String)> {
    if !line.is_ascii() {
        return tokenize_chars(line);
    }
    // `char::is_whitespace` on ASCII: space and \t..=\r.
    let ws = |c: u8| c == b' ' || (b'\t'..=b'\r').contains(&c);
    let b = line.as_bytes();
    let mut out = Vec::with_capacity(24);
    let mut i = 0;
    while i < b.len() {
        if ws(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !ws(b[i]) && b[i] != b'"' {
            i += 1;
        }
        let col = start as u32 + 1;
        if i == b.len() || ws(b[i]) {
            out.push(Tok {
                text: line[start..i].to_string(),
                col,
                quoted: false,
            });
            continue;
        }
        let mut text = String::from(&line[start..i]);
        let mut quoted = false;
        while i < b.len() && !ws(b[i]) {
            if b[i] != b'"' {
                text.push(char::from(b[i]));
                i += 1;
                continue;
            }
            quoted = true;
            let open = i;
            i += 1;
            let mut closed = false;
            while i < b.len() {
                let q = b[i];
                i += 1;
                match q {
                    b'\\' => {
                        if i < b.len() {
                            text.push(char::from(b[i]));
                            i += 1;
                        }
                    }
                    b'"' => {
                        closed = true;
                        break;
                    }
                    _ => text.push(char::from(q)),
                }
            }
            if !closed {
                return Err((open as u32 + 1, "unterminated quoted string".into()));
            }
        }
        out.push(Tok { text, col, quoted });
    }
    Ok(out)
}

/// [`tokenize`] for lines with non-ASCII characters (columns count characters).
fn tokenize_chars(line: &str) -> Result<Vec<Tok>, (u32, String)> {
    let mut out = Vec::new();
    let mut chars = line.chars().enumerate().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let col = i as u32 + 1;
        let mut text = String::new();
        let mut quoted = false;
        while let Some(&(j, c)) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '"' {
                quoted = true;
                let mut closed = false;
                while let Some((_, q)) = chars.next() {
                    match q {
                        '\\' => {
                            if let Some((_, e)) = chars.next() {
                                text.push(e);
                            }
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        _ => text.push(q),
                    }
                }
                if !closed {
                    return Err((j as u32 + 1, "unterminated quoted string".into()));
                }
            } else {
                text.push(c);
            }
        }
        out.push(Tok { text, col, quoted });
    }
    Ok(out)
}

fn builtin_chains(table: &str) -> &'static [&'static str] {
    match table {
        "filter" | "security" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => &[],
    }
}

const TARGET_EXTENSIONS: &[&str] = &[
    "ACCEPT",
    "DROP",
    "RETURN",
    "REJECT",
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "MARK",
    "CONNMARK",
    "QUEUE",
    "NFQUEUE",
    "LOG",
    "NFLOG",
    "ULOG",
    "REDIRECT",
    "TPROXY",
    "CT",
    "NOTRACK",
    "TRACE",
    "CLASSIFY",
    "DSCP",
    "TOS",
    "TCPMSS",
    "TTL",
    "HL",
    "NETMAP",
    "SET",
    "CHECKSUM",
    "AUDIT",
    "TEE",
    "IDLETIMER",
    "LED",
    "SECMARK",
    "CONNSECMARK",
    "SYNPROXY",
    "CLUSTERIP",
    "ECN",
    "HMARK",
    "RATEEST",
    "DNPT",
    "SNPT",
    "MIRROR",
];

/// Options that take no argument.
const FLAGS: &[&str] = &[
    "--set",
    "--rcheck",
    "--update",
    "--remove",
    "--reap",
    "--rsource",
    "--rdest",
    "--limit-iface-in",
    "--limit-iface-out",
    "--random",
    "--random-fully",
    "--persistent",
    "--syn",
    "--physdev-is-in",
    "--physdev-is-out",
    "--physdev-is-bridged",
    "--restore-mark",
    "--save-mark",
    "--log-uid",
    "--notrack",
    "--checksum-fill",
    "--log-tcp-sequence",
    "--log-tcp-options",
    "--log-ip-options",
    "--log-macdecode",
    "--return-nomatch",
    "--ipv4",
    "--ipv6",
    "-4",
    "-6",
    "--fragment",
    "--udp-encap",
    "--ct-clear",
    "--zone-orig",
    "--zone-reply",
];

/// Options that take two arguments.
const TWO_ARGS: &[&str] = &["--match-set", "--tcp-flags", "--set-counters"];

/// Options known to take exactly one argument (even one that starts with `-`).
const ONE_ARG: &[&str] = &[
    "--comment",
    "--dport",
    "--sport",
    "--destination-port",
    "--source-port",
    "--dports",
    "--sports",
    "--ports",
    "--destination-ports",
    "--source-ports",
    "--src-type",
    "--dst-type",
    "--mode",
    "--probability",
    "--every",
    "--packet",
    "--name",
    "--seconds",
    "--hitcount",
    "--mask",
    "--mark",
    "--ctstate",
    "--state",
    "--nfacct-name",
    "--to-destination",
    "--to-source",
    "--to-ports",
    "--reject-with",
    "--set-xmark",
    "--set-mark",
    "--or-mark",
    "--xor-mark",
    "--and-mark",
    "--nfmask",
    "--ctmask",
    "--log-prefix",
    "--log-level",
    "--physdev-in",
    "--physdev-out",
    "--ctstatus",
    "--ctproto",
    "--ctorigsrc",
    "--ctorigdst",
    "--ctreplsrc",
    "--ctrepldst",
];

struct Parser<'a> {
    file: FileId,
    diags: &'a mut Diagnostics,
    /// Rule lines parsed before, in this dump or another.
    cache: &'a mut RuleCache,
    /// The target name and column of the rule being parsed.
    last_target: Option<(String, u32)>,
    dump: IptablesDump,
    current: Option<TableBuilder>,
    /// Jumps to chains not declared when seen: `(chain, line, col)`, checked at COMMIT.
    pending: Vec<(String, u32, u32)>,
    /// Where the chains of a run taken from the cache stand (kept to reuse its memory).
    run_chains: Vec<usize>,
}

impl Parser<'_> {
    fn err(&mut self, line: u32, col: u32, msg: impl Into<String>, expected: &str) {
        self.diags.push(
            Diagnostic::error("iptables-syntax", Provenance::at(self.file, line, col), msg)
                .expected(expected),
        );
    }

    fn finish_table(&mut self, t: TableBuilder) {
        for (chain, line, col) in std::mem::take(&mut self.pending) {
            if !t.chains.contains_key(chain.as_str()) {
                self.err(
                    line,
                    col,
                    format!("jump to chain {chain}, which table {} does not declare", t.name),
                    "a target extension (ACCEPT, DROP, DNAT, ...) or a chain declared with `:NAME - [0:0]`",
                );
            }
        }
        let table = self.cache.finish(t);
        self.dump.tables.push(table);
    }

    fn line(&mut self, n: u32, line: &str) {
        if line.starts_with("-A ") && self.append_parsed_before(n, line) {
            return;
        }
        let trimmed = line.trim_start();
        let indent = (line.len() - trimmed.len()) as u32;
        if let Some(name) = trimmed.strip_prefix('*') {
            if let Some(t) = self.current.take() {
                self.err(
                    n,
                    1,
                    format!("table {} is not ended by COMMIT before *{name}", t.name),
                    "COMMIT before the next table",
                );
                self.finish_table(t);
            }
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                self.err(
                    n,
                    1,
                    "malformed table header",
                    "*nat, *filter, *mangle, *raw or *security",
                );
            }
            self.current = Some(TableBuilder {
                name: name.to_string(),
                line: n,
                chains: Default::default(),
                declared: None,
            });
            return;
        }
        if let Some(decl) = trimmed.strip_prefix(':') {
            if self.current.is_some() && !decl.contains('"') {
                // A declaration without quotes splits on whitespace alone (as `tokenize`
                // would), without a token per word.
                let mut words = decl.split_whitespace();
                let name = if decl.starts_with(char::is_whitespace) {
                    ""
                } else {
                    words.next().unwrap_or_default()
                };
                let policy = words.next();
                let counters = words.next();
                self.declare(n, name, policy, counters);
                return;
            }
        }
        if trimmed == "COMMIT" {
            match self.current.take() {
                Some(t) => self.finish_table(t),
                None => self.err(
                    n,
                    indent + 1,
                    "COMMIT outside a table",
                    "a `*table` line before COMMIT",
                ),
            }
            return;
        }
        let toks = match tokenize(trimmed) {
            Ok(t) => t,
            Err((col, msg)) => {
                self.err(n, col + indent, msg, "a closing double quote");
                return;
            }
        };
        let toks: Vec<Tok> = toks
            .into_iter()
            .map(|t| Tok {
                col: t.col + indent,
                ..t
            })
            .collect();
        if self.current.is_none() {
            self.err(
                n,
                indent + 1,
                "rule or chain outside a table",
                "a `*table` line (e.g. *nat) before rules",
            );
            return;
        }
        if let Some(first) = toks.first() {
            if let Some(name) = first.text.strip_prefix(':') {
                let word = |i: usize| toks.get(i).map(|t| t.text.as_str());
                self.declare(n, name, word(1), word(2));
                return;
            }
        }
        let (counters, rest) = match toks.first() {
            Some(t) if t.text.starts_with('[') && !t.quoted => match parse_counters(&t.text) {
                Some(c) => (Some(c), &toks[1..]),
                None => {
                    self.err(
                        n,
                        t.col,
                        format!("malformed counters {:?}", t.text),
                        "[packets:bytes]",
                    );
                    return;
                }
            },
            _ => (None, &toks[..]),
        };
        let Some(cmd) = rest.first() else { return };
        match cmd.text.as_str() {
            "-A" | "--append" | "-I" | "--insert" => self.rule(n, line, counters, cmd, &rest[1..]),
            "-N" | "--new-chain" => {
                if let Some(name) = self.arg(n, cmd, rest.get(1)) {
                    self.declare(n, &name, None, None);
                }
            }
            "-X" | "--delete-chain" => {
                if let Some(name) = rest.get(1) {
                    if let Some(t) = self.current.as_mut() {
                        t.chains.shift_remove(name.text.as_str());
                        t.declared = None;
                    }
                }
            }
            "-F" | "--flush" => {
                if let Some(t) = self.current.as_mut() {
                    match rest.get(1) {
                        Some(name) => {
                            if let Some(c) = t.chains.get_mut(name.text.as_str()) {
                                c.rules.clear();
                            }
                        }
                        None => t.chains.values_mut().for_each(|c| c.rules.clear()),
                    }
                }
            }
            other => self.err(
                n,
                cmd.col,
                format!("unknown line {other:?}"),
                "*table, :CHAIN POLICY [p:b], -A CHAIN ..., COMMIT or a # comment",
            ),
        }
    }

    fn arg(&mut self, n: u32, opt: &Tok, next: Option<&Tok>) -> Option<String> {
        match next {
            Some(t) => Some(t.text.clone()),
            None => {
                self.err(
                    n,
                    opt.col,
                    format!("option {} without argument", opt.text),
                    "an argument after the option",
                );
                None
            }
        }
    }

    /// Declares chain `name` on line `n` with the words that follow it (policy, counters).
    fn declare(&mut self, n: u32, name: &str, policy: Option<&str>, counters: Option<&str>) {
        if name.is_empty() {
            self.err(
                n,
                1,
                "chain declaration without a name",
                ":CHAIN POLICY [packets:bytes]",
            );
            return;
        }
        let policy = policy.filter(|p| *p != "-").map(str::to_string);
        let counters = counters.and_then(parse_counters);
        if self.current.is_some() {
            let name = self.cache.intern(name);
            let rules = self.cache.rule_list();
            if let Some(t) = self.current.as_mut() {
                let chain = ChainBuilder {
                    line: n,
                    policy,
                    counters,
                    rules,
                };
                t.declared = None;
                if let Some(old) = t.chains.insert(name, chain) {
                    self.cache.spare.push(old.rules);
                }
            }
        }
    }

    fn rule(&mut self, n: u32, text: &str, counters: Option<Counters>, cmd: &Tok, toks: &[Tok]) {
        let Some(chain_tok) = toks.first() else {
            self.err(
                n,
                cmd.col,
                format!("{} without a chain name", cmd.text),
                "-A CHAIN followed by the rule",
            );
            return;
        };
        let chain = chain_tok.text.clone();
        let mut toks = &toks[1..];
        let mut insert_at: Option<usize> = None;
        if cmd.text == "-I" || cmd.text == "--insert" {
            if let Some(pos) = toks.first().and_then(|t| t.text.parse::<usize>().ok()) {
                insert_at = Some(pos.saturating_sub(1));
                toks = &toks[1..];
            } else {
                insert_at = Some(0);
            }
        }
        let Some(table) = self.current.as_ref() else {
            return;
        };
        let table_name = table.name.clone();
        if !table.chains.contains_key(chain.as_str()) {
            if builtin_chains(&table_name).contains(&chain.as_str()) {
                let name = self.cache.intern(&chain);
                let rules = self.cache.rule_list();
                if let Some(t) = self.current.as_mut() {
                    t.declared = None;
                    t.chains.insert(
                        name,
                        ChainBuilder {
                            line: 0,
                            policy: Some("ACCEPT".into()),
                            counters: None,
                            rules,
                        },
                    );
                }
            } else {
                self.err(
                    n,
                    chain_tok.col,
                    format!("rule in chain {chain}, which table {table_name} does not declare"),
                    "a chain declared with `:NAME - [0:0]` before its rules",
                );
                return;
            }
        }
        let rule = match self.cached(n, text) {
            Some(rule) => rule,
            None => {
                let before = self.diags.items.len();
                self.last_target = None;
                let Some(body) = self.parse_rule(text, counters, toks, n) else {
                    return;
                };
                let body = Arc::new(body);
                if self.diags.items.len() == before {
                    let target = self.last_target.take();
                    let target_is_extension = target
                        .as_ref()
                        .is_some_and(|(name, _)| TARGET_EXTENSIONS.contains(&name.as_str()));
                    let target = target.map(|(name, col)| (self.cache.intern(&name), col));
                    let at = |name: &str| {
                        self.current
                            .as_ref()
                            .and_then(|t| t.chains.get_index_of(name))
                            .unwrap_or(usize::MAX)
                    };
                    let cached = CachedRule {
                        chain_at: at(&chain),
                        target_at: target.as_ref().map_or(usize::MAX, |(name, _)| at(name)),
                        chain: self.cache.intern(&chain),
                        target_is_extension,
                        target,
                        body: Arc::clone(&body),
                    };
                    self.cache.own.insert(text.to_string(), cached);
                }
                ChainEntry { offset: n, body }
            }
        };
        if let Some(t) = self.current.as_mut() {
            if let Some(c) = t.chains.get_mut(chain.as_str()) {
                match insert_at {
                    Some(i) if i <= c.rules.len() => c.rules.insert(i, rule),
                    _ => c.rules.push(rule),
                }
            }
        }
    }

    /// Whether the table being read has no chain yet (its declarations may be taken whole).
    fn opening_table(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|t| t.chains.is_empty() && t.declared.is_none())
    }

    /// Takes a block of declarations that opens a table (starting on line `n`): from the cache
    /// when the same block was read before (true; the caller skips the block), otherwise line by
    /// line, remembering the block for the next dump when every line declared cleanly (false
    /// only when the block is a single line).
    fn declare_block(&mut self, n: u32, run: Run) -> bool {
        if run.lines == 0 {
            return false;
        }
        if let Some(declared) = self.cache.declarations.get(run.text).cloned() {
            let mut chains = declared.building.clone();
            for c in chains.values_mut() {
                c.line += n;
                c.rules = self.cache.rule_list();
            }
            if let Some(t) = self.current.as_mut() {
                t.chains = chains;
                t.declared = Some(declared);
            }
            return true;
        }
        let before = self.diags.items.len();
        for (i, line) in run.text.split('\n').enumerate() {
            self.line(n + i as u32, line.trim_end_matches('\r'));
        }
        if self.diags.items.len() != before {
            return true;
        }
        if let Some(t) = self.current.as_mut() {
            let building: IndexMap<Arc<str>, ChainBuilder, ChainHasher> = t
                .chains
                .iter()
                .map(|(name, c)| {
                    let relative = ChainBuilder {
                        line: c.line.saturating_sub(n),
                        policy: c.policy.clone(),
                        counters: c.counters,
                        rules: Vec::new(),
                    };
                    (Arc::clone(name), relative)
                })
                .collect();
            let placeholder = Arc::new(ChainBody::default());
            let finished = building
                .keys()
                .map(|name| (Arc::clone(name), Chain::new(0, 0, Arc::clone(&placeholder))))
                .collect();
            let declared = Arc::new(Declared { building, finished });
            t.declared = Some(Arc::clone(&declared));
            self.cache
                .declarations
                .insert(run.text.to_string(), declared);
        }
        true
    }

    /// Takes a run of `-A` lines (starting on line `n`): from the cache when the same run was
    /// read before and every rule's chain and target mean the same here (true; the caller skips
    /// the run), otherwise line by line, remembering the run for the next dump when every line
    /// parsed cleanly (false only when the run is a single line).
    fn append_block(&mut self, n: u32, run: Run) -> bool {
        if run.lines == 0 {
            return false;
        }
        if let Some(rules) = self.cache.blocks.get(run.text).cloned() {
            if self.append_cached_rules(n, &rules) {
                return true;
            }
        }
        let mut parsed = Vec::with_capacity(run.lines as usize + 1);
        let mut clean = true;
        for (i, line) in run.text.split('\n').enumerate() {
            let line = line.trim_end_matches('\r');
            let before = self.diags.items.len();
            self.line(n + i as u32, line);
            match self.cache.get(line) {
                Some(c) if clean && self.diags.items.len() == before => parsed.push(c.clone()),
                _ => clean = false,
            }
        }
        if clean {
            self.cache
                .blocks
                .insert(run.text.to_string(), Arc::from(parsed));
        }
        true
    }

    /// Appends cached rules to their chains (lines `n`, `n + 1`, ...) when every chain is
    /// declared and every target means here what it meant where the rules were parsed; false
    /// (nothing appended) otherwise.
    fn append_cached_rules(&mut self, n: u32, rules: &[CachedRule]) -> bool {
        let Some(table) = self.current.as_mut() else {
            return false;
        };
        let pending_before = self.pending.len();
        self.run_chains.clear();
        for (i, cached) in rules.iter().enumerate() {
            let checked = chain_index(table, &cached.chain, cached.chain_at)
                .and_then(|at| Some((at, same_target(table, cached, n + i as u32)?)));
            match checked {
                Some((at, pending)) => {
                    self.run_chains.push(at);
                    self.pending.extend(pending);
                }
                None => {
                    self.pending.truncate(pending_before);
                    return false;
                }
            }
        }
        for (i, (cached, at)) in rules.iter().zip(&self.run_chains).enumerate() {
            if let Some((_, chain)) = table.chains.get_index_mut(*at) {
                chain.rules.push(ChainEntry {
                    offset: n + i as u32,
                    body: Arc::clone(&cached.body),
                });
            }
        }
        true
    }

    /// Appends the rule on line `n` without tokenizing it when the same line was parsed before
    /// (in this dump or another) into a chain this table declares, and its target means the
    /// same here; false when the line needs the full parse.
    fn append_parsed_before(&mut self, n: u32, line: &str) -> bool {
        let Some(cached) = self.cache.get(line) else {
            return false;
        };
        let Some(table) = self.current.as_mut() else {
            return false;
        };
        let Some(chain_index) = chain_index(table, &cached.chain, cached.chain_at) else {
            return false;
        };
        let Some(pending) = same_target(table, cached, n) else {
            return false;
        };
        self.pending.extend(pending);
        let rule = ChainEntry {
            offset: n,
            body: Arc::clone(&cached.body),
        };
        if let Some((_, chain)) = table.chains.get_index_mut(chain_index) {
            chain.rules.push(rule);
        }
        true
    }

    /// The rule on line `n` from a line parsed before, when it means the same here: its target
    /// names a declared chain, or an extension, exactly as it did where it was parsed.
    fn cached(&mut self, n: u32, text: &str) -> Option<ChainEntry> {
        let cached = self.cache.get(text)?;
        let table = self.current.as_ref()?;
        self.pending.extend(same_target(table, cached, n)?);
        Some(ChainEntry {
            offset: n,
            body: Arc::clone(&cached.body),
        })
    }

    /// Collects an option's arguments.
    fn take_args(&mut self, n: u32, toks: &[Tok], i: &mut usize) -> Option<RawOption> {
        let opt = &toks[*i];
        *i += 1;
        let name = opt.text.clone();
        let mut args = Vec::new();
        let arity = if FLAGS.contains(&name.as_str()) {
            Some(0)
        } else if TWO_ARGS.contains(&name.as_str()) {
            Some(2)
        } else if ONE_ARG.contains(&name.as_str()) {
            Some(1)
        } else {
            None
        };
        match arity {
            Some(k) => {
                for _ in 0..k {
                    match toks.get(*i) {
                        Some(t)
                            if t.quoted
                                || !(t.text.starts_with("--") || t.text == "!")
                                || name == "--comment" =>
                        {
                            args.push(t.text.clone());
                            *i += 1;
                        }
                        _ => {
                            self.err(
                                n,
                                opt.col,
                                format!("option {name} without argument"),
                                "an argument after the option",
                            );
                            return None;
                        }
                    }
                }
            }
            None => {
                while let Some(t) = toks.get(*i) {
                    if !t.quoted && (t.text.starts_with('-') && t.text.len() > 1 || t.text == "!") {
                        break;
                    }
                    args.push(t.text.clone());
                    *i += 1;
                }
            }
        }
        Some(RawOption {
            negated: false,
            name,
            args,
        })
    }

    fn parse_rule(
        &mut self,
        text: &str,
        counters: Option<Counters>,
        toks: &[Tok],
        n: u32,
    ) -> Option<RuleBody> {
        let mut rule = RuleBody {
            text: text.trim_end().to_string(),
            counters,
            src: None,
            dst: None,
            in_iface: None,
            out_iface: None,
            protocol: None,
            fragment: None,
            matches: Vec::new(),
            target: None,
            goto: false,
        };
        // The module options being collected: (module, options, column).
        let mut module: Option<(String, Vec<RawOption>, u32)> = None;
        let mut target: Option<(String, Vec<RawOption>, u32)> = None;
        let mut neg = false;
        let mut i = 0;
        let mut ok = true;
        while i < toks.len() {
            let t = &toks[i];
            if t.text == "!" && !t.quoted {
                neg = true;
                i += 1;
                continue;
            }
            let generic = |s: &str| {
                matches!(
                    s,
                    "-s" | "--source"
                        | "--src"
                        | "-d"
                        | "--destination"
                        | "--dst"
                        | "-i"
                        | "--in-interface"
                        | "-o"
                        | "--out-interface"
                        | "-p"
                        | "--protocol"
                        | "-m"
                        | "--match"
                        | "-j"
                        | "--jump"
                        | "-g"
                        | "--goto"
                        | "-c"
                        | "--set-counters"
                        | "-f"
                        | "--fragment"
                )
            };
            if !t.quoted && generic(&t.text) {
                let opt = t.clone();
                i += 1;
                if opt.text == "-f" || opt.text == "--fragment" {
                    rule.fragment = Some(!neg);
                    neg = false;
                    continue;
                }
                let Some(arg) = toks
                    .get(i)
                    .filter(|a| a.quoted || !a.text.starts_with('-') || opt.text == "-c")
                else {
                    self.err(
                        n,
                        opt.col,
                        format!("option {} without argument", opt.text),
                        "an argument after the option",
                    );
                    return None;
                };
                i += 1;
                match opt.text.as_str() {
                    "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                        let Some(net) = parse_net(&arg.text) else {
                            self.err(
                                n,
                                arg.col,
                                format!("{:?} is not an address or CIDR", arg.text),
                                "an IP address or CIDR",
                            );
                            return None;
                        };
                        let m = Some(AddrMatch { negated: neg, net });
                        if opt.text.starts_with("-s")
                            || opt.text == "--source"
                            || opt.text == "--src"
                        {
                            rule.src = m;
                        } else {
                            rule.dst = m;
                        }
                    }
                    "-i" | "--in-interface" => {
                        rule.in_iface = Some(IfaceMatch {
                            negated: neg,
                            name: arg.text.clone(),
                        })
                    }
                    "-o" | "--out-interface" => {
                        rule.out_iface = Some(IfaceMatch {
                            negated: neg,
                            name: arg.text.clone(),
                        })
                    }
                    "-p" | "--protocol" => {
                        rule.protocol = Some(ProtoMatch {
                            negated: neg,
                            protocol: arg.text.to_ascii_lowercase(),
                        })
                    }
                    "-c" | "--set-counters" => {
                        let bytes = toks.get(i).map(|b| b.text.clone()).unwrap_or_default();
                        i += 1;
                        rule.counters = Some(Counters {
                            packets: arg.text.parse().unwrap_or(0),
                            bytes: bytes.parse().unwrap_or(0),
                        });
                    }
                    "-m" | "--match" => {
                        if let Some((m, opts, col)) = module.take() {
                            ok &= self.push_match(n, &mut rule, &m, opts, col);
                        }
                        module = Some((arg.text.clone(), Vec::new(), arg.col));
                    }
                    _ => {
                        // -j / -g
                        if let Some((m, opts, col)) = module.take() {
                            ok &= self.push_match(n, &mut rule, &m, opts, col);
                        }
                        rule.goto = opt.text == "-g" || opt.text == "--goto";
                        target = Some((arg.text.clone(), Vec::new(), arg.col));
                    }
                }
                neg = false;
                continue;
            }
            if t.text.starts_with('-') && !t.quoted {
                let mut o = self.take_args(n, toks, &mut i)?;
                o.negated = neg;
                neg = false;
                let port_opt = matches!(
                    o.name.as_str(),
                    "--dport"
                        | "--sport"
                        | "--destination-port"
                        | "--source-port"
                        | "--tcp-flags"
                        | "--syn"
                );
                let owns_ports = |m: &str| matches!(m, "tcp" | "udp" | "sctp" | "udplite" | "dccp");
                if port_opt
                    && target.is_none()
                    && module.as_ref().is_some_and(|m| !owns_ports(&m.0))
                {
                    // `-m comment --comment x -p udp --dport 53`: the implicit protocol module.
                    if let Some((m, opts, col)) = module.take() {
                        ok &= self.push_match(n, &mut rule, &m, opts, col);
                    }
                }
                if let Some((_, opts, _)) = target.as_mut() {
                    opts.push(o);
                } else if let Some((_, opts, _)) = module.as_mut() {
                    opts.push(o);
                } else if let Some(p) = rule
                    .protocol
                    .as_ref()
                    .filter(|p| matches!(p.protocol.as_str(), "tcp" | "udp" | "sctp"))
                {
                    // Implicit protocol module (`-p tcp --dport 80`).
                    module = Some((p.protocol.clone(), vec![o], t.col));
                } else {
                    self.err(
                        n,
                        t.col,
                        format!("option {} outside any match module", t.text),
                        "-m MODULE before module options",
                    );
                    return None;
                }
                continue;
            }
            self.err(
                n,
                t.col,
                format!("unexpected argument {:?}", t.text),
                "an option starting with -",
            );
            return None;
        }
        if let Some((m, opts, col)) = module.take() {
            ok &= self.push_match(n, &mut rule, &m, opts, col);
        }
        if let Some((name, opts, col)) = target {
            rule.target = Some(self.make_target(n, &name, opts, col));
        }
        ok.then_some(rule)
    }

    fn bad(&mut self, n: u32, col: u32, msg: String, expected: &str) -> bool {
        self.err(n, col, msg, expected);
        false
    }

    fn push_match(
        &mut self,
        n: u32,
        rule: &mut RuleBody,
        module: &str,
        opts: Vec<RawOption>,
        col: u32,
    ) -> bool {
        let one = |o: &RawOption| o.args.first().cloned().unwrap_or_default();
        let m = match module {
            "comment" => Match::Comment(
                opts.iter()
                    .find(|o| o.name == "--comment")
                    .map(one)
                    .unwrap_or_default(),
            ),
            "tcp" | "udp" | "sctp" => {
                let (mut dport, mut sport, mut other) = (None, None, Vec::new());
                for o in opts {
                    match o.name.as_str() {
                        "--dport" | "--destination-port" | "--sport" | "--source-port" => {
                            let Some(r) = parse_port_range(&one(&o)) else {
                                return self.bad(
                                    n,
                                    col,
                                    format!("{} {:?} is not a port or range", o.name, one(&o)),
                                    "a port 0-65535 or a range a:b",
                                );
                            };
                            let pm = Some(PortMatch {
                                negated: o.negated,
                                ranges: vec![r],
                            });
                            if matches!(o.name.as_str(), "--dport" | "--destination-port") {
                                dport = pm;
                            } else {
                                sport = pm;
                            }
                        }
                        _ => other.push(o),
                    }
                }
                Match::Ports {
                    module: module.to_string(),
                    dport,
                    sport,
                    other,
                }
            }
            "multiport" => {
                let (mut dports, mut sports, mut ports) = (None, None, None);
                for o in opts {
                    let list = one(&o);
                    let ranges: Option<Vec<(u16, u16)>> =
                        list.split(',').map(parse_port_range).collect();
                    let Some(ranges) = ranges else {
                        return self.bad(
                            n,
                            col,
                            format!("{} {list:?} is not a port list", o.name),
                            "comma-separated ports or ranges a:b",
                        );
                    };
                    let pm = Some(PortMatch {
                        negated: o.negated,
                        ranges,
                    });
                    match o.name.as_str() {
                        "--dports" | "--destination-ports" => dports = pm,
                        "--sports" | "--source-ports" => sports = pm,
                        _ => ports = pm,
                    }
                }
                Match::Multiport {
                    dports,
                    sports,
                    ports,
                }
            }
            "addrtype" => {
                let mut m = (None, None, false, false);
                for o in opts {
                    let types = one(&o).split(',').map(str::to_string).collect();
                    match o.name.as_str() {
                        "--src-type" => m.0 = Some((o.negated, types)),
                        "--dst-type" => m.1 = Some((o.negated, types)),
                        "--limit-iface-in" => m.2 = true,
                        "--limit-iface-out" => m.3 = true,
                        _ => {}
                    }
                }
                Match::Addrtype {
                    src_type: m.0,
                    dst_type: m.1,
                    limit_iface_in: m.2,
                    limit_iface_out: m.3,
                }
            }
            "statistic" => {
                let (mut mode, mut probability, mut text, mut every, mut packet, mut negated) =
                    (String::new(), None, None, None, None, false);
                for o in opts {
                    negated |= o.negated;
                    match o.name.as_str() {
                        "--mode" => mode = one(&o),
                        "--probability" => {
                            let s = one(&o);
                            match s.parse::<f64>() {
                                Ok(p) if (0.0..=1.0).contains(&p) => probability = Some(p),
                                _ => {
                                    return self.bad(
                                        n,
                                        col,
                                        format!("probability {s:?} is not a number 0-1"),
                                        "--probability 0.5",
                                    )
                                }
                            }
                            text = Some(s);
                        }
                        "--every" => every = one(&o).parse().ok(),
                        "--packet" => packet = one(&o).parse().ok(),
                        _ => {}
                    }
                }
                Match::Statistic {
                    mode,
                    probability,
                    probability_text: text,
                    every,
                    packet,
                    negated,
                }
            }
            "recent" => {
                let mut m = Match::Recent {
                    name: "DEFAULT".into(),
                    action: None,
                    negated: false,
                    seconds: None,
                    hitcount: None,
                    reap: false,
                    rdest: false,
                    mask: None,
                };
                if let Match::Recent {
                    name,
                    action,
                    negated,
                    seconds,
                    hitcount,
                    reap,
                    rdest,
                    mask,
                } = &mut m
                {
                    for o in opts {
                        match o.name.as_str() {
                            "--name" => *name = one(&o),
                            "--set" | "--rcheck" | "--update" | "--remove" => {
                                *negated = o.negated;
                                *action = Some(match o.name.as_str() {
                                    "--set" => RecentAction::Set,
                                    "--rcheck" => RecentAction::Rcheck,
                                    "--update" => RecentAction::Update,
                                    _ => RecentAction::Remove,
                                });
                            }
                            "--seconds" => *seconds = one(&o).parse().ok(),
                            "--hitcount" => *hitcount = one(&o).parse().ok(),
                            "--reap" => *reap = true,
                            "--rdest" => *rdest = true,
                            "--rsource" => *rdest = false,
                            "--mask" => *mask = Some(one(&o)),
                            _ => {}
                        }
                    }
                }
                m
            }
            "mark" => {
                let Some(o) = opts.iter().find(|o| o.name == "--mark") else {
                    return self.bad(
                        n,
                        col,
                        "-m mark without --mark".into(),
                        "--mark VALUE[/MASK]",
                    );
                };
                let Some((value, mask)) = parse_mark(&one(o)) else {
                    return self.bad(
                        n,
                        col,
                        format!("mark {:?} is not VALUE[/MASK]", one(o)),
                        "--mark 0x4000/0x4000",
                    );
                };
                Match::Mark {
                    negated: o.negated,
                    value,
                    mask,
                }
            }
            "conntrack" => {
                let mut ctstate = None;
                let mut other = Vec::new();
                for o in opts {
                    if o.name == "--ctstate" {
                        ctstate =
                            Some((o.negated, one(&o).split(',').map(str::to_string).collect()));
                    } else {
                        other.push(o);
                    }
                }
                Match::Conntrack { ctstate, other }
            }
            "state" => {
                let o = opts.iter().find(|o| o.name == "--state");
                Match::State {
                    negated: o.is_some_and(|o| o.negated),
                    states: o
                        .map(|o| one(o).split(',').map(str::to_string).collect())
                        .unwrap_or_default(),
                }
            }
            "set" => {
                let mut m = (false, String::new(), Vec::new(), Vec::new());
                for o in opts {
                    if o.name == "--match-set" {
                        m.0 = o.negated;
                        m.1 = o.args.first().cloned().unwrap_or_default();
                        m.2 = o
                            .args
                            .get(1)
                            .map(|f| f.split(',').map(str::to_string).collect())
                            .unwrap_or_default();
                    } else {
                        m.3.push(o);
                    }
                }
                Match::Set {
                    negated: m.0,
                    name: m.1,
                    flags: m.2,
                    other: m.3,
                }
            }
            "physdev" => Match::Physdev(opts),
            "nfacct" => Match::Nfacct(
                opts.iter()
                    .find(|o| o.name == "--nfacct-name")
                    .map(one)
                    .unwrap_or_default(),
            ),
            _ => Match::Other {
                module: module.to_string(),
                options: opts,
            },
        };
        rule.matches.push(m);
        true
    }

    fn make_target(&mut self, n: u32, name: &str, opts: Vec<RawOption>, col: u32) -> Target {
        self.last_target = Some((name.to_string(), col));
        let declared = self
            .current
            .as_ref()
            .is_some_and(|t| t.chains.contains_key(name));
        if declared || !TARGET_EXTENSIONS.contains(&name) {
            if !declared {
                self.pending.push((name.to_string(), n, col));
            }
            return Target::Chain(name.to_string());
        }
        let one = |k: &str| {
            opts.iter()
                .find(|o| o.name == k)
                .and_then(|o| o.args.first().cloned())
        };
        let has = |k: &str| opts.iter().any(|o| o.name == k);
        match name {
            "ACCEPT" => Target::Accept,
            "DROP" => Target::Drop,
            "RETURN" => Target::Return,
            "REJECT" => Target::Reject {
                with: one("--reject-with"),
            },
            "DNAT" => Target::Dnat {
                to_destination: one("--to-destination"),
                other: opts
                    .iter()
                    .filter(|o| o.name != "--to-destination")
                    .cloned()
                    .collect(),
            },
            "SNAT" => Target::Snat {
                to_source: one("--to-source"),
                random_fully: has("--random-fully"),
                other: opts
                    .iter()
                    .filter(|o| o.name != "--to-source" && o.name != "--random-fully")
                    .cloned()
                    .collect(),
            },
            "MASQUERADE" => Target::Masquerade {
                random_fully: has("--random-fully"),
                other: opts
                    .iter()
                    .filter(|o| o.name != "--random-fully")
                    .cloned()
                    .collect(),
            },
            "MARK" | "CONNMARK" => {
                let op = self.mark_op(n, col, &opts);
                if name == "MARK" {
                    Target::Mark(op)
                } else {
                    Target::Connmark(op)
                }
            }
            _ => Target::Other {
                name: name.to_string(),
                options: opts,
            },
        }
    }

    fn mark_op(&mut self, n: u32, col: u32, opts: &[RawOption]) -> MarkOp {
        if opts.len() == 1 {
            let o = &opts[0];
            let arg = o.args.first().cloned().unwrap_or_default();
            let parsed = parse_mark(&arg);
            let op = match (o.name.as_str(), parsed) {
                ("--set-xmark", Some((value, mask))) => Some(MarkOp::SetXmark { value, mask }),
                ("--set-mark", Some((value, mask))) => Some(MarkOp::SetMark { value, mask }),
                ("--or-mark", Some((v, _))) => Some(MarkOp::Or(v)),
                ("--xor-mark", Some((v, _))) => Some(MarkOp::Xor(v)),
                ("--and-mark", Some((v, _))) => Some(MarkOp::And(v)),
                (
                    "--set-xmark" | "--set-mark" | "--or-mark" | "--xor-mark" | "--and-mark",
                    None,
                ) => {
                    self.err(
                        n,
                        col,
                        format!("{} {arg:?} is not VALUE[/MASK]", o.name),
                        "a mark such as 0x4000/0x4000",
                    );
                    None
                }
                _ => None,
            };
            if let Some(op) = op {
                return op;
            }
        }
        MarkOp::Other(opts.to_vec())
    }
}

fn parse_counters(s: &str) -> Option<Counters> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: b.parse().ok()?,
    })
}

fn parse_net(s: &str) -> Option<IpNet> {
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(IpNet::from(ip));
    }
    // Dotted netmask form `10.0.0.0/255.0.0.0`.
    let (a, m) = s.split_once('/')?;
    let ip: std::net::Ipv4Addr = a.parse().ok()?;
    let mask: std::net::Ipv4Addr = m.parse().ok()?;
    let bits = u32::from(mask);
    if bits.leading_ones() + bits.trailing_zeros() != 32 {
        return None;
    }
    ipnet::Ipv4Net::new(ip, bits.leading_ones() as u8)
        .ok()
        .map(IpNet::V4)
}

fn parse_port_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once(':') {
        Some((a, b)) => {
            let lo = if a.is_empty() { 0 } else { a.parse().ok()? };
            let hi = if b.is_empty() { 65535 } else { b.parse().ok()? };
            (lo <= hi).then_some((lo, hi))
        }
        None => {
            let p = s.parse().ok()?;
            Some((p, p))
        }
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_mark(s: &str) -> Option<(u32, u32)> {
    match s.split_once('/') {
        Some((v, m)) => Some((parse_u32(v)?, parse_u32(m)?)),
        None => Some((parse_u32(s)?, u32::MAX)),
    }
}

#[cfg(test)]
mod tokenize_tests {
    use super::{tokenize, tokenize_chars};
    use proptest::prelude::*;

    fn same(line: &str) {
        let fast = tokenize(line).map(|v| {
            v.into_iter()
                .map(|t| (t.text, t.col, t.quoted))
                .collect::<Vec<_>>()
        });
        let slow = tokenize_chars(line).map(|v| {
            v.into_iter()
                .map(|t| (t.text, t.col, t.quoted))
                .collect::<Vec<_>>()
        });
        assert_eq!(fast, slow, "{line:?}");
    }

    #[test]
    fn byte_tokenizer_matches_char_tokenizer_on_kube_proxy_lines() {
        same("-A KUBE-SVC-X -m comment --comment \"ns/a:http -> 10.0.0.1:80\" -j KUBE-SEP-Y");
        same("-A X -m comment --comment \"a \\\"b\\\" c\"x -j DROP");
        same("-A X --comment \"unterminated");
        same("\t-A  X\x0b-j\x0cACCEPT \r");
        same("");
    }

    proptest! {
        #[test]
        fn byte_tokenizer_matches_char_tokenizer(line in "[ -~\t\x0b\x0c\r]{0,60}") {
            same(&line);
        }
    }
}
