//! GitOps delivery (#14): the committed `out/<example>/stages/` apply in order
//! on a fresh cluster. Proved by construction over every example: each custom
//! resource's kind is defined by a CRD or ConstraintTemplate of an earlier stage
//! (or comes with an engine's install), each namespaced object's Namespace is in
//! an earlier stage (or is one the engines create), and the Argo CD annotations
//! say the same order.

mod common;

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
                assert_eq!(
                    a["argocd.argoproj.io/sync-options"].as_str()
                        == Some("SkipDryRunOnMissingResource=true"),
                    group == "constraints.gatekeeper.sh",
                    "{what}: only Constraints skip the dry run"
                );
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
    }
}

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
