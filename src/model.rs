//! Stage 2: the validated cluster model. Loading runs the structural schema
//! check, the typed parse and every semantic check (here for the cluster-wide
//! sections, in the concern files for theirs), and reports all problems at once.

use std::path::Path;

use serde_json::Value;

use crate::clock::Date;
use crate::concern;
use crate::diag::{Diagnostic, Diagnostics, nearest};
use crate::names;
use crate::net::Cidr;
use crate::profile::{IdentityMode, Profile};
use crate::source::{self, FieldPath, Sources};

/// Kubernetes minor versions kharden renders for.
pub const SUPPORTED_VERSIONS: &[&str] = &["1.33", "1.34", "1.35", "1.36", "1.37"];

/// A profile that passed every check, with what it was read from.
#[derive(Debug)]
pub struct Model {
    pub profile: Profile,
    pub sources: Sources,
    /// The profile path as the user gave it (shown in file headers).
    pub display: String,
    pub today: Date,
}

impl Model {
    /// The prefix every user subject gets: the one the API server itself applies.
    /// With `--oidc-*` flags and no prefix set, Kubernetes prefixes `<issuer>#` to
    /// every claim but `email`; `-` turns prefixing off. The structured config has
    /// no implicit prefix.
    pub fn user_prefix(&self) -> String {
        let Some(identity) = &self.profile.identity else {
            return String::new();
        };
        let Some(oidc) = &identity.oidc else {
            return String::new();
        };
        match (oidc.username_prefix.as_deref(), identity.mode) {
            (Some("-"), _) => String::new(),
            (Some(p), _) => p.to_owned(),
            (None, IdentityMode::Config) => String::new(),
            (None, IdentityMode::Flags) => {
                if oidc.username_claim.as_deref() == Some("email") {
                    String::new()
                } else {
                    format!("{}#", oidc.issuer_url)
                }
            }
        }
    }

    /// The prefix every group subject gets.
    pub fn group_prefix(&self) -> String {
        self.profile
            .identity
            .as_ref()
            .and_then(|i| i.oidc.as_ref())
            .and_then(|o| o.groups_prefix.clone())
            .unwrap_or_default()
    }

    /// The Kubernetes minor version as a number (33 for "1.33").
    pub fn minor(&self) -> u32 {
        minor_of(&self.profile.cluster.kubernetes_version).unwrap_or(33)
    }
}

fn minor_of(v: &str) -> Option<u32> {
    v.strip_prefix("1.")?.parse().ok()
}

