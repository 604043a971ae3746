//! Profile sources: reading YAML files, resolving `extends:` layers (built-in
//! presets and relative files), merging them, and remembering where every value
//! came from, so that any later stage can point at file:line:column.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::input::diag::{Diagnostic, Diagnostics};
pub(crate) use crate::input::position::{FieldPath, Located, Pos, Seg, SourceFile, Sources};
use crate::input::position::{merge_values, parse_yaml};

/// The built-in presets, embedded so the binary works from any directory.
pub(crate) const PRESETS: &[(&str, &str)] = &[
    ("baseline", include_str!("../../profiles/baseline.yaml")),
    ("restricted", include_str!("../../profiles/restricted.yaml")),
];

/// Largest profile file we read; a profile is hand-written, so anything bigger is a mistake.
const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// Deepest `extends:` chain we follow.
const MAX_LAYERS: usize = 16;

/// Load a profile and its layers into one merged value.
pub(crate) fn load(path: &Path, display: &str) -> Result<(Value, Sources), Diagnostics> {
    load_root(LayerRef::File(path.to_path_buf(), display.to_owned()))
}

/// Load a profile given as text (tests, and profiles not read from a file);
/// its `extends:` may name presets only.
pub(crate) fn load_text(text: &str, display: &str) -> Result<(Value, Sources), Diagnostics> {
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
                let hint = match crate::input::diag::nearest(entry, names.iter().copied()) {
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

/// A short description of a JSON value's type, for messages.
pub(crate) fn describe(v: &Value) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::position::{expansion_check, mark, merge, positions};

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
