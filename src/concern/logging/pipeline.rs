//! The collector's pipeline as plain data (`Plan`, the template views), the
//! escaping filters of both configuration formats, and the rendered files.

use super::*;
use crate::bundle::manifest::RenderError;
pub(crate) use crate::pipeline::plan::logging::Plan;

impl Plan {
    pub(super) fn from_model(m: &Model) -> Option<Plan> {
        let l = m.profile.logging.as_ref()?;
        let managed = m.platform().control_plane() == ControlPlane::Managed;
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
            credentials_secret: l.elasticsearch.credentials_secret.clone(),
            image: l
                .image
                .clone()
                .unwrap_or_else(|| kind(l.collector).image.to_owned()),
            audit_path: sources
                .contains(&LogSource::Audit)
                .then(|| m.profile.api_server.audit.log_path.clone()),
            sources,
        })
    }
    pub(super) fn has(&self, s: LogSource) -> bool {
        self.sources.contains(&s)
    }
    /// Container log files are read (tenant pods or control-plane static pods).
    pub(super) fn reads_containers(&self) -> bool {
        self.has(LogSource::Pods) || self.has(LogSource::ControlPlane)
    }
    pub(super) fn reads_journal(&self) -> bool {
        self.has(LogSource::Nodes) || self.has(LogSource::ControlPlane)
    }
}

#[derive(Serialize)]
pub(super) struct View {
    tail: Option<TailView>,
    control_plane_tail: Option<String>,
    journals: Vec<JournalView>,
    audit_path: Option<String>,
    files: BTreeMap<&'static str, String>,
    es: EsView,
}

#[derive(Serialize)]
pub(super) struct TailView {
    path: String,
    /// Fluentd: a JSON array; Fluent Bit: a comma-separated list.
    exclude_json: String,
    exclude_list: String,
}

#[derive(Serialize)]
pub(super) struct JournalView {
    id: String,
    /// None: the default journal locations.
    dir: Option<&'static str>,
    tag: &'static str,
    units: Vec<&'static str>,
    matches_json: String,
    cursor: String,
}

#[derive(Serialize)]
pub(super) struct EsView {
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

pub(super) fn control_plane_globs() -> Vec<String> {
    CONTROL_PLANE
        .iter()
        .map(|c| format!("{CONTAINERS_DIR}/{c}-*_kube-system_{c}-*.log"))
        .collect()
}

pub(super) fn view(p: &Plan) -> View {
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
        // A journal directory may be missing (/var/log/journal on a node whose
        // journal is volatile, see `host_mounts`). Fluent Bit refuses to start on
        // a `Path` that does not exist, but without one it opens the node's
        // journal where systemd keeps it (/run/log/journal and /var/log/journal,
        // either may be missing): one input reads both. Fluentd's input always
        // opens one directory (fluent-plugin-systemd passes `path` to
        // `sd_journal_open_directory`) and retries a missing one every second,
        // with a warning in the collector's own log, so it gets one source per
        // directory and picks up /var/log/journal once journald makes it.
        let dirs: Vec<(&str, Option<&'static str>)> = match p.collector {
            Collector::Fluentd => JOURNAL_DIRS.iter().map(|(s, d)| (*s, Some(*d))).collect(),
            Collector::FluentBit => vec![("", None)],
        };
        for (suffix, dir) in dirs {
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

/// Why a value cannot be written into a collector's configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ConfigValueError {
    #[error("`{}` contains the control character {c:?}, which fluent.conf cannot hold", .text.escape_debug())]
    FluentdControl { text: String, c: char },
    #[error("`{}` cannot be written into the Fluent Bit configuration: {why}", .text.escape_debug())]
    FluentBit { text: String, why: FluentBitReason },
}

/// What a Fluent Bit classic-format value cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum FluentBitReason {
    #[error("it is empty")]
    Empty,
    #[error("it contains a control character")]
    Control,
    #[error("it starts or ends with white space")]
    Space,
    #[error("it contains `${{`, which Fluent Bit expands as a variable")]
    Variable,
    #[error("it contains `#`")]
    Hash,
}

/// Quote `s` as a fluent.conf double-quoted string: `\`, `"` and `#` are
/// escaped (an unescaped `#{` would run embedded Ruby). Control characters
/// (newlines, tabs) cannot be written safely and are refused.
pub(super) fn fluent_quote(s: &str) -> Result<String, ConfigValueError> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(ConfigValueError::FluentdControl {
            text: s.to_owned(),
            c,
        });
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
pub(super) fn fluentbit_value(s: &str) -> Result<String, ConfigValueError> {
    let bad = if s.is_empty() {
        Some(FluentBitReason::Empty)
    } else if s.chars().any(char::is_control) {
        Some(FluentBitReason::Control)
    } else if s.trim() != s {
        Some(FluentBitReason::Space)
    } else if s.contains("${") {
        Some(FluentBitReason::Variable)
    } else if s.contains('#') {
        Some(FluentBitReason::Hash)
    } else {
        None
    };
    match bad {
        Some(why) => Err(ConfigValueError::FluentBit {
            text: s.to_owned(),
            why,
        }),
        None => Ok(s.to_owned()),
    }
}

pub(super) fn engine() -> Result<tera::Tera, RenderError> {
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
        t.add_raw_template(name, text)
            .map_err(|e| RenderError::internal(format_args!("template {name}: {e}")))?;
    }
    Ok(t)
}

/// The collector's configuration files, by file name.
pub(crate) fn config_files(p: &Plan) -> Result<BTreeMap<String, String>, RenderError> {
    let t = engine()?;
    let ctx = tera::Context::from_serialize(&view(p)).map_err(RenderError::internal)?;
    let name = match p.collector {
        Collector::Fluentd => "fluent.conf",
        Collector::FluentBit => "fluent-bit.conf",
    };
    let text = t.render(name, &ctx).map_err(|e| {
        // Validation refuses every value the filters refuse; reaching this is a bug.
        RenderError::internal(format_args!("cannot render {name}: {e}"))
    })?;
    let mut files = BTreeMap::from([(name.to_owned(), text)]);
    if p.collector == Collector::FluentBit {
        files.insert("parsers.conf".to_owned(), FLUENT_BIT_PARSERS.to_owned());
    }
    Ok(files)
}
