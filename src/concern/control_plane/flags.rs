//! The kube-apiserver flags kharden sets on kubeadm, each with the CIS
//! control it satisfies, and the flags kubeadm sets itself.

use super::*;

/// Cipher suites for TLS 1.2: ECDHE with AEAD only, all inside the CIS 1.2.29
/// allow-list (TLS 1.3 suites are not configurable in Go and are always strong).
pub(super) const CIPHER_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// The flags kubeadm (v1beta4, 1.33+) writes into the kube-apiserver static pod
/// by itself; `extraArgs` override them by name. Used by the CIS evaluation, so
/// a check that kubeadm already satisfies (certificates, etcd TLS) is counted.
/// Src: kubernetes/kubernetes cmd/kubeadm/app/phases/controlplane/manifests.go
/// (`getAPIServerCommand`).
#[cfg(test)]
pub(super) const KUBEADM_APISERVER_DEFAULTS: &[(&str, &str)] = &[
    ("allow-privileged", "true"),
    ("authorization-mode", "Node,RBAC"),
    ("client-ca-file", "/etc/kubernetes/pki/ca.crt"),
    ("enable-admission-plugins", "NodeRestriction"),
    ("enable-bootstrap-token-auth", "true"),
    ("etcd-cafile", "/etc/kubernetes/pki/etcd/ca.crt"),
    (
        "etcd-certfile",
        "/etc/kubernetes/pki/apiserver-etcd-client.crt",
    ),
    (
        "etcd-keyfile",
        "/etc/kubernetes/pki/apiserver-etcd-client.key",
    ),
    ("etcd-servers", "https://127.0.0.1:2379"),
    (
        "kubelet-client-certificate",
        "/etc/kubernetes/pki/apiserver-kubelet-client.crt",
    ),
    (
        "kubelet-client-key",
        "/etc/kubernetes/pki/apiserver-kubelet-client.key",
    ),
    ("secure-port", "6443"),
    (
        "service-account-issuer",
        "https://kubernetes.default.svc.cluster.local",
    ),
    ("service-account-key-file", "/etc/kubernetes/pki/sa.pub"),
    (
        "service-account-signing-key-file",
        "/etc/kubernetes/pki/sa.key",
    ),
    ("tls-cert-file", "/etc/kubernetes/pki/apiserver.crt"),
    ("tls-private-key-file", "/etc/kubernetes/pki/apiserver.key"),
];

fn flag(name: &'static str, value: &str, cis: &'static str) -> Flag {
    Flag {
        name,
        value: value.to_owned(),
        cis,
    }
}

/// Every kube-apiserver flag kharden sets on kubeadm, in output order.
pub(crate) fn kubeadm_flags(m: &Model) -> Vec<Flag> {
    let mut out = Vec::new();
    if identity::uses_config_file(m) {
        out.push(flag(
            "authentication-config",
            identity::CONFIG_PATH,
            "CIS 1.2.1 (intent): anonymous requests limited to /healthz, /livez, /readyz by the file's `anonymous` block; `--anonymous-auth` must then be absent",
        ));
    } else {
        out.push(flag(
            "anonymous-auth",
            "true",
            "CIS 1.2.1 deliberately not met: the kubelet probes the API server's health endpoints anonymously, so `false` crash-loops a kubeadm control plane; the `--oidc-*` flags exclude the structured config that could limit it, so RBAC limits anonymous users to system:public-info-viewer",
        ));
    }
    out.extend([
        flag(
            "authorization-mode",
            "Node,RBAC",
            "CIS 1.2.6, 1.2.7, 1.2.8: Node and RBAC, never AlwaysAllow",
        ),
        flag(
            "enable-admission-plugins",
            "NodeRestriction,DenyServiceExternalIPs",
            "CIS 1.2.14 NodeRestriction, 1.2.3 DenyServiceExternalIPs, 1.2.10 no AlwaysAdmit",
        ),
        flag("profiling", "false", "CIS 1.2.15: profiling off"),
        flag(
            "service-account-lookup",
            "true",
            "CIS 1.2.21: deleted service accounts' tokens stop working",
        ),
        flag(
            "service-account-extend-token-expiration",
            "false",
            "CIS 1.2.30: projected tokens are not silently extended to a year",
        ),
        flag(
            "kubelet-certificate-authority",
            CLUSTER_CA,
            "CIS 1.2.5: verify kubelet serving certs (serverTLSBootstrap: true in kubeletconfiguration.yaml; approve their CSRs)",
        ),
        flag(
            "tls-min-version",
            "VersionTLS12",
            "CIS 1.2.29: no TLS below 1.2",
        ),
        flag(
            "tls-cipher-suites",
            &CIPHER_SUITES.join(","),
            "CIS 1.2.29: strong cipher suites only",
        ),
        flag(
            "request-timeout",
            "60s",
            "CIS 1.2.20: request timeout set explicitly (the upstream default)",
        ),
        flag(
            "encryption-provider-config",
            ENCRYPTION_CONFIG_PATH,
            "CIS 1.2.27: secrets encrypted at rest by encryption-config.yaml (secretbox, aescbc or kms: CIS 1.2.28); kharden never writes keys",
        ),
    ]);
    out.extend(audit::flags(m));
    out.extend(identity::oidc_flags(m));
    if m.mutating_admission_policy_beta() {
        // Both are needed on 1.34 and 1.35: the gate turns the admission
        // plugin on, the runtime config serves the v1beta1 API the policies use.
        out.push(flag(
            "feature-gates",
            "MutatingAdmissionPolicy=true",
            "`policy.mutatingAdmissionPolicyBeta`: MutatingAdmissionPolicy is beta and off by default on 1.34 and 1.35",
        ));
        out.push(flag(
            "runtime-config",
            "admissionregistration.k8s.io/v1beta1=true",
            "`policy.mutatingAdmissionPolicyBeta`: serves the v1beta1 MutatingAdmissionPolicy API the rendered policies use",
        ));
    }
    out
}
