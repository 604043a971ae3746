//! Gatekeeper: Rego ConstraintTemplates and Constraints, its own mutators
//! (`render`), evaluated by regorus (`eval`), shown by Constraint kind and name.

pub(crate) mod eval;
pub(crate) mod render;

use serde_json::Value;

use super::{Engine, Shown, join_strs};
use crate::bundle::manifest::{Manifest, RenderError};
use crate::concern::policy::Instance;
use crate::input::profile::Policy;
use crate::pipeline::model::Model;
use crate::verify::admission::{Denial, Request, str_of};
use crate::verify::error::EvalError;

/// The group/version of every Constraint kharden renders.
const CONSTRAINTS: &str = "constraints.gatekeeper.sh/v1beta1";

/// The Gatekeeper engine.
pub(crate) struct Gatekeeper;

impl Engine for Gatekeeper {
    fn render(&self, m: &Model, plan: &[Instance]) -> Result<Vec<Manifest>, RenderError> {
        render::render(m, plan)
    }

    fn notes(&self, _m: &Model, _pol: &Policy) -> Vec<String> {
        Vec::new()
    }

    fn sees_other_objects(&self) -> bool {
        true
    }

    fn uses_mutating_policies(&self) -> bool {
        // Gatekeeper mutates with its own Assign/ModifySet kinds.
        false
    }

    fn mutating_policy_api(&self, _m: &Model, _pol: &Policy) -> Option<&'static str> {
        None
    }

    fn mutate(&self, objs: &[Value], r: &mut Request) -> Result<Vec<String>, EvalError> {
        eval::mutate(objs, r)
    }

    fn validate(
        &self,
        objs: &[Value],
        r: &Request,
        inventory: &Value,
        enforced: bool,
    ) -> Result<Vec<Denial>, EvalError> {
        eval::denials(objs, r, inventory, enforced)
    }

    fn describe(&self, o: &Value) -> Option<Shown> {
        if str_of(o, "apiVersion") != CONSTRAINTS {
            return None;
        }
        let spec = &o["spec"];
        let mut scope = Vec::new();
        if let Some(n) = spec["match"].get("namespaces") {
            scope.push(format!("only {}", join_strs(n)));
        }
        if let Some(n) = spec["match"].get("excludedNamespaces") {
            scope.push(format!("not {}", join_strs(n)));
        }
        let action = str_of(spec, "enforcementAction").to_owned();
        Some(Shown {
            rule: format!(
                "Gatekeeper {} {}",
                str_of(o, "kind"),
                crate::verify::admission::name_of(o)
            ),
            enforced: action.is_empty() || action == "deny",
            action,
            scope: scope.join("; "),
            parameters: spec["parameters"].clone(),
        })
    }

    fn reaches(&self, o: &Value, namespace: &str) -> Option<bool> {
        str_of(o, "apiVersion")
            .starts_with("constraints.gatekeeper.sh/")
            .then(|| eval::in_namespace(&o["spec"]["match"], namespace))
    }
}
