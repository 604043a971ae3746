//! `kharden explain`: for one profile value, which layer set it (or which default
//! applies); without a path, a readable summary of the cluster's hardening.

use serde_json::Value;

use crate::bundle::manifest::RenderError;
use crate::input::position::PathError;
use crate::input::source::{FieldPath, Seg};
use crate::pipeline::facts::{facts, summary};
use crate::pipeline::model::Model;

/// Why `kharden explain PATH` cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("`{list}` has no entry named `{name}` (entries: {})", .entries.join(", "))]
    NoEntry {
        list: FieldPath,
        name: String,
        entries: Vec<String>,
    },
    #[error("`{0}` is not set, and has no default")]
    NotSet(String),
    #[error(transparent)]
    Internal(#[from] RenderError),
}

/// The effective profile as JSON (a failure is a bug: the profile is plain data).
fn effective(m: &Model) -> Result<Value, Error> {
    serde_json::to_value(&m.profile).map_err(|e| RenderError::internal(e).into())
}

/// Per-namespace values that fall back to a cluster-wide default when unset.
const INHERITED: &[(&str, &str)] = &[
    ("quota", "defaults.quota"),
    ("podSecurity", "defaults.podSecurity"),
    ("containerLimits", "defaults.containerLimits"),
    ("network.defaultDeny", "defaults.network.defaultDeny"),
    ("mesh.mtls", "mesh.mtls"),
];

/// A readable summary of the whole profile.
pub fn overview(m: &Model) -> String {
    let platform = m.platform().name();
    let c = &m.profile.cluster;
    format!(
        "cluster {} ({platform}, Kubernetes {})\n{}",
        c.name,
        c.kubernetes_version,
        summary(&facts(m))
    )
}

/// Resolve `namespaces.team-a.quota.pods` (list items by their `name`, or by index)
/// to a field path in the profile.
pub fn resolve(m: &Model, raw: &str) -> Result<FieldPath, Error> {
    let value = effective(m)?;
    let parsed: FieldPath = raw.parse()?;
    let mut out = FieldPath::root();
    let mut cur = Some(&value);
    let segs = parsed.0;
    let mut i = 0;
    while i < segs.len() {
        let seg = segs[i].clone();
        i += 1;
        match (cur, seg) {
            (Some(Value::Array(items)), Seg::Key(k)) => {
                let idx = k.parse::<usize>().ok().or_else(|| {
                    items
                        .iter()
                        .position(|it| it.get("name").and_then(Value::as_str) == Some(k.as_str()))
                });
                let Some(n) = idx else {
                    return Err(Error::NoEntry {
                        list: out,
                        name: k,
                        entries: items
                            .iter()
                            .filter_map(|it| it.get("name").and_then(Value::as_str))
                            .map(str::to_owned)
                            .collect(),
                    });
                };
                out = out.index(n);
                cur = items.get(n);
            }
            (Some(Value::Array(items)), Seg::Index(n)) => {
                out = out.index(n);
                cur = items.get(n);
            }
            (c, Seg::Key(k)) => {
                // Map keys may hold dots (`quota.requests.cpu`): take the longest run of
                // segments that names an existing key; failing that, the whole rest.
                let rest: Vec<&str> = segs[i - 1..]
                    .iter()
                    .map_while(|s| {
                        if let Seg::Key(k) = s {
                            Some(k.as_str())
                        } else {
                            None
                        }
                    })
                    .collect();
                let obj = c.and_then(Value::as_object);
                let found = (1..=rest.len())
                    .rev()
                    .map(|n| (n, rest[..n].join(".")))
                    .find(|(_, key)| obj.is_some_and(|o| o.contains_key(key)));
                let (n, key) = match found {
                    Some(f) => f,
                    None if obj.is_some_and(|o| !o.contains_key(&k)) && rest.len() > 1 => {
                        (rest.len(), rest.join("."))
                    }
                    None => (1, k),
                };
                i += n - 1;
                out = out.key(&key);
                cur = c.and_then(|v| v.get(&key));
            }
            (_, Seg::Index(n)) => {
                out = out.index(n);
                cur = None;
            }
        }
    }
    Ok(out)
}

fn value_at<'a>(v: &'a Value, p: &FieldPath) -> Option<&'a Value> {
    p.0.iter().try_fold(v, |cur, seg| match seg {
        Seg::Key(k) => cur.get(k),
        Seg::Index(i) => cur.get(i),
    })
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn origin(m: &Model, p: &FieldPath) -> Option<String> {
    m.sources.set_by(p).map(|(file, pos)| match pos {
        Some(pos) => format!("{file}:{}:{}", pos.line, pos.col),
        None => file,
    })
}

/// Explain one value: its effective value and where it came from.
pub fn value(m: &Model, raw: &str) -> Result<String, Error> {
    let path = resolve(m, raw)?;
    let effective = effective(m)?;
    if let Some(src) = origin(m, &path) {
        let v = value_at(&effective, &path).map_or_else(|| "(not rendered)".to_owned(), show);
        return Ok(format!("{path} = {v}\n  set by {src}\n"));
    }
    // Not written in any layer: a namespace value may inherit a cluster default.
    if let [Seg::Key(list), Seg::Index(i), rest @ ..] = path.0.as_slice()
        && list == "namespaces"
    {
        let rest_str = FieldPath(rest.to_vec()).to_string();
        for (local, global) in INHERITED {
            if let Some(tail) = rest_str.strip_prefix(local) {
                let gpath: FieldPath = format!("{global}{tail}").parse()?;
                if let Some(v) = value_at(&effective, &gpath) {
                    let from = origin(m, &gpath)
                        .unwrap_or_else(|| "kharden's built-in default".to_owned());
                    let ns = m.profile.namespaces.get(*i).map_or("", |n| n.name.as_str());
                    return Ok(format!(
                        "{path} = {}\n  not set for namespace `{ns}`; inherited from `{gpath}`, set by {from}\n",
                        show(v)
                    ));
                }
            }
        }
    }
    match value_at(&effective, &path) {
        Some(v) => Ok(format!(
            "{path} = {}\n  not set in any layer: kharden's built-in default\n",
            show(v)
        )),
        None => Err(Error::NotSet(raw.to_owned())),
    }
}
