//! CEL evaluation of the native policies, run on rendered objects: bindings
//! matched by namespace selector, then the policy's
//! `matchConstraints.resourceRules` and `matchConditions`; `variables` in
//! order; each ValidatingAdmissionPolicy validation run by the `cel` crate in
//! the environment the API server gives admission policies.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::verify::admission::{Denial, Request, name_of, str_of};
use crate::verify::error::EvalError;

/// A binding's namespace selector over `kubernetes.io/metadata.name` (what
/// kharden renders); other keys never match, so nothing is over-claimed.
pub(crate) fn namespace_selector_matches(sel: &Value, ns: &str) -> bool {
    let labels = std::collections::BTreeMap::from([(
        "kubernetes.io/metadata.name".to_owned(),
        ns.to_owned(),
    )]);
    match serde_json::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>(
        sel.clone(),
    ) {
        Ok(s) => crate::k8s::netpol_eval::selector_matches(Some(&s), &labels),
        Err(_) => sel.is_null(),
    }
}

pub(crate) fn rule_matches(rule: &Value, r: &Request) -> bool {
    let resource = if r.subresource.is_empty() {
        r.resource.clone()
    } else {
        format!("{}/{}", r.resource, r.subresource)
    };
    let any = |f: &str, v: &str| {
        rule.get(f)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == "*" || x == v))
    };
    let ops = rule
        .get("operations")
        .and_then(Value::as_array)
        .is_none_or(|a| a.iter().any(|x| x == "*" || x == r.operation.as_str()));
    any("apiGroups", &r.group)
        && any("apiVersions", &r.version)
        && any("resources", &resource)
        && ops
}

/// The CEL environment the API server gives admission policies (the standard
/// library plus the strings extension kharden's expressions use).
pub(crate) fn cel_env() -> Result<Arc<cel::Env>, EvalError> {
    let mut env = cel::Env::stdlib();
    cel::extensions::strings(&mut env)
        .map_err(|e| EvalError::CelSetup(format!("strings extension: {e:?}")))?;
    Ok(Arc::new(env))
}

/// Compile and run one expression.
pub(crate) fn cel_eval(
    env: &Arc<cel::Env>,
    ctx: &cel::Context,
    expr: &str,
) -> Result<cel::Value, EvalError> {
    let fail = |message: String| EvalError::Cel {
        expr: expr.to_owned(),
        message,
    };
    let program = env.compile(expr).map_err(|e| fail(format!("{e:?}")))?;
    program.execute(ctx).map_err(|e| fail(format!("{e:?}")))
}

/// The native policies of `kind` (ValidatingAdmissionPolicy or
/// MutatingAdmissionPolicy) that apply to `r`, as (name, spec), in binding
/// order: bound to the request's namespace by a binding `binding_acts` accepts,
/// with a resource rule matching the request. A binding naming no rendered
/// policy is an error.
pub(crate) fn bound_policies<'a>(
    objs: &'a [Value],
    kind: &str,
    r: &Request,
    binding_acts: impl Fn(&Value) -> bool,
) -> Result<Vec<(&'a str, &'a Value)>, EvalError> {
    let binding_kind = format!("{kind}Binding");
    let mut out = Vec::new();
    for binding in objs.iter().filter(|o| str_of(o, "kind") == binding_kind) {
        let bspec = &binding["spec"];
        if !binding_acts(bspec)
            || !namespace_selector_matches(
                &bspec["matchResources"]["namespaceSelector"],
                &r.namespace,
            )
        {
            continue;
        }
        let pname = str_of(bspec, "policyName");
        let policy = objs
            .iter()
            .find(|o| str_of(o, "kind") == kind && name_of(o) == pname)
            .ok_or_else(|| {
                EvalError::Rendered(format!(
                    "binding `{}` names no rendered policy",
                    name_of(binding)
                ))
            })?;
        let spec = &policy["spec"];
        let rules = spec["matchConstraints"]["resourceRules"].as_array();
        if rules.is_some_and(|rules| rules.iter().any(|rule| rule_matches(rule, r))) {
            out.push((pname, spec));
        }
    }
    Ok(out)
}

