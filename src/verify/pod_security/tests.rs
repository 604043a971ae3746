//! One pod that passes and one that fails each Pod Security check, at
//! baseline and restricted, with the versions where upstream's rule changes.
//! Expected messages are upstream's (`policy/check_*_test.go` wording).

use serde_json::{Value, json};

use super::checks::{NEWEST, ids};
use super::{Level, Pod, Version, check};

/// A pod that meets `restricted` at every version: the base every case edits.
fn good() -> Value {
    json!({
        "metadata": {"annotations": {}},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "app",
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
            }],
        },
    })
}

/// The good pod with `edit` applied to it.
fn with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut v = good();
    edit(&mut v);
    v
}

/// The first container's security context.
fn csc(v: &mut Value) -> &mut Value {
    &mut v["spec"]["containers"][0]["securityContext"]
}

/// The violations of `v` at `level`/`version`, as `reason (detail)` lines.
fn run(level: Level, version: &str, v: &Value) -> Vec<String> {
    let pod = Pod::from_parts(&v["metadata"], &v["spec"]).unwrap();
    let version = Version::parse(version).unwrap();
    check(level, version, &pod)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn base(v: &Value) -> Vec<String> {
    run(Level::Baseline, "latest", v)
}

fn restricted(v: &Value) -> Vec<String> {
    run(Level::Restricted, "latest", v)
}

fn one(msg: &str) -> Vec<String> {
    vec![msg.to_owned()]
}

#[test]
fn the_good_pod_passes_every_level_and_version() {
    for minor in 0..=NEWEST + 2 {
        let v = format!("v1.{minor}");
        assert!(run(Level::Restricted, &v, &good()).is_empty(), "{v}");
        assert!(run(Level::Baseline, &v, &good()).is_empty(), "{v}");
    }
}

#[test]
fn privileged_level_allows_anything() {
    let bad = with(|v| {
        v["spec"]["hostNetwork"] = json!(true);
        csc(v)["privileged"] = json!(true);
    });
    assert!(run(Level::Privileged, "latest", &bad).is_empty());
    assert!(!base(&bad).is_empty());
}

#[test]
fn checks_run_in_upstream_order_baseline_ids_sorted_then_restricted() {
    let all = ids();
    let split = all
        .iter()
        .position(|(_, l)| *l == Level::Restricted)
        .unwrap();
    assert!(all[..split].iter().all(|(_, l)| *l == Level::Baseline));
    assert!(all[split..].iter().all(|(_, l)| *l == Level::Restricted));
    for part in [&all[..split], &all[split..]] {
        let names: Vec<&str> = part.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }
    assert_eq!(all.len(), 19);
}

#[test]
fn host_namespaces() {
    let bad = with(|v| {
        v["spec"]["hostNetwork"] = json!(true);
        v["spec"]["hostIPC"] = json!(true);
    });
    let want = one("host namespaces (hostNetwork=true, hostIPC=true)");
    assert_eq!(base(&bad), want);
    assert_eq!(restricted(&bad), want);
    let ok = with(|v| v["spec"]["hostPID"] = json!(false));
    assert!(base(&ok).is_empty());
}

#[test]
fn privileged_covers_init_and_ephemeral_containers() {
    let bad = with(|v| {
        csc(v)["privileged"] = json!(true);
        v["spec"]["initContainers"] = json!([{"name": "init", "securityContext": {"privileged": true,
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]);
        v["spec"]["ephemeralContainers"] = json!([{"name": "debug", "securityContext": {"privileged": true,
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]);
    });
    let want = one(
        "privileged (containers \"init\", \"app\", \"debug\" must not set securityContext.privileged=true)",
    );
    assert_eq!(base(&bad), want);
    assert_eq!(restricted(&bad), want);
    assert!(base(&with(|v| csc(v)["privileged"] = json!(false))).is_empty());
}

#[test]
fn capabilities_baseline_and_restricted_with_its_minimum_version() {
    let add = |caps: Value| with(|v| csc(v)["capabilities"]["add"] = caps);
    // Baseline: the default set may be added, nothing else.
    assert!(base(&add(json!(["CHOWN", "NET_BIND_SERVICE"]))).is_empty());
    let want = "non-default capabilities (container \"app\" must not include \"NET_ADMIN\", \"SYS_ADMIN\" in securityContext.capabilities.add)";
    assert_eq!(
        base(&add(json!(["SYS_ADMIN", "NET_ADMIN", "CHOWN"]))),
        one(want)
    );
    // Restricted from 1.22: drop ALL, add at most NET_BIND_SERVICE; the
    // baseline check is replaced, not repeated.
    assert!(restricted(&add(json!(["NET_BIND_SERVICE"]))).is_empty());
    assert_eq!(
        restricted(&add(json!(["CHOWN"]))),
        one(
            "unrestricted capabilities (container \"app\" must not include \"CHOWN\" in securityContext.capabilities.add)"
        )
    );
    let no_drop = with(|v| csc(v)["capabilities"] = json!({"add": ["SYS_ADMIN"]}));
    assert_eq!(
        run(Level::Restricted, "v1.22", &no_drop),
        one(
            "unrestricted capabilities (container \"app\" must set securityContext.capabilities.drop=[\"ALL\"]; container \"app\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add)"
        )
    );
    // Before 1.22 restricted only had the baseline rule.
    assert_eq!(
        run(Level::Restricted, "v1.21", &no_drop),
        one(
            "non-default capabilities (container \"app\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add)"
        )
    );
    let none = with(|v| {
        csc(v).as_object_mut().unwrap().remove("capabilities");
    });
    assert!(run(Level::Restricted, "v1.21", &none).is_empty());
}

#[test]
fn host_path_volumes_at_baseline_and_restricted_volume_types() {
    let vols = |vs: Value| with(|v| v["spec"]["volumes"] = vs);
    let hp =
        vols(json!([{"name": "host", "hostPath": {"path": "/"}}, {"name": "tmp", "emptyDir": {}}]));
    assert_eq!(base(&hp), one("hostPath volumes (volume \"host\")"));
    // Restricted replaces the hostPath check with its own wider one.
    assert_eq!(
        restricted(&hp),
        one("restricted volume types (volume \"host\" uses restricted volume type \"hostPath\")")
    );
    let mixed = vols(json!([
        {"name": "a", "nfs": {"server": "x", "path": "/"}},
        {"name": "b", "gitRepo": {"repository": "r"}},
        {"name": "c"},
        {"name": "ok", "configMap": {"name": "x"}},
        {"name": "ok2", "projected": {"sources": []}},
        {"name": "ok3", "persistentVolumeClaim": {"claimName": "x"}},
        {"name": "ok4", "image": {"reference": "x"}},
    ]));
    assert!(base(&mixed).is_empty());
    assert_eq!(
        restricted(&mixed),
        one(
            "restricted volume types (volumes \"a\", \"b\", \"c\" use restricted volume types \"gitRepo\", \"nfs\", \"unknown\")"
        )
    );
}

#[test]
fn host_ports_sorted_as_upstream_sorts_them() {
    let bad = with(|v| {
        v["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": 80, "hostPort": 80}, {"containerPort": 9, "hostPort": 10000}]);
    });
    let want = one("hostPort (container \"app\" uses hostPorts 10000, 80)");
    assert_eq!(base(&bad), want);
    assert_eq!(restricted(&bad), want);
    let ok = with(|v| v["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]));
    assert!(base(&ok).is_empty());
}

#[test]
fn app_armor_annotations_and_fields() {
    let ann = with(|v| {
        v["metadata"]["annotations"] =
            json!({"container.apparmor.security.beta.kubernetes.io/app": "unconfined"});
    });
    let want = one(
        "forbidden AppArmor profile (annotation must not set AppArmor profile type to \"container.apparmor.security.beta.kubernetes.io/app=\"unconfined\"\")",
    );
    assert_eq!(base(&ann), want);
    assert_eq!(restricted(&ann), want);
    let fields = with(|v| {
        v["spec"]["securityContext"]["appArmorProfile"] = json!({"type": "Unconfined"});
        csc(v)["appArmorProfile"] = json!({"type": "Unconfined"});
    });
    assert_eq!(
        base(&fields),
        one(
            "forbidden AppArmor profile (pod and container \"app\" must not set AppArmor profile type to \"Unconfined\")"
        )
    );
    let ok = with(|v| {
        v["metadata"]["annotations"] =
            json!({"container.apparmor.security.beta.kubernetes.io/app": "localhost/mine"});
        v["spec"]["securityContext"]["appArmorProfile"] = json!({"type": "RuntimeDefault"});
        csc(v)["appArmorProfile"] = json!({"type": "Localhost", "localhostProfile": "mine"});
    });
    assert!(restricted(&ok).is_empty());
}

#[test]
fn se_linux_types_users_roles_and_container_engine_t_from_1_31() {
    let bad = with(|v| {
        v["spec"]["securityContext"]["seLinuxOptions"] = json!({"type": "spc_t"});
        csc(v)["seLinuxOptions"] = json!({"user": "root", "role": "sysadm_r"});
    });
    let want = one(
        "seLinuxOptions (pod and container \"app\" set forbidden securityContext.seLinuxOptions: type \"spc_t\"; user may not be set; role may not be set)",
    );
    assert_eq!(base(&bad), want);
    assert_eq!(restricted(&bad), want);
    let engine =
        with(|v| csc(v)["seLinuxOptions"] = json!({"type": "container_engine_t", "level": "s0"}));
    assert!(run(Level::Baseline, "v1.31", &engine).is_empty());
    assert_eq!(
        run(Level::Baseline, "v1.30", &engine),
        one(
            "seLinuxOptions (container \"app\" set forbidden securityContext.seLinuxOptions: type \"container_engine_t\")"
        )
    );
}

#[test]
fn proc_mount_and_user_namespaces_from_1_35() {
    let unmasked = with(|v| csc(v)["procMount"] = json!("Unmasked"));
    let want =
        one("procMount (container \"app\" must not set securityContext.procMount to \"Unmasked\")");
    assert_eq!(base(&unmasked), want);
    assert_eq!(restricted(&unmasked), want);
    assert!(base(&with(|v| csc(v)["procMount"] = json!("Default"))).is_empty());
    let userns = with(|v| {
        csc(v)["procMount"] = json!("Unmasked");
        v["spec"]["hostUsers"] = json!(false);
    });
    // Baseline relaxes for user-namespaced pods from 1.35; restricted does not.
    assert!(run(Level::Baseline, "v1.35", &userns).is_empty());
    assert_eq!(run(Level::Baseline, "v1.34", &userns), want);
    assert_eq!(run(Level::Restricted, "v1.35", &userns), want);
}

#[test]
fn seccomp_baseline_fields_and_annotations_before_1_19() {
    let unconfined = with(|v| csc(v)["seccompProfile"] = json!({"type": "Unconfined"}));
    let want = one(
        "seccompProfile (container \"app\" must not set securityContext.seccompProfile.type to \"Unconfined\")",
    );
    assert_eq!(base(&unconfined), want);
    assert_eq!(restricted(&unconfined), want);
    // Baseline accepts no profile at all.
    let unset = with(|v| v["spec"]["securityContext"] = json!({"runAsNonRoot": true}));
    assert!(base(&unset).is_empty());
    // Before 1.19 the alpha annotations were checked, and only they.
    let ann = with(|v| {
        v["metadata"]["annotations"] = json!({
            "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
            "container.seccomp.security.alpha.kubernetes.io/app": "docker/default",
        });
    });
    assert_eq!(
        run(Level::Baseline, "v1.18", &ann),
        one(
            "seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod=\"unconfined\")"
        )
    );
    assert!(run(Level::Baseline, "v1.19", &ann).is_empty());
}

#[test]
fn seccomp_restricted_pod_level_fallback_minimum_version_and_windows() {
    let unset = with(|v| v["spec"]["securityContext"] = json!({"runAsNonRoot": true}));
    let want = one(
        "seccompProfile (pod or container \"app\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
    );
    assert_eq!(restricted(&unset), want);
    // A container-level profile stands in for the pod's.
    let per_container = with(|v| {
        v["spec"]["securityContext"] = json!({"runAsNonRoot": true});
        csc(v)["seccompProfile"] = json!({"type": "Localhost", "localhostProfile": "p"});
    });
    assert!(restricted(&per_container).is_empty());
    // The restricted rule exists from 1.19.
    assert!(run(Level::Restricted, "v1.18", &unset).is_empty());
    assert_eq!(run(Level::Restricted, "v1.19", &unset), want);
    // From 1.25 a Windows pod is exempt.
    let windows = with(|v| {
        v["spec"]["securityContext"] = json!({"runAsNonRoot": true});
        v["spec"]["os"] = json!({"name": "windows"});
    });
    assert!(run(Level::Restricted, "v1.25", &windows).is_empty());
    assert_eq!(run(Level::Restricted, "v1.24", &windows), want);
}

#[test]
fn sysctls_grow_by_version() {
    let ctl = |name: &str| {
        with(|v| v["spec"]["securityContext"]["sysctls"] = json!([{"name": name, "value": "1"}]))
    };
    let rmem = ctl("net.ipv4.tcp_rmem");
    assert!(run(Level::Baseline, "v1.32", &rmem).is_empty());
    assert_eq!(
        run(Level::Baseline, "v1.31", &rmem),
        one("forbidden sysctls (net.ipv4.tcp_rmem)")
    );
    let lowat = ctl("net.ipv4.tcp_notsent_lowat");
    assert!(run(Level::Baseline, "v1.37", &lowat).is_empty());
    assert!(!run(Level::Baseline, "v1.36", &lowat).is_empty());
    assert_eq!(
        restricted(&ctl("kernel.msgmax")),
        one("forbidden sysctls (kernel.msgmax)")
    );
    assert!(restricted(&ctl("kernel.shm_rmid_forced")).is_empty());
}

#[test]
fn windows_host_process_pod_and_containers() {
    let bad = with(|v| {
        v["spec"]["securityContext"]["windowsOptions"] = json!({"hostProcess": true});
        csc(v)["windowsOptions"] = json!({"hostProcess": true});
    });
    let want = one(
        "hostProcess (pod and container \"app\" must not set securityContext.windowsOptions.hostProcess=true)",
    );
    assert_eq!(base(&bad), want);
    assert_eq!(restricted(&bad), want);
    assert!(
        base(&with(
            |v| csc(v)["windowsOptions"] = json!({"hostProcess": false})
        ))
        .is_empty()
    );
}

#[test]
fn probe_and_lifecycle_hosts_from_1_34() {
    let bad = with(|v| {
        let c = &mut v["spec"]["containers"][0];
        c["livenessProbe"] = json!({"httpGet": {"host": "10.0.0.1", "port": 80}});
        c["lifecycle"] = json!({"preStop": {"tcpSocket": {"host": "169.254.169.254", "port": 80}}});
    });
    let want = one(
        "probe or lifecycle host (container \"app\" uses probe or lifecycle hosts \"10.0.0.1\", \"169.254.169.254\")",
    );
    assert_eq!(run(Level::Baseline, "v1.34", &bad), want);
    assert_eq!(run(Level::Restricted, "v1.34", &bad), want);
    assert!(run(Level::Baseline, "v1.33", &bad).is_empty());
    let ok =
        with(|v| v["spec"]["containers"][0]["readinessProbe"] = json!({"httpGet": {"port": 80}}));
    assert!(base(&ok).is_empty());
}

#[test]
fn allow_privilege_escalation_and_its_windows_exemption() {
    let unset = with(|v| {
        csc(v)
            .as_object_mut()
            .unwrap()
            .remove("allowPrivilegeEscalation");
    });
    let want = one(
        "allowPrivilegeEscalation != false (container \"app\" must set securityContext.allowPrivilegeEscalation=false)",
    );
    assert_eq!(restricted(&unset), want);
    assert!(base(&unset).is_empty());
    assert_eq!(
        restricted(&with(|v| csc(v)["allowPrivilegeEscalation"] = json!(true))),
        want
    );
    // The rule starts at 1.8; Windows pods are exempt from 1.25.
    assert!(run(Level::Restricted, "v1.7", &unset).is_empty());
    let windows = with(|v| {
        csc(v)
            .as_object_mut()
            .unwrap()
            .remove("allowPrivilegeEscalation");
        v["spec"]["os"] = json!({"name": "windows"});
    });
    assert!(run(Level::Restricted, "v1.25", &windows).is_empty());
    assert_eq!(run(Level::Restricted, "v1.24", &windows), want);
}

#[test]
fn run_as_non_root_pod_level_fallback_and_explicit_false() {
    let unset = with(|v| {
        v["spec"]["securityContext"] = json!({"seccompProfile": {"type": "RuntimeDefault"}})
    });
    assert_eq!(
        restricted(&unset),
        one(
            "runAsNonRoot != true (pod or container \"app\" must set securityContext.runAsNonRoot=true)"
        )
    );
    assert!(base(&unset).is_empty());
    let per_container = with(|v| {
        v["spec"]["securityContext"] = json!({"seccompProfile": {"type": "RuntimeDefault"}});
        csc(v)["runAsNonRoot"] = json!(true);
    });
    assert!(restricted(&per_container).is_empty());
    // A container's false beats the pod's true.
    let explicit = with(|v| csc(v)["runAsNonRoot"] = json!(false));
    assert_eq!(
        restricted(&explicit),
        one(
            "runAsNonRoot != true (container \"app\" must not set securityContext.runAsNonRoot=false)"
        )
    );
    // From 1.35 a user-namespaced pod may leave it unset.
    let userns = with(|v| {
        v["spec"]["securityContext"] = json!({"seccompProfile": {"type": "RuntimeDefault"}});
        v["spec"]["hostUsers"] = json!(false);
    });
    assert!(run(Level::Restricted, "v1.35", &userns).is_empty());
    assert!(!run(Level::Restricted, "v1.34", &userns).is_empty());
}

#[test]
fn run_as_user_zero_from_1_23() {
    let root = with(|v| {
        v["spec"]["securityContext"]["runAsUser"] = json!(0);
        csc(v)["runAsUser"] = json!(0);
    });
    let want = one("runAsUser=0 (pod and container \"app\" must not set runAsUser=0)");
    assert_eq!(restricted(&root), want);
    assert_eq!(run(Level::Restricted, "v1.23", &root), want);
    assert!(run(Level::Restricted, "v1.22", &root).is_empty());
    assert!(base(&root).is_empty());
    assert!(restricted(&with(|v| csc(v)["runAsUser"] = json!(1000))).is_empty());
    let userns = with(|v| {
        csc(v)["runAsUser"] = json!(0);
        v["spec"]["hostUsers"] = json!(false);
    });
    assert!(run(Level::Restricted, "v1.35", &userns).is_empty());
}

#[test]
fn a_bare_pod_fails_restricted_in_upstream_order() {
    let bare = json!({"metadata": {}, "spec": {"containers": [{"name": "app", "image": "x"}]}});
    assert!(base(&bare).is_empty());
    assert_eq!(
        run(Level::Restricted, "v1.33", &bare),
        [
            "allowPrivilegeEscalation != false (container \"app\" must set securityContext.allowPrivilegeEscalation=false)",
            "unrestricted capabilities (container \"app\" must set securityContext.capabilities.drop=[\"ALL\"])",
            "runAsNonRoot != true (pod or container \"app\" must set securityContext.runAsNonRoot=true)",
            "seccompProfile (pod or container \"app\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
        ]
    );
}

#[test]
fn versions_parse_as_upstream_parses_them() {
    assert_eq!(Version::parse("latest"), Some(Version::Latest));
    assert_eq!(Version::parse("v1.33"), Some(Version::Minor(33)));
    assert_eq!(Version::parse("v1.0"), Some(Version::Minor(0)));
    for bad in ["v1.033", "1.33", "v2.1", "v1.", "v1.x", "Latest"] {
        assert_eq!(Version::parse(bad), None, "{bad}");
    }
    assert_eq!(Version::Minor(33).to_string(), "v1.33");
}

#[test]
fn null_fields_are_unset_and_wrong_types_do_not_decode() {
    let nulls = json!({"securityContext": null, "containers": [{"name": "a", "securityContext": {"privileged": null}}]});
    assert!(Pod::from_parts(&Value::Null, &nulls).is_ok());
    let wrong = json!({"containers": [{"name": "a", "securityContext": {"privileged": "yes"}}]});
    let e = Pod::from_parts(&Value::Null, &wrong).unwrap_err();
    assert!(
        e.starts_with("`spec.containers[0].securityContext.privileged`"),
        "{e}"
    );
}
