//! Checks of `logging`: the collector's namespace, the sources each platform
//! keeps on its nodes, the audit path the collector can tail, Elasticsearch
//! and image settings.

use super::*;

/// Checks `logging` and decides the collector (`plan.logging`).
pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    let Some(l) = &m.profile.logging else { return };
    let p = &m.profile;
    let base = FieldPath::root().key("logging");
    label(out, &base.key("namespace"), &l.namespace);
    if RESERVED.contains(&l.namespace.as_str()) {
        out.push(
            Diagnostic::error(
                base.key("namespace"),
                format!(
                    "the log collector cannot run in `{}`, a namespace Kubernetes manages itself",
                    l.namespace
                ),
            )
            .hint("give the collector its own namespace, e.g. `logging`"),
        );
    }
    if p.namespaces.iter().any(|n| n.name == l.namespace) {
        out.push(
            Diagnostic::error(
                base.key("namespace"),
                format!(
                    "`{}` is also a tenant namespace; the log collector needs a namespace of its own",
                    l.namespace
                ),
            )
            .hint("the collector's namespace runs at Pod Security `privileged`; keep tenants out of it"),
        );
    }
    if l.sources.is_empty() {
        out.push(
            Diagnostic::error(base.key("sources"), "`logging.sources` is empty".to_owned())
                .hint("list at least one of controlPlane, pods, nodes, audit"),
        );
    }
    // On eks, aks and gke the control plane is the provider's: its logs and the
    // audit log are exported by the provider (`control_plane::managed_logs`), and the
    // collector ships only what is on the nodes.
    let managed = m.platform().control_plane() == ControlPlane::Managed;
    if l.sources.contains(&LogSource::Audit) {
        audit_source(m, l.collector, managed, out);
    }
    let es = base.key("elasticsearch");
    let host = &l.elasticsearch.host;
    if host.parse::<std::net::IpAddr>().is_err() && names::dns_subdomain(host).is_err() {
        out.push(
            Diagnostic::error(es.key("host"), format!("`{host}` is not a host name"))
                .hint("write the host only, e.g. elasticsearch.logging.svc; port and scheme have their own fields"),
        );
    }
    if l.elasticsearch.port == 0 {
        out.push(Diagnostic::error(
            es.key("port"),
            "port 0 is not a port".to_owned(),
        ));
    }
    if let Some(ca) = &l.elasticsearch.ca_secret {
        if let Err(e) = names::dns_subdomain(ca) {
            out.push(Diagnostic::error(
                es.key("caSecret"),
                format!("`{ca}` is not a valid Secret name: {e}"),
            ));
        }
        if l.elasticsearch.scheme == Scheme::Http {
            out.push(
                Diagnostic::error(
                    es.key("caSecret"),
                    "`caSecret` verifies TLS, but `scheme` is `http`".to_owned(),
                )
                .hint("use `scheme: https`, or remove `caSecret`"),
            );
        }
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
    if let Err(e) = index_prefix(ip) {
        out.push(
            Diagnostic::error(
                es.key("indexPrefix"),
                format!("`{ip}` is not a valid Elasticsearch index prefix: {e}"),
            )
            .hint(
                "use lower-case letters, digits, `-`, `_` and `.`, starting with a letter or digit",
            ),
        );
    }
    if let Some(img) = &l.image
        && let Err(e) = pinned_image(img)
    {
        out.push(
            Diagnostic::error(base.key("image"), format!("image `{img}` {e}")).hint(
                "pin an exact release, e.g. `registry.example.com/fluent/fluent-bit:4.2.0`, or a digest `…@sha256:<hex>`",
            ),
        );
    }
    plan.logging = Plan::from_model(m);
}

/// The audit source reads `apiServer.audit.logPath` (the one field the
/// control-plane rendering writes the flag from). TODO(after merge of #4): read it
/// through that accessor.
pub(super) fn audit_source(
    m: &Model,
    collector: Collector,
    managed: bool,
    out: &mut Vec<Diagnostic>,
) {
    let audit = &m.profile.api_server.audit;
    let path = FieldPath::root()
        .key("apiServer")
        .key("audit")
        .key("logPath");
    if !audit.enabled {
        out.push(
            Diagnostic::error(
                FieldPath::root().key("logging").key("sources"),
                "`logging.sources` ships the audit log, but `apiServer.audit.enabled` is false"
                    .to_owned(),
            )
            .hint("enable the audit log, or remove `audit` from the sources"),
        );
        return;
    }
    if managed || !audit.log_path.starts_with('/') {
        // The provider writes it (or the API-server checks report the path).
        return;
    }
    if let Err(e) = audit_path(&audit.log_path, collector) {
        out.push(
            Diagnostic::error(
                path,
                format!(
                    "the log collector cannot read the audit log at `{}`: {e}",
                    audit.log_path.escape_debug()
                ),
            )
            .hint("write a plain absolute path in a directory of its own, e.g. /var/log/kubernetes/audit/audit.log"),
        );
    }
}

