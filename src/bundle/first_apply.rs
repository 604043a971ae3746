//! First apply (#29 item 2): a discrete simulation of a rendered bundle meeting
//! an empty cluster, under each delivery (the README's kubectl loop, Flux's
//! Kustomizations, Argo CD's Application). The engines' CRDs arrive at a step of
//! the scenario's choosing, Gatekeeper creates each Constraint kind some steps
//! after its template is applied and enforces a Constraint some steps after it
//! is created, and the Secrets the user creates out of band never arrive, so a
//! workload that mounts one is never healthy. The run records when each object
//! is applied and ready; `violations` says whether every admission policy was in
//! force before any grant or workload, and `waits_on_workloads` whether anything
//! up to the policy stage waits on a workload's health.
//!
//! Everything is read from rendered objects (stage, wave and skip-dry-run
//! annotations, Flux Kustomizations, the Argo CD Application and its health
//! customizations), so the same model judges any stage layout.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::bundle::stage::{CONSTRAINT_GROUP, SKIP_DRY_RUN, SYNC_OPTIONS, SYNC_WAVE, workload};

/// One step is this many seconds; durations in the objects are rounded up.
pub const STEP_SECONDS: u64 = 10;
/// Steps from applying a ConstraintTemplate to its Constraint kind being served
/// and `status.created`.
pub const CREATE_LAG: u32 = 2;
/// Steps from creating a Constraint to every Gatekeeper pod enforcing it.
pub const ENFORCE_LAG: u32 = 2;
/// The user reruns a broken kubectl loop after this many steps.
pub const RERUN: u32 = 6;
/// How long a run lasts: three hours.
pub const HORIZON: u32 = 1080;

/// What an object is to the assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A Constraint, a Validating or Mutating AdmissionPolicy or its binding.
    Policy,
    /// A RoleBinding or ClusterRoleBinding.
    Grant,
    /// Runs pods (or routes to them).
    Workload,
    Other,
}

/// One rendered object, as the simulation needs it.
#[derive(Debug, Clone)]
pub struct Object {
    /// The stage directory (`20-namespaced`).
    pub stage: String,
    pub wave: i64,
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub class: Class,
    /// The kind a CRD or ConstraintTemplate defines, as (group, kind).
    pub defines: Option<(String, String)>,
    /// Objects its pods need: (kind, name), in its namespace.
    pub needs: Vec<(String, String)>,
    /// The policy a binding binds.
    pub binds: Option<String>,
    pub skip_dry_run: bool,
}

