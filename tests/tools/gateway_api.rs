//! Gateway API objects against the upstream CRDs (standard channel, vendored
//! under tests/data/crds-upstream/gateway-api): the routes and listeners the
//! `verify` scenarios submit must be what the API server would accept, or the
//! admission answers prove nothing; and the validator must really refuse.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::{root, stdout, tools_python};

const CRDS: &str = "tests/data/crds-upstream/gateway-api";

fn validate(files: &[&Path]) -> Output {
    Command::new(tools_python())
        .arg("scripts/validate-upstream-crs.py")
        .arg(CRDS)
        .args(files)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn scenario_gateway_objects_pass_the_upstream_schemas() {
    let dir = root().join("examples/scenarios");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .chain(std::fs::read_dir(dir.join("objects")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let o = validate(&refs);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    let checked: usize = out
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(checked >= 3, "too few Gateway API objects checked: {out}");
}

#[test]
fn the_upstream_validator_really_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, body, why) in [
        (
            "unknown.yaml",
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  hostnames: [a.example.com]\n  bogus: 1\n",
            "bogus",
        ),
        (
            "host.yaml",
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  hostnames: [Shop.Example.com.]\n",
            "does not match",
        ),
        (
            "version.yaml",
            "apiVersion: gateway.networking.k8s.io/v9\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n",
            "no served CRD version",
        ),
    ] {
        let p = tmp.path().join(name);
        std::fs::write(&p, body).unwrap();
        let o = validate(&[&p]);
        assert!(!o.status.success(), "{name} passed: {}", stdout(&o));
        assert!(stdout(&o).contains(why), "{name}: {}", stdout(&o));
    }
}
