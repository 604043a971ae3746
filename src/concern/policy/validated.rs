//! The `policy` and `exceptions` sections as validation leaves them (#32 item
//! 2): registry entries parsed, each exception's expiry parsed, and every rule
//! instance planned once, with its scope, parameters and enforcement mode.
//! `policy::validate` fills it; rendering, the coverage table and `facts`
//! read it, never the raw strings.

use super::registry::Entry;
use super::rule::Instance;
use crate::input::clock::Date;

/// The validated policy; empty without a `policy` section (or when the
/// profile is invalid, which is then never rendered).
#[derive(Debug, Default)]
pub struct PolicyPlan {
    /// `policy.allowedRegistries`, parsed, in profile order.
    pub registries: Vec<Entry>,
    /// Each exception, in profile order.
    pub exceptions: Vec<Waiver>,
    /// Every rule instance, in render order.
    pub instances: Vec<Instance>,
    /// The MutatingAdmissionPolicy apiVersion the chosen engine renders its
    /// mutations as on this cluster, if it renders any.
    pub mutating_api: Option<&'static str>,
}

/// The MutatingAdmissionPolicy API that only serves with its feature gate on.
pub(crate) const MUTATING_V1BETA1: &str = "admissionregistration.k8s.io/v1beta1";

impl PolicyPlan {
    /// Whether the mutating policies are rendered as the v1beta1 API, which
    /// the API server serves only with the `MutatingAdmissionPolicy` feature
    /// gate and that API turned on.
    pub fn mutating_beta(&self) -> bool {
        self.mutating_api == Some(MUTATING_V1BETA1)
    }
}

/// One exception, validated.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// The last day it holds.
    pub expires: Date,
    /// Its `allow` list as registry entries (an `allowedRegistries`
    /// exception; empty for the other rules).
    pub registries: Vec<Entry>,
}

#[cfg(test)]
mod tests {
    use super::super::registry::Form;
    use crate::testing::{HEAD, today};

    fn model(policy: &str, version: &str) -> crate::Model {
        let text = format!(
            "{}namespaces: [{{name: team-b}}]\n{policy}exceptions:\n  - {{rule: allowedRegistries, namespaces: [team-b], allow: [quay.io/team/app], owner: b@example.ca, ticket: SEC-1, expires: 2030-06-30}}\n",
            HEAD.replace("\"1.33\"", version)
        );
        crate::load_text(&text, "t.yaml", today()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `validate` leaves the parsed forms in the plan: registries in normal
    /// form, each exception's expiry and allowed entries, the rule
    /// instances, and the engine's mutating API.
    #[test]
    fn validation_leaves_the_parsed_policy_in_the_plan() {
        let m = model(
            "policy: {engine: validating-admission-policy, allowedRegistries: [registry.example.ca], mutatingAdmissionPolicyBeta: true}\n",
            "\"1.35\"",
        );
        let v = &m.plan.policy;
        assert_eq!(v.registries.len(), 1);
        assert_eq!(v.registries[0].normal, "registry.example.ca/*");
        assert_eq!(v.registries[0].form, Form::Under);
        assert_eq!(v.exceptions.len(), 1);
        assert_eq!(v.exceptions[0].expires.to_string(), "2030-06-30");
        assert_eq!(v.exceptions[0].registries[0].form, Form::Repository);
        // The cluster-wide instance and the waiver's narrowed one, whose
        // registries are the normal forms of both lists.
        let narrowed = v
            .instances
            .iter()
            .find(|i| i.suffix.starts_with("sec-1"))
            .unwrap_or_else(|| panic!("{:?}", v.instances));
        assert_eq!(
            narrowed.params["registries"],
            serde_json::json!(["quay.io/team/app", "registry.example.ca/*"])
        );
        assert!(v.mutating_beta() && m.mutating_admission_policy_beta());
        // Gatekeeper renders no MutatingAdmissionPolicy, beta or not.
        let gk = model(
            "policy: {engine: gatekeeper, allowedRegistries: [registry.example.ca]}\n",
            "\"1.36\"",
        );
        assert_eq!(gk.plan.policy.mutating_api, None);
        let native = model(
            "policy: {engine: validating-admission-policy, allowedRegistries: [registry.example.ca]}\n",
            "\"1.36\"",
        );
        assert_eq!(
            native.plan.policy.mutating_api,
            Some("admissionregistration.k8s.io/v1")
        );
        assert!(!native.mutating_admission_policy_beta());
    }
}
