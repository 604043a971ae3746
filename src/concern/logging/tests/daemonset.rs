//! Tests of the collector's DaemonSet, namespace and RBAC, and of the
//! logging checks.

use super::*;

#[test]
fn contract_renders_fluentd_with_rbac_in_a_privileged_namespace() {
    let objs = all_sources("fluentd");
    let ns = object(&objs, "_cluster/namespace-logging.yaml");
    let l = &ns["metadata"]["labels"];
    assert_eq!(l["pod-security.kubernetes.io/enforce"], "privileged");
    assert_eq!(l["pod-security.kubernetes.io/warn"], "restricted");
    let why = ns["metadata"]["annotations"]["kharden.dev/justification"]
        .as_str()
        .unwrap();
    assert!(why.contains("hostPath"), "{why}");

    let role = object(&objs, "_cluster/clusterrole-kharden-logging-fluentd.yaml");
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": ["get", "list", "watch"]}])
    );
    let crb = object(
        &objs,
        "_cluster/clusterrolebinding-kharden-logging-fluentd.yaml",
    );
    assert_eq!(
        crb["subjects"],
        json!([{"kind": "ServiceAccount", "name": "fluentd", "namespace": "logging"}])
    );
    assert!(crb["metadata"]["annotations"]["kharden.dev/justification"].is_string());
    let sa = object(&objs, "logging/serviceaccount-fluentd.yaml");
    assert_eq!(sa["automountServiceAccountToken"], false);
    let sa = object(&objs, "logging/serviceaccount-default.yaml");
    assert_eq!(sa["automountServiceAccountToken"], false);
}

#[test]
fn daemon_set_is_pinned_read_only_and_uses_secret_refs() {
    let objs = all_sources("fluentd");
    let ds = object(&objs, "logging/daemonset-fluentd.yaml");
    let pod = &ds["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let image = c["image"].as_str().unwrap();
    assert_eq!(image, FLUENTD_IMAGE);
    let tag = image.rsplit_once(':').unwrap().1;
    assert!(tag != "latest" && tag.contains("1.19.3") && tag.contains("elasticsearch8"));

    assert_eq!(pod["serviceAccountName"], "fluentd");
    assert!(pod.get("serviceAccount").is_none());

    // Credentials: only from the Secret, never a literal value.
    let env = c["env"].as_array().unwrap();
    for (name, key) in [
        ("FLUENT_ELASTICSEARCH_USER", "username"),
        ("FLUENT_ELASTICSEARCH_PASSWORD", "password"),
    ] {
        let e = env.iter().find(|e| e["name"] == name).unwrap();
        assert!(e.get("value").is_none());
        assert_eq!(
            e["valueFrom"]["secretKeyRef"],
            json!({"name": "elasticsearch-credentials", "key": key, "optional": false})
        );
    }
    assert!(env.iter().all(|e| e.get("value").is_none()));

    // Every host mount read-only except the state directory.
    let vols: BTreeMap<&str, &Value> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v))
        .collect();
    let mut host = BTreeMap::new();
    for m in c["volumeMounts"].as_array().unwrap() {
        let v = vols[m["name"].as_str().unwrap()];
        if let Some(path) = v["hostPath"]["path"].as_str() {
            assert_eq!(m["mountPath"], path);
            host.insert(path.to_owned(), m["readOnly"] == true);
        }
    }
    // /var/log holds the containers, pods, audit and persistent journal
    // directories; each is mounted once, through it.
    assert_eq!(
        host,
        BTreeMap::from([
            ("/etc/machine-id".to_owned(), true),
            ("/var/lib/kharden/fluentd".to_owned(), false),
            ("/run/log/journal".to_owned(), true),
            ("/var/log".to_owned(), true),
        ])
    );

    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert!(c["resources"]["requests"]["memory"].is_string());
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert!(c["resources"]["limits"]["cpu"].is_string());
    assert_eq!(c["imagePullPolicy"], "Always");

    // Remaining scanner findings are skipped with a reason, in checkov's format.
    let ann = ds["metadata"]["annotations"].as_object().unwrap();
    let skips: Vec<&str> = ann
        .iter()
        .filter(|(k, _)| k.starts_with("checkov.io/skip"))
        .map(|(_, v)| v.as_str().unwrap())
        .collect();
    assert!(skips.len() >= 5);
    for s in &skips {
        let (id, why) = s.split_once('=').unwrap();
        assert!(
            id.starts_with("CKV_K8S_") && why.len() > 20 && !why.contains('='),
            "{s}"
        );
    }
    for id in ["CKV_K8S_23", "CKV_K8S_40", "CKV_K8S_43"] {
        assert!(
            skips.iter().any(|s| s.starts_with(&format!("{id}="))),
            "{id}"
        );
    }
    assert!(ann.contains_key("ignore-check.kube-linter.io/run-as-non-root"));
}

