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

mod key;
mod scalar;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::{self, Serialize};

use key::KeySer;
pub(crate) use scalar::Error;
use scalar::{At, Result};
use scalar::{
    indent, key_text, lead, plain, pos_of, rendered, with_rendered_str, write_plain, write_rendered,
};

/// `obj` as one YAML document, keys sorted, with `annotations` set in its
/// top-level `metadata.annotations` (replacing a value of the same key, and
/// creating the mapping when `metadata` has none), written after `prefix` (a
/// manifest keeps its path and body in one allocation).
pub(crate) fn object(
    prefix: &str,
    obj: &impl Serialize,
    annotations: &[(&str, &str)],
) -> Result<String> {
    // Written into a per-thread buffer that keeps its capacity, then copied out
    // at its exact length: hundreds of thousands of bodies stay alive until they
    // are written, and `shrink_to_fit` may keep a block up to twice as large
    // (mimalloc reallocates in place down to half a block).
    let mut out = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    out.clear();
    // Every mapping's keys, on one stack for the document (each mapping
    // works on its top), rather than a vector per mapping.
    let mut keys = Vec::with_capacity(32);
    let done = obj.serialize(Node {
        out: &mut out,
        keys: &mut keys,
        at: At::Top,
        inject: if annotations.is_empty() {
            Inject::None
        } else {
            Inject::Top(annotations)
        },
    });
    let mut text = String::with_capacity(prefix.len() + out.len());
    text.push_str(prefix);
    text.push_str(&out);
    SCRATCH.with(|s| *s.borrow_mut() = out);
    done.map(|()| text)
}

/// Whether serde-saphyr writes `s` plain in every position (no quotes, no
/// block scalar), for callers that write YAML of a fixed shape themselves.
pub(crate) fn is_plain(s: &str) -> bool {
    plain(s)
}

thread_local! {
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
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

/// One node being serialized.
struct Node<'o, 'a> {
    out: &'o mut String,
    keys: &'o mut Keys<'a>,
    at: At,
    inject: Inject<'a>,
}

impl Node<'_, '_> {
    fn str(self, v: &str) -> Result<()> {
        if plain(v) {
            write_plain(self.out, self.at, v);
        } else {
            with_rendered_str(pos_of(self.at), v, |t| {
                write_rendered(self.out, self.at, t);
            })?;
        }
        Ok(())
    }

    fn other(self, v: &impl Serialize) -> Result<()> {
        let t = rendered(pos_of(self.at), v)?;
        write_rendered(self.out, self.at, &t);
        Ok(())
    }

    fn int(self, v: impl itoa_like::Int) -> Result<()> {
        // `write_plain`, with the digits written in place.
        lead(self.out, self.at);
        v.push_to(self.out);
        self.out.push('\n');
        Ok(())
    }
}

/// Integers written as digits, as serde-saphyr writes them.
mod itoa_like {
    pub(crate) trait Int: std::fmt::Display {
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
    type SerializeSeq = Seq<'o, 'a>;
    type SerializeTuple = Seq<'o, 'a>;
    type SerializeTupleStruct = Seq<'o, 'a>;
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
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'o, 'a>> {
        let items = match self.at {
            At::Top => 0,
            At::Value(i) => i,
            At::Item(i) => i + 2,
        };
        let start = self.out.len();
        Ok(Seq {
            out: self.out,
            keys: self.keys,
            at: self.at,
            items,
            start,
            len: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'o, 'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'o, 'a>> {
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
        let base = self.keys.len();
        Ok(Map {
            out: self.out,
            keys: self.keys,
            base,
            at: self.at,
            indent: entries,
            start,
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
struct Seq<'o, 'a> {
    out: &'o mut String,
    keys: &'o mut Keys<'a>,
    at: At,
    items: usize,
    start: usize,
    len: usize,
}

impl Seq<'_, '_> {
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
            keys: self.keys,
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

/// serde's three sequence traits, one behaviour: each element is an item.
macro_rules! seq_impl {
    ($($tr:ident :: $method:ident),*) => {$(
        impl ser::$tr for Seq<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
                self.item(v)
            }
            fn end(self) -> Result<()> {
                self.finish()
            }
        }
    )*};
}

seq_impl!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

/// A mapping: entries written at `indent` as they come, then put in key order.
struct Map<'o, 'a> {
    out: &'o mut String,
    at: At,
    indent: usize,
    /// Where the first entry starts.
    start: usize,
    /// Each entry's key and where it starts, on the document's stack from
    /// `base` up.
    keys: &'o mut Keys<'a>,
    base: usize,
    key: Option<String>,
    inject: Inject<'a>,
    saw_annotations: bool,
}

/// A mapping key: a struct's field names (most keys) and the injected
/// annotations are borrowed, a map's keys owned.
type Key<'a> = Cow<'a, str>;

/// The keys of the mappings being written, innermost last, each with where
/// its entry starts.
type Keys<'a> = Vec<(Key<'a>, usize)>;

/// Keys that lead a document, in this order; the rest follow sorted.
const LEAD: [&str; 3] = ["apiVersion", "kind", "metadata"];

impl<'a> Map<'_, 'a> {
    fn entry<T: ?Sized + Serialize>(&mut self, key: Key<'a>, v: &T) -> Result<()> {
        if self.keys.len() == self.base {
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
            keys: self.keys,
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
                    if let Some(i) = self.keys[self.base..].iter().position(|(key, _)| key == k) {
                        dropped.push(i);
                    }
                    self.entry(Cow::Borrowed(*k), v)?;
                }
            }
            Inject::Meta(a) if !self.saw_annotations => {
                let m: BTreeMap<&str, &str> = a.iter().copied().collect();
                self.entry(Cow::Borrowed("annotations"), &m)?;
            }
            _ => {}
        }
        if self.keys.len() == self.base {
            write_plain(self.out, self.at, "{}");
            return Ok(());
        }
        self.order(&dropped);
        self.keys.truncate(self.base);
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
        let keys = &self.keys[self.base..];
        let sorted = dropped.is_empty()
            && keys
                .windows(2)
                .all(|w| rank(top, &w[0].0) < rank(top, &w[1].0));
        if sorted {
            return;
        }
        let end = self.out.len();
        let mut spans: Vec<(&str, usize, usize)> = (0..keys.len())
            .filter(|i| !dropped.contains(i))
            .map(|i| {
                let stop = keys.get(i + 1).map_or(end, |k| k.1);
                (&*keys[i].0, keys[i].1, stop)
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
        self.entry(Cow::Owned(key), v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStruct for Map<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, k: &'static str, v: &T) -> Result<()> {
        self.entry(Cow::Borrowed(k), v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

#[cfg(test)]
mod tests;
