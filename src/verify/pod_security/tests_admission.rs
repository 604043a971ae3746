//! The PodSecurity plugin around the checks: namespace labels to policy
//! (upstream's `PolicyToEvaluate`), pods enforced and workloads only warned
//! about, exemptions and defaults from the rendered bundle only, `latest`
//! capped at the server's version, and the crate-level verdict on a profile.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{
    Level, LevelVersion, PodSecurity, Policy, Source, Target, Version, policy_to_evaluate,
    template_pod,
};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), (*v).to_owned()))
        .collect()
}

fn lv(level: Level, version: Version) -> LevelVersion {
    LevelVersion { level, version }
}

fn namespace(name: &str, pairs: &[(&str, &str)]) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels(pairs)}})
}

const PRIVILEGED_DETAIL: &str =
    "privileged (container \"c\" must not set securityContext.privileged=true)";

/// A pod spec that meets `restricted` but for one privileged container.
fn privileged_spec() -> Value {
    json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "image": "x", "securityContext":
            {"privileged": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
    })
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

#[test]
fn labels_resolve_as_upstream_policy_to_evaluate() {
    let l = Version::Latest;
    let (p, errs) = policy_to_evaluate(&labels(&[]), Policy::PRIVILEGED);
    assert_eq!((p, errs.len()), (Policy::PRIVILEGED, 0));
    // A stricter enforce level pulls warn along, with its version.
    let (p, _) = policy_to_evaluate(
        &labels(&[("enforce", "restricted"), ("enforce-version", "v1.30")]),
        Policy::PRIVILEGED,
    );
    assert_eq!(p.warn, lv(Level::Restricted, Version::Minor(30)));
    assert_eq!(p.audit, lv(Level::Privileged, l));
    // ... but not over an explicit warn label.
    let (p, _) = policy_to_evaluate(
        &labels(&[("enforce", "baseline"), ("warn", "privileged")]),
        Policy::PRIVILEGED,
    );
    assert_eq!(p.warn, lv(Level::Privileged, l));
    // Unparsable labels: enforce fails closed, audit and warn open, versions latest.
    let (p, errs) = policy_to_evaluate(
        &labels(&[
            ("enforce", "strict"),
            ("warn", "loud"),
            ("audit-version", "1.30"),
        ]),
        Policy::PRIVILEGED,
    );
    assert_eq!(p.enforce, lv(Level::Restricted, l));
    assert_eq!(p.warn, lv(Level::Privileged, l));
    assert_eq!(p.audit.version, l);
    assert_eq!(
        errs,
        [
            "metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted",
            "metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: \"1.30\": must be \"latest\" or \"v1.x\"",
            "metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: \"loud\": must be one of privileged, baseline, restricted",
        ]
    );
}

#[test]
fn pods_are_enforced_with_psa_wording() {
    let ps = PodSecurity::new(
        &[namespace(
            "team",
            &[
                ("enforce", "restricted"),
                ("enforce-version", "v1.33"),
                ("audit", "baseline"),
            ],
        )],
        Some(33),
    );
    let v = ps.evaluate("team", &pod(privileged_spec()));
    assert_eq!(v.target, Target::Pod);
    assert_eq!(v.source, Source::Namespace("team".to_owned()));
    assert_eq!(
        v.denial().unwrap(),
        format!("violates PodSecurity \"restricted:v1.33\": {PRIVILEGED_DETAIL}")
    );
    assert!(v.warnings().is_empty(), "no warning on PSA's own refusal");
    let audit = v.audit_annotations();
    assert_eq!(
        audit["pod-security.kubernetes.io/enforce-policy"],
        "restricted:v1.33"
    );
    assert_eq!(
        audit["pod-security.kubernetes.io/audit-violations"],
        format!("would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}")
    );
    let mut ok = privileged_spec();
    ok["containers"][0]["securityContext"]["privileged"] = json!(false);
    let v = ps.evaluate("team", &pod(ok));
    assert_eq!(v.denial(), None);
    assert!(
        !v.audit_annotations()
            .contains_key("pod-security.kubernetes.io/audit-violations")
    );
}