/// The JSON Schema of the profile format.
pub fn profile_schema() -> Value {
    let schema = schemars::schema_for!(Profile);
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

/// Load, merge, check and parse a profile.
pub fn load(path: &Path, display: &str, today: Date) -> Result<Model, Diagnostics> {
    let (value, sources) = source::load(path, display)?;
    check(value, sources, display, today)
}

/// Load a profile given as text; `extends:` may name built-in presets only.
pub fn load_text(text: &str, display: &str, today: Date) -> Result<Model, Diagnostics> {
    let (value, sources) = source::load_text(text, display)?;
    check(value, sources, display, today)
}

fn check(
    mut value: Value,
    sources: Sources,
    display: &str,
    today: Date,
) -> Result<Model, Diagnostics> {
    let mut diags = Diagnostics::default();
    let (found, fatal) = crate::schema_check::check(&profile_schema(), &mut value);
    diags.extend(found);
    if fatal {
        return Err(diags.with_sources(sources));
    }
    let profile: Profile = match serde_path_to_error::deserialize(&value) {
        Ok(p) => p,
        Err(e) => {
            let path: FieldPath = e.path().to_string().parse().unwrap_or_default();
            let msg = e.into_inner().to_string();
            diags.push(Diagnostic::error(path.clone(), format!("`{path}`: {msg}")));
            return Err(diags.with_sources(sources));
        }
    };
    let model = Model {
        profile,
        sources,
        display: display.to_owned(),
        today,
    };
    let mut found = Vec::new();
    validate(&model, &mut found);
    diags.extend(found);
    if diags.is_empty() {
        Ok(model)
    } else {
        Err(diags.with_sources(model.sources))
    }
}

/// Every semantic check, cluster-wide sections first, then each concern.
fn validate(m: &Model, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    let root = FieldPath::root();
    label(out, &root.key("metadata").key("name"), &p.metadata.name);
    label(out, &root.key("cluster").key("name"), &p.cluster.name);
    let v = &p.cluster.kubernetes_version;
    if !SUPPORTED_VERSIONS.contains(&v.as_str()) {
        out.push(
            Diagnostic::error(
                root.key("cluster").key("kubernetesVersion"),
                format!("Kubernetes version `{v}` is not supported"),
            )
            .hint(format!(
                "use one of {} (quoted, minor version only)",
                SUPPORTED_VERSIONS.join(", ")
            )),
        );
    }
    if let Some(d) = &p.cluster.ingress_domain
        && let Err(e) = names::dns_subdomain(d)
    {
        out.push(Diagnostic::error(
            root.key("cluster").key("ingressDomain"),
            format!("`{d}` is not a valid DNS domain: {e}"),
        ));
    }
    validate_api_server(m, out);
    validate_identity(m, out);
    concern::namespace::validate(m, out);
    concern::rbac::validate(m, out);
    concern::quota::validate(m, out);
    validate_network(m, out);
    validate_logging(m, out);
    validate_mesh(m, out);
    concern::policy::validate(m, out);
}

/// Report `value` at `path` unless it is a DNS label.
pub fn label(out: &mut Vec<Diagnostic>, path: &FieldPath, value: &str) {
    if let Err(e) = names::dns_label(value) {
        out.push(
            Diagnostic::error(path.clone(), format!("`{value}` is not a valid name: {e}"))
                .hint("use a DNS-1123 label: lower-case letters, digits and `-`, at most 63 characters, e.g. `team-a`"),
        );
    }
}

fn cidr(out: &mut Vec<Diagnostic>, path: &FieldPath, value: &str) -> Option<Cidr> {
    match Cidr::parse(value) {
        Ok(c) => Some(c),
        Err(e) => {
            out.push(
                Diagnostic::error(path.clone(), format!("`{path}` is not a valid CIDR: {e}"))
                    .hint("write an IPv4 or IPv6 block such as 10.20.0.0/16"),
            );
            None
        }
    }
}

fn validate_api_server(m: &Model, out: &mut Vec<Diagnostic>) {
    let a = &m.profile.api_server;
    let base = FieldPath::root().key("apiServer");
    if let Some(addr) = &a.advertise_address
        && addr.parse::<std::net::IpAddr>().is_err()
    {
        out.push(
            Diagnostic::error(
                base.key("advertiseAddress"),
                format!("`{addr}` is not an IP address"),
            )
            .hint("write the node's private address, e.g. 10.0.0.10"),
        );
    }
    for (i, n) in a.authorized_networks.iter().enumerate() {
        cidr(out, &base.key("authorizedNetworks").index(i), n);
    }
    let audit = &a.audit;
    let ap = base.key("audit");
    if audit.enabled && !audit.log_path.starts_with('/') {
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
}

fn validate_identity(m: &Model, out: &mut Vec<Diagnostic>) {
    let Some(identity) = &m.profile.identity else {
        return;
    };
    let base = FieldPath::root().key("identity");
    if identity.mode == IdentityMode::Config
        && minor_of(&m.profile.cluster.kubernetes_version).is_some_and(|v| v < 30)
    {
        out.push(Diagnostic::error(
            base.key("mode"),
            "`identity.mode: config` needs Kubernetes 1.30 or later".to_owned(),
        ));
    }
    let Some(oidc) = &identity.oidc else { return };
    let op = base.key("oidc");
    if !oidc.issuer_url.starts_with("https://") {
        out.push(
            Diagnostic::error(
                op.key("issuerURL"),
                format!("issuer URL `{}` must use https", oidc.issuer_url),
            )
            .hint("the API server accepts only https:// issuers"),
        );
    }
    if oidc.client_id.trim().is_empty() {
        out.push(Diagnostic::error(
            op.key("clientID"),
            "the OIDC client id is empty".to_owned(),
        ));
    }
    const ALGS: &[&str] = &[
        "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
    ];
    for (i, a) in oidc.signing_algs.iter().enumerate() {
        if !ALGS.contains(&a.as_str()) {
            let mut d = Diagnostic::error(
                op.key("signingAlgs").index(i),
                format!("`{a}` is not a signing algorithm the API server accepts"),
            );
            d = d.hint(match nearest(a, ALGS.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("use one of {}", ALGS.join(", ")),
            });
            out.push(d);
        }
    }
}

fn validate_network(m: &Model, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    let defaults = FieldPath::root().key("defaults").key("network");
    if let Some(r) = &p.defaults.network.allow_from_ingress_controller {
        label(
            out,
            &defaults.key("allowFromIngressController").key("namespace"),
            &r.namespace,
        );
    }
    for (i, ns) in p.namespaces.iter().enumerate() {
        let Some(net) = &ns.network else { continue };
        let base = FieldPath::root().key("namespaces").index(i).key("network");
        let peers = net
            .ingress
            .iter()
            .enumerate()
            .map(|(j, f)| (base.key("ingress").index(j), &f.from, "from", &f.ports))
            .chain(
                net.egress
                    .iter()
                    .enumerate()
                    .map(|(j, f)| (base.key("egress").index(j), &f.to, "to", &f.ports)),
            );
        for (fp, peer, end, ports) in peers {
            let pp = fp.key(end);
            if peer.namespace.is_none() && peer.pod_labels.is_empty() && peer.cidr.is_none() {
                out.push(
                    Diagnostic::error(pp.clone(), format!("`{pp}` names no peer"))
                        .hint("give a `namespace`, `podLabels` (or both), or a `cidr`"),
                );
            }
            if peer.cidr.is_some() && (peer.namespace.is_some() || !peer.pod_labels.is_empty()) {
                out.push(
                    Diagnostic::error(
                        pp.clone(),
                        format!("`{pp}` mixes a `cidr` with namespace or pod selectors"),
                    )
                    .hint("split it into two flows: one by CIDR, one by selector"),
                );
            }
            if let Some(n) = &peer.namespace {
                label(out, &pp.key("namespace"), n);
            }
            if let Some(c) = &peer.cidr {
                let block = cidr(out, &pp.key("cidr"), c);
                for (k, e) in peer.except.iter().enumerate() {
                    let ep = pp.key("except").index(k);
                    if let (Some(block), Some(inner)) = (block, cidr(out, &ep, e))
                        && !(block.contains(&inner) && inner != block)
                    {
                        out.push(Diagnostic::error(
                            ep,
                            format!("`{e}` does not lie strictly inside `{c}`"),
                        ));
                    }
                }
            } else if !peer.except.is_empty() {
                out.push(Diagnostic::error(
                    pp.key("except"),
                    "`except` needs a `cidr` beside it".to_owned(),
                ));
            }
            for (k, port) in ports.iter().enumerate() {
                if let Err(e) = parse_port(port) {
                    out.push(
                        Diagnostic::error(fp.key("ports").index(k), format!("`{port}` is not a port: {e}"))
                            .hint("write `8080/TCP`, `53/UDP`, `8000-8100/TCP` or a named port such as `http/TCP`"),
                    );
                }
            }
        }
    }
}

/// Check a port spec `N/PROTO`, `A-B/PROTO` or `name/PROTO` (protocol optional, TCP).
pub fn parse_port(s: &str) -> Result<(), String> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "TCP"));
    if !matches!(proto, "TCP" | "UDP" | "SCTP") {
        return Err(format!("protocol `{proto}` is not TCP, UDP or SCTP"));
    }
    let num = |p: &str| -> Result<u32, String> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n),
            Ok(n) => Err(format!("{n} is outside 1-65535")),
            Err(_) => Err(format!("`{p}` is not a number")),
        }
    };
    if let Some((a, b)) = port.split_once('-')
        && a.chars().all(|c| c.is_ascii_digit())
    {
        let (a, b) = (num(a)?, num(b)?);
        if a > b {
            return Err(format!("range {a}-{b} runs backwards"));
        }
        return Ok(());
    }
    if port.chars().all(|c| c.is_ascii_digit()) {
        return num(port).map(|_| ());
    }
    // A named port: IANA_SVC_NAME, at most 15 characters.
    if port.len() > 15
        || !port
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("a named port is at most 15 lower-case letters, digits and `-`".to_owned());
    }
    Ok(())
}

