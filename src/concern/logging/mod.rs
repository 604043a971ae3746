//! Logging: a node-level collector (Fluentd or Fluent Bit) that ships container,
//! control-plane, node (journal) and API-server audit logs to Elasticsearch.
//!
//! Renders the collector's Namespace (Pod Security `privileged`, with the reason),
//! ServiceAccount, a read-only ClusterRole and its binding, a ConfigMap with the
//! pipeline rendered from `templates/` by Tera, and the DaemonSet. Every profile
//! value that reaches a collector configuration passes an escaping filter
//! (`fluent_quote` / `fluentbit_value`); values neither format can hold are
//! refused in `validate`, with the field path, before anything is rendered.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource,
    EnvVar, EnvVarSource, HostPathVolumeSource, KeyToPath, Namespace, NodeAffinity, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, ObjectFieldSelector, PodSecurityContext, PodSpec,
    PodTemplateSpec, ResourceRequirements, SeccompProfile, SecretKeySelector, SecretVolumeSource,
    SecurityContext, ServiceAccount, Toleration, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;

use crate::bundle::manifest::{Manifest, RenderError, meta};
use crate::concern::metadata::{JUSTIFICATION, default_service_account};
use crate::input::diag::Diagnostic;
use crate::input::profile::{Collector, LogSource, Scheme};
use crate::input::source::FieldPath;
use crate::k8s::names;
use crate::pipeline::model::{Model, label};
use crate::platform::ControlPlane;

mod allowances;
mod daemonset;
mod pipeline;
#[cfg(test)]
mod tests;
mod validate;

pub(crate) use allowances::{allowances, outside_namespaces};
use daemonset::daemon_set;
pub(crate) use pipeline::{Plan, config_files};
pub(crate) use validate::validate;

/// The collectors' default images: the platform model holds them (the
/// policy plan reads them to allow their registries).
pub(crate) use crate::components::{FLUENT_BIT_IMAGE, FLUENTD_IMAGE};

const FLUENTD_TEMPLATE: &str = include_str!("../../../templates/fluent.conf.tera");
const FLUENT_BIT_TEMPLATE: &str = include_str!("../../../templates/fluent-bit.conf.tera");
const FLUENT_BIT_PARSERS: &str = include_str!("../../../templates/fluent-bit-parsers.conf");

/// Namespaces Kubernetes owns; the collector gets a namespace of its own.
const RESERVED: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// Node directories the collector reads (read-only mounts).
const VAR_LOG: &str = "/var/log";
const CONTAINERS_DIR: &str = "/var/log/containers";
const PODS_DIR: &str = "/var/log/pods";
/// journald writes to /var/log/journal when it persists, to /run/log/journal
/// when it is volatile (`Storage=volatile`, or `auto` without the directory,
/// as on many cloud images); the collector reads both.
const JOURNAL_DIRS: [(&str, &str); 2] =
    [("", "/var/log/journal"), ("_runtime", "/run/log/journal")];
const MACHINE_ID: &str = "/etc/machine-id";
/// Parent of the per-collector directory for positions, cursors and buffers: the
/// one writable host mount.
const STATE_ROOT: &str = "/var/lib/kharden";
/// Where Elasticsearch's CA certificate is mounted (`ca.crt` inside).
const CA_DIR: &str = "/etc/kharden/elasticsearch-ca";

/// Control-plane static pods (kubeadm) and the systemd units they run as elsewhere.
const CONTROL_PLANE: &[&str] = &[
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];
const NODE_UNITS: &[&str] = &["kubelet.service", "containerd.service"];

/// Characters a tail input reads as a glob, a list separator or a time pattern.
const PATTERN_CHARS: &[char] = &['*', '?', '[', ']', '{', '}', ',', '%'];

/// What differs between the two collectors.
struct Kind {
    name: &'static str,
    image: &'static str,
    config_dir: &'static str,
    user_env: &'static str,
    password_env: &'static str,
}

fn kind(c: Collector) -> Kind {
    match c {
        // The image's entrypoint reads /fluentd/etc/fluent.conf; these env names
        // are the ones its shipped configuration uses.
        Collector::Fluentd => Kind {
            name: "fluentd",
            image: FLUENTD_IMAGE,
            config_dir: "/fluentd/etc",
            user_env: "FLUENT_ELASTICSEARCH_USER",
            password_env: "FLUENT_ELASTICSEARCH_PASSWORD",
        },
        Collector::FluentBit => Kind {
            name: "fluent-bit",
            image: FLUENT_BIT_IMAGE,
            config_dir: "/fluent-bit/etc/conf",
            user_env: "ES_USERNAME",
            password_env: "ES_PASSWORD",
        },
    }
}

