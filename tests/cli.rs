//! The real binary: exit codes, stream versus files, `--check`, safe writes, and
//! the issue's must-show cases.

mod common;

use std::fs;

use common::{CONTRACT, kharden, kharden_in, root, stderr, stdout, tree};

fn yaml_docs(text: &str) -> Vec<serde_json::Value> {
    text.split("\n---\n")
        .map(|d| serde_saphyr::from_str::<serde_json::Value>(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

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

#[test]
fn stream_holds_the_same_objects_as_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("o");
    assert!(
        kharden(&[
            "render",
            "examples/prod-east.yaml",
            "-o",
            dir.to_str().unwrap()
        ])
        .status
        .success()
    );
    let o = kharden(&["render", "examples/prod-east.yaml", "-o", "-"]);
    assert!(o.status.success());
    let from_stream = yaml_docs(&stdout(&o));
    let from_files: Vec<serde_json::Value> = tree(&dir)
        .into_iter()
        // Control-plane files (kubeadm, eksctl, cloud settings) are not API objects.
        .filter(|(rel, _)| {
            !rel.ends_with("kustomization.yaml")
                && !rel.starts_with("control-plane/")
                && !rel.starts_with("flux/")
        })
        .map(|(_, b)| serde_saphyr::from_str(&String::from_utf8(b).unwrap()).unwrap())
        .collect();
    assert_eq!(from_stream, from_files);
    // Namespaces come before the objects that live in them.
    let kinds: Vec<&str> = from_stream
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    let first_ns = kinds.iter().position(|k| *k == "Namespace").unwrap();
    let first_role = kinds.iter().position(|k| *k == "Role").unwrap();
    assert!(first_ns < first_role);
}

#[test]
fn check_reports_drift_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("o");
    let d = dir.to_str().unwrap();
    assert!(
        kharden(&["render", "examples/prod-east.yaml", "-o", d])
            .status
            .success()
    );
    let o = kharden(&["render", "examples/prod-east.yaml", "-o", d, "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let ns = dir.join("stages/00-cluster/_cluster/namespace-team-a.yaml");
    let tampered = fs::read_to_string(&ns)
        .unwrap()
        .replace("enforce: restricted", "enforce: privileged");
    fs::write(&ns, &tampered).unwrap();
    fs::remove_file(dir.join("stages/20-namespaced/team-b/role-edit.yaml")).unwrap();
    fs::write(dir.join("stages/20-namespaced/team-b/extra.yaml"), "x: 1\n").unwrap();
    let before = tree(&dir);
    let o = kharden(&["render", "examples/prod-east.yaml", "-o", d, "--check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("changed: stages/00-cluster/_cluster/namespace-team-a.yaml"),
        "{out}"
    );
    assert!(
        out.contains("-    pod-security.kubernetes.io/enforce: privileged"),
        "{out}"
    );
    assert!(
        out.contains("+    pod-security.kubernetes.io/enforce: restricted"),
        "{out}"
    );
    assert!(
        out.contains("missing: stages/20-namespaced/team-b/role-edit.yaml"),
        "{out}"
    );
    assert!(
        out.contains("extra: stages/20-namespaced/team-b/extra.yaml"),
        "{out}"
    );
    assert!(
        stderr(&o).contains("(1 changed, 1 missing, 1 extra)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree(&dir), before, "--check must not write");
}

const BAD: &str = "apiVersion: kharden.dev/v1alpha1
kind: ClusterProfile
metadata:
  name: bad
extends: [baseline]
cluster:
  name: bad
  platform: kubeadm
  kubernetesVersion: \"1.33\"
namespaces:
  - name: Team_A
    quota:
      requests.cpu: lots
    acess: []
";

#[test]
fn invalid_profile_names_every_problem_and_leaves_output_alone() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("bad.yaml"), BAD).unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(out.join("sub")).unwrap();
    fs::write(
        out.join("sub/x.yaml"),
        "# generated by kharden from bad.yaml; do not edit\nold: true\n",
    )
    .unwrap();
    let before = tree(&out);
    let o = kharden_in(tmp.path(), &["render", "bad.yaml", "-o", "out"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("error: `Team_A` is not a valid name") && e.contains("--> bad.yaml:11:11"),
        "{e}"
    );
    assert!(
        e.contains("error: `lots` is not a Kubernetes quantity")
            && e.contains("--> bad.yaml:13:21"),
        "{e}"
    );
    assert!(
        e.contains("error: unknown field `acess` in `namespaces[0]`")
            && e.contains("--> bad.yaml:14:5"),
        "{e}"
    );
    assert!(e.contains("= hint: did you mean `access`?"), "{e}");
    // The baseline preset's `private: true` has no kubeadm address to bind to (#30 item 7).
    assert!(
        e.contains("error: `apiServer.private` is true, but without `apiServer.advertiseAddress`"),
        "{e}"
    );
    assert!(
        e.contains("error: the profile has 4 problems; nothing was written"),
        "{e}"
    );
    assert_eq!(tree(&out), before);
    let o = kharden_in(tmp.path(), &["validate", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn rewrite_removes_stale_files_but_refuses_foreign_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("o");
    let d = dir.to_str().unwrap();
    assert!(
        kharden(&["render", "examples/prod-east.yaml", "-o", d])
            .status
            .success()
    );
    let stale = dir.join("stages/20-namespaced/team-a/role-stale.yaml");
    fs::write(
        &stale,
        "# generated by kharden from examples/prod-east.yaml; do not edit\nkind: Role\n",
    )
    .unwrap();
    assert!(
        kharden(&["render", "examples/prod-east.yaml", "-o", d])
            .status
            .success()
    );
    assert!(!stale.exists(), "stale generated file kept");

    fs::write(
        dir.join("stages/20-namespaced/team-a/mine.yaml"),
        "kind: Secret\n",
    )
    .unwrap();
    let before = tree(&dir);
    let o = kharden(&["render", "examples/prod-east.yaml", "-o", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "holds 1 file(s) kharden did not write (stages/20-namespaced/team-a/mine.yaml)"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree(&dir), before);
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "temporary trees left behind: {leftovers:?}"
    );
}

#[test]
fn dangerous_output_targets_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f");
    fs::write(&file, "x").unwrap();
    for target in ["/", file.to_str().unwrap()] {
        let o = kharden(&["render", "examples/small.yaml", "-o", target]);
        assert_eq!(o.status.code(), Some(2), "{target}");
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn default_output_is_out_slash_metadata_name() {
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("examples/small.yaml"),
        tmp.path().join("p.yaml"),
    )
    .unwrap();
    let o = kharden_in(tmp.path(), &["render", "p.yaml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tmp.path().join("out/small/kustomization.yaml").is_file());
    let head = fs::read_to_string(tmp.path().join("out/small/kustomization.yaml")).unwrap();
    assert!(head.starts_with("# generated by kharden from p.yaml; do not edit\n"));
}

#[test]
fn schema_is_json_schema_with_closed_objects() {
    let o = kharden(&["schema"]);
    assert!(o.status.success());
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["additionalProperties"], false);
    assert!(s["properties"]["namespaces"].is_object());
    assert!(s["$defs"]["NamespaceSpec"]["properties"]["access"]["description"].is_string());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(kharden(&["render"]).status.code(), Some(2));
    assert_eq!(kharden(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(kharden(&["--help"]).status.code(), Some(0));
    let o = kharden(&["render", "examples/small.yaml", "-o", "-", "--check"]);
    assert_eq!(o.status.code(), Some(2));
}

/// "Today" comes from one place; a bad `KHARDEN_TODAY` is an error that names
/// it, not a silent fall back to the system clock.
#[test]
fn a_bad_kharden_today_is_refused() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kharden"))
        .args(["render", "examples/small.yaml", "-o", "-"])
        .current_dir(root())
        .env("KHARDEN_TODAY", "2026-02-30")
        .output()
        .expect("run kharden");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: KHARDEN_TODAY: `2026-02-30` is not a real date\n"
    );
    assert!(o.stdout.is_empty());
}

/// Issue 4: a managed platform says in one stderr line which fields do not
/// apply, renders the rest, and keeps control-plane files out of the stream.
#[test]
fn managed_platforms_warn_once_and_stream_no_control_plane_files() {
    let o = kharden(&["render", "examples/eks.yaml", "-o", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let warnings: Vec<String> = stderr(&o)
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: the API server is managed on eks (identity as eksctl `identityProviders`): `identity.mode` does not apply"
        ]
    );
    assert!(!stdout(&o).contains("eksctl.io"));
}

/// `--help` is reviewed like code: `KHARDEN_BLESS=1` rewrites the snapshot.
#[test]
fn help_output_is_a_reviewed_snapshot() {
    let got = stdout(&kharden(&["--help"]));
    let path = root().join("tests/fixtures/help.txt");
    if std::env::var_os("KHARDEN_BLESS").is_some() {
        fs::write(&path, &got).unwrap();
    }
    assert_eq!(
        got,
        fs::read_to_string(&path).unwrap_or_default(),
        "--help changed; rerun with KHARDEN_BLESS=1 and review"
    );
}
