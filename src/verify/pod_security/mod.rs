//! Pod Security Admission as the API server runs it (the `PodSecurity`
//! validating plugin, `k8s.io/pod-security-admission/admission`): the
//! namespace's `pod-security.kubernetes.io/{enforce,audit,warn}` labels and
//! their `-version`s, read from the RENDERED Namespace objects, decide the
//! level each mode evaluates (`checks.rs`). Pods are enforced; workload
//! resources (Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob,
//! ReplicationController, PodTemplate) are only warned about and audited, so
//! one that violates `enforce` is admitted while its pods will be refused.
//!
//! The plugin validates: it sees the object after every mutating admission
//! step. Callers mutate first (`verify` does). No engine is involved here.

mod baseline;
pub mod checks;
mod pod;
mod restricted;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_admission;
mod violation;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Value, json};

pub use checks::check;
pub use pod::Pod;
pub use violation::Violation;

use crate::bundle::manifest::ManifestSet;

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    /// Upstream's `ParseLevel`.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }
}

/// A policy version: `latest` or `v1.N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Latest,
    /// The minor version of 1.N.
    Minor(u32),
}

impl Version {
    /// Upstream's `ParseVersion`: `latest`, or `v1.` and a number without
    /// leading zeros.
    pub fn parse(s: &str) -> Option<Version> {
        if s == "latest" {
            return Some(Version::Latest);
        }
        let n = s.strip_prefix("v1.")?;
        let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
        if !digits || (n.len() > 1 && n.starts_with('0')) {
            return None;
        }
        n.parse().ok().map(Version::Minor)
    }

    /// The version evaluated on a server of minor version `server` (upstream
    /// caps every version, `latest` included, at the newest rules it knows,
    /// which is its own version when that is older).
    fn effective(self, server: Option<u32>) -> Version {
        let cap = server.map_or(checks::NEWEST, |s| s.min(checks::NEWEST));
        match self {
            Version::Latest => Version::Minor(cap),
            Version::Minor(m) => Version::Minor(m.min(cap)),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::Minor(m) => write!(f, "v1.{m}"),
        }
    }
}

/// A level at a version, printed `restricted:v1.33` as PSA prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level.as_str(), self.version)
    }
}

const PRIVILEGED: LevelVersion = LevelVersion {
    level: Level::Privileged,
    version: Version::Latest,
};

/// What each mode evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

impl Policy {
    /// The API server's defaults without a PodSecurityConfiguration.
    pub const PRIVILEGED: Policy = Policy {
        enforce: PRIVILEGED,
        audit: PRIVILEGED,
        warn: PRIVILEGED,
    };

    fn fully_privileged(&self) -> bool {
        [self.enforce, self.audit, self.warn]
            .iter()
            .all(|m| m.level == Level::Privileged)
    }
}

const PREFIX: &str = "pod-security.kubernetes.io/";

/// Upstream's `PolicyToEvaluate`: the namespace's labels over the defaults,
/// with one error per label that does not parse (an unparsable enforce level
/// becomes `restricted`, audit and warn fail open to `privileged`, a bad
/// version becomes `latest`). Warn follows a stricter enforce level when no
/// warn label is set.
pub fn policy_to_evaluate(
    labels: &BTreeMap<String, String>,
    defaults: Policy,
) -> (Policy, Vec<String>) {
    let mut p = defaults;
    let mut errs = Vec::new();
    let label = |key: &str| labels.get(&format!("{PREFIX}{key}"));
    let mut has_enforce = false;
    // Each mode's level, then its version, in upstream's order (the errors
    // come out in it).
    for (mode, lv, fallback) in [
        ("enforce", &mut p.enforce, Level::Restricted),
        ("audit", &mut p.audit, Level::Privileged),
        ("warn", &mut p.warn, Level::Privileged),
    ] {
        if let Some(v) = label(mode) {
            lv.level = Level::parse(v).unwrap_or_else(|| {
                errs.push(format!(
                    "metadata.labels[{PREFIX}{mode}]: Invalid value: {v:?}: must be one of privileged, baseline, restricted"
                ));
                fallback
            });
            has_enforce |= mode == "enforce" && Level::parse(v).is_some();
        }
        let key = format!("{mode}-version");
        if let Some(v) = label(&key) {
            lv.version = Version::parse(v).unwrap_or_else(|| {
                errs.push(format!(
                    "metadata.labels[{PREFIX}{key}]: Invalid value: {v:?}: must be \"latest\" or \"v1.x\""
                ));
                Version::Latest
            });
        }
    }
    let has_warn = label("warn").is_some();
    if !has_warn && has_enforce && p.enforce.level > p.warn.level {
        p.warn.level = p.enforce.level;
        if label("warn-version").is_none() {
            p.warn.version = p.enforce.version;
        }
    }
    (p, errs)
}

