//! The mesh concern's decision on its authorization rules' own `ports`.

/// Per profile namespace (in order), per `mesh.authorization` rule: the
/// rule's `ports`, parsed (one that is not a port has its diagnostic and is
/// left out).
#[derive(Debug, Default)]
pub struct RulePorts {
    pub namespaces: Vec<Vec<Vec<u16>>>,
}
