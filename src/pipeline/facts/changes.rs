//! Comparing two fact sets: each change described for a reviewer, the ones
//! that widen access or loosen a restriction marked `widening`, and the
//! one-paragraph summary.

use super::*;

fn level_rank(s: &str) -> u8 {
    match s {
        "privileged" => 0,
        "baseline" => 1,
        _ => 2,
    }
}

/// One semantic change between two fact sets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// Widens access or resources, or loosens a restriction.
    pub widening: bool,
    pub message: String,
}

/// What changed from `old` to `new`, in fact order.
pub(crate) fn changes(old: &Facts, new: &Facts) -> Vec<Change> {
    let mut keys: Vec<&Fact> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| match k {
            Fact::Enforcement { rule, ns } => enforcement(old, new, rule, ns),
            _ => describe(k, old.get(k), new.get(k)),
        })
        .collect()
}

/// A mode's distance from refusing: `audit` < `warn` < `deny`.
fn mode_rank(s: &str) -> u8 {
    match s {
        "audit" => 0,
        "warn" => 1,
        _ => 2,
    }
}

/// The mode `rule` acts in, in `ns` ("" for namespaces without their own);
/// `None` when the rule is off (that change is reported on its own).
fn effective<'a>(f: &'a Facts, rule: &str, ns: &str) -> Option<&'a str> {
    let get = |ns: &str| {
        f.get(&Fact::Enforcement {
            rule: rule.to_owned(),
            ns: ns.to_owned(),
        })
    };
    get("")?;
    get(ns).or_else(|| get("")).map(String::as_str)
}

/// A rollout step: toward `deny` tightens, away from it widens (what the
/// rule refused is then admitted).
fn enforcement(old: &Facts, new: &Facts, rule: &str, ns: &str) -> Option<Change> {
    let (o, n) = (effective(old, rule, ns)?, effective(new, rule, ns)?);
    if o == n {
        return None;
    }
    let widening = mode_rank(n) < mode_rank(o);
    let what = if ns.is_empty() {
        format!("`{rule}`")
    } else {
        format!("`{rule}` in `{ns}`")
    };
    let note = match (n, o) {
        ("deny", _) => "now enforced",
        (_, "deny") => "no longer enforced",
        _ if widening => "less reported",
        _ => "reported to the client",
    };
    Some(Change {
        widening,
        message: format!("policy enforcement of {what}: {o} → {n} ({note})"),
    })
}

