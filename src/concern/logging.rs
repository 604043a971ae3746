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
    EnvVarSource, HostPathVolumeSource, Namespace, ObjectFieldSelector, PodSecurityContext,
    PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecurityContext, ServiceAccount, Toleration, Volume, VolumeMount,
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
const JOURNAL_DIR: &str = "/var/log/journal";
const MACHINE_ID: &str = "/etc/machine-id";
/// Parent of the per-collector directory for positions, cursors and buffers: the
/// one writable host mount.
const STATE_ROOT: &str = "/var/lib/kharden";

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
    let managed = p.cluster.platform != Platform::Kubeadm;
    for (i, s) in l.sources.iter().enumerate() {
        let what = match s {
            LogSource::ControlPlane => "control-plane",
            LogSource::Audit => "API-server audit",
            _ => continue,
        };
        if managed {
            out.push(
                Diagnostic::error(
                    base.key("sources").index(i),
                    format!(
                        "{what} logs are not on the nodes of a `{}` cluster",
                        platform_name(p.cluster.platform)
                    ),
                )
                .hint("the provider keeps them; export them from its logging service, and remove this source"),
            );
        }
    }
    if l.sources.contains(&LogSource::Audit) && !managed {
        audit_source(m, l.collector, out);
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

fn platform_name(p: Platform) -> &'static str {
    match p {
        Platform::Kubeadm => "kubeadm",
        Platform::Aks => "aks",
        Platform::Eks => "eks",
        Platform::Gke => "gke",
    }
}

/// The audit source reads `apiServer.audit.logPath` (the one field the
/// control-plane rendering writes the flag from). TODO(after merge of #4): read it
/// through that accessor.
fn audit_source(m: &Model, collector: Collector, out: &mut Vec<Diagnostic>) {
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
    if !audit.log_path.starts_with('/') {
        // Reported by the API-server checks already.
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
        JOURNAL_DIR,
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
}

impl Plan {
    fn from_model(m: &Model) -> Option<Plan> {
        let l = m.profile.logging.as_ref()?;
        let sources: BTreeSet<LogSource> = l.sources.iter().copied().collect();
        Some(Plan {
            collector: l.collector,
            namespace: l.namespace.clone(),
            host: l.elasticsearch.host.clone(),
            port: l.elasticsearch.port,
            tls: l.elasticsearch.scheme == Scheme::Https,
            index_prefix: l.elasticsearch.index_prefix.clone(),
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
    journal_dir: &'static str,
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
    id: &'static str,
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
        journals.push(JournalView {
            id,
            tag,
            matches_json: serde_json::to_string(&matches).unwrap_or_default(),
            cursor: file(&format!("{id}-cursor.json")),
            units,
        });
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
        journal_dir: JOURNAL_DIR,
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
        // A missing persistent journal fails the pod visibly instead of shipping nothing.
        v.push(ro("journal", JOURNAL_DIR, "Directory"));
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
                        image_pull_policy: Some("IfNotPresent".to_owned()),
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
