//! The namespace concern's decision: each namespace's Pod Security levels.

use crate::input::profile::PodSecurityLevel;

/// Each namespace's Pod Security levels, decided by `validate`
/// (`plan.namespace`) and read by its labels, `facts` and `report`.
#[derive(Debug, Default)]
pub struct PodSecurityPlan {
    /// `v<cluster version>`: the rules every level is pinned to.
    pub version: String,
    /// One per profile namespace, in profile order.
    pub namespaces: Vec<PodSecurity>,
}

#[derive(Debug, Clone, Copy)]
pub struct PodSecurity {
    /// The level the namespace is to enforce.
    pub level: PodSecurityLevel,
    /// A rollout (`policy.enforcement` warn or audit for `podSecurity`)
    /// holds `enforce` back at `privileged`.
    pub held_back: bool,
}
