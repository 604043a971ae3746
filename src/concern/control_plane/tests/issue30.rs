//! Issue #30's control-plane items: the MutatingAdmissionPolicy beta flags,
//! kubeadm's private endpoint without an address, and the pinned version.

use serde_json::Value;

use super::{CC, args, objects};
use crate::testing::{HEAD, object, render, today};

fn at(platform: &str, version: &str, body: &str) -> crate::Model {
    let text = format!("{HEAD}{body}")
        .replace("platform: kubeadm", &format!("platform: {platform}"))
        .replace("\"1.33\"", &format!("\"{version}\""));
    crate::load_text(&text, "t.yaml", today()).unwrap_or_else(|e| panic!("{e}"))
}

/// #30 item 6: where the policies are rendered as v1beta1 MutatingAdmissionPolicy,
/// the kubeadm API server gets the feature gate and the v1beta1 API, and only
/// there; a managed platform's warning says where it is switched on.
#[test]
fn mutating_admission_policy_beta_turns_the_api_on_where_it_is_rendered() {
    const BODY: &str = "apiServer: {advertiseAddress: 10.0.0.10}\nnamespaces: [{name: a, annotations: {contact: a@example.com}}]\npolicy:\n  engine: validating-admission-policy\n  propagateNamespaceAnnotations: [contact]\nBETA";
    let beta = "  mutatingAdmissionPolicyBeta: true\n";
    for (version, extra, want) in [
        ("1.34", beta, Some("admissionregistration.k8s.io/v1beta1")),
        ("1.35", beta, Some("admissionregistration.k8s.io/v1beta1")),
        ("1.35", "", None),
        ("1.36", "", Some("admissionregistration.k8s.io/v1")),
    ] {
        let m = at("kubeadm", version, &BODY.replace("BETA", extra));
        let objs = objects(&m);
        let maps: Vec<&Value> = objs
            .iter()
            .filter(|(_, o)| o["kind"] == "MutatingAdmissionPolicy")
            .map(|(_, o)| &o["apiVersion"])
            .collect();
        let a = args(&object(&objs, CC));
        let beta_api = want == Some("admissionregistration.k8s.io/v1beta1");
        assert_eq!(maps.is_empty(), want.is_none(), "{version}");
        assert!(
            maps.iter().all(|v| Some(v.as_str().unwrap()) == want),
            "{version}"
        );
        assert_eq!(
            a.get("feature-gates").map(String::as_str),
            beta_api.then_some("MutatingAdmissionPolicy=true"),
            "{version}"
        );
        assert_eq!(
            a.get("runtime-config").map(String::as_str),
            beta_api.then_some("admissionregistration.k8s.io/v1beta1=true"),
            "{version}"
        );
    }
    let body = BODY
        .replace("apiServer: {advertiseAddress: 10.0.0.10}\n", "")
        .replace("BETA", beta);
    for (platform, how) in [
        (
            "gke",
            "--enable-kubernetes-unstable-apis=admissionregistration.k8s.io/v1beta1/mutatingadmissionpolicies,",
        ),
        (
            "eks",
            "the provider sets the API server's feature gates and runtime config",
        ),
        (
            "aks",
            "the provider sets the API server's feature gates and runtime config",
        ),
    ] {
        let w = super::super::warnings(&at(platform, "1.34", &body)).join("\n");
        assert!(
            w.contains("`policy.mutatingAdmissionPolicyBeta` renders v1beta1 MutatingAdmissionPolicies, served only with the `MutatingAdmissionPolicy` feature gate")
                && w.contains(how),
            "{platform}: {w}"
        );
    }
}

/// #30 item 7: a kubeadm `private: true` (written, or from a preset) without an
/// address to bind to is refused, since kube-apiserver would listen on 0.0.0.0;
/// the built-in default alone is said in a warning; an address makes it private.
#[test]
fn kubeadm_private_without_an_address_is_refused() {
    let load = |body: &str| crate::load_text(&format!("{HEAD}{body}"), "t.yaml", today());
    for body in ["apiServer: {private: true}\n", "extends: [baseline]\n"] {
        let e = load(body).unwrap_err().to_string();
        crate::testing::assert_contains_all(
            &e,
            &[
                "error: `apiServer.private` is true, but without `apiServer.advertiseAddress` the kubeadm API server listens on every interface (0.0.0.0)",
                "= field: apiServer.private",
                "= hint: set `apiServer.advertiseAddress` to the control-plane node's private address",
            ],
        );
    }
    let m = load("").unwrap();
    assert!(
        super::super::warnings(&m)[0].contains("`apiServer.private` is true by default, but without `apiServer.advertiseAddress` the kubeadm API server listens on every interface"),
        "{:?}",
        super::super::warnings(&m)
    );
    for body in [
        "apiServer: {private: false}\n",
        "extends: [baseline]\napiServer: {advertiseAddress: 10.0.0.10}\n",
    ] {
        let m = load(body).unwrap();
        assert!(
            !super::super::warnings(&m).join("").contains("0.0.0.0"),
            "{body}"
        );
    }
    let objs = render("apiServer: {private: true, advertiseAddress: 10.0.0.10}\n");
    let patch = object(
        &objs,
        "control-plane/kubeadm/patches/kube-apiserver+json.yaml",
    );
    assert_eq!(patch[0]["value"], "--bind-address=10.0.0.10");
}

/// #30 item 13: kubeadm installs the profile's minor release (newest patch),
/// the one every version-dependent output was chosen for.
#[test]
fn kubeadm_pins_the_profiles_kubernetes_version() {
    for version in ["1.33", "1.35", "1.37"] {
        let m = at(
            "kubeadm",
            version,
            "apiServer: {advertiseAddress: 10.0.0.10}\n",
        );
        let cc = object(&objects(&m), CC);
        assert_eq!(cc["kubernetesVersion"], format!("stable-{version}"));
    }
}
