//! Logging: a node-level collector (Fluentd or Fluent Bit) that ships container,
//! control-plane, node (journal) and API-server audit logs to Elasticsearch.
//!
//! Renders the collector's Namespace (Pod Security `privileged`, with the reason),
//! ServiceAccount, a read-only ClusterRole and its binding, a ConfigMap with the
//! pipeline rendered from `templates/` by Tera, and the DaemonSet. Every profile
//! value that reaches a collector configuration passes an escaping filter
//! (`fluent_quote` / `fluentbit_value`); values neither format can hold are
//! refused in `validate`, with the field path, before anything is rendered.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, HostPathVolumeSource, KeyToPath, Namespace, ObjectFieldSelector,
    PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile,
    SecretKeySelector, SecretVolumeSource, SecurityContext, ServiceAccount, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;

use crate::concern::rbac::JUSTIFICATION;
use crate::diag::Diagnostic;
use crate::manifest::{Manifest, meta};
use crate::model::{Model, label};
use crate::names;
use crate::profile::{Collector, LogSource, Platform, Scheme};
use crate::source::FieldPath;

/// Upstream Fluentd image for Elasticsearch 8, at an exact release (DOMAIN §8.1).
pub const FLUENTD_IMAGE: &str =
    "fluent/fluentd-kubernetes-daemonset:v1.19.3-debian-elasticsearch8-1.1";
/// Upstream Fluent Bit image, at an exact release.
pub const FLUENT_BIT_IMAGE: &str = "cr.fluentbit.io/fluent/fluent-bit:4.2.0";

const FLUENTD_TEMPLATE: &str = include_str!("../../templates/fluent.conf.tera");
const FLUENT_BIT_TEMPLATE: &str = include_str!("../../templates/fluent-bit.conf.tera");
const FLUENT_BIT_PARSERS: &str = include_str!("../../templates/fluent-bit-parsers.conf");

/// Namespaces Kubernetes owns; the collector gets a namespace of its own.
const RESERVED: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// Node directories the collector reads (read-only mounts).
const CONTAINERS_DIR: &str = "/var/log/containers";
const PODS_DIR: &str = "/var/log/pods";
/// journald writes to /var/log/journal when it persists, to /run/log/journal
/// when it is volatile (`Storage=volatile`, or `auto` without the directory,
/// as on many cloud images); the collector reads both.
const JOURNAL_DIRS: [(&str, &str); 2] =
    [("", "/var/log/journal"), ("_runtime", "/run/log/journal")];
const MACHINE_ID: &str = "/etc/machine-id";
/// Parent of the per-collector directory for positions, cursors and buffers: the
/// one writable host mount.
const STATE_ROOT: &str = "/var/lib/kharden";
/// Where Elasticsearch's CA certificate is mounted (`ca.crt` inside).
const CA_DIR: &str = "/etc/kharden/elasticsearch-ca";

/// Control-plane static pods (kubeadm) and the systemd units they run as elsewhere.
const CONTROL_PLANE: &[&str] = &[
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];
const NODE_UNITS: &[&str] = &["kubelet.service", "containerd.service"];

/// Characters a tail input reads as a glob, a list separator or a time pattern.
const PATTERN_CHARS: &[char] = &['*', '?', '[', ']', '{', '}', ',', '%'];

/// What differs between the two collectors.
struct Kind {
    name: &'static str,
    image: &'static str,
    config_dir: &'static str,
    user_env: &'static str,
    password_env: &'static str,
}

fn kind(c: Collector) -> Kind {
    match c {
        // The image's entrypoint reads /fluentd/etc/fluent.conf; these env names
        // are the ones its shipped configuration uses.
        Collector::Fluentd => Kind {
            name: "fluentd",
            image: FLUENTD_IMAGE,
            config_dir: "/fluentd/etc",
            user_env: "FLUENT_ELASTICSEARCH_USER",
            password_env: "FLUENT_ELASTICSEARCH_PASSWORD",
        },
        Collector::FluentBit => Kind {
            name: "fluent-bit",
            image: FLUENT_BIT_IMAGE,
            config_dir: "/fluent-bit/etc/conf",
            user_env: "ES_USERNAME",
            password_env: "ES_PASSWORD",
        },
    }
}

fn state_dir(c: Collector) -> String {
    format!("{STATE_ROOT}/{}", kind(c).name)
}

// ---------------------------------------------------------------------------
// Validation

pub fn validate(m: &Model, out: &mut Vec<Diagnostic>) {
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
    // audit log are exported by the provider (`concern::managed_logs`), and the
    // collector ships only what is on the nodes.
    let managed = p.cluster.platform != Platform::Kubeadm;
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
}

/// The audit source reads `apiServer.audit.logPath` (the one field the
/// control-plane rendering writes the flag from). TODO(after merge of #4): read it
/// through that issue's accessor.
fn audit_source(m: &Model, collector: Collector, managed: bool, out: &mut Vec<Diagnostic>) {
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

/// Why the collector cannot tail `p` (an absolute path), if it cannot.
pub fn audit_path(p: &str, collector: Collector) -> Result<(), String> {
    if p.chars().any(char::is_control) {
        return Err(
            "it contains a control character (such as a newline), which no collector configuration can hold"
                .to_owned(),
        );
    }
    if let Some(c) = p.chars().find(|c| PATTERN_CHARS.contains(c)) {
        return Err(format!(
            "it contains `{c}`, which the collector's tail input reads as a pattern"
        ));
    }
    if collector == Collector::FluentBit {
        if p.contains('#') || p.contains('$') {
            return Err(
                "it contains `#` or `$`, which Fluent Bit's configuration format cannot hold"
                    .to_owned(),
            );
        }
        if p.trim() != p {
            return Err(
                "it ends in white space, which Fluent Bit's configuration format cannot hold"
                    .to_owned(),
            );
        }
    }
    if p.ends_with('/')
        || p.split('/')
            .skip(1)
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(
            "it is not a normalized file path (no `//`, `.`, `..` or trailing `/`)".to_owned(),
        );
    }
    let dir = parent(p);
    if dir == "/" {
        return Err("it sits in `/`; the collector mounts the log's directory, so give it a directory of its own".to_owned());
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
        return Err(format!(
            "its directory `{dir}` is already mounted for another purpose"
        ));
    }
    Ok(())
}

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

/// Elasticsearch index names: lower case, no `\/*?"<>| ,#:`, not starting with
/// `-`, `_` or `+`. kharden is stricter (the prefix also reaches both collector
/// configurations, and Fluentd expands `${...}` placeholders in it).
fn index_prefix(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".to_owned());
    }
    if s.len() > 200 {
        return Err("it is longer than 200 characters".to_owned());
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Err("it must start with a lower-case letter or digit".to_owned());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!("it contains `{}`", c.escape_debug()));
    }
    Ok(())
}

