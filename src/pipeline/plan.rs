//! Stage 3: the decisions made once from a validated profile, before any
//! object is rendered. Each concern's `validate` fills its own part of the
//! plan while it collects every diagnostic (all problems at once); its
//! `render` reads that part, never the raw strings again.
//!
//! A decided type lives in a leaf that imports no model: `plan/<concern>.rs`,
//! or a concern's own leaf (`control_plane/valid.rs`, `policy/validated.rs`).
//! The model holds the plan and every concern reads the model, so a plan
//! naming a module that reads the model is an import cycle.
//!
//! While validating, `m.plan` is still empty (`load` stores the plan once
//! every concern has run): a concern that needs another's decision reads it
//! from the `plan` argument, filled by the concerns registered before it
//! (`concern::CONCERNS` order; policy reads `quota` so).

pub mod extension;
pub mod logging;
pub mod proxy;
pub mod quota;
pub mod rbac;

/// Every concern's resolved form. A concern adds one field here, of a type
/// defined in `plan/<concern>.rs`, and fills it in its `validate`.
#[derive(Debug, Default)]
pub struct Plan {
    pub control_plane: crate::concern::control_plane::valid::Valid,
    pub policy: crate::concern::policy::validated::PolicyPlan,
    /// Namespaces outside the profile that concerns' components run in (filled before any concern validates).
    pub outside_namespaces: std::collections::BTreeSet<String>,
    /// Each mesh authorization rule's parsed ports.
    pub mesh_rule_ports: std::collections::BTreeMap<(String, usize), Vec<u16>>,
    /// Who may enter and leave each namespace, from every concern's
    /// `allowances`: decided once, on first use (`Model::allowances`), after
    /// validation; `validate` and `lint` never need it.
    pub allowances: std::sync::OnceLock<crate::pipeline::allowance::Allowances>,
    pub quota: quota::Quotas,
    pub mesh_sidecar: proxy::Resources,
    pub logging: Option<logging::Plan>,
    pub rbac: rbac::RbacPlan,
    pub extension: extension::Extensions,
}
