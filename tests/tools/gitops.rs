//! GitOps delivery (#14) checked by the consumers themselves: `kubectl kustomize`
//! builds each stage alone and all of them from the top, and the Flux
//! Kustomizations and the Argo CD Application pass the vendored upstream CRD
//! schemas (the venv's validator). The hermetic half is `hermetic/gitops.rs`.

use crate::common;

use std::collections::BTreeSet;

use common::{examples, root};
use serde_json::Value;

/// Each stage builds alone (kustomize refuses files outside a kustomization's
/// directory), and the top-level kustomization builds the same objects.
#[test]
fn each_stage_builds_alone_and_the_top_builds_them_all() {
    let dir = root().join("out/prod-east");
    let build = |p: &std::path::Path| -> usize {
        let o = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(p)
            .output()
            .expect("kubectl");
        assert!(
            o.status.success(),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout)
            .matches("\nkind: ")
            .count()
    };
    let mut sum = 0;
    for e in std::fs::read_dir(dir.join("stages")).unwrap() {
        sum += build(&e.unwrap().path());
    }
    assert!(sum > 0);
    assert_eq!(build(&dir), sum);
}

/// Flux: one Kustomization per stage, valid against the vendored Flux CRD, each
/// depending on the stage before it and waiting for health, pointing at the
/// stage's directory.
#[test]
fn flux_kustomizations_chain_the_stages_and_pass_the_upstream_schema() {
    for name in examples() {
        let dir = root().join("out").join(&name);
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("flux"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.ends_with("kustomization.yaml"))
            .collect();
        files.sort();
        let o = std::process::Command::new(common::tools_python())
            .arg("scripts/validate-upstream-crs.py")
            .arg("tests/data/crds-upstream/flux")
            .args(&files)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "out/{name}/flux: {}",
            common::stdout(&o)
        );
        let stages: Vec<String> = std::fs::read_dir(dir.join("stages"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(files.len(), stages.len(), "out/{name}: one per stage");
        let mut prev: Option<String> = None;
        for (f, stage) in files.iter().zip(&stages) {
            let k: Value = serde_saphyr::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            assert_eq!(k["spec"]["wait"], true);
            // A stage that failed (an engine not installed yet) is tried again soon.
            assert_eq!(k["spec"]["retryInterval"], "1m");
            assert_eq!(
                k["spec"]["path"],
                format!("./out/{name}/stages/{stage}"),
                "{}",
                f.display()
            );
            assert!(
                dir.join("stages")
                    .join(stage)
                    .join("kustomization.yaml")
                    .is_file()
            );
            match &prev {
                None => assert!(k["spec"].get("dependsOn").is_none()),
                Some(p) => assert_eq!(k["spec"]["dependsOn"][0]["name"], *p),
            }
            prev = Some(k["metadata"]["name"].as_str().unwrap().to_owned());
        }
    }
}

/// The Argo CD Application passes the vendored Argo CD CRD schema and syncs the
/// committed rendering.
#[test]
fn argocd_application_passes_the_upstream_schema() {
    let o = common::kharden(&[
        "gitops",
        "argocd-application",
        "examples/prod-east.yaml",
        "--repo-url",
        "https://git.example.com/platform/clusters.git",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let app: Value = serde_saphyr::from_str(&common::stdout(&o)).unwrap();
    assert_eq!(app["spec"]["source"]["path"], "out/prod-east");
    assert!(root().join("out/prod-east/kustomization.yaml").is_file());
    // #29 item 2: a failed automated sync is retried (never, on the same
    // commit, without this), without limit, backing off to every 3 minutes.
    let retry = &app["spec"]["syncPolicy"]["retry"];
    assert_eq!(retry["limit"], -1);
    assert_eq!(retry["backoff"]["maxDuration"], "3m");
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("app.yaml");
    std::fs::write(&f, common::stdout(&o)).unwrap();
    let v = std::process::Command::new(common::tools_python())
        .arg("scripts/validate-upstream-crs.py")
        .arg("tests/data/crds-upstream/argo-cd")
        .arg(&f)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", common::stdout(&v));
    assert!(common::stdout(&v).starts_with("1 objects checked"));
}
