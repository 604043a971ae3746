//! Where every value of a profile came from: field paths in profile terms
//! (`namespaces[0].quota.pods`), the files read, the line and column of each
//! key and value (worked out on demand), and the pure YAML work they rest on:
//! parsing with the expansion checks, and merging layers while recording
//! which file set each path. Reports (`diag`) point with it; `source` does
//! the reading and the error reporting.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Parser};

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A field path in profile terms, e.g. `namespaces[0].quota.pods`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }
    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Key(k.to_owned()));
        FieldPath(v)
    }
    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        FieldPath(v)
    }
    pub fn parent(&self) -> Option<FieldPath> {
        if self.0.is_empty() {
            None
        } else {
            Some(FieldPath(self.0[..self.0.len() - 1].to_vec()))
        }
    }
    pub fn starts_with(&self, other: &FieldPath) -> bool {
        self.0.starts_with(&other.0)
    }
}

/// Parse `a.b[0].c` (keys made of `[A-Za-z0-9_-]`, or `["x.y"]`) into a path.
/// Why a text is not a field path (`a.b[0]["k.x"]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("unclosed `[\"` in `{0}`")]
    UnclosedQuote(String),
    #[error("unclosed `[` in `{0}`")]
    UnclosedBracket(String),
    #[error("bad index in `{0}`")]
    Index(String),
    #[error("empty key in `{0}`")]
    EmptyKey(String),
}

impl std::str::FromStr for FieldPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut segs = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("[\"") {
                let end = r
                    .find("\"]")
                    .ok_or_else(|| PathError::UnclosedQuote(s.to_owned()))?;
                segs.push(Seg::Key(r[..end].to_owned()));
                rest = &r[end + 2..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r
                    .find(']')
                    .ok_or_else(|| PathError::UnclosedBracket(s.to_owned()))?;
                let i = r[..end]
                    .parse()
                    .map_err(|_| PathError::Index(s.to_owned()))?;
                segs.push(Seg::Index(i));
                rest = &r[end + 1..];
            } else {
                let r = rest.strip_prefix('.').unwrap_or(rest);
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return Err(PathError::EmptyKey(s.to_owned()));
                }
                segs.push(Seg::Key(r[..end].to_owned()));
                rest = &r[end..];
            }
        }
        Ok(FieldPath(segs))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(the profile)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) if is_plain_key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Key(k) => write!(f, "[{k:?}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A place in a source file: 1-based line and column, and a length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub len: usize,
}

/// Where a path's key and value stand in one file.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Place {
    pub(crate) key: Option<Pos>,
    pub(crate) value: Option<Pos>,
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown to users: the path as given, or `profiles/<name>.yaml (built-in)`.
    pub name: String,
    pub text: String,
    /// Filled on first use: only messages and `explain` need places, and mapping
    /// every path of a large profile costs more than parsing it.
    pub(crate) places: OnceLock<BTreeMap<FieldPath, Place>>,
}

impl SourceFile {
    pub(crate) fn places(&self) -> &BTreeMap<FieldPath, Place> {
        self.places.get_or_init(|| positions(&self.text))
    }
}

/// Every file of a profile, and which file last set each path.
#[derive(Debug, Default)]
pub struct Sources {
    pub files: Vec<SourceFile>,
    /// Files in the order they were merged (each layer after its own `extends`).
    pub(crate) merged: Vec<usize>,
    /// Which file last set each path: worked out on first use by merging the
    /// files again, since only messages and `explain` ask, and recording it for
    /// every value of a large profile cost a fifth of loading it.
    origin: OnceLock<BTreeMap<FieldPath, usize>>,
}

/// A located span, resolved for display.
#[derive(Debug, Clone)]
pub struct Located {
    pub file: usize,
    pub pos: Pos,
}

