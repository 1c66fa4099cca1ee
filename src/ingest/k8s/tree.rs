//! A generic, position-annotated value tree read from YAML (serde-saphyr, with `Spanned`) or
//! JSON (a one-pass reader, [`super::json`], with serde_json behind it for what that reader
//! defers on), so that lowering into typed
//! objects is one code path and every value can be cited by line and column.

use crate::source::LineCol;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// One value with where it starts (`line == 0` when unknown).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node<'a> {
    /// The value.
    pub v: Val<'a>,
    /// Where it starts.
    pub at: LineCol,
}

/// A YAML/JSON value.
#[derive(Debug, Clone, PartialEq)]
///
/// Strings borrow from the text read when they can (JSON without escapes), so reading a large
/// file does not allocate every key and value a second time.
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Seq(Vec<Node<'a>>),
    Map(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// A value with no known position.
    pub fn new(v: Val<'a>) -> Self {
        Node {
            v,
            at: LineCol::default(),
        }
    }
    /// The value under `key` of a mapping (`None` for other values, absent keys and `null`).
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match &self.v {
            Val::Map(m) => m
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .filter(|v| v.v != Val::Null),
            _ => None,
        }
    }
    /// True for a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.v, Val::Map(_))
    }
    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.v {
            Val::Null => "null",
            Val::Bool(_) => "a boolean",
            Val::Int(_) => "an integer",
            Val::Float(_) => "a number",
            Val::Str(_) => "a string",
            Val::Seq(_) => "a list",
            Val::Map(_) => "a mapping",
        }
    }
    /// The value as JSON (for the few kinds whose spec is kept untyped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.v {
            Val::Null => J::Null,
            Val::Bool(b) => J::Bool(*b),
            Val::Int(i) => J::from(*i),
            Val::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Val::Str(s) => J::String(s.to_string()),
            Val::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Val::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

// ---------- YAML: serde-saphyr with spans ----------

impl<'de> Deserialize<'de> for Node<'static> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<Val>::deserialize(d)?;
        let line = u32::try_from(s.referenced.line()).unwrap_or(0);
        let col = u32::try_from(s.referenced.column()).unwrap_or(0);
        Ok(Node {
            v: s.value,
            at: LineCol { line, col },
        })
    }
}

impl<'de> Deserialize<'de> for Val<'static> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'static>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Val<'static>, E> {
        Ok(Val::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val<'static>, E> {
        Ok(Val::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val<'static>, E> {
        Ok(i64::try_from(v)
            .map(Val::Int)
            .unwrap_or(Val::Float(v as f64)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Val<'static>, E> {
        Ok(i64::try_from(v)
            .map(Val::Int)
            .unwrap_or(Val::Float(v as f64)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Val<'static>, E> {
        Ok(i64::try_from(v)
            .map(Val::Int)
            .unwrap_or(Val::Float(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val<'static>, E> {
        Ok(Val::Float(v))
    }
    fn visit_char<E: de::Error>(self, v: char) -> Result<Val<'static>, E> {
        Ok(Val::Str(Cow::Owned(v.to_string())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Val<'static>, E> {
        Ok(Val::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Val<'static>, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Val<'static>, E> {
        Ok(Val::Str(Cow::Owned(
            String::from_utf8_lossy(v).into_owned(),
        )))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Val<'static>, E> {
        Ok(Val::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Val<'static>, E> {
        Ok(Val::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Val<'static>, D::Error> {
        Val::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Val<'static>, D::Error> {
        Val::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'static>, A::Error> {
        let mut out = Vec::new();
        while let Some(n) = seq.next_element::<Node<'static>>()? {
            out.push(n);
        }
        Ok(Val::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val<'static>, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<Key>()? {
            let v = map.next_value::<Node<'static>>()?;
            out.push((Cow::Owned(k.0), v));
        }
        Ok(Val::Map(out))
    }
}

/// A mapping key: any scalar, as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Val::deserialize(d)? {
            Val::Str(s) => Ok(Key(s.into_owned())),
            Val::Int(i) => Ok(Key(i.to_string())),
            Val::Float(f) => Ok(Key(f.to_string())),
            Val::Bool(b) => Ok(Key(b.to_string())),
            Val::Null => Ok(Key("null".into())),
            _ => Err(de::Error::custom("a mapping key must be a scalar")),
        }
    }
}

/// A YAML syntax (or budget) error with its position.
pub(crate) struct YamlError {
    pub at: LineCol,
    pub message: String,
}

/// The serde-saphyr options: budgets raised so that 10^5-document streams are fine, while alias
/// expansion, nesting and total-size limits still stop hostile input cleanly.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 2_000_000;
    budget.max_nodes = 50_000_000;
    budget.max_events = 100_000_000;
    budget.max_total_scalar_bytes = 1 << 31;
    budget.max_reader_input_bytes = None;
    budget.max_depth = 128;
    // kubectl never writes anchors or aliases: a small allowance for hand-written YAML keeps an
    // alias bomb ("billion laughs") to a quick, located error.
    budget.max_recorded_anchor_events = 10_000;
    budget.max_recorded_anchor_bytes = 8 << 20;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    opts.alias_limits.max_total_replayed_events = 100_000;
    opts
}

/// Stack for the YAML parser's thread: nesting up to the depth budget needs more than a
/// test or worker thread's 2 MiB in an unoptimised build (only the pages used are touched).
const YAML_STACK_BYTES: usize = 64 << 20;

/// Parses a multi-document YAML stream; empty documents come back as `Val::Null`.
///
/// The parser recurses once per nesting level, so it runs on a thread of its own with a stack
/// that fits the depth budget whatever thread the caller is on.
pub(crate) fn parse_yaml(text: &str) -> Result<Vec<Node<'static>>, YamlError> {
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("yaml-parse".into())
            .stack_size(YAML_STACK_BYTES)
            .spawn_scoped(scope, || parse_yaml_here(text))
        {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(YamlError {
                    at: LineCol { line: 1, col: 1 },
                    message: "the YAML parser failed on this input".into(),
                })
            }),
            Err(_) => parse_yaml_here(text),
        }
    })
}

fn parse_yaml_here(text: &str) -> Result<Vec<Node<'static>>, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_saphyr::from_multiple_with_options::<Option<Node<'static>>>(text, yaml_options()) {
        Ok(docs) => Ok(docs
            .into_iter()
            .map(|d| d.unwrap_or_else(|| Node::new(Val::Null)))
            .collect()),
        Err(e) => {
            let at = e
                .location()
                .map(|l| LineCol {
                    line: u32::try_from(l.line()).unwrap_or(0).max(1),
                    col: u32::try_from(l.column()).unwrap_or(0).max(1),
                })
                .unwrap_or(LineCol { line: 1, col: 1 });
            let message = e.without_snippet().to_string();
            let message = message.lines().next().unwrap_or("invalid YAML").to_string();
            Err(YamlError { at, message })
        }
    }
}

// ---------- JSON: serde_json plus a position scan ----------

/// Parses JSON into a tree: well-formed input in one pass ([`super::json`]); anything that reader
/// defers on (malformed text, deep nesting, duplicate keys, ...) through serde_json, so that
/// errors and edge cases come out exactly as serde_json reports them.
pub(crate) fn parse_json(text: &str) -> Result<Node<'_>, serde_json::Error> {
    let stripped = text.strip_prefix('\u{feff}').unwrap_or(text);
    match super::json::parse(stripped) {
        Some(root) => Ok(root),
        None => parse_json_serde(text),
    }
}

