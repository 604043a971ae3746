//! Stage 1: the raw cluster profile as users write it.
//!
//! These types are the profile format's contract (`shared/profile.example.yaml`):
//! serde reads them, schemars turns them (and their doc comments) into the JSON
//! Schema that `kharden schema` prints and that `schema_check` enforces. Every
//! struct denies unknown fields. Values stay close to what the user wrote; the
//! checks that need more than one field live in `model` and the concern files.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A profile section: closed to unknown fields (a misspelt key is an error,
/// never a silently ignored setting), camelCase, and the derives every section
/// takes (serde reads it, schemars documents it, `explain` serializes it).
macro_rules! section {
    ($(#[$meta:meta])* pub struct $name:ident $body:tt) => {
        $(#[$meta])*
        #[derive(Debug, Clone, ::serde::Deserialize, ::serde::Serialize, ::schemars::JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name $body
    };
}

mod components;
mod control_plane;
mod services;

pub(crate) use components::*;
pub(crate) use control_plane::*;
pub(crate) use services::*;

/// One file describes the whole hardening of one cluster.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "kharden ClusterProfile")]
pub struct Profile {
    /// Always `kharden.dev/v1alpha1`.
    pub api_version: ApiVersion,
    /// Always `ClusterProfile`.
    pub kind: ProfileKind,
    pub metadata: Metadata,
    /// Layers applied first, in order; this file's own values win. A bare name is a
    /// built-in preset from `profiles/`; anything with a slash is a path relative to
    /// this file. Maps merge key by key (later wins); lists replace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extends: Vec<String>,
    pub cluster: Cluster,
    #[serde(default)]
    pub api_server: ApiServer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// Reusable namespaced roles, by name. The built-in ones (`view`, `edit`,
    /// `limited-user`) need no definition here and cannot be redefined.
    #[serde(default)]
    pub roles: BTreeMap<String, RoleSpec>,
    #[serde(default)]
    pub defaults: Defaults,
    /// The tenant namespaces.
    #[serde(default)]
    pub namespaces: Vec<NamespaceSpec>,
    /// Cluster-wide grants. Each needs a written justification.
    #[serde(default)]
    pub cluster_access: Vec<ClusterAccess>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<Mesh>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// Waivers: a named, owned, time-limited exception to one policy rule. After
    /// `expires`, rendering fails until the waiver is renewed or removed.
    #[serde(default)]
    pub exceptions: Vec<Exception>,
    /// The platform team's own objects: Tera templates in a folder next to the
    /// profile, rendered once per namespace or once per cluster. Every value a
    /// template prints comes out as a quoted YAML string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
    /// The platform components the bundle's rules must let run (ingress
    /// controller, Elasticsearch and its operator, the mesh and policy engines):
    /// overrides of their published defaults. See the README, "Platform components".
    #[serde(default)]
    pub components: Components,
}

section! {
    /// One extension template.
    pub struct Extension {
        /// The template file, relative to the profile (e.g. `extensions/monitoring.yaml.tera`).
        /// Context: `cluster` (name, platform, kubernetesVersion, ingressDomain),
        /// `profile` (name), `namespaces` (names); per namespace also `namespace`
        /// (name, labels, annotations).
        pub template: String,
        /// `namespace`: rendered once per namespace, objects placed in it;
        /// `cluster`: rendered once.
        pub scope: ExtensionScope,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExtensionScope {
    Namespace,
    Cluster,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "kharden.dev/v1alpha1")]
    V1Alpha1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ProfileKind {
    ClusterProfile,
}

section! {
    pub struct Metadata {
        /// The profile's name (a DNS label); the default output directory is `out/<name>`.
        #[schemars(pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(max = 63), example = &"prod-east")]
        pub name: String,
    }
}

section! {
    pub struct Cluster {
        /// The cluster's name (a DNS label).
        #[schemars(pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(max = 63), example = &"prod-east")]
        pub name: String,
        /// Which API-server settings format to render.
        pub platform: Platform,
        /// Kubernetes minor version, quoted: "1.33" to "1.37".
        #[schemars(pattern(r"^1\.3[3-7]$"), example = &"1.33")]
        pub kubernetes_version: String,
        /// Ingress hosts must be `<something>.<ingressDomain>`; the policy controller enforces it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ingress_domain: Option<String>,
        /// Gateway API Gateways that tenant routes may attach to (the successor of
        /// `defaults.network.allowFromIngressController`): routed namespaces accept
        /// traffic from each Gateway's pods, and with a `policy` section routes may
        /// attach to these Gateways only.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub gateways: Vec<GatewaySpec>,
    }
}

section! {
    /// One Gateway (`gateway.networking.k8s.io/v1`) and the pods that carry its traffic.
    pub struct GatewaySpec {
        /// The Gateway object's name.
        #[schemars(example = &"public")]
        pub name: String,
        /// The Gateway object's namespace.
        #[schemars(example = &"gateway-system")]
        pub namespace: String,
        /// Where its data-plane pods run, when not in the Gateway's namespace (Envoy
        /// Gateway's default deployment mode runs them in `envoy-gateway-system`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pod_namespace: Option<String>,
        /// Labels of its data-plane pods (Istio and NGINX Gateway Fabric:
        /// `gateway.networking.k8s.io/gateway-name: <name>`). Empty: every pod of the
        /// pod namespace.
        #[serde(default)]
        pub pod_labels: BTreeMap<String, String>,
        /// The service account of its data-plane pods: with a mesh, the routed
        /// namespaces authorize this identity only, not every pod of the pod
        /// namespace. Required with a mesh. Istio and NGINX Gateway Fabric name it
        /// `<name>-<gatewayClassName>` (`public-istio`, `public-nginx`); Envoy
        /// Gateway `envoy-<namespace>-<name>-<hash>` (its proxy Deployment's name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(example = &"public-istio")]
        pub service_account: Option<String>,
        /// Profile namespaces whose routes may attach to it and that accept traffic
        /// from its pods. Empty: every profile namespace.
        #[serde(default)]
        pub route_namespaces: Vec<String>,
    }
}

impl GatewaySpec {
    /// The namespace its data-plane pods run in.
    pub fn proxy_namespace(&self) -> &str {
        self.pod_namespace.as_deref().unwrap_or(&self.namespace)
    }

    /// Whether routes of namespace `ns` may attach to it.
    pub fn routes_from(&self, ns: &str) -> bool {
        self.route_namespaces.is_empty() || self.route_namespaces.iter().any(|n| n == ns)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Kubeadm,
    Aks,
    Eks,
    Gke,
}

section! {
    pub struct RoleSpec {
        pub rules: Vec<RuleSpec>,
    }
}

/// One RBAC rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleSpec {
    /// API groups; `""` is the core group.
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    /// Restrict the rule to these object names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    /// Pod Security Admission level enforced in every namespace. Default `restricted`.
    #[serde(default)]
    pub pod_security: PodSecurityLevel,
    /// ResourceQuota `hard` limits for every namespace (Kubernetes quantities).
    /// `services.loadbalancers` and `services.nodeports` are 0 unless set.
    #[serde(default)]
    pub quota: BTreeMap<String, QuantityValue>,
    /// Rendered as a LimitRange, so every container gets requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_limits: Option<ContainerLimits>,
    #[serde(default)]
    pub network: NetworkDefaults,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    Privileged,
    Baseline,
    #[default]
    Restricted,
}

impl PodSecurityLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PodSecurityLevel::Privileged => "privileged",
            PodSecurityLevel::Baseline => "baseline",
            PodSecurityLevel::Restricted => "restricted",
        }
    }
}

