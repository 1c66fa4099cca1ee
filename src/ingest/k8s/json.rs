//! A one-pass JSON reader that builds the position-annotated [`Node`] tree straight from the
//! bytes, recording the line and column of every value as it goes.
//!
//! It accepts exactly well-formed JSON within a nesting limit and gives up (`None`) on anything
//! else: malformed text, nesting deeper than [`MAX_DEPTH`], duplicate keys, lone surrogates and
//! numbers it does not read itself are all left to the serde_json path in [`super::tree`], which
//! then produces the same tree or the same located diagnostic as before.

use super::tree::{Node, Val};
use crate::source::LineCol;
use std::borrow::Cow;

/// Deepest nesting read here; deeper input goes to serde_json (whose own limit is 128).
const MAX_DEPTH: usize = 128;

/// Maps with more keys than this check for duplicates with a hash set, smaller ones linearly.
const LINEAR_KEY_CHECK: usize = 16;

/// Parses `text` (already without a byte-order mark) into a tree, or `None` to defer to serde_json.
pub(crate) fn parse(text: &str) -> Option<Node<'_>> {
    let mut r = Reader::new(text);
    r.skip_ws();
    let root = r.value(0)?;
    r.skip_ws();
    (r.i == r.b.len()).then_some(root)
}

/// Like [`parse`], but each element of the top-level object's `items` array goes to `on_item` as
/// soon as it is read instead of into the tree (whose `items` is then left empty), so that a
/// large list is never held whole. `None` when the text is not a well-formed object or
/// `on_item` returns false; elements already passed on are then to be discarded by the caller.
pub(crate) fn parse_streaming_items<'a>(
    text: &'a str,
    on_item: &mut dyn FnMut(Node<'a>) -> bool,
) -> Option<Node<'a>> {
    let mut r = Reader::new(text);
    r.skip_ws();
    if r.b.get(r.i) != Some(&b'{') {
        return None;
    }
    let at = r.here();
    let root = Node {
        v: r.map(1, Some(on_item))?,
        at,
    };
    r.skip_ws();
    (r.i == r.b.len()).then_some(root)
}

/// The cursor over the text, with the line and column of a recent offset.
struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    /// The current line (1-based).
    line: u32,
    /// An offset on the current line whose column is `col`.
    col_off: usize,
    /// The 1-based column (in characters) of `col_off`.
    col: u32,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `text`.
    fn new(text: &'a str) -> Self {
        Reader {
            text,
            b: text.as_bytes(),
            i: 0,
            line: 1,
            col_off: 0,
            col: 1,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.col_off = self.i;
                    self.col = 1;
                }
                _ => break,
            }
        }
    }

    /// The line and column of the cursor (characters counted from the last known column).
    fn here(&mut self) -> LineCol {
        let chars = self.b[self.col_off..self.i]
            .iter()
            .filter(|c| (**c & 0xC0) != 0x80)
            .count();
        self.col += chars as u32;
        self.col_off = self.i;
        LineCol {
            line: self.line,
            col: self.col,
        }
    }

    fn value(&mut self, depth: usize) -> Option<Node<'a>> {
        let at = self.here();
        let v = match *self.b.get(self.i)? {
            b'{' => self.map(depth + 1, None)?,
            b'[' => self.seq(depth + 1)?,
            b'"' => Val::Str(self.string()?),
            b't' => self.literal(b"true", Val::Bool(true))?,
            b'f' => self.literal(b"false", Val::Bool(false))?,
            b'n' => self.literal(b"null", Val::Null)?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        };
        Some(Node { v, at })
    }

    fn literal(&mut self, word: &[u8], v: Val<'a>) -> Option<Val<'a>> {
        if self.b.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(v)
        } else {
            None
        }
    }

    /// An object; with `items`, the elements of its `items` array go there instead of into it.
    fn map(
        &mut self,
        depth: usize,
        mut items: Option<&mut dyn FnMut(Node<'a>) -> bool>,
    ) -> Option<Val<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1; // `{`
        let mut out: Vec<(Cow<'a, str>, Node<'a>)> = Vec::new();
        self.skip_ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Some(Val::Map(out));
        }
        let mut seen: Option<std::collections::HashSet<String>> = None;
        loop {
            if self.b.get(self.i) != Some(&b'"') {
                return None;
            }
            let key = self.string()?;
            if is_duplicate(&out, &mut seen, &key) {
                return None;
            }
            self.skip_ws();
            if self.b.get(self.i) != Some(&b':') {
                return None;
            }
            self.i += 1;
            self.skip_ws();
            let v = match items.as_mut() {
                Some(f) if key == "items" && self.b.get(self.i) == Some(&b'[') => {
                    let at = self.here();
                    self.seq_each(depth + 1, &mut **f)?;
                    Node {
                        v: Val::Seq(Vec::new()),
                        at,
                    }
                }
                _ => self.value(depth)?,
            };
            out.push((key, v));
            self.skip_ws();
            match self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.skip_ws();
                }
                b'}' => {
                    self.i += 1;
                    return Some(Val::Map(out));
                }
                _ => return None,
            }
        }
    }

    fn seq(&mut self, depth: usize) -> Option<Val<'a>> {
        let mut out = Vec::new();
        self.seq_each(depth, &mut |n| {
            out.push(n);
            true
        })?;
        Some(Val::Seq(out))
    }

    /// An array, each element handed to `each` as it is read (`None` when `each` says stop).
    fn seq_each(&mut self, depth: usize, each: &mut dyn FnMut(Node<'a>) -> bool) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1; // `[`
        self.skip_ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(());
        }
        loop {
            let n = self.value(depth)?;
            if !each(n) {
                return None;
            }
            self.skip_ws();
            match self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.skip_ws();
                }
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string at the cursor (on its opening quote).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    let s = self.text.get(start..self.i)?;
                    self.i += 1;
                    return Some(Cow::Borrowed(s));
                }
                b'\\' => break,
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        let mut out = self.text.get(start..self.i)?.to_string();
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let c = *self.b.get(self.i + 1)?;
                    self.i += 2;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                _ => {
                    let run = self.i;
                    while self
                        .b
                        .get(self.i)
                        .is_some_and(|c| *c != b'"' && *c != b'\\' && *c >= 0x20)
                    {
                        self.i += 1;
                    }
                    out.push_str(self.text.get(run..self.i)?);
                }
            }
        }
    }

    /// The character of a `\uXXXX` escape (after the `\u`), pairing surrogates.
    fn unicode_escape(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) {
            if self.b.get(self.i..self.i + 2)? != b"\\u" {
                return None;
            }
            self.i += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return None;
            }
            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
        } else {
            char::from_u32(hi)
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.i..self.i + 4)?;
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// A number: plain integers that fit `i64` are read here, anything else (fractions,
    /// exponents, `-0`, overflow) through serde_json's own number parser on the same text.
    fn number(&mut self) -> Option<Val<'a>> {
        let start = self.i;
        let neg = self.b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let int_start = self.i;
        match *self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.skip_digits(),
            _ => return None,
        }
        let int_end = self.i;
        let mut plain = true;
        if self.b.get(self.i) == Some(&b'.') {
            plain = false;
            self.i += 1;
            if !self.b.get(self.i)?.is_ascii_digit() {
                return None;
            }
            self.skip_digits();
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            plain = false;
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !self.b.get(self.i)?.is_ascii_digit() {
                return None;
            }
            self.skip_digits();
        }
        if plain && !(neg && self.b[int_start..int_end] == *b"0") {
            let mut n: i64 = 0;
            let mut fits = true;
            for d in &self.b[int_start..int_end] {
                let d = i64::from(d - b'0');
                let next = n.checked_mul(10).and_then(|x| {
                    if neg {
                        x.checked_sub(d)
                    } else {
                        x.checked_add(d)
                    }
                });
                match next {
                    Some(x) => n = x,
                    None => {
                        fits = false;
                        break;
                    }
                }
            }
            if fits {
                return Some(Val::Int(n));
            }
        }
        let n: serde_json::Number = serde_json::from_str(self.text.get(start..self.i)?).ok()?;
        Some(match n.as_i64() {
            Some(i) => Val::Int(i),
            None => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
        })
    }

    fn skip_digits(&mut self) {
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
    }
}

