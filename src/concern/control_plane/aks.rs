//! AKS: the ARM managedClusters properties (private cluster or authorized IP
//! ranges, Entra ID with admin groups, local accounts off).

use super::*;
use crate::bundle::manifest::RenderError;

pub(super) struct Aks;

impl Target for Aks {
    fn render(&self, m: &Model) -> Result<Vec<Manifest>, RenderError> {
        Ok(vec![render_aks(m)?])
    }
    fn warnings(&self, m: &Model) -> Vec<String> {
        managed_warnings(
            m,
            "aks (identity as Entra ID `aadProfile`)",
            true,
            BETA_API_BY_PROVIDER,
        )
    }
    fn log_export(&self, m: &Model, cp: bool, audit: bool) -> Result<Vec<Manifest>, RenderError> {
        Ok(vec![managed_logs::aks_diagnostic_setting(m, cp, audit)?])
    }
    fn log_note(&self) -> Option<&'static str> {
        Some(
            "note: on aks the control-plane and audit logs go to Log Analytics by control-plane/aks/diagnostic-setting.yaml; to reach Elasticsearch, add an Event Hub destination to that setting and read it with Elastic's Azure integration",
        )
    }
}

fn render_aks(m: &Model) -> Result<Manifest, RenderError> {
    let a = &m.profile.api_server;
    let mut access = Map::new();
    access.insert("enablePrivateCluster".into(), json!(a.private));
    if a.private {
        access.insert("enablePrivateClusterPublicFQDN".into(), json!(false));
        access.insert("privateDNSZone".into(), json!("system"));
    } else if !m.plan.control_plane.authorized_networks.is_empty() {
        access.insert("authorizedIPRanges".into(), json!(network_texts(m)));
    }
    access.insert("disableRunCommand".into(), json!(true));
    let mut props = Map::new();
    props.insert("apiServerAccessProfile".into(), Value::Object(access));
    props.insert("enableRBAC".into(), json!(true));
    if identity::oidc(m).is_some() {
        let mut aad = Map::new();
        aad.insert("managed".into(), json!(true));
        // The profile's bindings are Kubernetes RBAC, so Azure RBAC stays off.
        aad.insert("enableAzureRBAC".into(), json!(false));
        if let Some(t) = &m.plan.control_plane.identity.entra_tenant {
            aad.insert("tenantID".into(), json!(t.value));
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