fn validate_logging(m: &Model, out: &mut Vec<Diagnostic>) {
    let Some(l) = &m.profile.logging else { return };
    let base = FieldPath::root().key("logging");
    label(out, &base.key("namespace"), &l.namespace);
    if l.sources.is_empty() {
        out.push(
            Diagnostic::error(base.key("sources"), "`logging.sources` is empty".to_owned())
                .hint("list at least one of controlPlane, pods, nodes, audit"),
        );
    }
    let es = base.key("elasticsearch");
    if l.elasticsearch.host.trim().is_empty() || l.elasticsearch.host.contains(['/', ' ', ':']) {
        out.push(
            Diagnostic::error(es.key("host"), format!("`{}` is not a host name", l.elasticsearch.host))
                .hint("write the host only, e.g. elasticsearch.logging.svc; port and scheme have their own fields"),
        );
    }
    if let Err(e) = names::dns_subdomain(&l.elasticsearch.credentials_secret) {
        out.push(Diagnostic::error(
            es.key("credentialsSecret"),
            format!(
                "`{}` is not a Secret name: {e}",
                l.elasticsearch.credentials_secret
            ),
        ));
    }
    let ip = &l.elasticsearch.index_prefix;
    if ip.is_empty()
        || ip
            .chars()
            .any(|c| c.is_ascii_uppercase() || "\\/*?\"<>| ,#:".contains(c))
    {
        out.push(
            Diagnostic::error(
                es.key("indexPrefix"),
                format!("`{ip}` is not a valid Elasticsearch index prefix"),
            )
            .hint("use lower-case letters, digits, `-` and `_`"),
        );
    }
}

