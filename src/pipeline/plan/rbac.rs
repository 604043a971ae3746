//! The RBAC concern's decisions (`concern::rbac` fills and renders them).

use k8s_openapi::api::rbac::v1::PolicyRule;

/// RBAC as `validate` decided it: every role with its rules, and per
/// namespace the roles it uses and its bindings with their subjects
/// resolved (OIDC prefixes applied). `plan.rbac`; render reads only this.
/// Kept small: it lives as long as the model, for every namespace.
#[derive(Debug, Default)]
pub struct RbacPlan {
    /// Built-in and profile roles, in name order; rendered where used.
    pub roles: Vec<RoleDef>,
    /// One per profile namespace, in profile order.
    pub namespaces: Vec<NamespaceRbac>,
    pub cluster: Vec<ClusterGrant>,
}

impl RbacPlan {
    /// The position of role `name` in `roles`.
    pub fn role(&self, name: &str) -> Option<usize> {
        self.roles
            .binary_search_by(|r| r.name.as_str().cmp(name))
            .ok()
    }
}

#[derive(Debug)]
pub struct RoleDef {
    pub name: String,
    pub rules: Vec<PolicyRule>,
    /// What a reviewer should know of its grants.
    pub note: Option<&'static str>,
}

#[derive(Debug, Default)]
pub struct NamespaceRbac {
    /// The roles its access entries and ServiceAccounts use (positions in
    /// `RbacPlan::roles`, so in name order, each once).
    pub roles: Vec<usize>,
    pub bindings: Vec<Binding>,
    /// Its ServiceAccounts: (name, automount token); `default` is added
    /// (token off) unless the profile lists it.
    pub accounts: Vec<(String, bool)>,
}

/// A RoleBinding in its namespace.
#[derive(Debug)]
pub struct Binding {
    pub name: String,
    /// Position in `RbacPlan::roles`.
    pub role: usize,
    pub kind: SubjectKind,
    /// The subject's name, prefixed for users and groups.
    pub subject: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    User,
    Group,
    /// A ServiceAccount of the binding's namespace.
    ServiceAccount,
}

#[derive(Debug)]
pub struct ClusterGrant {
    pub name: String,
    pub justification: String,
    pub rules: Vec<PolicyRule>,
    pub kind: SubjectKind,
    pub subject: String,
}
