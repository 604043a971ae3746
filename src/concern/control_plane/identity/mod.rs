//! OIDC sign-in for the API server. `identity.mode: flags` gives the
//! `--oidc-*` kube-apiserver flags; `config` gives a structured
//! `AuthenticationConfiguration` (`apiserver.config.k8s.io`, `v1beta1` up to
//! 1.33, `v1` from 1.34) and `--authentication-config`; the two never appear
//! together (the API server exits if they do). The username and groups
//! prefixes written here are `Model::user_prefix()`/`group_prefix()`, the same
//! ones RBAC subjects get. The managed platforms' own forms (eksctl
//! `identityProviders`, AKS Entra ID) are rendered by their files beside this
//! one, from the data here; what each platform's sign-in requires is the
//! platform's (`platform::Identity`).

use serde::Serialize;

use super::audit::Flag;
use crate::input::diag::{Diagnostic, nearest};
use crate::input::profile::{IdentityMode, Oidc};
use crate::input::source::FieldPath;
use crate::pipeline::model::Model;
use crate::platform::ControlPlane;

/// Where the authentication config lives on a kubeadm control-plane node.
pub(crate) const CONFIG_PATH: &str = "/etc/kubernetes/authentication-config.yaml";

/// Paths anonymous requests may reach when the structured config limits them:
/// the health endpoints the kubelet probes the API server on.
pub(crate) const ANONYMOUS_PATHS: &[&str] = &["/healthz", "/livez", "/readyz"];

const ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
];

/// The profile's OIDC provider, if any.
pub(crate) fn oidc(m: &Model) -> Option<&Oidc> {
    m.profile.identity.as_ref().and_then(|i| i.oidc.as_ref())
}

/// Whether the kubeadm API server reads a structured authentication config
/// (decided by the checks, `valid::Identity::config_file`).
pub(crate) fn uses_config_file(m: &Model) -> bool {
    m.plan.control_plane.identity.config_file
}

/// In `config` mode, and also without OIDC at all (then the file holds only
/// the anonymous block). In `flags` mode it cannot: the file and `--oidc-*`
/// exclude each other.
fn decide_config_file(m: &Model) -> bool {
    match (&m.profile.identity, oidc(m)) {
        (Some(i), Some(_)) => i.mode == IdentityMode::Config,
        _ => true,
    }
}

/// The Entra ID tenant of an issuer URL (`https://sts.windows.net/<tenant>/`
/// or `https://login.microsoftonline.com/<tenant>/v2.0`), if it is one.
pub(crate) fn entra_tenant(issuer: &str) -> Option<&str> {
    let rest = issuer
        .strip_prefix("https://sts.windows.net/")
        .or_else(|| issuer.strip_prefix("https://login.microsoftonline.com/"))?;
    let (tenant, tail) = rest.split_once('/')?;
    let ok_tail = matches!(tail, "" | "v2.0" | "v2.0/");
    let ok_tenant = tenant.len() == 36 && tenant.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    (ok_tail && ok_tenant).then_some(tenant)
}

