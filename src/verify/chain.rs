//! One admission expectation through the API server's admission chain, in the
//! API server's order: every mutating step first (the policy engines'
//! mutators, then LimitRange defaults), then the validating ones on
//! the mutated object: LimitRange `max`, the PodSecurity plugin (before the
//! admission policies, webhooks and quota, as `AllOrderedPlugins` places it),
//! ResourceQuota, then the policy engines' rules (`concern::policy::engine`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::admission::{Denial, Request, UserInfo};
use super::pod_security::{Level, LevelVersion, Pod, PodSecurity, Target, check, template_pod};
use super::{AdmissionExpectation, EvalError, Outcome, resources};
use crate::concern::policy::engine;
use crate::pipeline::model::Model;

/// Run the policy engines' mutating steps on `req`; returns a note per change.
pub fn mutate(objs: &[Value], req: &mut Request) -> Result<Vec<String>, EvalError> {
    engine::mutate(objs, req)
}

/// What the rendered bundle answers to a CREATE of an object: the request as
/// validation saw it (mutated), the denials, what mutated it, and the Pod
/// Security verdict. `verify` and the platform self-check both ask this.
pub struct Decision {
    pub request: Request,
    pub denials: Vec<Denial>,
    pub mutated: Vec<String>,
    pub pod_security: super::pod_security::Verdict,
    /// What rules in `warn` or `audit` mode (`policy.enforcement`) would
    /// refuse: admitted, with a warning or an audit record.
    pub not_enforced: Vec<Denial>,
}

/// Run `obj` through the admission chain of the rendered objects `objs`, as
/// asked by a requester in no group the rules name.
pub fn decide(
    objs: &[Value],
    pod_security: &PodSecurity,
    namespace: &str,
    obj: &Value,
) -> Result<Decision, EvalError> {
    decide_as(objs, pod_security, namespace, obj, &UserInfo::default())
}

/// `decide` for a request made by `user` (rules such as department labels
/// read the requester's groups).
pub fn decide_as(
    objs: &[Value],
    pod_security: &PodSecurity,
    namespace: &str,
    obj: &Value,
    user: &UserInfo,
) -> Result<Decision, EvalError> {
    let mut req = Request::create(namespace, obj.clone())
        .ok_or_else(|| EvalError::Unchecked("unchecked admission object".to_owned()))?;
    req.user_info = user.clone();
    let name = obj["metadata"]["name"].as_str().unwrap_or("(unnamed)");
    let mut mutated = mutate(objs, &mut req)?;
    let (mut denials, defaults) = resources::limit_ranges(objs, &mut req);
    mutated.extend(defaults);
    let verdict = pod_security.evaluate(namespace, &req.object);
    if let Some(msg) = verdict.denial() {
        let (kind, by) = match verdict.undecodable {
            Some(_) => (req.kind.clone(), name.to_owned()),
            None => verdict.source.object(),
        };
        denials.push(Denial::new(&kind, &by, msg));
    }
    denials.extend(resources::quotas(objs, &req));
    // No synced inventory: a rule reading other objects sees none.
    let inventory = serde_json::json!({});
    denials.extend(engine::denials(objs, &req, &inventory, true)?);
    let mut not_enforced = Vec::new();
    // A pod PSA admits in a namespace whose `enforce` a rollout holds back
    // (`privileged`, the target level in an annotation): what the target
    // level would refuse.
    if verdict.target == Target::Pod
        && verdict.denial().is_none()
        && let Some(p) = verdict.policy
        && p.enforce.level == Level::Privileged
        && let Some(target) = held_back(objs, namespace)
        && let Ok(pod) = Pod::from_parts(&req.object["metadata"], &req.object["spec"])
    {
        let v = check(target, p.enforce.version, &pod);
        if !v.is_empty() {
            let msg: Vec<String> = v.iter().map(ToString::to_string).collect();
            not_enforced.push(Denial::new(
                "Namespace",
                namespace,
                format!(
                    "violates PodSecurity \"{}\": {}",
                    LevelVersion {
                        level: target,
                        version: p.enforce.version
                    },
                    msg.join(", ")
                ),
            ));
        }
    }
    not_enforced.extend(engine::denials(objs, &req, &inventory, false)?);
    Ok(Decision {
        request: req,
        denials,
        mutated,
        pod_security: verdict,
        not_enforced,
    })
}