/// A duration such as `15s`, `500ms`, `1m30s`.
pub fn parse_duration(s: &str) -> Result<(), String> {
    let mut rest = s;
    if rest.is_empty() {
        return Err("it is empty".to_owned());
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if n == 0 {
            return Err(format!("`{s}` is not a duration"));
        }
        rest = &rest[n..];
        let u = ["ms", "h", "m", "s"]
            .into_iter()
            .find(|u| rest.starts_with(u))
            .ok_or_else(|| format!("`{s}` needs a unit (ms, s, m, h)"))?;
        rest = &rest[u.len()..];
    }
    Ok(())
}

fn validate_mesh(m: &Model, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
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
                    Diagnostic::error(base.key("defaults").key("timeout"), e)
                        .hint("write e.g. `15s`"),
                );
            }
            if let Some(r) = &d.retries
                && let Some(t) = &r.per_try_timeout
                && let Err(e) = parse_duration(t)
            {
                out.push(
                    Diagnostic::error(base.key("defaults").key("retries").key("perTryTimeout"), e)
                        .hint("write e.g. `5s`"),
                );
            }
        }
    }
    for (i, ns) in p.namespaces.iter().enumerate() {
        let Some(nm) = &ns.mesh else { continue };
        let base = FieldPath::root().key("namespaces").index(i).key("mesh");
        if p.mesh
            .as_ref()
            .is_none_or(|m| m.provider == crate::profile::MeshProvider::None)
        {
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
            for (k, port) in a.ports.iter().enumerate() {
                if port.parse::<u16>().map_or(true, |n| n == 0) {
                    out.push(Diagnostic::error(
                        ap.key("ports").index(k),
                        format!("`{port}` is not a port number"),
                    ));
                }
            }
        }
    }
}

fn host(out: &mut Vec<Diagnostic>, path: &FieldPath, h: &str) {
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
