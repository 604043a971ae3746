//! What differs between the platforms a cluster runs on, behind one seam: the
//! only `match` on `profile::Platform` in the crate is `dispatch` below. Each
//! platform is one file (`kubeadm`, `eks`, `aks`, `gke`) implementing `Rules`
//! (no default methods), and every other module asks the platform's `Rules`
//! instead of comparing platforms, so a fifth platform does not compile until
//! its file answers every question, and no `!= Kubeadm` test treats it as
//! managed by accident.
//!
//! Work a layer above does per platform (the control-plane renderers) goes
//! through `PerPlatform`: one method per variant, so that work, too, fails to
//! compile until it handles a new platform. This module reads only the profile's
//! types: it sits below the model and the concerns.

use crate::input::profile::{IdentityMode, Platform};

mod aks;
mod eks;
mod gke;
mod kubeadm;

/// The questions every platform answers. No method has a default: a new
/// platform's file must answer each one.
pub(crate) trait Rules: Sync {
    /// The platform's name as the profile writes it (`cluster.platform`).
    fn name(&self) -> &'static str;
    /// Who runs the control plane, and so whether kharden writes the files its
    /// nodes read or the provider's cluster settings.
    fn control_plane(&self) -> ControlPlane;
    /// The Service annotation (key, value) that makes a LoadBalancer internal;
    /// `None` when the platform has no provider-wide convention.
    fn internal_lb_annotation(&self) -> Option<(&'static str, &'static str)>;
    /// How users sign in: whose rules prefix their names, and what the
    /// platform's identity service requires of the profile.
    fn identity(&self) -> Identity;
    /// The `apiServer:` lines `kharden init` writes under `private: true`:
    /// how the platform's API endpoint is reached, commented.
    fn starter_access(&self) -> &'static str;
}

/// Who runs the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlPlane {
    /// The cluster's own nodes: kharden writes the files they read (kubeadm
    /// configuration, kubelet, encryption, audit policy), and the control-plane
    /// and audit logs are files on those nodes, which the collector ships.
    Nodes,
    /// The provider: kharden writes its cluster settings, the API server's
    /// flags are the provider's, and the provider keeps the control-plane and
    /// audit logs (the collector ships only what is on the nodes).
    Managed,
}

/// How users sign in on a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    /// Whose rules prefix OIDC user and group names (RBAC subjects get the same).
    pub prefixes: Prefixes,
    /// Users sign in through Entra ID: only its issuers are accepted, it names
    /// member users by UPN (never by object ID), and local accounts are off, so
    /// an admin group must be named.
    pub entra_id: bool,
    /// Without OIDC, Google accounts sign in, and their groups reach RBAC only
    /// through Google Groups for RBAC (`identity.securityGroup`).
    pub google_groups: bool,
}

impl Identity {
    /// The `identity.mode` whose rules prefix names here (`configured` is the
    /// profile's), or `None` when no prefix applies.
    pub(crate) fn prefix_mode(&self, configured: IdentityMode) -> Option<IdentityMode> {
        match self.prefixes {
            Prefixes::Mode => Some(configured),
            Prefixes::Flags => Some(IdentityMode::Flags),
            Prefixes::None => None,
        }
    }
}

/// Whose rules decide the prefixes of OIDC user and group names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefixes {
    /// The API server's, by `identity.mode` (flags or structured config).
    Mode,
    /// The flags' rules whatever `identity.mode` says (an OIDC identity
    /// provider the platform configures from the same settings as the flags).
    Flags,
    /// None: the platform's identity service names users and groups itself.
    None,
}

/// Work a layer above this one does differently on each platform. One method
/// per platform and no defaults, so a new platform fails to compile until every
/// such job handles it.
pub(crate) trait PerPlatform {
    type Out;
    fn kubeadm(self) -> Self::Out;
    fn eks(self) -> Self::Out;
    fn aks(self) -> Self::Out;
    fn gke(self) -> Self::Out;
}

/// Runs `job`'s method for `platform`: the one `match` on the platform.
pub(crate) fn dispatch<J: PerPlatform>(platform: Platform, job: J) -> J::Out {
    match platform {
        Platform::Kubeadm => job.kubeadm(),
        Platform::Eks => job.eks(),
        Platform::Aks => job.aks(),
        Platform::Gke => job.gke(),
    }
}

/// Every platform, in the order `--platform` lists them (a test checks it
/// against the profile schema's list).
pub(crate) const ALL: [Platform; 4] = [
    Platform::Kubeadm,
    Platform::Aks,
    Platform::Eks,
    Platform::Gke,
];

/// The platform the profile spells `name`.
pub(crate) fn named(name: &str) -> Option<Platform> {
    ALL.into_iter().find(|p| of(*p).name() == name)
}

/// Every platform's name, as the profile writes it.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    ALL.into_iter().map(|p| of(p).name())
}

/// The rules of `platform`.
pub(crate) fn of(platform: Platform) -> &'static dyn Rules {
    dispatch(platform, RulesOf)
}

struct RulesOf;

impl PerPlatform for RulesOf {
    type Out = &'static dyn Rules;
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

#[cfg(test)]
mod tests;