impl Object {
    /// An object of stage directory `stage`, or `None` for a document that is
    /// not a Kubernetes object.
    pub fn from_value(stage: &str, v: &Value) -> Option<Object> {
        let api = v["apiVersion"].as_str()?;
        let kind = v["kind"].as_str()?.to_owned();
        let group = api.rsplit_once('/').map_or("", |(g, _)| g).to_owned();
        let meta = &v["metadata"];
        let annotation = |k: &str| meta["annotations"][k].as_str();
        let wave = annotation(SYNC_WAVE)
            .and_then(|w| w.parse().ok())
            .or_else(|| stage.get(..2).and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let defines = match kind.as_str() {
            "CustomResourceDefinition" => Some((
                v["spec"]["group"].as_str()?.to_owned(),
                v["spec"]["names"]["kind"].as_str()?.to_owned(),
            )),
            "ConstraintTemplate" => Some((
                CONSTRAINT_GROUP.to_owned(),
                v["spec"]["crd"]["spec"]["names"]["kind"]
                    .as_str()?
                    .to_owned(),
            )),
            _ => None,
        };
        let class = if group == CONSTRAINT_GROUP
            || (group == "admissionregistration.k8s.io" && kind.contains("AdmissionPolicy"))
        {
            Class::Policy
        } else if group == "rbac.authorization.k8s.io" && kind.ends_with("RoleBinding") {
            Class::Grant
        } else if workload(&group, &kind) {
            Class::Workload
        } else {
            Class::Other
        };
        Some(Object {
            stage: stage.to_owned(),
            wave,
            needs: pod_needs(&group, &kind, v),
            binds: v["spec"]["policyName"].as_str().map(str::to_owned),
            skip_dry_run: annotation(SYNC_OPTIONS)
                .is_some_and(|o| o.split(',').any(|o| o.trim() == SKIP_DRY_RUN)),
            namespace: meta["namespace"].as_str().map(str::to_owned),
            name: meta["name"].as_str()?.to_owned(),
            group,
            kind,
            class,
            defines,
        })
    }

    /// `kind namespace/name`, for reports.
    pub fn id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// The Secrets, ConfigMaps and ServiceAccount a workload's pods cannot start
/// without (optional references left out).
fn pod_needs(group: &str, kind: &str, v: &Value) -> Vec<(String, String)> {
    let pod = match (group, kind) {
        ("", "Pod") => &v["spec"],
        ("batch", "CronJob") => return Vec::new(), // runs later, healthy until then
        (_, k) if workload(group, k) => &v["spec"]["template"]["spec"],
        _ => return Vec::new(),
    };
    let mut needs = Vec::new();
    let need = |needs: &mut Vec<(String, String)>, kind: &str, r: &Value, key: &str| {
        if let Some(n) = r[key].as_str()
            && r["optional"] != true
        {
            needs.push((kind.to_owned(), n.to_owned()));
        }
    };
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    for vol in list(&pod["volumes"]) {
        need(&mut needs, "Secret", &vol["secret"], "secretName");
        need(&mut needs, "ConfigMap", &vol["configMap"], "name");
    }
    for c in list(&pod["containers"])
        .into_iter()
        .chain(list(&pod["initContainers"]))
    {
        for e in list(&c["env"]) {
            need(
                &mut needs,
                "Secret",
                &e["valueFrom"]["secretKeyRef"],
                "name",
            );
            need(
                &mut needs,
                "ConfigMap",
                &e["valueFrom"]["configMapKeyRef"],
                "name",
            );
        }
        for e in list(&c["envFrom"]) {
            need(&mut needs, "Secret", &e["secretRef"], "name");
            need(&mut needs, "ConfigMap", &e["configMapRef"], "name");
        }
    }
    if let Some(sa) = pod["serviceAccountName"].as_str() {
        needs.push(("ServiceAccount".to_owned(), sa.to_owned()));
    }
    needs.sort();
    needs.dedup();
    needs
}

/// The steps a duration such as `10s`, `5m` or `1h` lasts (at least one).
pub fn steps(duration: &str) -> u32 {
    let split = duration
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(duration.len());
    let n: u64 = duration[..split].parse().unwrap_or(0);
    let secs = match &duration[split..] {
        "h" => n * 3600,
        "m" => n * 60,
        _ => n,
    };
    u32::try_from(secs.div_ceil(STEP_SECONDS))
        .unwrap_or(u32::MAX)
        .max(1)
}

/// What a delivery checks before it counts a Gatekeeper object ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A ConstraintTemplate's `status.created`.
    Created,
    /// A Constraint's `status.byPod[].enforced`.
    Enforced,
}

impl Check {
    /// What a health expression or script tests, from its text.
    pub fn of(text: &str) -> Option<Check> {
        if text.contains("enforced") {
            Some(Check::Enforced)
        } else if text.contains("created") {
            Some(Check::Created)
        } else {
            None
        }
    }
}

/// A kubectl wait in the README's loop, after a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// `--for=jsonpath='{.status.created}'=true` on the stage's templates.
    Created,
    /// `kubectl wait crd -l gatekeeper.sh/constraint=yes --for=condition=established`.
    Established,
    /// `--for=jsonpath='{.status.byPod[0].enforced}'=true` on the stage's Constraints.
    Enforced,
}

/// One Flux Kustomization, by the stage directory it applies.
#[derive(Debug, Clone)]
pub struct FluxStage {
    pub stage: String,
    pub depends_on: Vec<String>,
    pub wait: bool,
    /// (group, kind) -> what its health expression checks.
    pub health: BTreeMap<(String, String), Check>,
    pub retry: u32,
    pub timeout: u32,
}

