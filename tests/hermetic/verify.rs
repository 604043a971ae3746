//! Issue 8: `kharden verify` on the shipped scenarios, deliberately wrong
//! expectations, a profile change that breaks the right flow, invalid scenario
//! files; `kharden report` (self-contained, escaped, deterministic) and
//! `kharden explain --format mermaid`.

use crate::common;

use std::fs;

use common::{kharden, root, stderr, stdout};

/// Every `examples/scenarios/<name>.yaml` runs against `examples/<name>.yaml`.
#[test]
fn shipped_scenarios_pass() {
    let mut n = 0;
    for e in fs::read_dir(root().join("examples/scenarios")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        let profile = format!("examples/{name}.yaml");
        let scenario = format!("examples/scenarios/{name}.yaml");
        let o = kharden(&["verify", &profile, &scenario]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{scenario}:\n{out}{}", stderr(&o));
        assert!(!out.contains("MISMATCH"), "{out}");
        let last = out.lines().last().unwrap();
        assert!(last.ends_with(" passed, 0 failed"), "{last}");
        n += 1;
    }
    assert!(n >= 2, "expected scenarios for prod-east and native-policy");
}

#[test]
fn the_contract_scenario_has_20_expectations_of_every_kind() {
    let o = kharden(&[
        "verify",
        "examples/prod-east.yaml",
        "examples/scenarios/prod-east.yaml",
    ]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("ok ")).collect();
    assert!(lines.len() >= 20, "{out}");
    for (kind, got) in [
        ("flows[", "allowed"),
        ("flows[", "denied"),
        ("admission[", "allowed"),
        ("admission[", "denied"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(kind) && l.contains(&format!(": {got} ("))),
            "no {kind} {got} in\n{out}"
        );
    }
    // Each layer decides at least one expectation, and says so.
    for by in [
        "NetworkPolicy team-a/allow-from-ingress-controller",
        "mesh: AuthorizationPolicy team-a/allow-same-namespace",
        "mesh: denied by PeerAuthentication istio-system/default",
        "denied by KhardenAllowedRegistries/allowed-registries",
        "denied by LimitRange/kharden-default: maximum cpu usage per Container is 4",
        "denied by ResourceQuota/kharden-default: exceeded quota: services.loadbalancers",
        "mutated: Assign/windows-node-selector",
    ] {
        assert!(out.contains(by), "no `{by}` in\n{out}");
    }
    assert_eq!(out.lines().last(), Some("43 passed, 0 failed"));
}

/// Issue #29 item 6: on both engines, `default` (outside the profile, no quota,
/// no LimitRange) refuses a NodePort Service and the very pod team-a admits
/// with its LimitRange defaults; an exempt namespace takes the NodePort.
#[test]
fn namespaces_outside_the_profile_are_protected_end_to_end() {
    for (name, by_limits, by_nodeports) in [
        (
            "prod-east",
            "denied by KhardenRequiredLimits/required-limits: container app has no limits for cpu, memory; namespace default has no LimitRange to give them",
            "denied by KhardenNoNodePorts/no-node-ports: Services of type NodePort are refused in namespace default",
        ),
        (
            "native-policy",
            "denied by ValidatingAdmissionPolicy/kharden-required-limits: containers without limits for cpu, memory: app; namespace default has no LimitRange to give them",
            "denied by ValidatingAdmissionPolicy/kharden-no-node-ports: Services of type NodePort are refused in namespace default",
        ),
    ] {
        let o = kharden(&[
            "verify",
            &format!("examples/{name}.yaml"),
            &format!("examples/scenarios/{name}.yaml"),
        ]);
        let out = stdout(&o);
        let line = |what: &str| {
            out.lines()
                .find(|l| l.contains(what))
                .unwrap_or_else(|| panic!("no `{what}` in\n{out}"))
                .to_owned()
        };
        let team_a = line("admission Pod team-a/from-artifactory:");
        assert!(
            team_a.starts_with("ok ")
                && team_a.contains(": allowed (")
                && team_a.contains("LimitRange/kharden-default set limits.cpu of `app` to 500m"),
            "{name}: {team_a}"
        );
        let default = line("admission Pod default/from-artifactory:");
        assert!(
            default.starts_with("ok ") && default.contains(by_limits),
            "{name}: {default}"
        );
        let np = line("admission Service default/node-port:");
        assert!(
            np.starts_with("ok ") && np.contains(by_nodeports),
            "{name}: {np}"
        );
        for ok in [
            "admission Pod default/limited: allowed (no admission rule refused it)",
            "admission Service default/cluster-ip: allowed (no admission rule refused it)",
            "admission Service kube-system/exempt-node-port: allowed (no admission rule refused it)",
        ] {
            assert!(line(ok).starts_with("ok "), "{name}: {ok}");
        }
    }
}

