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
}

/// One extension template.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// The profile's name (a DNS label); the default output directory is `out/<name>`.
    #[schemars(pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(max = 63), example = &"prod-east")]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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

/// One Gateway (`gateway.networking.k8s.io/v1`) and the pods that carry its traffic.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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
    /// Profile namespaces whose routes may attach to it and that accept traffic
    /// from its pods. Empty: every profile namespace.
    #[serde(default)]
    pub route_namespaces: Vec<String>,
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

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiServer {
    /// Private API: not reachable from the internet. Default true.
    #[serde(default = "yes")]
    pub private: bool,
    /// kubeadm only: the private address the API server binds to and advertises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise_address: Option<String>,
    /// Who may reach the API endpoint (CIDRs; cloud platforms).
    #[serde(default)]
    pub authorized_networks: Vec<String>,
    #[serde(default)]
    pub audit: Audit,
    /// kubeadm only: how Secrets are encrypted at rest (the
    /// EncryptionConfiguration kharden writes; keys are never in the profile).
    #[serde(default)]
    pub encryption: Encryption,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Encryption {
    /// `secretbox` (default) or `aescbc`: a local key you generate on the node;
    /// `kms`: a KMS v2 plugin holds the key.
    #[serde(default)]
    pub provider: EncryptionProvider,
    /// `kms` only: the plugin's socket, `unix:///…` (an absolute path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_endpoint: Option<String>,
    /// `kms` only: the provider's name (a key change needs a new name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_name: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EncryptionProvider {
    #[default]
    Secretbox,
    Aescbc,
    Kms,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Audit {
    /// Write an API-server audit log. Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Where the API server writes the audit log (an absolute path on the node).
    #[serde(default = "default_audit_path")]
    pub log_path: String,
    /// Days to keep rotated audit files (CIS 1.2.17: at least 30).
    #[serde(default = "default_max_age")]
    pub max_age_days: u32,
    /// Rotated audit files to keep (CIS 1.2.18: at least 10).
    #[serde(default = "default_max_backups")]
    pub max_backups: u32,
    /// Size in megabytes before rotation (CIS 1.2.19: at least 100).
    #[serde(default = "default_max_size", rename = "maxSizeMB")]
    pub max_size_mb: u32,
    /// Extra audit policy rules. They come after kharden's fixed rules (noise
    /// dropped, secrets/configmaps/token reviews at Metadata only, RBAC and
    /// exec/attach/portforward recorded fully) and before the final Metadata
    /// catch-all, so they can refine the rest but never log a secret's body or
    /// silence RBAC changes. The first matching rule wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_rules: Vec<AuditRule>,
}

/// One audit policy rule (audit.k8s.io/v1 `PolicyRule`, a subset).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditRule {
    /// How much of a matching request to record.
    pub level: AuditLevel,
    /// User names the rule applies to (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Groups the rule applies to (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_groups: Vec<String>,
    /// Verbs the rule applies to, e.g. `create`, `delete` (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verbs: Vec<String>,
    /// Resources the rule applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<AuditResources>,
    /// Namespaces the rule applies to (`""` = cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Non-resource URLs such as `/metrics` (a trailing `*` is a wildcard).
    #[serde(
        default,
        rename = "nonResourceURLs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

/// Audit levels, least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum AuditLevel {
    None,
    Metadata,
    Request,
    RequestResponse,
}

/// Resources of one API group in an audit rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditResources {
    /// API group without version; `""` is the core group.
    #[serde(default)]
    pub group: String,
    /// Resource names such as `pods` or `pods/exec` (all of the group when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Object names (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

fn default_audit_path() -> String {
    "/var/log/kubernetes/audit/audit.log".to_owned()
}
fn default_max_age() -> u32 {
    30
}
fn default_max_backups() -> u32 {
    10
}
fn default_max_size() -> u32 {
    100
}

/// A profile without `apiServer` gets the same values as an empty one: a
/// private endpoint (a derived `Default` would make it public).
impl Default for ApiServer {
    fn default() -> Self {
        ApiServer {
            private: true,
            advertise_address: None,
            authorized_networks: Vec::new(),
            audit: Audit::default(),
            encryption: Encryption::default(),
        }
    }
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            enabled: true,
            log_path: default_audit_path(),
            max_age_days: default_max_age(),
            max_backups: default_max_backups(),
            max_size_mb: default_max_size(),
            extra_rules: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<Oidc>,
    /// `flags`: `--oidc-*` kube-apiserver flags; `config`: a structured
    /// AuthenticationConfiguration file. The two never mix.
    #[serde(default)]
    pub mode: IdentityMode,
    /// aks: Entra ID group object IDs that get cluster-admin
    /// (`aadProfile.adminGroupObjectIDs`). Required there: local accounts are
    /// disabled, so without one no one can administer the cluster.
    #[serde(
        default,
        rename = "adminGroupObjectIDs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub admin_group_object_ids: Vec<String>,
    /// gke: the Google Groups for RBAC umbrella group
    /// (`gke-security-groups@<domain>`, `authenticatorGroupsConfig`); without
    /// it a Google account's groups never reach RBAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdentityMode {
    #[default]
    Flags,
    Config,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Oidc {
    /// The issuer URL (https only).
    #[serde(rename = "issuerURL")]
    #[schemars(pattern(r"^https://"), example = &"https://login.microsoftonline.com/<tenant>/v2.0")]
    pub issuer_url: String,
    /// Tokens must be issued for this client id (the audience).
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// The claim that names the user. Default `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_claim: Option<String>,
    /// Prefix of every user name. User subjects in access rules get it applied
    /// automatically; write bare ids there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_prefix: Option<String>,
    /// The claim that lists the user's groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<String>,
    /// Prefix of every group name; applied automatically to group subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_prefix: Option<String>,
    /// Claims every token must carry with exactly this value.
    #[serde(default)]
    pub required_claims: BTreeMap<String, String>,
    /// `mode: flags`: path on the control-plane node of the CA that signed the
    /// issuer's certificate (`--oidc-ca-file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// `mode: config`: the same CA as PEM text, written into the structured
    /// config's `issuer.certificateAuthority` (the file form has no path field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// Accepted token signing algorithms. Default RS256.
    #[serde(default)]
    pub signing_algs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Logging {
    #[serde(default)]
    pub collector: Collector,
    /// The collector's namespace (a DNS label).
    #[serde(default = "default_logging_ns")]
    pub namespace: String,
    /// What to collect.
    pub sources: Vec<LogSource>,
    pub elasticsearch: Elasticsearch,
    /// The collector image, pinned by an exact tag or a digest (for a mirror in
    /// an allowed registry). Default: the upstream image at a pinned version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

fn default_logging_ns() -> String {
    "logging".to_owned()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Collector {
    #[default]
    Fluentd,
    FluentBit,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum LogSource {
    ControlPlane,
    Pods,
    Nodes,
    Audit,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Elasticsearch {
    pub host: String,
    #[serde(default = "default_es_port")]
    pub port: u16,
    #[serde(default)]
    pub scheme: Scheme,
    /// Index name prefix.
    pub index_prefix: String,
    /// Secret (in the logging namespace) with keys `username` and `password`; never inlined.
    pub credentials_secret: String,
    /// Secret (in the logging namespace) holding the CA certificate that signed
    /// Elasticsearch's, under key `ca.crt` (ECK: `<name>-es-http-certs-public`).
    /// Mounted read-only; the collector verifies against it instead of the
    /// image's public CA bundle. Needed for an in-cluster Elasticsearch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret: Option<String>,
}

fn default_es_port() -> u16 {
    9200
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Https,
    Http,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleSpec {
    pub rules: Vec<RuleSpec>,
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

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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

/// A grant of one role to one user or group. Write the bare id: the OIDC prefix
/// from `identity.oidc` is applied for you.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccessEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A built-in role (`view`, `edit`, `limited-user`) or one from `roles`.
    pub role: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressFlow {
    pub from: Peer,
    /// `8080/TCP`, `53/UDP`, `8000-8100/TCP`, or a named port `http/TCP`. Empty: all ports.
    #[serde(default)]
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgressFlow {
    pub to: Peer,
    #[serde(default)]
    pub ports: Vec<String>,
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

/// One Service of the namespace whose calls get their own timeout and retries.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MeshAuthorization {
    pub from: MeshSource,
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub ports: Vec<String>,
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

/// A cluster-wide grant: a ClusterRole and a ClusterRoleBinding.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
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

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mesh {
    pub provider: MeshProvider,
    #[serde(default)]
    pub mtls: MtlsMode,
    #[serde(default)]
    pub outbound_traffic: OutboundTraffic,
    /// External hosts every namespace may reach.
    #[serde(default)]
    pub allowed_external_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<MeshDefaults>,
    #[serde(default)]
    pub access_logging: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MeshProvider {
    Istio,
    Linkerd,
    None,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OutboundTraffic {
    /// External hosts reachable only when listed.
    #[default]
    RegistryOnly,
    AllowAny,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MeshDefaults {
    /// Request timeout, e.g. `15s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<Retries>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retries {
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    /// `gatekeeper`: ConstraintTemplates, Constraints and mutators;
    /// `validating-admission-policy`: native CEL policies.
    pub engine: PolicyEngine,
    /// Registries every image must come from: a host (`registry.example.com`)
    /// allows everything under it, an entry with a repository path
    /// (`docker.io/library/nginx`) that repository only, with any tag or digest.
    #[serde(default)]
    pub allowed_registries: Vec<String>,
    /// Annotation keys every workload must carry, non-empty, on itself and on
    /// the pod (and job) templates its controllers copy them from.
    #[serde(default)]
    pub required_annotations: Vec<String>,
    /// No two Ingresses in different namespaces claim the same host.
    #[serde(default)]
    pub unique_ingress_hosts: bool,
    /// Every Ingress host lies under `cluster.ingressDomain`; `spec.defaultBackend`
    /// (it takes every host no rule names) is refused.
    #[serde(default)]
    pub ingress_hosts_in_domain: bool,
    /// Load balancers are internal: Services of type LoadBalancer carry the
    /// platform's internal annotation, and on EKS and GKE Ingresses the cloud's
    /// own controller takes ask for an internal load balancer.
    #[serde(default)]
    pub internal_load_balancers: bool,
    /// Namespace annotations copied onto every object created in the namespace.
    #[serde(default)]
    pub propagate_namespace_annotations: Vec<String>,
    /// Namespaces the rules do not apply to.
    #[serde(default)]
    pub exempt_namespaces: Vec<String>,
    /// The taint your Windows nodes carry, which pods of `workloads.windows`
    /// namespaces are given a toleration for (and must tolerate). Default
    /// `node.kubernetes.io/os=windows:NoSchedule`, the taint Kubernetes
    /// recommends for Windows nodes and GKE puts on its Windows Server node
    /// pools itself. AKS and EKS taint Windows nodes only when you ask (AKS
    /// `--node-taints`, eksctl `taints`): give them this taint, or write the
    /// one they carry here (older AKS guides use `os=windows:NoSchedule`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_node_taint: Option<Taint>,
    /// With `engine: validating-admission-policy` on Kubernetes 1.34 or 1.35:
    /// also render the mutations (internal load balancer annotation, namespace
    /// annotations, Windows scheduling) as MutatingAdmissionPolicy
    /// `admissionregistration.k8s.io/v1beta1`, which those versions serve only
    /// with the `MutatingAdmissionPolicy` feature gate and the v1beta1 API
    /// turned on (`--runtime-config=admissionregistration.k8s.io/v1beta1=true`).
    /// From 1.36 the `v1` policies are rendered without it; on 1.33 there are none.
    #[serde(default)]
    pub mutating_admission_policy_beta: bool,
}

/// A node taint: `key=value:effect`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    /// The taint key (a label key), e.g. `node.kubernetes.io/os`.
    #[schemars(example = &"node.kubernetes.io/os")]
    pub key: String,
    /// The taint value (a label value; may be empty).
    #[serde(default)]
    #[schemars(example = &"windows")]
    pub value: String,
    /// What the taint does to pods that do not tolerate it.
    pub effect: TaintEffect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyEngine {
    Gatekeeper,
    ValidatingAdmissionPolicy,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Exception {
    /// The policy rule waived (a field name of `policy`, e.g. `allowedRegistries`).
    pub rule: String,
    pub namespaces: Vec<String>,
    /// What is allowed in addition (for `allowedRegistries`: image prefixes).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Who answers for the waiver (an email address).
    pub owner: String,
    /// The tracking ticket.
    pub ticket: String,
    /// Last day the waiver holds (YYYY-MM-DD).
    #[schemars(pattern(r"^\d{4}-\d{2}-\d{2}$"), example = &"2030-06-30")]
    pub expires: String,
}
