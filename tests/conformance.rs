//! Third-party validators over the committed `out/`: kubernetes-validate in
//! strict mode for every Kubernetes version kharden claims, and
//! `kubectl kustomize` on each example directory. `scripts/setup-tools`
//! installs the pinned validator; these tests fail (never skip) without it.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{examples, root};

const VERSIONS: &[&str] = &["1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0"];

fn kubernetes_validate() -> PathBuf {
    let dir = std::env::var_os("KHARDEN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/venv/bin"));
    let bin = dir.join("kubernetes-validate");
    assert!(
        bin.is_file(),
        "{} not found: run scripts/setup-tools (the README's test command does)",
        bin.display()
    );
    bin
}

/// Strict JSON Schemas of the custom resources we emit (Istio, Linkerd, Gatekeeper).
fn crd_schemas() -> PathBuf {
    let dir = root().join("../shared/schemas/crds");
    assert!(
        dir.is_dir(),
        "{} missing: the shared folder must sit beside the repository",
        dir.display()
    );
    dir
}

/// Files listed in the example's kustomization (objects to apply), by relative path.
fn object_files(name: &str) -> Vec<String> {
    let k =
        std::fs::read_to_string(root().join("out").join(name).join("kustomization.yaml")).unwrap();
    let k: serde_json::Value = serde_saphyr::from_str(&k).unwrap();
    k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("out/{name}/{}", r.as_str().unwrap()))
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
    kubernetes_validate().with_file_name("python")
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
        for v in VERSIONS {
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
    profiles.push("../shared/profile.example.yaml".to_owned());
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
