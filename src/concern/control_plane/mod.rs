//! API-server hardening and private access, per `cluster.platform`. These are
//! control-plane files, not Kubernetes API objects: they are written under
//! `control-plane/<platform>/` and kept out of the kustomization and the stream.
//!
//! - `kubeadm`: a `ClusterConfiguration` (`kubeadm.k8s.io/v1beta4`, `extraArgs`
//!   as `{name, value}` lists) carrying the CIS 1.2 flags (each named with its
//!   CIS id in the file's comments), the audit and identity flags and the host
//!   mounts for the files they point to; an `InitConfiguration` with the private
//!   `advertiseAddress`; the audit `Policy` and the `AuthenticationConfiguration`.
//! - `eks`: an eksctl `ClusterConfig` fragment (endpoint access, OIDC identity
//!   provider, control-plane logging).
//! - `aks`: the ARM `managedClusters` `properties` (private cluster or authorized
//!   IP ranges, Entra ID, local accounts off), shown as YAML.
//! - `gke`: the REST `Cluster` fields for the current (non-deprecated) endpoint
//!   and authorized-network settings.
//!
//! Each of those four files implements `Target` (its files, its warnings, its
//! log export); `target` picks one through the platform seam
//! (`platform::dispatch`), and what a platform *is* (who runs the control
//! plane, how users sign in) is asked of `platform::Rules`. The checks leave
//! what they parsed in `plan.control_plane` (`valid`), which the renderers read.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::bundle::manifest::{Manifest, RenderError};
use crate::input::diag::Diagnostic;
use crate::input::source::FieldPath;
use crate::pipeline::model::{self, Model};
use crate::platform::{ControlPlane, PerPlatform};

mod aks;
pub(crate) mod audit;
mod eks;
pub(crate) mod encryption;
mod flags;
mod gke;
pub(crate) mod identity;
mod kubeadm;
pub(crate) mod kubelet;
pub(crate) mod managed_logs;
#[cfg(test)]
mod tests;
pub(crate) mod valid;

use audit::Flag;
pub(crate) use flags::kubeadm_flags;
use valid::At;

/// The encryption-at-rest config on a kubeadm control-plane node (written by
/// `encryption` with a key placeholder; kharden never writes keys).
pub(crate) use encryption::CONFIG_PATH as ENCRYPTION_CONFIG_PATH;
/// Where `kubeadm init` reads the per-node patches kharden writes.
pub(crate) const PATCH_DIR: &str = "/etc/kubernetes/kharden-patches";

/// The kubeadm cluster CA, which kubeadm already mounts (`/etc/kubernetes/pki`).
const CLUSTER_CA: &str = "/etc/kubernetes/pki/ca.crt";

/// What this concern writes and says on one platform: one implementation per
/// platform file here (`kubeadm`, `eks`, `aks`, `gke`), no defaults, picked by
/// `target` through the platform seam, so a new platform fails to compile
/// until its file here exists too.
trait Target: Sync {
    /// The platform's control-plane files.
    fn render(&self, m: &Model) -> Result<Vec<Manifest>, RenderError>;
    /// The parts of the one warning line: the fields this platform does not use.
    fn warnings(&self, m: &Model) -> Vec<String>;
    /// The files that export the control-plane (`cp`) and audit logs the
    /// provider keeps, beyond its cluster settings.
    fn log_export(&self, m: &Model, cp: bool, audit: bool) -> Result<Vec<Manifest>, RenderError>;
    /// Where those logs go and how they reach Elasticsearch; `None` where the
    /// nodes keep them (the collector ships them).
    fn log_note(&self) -> Option<&'static str>;
}

struct TargetOf;

impl PerPlatform for TargetOf {
    type Out = &'static dyn Target;
    fn kubeadm(self) -> Self::Out {
        &kubeadm::Kubeadm
    }
    fn eks(self) -> Self::Out {
        &eks::Eks
    }
    fn aks(self) -> Self::Out {
        &aks::Aks
    }
    fn gke(self) -> Self::Out {
        &gke::Gke
    }
}

/// This concern's work on the model's platform.
fn target(m: &Model) -> &'static dyn Target {
    crate::platform::dispatch(m.profile.cluster.platform, TargetOf)
}

/// The platform's control-plane files.
pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    target(m).render(m)
}

/// At most one warning line: the fields the chosen platform does not use.
pub(crate) fn warnings(m: &Model) -> Vec<String> {
    let parts = target(m).warnings(m);
    if parts.is_empty() {
        Vec::new()
    } else {
        vec![format!("warning: {}", parts.join("; "))]
    }
}