fn describe(f: &Fact, old: Option<&String>, new: Option<&String>) -> Option<Change> {
    let added = old.is_none() && new.is_some();
    let removed = old.is_some() && new.is_none();
    let (o, n) = (
        old.map(String::as_str).unwrap_or(""),
        new.map(String::as_str).unwrap_or(""),
    );
    if old == new {
        return None;
    }
    let ch = |widening: bool, message: String| Some(Change { widening, message });
    let flag = |on: &str| on == "true";
    match f {
        Fact::Namespace { ns } => ch(
            false,
            format!(
                "namespace `{ns}` {}",
                if added { "added" } else { "removed" }
            ),
        ),
        Fact::PodSecurity { ns } if !added && !removed => ch(
            level_rank(n) < level_rank(o),
            format!("Pod Security in `{ns}`: {o} → {n}"),
        ),
        Fact::Grant { ns, subject, role } => {
            if added {
                ch(true, format!("{subject} gains `{role}` in `{ns}`"))
            } else {
                ch(false, format!("{subject} loses `{role}` in `{ns}`"))
            }
        }
        Fact::ServiceAccountToken { ns, sa } if !added && !removed => ch(
            flag(n),
            format!(
                "service account `{sa}` in `{ns}` {} its API token",
                if flag(n) {
                    "now mounts"
                } else {
                    "no longer mounts"
                }
            ),
        ),
        Fact::RoleRule { role, rule } => ch(
            added,
            format!(
                "role `{role}` {} {rule}",
                if added { "gains" } else { "loses" }
            ),
        ),
        Fact::ClusterGrant { subject, rule, .. } => ch(
            added,
            format!(
                "{subject} {} cluster-wide {rule}",
                if added { "gains" } else { "loses" }
            ),
        ),
        Fact::Quota { ns, key } => {
            if removed {
                ch(true, format!("quota `{key}` in `{ns}` removed (was {o})"))
            } else if added {
                ch(false, format!("quota `{key}` in `{ns}` set to {n}"))
            } else {
                let grows = match (
                    crate::k8s::quantity::parse(o),
                    crate::k8s::quantity::parse(n),
                ) {
                    (Ok(a), Ok(b)) => b > a,
                    _ => true,
                };
                ch(grows, format!("quota `{key}` in `{ns}`: {o} → {n}"))
            }
        }
        Fact::DefaultDeny { ns, direction } => ch(
            removed,
            format!(
                "default-deny {direction} in `{ns}` {}",
                if removed { "removed" } else { "added" }
            ),
        ),
        Fact::AllowDns { ns } => ch(
            flag(n),
            format!(
                "DNS from `{ns}` {}",
                if flag(n) {
                    "allowed"
                } else {
                    "no longer allowed"
                }
            ),
        ),
        Fact::AllowSameNamespace { ns } => ch(
            flag(n),
            format!(
                "traffic inside `{ns}` {}",
                if flag(n) {
                    "allowed"
                } else {
                    "no longer allowed"
                }
            ),
        ),
        Fact::AllowGateway { ns, gateway } => {
            if new.is_some() {
                ch(
                    true,
                    format!("namespace `{ns}` now accepts Gateway {gateway} (pods in `{n}`)"),
                )
            } else {
                ch(
                    false,
                    format!("namespace `{ns}` no longer accepts Gateway {gateway}"),
                )
            }
        }
        Fact::AllowIngressController { ns } => {
            if new.is_some() {
                ch(
                    true,
                    format!("namespace `{ns}` now accepts the ingress controller in `{n}`"),
                )
            } else {
                ch(
                    false,
                    format!("namespace `{ns}` no longer accepts the ingress controller in `{o}`"),
                )
            }
        }
        Fact::Flow {
            ns,
            direction,
            peer,
            port,
        } => {
            let what = if direction == "egress" {
                format!(
                    "namespace `{ns}` may {} reach {peer}:{port}",
                    if added { "now" } else { "no longer" }
                )
            } else {
                format!(
                    "namespace `{ns}` {} accepts {peer} on {port}",
                    if added { "now" } else { "no longer" }
                )
            };
            ch(added, what)
        }
        Fact::Mtls { ns } => {
            if added || removed {
                ch(
                    removed,
                    format!("mTLS for `{ns}`: {}", if added { n } else { "no mesh" }),
                )
            } else {
                ch(n == "PERMISSIVE", format!("mTLS for `{ns}`: {o} → {n}"))
            }
        }
        Fact::OutboundTraffic => ch(
            n == "allowAny",
            format!("mesh outbound traffic: {} → {}", or_none(o), or_none(n)),
        ),
        Fact::ExternalHost { scope, host } => ch(
            added,
            format!(
                "external host `{host}` {} for {scope}",
                if added {
                    "allowed"
                } else {
                    "no longer allowed"
                }
            ),
        ),
        Fact::MeshAuthorization { ns, rule } => ch(
            added,
            format!("in `{ns}`, {rule}{}", if added { "" } else { " no longer" }),
        ),
        Fact::Registry { registry } => ch(
            added,
            format!(
                "registry `{registry}` {}",
                if added {
                    "allowed"
                } else {
                    "no longer allowed"
                }
            ),
        ),
        Fact::RequiredAnnotation { key } => ch(
            removed,
            format!(
                "annotation `{key}` {}",
                if removed {
                    "no longer required"
                } else {
                    "now required"
                }
            ),
        ),
        Fact::PolicyRule { rule } => ch(
            !flag(n),
            format!(
                "policy rule `{rule}` {}",
                if flag(n) { "on" } else { "off" }
            ),
        ),
        Fact::ExemptNamespace { ns } => ch(
            added,
            format!(
                "namespace `{ns}` {} exempt from admission policy",
                if added { "now" } else { "no longer" }
            ),
        ),
        Fact::Exception { ticket } => {
            if added {
                ch(true, format!("exception {ticket} added: {n}"))
            } else if removed {
                ch(false, format!("exception {ticket} removed"))
            } else {
                ch(true, format!("exception {ticket} changed: {n} (was {o})"))
            }
        }
        Fact::ApiServerPrivate => ch(
            !flag(n),
            format!(
                "API server {}",
                if flag(n) {
                    "private"
                } else {
                    "reachable from the internet"
                }
            ),
        ),
        Fact::AuthorizedNetwork { cidr } => ch(
            added,
            format!(
                "network {cidr} {} reach the API server",
                if added { "may now" } else { "may no longer" }
            ),
        ),
        Fact::AuditLog => ch(
            !flag(n),
            format!("API audit log {}", if flag(n) { "on" } else { "off" }),
        ),
        // A per-namespace value appearing or vanishing with its namespace says nothing new.
        Fact::PodSecurity { .. } | Fact::ServiceAccountToken { .. } => None,
        // Compared on the effective modes, in `changes`.
        Fact::Enforcement { .. } => None,
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "no mesh" } else { s }
}