#[test]
fn workloads_are_warned_and_audited_never_enforced() {
    let ps = PodSecurity::new(
        &[namespace(
            "team",
            &[("enforce", "restricted"), ("enforce-version", "v1.33")],
        )],
        Some(33),
    );
    let tpl = json!({"metadata": {"labels": {"app": "a"}}, "spec": privileged_spec()});
    let workloads = [
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": {"template": tpl}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "w"}, "spec": {"template": tpl}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "w"}, "spec": {"template": tpl}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "w"}, "spec": {"template": tpl}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "w"}, "spec": {"template": tpl}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "w"},
            "spec": {"jobTemplate": {"spec": {"template": tpl}}}}),
        json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "w"}, "spec": {"template": tpl}}),
        json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "w"}, "template": tpl}),
    ];
    for w in &workloads {
        let v = ps.evaluate("team", w);
        assert_eq!(v.target, Target::Controller, "{}", w["kind"]);
        assert_eq!(v.denial(), None, "{}", w["kind"]);
        assert_eq!(
            v.warnings(),
            [format!(
                "would violate PodSecurity \"restricted:v1.33\": {PRIVILEGED_DETAIL}"
            )],
            "{}",
            w["kind"]
        );
        assert!(
            !v.audit_annotations()
                .contains_key("pod-security.kubernetes.io/enforce-policy")
        );
        // Its pods meet enforce.
        let p = template_pod(w).unwrap();
        assert_eq!(p["metadata"]["labels"]["app"], "a");
        assert!(ps.evaluate("team", &p).denial().is_some(), "{}", w["kind"]);
    }
    // A ReplicationController may hold no template: nothing to evaluate.
    let rc = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "w"}, "spec": {}});
    assert!(ps.evaluate("team", &rc).warnings().is_empty());
    // Other kinds, and Deployments outside apps, are not Pod Security's.
    for other in [
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
        json!({"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": tpl}}),
    ] {
        let v = ps.evaluate("team", &other);
        assert_eq!((v.target, v.policy), (Target::Other, None));
    }
}

#[test]
fn unrendered_namespaces_get_the_api_servers_defaults_privileged() {
    let ps = PodSecurity::new(&[namespace("team", &[("enforce", "restricted")])], Some(33));
    let v = ps.evaluate(
        "kube-system",
        &pod(json!({"hostNetwork": true, "containers": [{"name": "c"}]})),
    );
    assert_eq!(v.source, Source::Defaults { from: None });
    assert!(v.denial().is_none() && v.warnings().is_empty());
    assert_eq!(
        v.audit_annotations()["pod-security.kubernetes.io/enforce-policy"],
        "privileged:latest"
    );
}

#[test]
fn defaults_and_exemptions_only_from_a_rendered_admission_configuration() {
    let config = json!({
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AdmissionConfiguration",
        "plugins": [{"name": "PodSecurity", "configuration": {
            "apiVersion": "pod-security.admission.config.k8s.io/v1",
            "kind": "PodSecurityConfiguration",
            "defaults": {"enforce": "baseline", "enforce-version": "v1.33"},
            "exemptions": {"namespaces": ["kube-system"], "runtimeClasses": ["kata"]},
        }}],
    });
    let ps = PodSecurity::new(&[config], Some(33));
    let v = ps.evaluate("scratch", &pod(privileged_spec()));
    assert_eq!(
        v.source,
        Source::Defaults {
            from: Some("AdmissionConfiguration/PodSecurity".to_owned())
        }
    );
    assert_eq!(
        v.source.object(),
        (
            "AdmissionConfiguration".to_owned(),
            "PodSecurity".to_owned()
        )
    );
    assert_eq!(
        v.denial().unwrap(),
        format!("violates PodSecurity \"baseline:v1.33\": {PRIVILEGED_DETAIL}")
    );
    let v = ps.evaluate("kube-system", &pod(privileged_spec()));
    assert_eq!((v.exempt, v.denial()), (Some("namespace"), None));
    assert_eq!(
        v.audit_annotations()["pod-security.kubernetes.io/exempt"],
        "namespace"
    );
    let mut kata = privileged_spec();
    kata["runtimeClassName"] = json!("kata");
    let v = ps.evaluate("scratch", &pod(kata));
    assert_eq!((v.exempt, v.denial()), (Some("runtimeClass"), None));
}

