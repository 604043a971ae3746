//! AKS: the ARM managedClusters properties (private cluster or authorized IP
//! ranges, Entra ID with admin groups, local accounts off).

use super::*;
use crate::manifest::RenderError;

pub(super) fn render_aks(m: &Model) -> Result<Manifest, RenderError> {
    let a = &m.profile.api_server;
    let mut access = Map::new();
    access.insert("enablePrivateCluster".into(), json!(a.private));
    if a.private {
        access.insert("enablePrivateClusterPublicFQDN".into(), json!(false));
        access.insert("privateDNSZone".into(), json!("system"));
    } else if !a.authorized_networks.is_empty() {
        access.insert("authorizedIPRanges".into(), json!(a.authorized_networks));
    }
    access.insert("disableRunCommand".into(), json!(true));
    let mut props = Map::new();
    props.insert("apiServerAccessProfile".into(), Value::Object(access));
    props.insert("enableRBAC".into(), json!(true));
    if let Some(o) = identity::oidc(m) {
        let mut aad = Map::new();
        aad.insert("managed".into(), json!(true));
        // The profile's bindings are Kubernetes RBAC, so Azure RBAC stays off.
        aad.insert("enableAzureRBAC".into(), json!(false));
        if let Some(t) = identity::entra_tenant(&o.issuer_url) {
            aad.insert("tenantID".into(), json!(t));
        }
        // Validation refuses Entra ID without admin groups (a lock-out).
        let admins = m
            .profile
            .identity
            .as_ref()
            .map(|i| i.admin_group_object_ids.clone())
            .unwrap_or_default();
        aad.insert("adminGroupObjectIDs".into(), json!(admins));
        props.insert("aadProfile".into(), Value::Object(aad));
        // Only with Entra ID: without it, no one could sign in.
        props.insert("disableLocalAccounts".into(), json!(true));
    }
    Manifest::control_plane(
        "aks",
        "managedcluster.yaml",
        "ManagedCluster",
        &[
            "AKS managedClusters `properties` (ARM REST names), shown as YAML: merge into the"
                .to_owned(),
            "properties of your ARM template or Bicep resource (same names), e.g. after".to_owned(),
            "`yq -o json`. ARM was chosen over Azure Service Operator because these property"
                .to_owned(),
            "names are the documented REST API, usable from ARM, Bicep and `az rest` alike."
                .to_owned(),
            "A private cluster and authorized IP ranges never appear together (AKS rejects it)."
                .to_owned(),
            "AKS manages the API server's flags; its kube-audit and control-plane logs reach Log"
                .to_owned(),
            "Analytics through diagnostic-setting.yaml when `logging.sources` asks for them."
                .to_owned(),
        ],
        &json!({"properties": Value::Object(props)}),
    )
}