/// A Kubernetes quantity: `100m`, `2Gi`, `8`, `1e3`. Plain numbers are accepted too.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum QuantityValue {
    Int(i64),
    Float(f64),
    Text(String),
}

impl QuantityValue {
    /// The quantity as Kubernetes would read it from YAML.
    pub fn text(&self) -> String {
        match self {
            QuantityValue::Int(i) => i.to_string(),
            QuantityValue::Float(f) => f.to_string(),
            QuantityValue::Text(s) => s.clone(),
        }
    }
}

/// Container requests and limits for a LimitRange (type Container).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerLimits {
    /// Request given to containers that declare none.
    #[serde(default)]
    pub default_request: BTreeMap<String, QuantityValue>,
    /// Limit given to containers that declare none.
    #[serde(default)]
    pub default: BTreeMap<String, QuantityValue>,
    /// Largest limit a container may declare.
    #[serde(default)]
    pub max: BTreeMap<String, QuantityValue>,
    /// Smallest request a container may declare.
    #[serde(default)]
    pub min: BTreeMap<String, QuantityValue>,
}

section! {
    pub struct NetworkDefaults {
        /// Directions denied unless a rule allows them. Default both.
        #[serde(default = "both_directions")]
        pub default_deny: Vec<Direction>,
        /// With egress denied, still allow DNS to kube-dns. Default true.
        #[serde(default = "yes", rename = "allowDNS")]
        pub allow_dns: bool,
        /// Allow traffic between pods of the same namespace. Default false.
        #[serde(default)]
        pub allow_same_namespace: bool,
        /// Allow ingress from the ingress controller's namespace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub allow_from_ingress_controller: Option<NamespaceRef>,
        /// Namespaces outside the profile that flows may name as peers (e.g.
        /// `monitoring`). Any other namespace a flow names must be in `namespaces`, so a
        /// typo cannot silently open or miss a flow. kharden renders nothing in them:
        /// their own policies must let the traffic out or in.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub external_namespaces: Vec<String>,
    }
}

impl Default for NetworkDefaults {
    fn default() -> Self {
        NetworkDefaults {
            default_deny: both_directions(),
            allow_dns: true,
            allow_same_namespace: false,
            allow_from_ingress_controller: None,
            external_namespaces: Vec::new(),
        }
    }
}

