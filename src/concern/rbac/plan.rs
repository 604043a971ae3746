//! RBAC as `validate` decides it (`RbacPlan`: every role's rules, each
//! namespace's roles, bindings and ServiceAccounts, subjects with their OIDC
//! prefixes) and the objects rendered from it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, Role, RoleBinding, RoleRef, Subject,
};

use super::{
    BUILT_INS, RBAC_GROUP, REVIEW_NOTE, binding_name, cluster_access_name, policy_rule, rule,
};
use crate::concern::metadata::{JUSTIFICATION, inner_meta};
use crate::manifest::{Manifest, RenderError, meta};
use crate::model::Model;
use crate::plan::rbac::{ClusterGrant, NamespaceRbac, RbacPlan, RoleDef};
use crate::profile::NamespaceSpec;

/// Every role a profile may name: the built-ins, then its own.
fn role_defs(m: &Model) -> BTreeMap<String, RoleDef> {
    let built_in = BUILT_INS.iter().map(|b| {
        let rules = b.rules.iter().map(|r| policy_rule(&rule(r))).collect();
        (
            b.name.to_owned(),
            RoleDef {
                rules,
                note: b.note,
            },
        )
    });
    let own = m.profile.roles.iter().map(|(name, r)| {
        let rules = r.rules.iter().map(policy_rule).collect();
        (name.clone(), RoleDef { rules, note: None })
    });
    // A profile role named like a built-in is an error; the built-in stays.
    let mut roles: BTreeMap<String, RoleDef> = own.collect();
    roles.extend(built_in);
    roles
}

/// The roles a namespace uses, its bindings and its ServiceAccounts.
fn namespace_rbac(ns: &NamespaceSpec, prefixes: &(String, String)) -> NamespaceRbac {
    let mut plan = NamespaceRbac::default();
    for a in &ns.access {
        plan.roles.insert(a.role.clone());
        if let Some(subject) = user_subject(prefixes, a.user.as_deref(), a.group.as_deref()) {
            plan.bindings
                .push((binding_name(a), a.role.clone(), subject));
        }
    }
    if !ns.service_accounts.iter().any(|sa| sa.name == "default") {
        // The controller manager creates `default` in every namespace with an
        // automounted token, and every pod that names no account runs as it
        // (CIS 5.1.5/5.1.6). Applying it with the token off changes only that
        // field; a profile that lists `default` itself decides.
        plan.accounts.push(("default".to_owned(), false));
    }
    for sa in &ns.service_accounts {
        plan.accounts.push((sa.name.clone(), sa.automount_token));
        if let Some(role) = &sa.role {
            plan.roles.insert(role.clone());
            plan.bindings.push((
                format!("{role}-sa-{}", sa.name),
                role.clone(),
                Subject {
                    kind: "ServiceAccount".to_owned(),
                    name: sa.name.clone(),
                    namespace: Some(ns.name.clone()),
                    api_group: None,
                },
            ));
        }
    }
    plan
}

/// Decides `plan.rbac` (after `validate`'s checks, whose errors keep the
/// model from being rendered), with the user prefix `validate` checked
/// the subjects against.
pub(super) fn decide(m: &Model, user_prefix: String) -> RbacPlan {
    let prefixes = (user_prefix, m.group_prefix());
    let namespaces = m
        .profile
        .namespaces
        .iter()
        .map(|ns| namespace_rbac(ns, &prefixes))
        .collect();
    let cluster = m
        .profile
        .cluster_access
        .iter()
        .filter_map(|ca| {
            Some(ClusterGrant {
                name: cluster_access_name(
                    ca.name.as_deref(),
                    ca.user.as_deref(),
                    ca.group.as_deref(),
                ),
                justification: ca.justification.trim().to_owned(),
                rules: ca.rules.iter().map(policy_rule).collect(),
                subject: user_subject(&prefixes, ca.user.as_deref(), ca.group.as_deref())?,
            })
        })
        .collect();
    RbacPlan {
        roles: role_defs(m),
        namespaces,
        cluster,
    }
}

