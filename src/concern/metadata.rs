//! The metadata of objects inside a tenant namespace: kharden's label, plus
//! the namespace annotations `policy.propagateNamespaceAnnotations` copies
//! onto every object there. Shared by every concern that renders into a
//! namespace; it depends on no concern.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::manifest::meta;
use crate::model::Model;
use crate::profile::NamespaceSpec;

/// Metadata for an object inside `ns`: our label, plus the namespace annotations
/// that `policy.propagateNamespaceAnnotations` copies onto every object there
/// (the admission mutator does the same for objects kharden did not create).
pub fn inner_meta(m: &Model, ns: &NamespaceSpec, name: &str) -> ObjectMeta {
    let mut md = meta(name, Some(&ns.name));
    let keys: BTreeSet<&String> = m
        .profile
        .policy
        .iter()
        .flat_map(|p| &p.propagate_namespace_annotations)
        .collect();
    let copied: BTreeMap<String, String> = ns
        .annotations
        .iter()
        .filter(|(k, _)| keys.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !copied.is_empty() {
        md.annotations = Some(copied);
    }
    md
}