#[test]
fn only_what_the_sources_read_is_mounted() {
    let objs = render(&logging("", "[pods]"));
    let ds = object(&objs, "logging/daemonset-fluentd.yaml");
    let paths: Vec<&str> = ds["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["hostPath"]["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "/var/log/containers",
            "/var/log/pods",
            "/var/lib/kharden/fluentd"
        ]
    );
    assert!(
        !ds["metadata"]["annotations"]
            .as_object()
            .unwrap()
            .contains_key("ignore-check.kube-linter.io/sensitive-host-mounts")
    );
    let conf = fluent_conf(&objs);
    assert_eq!(conf.all("source").len(), 1);
}

#[test]
fn plain_http_is_an_explicit_choice_without_tls_settings() {
    let objs = render(
        "logging:\n  sources: [pods]\n  elasticsearch: {host: 10.0.0.5, scheme: http, indexPrefix: k8s, credentialsSecret: es}\n",
    );
    let es = fluent_conf(&objs).by_id("out_es").clone();
    assert_eq!(es.get("scheme"), "http");
    assert!(!es.params.contains_key("ssl_min_version"));
}

#[test]
fn a_digest_pinned_image_needs_no_digest_skip() {
    let img = format!("mirror.example.com/fluentd@sha256:{}", "a".repeat(64));
    let objs = render(&logging(&format!("  image: {img}\n"), "[pods]"));
    let ds = object(&objs, "logging/daemonset-fluentd.yaml");
    assert_eq!(
        ds["spec"]["template"]["spec"]["containers"][0]["image"],
        img
    );
    let ann = ds["metadata"]["annotations"].as_object().unwrap();
    assert!(
        ann.values()
            .all(|v| !v.as_str().unwrap().starts_with("CKV_K8S_43"))
    );
}

// -- Refusals ---------------------------------------------------------------

#[test]
fn values_no_collector_can_hold_are_refused() {
    let e = errors(&format!(
        "apiServer:\n  audit: {{logPath: \"/var/log/a\\nb/audit.log\"}}\n{}",
        logging("", "[audit]")
    ));
    assert!(e.contains("the log collector cannot read the audit log at `/var/log/a\\nb/audit.log`: it contains a control character"), "{e}");
    let e = errors(&format!(
        "apiServer:\n  audit: {{logPath: /var/log/audit/*.log}}\n{}",
        logging("", "[audit]")
    ));
    assert!(
        e.contains("it contains `*`, which the collector's tail input reads as a pattern"),
        "{e}"
    );
    let e = errors(&format!(
        "apiServer:\n  audit: {{logPath: '/var/log/a#b/audit.log'}}\n{}",
        logging("  collector: fluent-bit\n", "[audit]")
    ));
    assert!(
        e.contains("Fluent Bit's configuration format cannot hold"),
        "{e}"
    );
    let e = errors(&format!(
        "apiServer:\n  audit: {{logPath: /audit.log}}\n{}",
        logging("", "[audit]")
    ));
    assert!(e.contains("give it a directory of its own"), "{e}");
    let e = errors(&format!(
        "apiServer:\n  audit: {{logPath: /var/log/pods/audit.log}}\n{}",
        logging("", "[audit]")
    ));
    assert!(e.contains("already mounted for another purpose"), "{e}");
}

