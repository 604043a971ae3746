//! The reviewer workflow: `diff`, `explain`, `lint`, `init`, fleets, completions
//! and the man page, through the real binary.

use crate::common;

use std::fs;

use common::{kharden, kharden_in, root, stderr, stdout};

const BEFORE: &str = "tests/fixtures/diff/before.yaml";
const AFTER: &str = "tests/fixtures/diff/after.yaml";

#[test]
fn diff_names_each_widening_change_once() {
    let o = kharden(&["diff", BEFORE, AFTER]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let expected = [
        "widening: group `1d2e3f4a-5555-4666-8777-999900001111` gains `edit` in `team-a`",
        "widening: quota `pods` in `team-a`: 100 → 200",
        "widening: registry `ghcr.io/acme` allowed",
    ];
    for e in expected {
        assert_eq!(
            out.matches(e).count(),
            1,
            "`{e}` not exactly once in:\n{out}"
        );
    }
    assert!(
        out.starts_with("semantic changes: 3 (3 widening)\n"),
        "{out}"
    );
    assert!(
        out.contains("-    pods: \"100\"\n+    pods: \"200\"\n"),
        "{out}"
    );
    assert!(
        out.contains("  added    stages/20-namespaced/team-a/role-edit.yaml\n"),
        "{out}"
    );
}

#[test]
fn diff_reverse_is_narrowing_and_same_is_empty() {
    let o = kharden(&["diff", AFTER, BEFORE]);
    let out = stdout(&o);
    assert!(
        out.starts_with("semantic changes: 3 (0 widening)\n"),
        "{out}"
    );
    // A quota going down narrows; losing a grant narrows; losing a registry narrows.
    assert!(
        out.contains("           quota `pods` in `team-a`: 200 → 100"),
        "{out}"
    );
    assert!(
        out.contains("group `1d2e3f4a-5555-4666-8777-999900001111` loses `edit` in `team-a`"),
        "{out}"
    );
    let o = kharden(&["diff", BEFORE, BEFORE]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "semantic changes: none\nfile changes: none\n");
}

#[test]
fn diff_formats_for_pull_requests_and_machines() {
    let md = stdout(&kharden(&["diff", BEFORE, AFTER, "--format", "markdown"]));
    assert!(
        md.contains("- **widening**: registry `ghcr.io/acme` allowed\n"),
        "{md}"
    );
    assert!(
        // The allowed registries reach the components' own instances too (#29).
        md.contains("<details><summary>7 file(s) changed</summary>"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&kharden(&["diff", BEFORE, AFTER, "--format", "json"]).stdout)
            .unwrap();
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    assert!(changes.iter().all(|c| c["widening"] == true));
    let files: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"stages/20-namespaced/team-a/resourcequota-kharden-default.yaml"),
        "{files:?}"
    );
    assert!(
        files.contains(&"stages/20-namespaced/team-a/role-edit.yaml"),
        "{files:?}"
    );
    // The allowed registry reaches the Gatekeeper constraints' parameters.
    assert!(
        files.iter().any(|f| f.contains("khardenallowedregistries")),
        "{files:?}"
    );
}

