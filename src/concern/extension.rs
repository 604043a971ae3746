//! Extension templates: the platform team's own objects (a secret-store binding,
//! a monitoring config), written as Tera templates next to the profile and
//! rendered once per namespace or once per cluster. Every value a template prints
//! is escaped into a double-quoted YAML scalar, so a hostile annotation cannot
//! add structure; the result must be Kubernetes objects, and per-namespace ones
//! are placed in their namespace for the template author.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde::Serialize;
use serde_json::Value;

use crate::bundle::manifest::{MANAGED_BY, Manifest, RenderError};
use crate::input::diag::Diagnostic;
use crate::input::profile::{ExtensionScope, Profile};
use crate::input::source::FieldPath;
use crate::k8s::names;
use crate::pipeline::model::Model;

/// Largest template we read.
const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

fn path_of(i: usize) -> FieldPath {
    FieldPath::root().key("extensions").index(i).key("template")
}

/// Read every template named by the profile; problems go to `out`.
pub(crate) fn read(
    p: &Profile,
    dir: Option<&Path>,
    out: &mut Vec<Diagnostic>,
) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (i, e) in p.extensions.iter().enumerate() {
        let Some(dir) = dir else {
            out.push(Diagnostic::error(
                path_of(i),
                "extension templates need a profile read from a file".to_owned(),
            ));
            continue;
        };
        let rel = Path::new(&e.template);
        if e.template.is_empty()
            || !rel
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            out.push(
                Diagnostic::error(path_of(i), format!("template `{}` leaves the profile's directory", e.template))
                    .hint("keep templates in a folder next to the profile and write a relative path without `..`"),
            );
            continue;
        }
        let file = dir.join(rel);
        let text = match std::fs::metadata(&file) {
            Ok(m) if !m.is_file() => Err(ReadError::NotAFile),
            Ok(m) if m.len() > MAX_TEMPLATE_BYTES => Err(ReadError::TooLarge),
            Ok(_) => std::fs::read(&file)
                .map_err(ReadError::Io)
                .and_then(|b| String::from_utf8(b).map_err(|_| ReadError::NotUtf8)),
            Err(_) => Err(ReadError::Missing),
        };
        match text {
            Ok(t) => found.push((e.template.clone(), t)),
            Err(why) => out.push(Diagnostic::error(
                path_of(i),
                format!("cannot read template `{}`: {why}", e.template),
            )),
        }
    }
    found
}

/// Why a template file could not be read (said after "cannot read template").
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("it is not a file")]
    NotAFile,
    #[error("it is larger than {MAX_TEMPLATE_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("it is not UTF-8 text")]
    NotUtf8,
    #[error("no such file next to the profile")]
    Missing,
}

/// Quote any printed value as a YAML double-quoted scalar. Escapes what YAML 1.1
/// readers treat as line breaks too (NEL, LS, PS), so PyYAML and kubectl read
/// back exactly the string that was printed.
pub(crate) fn yaml_quote(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(b"\"")?;
    for c in input.chars() {
        match c {
            '"' => out.write_all(b"\\\"")?,
            '\\' => out.write_all(b"\\\\")?,
            '\n' => out.write_all(b"\\n")?,
            '\t' => out.write_all(b"\\t")?,
            '\r' => out.write_all(b"\\r")?,
            '\u{85}' => out.write_all(b"\\N")?,
            '\u{2028}' => out.write_all(b"\\L")?,
            '\u{2029}' => out.write_all(b"\\P")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f || c == '\u{feff}' => {
                write!(out, "\\u{:04x}", c as u32)?
            }
            c => write!(out, "{c}")?,
        }
    }
    out.write_all(b"\"")
}

/// A filter that would print a value unescaped.
fn unescaped_filter(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(off) = text[i..].find('|') {
        let at = i + off;
        let rest = text[at + 1..].trim_start();
        if rest.starts_with("safe")
            && !rest[4..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            return Some(at);
        }
        i = at + 1;
        if i >= bytes.len() {
            break;
        }
    }
    None
}

fn engine(m: &Model) -> Result<tera::Tera, (usize, String)> {
    let mut t = tera::Tera::default();
    t.set_escape_fn(yaml_quote);
    // Every template, whatever its name, escapes what it prints.
    t.autoescape_on([""]);
    for (i, (name, text)) in m.templates.iter().enumerate() {
        t.add_raw_template(name, text)
            .map_err(|e| (i, e.to_string()))?;
    }
    Ok(t)
}

