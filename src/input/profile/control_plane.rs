//! Profile types of the control plane: `apiServer` (private access, audit,
//! encryption at rest) and `identity` (OIDC, platform admin groups).

use super::*;

section! {
    pub struct ApiServer {
        /// Private API: not reachable from the internet. Default true. On kubeadm
        /// it needs `advertiseAddress` (the API server binds to it only); a
        /// written `private: true` without one is refused.
        #[serde(default = "yes")]
        pub private: bool,
        /// kubeadm only: the private address the API server binds to (with
        /// `private: true`) and advertises.
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

section! {
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

section! {
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
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdentityMode {
    #[default]
    Flags,
    Config,
}

section! {
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
}
