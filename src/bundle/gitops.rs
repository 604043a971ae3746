//! GitOps delivery (#14 item 3, #29 item 2). Flux: one `Kustomization`
//! (kustomize.toolkit.fluxcd.io/v1) per stage under `flux/`, each depending on
//! the stage before it and waiting until its objects are healthy, so Flux applies
//! the stages in the order `stage` proves safe; `flux/` is not part of the main
//! kustomization: it is what a Flux bootstrap points at, not what the cluster
//! runs. Argo CD: the plugin, the Application (with a retry, since an automated
//! sync is never retried on the same commit otherwise) and the health checks
//! Argo CD lacks for Gatekeeper's kinds. `first_apply` simulates all three.

use serde::Serialize;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use crate::bundle::manifest::{Custom, ManifestSet, RenderError, Sorted, meta, name_only, to_yaml};
use crate::bundle::output::{HEADER_PREFIX, applied, stages};
use crate::bundle::stage::{CONSTRAINT_GROUP, Stage};
use crate::bundle::tree::{Files, STAGES};

/// Where Flux's own objects live, and the GitRepository `flux bootstrap` creates.
const FLUX_NAMESPACE: &str = "flux-system";
const SOURCE: &str = "flux-system";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<Named>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    health_check_exprs: Vec<HealthExpr>,
    interval: &'static str,
    path: String,
    prune: bool,
    retry_interval: &'static str,
    source_ref: SourceRef,
    timeout: &'static str,
    wait: bool,
}

