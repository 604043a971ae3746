//! Structural check of a merged profile against the JSON Schema that schemars
//! derives from `profile::Profile`. It reports every problem at once with its
//! field path (serde stops at the first), and lists unknown fields for `prune`
//! to remove, so that the semantic checks can still run on the rest of the
//! profile. The check only reads the tree, so the typed parse can run beside
//! it (`pipeline::load`).

use serde_json::{Map, Value};

use crate::input::diag::{Diagnostic, nearest};
use crate::input::source::{FieldPath, Seg, describe};

/// What `check` found.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub diags: Vec<Diagnostic>,
    /// Something other than an unknown field is wrong: the tree cannot be parsed.
    pub fatal: bool,
    /// The unknown fields, for `prune`.
    pub unknown: Vec<FieldPath>,
}

/// Check `value` against `schema` (a schemars root with `$defs`).
pub(crate) fn check(schema: &Value, value: &Value) -> Checked {
    let mut c = Checker {
        root: schema,
        found: Checked::default(),
    };
    c.walk(schema, value, At::Root);
    c.found
}

/// Remove the fields `check` found unknown.
pub(crate) fn prune(value: &mut Value, unknown: &[FieldPath]) {
    for path in unknown {
        let Some((Seg::Key(last), parent)) = path.0.split_last() else {
            continue;
        };
        let parent = parent.iter().try_fold(&mut *value, |v, seg| match seg {
            Seg::Key(k) => v.get_mut(k.as_str()),
            Seg::Index(i) => v.get_mut(*i),
        });
        if let Some(map) = parent.and_then(Value::as_object_mut) {
            map.remove(last);
        }
    }
}

/// Where the walk is: borrowed steps back to the root, made into a
/// `FieldPath` only for a report. A fleet profile has hundreds of thousands
/// of nodes, and a path allocated at each was a large part of the check.
#[derive(Clone, Copy)]
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    fn field(self) -> FieldPath {
        match self {
            At::Root => FieldPath::root(),
            At::Key(up, k) => up.field().key(k),
            At::Index(up, i) => up.field().index(i),
        }
    }

    fn is_root(self) -> bool {
        matches!(self, At::Root)
    }
}

struct Checker<'s> {
    root: &'s Value,
    found: Checked,
}

impl<'s> Checker<'s> {
    fn resolve(&self, mut s: &'s Value) -> &'s Value {
        // Follow `$ref` chains into `$defs`.
        for _ in 0..32 {
            let Some(r) = s.get("$ref").and_then(Value::as_str) else {
                return s;
            };
            let Some(name) = r.strip_prefix("#/$defs/") else {
                return s;
            };
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(t) => s = t,
                None => return s,
            }
        }
        s
    }

    /// Whether `value` satisfies `schema`, without reporting.
    fn fits(&self, schema: &'s Value, value: &Value) -> bool {
        let mut probe = Checker {
            root: self.root,
            found: Checked::default(),
        };
        probe.walk(schema, value, At::Root);
        probe.found.diags.is_empty()
    }

    fn report(&mut self, d: Diagnostic) {
        self.found.fatal = true;
        self.found.diags.push(d);
    }

