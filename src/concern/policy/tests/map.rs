//! Issue #13 item 19: the native engine's MutatingAdmissionPolicies, run. One
//! table of requests and the object each should become; Gatekeeper's mutators
//! and the native policies (JSONPatch CEL, through the CEL engine's `mutate`) must both
//! turn the submitted object into exactly that, and then both engines' validation
//! gives the row's answer on the mutated object.

use serde_json::{Value, json};

use super::{PROFILE, TAINT, eval, img, rendered_for, request, service};
use crate::concern::policy::engine::cel::mutate as mutating;
use crate::concern::policy::engine::gatekeeper::eval as rego_eval;
use crate::testing::{HEAD, errors, today};

const NATIVE: &str = "validating-admission-policy";

/// The contract profile on AKS at `version`, with `extra` policy lines.
fn model_at(engine: &str, version: &str, extra: &str) -> crate::Model {
    let text = format!(
        "{HEAD}{}",
        PROFILE.replace("ENGINE", engine).replace(
            "  exemptNamespaces:",
            &format!("{extra}  exemptNamespaces:")
        )
    )
    .replace("platform: kubeadm", "platform: aks")
    .replace(
        "kubernetesVersion: \"1.33\"}",
        &format!("kubernetesVersion: \"{version}\", ingressDomain: apps.prod-east.example.ca}}"),
    );
    match crate::load_text(&text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

/// A request, the object both engines must make of it, and the answer after.
struct Row {
    what: &'static str,
    namespace: &'static str,
    object: Value,
    mutated: Value,
    allowed: bool,
}

fn with(mut o: Value, pointer: &str, v: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let mut cur = &mut o;
    for seg in parent.split('/').skip(1) {
        if cur.get(seg).is_none() {
            cur[seg] = json!({});
        }
        cur = &mut cur[seg];
    }
    cur[key.replace("~1", "/")] = v;
    o
}

fn toleration() -> Value {
    json!({"key": TAINT, "operator": "Equal", "value": "windows", "effect": "NoSchedule"})
}

/// A Windows pod of team-b as the mutators leave it.
fn scheduled(mut p: Value, tolerations: Value) -> Value {
    p["metadata"]["annotations"]["cost-center"] = json!("PE-5678");
    p["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "windows"});
    p["spec"]["os"] = json!({"name": "windows"});
    p["spec"]["tolerations"] = tolerations;
    p
}

fn rows() -> Vec<Row> {
    let nginx = || img("docker.io/library/nginx:1");
    let lb = service("LoadBalancer", json!({}));
    let internal = "service.beta.kubernetes.io/azure-load-balancer-internal";
    let exists = json!({"key": TAINT, "operator": "Exists"});
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    vec![
        Row {
            what: "a bare Windows pod gets selector, os and toleration",
            namespace: "team-b",
            object: nginx(),
            mutated: scheduled(nginx(), json!([toleration()])),
            allowed: true,
        },
        Row {
            what: "an Exists toleration is kept and the exact one added",
            namespace: "team-b",
            object: with(nginx(), "/spec/tolerations", json!([exists])),
            mutated: scheduled(nginx(), json!([exists, toleration()])),
            allowed: true,
        },
        Row {
            what: "a Linux node selector and os name are overwritten",
            namespace: "team-b",
            object: with(
                with(
                    nginx(),
                    "/spec/nodeSelector",
                    json!({"kubernetes.io/os": "linux"}),
                ),
                "/spec/os",
                json!({"name": "linux"}),
            ),
            mutated: scheduled(nginx(), json!([toleration()])),
            allowed: true,
        },
        Row {
            what: "a pod that has it all is left as it is",
            namespace: "team-b",
            object: scheduled(nginx(), json!([toleration()])),
            mutated: scheduled(nginx(), json!([toleration()])),
            allowed: true,
        },
        Row {
            what: "a LoadBalancer Service gets the internal annotation",
            namespace: "team-a",
            object: lb.clone(),
            mutated: with(
                with(
                    lb.clone(),
                    &format!("/metadata/annotations/{}", internal.replace('/', "~1")),
                    json!("true"),
                ),
                "/metadata/annotations/cost-center",
                json!("PE-1234"),
            ),
            allowed: true,
        },
        Row {
            what: "an explicit \"false\" is never overwritten, and refused",
            namespace: "team-a",
            object: service("LoadBalancer", json!({internal: "false"})),
            mutated: service(
                "LoadBalancer",
                json!({internal: "false", "cost-center": "PE-1234"}),
            ),
            allowed: false,
        },
        Row {
            what: "an object without annotations gets the namespace's",
            namespace: "team-a",
            object: cm.clone(),
            mutated: with(
                cm.clone(),
                "/metadata/annotations",
                json!({"cost-center": "PE-1234"}),
            ),
            allowed: true,
        },
        Row {
            what: "another namespace's value is not overwritten, and refused",
            namespace: "team-a",
            object: with(
                cm.clone(),
                "/metadata/annotations",
                json!({"cost-center": "PE-5678"}),
            ),
            mutated: with(
                cm.clone(),
                "/metadata/annotations",
                json!({"cost-center": "PE-5678"}),
            ),
            allowed: false,
        },
        Row {
            what: "an exempt namespace is untouched",
            namespace: "kube-system",
            object: nginx(),
            mutated: nginx(),
            allowed: true,
        },
    ]
}

fn case_of(r: &Row, object: Value) -> super::Case {
    super::case(r.what, r.namespace, object, r.allowed)
}

#[test]
fn the_native_engine_mutates_as_gatekeeper_does_from_1_36() {
    for version in ["1.36", "1.37"] {
        let gk = rendered_for(&model_at("gatekeeper", version, ""), "gatekeeper");
        let native = rendered_for(&model_at(NATIVE, version, ""), NATIVE);
        let mut wrong = Vec::new();
        for r in rows() {
            let mut g = request(&case_of(&r, r.object.clone()));
            rego_eval::mutate(&gk, &mut g).unwrap();
            let mut n = request(&case_of(&r, r.object.clone()));
            mutating::native_mutate(&native, &mut n).unwrap_or_else(|e| panic!("{e}"));
            for (engine, got) in [("gatekeeper", &g.object), (NATIVE, &n.object)] {
                if *got != r.mutated {
                    wrong.push(format!("{version} {engine}: {}: got {got}", r.what));
                }
            }
            // Validation runs on the mutated object, as the API server orders it.
            for (engine, objs, got) in
                [("gatekeeper", &gk, &g.object), (NATIVE, &native, &n.object)]
            {
                let denials = eval(engine, objs, &case_of(&r, got.clone()));
                if denials.is_empty() != r.allowed {
                    wrong.push(format!(
                        "{version} {engine}: {}: denials {denials:?}",
                        r.what
                    ));
                }
            }
            // Reinvocation (`IfNeeded`) changes nothing more.
            let again = mutating::native_mutate(&native, &mut n).unwrap();
            assert!(
                again.is_empty(),
                "{}: reinvocation changed {again:?}",
                r.what
            );
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}

#[test]
fn unlike_assign_metadata_the_native_policy_annotates_load_balancers_only() {
    let native = rendered_for(&model_at(NATIVE, "1.36", ""), NATIVE);
    let cip = service("ClusterIP", json!({}));
    let mut n = request(&super::case("cip", "team-a", cip, true));
    let applied = mutating::native_mutate(&native, &mut n).unwrap();
    assert_eq!(
        applied,
        ["MutatingAdmissionPolicy/kharden-namespace-annotations-team-a"]
    );
    assert_eq!(
        n.object["metadata"]["annotations"],
        json!({"cost-center": "PE-1234"})
    );
}

fn kinds(objs: &[Value]) -> Vec<(String, String)> {
    objs.iter()
        .filter(|o| {
            o["kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("Mutating"))
        })
        .map(|o| {
            (
                o["apiVersion"].as_str().unwrap().to_owned(),
                o["metadata"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn mutating_policies_are_rendered_only_where_the_cluster_serves_them() {
    let opt_in = "  mutatingAdmissionPolicyBeta: true\n";
    for (version, extra, api) in [
        ("1.33", "", None),
        ("1.34", "", None),
        ("1.35", "", None),
        ("1.34", opt_in, Some("admissionregistration.k8s.io/v1beta1")),
        ("1.35", opt_in, Some("admissionregistration.k8s.io/v1beta1")),
        ("1.36", "", Some("admissionregistration.k8s.io/v1")),
        ("1.37", "", Some("admissionregistration.k8s.io/v1")),
    ] {
        let m = model_at(NATIVE, version, extra);
        let got = kinds(&rendered_for(&m, NATIVE));
        let notes = super::super::notes(&m);
        let validating_only = notes.iter().any(|n| n.contains("so it only validates"));
        match api {
            None => {
                assert!(got.is_empty(), "{version}: {got:?}");
                assert!(validating_only, "{version}: {notes:?}");
            }
            Some(api) => {
                let names: Vec<&str> = got.iter().map(|(_, n)| n.as_str()).collect();
                assert_eq!(
                    names,
                    [
                        "kharden-internal-load-balancers",
                        "kharden-internal-load-balancers",
                        "kharden-namespace-annotations-team-a",
                        "kharden-namespace-annotations-team-a",
                        "kharden-namespace-annotations-team-b",
                        "kharden-namespace-annotations-team-b",
                        "kharden-windows-pods",
                        "kharden-windows-pods",
                    ],
                    "{version}"
                );
                assert!(got.iter().all(|(a, _)| a == api), "{version}: {got:?}");
                assert!(!validating_only, "{version}: {notes:?}");
            }
        }
    }
    let m = model_at(NATIVE, "1.34", "");
    assert!(
        super::super::notes(&m)
            .iter()
            .any(|n| n.contains("`policy.mutatingAdmissionPolicyBeta: true` renders it"))
    );
}

#[test]
fn the_beta_opt_in_is_refused_where_it_changes_nothing() {
    let body = |engine: &str| {
        format!(
            "namespaces: [{{name: a}}]\npolicy: {{engine: {engine}, mutatingAdmissionPolicyBeta: true}}\n"
        )
    };
    let e = errors(&body(NATIVE));
    assert!(
        e.contains("MutatingAdmissionPolicy v1beta1 is not served before Kubernetes 1.34"),
        "{e}"
    );
    let e = errors(&body("gatekeeper"));
    assert!(
        e.contains("applies to `engine: validating-admission-policy` only"),
        "{e}"
    );
    let text = format!("{HEAD}{}", body(NATIVE)).replace("\"1.33\"", "\"1.36\"");
    let e = match crate::load_text(&text, "t.yaml", today()) {
        Ok(_) => panic!("accepted at 1.36"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("from Kubernetes 1.36 the mutating policies are rendered as v1"),
        "{e}"
    );
}

#[test]
fn kubeadm_has_no_internal_annotation_to_add() {
    let text = format!(
        "{HEAD}namespaces: [{{name: a}}]\npolicy: {{engine: {NATIVE}, internalLoadBalancers: true}}\n"
    )
    .replace("\"1.33\"", "\"1.36\"");
    let m = crate::load_text(&text, "t.yaml", today()).unwrap();
    assert!(kinds(&rendered_for(&m, NATIVE)).is_empty());
}

#[test]
fn on_eks_the_added_annotation_is_the_one_the_rule_reads() {
    let text = format!(
        "{HEAD}namespaces: [{{name: a}}]\npolicy: {{engine: {NATIVE}, internalLoadBalancers: true}}\n"
    )
    .replace("platform: kubeadm", "platform: eks")
    .replace("\"1.33\"", "\"1.36\"");
    let m = crate::load_text(&text, "t.yaml", today()).unwrap();
    let objs = rendered_for(&m, NATIVE);
    let bare = service("LoadBalancer", json!({}));
    assert!(
        !eval(
            NATIVE,
            &objs,
            &super::case("bare", "a", bare.clone(), false)
        )
        .is_empty()
    );
    let mut r = request(&super::case("bare", "a", bare, true));
    mutating::native_mutate(&objs, &mut r).unwrap();
    let (key, value) = m.platform().internal_lb_annotation().unwrap();
    assert_eq!(r.object["metadata"]["annotations"][key], value);
    let denials = eval(NATIVE, &objs, &super::case("mutated", "a", r.object, true));
    assert!(denials.is_empty(), "{denials:?}");
}
