//! First apply (#29 item 2): `kharden::bundle::first_apply` simulates every example's
//! committed rendering meeting an empty cluster, under the README's kubectl
//! loop, the rendered Flux Kustomizations and the Argo CD Application with the
//! printed health checks, with the engines arriving early or late and the
//! user's Secrets never. Every policy must be in force before any grant or
//! workload, and nothing up to the policy stage may wait on a workload. The
//! previous four-stage layout, run through the same model, fails.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{examples, root, tree};
use kharden::bundle::first_apply::{
    Arrival, Check, Class, Delivery, FluxStage, Object, Outcome, Retry, Wait, argocd_health,
    simulate, steps, violations, waits_on_workloads,
};
use serde_json::Value;

/// Engines installed before, a little after, or long after the first attempt
/// (in steps of ten seconds).
const ARRIVALS: [Arrival; 4] = [
    Arrival {
        gatekeeper: 0,
        others: 0,
    },
    Arrival {
        gatekeeper: 60,
        others: 0,
    },
    Arrival {
        gatekeeper: 0,
        others: 60,
    },
    Arrival {
        gatekeeper: 200,
        others: 400,
    },
];

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

/// The committed objects of `out/<name>/stages/`, in stage order.
fn bundle(name: &str) -> Vec<Object> {
    let dir = root().join("out").join(name);
    let mut objs = Vec::new();
    for (rel, bytes) in tree(&dir) {
        let Some(rest) = rel.strip_prefix("stages/") else {
            continue;
        };
        if rel.ends_with("kustomization.yaml") {
            continue;
        }
        let stage = rest.split('/').next().unwrap();
        let v = yaml(&String::from_utf8(bytes).unwrap());
        objs.push(Object::from_value(stage, &v).unwrap());
    }
    objs.sort_by(|a, b| a.stage.cmp(&b.stage));
    assert!(!objs.is_empty(), "out/{name} has no objects");
    objs
}

/// The committed `out/<name>/flux/` Kustomizations.
fn flux(name: &str) -> Delivery {
    let dir = root().join("out").join(name).join("flux");
    let docs: Vec<Value> = tree(&dir)
        .into_iter()
        .filter(|(rel, _)| rel != "kustomization.yaml")
        .map(|(_, b)| yaml(&String::from_utf8(b).unwrap()))
        .collect();
    let stage_of = |n: &str| -> Option<String> {
        docs.iter()
            .find(|d| d["metadata"]["name"] == n)
            .and_then(|d| d["spec"]["path"].as_str())
            .and_then(|p| p.rsplit('/').next())
            .map(str::to_owned)
    };
    Delivery::Flux(
        docs.iter()
            .map(|d| FluxStage::from_value(d, stage_of).unwrap())
            .collect(),
    )
}

/// The Argo CD Application and health checks `kharden gitops` prints.
fn argo(name: &str) -> Delivery {
    let profile = format!("examples/{name}.yaml");
    let app = common::kharden(&[
        "gitops",
        "argocd-application",
        &profile,
        "--repo-url",
        "https://git.example.com/c.git",
    ]);
    assert!(app.status.success(), "{}", common::stderr(&app));
    let cm = common::kharden(&["gitops", "argocd-health", &profile]);
    assert!(cm.status.success(), "{}", common::stderr(&cm));
    Delivery::Argo {
        retry: Retry::of(&yaml(&common::stdout(&app))),
        health: argocd_health(&yaml(&common::stdout(&cm))),
    }
}

/// The kubectl loop of the README's "Delivery" section: each `case` arm's
/// waits, by the stage directory suffix it matches.
fn readme_loop(text: &str) -> (BTreeMap<String, Vec<Wait>>, u32) {
    let start = text.find("for s in out/").expect("the README has the loop");
    let body = &text[start..start + text[start..].find("\ndone").unwrap()];
    let mut waits: BTreeMap<String, Vec<Wait>> = BTreeMap::new();
    let mut arm: Option<String> = None;
    let mut timeout = None;
    for line in body.lines().map(str::trim) {
        if let Some(p) = line.strip_prefix("*-").and_then(|l| l.strip_suffix("/)")) {
            arm = Some(p.to_owned());
            continue;
        }
        let Some(a) = &arm else { continue };
        let w = waits.entry(a.clone()).or_default();
        if line.contains("{.status.created}") {
            w.push(Wait::Created);
        }
        if line.contains("condition=established") {
            w.push(Wait::Established);
        }
        if line.contains(".enforced}") {
            w.push(Wait::Enforced);
        }
        if let Some(t) = line.split("--timeout=").nth(1) {
            timeout = Some(steps(t.split_whitespace().next().unwrap()));
        }
    }
    (waits, timeout.expect("the loop's waits time out"))
}