#[test]
fn bad_logging_settings_are_refused() {
    let e = errors(
        "logging:\n  namespace: kube-system\n  sources: [pods]\n  image: fluent/fluentd:latest\n  elasticsearch: {host: \"es:9200\", port: 0, indexPrefix: \"Prod_${x}\", credentialsSecret: es}\n",
    );
    for want in [
        "the log collector cannot run in `kube-system`",
        "image `fluent/fluentd:latest` uses the floating tag `latest`",
        "`es:9200` is not a host name",
        "port 0 is not a port",
        "`Prod_${x}` is not a valid Elasticsearch index prefix: it must start with a lower-case letter or digit",
    ] {
        assert!(e.contains(want), "{want}\n{e}");
    }
    let e = errors(&logging("  image: fluent/fluentd\n", "[pods]"));
    assert!(e.contains("has no tag, so it floats to `latest`"), "{e}");
    let e = errors(&logging("", "[]"));
    assert!(e.contains("`logging.sources` is empty"), "{e}");
    let e = errors(&format!(
        "namespaces:\n  - name: logging\n{}",
        logging("", "[pods]")
    ));
    assert!(e.contains("`logging` is also a tenant namespace"), "{e}");
}

#[test]
fn audit_needs_an_enabled_audit_log_on_a_self_managed_control_plane() {
    let e = errors(&format!(
        "apiServer:\n  audit: {{enabled: false}}\n{}",
        logging("", "[audit]")
    ));
    assert!(e.contains("`apiServer.audit.enabled` is false"), "{e}");
    // On a managed platform the provider exports both: accepted, and the
    // collector reads only the node sources.
    let body = logging("", "[pods, controlPlane, audit]");
    let text = format!("{}{body}", crate::testing::HEAD.replace("kubeadm", "aks"));
    let m = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
    let plan = m.plan.logging.clone().unwrap();
    assert_eq!(plan.sources, BTreeSet::from([LogSource::Pods]));
    assert_eq!(plan.audit_path, None);
    // The provider's audit export still needs the audit log on.
    let text = format!(
        "{}apiServer:\n  audit: {{enabled: false}}\n{body}",
        crate::testing::HEAD.replace("kubeadm", "eks")
    );
    let e = crate::load_text(&text, "t.yaml", crate::testing::today())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`apiServer.audit.enabled` is false"), "{e}");
}

// -- Where the collector runs, what it may create on the node (#29, #30) ----

/// Host volumes of a rendered DaemonSet: (host path, hostPath type, mountPath).
fn host_volumes(ds: &Value) -> Vec<(String, Option<String>, String)> {
    let pod = &ds["spec"]["template"]["spec"];
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
    pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| {
            let path = v["hostPath"]["path"].as_str()?;
            let m = mounts.iter().find(|m| m["name"] == v["name"]).unwrap();
            Some((
                path.to_owned(),
                v["hostPath"]["type"].as_str().map(str::to_owned),
                m["mountPath"].as_str().unwrap().to_owned(),
            ))
        })
        .collect()
}

fn within(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|r| r.is_empty() || r.starts_with('/'))
}

#[test]
fn the_journal_is_read_without_creating_its_directory() {
    // #30 item 9: creating /var/log/journal makes journald persist.
    for collector in ["fluentd", "fluent-bit"] {
        let objs = all_sources(collector);
        let ds = object(&objs, &format!("logging/daemonset-{collector}.yaml"));
        let vols = host_volumes(&ds);
        for (path, kind, _) in &vols {
            // The kubelet creates a missing `DirectoryOrCreate` source; for the
            // empty type containerd and CRI-O do (`MkdirAll`).
            let creates = matches!(
                kind.as_deref(),
                None | Some("") | Some("DirectoryOrCreate") | Some("FileOrCreate")
            );
            assert!(
                !(creates && within(path, "/var/log/journal")),
                "{collector}: {path} ({kind:?}) would create the persistent journal"
            );
        }
        // The journal shows through its parent, which every node has, at the
        // same path inside the container, checked but never created.
        let via: Vec<_> = vols
            .iter()
            .filter(|(path, _, _)| within("/var/log/journal", path))
            .collect();
        assert_eq!(
            via,
            [&(
                "/var/log".to_owned(),
                Some("Directory".to_owned()),
                "/var/log".to_owned()
            )],
            "{collector}"
        );
    }
    // Fluentd reads both directories, each with a cursor of its own (a missing
    // one is retried); Fluent Bit takes no `Path` (see its pipeline test).
    let conf = fluent_conf(&all_sources("fluentd"));
    assert_eq!(
        conf.by_id("in_systemd_node").get("path"),
        "/var/log/journal"
    );
    assert_eq!(
        conf.by_id("in_systemd_node_runtime").get("path"),
        "/run/log/journal"
    );
}

/// A taint as `(key, value, effect)`.
type Taint<'a> = (&'a str, &'a str, &'a str);

