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

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::diag::Diagnostic;
use crate::manifest::{Manifest, RenderError};
use crate::model::{self, Model};
use crate::profile::Platform;
use crate::source::FieldPath;

mod aks;
pub mod audit;
mod eks;
pub mod encryption;
mod flags;
mod gke;
pub mod identity;
mod kubeadm;
pub mod kubelet;
pub mod managed_logs;
#[cfg(test)]
mod tests;

use aks::render_aks;
use audit::Flag;
use eks::render_eks;
pub use flags::kubeadm_flags;
use gke::render_gke;
use kubeadm::render_kubeadm;

/// The encryption-at-rest config on a kubeadm control-plane node (written by
/// `encryption` with a key placeholder; kharden never writes keys).
pub use encryption::CONFIG_PATH as ENCRYPTION_CONFIG_PATH;
/// Where `kubeadm init` reads the per-node patches kharden writes.
pub const PATCH_DIR: &str = "/etc/kubernetes/kharden-patches";

/// The kubeadm cluster CA, which kubeadm already mounts (`/etc/kubernetes/pki`).
const CLUSTER_CA: &str = "/etc/kubernetes/pki/ca.crt";

/// The platform's control-plane files.
pub fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    Ok(match m.profile.cluster.platform {
        Platform::Kubeadm => render_kubeadm(m)?,
        Platform::Eks => vec![render_eks(m)?],
        Platform::Aks => vec![render_aks(m)?],
        Platform::Gke => vec![render_gke(m)?],
    })
}

/// At most one warning line: the fields the chosen platform does not use.
pub fn warnings(m: &Model) -> Vec<String> {
    let p = &m.profile;
    let a = &p.api_server;
    let platform = p.cluster.platform;
    let mut parts = Vec::new();
    if platform == Platform::Kubeadm {
        if a.private && a.advertise_address.is_none() {
            // Only the built-in default is left here: `validate` refuses a
            // written `private: true` without an address.
            parts.push("`apiServer.private` is true by default, but without `apiServer.advertiseAddress` the kubeadm API server listens on every interface (0.0.0.0): set the node's private address, or `private: false`".to_owned());
        }
        if !a.authorized_networks.is_empty() {
            parts.push("`apiServer.authorizedNetworks` is not rendered for kubeadm: limit port 6443 in the network in front of the control plane".to_owned());
        }
    } else {
        let name = match platform {
            Platform::Eks => "eks (identity as eksctl `identityProviders`)",
            Platform::Aks => "aks (identity as Entra ID `aadProfile`)",
            _ => "gke (identity through GKE Identity Service)",
        };
        let mut unused = Vec::new();
        if p.identity.as_ref().is_some_and(|i| i.oidc.is_some()) {
            unused.push("`identity.mode`");
        }
        if a.advertise_address.is_some() {
            unused.push("`apiServer.advertiseAddress`");
        }
        let e = &a.encryption;
        if e.provider != crate::profile::EncryptionProvider::Secretbox
            || e.kms_endpoint.is_some()
            || e.kms_name.is_some()
        {
            // The provider encrypts etcd itself; its key settings are the cloud's.
            unused.push("`apiServer.encryption`");
        }
        if !unused.is_empty() {
            let verb = if unused.len() == 1 { "does" } else { "do" };
            parts.push(format!(
                "the API server is managed on {name}: {} {verb} not apply",
                unused.join(" and ")
            ));
        }
        if platform == Platform::Aks
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
        if matches!(platform, Platform::Eks | Platform::Aks)
            && a.private
            && !a.authorized_networks.is_empty()
        {
            let on = if platform == Platform::Eks {
                "eks"
            } else {
                "aks"
            };
            parts.push(format!("on {on} `apiServer.authorizedNetworks` only limit a public endpoint, which `private: true` turns off: they are not rendered"));
        }
        if m.mutating_admission_policy_beta() {
            let how = if platform == Platform::Gke {
                "on gke turn the beta API on per resource (`gcloud container clusters update --enable-kubernetes-unstable-apis=admissionregistration.k8s.io/v1beta1/mutatingadmissionpolicies,admissionregistration.k8s.io/v1beta1/mutatingadmissionpolicybindings`); GKE sets the feature gates itself"
            } else {
                "the provider sets the API server's feature gates and runtime config, and kharden cannot"
            };
            parts.push(format!("`policy.mutatingAdmissionPolicyBeta` renders v1beta1 MutatingAdmissionPolicies, served only with the `MutatingAdmissionPolicy` feature gate and `admissionregistration.k8s.io/v1beta1` on: {how}; before applying, check that `kubectl api-resources --api-group=admissionregistration.k8s.io` lists mutatingadmissionpolicies"));
        }
    }
    if parts.is_empty() {
        Vec::new()
    } else {
        vec![format!("warning: {}", parts.join("; "))]
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        // Unique local addresses, fc00::/7.
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Checks of `apiServer` (audit checks live in `audit`).
pub fn validate(m: &Model, _plan: &mut crate::plan::Plan, out: &mut Vec<Diagnostic>) {
    let a = &m.profile.api_server;
    let base = FieldPath::root().key("apiServer");
    let platform = m.profile.cluster.platform;
    if let Some(addr) = &a.advertise_address {
        match addr.parse::<IpAddr>() {
            Err(_) => out.push(
                Diagnostic::error(
                    base.key("advertiseAddress"),
                    format!("`{addr}` is not an IP address"),
                )
                .hint("write the node's private address, e.g. 10.0.0.10"),
            ),
            Ok(ip) if a.private && platform == Platform::Kubeadm && !is_private(ip) => out.push(
                Diagnostic::error(
                    base.key("advertiseAddress"),
                    format!("`{addr}` is not a private address, but `apiServer.private` is true"),
                )
                .hint("use an address in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or fc00::/7, or set `private: false`"),
            ),
            Ok(_) => {}
        }
    }
    let mut cidrs = Vec::new();
    for (i, n) in a.authorized_networks.iter().enumerate() {
        let path = base.key("authorizedNetworks").index(i);
        if let Some(c) = model::cidr(out, &path, n) {
            cidrs.push((path, c));
        }
    }
    if a.private {
        for (path, c) in &cidrs {
            if c.prefix == 0 {
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
    if platform == Platform::Kubeadm
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
    audit::validate(m, out);
}
