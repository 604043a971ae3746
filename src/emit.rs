//! The streaming YAML emitter every API object goes through (#17): it
//! serializes a typed object straight to block YAML, with every mapping's keys
//! sorted (`apiVersion`, `kind`, `metadata` leading at the top) and the Argo CD
//! annotations added to `metadata`, without building a generic tree first.
//!
//! The bytes are serde-saphyr's (the emitter kubectl reads back exactly, see
//! STACK.md): the layout is written here, the common scalars that are plain in
//! any position (`team-a`, `networking.k8s.io/v1`) directly, and every other
//! scalar (quoted, numeric-looking, multi-line) by serde-saphyr itself, in the
//! same position (mapping value, sequence item, key), then re-indented. Debug
//! builds (and so every test) compare each object with the reference path,
//! serde_json tree then serde-saphyr, byte for byte (`manifest::Manifest::new`).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::ser::{self, Serialize};

/// Why an object could not be emitted: a shape kharden never builds.
#[derive(Debug)]
pub struct Error(String);

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

type Result<T, E = Error> = std::result::Result<T, E>;

/// `obj` as one YAML document, keys sorted, with `annotations` set in its
/// top-level `metadata.annotations` (replacing a value of the same key, and
/// creating the mapping when `metadata` has none).
pub fn object(obj: &impl Serialize, annotations: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(512);
    obj.serialize(Node {
        out: &mut out,
        at: At::Top,
        inject: if annotations.is_empty() {
            Inject::None
        } else {
            Inject::Top(annotations)
        },
    })
    .map_err(|e| {
        format!("internal error: cannot serialize an object ({e}); this is a bug in kharden")
    })?;
    // Hundreds of thousands of bodies stay alive until they are written.
    out.shrink_to_fit();
    Ok(out)
}

/// Where a node is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    /// The document itself.
    Top,
    /// The value of an entry whose key is at this indent; `key:` is written.
    Value(usize),
    /// A sequence item whose dash goes at this indent; nothing is written yet.
    Item(usize),
}

/// What a mapping must add on its way out (the stage annotations).
#[derive(Clone, Copy)]
enum Inject<'a> {
    None,
    /// The document: its `metadata` gets the annotations.
    Top(&'a [(&'a str, &'a str)]),
    /// `metadata`: its `annotations` get them, or it gains `annotations`.
    Meta(&'a [(&'a str, &'a str)]),
    /// `metadata.annotations`: these entries are set.
    Annotations(&'a [(&'a str, &'a str)]),
}

const SPACES: &str = "                                                                ";

fn indent(out: &mut String, n: usize) {
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
fn plain(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
    ];
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() < 1024
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/'))
        && !(b.len() <= 5 && WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)))
}

/// The position a scalar's serde-saphyr rendering was taken in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Pos {
    Top,
    Value,
    Item,
    Key,
}

thread_local! {
    /// Slow-path renderings by position and string: the same few values
    /// (`"20"`, CIDRs, ports as strings) recur in every namespace.
    static CACHE: RefCell<HashMap<(Pos, String), String>> = RefCell::new(HashMap::new());
}

const CACHE_LIMIT: usize = 1 << 16;

fn saphyr(v: &impl Serialize) -> Result<String> {
    let opts = serde_saphyr::ser_options! { folded_wrap_chars: 100_000 };
    serde_saphyr::to_string_with_options(v, opts).map_err(|e| Error(e.to_string()))
}

