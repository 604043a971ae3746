//! Checks of `mesh` and `namespaces[].mesh`: hosts, durations, services, and
//! the Linkerd route limits (methods, paths, ports) its CRDs can hold.

use super::grants::principal_parts;
use super::*;

// ---- validation ----

/// Why a text is not a mesh duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum DurationError {
    #[error("it is empty")]
    Empty,
    #[error("`{0}` is not a duration")]
    NotADuration(String),
    #[error("`{0}` needs a unit (ms, s, m, h)")]
    Unit(String),
}

/// A duration such as `15s`, `500ms`, `1m30s`.
pub(super) fn parse_duration(s: &str) -> Result<(), DurationError> {
    let mut rest = s;
    if rest.is_empty() {
        return Err(DurationError::Empty);
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if n == 0 {
            return Err(DurationError::NotADuration(s.to_owned()));
        }
        rest = &rest[n..];
        let u = ["ms", "h", "m", "s"]
            .into_iter()
            .find(|u| rest.starts_with(u))
            .ok_or_else(|| DurationError::Unit(s.to_owned()))?;
        rest = &rest[u.len()..];
    }
    Ok(())
}

pub(super) fn host(out: &mut Vec<Diagnostic>, path: &FieldPath, h: &str) {
    let bare = h.strip_prefix("*.").unwrap_or(h);
    if names::dns_subdomain(bare).is_err() || !bare.contains('.') {
        out.push(
            Diagnostic::error(
                path.clone(),
                format!("`{h}` is not a fully qualified host name"),
            )
            .hint("write a host such as api.github.com (a leading `*.` is allowed)"),
        );
    }
}

/// A Windows namespace in a mesh cannot have mesh settings of its own: no
/// sidecar enforces them.
fn windows_namespaces(m: &Model, out: &mut Vec<Diagnostic>) {
    if provider(m) == MeshProvider::None {
        return;
    }
    for (i, ns) in m.profile.namespaces.iter().enumerate() {
        if runs_windows(ns) && ns.mesh.is_some() {
            out.push(
                Diagnostic::error(
                    FieldPath::root().key("namespaces").index(i).key("mesh"),
                    format!("namespace `{}` runs on Windows nodes, where no sidecar can enforce mesh settings", ns.name),
                )
                .hint("remove `mesh` from this namespace; its NetworkPolicies still apply"),
            );
        }
    }
}

pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    windows_namespaces(m, out);
    super::sidecar::validate(m, plan, out);
    let p = &m.profile;
    let linkerd = provider(m) == MeshProvider::Linkerd;
    if let Some(mesh) = &p.mesh {
        let base = FieldPath::root().key("mesh");
        for (i, h) in mesh.allowed_external_hosts.iter().enumerate() {
            host(out, &base.key("allowedExternalHosts").index(i), h);
        }
        if let Some(d) = &mesh.defaults {
            if let Some(t) = &d.timeout
                && let Err(e) = parse_duration(t)
            {
                out.push(
                    Diagnostic::error(base.key("defaults").key("timeout"), e.to_string())
                        .hint("write e.g. `15s`"),
                );
            }
            if let Some(r) = &d.retries
                && let Some(t) = &r.per_try_timeout
                && let Err(e) = parse_duration(t)
            {
                out.push(
                    Diagnostic::error(
                        base.key("defaults").key("retries").key("perTryTimeout"),
                        e.to_string(),
                    )
                    .hint("write e.g. `5s`"),
                );
            }
        }
    }
    for (i, ns) in p.namespaces.iter().enumerate() {
        let Some(nm) = &ns.mesh else { continue };
        let base = FieldPath::root().key("namespaces").index(i).key("mesh");
        if provider(m) == MeshProvider::None {
            out.push(
                Diagnostic::error(
                    base.clone(),
                    format!(
                        "namespace `{}` has mesh settings, but no mesh is enabled",
                        ns.name
                    ),
                )
                .hint("set `mesh.provider` to istio or linkerd, or remove the namespace's `mesh`"),
            );
        }
        for (j, h) in nm.allowed_external_hosts.iter().enumerate() {
            host(out, &base.key("allowedExternalHosts").index(j), h);
        }
        if linkerd && nm.mtls == Some(MtlsMode::Permissive) {
            out.push(
                Diagnostic::error(
                    base.key("mtls"),
                    "Linkerd has no permissive mTLS mode to set per namespace".to_owned(),
                )
                .hint("meshed Linkerd traffic is always mTLS; remove `mtls`, or use `mesh.provider: istio` for a migration phase"),
            );
        }
        if !nm.authorization.is_empty() && !denies(m, ns, Direction::Ingress) {
            out.push(
                Diagnostic::error(
                    base.key("authorization"),
                    format!(
                        "namespace `{}` does not deny ingress, so its authorization rules would restrict nothing",
                        ns.name
                    ),
                )
                .hint("add `ingress` to the namespace's `defaultDeny`, or remove the rules"),
            );
        }
        services(m, nm, &base, out);
        for (j, a) in nm.authorization.iter().enumerate() {
            let ap = base.key("authorization").index(j);
            if a.from.namespace.is_none() && a.from.principals.is_empty() {
                out.push(
                    Diagnostic::error(
                        ap.key("from"),
                        "an authorization rule names no source".to_owned(),
                    )
                    .hint("give `namespace` or `principals`"),
                );
            }
            if let Some(n) = &a.from.namespace {
                label(out, &ap.key("from").key("namespace"), n);
            }
            let mut ports = Vec::new();
            for (k, port) in a.ports.iter().enumerate() {
                match port.parse::<u16>() {
                    Ok(n) if n > 0 => ports.push(n),
                    _ => out.push(Diagnostic::error(
                        ap.key("ports").index(k),
                        format!("`{port}` is not a port number"),
                    )),
                }
            }
            if linkerd {
                linkerd_route_checks(m, ns, a, &ports, &ap, out);
                for (k, pr) in a.from.principals.iter().enumerate() {
                    if principal_parts(pr).is_none() {
                        out.push(
                            Diagnostic::error(
                                ap.key("from").key("principals").index(k),
                                format!(
                                    "principal `{pr}` does not name a namespace and service account"
                                ),
                            )
                            .hint("write `cluster.local/ns/<namespace>/sa/<service account>`"),
                        );
                    }
                }
            }
            if !ports.is_empty() {
                plan.mesh_rule_ports.insert((ns.name.clone(), j), ports);
            }
        }
    }
    if linkerd {
        // A Linkerd Server takes one port (number or name): ranges have no equivalent.
        // Positions by name, looked up per flow (a scan per flow is quadratic).
        let index: BTreeSet<&str> = p.namespaces.iter().map(|n| n.name.as_str()).collect();
        for f in m.flows() {
            let End::Pods { namespace, .. } = &f.dst else {
                continue;
            };
            if !index.contains(namespace.as_str()) {
                continue;
            }
            if f.ports
                .iter()
                .any(|p| matches!(p.port, PortNum::Range(..)) && p.protocol == "TCP")
            {
                out.push(
                    Diagnostic::error(
                        f.path().key("ports"),
                        "Linkerd cannot authorize a port range (a Server takes one port)"
                            .to_owned(),
                    )
                    .hint("list the ports one by one, or use `mesh.provider: istio`"),
                );
            }
        }
    }
}

/// `namespaces[].mesh.services`: real names, one entry per (name, port), valid
/// durations, and an override that changes something.
pub(super) fn services(m: &Model, nm: &NamespaceMesh, base: &FieldPath, out: &mut Vec<Diagnostic>) {
    let default_timeout = m
        .profile
        .mesh
        .as_ref()
        .and_then(|x| x.defaults.as_ref())
        .and_then(|d| d.timeout.as_ref());
    let mut seen = BTreeSet::new();
    for (j, svc) in nm.services.iter().enumerate() {
        let sp = base.key("services").index(j);
        if let Err(e) = names::dns_label(&svc.name) {
            out.push(Diagnostic::error(
                sp.key("name"),
                format!("`{}` is not a Service name: {e}", svc.name),
            ));
        }
        if svc.port == 0 {
            out.push(Diagnostic::error(
                sp.key("port"),
                "port 0 is not a Service port".to_owned(),
            ));
        }
        if !seen.insert((svc.name.clone(), svc.port)) {
            out.push(
                Diagnostic::error(
                    sp.clone(),
                    format!("service `{}` port {} is listed twice", svc.name, svc.port),
                )
                .hint("merge the two entries"),
            );
        }
        if let Some(t) = &svc.timeout
            && let Err(e) = parse_duration(t)
        {
            out.push(Diagnostic::error(sp.key("timeout"), e.to_string()).hint("write e.g. `10s`"));
        }
        if let Some(r) = &svc.retries
            && let Some(t) = &r.per_try_timeout
            && let Err(e) = parse_duration(t)
        {
            out.push(
                Diagnostic::error(sp.key("retries").key("perTryTimeout"), e.to_string())
                    .hint("write e.g. `2s`"),
            );
        }
        if svc.timeout.is_none() && svc.retries.is_none() && default_timeout.is_none() {
            out.push(
                Diagnostic::error(
                    sp.clone(),
                    format!(
                        "service `{}` sets neither `timeout` nor `retries`, and `mesh.defaults.timeout` is unset, so the entry changes nothing",
                        svc.name
                    ),
                )
                .hint("give `timeout` or `retries`, or remove the entry"),
            );
        }
    }
}

