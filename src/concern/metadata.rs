//! What the objects kharden puts in a namespace share: kharden's label, the
//! namespace annotations `policy.propagateNamespaceAnnotations` copies onto
//! every object there, the justification annotation of a cluster-wide grant,
//! and the token-less `default` ServiceAccount. Shared by every concern that
//! renders into a namespace; it depends on no concern.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::bundle::manifest::{Manifest, RenderError, meta};
use crate::input::profile::NamespaceSpec;
use crate::pipeline::model::Model;

/// What one concern puts on a tenant Namespace object (the registry merges
/// every concern's, in order, into one Namespace per profile namespace).
#[derive(Debug, Default)]
pub(crate) struct NamespaceMeta {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Annotation carrying a cluster-wide grant's written justification.
pub(crate) const JUSTIFICATION: &str = "kharden.dev/justification";

/// The namespace's `default` ServiceAccount with no API token mounted into the
/// pods that run as it.
pub(crate) fn default_service_account(metadata: ObjectMeta) -> Result<Manifest, RenderError> {
    Manifest::k8s(&ServiceAccount {
        metadata,
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    })
}

/// Metadata for an object inside `ns`: our label, plus the namespace annotations
/// that `policy.propagateNamespaceAnnotations` copies onto every object there
/// (the admission mutator does the same for objects kharden did not create).
pub(crate) fn inner_meta(m: &Model, ns: &NamespaceSpec, name: &str) -> ObjectMeta {
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
