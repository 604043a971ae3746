//! Helpers for unit tests: a profile from inline YAML, rendered, with objects
//! read back as generic values so tests assert on meaning, not text.

use serde_json::Value;

use crate::input::clock::Date;

pub(crate) const HEAD: &str = "apiVersion: kharden.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {name: t}\ncluster: {name: t, platform: kubeadm, kubernetesVersion: \"1.33\"}\n";

pub(crate) fn today() -> Date {
    Date {
        year: 2026,
        month: 11,
        day: 26,
    }
}

/// The model of a valid `HEAD + body`.
pub(crate) fn model(body: &str) -> crate::Model {
    match crate::load_text(&format!("{HEAD}{body}"), "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("profile invalid:\n{e}"),
    }
}

/// Render `HEAD + body` and return every object as (path, value).
pub(crate) fn render(body: &str) -> Vec<(String, Value)> {
    let r = crate::render(&model(body)).unwrap();
    r.set
        .iter()
        .map(|m| {
            (
                m.path().to_owned(),
                serde_saphyr::from_str(m.body()).unwrap(),
            )
        })
        .collect()
}

/// The rendered object at `path`.
pub(crate) fn object(objs: &[(String, Value)], path: &str) -> Value {
    match objs.iter().find(|(p, _)| p == path) {
        Some((_, v)) => v.clone(),
        None => panic!(
            "no {path} in {:?}",
            objs.iter().map(|(p, _)| p).collect::<Vec<_>>()
        ),
    }
}

/// One check of the vendored kube-bench CIS 1.12 definitions, by id.
pub(crate) fn vendored_cis_check(file: &str, id: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cis/cis-1.12")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["checks"].as_array().unwrap())
        .find(|c| c["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("no check {id} in {file}"))
        .clone()
}

/// A kubeadm ClusterConfiguration's `apiServer.extraArgs`, in order.
pub(crate) fn extra_args(cc: &Value) -> Vec<(String, String)> {
    cc["apiServer"]["extraArgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Fails, naming what is missing, unless `text` contains every one of `parts`.
pub(crate) fn assert_contains_all(text: &str, parts: &[&str]) {
    let missing: Vec<&&str> = parts.iter().filter(|p| !text.contains(**p)).collect();
    assert!(missing.is_empty(), "missing {missing:?} in:\n{text}");
}

/// The report for an invalid `HEAD + body`.
pub(crate) fn errors(body: &str) -> String {
    match crate::load_text(&format!("{HEAD}{body}"), "t.yaml", today()) {
        Ok(_) => panic!("profile unexpectedly valid"),
        Err(e) => e.to_string(),
    }
}