/// True when `key` is already among the keys of `out` (a hash set once the map grows).
fn is_duplicate(
    out: &[(Cow<'_, str>, Node<'_>)],
    seen: &mut Option<std::collections::HashSet<String>>,
    key: &str,
) -> bool {
    if out.len() < LINEAR_KEY_CHECK {
        return out.iter().any(|(k, _)| k == key);
    }
    let set = seen.get_or_insert_with(|| out.iter().map(|(k, _)| k.to_string()).collect());
    !set.insert(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree serde_json plus the position scan gives, for comparison.
    fn reference(text: &str) -> Option<Node<'_>> {
        super::super::tree::parse_json_serde(text).ok()
    }

    fn same(text: &str) {
        let fast = parse(text);
        assert!(fast.is_some(), "fast reader refused {text:?}");
        assert_eq!(fast, reference(text), "trees differ for {text:?}");
    }

    #[test]
    fn matches_serde_json_on_values_and_positions() {
        same("{}");
        same("[]");
        same(" [1, -2, 3.5, 1e3, -0, 0, true, false, null, \"x\"] ");
        same("{\n  \"a\": {\"b\": [1,\n 2]},\n  \"c\": \"d\\n\\u00e9\\ud83d\\ude00\\\"\"\n}\n");
        same("{\"é\": \"ü\", \"k\": [\"ä\", 9223372036854775807, -9223372036854775808]}");
        same("[18446744073709551615, 18446744073709551616, -9223372036854775809, 0.1e-2]");
        same("{\"k\":\r\n\t\"v\"}");
    }

    #[test]
    fn defers_on_malformed_or_unusual_input() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "tru",
            "truex",
            "[1] x",
            "\"a\nb\"",
            "\"\\x\"",
            "\"\\ud800\"",
            "{\"a\":1,\"a\":2}",
        ] {
            assert!(parse(bad).is_none(), "accepted {bad:?}");
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_none());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_some());
    }

    #[test]
    fn duplicate_keys_are_found_in_large_maps() {
        let mut keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\": {i}")).collect();
        same(&format!("{{{}}}", keys.join(",")));
        keys.push("\"k3\": 0".into());
        assert!(parse(&format!("{{{}}}", keys.join(","))).is_none());
    }
}
