//! RBAC: the built-in roles (`view`, `edit`, `limited-user`) and custom `roles`,
//! a RoleBinding per access entry with the OIDC prefixes applied, ServiceAccounts
//! with tokens off unless asked (each namespace's `default` one included), and
//! justified cluster-wide grants.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::input::diag::{Diagnostic, nearest};
use crate::input::profile::{AccessEntry, RuleSpec};
use crate::input::source::FieldPath;
use crate::k8s::names;
use crate::pipeline::model::{Model, label};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// Annotation telling a reviewer what a role's powerful grants are.
pub(crate) const REVIEW_NOTE: &str = "kharden.dev/review-note";
/// A justification shorter than this says nothing a reviewer can check.
const MIN_JUSTIFICATION: usize = 20;

pub(crate) const VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "impersonate",
    "bind",
    "escalate",
    "use",
    "approve",
    "sign",
    "proxy",
    "*",
];

/// One built-in rule: an API group, its resources, the verbs on them.
type Rule = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

struct BuiltIn {
    name: &'static str,
    rules: &'static [Rule],
    note: Option<&'static str>,
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
/// The `apps` controllers tenants run.
const APPS: &[&str] = &["daemonsets", "deployments", "replicasets", "statefulsets"];
const BATCH: &[&str] = &["cronjobs", "jobs"];

const BUILT_INS: &[BuiltIn] = &[
    // Read everything tenants run, but no Secrets (like Kubernetes' own `view`).
    BuiltIn {
        name: "view",
        rules: &[
            (
                "",
                &[
                    "configmaps",
                    "endpoints",
                    "events",
                    "persistentvolumeclaims",
                    "pods",
                    "pods/log",
                    "services",
                ],
                READ,
            ),
            ("apps", APPS, READ),
            ("autoscaling", &["horizontalpodautoscalers"], READ),
            ("batch", BATCH, READ),
            ("networking.k8s.io", &["ingresses", "networkpolicies"], READ),
            ("policy", &["poddisruptionbudgets"], READ),
        ],
        note: None,
    },
    // Manage workloads and their configuration; no exec into pods, no RBAC, no
    // NetworkPolicies (those come from the profile).
    BuiltIn {
        name: "edit",
        rules: &[
            (
                "",
                &[
                    "configmaps",
                    "persistentvolumeclaims",
                    "pods",
                    "secrets",
                    "services",
                ],
                WRITE,
            ),
            ("", &["endpoints", "events", "pods/log"], READ),
            ("apps", APPS, WRITE),
            ("autoscaling", &["horizontalpodautoscalers"], WRITE),
            ("batch", BATCH, WRITE),
            ("networking.k8s.io", &["ingresses"], WRITE),
            ("networking.k8s.io", &["networkpolicies"], READ),
            ("policy", &["poddisruptionbudgets"], WRITE),
        ],
        note: Some("reads and writes Secrets in the namespace"),
    },
    // The seed's `limited-user`, corrected: `edit` and `exec` are not verbs (exec
    // is `create` on `pods/exec`), and jobs, cronjobs and ingresses live in
    // `batch` and `networking.k8s.io`, not `extensions`.
    BuiltIn {
        name: "limited-user",
        rules: &[
            (
                "",
                &[
                    "configmaps",
                    "persistentvolumeclaims",
                    "pods",
                    "pods/attach",
                    "pods/exec",
                    "pods/log",
                    "secrets",
                    "services",
                ],
                WRITE,
            ),
            ("apps", &["deployments"], WRITE),
            ("batch", BATCH, WRITE),
            ("networking.k8s.io", &["ingresses"], WRITE),
        ],
        note: Some(
            "reads and writes Secrets, and runs commands in pods (pods/exec, pods/attach) in the namespace",
        ),
    },
];

fn rule(&(group, resources, verbs): &Rule) -> RuleSpec {
    RuleSpec {
        api_groups: vec![group.to_owned()],
        resources: resources.iter().map(|s| (*s).to_owned()).collect(),
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        resource_names: Vec::new(),
    }
}

/// The built-in roles with their rules, for `import` to recognise them.
pub(crate) fn built_ins() -> Vec<(&'static str, Vec<RuleSpec>)> {
    BUILT_INS
        .iter()
        .map(|b| (b.name, b.rules.iter().map(rule).collect()))
        .collect()
}

fn is_builtin(name: &str) -> bool {
    BUILT_INS.iter().any(|b| b.name == name)
}

fn role_names(m: &Model) -> Vec<&str> {
    let mut names: Vec<&str> = BUILT_INS
        .iter()
        .map(|b| b.name)
        .chain(m.profile.roles.keys().map(String::as_str))
        .collect();
    names.dedup();
    names
}

/// Checks roles, access entries, ServiceAccounts and cluster-wide grants,
/// and decides `plan.rbac`.
pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    let p = &m.profile;
    for (name, role) in &p.roles {
        let base = FieldPath::root().key("roles").key(name);
        if is_builtin(name) {
            out.push(
                Diagnostic::error(
                    base.clone(),
                    format!("role `{name}` is built in and cannot be redefined"),
                )
                .hint("give your role another name")
                .at_key(),
            );
        }
        if let Err(e) = names::dns_subdomain(name) {
            out.push(
                Diagnostic::error(
                    base.clone(),
                    format!("`{name}` is not a valid role name: {e}"),
                )
                .at_key(),
            );
        }
        if role.rules.is_empty() {
            out.push(
                Diagnostic::error(base.key("rules"), format!("role `{name}` has no rules"))
                    .hint("a role without rules grants nothing; remove it"),
            );
        }
        rules(out, &base.key("rules"), &role.rules);
    }
    let known = role_names(m);
    let user_prefix = m.user_prefix();
    for (i, ns) in p.namespaces.iter().enumerate() {
        let base = FieldPath::root().key("namespaces").index(i);
        let mut bindings = BTreeMap::new();
        for (j, a) in ns.access.iter().enumerate() {
            let ap = base.key("access").index(j);
            subject(
                out,
                &ap,
                a.user.as_deref(),
                a.group.as_deref(),
                &user_prefix,
            );
            role_ref(out, &ap.key("role"), &a.role, &known);
            if let Some(first) = bindings.insert(binding_name(a), j) {
                out.push(
                    Diagnostic::error(
                        ap.clone(),
                        format!("`{ap}` repeats the grant at access[{first}]"),
                    )
                    .hint("remove one of the two entries"),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for (j, sa) in ns.service_accounts.iter().enumerate() {
            let sp = base.key("serviceAccounts").index(j);
            if let Err(e) = names::dns_subdomain(&sa.name) {
                out.push(Diagnostic::error(
                    sp.key("name"),
                    format!("`{}` is not a valid ServiceAccount name: {e}", sa.name),
                ));
            }
            if !seen.insert(&sa.name) {
                out.push(Diagnostic::error(
                    sp.key("name"),
                    format!(
                        "ServiceAccount `{}` is listed twice in `{}`",
                        sa.name, ns.name
                    ),
                ));
            }
            if let Some(r) = &sa.role {
                role_ref(out, &sp.key("role"), r, &known);
            }
        }
    }
    let mut names_seen = BTreeSet::new();
    for (i, ca) in p.cluster_access.iter().enumerate() {
        let base = FieldPath::root().key("clusterAccess").index(i);
        subject(
            out,
            &base,
            ca.user.as_deref(),
            ca.group.as_deref(),
            &user_prefix,
        );
        if let Some(n) = &ca.name {
            label(out, &base.key("name"), n);
        }
        if ca.rules.is_empty() {
            out.push(Diagnostic::error(
                base.key("rules"),
                "a cluster-wide grant has no rules".to_owned(),
            ));
        }
        rules(out, &base.key("rules"), &ca.rules);
        let j = ca.justification.trim();
        if j.len() < MIN_JUSTIFICATION {
            let msg = if j.is_empty() {
                "a cluster-wide grant needs a written justification".to_owned()
            } else {
                format!(
                    "the justification `{j}` is too short to review (at least {MIN_JUSTIFICATION} characters)"
                )
            };
            out.push(
                Diagnostic::error(if j.is_empty() { base.clone() } else { base.key("justification") }, msg)
                    .hint("add `justification:` saying why this access must be cluster-wide; it is kept on the objects for reviewers"),
            );
        }
        if !names_seen.insert(cluster_access_name(
            ca.name.as_deref(),
            ca.user.as_deref(),
            ca.group.as_deref(),
        )) {
            out.push(
                Diagnostic::error(
                    base.clone(),
                    "two cluster-wide grants get the same name".to_owned(),
                )
                .hint("merge them, or set `name:` on one of them"),
            );
        }
    }
    plan.rbac = decide(m, user_prefix);
}

fn subject(
    out: &mut Vec<Diagnostic>,
    path: &FieldPath,
    user: Option<&str>,
    group: Option<&str>,
    user_prefix: &str,
) {
    match (user, group) {
        (None, None) => out.push(
            Diagnostic::error(path.clone(), format!("`{path}` names no subject"))
                .hint("add `user: <id>` or `group: <id>`"),
        ),
        (Some(_), Some(_)) => out.push(
            Diagnostic::error(
                path.clone(),
                format!("`{path}` names both a user and a group"),
            )
            .hint("write one entry per subject"),
        ),
        (Some(u), None) => {
            if u.trim().is_empty() {
                out.push(Diagnostic::error(
                    path.key("user"),
                    "the user id is empty".to_owned(),
                ));
            } else if !user_prefix.is_empty() && u.starts_with(user_prefix) {
                out.push(
                    Diagnostic::error(
                        path.key("user"),
                        format!("user `{u}` already carries the OIDC username prefix"),
                    )
                    .hint(format!(
                        "write the bare id `{}`; kharden applies the prefix",
                        &u[user_prefix.len()..]
                    )),
                );
            } else if u.starts_with("system:") {
                out.push(
                    Diagnostic::error(
                        path.key("user"),
                        format!("`{u}` is a Kubernetes system identity"),
                    )
                    .hint("grant access to people and groups from your identity provider"),
                );
            }
        }
        (None, Some(g)) => {
            if g.trim().is_empty() {
                out.push(Diagnostic::error(
                    path.key("group"),
                    "the group id is empty".to_owned(),
                ));
            } else if g.starts_with("system:") {
                out.push(
                    Diagnostic::error(
                        path.key("group"),
                        format!("`{g}` is a Kubernetes system group"),
                    )
                    .hint("grant access to groups from your identity provider"),
                );
            }
        }
    }
}

fn role_ref(out: &mut Vec<Diagnostic>, path: &FieldPath, role: &str, known: &[&str]) {
    if !known.contains(&role) {
        let hint = match nearest(role, known.iter().copied()) {
            Some(n) => format!("did you mean `{n}`?"),
            None => format!("roles: {}; define others under `roles:`", known.join(", ")),
        };
        out.push(Diagnostic::error(path.clone(), format!("unknown role `{role}`")).hint(hint));
    }
}

fn rules(out: &mut Vec<Diagnostic>, path: &FieldPath, rules: &[RuleSpec]) {
    for (i, r) in rules.iter().enumerate() {
        let rp = path.index(i);
        if r.verbs.is_empty() {
            out.push(Diagnostic::error(
                rp.key("verbs"),
                "a rule with no verbs grants nothing".to_owned(),
            ));
        }
        if r.resources.is_empty() {
            out.push(Diagnostic::error(
                rp.key("resources"),
                "a rule with no resources grants nothing".to_owned(),
            ));
        }
        if r.api_groups.is_empty() {
            out.push(Diagnostic::error(
                rp.key("apiGroups"),
                "a rule needs `apiGroups` (`\"\"` is the core group)".to_owned(),
            ));
        }
        for (j, v) in r.verbs.iter().enumerate() {
            if !VERBS.contains(&v.as_str()) {
                let hint = match v.as_str() {
                    "exec" => "exec is `create` on the resource `pods/exec`".to_owned(),
                    "edit" => "use `update` and `patch`".to_owned(),
                    _ => match nearest(v, VERBS.iter().copied()) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => format!("verbs: {}", VERBS.join(", ")),
                    },
                };
                out.push(
                    Diagnostic::error(
                        rp.key("verbs").index(j),
                        format!("`{v}` is not a Kubernetes verb"),
                    )
                    .hint(hint),
                );
            }
        }
    }
}

fn policy_rule(r: &RuleSpec) -> PolicyRule {
    PolicyRule {
        api_groups: Some(r.api_groups.clone()),
        resources: Some(r.resources.clone()),
        verbs: r.verbs.clone(),
        resource_names: if r.resource_names.is_empty() {
            None
        } else {
            Some(r.resource_names.clone())
        },
        non_resource_urls: None,
    }
}

fn binding_name(a: &AccessEntry) -> String {
    let (kind, id) = match (&a.user, &a.group) {
        (Some(u), _) => ("user", u.as_str()),
        (None, Some(g)) => ("group", g.as_str()),
        (None, None) => ("none", ""),
    };
    let head = format!("{}-{kind}-", a.role);
    format!(
        "{head}{}",
        names::slug(id, 63usize.saturating_sub(head.len()))
    )
}

fn cluster_access_name(name: Option<&str>, user: Option<&str>, group: Option<&str>) -> String {
    if let Some(n) = name {
        return format!("kharden-{n}");
    }
    let (kind, id) = match (user, group) {
        (Some(u), _) => ("user", u),
        (None, Some(g)) => ("group", g),
        (None, None) => ("none", ""),
    };
    let head = format!("kharden-{kind}-");
    format!(
        "{head}{}",
        names::slug(id, 63usize.saturating_sub(head.len()))
    )
}

mod plan;
#[cfg(test)]
mod tests;

use plan::decide;
pub(crate) use plan::render;
