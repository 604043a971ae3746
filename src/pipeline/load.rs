//! Loading a profile: read and merge its layers (`source`), check the generic
//! tree against the schema, parse it, then run every semantic check, the
//! cluster-wide sections here and each concern's own, reporting all problems
//! at once.

use std::path::Path;

use serde_json::Value;

use crate::concern;
use crate::input::clock::Date;
use crate::input::diag::{Diagnostic, Diagnostics};
use crate::input::profile::Profile;
use crate::input::source::{self, FieldPath, Sources};
use crate::k8s::names;
use crate::pipeline::model::{Model, label, profile_schema};

/// Load, merge, check and parse a profile.
pub fn load(path: &Path, display: &str, today: Date) -> Result<Model, Diagnostics> {
    let (value, sources) =
        crate::pipeline::timing::stage("read and merge", || source::load(path, display))?;
    let dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .map(Path::to_path_buf);
    check(value, sources, display, today, dir)
}

/// Load a profile given as text; `extends:` may name built-in presets only.
pub fn load_text(text: &str, display: &str, today: Date) -> Result<Model, Diagnostics> {
    let (value, sources) = source::load_text(text, display)?;
    check(value, sources, display, today, None)
}

fn check(
    mut value: Value,
    sources: Sources,
    display: &str,
    today: Date,
    dir: Option<std::path::PathBuf>,
) -> Result<Model, Diagnostics> {
    let mut diags = Diagnostics::default();
    // The structural check only reads the tree, so the typed parse runs beside
    // it; on a valid profile (the case that has to be fast) both succeed. The
    // parse's result is thrown away when the check refuses the tree, and
    // parsed again once unknown fields are pruned.
    let schema = profile_schema();
    let parse = || {
        crate::pipeline::timing::stage("typed parse", || {
            serde_path_to_error::deserialize::<_, Profile>(&value)
        })
    };
    let (found, parsed) = std::thread::scope(|s| {
        // The main thread's stack, for a tree as deep as the reader allows.
        let parser = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn_scoped(s, parse);
        let found = crate::pipeline::timing::stage("schema check", || {
            crate::input::schema_check::check(&schema, &value)
        });
        let parsed = match parser {
            Ok(h) => h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No second thread to be had: parse here, after the check.
            Err(_) => parse(),
        };
        (found, parsed)
    });
    diags.extend(found.diags);
    if found.fatal {
        return Err(diags.with_sources(sources));
    }
    let parsed = if found.unknown.is_empty() {
        parsed
    } else {
        drop(parsed);
        crate::input::schema_check::prune(&mut value, &found.unknown);
        serde_path_to_error::deserialize(&value)
    };
    let profile: Profile = match parsed {
        Ok(p) => p,
        Err(e) => {
            let path: FieldPath = e.path().to_string().parse().unwrap_or_default();
            let msg = e.into_inner().to_string();
            diags.push(Diagnostic::error(path.clone(), format!("`{path}`: {msg}")));
            return Err(diags.with_sources(sources));
        }
    };
    // The generic tree is as large as the typed profile; free it before validating
    // and rendering rather than carry both to the end.
    drop(value);
    let mut found = Vec::new();
    let templates = concern::extension::read(&profile, dir.as_deref(), &mut found);
    let mut model = Model::new(
        profile,
        sources,
        display.to_owned(),
        today,
        dir,
        templates,
        concern::allowances,
    );
    model.plan = crate::pipeline::timing::stage("checks", || validate(&model, &mut found));
    diags.extend(found);
    if diags.is_empty() {
        Ok(model)
    } else {
        Err(diags.with_sources(model.sources))
    }
}

/// Every semantic check, cluster-wide sections first, then each concern; the
/// plan the concerns decided on the way.
fn validate(m: &Model, out: &mut Vec<Diagnostic>) -> crate::pipeline::plan::Plan {
    let p = &m.profile;
    let root = FieldPath::root();
    label(out, &root.key("metadata").key("name"), &p.metadata.name);
    label(out, &root.key("cluster").key("name"), &p.cluster.name);
    let v = &p.cluster.kubernetes_version;
    if crate::input::releases::find(v).is_none() {
        out.push(
            Diagnostic::error(
                root.key("cluster").key("kubernetesVersion"),
                format!("Kubernetes version `{v}` is not supported"),
            )
            .hint(format!(
                "use one of {} (quoted, minor version only)",
                crate::input::releases::versions()
            )),
        );
    }
    if let Some(d) = &p.cluster.ingress_domain
        && let Err(e) = names::dns_subdomain(d)
    {
        out.push(
            Diagnostic::error(
                root.key("cluster").key("ingressDomain"),
                format!("`{d}` is not a valid DNS domain: {e}"),
            )
            .hint("write the domain tenant hosts go under, e.g. apps.prod-east.example.ca (no empty labels, no leading or trailing dot)"),
        );
    }
    concern::validate_all(m, out)
}