/// The user or group with its OIDC prefix (`prefixes`: user, group); None
/// for an entry that names neither (an error `validate` reports).
fn user_subject(
    (user_prefix, group_prefix): &(String, String),
    user: Option<&str>,
    group: Option<&str>,
) -> Option<Subject> {
    let (kind, name) = match (user, group) {
        (Some(u), _) => ("User", format!("{user_prefix}{u}")),
        (None, Some(g)) => ("Group", format!("{group_prefix}{g}")),
        (None, None) => return None,
    };
    Some(Subject {
        kind: kind.to_owned(),
        name,
        api_group: Some(RBAC_GROUP.to_owned()),
        namespace: None,
    })
}

/// Roles, RoleBindings and ServiceAccounts per namespace, and the justified
/// cluster-wide grants, from `plan.rbac`.
pub fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let plan = &m.plan.rbac;
    let mut out = Vec::new();
    for (ns, nsp) in m.profile.namespaces.iter().zip(&plan.namespaces) {
        for name in &nsp.roles {
            let Some(role) = plan.roles.get(name) else {
                continue;
            };
            let mut md = inner_meta(m, ns, name);
            if let Some(note) = role.note {
                md.annotations
                    .get_or_insert_with(BTreeMap::new)
                    .insert(REVIEW_NOTE.to_owned(), format!("role `{name}` {note}"));
            }
            out.push(Manifest::k8s(&Role {
                metadata: md,
                rules: Some(role.rules.clone()),
            })?);
        }
        for (name, role, subject) in &nsp.bindings {
            out.push(Manifest::k8s(&RoleBinding {
                metadata: inner_meta(m, ns, name),
                role_ref: RoleRef {
                    api_group: RBAC_GROUP.to_owned(),
                    kind: "Role".to_owned(),
                    name: role.clone(),
                },
                subjects: Some(vec![subject.clone()]),
            })?);
        }
        for (name, automount) in &nsp.accounts {
            out.push(Manifest::k8s(&ServiceAccount {
                metadata: inner_meta(m, ns, name),
                // Pods get no API token unless the profile asks; most never need one.
                automount_service_account_token: Some(*automount),
                ..ServiceAccount::default()
            })?);
        }
    }
    for ca in &plan.cluster {
        let mut md = meta(&ca.name, None);
        md.annotations = Some(BTreeMap::from([(
            JUSTIFICATION.to_owned(),
            ca.justification.clone(),
        )]));
        out.push(Manifest::k8s(&ClusterRole {
            metadata: md.clone(),
            rules: Some(ca.rules.clone()),
            aggregation_rule: None,
        })?);
        out.push(Manifest::k8s(&ClusterRoleBinding {
            metadata: md,
            role_ref: RoleRef {
                api_group: RBAC_GROUP.to_owned(),
                kind: "ClusterRole".to_owned(),
                name: ca.name.clone(),
            },
            subjects: Some(vec![ca.subject.clone()]),
        })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{model, object};

    #[test]
    fn bindings_are_rendered_with_the_subjects_validate_resolved() {
        let mut m = model(
            "identity:\n  mode: flags\n  oidc: {issuerURL: \"https://idp.example/\", clientID: k, usernamePrefix: \"oidc:\"}\nnamespaces:\n  - name: a\n    access:\n      - {user: alice, role: view}\n",
        );
        let ns = &mut m.plan.rbac.namespaces[0];
        assert_eq!(ns.roles.iter().collect::<Vec<_>>(), ["view"]);
        let (name, role, subject) = &mut ns.bindings[0];
        assert_eq!((name.as_str(), role.as_str()), ("view-user-alice", "view"));
        assert_eq!(subject.name, "oidc:alice");
        subject.name = "decided:alice".to_owned();
        let objs: Vec<(String, serde_json::Value)> = super::render(&m)
            .unwrap()
            .iter()
            .map(|o| (o.path.clone(), serde_saphyr::from_str(&o.body).unwrap()))
            .collect();
        let rb = object(&objs, "a/rolebinding-view-user-alice.yaml");
        assert_eq!(rb["subjects"][0]["name"], "decided:alice");
    }
}