/// Parses JSON into a tree with serde_json; positions come from a pre-order scan of value
/// starts, which matches the order of serde_json's `preserve_order` maps (duplicate keys leave
/// positions unknown).
pub(crate) fn parse_json_serde(text: &str) -> Result<Node<'static>, serde_json::Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: serde_json::Value = serde_json::from_str(text)?;
    let starts = value_starts(text.as_bytes());
    let mut lines = LineIndex::new(text);
    let mut next = 0usize;
    let count = count_values(&value);
    let usable = count == starts.len();
    Ok(convert(
        &value,
        if usable { Some(&starts) } else { None },
        &mut next,
        &mut lines,
    ))
}

fn count_values(v: &serde_json::Value) -> usize {
    1 + match v {
        serde_json::Value::Array(a) => a.iter().map(count_values).sum(),
        serde_json::Value::Object(o) => o.values().map(count_values).sum(),
        _ => 0,
    }
}

fn convert(
    v: &serde_json::Value,
    starts: Option<&[usize]>,
    next: &mut usize,
    lines: &mut LineIndex,
) -> Node<'static> {
    use serde_json::Value as J;
    let at = starts
        .and_then(|s| s.get(*next))
        .map(|off| lines.at(*off))
        .unwrap_or_default();
    *next += 1;
    let v = match v {
        J::Null => Val::Null,
        J::Bool(b) => Val::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Val::Int(i),
            None => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Val::Str(Cow::Owned(s.clone())),
        J::Array(a) => Val::Seq(a.iter().map(|x| convert(x, starts, next, lines)).collect()),
        J::Object(o) => Val::Map(
            o.iter()
                .map(|(k, x)| (Cow::Owned(k.clone()), convert(x, starts, next, lines)))
                .collect(),
        ),
    };
    Node { v, at }
}

/// Byte offsets of every JSON value start, in pre-order (text order).
fn value_starts(b: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    // After `{` or `,` inside an object the next string is a key, not a value.
    let mut stack: Vec<bool> = Vec::new(); // true = object
    let mut expect_key = false;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                if !expect_key {
                    out.push(start);
                }
                expect_key = false;
                continue;
            }
            b'{' => {
                out.push(i);
                stack.push(true);
                expect_key = true;
            }
            b'[' => {
                out.push(i);
                stack.push(false);
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => expect_key = stack.last().copied().unwrap_or(false),
            b':' => expect_key = false,
            c if c == b'-' || c.is_ascii_digit() || c == b't' || c == b'f' || c == b'n' => {
                out.push(i);
                while i < b.len()
                    && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Offset to line/column with a moving cursor (offsets arrive in increasing order).
struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, c)| *c == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, line_starts }
    }
    fn at(&mut self, off: usize) -> LineCol {
        let line = self.line_starts.partition_point(|s| *s <= off);
        let start = self
            .line_starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(0);
        let col = self
            .text
            .get(start..off)
            .map(|s| s.chars().count())
            .unwrap_or(0) as u32
            + 1;
        LineCol {
            line: line as u32,
            col,
        }
    }
}
