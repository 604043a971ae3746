//! The platform components as tenants of the bundle (#29), evaluated: their
//! pods and Services through the rendered admission rules of both engines,
//! their flows through the rendered NetworkPolicies and mesh policies, and
//! the self-check's answers when a fix is taken away.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::check;
use crate::k8s::netpol_eval::Endpoint;
use crate::testing::{HEAD, today};
use crate::verify::{PodSecurity, decide, network_cluster, objects};

const ENGINES: [&str; 2] = ["gatekeeper", "validating-admission-policy"];

/// A kubeadm cluster whose policy would refuse every chart-installed component.
fn profile(engine: &str, extra: &str) -> String {
    format!(
        r#"{HEAD}logging:
  namespace: logging
  sources: [pods]
  elasticsearch: {{host: elasticsearch.logging.svc, port: 9200, scheme: https, indexPrefix: t, credentialsSecret: es}}
defaults:
  containerLimits: {{default: {{cpu: 500m, memory: 512Mi}}}}
  network:
    defaultDeny: [ingress, egress]
    allowFromIngressController: {{namespace: ingress-nginx}}
namespaces:
  - name: team-a
    annotations: {{contact: a@example.ca}}
policy:
  engine: {engine}
  allowedRegistries: [artifactory.example.ca]
  requiredAnnotations: [contact]
  internalLoadBalancers: true
  exemptNamespaces: [kube-system]
{extra}"#
    )
}

fn load(text: &str) -> crate::Model {
    match crate::load_text(text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn rendered(text: &str) -> Vec<Value> {
    let m = load(text);
    match crate::render(&m) {
        Ok(r) => objects(&r.set),
        Err(e) => panic!("{e}"),
    }
}

fn pod(ns: &str, image: &str, labels: Value, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": ns, "labels": labels, "annotations": annotations},
        "spec": {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": image,
            "resources": {"requests": {"cpu": "100m", "memory": "90Mi"}},
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}})
}

fn lb(ns: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": ns},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}})
}

fn admitted(objs: &[Value], ns: &str, obj: &Value) -> bool {
    match decide(objs, &PodSecurity::new(objs, Some(33)), ns, obj) {
        Ok(d) => d.denials.is_empty(),
        Err(e) => panic!("{e}"),
    }
}

const CONTROLLER: &str = "registry.k8s.io/ingress-nginx/controller:v1.12.1";

#[test]
fn the_ingress_controller_is_admitted_and_tenants_are_not_loosened() {
    for engine in ENGINES {
        let objs = rendered(&profile(engine, ""));
        let labels = json!({"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"});
        // Item 1: its image, no `contact` annotation, and its LoadBalancer on kubeadm.
        assert!(
            admitted(
                &objs,
                "ingress-nginx",
                &pod("ingress-nginx", CONTROLLER, labels.clone(), json!({}))
            ),
            "{engine}"
        );
        assert!(
            admitted(&objs, "ingress-nginx", &lb("ingress-nginx")),
            "{engine}"
        );
        // The exemption is the component's alone: another image there is refused.
        assert!(
            !admitted(
                &objs,
                "ingress-nginx",
                &pod(
                    "ingress-nginx",
                    "docker.io/library/busybox:1",
                    labels,
                    json!({})
                )
            ),
            "{engine}"
        );
        // And a tenant gains nothing.
        let note = json!({"contact": "a@example.ca"});
        assert!(
            !admitted(
                &objs,
                "team-a",
                &pod("team-a", CONTROLLER, json!({}), note.clone())
            ),
            "{engine}"
        );
        assert!(
            !admitted(
                &objs,
                "team-a",
                &pod(
                    "team-a",
                    "artifactory.example.ca/app:1",
                    json!({}),
                    json!({})
                )
            ),
            "{engine}"
        );
        assert!(!admitted(&objs, "team-a", &lb("team-a")), "{engine}");
        assert!(
            admitted(
                &objs,
                "team-a",
                &pod("team-a", "artifactory.example.ca/app:1", json!({}), note)
            ),
            "{engine}"
        );
    }
}

