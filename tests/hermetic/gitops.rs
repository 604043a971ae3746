//! GitOps delivery (#14): the committed `out/<example>/stages/` apply in order
//! on a fresh cluster. Proved by construction over every example: each custom
//! resource's kind is defined by a CRD or ConstraintTemplate of an earlier stage
//! (or comes with an engine's install), each namespaced object's Namespace is in
//! an earlier stage (or is one the engines create), every grant and workload
//! comes after every policy, and the Argo CD annotations say the same order.
//! `first_apply.rs` simulates the order on an empty cluster; `tools/gitops.rs`
//! runs kustomize and the upstream schemas over the same tree.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{examples, root, tree};
use serde_json::Value;

/// Groups whose CRDs the engines install (Gatekeeper, Istio, Linkerd).
const ENGINE_GROUPS: [&str; 7] = [
    "config.gatekeeper.sh",
    "mutations.gatekeeper.sh",
    "networking.istio.io",
    "security.istio.io",
    "telemetry.istio.io",
    "policy.linkerd.io",
    "templates.gatekeeper.sh",
];
/// Namespaces the engines create at install.
const ENGINE_NAMESPACES: [&str; 4] = [
    "gatekeeper-system",
    "istio-system",
    "linkerd",
    "kube-system",
];

fn built_in(group: &str) -> bool {
    !group.contains('.') || group.ends_with(".k8s.io")
}

#[test]
fn every_stage_needs_only_earlier_stages() {
    for name in examples() {
        let dir = root().join("out").join(&name);
        // stage directory -> objects, in apply (directory name) order.
        let mut stages: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (rel, bytes) in tree(&dir) {
            let Some(rest) = rel.strip_prefix("stages/") else {
                continue;
            };
            if rel.ends_with("kustomization.yaml") {
                continue;
            }
            let stage = rest.split('/').next().unwrap().to_owned();
            let v: Value = serde_saphyr::from_str(&String::from_utf8(bytes).unwrap()).unwrap();
            stages.entry(stage).or_default().push(v);
        }
        assert!(!stages.is_empty(), "out/{name} has no stages");
        let mut kinds: BTreeSet<(String, String)> = BTreeSet::new();
        let mut namespaces: BTreeSet<String> =
            ENGINE_NAMESPACES.iter().map(|s| s.to_string()).collect();
        let mut waves = Vec::new();
        let (mut last_policy, mut first_use) = (0, u32::MAX);
        for (stage, objs) in &stages {
            let wave: u32 = stage[..2].parse().unwrap();
            waves.push(wave);
            for o in objs {
                let api = o["apiVersion"].as_str().unwrap();
                let kind = o["kind"].as_str().unwrap();
                let what = format!(
                    "out/{name}/stages/{stage}: {kind} {}",
                    o["metadata"]["name"]
                );
                let group = api.rsplit_once('/').map_or("", |(g, _)| g);
                let defined = built_in(group)
                    || ENGINE_GROUPS.contains(&group)
                    || kinds.contains(&(group.to_owned(), kind.to_owned()));
                assert!(defined, "{what}: no earlier stage defines its kind");
                if let Some(ns) = o["metadata"]["namespace"].as_str() {
                    assert!(
                        namespaces.contains(ns),
                        "{what}: namespace `{ns}` not created earlier"
                    );
                }
                let a = &o["metadata"]["annotations"];
                assert_eq!(
                    a["argocd.argoproj.io/sync-wave"].as_str(),
                    Some(wave.to_string().as_str()),
                    "{what}: sync wave"
                );
                let want = if group == "constraints.gatekeeper.sh" {
                    Some("SkipDryRunOnMissingResource=true")
                } else if kind == "Namespace" {
                    Some("Prune=false")
                } else {
                    None
                };
                assert_eq!(
                    a["argocd.argoproj.io/sync-options"].as_str(),
                    want,
                    "{what}: only Constraints skip the dry run, only Namespaces are never pruned"
                );
                // #30 item 11: Flux never prunes a Namespace either.
                assert_eq!(
                    a["kustomize.toolkit.fluxcd.io/prune"].as_str(),
                    (kind == "Namespace").then_some("disabled"),
                    "{what}: Flux prune"
                );
                // #29 item 2: grants and workloads come after every policy stage.
                let policy = group == "constraints.gatekeeper.sh"
                    || (group == "admissionregistration.k8s.io"
                        && kind.contains("AdmissionPolicy"));
                if policy {
                    last_policy = last_policy.max(wave);
                }
                if kind.ends_with("RoleBinding")
                    || ["DaemonSet", "Deployment", "StatefulSet"].contains(&kind)
                {
                    first_use = first_use.min(wave);
                }
            }
            // What this stage defines becomes available to the later ones only.
            for o in objs {
                match o["kind"].as_str().unwrap() {
                    "Namespace" => {
                        namespaces.insert(o["metadata"]["name"].as_str().unwrap().to_owned());
                    }
                    "ConstraintTemplate" => {
                        let k = o["spec"]["crd"]["spec"]["names"]["kind"].as_str().unwrap();
                        kinds.insert(("constraints.gatekeeper.sh".to_owned(), k.to_owned()));
                    }
                    "CustomResourceDefinition" => {
                        let s = &o["spec"];
                        kinds.insert((
                            s["group"].as_str().unwrap().to_owned(),
                            s["names"]["kind"].as_str().unwrap().to_owned(),
                        ));
                    }
                    _ => {}
                }
            }
        }
        let mut sorted = waves.clone();
        sorted.sort();
        assert_eq!(waves, sorted, "out/{name}: stage order");
        assert!(
            last_policy < first_use,
            "out/{name}: a grant or workload in wave {first_use}, a policy in wave {last_policy}"
        );
    }
}

