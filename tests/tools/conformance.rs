//! Third-party validators over the committed `out/`: kubernetes-validate in
//! strict mode for every Kubernetes version kharden claims, and
//! `kubectl kustomize` on each example directory. `scripts/setup-tools`
//! installs the pinned validator; these tests fail (never skip) without it.

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use common::{examples, root};

const VERSIONS: &[&str] = &["1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0"];

fn kubernetes_validate() -> PathBuf {
    common::tool("kubernetes-validate")
}

/// Strict JSON Schemas of the custom resources we emit (Istio, Linkerd, Gatekeeper).
fn crd_schemas() -> PathBuf {
    let dir = root().join("tests/data/crds");
    assert!(
        dir.is_dir(),
        "{} missing: vendored from ../shared/schemas/crds",
        dir.display()
    );
    dir
}

/// Files listed in the example's kustomizations (objects to apply), by relative
/// path: the top one lists the stage directories, each stage its files.
fn object_files(name: &str) -> Vec<String> {
    let resources = |dir: &str| -> Vec<String> {
        let k = std::fs::read_to_string(root().join(dir).join("kustomization.yaml")).unwrap();
        let k: serde_json::Value = serde_saphyr::from_str(&k).unwrap();
        k["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{dir}/{}", r.as_str().unwrap()))
            .collect()
    };
    resources(&format!("out/{name}"))
        .iter()
        .flat_map(|stage| resources(stage))
        .collect()
}

/// Split object files into built-in kinds and custom resources, by API group.
fn split_by_group(files: &[String]) -> (Vec<String>, Vec<String>) {
    let schemas = crd_schemas();
    files.iter().cloned().partition(|f| {
        let text = std::fs::read_to_string(root().join(f)).unwrap();
        let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let api = v["apiVersion"].as_str().unwrap_or_default();
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        !(group == "constraints.gatekeeper.sh"
            || (!group.is_empty() && schemas.join(group).is_dir()))
    })
}

fn python() -> PathBuf {
    common::tools_python()
}

