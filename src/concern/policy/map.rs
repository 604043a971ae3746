//! The native engine's mutations: a MutatingAdmissionPolicy and its Binding
//! (`admissionregistration.k8s.io/v1` from Kubernetes 1.36, `v1beta1` on 1.34
//! and 1.35 with `policy.mutatingAdmissionPolicyBeta`) for each rule instance a
//! Gatekeeper mutator carries out: the internal load balancer annotation, the
//! namespace annotation copies and the Windows node selector, `spec.os.name`
//! and toleration; and the requester's department label, which no Gatekeeper
//! mutator can set (it cannot read the requester's groups). The
//! ValidatingAdmissionPolicies stay: the API server runs mutation first, so what the policies add passes, and what a client sets
//! against the rule (an explicit `"false"`) is still refused.
//!
//! k8s-openapi (pinned at 1.33) has no types for these kinds, so they are
//! typed serde structs here. Mutations are `patchType: JSONPatch` rather than
//! `ApplyConfiguration`: an apply configuration may not touch atomic lists,
//! and `spec.tolerations` is one. Every patch adds only what is missing, so a
//! reinvocation changes nothing. As for validation, user values reach CEL only
//! as `variables` written by `engine::cel::render::cel_literal`; the expressions are fixed text.

use serde::Serialize;

use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, MatchResources, NamedRuleWithOperations, Variable,
};

use super::engine::cel::render as vap;
use super::{Instance, Rule, engine};
use crate::bundle::manifest::{Custom, Manifest, RenderError};
use crate::input::diag::Diagnostic;
use crate::input::profile::Policy;
use crate::input::source::FieldPath;
use crate::pipeline::model::Model;

/// The MutatingAdmissionPolicy apiVersion (group/version) the profile's cluster serves, if any.
pub(crate) fn api_version(m: &Model) -> Option<&'static str> {
    m.plan.policy.mutating_api
}

/// Whether the profile asks for anything a Gatekeeper mutator would add.
fn mutates(m: &Model, pol: &Policy) -> bool {
    pol.internal_load_balancers
        || !pol.propagate_namespace_annotations.is_empty()
        || pol.department_label.is_some()
        || m.profile
            .namespaces
            .iter()
            .any(|n| n.workloads.as_ref().is_some_and(|w| w.windows))
}

/// The note `render` prints when the native engine only validates.
pub(crate) fn note(m: &Model, pol: &Policy) -> Option<String> {
    if !mutates(m, pol) || api_version(m).is_some() {
        return None;
    }
    let why = if m.minor() >= 34 {
        "off by default on Kubernetes 1.34 and 1.35; where the v1beta1 API is on, `policy.mutatingAdmissionPolicyBeta: true` renders it"
    } else {
        "not served before Kubernetes 1.34, and not on by default before 1.36"
    };
    Some(format!(
        "note: the native engine renders no MutatingAdmissionPolicy ({why}), so it only validates: objects missing the internal load balancer annotation, a namespace's annotation value, the Windows node selector, toleration and `spec.os.name`, or the requester's department label are refused with a message saying what to add"
    ))
}

/// `policy.mutatingAdmissionPolicyBeta` only where it changes something.
pub(crate) fn validate(m: &Model, pol: &Policy, out: &mut Vec<Diagnostic>) {
    if !pol.mutating_admission_policy_beta {
        return;
    }
    let path = FieldPath::root()
        .key("policy")
        .key("mutatingAdmissionPolicyBeta");
    let (msg, hint) = if !engine::of(pol.engine).uses_mutating_policies() {
        (
            "`mutatingAdmissionPolicyBeta` applies to `engine: validating-admission-policy` only; Gatekeeper has its own mutators",
            "remove it",
        )
    } else if m.minor() < 34 {
        (
            "MutatingAdmissionPolicy v1beta1 is not served before Kubernetes 1.34",
            "remove it, or set `cluster.kubernetesVersion` to 1.34 or later",
        )
    } else if m.minor() >= 36 {
        (
            "from Kubernetes 1.36 the mutating policies are rendered as v1, without this opt-in",
            "remove it",
        )
    } else {
        return;
    };
    out.push(Diagnostic::error(path, msg.to_owned()).hint(hint));
}