/// Kubernetes' `Toleration.ToleratesTaint`: an empty key with `Exists`
/// tolerates every key, an empty effect every effect.
fn tolerates(t: &Value, (key, value, effect): Taint<'_>) -> bool {
    let field = |k: &str| t[k].as_str().unwrap_or_default();
    if !field("effect").is_empty() && field("effect") != effect {
        return false;
    }
    if !field("key").is_empty() && field("key") != key {
        return false;
    }
    match field("operator") {
        "Exists" => true,
        "" | "Equal" => field("value") == value,
        other => panic!("operator {other}"),
    }
}

/// A required node affinity term's expression (`In`, `NotIn`, `Exists`,
/// `DoesNotExist`); `NotIn` and `DoesNotExist` match a node without the label.
fn expression_matches(e: &Value, labels: &[(&str, &str)]) -> bool {
    let key = e["key"].as_str().unwrap();
    let value = labels.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let values: Vec<&str> = e["values"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
        .unwrap_or_default();
    match e["operator"].as_str().unwrap() {
        "In" => value.is_some_and(|v| values.contains(&v)),
        "NotIn" => !value.is_some_and(|v| values.contains(&v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        other => panic!("operator {other}"),
    }
}

/// Whether the scheduler places the pod on a node with these labels and taints
/// (node selector, required node affinity: some term with every expression
/// true, then every NoSchedule and NoExecute taint tolerated).
fn schedulable(pod: &Value, labels: &[(&str, &str)], taints: &[Taint<'_>]) -> bool {
    let selector = pod["nodeSelector"].as_object().cloned().unwrap_or_default();
    let tolerations = pod["tolerations"].as_array().cloned().unwrap_or_default();
    let affinity_ok = pod
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
        .is_none_or(|terms| {
            terms.iter().any(|t| {
                t["matchExpressions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|e| expression_matches(e, labels))
            })
        });
    selector
        .iter()
        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && v == lv))
        && affinity_ok
        && taints
            .iter()
            .filter(|t| t.2 != "PreferNoSchedule")
            .all(|t| tolerations.iter().any(|x| tolerates(x, *t)))
}

#[test]
fn collectors_run_on_every_linux_node_whatever_its_taints() {
    // #29 item 5.
    let linux = [("kubernetes.io/os", "linux")];
    let windows = [("kubernetes.io/os", "windows")];
    for collector in ["fluentd", "fluent-bit"] {
        let objs = all_sources(collector);
        let ds = object(&objs, &format!("logging/daemonset-{collector}.yaml"));
        let pod = &ds["spec"]["template"]["spec"];
        for taints in [
            &[][..],
            &[("node-role.kubernetes.io/control-plane", "", "NoSchedule")],
            &[("nvidia.com/gpu", "present", "NoSchedule")],
            &[(
                "kubernetes.azure.com/scalesetpriority",
                "spot",
                "NoSchedule",
            )],
            &[("dedicated", "db", "NoExecute"), ("x", "y", "NoSchedule")],
            &[("soft", "", "PreferNoSchedule")],
        ] {
            assert!(
                schedulable(pod, &linux, taints),
                "{collector}: a Linux node tainted {taints:?} gets no collector"
            );
        }
        // Nodes that are not machines: no DaemonSet runs there.
        let fargate = [
            ("kubernetes.io/os", "linux"),
            ("eks.amazonaws.com/compute-type", "fargate"),
        ];
        let fargate_taint = [("eks.amazonaws.com/compute-type", "fargate", "NoSchedule")];
        assert!(!schedulable(pod, &fargate, &fargate_taint), "{collector}");
        let virtual_node = [("kubernetes.io/os", "linux"), ("type", "virtual-kubelet")];
        let vk_taint = [("virtual-kubelet.io/provider", "azure", "NoSchedule")];
        assert!(!schedulable(pod, &virtual_node, &vk_taint), "{collector}");
        let ec2 = [
            ("kubernetes.io/os", "linux"),
            ("eks.amazonaws.com/compute-type", "ec2"),
        ];
        assert!(schedulable(pod, &ec2, &[]), "{collector}");
        // AKS and EKS Windows pools carry no taint unless told to; GKE's do.
        assert!(!schedulable(pod, &windows, &[]), "{collector}");
        assert!(
            !schedulable(
                pod,
                &windows,
                &[("node.kubernetes.io/os", "windows", "NoSchedule")]
            ),
            "{collector}"
        );
    }
}
