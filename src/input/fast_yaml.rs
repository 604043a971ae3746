//! The fast path of profile parsing (#17): the YAML a profile is written in
//! (block mappings and sequences, one-line flow collections, plain and quoted
//! scalars, comments) read straight into a value, in one pass over the lines.
//! Anything else (anchors, tags, block scalars, multi-line scalars, several
//! documents, tabs, and every syntax error) gives `None`, and serde-saphyr
//! parses the text instead, so its reading and its error messages stay the
//! reference. Plain scalars that could be anything but a string (`80`,
//! `1.33`, `true`, `~`) are resolved by serde-saphyr too. Debug builds (and so
//! every test) check each fast result against serde-saphyr's
//! (`position::parse_yaml`).

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

/// One significant line: its indent and its content (comments are cut later,
/// where a scalar ends).
#[derive(Clone, Copy)]
struct Line<'t> {
    indent: usize,
    text: &'t str,
}

/// `text` as a value, when it is in the subset; `None` sends it to serde-saphyr.
pub(crate) fn parse(text: &str, resolve: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
    if text.contains(['\t', '\r', '\u{feff}']) {
        return None;
    }
    let mut lines = Vec::new();
    for raw in text.split('\n') {
        let content = raw.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if raw.starts_with("---") || raw.starts_with("...") {
            return None;
        }
        lines.push(Line {
            indent: raw.len() - content.len(),
            text: content.trim_end_matches(' '),
        });
    }
    let first = *lines.first()?;
    let mut p = Parser {
        lines,
        i: 0,
        depth: 0,
        resolve,
    };
    let v = p.block(first.indent)?;
    if p.i != p.lines.len() || !v.is_object() {
        return None;
    }
    Some(v)
}

/// Nesting beyond this (block or flow) goes to serde-saphyr, whose budget
/// refuses it with a position; a profile is a few levels deep.
const MAX_DEPTH: usize = 32;

