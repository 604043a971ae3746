//! Stage 2: the validated cluster model (built by `load`), with the checks on
//! names, labels and CIDRs every concern shares.

use serde_json::Value;

use crate::input::clock::Date;
use crate::input::diag::Diagnostic;
use crate::input::profile::{IdentityMode, Profile};
use crate::input::source::{FieldPath, Sources};
use crate::k8s::names;
use crate::k8s::net::Cidr;

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
    /// What the concerns decided while validating; renderers read this.
    pub plan: crate::pipeline::plan::Plan,
    /// The profile's flows, resolved on first use (validation and several
    /// concerns read them).
    flows: std::sync::OnceLock<Vec<crate::pipeline::flows::Flow>>,
    /// How the allowance plan is decided: every concern's contribution, which
    /// `load` (it knows the registry, the model does not) hands over.
    decide_allowances: fn(&Model) -> crate::pipeline::allowance::Allowances,
}

impl crate::pipeline::flows::Profiled for Model {
    fn profile(&self) -> &Profile {
        &self.profile
    }
}

impl Model {
    /// A model of a parsed profile; its flows and its allowance plan (decided
    /// by `decide_allowances`) are worked out on first use.
    pub fn new(
        profile: Profile,
        sources: Sources,
        display: String,
        today: Date,
        dir: Option<std::path::PathBuf>,
        templates: Vec<(String, String)>,
        decide_allowances: fn(&Model) -> crate::pipeline::allowance::Allowances,
    ) -> Model {
        Model {
            profile,
            sources,
            display,
            today,
            dir,
            templates,
            plan: crate::pipeline::plan::Plan::default(),
            flows: std::sync::OnceLock::new(),
            decide_allowances,
        }
    }

    /// What the cluster's platform decides (the one seam over `cluster.platform`).
    pub(crate) fn platform(&self) -> &'static dyn crate::platform::Rules {
        crate::platform::of(self.profile.cluster.platform)
    }

    /// Who may enter and leave each namespace: the allowance plan of a valid
    /// model, decided on first use and kept (the NetworkPolicies and the mesh
    /// grants are rendered from it).
    pub fn allowances(&self) -> &crate::pipeline::allowance::Allowances {
        self.plan.allowances.get_or_init(|| {
            crate::pipeline::timing::stage("allowances", || (self.decide_allowances)(self))
        })
    }

    /// Every flow of the profile, both ends resolved (computed once).
    pub fn flows(&self) -> &[crate::pipeline::flows::Flow] {
        self.flows
            .get_or_init(|| crate::pipeline::flows::resolve_all(self))
    }

    /// The prefix every user subject gets: the one the API server itself applies.
    /// With `--oidc-*` flags and no prefix set, Kubernetes prefixes `<issuer>#` to
    /// every claim but `email`; `-` turns prefixing off. The structured config has
    /// no implicit prefix. The platform says whose rules apply (on EKS the
    /// flags' whatever `identity.mode` says; on AKS Entra ID names users itself,
    /// so no prefix applies).
    pub fn user_prefix(&self) -> String {
        let Some(identity) = &self.profile.identity else {
            return String::new();
        };
        let Some(oidc) = &identity.oidc else {
            return String::new();
        };
        let Some(mode) = self.platform().identity().prefix_mode(identity.mode) else {
            return String::new();
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

    /// The prefix every group subject gets (none where the platform names
    /// groups itself, see `user_prefix`).
    pub fn group_prefix(&self) -> String {
        if self
            .platform()
            .identity()
            .prefix_mode(IdentityMode::Flags)
            .is_none()
        {
            return String::new();
        }
        self.profile
            .identity
            .as_ref()
            .and_then(|i| i.oidc.as_ref())
            .and_then(|o| o.groups_prefix.clone())
            .unwrap_or_default()
    }

    /// Whether the native policy engine renders its MutatingAdmissionPolicies as
    /// `admissionregistration.k8s.io/v1beta1` (`policy.mutatingAdmissionPolicyBeta`
    /// on 1.34 and 1.35, where that API is off by default): the API server must
    /// then run with the `MutatingAdmissionPolicy` feature gate and that API on.
    pub fn mutating_admission_policy_beta(&self) -> bool {
        self.plan.policy.mutating_beta()
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
            cidr_error(out, path, &e);
            None
        }
    }
}

/// Report the CIDR at `path` that did not parse.
pub fn cidr_error(out: &mut Vec<Diagnostic>, path: &FieldPath, e: &crate::k8s::net::CidrError) {
    out.push(
        Diagnostic::error(path.clone(), format!("`{path}` is not a valid CIDR: {e}"))
            .hint("write an IPv4 or IPv6 block such as 10.20.0.0/16"),
    );
}
