//! Resolves a JSON path (`A[3].B[1].C`) to the line and column where that value starts, by
//! scanning the raw text once. Used only when a location is displayed, so ingest stays a single
//! serde pass and keeps no per-value index.

use super::{offset_to_linecol, LineCol};

/// One segment of a JSON path.
#[derive(Debug, PartialEq)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn parse_path(path: &str) -> Option<Vec<Seg<'_>>> {
    let mut segs = Vec::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => i += 1,
            b'[' => {
                let end = path[i..].find(']')? + i;
                segs.push(Seg::Index(path[i + 1..end].parse().ok()?));
                i = end + 1;
            }
            _ => {
                let end = path[i..]
                    .find(['.', '['])
                    .map(|e| e + i)
                    .unwrap_or(path.len());
                segs.push(Seg::Key(&path[i..end]));
                i = end;
            }
        }
    }
    Some(segs)
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.pos).copied()
    }
    /// Reads a string starting at a quote; returns the raw contents (escapes kept).
    fn string(&mut self) -> Option<&'a [u8]> {
        if self.peek()? != b'"' {
            return None;
        }
        self.pos += 1;
        let start = self.pos;
        // Jump from one quote or backslash to the next (long strings are scanned a vector at a
        // time, not a byte at a time).
        while let Some(k) = self
            .b
            .get(self.pos..)
            .and_then(|r| memchr::memchr2(b'"', b'\\', r))
        {
            self.pos += k;
            if self.b[self.pos] == b'\\' {
                self.pos += 2;
            } else {
                let s = &self.b[start..self.pos];
                self.pos += 1;
                return Some(s);
            }
        }
        None
    }
    /// Skips one complete value.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                while self.pos < self.b.len() {
                    match self.b[self.pos] {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
                None
            }
            _ => {
                while self.pos < self.b.len() && !matches!(self.b[self.pos], b',' | b'}' | b']') {
                    self.pos += 1;
                }
                Some(())
            }
        }
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.pos += 1)
    }
    /// Positions the scanner at the value of `key` in the object at the cursor.
    fn enter_key(&mut self, key: &str) -> Option<()> {
        self.expect(b'{')?;
        loop {
            if self.peek()? == b'}' {
                return None;
            }
            let k = self.string()?;
            self.expect(b':')?;
            if k == key.as_bytes() {
                return Some(());
            }
            self.skip_value()?;
            if self.peek()? == b',' {
                self.pos += 1;
            }
        }
    }
    /// Positions the scanner at element `idx` of the array at the cursor.
    fn enter_index(&mut self, idx: usize) -> Option<()> {
        self.expect(b'[')?;
        for _ in 0..idx {
            if self.peek()? == b']' {
                return None;
            }
            self.skip_value()?;
            if self.peek()? == b',' {
                self.pos += 1;
            }
        }
        (self.peek()? != b']').then_some(())
    }
}

/// The line and column at which the value named by `path` starts in `text`, if it exists.
pub fn locate_json_path(text: &str, path: &str) -> Option<LineCol> {
    let segs = parse_path(path)?;
    let mut s = Scanner {
        b: text.as_bytes(),
        pos: 0,
    };
    for seg in segs {
        match seg {
            Seg::Key(k) => s.enter_key(k)?,
            Seg::Index(i) => s.enter_index(i)?,
        }
    }
    s.ws();
    Some(offset_to_linecol(text, s.pos))
}

/// The keys of the top-level object of a JSON text, without parsing the values; `None` when the
/// text is not a JSON object (or is malformed before the keys end).
pub fn top_level_keys(text: &str) -> Option<Vec<String>> {
    top_level_keys_until(text, |_| false)
}

/// The keys of the top-level object up to and including the first for which `stop` holds (all
/// of them when none does): recognising a file by a key it starts with needs no scan of the rest.
pub fn top_level_keys_until(text: &str, stop: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    let mut s = Scanner {
        b: text.as_bytes(),
        pos: 0,
    };
    // Skip a UTF-8 byte order mark.
    if text.starts_with('\u{feff}') {
        s.pos = 3;
    }
    s.expect(b'{')?;
    let mut keys = Vec::new();
    loop {
        match s.peek()? {
            b'}' => return Some(keys),
            b',' => s.pos += 1,
            _ => {
                let k = String::from_utf8_lossy(s.string()?).into_owned();
                let done = stop(&k);
                keys.push(k);
                if done {
                    return Some(keys);
                }
                s.expect(b':')?;
                s.skip_value()?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_values() {
        let text = "{\n \"A\": [\n  {\"x\": 1},\n  {\"x\": \"a]}\\\"\", \"B\": [5, 6]}\n ]\n}";
        assert_eq!(locate_json_path(text, "A").map(|l| l.line), Some(2));
        assert_eq!(
            locate_json_path(text, "A[0]"),
            Some(LineCol { line: 3, col: 3 })
        );
        assert_eq!(locate_json_path(text, "A[1].B[1]").map(|l| l.line), Some(4));
        assert_eq!(locate_json_path(text, "A[2]"), None);
        assert_eq!(locate_json_path(text, "Z"), None);
    }
}
