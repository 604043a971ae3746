//! Reading what `kubectl get ... -A -o yaml` wrote: files or directories of
//! YAML, each a `List` (its `items`) or plain documents. What cannot be read
//! as an object is skipped with a note (a truncated or malformed file, a
//! document without `apiVersion` or `kind`), never guessed at. Secret
//! payloads (`data`, `stringData`) are dropped as each document is parsed,
//! before anything else sees the object, so no report can print them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Error;

/// The objects read, and a note per thing skipped.
#[derive(Debug, Default)]
pub struct Objects {
    pub items: Vec<Value>,
    pub notes: Vec<String>,
}

/// The YAML files named, directories walked (sorted, `.yaml`/`.yml`/`.json`).
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("read `{}`", dir.display()), e))?;
    for e in entries {
        let p = e
            .map_err(|e| Error::io(format!("read `{}`", dir.display()), e))?
            .path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if p
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Read every object of `paths`. An unreadable path is an error (exit 2);
/// unreadable content is a note.
pub fn read(paths: &[PathBuf]) -> Result<Objects, Error> {
    let mut objs = Objects::default();
    for path in files(paths)? {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io(format!("read `{shown}`"), e))?;
        read_text(&text, &shown, &mut objs);
    }
    Ok(objs)
}

/// The objects of one file's text, appended to `objs`.
pub fn read_text(text: &str, shown: &str, objs: &mut Objects) {
    // A `List` is one document in the common subset: the fast reader takes
    // it in one pass; anything else goes to serde-saphyr, with room for a
    // whole cluster (the default budget stops at 250,000 nodes).
    let fast = crate::input::fast_yaml::parse(text, &crate::input::position::resolve_scalar);
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 50_000_000;
    budget.max_events = 50_000_000;
    let opts = serde_saphyr::options! { budget: Some(budget) };
    let docs: Vec<Value> = match fast.map_or_else(
        || serde_saphyr::from_multiple_with_options(text, opts),
        |v| Ok(vec![v]),
    ) {
        Ok(d) => d,
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default();
            objs.notes.push(format!(
                "skipped `{shown}`: not valid YAML (truncated?): {first}"
            ));
            return;
        }
    };
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let at = format!("`{shown}` document {}", i + 1);
        if doc["kind"].as_str().is_some_and(|k| k.ends_with("List")) && doc["items"].is_array() {
            let Value::Array(items) = doc["items"].clone() else {
                continue;
            };
            for (j, item) in items.into_iter().enumerate() {
                take(item, &format!("{at} item {}", j + 1), objs);
            }
        } else {
            take(doc, &at, objs);
        }
    }
}

/// Keep `doc` if it is an object with `apiVersion`, `kind` and a name.
fn take(mut doc: Value, at: &str, objs: &mut Objects) {
    let Some(map) = doc.as_object_mut() else {
        objs.notes.push(format!("skipped {at}: not a mapping"));
        return;
    };
    // Dropped before anything else reads the object (see the module doc).
    if map.get("kind").and_then(Value::as_str) == Some("Secret") {
        map.remove("data");
        map.remove("stringData");
    }
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let missing: Vec<&str> = [("apiVersion", api), ("kind", kind), ("metadata.name", name)]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(f, _)| *f)
        .collect();
    let ok = missing.is_empty();
    if !ok {
        let what = match (kind.is_empty(), name.is_empty()) {
            (false, false) => format!(" ({kind} `{name}`)"),
            (false, true) => format!(" ({kind})"),
            (true, false) => format!(" (`{name}`)"),
            (true, true) => String::new(),
        };
        objs.notes
            .push(format!("skipped {at}{what}: no `{}`", missing.join("`, `")));
        return;
    }
    objs.items.push(doc);
}

/// The namespace of an existing object (`None`: cluster-scoped).
pub fn namespace_of(o: &Value) -> Option<&str> {
    o.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `metadata.name` of an object.
pub fn name_of(o: &Value) -> &str {
    o.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `kind` of an object.
pub fn kind_of(o: &Value) -> &str {
    o["kind"].as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_unpacked_and_secret_payloads_never_kept() {
        let mut o = Objects::default();
        read_text(
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s, namespace: a}, data: {k: c2VjcmV0}, stringData: {p: hunter2}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: a}}\n",
            "dump.yaml",
            &mut o,
        );
        assert_eq!(o.items.len(), 2, "{:?}", o.notes);
        assert!(o.items[0].get("data").is_none());
        assert!(o.items[0].get("stringData").is_none());
        assert!(!serde_json::to_string(&o.items).unwrap().contains("hunter2"));
    }

    #[test]
    fn missing_api_version_and_truncated_files_are_notes() {
        let mut o = Objects::default();
        read_text("kind: Pod\nmetadata: {name: p}\n", "a.yaml", &mut o);
        read_text(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: [p\n",
            "b.yaml",
            &mut o,
        );
        assert!(o.items.is_empty());
        assert_eq!(
            o.notes[0],
            "skipped `a.yaml` document 1 (Pod `p`): no `apiVersion`"
        );
        assert!(
            o.notes[1].starts_with("skipped `b.yaml`: not valid YAML"),
            "{}",
            o.notes[1]
        );
    }
}