/// An image reference pinned to an exact tag or a digest.
fn pinned_image(img: &str) -> Result<(), String> {
    if img.is_empty() || img.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err("is not an image reference".to_owned());
    }
    if let Some((_, digest)) = img.split_once('@') {
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(());
        }
        return Err("has a malformed digest".to_owned());
    }
    let last = img.rsplit('/').next().unwrap_or(img);
    match last.split_once(':') {
        None => Err("has no tag, so it floats to `latest`".to_owned()),
        Some((_, "latest")) => Err("uses the floating tag `latest`".to_owned()),
        Some((_, t)) if !t.contains(|c: char| c.is_ascii_digit()) => Err(format!(
            "uses the tag `{t}`, which names no release (floating)"
        )),
        Some(_) => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// The pipeline, as plain data, and its text

/// Everything a collector configuration is rendered from.
#[derive(Debug, Clone)]
pub struct Plan {
    pub collector: Collector,
    pub namespace: String,
    pub sources: BTreeSet<LogSource>,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub index_prefix: String,
    pub audit_path: Option<String>,
    /// The Secret with Elasticsearch's CA, mounted at [`CA_DIR`].
    pub ca_secret: Option<String>,
}

impl Plan {
    fn from_model(m: &Model) -> Option<Plan> {
        let l = m.profile.logging.as_ref()?;
        let managed = m.profile.cluster.platform != Platform::Kubeadm;
        let sources: BTreeSet<LogSource> = l
            .sources
            .iter()
            .copied()
            .filter(|s| !managed || matches!(s, LogSource::Pods | LogSource::Nodes))
            .collect();
        if sources.is_empty() {
            // Everything asked for is exported by the provider: no collector.
            return None;
        }
        Some(Plan {
            collector: l.collector,
            namespace: l.namespace.clone(),
            host: l.elasticsearch.host.clone(),
            port: l.elasticsearch.port,
            tls: l.elasticsearch.scheme == Scheme::Https,
            index_prefix: l.elasticsearch.index_prefix.clone(),
            ca_secret: l.elasticsearch.ca_secret.clone(),
            audit_path: sources
                .contains(&LogSource::Audit)
                .then(|| m.profile.api_server.audit.log_path.clone()),
            sources,
        })
    }
    fn has(&self, s: LogSource) -> bool {
        self.sources.contains(&s)
    }
    /// Container log files are read (tenant pods or control-plane static pods).
    fn reads_containers(&self) -> bool {
        self.has(LogSource::Pods) || self.has(LogSource::ControlPlane)
    }
    fn reads_journal(&self) -> bool {
        self.has(LogSource::Nodes) || self.has(LogSource::ControlPlane)
    }
}

#[derive(Serialize)]
struct View {
    tail: Option<TailView>,
    control_plane_tail: Option<String>,
    journals: Vec<JournalView>,
    audit_path: Option<String>,
    files: BTreeMap<&'static str, String>,
    es: EsView,
}

#[derive(Serialize)]
struct TailView {
    path: String,
    /// Fluentd: a JSON array; Fluent Bit: a comma-separated list.
    exclude_json: String,
    exclude_list: String,
}

#[derive(Serialize)]
struct JournalView {
    id: String,
    dir: &'static str,
    tag: &'static str,
    units: Vec<&'static str>,
    matches_json: String,
    cursor: String,
}

#[derive(Serialize)]
struct EsView {
    host: String,
    port: u16,
    scheme: &'static str,
    tls: bool,
    index_prefix: String,
    user_env: &'static str,
    password_env: &'static str,
    user_ref: String,
    password_ref: String,
    ca_file: Option<String>,
}

fn control_plane_globs() -> Vec<String> {
    CONTROL_PLANE
        .iter()
        .map(|c| format!("{CONTAINERS_DIR}/{c}-*_kube-system_{c}-*.log"))
        .collect()
}

fn view(p: &Plan) -> View {
    let k = kind(p.collector);
    let state = state_dir(p.collector);
    let file = |name: &str| format!("{state}/{name}");
    let tail = p.has(LogSource::Pods).then(|| {
        // The collector's own logs would loop back through it; control-plane pods
        // have their own source when it is on.
        let mut exclude = vec![format!(
            "{CONTAINERS_DIR}/{}-*_{}_*.log",
            k.name, p.namespace
        )];
        if p.has(LogSource::ControlPlane) {
            exclude.extend(control_plane_globs());
        }
        TailView {
            path: format!("{CONTAINERS_DIR}/*.log"),
            exclude_json: serde_json::to_string(&exclude).unwrap_or_default(),
            exclude_list: exclude.join(","),
        }
    });
    let mut journals = Vec::new();
    let mut journal = |id: &'static str, tag: &'static str, units: Vec<&'static str>| {
        let matches: Vec<BTreeMap<&str, &str>> = units
            .iter()
            .map(|u| BTreeMap::from([("_SYSTEMD_UNIT", *u)]))
            .collect();
        for (suffix, dir) in JOURNAL_DIRS {
            let id = format!("{id}{suffix}");
            journals.push(JournalView {
                cursor: file(&format!("{id}-cursor.json")),
                id,
                dir,
                tag,
                matches_json: serde_json::to_string(&matches).unwrap_or_default(),
                units: units.clone(),
            });
        }
    };
    if p.has(LogSource::Nodes) {
        journal("in_systemd_node", "journal.node", NODE_UNITS.to_vec());
    }
    if p.has(LogSource::ControlPlane) {
        let units: Vec<&'static str> = vec![
            "etcd.service",
            "kube-apiserver.service",
            "kube-controller-manager.service",
            "kube-scheduler.service",
        ];
        journal("in_systemd_control_plane", "journal.controlplane", units);
    }
    let (user_ref, password_ref) = match p.collector {
        Collector::Fluentd => (String::new(), String::new()),
        Collector::FluentBit => (
            format!("${{{}}}", k.user_env),
            format!("${{{}}}", k.password_env),
        ),
    };
    View {
        tail,
        control_plane_tail: p
            .has(LogSource::ControlPlane)
            .then(|| control_plane_globs().join(",")),
        journals,
        audit_path: p.audit_path.clone(),
        files: BTreeMap::from([
            ("containers_pos", file("containers.log.pos")),
            ("control_plane_pos", file("control-plane.log.pos")),
            ("audit_pos", file("kube-apiserver-audit.log.pos")),
            ("buffer", file("buffer/elasticsearch")),
            ("storage", file("storage")),
            ("containers_db", file("containers.db")),
            ("control_plane_db", file("control-plane.db")),
            ("audit_db", file("kube-apiserver-audit.db")),
            ("parsers", format!("{}/parsers.conf", k.config_dir)),
        ]),
        es: EsView {
            host: p.host.clone(),
            port: p.port,
            scheme: if p.tls { "https" } else { "http" },
            tls: p.tls,
            index_prefix: p.index_prefix.clone(),
            user_env: k.user_env,
            password_env: k.password_env,
            ca_file: p.ca_secret.as_ref().map(|_| format!("{CA_DIR}/ca.crt")),
            user_ref,
            password_ref,
        },
    }
}

/// Quote `s` as a fluent.conf double-quoted string: `\`, `"` and `#` are
/// escaped (an unescaped `#{` would run embedded Ruby). Control characters
/// (newlines, tabs) cannot be written safely and are refused.
pub fn fluent_quote(s: &str) -> Result<String, String> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "`{}` contains the control character {c:?}, which fluent.conf cannot hold",
            s.escape_debug()
        ));
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// A Fluent Bit classic-format value: the rest of the line, trimmed, with
/// `${NAME}` expanded and no escapes. Anything that would change on the way
/// through (control characters, outer white space, `${`, `#`) is refused.
pub fn fluentbit_value(s: &str) -> Result<String, String> {
    let bad = if s.is_empty() {
        Some("it is empty")
    } else if s.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if s.trim() != s {
        Some("it starts or ends with white space")
    } else if s.contains("${") {
        Some("it contains `${`, which Fluent Bit expands as a variable")
    } else if s.contains('#') {
        Some("it contains `#`")
    } else {
        None
    };
    match bad {
        Some(why) => Err(format!(
            "`{}` cannot be written into the Fluent Bit configuration: {why}",
            s.escape_debug()
        )),
        None => Ok(s.to_owned()),
    }
}

