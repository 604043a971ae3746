//! The benchmark's input (`examples/bench_gen.rs`, used by `scripts/bench`) is a
//! valid profile that makes every concern do per-namespace work; a benchmark of
//! a profile that fails validation or renders little would measure nothing.

#[path = "../../examples/bench_gen.rs"]
mod generator;

use std::collections::BTreeSet;

use kharden::input::clock::Date;

#[test]
fn generated_profile_renders_every_concern_in_every_namespace() {
    let today = Date {
        year: 2026,
        month: 11,
        day: 26,
    };
    let model = match kharden::load_text(&generator::profile(10), "bench.yaml", today) {
        Ok(m) => m,
        Err(e) => panic!("the generated profile is invalid:\n{e}"),
    };
    assert_eq!(model.profile.namespaces.len(), 10);
    let r = kharden::render(&model).unwrap();
    let paths: BTreeSet<&str> = r.set.iter().map(|m| m.path()).collect();
    for i in 0..10 {
        let ns = generator::ns(i);
        let next = generator::ns((i + 1) % 10);
        let after = generator::ns((i + 2) % 10);
        for want in [
            format!("_cluster/namespace-{ns}.yaml"),
            format!("{ns}/rolebinding-edit-group-devs-{i:05}.yaml"),
            format!("{ns}/serviceaccount-ci-deployer.yaml"),
            format!("{ns}/resourcequota-kharden-default.yaml"),
            format!("{ns}/limitrange-kharden-default.yaml"),
            // Both halves of each flow: this namespace's own, and its peers'.
            format!("{ns}/networkpolicy-allow-ingress-0.yaml"),
            format!("{next}/networkpolicy-allow-egress-to-{ns}-0.yaml"),
            format!("{after}/networkpolicy-allow-ingress-from-{ns}-0.yaml"),
        ] {
            assert!(paths.contains(want.as_str()), "no {want} in {paths:?}");
        }
        // Mesh objects only where a sidecar runs.
        for want in [
            format!("{ns}/authorizationpolicy-allow-rule-0.yaml"),
            format!("{ns}/sidecar-default.yaml"),
        ] {
            assert_eq!(
                paths.contains(want.as_str()),
                !generator::windows(i),
                "{want}"
            );
        }
    }
    for want in [
        "_cluster/clusterrole-kharden-group-platform-team.yaml",
        "control-plane/kubeadm/clusterconfiguration.yaml",
        "logging/daemonset-fluentd.yaml",
        "_cluster/khardenwindowspods-windows-pods.yaml",
    ] {
        assert!(paths.contains(want), "no {want} in {paths:?}");
    }
    // One registry waiver per ten namespaces, each narrowing the rule.
    assert!(
        paths.iter().any(
            |p| p.starts_with("_cluster/khardenallowedregistries-allowed-registries-sec-00000")
        ),
        "{paths:?}"
    );
}
