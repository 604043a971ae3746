//! The baseline checks (upstream's `check_*.go` of level baseline, seccomp
//! aside: it shares its reading with the restricted check in `restricted.rs`).

use std::collections::BTreeSet;

use super::pod::{Handler, Pod, SeLinux, WindowsOptions};
use super::violation::{
    Violation, containers_phrase, containers_where, fail, has_source, join_quote, plural,
};

pub(super) fn app_armor(pod: &Pod) -> Option<Violation> {
    let allowed_type = |t: &str| t == "RuntimeDefault" || t == "Localhost";
    let mut setters = Vec::new();
    let mut values = BTreeSet::new();
    if let Some(p) = pod.pod_context().and_then(|c| c.app_armor_profile.as_ref())
        && !allowed_type(&p.kind)
    {
        setters.push("pod".to_owned());
        values.insert(p.kind.clone());
    }
    let mut bad = Vec::new();
    for c in pod.containers() {
        if let Some(p) = c
            .security_context
            .as_ref()
            .and_then(|s| s.app_armor_profile.as_ref())
            && !allowed_type(&p.kind)
        {
            bad.push(c.name.as_str());
            values.insert(p.kind.clone());
        }
    }
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    let mut list: Vec<String> = values.into_iter().collect();
    let annotations: Vec<String> = pod
        .metadata
        .annotations
        .iter()
        .filter(|(k, v)| {
            k.starts_with("container.apparmor.security.beta.kubernetes.io/")
                && !(v.is_empty() || *v == "runtime/default" || v.starts_with("localhost/"))
        })
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    if !annotations.is_empty() {
        setters.push(plural("annotation", "annotations", annotations.len()).to_owned());
        list.extend(annotations);
    }
    if setters.is_empty() {
        return None;
    }
    fail(
        plural(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            list.len(),
        ),
        format!(
            "{} must not set AppArmor profile type to {}",
            setters.join(" and "),
            join_quote(&list)
        ),
    )
}

const DEFAULT_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

pub(super) fn capabilities_baseline(pod: &Pod) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut caps = BTreeSet::new();
    for c in pod.containers() {
        let Some(cs) = c
            .security_context
            .as_ref()
            .and_then(|s| s.capabilities.as_ref())
        else {
            continue;
        };
        let extra: Vec<&String> = cs
            .add
            .iter()
            .filter(|a| !DEFAULT_CAPABILITIES.contains(&a.as_str()))
            .collect();
        if !extra.is_empty() {
            bad.push(c.name.as_str());
            caps.extend(extra);
        }
    }
    if bad.is_empty() {
        return None;
    }
    fail(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&bad),
            join_quote(caps)
        ),
    )
}

pub(super) fn host_namespaces(pod: &Pod) -> Option<Violation> {
    let s = &pod.spec;
    let on: Vec<&str> = [
        (s.host_network, "hostNetwork=true"),
        (s.host_pid, "hostPID=true"),
        (s.host_ipc, "hostIPC=true"),
    ]
    .into_iter()
    .filter_map(|(set, text)| set.then_some(text))
    .collect();
    if on.is_empty() {
        return None;
    }
    fail("host namespaces", on.join(", "))
}

pub(super) fn host_path_volumes(pod: &Pod) -> Option<Violation> {
    let names: Vec<&str> = pod
        .spec
        .volumes
        .iter()
        .filter(|v| has_source(v, "hostPath"))
        .map(|v| v.name.as_str())
        .collect();
    if names.is_empty() {
        return None;
    }
    fail(
        "hostPath volumes",
        format!(
            "{} {}",
            plural("volume", "volumes", names.len()),
            join_quote(&names)
        ),
    )
}

pub(super) fn host_ports(pod: &Pod) -> Option<Violation> {
    let mut bad = Vec::new();
    // Upstream keeps the ports in a string set: sorted as text.
    let mut ports = BTreeSet::new();
    for c in pod.containers() {
        let used: Vec<String> = c
            .ports
            .iter()
            .filter(|p| p.host_port != 0)
            .map(|p| p.host_port.to_string())
            .collect();
        if !used.is_empty() {
            bad.push(c.name.as_str());
            ports.extend(used);
        }
    }
    if bad.is_empty() {
        return None;
    }
    fail(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_phrase(&bad),
            plural("uses", "use", bad.len()),
            plural("hostPort", "hostPorts", ports.len()),
            ports.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
}

fn handler_hosts(h: Option<&Handler>) -> Vec<String> {
    let Some(h) = h else { return Vec::new() };
    [h.http_get.as_ref(), h.tcp_socket.as_ref()]
        .into_iter()
        .flatten()
        .filter(|x| !x.host.is_empty())
        .map(|x| x.host.clone())
        .collect()
}

pub(super) fn host_probes(pod: &Pod) -> Option<Violation> {
    // Upstream collects both in sets, so both print sorted.
    let mut bad = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    for c in pod.containers() {
        let lc = c.lifecycle.as_ref();
        for h in [
            c.liveness_probe.as_ref(),
            c.readiness_probe.as_ref(),
            c.startup_probe.as_ref(),
            lc.and_then(|l| l.post_start.as_ref()),
            lc.and_then(|l| l.pre_stop.as_ref()),
        ] {
            let found = handler_hosts(h);
            if !found.is_empty() {
                bad.insert(c.name.as_str());
                hosts.extend(found);
            }
        }
    }
    if bad.is_empty() {
        return None;
    }
    fail(
        "probe or lifecycle host",
        format!(
            "{} {} {} {} {}",
            plural("container", "containers", bad.len()),
            join_quote(&bad),
            plural("uses", "use", bad.len()),
            plural(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                hosts.len()
            ),
            join_quote(&hosts)
        ),
    )
}

pub(super) fn privileged(pod: &Pod) -> Option<Violation> {
    let bad = containers_where(pod, |s| s.privileged == Some(true));
    if bad.is_empty() {
        return None;
    }
    fail(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&bad)
        ),
    )
}

