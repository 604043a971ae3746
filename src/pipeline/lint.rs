//! `kharden lint`: cross-artifact checks with stable ids. Each rule has a
//! one-paragraph explanation (`kharden lint --explain ID`, and `docs/lint.md`,
//! which a test keeps in step with this table) and a fix hint. Warnings by
//! default; error-level rules also run in `render`.

use std::collections::BTreeSet;

use crate::input::diag::Diagnostic;
use crate::input::profile::{Direction, MeshProvider, MtlsMode, OutboundTraffic, PodSecurityLevel};
use crate::input::source::FieldPath;
use crate::pipeline::model::Model;

mod rbac;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Warning,
    Error,
}

/// One rule: a stable id, a short name, its level, why it matters, and the check.
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub level: Level,
    pub explanation: &'static str,
    check: fn(&Model, &mut Vec<Diagnostic>),
}

/// A rule's finding.
pub struct Finding {
    pub rule: &'static Rule,
    pub diag: Diagnostic,
}

pub const RULES: &[Rule] = &[
    Rule {
        id: "KH001",
        name: "egress-deny-without-dns",
        level: Level::Warning,
        explanation: "A namespace that denies egress by default also blocks DNS unless `allowDNS` is on. Every lookup of a Service name then fails, which looks like a network outage rather than a policy decision. Keep `defaults.network.allowDNS: true` (DNS goes only to kube-dns in kube-system), or allow DNS with an explicit egress flow.",
        check: egress_without_dns,
    },
    Rule {
        id: "KH002",
        name: "quota-without-pod-count",
        level: Level::Warning,
        explanation: "A ResourceQuota without a `pods` limit lets a misconfigured Job or Deployment create pods until CPU or memory quota runs out, flooding the scheduler and the API server first. Set `pods` in `defaults.quota` (the seed's first recommended quota).",
        check: quota_without_pods,
    },
    Rule {
        id: "KH003",
        name: "rbac-privilege-escalation",
        level: Level::Warning,
        explanation: "The verbs `escalate`, `bind` and `impersonate`, and the wildcard `*` in verbs or resources, let a subject grant itself more than it was given, or act as someone else. Name the verbs and resources the job needs instead.",
        check: rbac::escalation,
    },
    Rule {
        id: "KH004",
        name: "rbac-secrets-read",
        level: Level::Warning,
        explanation: "Reading Secrets (`get`, `list` or `watch` on `secrets`) exposes every credential in the namespace, including service-account tokens of other workloads. Grant it only to subjects that need it, and prefer mounting a Secret into the one workload that uses it.",
        check: rbac::secrets,
    },
    Rule {
        id: "KH005",
        name: "rbac-pod-exec",
        level: Level::Warning,
        explanation: "`pods/exec` and `pods/attach` run commands inside running containers, with their service-account token and mounted Secrets: effectively the workload's identity. Keep it to break-glass roles.",
        check: rbac::exec,
    },
    Rule {
        id: "KH006",
        name: "cluster-wide-grant",
        level: Level::Warning,
        explanation: "A ClusterRoleBinding applies in every namespace, including ones created later and kube-system. The seed discourages them; each needs a reviewed justification and should be as narrow as possible (list/get of cluster-scoped kinds rather than namespaced ones).",
        check: rbac::cluster_grant,
    },
    Rule {
        id: "KH007",
        name: "mtls-permissive",
        level: Level::Warning,
        explanation: "PERMISSIVE mTLS accepts plain-text traffic beside mutual TLS, so any pod that bypasses the mesh can reach the workload unauthenticated. It is meant for a migration window only; return to STRICT when the last client has a sidecar.",
        check: mtls_permissive,
    },
    Rule {
        id: "KH008",
        name: "registry-too-broad",
        level: Level::Warning,
        explanation: "Allowing a whole public registry (docker.io, ghcr.io, quay.io, …) without a path admits any image anyone publishes there. Allow your own registry, or a path under a public one (`ghcr.io/acme/*`).",
        check: registry_too_broad,
    },
    Rule {
        id: "KH009",
        name: "api-open-to-internet",
        level: Level::Error,
        explanation: "A public API endpoint (`apiServer.private: false` on a cloud platform) with no `authorizedNetworks`, or with 0.0.0.0/0 or ::/0 among them, can be reached by the whole internet: every credential leak or API-server vulnerability is then exploitable from anywhere. List the networks that administer the cluster, or make the endpoint private. This rule is an error: `render` refuses such a profile.",
        check: api_open,
    },
    Rule {
        id: "KH010",
        name: "exception-near-expiry",
        level: Level::Warning,
        explanation: "An exception that expires within 30 days will make `render` fail on that day. Renew it (with its owner and ticket) or remove what needs it before then.",
        check: exception_expiry,
    },
    Rule {
        id: "KH011",
        name: "pod-security-loosened",
        level: Level::Warning,
        explanation: "A namespace that enforces a Pod Security level below `restricted` admits pods that run as root, mount host paths or add capabilities (baseline), or anything at all (privileged). kharden keeps audit and warn at restricted there; make sure the workloads that need it are known and the reason is recorded.",
        check: pod_security_loosened,
    },
    Rule {
        id: "KH012",
        name: "external-service-types",
        level: Level::Warning,
        explanation: "A quota that allows `services.loadbalancers` or `services.nodeports` lets tenants expose workloads outside the ingress path and its policies. Expose HTTP through the ingress controller and keep both at 0.",
        check: external_services,
    },
    Rule {
        id: "KH013",
        name: "service-account-token-mounted",
        level: Level::Warning,
        explanation: "A mounted service-account token is a credential any process in the pod (and any attacker in it) can use against the API server. Mount it only for workloads that call the API.",
        check: token_mounted,
    },
    Rule {
        id: "KH014",
        name: "mesh-egress-open",
        level: Level::Warning,
        explanation: "`outboundTraffic: allowAny` lets meshed workloads reach any external host. Use `registryOnly` and list the hosts each namespace needs.",
        check: mesh_allow_any,
    },
    Rule {
        id: "KH015",
        name: "quota-holds-few-meshed-pods",
        level: Level::Warning,
        explanation: "A ResourceQuota is charged for every container of a pod, the injected proxy included. When the quota's CPU or memory divided by what one pod of default size takes (one app container with the LimitRange defaults, plus the proxy) is below the `pods` quota, the namespace fills up long before its pod count, and new pods are refused with `exceeded quota`. Raise the compute quota, lower `pods` to match, or size the proxy with `mesh.sidecarResources`.",
        check: quota_meshed_pods,
    },
    Rule {
        id: "KH016",
        name: "registry-entry-read-one-way",
        level: Level::Warning,
        explanation: "A registry entry in `policy.allowedRegistries` or an `allowedRegistries` exception's `allow` that could mean two things is taken one way: `host/path/` (trailing slash) as everything under the path, `host/path/*`; `docker.io/nginx` as the official image `docker.io/library/nginx`, not the Docker Hub namespace `nginx`; a repository shallower than its registry's images (`ghcr.io/acme`, `europe-docker.pkg.dev/project/repo`) as that one repository, which admits nothing there. Write the meaning you want explicitly: `host/*` or `host/path/*` for everything under it, `host/path/repo` for one repository, `host/path/repo:tag` or `host/path/repo@sha256:…` for one image.",
        check: registry_entry_read_one_way,
    },
    Rule {
        id: "KH017",
        name: "namespaces-outside-profile-open",
        level: Level::Warning,
        explanation: "Namespaces the profile does not list (`default`, and any namespace created later) get no ResourceQuota and no LimitRange. Only admission protects them: `policy.noNodePorts` refuses NodePort Services there and `policy.requiredLimits` refuses containers without CPU and memory limits (the seed: every pod must have limits). Both are on by default; this rule says when the profile has no `policy` section, turns one off, or leaves LoadBalancer Services (which open node ports too) open there. `kharden report` shows how each namespace is covered.",
        check: crate::concern::policy::coverage::lint,
    },
    Rule {
        id: "KH018",
        name: "kubernetes-version-end-of-life",
        level: Level::Warning,
        explanation: "A Kubernetes minor release past its upstream end of life gets no more patches, security fixes included. Upgrade the cluster, one minor version at a time, to a release still supported, and set `cluster.kubernetesVersion` to match: kharden picks API versions and flags by it. The dates are upstream's (kubernetes.io/releases); a managed platform's extended support may run longer, at its own terms.",
        check: version_end_of_life,
    },
];

