//! GKE: the REST Cluster fields (current endpoint and authorized-network
//! settings, anonymous access limited, Google Groups for RBAC, logging).

use super::*;
use crate::bundle::manifest::RenderError;

pub(super) struct Gke;

impl Target for Gke {
    fn render(&self, m: &Model) -> Result<Vec<Manifest>, RenderError> {
        Ok(vec![render_gke(m)?])
    }
    fn warnings(&self, m: &Model) -> Vec<String> {
        // GKE keeps the ranges with a private endpoint (see `managed_warnings`).
        managed_warnings(
            m,
            "gke (identity through GKE Identity Service)",
            false,
            "on gke turn the beta API on per resource (`gcloud container clusters update --enable-kubernetes-unstable-apis=admissionregistration.k8s.io/v1beta1/mutatingadmissionpolicies,admissionregistration.k8s.io/v1beta1/mutatingadmissionpolicybindings`); GKE sets the feature gates itself",
        )
    }
    fn log_export(&self, _: &Model, _: bool, _: bool) -> Result<Vec<Manifest>, RenderError> {
        // cluster.yaml's `loggingConfig` exports them.
        Ok(Vec::new())
    }
    fn log_note(&self) -> Option<&'static str> {
        Some(
            "note: on gke the control-plane logs go to Cloud Logging (cluster.yaml `loggingConfig`) and audit events to Cloud Audit Logs; to reach Elasticsearch, route them with a log sink to Pub/Sub and Elastic's GCP integration",
        )
    }
}

fn render_gke(m: &Model) -> Result<Manifest, RenderError> {
    let a = &m.profile.api_server;
    let blocks: Vec<Value> = network_texts(m)
        .into_iter()
        .map(|c| json!({"cidrBlock": c}))
        .collect();
    let mut authz = Map::new();
    authz.insert("enabled".into(), json!(true));
    authz.insert("cidrBlocks".into(), json!(blocks));
    authz.insert("gcpPublicCidrsAccessEnabled".into(), json!(false));
    if a.private {
        authz.insert("privateEndpointEnforcementEnabled".into(), json!(true));
    }
    let mut cluster = Map::new();
    cluster.insert("name".into(), json!(m.profile.cluster.name));
    cluster.insert(
        "controlPlaneEndpointsConfig".into(),
        json!({"ipEndpointsConfig": {
            "enabled": true,
            "enablePublicEndpoint": !a.private,
            "authorizedNetworksConfig": Value::Object(authz),
        }}),
    );
    cluster.insert(
        "networkConfig".into(),
        json!({"defaultEnablePrivateNodes": true}),
    );
    cluster.insert(
        "anonymousAuthenticationConfig".into(),
        json!({"mode": "LIMITED"}),
    );
    if identity::oidc(m).is_some() {
        cluster.insert("identityServiceConfig".into(), json!({"enabled": true}));
    }
    if let Some(sg) = m
        .profile
        .identity
        .as_ref()
        .and_then(|i| i.security_group.as_ref())
    {
        cluster.insert(
            "authenticatorGroupsConfig".into(),
            json!({"enabled": true, "securityGroup": sg}),
        );
    }
    if let Some(lc) = managed_logs::gke_logging_config(m) {
        cluster.insert("loggingConfig".into(), lc);
    }
    Manifest::control_plane(
        "gke",
        "cluster.yaml",
        "Cluster",
        &[
            "GKE Cluster fields (REST projects.locations.clusters, container/v1), shown as YAML."
                .to_owned(),
            "Uses controlPlaneEndpointsConfig and networkConfig.defaultEnablePrivateNodes, not the"
                .to_owned(),
            "deprecated privateClusterConfig.enablePrivateEndpoint/enablePrivateNodes (it is"
                .to_owned(),
            "invalid to set both forms). Anonymous access is LIMITED to the health endpoints"
                .to_owned(),
            "(CIS 1.2.1 intent). With identityServiceConfig on, configure the OIDC provider in"
                .to_owned(),
            "the identity service's ClientConfig with the same username and groups prefixes the"
                .to_owned(),
            "RBAC subjects carry (not rendered here). GKE manages the API server's flags."
                .to_owned(),
        ],
        &Value::Object(cluster),
    )
}
