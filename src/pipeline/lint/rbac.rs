//! The lint rules on RBAC: escalation verbs, Secrets readable, exec into
//! pods, cluster-wide grants (KH003 to KH006).

use crate::input::diag::Diagnostic;
use crate::input::profile::RuleSpec;
use crate::input::source::FieldPath;
use crate::pipeline::model::Model;

use super::ns_path;

/// Every (path, rule) a profile grants, custom roles and cluster grants alike.
fn all_rules(m: &Model) -> Vec<(FieldPath, &RuleSpec)> {
    let mut v = Vec::new();
    for (name, r) in &m.profile.roles {
        for (i, rule) in r.rules.iter().enumerate() {
            v.push((
                FieldPath::root()
                    .key("roles")
                    .key(name)
                    .key("rules")
                    .index(i),
                rule,
            ));
        }
    }
    for (j, ca) in m.profile.cluster_access.iter().enumerate() {
        for (i, rule) in ca.rules.iter().enumerate() {
            v.push((
                FieldPath::root()
                    .key("clusterAccess")
                    .index(j)
                    .key("rules")
                    .index(i),
                rule,
            ));
        }
    }
    v
}

pub(super) fn escalation(m: &Model, out: &mut Vec<Diagnostic>) {
    for (path, r) in all_rules(m) {
        let bad: Vec<&str> = r
            .verbs
            .iter()
            .chain(&r.resources)
            .map(String::as_str)
            .filter(|v| matches!(*v, "escalate" | "bind" | "impersonate" | "*"))
            .collect();
        if !bad.is_empty() {
            out.push(
                Diagnostic::error(
                    path,
                    format!(
                        "the rule grants {}",
                        bad.iter()
                            .map(|b| format!("`{b}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .hint("name the verbs and resources the job needs"),
            );
        }
    }
}

/// Namespaces using a built-in role, for rules about what built-ins grant.
fn builtin_users<'a>(m: &'a Model, role: &str) -> Vec<(FieldPath, &'a str)> {
    let mut v = Vec::new();
    for (i, ns) in m.profile.namespaces.iter().enumerate() {
        for (j, a) in ns.access.iter().enumerate() {
            if a.role == role {
                v.push((
                    ns_path(i).key("access").index(j).key("role"),
                    ns.name.as_str(),
                ));
            }
        }
        for (j, sa) in ns.service_accounts.iter().enumerate() {
            if sa.role.as_deref() == Some(role) {
                v.push((
                    ns_path(i).key("serviceAccounts").index(j).key("role"),
                    ns.name.as_str(),
                ));
            }
        }
    }
    v
}

pub(super) fn secrets(m: &Model, out: &mut Vec<Diagnostic>) {
    for (path, r) in all_rules(m) {
        let reads = r
            .verbs
            .iter()
            .any(|v| matches!(v.as_str(), "get" | "list" | "watch" | "*"));
        if reads
            && r.resources.iter().any(|x| x == "secrets")
            && r.api_groups.iter().any(|g| g.is_empty() || g == "*")
        {
            out.push(
                Diagnostic::error(path, "the rule reads Secrets".to_owned())
                    .hint("remove `secrets`, or limit it with `resourceNames`"),
            );
        }
    }
    for role in ["edit", "limited-user"] {
        for (path, ns) in builtin_users(m, role) {
            out.push(
                Diagnostic::error(
                    path,
                    format!("built-in role `{role}` reads Secrets in `{ns}`"),
                )
                .hint("use `view` or a custom role if the subject does not need Secrets"),
            );
        }
    }
}

pub(super) fn exec(m: &Model, out: &mut Vec<Diagnostic>) {
    for (path, r) in all_rules(m) {
        if r.resources
            .iter()
            .any(|x| x == "pods/exec" || x == "pods/attach")
        {
            out.push(
                Diagnostic::error(path, "the rule allows exec or attach into pods".to_owned())
                    .hint("keep exec to break-glass roles"),
            );
        }
    }
    for (path, ns) in builtin_users(m, "limited-user") {
        out.push(
            Diagnostic::error(
                path,
                format!("built-in role `limited-user` allows exec into pods in `{ns}`"),
            )
            .hint("use `edit` if the subject does not need exec"),
        );
    }
}

pub(super) fn cluster_grant(m: &Model, out: &mut Vec<Diagnostic>) {
    for (i, ca) in m.profile.cluster_access.iter().enumerate() {
        let who = ca
            .user
            .as_deref()
            .or(ca.group.as_deref())
            .unwrap_or_default();
        out.push(
            Diagnostic::error(
                FieldPath::root().key("clusterAccess").index(i),
                format!("`{who}` has a cluster-wide grant"),
            )
            .hint("prefer namespaced access; keep the justification current"),
        );
    }
}
