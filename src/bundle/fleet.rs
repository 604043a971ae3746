//! Rendering several profiles at once (a fleet): which files of a directory
//! are profiles, every profile validated and rendered before anything is
//! written, distinct names, and where each rendering goes. `command::render`
//! writes what this returns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::bundle::tree::Tree;
use crate::input::clock::Date;
pub use crate::pipeline::error::FleetError;
use crate::{Error, Model, Rendered};

/// The profiles named by `args`, directories expanded into the profiles they
/// hold (`kind: ClusterProfile`), in name order.
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for a in args {
        if !a.is_dir() {
            out.push(a.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(a)
            .map_err(|e| Error::io(format!("list `{}`", a.display()), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .filter(|p| {
                std::fs::read_to_string(p)
                    .is_ok_and(|t| t.lines().any(|l| l.trim_end() == "kind: ClusterProfile"))
            })
            .collect();
        found.sort();
        if found.is_empty() {
            return Err(FleetError::NoProfile(a.display().to_string()).into());
        }
        out.extend(found);
    }
    Ok(out)
}

/// Whether `args` make a fleet: several profiles, or a directory of them.
pub fn is_fleet(args: &[PathBuf], profiles: &[PathBuf]) -> bool {
    profiles.len() > 1 || args.iter().any(|a| a.is_dir())
}

/// Load and render every profile, stopping at the first that fails, so that
/// nothing is written unless all of them render; two profiles may not share a
/// `metadata.name` (their output directories would collide).
pub fn render_all(profiles: &[PathBuf], today: Date) -> Result<Vec<(Model, Rendered)>, Error> {
    let mut rendered = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for p in profiles {
        let model = crate::load(p, &crate::display_path(p), today)?;
        if let Some(first) =
            names.insert(model.profile.metadata.name.clone(), model.display.clone())
        {
            return Err(FleetError::SameName {
                this: model.display.clone(),
                first,
                name: model.profile.metadata.name.clone(),
            }
            .into());
        }
        let r = crate::render(&model)?;
        rendered.push((model, r));
    }
    Ok(rendered)
}

/// Where a profile's rendering is written: the directory given, or, for a
/// fleet, `<dir>/<name>`; `out/<name>` when none is given.
pub fn target(dir: Option<&Path>, fleet: bool, name: &str) -> PathBuf {
    match (dir, fleet) {
        (Some(d), false) => d.to_path_buf(),
        (Some(d), true) => d.join(name),
        (None, _) => PathBuf::from("out").join(name),
    }
}

/// Every file of the rendering of the profile `name` (read from `display`),
/// Flux delivery objects included; takes the objects, so their bodies are not
/// held twice.
pub fn files(
    name: &str,
    display: &str,
    set: crate::bundle::manifest::ManifestSet,
) -> Result<Tree, Error> {
    // Flux paths assume the rendering sits at `out/<name>` of the repository.
    let flux = crate::bundle::gitops::flux_files(&set, display, name, &format!("out/{name}"))?;
    let mut tree = crate::bundle::output::tree(set, display)?;
    tree.extend(flux);
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_goes_under_its_names_and_a_single_profile_where_asked() {
        let d = Path::new("rendered");
        assert_eq!(target(Some(d), false, "a"), PathBuf::from("rendered"));
        assert_eq!(target(Some(d), true, "a"), PathBuf::from("rendered/a"));
        assert_eq!(target(None, false, "a"), PathBuf::from("out/a"));
    }

    #[test]
    fn a_directory_expands_to_its_profiles_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("b.yaml"), "kind: ClusterProfile\n").unwrap();
        std::fs::write(p.join("a.yml"), "apiVersion: x\nkind: ClusterProfile\n").unwrap();
        std::fs::write(p.join("scenario.yaml"), "kind: Scenario\n").unwrap();
        std::fs::write(p.join("notes.txt"), "kind: ClusterProfile\n").unwrap();
        let args = vec![p.to_path_buf()];
        let found = expand(&args).unwrap();
        assert_eq!(found, vec![p.join("a.yml"), p.join("b.yaml")]);
        assert!(is_fleet(&args, &found));
        let empty = tempfile::tempdir().unwrap();
        let e = expand(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(e.to_string().contains("holds no profile"), "{e}");
    }
}