fn engine() -> Result<tera::Tera, String> {
    let mut t = tera::Tera::default();
    // .conf files are not HTML; escaping is the filters' job.
    t.autoescape_on(Vec::<&str>::new());
    // Filters first: Tera 2 checks filter names when a template is added.
    t.register_filter(
        "fluent_quote",
        |s: &str, _: tera::Kwargs, _: &tera::State| -> tera::TeraResult<String> {
            fluent_quote(s).map_err(tera::Error::message)
        },
    );
    t.register_filter(
        "fluentbit_value",
        |s: &str, _: tera::Kwargs, _: &tera::State| -> tera::TeraResult<String> {
            fluentbit_value(s).map_err(tera::Error::message)
        },
    );
    for (name, text) in [
        ("fluent.conf", FLUENTD_TEMPLATE),
        ("fluent-bit.conf", FLUENT_BIT_TEMPLATE),
    ] {
        t.add_raw_template(name, text).map_err(|e| {
            format!("internal error: template {name}: {e}; this is a bug in kharden")
        })?;
    }
    Ok(t)
}

/// The collector's configuration files, by file name.
pub fn config_files(p: &Plan) -> Result<BTreeMap<String, String>, String> {
    let t = engine()?;
    let ctx = tera::Context::from_serialize(&view(p))
        .map_err(|e| format!("internal error: {e}; this is a bug in kharden"))?;
    let name = match p.collector {
        Collector::Fluentd => "fluent.conf",
        Collector::FluentBit => "fluent-bit.conf",
    };
    let text = t.render(name, &ctx).map_err(|e| {
        // Validation refuses every value the filters refuse; reaching this is a bug.
        format!("internal error: cannot render {name}: {e}; this is a bug in kharden")
    })?;
    let mut files = BTreeMap::from([(name.to_owned(), text)]);
    if p.collector == Collector::FluentBit {
        files.insert("parsers.conf".to_owned(), FLUENT_BIT_PARSERS.to_owned());
    }
    Ok(files)
}

// ---------------------------------------------------------------------------
// Objects

/// An Elasticsearch inside the cluster usually has a certificate from its
/// own CA (ECK makes one), which the image's public bundle cannot verify.
pub fn notes(m: &Model) -> Vec<String> {
    let Some(p) = Plan::from_model(m) else {
        return Vec::new();
    };
    let host = p.host.strip_suffix(".cluster.local").unwrap_or(&p.host);
    if p.tls && p.ca_secret.is_none() && host.ends_with(".svc") {
        vec![format!(
            "warning: `{}` is inside the cluster, but no `logging.elasticsearch.caSecret` is set: the collector verifies its certificate against the image's public CA bundle only, and a private CA (as ECK makes) fails every TLS handshake",
            p.host
        )]
    } else {
        Vec::new()
    }
}

pub fn render(m: &Model) -> Result<Vec<Manifest>, String> {
    let Some(plan) = Plan::from_model(m) else {
        return Ok(Vec::new());
    };
    let Some(l) = &m.profile.logging else {
        return Ok(Vec::new());
    };
    let k = kind(plan.collector);
    let ns = plan.namespace.as_str();
    let mut out = Vec::new();

    // Namespace: hostPath volumes are forbidden at baseline and restricted, so the
    // collector's namespace enforces privileged; audit and warn stay at restricted
    // so every deviation stays visible.
    let version = format!("v{}", m.profile.cluster.kubernetes_version);
    let mut md = meta(ns, None);
    let labels = md.labels.get_or_insert_with(BTreeMap::new);
    for (mode, lvl) in [
        ("enforce", "privileged"),
        ("audit", "restricted"),
        ("warn", "restricted"),
    ] {
        labels.insert(format!("pod-security.kubernetes.io/{mode}"), lvl.to_owned());
        labels.insert(
            format!("pod-security.kubernetes.io/{mode}-version"),
            version.clone(),
        );
    }
    md.annotations = Some(BTreeMap::from([(
        JUSTIFICATION.to_owned(),
        format!(
            "Pod Security privileged: the {} log collector reads node log files through hostPath volumes \
             (forbidden at baseline and restricted) and runs as root to read root-owned log files. \
             It drops every capability, cannot escalate privileges and has a read-only root filesystem.",
            k.name
        ),
    )]));
    out.push(Manifest::k8s(&Namespace {
        metadata: md,
        ..Namespace::default()
    })?);

    out.push(crate::concern::rbac::default_service_account(meta(
        "default",
        Some(ns),
    ))?);
    out.push(Manifest::k8s(&ServiceAccount {
        metadata: meta(k.name, Some(ns)),
        // The token is mounted only into the collector's pods (see the pod spec).
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    })?);

    let role_name = format!("kharden-logging-{}", k.name);
    let mut rmd = meta(&role_name, None);
    rmd.annotations = Some(BTreeMap::from([(
        JUSTIFICATION.to_owned(),
        "The log collector adds each record's pod and namespace metadata, in every namespace; read-only (get, list, watch on pods and namespaces)."
            .to_owned(),
    )]));
    out.push(Manifest::k8s(&ClusterRole {
        metadata: rmd.clone(),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["namespaces".to_owned(), "pods".to_owned()]),
            verbs: ["get", "list", "watch"].map(str::to_owned).to_vec(),
            ..PolicyRule::default()
        }]),
        aggregation_rule: None,
    })?);
    out.push(Manifest::k8s(&ClusterRoleBinding {
        metadata: rmd,
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "ClusterRole".to_owned(),
            name: role_name.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: k.name.to_owned(),
            namespace: Some(ns.to_owned()),
            api_group: None,
        }]),
    })?);

    let files = config_files(&plan)?;
    let config_name = format!("{}-config", k.name);
    let hash = names::fnv1a(&files.values().cloned().collect::<Vec<_>>().join("\0"));
    out.push(Manifest::k8s(&ConfigMap {
        metadata: meta(&config_name, Some(ns)),
        data: Some(files),
        ..ConfigMap::default()
    })?);

    let image = l.image.clone().unwrap_or_else(|| k.image.to_owned());
    out.push(Manifest::k8s(&daemon_set(
        &plan,
        &k,
        &image,
        &config_name,
        &format!("{hash:016x}"),
        &l.elasticsearch.credentials_secret,
    ))?);
    Ok(out)
}

struct HostMount {
    name: &'static str,
    path: String,
    kind: &'static str,
    writable: bool,
}

/// Exactly the host paths the chosen sources read, plus the state directory.
fn host_mounts(p: &Plan) -> Vec<HostMount> {
    let ro = |name, path: &str, kind| HostMount {
        name,
        path: path.to_owned(),
        kind,
        writable: false,
    };
    let mut v = Vec::new();
    if p.reads_containers() {
        // /var/log/containers holds symlinks into /var/log/pods; both are needed.
        v.push(ro("containers", CONTAINERS_DIR, "Directory"));
        v.push(ro("pods", PODS_DIR, "Directory"));
    }
    if p.reads_journal() {
        // `Directory` would keep the pod from starting on a node whose journal
        // is volatile. Creating /var/log/journal there makes journald persist
        // from its next start (bounded by its SystemMaxUse, 10% of the disk).
        v.push(ro("journal", JOURNAL_DIRS[0].1, "DirectoryOrCreate"));
        v.push(ro(
            "journal-runtime",
            JOURNAL_DIRS[1].1,
            "DirectoryOrCreate",
        ));
        v.push(ro("machine-id", MACHINE_ID, "File"));
    }
    if let Some(a) = &p.audit_path {
        // Only control-plane nodes have the audit directory; elsewhere kubelet
        // creates it empty and the source reads nothing.
        v.push(ro("audit", parent(a), "DirectoryOrCreate"));
    }
    v.push(HostMount {
        name: "state",
        path: state_dir(p.collector),
        kind: "DirectoryOrCreate",
        writable: true,
    });
    v
}