/// The README's loop over the stages of `objs` (an arm `*-X/)` matches the
/// stage directory `NN-X`).
fn kubectl(objs: &[Object], readme: &str) -> Delivery {
    let (arms, timeout) = readme_loop(readme);
    let mut waits = BTreeMap::new();
    for o in objs {
        for (suffix, w) in &arms {
            if o.stage.ends_with(&format!("-{suffix}")) {
                waits.insert(o.stage.clone(), w.clone());
            }
        }
    }
    Delivery::Kubectl { waits, timeout }
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

fn deliveries(name: &str, objs: &[Object]) -> Vec<(&'static str, Delivery)> {
    vec![
        ("kubectl", kubectl(objs, &readme())),
        ("flux", flux(name)),
        ("argo", argo(name)),
    ]
}

/// Everything but the workloads whose Secrets never come is applied, so a
/// delivery that stalls before the grants cannot pass (a).
fn unapplied(objs: &[Object], out: &Outcome) -> Vec<String> {
    (0..objs.len())
        .filter(|i| !out.applied.contains_key(i))
        .map(|i| objs[i].id())
        .collect()
}

#[test]
fn every_policy_is_in_force_before_any_grant_or_workload() {
    for name in examples() {
        let objs = bundle(&name);
        for (how, d) in deliveries(&name, &objs) {
            for arrival in ARRIVALS {
                let out = simulate(&objs, &d, arrival);
                let v = violations(&objs, &out);
                assert!(v.is_empty(), "{name} by {how}, {arrival:?}: {v:#?}");
                let left = unapplied(&objs, &out);
                assert!(
                    left.is_empty(),
                    "{name} by {how}, {arrival:?}: never applied {left:?}"
                );
            }
        }
    }
}

#[test]
fn nothing_up_to_the_policy_stage_waits_on_a_workload() {
    let mut collector = 0;
    for name in examples() {
        let objs = bundle(&name);
        // The collector's DaemonSet needs a Secret the bundle does not hold.
        collector += objs
            .iter()
            .filter(|o| o.class == Class::Workload && o.needs.iter().any(|(k, _)| k == "Secret"))
            .count();
        for (how, d) in deliveries(&name, &objs) {
            let w = waits_on_workloads(&objs, &d);
            assert!(w.is_empty(), "{name} by {how}: {w:#?}");
        }
    }
    assert!(
        collector > 0,
        "no example has a workload waiting on a user Secret"
    );
}

/// (c) Argo CD never syncs a failed commit again by itself: with Gatekeeper
/// installed after the first sync, the rendered retry is what brings the
/// Constraints in; without it they never come.
#[test]
fn the_argo_cd_retry_is_load_bearing() {
    let late = Arrival {
        gatekeeper: 60,
        others: 0,
    };
    let mut gatekeeper = 0;
    for name in examples() {
        let objs = bundle(&name);
        if !objs.iter().any(|o| o.kind == "ConstraintTemplate") {
            continue;
        }
        gatekeeper += 1;
        let Delivery::Argo { retry, health } = argo(&name) else {
            unreachable!()
        };
        assert!(
            retry.is_some_and(|r| r.limit < 0),
            "{name}: unlimited retry"
        );
        let without = Delivery::Argo {
            retry: None,
            health: health.clone(),
        };
        let out = simulate(&objs, &without, late);
        let v = violations(&objs, &out);
        assert!(
            v.iter().any(|v| v.contains("never in force")),
            "{name}: without retry: {v:#?}"
        );
        let with = Delivery::Argo { retry, health };
        let v = violations(&objs, &simulate(&objs, &with, late));
        assert!(v.is_empty(), "{name}: with retry: {v:#?}");
    }
    assert!(gatekeeper > 0);
}

/// Without the health checks `argocd-health` prints, Argo CD counts a
/// Constraint healthy on creation and starts the grants wave before
/// Gatekeeper enforces it.
#[test]
fn the_argo_cd_constraint_health_is_load_bearing() {
    let objs = bundle("prod-east");
    let Delivery::Argo { retry, health } = argo("prod-east") else {
        unreachable!()
    };
    assert!(health.values().any(|c| *c == Check::Enforced));
    assert!(health.values().any(|c| *c == Check::Created));
    let blind = Delivery::Argo {
        retry,
        health: BTreeMap::new(),
    };
    let v = violations(&objs, &simulate(&objs, &blind, ARRIVALS[0]));
    assert!(
        v.iter().any(|v| v.contains("RoleBinding")),
        "grants before enforcement: {v:#?}"
    );
}

/// The stage of an object in the layout before #29 item 2: four stages, the
/// grants with the built-ins or the namespaced objects, the collector in
/// `20-namespaced`.
fn previous_layout(o: &Object) -> &'static str {
    let built_in = !o.group.contains('.')
        || (o.group.ends_with(".k8s.io") && o.group != "gateway.networking.k8s.io");
    if o.group == "constraints.gatekeeper.sh" {
        "30-constraints"
    } else if o.kind == "ConstraintTemplate" {
        "10-constraint-templates"
    } else if o.kind == "Namespace"
        || o.kind == "CustomResourceDefinition"
        || (o.namespace.is_none() && built_in && o.kind != "ValidatingAdmissionPolicyBinding")
    {
        "00-cluster"
    } else {
        "20-namespaced"
    }
}

