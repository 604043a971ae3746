//! Profile types of the cluster services kharden configures: `logging`,
//! `mesh`, `policy` and its exceptions.

use super::*;

section! {
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

section! {
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

section! {
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
        /// Requests and limits of every injected proxy (Istio: istiod values
        /// `global.proxy.resources`; Linkerd: namespace annotations). Default:
        /// 100m/128Mi requested, 500m/256Mi limit, lowered to fit the smallest
        /// meshed LimitRange `max`. Istio's own default limit (2 CPU, 1Gi) is
        /// refused by tight LimitRanges and eats the quota.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub sidecar_resources: Option<SidecarResources>,
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SidecarResources {
    /// `cpu` and `memory` the proxy requests.
    #[serde(default)]
    pub requests: BTreeMap<String, QuantityValue>,
    /// `cpu` and `memory` the proxy may use at most.
    #[serde(default)]
    pub limits: BTreeMap<String, QuantityValue>,
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

section! {
    pub struct MeshDefaults {
        /// Request timeout, e.g. `15s`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timeout: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub retries: Option<Retries>,
    }
}

section! {
    pub struct Retries {
        pub attempts: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub per_try_timeout: Option<String>,
    }
}

section! {
    pub struct Policy {
        /// `gatekeeper`: ConstraintTemplates, Constraints and mutators;
        /// `validating-admission-policy`: native CEL policies.
        pub engine: PolicyEngine,
        /// Where every image must come from. `registry.example.com` (or
        /// `registry.example.com/*`): everything on the host;
        /// `registry.example.com/team/*`: everything under the path;
        /// `registry.example.com/team/app`: that repository, any tag or digest;
        /// `…/app:1.2` or `…/app@sha256:…`: exactly that image. Docker Hub
        /// official images are `docker.io/library/nginx`.
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
        /// Services of type NodePort are refused in every namespace but the
        /// exempt ones: a node port opens the service on every node's address,
        /// outside the ingress path and its policies. Profile namespaces also
        /// close them by quota (`services.nodeports: 0`); this rule covers the
        /// rest (`default`, namespaces created later), and leaves a profile
        /// namespace whose quota opens node ports to it. LoadBalancer Services,
        /// whose node ports the cloud load balancer forwards to, are left to
        /// `internalLoadBalancers` and the quota. On by default; an exception
        /// (`rule: noNodePorts`) waives it for named namespaces.
        #[serde(default = "yes")]
        pub no_node_ports: bool,
        /// Resources every container (and init container) must set a limit
        /// for, in every namespace whose LimitRange does not give one by
        /// default: `default` and any namespace created later, profile
        /// namespaces without `containerLimits` for them, and not the exempt
        /// ones. A request left out defaults to the limit, so the pods get
        /// both. A pod-level limit (`spec.resources.limits`) counts for all its
        /// containers. Default `[cpu, memory]`; `[]` turns the rule off.
        #[serde(default = "cpu_and_memory")]
        pub required_limits: Vec<String>,
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
        /// A label that says which department created an object. Objects a
        /// member of a mapped group creates in a profile namespace (not an
        /// exempt one) carry it: set by a MutatingAdmissionPolicy where the
        /// native engine renders one, otherwise (Gatekeeper, or the native
        /// engine without mutation) a create without it, or with another
        /// department's value, is refused with a message saying what to set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub department_label: Option<DepartmentLabel>,
        /// How the rules act, for a rollout in steps: `deny` (the default)
        /// refuses what breaks a rule; `warn` admits it with a warning to the
        /// client (and Gatekeeper's audit records it); `audit` admits it and
        /// only records it (Gatekeeper `dryrun`, a native `Audit` binding).
        /// Pod Security follows as `podSecurity`: under `warn` or `audit` its
        /// `enforce` label is held back at `privileged` while `warn` and `audit`
        /// stay at `restricted`. Write one mode (`enforcement: warn`) or
        /// `{default, rules, namespaces}`; the most specific wins: a namespace's
        /// mode over a rule's over the default.
        #[serde(default)]
        pub enforcement: Enforcement,
    }
}

/// What an admission rule does with a request that breaks it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum EnforcementMode {
    /// Refuse it (Gatekeeper `deny`, native `[Deny]`, Pod Security `enforce`).
    #[default]
    Deny,
    /// Admit it with a warning to the client, and record it (Gatekeeper
    /// `warn`, native `[Warn, Audit]`, Pod Security `warn`).
    Warn,
    /// Admit it and record it only (Gatekeeper `dryrun`, native `[Audit]`,
    /// Pod Security `audit`).
    Audit,
}

impl EnforcementMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EnforcementMode::Audit => "audit",
            EnforcementMode::Warn => "warn",
            EnforcementMode::Deny => "deny",
        }
    }
}

