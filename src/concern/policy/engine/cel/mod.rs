//! The API server's own admission policies, in CEL: a ValidatingAdmissionPolicy
//! and Binding per rule instance (`render`), MutatingAdmissionPolicies for what
//! a Gatekeeper mutator would add (`policy::map`), evaluated by the `cel` crate
//! (`eval`, `mutate`), shown by the policy a binding names.

pub(crate) mod eval;
pub(crate) mod mutate;
pub(crate) mod render;

use serde_json::Value;

use super::{Engine, Shown, join_strs};
use crate::bundle::manifest::{Manifest, RenderError};
use crate::concern::policy::{Instance, map};
use crate::input::profile::Policy;
use crate::pipeline::model::Model;
use crate::verify::admission::{Denial, Request, str_of};
use crate::verify::error::EvalError;

/// The kind of the object that binds a validating policy to namespaces.
const BINDING: &str = "ValidatingAdmissionPolicyBinding";

/// The native (CEL) engine.
pub(crate) struct Cel;

impl Engine for Cel {
    fn render(&self, m: &Model, plan: &[Instance]) -> Result<Vec<Manifest>, RenderError> {
        let mut out = render::render(plan)?;
        out.extend(map::render(m, plan)?);
        Ok(out)
    }

    fn notes(&self, m: &Model, pol: &Policy) -> Vec<String> {
        let mut out = Vec::new();
        if pol.unique_ingress_hosts {
            out.push("note: `policy.uniqueIngressHosts`: a ValidatingAdmissionPolicy cannot see other Ingresses, so each namespace's hosts are confined to `<namespace>.<ingressDomain>` and below instead; use `engine: gatekeeper` for a true uniqueness check".to_owned());
        }
        out.extend(map::note(m, pol));
        out
    }

    fn sees_other_objects(&self) -> bool {
        false
    }

    fn uses_mutating_policies(&self) -> bool {
        true
    }

    fn mutating_policy_api(&self, m: &Model, pol: &Policy) -> Option<&'static str> {
        match m.minor() {
            36.. => Some("admissionregistration.k8s.io/v1"),
            34 | 35 if pol.mutating_admission_policy_beta => {
                Some(crate::concern::policy::validated::MUTATING_V1BETA1)
            }
            _ => None,
        }
    }

    fn mutate(&self, objs: &[Value], r: &mut Request) -> Result<Vec<String>, EvalError> {
        mutate::native_mutate(objs, r)
    }

    fn validate(
        &self,
        objs: &[Value],
        r: &Request,
        _inventory: &Value,
        enforced: bool,
    ) -> Result<Vec<Denial>, EvalError> {
        // A policy sees only the object under review: no inventory.
        eval::denials(objs, r, enforced)
    }

    fn describe(&self, o: &Value) -> Option<Shown> {
        if str_of(o, "kind") != BINDING {
            return None;
        }
        let spec = &o["spec"];
        let scope: Vec<String> = spec["matchResources"]["namespaceSelector"]["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| format!("{} {}", str_of(e, "operator"), join_strs(&e["values"])))
            .collect();
        let actions = &spec["validationActions"];
        Some(Shown {
            rule: format!("ValidatingAdmissionPolicy {}", str_of(spec, "policyName")),
            action: join_strs(actions),
            scope: scope.join("; "),
            parameters: Value::Null,
            enforced: actions
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "Deny")),
        })
    }

    fn reaches(&self, o: &Value, namespace: &str) -> Option<bool> {
        (str_of(o, "kind") == BINDING).then(|| {
            eval::namespace_selector_matches(
                &o["spec"]["matchResources"]["namespaceSelector"],
                namespace,
            )
        })
    }
}