/// Checks every template and compiles them into `plan.extension`.
pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    for (i, e) in m.profile.extensions.iter().enumerate() {
        if let Some((_, text)) = m.templates.iter().find(|(n, _)| *n == e.template)
            && let Some(at) = unescaped_filter(text)
        {
            let line = text[..at].matches('\n').count() + 1;
            out.push(
                Diagnostic::error(path_of(i), format!("template `{}` uses the `safe` filter (line {line})", e.template))
                    .hint("values must reach YAML quoted; build structure in the template text, not from values"),
            );
        }
    }
    match engine(m) {
        Ok(t) => plan.extension.engine = Some(t),
        Err((i, e)) => out.push(Diagnostic::error(
            path_of(i),
            format!("template `{}` does not parse:\n{e}", m.templates[i].0),
        )),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterView<'a> {
    name: &'a str,
    platform: &'a crate::input::profile::Platform,
    kubernetes_version: &'a str,
    ingress_domain: Option<&'a str>,
}

#[derive(Serialize)]
struct NamespaceView<'a> {
    name: &'a str,
    labels: &'a BTreeMap<String, String>,
    annotations: &'a BTreeMap<String, String>,
}

/// Objects from one rendering of a template.
fn objects(name: &str, text: &str, namespace: Option<&str>) -> Result<Vec<Manifest>, RenderError> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| {
        RenderError::Extension(format!(
            "template `{name}`{} did not produce valid YAML: {e}",
            namespace
                .map(|n| format!(" (namespace `{n}`)"))
                .unwrap_or_default()
        ))
    })?;
    let mut out = Vec::new();
    for (k, mut doc) in docs.into_iter().filter(|d| !d.is_null()).enumerate() {
        let at = format!(
            "template `{name}`, document {}{}",
            k + 1,
            namespace
                .map(|n| format!(" for namespace `{n}`"))
                .unwrap_or_default()
        );
        let Some(obj) = doc.as_object_mut() else {
            return Err(RenderError::Extension(format!("{at} is not a mapping")));
        };
        let api = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let kind = obj.get("kind").and_then(Value::as_str).map(str::to_owned);
        let (Some(api_version), Some(kind)) = (api, kind) else {
            return Err(RenderError::Extension(format!(
                "{at} needs `apiVersion` and `kind`"
            )));
        };
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        let Some(meta) = meta.as_object_mut() else {
            return Err(RenderError::Extension(format!(
                "{at}: `metadata` is not a mapping"
            )));
        };
        let Some(obj_name) = meta.get("name").and_then(Value::as_str).map(str::to_owned) else {
            return Err(RenderError::Extension(format!(
                "{at} needs `metadata.name`"
            )));
        };
        names::dns_subdomain(&obj_name).map_err(|e| {
            RenderError::Extension(format!("{at}: `{obj_name}` is not a valid name: {e}"))
        })?;
        if let Some(ns) = namespace {
            match meta.get("namespace").and_then(Value::as_str) {
                Some(other) if other != ns => {
                    return Err(RenderError::Extension(format!(
                        "{at} sets namespace `{other}`; per-namespace objects are placed for you"
                    )));
                }
                _ => {
                    meta.insert("namespace".to_owned(), Value::String(ns.to_owned()));
                }
            }
        }
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Default::default()));
        let Some(labels) = labels.as_object_mut() else {
            return Err(RenderError::Extension(format!(
                "{at}: `metadata.labels` is not a mapping"
            )));
        };
        labels.insert(
            MANAGED_BY.0.to_owned(),
            Value::String(MANAGED_BY.1.to_owned()),
        );
        let obj_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .map(str::to_owned);
        out.push(Manifest::new(
            &api_version,
            kind,
            obj_ns.as_deref(),
            &obj_name,
            &doc,
        )?);
    }
    Ok(out)
}

pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    if m.profile.extensions.is_empty() {
        return Ok(Vec::new());
    }
    let Some(t) = &m.plan.extension.engine else {
        return Err(RenderError::Extension(
            "the extension templates were not checked".to_owned(),
        ));
    };
    let p = &m.profile;
    let mut base = tera::Context::new();
    base.insert(
        "cluster",
        &ClusterView {
            name: &p.cluster.name,
            platform: &p.cluster.platform,
            kubernetes_version: &p.cluster.kubernetes_version,
            ingress_domain: p.cluster.ingress_domain.as_deref(),
        },
    );
    base.insert("profile", &BTreeMap::from([("name", &p.metadata.name)]));
    base.insert(
        "namespaces",
        &p.namespaces
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>(),
    );
    let mut out = Vec::new();
    for e in &p.extensions {
        let fail = |err: tera::Error| {
            RenderError::Extension(format!("template `{}` failed:\n{err}", e.template))
        };
        match e.scope {
            ExtensionScope::Cluster => {
                let text = t.render(&e.template, &base).map_err(fail)?;
                out.extend(objects(&e.template, &text, None)?);
            }
            ExtensionScope::Namespace => {
                for ns in &p.namespaces {
                    let mut ctx = base.clone();
                    ctx.insert(
                        "namespace",
                        &NamespaceView {
                            name: &ns.name,
                            labels: &ns.labels,
                            annotations: &ns.annotations,
                        },
                    );
                    let text = t.render(&e.template, &ctx).map_err(fail)?;
                    out.extend(objects(&e.template, &text, Some(&ns.name))?);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(s: &str) -> String {
        let mut v = Vec::new();
        yaml_quote(s, &mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn quoted_values_read_back_exactly() {
        for s in [
            "plain",
            "a\nb: c",
            "---",
            "\"x\" \\ y",
            "on",
            "line\u{2028}sep",
            "nel\u{85}",
            "tab\t",
            "\u{1}ctl",
            "{a: 1}",
            "- x",
        ] {
            let doc = format!("k: {}\n", quote(s));
            let v: BTreeMap<String, String> = serde_saphyr::from_str(&doc).unwrap();
            assert_eq!(v["k"], s, "{doc}");
        }
    }

    #[test]
    fn safe_filter_is_found() {
        assert!(unescaped_filter("x: {{ a | safe }}").is_some());
        assert!(unescaped_filter("x: {{ a|safe}}").is_some());
        assert!(unescaped_filter("x: {{ a | safety }}").is_none());
        assert!(unescaped_filter("x: {{ a | lower }}").is_none());
    }

    #[test]
    fn objects_are_placed_and_labelled() {
        let got = objects(
            "t",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
            Some("team-a"),
        )
        .unwrap();
        let v: Value = serde_saphyr::from_str(got[0].body()).unwrap();
        assert_eq!(v["metadata"]["namespace"], "team-a");
        assert_eq!(v["metadata"]["labels"][MANAGED_BY.0], MANAGED_BY.1);
        assert_eq!(got[0].path(), "team-a/configmap-c.yaml");
        let e = objects(
            "t",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: other}\n",
            Some("team-a"),
        )
        .unwrap_err();
        let extension = |e: RenderError| match e {
            RenderError::Extension(text) => text,
            other => panic!("not the template's fault: {other}"),
        };
        let e = extension(e);
        assert!(
            e.contains("per-namespace objects are placed for you"),
            "{e}"
        );
        assert!(
            extension(objects("t", "kind: ConfigMap\n", None).unwrap_err())
                .contains("needs `apiVersion` and `kind`")
        );
        assert!(extension(objects("t", "- a\n", None).unwrap_err()).contains("is not a mapping"));
    }

    #[test]
    fn render_uses_the_engine_validate_compiled() {
        let mut m = crate::testing::model("namespaces:\n  - name: a\n");
        m.profile.extensions.push(crate::input::profile::Extension {
            template: "t.tera".to_owned(),
            scope: ExtensionScope::Namespace,
        });
        m.templates.push((
            "t.tera".to_owned(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ namespace.name }}\n".to_owned(),
        ));
        // Nothing compiled yet: render does not compile templates itself.
        assert!(matches!(render(&m), Err(RenderError::Extension(_))));
        let mut plan = crate::pipeline::plan::Plan::default();
        let mut out = Vec::new();
        validate(&m, &mut plan, &mut out);
        assert!(out.is_empty(), "{out:?}");
        m.plan.extension = plan.extension;
        let got = render(&m).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path(), "a/configmap-a.yaml");
    }
}