    fn walk(&mut self, schema: &'s Value, value: &Value, at: At<'_>) {
        let schema = self.resolve(schema);
        if let Some(alts) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            self.alternatives(alts, value, at);
            return;
        }
        if let Some(opts) = schema.get("enum").and_then(Value::as_array) {
            self.enumerated(opts, value, at);
            return;
        }
        if let Some(c) = schema.get("const") {
            self.enumerated(std::slice::from_ref(c), value, at);
            return;
        }
        if let Some(types) = schema.get("type") {
            let types: Vec<&str> = match types {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|t| type_matches(t, value)) {
                self.wrong_type(&types, value, at);
                return;
            }
        }
        match value {
            Value::Object(map) => self.object(schema, map, at),
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.walk(item_schema, item, At::Index(&at, i));
                    }
                }
            }
            Value::Number(n) => {
                let min = schema.get("minimum").and_then(Value::as_f64);
                let max = schema.get("maximum").and_then(Value::as_f64);
                let x = n.as_f64().unwrap_or(0.0);
                if min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m) {
                    let range = match (min, max) {
                        (Some(a), Some(b)) => format!("from {a} to {b}"),
                        (Some(a), None) => format!("of at least {a}"),
                        (None, Some(b)) => format!("of at most {b}"),
                        (None, None) => String::new(),
                    };
                    let path = at.field();
                    self.report(Diagnostic::error(
                        path.clone(),
                        format!("`{path}` must be a whole number {range}, not {n}"),
                    ));
                }
            }
            _ => {}
        }
    }

    fn object(&mut self, schema: &'s Value, map: &Map<String, Value>, at: At<'_>) {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(r) {
                    let path = at.field();
                    let where_ = if at.is_root() {
                        "the profile".to_owned()
                    } else {
                        format!("`{path}`")
                    };
                    self.report(
                        Diagnostic::error(
                            path.clone(),
                            format!("{where_} is missing the required field `{r}`"),
                        )
                        .hint(format!("add `{r}:`")),
                    );
                }
            }
        }
        let extra = schema.get("additionalProperties");
        let mut unknown = Vec::new();
        for (k, v) in map {
            let here = At::Key(&at, k);
            if let Some(s) = props.and_then(|p| p.get(k)) {
                self.walk(s, v, here);
            } else {
                match extra {
                    Some(Value::Bool(false)) => unknown.push(k),
                    Some(s @ Value::Object(_)) => self.walk(s, v, here),
                    _ => {}
                }
            }
        }
        for k in unknown {
            let names: Vec<&str> = props
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let hint = match nearest(k, names.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("fields allowed here: {}", names.join(", ")),
            };
            let path = at.field();
            let where_ = if at.is_root() {
                "at the top level".to_owned()
            } else {
                format!("in `{path}`")
            };
            // Unknown fields alone do not stop the semantic checks: they are
            // pruned and the checks go on.
            let field = path.key(k);
            self.found.diags.push(
                Diagnostic::error(field.clone(), format!("unknown field `{k}` {where_}"))
                    .hint(hint)
                    .at_key(),
            );
            self.found.unknown.push(field);
        }
    }

    fn alternatives(&mut self, alts: &'s [Value], value: &Value, at: At<'_>) {
        if alts.iter().any(|a| self.fits(a, value)) {
            return;
        }
        // Enumerations written as one `const` per documented variant.
        let consts: Vec<&Value> = alts
            .iter()
            .filter_map(|a| self.resolve(a).get("const"))
            .collect();
        if consts.len() == alts.len() {
            let opts: Vec<Value> = consts.into_iter().cloned().collect();
            self.enumerated(&opts, value, at);
            return;
        }
        // Otherwise report against the alternative whose type matches, if exactly one does.
        let matching: Vec<&Value> = alts
            .iter()
            .filter(|a| {
                let a = self.resolve(a);
                // An enumeration of strings (one `const` per documented
                // variant) takes a string: `enforcement: block` is reported
                // against its modes, not as "must be a mapping".
                let consts = a
                    .get("oneOf")
                    .or_else(|| a.get("anyOf"))
                    .and_then(Value::as_array)
                    .is_some_and(|v| v.iter().all(|x| self.resolve(x).get("const").is_some()));
                if (consts || a.get("enum").is_some()) && value.is_string() {
                    return true;
                }
                match a.get("type") {
                    Some(Value::String(t)) => type_matches(t, value),
                    Some(Value::Array(ts)) => ts
                        .iter()
                        .filter_map(Value::as_str)
                        .any(|t| type_matches(t, value)),
                    _ => false,
                }
            })
            .collect();
        if let [only] = matching.as_slice() {
            self.walk(only, value, at);
            return;
        }
        let mut types: Vec<&str> = Vec::new();
        for a in alts {
            match self.resolve(a).get("type") {
                Some(Value::String(t)) => types.push(t),
                Some(Value::Array(ts)) => types.extend(ts.iter().filter_map(Value::as_str)),
                _ => {}
            }
        }
        if types.is_empty() {
            let path = at.field();
            self.report(Diagnostic::error(
                path.clone(),
                format!("`{path}` has an unexpected value"),
            ));
        } else {
            self.wrong_type(&types, value, at);
        }
    }

    fn enumerated(&mut self, opts: &[Value], value: &Value, at: At<'_>) {
        if opts.contains(value) {
            return;
        }
        let path = at.field();
        let names: Vec<String> = opts
            .iter()
            .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
            .collect();
        let got = match value {
            Value::String(s) => format!("`{s}`"),
            other => describe(other).to_owned(),
        };
        let mut d = Diagnostic::error(
            path.clone(),
            format!("`{path}` must be one of {}, not {got}", names.join(", ")),
        );
        if let Some(s) = value.as_str()
            && let Some(n) = nearest(s, names.iter().map(String::as_str))
        {
            d = d.hint(format!("did you mean `{n}`?"));
        }
        self.report(d);
    }

    fn wrong_type(&mut self, types: &[&str], value: &Value, at: At<'_>) {
        let path = at.field();
        let wanted: Vec<&str> = types
            .iter()
            .filter(|t| **t != "null")
            .map(|t| match *t {
                "string" => "a string",
                "integer" => "a whole number",
                "number" => "a number",
                "boolean" => "true or false",
                "array" => "a list",
                "object" => "a mapping",
                other => other,
            })
            .collect();
        let mut d = Diagnostic::error(
            path.clone(),
            format!(
                "`{path}` must be {}, but it is {}",
                wanted.join(" or "),
                describe(value)
            ),
        );
        let want_string = types.contains(&"string");
        d = match value {
            Value::Number(_) | Value::Bool(_) if want_string => {
                d.hint(format!("quote the value so YAML keeps it as text: \"{value}\""))
            }
            Value::String(s) if types.contains(&"boolean") => {
                d.hint(format!("write `true` or `false`; `{s}` is a YAML 1.1 spelling that Kubernetes tools read differently"))
            }
            Value::Null => d.hint("give the field a value, or remove it"),
            _ => d,
        };
        self.report(d);
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        _ => true,
    }
}