impl Sources {
    fn origin(&self) -> &BTreeMap<FieldPath, usize> {
        self.origin.get_or_init(|| {
            let mut origin = BTreeMap::new();
            let mut value = Value::Object(Default::default());
            for &i in &self.merged {
                // Every merged file parsed once already, so it parses again.
                if let Ok(v) = parse_yaml(&self.files[i].text) {
                    merge(&mut value, v, &FieldPath::root(), i, &mut origin);
                }
            }
            origin
        })
    }

    /// Where to point for `path`: the value, or the key when `want_key`; falls back
    /// to the nearest ancestor that has a known place.
    pub fn locate(&self, path: &FieldPath, want_key: bool) -> Option<Located> {
        let mut p = Some(path.clone());
        while let Some(cur) = p {
            if let Some(&file) = self.origin().get(&cur)
                && let Some(place) = self.files[file].places().get(&cur)
            {
                let pos = if want_key {
                    place.key.or(place.value)
                } else {
                    place.value.or(place.key)
                };
                if let Some(pos) = pos {
                    return Some(Located { file, pos });
                }
            }
            p = cur.parent();
        }
        None
    }

    /// The file that set exactly `path`, and where in it.
    pub fn set_by(&self, path: &FieldPath) -> Option<(String, Option<Pos>)> {
        let &file = self.origin().get(path)?;
        let f = &self.files[file];
        Some((
            f.name.clone(),
            f.places().get(path).and_then(|p| p.value.or(p.key)),
        ))
    }
}

/// Record `file` as the origin of `path` and of every path under it in `v`.
pub(crate) fn mark(
    v: &Value,
    path: &FieldPath,
    file: usize,
    origin: &mut BTreeMap<FieldPath, usize>,
) {
    mark_in(v, &mut path.clone(), file, origin);
}

/// `mark` on one path buffer, extended and cut back in place: one copy per
/// value (the map's key) instead of two.
fn mark_in(v: &Value, path: &mut FieldPath, file: usize, origin: &mut BTreeMap<FieldPath, usize>) {
    origin.insert(path.clone(), file);
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                path.0.push(Seg::Key(k.clone()));
                mark_in(v, path, file, origin);
                path.0.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.0.push(Seg::Index(i));
                mark_in(v, path, file, origin);
                path.0.pop();
            }
        }
        _ => {}
    }
}