/// Upstream's `procMount_1_0`: anything but `Default` is refused.
pub(super) fn proc_mount(pod: &Pod) -> Option<Violation> {
    let mut bad = Vec::new();
    let mut kinds = BTreeSet::new();
    for c in pod.containers() {
        if let Some(pm) = c
            .security_context
            .as_ref()
            .and_then(|s| s.proc_mount.as_ref())
            && pm != "Default"
        {
            bad.push(c.name.as_str());
            kinds.insert(pm.as_str());
        }
    }
    if bad.is_empty() {
        return None;
    }
    fail(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&bad),
            join_quote(kinds)
        ),
    )
}

pub(super) fn proc_mount_1_35(pod: &Pod) -> Option<Violation> {
    if pod.user_namespace() {
        return None;
    }
    proc_mount(pod)
}

const SELINUX_TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

pub(super) fn se_linux_1_0(pod: &Pod) -> Option<Violation> {
    se_linux(pod, SELINUX_TYPES_1_0)
}

pub(super) fn se_linux_1_31(pod: &Pod) -> Option<Violation> {
    se_linux(pod, SELINUX_TYPES_1_31)
}

fn se_linux(pod: &Pod, allowed: &[&str]) -> Option<Violation> {
    let mut types = BTreeSet::new();
    let (mut user, mut role) = (false, false);
    let mut valid = |o: &SeLinux| {
        let mut ok = true;
        if !allowed.contains(&o.kind.as_str()) {
            ok = false;
            types.insert(o.kind.clone());
        }
        if !o.user.is_empty() {
            ok = false;
            user = true;
        }
        if !o.role.is_empty() {
            ok = false;
            role = true;
        }
        ok
    };
    let mut setters = Vec::new();
    if let Some(o) = pod.pod_context().and_then(|c| c.se_linux_options.as_ref())
        && !valid(o)
    {
        setters.push("pod".to_owned());
    }
    let mut bad = Vec::new();
    for c in pod.containers() {
        if let Some(o) = c
            .security_context
            .as_ref()
            .and_then(|s| s.se_linux_options.as_ref())
            && !valid(o)
        {
            bad.push(c.name.as_str());
        }
    }
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    if !types.is_empty() {
        data.push(format!(
            "{} {}",
            plural("type", "types", types.len()),
            join_quote(&types)
        ));
    }
    if user {
        data.push("user may not be set".to_owned());
    }
    if role {
        data.push("role may not be set".to_owned());
    }
    fail(
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters.join(" and "),
            data.join("; ")
        ),
    )
}

fn sysctls(pod: &Pod, allowed: &[&str]) -> Option<Violation> {
    let bad: Vec<&str> = pod
        .pod_context()
        .map(|c| c.sysctls.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|s| !allowed.contains(&s.name.as_str()))
        .map(|s| s.name.as_str())
        .collect();
    if bad.is_empty() {
        return None;
    }
    fail("forbidden sysctls", bad.join(", "))
}

const SYSCTLS_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const SYSCTLS_1_37: &[&str] = &[
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

/// The safe sysctls up to and including each step.
fn safe_sysctls(steps: &[&[&'static str]]) -> Vec<&'static str> {
    steps.iter().flat_map(|s| s.iter().copied()).collect()
}

pub(super) fn sysctls_1_0(pod: &Pod) -> Option<Violation> {
    sysctls(pod, &safe_sysctls(&[SYSCTLS_1_0]))
}

pub(super) fn sysctls_1_27(pod: &Pod) -> Option<Violation> {
    sysctls(pod, &safe_sysctls(&[SYSCTLS_1_0, SYSCTLS_1_27]))
}

pub(super) fn sysctls_1_29(pod: &Pod) -> Option<Violation> {
    sysctls(
        pod,
        &safe_sysctls(&[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29]),
    )
}

pub(super) fn sysctls_1_32(pod: &Pod) -> Option<Violation> {
    sysctls(
        pod,
        &safe_sysctls(&[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29, SYSCTLS_1_32]),
    )
}

pub(super) fn sysctls_1_37(pod: &Pod) -> Option<Violation> {
    sysctls(
        pod,
        &safe_sysctls(&[
            SYSCTLS_1_0,
            SYSCTLS_1_27,
            SYSCTLS_1_29,
            SYSCTLS_1_32,
            SYSCTLS_1_37,
        ]),
    )
}

fn host_process(w: Option<&WindowsOptions>) -> bool {
    w.and_then(|w| w.host_process) == Some(true)
}

pub(super) fn windows_host_process(pod: &Pod) -> Option<Violation> {
    let bad = containers_where(pod, |s| host_process(s.windows_options.as_ref()));
    let mut setters = Vec::new();
    if host_process(pod.pod_context().and_then(|c| c.windows_options.as_ref())) {
        setters.push("pod".to_owned());
    }
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    fail(
        "hostProcess",
        format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters.join(" and ")
        ),
    )
}