pub(crate) type MutatingAdmissionPolicy = Custom<PolicySpec>;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicySpec {
    pub failure_policy: String,
    pub match_constraints: MatchResources,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_conditions: Vec<MatchCondition>,
    pub variables: Vec<Variable>,
    pub mutations: Vec<Mutation>,
    pub reinvocation_policy: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Mutation {
    pub patch_type: String,
    pub json_patch: JsonPatch,
}

#[derive(Debug, Serialize)]
pub(crate) struct JsonPatch {
    pub expression: String,
}

pub(crate) type MutatingAdmissionPolicyBinding = Custom<BindingSpec>;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BindingSpec {
    pub policy_name: String,
    pub match_resources: MatchResources,
}

/// An annotation map, created when the object has none, so the per-key adds
/// below have a parent to land in.
const ANNOTATIONS: &str = "(has(object.metadata.annotations) ? [] : [JSONPatch{op: \"add\", path: \"/metadata/annotations\", value: {}}])";

/// What one instance mutates: extra variables, match conditions, patch expressions.
struct Plan {
    variables: Vec<(&'static str, &'static str)>,
    conditions: Vec<(&'static str, &'static str)>,
    patches: Vec<String>,
    resources: Vec<NamedRuleWithOperations>,
}

fn plan(m: &Model, inst: &Instance) -> Option<Plan> {
    match inst.rule {
        // Unlike Gatekeeper's AssignMetadata, a policy can test the type, so
        // only LoadBalancer Services are annotated.
        Rule::InternalLoadBalancers
            if inst.suffix.is_empty()
                && m.platform().internal_lb_annotation().is_some() =>
        {
            Some(Plan {
                variables: vec![],
                conditions: vec![(
                    "load-balancer",
                    "has(object.spec.type) && object.spec.type == 'LoadBalancer'",
                )],
                patches: vec![format!(
                    "{ANNOTATIONS} + (has(object.metadata.annotations) && variables.annotation in object.metadata.annotations ? [] : [JSONPatch{{op: \"add\", path: \"/metadata/annotations/\" + jsonpatch.escapeKey(variables.annotation), value: variables.value}}])"
                )],
                resources: vec![vap::rule("", &["services"])],
            })
        }
        // Added when absent, never overwritten, as AssignMetadata does; the
        // validating policy refuses another value.
        Rule::NamespaceAnnotations => Some(Plan {
            variables: vec![],
            conditions: vec![],
            patches: vec![format!(
                "{ANNOTATIONS} + variables.annotations.filter(a, !has(object.metadata.annotations) || !(a.key in object.metadata.annotations)).map(a, JSONPatch{{op: \"add\", path: \"/metadata/annotations/\" + jsonpatch.escapeKey(a.key), value: a.value}})"
            )],
            resources: vap::resource_rules(inst.rule),
        }),
        // The node selector and `spec.os.name` are set (as Gatekeeper's Assign
        // sets them); the toleration is added unless the pod has it already
        // (as ModifySet merges it). Each patch touches its own field.
        Rule::WindowsPods => Some(Plan {
            variables: vec![
                (
                    "toleration",
                    "{\"key\": variables.tolerationKey, \"operator\": \"Equal\", \"value\": variables.tolerationValue, \"effect\": variables.tolerationEffect}",
                ),
                (
                    "tolerated",
                    "has(object.spec.tolerations) && object.spec.tolerations.exists(t, has(t.key) && t.key == variables.tolerationKey && has(t.operator) && t.operator == 'Equal' && (has(t.value) ? t.value : '') == variables.tolerationValue && has(t.effect) && t.effect == variables.tolerationEffect)",
                ),
            ],
            conditions: vec![],
            patches: vec![
                "(has(object.spec.nodeSelector) ? [] : [JSONPatch{op: \"add\", path: \"/spec/nodeSelector\", value: {}}]) + (has(object.spec.nodeSelector) && variables.nodeSelectorKey in object.spec.nodeSelector && object.spec.nodeSelector[variables.nodeSelectorKey] == variables.nodeSelectorValue ? [] : [JSONPatch{op: \"add\", path: \"/spec/nodeSelector/\" + jsonpatch.escapeKey(variables.nodeSelectorKey), value: variables.nodeSelectorValue}])".to_owned(),
                "has(object.spec.os) && has(object.spec.os.name) && object.spec.os.name == variables.osName ? [] : (has(object.spec.os) ? [JSONPatch{op: \"add\", path: \"/spec/os/name\", value: variables.osName}] : [JSONPatch{op: \"add\", path: \"/spec/os\", value: {\"name\": variables.osName}}])".to_owned(),
                "variables.tolerated ? [] : (has(object.spec.tolerations) ? [JSONPatch{op: \"add\", path: \"/spec/tolerations/-\", value: variables.toleration}] : [JSONPatch{op: \"add\", path: \"/spec/tolerations\", value: [variables.toleration]}])".to_owned(),
            ],
            resources: vap::resource_rules(inst.rule),
        }),
        // The requester's department (see `department`): added when missing
        // and there is exactly one; never overwritten.
        Rule::DepartmentLabel => Some(Plan {
            variables: super::department::VARIABLES.to_vec(),
            conditions: vec![],
            patches: vec![super::department::PATCH.to_owned()],
            resources: vap::resource_rules(inst.rule),
        }),
        _ => None,
    }
}

/// The policy and binding of one instance, if it mutates anything.
pub(crate) fn objects(
    m: &Model,
    inst: &Instance,
    api: &'static str,
) -> Option<(MutatingAdmissionPolicy, MutatingAdmissionPolicyBinding)> {
    let p = plan(m, inst)?;
    let name = format!("kharden-{}", inst.name());
    let md = inst.metadata(&name);
    let mut variables = vap::param_variables(inst);
    variables.extend(p.variables.iter().map(|(n, e)| Variable {
        name: (*n).to_owned(),
        expression: (*e).to_owned(),
    }));
    let policy = Custom::new(
        api,
        "MutatingAdmissionPolicy",
        md.clone(),
        PolicySpec {
            failure_policy: "Fail".to_owned(),
            match_constraints: MatchResources {
                resource_rules: Some(p.resources),
                ..MatchResources::default()
            },
            match_conditions: p
                .conditions
                .iter()
                .map(|(n, e)| MatchCondition {
                    name: (*n).to_owned(),
                    expression: (*e).to_owned(),
                })
                .collect(),
            variables,
            mutations: p
                .patches
                .into_iter()
                .map(|expression| Mutation {
                    patch_type: "JSONPatch".to_owned(),
                    json_patch: JsonPatch { expression },
                })
                .collect(),
            // Another mutation may drop what these add; adding it again is safe
            // because every patch is empty once the object has it.
            reinvocation_policy: "IfNeeded".to_owned(),
        },
    );
    let binding = Custom::new(
        api,
        "MutatingAdmissionPolicyBinding",
        md,
        BindingSpec {
            policy_name: name,
            match_resources: MatchResources {
                namespace_selector: vap::selector(&inst.scope),
                ..MatchResources::default()
            },
        },
    );
    Some((policy, binding))
}

/// Every instance's mutating policy and binding, when the cluster serves them.
pub(crate) fn render(m: &Model, plan: &[Instance]) -> Result<Vec<Manifest>, RenderError> {
    let Some(api) = api_version(m) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for inst in plan {
        if let Some((p, b)) = objects(m, inst, api) {
            out.push(p.manifest()?);
            out.push(b.manifest()?);
        }
    }
    Ok(out)
}