#[test]
fn every_custom_resource_passes_its_strict_crd_schema() {
    for name in examples() {
        let (_, crs) = split_by_group(&object_files(&name));
        if crs.is_empty() {
            continue;
        }
        let o = Command::new(python())
            .arg("scripts/validate-crs.py")
            .arg(crd_schemas())
            .args(&crs)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "out/{name}: custom resources fail their schemas:\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

#[test]
fn the_crd_validator_really_rejects_unknown_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("pa.yaml");
    std::fs::write(&bad, "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x}\nspec:\n  mtls: {mode: STRICT, bogus: 1}\n").unwrap();
    let o = Command::new(python())
        .arg("scripts/validate-crs.py")
        .arg(crd_schemas())
        .arg(&bad)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn every_object_passes_strict_schema_validation_on_every_supported_version() {
    let bin = kubernetes_validate();
    for name in examples() {
        let (files, _) = split_by_group(&object_files(&name));
        assert!(!files.is_empty());
        let (mutating, files) = split_mutating(&files);
        let since = example_version(&name);
        for v in VERSIONS {
            // MutatingAdmissionPolicy exists from the version the example is
            // for (v1 from 1.36); everything else on every version.
            let served = v.as_bytes() >= since.as_bytes();
            let files: Vec<&String> = files
                .iter()
                .chain(mutating.iter().filter(|_| served))
                .collect();
            let o = Command::new(&bin)
                .args(["--strict", "--quiet", "-k", v])
                .args(&files)
                .current_dir(root())
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "out/{name} fails kubernetes-validate --strict for {v}:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

/// MutatingAdmissionPolicy objects apart from the rest.
fn split_mutating(files: &[String]) -> (Vec<String>, Vec<String>) {
    files.iter().cloned().partition(|f| {
        let text = std::fs::read_to_string(root().join(f)).unwrap();
        let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        v["kind"]
            .as_str()
            .is_some_and(|k| k.starts_with("MutatingAdmissionPolicy"))
    })
}

/// The example's `cluster.kubernetesVersion`, as a VERSIONS entry.
fn example_version(name: &str) -> String {
    let text = std::fs::read_to_string(root().join(format!("examples/{name}.yaml"))).unwrap();
    let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    format!(
        "{}.0",
        v["cluster"]["kubernetesVersion"].as_str().unwrap_or("1.33")
    )
}

/// #13 item 19: the v1 MutatingAdmissionPolicies of the 1.36 example exist
/// there and not on 1.35, which is why kharden renders them from 1.36 only.
#[test]
fn mutating_admission_policies_v1_exist_from_1_36_only() {
    let bin = kubernetes_validate();
    let (mutating, _) = split_mutating(&object_files("native-policy-136"));
    assert!(mutating.len() >= 8, "{mutating:?}");
    let run = |v: &str| {
        Command::new(&bin)
            .args(["--strict", "-k", v])
            .args(&mutating)
            .current_dir(root())
            .output()
            .unwrap()
    };
    for v in ["1.36.0", "1.37.0"] {
        let o = run(v);
        assert!(
            o.status.success(),
            "{v}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    // The validator only warns on a kind its version lacks.
    let o = run("1.35.0");
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        out.contains("Couldn't find schema for kind MutatingAdmissionPolicy with api version admissionregistration.k8s.io/v1 for kubernetes version 1.35"),
        "{out}"
    );
    // Examples at 1.33 render none.
    for name in ["native-policy", "prod-east"] {
        assert!(split_mutating(&object_files(name)).0.is_empty(), "{name}");
    }
}

#[test]
fn the_validator_really_rejects_unknown_fields() {
    // Guard against a validator that passes everything (wrong flags, empty schema set).
    let bin = kubernetes_validate();
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  bogus: 1\n",
    )
    .unwrap();
    let o = Command::new(&bin)
        .args(["--strict", "--quiet", "-k", VERSIONS[0]])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success());
}

#[test]
fn kustomize_builds_every_example() {
    for name in examples() {
        let o = Command::new("kubectl")
            .args(["kustomize", &format!("out/{name}")])
            .current_dir(root())
            .output()
            .expect("kubectl");
        assert!(
            o.status.success(),
            "kubectl kustomize out/{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let built = String::from_utf8(o.stdout).unwrap();
        let docs = built
            .split("\n---\n")
            .filter(|d| !d.trim().is_empty())
            .count();
        assert_eq!(
            docs,
            object_files(&name).len(),
            "kustomize dropped or added objects in out/{name}"
        );
    }
}

fn yamllint(args: &[&str]) -> std::process::Output {
    let bin = kubernetes_validate().with_file_name("yamllint");
    assert!(
        bin.is_file(),
        "{} not found: run scripts/setup-tools",
        bin.display()
    );
    Command::new(bin)
        .args(["--strict", "-c", ".yamllint.yaml"])
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn yamllint_strict_finds_nothing_in_out() {
    let o = yamllint(&["out/"]);
    assert!(
        o.status.success(),
        "yamllint:\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn yamllint_config_really_rejects_truthy_and_duplicate_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "a: on\nb: 1\nb: 2\n").unwrap();
    let o = yamllint(&[bad.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        !o.status.success() && out.contains("truthy") && out.contains("key-duplicates"),
        "{out}"
    );
}

/// The profile schema, checked by a third-party JSON Schema validator the way an
/// editor uses it: every example profile passes, and a broken one is caught
/// (unknown field, wrong enum, bad name, unsupported version).
#[test]
fn the_profile_schema_serves_editors() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = tmp.path().join("schema.json");
    let o = Command::new(env!("CARGO_BIN_EXE_kharden"))
        .arg("schema")
        .output()
        .unwrap();
    std::fs::write(&schema, &o.stdout).unwrap();
    let mut profiles: Vec<String> = examples()
        .iter()
        .map(|n| format!("examples/{n}.yaml"))
        .collect();
    profiles.push(common::CONTRACT.to_owned());
    let run = |files: &[String]| {
        Command::new(python())
            .arg("scripts/validate-profile-schema.py")
            .arg(&schema)
            .args(files)
            .current_dir(root())
            .output()
            .unwrap()
    };
    let o = run(&profiles);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: kharden.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {name: Bad_Name}\ncluster: {name: x, platform: azure, kubernetesVersion: \"1.30\"}\nnamespacs: []\n").unwrap();
    let o = run(&[bad.to_string_lossy().into_owned()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success() && out.contains("4 problems"), "{out}");
}

/// Render the contract (`common::CONTRACT`) after `edit`, into a
/// temporary directory; the rendered files by relative path, and stderr.
fn render_contract(edit: impl Fn(String) -> String) -> (tempfile::TempDir, Vec<String>, String) {
    let contract = std::fs::read_to_string(root().join(common::CONTRACT)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("contract.yaml");
    std::fs::write(&profile, edit(contract)).unwrap();
    let out = tmp.path().join("out");
    let o = common::kharden(&[
        "render",
        profile.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = common::stderr(&o);
    assert!(o.status.success(), "{err}");
    let files = common::tree(&out)
        .into_keys()
        .filter(|p| p.ends_with(".yaml") && !p.ends_with("kustomization.yaml"))
        .map(|p| out.join(p).to_str().unwrap().to_owned())
        .collect();
    (tmp, files, err)
}

/// (apiVersion, kind) of each file.
fn kinds(files: &[String]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|f| {
            let v: serde_json::Value =
                serde_saphyr::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            (
                v["apiVersion"].as_str().unwrap_or_default().to_owned(),
                v["kind"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn validate_crs(files: &[String]) {
    let o = Command::new(python())
        .arg("scripts/validate-crs.py")
        .arg(crd_schemas())
        .args(files)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "custom resources fail their schemas:\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// The second must-show: the contract with `mesh.provider: linkerd`
/// renders Linkerd policy objects instead of Istio's, all passing their schemas.
#[test]
fn the_contract_with_linkerd_renders_linkerd_policy_objects() {
    let (_tmp, files, err) = render_contract(|c| {
        assert_eq!(c.matches("provider: istio").count(), 1);
        c.replace("provider: istio", "provider: linkerd")
    });
    let all = kinds(&files);
    let linkerd: Vec<String> = files
        .iter()
        .zip(&all)
        .filter(|(_, (api, _))| api.starts_with("policy.linkerd.io/"))
        .map(|(f, _)| f.clone())
        .collect();
    let found: std::collections::BTreeSet<(String, String)> = all
        .iter()
        .filter(|(api, _)| api.starts_with("policy.linkerd.io/"))
        .cloned()
        .collect();
    for want in [
        ("policy.linkerd.io/v1beta3", "Server"),
        ("policy.linkerd.io/v1beta3", "HTTPRoute"),
        ("policy.linkerd.io/v1alpha1", "AuthorizationPolicy"),
        ("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication"),
        ("policy.linkerd.io/v1alpha1", "EgressNetwork"),
    ] {
        assert!(
            found.contains(&(want.0.to_owned(), want.1.to_owned())),
            "no {want:?} in {found:?}"
        );
    }
    assert!(
        !all.iter().any(
            |(api, _)| api.contains("istio.io") || api.starts_with("gateway.networking.k8s.io")
        ),
        "{all:?}"
    );
    validate_crs(&linkerd);
    // What Linkerd cannot express here is said, not dropped.
    assert!(
        err.contains("Linkerd allows an external host only through a Gateway API TLSRoute"),
        "{err}"
    );
}

/// The contract plus per-service overrides (`namespaces[].mesh.services`): the
/// Istio objects, VirtualServices included, pass their strict schemas.
#[test]
fn the_contract_with_service_overrides_passes_the_istio_schemas() {
    let (_tmp, files, err) = render_contract(|c| {
        let anchor = "      allowedExternalHosts: [api.github.com]\n";
        assert_eq!(c.matches(anchor).count(), 1);
        c.replace(
            anchor,
            &format!("{anchor}      services:\n        - {{name: api, port: 8080, timeout: 2s, retries: {{attempts: 2, perTryTimeout: 500ms}}}}\n        - {{name: api, port: 9090}}\n"),
        )
    });
    let all = kinds(&files);
    let istio: Vec<String> = files
        .iter()
        .zip(&all)
        .filter(|(_, (api, _))| api.contains("istio.io/"))
        .map(|(f, _)| f.clone())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("team-a/virtualservice-service-api.yaml")),
        "{files:?}"
    );
    for kind in [
        "Gateway",
        "VirtualService",
        "DestinationRule",
        "ServiceEntry",
        "Sidecar",
    ] {
        assert!(all.iter().any(|(_, k)| k == kind), "no {kind}");
    }
    validate_crs(&istio);
    assert!(err.contains("applies only to services listed"), "{err}");
    assert!(!err.contains("the profile lists no services"), "{err}");
}