/// Reasoned skips for the scanner findings that remain by design.
fn scanner_skips(p: &Plan, k: &Kind, image: &str) -> BTreeMap<String, String> {
    let root = "reads root-owned log files (0640/0600) on the node; drops all capabilities, no privilege escalation, read-only root filesystem";
    let mut checkov = vec![
        ("CKV_K8S_8", "a log collector serves no traffic to probe; the kubelet restarts it when the process exits".to_owned()),
        ("CKV_K8S_9", "a log collector serves no traffic; there is nothing to be ready for".to_owned()),
        ("CKV_K8S_23", root.to_owned()),
        ("CKV_K8S_35", format!("{} reads the Elasticsearch credentials from env vars set by secretKeyRef; the Secret is never inlined", k.name)),
        ("CKV_K8S_38", "the Kubernetes metadata filter reads pods and namespaces through the API (read-only ClusterRole)".to_owned()),
        ("CKV_K8S_40", root.to_owned()),
    ];
    if !image.contains("@sha256:") {
        checkov.push((
            "CKV_K8S_43",
            "pinned to an exact release tag; set logging.image to pin a digest".to_owned(),
        ));
    }
    let mut a: BTreeMap<String, String> = checkov
        .into_iter()
        .enumerate()
        .map(|(i, (id, why))| (format!("checkov.io/skip{}", i + 1), format!("{id}={why}")))
        .collect();
    a.insert(
        "ignore-check.kube-linter.io/run-as-non-root".to_owned(),
        root.to_owned(),
    );
    a.insert(
        "ignore-check.kube-linter.io/writable-host-mount".to_owned(),
        format!(
            "only {} is writable: tail positions, journal cursors and the output buffer",
            state_dir(p.collector)
        ),
    );
    if p.reads_journal() {
        a.insert(
            "ignore-check.kube-linter.io/sensitive-host-mounts".to_owned(),
            "mounts only /etc/machine-id from /etc, read-only: the journal reader needs it to find the node's journal".to_owned(),
        );
    }
    a
}