#[test]
fn derived_exemptions_carry_their_reason() {
    let objs = rendered(&profile("gatekeeper", ""));
    let narrowed = objs
        .iter()
        .find(|o| o["metadata"]["name"] == "allowed-registries-in-ingress-nginx")
        .expect("the controller's registry instance");
    assert_eq!(
        narrowed["spec"]["match"]["namespaces"],
        json!(["ingress-nginx"])
    );
    let why = narrowed["metadata"]["annotations"][crate::concern::policy::DERIVED]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.contains("registry.k8s.io/ingress-nginx/controller"),
        "{why}"
    );
    let base = objs
        .iter()
        .find(|o| o["kind"] == "KhardenRequiredAnnotations")
        .expect("required annotations");
    let why = base["metadata"]["annotations"][crate::concern::policy::DERIVED]
        .as_str()
        .unwrap_or_default();
    assert!(why.starts_with("elastic-system: ECK operator"), "{why}");
}

#[test]
fn the_self_check_fails_when_an_exemption_is_taken_away() {
    let m = load(&profile("gatekeeper", ""));
    let r = crate::render(&m).unwrap();
    let checks = check::run(&m, &r.set).unwrap().checks;
    assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
    assert!(
        checks.iter().any(
            |c| c.component == "ingress controller (ingress-nginx)" && c.what == "Pod admitted"
        )
    );
    // Revert the derivation on the rendered objects: the controller's namespace
    // back under every rule, its own registry instance gone.
    let mut objs: Vec<Value> = objects(&r.set)
        .into_iter()
        .filter(|o| o["metadata"]["name"] != "allowed-registries-in-ingress-nginx")
        .collect();
    for o in &mut objs {
        if let Some(list) = o
            .pointer_mut("/spec/match/excludedNamespaces")
            .and_then(Value::as_array_mut)
        {
            list.retain(|n| n != "ingress-nginx");
        }
    }
    let failed: Vec<check::Check> = check::run_objects(&m, objs)
        .unwrap()
        .checks
        .into_iter()
        .filter(|c| !c.ok)
        .collect();
    let about: Vec<&str> = failed.iter().map(|c| c.what.as_str()).collect();
    assert!(
        about.contains(&"Pod admitted") && about.contains(&"LoadBalancer Service admitted"),
        "{failed:#?}"
    );
    let text = check::failures(&failed).unwrap();
    assert!(
        text.contains("KhardenAllowedRegistries") && text.contains("KhardenRequiredAnnotations"),
        "{text}"
    );
}

#[test]
fn the_mesh_sidecar_image_is_admitted_in_meshed_namespaces() {
    for engine in ENGINES {
        let objs = rendered(&profile(engine, "mesh: {provider: istio, mtls: strict}\n"));
        let note = json!({"contact": "a@example.ca"});
        let mut p = pod("team-a", "artifactory.example.ca/app:1", json!({}), note);
        p["spec"]["containers"].as_array_mut().unwrap().push(json!({
            "name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.27.1",
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}));
        assert!(admitted(&objs, "team-a", &p), "{engine}");
        p["spec"]["containers"][1]["image"] = json!("docker.io/istio/other:1");
        assert!(!admitted(&objs, "team-a", &p), "{engine}");
    }
}

fn es_pod(ns: &str) -> Endpoint {
    Endpoint::pod(ns, &[("common.k8s.elastic.co/type", "elasticsearch")])
}

#[test]
fn elasticsearch_forms_a_cluster_and_its_operator_reaches_it() {
    // Item 3, in the collector's namespace and in a tenant namespace that denies both ways.
    let objs = rendered(&profile("gatekeeper", ""));
    let c = network_cluster(&objs);
    assert!(c.allows(&es_pod("logging"), &es_pod("logging"), 9300, "TCP"));
    assert!(c.allows(
        &Endpoint::pod("elastic-system", &[("control-plane", "elastic-operator")]),
        &es_pod("logging"),
        9200,
        "TCP"
    ));
    let collector = Endpoint::pod(
        "logging",
        &[
            ("app.kubernetes.io/name", "fluentd"),
            ("app.kubernetes.io/component", "log-collector"),
        ],
    );
    assert!(c.allows(&collector, &es_pod("logging"), 9200, "TCP"));
    assert!(!c.allows(
        &Endpoint::pod("team-a", &[]),
        &es_pod("logging"),
        9300,
        "TCP"
    ));
    assert!(!c.allows(
        &Endpoint::pod("elastic-system", &[]),
        &es_pod("logging"),
        9300,
        "TCP"
    ));

    let text = profile("gatekeeper", "").replace("elasticsearch.logging.svc", "es-http.team-a.svc");
    let objs = rendered(&text);
    let c = network_cluster(&objs);
    assert!(c.allows(&es_pod("team-a"), &es_pod("team-a"), 9300, "TCP"));
    assert!(c.allows(
        &Endpoint::pod("elastic-system", &[]),
        &es_pod("team-a"),
        9200,
        "TCP"
    ));
    assert!(!c.allows(
        &Endpoint::pod("team-a", &[("app", "web")]),
        &es_pod("team-a"),
        9300,
        "TCP"
    ));
}

