//! Profile types of the platform components (#29): the third-party software
//! the bundle's own rules must let run (ingress controller, Elasticsearch and
//! its operator, the mesh and policy engines). Every field is an override of a
//! default that kharden takes from the distribution's published manifests.

use super::*;

section! {
    /// Overrides of the platform components kharden's rules must let run. Each
    /// default comes from the component's published install (ingress-nginx,
    /// ECK, Istio, Linkerd, Gatekeeper); set a field where your install differs
    /// (a mirrored image, other labels), so the self-check and the exemptions
    /// kharden derives match what runs.
    #[derive(Default)]
    pub struct Components {
        /// The ingress controller in `defaults.network.allowFromIngressController`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ingress_controller: Option<ComponentOverride>,
        /// An in-cluster Elasticsearch (`logging.elasticsearch.host` of the form
        /// `<service>.<namespace>.svc`), run by ECK.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub elasticsearch: Option<ComponentOverride>,
        /// The ECK operator that manages that Elasticsearch (default namespace
        /// `elastic-system`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub elastic_operator: Option<ComponentOverride>,
        /// The mesh control plane (`istio-system` or `linkerd`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mesh_control_plane: Option<ComponentOverride>,
        /// The sidecar the mesh injects into meshed pods: set `images` when you
        /// mirror the proxy image.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mesh_sidecar: Option<ComponentOverride>,
        /// Gatekeeper's controller and audit pods (`gatekeeper-system`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub policy_engine: Option<ComponentOverride>,
        /// The data-plane pods of every Gateway in `cluster.gateways`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub gateway_proxies: Option<ComponentOverride>,
    }
}

section! {
    /// What differs from the component's default install. Unset fields keep the default.
    pub struct ComponentOverride {
        /// Its namespace (not for the ingress controller, whose namespace is
        /// `defaults.network.allowFromIngressController.namespace`, nor for gateway
        /// proxies, set per Gateway).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub namespace: Option<String>,
        /// Labels of its pods.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pod_labels: Option<BTreeMap<String, String>>,
        /// Its pods' service account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_account: Option<String>,
        /// The images its pods run, as repositories (`registry.example.com/mirror/controller`)
        /// or full references; allowed in its namespace when `policy.allowedRegistries`
        /// does not already allow them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub images: Option<Vec<String>>,
        /// The type of the Service that exposes it, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_type: Option<ServiceType>,
        /// Whether its containers set CPU and memory limits.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub sets_limits: Option<bool>,
        /// Whether its pods run the mesh sidecar (only with `mesh`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub meshed: Option<bool>,
    }
}

/// How a component is exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}
