//! Stage 2: the validated cluster model. Loading runs the structural schema
//! check, the typed parse and every semantic check (here for the cluster-wide
//! sections, in the concern files for theirs), and reports all problems at once.

use std::path::Path;

use serde_json::Value;

use crate::clock::Date;
use crate::concern;
use crate::diag::{Diagnostic, Diagnostics};
use crate::names;
use crate::net::Cidr;
use crate::profile::{IdentityMode, Platform, Profile};
use crate::source::{self, FieldPath, Sources};

/// Kubernetes minor versions kharden renders for.
pub const SUPPORTED_VERSIONS: &[&str] = &["1.33", "1.34", "1.35", "1.36", "1.37"];

/// A profile that passed every check, with what it was read from.
#[derive(Debug)]
pub struct Model {
    pub profile: Profile,
    pub sources: Sources,
    /// The profile path as the user gave it (shown in file headers).
    pub display: String,
    pub today: Date,
    /// The directory the profile was read from (None for profiles given as text);
    /// extension templates are read relative to it.
    pub dir: Option<std::path::PathBuf>,
    /// Extension templates, read at load: (path as written, text).
    pub templates: Vec<(String, String)>,
    /// The profile's flows, resolved on first use (validation and several
    /// concerns read them).
    flows: std::sync::OnceLock<Vec<crate::flows::Flow>>,
}

impl Model {
    /// Every flow of the profile, both ends resolved (computed once).
    pub fn flows(&self) -> &[crate::flows::Flow] {
        self.flows.get_or_init(|| crate::flows::resolve_all(self))
    }

    /// The prefix every user subject gets: the one the API server itself applies.
    /// With `--oidc-*` flags and no prefix set, Kubernetes prefixes `<issuer>#` to
    /// every claim but `email`; `-` turns prefixing off. The structured config has
    /// no implicit prefix. On EKS the identity provider follows the flags' rules
    /// whatever `identity.mode` says; on AKS Entra ID names users itself, so no
    /// prefix applies.
    pub fn user_prefix(&self) -> String {
        let Some(identity) = &self.profile.identity else {
            return String::new();
        };
        let Some(oidc) = &identity.oidc else {
            return String::new();
        };
        let mode = match self.profile.cluster.platform {
            Platform::Aks => return String::new(),
            Platform::Eks => IdentityMode::Flags,
            Platform::Kubeadm | Platform::Gke => identity.mode,
        };
        match (oidc.username_prefix.as_deref(), mode) {
            (Some("-"), _) => String::new(),
            (Some(p), _) => p.to_owned(),
            (None, IdentityMode::Config) => String::new(),
            (None, IdentityMode::Flags) => {
                if oidc.username_claim.as_deref() == Some("email") {
                    String::new()
                } else {
                    format!("{}#", oidc.issuer_url)
                }
            }
        }
    }

    /// The prefix every group subject gets (none on AKS, see `user_prefix`).
    pub fn group_prefix(&self) -> String {
        if self.profile.cluster.platform == Platform::Aks {
            return String::new();
        }
        self.profile
            .identity
            .as_ref()
            .and_then(|i| i.oidc.as_ref())
            .and_then(|o| o.groups_prefix.clone())
            .unwrap_or_default()
    }

    /// The Kubernetes minor version as a number (33 for "1.33").
    pub fn minor(&self) -> u32 {
        minor_of(&self.profile.cluster.kubernetes_version).unwrap_or(33)
    }
}

fn minor_of(v: &str) -> Option<u32> {
    v.strip_prefix("1.")?.parse().ok()
}