fn both_directions() -> Vec<Direction> {
    vec![Direction::Ingress, Direction::Egress]
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Ingress,
    Egress,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceRef {
    pub namespace: String,
}

section! {
    pub struct NamespaceSpec {
        /// The namespace name (a DNS label).
        #[schemars(pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(max = 63), example = &"team-a")]
        pub name: String,
        /// Annotations on the Namespace object.
        #[serde(default)]
        pub annotations: BTreeMap<String, String>,
        /// Labels on the Namespace object (besides the Pod Security and kharden ones).
        #[serde(default)]
        pub labels: BTreeMap<String, String>,
        /// Overrides `defaults.podSecurity` for this namespace. Audit and warn stay at
        /// `restricted`, so loosened pods still show up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pod_security: Option<PodSecurityLevel>,
        /// Who may do what in the namespace.
        #[serde(default)]
        pub access: Vec<AccessEntry>,
        #[serde(default)]
        pub service_accounts: Vec<ServiceAccountSpec>,
        /// Quota entries that override `defaults.quota` key by key.
        #[serde(default)]
        pub quota: BTreeMap<String, QuantityValue>,
        /// Replaces `defaults.containerLimits` for this namespace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub container_limits: Option<ContainerLimits>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub network: Option<NamespaceNetwork>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mesh: Option<NamespaceMesh>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub workloads: Option<Workloads>,
    }
}

section! {
    /// A grant of one role to one user or group. Write the bare id: the OIDC prefix
    /// from `identity.oidc` is applied for you.
    pub struct AccessEntry {
        /// The user name the identity provider gives (on AKS with Entra ID the
        /// UPN, never an object ID).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub user: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub group: Option<String>,
        /// A built-in role (`view`, `edit`, `limited-user`) or one from `roles`.
        pub role: String,
    }
}

section! {
    pub struct ServiceAccountSpec {
        /// The ServiceAccount name (a DNS subdomain).
        pub name: String,
        /// The role bound to it, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role: Option<String>,
        /// Mount an API token into pods by default. Default false.
        #[serde(default)]
        pub automount_token: bool,
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceNetwork {
    /// Overrides `defaults.network.defaultDeny` for this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_deny: Option<Vec<Direction>>,
    /// Traffic this namespace accepts.
    #[serde(default)]
    pub ingress: Vec<IngressFlow>,
    /// Traffic this namespace sends.
    #[serde(default)]
    pub egress: Vec<EgressFlow>,
}

section! {
    pub struct IngressFlow {
        pub from: Peer,
        /// `8080/TCP`, `53/UDP`, `8000-8100/TCP`, or a named port `http/TCP`. Empty: all ports.
        #[serde(default)]
        pub ports: Vec<String>,
    }
}

section! {
    pub struct EgressFlow {
        pub to: Peer,
        #[serde(default)]
        pub ports: Vec<String>,
    }
}

/// The other end of a flow: a namespace, pods by label (both together mean AND),
/// or an IP block.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Peer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// Blocks inside `cidr` that stay denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceMesh {
    /// External hosts this namespace may reach (added to the mesh-wide list).
    #[serde(default)]
    pub allowed_external_hosts: Vec<String>,
    /// L7 ALLOW rules on top of the namespace's default deny.
    #[serde(default)]
    pub authorization: Vec<MeshAuthorization>,
    /// Overrides the mesh-wide mTLS mode (e.g. `permissive` during a migration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<MtlsMode>,
    /// Per-service timeout and retry overrides (Istio: one VirtualService per
    /// service). A listed service without `timeout` gets `mesh.defaults.timeout`.
    #[serde(default)]
    pub services: Vec<MeshService>,
}

section! {
    /// One Service of the namespace whose calls get their own timeout and retries.
    pub struct MeshService {
        /// The Service name in this namespace (a DNS label).
        pub name: String,
        /// The Service port the override applies to.
        pub port: u16,
        /// Request timeout, e.g. `10s`, `500ms`, `1m30s`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timeout: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub retries: Option<Retries>,
    }
}

section! {
    pub struct MeshAuthorization {
        pub from: MeshSource,
        #[serde(default)]
        pub methods: Vec<String>,
        #[serde(default)]
        pub paths: Vec<String>,
        #[serde(default)]
        pub ports: Vec<String>,
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MeshSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Workload identities, e.g. `cluster.local/ns/team-b/sa/frontend`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MtlsMode {
    #[default]
    Strict,
    Permissive,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Workloads {
    /// Pods here run on Windows nodes: policy gives them (Gatekeeper mutators;
    /// the native engine from Kubernetes 1.36) or requires of them the node
    /// selector `kubernetes.io/os: windows`, a toleration of
    /// `policy.windowsNodeTaint` and `spec.os.name: windows` (with which Pod
    /// Security skips its Linux-only checks).
    #[serde(default)]
    pub windows: bool,
}

section! {
    /// A cluster-wide grant: a ClusterRole and a ClusterRoleBinding.
    pub struct ClusterAccess {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub user: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub group: Option<String>,
        /// Name of the ClusterRole and binding (a DNS label); derived from the subject if unset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        pub rules: Vec<RuleSpec>,
        /// Why this grant must be cluster-wide (at least 20 characters). Kept on the objects.
        #[serde(default)]
        pub justification: String,
    }
}

fn yes() -> bool {
    true
}
