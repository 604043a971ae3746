//! Gatekeeper evaluation, run on rendered objects: constraint and mutator
//! matching (`match.kinds`, namespace globs), the mutators (Assign,
//! AssignMetadata, ModifySet merge) applied before validation, and each
//! matching Constraint's template Rego run by regorus on the request.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::verify::admission::{Denial, Request, name_of, str_of};
use crate::verify::error::EvalError;

/// Gatekeeper's namespace globs: a trailing `*` is a prefix match.
fn glob(pattern: &str, ns: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => ns.starts_with(prefix),
        None => pattern == ns,
    }
}

/// Whether a constraint's or mutator's `match` selects the request.
pub(crate) fn matches(m: &Value, r: &Request) -> bool {
    let list = |k: &Value, field: &str, v: &str| {
        k.get(field)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == "*" || x == v))
    };
    // No `kinds` matches every kind.
    let kinds = match m.get("kinds").and_then(Value::as_array) {
        None => true,
        Some(ks) => ks
            .iter()
            .any(|k| list(k, "apiGroups", &r.group) && list(k, "kinds", &r.kind)),
    };
    kinds && in_namespace(m, &r.namespace)
}

/// Whether a `match` selects objects in namespace `ns` (its `namespaces` and
/// `excludedNamespaces` globs), whatever their kind.
pub(crate) fn in_namespace(m: &Value, ns: &str) -> bool {
    let strs = |f: &str| -> Vec<&str> {
        m.get(f)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let included = m.get("namespaces").is_none() || strs("namespaces").iter().any(|p| glob(p, ns));
    let excluded = strs("excludedNamespaces").iter().any(|p| glob(p, ns));
    included && !excluded
}

/// Apply the rendered Gatekeeper mutators (Assign, AssignMetadata, ModifySet
/// merge) to the request's object, as Gatekeeper does before validation.
/// Returns the names of the mutators that applied.
pub(crate) fn mutate(objs: &[Value], r: &mut Request) -> Result<Vec<String>, EvalError> {
    let mut applied = Vec::new();
    for m in objs
        .iter()
        .filter(|o| str_of(o, "apiVersion").starts_with("mutations.gatekeeper.sh/"))
    {
        let spec = &m["spec"];
        let kind = str_of(m, "kind");
        if !matches(&spec["match"], r) {
            continue;
        }
        // `applyTo` (Assign, ModifySet) narrows by group/kind too.
        if let Some(apply) = spec.get("applyTo").and_then(Value::as_array) {
            let hit = apply.iter().any(|a| {
                let has = |f: &str, v: &str| {
                    a.get(f)
                        .and_then(Value::as_array)
                        .is_some_and(|l| l.iter().any(|x| x == v))
                };
                has("groups", &r.group) && has("kinds", &r.kind)
            });
            if !hit {
                continue;
            }
        }
        let location = parse_location(str_of(spec, "location"))?;
        let (parent, last) = match location.split_last() {
            Some((last, parent)) => (parent, last),
            None => {
                return Err(EvalError::Rendered(format!(
                    "mutator `{}` has no location",
                    name_of(m)
                )));
            }
        };
        let Some(slot) = walk_mut(&mut r.object, parent) else {
            continue;
        };
        let before = slot.get(last).cloned();
        match kind {
            "Assign" => {
                slot[last.as_str()] = spec["parameters"]["assign"]["value"].clone();
            }
            "AssignMetadata" => {
                if before.is_none() {
                    slot[last.as_str()] = spec["parameters"]["assign"]["value"].clone();
                }
            }
            "ModifySet" => {
                if str_of(&spec["parameters"], "operation") == "prune" {
                    continue;
                }
                let mut list = before.clone().and_then(|v| v.as_array().cloned());
                let list_ref = list.get_or_insert_with(Vec::new);
                for v in spec["parameters"]["values"]["fromList"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if !list_ref.contains(v) {
                        list_ref.push(v.clone());
                    }
                }
                slot[last.as_str()] = Value::Array(list.unwrap_or_default());
            }
            other => {
                return Err(EvalError::Unsupported(format!(
                    "unknown Gatekeeper mutator kind `{other}`"
                )));
            }
        }
        if slot.get(last) != before.as_ref() {
            applied.push(format!("{kind}/{}", name_of(m)));
        }
    }
    Ok(applied)
}

/// `spec.nodeSelector."kubernetes.io/os"` → [spec, nodeSelector, kubernetes.io/os].
fn parse_location(loc: &str) -> Result<Vec<String>, EvalError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in loc.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            '[' | ']' if !quoted => {
                return Err(EvalError::Unsupported(format!(
                    "mutator location `{loc}` uses list keys, which verify does not apply"
                )));
            }
            c => cur.push(c),
        }
    }
    out.push(cur);
    Ok(out)
}