struct Parser<'t, 'r> {
    lines: Vec<Line<'t>>,
    i: usize,
    /// Open block collections.
    depth: usize,
    resolve: &'r dyn Fn(&str) -> Option<Value>,
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

impl<'t> Parser<'t, '_> {
    fn peek(&self) -> Option<Line<'t>> {
        self.lines.get(self.i).copied()
    }

    /// The block collection whose lines start at `indent`.
    fn block(&mut self, indent: usize) -> Option<Value> {
        let line = self.peek()?;
        if line.indent != indent || self.depth == MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let v = if is_item(line.text) {
            self.seq(indent)
        } else {
            self.map(indent)
        };
        self.depth -= 1;
        v
    }

    /// What follows a `key:` or `-` with nothing after it on its line.
    fn nested(&mut self, indent: usize, seq_allowed_at_same: bool) -> Option<Value> {
        match self.peek() {
            Some(next) if next.indent > indent => self.block(next.indent),
            Some(next) if seq_allowed_at_same && next.indent == indent && is_item(next.text) => {
                self.seq(indent)
            }
            _ => Some(Value::Null),
        }
    }

    fn map(&mut self, indent: usize) -> Option<Value> {
        let mut out = Map::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_item(line.text) {
                return None;
            }
            let (key, rest) = split_key(line.text)?;
            self.i += 1;
            let value = if rest.is_empty() {
                self.nested(indent, true)?
            } else {
                let v = self.inline(rest)?;
                if self.peek().is_some_and(|n| n.indent > indent) {
                    return None; // a multi-line scalar, or a syntax error
                }
                v
            };
            if out.insert(key, value).is_some() {
                return None; // duplicate keys: serde-saphyr says where
            }
        }
        Some(Value::Object(out))
    }

    fn seq(&mut self, indent: usize) -> Option<Value> {
        let mut out = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            if !is_item(line.text) {
                break; // the next key of the mapping holding this sequence
            }
            let after = &line.text[1..];
            let rest = after.trim_start_matches(' ');
            if rest.is_empty() || rest.starts_with('#') {
                self.i += 1;
                out.push(self.nested(indent, false)?);
                continue;
            }
            let column = indent + 1 + (after.len() - rest.len());
            if is_item(rest) || split_key(rest).is_some() {
                // `- key: v` or `- - v`: a collection whose first line starts
                // at the item's content column.
                self.lines[self.i] = Line {
                    indent: column,
                    text: rest,
                };
                out.push(self.block(column)?);
            } else {
                self.i += 1;
                out.push(self.inline(rest)?);
                if self.peek().is_some_and(|n| n.indent > indent) {
                    return None;
                }
            }
        }
        Some(Value::Array(out))
    }

    /// A value on the rest of a line: quoted, flow or plain, then at most a comment.
    fn inline(&self, rest: &str) -> Option<Value> {
        let mut c = Cursor {
            s: rest,
            at: 0,
            depth: 0,
        };
        let v = match c.first()? {
            b'"' | b'\'' => Value::String(c.quoted()?),
            b'[' | b'{' => self.flow(&mut c)?,
            _ => return self.plain(cut_comment(rest)),
        };
        c.spaces();
        match c.rest() {
            "" => Some(v),
            r if r.starts_with('#') && c.at > 0 && rest.as_bytes()[c.at - 1] == b' ' => Some(v),
            _ => None,
        }
    }

    /// A plain scalar in block context. One that starts with an indicator
    /// (anchor, alias, tag, block scalar, directive, …) or holds `: ` is left
    /// to serde-saphyr, except a leading `-` (`-1`), which it resolves.
    fn plain(&self, s: &str) -> Option<Value> {
        if s.is_empty()
            || s.contains(": ")
            || s.ends_with(':')
            || s.starts_with(INDICATORS)
            || s == "-"
        {
            return None;
        }
        self.scalar(s)
    }

    fn scalar(&self, s: &str) -> Option<Value> {
        if certainly_string(s) {
            Some(Value::String(s.to_owned()))
        } else {
            self.resolved(s)
        }
    }

    /// A scalar whose type serde-saphyr decides; `None` when it is no scalar.
    fn resolved(&self, s: &str) -> Option<Value> {
        match (self.resolve)(s)? {
            Value::Array(_) | Value::Object(_) => None,
            v => Some(v),
        }
    }

    /// A one-line flow collection.
    fn flow(&self, c: &mut Cursor) -> Option<Value> {
        c.depth += 1;
        if c.depth > MAX_DEPTH {
            return None;
        }
        let open = c.first()?;
        c.at += 1;
        let close = if open == b'[' { b']' } else { b'}' };
        let mut arr = Vec::new();
        let mut map = Map::new();
        c.spaces();
        if c.first() == Some(close) {
            c.at += 1;
        } else {
            loop {
                c.spaces();
                if open == b'[' {
                    arr.push(self.flow_node(c)?);
                } else {
                    let key = match self.flow_node(c)? {
                        Value::String(k) => k,
                        _ => return None,
                    };
                    if c.first()? != b':' {
                        return None;
                    }
                    c.at += 1;
                    if c.first()? != b' ' {
                        return None;
                    }
                    c.spaces();
                    let v = self.flow_node(c)?;
                    if map.insert(key, v).is_some() {
                        return None;
                    }
                }
                c.spaces();
                match c.first()? {
                    b',' => {
                        c.at += 1;
                        c.spaces();
                        if c.first()? == close {
                            return None; // a trailing comma: serde-saphyr decides
                        }
                    }
                    b if b == close => {
                        c.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        c.depth -= 1;
        Some(if open == b'[' {
            Value::Array(arr)
        } else {
            Value::Object(map)
        })
    }

    fn flow_node(&self, c: &mut Cursor) -> Option<Value> {
        match c.first()? {
            b'"' | b'\'' => c.quoted().map(Value::String),
            b'[' | b'{' => self.flow(c),
            _ => {
                let rest = c.rest();
                let end = rest
                    .find([',', '[', ']', '{', '}', ':', '#'])
                    .unwrap_or(rest.len());
                let s = rest[..end].trim_end_matches(' ');
                if s.is_empty() || s.starts_with(INDICATORS) || s == "-" {
                    return None;
                }
                c.at += s.len();
                self.scalar(s)
            }
        }
    }
}

/// Characters that give a scalar starting with them another meaning.
const INDICATORS: [char; 18] = [
    '?', ':', ',', '[', ']', '{', '}', '#', '\'', '"', '@', '`', '&', '*', '!', '|', '>', '%',
];

/// `key: rest` (rest possibly empty) when the line starts with a mapping key.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, after) = if text.starts_with(['"', '\'']) {
        let mut c = Cursor {
            s: text,
            at: 0,
            depth: 0,
        };
        let k = c.quoted()?;
        (k, &text[c.at..])
    } else {
        let colon = text.find(':')?;
        let k = &text[..colon];
        let b = k.as_bytes();
        if b.is_empty()
            || !b[0].is_ascii_alphanumeric()
            || !b
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/'))
            || !certainly_string(k)
        {
            return None;
        }
        (k.to_owned(), &text[colon..])
    };
    let rest = after.strip_prefix(':')?;
    if rest.is_empty() {
        return Some((key, ""));
    }
    let value = rest.strip_prefix(' ')?.trim_start_matches(' ');
    if value.starts_with('#') {
        return Some((key, ""));
    }
    Some((key, value))
}

/// A plain block scalar up to a comment (` #`).
fn cut_comment(s: &str) -> &str {
    match s.find(" #") {
        Some(i) => s[..i].trim_end_matches(' '),
        None => s,
    }
}

/// A plain scalar no YAML reader takes for anything but a string: it starts
/// with a letter and is no word for a boolean, null or float.
fn certainly_string(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "infinity",
    ];
    s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && !(s.len() <= 8 && WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)))
}