/// Methods Linkerd's HTTPRoute can match (policy.linkerd.io/v1beta3 `method` enum).
pub(super) const LINKERD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// An HTTPRoute holds at most 16 rules of at most 8 matches (the CRD's limits).
pub(super) const LINKERD_MAX_MATCHES: usize = 16 * 8;

/// An Istio-style path (`/x` exact, `/x/*` prefix, `*` any) as a Linkerd path
/// match (`type`, `value`). Linkerd's `PathPrefix` matches whole segments, so
/// only prefixes that end in `/` translate; a suffix match has no equivalent.
pub(super) fn linkerd_path(p: &str) -> Result<(&'static str, String), LinkerdPathError> {
    if p == "*" {
        return Ok(("PathPrefix", "/".to_owned()));
    }
    if !p.starts_with('/') {
        return Err(LinkerdPathError::NoSlash(p.to_owned()));
    }
    match p.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('/') && !prefix.contains('*') => {
            Ok(("PathPrefix", prefix.to_owned()))
        }
        Some(_) => Err(LinkerdPathError::PartialSegment(p.to_owned())),
        None if p.contains('*') => Err(LinkerdPathError::Wildcard(p.to_owned())),
        None => Ok(("Exact", p.to_owned())),
    }
}

/// Why an authorization path has no Linkerd path match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum LinkerdPathError {
    #[error("path `{0}` does not start with `/`")]
    NoSlash(String),
    #[error("Linkerd matches path prefixes by whole segments, so `{0}` has no equivalent")]
    PartialSegment(String),
    #[error("Linkerd has no suffix or infix match for `{0}`")]
    Wildcard(String),
}

/// The parsed ports of rule `j` of `ns` (none when it lists none).
pub(super) fn rule_ports<'a>(m: &'a Model, ns: &NamespaceSpec, j: usize) -> &'a [u16] {
    m.plan
        .mesh_rule_ports
        .get(&(ns.name.clone(), j))
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The TCP ports a Linkerd method/path rule applies to: its own `ports`, or,
/// when it has none, the ports on which L4 flows let its sources in (a Server,
/// and so a route, needs a port).
pub(super) fn linkerd_rule_ports(
    m: &Model,
    ns: &NamespaceSpec,
    a: &MeshAuthorization,
    ports: &[u16],
) -> BTreeSet<PortNum> {
    if !a.ports.is_empty() {
        return ports.iter().map(|n| PortNum::Number(*n)).collect();
    }
    let sources: BTreeSet<String> = a
        .from
        .namespace
        .iter()
        .cloned()
        .chain(
            a.from
                .principals
                .iter()
                .filter_map(|p| principal_parts(p).map(|(n, _)| n.to_owned())),
        )
        .collect();
    m.flows()
        .iter()
        .filter(|f| matches!(&f.dst, End::Pods { namespace, .. } if *namespace == ns.name))
        .filter(|f| matches!(&f.src, End::Pods { namespace, .. } if sources.contains(namespace)))
        .flat_map(|f| f.ports.iter().cloned())
        .filter(|p| p.protocol == "TCP" && !matches!(p.port, PortNum::Range(..)))
        .map(|p| p.port)
        .collect()
}

/// What a Linkerd HTTPRoute can express of a rule's `methods` and `paths`.
pub(super) fn linkerd_route_checks(
    m: &Model,
    ns: &NamespaceSpec,
    a: &MeshAuthorization,
    ports: &[u16],
    ap: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    if a.methods.is_empty() && a.paths.is_empty() {
        return;
    }
    for (k, meth) in a.methods.iter().enumerate() {
        if !LINKERD_METHODS.contains(&meth.as_str()) {
            out.push(
                Diagnostic::error(
                    ap.key("methods").index(k),
                    format!("Linkerd cannot match method `{meth}`"),
                )
                .hint(format!("use one of {}", LINKERD_METHODS.join(", "))),
            );
        }
    }
    for (k, p) in a.paths.iter().enumerate() {
        if let Err(e) = linkerd_path(p) {
            out.push(
                Diagnostic::error(ap.key("paths").index(k), e.to_string())
                    .hint("write an exact path `/x`, a segment prefix `/x/*`, or `*`"),
            );
        }
    }
    if a.methods.len().max(1) * a.paths.len().max(1) > LINKERD_MAX_MATCHES {
        out.push(
            Diagnostic::error(
                ap.clone(),
                format!(
                    "Linkerd's HTTPRoute holds at most {LINKERD_MAX_MATCHES} method and path combinations"
                ),
            )
            .hint("split the rule"),
        );
    }
    if linkerd_rule_ports(m, ns, a, ports).is_empty() {
        out.push(
            Diagnostic::error(
                ap.clone(),
                "a Linkerd method or path rule needs a port, and no flow lets its source in on a TCP port".to_owned(),
            )
            .hint("give `ports`, or add an ingress flow from the source with its ports"),
        );
    }
}
