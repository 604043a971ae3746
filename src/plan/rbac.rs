//! The RBAC concern's decisions (`concern::rbac` fills and renders them).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::rbac::v1::{PolicyRule, Subject};

/// RBAC as `validate` decided it: every role with its rules, and per
/// namespace the roles it uses and its bindings with their subjects
/// resolved (OIDC prefixes applied). `plan.rbac`; render reads only this.
#[derive(Debug, Default)]
pub struct RbacPlan {
    /// Built-in and profile roles by name, each rendered where it is used.
    pub roles: BTreeMap<String, RoleDef>,
    /// One per profile namespace, in profile order.
    pub namespaces: Vec<NamespaceRbac>,
    pub cluster: Vec<ClusterGrant>,
}

#[derive(Debug)]
pub struct RoleDef {
    pub rules: Vec<PolicyRule>,
    /// What a reviewer should know of its grants.
    pub note: Option<&'static str>,
}

#[derive(Debug, Default)]
pub struct NamespaceRbac {
    /// The roles its access entries and ServiceAccounts use, by name.
    pub roles: BTreeSet<String>,
    /// RoleBindings: (name, role, subject).
    pub bindings: Vec<(String, String, Subject)>,
    /// Its ServiceAccounts: (name, automount token); `default` is added
    /// (token off) unless the profile lists it.
    pub accounts: Vec<(String, bool)>,
}

#[derive(Debug)]
pub struct ClusterGrant {
    pub name: String,
    pub justification: String,
    pub rules: Vec<PolicyRule>,
    pub subject: Subject,
}
