//! The policy engines behind one seam. Each engine is one module implementing
//! [`Engine`]: what it renders for the planned rule instances, how its rendered
//! rules answer an admission request (`verify`, `audit`, the platform
//! self-check) and how `report` shows them. [`of`] is the one `match` on
//! `PolicyEngine`, so a new engine fails to compile until its module exists;
//! everything outside `concern::policy` reaches the engines through the free
//! functions here, never by name.

pub(crate) mod cel;
pub(crate) mod gatekeeper;

use serde_json::Value;

use super::Instance;
use crate::bundle::manifest::{Manifest, RenderError};
use crate::input::profile::{Policy, PolicyEngine};
use crate::pipeline::model::Model;
use crate::verify::admission::{Denial, Request};
use crate::verify::error::EvalError;

/// One policy engine. No method has a default: each engine says each thing.
pub(crate) trait Engine: Sync {
    /// The objects carrying out the planned rule instances.
    fn render(&self, m: &Model, plan: &[Instance]) -> Result<Vec<Manifest>, RenderError>;

    /// What `render` tells the user where a rule is weaker on this engine.
    fn notes(&self, m: &Model, pol: &Policy) -> Vec<String>;

    /// Whether a rule can read other objects of the cluster (a synced
    /// inventory). Without it, `uniqueIngressHosts` confines each namespace's
    /// hosts under `<namespace>.<ingressDomain>` and needs that domain.
    fn sees_other_objects(&self) -> bool;

    /// Whether this engine carries out its mutations with the API server's
    /// MutatingAdmissionPolicies (rather than mutators of its own).
    fn uses_mutating_policies(&self) -> bool;

    /// The MutatingAdmissionPolicy apiVersion this engine renders its
    /// mutations as for `m`'s cluster, if it renders any (the API server must
    /// serve it).
    fn mutating_policy_api(&self, m: &Model, pol: &Policy) -> Option<&'static str>;

    /// Apply this engine's rendered mutators among `objs` to the request, as
    /// the cluster does before validation; the names of those that changed it.
    fn mutate(&self, objs: &[Value], r: &mut Request) -> Result<Vec<String>, EvalError>;

    /// What this engine's rendered rules among `objs` refuse for `r`, with
    /// `inventory` as the cluster data a rule may read: with `enforced`, the
    /// rules that deny; else what the rules in a rollout step (warn, audit)
    /// would refuse if they denied.
    fn validate(
        &self,
        objs: &[Value],
        r: &Request,
        inventory: &Value,
        enforced: bool,
    ) -> Result<Vec<Denial>, EvalError>;

    /// How `report` shows `o`, if it is one of this engine's rule objects.
    fn describe(&self, o: &Value) -> Option<Shown>;

    /// Whether the rule object `o` (one of this engine's) applies to objects
    /// in `namespace` (of the kinds it checks); `None` when `o` is no rule
    /// object of this engine.
    fn reaches(&self, o: &Value, namespace: &str) -> Option<bool>;
}

/// One rendered admission rule as `report` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    /// The engine and the rule's name: `Gatekeeper KhardenNoNodePorts no-node-ports`.
    pub rule: String,
    /// The action as rendered (`deny`, `Deny, Warn`); empty when unset.
    pub action: String,
    /// Where it applies, as the object says it.
    pub scope: String,
    /// The parameters the object carries (`null` when it carries none).
    pub parameters: Value,
    /// Whether it refuses, rather than only warning or auditing.
    pub enforced: bool,
}

/// Every engine, in the order the cluster runs them in `verify`'s chain.
pub(crate) const ALL: [PolicyEngine; 2] = [
    PolicyEngine::Gatekeeper,
    PolicyEngine::ValidatingAdmissionPolicy,
];

/// The engine of a profile's `policy.engine`: the one `match` on it.
pub(crate) fn of(engine: PolicyEngine) -> &'static dyn Engine {
    match engine {
        PolicyEngine::Gatekeeper => &gatekeeper::Gatekeeper,
        PolicyEngine::ValidatingAdmissionPolicy => &cel::Cel,
    }
}

fn every() -> impl Iterator<Item = &'static dyn Engine> {
    ALL.into_iter().map(of)
}

/// Apply every engine's rendered mutators to the request, in the cluster's
/// order; the names of those that changed it.
pub(crate) fn mutate(objs: &[Value], r: &mut Request) -> Result<Vec<String>, EvalError> {
    let mut out = Vec::new();
    for e in every() {
        out.extend(e.mutate(objs, r)?);
    }
    Ok(out)
}

