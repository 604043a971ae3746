//! `kharden gitops`: the Argo CD plugin, an Application, and the health checks.

use super::cli::Gitops;
use super::{Outcome, load};

pub(crate) fn run(what: Gitops) -> Outcome {
    Outcome::of(|out| {
        let text = match what {
            Gitops::ArgocdPlugin => crate::bundle::gitops::argocd_plugin()?,
            Gitops::ArgocdApplication {
                profile,
                repo_url,
                revision,
            } => {
                let name = load(&profile)?.profile.metadata.name;
                crate::bundle::gitops::argocd_application(&name, &repo_url, &revision)?
            }
            Gitops::ArgocdHealth { profile } => {
                let rendered = crate::render(&load(&profile)?)?;
                crate::bundle::gitops::argocd_health(&rendered.set)?
            }
        };
        out.print(&text);
        Ok(0)
    })
}