/// The same workloads with every expectation flipped: each line is a MISMATCH
/// naming what decided, and the exit code is 1.
#[test]
fn wrong_expectations_are_mismatches() {
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(root().join("examples/scenarios/prod-east.yaml")).unwrap();
    let flipped = text
        .replace("expect: allow", "expect: TMP")
        .replace("expect: deny", "expect: allow")
        .replace("expect: TMP", "expect: deny");
    fs::create_dir_all(tmp.path().join("objects")).unwrap();
    for f in ["pod-from-dockerhub.yaml", "pod-from-artifactory.yaml"] {
        fs::copy(
            root().join("examples/scenarios/objects").join(f),
            tmp.path().join("objects").join(f),
        )
        .unwrap();
    }
    let scenario = tmp.path().join("flipped.yaml");
    fs::write(&scenario, flipped).unwrap();
    let o = kharden(&[
        "verify",
        "examples/prod-east.yaml",
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().last(), Some("0 passed, 43 failed"));
    assert!(out.contains(
        "MISMATCH flows[0] flow team-b/frontend -> team-a/api 8080/TCP: expected allow, but denied (mesh: denied by PeerAuthentication istio-system/default (STRICT mTLS refuses plaintext from outside the mesh))"
    ), "{out}");
    assert!(out.contains(
        "MISMATCH admission[0] admission Pod team-a/from-dockerhub: expected allow, but denied (denied by KhardenAllowedRegistries/allowed-registries: image nginx:1.27 (docker.io/library/nginx:1.27) is not from an allowed registry; allowed: artifactory.cloud.statcan.ca/*, docker.io/istio/proxyv2)"
    ), "{out}");
}

/// Issue #29: Pod Security is part of admission. In `restricted` team-a a
/// privileged pod is refused with PSA's own message (main admitted it), the
/// compliant pod is admitted, and a Deployment that breaks `restricted` is
/// admitted with PSA's warning while verify says its pods would be refused.
/// In `logging` (enforce privileged, warn restricted) the same privileged pod
/// is admitted with a warning; a namespace the bundle does not render is
/// `privileged` (the API server's default) and gets nothing.
#[test]
fn pod_security_enforces_on_pods_and_warns_on_workloads_29() {
    let o = kharden(&[
        "verify",
        "examples/prod-east.yaml",
        "examples/scenarios/prod-east.yaml",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let line = |at: &str| -> Vec<&str> {
        let mut lines = out.lines().skip_while(|l| !l.contains(&format!(" {at} ")));
        let first = lines.next().unwrap_or_else(|| panic!("no {at} in\n{out}"));
        std::iter::once(first)
            .chain(lines.take_while(|l| l.starts_with("  ")))
            .collect()
    };
    assert_eq!(
        line("admission[7]"),
        [
            "ok admission[7] admission Pod team-a/privileged: denied (denied by Namespace/team-a: violates PodSecurity \"restricted:v1.33\": privileged (container \"app\" must not set securityContext.privileged=true))"
        ]
    );
    assert!(line("admission[1]")[0].starts_with("ok admission[1] admission Pod team-a/from-artifactory: allowed (no admission rule refused it;"));
    assert_eq!(line("admission[1]").len(), 1, "{out}");
    let restricted = "allowPrivilegeEscalation != false (container \"api\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"api\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"api\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"api\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")";
    let deployment = line("admission[8]");
    assert!(deployment[0].starts_with("ok admission[8] admission Deployment team-a/root-api: allowed (no admission rule refused it;"), "{out}");
    assert_eq!(
        deployment[1..],
        [
            format!("  warning: would violate PodSecurity \"restricted:v1.33\": {restricted}"),
            format!(
                "  note: its pods would be denied: violates PodSecurity \"restricted:v1.33\": {restricted}"
            ),
        ]
    );
    // The Windows mutators set spec.os.name before PSA looks, which exempts
    // the Linux-only fields: team-b's nginx needs only runAsNonRoot.
    assert!(
        line("admission[2]")[0].contains("team-b/nginx: allowed"),
        "{out}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("psa.yaml");
    let pod = |ns: &str, extra: &str| {
        format!(
            "  - namespace: {ns}\n    expect: allow\n    object:\n      apiVersion: v1\n      kind: Pod\n      metadata: {{name: p, annotations: {{contact: ops@example.ca}}}}\n      spec:\n        {extra}containers: [{{name: c, image: artifactory.cloud.statcan.ca/x:1, resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}, securityContext: {{privileged: true}}}}]\n"
        )
    };
    fs::write(
        &scenario,
        format!(
            "admission:\n{}{}",
            pod("logging", ""),
            pod("scratch", "hostNetwork: true\n        ")
        ),
    )
    .unwrap();
    let o = kharden(&[
        "verify",
        "examples/prod-east.yaml",
        scenario.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert_eq!(
        out,
        "ok admission[0] admission Pod logging/p: allowed (no admission rule refused it)\n  \
         warning: would violate PodSecurity \"restricted:v1.33\": privileged (container \"c\" must not set securityContext.privileged=true), \
         allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), \
         runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true), \
         seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")\n\
         ok admission[1] admission Pod scratch/p: allowed (no admission rule refused it)\n\
         2 passed, 0 failed\n"
    );
}

/// Must show: one NetworkPolicy-relevant change in the profile (team-a's
/// egress to the database block on 5433 instead of 5432) fails exactly the
/// flows that depend on it, naming the policies that now decide them.
#[test]
fn a_profile_change_breaks_the_right_flow() {
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(root().join("examples/prod-east.yaml")).unwrap();
    assert_eq!(text.matches("ports: [5432/TCP]").count(), 1);
    let changed = text.replace("ports: [5432/TCP]", "ports: [5433/TCP]");
    let profile = tmp.path().join("prod-east.yaml");
    fs::write(&profile, changed).unwrap();
    let scenario = root().join("examples/scenarios/prod-east.yaml");
    let o = kharden(&[
        "verify",
        profile.to_str().unwrap(),
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let mismatches: Vec<&str> = out.lines().filter(|l| l.starts_with("MISMATCH")).collect();
    assert_eq!(mismatches.len(), 2, "{out}");
    assert!(mismatches[0].starts_with(
        "MISMATCH flows[9] flow team-a/api -> 10.20.1.5 5432/TCP: expected allow, but denied (egress: denied, selected by NetworkPolicy team-a/allow-dns, team-a/allow-egress-0, team-a/allow-istio-control-plane, team-a/allow-istio-egressgateway, team-a/allow-same-namespace, team-a/default-deny and none allows it)"
    ), "{out}");
    assert!(mismatches[1].starts_with(
        "MISMATCH flows[11] flow team-a/api -> 10.20.1.5 5433/TCP: expected deny, but allowed (egress: NetworkPolicy team-a/allow-egress-0"
    ), "{out}");
    assert_eq!(out.lines().last(), Some("41 passed, 2 failed"));
}

fn invalid(scenario: &str) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bad.yaml");
    fs::write(&p, scenario).unwrap();
    let o = common::kharden_in(
        tmp.path(),
        &[
            "verify",
            root().join("examples/prod-east.yaml").to_str().unwrap(),
            "bad.yaml",
        ],
    );
    assert!(stdout(&o).is_empty());
    (o.status.code(), stderr(&o))
}

#[test]
fn invalid_scenarios_exit_2_with_file_line_col() {
    let (code, err) = invalid(
        "workloads:\n  - {namespace: team-a, name: api}\nflows:\n  - {from: team-a/apj, to: 8.8.8.8, port: 443/TCP, expect: deny}\n  - {from: team-a/api, to: 8.8.8.8, port: 99999/TCP, expect: deny}\n",
    );
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        "error: `team-a/apj` is neither a declared workload nor an IP address\n --> bad.yaml:4:12\n  |\n4 |   - {from: team-a/apj, to: 8.8.8.8, port: 443/TCP, expect: deny}\n  |            ^^^^^^^^^^\n  = field: flows[0].from\n  = hint: did you mean `team-a/api`?\nerror: `99999/TCP`: 99999 is outside 1-65535\n --> bad.yaml:5:43\n  |\n5 |   - {from: team-a/api, to: 8.8.8.8, port: 99999/TCP, expect: deny}\n  |                                           ^^^^^^^^^\n  = field: flows[1].port\n  = hint: write a number and protocol, e.g. `8080/TCP`\nerror: the scenario has 2 problems; nothing was verified\n"
    );
    let (code, err) = invalid("flows:\n  - {from: a/b, to: c/d, port: 80/TCP, expectt: deny}\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.yaml:2:"), "{err}");
    assert!(err.contains("expectt"), "{err}");
    let (code, err) = invalid(
        "admission:\n  - {object: missing.yaml, namespace: team-a, expect: deny}\n  - {object: {kind: Pod}, namespace: team-a, expect: maybe}\n",
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.yaml:3:"), "{err}");
    let (code, err) = invalid(
        "admission:\n  - {object: {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}, namespace: team-a, user: \" \", groups: [\"\"], expect: allow}\n",
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("error: the user id is empty\n --> bad.yaml:2:"),
        "{err}"
    );
    assert!(err.contains("= field: admission[0].user"), "{err}");
    assert!(err.contains("= field: admission[0].groups[0]"), "{err}");
}

/// Issue #31 item 4: scenarios name the requester; the department label is
/// refused without the creator's department on Gatekeeper, set by the
/// MutatingAdmissionPolicy on the native engine at 1.36, and another
/// department's value is refused on both; a non-member is not concerned.
#[test]
fn department_labels_follow_the_requesters_groups_31() {
    let run = |name: &str| {
        let o = kharden(&[
            "verify",
            &format!("examples/{name}.yaml"),
            &format!("examples/scenarios/{name}.yaml"),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        stdout(&o)
    };
    let line = |out: &str, at: &str| -> String {
        out.lines()
            .find(|l| l.starts_with(&format!("ok {at} ")))
            .unwrap_or_else(|| panic!("no {at} in\n{out}"))
            .to_owned()
    };
    let gk = run("prod-east");
    let finance =
        "as 0c1d2e3f-aaaa-4bbb-8ccc-ddddeeeeffff (groups 6f7a8b9c-2345-4678-9abc-def012345678)";
    for (at, verdict) in [
        (
            "admission[19]",
            "denied (denied by KhardenDepartmentLabel/department-label: a Deployment created by a member of department finance must carry the label example.ca/department: finance; it has none)",
        ),
        ("admission[20]", "allowed (no admission rule refused it"),
        (
            "admission[21]",
            "denied (denied by KhardenDepartmentLabel/department-label: a Deployment created by a member of department finance must carry the label example.ca/department: finance; it has example.ca/department: platform)",
        ),
    ] {
        let l = line(&gk, at);
        assert!(
            l.contains(&format!("team-b/ledger {finance}: {verdict}")),
            "{l}"
        );
    }
    let l = line(&gk, "admission[22]");
    assert!(
        l.contains("(groups 5e6f7a8b-1234-4567-89ab-cdef01234567): allowed"),
        "{l}"
    );
    let native = run("native-policy-136");
    let l = line(&native, "admission[0]");
    assert!(
        l.contains("as alice@example.ca (groups finance-team): allowed (no admission rule refused it; mutated: MutatingAdmissionPolicy/kharden-department-label"),
        "{l}"
    );
    let l = line(&native, "admission[1]");
    assert!(l.contains("denied (denied by ValidatingAdmissionPolicy/kharden-department-label: a Deployment created by a member of department finance must carry the label example.ca/department: finance; it has example.ca/department: sales)"), "{l}");
    let l = line(&native, "admission[2]");
    assert!(l.contains("(groups sales-team): allowed"), "{l}");
    assert!(!l.contains("kharden-department-label"), "{l}");
    // Without the groups, the same object is a non-member's and passes.
    let tmp = tempfile::tempdir().unwrap();
    let scenario = fs::read_to_string(root().join("examples/scenarios/native-policy-136.yaml"))
        .unwrap()
        .replace("groups: [finance-team]", "groups: []");
    fs::write(tmp.path().join("s.yaml"), scenario).unwrap();
    let o = common::kharden_in(
        tmp.path(),
        &[
            "verify",
            root()
                .join("examples/native-policy-136.yaml")
                .to_str()
                .unwrap(),
            "s.yaml",
        ],
    );
    let out = stdout(&o);
    assert!(out.contains("MISMATCH admission[1]"), "{out}");
    assert!(!out.contains("kharden-department-label"), "{out}");
}

#[test]
fn scenario_schema_is_printed() {
    let o = kharden(&["schema", "--scenario"]);
    assert_eq!(o.status.code(), Some(0));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["title"], "kharden verify scenario");
    assert_eq!(s["additionalProperties"], false);
    for f in ["workloads", "flows", "admission"] {
        assert!(s["properties"][f].is_object(), "{f}");
    }
    assert!(s["$defs"]["FlowExpectation"]["properties"]["method"]["description"].is_string());
}

fn report(profile: &str) -> String {
    let o = kharden(&["report", profile, "-o", "-"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn report_is_self_contained_and_deterministic() {
    let html = report("examples/prod-east.yaml");
    assert_eq!(html, report("examples/prod-east.yaml"));
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<script",
        "<link",
        "src=",
        "@import",
        "url(http",
        "href=\"http",
        "<iframe",
    ] {
        assert!(!lower.contains(banned), "`{banned}` in the report");
    }
    for id in [
        "id=\"role-matrix\"",
        "id=\"flow-graph\"",
        "id=\"flow-table\"",
        "id=\"quota-table\"",
        "id=\"mesh-table\"",
        "id=\"admission-table\"",
        "id=\"exceptions\"",
        "id=\"apiserver-table\"",
    ] {
        assert!(html.contains(id), "no {id}");
    }
    // The matrix, the graph and the CIS ids carry the contract's facts.
    assert!(html.contains("<td>ServiceAccount team-a/ci-deployer</td>"));
    assert!(html.contains("Role app-deployer"));
    assert!(html.contains("<td>team-b</td><td>team-a</td><td>8080/TCP</td>"));
    assert!(html.contains("10.20.0.0/16 except 10.20.5.0/24"));
    assert!(html.contains("CIS 1.2.15"));
    assert!(html.contains("SEC-1234"));
}

/// Issue #29 item 6: the report says how each namespace is covered: profile
/// namespaces by quota and LimitRange, the others by admission only, exempt
/// ones not at all; and without a `policy` section, nothing outside the profile.
#[test]
fn report_says_how_each_namespace_is_covered() {
    let html = report("examples/prod-east.yaml");
    let table = &html[html.find("<table id=\"coverage-table\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    for row in [
        "<tr><td>team-a</td><td>profile</td><td>refused by quota (services.nodeports: 0) and admission (noNodePorts)</td><td>the LimitRange gives default limits (cpu, memory)</td></tr>",
        "<tr><td>kube-system</td><td>exempt</td><td>admitted (exempt from admission)</td><td>admitted without limits (exempt from admission)</td></tr>",
        "<tr><td>every other namespace (default, and any created later)</td><td>outside the profile</td><td>refused by admission (noNodePorts)</td><td>refused by admission (requiredLimits: cpu, memory)</td></tr>",
    ] {
        assert!(table.contains(row), "no {row} in\n{table}");
    }
    let html = report("examples/small.yaml");
    assert!(html.contains("<tr><td>every other namespace (default, and any created later)</td><td>outside the profile</td><td>admitted (no quota, no noNodePorts rule)</td><td>admitted without limits (no LimitRange, no requiredLimits rule)</td></tr>"), "{html}");
}

#[test]
fn report_highlights_expiring_exceptions_and_escapes_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let hostile = "<script>alert('x')</script>&\"";
    let text = fs::read_to_string(root().join("examples/prod-east.yaml"))
        .unwrap()
        .replace("expires: 2030-06-30", "expires: 2026-12-10")
        .replace(
            "  - group: 6f7a8b9c-2345-4678-9abc-def012345678\n",
            &format!("  - group: {hostile:?}\n"),
        );
    assert!(text.contains("<script>"));
    let p = tmp.path().join("prod-east.yaml");
    fs::write(&p, text).unwrap();
    let html = report(p.to_str().unwrap());
    assert!(!html.contains("<script"), "unescaped user string");
    assert!(html.contains("Group &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
    assert!(
        html.contains("<tr class=\"soon\">"),
        "expiring exception not highlighted"
    );
    assert!(html.contains("expires in 14 days"));
}

#[test]
fn explain_draws_the_flow_graph_in_mermaid() {
    let o = kharden(&["explain", "examples/prod-east.yaml", "--format", "mermaid"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("```mermaid\nflowchart LR\n"), "{out}");
    assert!(out.ends_with("```\n"));
    let id = |name: &str| {
        out.lines()
            .find_map(|l| {
                l.trim()
                    .strip_suffix(&format!("[\"{name}\"]"))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no node {name} in {out}"))
    };
    let (b, a) = (id("team-b"), id("team-a"));
    assert!(
        out.contains(&format!("  {b} -->|\"8080/TCP\"| {a}\n")),
        "{out}"
    );
}

/// `examples/<name>.yaml` with `policy.enforcement` set to `enforcement`
/// (a flow mapping), written to `dir`; returns its path.
fn with_enforcement(dir: &std::path::Path, name: &str, enforcement: &str) -> String {
    let text = fs::read_to_string(root().join(format!("examples/{name}.yaml"))).unwrap();
    let text = text.replacen(
        "\npolicy:\n",
        &format!("\npolicy:\n  enforcement: {enforcement}\n"),
        1,
    );
    let p = dir.join(format!("{name}.yaml"));
    fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

/// Issue #31 item 2: on both engines, `verify` admits what a rule in `warn` or
/// `audit` mode would refuse and says "would deny, not enforced"; the rule in
/// `deny` still refuses; a namespace's own mode wins over its rule's.
#[test]
fn verify_says_would_deny_not_enforced_31() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("rollout.yaml");
    let pod = fs::read_to_string(root().join("examples/scenarios/objects/pod-from-dockerhub.yaml"))
        .unwrap()
        .replace(
            "      securityContext:\n",
            "      resources: {limits: {cpu: 500m, memory: 512Mi}}\n      securityContext:\n",
        );
    assert!(pod.contains("limits"));
    let unannotated = pod.replace("  annotations: {contact: team-a@example.ca}\n", "");
    assert_ne!(pod, unannotated);
    fs::write(tmp.path().join("pod.yaml"), pod).unwrap();
    fs::write(tmp.path().join("unannotated.yaml"), unannotated).unwrap();
    // `default` follows the rule (warn); team-a has its own mode (deny);
    // requiredAnnotations still denies, and the registries' warning is noted.
    fs::write(
        &scenario,
        "admission:\n  - {object: pod.yaml, namespace: default, expect: allow}\n  - {object: pod.yaml, namespace: team-a, expect: deny}\n  - {object: unannotated.yaml, namespace: default, expect: deny}\n",
    )
    .unwrap();
    for (name, warned, denied) in [
        (
            "prod-east",
            "would deny, not enforced: KhardenAllowedRegistries/allowed-registries: image nginx:1.27 (docker.io/library/nginx:1.27) is not from an allowed registry",
            "denied by KhardenAllowedRegistries/allowed-registries-deny: image nginx:1.27",
        ),
        (
            "native-policy",
            "would deny, not enforced: ValidatingAdmissionPolicy/kharden-allowed-registries: ",
            "denied by ValidatingAdmissionPolicy/kharden-allowed-registries-deny",
        ),
    ] {
        let profile = with_enforcement(
            tmp.path(),
            name,
            "{rules: {allowedRegistries: warn}, namespaces: {team-a: deny}}",
        );
        let o = kharden(&["verify", &profile, scenario.to_str().unwrap()]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{name}:\n{out}{}", stderr(&o));
        let line = |at: &str| {
            out.lines()
                .find(|l| l.contains(at))
                .unwrap_or_else(|| panic!("no {at} in\n{out}"))
                .to_owned()
        };
        let a = line("admission[0]");
        assert!(
            a.contains(": allowed (") && a.contains(warned),
            "{name}: {a}"
        );
        let b = line("admission[1]");
        assert!(
            b.contains(": denied (") && b.contains(denied),
            "{name}: {b}"
        );
        let c = &out[out.find("admission[2]").unwrap()..];
        assert!(
            c.contains(": denied (denied by ") && c.contains(&format!("also {warned}")),
            "{name}: {c}"
        );
    }
}

/// Issue #31 item 2: the report lists what is not yet enforced, read from
/// the rendering: each rule object that only warns or audits, and each
/// namespace whose Pod Security `enforce` is held back.
#[test]
fn report_shows_what_is_not_yet_enforced_31() {
    let tmp = tempfile::tempdir().unwrap();
    let table = |html: &str| {
        let t = &html[html.find("<table id=\"not-enforced-table\">").unwrap()..];
        t[..t.find("</table>").unwrap()].to_owned()
    };
    let profile = with_enforcement(
        tmp.path(),
        "prod-east",
        "{rules: {allowedRegistries: warn}, namespaces: {team-a: audit}}",
    );
    let t = table(&report(&profile));
    for row in [
        "<tr><td>Gatekeeper KhardenAllowedRegistries allowed-registries</td><td>warn</td></tr>",
        "<tr><td>Gatekeeper KhardenRequiredAnnotations required-annotations-audit</td><td>dryrun</td></tr>",
        "<tr><td>Pod Security restricted in team-a</td><td>audit: enforce held at privileged</td></tr>",
    ] {
        assert!(t.contains(row), "no {row} in\n{t}");
    }
    assert!(!t.contains("team-b"), "{t}");
    let native = with_enforcement(tmp.path(), "native-policy", "warn");
    assert!(table(&report(&native)).contains(
        "<tr><td>ValidatingAdmissionPolicy kharden-allowed-registries</td><td>Warn, Audit</td></tr>"
    ));
    // Nothing in a rollout: the table is empty.
    assert!(!table(&report("examples/prod-east.yaml")).contains("<tr><td>"));
}