#[test]
fn diff_against_a_rendered_directory_shows_file_changes() {
    let o = kharden(&["diff", "examples/prod-east.yaml", "out/prod-east"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = kharden(&["diff", "out/prod-east", AFTER]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("semantic changes: not available"), "{out}");
    assert!(out.contains("+    pods: \"200\""), "{out}");
}

/// Every kind of semantic change, by pairs of inline profiles.
#[test]
fn diff_covers_each_kind_of_change() {
    let head = "apiVersion: kharden.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {name: d}\nextends: [baseline]\ncluster: {name: d, platform: eks, kubernetesVersion: \"1.33\"}\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "namespaces: [{name: a}]",
            "namespaces: [{name: a, podSecurity: baseline}]",
            "widening: Pod Security in `a`: restricted → baseline",
        ),
        (
            "namespaces: [{name: a, network: {egress: [{to: {cidr: 10.0.0.0/8}, ports: [443/TCP]}]}}]",
            "namespaces: [{name: a, network: {egress: [{to: {cidr: 10.0.0.0/8}, ports: [443/TCP]}, {to: {cidr: 10.20.0.0/16}, ports: [5432/TCP]}]}}]",
            "widening: namespace `a` may now reach 10.20.0.0/16:5432/TCP",
        ),
        (
            "namespaces: [{name: a}]",
            "namespaces: [{name: a, network: {defaultDeny: [ingress]}}]",
            "widening: default-deny egress in `a` removed",
        ),
        (
            "mesh: {provider: istio}\nnamespaces: [{name: a}]",
            "mesh: {provider: istio}\nnamespaces: [{name: a, mesh: {mtls: permissive}}]",
            "widening: mTLS for `a`: STRICT → PERMISSIVE",
        ),
        (
            "namespaces: [{name: a}]\npolicy: {engine: gatekeeper, allowedRegistries: [registry.example.com]}",
            "namespaces: [{name: a}]\npolicy: {engine: gatekeeper, allowedRegistries: [registry.example.com]}\nexceptions: [{rule: allowedRegistries, namespaces: [a], allow: [docker.io/library/nginx], owner: a@example.com, ticket: SEC-1234, expires: 2030-06-30}]",
            "widening: exception SEC-1234 added: `allowedRegistries` in a allows docker.io/library/nginx, owner a@example.com, expires 2030-06-30",
        ),
        // #29 item 6: turning off a rule for namespaces outside the profile widens.
        (
            "namespaces: [{name: a}]\npolicy: {engine: gatekeeper}",
            "namespaces: [{name: a}]\npolicy: {engine: gatekeeper, noNodePorts: false}",
            "widening: policy rule `noNodePorts` off",
        ),
        (
            "namespaces: [{name: a}]\npolicy: {engine: gatekeeper}",
            "namespaces: [{name: a}]\npolicy: {engine: gatekeeper, requiredLimits: []}",
            "widening: policy rule `requiredLimits` off",
        ),
        (
            "apiServer: {authorizedNetworks: []}",
            "apiServer: {authorizedNetworks: [203.0.113.0/24]}",
            "widening: network 203.0.113.0/24 may now reach the API server",
        ),
        (
            "namespaces: [{name: a, quota: {pods: 10}}]",
            "namespaces: [{name: a, quota: {pods: 5}}]",
            "           quota `pods` in `a`: 10 → 5",
        ),
        (
            "namespaces: [{name: a, serviceAccounts: [{name: s}]}]",
            "namespaces: [{name: a, serviceAccounts: [{name: s, automountToken: true}]}]",
            "widening: service account `s` in `a` now mounts its API token",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (i, (a, b, want)) in cases.iter().enumerate() {
        fs::write(tmp.path().join("a.yaml"), format!("{head}{a}\n")).unwrap();
        fs::write(tmp.path().join("b.yaml"), format!("{head}{b}\n")).unwrap();
        let o = kharden_in(tmp.path(), &["diff", "a.yaml", "b.yaml"]);
        assert_eq!(o.status.code(), Some(1), "case {i}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains(want),
            "case {i}: `{want}` missing from:\n{out}"
        );
    }
}

#[test]
fn explain_names_the_layer_that_set_a_value() {
    let o = kharden(&[
        "explain",
        "examples/prod-east.yaml",
        "namespaces.team-a.quota.pods",
    ]);
    assert_eq!(
        stdout(&o),
        "namespaces[0].quota.pods = 100\n  set by examples/prod-east.yaml:104:13\n"
    );
    let o = kharden(&[
        "explain",
        "examples/small.yaml",
        "namespaces.shop.quota.requests.cpu",
    ]);
    assert_eq!(
        stdout(&o),
        "namespaces[0].quota[\"requests.cpu\"] = 4\n  not set for namespace `shop`; inherited from `defaults.quota[\"requests.cpu\"]`, set by profiles/baseline.yaml (built-in):10:19\n"
    );
    let o = kharden(&["explain", "examples/small.yaml", "namespaces.nope.quota"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: `namespaces` has no entry named `nope` (entries: shop)\n"
    );
    let o = kharden(&["explain", "examples/small.yaml", "cluster.ingressDomain"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: `cluster.ingressDomain` is not set, and has no default\n"
    );
    let o = kharden(&["explain", "examples/small.yaml", "namespaces[x"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "error: unclosed `[` in `namespaces[x`\n");
}

#[test]
fn explain_summarises_the_cluster() {
    let out = stdout(&kharden(&["explain", "examples/prod-east.yaml"]));
    assert!(
        out.starts_with("cluster prod-east (kubeadm, Kubernetes 1.33)\nnamespace team-a:\n"),
        "{out}"
    );
    for line in [
        "  - group `5e6f7a8b-1234-4567-89ab-cdef01234567` has `view`\n",
        "  - may reach 10.20.0.0/16 except 10.20.5.0/24:5432/TCP\n",
        "  - accepts pods app=frontend in namespace `team-b` on 8080/TCP\n",
        "  - external host api.github.com\n",
        "  - quota pods = 100\n",
        "  - allowed registry artifactory.cloud.statcan.ca\n",
    ] {
        assert!(out.contains(line), "`{line}` missing from:\n{out}");
    }
}

#[test]
fn lint_flags_each_rule_with_its_id() {
    let dir = root().join("tests/fixtures/lint");
    let mut ids = Vec::new();
    for e in fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".yaml") else {
            continue;
        };
        ids.push(id.to_owned());
        let o = kharden_in(&dir, &["lint", &name]);
        let err = stderr(&o);
        assert!(
            err.contains(&format!("[{id}]: ")),
            "{name} does not trigger {id}:\n{err}"
        );
    }
    ids.sort();
    let all: Vec<&str> = kharden::pipeline::lint::RULES
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, all, "one fixture per lint rule");
}

#[test]
fn lint_dns_off_is_a_warning_that_can_fail_ci() {
    let dir = root().join("tests/fixtures/lint");
    let o = kharden_in(&dir, &["lint", "KH001.yaml"]);
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(err.starts_with("warning[KH001]: egress is denied by default but DNS is not allowed, in a\n  --> KH001.yaml:12:15\n"), "{err}");
    // KH017 too: the fixture has no `policy` section (#29 item 6).
    assert!(err.ends_with("lint: 0 error(s), 2 warning(s)\n"), "{err}");
    let o = kharden_in(&dir, &["lint", "KH001.yaml", "--deny-warnings"]);
    assert_eq!(o.status.code(), Some(1));
}

/// Issue #29 item 6: lint says what namespaces outside the profile are left
/// open to, at the field that opens them.
#[test]
fn lint_names_what_namespaces_outside_the_profile_are_open_to() {
    let dir = root().join("tests/fixtures/lint");
    let o = kharden_in(&dir, &["lint", "KH017.yaml"]);
    let err = stderr(&o);
    assert!(err.starts_with("warning[KH017]: NodePort Services are admitted in namespaces outside the profile (`default`, any created later): no quota closes them there\n  --> KH017.yaml:15:16\n"), "{err}");
    assert!(err.contains("warning[KH017]: containers without limits run in namespaces outside the profile (`default`, any created later): no LimitRange gives them any there\n  --> KH017.yaml:16:19\n"), "{err}");
    assert!(err.ends_with("lint: 0 error(s), 2 warning(s)\n"), "{err}");
    let o = kharden_in(&dir, &["lint", "KH001.yaml"]);
    assert!(stderr(&o).contains("warning[KH017]: namespaces outside the profile (`default`, any created later) get no quota and no LimitRange, and without a `policy` section nothing refuses NodePort Services or containers without limits there\n  --> KH001.yaml:14:3\n"), "{}", stderr(&o));
    // The shipped policy examples keep both rules on and load balancers internal.
    let o = kharden(&["lint", "examples/native-policy.yaml"]);
    assert!(!stderr(&o).contains("KH017"), "{}", stderr(&o));
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(dir.join("KH017.yaml")).unwrap();
    let lb = text.replace(
        "  internalLoadBalancers: true\n  noNodePorts: false\n  requiredLimits: []\n",
        "",
    );
    fs::write(tmp.path().join("lb.yaml"), lb).unwrap();
    let o = kharden_in(tmp.path(), &["lint", "lb.yaml"]);
    assert!(stderr(&o).starts_with("warning[KH017]: LoadBalancer Services are admitted in namespaces outside the profile (`default`, any created later), and each opens node ports too\n"), "{}", stderr(&o));
}

#[test]
fn error_level_lint_rules_stop_render() {
    let dir = root().join("tests/fixtures/lint");
    let tmp = tempfile::tempdir().unwrap();
    let o = kharden_in(
        &dir,
        &[
            "render",
            "KH009.yaml",
            "-o",
            tmp.path().join("o").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(
            "error[KH009]: `0.0.0.0/0` lets the whole internet reach the public API endpoint\n"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.path().join("o").exists());
}

#[test]
fn lint_docs_are_current() {
    let o = kharden(&["lint", "--explain", "KH001"]);
    assert!(
        stdout(&o).starts_with("KH001 egress-deny-without-dns\n\nA namespace that denies egress"),
        "{}",
        stdout(&o)
    );
    let doc = fs::read_to_string(root().join("docs/lint.md")).unwrap_or_default();
    if std::env::var_os("KHARDEN_BLESS").is_some() {
        fs::write(root().join("docs/lint.md"), kharden::pipeline::lint::docs()).unwrap();
    } else {
        assert_eq!(
            doc,
            kharden::pipeline::lint::docs(),
            "docs/lint.md is stale; rerun with `KHARDEN_BLESS=1 cargo test --test hermetic lint_docs_are_current`"
        );
    }
}

#[test]
fn init_writes_a_profile_that_renders() {
    let tmp = tempfile::tempdir().unwrap();
    for platform in ["eks", "aks", "gke", "kubeadm"] {
        let file = format!("{platform}.yaml");
        let o = kharden_in(
            tmp.path(),
            &[
                "init",
                "--platform",
                platform,
                "--name",
                &format!("c-{platform}"),
                "-o",
                &file,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let o = kharden_in(
            tmp.path(),
            &["render", &file, "-o", &format!("out-{platform}")],
        );
        assert!(o.status.success(), "{platform}: {}", stderr(&o));
        // Never overwrites.
        let o = kharden_in(tmp.path(), &["init", "--platform", platform, "-o", &file]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).starts_with(&format!("error: cannot create `{file}`: "))
                && stderr(&o).ends_with(" (kharden init never overwrites)\n"),
            "{}",
            stderr(&o)
        );
    }
    // `--platform` (init and import) takes the platforms kharden knows, from
    // its platform list, and nothing else; nothing is written.
    for cmd in [
        &["init", "-o", "x.yaml"][..],
        &["import", "none.yaml", "-o", "x.yaml"],
    ] {
        let o = kharden_in(tmp.path(), &[cmd, &["--platform", "openshift"]].concat());
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).starts_with(
                "error: invalid value 'openshift' for '--platform <PLATFORM>'\n  [possible values: kubeadm, aks, eks, gke]\n"
            ),
            "{}",
            stderr(&o)
        );
        assert!(!tmp.path().join("x.yaml").exists());
    }
    // A directory with no profile in it is no fleet.
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let o = kharden_in(tmp.path(), &["render", "empty", "-o", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: `empty` holds no profile (`kind: ClusterProfile`)\n"
    );
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn a_fleet_renders_each_profile_into_its_own_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let o = kharden(&[
        "render",
        "examples/prod-east.yaml",
        "examples/small.yaml",
        "-o",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        common::tree(&tmp.path().join("prod-east")),
        common::tree(&root().join("out/prod-east"))
    );
    assert_eq!(
        common::tree(&tmp.path().join("small")),
        common::tree(&root().join("out/small"))
    );
    // A directory of profiles works the same; duplicate names are refused before writing.
    let fleet = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("examples/small.yaml"),
        fleet.path().join("one.yaml"),
    )
    .unwrap();
    fs::copy(
        root().join("examples/small.yaml"),
        fleet.path().join("two.yaml"),
    )
    .unwrap();
    let o = kharden_in(fleet.path(), &["render", ".", "-o", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("are both named `small`"),
        "{}",
        stderr(&o)
    );
    assert!(!fleet.path().join("out").exists());
}

#[test]
fn completions_and_man_page_come_from_the_cli() {
    let o = kharden(&["completions", "bash"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("kharden") && stdout(&o).contains("render"));
    let o = kharden(&["man"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).starts_with(".ie \\n(.g .ds Aq \\(aq") || stdout(&o).contains(".TH kharden"),
        "{}",
        stdout(&o)
    );
}
