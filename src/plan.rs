//! Stage 2b: the decisions made once from a validated profile, before any
//! object is rendered. Each concern's `validate` fills its own part of the
//! plan while it collects every diagnostic (all problems at once); its
//! `render` reads that part, never the raw strings again.

/// Every concern's resolved form. A concern adds one field here, of a type
/// its own module defines, and fills it in its `validate`.
#[derive(Debug, Default)]
pub struct Plan {
    pub quota: crate::model::Quotas,
    pub mesh_sidecar: crate::concern::mesh::sidecar::Resources,
    pub logging: Option<crate::concern::logging::Plan>,
    pub rbac: crate::concern::rbac::RbacPlan,
    pub extension: crate::concern::extension::Extensions,
    pub namespace: crate::concern::namespace::PodSecurityPlan,
}