/// Map every path of the (first) document to the places of its key and value.
pub(crate) fn positions(text: &str) -> BTreeMap<FieldPath, Place> {
    enum Frame {
        Map {
            path: FieldPath,
            key: Option<(String, Pos)>,
        },
        Seq {
            path: FieldPath,
            next: usize,
        },
    }
    let mut out: BTreeMap<FieldPath, Place> = BTreeMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root_done = false;
    let to_pos = |span: &serde_saphyr::granit_parser::Span| {
        let len = span.end.index().saturating_sub(span.start.index()).max(1);
        Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
            len,
        }
    };
    // Where the next node goes: its path, and the key position when it is a map value.
    let slot = |stack: &mut Vec<Frame>| -> Option<(FieldPath, Option<Pos>)> {
        match stack.last_mut() {
            None => Some((FieldPath::root(), None)),
            Some(Frame::Seq { path, next }) => {
                let p = path.index(*next);
                *next += 1;
                Some((p, None))
            }
            Some(Frame::Map { path, key }) => key.take().map(|(k, kp)| (path.key(&k), Some(kp))),
        }
    };
    for ev in Parser::new_from_str(text) {
        let Ok((ev, span)) = ev else { break };
        let pos = to_pos(&span);
        match ev {
            Event::DocumentEnd if root_done => break,
            // A scalar or an alias is a key when its mapping waits for one, else a
            // value in the next slot.
            Event::Scalar(..) | Event::Alias(_) => {
                let text = match ev {
                    Event::Scalar(s, ..) => s.into_owned(),
                    _ => "<alias>".to_owned(),
                };
                if let Some(Frame::Map { key, .. }) = stack.last_mut()
                    && key.is_none()
                {
                    *key = Some((text, pos));
                    continue;
                }
                if let Some((p, kp)) = slot(&mut stack) {
                    out.insert(
                        p,
                        Place {
                            key: kp,
                            value: Some(pos),
                        },
                    );
                }
                if stack.is_empty() {
                    root_done = true;
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                // A complex (non-scalar) key: give it a throwaway path.
                let (p, kp) = if let Some(Frame::Map { key, path }) = stack.last_mut()
                    && key.is_none()
                {
                    (path.key("<complex key>"), None)
                } else {
                    match slot(&mut stack) {
                        Some(s) => s,
                        None => (FieldPath::root().key("<lost>"), None),
                    }
                };
                out.insert(
                    p.clone(),
                    Place {
                        key: kp,
                        value: Some(pos),
                    },
                );
                stack.push(if is_map {
                    Frame::Map { path: p, key: None }
                } else {
                    Frame::Seq { path: p, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                if stack.is_empty() {
                    root_done = true;
                }
            }
            _ => {}
        }
    }
    out
}

// ---- YAML text to values, with where each came from ----

/// Parse one YAML document into a generic value. YAML 1.1 booleans (`yes`, `on`)
/// stay strings, so a typed field rejects them instead of guessing.
pub(crate) fn parse_yaml(text: &str) -> Result<Value, (String, Option<Pos>, &'static str)> {
    const SYNTAX: &str = "fix the YAML syntax; quote values that contain `: `, `#` or start with a special character";
    if text.trim().is_empty() {
        return Err((
            "the profile is empty".to_owned(),
            Some(Pos {
                line: 1,
                col: 1,
                len: 1,
            }),
            "a profile needs at least `apiVersion`, `kind`, `metadata` and `cluster`",
        ));
    }
    expansion_check(text)?;
    if let Some(v) = crate::input::fast_yaml::parse(text, &resolve_scalar) {
        if cfg!(debug_assertions) {
            let reference = saphyr_value(text).ok();
            if reference.as_ref() != Some(&v) {
                return Err((
                    format!(
                        "internal error: the fast YAML reader read {v} where serde-saphyr reads {reference:?}; this is a bug in kharden"
                    ),
                    None,
                    SYNTAX,
                ));
            }
        }
        return Ok(v);
    }
    saphyr_value(text).map_err(|e| {
        let pos = e.location().map(|l| Pos {
            line: l.line() as usize,
            col: l.column() as usize,
            len: 1,
        });
        let msg = e.without_snippet().to_string();
        if msg.contains("budget breached") && msg.to_ascii_lowercase().contains("depth") {
            return (
                "the YAML nests deeper than a profile ever needs (over 64 levels)".to_owned(),
                pos,
                "flatten the structure; a profile is at most a few levels deep",
            );
        }
        if msg.contains("budget breached") {
            return (
                "the YAML expands to too many nodes (aliases that multiply each other?)".to_owned(),
                pos,
                "a profile is hand-written: expand anchors yourself or remove the repeated aliases",
            );
        }
        // The location is shown separately; drop serde-saphyr's own suffix.
        let msg = match msg.find(" at line ") {
            Some(i) => msg[..i].to_owned(),
            None => msg,
        };
        let msg = msg.strip_prefix("error: ").unwrap_or(&msg).to_owned();
        let msg = msg.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
        let hint = if msg.contains("duplicate mapping key") {
            "each key may appear once per mapping; merge the two entries"
        } else {
            SYNTAX
        };
        (format!("invalid YAML: {msg}"), pos, hint)
    })
}

/// serde-saphyr's reading of a whole document, the reference.
pub(crate) fn saphyr_value(text: &str) -> Result<Value, serde_saphyr::Error> {
    // Our own expansion check stops alias bombs; the parser's budget only has to
    // leave room for large fleet profiles (tens of thousands of namespaces).
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 50_000_000;
    budget.max_events = 50_000_000;
    let opts = serde_saphyr::options! { strict_booleans: true, budget: Some(budget) };
    serde_saphyr::from_str_with_options::<Value>(text, opts)
}

/// The type serde-saphyr gives a plain scalar (`80`, `1.33`, `~`), for the fast
/// reader; `None` when it is no scalar there.
pub(crate) fn resolve_scalar(s: &str) -> Option<Value> {
    crate::input::fast_yaml::cached(s, |s| saphyr_value(s).ok())
}

/// Refuse documents whose aliases expand them far beyond their written size
/// ("billion laughs"), before anything is expanded: count each anchored node's
/// size once, and charge every alias that size.
pub(crate) fn expansion_check(text: &str) -> Result<(), (String, Option<Pos>, &'static str)> {
    // No `&`, no anchor, so nothing an alias could expand (an alias to a missing
    // anchor is a syntax error): skip a second parse of large profiles.
    if !text.contains('&') {
        return Ok(());
    }
    let mut sizes: BTreeMap<usize, u64> = BTreeMap::new();
    // Open collections: (anchor id, expanded size so far).
    let mut open: Vec<(usize, u64)> = Vec::new();
    let (mut raw, mut expanded) = (0u64, 0u64);
    for ev in Parser::new_from_str(text) {
        let Ok((ev, span)) = ev else { return Ok(()) }; // syntax errors are reported by the real parse
        let add = |open: &mut Vec<(usize, u64)>, n: u64| {
            if let Some(top) = open.last_mut() {
                top.1 += n;
            }
        };
        match ev {
            Event::Scalar(_, _, anchor, _) => {
                raw += 1;
                expanded += 1;
                add(&mut open, 1);
                if anchor != 0 {
                    sizes.insert(anchor, 1);
                }
            }
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                raw += 1;
                expanded += 1;
                open.push((anchor, 1));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some((anchor, size)) = open.pop() {
                    if anchor != 0 {
                        sizes.insert(anchor, size);
                    }
                    add(&mut open, size);
                }
            }
            Event::Alias(id) => {
                raw += 1;
                let n = sizes.get(&id).copied().unwrap_or(1);
                expanded = expanded.saturating_add(n);
                add(&mut open, n);
            }
            _ => {}
        }
        if expanded > raw.saturating_mul(20).saturating_add(100_000) {
            let pos = Pos {
                line: span.start.line(),
                col: span.start.col() + 1,
                len: 1,
            };
            return Err((
                format!(
                    "the YAML expands to over {expanded} nodes from {raw} written ones (aliases that multiply each other?)"
                ),
                Some(pos),
                "a profile is hand-written: expand anchors yourself or remove the repeated aliases",
            ));
        }
    }
    Ok(())
}

/// Merge `over` into `base`: maps key by key (later wins), anything else replaces.
/// `merge` without the bookkeeping; the two must merge alike.
pub(crate) fn merge_values(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge_values(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, over) => *slot = over,
    }
}

/// Merge `over` into `base`: maps key by key (later wins), anything else replaces.
/// Records in `origin` which file set each path.
pub(crate) fn merge(
    base: &mut Value,
    over: Value,
    path: &FieldPath,
    file: usize,
    origin: &mut BTreeMap<FieldPath, usize>,
) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            origin.insert(path.clone(), file);
            for (k, v) in o {
                let p = path.key(&k);
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v, &p, file, origin),
                    None => {
                        mark(&v, &p, file, origin);
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, over) => {
            // Replaced wholesale: forget where the old value's parts came from.
            let stale: Vec<FieldPath> = origin
                .range(path.clone()..)
                .take_while(|(p, _)| p.starts_with(path))
                .map(|(p, _)| p.clone())
                .collect();
            for p in stale {
                origin.remove(&p);
            }
            mark(&over, path, file, origin);
            *slot = over;
        }
    }
}
