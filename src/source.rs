//! Profile sources: reading YAML files, resolving `extends:` layers (built-in
//! presets and relative files), merging them, and remembering where every value
//! came from, so that any later stage can point at file:line:column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Parser};

use crate::diag::{Diagnostic, Diagnostics};

/// The built-in presets, embedded so the binary works from any directory.
pub const PRESETS: &[(&str, &str)] = &[
    ("baseline", include_str!("../profiles/baseline.yaml")),
    ("restricted", include_str!("../profiles/restricted.yaml")),
];

/// Largest profile file we read; a profile is hand-written, so anything bigger is a mistake.
const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// Deepest `extends:` chain we follow.
const MAX_LAYERS: usize = 16;

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
impl std::str::FromStr for FieldPath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut segs = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("[\"") {
                let end = r
                    .find("\"]")
                    .ok_or_else(|| format!("unclosed `[\"` in `{s}`"))?;
                segs.push(Seg::Key(r[..end].to_owned()));
                rest = &r[end + 2..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r
                    .find(']')
                    .ok_or_else(|| format!("unclosed `[` in `{s}`"))?;
                let i = r[..end]
                    .parse()
                    .map_err(|_| format!("bad index in `{s}`"))?;
                segs.push(Seg::Index(i));
                rest = &r[end + 1..];
            } else {
                let r = rest.strip_prefix('.').unwrap_or(rest);
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return Err(format!("empty key in `{s}`"));
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
struct Place {
    key: Option<Pos>,
    value: Option<Pos>,
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown to users: the path as given, or `profiles/<name>.yaml (built-in)`.
    pub name: String,
    pub text: String,
    /// Filled on first use: only messages and `explain` need places, and mapping
    /// every path of a large profile costs more than parsing it.
    places: OnceLock<BTreeMap<FieldPath, Place>>,
}

impl SourceFile {
    fn places(&self) -> &BTreeMap<FieldPath, Place> {
        self.places.get_or_init(|| positions(&self.text))
    }
}

/// Every file of a profile, and which file last set each path.
#[derive(Debug, Default)]
pub struct Sources {
    pub files: Vec<SourceFile>,
    /// Files in the order they were merged (each layer after its own `extends`).
    merged: Vec<usize>,
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

/// Load a profile and its layers into one merged value.
pub fn load(path: &Path, display: &str) -> Result<(Value, Sources), Diagnostics> {
    load_root(LayerRef::File(path.to_path_buf(), display.to_owned()))
}

/// Load a profile given as text (tests, and profiles not read from a file);
/// its `extends:` may name presets only.
pub fn load_text(text: &str, display: &str) -> Result<(Value, Sources), Diagnostics> {
    load_root(LayerRef::Text(text.to_owned(), display.to_owned()))
}

fn load_root(root: LayerRef) -> Result<(Value, Sources), Diagnostics> {
    let mut sources = Sources::default();
    let mut diags = Diagnostics::default();
    let mut merged = Value::Object(Default::default());
    let mut stack = Vec::new();
    let ok = load_layer(root, &mut sources, &mut merged, &mut stack, &mut diags);
    if !ok || !diags.is_empty() {
        return Err(diags.with_sources(sources));
    }
    if let Value::Object(m) = &mut merged {
        // Layers are resolved here; the merged profile has none left to apply.
        m.remove("extends");
    }
    Ok((merged, sources))
}

enum LayerRef {
    File(PathBuf, String),
    Text(String, String),
    Preset(&'static str, &'static str),
}

/// Load one layer after its own `extends:`, then merge it over `merged`.
fn load_layer(
    layer: LayerRef,
    sources: &mut Sources,
    merged: &mut Value,
    stack: &mut Vec<String>,
    diags: &mut Diagnostics,
) -> bool {
    let (name, text, dir) = match &layer {
        LayerRef::File(path, display) => match read_text(path) {
            Ok(t) => (display.clone(), t, path.parent().map(Path::to_path_buf)),
            Err((msg, hint)) => {
                diags.push(Diagnostic::error(FieldPath::root(), msg).hint(hint));
                return false;
            }
        },
        LayerRef::Preset(n, t) => (
            format!("profiles/{n}.yaml (built-in)"),
            (*t).to_owned(),
            None,
        ),
        LayerRef::Text(t, display) => (display.clone(), t.clone(), None),
    };
    let file_idx = sources.files.len();
    let value = match parse_yaml(&text) {
        Ok(v) => v,
        Err((msg, pos, hint)) => {
            sources.files.push(SourceFile {
                name,
                text,
                // Unparsable: no places (a partial map would point at guesses).
                places: OnceLock::from(BTreeMap::new()),
            });
            let mut d = Diagnostic::error(FieldPath::root(), msg).hint(hint);
            d.at = pos.map(|pos| Located {
                file: file_idx,
                pos,
            });
            diags.push(d);
            return false;
        }
    };
    sources.files.push(SourceFile {
        name: name.clone(),
        text,
        places: OnceLock::new(),
    });
    if !value.is_object() {
        let mut d = Diagnostic::error(
            FieldPath::root(),
            format!(
                "a profile is a mapping, but `{name}` holds {}",
                describe(&value)
            ),
        )
        .hint("start from `kharden init` or the example in the README");
        d.at = Some(Located {
            file: file_idx,
            pos: Pos {
                line: 1,
                col: 1,
                len: 1,
            },
        });
        diags.push(d);
        return false;
    }
    stack.push(name.clone());
    let mut ok = true;
    if let Some(ext) = value.get("extends") {
        let path = FieldPath::root().key("extends");
        // Where entry `i` stands, looked up only for a message (see `places`).
        let here = |sources: &Sources, i: usize| {
            Some(Located {
                file: file_idx,
                pos: sources_pos(sources, file_idx, &path.index(i)),
            })
        };
        match ext.as_array() {
            None => {
                let mut d = Diagnostic::error(
                    path.clone(),
                    "`extends` must be a list of preset names or relative paths".to_owned(),
                )
                .hint("write `extends: [baseline]`");
                d.at = here(sources, 0);
                diags.push(d);
                ok = false;
            }
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let Some(s) = item.as_str() else {
                        let mut d = Diagnostic::error(
                            path.index(i),
                            "an `extends` entry must be a string".to_owned(),
                        );
                        d.at = here(sources, i);
                        diags.push(d);
                        ok = false;
                        continue;
                    };
                    match resolve_layer(s, dir.as_deref(), &name) {
                        Err((msg, hint)) => {
                            let mut d = Diagnostic::error(path.index(i), msg).hint(hint);
                            d.at = here(sources, i);
                            diags.push(d);
                            ok = false;
                        }
                        Ok(next) => {
                            let next_name = match &next {
                                LayerRef::File(_, d) | LayerRef::Text(_, d) => d.clone(),
                                LayerRef::Preset(n, _) => format!("profiles/{n}.yaml (built-in)"),
                            };
                            if stack.contains(&next_name) {
                                let mut d = Diagnostic::error(
                                    path.index(i),
                                    format!(
                                        "`extends` forms a cycle: {} -> {next_name}",
                                        stack.join(" -> ")
                                    ),
                                )
                                .hint("remove one of the layers from the chain");
                                d.at = here(sources, i);
                                diags.push(d);
                                ok = false;
                            } else if stack.len() >= MAX_LAYERS {
                                let mut d = Diagnostic::error(
                                    path.index(i),
                                    format!("`extends` chain deeper than {MAX_LAYERS} layers"),
                                );
                                d.at = here(sources, i);
                                diags.push(d);
                                ok = false;
                            } else {
                                ok &= load_layer(next, sources, merged, stack, diags);
                            }
                        }
                    }
                }
            }
        }
    }
    stack.pop();
    merge_values(merged, value);
    sources.merged.push(file_idx);
    ok
}

fn sources_pos(sources: &Sources, file: usize, path: &FieldPath) -> Pos {
    let places = sources.files[file].places();
    let mut p = Some(path.clone());
    while let Some(cur) = p {
        if let Some(pl) = places.get(&cur)
            && let Some(pos) = pl.value.or(pl.key)
        {
            return pos;
        }
        p = cur.parent();
    }
    Pos {
        line: 1,
        col: 1,
        len: 1,
    }
}

/// A bare name is a preset; a name with a slash is a file next to the profile.
fn resolve_layer(
    entry: &str,
    dir: Option<&Path>,
    from: &str,
) -> Result<LayerRef, (String, String)> {
    if !entry.contains('/') {
        return match PRESETS.iter().find(|(n, _)| *n == entry) {
            Some((n, t)) => Ok(LayerRef::Preset(n, t)),
            None => {
                let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                let hint = match crate::diag::nearest(entry, names.iter().copied()) {
                    Some(n) => {
                        format!("did you mean `{n}`? built-in presets: {}", names.join(", "))
                    }
                    None => format!(
                        "built-in presets: {}; a file path needs a slash, e.g. `./{entry}`",
                        names.join(", ")
                    ),
                };
                Err((format!("unknown preset `{entry}`"), hint))
            }
        };
    }
    let Some(dir) = dir else {
        return Err((
            format!("`{from}` cannot extend the file `{entry}`: it was not read from a directory"),
            "built-in presets and profiles given as text may extend presets only".to_owned(),
        ));
    };
    let rel = Path::new(entry);
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err((
            format!("`extends` entry `{entry}` leaves the directory of `{from}`"),
            "layers must live in the profile's directory or below it; write a relative path without `..`".to_owned(),
        ));
    }
    // Drop `.` parts, so one file always has one name (cycle detection relies on it).
    let rel: PathBuf = rel
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let path = dir.join(&rel);
    if !path.is_file() {
        return Err((
            format!("`extends` names `{entry}`, which does not exist next to `{from}`"),
            "paths in `extends` are relative to the file that names them".to_owned(),
        ));
    }
    let display = path.to_string_lossy().replace('\\', "/");
    Ok(LayerRef::File(path, display))
}