#[derive(Serialize)]
struct Named {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthExpr {
    api_version: String,
    kind: String,
    current: &'static str,
}

#[derive(Serialize)]
struct SourceRef {
    kind: &'static str,
    name: &'static str,
}

/// The name of a stage's Flux Kustomization.
fn name_of(profile_name: &str, stage: Stage) -> String {
    format!("kharden-{profile_name}-{}", stage.dir())
}

/// The apiVersion of every Constraint kharden writes.
pub const CONSTRAINT_API_VERSION: &str = "constraints.gatekeeper.sh/v1beta1";

/// A ConstraintTemplate has no conditions, so `wait` would count it ready at
/// once, before Gatekeeper has created its Constraint kind: it is ready at
/// `status.created`, which Gatekeeper sets once a pod has compiled it.
pub const TEMPLATE_CREATED: &str = "has(status.created) && status.created == true";
/// A Constraint has no conditions either: it is ready once every Gatekeeper pod
/// reports it enforced, so no grant is applied before it is in force.
pub const CONSTRAINT_ENFORCED: &str = "has(status.byPod) && size(status.byPod) > 0 && status.byPod.all(p, has(p.enforced) && p.enforced == true)";

/// The Flux health expressions of a stage: one per Gatekeeper kind in it.
fn health_exprs(set: &ManifestSet, stage: Stage) -> Vec<HealthExpr> {
    match stage {
        Stage::ConstraintTemplates => vec![HealthExpr {
            api_version: "templates.gatekeeper.sh/v1".to_owned(),
            kind: "ConstraintTemplate".to_owned(),
            current: TEMPLATE_CREATED,
        }],
        Stage::Constraints => constraint_kinds(set)
            .into_iter()
            .map(|kind| HealthExpr {
                api_version: CONSTRAINT_API_VERSION.to_owned(),
                kind,
                current: CONSTRAINT_ENFORCED,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The Constraint kinds of a rendering, sorted, once each.
fn constraint_kinds(set: &ManifestSet) -> Vec<String> {
    let mut kinds: Vec<String> = applied(set)
        .into_iter()
        .filter(|m| m.stage() == Stage::Constraints)
        .map(|m| m.kind().to_owned())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// The `flux/` files of a rendering. `repo_dir` is the rendered directory's path
/// inside the Git repository (`out/<name>` when kharden runs at its root).
pub fn flux_files(
    set: &ManifestSet,
    profile: &str,
    profile_name: &str,
    repo_dir: &str,
) -> Result<Files, RenderError> {
    let head = format!("{HEADER_PREFIX}{profile}; do not edit\n");
    let mut out = Files::new();
    let mut prev: Option<Stage> = None;
    let mut listed = Vec::new();
    for stage in stages(set) {
        let name = name_of(profile_name, stage);
        let k = Custom::new(
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            meta(&name, Some(FLUX_NAMESPACE)),
            Spec {
                depends_on: prev
                    .map(|p| Named {
                        name: name_of(profile_name, p),
                    })
                    .into_iter()
                    .collect(),
                health_check_exprs: health_exprs(set, stage),
                interval: "10m",
                path: format!("./{repo_dir}/{STAGES}/{}", stage.dir()),
                prune: true,
                // A stage whose engine's CRDs have not arrived yet fails; it is
                // tried again this often, not only every `interval`.
                retry_interval: "1m",
                source_ref: SourceRef {
                    kind: "GitRepository",
                    name: SOURCE,
                },
                timeout: "5m",
                // The workloads stage waits too, though nothing depends on it:
                // its Ready condition is how the user learns that the collector
                // waits on a Secret they have not created yet.
                wait: true,
            },
        );
        let file = format!("kustomization-{}.yaml", stage.dir());
        out.insert(
            format!("flux/{file}"),
            format!("{head}{}", to_yaml(&Sorted::of(&k)?)?),
        );
        listed.push(file);
        // Nothing may ever wait on the workloads (see `Stage::gates`).
        if stage.gates() {
            prev = Some(stage);
        }
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Index<'a> {
        api_version: &'a str,
        kind: &'a str,
        resources: &'a [String],
    }
    let index = Index {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: &listed,
    };
    out.insert(
        "flux/kustomization.yaml".to_owned(),
        format!("{head}{}", to_yaml(&index)?),
    );
    Ok(out)
}

/// The file an Argo CD repository holds for the plugin to find (discovery).
pub const PLUGIN_PROFILE: &str = "kharden.yaml";

/// `plugin.yaml` of an Argo CD Config Management Plugin (sidecar): in any
/// application directory holding a `kharden.yaml` profile, Argo CD runs
/// `kharden render kharden.yaml -o -` and applies the stream, whose objects carry
/// the sync waves.
pub fn argocd_plugin() -> Result<String, RenderError> {
    let plugin = Custom::new(
        "argoproj.io/v1alpha1",
        "ConfigManagementPlugin",
        name_only("kharden"),
        serde_json::json!({
            "version": "v1",
            "discover": {"fileName": PLUGIN_PROFILE},
            "generate": {"command": ["kharden", "render", PLUGIN_PROFILE, "-o", "-"]},
        }),
    );
    to_yaml(&Sorted::of(&plugin)?)
}

/// An Argo CD `Application` syncing the rendering committed at `out/<name>` of
/// `repo_url`: one Application is enough, as the sync waves order the stages.
pub fn argocd_application(
    profile_name: &str,
    repo_url: &str,
    revision: &str,
) -> Result<String, RenderError> {
    let app = Custom::new(
        "argoproj.io/v1alpha1",
        "Application",
        meta(&format!("kharden-{profile_name}"), Some("argocd")),
        serde_json::json!({
            "project": "default",
            "source": {
                "repoURL": repo_url,
                "targetRevision": revision,
                "path": format!("out/{profile_name}"),
            },
            "destination": {"server": "https://kubernetes.default.svc"},
            // Pruning removes what a profile change drops (never a Namespace:
            // they carry `Prune=false`); self-heal undoes drift.
            "syncPolicy": {
                "automated": {"prune": true, "selfHeal": true},
                // An automated sync that failed is never tried again on the
                // same commit: without a retry, a first sync that ran before
                // Gatekeeper had created the Constraint kinds (or before an
                // engine was installed) would stay failed. Unlimited, backing
                // off to every 3 minutes, like Flux's retry.
                "retry": {
                    "limit": -1,
                    "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"},
                },
            },
        }),
    );
    to_yaml(&Sorted::of(&app)?)
}

/// Where Argo CD reads resource customizations.
const ARGOCD_CM: &str = "argocd-cm";
const ARGOCD_NAMESPACE: &str = "argocd";

/// Argo CD's health of a ConstraintTemplate (it has no built-in one, and a kind
/// without one is healthy at once): healthy at `status.created`, degraded when
/// a pod cannot compile it.
pub const TEMPLATE_HEALTH_LUA: &str = r#"hs = {}
if obj.status ~= nil then
  if obj.status.created == true then
    hs.status = "Healthy"
    hs.message = "Gatekeeper has created the Constraint kind"
    return hs
  end
  if obj.status.byPod ~= nil then
    for _, pod in ipairs(obj.status.byPod) do
      if pod.errors ~= nil and pod.errors[1] ~= nil then
        hs.status = "Degraded"
        hs.message = pod.errors[1].message
        return hs
      end
    end
  end
end
hs.status = "Progressing"
hs.message = "waiting for Gatekeeper to create the Constraint kind"
return hs
"#;

/// Argo CD's health of a Constraint: healthy once every Gatekeeper pod reports
/// it enforced, so the grants wave starts only once the policy is in force.
pub const CONSTRAINT_HEALTH_LUA: &str = r#"hs = {}
if obj.status ~= nil and obj.status.byPod ~= nil and obj.status.byPod[1] ~= nil then
  for _, pod in ipairs(obj.status.byPod) do
    if pod.errors ~= nil and pod.errors[1] ~= nil then
      hs.status = "Degraded"
      hs.message = pod.errors[1].message
      return hs
    end
    if pod.enforced ~= true then
      hs.status = "Progressing"
      hs.message = "not yet enforced by every Gatekeeper pod"
      return hs
    end
  end
  hs.status = "Healthy"
  hs.message = "enforced by every Gatekeeper pod"
  return hs
end
hs.status = "Progressing"
hs.message = "waiting for Gatekeeper to enforce the Constraint"
return hs
"#;

/// The `argocd-cm` key of a health customization: `<group>_<kind>` (wildcards
/// are not allowed in ConfigMap keys, so each Constraint kind gets its own).
pub fn health_key(group: &str, kind: &str) -> String {
    format!("resource.customizations.health.{group}_{kind}")
}

/// The `argocd-cm` entries Argo CD needs to wait for Gatekeeper: the health of
/// ConstraintTemplates and of every Constraint kind of the rendering, as a
/// ConfigMap to merge into Argo CD's own (`kubectl patch --type merge`).
pub fn argocd_health(set: &ManifestSet) -> Result<String, RenderError> {
    let mut data = BTreeMap::new();
    if applied(set)
        .iter()
        .any(|m| m.stage() == Stage::ConstraintTemplates)
    {
        data.insert(
            health_key("templates.gatekeeper.sh", "ConstraintTemplate"),
            TEMPLATE_HEALTH_LUA.to_owned(),
        );
    }
    for kind in constraint_kinds(set) {
        data.insert(
            health_key(CONSTRAINT_GROUP, &kind),
            CONSTRAINT_HEALTH_LUA.to_owned(),
        );
    }
    // Name and namespace only: a merge patch must not label Argo CD's ConfigMap
    // as kharden's.
    let mut metadata = name_only(ARGOCD_CM);
    metadata.namespace = Some(ARGOCD_NAMESPACE.to_owned());
    let cm = ConfigMap {
        metadata,
        data: Some(data),
        ..ConfigMap::default()
    };
    to_yaml(&Sorted::of(&cm)?)
}
