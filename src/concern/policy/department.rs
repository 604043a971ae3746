//! Department labels (`policy.departmentLabel`): objects a member of a mapped
//! group creates in a profile namespace carry the label naming the group's
//! department. The decision is the same on every engine: a requester whose
//! groups (`request.userInfo.groups`, OIDC prefix applied as for RBAC
//! subjects) map to departments must create objects labelled with one of
//! them; a requester in no mapped group is not concerned. A
//! MutatingAdmissionPolicy (`map`) adds the label when it is missing and the
//! requester has exactly one department; with two, nothing is chosen for
//! them and the validation asks them to pick. An existing value is never
//! overwritten: a wrong department is refused.
//!
//! Scope: every namespaced kind, on CREATE only (the label records who
//! created the object; updates by other departments are RBAC's business), in
//! the profile's namespaces that are not exempt. Group ids and departments
//! reach Rego only as constraint parameters and CEL only as `variables`
//! literals.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::admissionregistration::v1::NamedRuleWithOperations;
use serde_json::{Value, json};

use super::{Cel, Instance, Rule, Scope};
use crate::input::diag::Diagnostic;
use crate::input::profile::Policy;
use crate::input::source::FieldPath;
use crate::k8s::names;
use crate::pipeline::model::Model;

/// The rule's parameters: the label key, and each department (sorted) with
/// its groups as the API server names them (prefixed, sorted).
pub(crate) fn params(m: &Model, pol: &Policy) -> Option<Value> {
    let dl = pol.department_label.as_ref()?;
    let prefix = m.group_prefix();
    let mut by_dept: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (group, dept) in &dl.groups {
        by_dept
            .entry(dept.as_str())
            .or_default()
            .insert(format!("{prefix}{group}"));
    }
    let departments: Vec<Value> = by_dept
        .into_iter()
        .map(|(d, gs)| json!({"department": d, "groups": gs}))
        .collect();
    Some(json!({"key": dl.key, "departments": departments}))
}

/// The rule's one instance: the profile's namespaces, the exempt ones left out.
pub(crate) fn instance(m: &Model, pol: &Policy, exempt: &BTreeSet<String>) -> Option<Instance> {
    let namespaces: Vec<String> = m
        .profile
        .namespaces
        .iter()
        .filter(|n| !exempt.contains(&n.name))
        .map(|n| n.name.clone())
        .collect();
    let params = params(m, pol)?;
    (!namespaces.is_empty()).then(|| Instance {
        rule: Rule::DepartmentLabel,
        suffix: String::new(),
        scope: Scope::Only(namespaces),
        params,
        annotations: BTreeMap::new(),
        mode: crate::input::profile::EnforcementMode::Deny,
    })
}

/// `policy.departmentLabel`: a label key, label values, non-empty group ids.
pub(crate) fn validate(m: &Model, pol: &Policy, out: &mut Vec<Diagnostic>) {
    let Some(dl) = &pol.department_label else {
        return;
    };
    let base = FieldPath::root().key("policy").key("departmentLabel");
    if let Err(e) = names::qualified_name(&dl.key) {
        out.push(
            Diagnostic::error(
                base.key("key"),
                format!("`{}` is not a valid label key: {e}", dl.key),
            )
            .hint("write a label key such as `department` or `example.ca/department`"),
        );
    }
    if dl.groups.is_empty() {
        out.push(
            Diagnostic::error(
                base.key("groups"),
                "`departmentLabel` maps no group to a department".to_owned(),
            )
            .hint("map group ids to departments, e.g. `groups: {finance-team: finance}`"),
        );
    }
    let prefix = m.group_prefix();
    for (group, dept) in &dl.groups {
        let at = base.key("groups").key(group);
        if group.trim().is_empty() {
            out.push(
                Diagnostic::error(at.clone(), "the group id is empty".to_owned())
                    .at_key()
                    .hint("write the group id your identity provider sends"),
            );
        } else if !prefix.is_empty() && group.starts_with(&prefix) {
            out.push(
                Diagnostic::error(
                    at.clone(),
                    format!("group `{group}` already carries the OIDC groups prefix"),
                )
                .at_key()
                .hint(format!(
                    "write the bare id `{}`; kharden applies the prefix",
                    &group[prefix.len()..]
                )),
            );
        }
        if dept.is_empty() {
            out.push(
                Diagnostic::error(at, format!("group `{group}` maps to an empty department"))
                    .hint("name the department, e.g. `finance`"),
            );
        } else if let Err(e) = names::label_value(dept) {
            out.push(
                Diagnostic::error(at, format!("`{dept}` is not a valid label value: {e}"))
                    .hint("a department is the label's value, e.g. `human-resources`"),
            );
        }
    }
}

/// Every namespaced resource, on CREATE.
pub(crate) fn resource_rules() -> Vec<NamedRuleWithOperations> {
    vec![NamedRuleWithOperations {
        api_groups: Some(vec!["*".to_owned()]),
        api_versions: Some(vec!["*".to_owned()]),
        operations: Some(vec!["CREATE".to_owned()]),
        resources: Some(vec!["*".to_owned()]),
        scope: Some("Namespaced".to_owned()),
        ..NamedRuleWithOperations::default()
    }]
}

/// The CEL variables both native policies derive from the parameters and the
/// request: the requester's departments, in the parameters' order.
pub(crate) const VARIABLES: &[(&str, &str)] = &[
    (
        "userGroups",
        "has(request.userInfo.groups) ? request.userInfo.groups : []",
    ),
    (
        "mine",
        "variables.departments.filter(d, d.groups.exists(g, g in variables.userGroups)).map(d, d.department)",
    ),
    (
        "labels",
        "has(object.metadata.labels) ? object.metadata.labels : {}",
    ),
    (
        "value",
        "variables.key in variables.labels ? variables.labels[variables.key] : ''",
    ),
];

/// The validation: the same decision and message as `department_label.rego`.
pub(crate) fn cel() -> Cel {
    Cel {
        variables: VARIABLES
            .iter()
            .map(|(n, e)| (*n, (*e).to_owned()))
            .collect(),
        validations: vec![(
            "size(variables.mine) == 0 || variables.value in variables.mine",
            "'a ' + request.kind.kind + ' created by a member of ' + (size(variables.mine) == 1 ? 'department ' + variables.mine[0] + ' must carry the label ' + variables.key + ': ' + variables.mine[0] : 'departments ' + variables.mine.join(', ') + ' must carry the label ' + variables.key + ' set to one of them') + '; ' + (variables.key in variables.labels ? 'it has ' + variables.key + ': ' + variables.value : 'it has none')",
        )],
    }
}

/// The mutation: the label, when it is missing and the requester has exactly
/// one department; a label map first when the object has none.
pub(crate) const PATCH: &str = "variables.key in variables.labels || size(variables.mine) != 1 ? [] : (has(object.metadata.labels) ? [] : [JSONPatch{op: \"add\", path: \"/metadata/labels\", value: {}}]) + [JSONPatch{op: \"add\", path: \"/metadata/labels/\" + jsonpatch.escapeKey(variables.key), value: variables.mine[0]}]";