/// The `--oidc-*` flags (flags mode, kubeadm only).
pub(crate) fn oidc_flags(m: &Model) -> Vec<Flag> {
    let Some(o) = oidc(m) else { return Vec::new() };
    if uses_config_file(m) {
        return Vec::new();
    }
    const WHY: &str = "OIDC sign-in (flags form)";
    let mut out = vec![
        Flag {
            name: "oidc-issuer-url",
            value: o.issuer_url.clone(),
            cis: WHY,
        },
        Flag {
            name: "oidc-client-id",
            value: o.client_id.clone(),
            cis: WHY,
        },
    ];
    if let Some(c) = &o.username_claim {
        out.push(Flag {
            name: "oidc-username-claim",
            value: c.clone(),
            cis: WHY,
        });
    }
    // Written out always, so the API server's implicit `<issuer>#` rule never
    // decides alone; `-` is its spelling of "no prefix".
    let up = m.user_prefix();
    out.push(Flag {
        name: "oidc-username-prefix",
        value: if up.is_empty() { "-".to_owned() } else { up },
        cis: WHY,
    });
    if let Some(c) = &o.groups_claim {
        out.push(Flag {
            name: "oidc-groups-claim",
            value: c.clone(),
            cis: WHY,
        });
        let gp = m.group_prefix();
        if !gp.is_empty() {
            out.push(Flag {
                name: "oidc-groups-prefix",
                value: gp,
                cis: WHY,
            });
        }
    }
    if !o.required_claims.is_empty() {
        // The flag takes one key=value; repeat it (v1beta4 extraArgs allow repeats).
        for (k, v) in &o.required_claims {
            out.push(Flag {
                name: "oidc-required-claim",
                value: format!("{k}={v}"),
                cis: WHY,
            });
        }
    }
    if let Some(ca) = &o.ca_file {
        out.push(Flag {
            name: "oidc-ca-file",
            value: ca.clone(),
            cis: WHY,
        });
    }
    if !o.signing_algs.is_empty() {
        out.push(Flag {
            name: "oidc-signing-algs",
            value: o.signing_algs.join(","),
            cis: WHY,
        });
    }
    out
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthenticationConfiguration {
    api_version: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    anonymous: Option<Anonymous>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    jwt: Vec<Jwt>,
}

#[derive(Debug, Serialize)]
struct Anonymous {
    enabled: bool,
    conditions: Vec<PathCondition>,
}

#[derive(Debug, Serialize)]
struct PathCondition {
    path: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Jwt {
    issuer: Issuer,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    claim_validation_rules: Vec<ClaimRule>,
    claim_mappings: ClaimMappings,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Issuer {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_authority: Option<String>,
    audiences: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimRule {
    claim: String,
    required_value: String,
}

#[derive(Debug, Serialize)]
struct ClaimMappings {
    username: ClaimPrefix,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<ClaimPrefix>,
}

/// In the file `prefix` is required beside `claim` and there is no implicit
/// one, so it is always written ("" allowed).
#[derive(Debug, Serialize)]
struct ClaimPrefix {
    claim: String,
    prefix: String,
}

/// The `apiVersion` of the structured config for the cluster's version.
pub(crate) fn config_api_version(m: &Model) -> &'static str {
    if m.minor() >= 34 {
        "apiserver.config.k8s.io/v1"
    } else {
        "apiserver.config.k8s.io/v1beta1"
    }
}

/// The structured authentication config (kubeadm, when `uses_config_file`):
/// anonymous requests limited to the health endpoints, plus the OIDC issuer.
pub(crate) fn authentication_config(m: &Model) -> Option<AuthenticationConfiguration> {
    if !uses_config_file(m) {
        return None;
    }
    let jwt = oidc(m)
        .map(|o| Jwt {
            issuer: Issuer {
                url: o.issuer_url.clone(),
                certificate_authority: o.certificate_authority.clone(),
                audiences: vec![o.client_id.clone()],
            },
            claim_validation_rules: o
                .required_claims
                .iter()
                .map(|(k, v)| ClaimRule {
                    claim: k.clone(),
                    required_value: v.clone(),
                })
                .collect(),
            claim_mappings: ClaimMappings {
                username: ClaimPrefix {
                    claim: o.username_claim.clone().unwrap_or_else(|| "sub".to_owned()),
                    prefix: m.user_prefix(),
                },
                groups: o.groups_claim.as_ref().map(|c| ClaimPrefix {
                    claim: c.clone(),
                    prefix: m.group_prefix(),
                }),
            },
        })
        .into_iter()
        .collect();
    Some(AuthenticationConfiguration {
        api_version: config_api_version(m).to_owned(),
        kind: "AuthenticationConfiguration",
        anonymous: Some(Anonymous {
            enabled: true,
            conditions: ANONYMOUS_PATHS
                .iter()
                .map(|p| PathCondition { path: p })
                .collect(),
        }),
        jwt,
    })
}

/// The first group subject of the profile's bindings, by field path.
fn first_group_subject(m: &Model) -> Option<FieldPath> {
    for (i, ns) in m.profile.namespaces.iter().enumerate() {
        if let Some(j) = ns.access.iter().position(|a| a.group.is_some()) {
            let base = FieldPath::root().key("namespaces").index(i);
            return Some(base.key("access").index(j).key("group"));
        }
    }
    let i = m
        .profile
        .cluster_access
        .iter()
        .position(|c| c.group.is_some())?;
    Some(FieldPath::root().key("clusterAccess").index(i).key("group"))
}

/// Every user subject of the profile's bindings, with its field path.
fn user_subjects(m: &Model) -> Vec<(FieldPath, &str)> {
    let mut v = Vec::new();
    for (i, ns) in m.profile.namespaces.iter().enumerate() {
        for (j, a) in ns.access.iter().enumerate() {
            if let Some(u) = &a.user {
                let base = FieldPath::root().key("namespaces").index(i);
                v.push((base.key("access").index(j).key("user"), u.as_str()));
            }
        }
    }
    for (i, c) in m.profile.cluster_access.iter().enumerate() {
        if let Some(u) = &c.user {
            let path = FieldPath::root().key("clusterAccess").index(i).key("user");
            v.push((path, u.as_str()));
        }
    }
    v
}

/// What a managed platform needs before the profile's bindings can work:
/// an AKS admin group (local accounts are off), GKE's security group.
fn platform_checks(m: &Model, out: &mut Vec<Diagnostic>) {
    let base = FieldPath::root().key("identity");
    let identity = m.profile.identity.as_ref();
    let admins = identity.map_or(&[][..], |i| &i.admin_group_object_ids[..]);
    for (i, id) in admins.iter().enumerate() {
        if !is_guid(id) {
            out.push(
                Diagnostic::error(
                    base.key("adminGroupObjectIDs").index(i),
                    format!("`{id}` is not an Entra ID object ID"),
                )
                .hint("write the group's object ID, e.g. 5e6f7a8b-1234-4567-89ab-cdef01234567"),
            );
        }
    }
    let sign_in = m.platform().identity();
    if sign_in.entra_id && oidc(m).is_some() && admins.is_empty() {
        out.push(
            Diagnostic::error(
                base.key("adminGroupObjectIDs"),
                "on aks Entra ID sign-in disables local accounts, and no `identity.adminGroupObjectIDs` is set: no one could administer the cluster".to_owned(),
            )
            .hint("list the object ID of the Entra ID group of cluster administrators"),
        );
    }
    if sign_in.entra_id && oidc(m).is_some() {
        // AKS's authenticator (guard) names a user by the token's `upn` claim
        // and falls back to the object ID only when there is none, so a member
        // user bound by object ID is never matched.
        // Src: kubeguard/guard auth/providers/azure/azure.go (`getUserInfo`).
        for (path, user) in user_subjects(m) {
            if is_guid(user) {
                out.push(
                    Diagnostic::error(
                        path,
                        format!("on aks Entra ID names a member user by their UPN, so the object ID `{user}` never matches one"),
                    )
                    .hint("write the user's UPN (e.g. alice@example.com), or bind an Entra ID group by its object ID; a service principal or managed identity has no UPN: bind it through a group too"),
                );
            }
        }
    }
    let sg = identity.and_then(|i| i.security_group.as_deref());
    if let Some(sg) = sg
        && !sg
            .strip_prefix("gke-security-groups@")
            .is_some_and(|d| d.contains('.') && crate::k8s::names::dns_subdomain(d).is_ok())
    {
        out.push(
            Diagnostic::error(
                base.key("securityGroup"),
                format!("`{sg}` is not a Google Groups for RBAC group"),
            )
            .hint("GKE requires the name gke-security-groups@<your domain>"),
        );
    }
    if sign_in.google_groups
        && oidc(m).is_none()
        && sg.is_none()
        && let Some(path) = first_group_subject(m)
    {
        out.push(
            Diagnostic::error(
                path,
                "on gke a Google account's groups reach RBAC only through Google Groups for RBAC, and no `identity.securityGroup` is set: this binding would never match".to_owned(),
            )
            .hint("set `identity.securityGroup: gke-security-groups@<your domain>` (and nest the group in it), or bind users"),
        );
    }
}

/// `8-4-4-4-12` hex digits.
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Checks of `identity`; how the API server reads it goes to
/// `plan.control_plane.identity`.
pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    plan.control_plane.identity = super::valid::Identity {
        config_file: decide_config_file(m),
        entra_tenant: oidc(m).and_then(|o| {
            Some(super::valid::At {
                path: FieldPath::root()
                    .key("identity")
                    .key("oidc")
                    .key("issuerURL"),
                text: o.issuer_url.clone(),
                value: entra_tenant(&o.issuer_url)?.to_owned(),
            })
        }),
    };
    platform_checks(m, out);
    // Only where kharden writes the API server's settings does it choose
    // between the flags and the structured config.
    let nodes = m.platform().control_plane() == ControlPlane::Nodes;
    let Some(identity) = &m.profile.identity else {
        return;
    };
    let base = FieldPath::root().key("identity");
    if identity.mode == IdentityMode::Config && nodes && m.minor() < 30 {
        out.push(Diagnostic::error(
            base.key("mode"),
            "`identity.mode: config` needs Kubernetes 1.30 or later".to_owned(),
        ));
    }
    let Some(oidc) = &identity.oidc else { return };
    let op = base.key("oidc");
    if !oidc.issuer_url.starts_with("https://") {
        out.push(
            Diagnostic::error(
                op.key("issuerURL"),
                format!("issuer URL `{}` must use https", oidc.issuer_url),
            )
            .hint("the API server accepts only https:// issuers"),
        );
    }
    if oidc.client_id.trim().is_empty() {
        out.push(Diagnostic::error(
            op.key("clientID"),
            "the OIDC client id is empty".to_owned(),
        ));
    }
    for (i, a) in oidc.signing_algs.iter().enumerate() {
        if !ALGS.contains(&a.as_str()) {
            let mut d = Diagnostic::error(
                op.key("signingAlgs").index(i),
                format!("`{a}` is not a signing algorithm the API server accepts"),
            );
            d = d.hint(match nearest(a, ALGS.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("use one of {}", ALGS.join(", ")),
            });
            out.push(d);
        }
    }
    // Each mode has its own way to say "trust this CA" and only flags can
    // limit the algorithms; a field the chosen mode cannot write is refused,
    // never dropped (the API server would then trust the system roots, or more
    // algorithms, than the profile says).
    if nodes {
        let config = identity.mode == IdentityMode::Config;
        if config && oidc.ca_file.is_some() {
            out.push(
                Diagnostic::error(
                    op.key("caFile"),
                    "`caFile` is a path for `--oidc-ca-file`; the structured config (`mode: config`) takes the CA itself".to_owned(),
                )
                .hint("put the PEM text in `certificateAuthority`, or use `mode: flags`"),
            );
        }
        if config && !oidc.signing_algs.is_empty() {
            out.push(
                Diagnostic::error(
                    op.key("signingAlgs"),
                    "the structured config (`mode: config`) has no signing-algorithm list: it accepts every asymmetric algorithm of the issuer's keys".to_owned(),
                )
                .hint("remove `signingAlgs`, or use `mode: flags` to limit them"),
            );
        }
        if let Some(ca) = oidc.ca_file.as_deref().filter(|c| !c.starts_with('/')) {
            out.push(
                Diagnostic::error(
                    op.key("caFile"),
                    format!("`{ca}` is not an absolute path"),
                )
                .hint("write the CA's path on the control-plane nodes, e.g. /etc/kubernetes/pki/oidc-ca.crt"),
            );
        }
        if !config && oidc.certificate_authority.is_some() {
            out.push(
                Diagnostic::error(
                    op.key("certificateAuthority"),
                    "`certificateAuthority` is written into the structured config, but `mode` is `flags`".to_owned(),
                )
                .hint("install the PEM on the control-plane nodes and set `caFile`, or use `mode: config`"),
            );
        }
    }
    if let Some(pem) = &oidc.certificate_authority
        && !pem.trim_start().starts_with("-----BEGIN CERTIFICATE-----")
    {
        out.push(
            Diagnostic::error(
                op.key("certificateAuthority"),
                "`certificateAuthority` is not a PEM certificate".to_owned(),
            )
            .hint(
                "paste the CA as a block scalar (`|`), starting with -----BEGIN CERTIFICATE-----",
            ),
        );
    }
    if m.platform().identity().entra_id && plan.control_plane.identity.entra_tenant.is_none() {
        out.push(
            Diagnostic::error(
                op.key("issuerURL"),
                format!(
                    "AKS signs users in only through Entra ID, and `{}` is not an Entra ID issuer",
                    oidc.issuer_url
                ),
            )
            .hint("use https://sts.windows.net/<tenant-id>/ or https://login.microsoftonline.com/<tenant-id>/v2.0, or another platform"),
        );
    }
}

#[cfg(test)]
mod tests;