/// Registry entries that could mean two things, with the meaning taken.
fn registry_entry_read_one_way(m: &Model, out: &mut Vec<Diagnostic>) {
    let Some(pol) = &m.profile.policy else { return };
    let mut lists = vec![(
        FieldPath::root().key("policy").key("allowedRegistries"),
        &pol.allowed_registries,
    )];
    for (i, ex) in m.profile.exceptions.iter().enumerate() {
        if ex.rule == "allowedRegistries" {
            lists.push((
                FieldPath::root().key("exceptions").index(i).key("allow"),
                &ex.allow,
            ));
        }
    }
    for (path, list) in lists {
        for (i, r) in list.iter().enumerate() {
            if let Ok(e) = crate::concern::policy::parse_registry(r)
                && let Some(reading) = e.reading
            {
                out.push(
                    Diagnostic::error(
                        path.index(i),
                        format!("`{r}` is read as {}", reading.meaning),
                    )
                    .hint(reading.other),
                );
            }
        }
    }
}

fn version_end_of_life(m: &Model, out: &mut Vec<Diagnostic>) {
    out.extend(crate::input::releases::end_of_life(m));
}

fn quota_meshed_pods(m: &Model, out: &mut Vec<Diagnostic>) {
    for (i, msg) in crate::concern::mesh::sidecar::quota_gaps(m) {
        out.push(Diagnostic::error(ns_path(i).key("quota"), msg).hint(
            "raise the compute quota, lower `pods`, or size the proxy with `mesh.sidecarResources`",
        ));
    }
}