/// `policy.enforcement`: one mode for every rule, or a default with
/// per-rule and per-namespace modes.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Enforcement {
    /// The mode of every rule in every namespace, e.g. `warn`.
    All(EnforcementMode),
    /// A default, then modes per rule and per namespace.
    Detailed(EnforcementSpec),
}

impl Default for Enforcement {
    fn default() -> Enforcement {
        Enforcement::All(EnforcementMode::Deny)
    }
}

section! {
    /// Modes per rule and per namespace; a namespace's mode wins over a rule's,
    /// a rule's over `default`.
    pub struct EnforcementSpec {
        /// The mode of rules and namespaces not listed below. Default `deny`.
        #[serde(default)]
        pub default: EnforcementMode,
        /// Modes by rule: a field name of `policy` (`allowedRegistries`,
        /// `requiredAnnotations`, `noNodePorts`, ...) or `podSecurity`.
        #[serde(default)]
        pub rules: BTreeMap<String, EnforcementMode>,
        /// Modes by namespace, for every rule there (Pod Security included):
        /// e.g. `{team-a: audit}` while team-a's workloads are brought in line.
        #[serde(default)]
        pub namespaces: BTreeMap<String, EnforcementMode>,
    }
}

/// The rule key Pod Security goes by in `policy.enforcement.rules`.
pub(crate) const POD_SECURITY_RULE: &str = "podSecurity";

/// The Namespace annotation naming the Pod Security level a rollout holds
/// `enforce` back from (`policy.enforcement` warn or audit).
pub(crate) const POD_SECURITY_TARGET: &str = "kharden.dev/pod-security-target";

impl Enforcement {
    /// The mode of `rule` (a `policy` field name or `podSecurity`) in
    /// namespace `ns` (`None`: namespaces no override names).
    pub fn mode(&self, rule: &str, ns: Option<&str>) -> EnforcementMode {
        match self {
            Enforcement::All(m) => *m,
            Enforcement::Detailed(s) => ns
                .and_then(|n| s.namespaces.get(n))
                .or_else(|| s.rules.get(rule))
                .copied()
                .unwrap_or(s.default),
        }
    }

    /// The namespaces with a mode of their own.
    pub fn namespaces(&self) -> Vec<(&str, EnforcementMode)> {
        match self {
            Enforcement::All(_) => Vec::new(),
            Enforcement::Detailed(s) => {
                s.namespaces.iter().map(|(k, v)| (k.as_str(), *v)).collect()
            }
        }
    }
}

fn cpu_and_memory() -> Vec<String> {
    vec!["cpu".to_owned(), "memory".to_owned()]
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

section! {
    pub struct Exception {
        /// The policy rule waived (a field name of `policy`, e.g. `allowedRegistries`).
        pub rule: String,
        pub namespaces: Vec<String>,
        /// What is allowed in addition (for `allowedRegistries`: registry
        /// entries, written as in `policy.allowedRegistries`).
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
}

section! {
    /// `policy.departmentLabel`: which label names the department, and which
    /// identity-provider groups belong to which department.
    pub struct DepartmentLabel {
        /// The label key, e.g. `department` or `example.ca/department`.
        #[schemars(example = &"department")]
        pub key: String,
        /// Group id to department (a label value), e.g. `{finance-team:
        /// finance}`. Write the bare group id, as in `access`: the OIDC group
        /// prefix from `identity.oidc` is applied for you. A member of groups
        /// of two departments must set the label to one of them; nothing is
        /// chosen for them.
        pub groups: BTreeMap<String, String>,
    }
}