/// What every engine's rendered rules refuse for `r` (see [`Engine::validate`]).
pub(crate) fn denials(
    objs: &[Value],
    r: &Request,
    inventory: &Value,
    enforced: bool,
) -> Result<Vec<Denial>, EvalError> {
    let mut out = Vec::new();
    for e in every() {
        out.extend(e.validate(objs, r, inventory, enforced)?);
    }
    Ok(out)
}

/// How `report` shows a rendered object, if it is an admission rule.
pub(crate) fn describe(o: &Value) -> Option<Shown> {
    every().find_map(|e| e.describe(o))
}

/// Whether a rendered admission rule applies in `namespace`; `None` for
/// other objects.
pub(crate) fn reaches(o: &Value, namespace: &str) -> Option<bool> {
    every().find_map(|e| e.reaches(o, namespace))
}

/// A JSON list of strings, joined for display.
fn join_strs(v: &Value) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{HEAD, today};

    /// A rendering by `engine` where registries only warn and team-a audits.
    fn objects(engine: &str) -> Vec<Value> {
        let text = format!(
            "{HEAD}namespaces: [{{name: team-a}}, {{name: team-b}}]
policy:
  engine: {engine}
  allowedRegistries: [registry.example.ca]
  exemptNamespaces: [team-b]
  enforcement: {{default: deny, rules: {{allowedRegistries: warn}}, namespaces: {{team-a: audit}}}}
"
        );
        let m = crate::load_text(&text, "t.yaml", today()).unwrap_or_else(|e| panic!("{e}"));
        crate::verify::objects(&crate::render(&m).unwrap().set)
    }

    /// Each engine shows its own rule objects, says which only warn or
    /// audit, and where they apply: what `report` and `audit` print.
    #[test]
    fn each_engine_describes_and_scopes_its_own_rules() {
        for (engine, prefix) in [
            (
                "gatekeeper",
                "Gatekeeper KhardenAllowedRegistries allowed-registries",
            ),
            (
                "validating-admission-policy",
                "ValidatingAdmissionPolicy kharden-allowed-registries",
            ),
        ] {
            let objs = objects(engine);
            // `noNodePorts` and `requiredLimits` are on by default, and deny.
            let registries = |o: &&Value| describe(o).is_some_and(|s| s.rule.starts_with(prefix));
            let rules: Vec<&Value> = objs.iter().filter(registries).collect();
            assert!(
                rules.len() >= 2,
                "{engine}: the warn instance and team-a's audit one"
            );
            for s in rules.iter().filter_map(|o| describe(o)) {
                assert!(!s.enforced, "{engine}: {s:?}");
                let action = s.action.to_ascii_lowercase();
                assert!(!action.is_empty() && !action.contains("deny"), "{s:?}");
            }
            let reached = |ns: &str| {
                rules
                    .iter()
                    .filter(|o| reaches(o, ns) == Some(true))
                    .count()
            };
            // team-b is exempt: no instance applies there; team-a has its
            // own, which the cluster-wide one leaves out.
            assert_eq!(reached("team-b"), 0, "{engine}");
            assert_eq!(reached("team-a"), 1, "{engine}");
            assert_eq!(reached("elsewhere"), 1, "{engine}");
            // Objects of no engine are neither shown nor scoped.
            let ns = objs.iter().find(|o| o["kind"] == "Namespace").unwrap();
            assert!(describe(ns).is_none() && reaches(ns, "team-a").is_none());
        }
        // Deny is enforced, on both engines.
        for engine in ["gatekeeper", "validating-admission-policy"] {
            let text = format!(
                "{HEAD}namespaces: [{{name: team-a}}]\npolicy: {{engine: {engine}, allowedRegistries: [r.example.ca]}}\n"
            );
            let m = crate::load_text(&text, "t.yaml", today()).unwrap_or_else(|e| panic!("{e}"));
            let objs = crate::verify::objects(&crate::render(&m).unwrap().set);
            let shown: Vec<Shown> = objs.iter().filter_map(describe).collect();
            assert!(
                !shown.is_empty() && shown.iter().all(|s| s.enforced),
                "{engine}: {shown:?}"
            );
        }
    }

    /// `ALL` lists every engine the profile schema accepts, so no engine's
    /// rules are left out of `verify` or `report`.
    #[test]
    fn all_lists_every_engine_the_profile_accepts() {
        let schema = serde_json::to_value(schemars::schema_for!(PolicyEngine)).unwrap();
        let mut accepted: Vec<String> = serde_json::to_string(&schema["enum"])
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let mut listed: Vec<String> = ALL
            .iter()
            .map(|e| {
                serde_json::to_value(e)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        accepted.sort();
        listed.sort();
        assert!(accepted.len() >= 2, "{schema}");
        assert_eq!(listed, accepted);
    }
}
