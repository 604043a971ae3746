//! Reading a cluster dump for `import`: files of YAML documents or `List`s, as
//! `kubectl get ... -A -o yaml` writes them. Secrets are dropped the moment
//! their kind is seen, so their data is never kept, looked at or printed.

use serde_json::Value;

/// One object of the dump.
#[derive(Debug, Clone)]
pub struct Obj {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub value: Value,
}

impl Obj {
    /// The string at a path of keys, if there is one.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        at(&self.value, path).and_then(Value::as_str)
    }
}

/// The value at a path of keys.
pub(super) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// What reading found: the objects, and notes on what was skipped.
#[derive(Debug, Default)]
pub(super) struct Dump {
    pub objects: Vec<Obj>,
    pub secrets: usize,
    pub notes: Vec<String>,
}

/// Why a file cannot be read as a dump.
#[derive(Debug, thiserror::Error)]
#[error("`{file}` is not YAML kharden can read: {why}")]
pub struct ReadError {
    pub file: String,
    pub why: String,
}

/// Add the documents of one file (`display` names it in messages).
pub(super) fn add(dump: &mut Dump, display: &str, text: &str) -> Result<(), ReadError> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| ReadError {
        file: display.to_owned(),
        why: e.to_string(),
    })?;
    for (i, doc) in docs.into_iter().enumerate() {
        take(dump, display, i, doc);
    }
    Ok(())
}

fn take(dump: &mut Dump, display: &str, i: usize, doc: Value) {
    if doc.is_null() {
        return;
    }
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind == "Secret" {
        // Dropped whole: nothing of a Secret but its count goes further.
        dump.secrets += 1;
        return;
    }
    if kind == "List" || kind.ends_with("List") && doc.get("items").is_some() {
        if let Value::Object(mut m) = doc
            && let Some(Value::Array(items)) = m.remove("items")
        {
            for item in items {
                take(dump, display, i, item);
            }
        }
        return;
    }
    let name = at(&doc, &["metadata", "name"]).and_then(Value::as_str);
    match (doc.get("apiVersion").and_then(Value::as_str), name) {
        (Some(_), Some(name)) if !kind.is_empty() => {
            let namespace = at(&doc, &["metadata", "namespace"])
                .and_then(Value::as_str)
                .map(str::to_owned);
            dump.objects.push(Obj {
                kind: kind.to_owned(),
                namespace,
                name: name.to_owned(),
                value: doc,
            });
        }
        _ => dump.notes.push(format!(
            "{display}: document {} has no apiVersion, kind or metadata.name; skipped",
            i + 1
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_documents_are_read_and_secrets_dropped() {
        let mut d = Dump::default();
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s, namespace: a}\n  data: {password: aHVudGVyMg==}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x, namespace: a}\n---\nkind: ConfigMap\nmetadata: {name: c}\n";
        add(&mut d, "dump.yaml", text).unwrap();
        let kinds: Vec<&str> = d.objects.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["Namespace", "ServiceAccount"]);
        assert_eq!(d.secrets, 1);
        assert_eq!(d.notes.len(), 1, "{:?}", d.notes);
        assert!(!format!("{d:?}").contains("aHVudGVyMg"));
    }

    #[test]
    fn a_truncated_file_is_an_error_naming_it() {
        let mut d = Dump::default();
        let e = add(
            &mut d,
            "cut.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: [a\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("`cut.yaml` is not YAML"), "{e}");
    }
}
