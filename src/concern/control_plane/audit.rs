//! The API-server audit policy (`audit.k8s.io/v1` `Policy`) and the audit
//! flags. The policy drops the RequestReceived stage and known noise, records
//! secrets, configmaps and token reviews at Metadata only (never their bodies),
//! records RBAC changes and exec/attach/port-forward in full, places the user's
//! `apiServer.audit.extraRules` after those fixed rules, and ends with a
//! Metadata catch-all. Its checks accept the log path into the plan
//! (`valid::AuditLog`), which the flags and mounts read.

use serde::Serialize;

use super::valid::AuditLog;
use crate::input::diag::Diagnostic;
use crate::input::profile::{AuditLevel, AuditResources, AuditRule};
use crate::input::source::FieldPath;
use crate::pipeline::model::Model;

/// Where the policy file lives on a kubeadm control-plane node.
pub(crate) const POLICY_PATH: &str = "/etc/kubernetes/audit-policy.yaml";

/// The audit log, as the checks accepted it; `None` when auditing is off.
pub(crate) fn log(m: &Model) -> Option<&AuditLog> {
    m.plan.control_plane.audit_log.as_ref()
}

/// A kube-apiserver flag with the CIS control it satisfies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flag {
    pub name: &'static str,
    pub value: String,
    /// The CIS Kubernetes Benchmark id (and a short reason), for the output's comments.
    pub cis: &'static str,
}

