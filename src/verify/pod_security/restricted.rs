//! The restricted checks (upstream's `check_*.go` of level restricted), and
//! both seccomp checks, which read the profiles the same way.

use std::collections::BTreeSet;

use super::pod::Pod;
use super::violation::{
    Violation, containers_phrase, containers_where, fail, has_source, join_quote, plural,
};

fn valid_seccomp(t: &str) -> bool {
    t == "Localhost" || t == "RuntimeDefault"
}

/// Before 1.19 seccomp was set by alpha annotations.
pub(super) fn seccomp_annotations(pod: &Pod) -> Option<Violation> {
    let ok =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let a = &pod.metadata.annotations;
    let mut forbidden = BTreeSet::new();
    let pod_key = "seccomp.security.alpha.kubernetes.io/pod".to_owned();
    let keys = std::iter::once(pod_key).chain(
        pod.containers()
            .map(|c| format!("container.seccomp.security.alpha.kubernetes.io/{}", c.name)),
    );
    for k in keys {
        if let Some(v) = a.get(&k)
            && !ok(v)
        {
            forbidden.insert(format!("{k}={v:?}"));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    fail(
        "seccompProfile",
        format!(
            "forbidden {} {}",
            plural("annotation", "annotations", forbidden.len()),
            forbidden.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
}

/// Pod and container seccomp profiles: (setters of a bad type, bad types,
/// containers with none and no valid pod-level one).
fn seccomp_fields(pod: &Pod) -> (Vec<String>, BTreeSet<String>, Vec<&str>) {
    let mut setters = Vec::new();
    let mut values = BTreeSet::new();
    let mut pod_set = false;
    if let Some(p) = pod.pod_context().and_then(|c| c.seccomp_profile.as_ref()) {
        if valid_seccomp(&p.kind) {
            pod_set = true;
        } else {
            setters.push("pod".to_owned());
            values.insert(p.kind.clone());
        }
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in pod.containers() {
        match c
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref())
        {
            Some(p) if !valid_seccomp(&p.kind) => {
                explicit.push(c.name.as_str());
                values.insert(p.kind.clone());
            }
            Some(_) => {}
            None if !pod_set => implicit.push(c.name.as_str()),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_phrase(&explicit));
    }
    (setters, values, implicit)
}

fn seccomp_bad_type(setters: &[String], values: &BTreeSet<String>) -> Option<Violation> {
    fail(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters.join(" and "),
            join_quote(values)
        ),
    )
}

pub(super) fn seccomp_baseline(pod: &Pod) -> Option<Violation> {
    let (setters, values, _) = seccomp_fields(pod);
    if setters.is_empty() {
        return None;
    }
    seccomp_bad_type(&setters, &values)
}

pub(super) fn privilege_escalation(pod: &Pod) -> Option<Violation> {
    let bad: Vec<&str> = pod
        .containers()
        .filter(|c| {
            c.security_context
                .as_ref()
                .and_then(|s| s.allow_privilege_escalation)
                != Some(false)
        })
        .map(|c| c.name.as_str())
        .collect();
    if bad.is_empty() {
        return None;
    }
    fail(
        "allowPrivilegeEscalation != false",
        format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            containers_phrase(&bad)
        ),
    )
}

/// From 1.25 a Windows pod (`spec.os.name: windows`) is exempt: the API
/// server refuses the Linux-only field on it anyway.
pub(super) fn privilege_escalation_1_25(pod: &Pod) -> Option<Violation> {
    if pod.windows() {
        return None;
    }
    privilege_escalation(pod)
}

pub(super) fn capabilities_restricted(pod: &Pod) -> Option<Violation> {
    let mut missing_drop = Vec::new();
    let mut adding = Vec::new();
    let mut caps = BTreeSet::new();
    for c in pod.containers() {
        let Some(cs) = c
            .security_context
            .as_ref()
            .and_then(|s| s.capabilities.as_ref())
        else {
            missing_drop.push(c.name.as_str());
            continue;
        };
        if !cs.drop.iter().any(|d| d == "ALL") {
            missing_drop.push(c.name.as_str());
        }
        let extra: Vec<&String> = cs.add.iter().filter(|a| *a != "NET_BIND_SERVICE").collect();
        if !extra.is_empty() {
            adding.push(c.name.as_str());
            caps.extend(extra);
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_phrase(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding),
            join_quote(caps)
        ));
    }
    if details.is_empty() {
        return None;
    }
    fail("unrestricted capabilities", details.join("; "))
}

pub(super) fn capabilities_restricted_1_25(pod: &Pod) -> Option<Violation> {
    if pod.windows() {
        return None;
    }
    capabilities_restricted(pod)
}

const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Upstream names the first of these a volume sets, else `unknown`.
const NAMED_VOLUMES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

pub(super) fn restricted_volumes(pod: &Pod) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut kinds = BTreeSet::new();
    for vol in &pod.spec.volumes {
        if ALLOWED_VOLUMES.iter().any(|k| has_source(vol, k)) {
            continue;
        }
        bad.push(vol.name.as_str());
        kinds.insert(
            NAMED_VOLUMES
                .iter()
                .copied()
                .find(|k| has_source(vol, k))
                .unwrap_or("unknown"),
        );
    }
    if bad.is_empty() {
        return None;
    }
    fail(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            plural("volume", "volumes", bad.len()),
            join_quote(&bad),
            plural("uses", "use", bad.len()),
            plural(
                "restricted volume type",
                "restricted volume types",
                kinds.len()
            ),
            join_quote(kinds)
        ),
    )
}