impl FluxStage {
    /// A Kustomization; `stage_of` maps a Kustomization name to its stage.
    pub fn from_value(v: &Value, stage_of: impl Fn(&str) -> Option<String>) -> Option<FluxStage> {
        let spec = &v["spec"];
        let stage = spec["path"]
            .as_str()?
            .rsplit('/')
            .find(|s| !s.is_empty())?
            .to_owned();
        let interval = spec["interval"].as_str().unwrap_or("10m");
        let mut health = BTreeMap::new();
        for h in spec["healthCheckExprs"].as_array().into_iter().flatten() {
            let group = h["apiVersion"]
                .as_str()?
                .rsplit_once('/')
                .map_or("", |(g, _)| g);
            if let Some(c) = Check::of(h["current"].as_str()?) {
                health.insert((group.to_owned(), h["kind"].as_str()?.to_owned()), c);
            }
        }
        Some(FluxStage {
            stage,
            depends_on: spec["dependsOn"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| stage_of(d["name"].as_str()?))
                .collect(),
            wait: spec["wait"] == true,
            health,
            retry: steps(spec["retryInterval"].as_str().unwrap_or(interval)),
            timeout: steps(spec["timeout"].as_str().unwrap_or(interval)),
        })
    }
}

/// An Argo CD Application's retry (`syncPolicy.retry`).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Negative: unlimited.
    pub limit: i64,
    pub duration: u32,
    pub factor: u32,
    pub max: u32,
}

impl Retry {
    /// The retry of an Application, if it has one; Argo CD's defaults otherwise
    /// (5s, factor 2, 3m).
    pub fn of(app: &Value) -> Option<Retry> {
        let r = app["spec"]["syncPolicy"]["retry"].as_object()?;
        let b = &r.get("backoff").cloned().unwrap_or(Value::Null);
        Some(Retry {
            limit: r.get("limit").and_then(Value::as_i64).unwrap_or(0),
            duration: steps(b["duration"].as_str().unwrap_or("5s")),
            factor: b["factor"]
                .as_u64()
                .and_then(|f| u32::try_from(f).ok())
                .unwrap_or(2),
            max: steps(b["maxDuration"].as_str().unwrap_or("3m")),
        })
    }

    fn after(&self, retries: u32) -> u32 {
        let wait = u64::from(self.duration) * u64::from(self.factor).pow(retries.min(30));
        u32::try_from(wait.min(u64::from(self.max))).unwrap_or(self.max)
    }
}

/// The health customizations of an `argocd-cm`: (group, kind) -> what it checks.
pub fn argocd_health(cm: &Value) -> BTreeMap<(String, String), Check> {
    let mut out = BTreeMap::new();
    for (k, lua) in cm["data"].as_object().into_iter().flatten() {
        let Some(gk) = k.strip_prefix("resource.customizations.health.") else {
            continue;
        };
        let (group, kind) = gk.rsplit_once('_').unwrap_or(("", gk));
        if let Some(c) = lua.as_str().and_then(Check::of) {
            out.insert((group.to_owned(), kind.to_owned()), c);
        }
    }
    out
}

/// How the bundle reaches the cluster.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// The README's loop: each stage applied in order, the waits after the
    /// stages named; the user reruns it from the start when it breaks.
    Kubectl {
        waits: BTreeMap<String, Vec<Wait>>,
        timeout: u32,
    },
    Flux(Vec<FluxStage>),
    Argo {
        retry: Option<Retry>,
        health: BTreeMap<(String, String), Check>,
    },
}

/// When the engines' CRDs (and namespaces) arrive, in steps.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub gatekeeper: u32,
    /// Istio, Linkerd, Gateway API and any other CRD the bundle does not hold.
    pub others: u32,
}

/// What happened: when each object (by index into the bundle) was first
/// applied, and when each policy came into force.
#[derive(Debug, Default)]
pub struct Outcome {
    pub applied: BTreeMap<usize, u32>,
    pub in_force: BTreeMap<usize, u32>,
}

mod run;
pub use run::{simulate, violations, waits_on_workloads};