/// serde-saphyr's rendering of `v` in position `pos`, without what the
/// position adds: for a value, what follows `k:`; for an item, what follows
/// `-`; for a key, what precedes `: 0`.
fn rendered(pos: Pos, v: &impl Serialize) -> Result<String> {
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
struct Entries<K>(Vec<(K, u8)>);

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

fn rendered_str(pos: Pos, s: &str) -> Result<String> {
    CACHE.with(|c| {
        if let Some(t) = c.borrow().get(&(pos, s.to_owned())) {
            return Ok(t.clone());
        }
        let t = rendered(pos, &s)?;
        let mut c = c.borrow_mut();
        if c.len() < CACHE_LIMIT {
            c.insert((pos, s.to_owned()), t.clone());
        }
        Ok(t)
    })
}

/// Write a scalar that serde-saphyr rendered as `text` (from `rendered`) at
/// `at`: its continuation lines (a block scalar's body) move right by the
/// indent of the position, as serde-saphyr indents them there.
fn write_rendered(out: &mut String, at: At, text: &str) {
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
fn write_plain(out: &mut String, at: At, text: &str) {
    match at {
        At::Top => {}
        At::Value(_) => out.push(' '),
        At::Item(i) => {
            indent(out, i);
            out.push_str("- ");
        }
    }
    out.push_str(text);
    out.push('\n');
}

fn pos_of(at: At) -> Pos {
    match at {
        At::Top => Pos::Top,
        At::Value(_) => Pos::Value,
        At::Item(_) => Pos::Item,
    }
}

/// A key as written: plain, or as serde-saphyr writes it.
fn key_text(k: &str) -> Result<std::borrow::Cow<'_, str>> {
    if plain(k) {
        Ok(std::borrow::Cow::Borrowed(k))
    } else {
        rendered_str(Pos::Key, k).map(std::borrow::Cow::Owned)
    }
}

/// One node being serialized.
struct Node<'o, 'a> {
    out: &'o mut String,
    at: At,
    inject: Inject<'a>,
}

impl Node<'_, '_> {
    fn str(self, v: &str) -> Result<()> {
        if plain(v) {
            write_plain(self.out, self.at, v);
        } else {
            let t = rendered_str(pos_of(self.at), v)?;
            write_rendered(self.out, self.at, &t);
        }
        Ok(())
    }

    fn other(self, v: &impl Serialize) -> Result<()> {
        let t = rendered(pos_of(self.at), v)?;
        write_rendered(self.out, self.at, &t);
        Ok(())
    }

    fn int(self, v: impl itoa_like::Int) -> Result<()> {
        let mut buf = String::new();
        v.push_to(&mut buf);
        write_plain(self.out, self.at, &buf);
        Ok(())
    }
}

/// Integers written as digits, as serde-saphyr writes them.
mod itoa_like {
    pub trait Int: std::fmt::Display {
        fn push_to(&self, s: &mut String) {
            use std::fmt::Write;
            let _ = write!(s, "{self}");
        }
    }
    impl Int for i64 {}
    impl Int for u64 {}
    impl Int for i128 {}
    impl Int for u128 {}
}

impl<'o, 'a> ser::Serializer for Node<'o, 'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Seq<'o>;
    type SerializeTuple = Seq<'o>;
    type SerializeTupleStruct = Seq<'o>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = Map<'o, 'a>;
    type SerializeStruct = Map<'o, 'a>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        write_plain(self.out, self.at, if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.int(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.int(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.int(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.int(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.int(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.int(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        self.int(v)
    }
    fn serialize_f32(self, v: f32) -> Result<()> {
        // As serde_json holds it: widened to f64.
        self.other(&f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        self.other(&v)
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        self.str(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<()> {
        Err(Error("bytes are not emitted".into()))
    }
    fn serialize_none(self) -> Result<()> {
        self.other(&())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        self.other(&())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        self.other(&())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<()> {
        self.str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<()> {
        // As serde_json does: a one-entry mapping.
        let mut m = ser::Serializer::serialize_map(self, Some(1))?;
        ser::SerializeMap::serialize_entry(&mut m, variant, v)?;
        ser::SerializeMap::end(m)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'o>> {
        let items = match self.at {
            At::Top => 0,
            At::Value(i) => i,
            At::Item(i) => i + 2,
        };
        let start = self.out.len();
        Ok(Seq {
            out: self.out,
            at: self.at,
            items,
            start,
            len: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'o>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'o>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Error("tuple variants are not emitted".into()))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'o, 'a>> {
        let entries = match self.at {
            At::Top => 0,
            At::Value(i) | At::Item(i) => i + 2,
        };
        let start = self.out.len();
        Ok(Map {
            out: self.out,
            at: self.at,
            indent: entries,
            start,
            keys: Vec::new(),
            key: None,
            inject: self.inject,
            saw_annotations: false,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Map<'o, 'a>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Error("struct variants are not emitted".into()))
    }
}

/// A sequence: items at `items`, a dash each.
pub struct Seq<'o> {
    out: &'o mut String,
    at: At,
    items: usize,
    start: usize,
    len: usize,
}

impl Seq<'_> {
    fn item<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        if self.len == 0 {
            if let At::Value(_) = self.at {
                self.out.push('\n');
            }
            self.start = self.out.len();
        }
        self.len += 1;
        v.serialize(Node {
            out: self.out,
            at: At::Item(self.items),
            inject: Inject::None,
        })
    }

    fn finish(self) -> Result<()> {
        if self.len == 0 {
            write_plain(self.out, self.at, "[]");
        } else if let At::Item(i) = self.at {
            // The first item's line starts with `items` spaces; its first two
            // past the parent's indent become the parent's dash.
            self.out
                .replace_range(self.start + i..self.start + i + 2, "- ");
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.item(v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.item(v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.item(v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// A mapping: entries written at `indent` as they come, then put in key order.
pub struct Map<'o, 'a> {
    out: &'o mut String,
    at: At,
    indent: usize,
    /// Where the first entry starts.
    start: usize,
    /// Each entry's key and where it starts.
    keys: Vec<(String, usize)>,
    key: Option<String>,
    inject: Inject<'a>,
    saw_annotations: bool,
}

/// Keys that lead a document, in this order; the rest follow sorted.
const LEAD: [&str; 3] = ["apiVersion", "kind", "metadata"];

impl<'a> Map<'_, 'a> {
    fn entry<T: ?Sized + Serialize>(&mut self, key: String, v: &T) -> Result<()> {
        if self.keys.is_empty() {
            if let At::Value(_) = self.at {
                self.out.push('\n');
            }
            self.start = self.out.len();
        }
        let inject = match self.inject {
            Inject::Top(a) if key == "metadata" => Inject::Meta(a),
            Inject::Meta(a) if key == "annotations" => {
                self.saw_annotations = true;
                Inject::Annotations(a)
            }
            _ => Inject::None,
        };
        let at = self.out.len();
        indent(self.out, self.indent);
        self.out.push_str(&key_text(&key)?);
        self.out.push(':');
        v.serialize(Node {
            out: self.out,
            at: At::Value(self.indent),
            inject,
        })?;
        self.keys.push((key, at));
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        let mut dropped = Vec::new();
        match self.inject {
            Inject::Annotations(a) => {
                for (k, v) in a {
                    if let Some(i) = self.keys.iter().position(|(key, _)| key == k) {
                        dropped.push(i);
                    }
                    self.entry((*k).to_owned(), v)?;
                }
            }
            Inject::Meta(a) if !self.saw_annotations => {
                let m: BTreeMap<&str, &str> = a.iter().copied().collect();
                self.entry("annotations".to_owned(), &m)?;
            }
            _ => {}
        }
        if self.keys.is_empty() {
            write_plain(self.out, self.at, "{}");
            return Ok(());
        }
        self.order(&dropped);
        if let At::Item(i) = self.at {
            self.out
                .replace_range(self.start + i..self.start + i + 2, "- ");
        }
        Ok(())
    }

    /// Put the entries in key order (the document's leading keys first),
    /// leaving out `dropped` ones; nothing moves when they already are.
    fn order(&mut self, dropped: &[usize]) {
        let top = self.at == At::Top;
        fn rank(top: bool, k: &str) -> (usize, &str) {
            if top && let Some(i) = LEAD.iter().position(|l| *l == k) {
                return (i, "");
            }
            (LEAD.len(), k)
        }
        let sorted = dropped.is_empty()
            && self
                .keys
                .windows(2)
                .all(|w| rank(top, &w[0].0) < rank(top, &w[1].0));
        if sorted {
            return;
        }
        let end = self.out.len();
        let mut spans: Vec<(&str, usize, usize)> = (0..self.keys.len())
            .filter(|i| !dropped.contains(i))
            .map(|i| {
                let stop = self.keys.get(i + 1).map_or(end, |k| k.1);
                (self.keys[i].0.as_str(), self.keys[i].1, stop)
            })
            .collect();
        spans.sort_by(|a, b| rank(top, a.0).cmp(&rank(top, b.0)));
        let mut text = String::with_capacity(end - self.start);
        for (_, from, to) in &spans {
            text.push_str(&self.out[*from..*to]);
        }
        self.out.truncate(self.start);
        self.out.push_str(&text);
    }
}

impl ser::SerializeMap for Map<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<()> {
        self.key = Some(k.serialize(KeySer)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a mapping value came without its key".into()))?;
        self.entry(key, v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStruct for Map<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, k: &'static str, v: &T) -> Result<()> {
        self.entry(k.to_owned(), v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// A mapping key as serde_json makes one: strings as they are, integers as
/// their digits; anything else is refused.
struct KeySer;

impl ser::Serializer for KeySer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = ser::Impossible<String, Error>;
    type SerializeTuple = ser::Impossible<String, Error>;
    type SerializeTupleStruct = ser::Impossible<String, Error>;
    type SerializeTupleVariant = ser::Impossible<String, Error>;
    type SerializeMap = ser::Impossible<String, Error>;
    type SerializeStruct = ser::Impossible<String, Error>;
    type SerializeStructVariant = ser::Impossible<String, Error>;

    fn serialize_str(self, v: &str) -> Result<String> {
        Ok(v.to_owned())
    }
    fn serialize_char(self, v: char) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<String> {
        Ok(v.to_owned())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String> {
        v.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<String> {
        Err(key_error())
    }
    fn serialize_f32(self, _: f32) -> Result<String> {
        Err(key_error())
    }
    fn serialize_f64(self, _: f64) -> Result<String> {
        Err(key_error())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String> {
        Err(key_error())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<String> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<String> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String> {
        Err(key_error())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String> {
        Err(key_error())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_error())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(key_error())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_error())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(key_error())
    }
}

fn key_error() -> Error {
    Error("a mapping key must be a string or an integer".into())
}

#[cfg(test)]
mod tests;