pub(super) fn run_as_non_root(pod: &Pod) -> Option<Violation> {
    let mut setters = Vec::new();
    let mut pod_true = false;
    match pod.pod_context().and_then(|c| c.run_as_non_root) {
        Some(false) => setters.push("pod".to_owned()),
        Some(true) => pod_true = true,
        None => {}
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in pod.containers() {
        match c.security_context.as_ref().and_then(|s| s.run_as_non_root) {
            Some(false) => explicit.push(c.name.as_str()),
            Some(true) => {}
            None if !pod_true => implicit.push(c.name.as_str()),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_phrase(&explicit));
    }
    if !setters.is_empty() {
        return fail(
            "runAsNonRoot != true",
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters.join(" and ")
            ),
        );
    }
    if !implicit.is_empty() {
        return fail(
            "runAsNonRoot != true",
            format!(
                "pod or {} must set securityContext.runAsNonRoot=true",
                containers_phrase(&implicit)
            ),
        );
    }
    None
}

/// From 1.35 a pod in a user namespace (`hostUsers: false`) may run as root.
pub(super) fn run_as_non_root_1_35(pod: &Pod) -> Option<Violation> {
    if pod.user_namespace() {
        return None;
    }
    run_as_non_root(pod)
}

pub(super) fn run_as_user(pod: &Pod) -> Option<Violation> {
    let mut setters = Vec::new();
    if pod.pod_context().and_then(|c| c.run_as_user) == Some(0) {
        setters.push("pod".to_owned());
    }
    let bad = containers_where(pod, |s| s.run_as_user == Some(0));
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    fail(
        "runAsUser=0",
        format!("{} must not set runAsUser=0", setters.join(" and ")),
    )
}

pub(super) fn run_as_user_1_35(pod: &Pod) -> Option<Violation> {
    if pod.user_namespace() {
        return None;
    }
    run_as_user(pod)
}

pub(super) fn seccomp_restricted(pod: &Pod) -> Option<Violation> {
    let (setters, values, implicit) = seccomp_fields(pod);
    if !setters.is_empty() {
        return seccomp_bad_type(&setters, &values);
    }
    if !implicit.is_empty() {
        return fail(
            "seccompProfile",
            format!(
                "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                containers_phrase(&implicit)
            ),
        );
    }
    None
}

pub(super) fn seccomp_restricted_1_25(pod: &Pod) -> Option<Violation> {
    if pod.windows() {
        return None;
    }
    seccomp_restricted(pod)
}