struct Cursor<'s> {
    s: &'s str,
    at: usize,
    /// Open flow collections.
    depth: usize,
}

impl<'s> Cursor<'s> {
    fn first(&self) -> Option<u8> {
        self.s.as_bytes().get(self.at).copied()
    }
    fn rest(&self) -> &'s str {
        &self.s[self.at..]
    }
    fn spaces(&mut self) {
        while self.first() == Some(b' ') {
            self.at += 1;
        }
    }

    /// A quoted scalar on this line; `None` for escapes outside the common set.
    fn quoted(&mut self) -> Option<String> {
        let q = self.first()?;
        let body = &self.s[self.at + 1..];
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '\'' if q == b'\'' => {
                    if body[i + 1..].starts_with('\'') {
                        out.push('\'');
                        chars.next();
                    } else {
                        self.at += 1 + i + 1;
                        return Some(out);
                    }
                }
                '"' if q == b'"' => {
                    self.at += 1 + i + 1;
                    return Some(out);
                }
                '\\' if q == b'"' => {
                    let (_, e) = chars.next()?;
                    out.push(match e {
                        '\\' => '\\',
                        '"' => '"',
                        '/' => '/',
                        'n' => '\n',
                        't' => '\t',
                        _ => return None,
                    });
                }
                c => out.push(c),
            }
        }
        None // the scalar goes on past the line
    }
}

thread_local! {
    static RESOLVED: RefCell<HashMap<String, Option<Value>>> = RefCell::new(HashMap::new());
}

/// `resolve`, remembered: the same few numbers recur in every namespace.
pub(crate) fn cached(s: &str, resolve: impl Fn(&str) -> Option<Value>) -> Option<Value> {
    RESOLVED.with(|c| {
        if let Some(v) = c.borrow().get(s) {
            return v.clone();
        }
        let v = resolve(s);
        let mut c = c.borrow_mut();
        if c.len() < 1 << 16 {
            c.insert(s.to_owned(), v.clone());
        }
        v
    })
}

#[cfg(test)]
mod tests;
