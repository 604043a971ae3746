//! Admission, run on rendered objects: what Gatekeeper (Rego, by regorus) or the
//! API server (ValidatingAdmissionPolicy CEL, by the `cel` crate) would answer
//! for one request (the built-in LimitRange and ResourceQuota admission is
//! `resources.rs`).
//!
//! Matching follows each engine's documented rules: Gatekeeper constraints by
//! `match.kinds` and namespace globs, mutators the same way before validation;
//! policy bindings by namespace selector, then the policy's
//! `matchConstraints.resourceRules`. The policy unit tests and `kharden verify`
//! both call this harness, so what the tests prove is what users run.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::error::EvalError;
use crate::concern::policy::routes;

/// One admission request, as the API server would send it to webhooks.
#[derive(Debug, Clone)]
pub struct Request {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The plural resource (`pods`), for policy resource rules.
    pub resource: String,
    /// Empty, or e.g. `ephemeralcontainers`.
    pub subresource: String,
    pub namespace: String,
    /// `CREATE` or `UPDATE`.
    pub operation: String,
    pub object: Value,
    /// Who asks (`userInfo`): Gatekeeper reads `input.review.userInfo`, the
    /// native policies `request.userInfo`.
    pub user_info: UserInfo,
}

/// The requester of an admission request, as the API server authenticated
/// it (names with their OIDC prefixes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub username: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// As the AdmissionReview's `userInfo` (and CEL's `request.userInfo`).
    fn json(&self) -> Value {
        json!({"username": self.username, "groups": self.groups})
    }
}

impl Request {
    /// A CREATE of `object` in `namespace`, its resource found from its kind;
    /// `None` for a kind this harness does not know.
    pub fn create(namespace: &str, object: Value) -> Option<Request> {
        let api = object.get("apiVersion").and_then(Value::as_str)?;
        let kind = object.get("kind").and_then(Value::as_str)?;
        let (group, version) = match api.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api),
        };
        let resource = resource_of(group, kind)?;
        Some(Request {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            resource: resource.to_owned(),
            subresource: String::new(),
            namespace: namespace.to_owned(),
            operation: "CREATE".to_owned(),
            object,
            user_info: UserInfo::default(),
        })
    }
}

/// The plural resource of the namespaced kinds admission rules look at.
pub fn resource_of(group: &str, kind: &str) -> Option<&'static str> {
    Some(match (group, kind) {
        ("", "Pod") => "pods",
        ("", "Service") => "services",
        ("", "ConfigMap") => "configmaps",
        ("", "Secret") => "secrets",
        ("", "ServiceAccount") => "serviceaccounts",
        ("", "PersistentVolumeClaim") => "persistentvolumeclaims",
        ("", "ReplicationController") => "replicationcontrollers",
        ("", "PodTemplate") => "podtemplates",
        ("apps", "Deployment") => "deployments",
        ("apps", "StatefulSet") => "statefulsets",
        ("apps", "DaemonSet") => "daemonsets",
        ("apps", "ReplicaSet") => "replicasets",
        ("batch", "Job") => "jobs",
        ("batch", "CronJob") => "cronjobs",
        ("networking.k8s.io", "Ingress") => "ingresses",
        ("networking.k8s.io", "NetworkPolicy") => "networkpolicies",
        (routes::GROUP | routes::X_GROUP, k) => return routes::resource(group, k),
        _ => return None,
    })
}

/// A refusal: the object that refused (`Kind/name`) and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub kind: String,
    pub name: String,
    pub message: String,
}

impl Denial {
    pub(super) fn new(kind: &str, name: &str, message: String) -> Denial {
        Denial {
            kind: kind.to_owned(),
            name: name.to_owned(),
            message,
        }
    }

    /// Denials as `verify` and the platform self-check print them:
    /// `denied by Kind/name: message`, joined by `; `.
    pub fn describe(denials: &[Denial]) -> String {
        denials
            .iter()
            .map(|d| format!("denied by {}/{}: {}", d.kind, d.name, d.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub(crate) fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or_default()
}

pub(crate) fn name_of(o: &Value) -> &str {
    o.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

// ---- Gatekeeper ----

/// Gatekeeper's namespace globs: a trailing `*` is a prefix match.
fn glob(pattern: &str, ns: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => ns.starts_with(prefix),
        None => pattern == ns,
    }
}

/// Whether a constraint's or mutator's `match` selects the request.
pub fn gatekeeper_matches(m: &Value, r: &Request) -> bool {
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
    let strs = |f: &str| -> Vec<&str> {
        m.get(f)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let included =
        m.get("namespaces").is_none() || strs("namespaces").iter().any(|p| glob(p, &r.namespace));
    let excluded = strs("excludedNamespaces")
        .iter()
        .any(|p| glob(p, &r.namespace));
    kinds && included && !excluded
}

/// Apply the rendered Gatekeeper mutators (Assign, AssignMetadata, ModifySet
/// merge) to the request's object, as Gatekeeper does before validation.
/// Returns the names of the mutators that applied.
pub fn gatekeeper_mutate(objs: &[Value], r: &mut Request) -> Result<Vec<String>, EvalError> {
    let mut applied = Vec::new();
    for m in objs
        .iter()
        .filter(|o| str_of(o, "apiVersion").starts_with("mutations.gatekeeper.sh/"))
    {
        let spec = &m["spec"];
        let kind = str_of(m, "kind");
        if !gatekeeper_matches(&spec["match"], r) {
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
/// synced cluster data (`data.inventory`). Constraints whose
/// `enforcementAction` is not `deny` only warn, so they refuse nothing
/// (`gatekeeper_not_enforced` has theirs).
pub fn gatekeeper(
    objs: &[Value],
    r: &Request,
    inventory: &Value,
) -> Result<Vec<Denial>, EvalError> {
    gatekeeper_by(objs, r, inventory, true)
}

/// What the `warn` and `dryrun` constraints would refuse if they denied: the
/// client sees a warning (`warn`) and Gatekeeper's audit records it.
pub fn gatekeeper_not_enforced(
    objs: &[Value],
    r: &Request,
    inventory: &Value,
) -> Result<Vec<Denial>, EvalError> {
    gatekeeper_by(objs, r, inventory, false)
}

fn gatekeeper_by(
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
        if !gatekeeper_matches(&spec["match"], r) {
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

// ---- ValidatingAdmissionPolicy ----

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
        Ok(s) => crate::netpol_eval::selector_matches(Some(&s), &labels),
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
pub fn cel_env() -> Result<Arc<cel::Env>, EvalError> {
    let mut env = cel::Env::stdlib();
    cel::extensions::strings(&mut env)
        .map_err(|e| EvalError::CelSetup(format!("strings extension: {e:?}")))?;
    Ok(Arc::new(env))
}

/// Compile and run one expression.
pub fn cel_eval(
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
/// ValidatingAdmissionPolicies and their bindings (`Deny` bindings only).
pub fn native(objs: &[Value], r: &Request) -> Result<Vec<Denial>, EvalError> {
    native_by(objs, r, true)
}

/// What the `Warn` and `Audit` bindings (without `Deny`) would refuse if they
/// denied: the client sees a warning (`Warn`), the audit log records it.
pub fn native_not_enforced(objs: &[Value], r: &Request) -> Result<Vec<Denial>, EvalError> {
    native_by(objs, r, false)
}

fn native_by(objs: &[Value], r: &Request, enforced: bool) -> Result<Vec<Denial>, EvalError> {
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