/// The plugin's static configuration (a PodSecurityConfiguration).
#[derive(Debug, Clone)]
pub struct Config {
    pub defaults: Policy,
    pub exempt_namespaces: BTreeSet<String>,
    pub exempt_runtime_classes: BTreeSet<String>,
    /// `AdmissionConfiguration/<name>` when the bundle renders one.
    pub from: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            defaults: Policy::PRIVILEGED,
            exempt_namespaces: BTreeSet::new(),
            exempt_runtime_classes: BTreeSet::new(),
            from: None,
        }
    }
}

impl Config {
    /// A PodSecurityConfiguration object, alone or inline in an
    /// AdmissionConfiguration's `PodSecurity` plugin entry.
    fn read(o: &Value) -> Option<Config> {
        let conf = match o["kind"].as_str()? {
            "PodSecurityConfiguration" => o,
            "AdmissionConfiguration" => o["plugins"]
                .as_array()?
                .iter()
                .find(|p| p["name"] == "PodSecurity")
                .map(|p| &p["configuration"])
                .filter(|c| c["kind"] == "PodSecurityConfiguration")?,
            _ => return None,
        };
        let d = &conf["defaults"];
        let lv = |mode: &str| LevelVersion {
            level: d[mode]
                .as_str()
                .and_then(Level::parse)
                .unwrap_or(Level::Privileged),
            version: d[format!("{mode}-version")]
                .as_str()
                .and_then(Version::parse)
                .unwrap_or(Version::Latest),
        };
        let set = |f: &str| -> BTreeSet<String> {
            conf["exemptions"][f]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        };
        Some(Config {
            defaults: Policy {
                enforce: lv("enforce"),
                audit: lv("audit"),
                warn: lv("warn"),
            },
            exempt_namespaces: set("namespaces"),
            exempt_runtime_classes: set("runtimeClasses"),
            from: Some(format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or("PodSecurity")
            )),
        })
    }
}

/// How the plugin treats a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `pods`: enforced, audited, warned.
    Pod,
    /// A workload resource holding a pod template: audited and warned only.
    Controller,
    /// Anything else: not evaluated.
    Other,
}

/// The plugin's treatment of a `group`/`kind` (upstream's
/// `defaultPodSpecResources`).
pub fn target(group: &str, kind: &str) -> Target {
    match (group, kind) {
        ("", "Pod") => Target::Pod,
        ("", "ReplicationController" | "PodTemplate")
        | ("apps", "ReplicaSet" | "Deployment" | "StatefulSet" | "DaemonSet")
        | ("batch", "Job" | "CronJob") => Target::Controller,
        _ => Target::Other,
    }
}

fn group_kind(o: &Value) -> (&str, &str) {
    let api = o["apiVersion"].as_str().unwrap_or_default();
    let group = api.split_once('/').map_or("", |(g, _)| g);
    (group, o["kind"].as_str().unwrap_or_default())
}

/// The pod template of a workload resource (metadata, spec), as upstream's
/// `ExtractPodSpec` finds it; `None` when it holds none.
fn template(o: &Value) -> Option<&Value> {
    let (group, kind) = group_kind(o);
    let t = match (group, kind) {
        ("", "PodTemplate") => &o["template"],
        ("batch", "CronJob") => &o["spec"]["jobTemplate"]["spec"]["template"],
        // A ReplicationController's template is optional; the others' are not,
        // so upstream evaluates an empty one.
        ("", "ReplicationController") if !o["spec"]["template"].is_object() => return None,
        _ => &o["spec"]["template"],
    };
    Some(t)
}

