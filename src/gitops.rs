//! Flux delivery (#14 item 3): one `Kustomization` (kustomize.toolkit.fluxcd.io/v1)
//! per stage under `flux/`, each depending on the stage before it and waiting
//! until its objects are healthy, so Flux applies the stages in the order
//! `stage` proves safe. `flux/` is not part of the main kustomization: it is
//! what a Flux bootstrap points at, not what the cluster runs.

use serde::Serialize;

use crate::manifest::{Custom, ManifestSet, RenderError, Sorted, meta, name_only, to_yaml};
use crate::output::{Files, HEADER_PREFIX, STAGES, stages};
use crate::stage::Stage;

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
    api_version: &'static str,
    kind: &'static str,
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
        // Without this, `wait` counts a ConstraintTemplate ready at once (it has
        // no conditions), before Gatekeeper has created its Constraint kind.
        let health_check_exprs = if stage == Stage::ConstraintTemplates {
            vec![HealthExpr {
                api_version: "templates.gatekeeper.sh/v1",
                kind: "ConstraintTemplate",
                current: "has(status.created) && status.created == true",
            }]
        } else {
            Vec::new()
        };
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
                health_check_exprs,
                interval: "10m",
                path: format!("./{repo_dir}/{STAGES}/{}", stage.dir()),
                prune: true,
                source_ref: SourceRef {
                    kind: "GitRepository",
                    name: SOURCE,
                },
                timeout: "5m",
                wait: true,
            },
        );
        let file = format!("kustomization-{}.yaml", stage.dir());
        out.insert(
            format!("flux/{file}"),
            format!("{head}{}", to_yaml(&Sorted::of(&k)?)?),
        );
        listed.push(file);
        prev = Some(stage);
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
            // Pruning removes what a profile change drops; self-heal undoes drift.
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}},
        }),
    );
    to_yaml(&Sorted::of(&app)?)
}