/// The warning parts every managed platform shares: `on` names the platform
/// and its identity form; `networks_need_public` says its authorized networks
/// limit only a public endpoint; `beta_api` says how its API server serves the
/// v1beta1 MutatingAdmissionPolicy API.
fn managed_warnings(
    m: &Model,
    on: &str,
    networks_need_public: bool,
    beta_api: &str,
) -> Vec<String> {
    let p = &m.profile;
    let a = &p.api_server;
    let mut parts = Vec::new();
    let mut unused = Vec::new();
    if p.identity.as_ref().is_some_and(|i| i.oidc.is_some()) {
        unused.push("`identity.mode`");
    }
    if a.advertise_address.is_some() {
        unused.push("`apiServer.advertiseAddress`");
    }
    let e = &a.encryption;
    if e.provider != crate::input::profile::EncryptionProvider::Secretbox
        || e.kms_endpoint.is_some()
        || e.kms_name.is_some()
    {
        // The provider encrypts etcd itself; its key settings are the cloud's.
        unused.push("`apiServer.encryption`");
    }
    if !unused.is_empty() {
        let verb = if unused.len() == 1 { "does" } else { "do" };
        parts.push(format!(
            "the API server is managed on {on}: {} {verb} not apply",
            unused.join(" and ")
        ));
    }
    if m.platform().identity().entra_id
        && identity::oidc(m).is_some_and(|o| {
            o.username_prefix.as_deref().is_some_and(|s| !s.is_empty())
                || o.groups_prefix.as_deref().is_some_and(|s| !s.is_empty())
        })
    {
        parts.push("Entra ID names users and groups itself, so the OIDC prefixes are not applied and RBAC subjects are written without them".to_owned());
    }
    // The same profile renders on every platform (AKS itself refuses the
    // pair, so it is never sent there). GKE keeps the ranges: with
    // `privateEndpointEnforcementEnabled` they limit the private endpoint too.
    if networks_need_public && a.private && !m.plan.control_plane.authorized_networks.is_empty() {
        let name = m.platform().name();
        parts.push(format!("on {name} `apiServer.authorizedNetworks` only limit a public endpoint, which `private: true` turns off: they are not rendered"));
    }
    if m.mutating_admission_policy_beta() {
        parts.push(format!("`policy.mutatingAdmissionPolicyBeta` renders v1beta1 MutatingAdmissionPolicies, served only with the `MutatingAdmissionPolicy` feature gate and `admissionregistration.k8s.io/v1beta1` on: {beta_api}; before applying, check that `kubectl api-resources --api-group=admissionregistration.k8s.io` lists mutatingadmissionpolicies"));
    }
    parts
}

/// How a managed provider's API server gets the beta API on, where it has no
/// switch kharden can write.
const BETA_API_BY_PROVIDER: &str =
    "the provider sets the API server's feature gates and runtime config, and kharden cannot";

/// The authorized networks as the profile wrote them (the providers' fields take text).
fn network_texts(m: &Model) -> Vec<&str> {
    m.plan
        .control_plane
        .authorized_networks
        .iter()
        .map(|n| n.text.as_str())
        .collect()
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        // Unique local addresses, fc00::/7.
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Checks of `apiServer` (audit checks live in `audit`); the addresses and
/// networks they accept go to `plan.control_plane`.
pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    let a = &m.profile.api_server;
    let base = FieldPath::root().key("apiServer");
    // Where kharden writes the API server's command line, `private` is an
    // address it binds to; a provider keeps its own endpoint private.
    let nodes = m.platform().control_plane() == ControlPlane::Nodes;
    let valid = &mut plan.control_plane;
    if let Some(addr) = &a.advertise_address {
        let path = base.key("advertiseAddress");
        match addr.parse::<IpAddr>() {
            Err(_) => out.push(
                Diagnostic::error(path, format!("`{addr}` is not an IP address"))
                    .hint("write the node's private address, e.g. 10.0.0.10"),
            ),
            Ok(ip) => {
                if a.private && nodes && !is_private(ip) {
                    out.push(
                        Diagnostic::error(
                            path.clone(),
                            format!("`{addr}` is not a private address, but `apiServer.private` is true"),
                        )
                        .hint("use an address in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or fc00::/7, or set `private: false`"),
                    );
                }
                valid.advertise_address = Some(At {
                    path,
                    text: addr.clone(),
                    value: ip,
                });
            }
        }
    }
    for (i, n) in a.authorized_networks.iter().enumerate() {
        let path = base.key("authorizedNetworks").index(i);
        if let Some(c) = model::cidr(out, &path, n) {
            valid.authorized_networks.push(At {
                path,
                text: n.clone(),
                value: c,
            });
        }
    }
    if a.private {
        for n in &valid.authorized_networks {
            if n.value.prefix == 0 {
                let path = &n.path;
                out.push(
                    Diagnostic::error(
                        path.clone(),
                        format!("`{path}` opens the API endpoint to every address, but `apiServer.private` is true"),
                    )
                    .hint("list only the networks that need the API, e.g. 10.0.0.0/8"),
                );
            }
        }
    }
    if nodes
        && a.private
        && a.advertise_address.is_none()
        && m.sources.set_by(&base.key("private")).is_some()
    {
        // Without an address there is nothing to bind to, and kube-apiserver
        // listens on 0.0.0.0: the profile (or a preset it extends) asks for
        // more than kharden can render. The built-in default alone is a warning.
        out.push(
            Diagnostic::error(
                base.key("private"),
                "`apiServer.private` is true, but without `apiServer.advertiseAddress` the kubeadm API server listens on every interface (0.0.0.0)".to_owned(),
            )
            .hint("set `apiServer.advertiseAddress` to the control-plane node's private address (the API server then binds to it only), or set `private: false`"),
        );
    }
    valid.audit_log = audit::validate(m, out);
}