/// The JSON Schema of the profile format.
pub fn profile_schema() -> Value {
    let schema = schemars::schema_for!(Profile);
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

/// Load, merge, check and parse a profile.
pub fn load(path: &Path, display: &str, today: Date) -> Result<Model, Diagnostics> {
    let (value, sources) = source::load(path, display)?;
    let dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .map(Path::to_path_buf);
    check(value, sources, display, today, dir)
}

/// Load a profile given as text; `extends:` may name built-in presets only.
pub fn load_text(text: &str, display: &str, today: Date) -> Result<Model, Diagnostics> {
    let (value, sources) = source::load_text(text, display)?;
    check(value, sources, display, today, None)
}

fn check(
    mut value: Value,
    sources: Sources,
    display: &str,
    today: Date,
    dir: Option<std::path::PathBuf>,
) -> Result<Model, Diagnostics> {
    let mut diags = Diagnostics::default();
    let (found, fatal) = crate::schema_check::check(&profile_schema(), &mut value);
    diags.extend(found);
    if fatal {
        return Err(diags.with_sources(sources));
    }
    let profile: Profile = match serde_path_to_error::deserialize(&value) {
        Ok(p) => p,
        Err(e) => {
            let path: FieldPath = e.path().to_string().parse().unwrap_or_default();
            let msg = e.into_inner().to_string();
            diags.push(Diagnostic::error(path.clone(), format!("`{path}`: {msg}")));
            return Err(diags.with_sources(sources));
        }
    };
    // The generic tree is as large as the typed profile; free it before validating
    // and rendering rather than carry both to the end.
    drop(value);
    let mut found = Vec::new();
    let templates = concern::extension::read(&profile, dir.as_deref(), &mut found);
    let model = Model {
        profile,
        sources,
        display: display.to_owned(),
        today,
        dir,
        templates,
        flows: std::sync::OnceLock::new(),
    };
    validate(&model, &mut found);
    diags.extend(found);
    if diags.is_empty() {
        Ok(model)
    } else {
        Err(diags.with_sources(model.sources))
    }
}

/// Every semantic check, cluster-wide sections first, then each concern.
fn validate(m: &Model, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    let root = FieldPath::root();
    label(out, &root.key("metadata").key("name"), &p.metadata.name);
    label(out, &root.key("cluster").key("name"), &p.cluster.name);
    let v = &p.cluster.kubernetes_version;
    if !SUPPORTED_VERSIONS.contains(&v.as_str()) {
        out.push(
            Diagnostic::error(
                root.key("cluster").key("kubernetesVersion"),
                format!("Kubernetes version `{v}` is not supported"),
            )
            .hint(format!(
                "use one of {} (quoted, minor version only)",
                SUPPORTED_VERSIONS.join(", ")
            )),
        );
    }
    if let Some(d) = &p.cluster.ingress_domain
        && let Err(e) = names::dns_subdomain(d)
    {
        out.push(
            Diagnostic::error(
                root.key("cluster").key("ingressDomain"),
                format!("`{d}` is not a valid DNS domain: {e}"),
            )
            .hint("write the domain tenant hosts go under, e.g. apps.prod-east.example.ca (no empty labels, no leading or trailing dot)"),
        );
    }
    concern::apiserver::validate(m, out);
    concern::encryption::validate(m, out);
    concern::identity::validate(m, out);
    concern::namespace::validate(m, out);
    concern::rbac::validate(m, out);
    concern::quota::validate(m, out);
    concern::network::validate(m, out);
    concern::gateway::validate(m, out);
    concern::logging::validate(m, out);
    concern::mesh::validate(m, out);
    concern::policy::validate(m, out);
    concern::extension::validate(m, out);
}

/// Report every key of `labels` (at `path`) that is not a label key, and every
/// value that is not a label value.
pub fn labels(
    out: &mut Vec<Diagnostic>,
    path: &FieldPath,
    labels: &std::collections::BTreeMap<String, String>,
) {
    for (k, v) in labels {
        if let Err(e) = names::qualified_name(k) {
            out.push(
                Diagnostic::error(path.key(k), format!("`{k}` is not a valid label key: {e}"))
                    .at_key(),
            );
        }
        if let Err(e) = names::label_value(v) {
            out.push(Diagnostic::error(
                path.key(k),
                format!("`{v}` is not a valid label value: {e}"),
            ));
        }
    }
}

/// Report `value` at `path` unless it is a DNS label.
pub fn label(out: &mut Vec<Diagnostic>, path: &FieldPath, value: &str) {
    if let Err(e) = names::dns_label(value) {
        out.push(
            Diagnostic::error(path.clone(), format!("`{value}` is not a valid name: {e}"))
                .hint("use a DNS-1123 label: lower-case letters, digits and `-`, at most 63 characters, e.g. `team-a`"),
        );
    }
}

/// Report `value` at `path` unless it is a CIDR block; the block when it is.
pub fn cidr(out: &mut Vec<Diagnostic>, path: &FieldPath, value: &str) -> Option<Cidr> {
    match Cidr::parse(value) {
        Ok(c) => Some(c),
        Err(e) => {
            out.push(
                Diagnostic::error(path.clone(), format!("`{path}` is not a valid CIDR: {e}"))
                    .hint("write an IPv4 or IPv6 block such as 10.20.0.0/16"),
            );
            None
        }
    }
}
