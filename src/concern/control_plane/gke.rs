//! GKE: the REST Cluster fields (current endpoint and authorized-network
//! settings, anonymous access limited, Google Groups for RBAC, logging).

use super::*;
use crate::manifest::RenderError;

pub(super) fn render_gke(m: &Model) -> Result<Manifest, RenderError> {
    let a = &m.profile.api_server;
    let blocks: Vec<Value> = a
        .authorized_networks
        .iter()
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
