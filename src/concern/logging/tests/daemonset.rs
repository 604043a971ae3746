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
    assert_eq!(
        pod["tolerations"],
        json!([{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}])
    );

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
    assert_eq!(
        host,
        BTreeMap::from([
            ("/etc/machine-id".to_owned(), true),
            ("/var/lib/kharden/fluentd".to_owned(), false),
            ("/var/log/containers".to_owned(), true),
            ("/run/log/journal".to_owned(), true),
            ("/var/log/journal".to_owned(), true),
            ("/var/log/kubernetes/audit".to_owned(), true),
            ("/var/log/pods".to_owned(), true),
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
    let plan = super::Plan::from_model(&m).unwrap();
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
