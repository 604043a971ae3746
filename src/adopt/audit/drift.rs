//! What applying the bundle would do to the existing objects: `create` what is
//! missing, `change` what differs, and `leave-behind` what an earlier kharden
//! rendering made (its `managed-by` label) that the bundle no longer renders.
//! Objects are compared on meaning, as `kubectl apply` would act: only the
//! fields the bundle sets count, so server-set fields (`uid`,
//! `resourceVersion`, `managedFields`, `status`, ...) and server defaults
//! (`spec.clusterIP`, ...) are ignored; lists of named items match by name in
//! any order, other lists as sets; quantities by value (`1Gi` = `1024Mi`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Drift;
use super::input::{kind_of, name_of, namespace_of};
use crate::bundle::manifest::ManifestSet;

type Key = (String, Option<String>, String);

/// The changes, sorted by namespace, kind and name.
pub(super) fn find(set: &ManifestSet, existing: &[Value]) -> Vec<Drift> {
    let have: BTreeMap<Key, &Value> = existing
        .iter()
        .map(|o| {
            (
                (
                    kind_of(o).to_owned(),
                    namespace_of(o).map(str::to_owned),
                    name_of(o).to_owned(),
                ),
                o,
            )
        })
        .collect();
    let mut out = Vec::new();
    let mut rendered = BTreeSet::new();
    for m in set.iter().filter(|m| !m.control_plane_file()) {
        let key = (
            m.kind().to_owned(),
            m.namespace().map(str::to_owned),
            m.name().to_owned(),
        );
        let change = match have.get(&key) {
            None => Some(("create", Vec::new())),
            // Only objects that exist are read back.
            Some(h) => match serde_saphyr::from_str::<Value>(m.body()) {
                Ok(want) => {
                    let mut paths = Vec::new();
                    differ(&want, h, "", &mut paths);
                    (!paths.is_empty()).then_some(("change", paths))
                }
                Err(_) => None,
            },
        };
        rendered.insert(key.clone());
        if let Some((change, fields)) = change {
            out.push(drift(&key, change, fields));
        }
    }
    for (key, o) in &have {
        let ours = o.pointer("/metadata/labels/app.kubernetes.io~1managed-by")
            == Some(&Value::from("kharden"));
        if ours && !rendered.contains(key) {
            out.push(drift(key, "leave-behind", Vec::new()));
        }
    }
    out.sort();
    out
}

fn drift((kind, ns, name): &Key, change: &str, fields: Vec<String>) -> Drift {
    Drift {
        kind: kind.clone(),
        namespace: ns.clone(),
        name: name.clone(),
        change: change.to_owned(),
        fields,
    }
}

/// Fields set by the server only: never a difference.
const SERVER: &[&str] = &[
    ".metadata.uid",
    ".metadata.resourceVersion",
    ".metadata.creationTimestamp",
    ".metadata.managedFields",
    ".metadata.generation",
    ".metadata.selfLink",
    ".status",
    ".spec.clusterIP",
    ".spec.clusterIPs",
];

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match (text(a), text(b)) {
        (Some(x), Some(y)) if x == y => true,
        (Some(x), Some(y)) => matches!(
            (crate::k8s::quantity::parse(&x), crate::k8s::quantity::parse(&y)),
            (Ok(p), Ok(q)) if (p - q).abs() <= f64::EPSILON * p.abs().max(1.0)
        ),
        _ => false,
    }
}

/// Record in `out` the paths where `want` (rendered) is not what `have` holds.
fn differ(want: &Value, have: &Value, path: &str, out: &mut Vec<String>) {
    if SERVER.contains(&path) {
        return;
    }
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (k, wv) in w {
                let p = format!("{path}.{k}");
                match h.get(k) {
                    Some(hv) => differ(wv, hv, &p, out),
                    None if empty(wv) || SERVER.contains(&p.as_str()) => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(w), Value::Array(h)) => {
            let named = |a: &Vec<Value>| {
                a.iter()
                    .all(|x| x.get("name").is_some_and(Value::is_string))
            };
            if !w.is_empty() && named(w) && named(h) {
                for wv in w {
                    let n = wv["name"].as_str().unwrap_or_default();
                    let p = format!("{path}[{n}]");
                    match h.iter().find(|x| x["name"] == wv["name"]) {
                        Some(hv) => differ(wv, hv, &p, out),
                        None => out.push(p),
                    }
                }
                if h.len() > w.len() {
                    out.push(format!("{path} (extra items)"));
                }
                return;
            }
            // As sets: each wanted item matched by a distinct existing one.
            let mut used = vec![false; h.len()];
            let matched = w.len() == h.len()
                && w.iter().all(|wv| {
                    let found = h.iter().enumerate().position(|(i, hv)| {
                        if used[i] {
                            return false;
                        }
                        let mut d = Vec::new();
                        differ(wv, hv, "", &mut d);
                        d.is_empty()
                    });
                    found.inspect(|i| used[*i] = true).is_some()
                });
            if !matched {
                out.push(path.to_owned());
            }
        }
        (w, h) if !scalar_eq(w, h) => out.push(path.to_owned()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(want: Value, have: Value) -> Vec<String> {
        let mut out = Vec::new();
        differ(&want, &have, "", &mut out);
        out
    }

    #[test]
    fn server_fields_defaults_order_and_quantities_are_no_change() {
        let want = json!({"metadata": {"name": "a", "labels": {"x": "1"}},
            "spec": {"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 1}],
                     "hard": {"memory": "1Gi"}, "verbs": ["get", "list"]}});
        let have = json!({"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}, "uid": "u",
                "resourceVersion": "9", "managedFields": []},
            "spec": {"clusterIP": "10.0.0.1", "ports": [{"name": "a", "port": 1, "protocol": "TCP"},
                     {"name": "b", "port": 2}], "hard": {"memory": "1024Mi"}, "verbs": ["list", "get"]},
            "status": {"x": 1}});
        assert_eq!(paths(want, have), Vec::<String>::new());
    }

    #[test]
    fn a_changed_value_a_missing_item_and_an_extra_rule_are_changes() {
        let want = json!({"spec": {"ports": [{"name": "a", "port": 1}], "verbs": ["get"],
            "labels": {"x": "1"}}});
        let have =
            json!({"spec": {"ports": [{"name": "a", "port": 2}], "verbs": ["get", "delete"]}});
        assert_eq!(
            paths(want, have),
            vec![".spec.labels", ".spec.ports[a].port", ".spec.verbs"]
        );
    }
}