/// The audit flags; empty when auditing is off.
pub(crate) fn flags(m: &Model) -> Vec<Flag> {
    let a = &m.profile.api_server.audit;
    let Some(log) = log(m) else {
        return Vec::new();
    };
    vec![
        Flag {
            name: "audit-policy-file",
            value: POLICY_PATH.to_owned(),
            cis: "CIS 3.2.1: an audit policy exists",
        },
        Flag {
            name: "audit-log-path",
            value: log.path.clone(),
            cis: "CIS 1.2.16: audit log written",
        },
        Flag {
            name: "audit-log-maxage",
            value: a.max_age_days.to_string(),
            cis: "CIS 1.2.17: keep audit files >= 30 days",
        },
        Flag {
            name: "audit-log-maxbackup",
            value: a.max_backups.to_string(),
            cis: "CIS 1.2.18: keep >= 10 rotated audit files",
        },
        Flag {
            name: "audit-log-maxsize",
            value: a.max_size_mb.to_string(),
            cis: "CIS 1.2.19: rotate at >= 100 MB",
        },
        Flag {
            name: "audit-log-format",
            value: "json".to_owned(),
            cis: "json lines, so the log shipper parses them without regexes",
        },
    ]
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Policy {
    api_version: &'static str,
    kind: &'static str,
    omit_stages: Vec<&'static str>,
    rules: Vec<AuditRule>,
}

fn res(group: &str, resources: &[&str]) -> AuditResources {
    AuditResources {
        group: group.to_owned(),
        resources: resources.iter().map(|s| (*s).to_owned()).collect(),
        resource_names: Vec::new(),
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn rule(level: AuditLevel) -> AuditRule {
    AuditRule {
        level,
        users: Vec::new(),
        user_groups: Vec::new(),
        verbs: Vec::new(),
        resources: Vec::new(),
        namespaces: Vec::new(),
        non_resource_urls: Vec::new(),
    }
}

/// The audit policy; the order of the rules is the point (first match wins).
pub(crate) fn policy(m: &Model) -> Policy {
    use AuditLevel::*;
    let mut rules = vec![
        // 1. Noise: high-volume reads by system components, health probes, events.
        AuditRule {
            users: strs(&["system:kube-proxy"]),
            verbs: strs(&["watch"]),
            resources: vec![res("", &["endpoints", "services", "services/status"])],
            ..rule(None)
        },
        AuditRule {
            user_groups: strs(&["system:nodes"]),
            verbs: strs(&["get"]),
            resources: vec![res("", &["nodes", "nodes/status"])],
            ..rule(None)
        },
        AuditRule {
            users: strs(&[
                "system:kube-controller-manager",
                "system:kube-scheduler",
                "system:serviceaccount:kube-system:endpoint-controller",
            ]),
            verbs: strs(&["get", "update"]),
            namespaces: strs(&["kube-system"]),
            resources: vec![res("", &["endpoints"])],
            ..rule(None)
        },
        AuditRule {
            users: strs(&["system:apiserver"]),
            verbs: strs(&["get"]),
            resources: vec![res(
                "",
                &["namespaces", "namespaces/status", "namespaces/finalize"],
            )],
            ..rule(None)
        },
        AuditRule {
            non_resource_urls: strs(&["/healthz*", "/livez*", "/readyz*", "/version"]),
            ..rule(None)
        },
        AuditRule {
            resources: vec![res("", &["events"]), res("events.k8s.io", &["events"])],
            ..rule(None)
        },
        // 2. Secrets and credentials: who touched them, never their contents.
        AuditRule {
            resources: vec![
                res("", &["secrets", "configmaps", "serviceaccounts/token"]),
                res("authentication.k8s.io", &["tokenreviews"]),
            ],
            ..rule(Metadata)
        },
        // 3. Privilege changes and interactive access: recorded in full.
        AuditRule {
            verbs: strs(&["create", "update", "patch", "delete", "deletecollection"]),
            resources: vec![res("rbac.authorization.k8s.io", &[])],
            ..rule(RequestResponse)
        },
        AuditRule {
            resources: vec![res(
                "",
                &[
                    "pods/exec",
                    "pods/attach",
                    "pods/portforward",
                    "pods/proxy",
                    "services/proxy",
                ],
            )],
            ..rule(RequestResponse)
        },
    ];
    // 4. The user's rules: they refine what the fixed rules above leave open.
    rules.extend(m.profile.api_server.audit.extra_rules.iter().cloned());
    // 5. Everything else: who did what, without bodies.
    rules.push(rule(Metadata));
    Policy {
        api_version: "audit.k8s.io/v1",
        kind: "Policy",
        omit_stages: vec!["RequestReceived"],
        rules,
    }
}

/// Checks of `apiServer.audit`; the log the API server writes when they pass
/// and auditing is on.
pub(crate) fn validate(m: &Model, out: &mut Vec<Diagnostic>) -> Option<AuditLog> {
    let audit = &m.profile.api_server.audit;
    let ap = FieldPath::root().key("apiServer").key("audit");
    let absolute = audit.log_path.starts_with('/');
    if audit.enabled && !absolute {
        out.push(
            Diagnostic::error(
                ap.key("logPath"),
                format!("audit log path `{}` is not absolute", audit.log_path),
            )
            .hint(
                "write a path on the control-plane node, e.g. /var/log/kubernetes/audit/audit.log",
            ),
        );
    }
    // The flag comments and the README claim these CIS checks pass; a smaller
    // value (0 included: kube-bench compares numbers) would make that untrue.
    for (field, have, min, cis) in [
        ("maxAgeDays", audit.max_age_days, 30, "1.2.17"),
        ("maxBackups", audit.max_backups, 10, "1.2.18"),
        ("maxSizeMB", audit.max_size_mb, 100, "1.2.19"),
    ] {
        if have < min {
            out.push(
                Diagnostic::error(
                    ap.key(field),
                    format!("`{field}: {have}` is below the CIS {cis} minimum of {min}"),
                )
                .hint(format!("use {min} or more (the default is {min})")),
            );
        }
    }
    for (i, r) in audit.extra_rules.iter().enumerate() {
        let rp = ap.key("extraRules").index(i);
        if r.users.is_empty()
            && r.user_groups.is_empty()
            && r.verbs.is_empty()
            && r.resources.is_empty()
            && r.namespaces.is_empty()
            && r.non_resource_urls.is_empty()
        {
            out.push(
                Diagnostic::error(rp.clone(), "an audit rule selects nothing, so it would match every request and replace the final Metadata rule".to_owned())
                    .hint("add `resources`, `verbs`, `users`, `userGroups`, `namespaces` or `nonResourceURLs`"),
            );
        }
        if !r.non_resource_urls.is_empty() && (!r.resources.is_empty() || !r.namespaces.is_empty())
        {
            out.push(
                Diagnostic::error(
                    rp.key("nonResourceURLs"),
                    "an audit rule cannot select both `nonResourceURLs` and resources or namespaces"
                        .to_owned(),
                )
                .hint("split it into two rules"),
            );
        }
        if !r.non_resource_urls.is_empty()
            && matches!(r.level, AuditLevel::Request | AuditLevel::RequestResponse)
        {
            out.push(
                Diagnostic::error(
                    rp.key("level"),
                    "non-resource requests have no body: `Request` and `RequestResponse` do not apply to `nonResourceURLs`".to_owned(),
                )
                .hint("use `Metadata` or `None`"),
            );
        }
    }
    (audit.enabled && absolute).then(|| AuditLog {
        at: ap.key("logPath"),
        path: audit.log_path.clone(),
        dir: super::valid::parent_dir(&audit.log_path).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{errors, object, render};
    use serde_json::{Value, json};

    #[test]
    fn retention_below_the_cis_minimums_is_refused() {
        let e = errors("apiServer:\n  audit: {maxAgeDays: 7, maxBackups: 0, maxSizeMB: 99}\n");
        for want in [
            "apiServer.audit.maxAgeDays",
            "below the CIS 1.2.17 minimum of 30",
            "apiServer.audit.maxBackups",
            "below the CIS 1.2.18 minimum of 10",
            "apiServer.audit.maxSizeMB",
            "below the CIS 1.2.19 minimum of 100",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
        // At the minimums the profile is accepted.
        render("apiServer:\n  audit: {maxAgeDays: 30, maxBackups: 10, maxSizeMB: 100}\n");
    }

    const P: &str = "control-plane/kubeadm/audit-policy.yaml";

    fn level_for(policy: &Value, group: &str, resource: &str, verb: &str) -> String {
        // First matching rule wins, as in the API server.
        for r in policy["rules"].as_array().unwrap() {
            let verbs_ok = r
                .get("verbs")
                .is_none_or(|v| v.as_array().unwrap().iter().any(|x| x == verb));
            let res_ok = match r.get("resources") {
                None => {
                    r.get("nonResourceURLs").is_none()
                        && r.get("users").is_none()
                        && r.get("userGroups").is_none()
                }
                Some(rs) => rs.as_array().unwrap().iter().any(|g| {
                    g["group"] == group
                        && g.get("resources")
                            .is_none_or(|l| l.as_array().unwrap().iter().any(|x| x == resource))
                }),
            };
            if verbs_ok && res_ok && r.get("users").is_none() && r.get("userGroups").is_none() {
                return r["level"].as_str().unwrap().to_owned();
            }
        }
        panic!("no rule matched");
    }

    #[test]
    fn policy_levels_follow_the_issue() {
        let objs = render("");
        let p = object(&objs, P);
        assert_eq!(p["apiVersion"], "audit.k8s.io/v1");
        assert_eq!(p["kind"], "Policy");
        assert_eq!(p["omitStages"], json!(["RequestReceived"]));
        for (group, resource, verb, level) in [
            ("", "secrets", "get", "Metadata"),
            ("", "configmaps", "update", "Metadata"),
            (
                "authentication.k8s.io",
                "tokenreviews",
                "create",
                "Metadata",
            ),
            (
                "rbac.authorization.k8s.io",
                "rolebindings",
                "create",
                "RequestResponse",
            ),
            ("", "pods/exec", "create", "RequestResponse"),
            ("", "pods/portforward", "create", "RequestResponse"),
            ("", "pods/attach", "create", "RequestResponse"),
            ("", "events", "create", "None"),
            ("apps", "deployments", "create", "Metadata"),
        ] {
            assert_eq!(
                level_for(&p, group, resource, verb),
                level,
                "{group}/{resource} {verb}"
            );
        }
        let health = p["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r.get("nonResourceURLs").is_some())
            .unwrap();
        assert_eq!(health["level"], "None");
        assert!(
            health["nonResourceURLs"]
                .as_array()
                .unwrap()
                .contains(&json!("/livez*"))
        );
        assert_eq!(
            p["rules"].as_array().unwrap().last().unwrap(),
            &json!({"level": "Metadata"})
        );
    }

    #[test]
    fn user_rules_come_after_the_fixed_ones_and_before_the_catch_all() {
        let objs = render(
            "apiServer:\n  audit:\n    extraRules:\n      - level: RequestResponse\n        verbs: [create, delete]\n        resources: [{group: \"\", resources: [pods, secrets]}]\n",
        );
        let p = object(&objs, P);
        let rules = p["rules"].as_array().unwrap();
        let n = rules.len();
        assert_eq!(rules[n - 2]["level"], "RequestResponse");
        assert_eq!(rules[n - 2]["verbs"], json!(["create", "delete"]));
        // The user rule names secrets, but the fixed Metadata rule matches first.
        assert_eq!(level_for(&p, "", "secrets", "create"), "Metadata");
        assert_eq!(level_for(&p, "", "pods", "create"), "RequestResponse");
    }

    #[test]
    fn audit_flags_carry_the_profile_values() {
        let objs = render(
            "apiServer:\n  audit: {logPath: /var/log/k/audit.log, maxAgeDays: 45, maxBackups: 12, maxSizeMB: 200}\n",
        );
        let cc = object(&objs, "control-plane/kubeadm/clusterconfiguration.yaml");
        let args = &cc["apiServer"]["extraArgs"];
        let get = |n: &str| {
            args.as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == n)
                .map(|a| a["value"].as_str().unwrap().to_owned())
        };
        assert_eq!(
            get("audit-log-path").as_deref(),
            Some("/var/log/k/audit.log")
        );
        assert_eq!(get("audit-log-maxage").as_deref(), Some("45"));
        assert_eq!(get("audit-log-maxbackup").as_deref(), Some("12"));
        assert_eq!(get("audit-log-maxsize").as_deref(), Some("200"));
        assert_eq!(get("audit-log-format").as_deref(), Some("json"));
        assert_eq!(
            get("audit-policy-file").as_deref(),
            Some(super::POLICY_PATH)
        );
        let vols = cc["apiServer"]["extraVolumes"].as_array().unwrap();
        assert!(vols.iter().any(|v| v["hostPath"] == "/var/log/k"
            && v["pathType"] == "DirectoryOrCreate"
            && v["readOnly"] == false));
    }

    #[test]
    fn disabled_audit_renders_no_policy_and_no_flags() {
        let objs = render("apiServer:\n  audit: {enabled: false}\n");
        assert!(!objs.iter().any(|(p, _)| p == P));
        let cc = object(&objs, "control-plane/kubeadm/clusterconfiguration.yaml");
        let text = cc.to_string();
        assert!(!text.contains("audit-log-path"), "{text}");
    }

    #[test]
    fn rules_that_select_nothing_or_mix_urls_are_refused() {
        let e = errors("apiServer:\n  audit:\n    extraRules:\n      - level: None\n");
        assert!(e.contains("selects nothing"), "{e}");
        let e = errors(
            "apiServer:\n  audit:\n    extraRules:\n      - level: Request\n        nonResourceURLs: [/metrics]\n",
        );
        assert!(e.contains("non-resource requests have no body"), "{e}");
    }
}