/// The object at `path` under `v`, creating empty objects on the way.
fn walk_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for seg in path {
        let map = cur.as_object_mut()?;
        cur = map.entry(seg.clone()).or_insert_with(|| json!({}));
        if cur.is_null() {
            *cur = json!({});
        }
    }
    cur.is_object().then_some(cur)
}

thread_local! {
    /// Compiled templates by kind and Rego text: compiling is most of an
    /// evaluation's cost, and `verify` and the platform self-check evaluate
    /// the same few templates many times.
    static ENGINES: std::cell::RefCell<HashMap<(String, String), regorus::Engine>> =
        std::cell::RefCell::new(HashMap::new());
}

/// A fresh engine holding the template `rego` of Constraint kind `kind`.
fn compiled(kind: &str, rego: &str) -> Result<regorus::Engine, String> {
    // Looked up without building a key: this runs once per constraint and
    // request (`kharden audit` makes hundreds of thousands).
    let hit = ENGINES.with(|c| {
        c.borrow()
            .iter()
            .find(|((k, r), _)| k == kind && r == rego)
            .map(|(_, e)| e.clone())
    });
    if let Some(e) = hit {
        return Ok(e);
    }
    let key = (kind.to_owned(), rego.to_owned());
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(true);
    engine.set_strict_builtin_errors(true);
    engine
        .add_policy(format!("{kind}.rego"), rego.to_owned())
        .map_err(|e| e.to_string())?;
    // An empty inventory, and one evaluation, so the cached engine is cached
    // prepared: regorus analyses the policy again after any `add_data`, which
    // cost every request a full analysis (`kharden audit`, #31).
    engine
        .add_data(regorus::Value::from_json_str(r#"{"inventory": {}}"#).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let _ = engine.eval_rule(format!("data.{}.violation", kind.to_ascii_lowercase()));
    ENGINES.with(|c| c.borrow_mut().insert(key, engine.clone()));
    Ok(engine)
}

/// The violations Gatekeeper would report for `r`, with `inventory` as the
/// synced cluster data (`data.inventory`): with `enforced`, those of the
/// constraints that deny (no `enforcementAction` is `deny`); else what the
/// `warn` and `dryrun` constraints would refuse if they denied (the client
/// sees a warning for `warn`, Gatekeeper's audit records both).
pub(crate) fn denials(
    objs: &[Value],
    r: &Request,
    inventory: &Value,
    enforced: bool,
) -> Result<Vec<Denial>, EvalError> {
    let mut out = Vec::new();
    for constraint in objs
        .iter()
        .filter(|o| str_of(o, "apiVersion") == "constraints.gatekeeper.sh/v1beta1")
    {
        let spec = &constraint["spec"];
        // No action is `deny`.
        let denies = spec.get("enforcementAction").is_none_or(|a| a == "deny");
        if denies != enforced {
            continue;
        }
        if !matches(&spec["match"], r) {
            continue;
        }
        let kind = str_of(constraint, "kind");
        let template = objs
            .iter()
            .find(|o| {
                str_of(o, "kind") == "ConstraintTemplate" && name_of(o) == kind.to_ascii_lowercase()
            })
            .ok_or_else(|| {
                EvalError::Rendered(format!(
                    "no ConstraintTemplate for constraint kind `{kind}`"
                ))
            })?;
        let rego = template
            .pointer("/spec/targets/0/rego")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                EvalError::Rendered(format!(
                    "ConstraintTemplate `{}` has no Rego",
                    name_of(template)
                ))
            })?;
        let fail = |e: &dyn std::fmt::Display| EvalError::Rego {
            kind: kind.to_owned(),
            message: e.to_string(),
        };
        let mut engine = compiled(kind, rego).map_err(|e| fail(&e))?;
        // The cached engine holds an empty inventory; adding data makes
        // regorus prepare the policy again, so only a real inventory is added.
        if inventory.as_object().is_none_or(|m| !m.is_empty()) {
            engine
                .add_data(
                    regorus::Value::from_json_str(&json!({"inventory": inventory}).to_string())
                        .map_err(|e| fail(&e))?,
                )
                .map_err(|e| fail(&e))?;
        }
        let input = json!({
            "review": {
                "kind": {"group": r.group, "version": r.version, "kind": r.kind},
                "operation": r.operation,
                "namespace": r.namespace,
                "object": r.object,
                "userInfo": r.user_info.json(),
            },
            "parameters": spec["parameters"],
        });
        engine.set_input(regorus::Value::from_json_str(&input.to_string()).map_err(|e| fail(&e))?);
        let pkg = kind.to_ascii_lowercase();
        let v = engine
            .eval_rule(format!("data.{pkg}.violation"))
            .map_err(|e| fail(&e))?;
        let v: Value =
            serde_json::from_str(&v.to_json_str().map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
        for x in v.as_array().into_iter().flatten() {
            out.push(Denial::new(
                kind,
                name_of(constraint),
                str_of(x, "msg").to_owned(),
            ));
        }
    }
    Ok(out)
}