/// The CEL context a native policy's expressions see for `r`: `object`,
/// `request` and `variables` (each variable seeing the ones before it), or
/// `None` when a `matchConditions` entry is false, which skips the policy.
pub(crate) fn policy_context(
    env: &Arc<cel::Env>,
    name: &str,
    spec: &Value,
    r: &Request,
) -> Result<Option<cel::Context<'static, 'static>>, EvalError> {
    let to_cel =
        |v: &Value| cel::to_value(v).map_err(|e| EvalError::CelSetup(format!("value: {e:?}")));
    let object = to_cel(&r.object)?;
    let request = to_cel(&json!({
        "kind": {"group": r.group, "version": r.version, "kind": r.kind},
        "resource": {"group": r.group, "version": r.version, "resource": r.resource},
        "subResource": r.subresource,
        "namespace": r.namespace,
        "operation": r.operation,
        "userInfo": r.user_info.json(),
    }))?;
    let base = || {
        let mut ctx = cel::Context::with_env(env.clone());
        ctx.add_variable_from_value("object", object.clone());
        ctx.add_variable_from_value("request", request.clone());
        ctx
    };
    for c in spec["matchConditions"].as_array().into_iter().flatten() {
        match cel_eval(env, &base(), str_of(c, "expression"))? {
            cel::Value::Bool(true) => {}
            cel::Value::Bool(false) => return Ok(None),
            other => {
                return Err(EvalError::Type(format!(
                    "match condition of `{name}` gave {other:?}"
                )));
            }
        }
    }
    let mut vars: HashMap<String, cel::Value> = HashMap::new();
    for v in spec["variables"].as_array().into_iter().flatten() {
        let mut ctx = base();
        ctx.add_variable_from_value("variables", vars.clone());
        let val = cel_eval(env, &ctx, str_of(v, "expression"))?;
        vars.insert(str_of(v, "name").to_owned(), val);
    }
    let mut ctx = base();
    ctx.add_variable_from_value("variables", vars);
    Ok(Some(ctx))
}

/// The denials the API server would report for `r` from the rendered
/// ValidatingAdmissionPolicies and their bindings: with `enforced`, the `Deny`
/// bindings'; else what the `Warn` and `Audit` bindings (without `Deny`) would
/// refuse if they denied (the client sees a warning for `Warn`, the audit log
/// records it).
pub(crate) fn denials(
    objs: &[Value],
    r: &Request,
    enforced: bool,
) -> Result<Vec<Denial>, EvalError> {
    let env = cel_env()?;
    let mut out = Vec::new();
    let acts = |bspec: &Value| {
        let actions = bspec["validationActions"].as_array();
        let deny = actions.is_some_and(|a| a.iter().any(|x| x == "Deny"));
        let other = actions.is_some_and(|a| a.iter().any(|x| x == "Warn" || x == "Audit"));
        if enforced { deny } else { !deny && other }
    };
    for (pname, spec) in bound_policies(objs, "ValidatingAdmissionPolicy", r, acts)? {
        let Some(ctx) = policy_context(&env, pname, spec, r)? else {
            continue;
        };
        for val in spec["validations"].as_array().into_iter().flatten() {
            match cel_eval(&env, &ctx, str_of(val, "expression"))? {
                cel::Value::Bool(true) => {}
                cel::Value::Bool(false) => {
                    let msg = match val.get("messageExpression").and_then(Value::as_str) {
                        Some(e) => match cel_eval(&env, &ctx, e)? {
                            cel::Value::String(s) => s.to_string(),
                            other => {
                                return Err(EvalError::Type(format!(
                                    "message is not a string: {other:?}"
                                )));
                            }
                        },
                        None => str_of(val, "message").to_owned(),
                    };
                    out.push(Denial::new("ValidatingAdmissionPolicy", pname, msg));
                }
                other => {
                    return Err(EvalError::Type(format!(
                        "validation of `{pname}` gave {other:?}"
                    )));
                }
            }
        }
    }
    Ok(out)
}