/// A readable summary of a fact set: per namespace, then cluster-wide.
pub(crate) fn summary(f: &Facts) -> String {
    let mut by_scope: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in f {
        let (scope, line) = match k {
            Fact::Namespace { .. } => continue,
            Fact::PodSecurity { ns } => (ns.clone(), format!("Pod Security: {v}")),
            Fact::Grant { ns, subject, role } => (ns.clone(), format!("{subject} has `{role}`")),
            Fact::ServiceAccountToken { ns, sa } => (
                ns.clone(),
                format!(
                    "service account `{sa}`: API token {}",
                    if v == "true" {
                        "mounted"
                    } else {
                        "not mounted"
                    }
                ),
            ),
            Fact::Quota { ns, key } => (ns.clone(), format!("quota {key} = {v}")),
            Fact::DefaultDeny { ns, direction } => {
                (ns.clone(), format!("default deny {direction}"))
            }
            Fact::AllowDns { ns } => (ns.clone(), format!("DNS allowed: {v}")),
            Fact::AllowSameNamespace { ns } => {
                (ns.clone(), format!("same-namespace traffic allowed: {v}"))
            }
            Fact::AllowIngressController { ns } => (
                ns.clone(),
                format!("accepts the ingress controller in `{v}`"),
            ),
            Fact::AllowGateway { ns, gateway } => (
                ns.clone(),
                format!("accepts Gateway {gateway} (pods in `{v}`)"),
            ),
            Fact::Flow {
                ns,
                direction,
                peer,
                port,
            } => (
                ns.clone(),
                if direction == "egress" {
                    format!("may reach {peer}:{port}")
                } else {
                    format!("accepts {peer} on {port}")
                },
            ),
            Fact::Mtls { ns } => (ns.clone(), format!("mTLS {v}")),
            Fact::MeshAuthorization { ns, rule } => (ns.clone(), format!("mesh: {rule}")),
            Fact::ExternalHost { scope, host } if scope.starts_with("namespace") => (
                scope
                    .trim_start_matches("namespace `")
                    .trim_end_matches('`')
                    .to_owned(),
                format!("external host {host}"),
            ),
            Fact::ExternalHost { host, .. } => (
                String::new(),
                format!("external host {host} for every namespace"),
            ),
            Fact::RoleRule { role, rule } => {
                (String::new(), format!("role `{role}` grants {rule}"))
            }
            Fact::ClusterGrant { subject, rule, .. } => {
                (String::new(), format!("{subject} has cluster-wide {rule}"))
            }
            Fact::OutboundTraffic => (String::new(), format!("mesh outbound traffic: {v}")),
            Fact::Registry { registry } => (String::new(), format!("allowed registry {registry}")),
            Fact::RequiredAnnotation { key } => {
                (String::new(), format!("required annotation {key}"))
            }
            Fact::PolicyRule { rule } => (
                String::new(),
                format!(
                    "policy rule {rule}: {}",
                    if v == "true" { "on" } else { "off" }
                ),
            ),
            Fact::ExemptNamespace { ns } => (
                String::new(),
                format!("namespace {ns} exempt from admission policy"),
            ),
            Fact::Exception { ticket } => (String::new(), format!("exception {ticket}: {v}")),
            Fact::Enforcement { ns, .. } if ns.is_empty() && v == "deny" => continue,
            Fact::Enforcement { rule, ns } => (
                ns.clone(),
                if v == "deny" {
                    format!("policy rule {rule}: deny")
                } else {
                    format!("policy rule {rule}: {v}, not enforced")
                },
            ),
            Fact::ApiServerPrivate => (String::new(), format!("API server private: {v}")),
            Fact::AuthorizedNetwork { cidr } => {
                (String::new(), format!("API server reachable from {cidr}"))
            }
            Fact::AuditLog => (
                String::new(),
                format!("audit log: {}", if v == "true" { "on" } else { "off" }),
            ),
        };
        by_scope.entry(scope).or_default().push(line);
    }
    let mut out = String::new();
    for (scope, lines) in &by_scope {
        if scope.is_empty() {
            continue;
        }
        let _ = writeln!(out, "namespace {scope}:");
        for l in lines {
            let _ = writeln!(out, "  - {l}");
        }
    }
    if let Some(lines) = by_scope.get("") {
        let _ = writeln!(out, "cluster:");
        for l in lines {
            let _ = writeln!(out, "  - {l}");
        }
    }
    out
}