fn docs(text: &str) -> Vec<Value> {
    text.split("\n---\n")
        .map(|d| serde_saphyr::from_str::<Value>(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn run_with_stdin(args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kharden"))
        .args(args)
        .current_dir(root())
        .env("KHARDEN_TODAY", common::TODAY)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// KRM round trip: the profile as functionConfig gives exactly the objects of
/// `render -o -`, in the same order.
#[test]
fn krm_function_returns_the_render_stream_as_items() {
    let profile: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root().join("examples/small.yaml")).unwrap(),
    )
    .unwrap();
    let list = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": [],
        "functionConfig": profile,
    });
    let o = run_with_stdin(&["krm"], &serde_json::to_string(&list).unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let out: Value = serde_saphyr::from_str(&common::stdout(&o)).unwrap();
    assert_eq!(out["kind"], "ResourceList");
    let stream = common::kharden(&["render", "examples/small.yaml", "-o", "-"]);
    let want = docs(&common::stdout(&stream));
    assert!(!want.is_empty());
    assert_eq!(out["items"].as_array().unwrap(), &want);
}

#[test]
fn krm_function_reports_an_invalid_profile_as_error_results() {
    let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: kharden.dev/v1alpha1\n  kind: ClusterProfile\n  metadata: {name: t}\n  cluster: {name: t, platform: nowhere}\n";
    let o = run_with_stdin(&["krm"], list);
    assert_eq!(o.status.code(), Some(1), "{}", common::stdout(&o));
    let out: Value = serde_saphyr::from_str(&common::stdout(&o)).unwrap();
    let results = out["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| r["severity"] == "error"));
    assert!(
        results
            .iter()
            .any(|r| r["message"].as_str().unwrap().contains("nowhere")),
        "{results:?}"
    );
    assert!(out["items"].as_array().unwrap().is_empty());
}

/// The Argo CD plugin: its generate command, run where discovery would find a
/// profile, yields the `render -o -` stream.
#[test]
fn argocd_plugin_generates_the_render_stream() {
    let o = common::kharden(&["gitops", "argocd-plugin"]);
    assert!(o.status.success());
    let p: Value = serde_saphyr::from_str(&common::stdout(&o)).unwrap();
    assert_eq!(p["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(p["kind"], "ConfigManagementPlugin");
    let file = p["spec"]["discover"]["fileName"].as_str().unwrap();
    let cmd: Vec<&str> = p["spec"]["generate"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(cmd[0], "kharden");
    let app = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("examples/small.yaml"), app.path().join(file)).unwrap();
    let got = common::kharden_in(app.path(), &cmd[1..]);
    assert!(got.status.success(), "{}", common::stderr(&got));
    let want = common::kharden(&["render", "examples/small.yaml", "-o", "-"]);
    assert_eq!(docs(&common::stdout(&got)), docs(&common::stdout(&want)));
}

/// `gitops argocd-health`: an `argocd-cm` to merge, with a Lua health check
/// for ConstraintTemplates and one per Constraint kind of the profile (Argo CD
/// keys split per kind: ConfigMap keys take no wildcard), and nothing else.
#[test]
fn argocd_health_covers_every_gatekeeper_kind_of_the_profile() {
    let o = common::kharden(&["gitops", "argocd-health", "examples/prod-east.yaml"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let cm: Value = serde_saphyr::from_str(&common::stdout(&o)).unwrap();
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "argocd-cm");
    assert_eq!(cm["metadata"]["namespace"], "argocd");
    // A merge patch: it must not claim Argo CD's ConfigMap as kharden's.
    assert!(cm["metadata"].get("labels").is_none());
    let data = cm["data"].as_object().unwrap();
    let kinds: BTreeSet<String> =
        std::fs::read_dir(root().join("out/prod-east/stages/30-constraints/_cluster"))
            .unwrap()
            .map(|e| {
                let v: Value =
                    serde_saphyr::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap())
                        .unwrap();
                v["kind"].as_str().unwrap().to_owned()
            })
            .collect();
    let mut want: BTreeSet<String> = kinds
        .iter()
        .map(|k| format!("resource.customizations.health.constraints.gatekeeper.sh_{k}"))
        .collect();
    want.insert(
        "resource.customizations.health.templates.gatekeeper.sh_ConstraintTemplate".to_owned(),
    );
    assert_eq!(data.keys().cloned().collect::<BTreeSet<_>>(), want);
    let template =
        data["resource.customizations.health.templates.gatekeeper.sh_ConstraintTemplate"]
            .as_str()
            .unwrap();
    assert!(
        template.contains("obj.status.created == true"),
        "{template}"
    );
    // No Gatekeeper, no health checks.
    let o = common::kharden(&["gitops", "argocd-health", "examples/small.yaml"]);
    let cm: Value = serde_saphyr::from_str(&common::stdout(&o)).unwrap();
    assert!(cm["data"].as_object().is_none_or(|d| d.is_empty()), "{cm}");
}

/// The Lua health checks `argocd-health` prints, run as Argo CD runs them
/// (Lua 5.1 with the base, table and package libraries, the object as the
/// global `obj`, the returned table's `status`), on the statuses Gatekeeper
/// writes.
#[test]
fn argocd_health_scripts_read_gatekeeper_status() {
    use mlua::{Lua, LuaOptions, LuaSerdeExt, StdLib};
    use serde_json::json;
    let run = |script: &str, obj: Value| -> String {
        let lua = Lua::new_with(StdLib::TABLE | StdLib::PACKAGE, LuaOptions::new()).unwrap();
        lua.globals()
            .set("obj", lua.to_value(&obj).unwrap())
            .unwrap();
        let hs: mlua::Table = lua.load(script).eval().unwrap();
        hs.get::<String>("status").unwrap()
    };
    let template = kharden::bundle::gitops::TEMPLATE_HEALTH_LUA;
    let kind = json!({"kind": "ConstraintTemplate", "metadata": {"name": "k"}});
    let with = |status: Value| {
        let mut o = kind.clone();
        o["status"] = status;
        o
    };
    assert_eq!(run(template, kind.clone()), "Progressing");
    assert_eq!(
        run(template, with(json!({"created": false}))),
        "Progressing"
    );
    assert_eq!(
        run(
            template,
            with(json!({"created": true, "byPod": [{"id": "a", "operations": ["webhook"]}]}))
        ),
        "Healthy"
    );
    assert_eq!(
        run(
            template,
            with(
                json!({"byPod": [{"id": "a", "errors": [{"code": "ingest_error", "message": "rego_parse_error"}]}]})
            )
        ),
        "Degraded"
    );
    let constraint = kharden::bundle::gitops::CONSTRAINT_HEALTH_LUA;
    assert_eq!(run(constraint, kind.clone()), "Progressing");
    assert_eq!(run(constraint, with(json!({"byPod": []}))), "Progressing");
    assert_eq!(
        run(
            constraint,
            with(json!({"byPod": [{"id": "a", "enforced": true}, {"id": "b"}]}))
        ),
        "Progressing"
    );
    assert_eq!(
        run(
            constraint,
            with(json!({"byPod": [{"id": "a", "enforced": true}, {"id": "b", "enforced": true}]}))
        ),
        "Healthy"
    );
    assert_eq!(
        run(
            constraint,
            with(json!({"byPod": [{"id": "a", "errors": [{"message": "bad parameters"}]}]}))
        ),
        "Degraded"
    );
}
