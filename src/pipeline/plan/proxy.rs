//! The mesh concern's decision on the injected proxy's resources (see
//! `concern::mesh::sidecar`), as the meshes' values and annotations read it.

use std::collections::BTreeMap;

use crate::k8s::quantity::Amounts;

/// The proxy's resources: `requests` and `limits` by resource (`cpu`,
/// `memory`), decided in `validate` (`plan.mesh_sidecar`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub requests: Amounts,
    pub limits: Amounts,
}

impl Resources {
    pub fn requests(&self) -> BTreeMap<String, String> {
        self.requests
            .iter()
            .map(|(k, a)| (k.clone(), a.text.clone()))
            .collect()
    }
    pub fn limits(&self) -> BTreeMap<String, String> {
        self.limits
            .iter()
            .map(|(k, a)| (k.clone(), a.text.clone()))
            .collect()
    }
}