fn state_dir(c: Collector) -> String {
    format!("{STATE_ROOT}/{}", kind(c).name)
}

/// An Elasticsearch inside the cluster usually has a certificate from its
/// own CA (ECK makes one), which the image's public bundle cannot verify.
pub(crate) fn notes(m: &Model) -> Vec<String> {
    let Some(p) = &m.plan.logging else {
        return Vec::new();
    };
    let host = p.host.strip_suffix(".cluster.local").unwrap_or(&p.host);
    if p.tls && p.ca_secret.is_none() && host.ends_with(".svc") {
        vec![format!(
            "warning: `{}` is inside the cluster, but no `logging.elasticsearch.caSecret` is set: the collector verifies its certificate against the image's public CA bundle only, and a private CA (as ECK makes) fails every TLS handshake",
            p.host
        )]
    } else {
        Vec::new()
    }
}

pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let Some(plan) = &m.plan.logging else {
        return Ok(Vec::new());
    };
    let k = kind(plan.collector);
    let ns = plan.namespace.as_str();
    let mut out = Vec::new();

    // Namespace: hostPath volumes are forbidden at baseline and restricted, so the
    // collector's namespace enforces privileged; audit and warn stay at restricted
    // so every deviation stays visible.
    let version = format!("v{}", m.profile.cluster.kubernetes_version);
    let mut md = meta(ns, None);
    let labels = md.labels.get_or_insert_with(BTreeMap::new);
    for (mode, lvl) in [
        ("enforce", "privileged"),
        ("audit", "restricted"),
        ("warn", "restricted"),
    ] {
        labels.insert(format!("pod-security.kubernetes.io/{mode}"), lvl.to_owned());
        labels.insert(
            format!("pod-security.kubernetes.io/{mode}-version"),
            version.clone(),
        );
    }
    md.annotations = Some(BTreeMap::from([(
        JUSTIFICATION.to_owned(),
        format!(
            "Pod Security privileged: the {} log collector reads node log files through hostPath volumes \
             (forbidden at baseline and restricted) and runs as root to read root-owned log files. \
             It drops every capability, cannot escalate privileges and has a read-only root filesystem.",
            k.name
        ),
    )]));
    out.push(Manifest::k8s(&Namespace {
        metadata: md,
        ..Namespace::default()
    })?);

    out.push(default_service_account(meta("default", Some(ns)))?);
    out.push(Manifest::k8s(&ServiceAccount {
        metadata: meta(k.name, Some(ns)),
        // The token is mounted only into the collector's pods (see the pod spec).
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    })?);

    let role_name = format!("kharden-logging-{}", k.name);
    let mut rmd = meta(&role_name, None);
    rmd.annotations = Some(BTreeMap::from([(
        JUSTIFICATION.to_owned(),
        "The log collector adds each record's pod and namespace metadata, in every namespace; read-only (get, list, watch on pods and namespaces)."
            .to_owned(),
    )]));
    out.push(Manifest::k8s(&ClusterRole {
        metadata: rmd.clone(),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["namespaces".to_owned(), "pods".to_owned()]),
            verbs: ["get", "list", "watch"].map(str::to_owned).to_vec(),
            ..PolicyRule::default()
        }]),
        aggregation_rule: None,
    })?);
    out.push(Manifest::k8s(&ClusterRoleBinding {
        metadata: rmd,
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "ClusterRole".to_owned(),
            name: role_name.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: k.name.to_owned(),
            namespace: Some(ns.to_owned()),
            api_group: None,
        }]),
    })?);

    let files = config_files(plan)?;
    let config_name = format!("{}-config", k.name);
    let hash = names::fnv1a(&files.values().cloned().collect::<Vec<_>>().join("\0"));
    out.push(Manifest::k8s(&ConfigMap {
        metadata: meta(&config_name, Some(ns)),
        data: Some(files),
        ..ConfigMap::default()
    })?);

    out.push(Manifest::k8s(&daemon_set(
        plan,
        &k,
        &plan.image,
        &config_name,
        &format!("{hash:016x}"),
        &plan.credentials_secret,
    ))?);
    Ok(out)
}