/// Run every rule; findings sorted by rule id then position of their path.
pub fn run(m: &Model) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in RULES {
        let mut found = Vec::new();
        (rule.check)(m, &mut found);
        for mut d in found {
            d.code = Some(rule.id);
            d.severity = if rule.level == Level::Error {
                "error"
            } else {
                "warning"
            };
            out.push(Finding { rule, diag: d });
        }
    }
    out
}

/// The rule with this id or name.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(id) || r.name == id)
}

/// `docs/lint.md`, generated from the table.
pub fn docs() -> String {
    let mut s = String::from(
        "# kharden lint rules\n\nGenerated from `src/pipeline/lint.rs`; `cargo test` checks this file is current.\nRun `kharden lint PROFILE`; `--deny-warnings` makes warnings fail (exit 1).\nError-level rules also stop `kharden render`.\n",
    );
    for r in RULES {
        s.push_str(&format!(
            "\n## {} `{}` ({})\n\n{}\n",
            r.id,
            r.name,
            if r.level == Level::Error {
                "error"
            } else {
                "warning"
            },
            r.explanation
        ));
    }
    s
}

fn ns_path(i: usize) -> FieldPath {
    FieldPath::root().key("namespaces").index(i)
}

fn egress_without_dns(m: &Model, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    if p.defaults.network.allow_dns {
        return;
    }
    let denies = |d: &Option<Vec<Direction>>| {
        d.as_ref()
            .unwrap_or(&p.defaults.network.default_deny)
            .contains(&Direction::Egress)
    };
    let affected: Vec<&str> = p
        .namespaces
        .iter()
        .filter(|n| denies(&n.network.as_ref().and_then(|x| x.default_deny.clone())))
        .map(|n| n.name.as_str())
        .collect();
    if !affected.is_empty() {
        out.push(
            Diagnostic::error(
                FieldPath::root()
                    .key("defaults")
                    .key("network")
                    .key("allowDNS"),
                format!(
                    "egress is denied by default but DNS is not allowed, in {}",
                    affected.join(", ")
                ),
            )
            .hint("set `allowDNS: true`; it opens UDP and TCP 53 to kube-dns only"),
        );
    }
}

