//! The real binary on the contract profile, its directory output built by
//! `kubectl kustomize`. The rest of the binary's tests are in `hermetic/cli.rs`.

use crate::common;

use common::{CONTRACT, kharden, stderr, tree};

#[test]
fn contract_profile_renders_what_the_issue_asks_for() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let o = kharden(&["render", CONTRACT, "-o", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = tree(&dir);
    let obj = |rel: &str| -> serde_json::Value {
        let text = String::from_utf8(files.get(rel).unwrap_or_else(|| panic!("no {rel}")).clone())
            .unwrap();
        serde_saphyr::from_str(&text).unwrap()
    };
    for ns in ["team-a", "team-b"] {
        let n = obj(&format!("stages/00-cluster/_cluster/namespace-{ns}.yaml"));
        assert_eq!(
            n["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
        let q = obj(&format!(
            "stages/20-namespaced/{ns}/resourcequota-kharden-default.yaml"
        ));
        assert_eq!(q["spec"]["hard"]["services.loadbalancers"], "0");
        assert_eq!(
            obj(&format!(
                "stages/20-namespaced/{ns}/limitrange-kharden-default.yaml"
            ))["kind"],
            "LimitRange"
        );
    }
    let rb = obj(
        "stages/40-access/team-a/rolebinding-limited-user-user-0c1d2e3f-aaaa-4bbb-8ccc-ddddeeeeffff.yaml",
    );
    assert_eq!(
        rb["subjects"][0]["name"],
        "https://sts.windows.net/3f2b8c1e-5d4a-4c2b-9e7f-0a1b2c3d4e5f/#0c1d2e3f-aaaa-4bbb-8ccc-ddddeeeeffff"
    );
    let crb = obj(
        "stages/40-access/_cluster/clusterrolebinding-kharden-group-7a8b9c0d-3456-4789-abcd-ef0123456789.yaml",
    );
    assert_eq!(
        crb["metadata"]["annotations"]["kharden.dev/justification"],
        "Platform team dashboards list namespaces and nodes."
    );
    // Logging (issue #5): a Fluentd DaemonSet, its ConfigMap and RBAC in `logging`.
    assert!(
        !stderr(&o).contains("`logging` is validated"),
        "{}",
        stderr(&o)
    );
    let ds = obj("stages/50-workloads/logging/daemonset-fluentd.yaml");
    let c = &ds["spec"]["template"]["spec"]["containers"][0];
    assert!(
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["valueFrom"]["secretKeyRef"]["name"] == "elasticsearch-credentials")
    );
    let conf = obj("stages/20-namespaced/logging/configmap-fluentd-config.yaml");
    let conf = conf["data"]["fluent.conf"].as_str().unwrap();
    assert!(
        conf.contains("host \"elasticsearch.logging.svc\"")
            && conf.contains("logstash_prefix \"prod-east\"")
    );
    assert_eq!(
        obj("stages/20-namespaced/logging/serviceaccount-fluentd.yaml")["kind"],
        "ServiceAccount"
    );
    assert_eq!(
        obj("stages/40-access/_cluster/clusterrolebinding-kharden-logging-fluentd.yaml")["subjects"]
            [0]["namespace"],
        "logging"
    );
    let k = std::process::Command::new("kubectl")
        .args(["kustomize", dir.to_str().unwrap()])
        .output()
        .expect("kubectl");
    assert!(
        k.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&k.stderr)
    );
}