#[test]
fn a_meshed_elasticsearch_the_collector_cannot_reach_is_an_error_naming_both() {
    // Item 4: STRICT mTLS in team-a, the collector runs without a sidecar.
    let text = profile("gatekeeper", "mesh: {provider: istio, mtls: strict}\n")
        .replace("elasticsearch.logging.svc", "es-http.team-a.svc");
    let m = load(&text);
    let err = crate::render(&m).unwrap_err().to_string();
    assert!(
        err.contains(
            "fluentd (logging): reaches `team-a` on 9200/TCP (ships logs): no: mesh: denied"
        ),
        "{err}"
    );
    assert!(
        err.contains("ECK operator (elastic-system): reaches `team-a` on 9200/TCP"),
        "{err}"
    );
    assert!(
        err.contains("hint: Elasticsearch in `team-a` is inside the mesh"),
        "{err}"
    );
    // Outside the mesh it renders.
    assert!(
        crate::render(&load(&profile(
            "gatekeeper",
            "mesh: {provider: istio, mtls: strict}\n"
        )))
        .is_ok()
    );
}

#[test]
fn overrides_replace_the_published_defaults() {
    let extra = "components:\n  ingressController:\n    images: [artifactory.example.ca/mirror/ingress-nginx/controller]\n    podLabels: {app: edge}\n";
    let m = load(&profile("gatekeeper", extra));
    let all = super::all(&m.profile);
    let ic = all
        .iter()
        .find(|c| c.role == super::Role::IngressController)
        .unwrap();
    assert_eq!(
        ic.pod_labels,
        BTreeMap::from([("app".to_owned(), "edge".to_owned())])
    );
    // A mirrored image in an allowed registry needs no registry exemption.
    let objs = objects(&crate::render(&m).unwrap().set);
    assert!(
        !objs
            .iter()
            .any(|o| o["metadata"]["name"] == "allowed-registries-in-ingress-nginx")
    );
}

#[test]
fn render_notes_say_what_kharden_assumes_of_the_installs() {
    let m = load(&profile(
        "gatekeeper",
        "mesh: {provider: istio, mtls: strict}\n",
    ));
    let notes = crate::render(&m).unwrap().notes;
    assert!(
        notes.iter().any(|n| n.starts_with(
            "note: the ingress controller in `ingress-nginx` must run with the mesh sidecar"
        )),
        "{notes:#?}"
    );
    // On a platform with an internal annotation, the controller's Service must carry it.
    let aks = profile("gatekeeper", "").replace("platform: kubeadm", "platform: aks");
    let notes = super::notes(&load(&aks).profile);
    assert_eq!(
        notes,
        [
            "note: the ingress controller's LoadBalancer Service in `ingress-nginx` must carry `service.beta.kubernetes.io/azure-load-balancer-internal: \"true\"` (set it in its chart's values): `policy.internalLoadBalancers` refuses it otherwise"
        ]
    );
}

#[test]
fn a_large_profile_is_checked_on_a_sample_and_says_so() {
    let many: String = (0..70)
        .map(|i| format!("  - name: t{i}\n    annotations: {{contact: a@example.ca}}\n"))
        .collect();
    let text = profile("gatekeeper", "").replace(
        "  - name: team-a\n    annotations: {contact: a@example.ca}\n",
        &many,
    );
    let m = load(&text);
    let r = crate::render(&m).unwrap();
    let report = check::run(&m, &r.set).unwrap();
    let reached: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| {
            c.component == "ingress controller (ingress-nginx)" && c.what.starts_with("reaches")
        })
        .map(|c| c.what.as_str())
        .collect();
    assert_eq!(reached.len(), 64, "{reached:#?}");
    assert!(report.checks.iter().all(|c| c.ok));
    let note = report.note.clone().unwrap();
    assert!(
        note.contains("covered 64 of 70 tenant namespaces"),
        "{note}"
    );
    assert!(r.notes.contains(&note));
    assert!(check::summary(&report).contains("; the platform self-check covered 64 of 70"));
}