fn quota_without_pods(m: &Model, out: &mut Vec<Diagnostic>) {
    for (i, (ns, q)) in m
        .profile
        .namespaces
        .iter()
        .zip(&m.plan.quota.namespaces)
        .enumerate()
    {
        if !q.hard.contains_key("pods") {
            out.push(
                Diagnostic::error(
                    ns_path(i).key("name"),
                    format!(
                        "the quota of `{}` does not limit the number of pods",
                        ns.name
                    ),
                )
                .hint("set `pods` in `defaults.quota`"),
            );
        }
    }
}

fn mtls_permissive(m: &Model, out: &mut Vec<Diagnostic>) {
    let Some(mesh) = m
        .profile
        .mesh
        .as_ref()
        .filter(|x| x.provider != MeshProvider::None)
    else {
        return;
    };
    if mesh.mtls == MtlsMode::Permissive {
        out.push(
            Diagnostic::error(
                FieldPath::root().key("mesh").key("mtls"),
                "mesh-wide mTLS is PERMISSIVE".to_owned(),
            )
            .hint("set `mtls: strict`"),
        );
    }
    for (i, ns) in m.profile.namespaces.iter().enumerate() {
        if ns.mesh.as_ref().and_then(|x| x.mtls) == Some(MtlsMode::Permissive) {
            out.push(
                Diagnostic::error(
                    ns_path(i).key("mesh").key("mtls"),
                    format!("mTLS in `{}` is PERMISSIVE", ns.name),
                )
                .hint("remove the override when the migration is done"),
            );
        }
    }
}

const PUBLIC_REGISTRIES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "ghcr.io",
    "quay.io",
    "gcr.io",
    "registry.k8s.io",
    "public.ecr.aws",
    "mcr.microsoft.com",
];

fn registry_too_broad(m: &Model, out: &mut Vec<Diagnostic>) {
    let Some(pol) = &m.profile.policy else { return };
    for (i, r) in pol.allowed_registries.iter().enumerate() {
        // Everything on a host: `host`, `host/`, `host/*` (one normal form).
        let normal = crate::concern::policy::normalise_registry(r).unwrap_or_default();
        let host = normal.strip_suffix("/*").unwrap_or(&normal);
        if PUBLIC_REGISTRIES.contains(&host) {
            out.push(
                Diagnostic::error(
                    FieldPath::root()
                        .key("policy")
                        .key("allowedRegistries")
                        .index(i),
                    format!("`{r}` allows every image of a public registry"),
                )
                .hint(format!("allow a path under it, e.g. `{host}/your-org/*`")),
            );
        }
    }
}

fn api_open(m: &Model, out: &mut Vec<Diagnostic>) {
    let a = &m.profile.api_server;
    if a.private || m.platform().control_plane() == crate::platform::ControlPlane::Nodes {
        return;
    }
    let base = FieldPath::root().key("apiServer");
    if a.authorized_networks.is_empty() {
        out.push(
            Diagnostic::error(base.key("private"), "the API endpoint is public and no `authorizedNetworks` limit who reaches it".to_owned())
                .hint("list the networks that administer the cluster in `apiServer.authorizedNetworks`, or set `private: true`"),
        );
    }
    // The networks as the control-plane checks parsed them.
    for n in &m.plan.control_plane.authorized_networks {
        if n.value.prefix == 0 {
            out.push(
                Diagnostic::error(
                    n.path.clone(),
                    format!(
                        "`{}` lets the whole internet reach the public API endpoint",
                        n.text
                    ),
                )
                .hint("list the networks that administer the cluster"),
            );
        }
    }
}