/// The Pod Security level a rollout holds `namespace`'s `enforce` back from.
fn held_back(objs: &[Value], namespace: &str) -> Option<Level> {
    objs.iter()
        .find(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == namespace)
        .and_then(|o| {
            o["metadata"]["annotations"][crate::input::profile::POD_SECURITY_TARGET].as_str()
        })
        .and_then(Level::parse)
}

pub(super) fn admit(
    objs: &[Value],
    pod_security: &PodSecurity,
    i: usize,
    a: &AdmissionExpectation,
    obj: &Value,
    user: &UserInfo,
) -> Result<Outcome, EvalError> {
    let name = obj["metadata"]["name"].as_str().unwrap_or("(unnamed)");
    let Decision {
        request: req,
        denials,
        mutated,
        pod_security: verdict,
        not_enforced,
    } = decide_as(objs, pod_security, &a.namespace, obj, user)?;
    let mut what = format!("admission {} {}/{name}", req.kind, a.namespace);
    if let Some(u) = &a.user {
        what.push_str(&format!(" as {u}"));
    }
    if !a.groups.is_empty() {
        what.push_str(&format!(" (groups {})", a.groups.join(", ")));
    }
    let mut notes = Vec::new();
    // PSA only warns about a workload; its controller's pods meet `enforce`
    // later, after the same mutating steps. Say so, or the admitted workload
    // hides pods that never start.
    if verdict.target == Target::Controller
        && let Some(pod) = template_pod(&req.object)
        && let Some(mut pod_req) = Request::create(&a.namespace, pod)
    {
        // The pods are created by the controller, not by the requester.

        mutate(objs, &mut pod_req)?;
        if let Some(d) = pod_security
            .evaluate(&a.namespace, &pod_req.object)
            .denial()
        {
            notes.push(format!("its pods would be denied: {d}"));
        }
    }
    let reason = if denials.is_empty() {
        let mut r = if not_enforced.is_empty() {
            "no admission rule refused it".to_owned()
        } else {
            // A rollout step: the rules that would refuse it only warn or audit.
            not_enforced
                .iter()
                .map(|d| {
                    format!(
                        "would deny, not enforced: {}/{}: {}",
                        d.kind, d.name, d.message
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        if !mutated.is_empty() {
            r.push_str(&format!("; mutated: {}", mutated.join(", ")));
        }
        r
    } else {
        Denial::describe(&denials)
    };
    // Refused anyway: the rules still in a rollout step are news too.
    if !denials.is_empty() {
        for d in &not_enforced {
            notes.push(format!(
                "also would deny, not enforced: {}/{}: {}",
                d.kind, d.name, d.message
            ));
        }
    }
    // PSA adds no warning to its own refusal; another step's refusal still
    // carries the warnings recorded before it.
    let warnings = verdict.warnings();
    let audit: BTreeMap<String, String> = verdict.audit_annotations();
    Ok(Outcome {
        at: format!("admission[{i}]"),
        what,
        expected: a.expect,
        allowed: denials.is_empty(),
        reason,
        warnings,
        audit,
        notes,
    })
}

impl AdmissionExpectation {
    /// The requester as the API server names it (prefixes applied).
    pub fn user_info(&self, model: &Model) -> UserInfo {
        let gp = model.group_prefix();
        UserInfo {
            username: self
                .user
                .as_ref()
                .map(|u| format!("{}{u}", model.user_prefix()))
                .unwrap_or_default(),
            groups: self
                .groups
                .iter()
                .map(|g| {
                    if g.starts_with("system:") {
                        g.clone()
                    } else {
                        format!("{gp}{g}")
                    }
                })
                .collect(),
        }
    }
}