/// The Pod a workload resource's controller would create from its template:
/// what PSA will enforce on. `None` for a Pod or another kind.
pub fn template_pod(o: &Value) -> Option<Value> {
    if target(group_kind(o).0, group_kind(o).1) != Target::Controller {
        return None;
    }
    let t = template(o)?;
    let mut metadata = t["metadata"].clone();
    if !metadata.is_object() {
        metadata = json!({});
    }
    let base = o["metadata"]["name"].as_str().unwrap_or("pod");
    metadata["name"] = json!(format!("{base}-template"));
    Some(json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": t["spec"]}))
}

/// Where a namespace's policy came from, for naming what decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A rendered Namespace's labels.
    Namespace(String),
    /// A namespace the bundle does not render: the plugin's defaults.
    Defaults { from: Option<String> },
}

impl Source {
    /// (kind, name) of the object that decided, for a denial line.
    pub fn object(&self) -> (String, String) {
        match self {
            Source::Namespace(n) => ("Namespace".to_owned(), n.clone()),
            Source::Defaults { from: Some(f) } => match f.split_once('/') {
                Some((k, n)) => (k.to_owned(), n.to_owned()),
                None => (f.clone(), String::new()),
            },
            Source::Defaults { from: None } => ("PodSecurity".to_owned(), "defaults".to_owned()),
        }
    }
}

/// What the plugin answers for one CREATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub target: Target,
    /// `None` when nothing was evaluated (another kind, or an exemption).
    pub policy: Option<Policy>,
    pub source: Source,
    /// `namespace` or `runtimeClass` when exempt.
    pub exempt: Option<&'static str>,
    /// Violations of the enforce level (Pods only; empty for workloads).
    pub enforce: Vec<Violation>,
    pub audit: Vec<Violation>,
    pub warn: Vec<Violation>,
    /// Label parse errors (audited as `error`).
    pub errors: Vec<String>,
    /// The pod could not be decoded.
    pub undecodable: Option<String>,
}

impl Verdict {
    fn blank(target: Target, source: Source) -> Verdict {
        Verdict {
            target,
            policy: None,
            source,
            exempt: None,
            enforce: Vec::new(),
            audit: Vec::new(),
            warn: Vec::new(),
            errors: Vec::new(),
            undecodable: None,
        }
    }

    /// The refusal, worded as PSA words it: `violates PodSecurity
    /// "restricted:v1.33": privileged (container "x" must not set ...)`.
    pub fn denial(&self) -> Option<String> {
        if let Some(e) = &self.undecodable
            && self.target == Target::Pod
        {
            return Some(format!("the API server cannot decode the pod: {e}"));
        }
        let p = self.policy?;
        (!self.enforce.is_empty()).then(|| {
            format!(
                "violates PodSecurity \"{}\": {}",
                p.enforce,
                violation::join(&self.enforce)
            )
        })
    }

    /// The warnings the API server returns to the client (none on a denial).
    pub fn warnings(&self) -> Vec<String> {
        match self.policy {
            Some(p) if self.denial().is_none() && !self.warn.is_empty() => vec![format!(
                "would violate PodSecurity \"{}\": {}",
                p.warn,
                violation::join(&self.warn)
            )],
            _ => Vec::new(),
        }
    }

    /// The audit annotations the plugin records, keyed as the audit log shows
    /// them (`pod-security.kubernetes.io/audit-violations`, ...).
    pub fn audit_annotations(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut put = |k: &str, v: String| out.insert(format!("{PREFIX}{k}"), v);
        if let Some(e) = self.exempt {
            put("exempt", e.to_owned());
        }
        if let Some(e) = &self.undecodable
            && self.target == Target::Controller
        {
            put("error", format!("failed to extract pod template: {e}"));
        }
        let Some(p) = self.policy else { return out };
        match self.errors.as_slice() {
            [] => {}
            [one] => {
                put("error", format!("Failed to parse policy: {one}"));
            }
            many => {
                put(
                    "error",
                    format!("Failed to parse policy: [{}]", many.join(", ")),
                );
            }
        }
        if self.target == Target::Pod {
            let shown = if self.errors.is_empty() && p.fully_privileged() {
                PRIVILEGED
            } else {
                p.enforce
            };
            put("enforce-policy", shown.to_string());
        }
        if !self.audit.is_empty() {
            put(
                "audit-violations",
                format!(
                    "would violate PodSecurity \"{}\": {}",
                    p.audit,
                    violation::join(&self.audit)
                ),
            );
        }
        out
    }
}