/// Why the collector cannot tail an audit log path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum AuditPathError {
    #[error(
        "it contains a control character (such as a newline), which no collector configuration can hold"
    )]
    Control,
    #[error("it contains `{0}`, which the collector's tail input reads as a pattern")]
    Pattern(char),
    #[error("it contains `#` or `$`, which Fluent Bit's configuration format cannot hold")]
    FluentBitChars,
    #[error("it ends in white space, which Fluent Bit's configuration format cannot hold")]
    FluentBitSpace,
    #[error("it is not a normalized file path (no `//`, `.`, `..` or trailing `/`)")]
    NotNormal,
    #[error(
        "it sits in `/`; the collector mounts the log's directory, so give it a directory of its own"
    )]
    Root,
    #[error("its directory `{0}` is already mounted for another purpose")]
    Taken(String),
}

/// Why the collector cannot tail `p` (an absolute path), if it cannot.
pub(super) fn audit_path(p: &str, collector: Collector) -> Result<(), AuditPathError> {
    if p.chars().any(char::is_control) {
        return Err(AuditPathError::Control);
    }
    if let Some(c) = p.chars().find(|c| PATTERN_CHARS.contains(c)) {
        return Err(AuditPathError::Pattern(c));
    }
    if collector == Collector::FluentBit {
        if p.contains('#') || p.contains('$') {
            return Err(AuditPathError::FluentBitChars);
        }
        if p.trim() != p {
            return Err(AuditPathError::FluentBitSpace);
        }
    }
    if p.ends_with('/')
        || p.split('/')
            .skip(1)
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(AuditPathError::NotNormal);
    }
    let dir = parent(p);
    if dir == "/" {
        return Err(AuditPathError::Root);
    }
    let state = state_dir(collector);
    let taken = [
        CONTAINERS_DIR,
        PODS_DIR,
        JOURNAL_DIRS[0].1,
        JOURNAL_DIRS[1].1,
        MACHINE_ID,
        STATE_ROOT,
        state.as_str(),
    ];
    if taken.contains(&dir) {
        return Err(AuditPathError::Taken(dir.to_owned()));
    }
    Ok(())
}

pub(super) fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

/// Elasticsearch index names: lower case, no `\/*?"<>| ,#:`, not starting with
/// `-`, `_` or `+`. kharden is stricter (the prefix also reaches both collector
/// configurations, and Fluentd expands `${...}` placeholders in it).
pub(super) fn index_prefix(s: &str) -> Result<(), IndexPrefixError> {
    if s.is_empty() {
        return Err(IndexPrefixError::Empty);
    }
    if s.len() > 200 {
        return Err(IndexPrefixError::TooLong);
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Err(IndexPrefixError::Start);
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')))
    {
        return Err(IndexPrefixError::Char(c));
    }
    Ok(())
}

/// Why a text is not an Elasticsearch index prefix kharden writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum IndexPrefixError {
    #[error("it is empty")]
    Empty,
    #[error("it is longer than 200 characters")]
    TooLong,
    #[error("it must start with a lower-case letter or digit")]
    Start,
    #[error("it contains `{}`", .0.escape_debug())]
    Char(char),
}

/// Why an image is not pinned (the text follows "image `…`").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ImageError {
    #[error("is not an image reference")]
    NotAReference,
    #[error("has a malformed digest")]
    Digest,
    #[error("has no tag, so it floats to `latest`")]
    NoTag,
    #[error("uses the floating tag `latest`")]
    Latest,
    #[error("uses the tag `{0}`, which names no release (floating)")]
    Floating(String),
}

/// An image reference pinned to an exact tag or a digest.
pub(super) fn pinned_image(img: &str) -> Result<(), ImageError> {
    if img.is_empty() || img.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(ImageError::NotAReference);
    }
    if let Some((_, digest)) = img.split_once('@') {
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(());
        }
        return Err(ImageError::Digest);
    }
    let last = img.rsplit('/').next().unwrap_or(img);
    match last.split_once(':') {
        None => Err(ImageError::NoTag),
        Some((_, "latest")) => Err(ImageError::Latest),
        Some((_, t)) if !t.contains(|c: char| c.is_ascii_digit()) => {
            Err(ImageError::Floating(t.to_owned()))
        }
        Some(_) => Ok(()),
    }
}