fn daemon_set(
    p: &Plan,
    k: &Kind,
    image: &str,
    config_name: &str,
    hash: &str,
    secret: &str,
) -> DaemonSet {
    let selector = BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), k.name.to_owned()),
        (
            "app.kubernetes.io/component".to_owned(),
            "log-collector".to_owned(),
        ),
    ]);
    let mut md = meta(k.name, Some(&p.namespace));
    md.labels
        .get_or_insert_with(BTreeMap::new)
        .extend(selector.clone());
    md.annotations = Some(scanner_skips(p, k, image));

    let mut pod_labels = selector.clone();
    pod_labels.insert(
        crate::manifest::MANAGED_BY.0.to_owned(),
        crate::manifest::MANAGED_BY.1.to_owned(),
    );

    let secret_env = |name: &str, key: &str| EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    };
    let env = vec![
        // The metadata filter watches only this node's pods.
        EnvVar {
            name: "K8S_NODE_NAME".to_owned(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "spec.nodeName".to_owned(),
                    api_version: None,
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
        secret_env(k.user_env, "username"),
        secret_env(k.password_env, "password"),
    ];

    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for h in host_mounts(p) {
        volumes.push(Volume {
            name: h.name.to_owned(),
            host_path: Some(HostPathVolumeSource {
                path: h.path.clone(),
                type_: Some(h.kind.to_owned()),
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: h.name.to_owned(),
            mount_path: h.path,
            read_only: Some(!h.writable),
            ..VolumeMount::default()
        });
    }
    volumes.push(Volume {
        name: "config".to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_name.to_owned(),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    });
    mounts.push(VolumeMount {
        name: "config".to_owned(),
        mount_path: k.config_dir.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    });
    if let Some(ca) = &p.ca_secret {
        volumes.push(Volume {
            name: "elasticsearch-ca".to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(ca.clone()),
                items: Some(vec![KeyToPath {
                    key: "ca.crt".to_owned(),
                    path: "ca.crt".to_owned(),
                    mode: None,
                }]),
                // A missing Secret keeps the pod pending, visibly, rather than
                // starting a collector that cannot verify its output.
                optional: Some(false),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: "elasticsearch-ca".to_owned(),
            mount_path: CA_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    let (command, args) = match p.collector {
        Collector::Fluentd => {
            // Ruby writes temporary files; the root filesystem stays read-only.
            volumes.push(Volume {
                name: "tmp".to_owned(),
                empty_dir: Some(EmptyDirVolumeSource {
                    size_limit: Some(Quantity("64Mi".to_owned())),
                    ..EmptyDirVolumeSource::default()
                }),
                ..Volume::default()
            });
            mounts.push(VolumeMount {
                name: "tmp".to_owned(),
                mount_path: "/tmp".to_owned(),
                ..VolumeMount::default()
            });
            // The image's entrypoint runs fluentd on /fluentd/etc/fluent.conf.
            (None, None)
        }
        Collector::FluentBit => (
            Some(vec!["/fluent-bit/bin/fluent-bit".to_owned()]),
            Some(vec![format!("--config={}/fluent-bit.conf", k.config_dir)]),
        ),
    };
    let (req_cpu, req_mem, lim_cpu, lim_mem) = match p.collector {
        Collector::Fluentd => ("100m", "256Mi", "1", "512Mi"),
        Collector::FluentBit => ("50m", "64Mi", "500m", "256Mi"),
    };
    let q = |s: &str| Quantity(s.to_owned());

    DaemonSet {
        metadata: md,
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(selector),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    labels: Some(pod_labels),
                    // A new configuration rolls the pods.
                    annotations: Some(BTreeMap::from([(
                        "kharden.dev/config-hash".to_owned(),
                        hash.to_owned(),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(k.name.to_owned()),
                    automount_service_account_token: Some(true),
                    termination_grace_period_seconds: Some(30),
                    tolerations: Some(vec![Toleration {
                        key: Some("node-role.kubernetes.io/control-plane".to_owned()),
                        operator: Some("Exists".to_owned()),
                        effect: Some("NoSchedule".to_owned()),
                        ..Toleration::default()
                    }]),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".to_owned(),
                            localhost_profile: None,
                        }),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![Container {
                        name: k.name.to_owned(),
                        image: Some(image.to_owned()),
                        // Always: the kubelet checks the registry (and the pull
                        // credentials) at every start instead of trusting a cached
                        // image a tag may no longer name; checkov CKV_K8S_15.
                        image_pull_policy: Some("Always".to_owned()),
                        command,
                        args,
                        env: Some(env),
                        resources: Some(ResourceRequirements {
                            requests: Some(BTreeMap::from([
                                ("cpu".to_owned(), q(req_cpu)),
                                ("memory".to_owned(), q(req_mem)),
                            ])),
                            limits: Some(BTreeMap::from([
                                ("cpu".to_owned(), q(lim_cpu)),
                                ("memory".to_owned(), q(lim_mem)),
                            ])),
                            ..ResourceRequirements::default()
                        }),
                        security_context: Some(SecurityContext {
                            // Root, but nothing more: log files on the node are
                            // root-owned and not world-readable.
                            run_as_user: Some(0),
                            run_as_non_root: Some(false),
                            privileged: Some(false),
                            allow_privilege_escalation: Some(false),
                            read_only_root_filesystem: Some(true),
                            capabilities: Some(Capabilities {
                                drop: Some(vec!["ALL".to_owned()]),
                                add: None,
                            }),
                            ..SecurityContext::default()
                        }),
                        volume_mounts: Some(mounts),
                        ..Container::default()
                    }],
                    volumes: Some(volumes),
                    ..PodSpec::default()
                }),
            },
            ..DaemonSetSpec::default()
        }),
        ..DaemonSet::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::*;
    use crate::testing::{errors, object, render};

    // -- A minimal fluent.conf reader, to prove what Fluentd will read back ------

    /// A parameter value as Fluentd's parser yields it; `code` marks an
    /// unescaped `#{...}` (embedded Ruby that Fluentd would evaluate).
    #[derive(Debug, Clone, PartialEq)]
    struct Param {
        value: String,
        code: bool,
    }

    #[derive(Debug, Default, Clone)]
    struct Section {
        name: String,
        arg: String,
        params: BTreeMap<String, Param>,
        children: Vec<Section>,
    }

    impl Section {
        fn get(&self, k: &str) -> &str {
            match self.params.get(k) {
                Some(p) => &p.value,
                None => panic!("no `{k}` in <{} {}>", self.name, self.arg),
            }
        }
        fn child(&self, name: &str) -> &Section {
            let found: Vec<_> = self.children.iter().filter(|c| c.name == name).collect();
            assert_eq!(found.len(), 1, "<{name}> in <{}>", self.name);
            found[0]
        }
        /// Top-level directives of a kind, by `@id` (or `@type` without one).
        fn all(&self, name: &str) -> Vec<&Section> {
            self.children.iter().filter(|c| c.name == name).collect()
        }
        fn by_id(&self, id: &str) -> &Section {
            match self
                .children
                .iter()
                .find(|c| c.params.get("@id").is_some_and(|p| p.value == id))
            {
                Some(s) => s,
                None => panic!("no directive with @id {id}"),
            }
        }
    }

    /// Directives `<name arg>` … `</name>` (nested), `key value` lines, `#`
    /// comments, double-quoted values with Fluentd's escapes.
    fn parse_fluent(text: &str) -> Section {
        let mut stack = vec![Section::default()];
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("</") {
                let name = rest.strip_suffix('>').expect("closing tag").trim();
                let done = stack.pop().expect("balanced");
                assert_eq!(done.name, name, "line {}: closes <{}>", n + 1, done.name);
                stack.last_mut().expect("parent").children.push(done);
                continue;
            }
            if let Some(rest) = line.strip_prefix('<') {
                let inner = rest.strip_suffix('>').expect("opening tag");
                let (name, arg) = inner.split_once(' ').unwrap_or((inner, ""));
                stack.push(Section {
                    name: name.to_owned(),
                    arg: arg.trim().to_owned(),
                    ..Section::default()
                });
                continue;
            }
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            let rest = rest.trim_start();
            let param = match rest.strip_prefix('"') {
                Some(q) => parse_double_quoted(q),
                None => Param {
                    value: rest.to_owned(),
                    code: false,
                },
            };
            let top = stack.last_mut().expect("section");
            assert!(
                top.params.insert(key.to_owned(), param).is_none(),
                "line {}: `{key}` twice",
                n + 1
            );
        }
        assert_eq!(stack.len(), 1, "unclosed <{}>", stack[stack.len() - 1].name);
        stack.pop().expect("root")
    }

    fn parse_double_quoted(s: &str) -> Param {
        let mut out = String::new();
        let mut code = false;
        let mut chars = s.chars().peekable();
        loop {
            match chars.next() {
                None => panic!("unterminated string: {s}"),
                Some('"') => {
                    let tail: String = chars.collect();
                    assert!(tail.trim().is_empty(), "text after a string: {tail:?}");
                    return Param { value: out, code };
                }
                Some('\\') => match chars.next().expect("escape") {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'f' => out.push('\u{c}'),
                    'b' => out.push('\u{8}'),
                    '0' => out.push('\0'),
                    c if c.is_ascii_alphanumeric() => panic!("Fluentd rejects the escape \\{c}"),
                    c => out.push(c),
                },
                Some('#') if chars.peek() == Some(&'{') => {
                    code = true;
                    out.push('#');
                    for c in chars.by_ref() {
                        out.push(c);
                        if c == '}' {
                            break;
                        }
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    // -- A minimal Fluent Bit classic-format reader -----------------------------

    /// `[SECTION]` headers, indented `Key value` entries (value = rest of line,
    /// trimmed), `#` comment lines. Keys may repeat (Systemd_Filter).
    fn parse_fluent_bit(text: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for line in text.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                assert!(!line.starts_with(' '), "indented header: {line}");
                out.push((name.to_owned(), Vec::new()));
                continue;
            }
            assert!(line.starts_with("    "), "entry outside a section: {line}");
            let (k, v) = t.split_once(char::is_whitespace).expect("key value");
            out.last_mut()
                .expect("section")
                .1
                .push((k.to_owned(), v.trim().to_owned()));
        }
        out
    }

    fn fb_get<'a>(s: &'a [(String, String)], k: &str) -> &'a str {
        match s.iter().find(|(key, _)| key == k) {
            Some((_, v)) => v,
            None => panic!("no `{k}` in {s:?}"),
        }
    }

    fn fb_section<'a>(
        conf: &'a [(String, Vec<(String, String)>)],
        alias: &str,
    ) -> &'a [(String, String)] {
        match conf
            .iter()
            .find(|(_, e)| e.iter().any(|(k, v)| k == "Alias" && v == alias))
        {
            Some((_, e)) => e,
            None => panic!("no section with Alias {alias}"),
        }
    }

    // -- Profiles -------------------------------------------------------------

    const ES: &str = "  elasticsearch: {host: elasticsearch.logging.svc, port: 9200, scheme: https, indexPrefix: prod-east, credentialsSecret: elasticsearch-credentials}\n";

    fn logging(extra: &str, sources: &str) -> String {
        format!("logging:\n  namespace: logging\n  sources: {sources}\n{ES}{extra}")
    }

    fn all_sources(collector: &str) -> Vec<(String, Value)> {
        render(&logging(
            &format!("  collector: {collector}\n"),
            "[controlPlane, pods, nodes, audit]",
        ))
    }

    fn fluent_conf(objs: &[(String, Value)]) -> Section {
        let cm = object(objs, "logging/configmap-fluentd-config.yaml");
        parse_fluent(cm["data"]["fluent.conf"].as_str().expect("fluent.conf"))
    }

    fn plan(collector: Collector, host: &str, prefix: &str, audit: &str) -> Plan {
        Plan {
            collector,
            namespace: "logging".to_owned(),
            sources: [
                LogSource::Pods,
                LogSource::Nodes,
                LogSource::ControlPlane,
                LogSource::Audit,
            ]
            .into_iter()
            .collect(),
            host: host.to_owned(),
            port: 9200,
            tls: true,
            index_prefix: prefix.to_owned(),
            audit_path: Some(audit.to_owned()),
            ca_secret: None,
        }
    }

    #[test]
    fn an_in_cluster_elasticsearch_is_verified_against_its_own_ca() {
        for collector in ["fluentd", "fluent-bit"] {
            let objs = render(&format!(
                "logging:\n  collector: {collector}\n  sources: [pods]\n  elasticsearch: {{host: es-http.logging.svc, indexPrefix: k, credentialsSecret: es, caSecret: es-http-certs-public}}\n"
            ));
            let name = if collector == "fluentd" {
                "fluentd"
            } else {
                "fluent-bit"
            };
            let ds = object(&objs, &format!("logging/daemonset-{name}.yaml"));
            let pod = &ds["spec"]["template"]["spec"];
            let vol = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == "elasticsearch-ca")
                .unwrap();
            assert_eq!(vol["secret"]["secretName"], "es-http-certs-public");
            assert_eq!(vol["secret"]["items"][0]["key"], "ca.crt");
            let mount = pod["containers"][0]["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == "elasticsearch-ca")
                .unwrap();
            assert_eq!(mount["readOnly"], true);
            // The file the collector's TLS setting names is the mounted key.
            let file = format!("{}/{}", mount["mountPath"].as_str().unwrap(), "ca.crt");
            if collector == "fluentd" {
                let conf = fluent_conf(&objs);
                assert_eq!(conf.by_id("out_es").get("ca_file"), file);
            } else {
                let cm = object(&objs, "logging/configmap-fluent-bit-config.yaml");
                let conf = parse_fluent_bit(cm["data"]["fluent-bit.conf"].as_str().unwrap());
                assert_eq!(fb_get(fb_section(&conf, "out_es"), "tls.ca_file"), file);
            }
        }
        // Without it, the gap is said, not left to a failing handshake.
        let text = format!("{}{}", crate::testing::HEAD, logging("", "[pods]"));
        let m = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
        assert!(
            super::notes(&m).iter().any(|n| n.contains("caSecret")),
            "{:?}",
            super::notes(&m)
        );
        let e = errors(
            "logging:\n  sources: [pods]\n  elasticsearch: {host: es.logging.svc, scheme: http, indexPrefix: k, credentialsSecret: es, caSecret: ca}\n",
        );
        assert!(
            e.contains("`caSecret` verifies TLS, but `scheme` is `http`"),
            "{e}"
        );
    }

    const HOSTILE: &[&str] = &[
        "</match>",
        "a\"b",
        "x\" \n<match **>",
        "#{ENV['HOME']}",
        "#{`id`}",
        "${HOME}",
        "back\\slash\\",
        "\\#{x}",
        "a # not a comment",
        "'single' and \"double\"",
        "@type null",
        "</source>\n<source>",
    ];

    // -- Escaping ---------------------------------------------------------------

    /// Every representable hostile value comes back from fluent.conf exactly as
    /// given, as plain text (never embedded code); the others are refused.
    #[test]
    fn fluent_conf_round_trips_hostile_values() {
        for h in HOSTILE {
            let files = config_files(&plan(Collector::Fluentd, h, h, h));
            if h.contains('\n') {
                let e = files.unwrap_err();
                assert!(e.contains("control character"), "{e}");
                continue;
            }
            let conf = parse_fluent(&files.unwrap()["fluent.conf"]);
            let es = conf.by_id("out_es");
            let audit = conf.by_id("in_tail_kube_apiserver_audit");
            for (got, what) in [
                (&es.params["host"], "host"),
                (&es.params["logstash_prefix"], "logstash_prefix"),
                (&audit.params["path"], "audit path"),
            ] {
                assert_eq!(
                    got,
                    &Param {
                        value: (*h).to_owned(),
                        code: false
                    },
                    "{what} for {h:?}"
                );
            }
            // The structure is unchanged: no directive was injected or closed early.
            assert_eq!(conf.all("source").len(), 7, "{h:?}");
            assert_eq!(conf.all("match").len(), 2, "{h:?}");
            assert_eq!(es.child("buffer").get("@type"), "file");
        }
    }

    #[test]
    fn fluent_quote_escapes_exactly_the_special_characters() {
        assert_eq!(fluent_quote("plain").unwrap(), "\"plain\"");
        assert_eq!(fluent_quote("a\"b\\c#{d}").unwrap(), r#""a\"b\\c\#{d}""#);
        for bad in ["a\nb", "a\rb", "a\tb", "\0"] {
            assert!(fluent_quote(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fluent_bit_values_round_trip_or_are_refused() {
        for h in HOSTILE {
            let files = config_files(&plan(Collector::FluentBit, h, h, h));
            let representable = !(h.contains('\n') || h.contains("${") || h.contains('#'));
            match files {
                Err(e) => {
                    assert!(!representable, "{h:?} refused: {e}");
                    assert!(
                        e.contains("cannot be written into the Fluent Bit configuration"),
                        "{e}"
                    );
                }
                Ok(files) => {
                    assert!(representable, "{h:?} was written");
                    let conf = parse_fluent_bit(&files["fluent-bit.conf"]);
                    let out = fb_section(&conf, "out_es");
                    assert_eq!(fb_get(out, "Host"), *h);
                    assert_eq!(fb_get(out, "Logstash_Prefix"), *h);
                    let audit = fb_section(&conf, "in_tail_kube_apiserver_audit");
                    assert_eq!(fb_get(audit, "Path"), *h);
                    assert_eq!(conf.iter().filter(|(n, _)| n == "INPUT").count(), 7);
                    assert_eq!(conf.iter().filter(|(n, _)| n == "OUTPUT").count(), 1);
                }
            }
        }
        for bad in [" lead", "trail ", ""] {
            assert!(fluentbit_value(bad).is_err(), "{bad:?}");
        }
    }

    /// A path with quotes, `#`, a backslash and `</match>` is a valid file name:
    /// it passes validation and reaches Fluentd intact.
    #[test]
    fn hostile_but_valid_audit_path_reaches_fluentd_intact() {
        let path = r#"/var/log/a "b" \ #x </match>/audit.log"#;
        let objs = render(&format!(
            "apiServer:\n  audit: {{logPath: '{path}'}}\n{}",
            logging("", "[audit]")
        ));
        let conf = fluent_conf(&objs);
        let p = &conf.by_id("in_tail_kube_apiserver_audit").params["path"];
        assert_eq!(p.value, path);
        assert!(!p.code);
        let ds = object(&objs, "logging/daemonset-fluentd.yaml");
        let vols = ds["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .unwrap();
        assert!(
            vols.iter()
                .any(|v| v["hostPath"]["path"] == r#"/var/log/a "b" \ #x </match>"#)
        );
    }

    // -- Meaning of the rendered objects ---------------------------------------

    #[test]
    fn contract_renders_fluentd_with_rbac_in_a_privileged_namespace() {
        let objs = all_sources("fluentd");
        let ns = object(&objs, "_cluster/namespace-logging.yaml");
        let l = &ns["metadata"]["labels"];
        assert_eq!(l["pod-security.kubernetes.io/enforce"], "privileged");
        assert_eq!(l["pod-security.kubernetes.io/warn"], "restricted");
        let why = ns["metadata"]["annotations"]["kharden.dev/justification"]
            .as_str()
            .unwrap();
        assert!(why.contains("hostPath"), "{why}");

        let role = object(&objs, "_cluster/clusterrole-kharden-logging-fluentd.yaml");
        assert_eq!(
            role["rules"],
            json!([{"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": ["get", "list", "watch"]}])
        );
        let crb = object(
            &objs,
            "_cluster/clusterrolebinding-kharden-logging-fluentd.yaml",
        );
        assert_eq!(
            crb["subjects"],
            json!([{"kind": "ServiceAccount", "name": "fluentd", "namespace": "logging"}])
        );
        assert!(crb["metadata"]["annotations"]["kharden.dev/justification"].is_string());
        let sa = object(&objs, "logging/serviceaccount-fluentd.yaml");
        assert_eq!(sa["automountServiceAccountToken"], false);
        let sa = object(&objs, "logging/serviceaccount-default.yaml");
        assert_eq!(sa["automountServiceAccountToken"], false);
    }

    #[test]
    fn daemon_set_is_pinned_read_only_and_uses_secret_refs() {
        let objs = all_sources("fluentd");
        let ds = object(&objs, "logging/daemonset-fluentd.yaml");
        let pod = &ds["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        let image = c["image"].as_str().unwrap();
        assert_eq!(image, FLUENTD_IMAGE);
        let tag = image.rsplit_once(':').unwrap().1;
        assert!(tag != "latest" && tag.contains("1.19.3") && tag.contains("elasticsearch8"));

        assert_eq!(pod["serviceAccountName"], "fluentd");
        assert!(pod.get("serviceAccount").is_none());
        assert_eq!(
            pod["tolerations"],
            json!([{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}])
        );

        // Credentials: only from the Secret, never a literal value.
        let env = c["env"].as_array().unwrap();
        for (name, key) in [
            ("FLUENT_ELASTICSEARCH_USER", "username"),
            ("FLUENT_ELASTICSEARCH_PASSWORD", "password"),
        ] {
            let e = env.iter().find(|e| e["name"] == name).unwrap();
            assert!(e.get("value").is_none());
            assert_eq!(
                e["valueFrom"]["secretKeyRef"],
                json!({"name": "elasticsearch-credentials", "key": key, "optional": false})
            );
        }
        assert!(env.iter().all(|e| e.get("value").is_none()));

        // Every host mount read-only except the state directory.
        let vols: BTreeMap<&str, &Value> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap(), v))
            .collect();
        let mut host = BTreeMap::new();
        for m in c["volumeMounts"].as_array().unwrap() {
            let v = vols[m["name"].as_str().unwrap()];
            if let Some(path) = v["hostPath"]["path"].as_str() {
                assert_eq!(m["mountPath"], path);
                host.insert(path.to_owned(), m["readOnly"] == true);
            }
        }
        assert_eq!(
            host,
            BTreeMap::from([
                ("/etc/machine-id".to_owned(), true),
                ("/var/lib/kharden/fluentd".to_owned(), false),
                ("/var/log/containers".to_owned(), true),
                ("/run/log/journal".to_owned(), true),
                ("/var/log/journal".to_owned(), true),
                ("/var/log/kubernetes/audit".to_owned(), true),
                ("/var/log/pods".to_owned(), true),
            ])
        );

        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["privileged"], false);
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert!(c["resources"]["requests"]["memory"].is_string());
        assert!(c["resources"]["limits"]["memory"].is_string());
        assert!(c["resources"]["limits"]["cpu"].is_string());
        assert_eq!(c["imagePullPolicy"], "Always");

        // Remaining scanner findings are skipped with a reason, in checkov's format.
        let ann = ds["metadata"]["annotations"].as_object().unwrap();
        let skips: Vec<&str> = ann
            .iter()
            .filter(|(k, _)| k.starts_with("checkov.io/skip"))
            .map(|(_, v)| v.as_str().unwrap())
            .collect();
        assert!(skips.len() >= 5);
        for s in &skips {
            let (id, why) = s.split_once('=').unwrap();
            assert!(
                id.starts_with("CKV_K8S_") && why.len() > 20 && !why.contains('='),
                "{s}"
            );
        }
        for id in ["CKV_K8S_23", "CKV_K8S_40", "CKV_K8S_43"] {
            assert!(
                skips.iter().any(|s| s.starts_with(&format!("{id}="))),
                "{id}"
            );
        }
        assert!(ann.contains_key("ignore-check.kube-linter.io/run-as-non-root"));
    }

    #[test]
    fn fluent_conf_has_every_source_and_a_safe_elasticsearch_output() {
        let conf = fluent_conf(&all_sources("fluentd"));
        let tags: Vec<&str> = conf.all("source").iter().map(|s| s.get("tag")).collect();
        assert_eq!(
            tags,
            [
                "kubernetes.*",
                "controlplane.*",
                "journal.node",
                "journal.node",
                "journal.controlplane",
                "journal.controlplane",
                "kube-apiserver-audit"
            ]
        );
        // Both journals, each with its own cursor: persistent and volatile.
        for (id, dir) in [
            ("in_systemd_node", "/var/log/journal"),
            ("in_systemd_node_runtime", "/run/log/journal"),
        ] {
            let j = conf.by_id(id);
            assert_eq!(j.get("path"), dir);
            assert!(
                j.child("storage")
                    .get("path")
                    .ends_with(&format!("{id}-cursor.json"))
            );
        }
        let pods = conf.by_id("in_tail_containers");
        assert_eq!(pods.get("path"), "/var/log/containers/*.log");
        assert_eq!(pods.child("parse").get("@type"), "cri");
        assert!(
            pods.get("pos_file")
                .starts_with("/var/lib/kharden/fluentd/")
        );
        // Control-plane pods are not shipped twice.
        let excluded: Vec<String> = serde_json::from_str(pods.get("exclude_path")).unwrap();
        assert!(
            excluded
                .iter()
                .any(|p| p.contains("kube-apiserver-*_kube-system_"))
        );
        assert!(excluded.iter().any(|p| p.contains("fluentd-*_logging_")));
        assert_eq!(
            conf.by_id("in_tail_control_plane")
                .child("parse")
                .get("@type"),
            "cri"
        );
        let node: Vec<BTreeMap<String, String>> =
            serde_json::from_str(conf.by_id("in_systemd_node").get("matches")).unwrap();
        let units: Vec<&str> = node.iter().map(|m| m["_SYSTEMD_UNIT"].as_str()).collect();
        assert_eq!(units, ["kubelet.service", "containerd.service"]);
        let audit = conf.by_id("in_tail_kube_apiserver_audit");
        assert_eq!(audit.get("path"), "/var/log/kubernetes/audit/audit.log");
        assert_eq!(audit.child("parse").get("@type"), "json");

        let filters: Vec<(&str, &str)> = conf
            .all("filter")
            .iter()
            .map(|f| (f.arg.as_str(), f.get("@type")))
            .collect();
        assert_eq!(
            filters,
            [
                ("kubernetes.** controlplane.**", "concat"),
                ("kubernetes.** controlplane.**", "kubernetes_metadata")
            ]
        );

        let es = conf.by_id("out_es");
        assert_eq!(conf.all("match").last().unwrap().arg, "**");
        for (k, v) in [
            ("@type", "elasticsearch"),
            ("host", "elasticsearch.logging.svc"),
            ("port", "9200"),
            ("scheme", "https"),
            ("logstash_prefix", "prod-east"),
            ("ssl_verify", "true"),
            ("ssl_min_version", "TLSv1_2"),
            ("suppress_type_name", "true"),
            ("default_elasticsearch_version", "8"),
        ] {
            assert_eq!(es.get(k), v, "{k}");
        }
        for k in ["user", "password"] {
            assert!(es.params[k].code && es.get(k).contains("ENV['FLUENT_ELASTICSEARCH_"));
        }
        let buf = es.child("buffer");
        assert_eq!(buf.get("@type"), "file");
        assert_eq!(buf.get("overflow_action"), "block");
        assert_eq!(buf.get("retry_forever"), "true");
        assert!(buf.get("total_limit_size").ends_with("GB"));
        assert!(buf.get("path").starts_with("/var/lib/kharden/fluentd/"));
    }

    #[test]
    fn fluent_bit_renders_the_same_pipeline() {
        let objs = all_sources("fluent-bit");
        let cm = object(&objs, "logging/configmap-fluent-bit-config.yaml");
        let conf = parse_fluent_bit(cm["data"]["fluent-bit.conf"].as_str().unwrap());
        assert!(
            cm["data"]["parsers.conf"]
                .as_str()
                .unwrap()
                .contains("kube-audit-json")
        );
        let tags: Vec<&str> = conf
            .iter()
            .filter(|(n, _)| n == "INPUT")
            .map(|(_, e)| fb_get(e, "Tag"))
            .collect();
        assert_eq!(
            tags,
            [
                "kube.*",
                "kubecp.*",
                "journal.node",
                "journal.node",
                "journal.controlplane",
                "journal.controlplane",
                "kube-apiserver-audit"
            ]
        );
        let pods = fb_section(&conf, "in_tail_containers");
        assert_eq!(fb_get(pods, "multiline.parser"), "cri");
        let kube = fb_section(&conf, "filter_kube_metadata");
        assert_eq!(fb_get(kube, "K8S-Logging.Exclude"), "Off");
        assert_eq!(fb_get(kube, "Kube_Tag_Prefix"), "kube.var.log.containers.");
        let out = fb_section(&conf, "out_es");
        for (k, v) in [
            ("Name", "es"),
            ("Host", "elasticsearch.logging.svc"),
            ("Port", "9200"),
            ("tls", "On"),
            ("tls.verify", "On"),
            ("tls.verify_hostname", "On"),
            ("tls.min_version", "TLSv1.2"),
            ("Suppress_Type_Name", "On"),
            ("Logstash_Prefix", "prod-east"),
            ("HTTP_User", "${ES_USERNAME}"),
            ("HTTP_Passwd", "${ES_PASSWORD}"),
            ("Retry_Limit", "no_limits"),
        ] {
            assert_eq!(fb_get(out, k), v, "{k}");
        }
        let ds = object(&objs, "logging/daemonset-fluent-bit.yaml");
        let c = &ds["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], FLUENT_BIT_IMAGE);
        assert_eq!(
            c["args"],
            json!(["--config=/fluent-bit/etc/conf/fluent-bit.conf"])
        );
        let env = c["env"].as_array().unwrap();
        let pw = env.iter().find(|e| e["name"] == "ES_PASSWORD").unwrap();
        assert_eq!(pw["valueFrom"]["secretKeyRef"]["key"], "password");
        object(
            &objs,
            "_cluster/clusterrole-kharden-logging-fluent-bit.yaml",
        );
    }

    #[test]
    fn only_what_the_sources_read_is_mounted() {
        let objs = render(&logging("", "[pods]"));
        let ds = object(&objs, "logging/daemonset-fluentd.yaml");
        let paths: Vec<&str> = ds["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v["hostPath"]["path"].as_str())
            .collect();
        assert_eq!(
            paths,
            [
                "/var/log/containers",
                "/var/log/pods",
                "/var/lib/kharden/fluentd"
            ]
        );
        assert!(
            !ds["metadata"]["annotations"]
                .as_object()
                .unwrap()
                .contains_key("ignore-check.kube-linter.io/sensitive-host-mounts")
        );
        let conf = fluent_conf(&objs);
        assert_eq!(conf.all("source").len(), 1);
    }

    #[test]
    fn plain_http_is_an_explicit_choice_without_tls_settings() {
        let objs = render(
            "logging:\n  sources: [pods]\n  elasticsearch: {host: 10.0.0.5, scheme: http, indexPrefix: k8s, credentialsSecret: es}\n",
        );
        let es = fluent_conf(&objs).by_id("out_es").clone();
        assert_eq!(es.get("scheme"), "http");
        assert!(!es.params.contains_key("ssl_min_version"));
    }

    #[test]
    fn a_digest_pinned_image_needs_no_digest_skip() {
        let img = format!("mirror.example.com/fluentd@sha256:{}", "a".repeat(64));
        let objs = render(&logging(&format!("  image: {img}\n"), "[pods]"));
        let ds = object(&objs, "logging/daemonset-fluentd.yaml");
        assert_eq!(
            ds["spec"]["template"]["spec"]["containers"][0]["image"],
            img
        );
        let ann = ds["metadata"]["annotations"].as_object().unwrap();
        assert!(
            ann.values()
                .all(|v| !v.as_str().unwrap().starts_with("CKV_K8S_43"))
        );
    }

    // -- Refusals ---------------------------------------------------------------

    #[test]
    fn values_no_collector_can_hold_are_refused() {
        let e = errors(&format!(
            "apiServer:\n  audit: {{logPath: \"/var/log/a\\nb/audit.log\"}}\n{}",
            logging("", "[audit]")
        ));
        assert!(e.contains("the log collector cannot read the audit log at `/var/log/a\\nb/audit.log`: it contains a control character"), "{e}");
        let e = errors(&format!(
            "apiServer:\n  audit: {{logPath: /var/log/audit/*.log}}\n{}",
            logging("", "[audit]")
        ));
        assert!(
            e.contains("it contains `*`, which the collector's tail input reads as a pattern"),
            "{e}"
        );
        let e = errors(&format!(
            "apiServer:\n  audit: {{logPath: '/var/log/a#b/audit.log'}}\n{}",
            logging("  collector: fluent-bit\n", "[audit]")
        ));
        assert!(
            e.contains("Fluent Bit's configuration format cannot hold"),
            "{e}"
        );
        let e = errors(&format!(
            "apiServer:\n  audit: {{logPath: /audit.log}}\n{}",
            logging("", "[audit]")
        ));
        assert!(e.contains("give it a directory of its own"), "{e}");
        let e = errors(&format!(
            "apiServer:\n  audit: {{logPath: /var/log/pods/audit.log}}\n{}",
            logging("", "[audit]")
        ));
        assert!(e.contains("already mounted for another purpose"), "{e}");
    }

    #[test]
    fn bad_logging_settings_are_refused() {
        let e = errors(
            "logging:\n  namespace: kube-system\n  sources: [pods]\n  image: fluent/fluentd:latest\n  elasticsearch: {host: \"es:9200\", port: 0, indexPrefix: \"Prod_${x}\", credentialsSecret: es}\n",
        );
        for want in [
            "the log collector cannot run in `kube-system`",
            "image `fluent/fluentd:latest` uses the floating tag `latest`",
            "`es:9200` is not a host name",
            "port 0 is not a port",
            "`Prod_${x}` is not a valid Elasticsearch index prefix: it must start with a lower-case letter or digit",
        ] {
            assert!(e.contains(want), "{want}\n{e}");
        }
        let e = errors(&logging("  image: fluent/fluentd\n", "[pods]"));
        assert!(e.contains("has no tag, so it floats to `latest`"), "{e}");
        let e = errors(&logging("", "[]"));
        assert!(e.contains("`logging.sources` is empty"), "{e}");
        let e = errors(&format!(
            "namespaces:\n  - name: logging\n{}",
            logging("", "[pods]")
        ));
        assert!(e.contains("`logging` is also a tenant namespace"), "{e}");
    }

    #[test]
    fn audit_needs_an_enabled_audit_log_on_a_self_managed_control_plane() {
        let e = errors(&format!(
            "apiServer:\n  audit: {{enabled: false}}\n{}",
            logging("", "[audit]")
        ));
        assert!(e.contains("`apiServer.audit.enabled` is false"), "{e}");
        // On a managed platform the provider exports both: accepted, and the
        // collector reads only the node sources.
        let body = logging("", "[pods, controlPlane, audit]");
        let text = format!("{}{body}", crate::testing::HEAD.replace("kubeadm", "aks"));
        let m = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
        let plan = super::Plan::from_model(&m).unwrap();
        assert_eq!(plan.sources, BTreeSet::from([LogSource::Pods]));
        assert_eq!(plan.audit_path, None);
        // The provider's audit export still needs the audit log on.
        let text = format!(
            "{}apiServer:\n  audit: {{enabled: false}}\n{body}",
            crate::testing::HEAD.replace("kubeadm", "eks")
        );
        let e = crate::load_text(&text, "t.yaml", crate::testing::today())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`apiServer.audit.enabled` is false"), "{e}");
    }
}
