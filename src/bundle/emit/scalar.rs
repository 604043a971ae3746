//! Scalars and layout for the streaming emitter: which strings are plain in
//! every position, serde-saphyr's rendering of the others (cached per thread),
//! and how either is written at a mapping value, sequence item or key.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::ser::{self, Serialize};

/// Why an object could not be emitted: a shape kharden never builds.
#[derive(Debug)]
pub(crate) struct Error(pub(super) String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

pub(super) type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a node is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum At {
    /// The document itself.
    Top,
    /// The value of an entry whose key is at this indent; `key:` is written.
    Value(usize),
    /// A sequence item whose dash goes at this indent; nothing is written yet.
    Item(usize),
}

pub(super) const SPACES: &str = "                                                                ";

pub(super) fn indent(out: &mut String, n: usize) {
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

/// A string serde-saphyr writes plain in every position, key or value: it
/// starts with a letter, holds only letters, digits and `-_./`, and is no word
/// a YAML 1.1 reader takes for a boolean, null or float. Anything else takes
/// the slow path, which asks serde-saphyr.
pub(super) fn plain(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
    ];
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() < 1024
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|&c| PLAIN[usize::from(c)])
        && !(b.len() <= 5 && WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)))
}

/// The bytes `plain` allows after the first, as a table: every scalar of every
/// object passes this test.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/');
        c += 1;
    }
    t
};

/// The position a scalar's serde-saphyr rendering was taken in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Pos {
    Top,
    Value,
    Item,
    Key,
}

thread_local! {
    /// Slow-path renderings by position and string: the same few values
    /// (`"20"`, CIDRs, ports as strings) recur in every namespace.
    /// One map per `Pos`, so a lookup by `&str` allocates nothing.
    static CACHE: RefCell<[HashMap<String, String>; 4]> = RefCell::new(Default::default());
}

pub(super) const CACHE_LIMIT: usize = 1 << 16;

pub(super) fn saphyr(v: &impl Serialize) -> Result<String> {
    let opts = serde_saphyr::ser_options! { folded_wrap_chars: 100_000 };
    serde_saphyr::to_string_with_options(v, opts).map_err(|e| Error(e.to_string()))
}

/// serde-saphyr's rendering of `v` in position `pos`, without what the
/// position adds: for a value, what follows `k:`; for an item, what follows
/// `-`; for a key, what precedes `: 0`.
pub(super) fn rendered(pos: Pos, v: &impl Serialize) -> Result<String> {
    Ok(match pos {
        Pos::Top => saphyr(v)?,
        Pos::Value => {
            let t = saphyr(&BTreeMap::from([("k", v)]))?;
            t.strip_prefix("k:")
                .ok_or_else(|| Error(format!("unexpected mapping rendering {t:?}")))?
                .to_owned()
        }
        Pos::Item => {
            let t = saphyr(&[v])?;
            t.strip_prefix('-')
                .ok_or_else(|| Error(format!("unexpected sequence rendering {t:?}")))?
                .to_owned()
        }
        Pos::Key => {
            let t = saphyr(&[(v, 0u8)].into_iter().collect::<Entries<_>>())?;
            match t.strip_suffix(": 0\n") {
                Some(k) if !k.contains('\n') => k.to_owned(),
                _ => return Err(Error(format!("unsupported mapping key {t:?}"))),
            }
        }
    })
}

/// A one-entry mapping with any serializable key.
pub(super) struct Entries<K>(Vec<(K, u8)>);

impl<K> FromIterator<(K, u8)> for Entries<K> {
    fn from_iter<I: IntoIterator<Item = (K, u8)>>(it: I) -> Self {
        Entries(it.into_iter().collect())
    }
}

impl<K: Serialize> Serialize for Entries<K> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// `f` of serde-saphyr's rendering of the string `s` at `pos` (see
/// `rendered`), from the per-thread cache when it holds it: handing the text
/// to `f` spares a copy per scalar.
pub(super) fn with_rendered_str<R>(pos: Pos, s: &str, f: impl FnOnce(&str) -> R) -> Result<R> {
    CACHE.with(|c| {
        let i = pos as usize;
        if let Some(t) = c.borrow()[i].get(s) {
            return Ok(f(t));
        }
        let t = rendered(pos, &s)?;
        let r = f(&t);
        let mut c = c.borrow_mut();
        if c[i].len() < CACHE_LIMIT {
            c[i].insert(s.to_owned(), t);
        }
        Ok(r)
    })
}

/// Write a scalar that serde-saphyr rendered as `text` (from `rendered`) at
/// `at`: its continuation lines (a block scalar's body) move right by the
/// indent of the position, as serde-saphyr indents them there.
pub(super) fn write_rendered(out: &mut String, at: At, text: &str) {
    let shift = match at {
        At::Top => 0,
        At::Value(i) => i,
        At::Item(i) => {
            indent(out, i);
            out.push('-');
            i
        }
    };
    let mut lines = text.split_inclusive('\n');
    if let Some(first) = lines.next() {
        out.push_str(first);
    }
    for line in lines {
        if line != "\n" {
            indent(out, shift);
        }
        out.push_str(line);
    }
}

/// Write a scalar that is plain at `at`.
pub(super) fn write_plain(out: &mut String, at: At, text: &str) {
    lead(out, at);
    out.push_str(text);
    out.push('\n');
}

/// What precedes a plain scalar at `at`: a space after `key:`, or the item's
/// indent and dash.
pub(super) fn lead(out: &mut String, at: At) {
    match at {
        At::Top => {}
        At::Value(_) => out.push(' '),
        At::Item(i) => {
            indent(out, i);
            out.push_str("- ");
        }
    }
}

pub(super) fn pos_of(at: At) -> Pos {
    match at {
        At::Top => Pos::Top,
        At::Value(_) => Pos::Value,
        At::Item(_) => Pos::Item,
    }
}

/// A key as written: plain, or as serde-saphyr writes it.
pub(super) fn key_text(k: &str) -> Result<std::borrow::Cow<'_, str>> {
    if plain(k) {
        Ok(std::borrow::Cow::Borrowed(k))
    } else {
        with_rendered_str(Pos::Key, k, str::to_owned).map(std::borrow::Cow::Owned)
    }
}
