//! The validated `apiServer` and `identity` sections: each value the
//! control-plane checks parse (addresses, networks, paths, the KMS socket, the
//! Entra ID tenant), kept with its field path and its text as written, so the
//! renderers read what the checks accepted and never parse the profile again.

use std::net::IpAddr;

use crate::input::source::FieldPath;
use crate::k8s::net::Cidr;

/// A value the checks parsed: where it is in the profile, its text as the
/// profile wrote it (what the rendered files repeat), and its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T> {
    pub path: FieldPath,
    pub text: String,
    pub value: T,
}

/// What the control-plane concern decided while checking `apiServer` and
/// `identity` (`plan.control_plane`).
#[derive(Debug, Default)]
pub struct Valid {
    /// `apiServer.advertiseAddress`.
    pub advertise_address: Option<At<IpAddr>>,
    /// `apiServer.authorizedNetworks`, in profile order.
    pub authorized_networks: Vec<At<Cidr>>,
    /// The API server's audit log; `None` when auditing is off.
    pub audit_log: Option<AuditLog>,
    /// How Secrets are encrypted at rest (`apiServer.encryption`).
    pub encryption: Encryption,
    /// How the API server signs users in (`identity`).
    pub identity: Identity,
}

/// The audit log file, an absolute path on the control-plane node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLog {
    /// Where the profile sets it (`apiServer.audit.logPath`).
    pub at: FieldPath,
    pub path: String,
    /// Its directory, mounted into the API server's pod.
    pub dir: String,
}

/// The encryption provider of Secrets at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// A local provider (`secretbox`, `aescbc`) whose key the user fills in.
    Key(&'static str),
    /// A KMS v2 plugin listening on a unix socket.
    Kms {
        /// Where the profile sets it (`apiServer.encryption.kmsEndpoint`).
        at: FieldPath,
        /// `kmsEndpoint` as written (`unix://` and the socket's path).
        endpoint: String,
        /// The directory holding the socket, mounted into the API server's pod.
        socket_dir: String,
        /// The provider's name (`kmsName`, or kharden's default).
        name: String,
    },
}

impl Default for Encryption {
    /// The profile's default provider.
    fn default() -> Encryption {
        Encryption::Key("secretbox")
    }
}

/// How a kubeadm API server reads the identity settings, and what a managed
/// platform's sign-in needs from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The kubeadm API server reads a structured authentication config
    /// (`identity.mode: config`, or no OIDC at all: then the file holds only the
    /// anonymous block); otherwise the `--oidc-*` flags.
    pub config_file: bool,
    /// The Entra ID tenant of `identity.oidc.issuerURL` (the issuer as text),
    /// when it is an Entra ID issuer.
    pub entra_tenant: Option<At<String>>,
}

/// The directory holding the file at the absolute `path`.
pub(super) fn parent_dir(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}
