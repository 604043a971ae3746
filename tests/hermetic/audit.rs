//! `kharden audit` end to end (#31 item 1): the brownfield dump in
//! tests/fixtures/brownfield/cluster (a `kubectl get -A -o yaml` List, loose
//! documents, a truncated file, an object without apiVersion, a Secret) audited
//! against tests/fixtures/brownfield/profile.yaml on both policy engines; every
//! finding asserted on the parsed JSON.

use crate::common;

use common::{kharden, root, stderr, stdout};
use serde_json::Value;

const PROFILE: &str = "tests/fixtures/brownfield/profile.yaml";
const DUMP: &str = "tests/fixtures/brownfield/cluster";

/// The profile on `engine`, written next to the fixture's (so relative
/// paths and the display name stay the same); returns its path.
fn profile(engine: &str, dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(root().join(PROFILE)).unwrap();
    let text = text.replace(
        "engine: validating-admission-policy",
        &format!("engine: {engine}"),
    );
    let p = dir.join("profile.yaml");
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn audit(profile: &str, format: &str) -> (Option<i32>, String, String) {
    let o = kharden(&["audit", profile, DUMP, "--format", format]);
    (o.status.code(), stdout(&o), stderr(&o))
}

/// The violations of `kind`/`name` in `ns`, as (engine, message).
fn refused(j: &Value, ns: &str, kind: &str, name: &str) -> Vec<(String, String)> {
    j["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["namespace"] == ns && v["kind"] == kind && v["name"] == name)
        .map(|v| {
            (
                v["engine"].as_str().unwrap().to_owned(),
                v["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn any(found: &[(String, String)], engine: &str, part: &str) -> bool {
    found.iter().any(|(e, m)| e == engine && m.contains(part))
}

fn check_engine(engine: &str, rule_engine: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let p = profile(engine, tmp.path());
    let (code, out, err) = audit(&p, "json");
    assert_eq!(code, Some(1), "{err}");
    let j: Value = serde_json::from_str(&out).unwrap();

    // Refused images and missing annotations, by the profile's engine.
    let web = refused(&j, "shop", "Deployment", "web");
    assert!(
        any(&web, rule_engine, "docker.io/library/nginx:1.27"),
        "{web:?}"
    );
    assert!(
        !any(&web, rule_engine, "annotation"),
        "web carries contact: {web:?}"
    );
    // ... and its pods meet the namespace's restricted Pod Security level.
    assert!(any(&web, "pod-security", "restricted"), "{web:?}");
    // Its ReplicaSet is the Deployment's making: judged by its owner, once.
    assert!(refused(&j, "shop", "ReplicaSet", "web-7c9d5b").is_empty());
    let api = refused(&j, "shop", "Deployment", "api");
    assert!(any(&api, rule_engine, "contact"), "{api:?}");
    assert!(
        !any(&api, rule_engine, "registry.example.com/shop/api"),
        "an allowed image is not refused: {api:?}"
    );
    // The public LoadBalancer and the Ingress outside the domain.
    let lb = refused(&j, "shop", "Service", "storefront");
    assert!(
        any(&lb, "resource-quota", "services.loadbalancers"),
        "{lb:?}"
    );
    // The verify harness's Gatekeeper run of the EKS internal-load-balancer
    // Rego does not refuse it (`kharden verify` says the same; reported).
    if rule_engine == "native" {
        assert!(any(&lb, rule_engine, "must be internal"), "{lb:?}");
    }
    let ing = refused(&j, "shop", "Ingress", "promo");
    assert!(
        !ing.is_empty() && ing.iter().all(|(e, _)| e == rule_engine),
        "{ing:?}"
    );
    // A cluster-wide rule reaches the namespace outside the profile too.
    let legacy = refused(&j, "legacy", "Deployment", "reports");
    assert!(
        any(&legacy, rule_engine, "quay.io/legacy/reports:0.9"),
        "{legacy:?}"
    );
    // Every violation names a rule.
    for v in j["violations"].as_array().unwrap() {
        assert!(v["rule"].as_str().unwrap().contains('/'), "{v}");
    }

    // The out-of-band cluster-admin binding, and the hand-made Role.
    let access = j["access"].as_array().unwrap();
    let admin = access
        .iter()
        .find(|a| a["subjectName"] == "contractor@example.com")
        .expect("the contractor's binding");
    assert_eq!(admin["subjectKind"], "User");
    assert_eq!(admin["namespace"], Value::Null);
    assert_eq!(admin["role"], "ClusterRole/cluster-admin");
    assert_eq!(admin["verdict"], "widening");
    let ci = access
        .iter()
        .find(|a| a["subjectName"] == "shop/ci")
        .expect("the ci service account's binding");
    assert_eq!(ci["namespace"], "shop");
    assert_eq!(ci["verdict"], "widening");
    assert!(
        ci["beyond"]
            .as_array()
            .unwrap()
            .contains(&Value::from("get core/secrets")),
        "{ci}"
    );
    // A hand-made binding to the built-in `edit` widens even a group the
    // profile gives its own `edit` Role there (the built-in, aggregated one
    // grants more), and a group the profile gives nothing.
    let by_subject = |name: &str| {
        access
            .iter()
            .find(|a| a["subjectName"] == name && a["binding"] == "RoleBinding/hand-made-edit")
            .unwrap_or_else(|| panic!("{name}: {access:?}"))
    };
    assert_eq!(by_subject("shop-developers")["verdict"], "widening");
    assert_eq!(
        by_subject("shop-developers")["beyond"][0],
        "all of the built-in `edit`"
    );
    assert_eq!(by_subject("contractors")["verdict"], "widening");
    assert_eq!(by_subject("contractors")["role"], "ClusterRole/edit");
    // The bootstrap binding and the profile's own grants are no finding.
    assert_eq!(access.len(), 4, "{access:?}");

    // Drift: the bundle creates its quota, changes the existing Namespace's
    // labels, and leaves the Deployment (no rendered counterpart) alone.
    let drift = j["drift"].as_array().unwrap();
    let has = |kind: &str, ns: Option<&str>, name: &str, change: &str| {
        drift.iter().any(|d| {
            d["kind"] == kind
                && d["namespace"].as_str() == ns
                && d["name"] == name
                && d["change"] == change
        })
    };
    assert!(
        has("ResourceQuota", Some("shop"), "kharden-default", "create"),
        "{drift:?}"
    );
    assert!(has("Namespace", None, "shop", "change"), "{drift:?}");
    let ns_change = drift
        .iter()
        .find(|d| d["kind"] == "Namespace" && d["name"] == "shop")
        .unwrap();
    let fields: Vec<&str> = ns_change["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&".metadata.labels.pod-security.kubernetes.io/enforce"),
        "{fields:?}"
    );
    // Server-set fields are no change.
    assert!(
        !fields
            .iter()
            .any(|f| f.contains("uid") || f.contains("status")),
        "{fields:?}"
    );
    assert!(!drift.iter().any(|d| d["name"] == "web"), "{drift:?}");

    // The unmanaged namespace, with what protects it and what does not.
    let nss = j["namespaces"].as_array().unwrap();
    assert_eq!(nss.len(), 1, "kube-system is left out: {nss:?}");
    assert_eq!(nss[0]["name"], "legacy");
    let protected: Vec<&str> = nss[0]["protectedBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        protected.iter().any(|p| p.starts_with("admission: ")),
        "{protected:?}"
    );
    let unprotected = nss[0]["unprotected"].to_string();
    assert!(unprotected.contains("no NetworkPolicy"), "{unprotected}");
    assert!(
        unprotected.contains("no Pod Security enforce level"),
        "{unprotected}"
    );

    // Bad input is skipped with a note; Secret data is never printed.
    let notes = j["notes"].to_string();
    assert!(notes.contains("truncated.yaml`: not valid YAML"), "{notes}");
    assert!(
        notes.contains("(ConfigMap `no-api-version`): no `apiVersion`"),
        "{notes}"
    );
    for f in ["json", "text", "markdown"] {
        let (_, out, err) = audit(&p, f);
        for secret in ["TkVWRVItUFJJTlQtVEhJUy1TRUNSRVQ=", "never-print-this-token"] {
            assert!(!out.contains(secret) && !err.contains(secret), "{f}: {out}");
        }
    }
}

#[test]
fn brownfield_findings_on_the_native_engine_31() {
    check_engine("validating-admission-policy", "native");
}

#[test]
fn brownfield_findings_on_gatekeeper_31() {
    check_engine("gatekeeper", "gatekeeper");
}

#[test]
fn text_and_markdown_read_per_namespace_31() {
    let (code, text, _) = audit(PROFILE, "text");
    assert_eq!(code, Some(1));
    let shop = text.find("namespace shop:\n").expect(&text);
    let web = text
        .find("refused: Deployment web by ValidatingAdmissionPolicy/kharden-allowed-registries (native)")
        .expect(&text);
    assert!(web > shop, "{text}");
    assert!(
        text.ends_with("namespace(s) outside the profile\n"),
        "{text}"
    );
    let (_, md, _) = audit(PROFILE, "markdown");
    assert!(md.starts_with("# kharden audit\n"), "{md}");
    assert!(md.contains("## namespace legacy\n"), "{md}");
    assert!(
        md.contains(
            "- refused: Deployment `web` by `ValidatingAdmissionPolicy/kharden-allowed-registries`"
        ),
        "{md}"
    );
}

#[test]
fn a_cluster_matching_the_bundle_is_clean_and_bad_input_exits_2_31() {
    let tmp = tempfile::tempdir().unwrap();
    // The bundle's own rendering, read back as the cluster's objects: nothing
    // refused, nothing beyond, nothing to change.
    let r = kharden(&["render", PROFILE, "-o", "-"]);
    assert_eq!(r.status.code(), Some(0));
    let dump = tmp.path().join("rendered.yaml");
    std::fs::write(&dump, &r.stdout).unwrap();
    let o = kharden(&["audit", PROFILE, dump.to_str().unwrap(), "--format", "json"]);
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["violations"], Value::Array(vec![]), "{j}");
    assert_eq!(j["access"], Value::Array(vec![]), "{j}");
    assert_eq!(j["drift"], Value::Array(vec![]), "{j}");
    assert_eq!(j["namespaces"], Value::Array(vec![]), "{j}");
    assert_eq!(o.status.code(), Some(0), "{j}");

    // Nothing readable, or a path that does not exist: exit 2.
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "kind: Pod\nmetadata: {name: p}\n").unwrap();
    let o = kharden(&["audit", PROFILE, bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("no `apiVersion`"), "{err}");
    assert!(
        err.contains("error: no Kubernetes object could be read from OBJECTS"),
        "{err}"
    );
    let o = kharden(&["audit", PROFILE, "tests/fixtures/brownfield/missing.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: cannot read `tests/fixtures/brownfield/missing.yaml`"),
        "{}",
        stderr(&o)
    );
}
