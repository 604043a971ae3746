//! RBAC as `validate` decides it (`RbacPlan`: every role's rules, each
//! namespace's roles, bindings and ServiceAccounts, subjects with their OIDC
//! prefixes) and the objects rendered from it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};

use super::{
    BUILT_INS, RBAC_GROUP, REVIEW_NOTE, binding_name, cluster_access_name, policy_rule, rule,
};
use crate::bundle::manifest::{Manifest, RenderError, meta};
use crate::concern::metadata::{JUSTIFICATION, inner_meta};
use crate::input::profile::NamespaceSpec;
use crate::pipeline::model::Model;
use crate::pipeline::plan::rbac::{
    Binding, ClusterGrant, NamespaceRbac, RbacPlan, RoleDef, SubjectKind,
};

/// Every role a profile may name, in name order: the built-ins and its own.
fn role_defs(m: &Model) -> Vec<RoleDef> {
    let built_in = BUILT_INS.iter().map(|b| {
        let rules = b.rules.iter().map(|r| policy_rule(&rule(r))).collect();
        (b.name.to_owned(), (rules, b.note))
    });
    let own = m.profile.roles.iter().map(|(name, r)| {
        let rules = r.rules.iter().map(policy_rule).collect();
        (name.clone(), (rules, None))
    });
    // A profile role named like a built-in is an error; the built-in stays.
    let mut roles: BTreeMap<String, (Vec<PolicyRule>, Option<&'static str>)> = own.collect();
    roles.extend(built_in);
    roles
        .into_iter()
        .map(|(name, (rules, note))| RoleDef { name, rules, note })
        .collect()
}

/// The roles a namespace uses, its bindings and its ServiceAccounts.
fn namespace_rbac(
    roles: &RbacPlan,
    ns: &NamespaceSpec,
    prefixes: &(String, String),
) -> NamespaceRbac {
    let mut plan = NamespaceRbac::default();
    for a in &ns.access {
        let Some(role) = roles.role(&a.role) else {
            continue;
        };
        plan.roles.push(role);
        if let Some((kind, subject)) = user_subject(prefixes, a.user.as_deref(), a.group.as_deref())
        {
            plan.bindings.push(Binding {
                name: binding_name(a),
                role,
                kind,
                subject,
            });
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
        if let Some(name) = &sa.role
            && let Some(role) = roles.role(name)
        {
            plan.roles.push(role);
            plan.bindings.push(Binding {
                name: format!("{name}-sa-{}", sa.name),
                role,
                kind: SubjectKind::ServiceAccount,
                subject: sa.name.clone(),
            });
        }
    }
    plan.roles.sort_unstable();
    plan.roles.dedup();
    plan
}

/// Decides `plan.rbac` (after `validate`'s checks, whose errors keep the
/// model from being rendered), with the user prefix `validate` checked
/// the subjects against.
pub(super) fn decide(m: &Model, user_prefix: String) -> RbacPlan {
    let prefixes = (user_prefix, m.group_prefix());
    let mut plan = RbacPlan {
        roles: role_defs(m),
        ..RbacPlan::default()
    };
    plan.namespaces = m
        .profile
        .namespaces
        .iter()
        .map(|ns| namespace_rbac(&plan, ns, &prefixes))
        .collect();
    plan.cluster = m
        .profile
        .cluster_access
        .iter()
        .filter_map(|ca| {
            let (kind, subject) = user_subject(&prefixes, ca.user.as_deref(), ca.group.as_deref())?;
            Some(ClusterGrant {
                name: cluster_access_name(
                    ca.name.as_deref(),
                    ca.user.as_deref(),
                    ca.group.as_deref(),
                ),
                justification: ca.justification.trim().to_owned(),
                rules: ca.rules.iter().map(policy_rule).collect(),
                kind,
                subject,
            })
        })
        .collect();
    plan
}

/// The user or group with its OIDC prefix (`prefixes`: user, group); None
/// for an entry that names neither (an error `validate` reports).
fn user_subject(
    (user_prefix, group_prefix): &(String, String),
    user: Option<&str>,
    group: Option<&str>,
) -> Option<(SubjectKind, String)> {
    match (user, group) {
        (Some(u), _) => Some((SubjectKind::User, format!("{user_prefix}{u}"))),
        (None, Some(g)) => Some((SubjectKind::Group, format!("{group_prefix}{g}"))),
        (None, None) => None,
    }
}

/// The RBAC subject: a user or group of the identity provider, or a
/// ServiceAccount of namespace `ns`.
fn subject(kind: SubjectKind, name: &str, ns: &str) -> Subject {
    let (kind, api_group, namespace) = match kind {
        SubjectKind::User => ("User", Some(RBAC_GROUP.to_owned()), None),
        SubjectKind::Group => ("Group", Some(RBAC_GROUP.to_owned()), None),
        SubjectKind::ServiceAccount => ("ServiceAccount", None, Some(ns.to_owned())),
    };
    Subject {
        kind: kind.to_owned(),
        name: name.to_owned(),
        api_group,
        namespace,
    }
}

/// Roles, RoleBindings and ServiceAccounts per namespace, and the justified
/// cluster-wide grants, from `plan.rbac`.
pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let plan = &m.plan.rbac;
    let mut out = Vec::new();
    for (ns, nsp) in m.profile.namespaces.iter().zip(&plan.namespaces) {
        for role in nsp.roles.iter().filter_map(|r| plan.roles.get(*r)) {
            let mut md = inner_meta(m, ns, &role.name);
            if let Some(note) = role.note {
                md.annotations.get_or_insert_with(BTreeMap::new).insert(
                    REVIEW_NOTE.to_owned(),
                    format!("role `{}` {note}", role.name),
                );
            }
            out.push(Manifest::k8s(&Role {
                metadata: md,
                rules: Some(role.rules.clone()),
            })?);
        }
        for b in &nsp.bindings {
            let Some(role) = plan.roles.get(b.role) else {
                continue;
            };
            out.push(Manifest::k8s(&RoleBinding {
                metadata: inner_meta(m, ns, &b.name),
                role_ref: RoleRef {
                    api_group: RBAC_GROUP.to_owned(),
                    kind: "Role".to_owned(),
                    name: role.name.clone(),
                },
                subjects: Some(vec![subject(b.kind, &b.subject, &ns.name)]),
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
            subjects: Some(vec![subject(ca.kind, &ca.subject, "")]),
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
        let rbac = &mut m.plan.rbac;
        let view = rbac.role("view").unwrap();
        let ns = &mut rbac.namespaces[0];
        assert_eq!(ns.roles, [view]);
        let b = &mut ns.bindings[0];
        assert_eq!((b.name.as_str(), b.role), ("view-user-alice", view));
        assert_eq!(b.subject, "oidc:alice");
        b.subject = "decided:alice".to_owned();
        let objs: Vec<(String, serde_json::Value)> = super::render(&m)
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o.path().to_owned(),
                    serde_saphyr::from_str(o.body()).unwrap(),
                )
            })
            .collect();
        let rb = object(&objs, "a/rolebinding-view-user-alice.yaml");
        assert_eq!(rb["subjects"][0]["name"], "decided:alice");
    }
}