/// The cluster as Pod Security sees it: each rendered namespace's labels and
/// the plugin's configuration. Build once, evaluate many requests.
#[derive(Debug, Clone, Default)]
pub struct PodSecurity {
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    config: Config,
    /// The API server's minor version (caps `latest`); `None`: the newest rules.
    server: Option<u32>,
}

impl PodSecurity {
    /// From objects read back (Namespaces, and any AdmissionConfiguration or
    /// PodSecurityConfiguration among them).
    pub fn new(objs: &[Value], server: Option<u32>) -> PodSecurity {
        let mut ps = PodSecurity {
            server,
            ..PodSecurity::default()
        };
        for o in objs {
            if o["kind"] == "Namespace" {
                let labels = o["metadata"]["labels"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect();
                let name = o["metadata"]["name"].as_str().unwrap_or_default();
                ps.namespaces.insert(name.to_owned(), labels);
            } else if let Some(c) = Config::read(o) {
                ps.config = c;
            }
        }
        ps
    }

    /// From a rendered set, control-plane files included (an admission
    /// configuration lives there). kharden renders none today, so the
    /// API server's defaults apply: `privileged`, no exemptions.
    pub fn from_set(set: &ManifestSet, server: Option<u32>) -> PodSecurity {
        let objs: Vec<Value> = set
            .iter()
            .filter_map(|m| serde_saphyr::from_str::<Value>(m.body()).ok())
            .filter(Value::is_object)
            .collect();
        PodSecurity::new(&objs, server)
    }

    /// The policy of `namespace` and where it came from.
    pub fn policy(&self, namespace: &str) -> (Policy, Vec<String>, Source) {
        match self.namespaces.get(namespace) {
            Some(labels) => {
                let (p, errs) = policy_to_evaluate(labels, self.config.defaults);
                (p, errs, Source::Namespace(namespace.to_owned()))
            }
            None => (
                self.config.defaults,
                Vec::new(),
                Source::Defaults {
                    from: self.config.from.clone(),
                },
            ),
        }
    }

    /// The plugin's answer to creating `object` in `namespace` (upstream's
    /// `ValidatePod` / `ValidatePodController`; no user exemptions, since a
    /// request here has no user).
    pub fn evaluate(&self, namespace: &str, object: &Value) -> Verdict {
        let (group, kind) = group_kind(object);
        let t = target(group, kind);
        let (policy, errors, source) = self.policy(namespace);
        let mut v = Verdict::blank(t, source);
        if t == Target::Other {
            return v;
        }
        if self.config.exempt_namespaces.contains(namespace) {
            v.exempt = Some("namespace");
            return v;
        }
        let (meta, spec) = match t {
            Target::Pod => (&object["metadata"], &object["spec"]),
            _ => match template(object) {
                Some(tpl) => (&tpl["metadata"], &tpl["spec"]),
                None => return v,
            },
        };
        let pod = match Pod::from_parts(meta, spec) {
            Ok(p) => p,
            Err(e) => {
                v.undecodable = Some(e);
                return v;
            }
        };
        if pod
            .spec
            .runtime_class_name
            .as_ref()
            .is_some_and(|r| self.config.exempt_runtime_classes.contains(r))
        {
            v.exempt = Some("runtimeClass");
            return v;
        }
        let run = |lv: LevelVersion| check(lv.level, lv.version.effective(self.server), &pod);
        v.policy = Some(policy);
        v.errors = errors;
        if t == Target::Pod {
            v.enforce = run(policy.enforce);
        }
        v.audit = run(policy.audit);
        v.warn = run(policy.warn);
        v
    }
}
