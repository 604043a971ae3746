//! MutatingAdmissionPolicy, run on rendered objects: what the API server's
//! native mutation would make of one request, before validation. kharden's
//! policies use `patchType: JSONPatch`, so this evaluates each mutation's CEL
//! to a list of `JSONPatch{op, path, value}` values (the type and
//! `jsonpatch.escapeKey` are registered as Kubernetes registers them) and
//! applies them as RFC 6902 says. Matching is the binding's namespace
//! selector, then the policy's `matchConstraints.resourceRules`, then its
//! `matchConditions`, as for ValidatingAdmissionPolicy.

use std::collections::BTreeMap;
use std::sync::Arc;

use cel::common::types::{CelString, CelStruct, Type};
use cel::common::value::{CowVal, Val};
use cel::{ExecutionError, StructType};
use serde_json::{Value, json};

use super::eval::{bound_policies, cel_env, cel_eval, policy_context};
use crate::verify::admission::{Request, str_of};
use crate::verify::error::{EvalError, PatchError};

/// Kubernetes' `JSONPatch` CEL type: `op`, `path`, `from` and `value`, where
/// `value` takes any value (a `StructDef` field has one fixed type).
struct JsonPatchType(Type);

impl StructType for JsonPatchType {
    fn get_type(&self) -> &Type {
        &self.0
    }

    fn new_value<'b, 'v>(
        &self,
        fields: BTreeMap<String, CowVal<'b, 'v>>,
    ) -> Result<Box<dyn Val + 'v>, ExecutionError> {
        let mut s = CelStruct::new("JSONPatch".to_owned());
        for (k, v) in fields {
            if !matches!(k.as_str(), "op" | "path" | "from" | "value") {
                return Err(ExecutionError::NoSuchKey(Arc::new(format!(
                    "field `{k}` on struct `JSONPatch`"
                ))));
            }
            s.add_field_value(k, v);
        }
        Ok(Box::new(s))
    }
}