#[test]
fn latest_and_newer_versions_are_capped_at_the_servers_rules() {
    let ns = namespace("team", &[("enforce", "baseline")]);
    // The probe-host check arrived in 1.34.
    let probe = pod(json!({"containers": [{"name": "c",
        "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}}]}));
    let on_133 = PodSecurity::new(std::slice::from_ref(&ns), Some(33));
    assert_eq!(on_133.evaluate("team", &probe).denial(), None);
    let newest = PodSecurity::new(std::slice::from_ref(&ns), None);
    assert_eq!(
        newest.evaluate("team", &probe).denial().unwrap(),
        "violates PodSecurity \"baseline:latest\": probe or lifecycle host (container \"c\" uses probe or lifecycle host \"10.0.0.1\")"
    );
    let pinned = namespace(
        "team",
        &[("enforce", "baseline"), ("enforce-version", "v1.40")],
    );
    let v = PodSecurity::new(&[pinned], Some(33)).evaluate("team", &probe);
    assert_eq!(
        v.denial(),
        None,
        "v1.40 on a 1.33 server evaluates 1.33's rules"
    );
}

#[test]
fn a_pod_that_does_not_decode_is_refused_a_workload_audited() {
    let ps = PodSecurity::new(&[namespace("team", &[("enforce", "restricted")])], Some(33));
    let bad = json!({"containers": [{"name": "c", "securityContext": {"privileged": "yes"}}]});
    let d = ps.evaluate("team", &pod(bad.clone())).denial().unwrap();
    assert!(
        d.starts_with(
            "the API server cannot decode the pod: `spec.containers[0].securityContext.privileged`"
        ),
        "{d}"
    );
    let w = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
        "spec": {"template": {"spec": bad}}});
    let v = ps.evaluate("team", &w);
    assert_eq!(v.denial(), None);
    assert!(
        v.audit_annotations()["pod-security.kubernetes.io/error"]
            .starts_with("failed to extract pod template: ")
    );
}

/// The crate-level verdict reads the labels kharden renders on each Namespace.
#[test]
fn the_verdict_on_a_rendered_profile_follows_its_namespace_labels() {
    let m = crate::testing::model(
        "namespaces:\n  - name: strict\n  - name: relaxed\n    podSecurity: baseline\n",
    );
    let set = crate::render(&m).unwrap().set;
    let host = pod(json!({"hostPID": true, "containers": [{"name": "c"}]}));
    let v = crate::verify::pod_security_verdict(&set, Some(m.minor()), "relaxed", &host);
    assert_eq!(
        v.denial().unwrap(),
        "violates PodSecurity \"baseline:v1.33\": host namespaces (hostPID=true)"
    );
    let mut nonroot = privileged_spec();
    nonroot["containers"][0]["securityContext"]["privileged"] = json!(false);
    let relaxed = crate::verify::pod_security_verdict(
        &set,
        Some(33),
        "relaxed",
        &pod(json!({"containers": [{"name": "c"}]})),
    );
    assert_eq!(relaxed.denial(), None);
    assert_eq!(relaxed.warnings().len(), 1, "warn is restricted everywhere");
    let strict = crate::verify::pod_security_verdict(&set, Some(33), "strict", &pod(nonroot));
    assert_eq!((strict.denial(), strict.warnings().len()), (None, 0));
}