fn read_text(path: &Path) -> Result<String, (String, &'static str)> {
    const CHECK: &str = "check the path; it is read relative to the current directory";
    let cannot = |e: std::io::Error| {
        (
            format!("cannot read `{}`: {}", path.display(), io_reason(&e)),
            CHECK,
        )
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err((format!("`{}` is not a file", path.display()), CHECK));
    }
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err((
            format!(
                "`{}` is {} bytes; a profile may be at most {MAX_FILE_BYTES}",
                path.display(),
                meta.len()
            ),
            "split it with `extends:` layers, or check that this is the right file",
        ));
    }
    let bytes = std::fs::read(path).map_err(cannot)?;
    String::from_utf8(bytes).map_err(|e| {
        (
            format!(
                "`{}` is not UTF-8 text (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
            "save the profile as UTF-8",
        )
    })
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// Parse one YAML document into a generic value. YAML 1.1 booleans (`yes`, `on`)
/// stay strings, so a typed field rejects them instead of guessing.
fn parse_yaml(text: &str) -> Result<Value, (String, Option<Pos>, &'static str)> {
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
    // Our own expansion check stops alias bombs; the parser's budget only has to
    // leave room for large fleet profiles (tens of thousands of namespaces).
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 50_000_000;
    budget.max_events = 50_000_000;
    let opts = serde_saphyr::options! { strict_booleans: true, budget: Some(budget) };
    serde_saphyr::from_str_with_options::<Value>(text, opts).map_err(|e| {
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

/// Refuse documents whose aliases expand them far beyond their written size
/// ("billion laughs"), before anything is expanded: count each anchored node's
/// size once, and charge every alias that size.
fn expansion_check(text: &str) -> Result<(), (String, Option<Pos>, &'static str)> {
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

/// A short description of a JSON value's type, for messages.
pub fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Merge `over` into `base`: maps key by key (later wins), anything else replaces.
/// `merge` without the bookkeeping; the two must merge alike.
fn merge_values(base: &mut Value, over: Value) {
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
fn merge(
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

fn mark(v: &Value, path: &FieldPath, file: usize, origin: &mut BTreeMap<FieldPath, usize>) {
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
fn positions(text: &str) -> BTreeMap<FieldPath, Place> {
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
            Event::Scalar(s, ..) => {
                if let Some(Frame::Map { key, .. }) = stack.last_mut()
                    && key.is_none()
                {
                    *key = Some((s.into_owned(), pos));
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
            Event::Alias(_) => {
                if let Some(Frame::Map { key, .. }) = stack.last_mut()
                    && key.is_none()
                {
                    *key = Some(("<alias>".to_owned(), pos));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_keys_and_values() {
        let text = "a:\n  b: 1\n  c: [x, y]\nd:\n  - name: n\n";
        let places = positions(text);
        let p: FieldPath = "a.b".parse().unwrap();
        assert_eq!(places[&p].key.unwrap().line, 2);
        assert_eq!(places[&p].value.unwrap().col, 6);
        let p: FieldPath = "a.c[1]".parse().unwrap();
        assert_eq!(
            places[&p].value.unwrap(),
            Pos {
                line: 3,
                col: 10,
                len: 1
            }
        );
        let p: FieldPath = "d[0].name".parse().unwrap();
        assert_eq!(places[&p].value.unwrap().line, 5);
    }

    #[test]
    fn paths_print_in_profile_terms() {
        let p = FieldPath::root()
            .key("defaults")
            .key("quota")
            .key("services.loadbalancers");
        assert_eq!(p.to_string(), "defaults.quota[\"services.loadbalancers\"]");
        assert_eq!(p.to_string().parse::<FieldPath>().unwrap(), p);
        let p = FieldPath::root().key("namespaces").index(1).key("name");
        assert_eq!(p.to_string(), "namespaces[1].name");
    }

    #[test]
    fn ordinary_anchors_pass_and_bombs_do_not() {
        let mut text = String::from(
            "base: &rule {apiGroups: [apps], resources: [deployments], verbs: [get, list]}\nuses:\n",
        );
        for _ in 0..500 {
            text.push_str("  - *rule\n");
        }
        assert!(expansion_check(&text).is_ok());
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                vec![format!("*a{}", i - 1); 10].join(", ")
            ));
        }
        assert!(
            expansion_check(&bomb)
                .unwrap_err()
                .0
                .contains("expands to over")
        );
    }

    #[test]
    fn later_layers_win_and_lists_replace() {
        let mut origin = BTreeMap::new();
        let mut base = serde_json::json!({"a": {"x": 1, "y": 2}, "l": [1, 2, 3]});
        mark(&base.clone(), &FieldPath::root(), 0, &mut origin);
        merge(
            &mut base,
            serde_json::json!({"a": {"y": 3}, "l": [9]}),
            &FieldPath::root(),
            1,
            &mut origin,
        );
        assert_eq!(base, serde_json::json!({"a": {"x": 1, "y": 3}, "l": [9]}));
        assert_eq!(origin[&"a.x".parse().unwrap()], 0);
        assert_eq!(origin[&"a.y".parse().unwrap()], 1);
        assert!(!origin.contains_key(&"l[2]".parse().unwrap()));
    }

    /// Loading merges without bookkeeping and `origin` replays `merge` later:
    /// both must give the same value, or messages would point at the wrong file.
    #[test]
    fn merge_values_merges_like_merge() {
        let base =
            serde_json::json!({"a": {"x": 1, "y": {"z": 2}}, "l": [1, 2], "s": "t", "m": {"k": 1}});
        let over = serde_json::json!({"a": {"y": {"w": 3}, "n": null}, "l": [9], "s": {"now": "map"}, "m": 5});
        let (mut one, mut two) = (base.clone(), base);
        merge(
            &mut one,
            over.clone(),
            &FieldPath::root(),
            1,
            &mut BTreeMap::new(),
        );
        merge_values(&mut two, over);
        assert_eq!(one, two);
        assert_eq!(two["a"]["y"], serde_json::json!({"z": 2, "w": 3}));
    }

    /// Where a value came from is known once asked, layers included.
    #[test]
    fn origin_is_worked_out_on_demand() {
        let (_, sources) = load_text(
            "extends: [baseline]\ndefaults:\n  quota: {pods: 7}\n",
            "p.yaml",
        )
        .unwrap();
        let by = |p: &str| sources.set_by(&p.parse().unwrap()).map(|(f, _)| f);
        assert_eq!(by("defaults.quota.pods").as_deref(), Some("p.yaml"));
        assert_eq!(
            by("apiServer.audit.maxAgeDays").as_deref(),
            Some("profiles/baseline.yaml (built-in)")
        );
    }
}