/// RFC 6901 escaping of one path segment, as `jsonpatch.escapeKey` does.
fn escape_key(key: &CelString<'_>) -> CelString<'static> {
    CelString::from(key.replace('~', "~0").replace('/', "~1"))
}

/// The CEL environment of mutating policies: the validating one plus the
/// `JSONPatch` type and `jsonpatch.escapeKey`.
pub(crate) fn env() -> Result<Arc<cel::Env>, EvalError> {
    let base = cel_env()?;
    let mut env = Arc::try_unwrap(base)
        .map_err(|_| EvalError::CelSetup("environment is shared".to_owned()))?;
    env.add_type(JsonPatchType(Type::new_struct("JSONPatch".to_owned())))
        .map_err(|e| EvalError::CelSetup(format!("JSONPatch type: {e:?}")))?;
    cel::add_overload!(env, fn escape_key: (CelString) -> CelString, name = "jsonpatch.escapeKey")
        .map_err(|e| EvalError::CelSetup(format!("jsonpatch.escapeKey: {e:?}")))?;
    Ok(Arc::new(env))
}

/// A CEL result as JSON, `JSONPatch` structs as objects of their fields.
fn to_json(v: &cel::Value) -> Result<Value, EvalError> {
    Ok(match v {
        cel::Value::List(l) => Value::Array(l.iter().map(to_json).collect::<Result<_, _>>()?),
        cel::Value::Struct(s) => {
            let mut o = serde_json::Map::new();
            for (k, f) in s.field_values() {
                let f = cel::Value::try_from(&*f)
                    .map_err(|e| EvalError::CelSetup(format!("value: {e:?}")))?;
                o.insert(k, to_json(&f)?);
            }
            Value::Object(o)
        }
        cel::Value::Map(m) => {
            let mut o = serde_json::Map::new();
            // In key order: the first error never depends on hashing.
            for (k, f) in m.map.iter().collect::<std::collections::BTreeMap<_, _>>() {
                o.insert(k.to_string(), to_json(f)?);
            }
            Value::Object(o)
        }
        cel::Value::String(x) => json!(x.as_str()),
        cel::Value::Int(i) => json!(i),
        cel::Value::UInt(u) => json!(u),
        cel::Value::Float(f) => json!(f),
        cel::Value::Bool(b) => json!(b),
        cel::Value::Null => Value::Null,
        other => {
            return Err(EvalError::CelSetup(format!(
                "value {other:?} has no JSON form"
            )));
        }
    })
}

/// One RFC 6901 pointer segment, unescaped.
fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

/// Apply one JSON Patch operation (`add`, `replace`, `remove`, `test`).
fn apply_op(doc: &mut Value, op: &Value) -> Result<(), PatchError> {
    let kind = str_of(op, "op");
    let path = str_of(op, "path");
    let segs: Vec<String> = match path.strip_prefix('/') {
        Some(rest) => rest.split('/').map(unescape).collect(),
        None if path.is_empty() => Vec::new(),
        None => return Err(PatchError::NotAPointer(path.to_owned())),
    };
    let value = op.get("value").cloned().unwrap_or(Value::Null);
    let Some((last, parent)) = segs.split_last() else {
        return match kind {
            "test" if *doc == value => Ok(()),
            "add" | "replace" => {
                *doc = value;
                Ok(())
            }
            _ => Err(PatchError::WholeObject(kind.to_owned())),
        };
    };
    let mut cur = &mut *doc;
    for s in parent {
        cur = match cur {
            Value::Object(m) => m.get_mut(s),
            Value::Array(a) => s.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| PatchError::Missing {
            path: path.to_owned(),
            segment: s.clone(),
        })?;
    }
    let no_index = || PatchError::NoIndex {
        path: path.to_owned(),
        index: last.clone(),
    };
    match (cur, kind) {
        (Value::Object(m), "add") => {
            m.insert(last.clone(), value);
        }
        (Value::Object(m), "replace" | "remove") if m.contains_key(last) => {
            if kind == "replace" {
                m.insert(last.clone(), value);
            } else {
                m.remove(last);
            }
        }
        (Value::Object(m), "test") if m.get(last) == Some(&value) => {}
        (Value::Array(a), "add") if last == "-" => a.push(value),
        (Value::Array(a), "add") => match last.parse::<usize>() {
            Ok(i) if i <= a.len() => a.insert(i, value),
            _ => return Err(no_index()),
        },
        (Value::Array(a), "replace" | "remove" | "test") => {
            let i = last
                .parse::<usize>()
                .ok()
                .filter(|i| *i < a.len())
                .ok_or_else(no_index)?;
            match kind {
                "replace" => a[i] = value,
                "remove" => {
                    a.remove(i);
                }
                _ if a[i] == value => {}
                _ => return Err(PatchError::TestFailed(path.to_owned())),
            }
        }
        (_, k) => {
            return Err(PatchError::CannotApply {
                op: k.to_owned(),
                path: path.to_owned(),
            });
        }
    }
    Ok(())
}

/// Apply the rendered MutatingAdmissionPolicies bound to the request's
/// namespace to its object, in order. Returns the names of the policies that
/// changed it. A mutation that fails to evaluate or apply is an error, which
/// under the policies' `failurePolicy: Fail` refuses the request.
pub(crate) fn native_mutate(objs: &[Value], r: &mut Request) -> Result<Vec<String>, EvalError> {
    let env = env()?;
    let mut applied = Vec::new();
    // Which policies apply depends on the namespace and resource, which no
    // mutation changes; each policy then sees the object as mutated so far.
    for (pname, spec) in bound_policies(objs, "MutatingAdmissionPolicy", r, |_| true)? {
        let Some(ctx) = policy_context(&env, pname, spec, r)? else {
            continue;
        };
        let before = r.object.clone();
        for m in spec["mutations"].as_array().into_iter().flatten() {
            if str_of(m, "patchType") != "JSONPatch" {
                return Err(EvalError::Unsupported(format!(
                    "`{pname}`: verify applies JSONPatch mutations only, not `{}`",
                    str_of(m, "patchType")
                )));
            }
            let ops = to_json(&cel_eval(
                &env,
                &ctx,
                str_of(&m["jsonPatch"], "expression"),
            )?)?;
            let mut patched = r.object.clone();
            for op in ops.as_array().into_iter().flatten() {
                apply_op(&mut patched, op).map_err(|why| EvalError::Patch {
                    policy: pname.to_owned(),
                    why,
                })?;
            }
            r.object = patched;
        }
        if r.object != before {
            applied.push(format!("MutatingAdmissionPolicy/{pname}"));
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expr: &str, object: Value) -> Value {
        let env = env().unwrap();
        let mut ctx = cel::Context::with_env(env.clone());
        ctx.add_variable_from_value("object", cel::to_value(&object).unwrap());
        let ops = to_json(&cel_eval(&env, &ctx, expr).unwrap()).unwrap();
        let mut doc = object;
        for op in ops.as_array().unwrap() {
            apply_op(&mut doc, op).unwrap();
        }
        doc
    }

    #[test]
    fn json_patches_built_in_cel_apply_as_rfc_6902_says() {
        let doc = run(
            r#"[JSONPatch{op: "add", path: "/metadata/annotations", value: {}},
                JSONPatch{op: "add", path: "/metadata/annotations/" + jsonpatch.escapeKey("a.io/b~c"), value: "x"},
                JSONPatch{op: "add", path: "/spec/l/-", value: {"k": "v"}},
                JSONPatch{op: "replace", path: "/spec/n", value: 2}]"#,
            json!({"metadata": {}, "spec": {"l": [1], "n": 1}}),
        );
        assert_eq!(
            doc,
            json!({"metadata": {"annotations": {"a.io/b~c": "x"}}, "spec": {"l": [1, {"k": "v"}], "n": 2}})
        );
        let env = env().unwrap();
        let ctx = cel::Context::with_env(env.clone());
        assert!(matches!(
            cel_eval(&env, &ctx, "JSONPatch{op: 'add', bogus: 1}"),
            Err(EvalError::Cel { .. })
        ));
        let mut d = json!({"a": 1, "l": [1]});
        let op = |v: Value| apply_op(&mut d.clone(), &v);
        assert_eq!(
            op(json!({"op": "test", "path": "/l/0", "value": 2})),
            Err(PatchError::TestFailed("/l/0".to_owned()))
        );
        assert_eq!(
            op(json!({"op": "test", "path": "/a", "value": 2})),
            Err(PatchError::CannotApply {
                op: "test".to_owned(),
                path: "/a".to_owned()
            })
        );
        assert_eq!(
            op(json!({"op": "replace", "path": "/b", "value": 2})),
            Err(PatchError::CannotApply {
                op: "replace".to_owned(),
                path: "/b".to_owned()
            })
        );
        assert_eq!(
            op(json!({"op": "remove", "path": "/l/3"}))
                .unwrap_err()
                .to_string(),
            "JSON Patch path `/l/3`: no index `3`"
        );
        assert_eq!(
            op(json!({"op": "add", "path": "/x/y", "value": 1})),
            Err(PatchError::Missing {
                path: "/x/y".to_owned(),
                segment: "x".to_owned()
            })
        );
        assert_eq!(
            op(json!({"op": "add", "path": "a", "value": 1})),
            Err(PatchError::NotAPointer("a".to_owned()))
        );
        assert!(apply_op(&mut d, &json!({"op": "remove", "path": "/l/0"})).is_ok());
        assert_eq!(d, json!({"a": 1, "l": []}));
    }
}