/// The previous deliveries of a bundle in the previous layout: Flux waited on
/// every stage with the templates' `status.created` as the only health
/// expression and no `retryInterval`; the Application had no retry and Argo
/// CD no Gatekeeper health; the loop waited after the templates only.
fn previous(objs: &[Object]) -> Vec<(&'static str, Delivery)> {
    let mut stages: Vec<String> = objs.iter().map(|o| o.stage.clone()).collect();
    stages.dedup();
    let created = BTreeMap::from([(
        (
            "templates.gatekeeper.sh".to_owned(),
            "ConstraintTemplate".to_owned(),
        ),
        Check::Created,
    )]);
    let flux = stages
        .iter()
        .enumerate()
        .map(|(i, s)| FluxStage {
            stage: s.clone(),
            depends_on: i
                .checked_sub(1)
                .map(|p| stages[p].clone())
                .into_iter()
                .collect(),
            wait: true,
            health: created.clone(),
            retry: steps("10m"),
            timeout: steps("5m"),
        })
        .collect();
    let waits = BTreeMap::from([(
        "10-constraint-templates".to_owned(),
        vec![Wait::Created, Wait::Established],
    )]);
    vec![
        (
            "kubectl",
            Delivery::Kubectl {
                waits,
                timeout: steps("3m"),
            },
        ),
        ("flux", Delivery::Flux(flux)),
        (
            "argo",
            Delivery::Argo {
                retry: None,
                health: BTreeMap::new(),
            },
        ),
    ]
}

fn restage(objs: &[Object], layout: fn(&Object) -> &'static str) -> Vec<Object> {
    let mut v: Vec<Object> = objs
        .iter()
        .map(|o| {
            let stage = layout(o);
            Object {
                stage: stage.to_owned(),
                wave: stage[..2].parse().unwrap(),
                ..o.clone()
            }
        })
        .collect();
    v.sort_by(|a, b| a.stage.cmp(&b.stage));
    v
}

/// The simulation fails on the previous layout: grants and the collector come
/// before the Constraints under every delivery, and Flux and Argo CD wait on
/// the collector, which never becomes healthy, so they never reach the
/// Constraints at all.
#[test]
fn the_previous_layout_fails_the_simulation() {
    for name in ["prod-east", "linkerd"] {
        let objs = restage(&bundle(name), previous_layout);
        for (how, d) in previous(&objs) {
            let out = simulate(&objs, &d, ARRIVALS[0]);
            let v = violations(&objs, &out);
            assert!(
                v.iter().any(|v| v.contains("ClusterRoleBinding")),
                "{name} by {how}: {v:#?}"
            );
            if how != "kubectl" {
                assert!(
                    v.iter().any(|v| v.contains("never in force")),
                    "{name} by {how}: {v:#?}"
                );
                let w = waits_on_workloads(&objs, &d);
                assert!(
                    w.iter().any(|w| w.contains("DaemonSet")),
                    "{name} by {how}: {w:?}"
                );
            }
        }
    }
}

/// The model itself: a workload missing its Secret is never applied late
/// enough to matter, but never counted ready either, and a duration reads as
/// steps of ten seconds.
#[test]
fn the_model_reads_the_rendered_objects() {
    assert_eq!(
        (steps("10s"), steps("1m"), steps("5m"), steps("1h")),
        (1, 6, 30, 360)
    );
    let objs = bundle("prod-east");
    let ds = objs.iter().find(|o| o.kind == "DaemonSet").unwrap();
    assert!(
        ds.needs
            .contains(&("Secret".to_owned(), "elasticsearch-credentials".to_owned()))
    );
    assert!(
        ds.needs
            .contains(&("ServiceAccount".to_owned(), "fluentd".to_owned()))
    );
    let c = objs
        .iter()
        .find(|o| o.group == "constraints.gatekeeper.sh")
        .unwrap();
    assert!(c.skip_dry_run && c.class == Class::Policy);
    assert!(
        objs.iter()
            .any(|o| o.kind == "ConstraintTemplate" && o.defines.is_some())
    );
    assert!(Path::new(&root().join("out/prod-east/stages/50-workloads")).is_dir());
}