fn exception_expiry(m: &Model, out: &mut Vec<Diagnostic>) {
    for (i, ex) in m.profile.exceptions.iter().enumerate() {
        if let Ok(d) = crate::input::clock::Date::parse(&ex.expires) {
            let left = m.today.days_until(d);
            if (0..=30).contains(&left) {
                out.push(
                    Diagnostic::error(
                        FieldPath::root().key("exceptions").index(i).key("expires"),
                        format!("exception {} expires in {left} day(s), on {d}", ex.ticket),
                    )
                    .hint(format!("ask {} to renew or retire it", ex.owner)),
                );
            }
        }
    }
}

fn pod_security_loosened(m: &Model, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    if p.defaults.pod_security != PodSecurityLevel::Restricted {
        out.push(
            Diagnostic::error(
                FieldPath::root().key("defaults").key("podSecurity"),
                format!(
                    "every namespace enforces only `{}`",
                    p.defaults.pod_security.as_str()
                ),
            )
            .hint("keep the default at `restricted` and loosen single namespaces"),
        );
    }
    for (i, ns) in p.namespaces.iter().enumerate() {
        if let Some(l) = ns
            .pod_security
            .filter(|l| *l != PodSecurityLevel::Restricted)
        {
            out.push(
                Diagnostic::error(
                    ns_path(i).key("podSecurity"),
                    format!("`{}` enforces only `{}`", ns.name, l.as_str()),
                )
                .hint("record why the workloads there need it"),
            );
        }
    }
}

fn external_services(m: &Model, out: &mut Vec<Diagnostic>) {
    for (i, (ns, q)) in m
        .profile
        .namespaces
        .iter()
        .zip(&m.plan.quota.namespaces)
        .enumerate()
    {
        for key in ["services.loadbalancers", "services.nodeports"] {
            if q.hard.get(key).is_some_and(|h| h.amount.value > 0.0) {
                out.push(
                    Diagnostic::error(q.path(i, key), format!("`{}` may create {key}", ns.name))
                        .hint("expose HTTP through the ingress controller and keep this at 0"),
                );
            }
        }
    }
}

fn token_mounted(m: &Model, out: &mut Vec<Diagnostic>) {
    for (i, ns) in m.profile.namespaces.iter().enumerate() {
        for (j, sa) in ns.service_accounts.iter().enumerate() {
            if sa.automount_token {
                out.push(
                    Diagnostic::error(
                        ns_path(i)
                            .key("serviceAccounts")
                            .index(j)
                            .key("automountToken"),
                        format!(
                            "service account `{}` in `{}` mounts its API token into every pod",
                            sa.name, ns.name
                        ),
                    )
                    .hint("mount the token only in the pod spec of workloads that call the API"),
                );
            }
        }
    }
}

fn mesh_allow_any(m: &Model, out: &mut Vec<Diagnostic>) {
    if let Some(mesh) = m.profile.mesh.as_ref().filter(|x| {
        x.provider != MeshProvider::None && x.outbound_traffic == OutboundTraffic::AllowAny
    }) {
        let _ = mesh;
        out.push(
            Diagnostic::error(
                FieldPath::root().key("mesh").key("outboundTraffic"),
                "meshed workloads may reach any external host".to_owned(),
            )
            .hint("use `registryOnly` and list `allowedExternalHosts`"),
        );
    }
}

/// The ids of every rule, for tests that want one fixture per rule.
pub fn ids() -> BTreeSet<&'static str> {
    RULES.iter().map(|r| r.id).collect()
}
