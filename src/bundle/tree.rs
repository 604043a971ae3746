//! One rendering as the files it becomes, not yet joined: the files derived
//! from the objects (kustomizations, Flux delivery objects) as text, and the
//! objects themselves, each written as the header then its body. Joining
//! every file's text up front copied every body once more and made a map
//! entry per file before the first byte was written: 0.36 s of a
//! 10,000-namespace render to a directory, where making the tree takes
//! 0.18 s, mostly the kustomizations that list every object (#32).
//! `output::write` and `output::check` read a tree; `into_files` joins it
//! for the callers that want text.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::bundle::manifest::{Manifest, ManifestSet};

/// Files by relative path, in output order.
pub type Files = BTreeMap<String, String>;

/// Where an object is written: API objects under `stages/<stage>/` (#14), so
/// that each stage is a kustomization of its own (kustomize refuses files
/// outside a kustomization's directory), control-plane files where they are.
pub fn path_of(m: &Manifest) -> String {
    if m.control_plane_file() {
        m.path().to_owned()
    } else {
        format!("{STAGES}/{}/{}", m.stage().dir(), m.path())
    }
}

/// The directory holding one kustomization per stage.
pub const STAGES: &str = "stages";

#[derive(Debug)]
pub struct Tree {
    head: String,
    derived: Files,
    objects: ManifestSet,
}

/// One file of a tree: its relative path and its text, in two pieces.
pub struct File<'a> {
    pub rel: Cow<'a, str>,
    pub head: &'a str,
    pub body: &'a str,
}

impl Tree {
    /// The tree of `objects` under the header `head`, with the `derived` files.
    pub fn new(head: String, derived: Files, objects: ManifestSet) -> Tree {
        Tree {
            head,
            derived,
            objects,
        }
    }

    /// More derived files (a later one at a path replaces an earlier one).
    pub fn extend(&mut self, files: Files) {
        self.derived.extend(files);
    }

    /// How many files it holds.
    pub fn len(&self) -> usize {
        self.derived.len() + self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Files `range` of the tree (the derived ones first, then the objects
    /// in path order), for work split between threads.
    pub fn files(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = File<'_>> {
        let n = self.derived.len();
        let derived = self
            .derived
            .iter()
            .skip(range.start)
            .take(range.end.min(n).saturating_sub(range.start))
            .map(|(rel, text)| File {
                rel: Cow::Borrowed(rel.as_str()),
                head: "",
                body: text,
            });
        let objects = self
            .objects
            .range(range.start.max(n) - n..range.end.max(n) - n)
            .map(|m| File {
                rel: Cow::Owned(path_of(m)),
                head: &self.head,
                body: m.body(),
            });
        derived.chain(objects)
    }

    /// Whether the tree holds a file at `rel`.
    pub fn contains(&self, rel: &str) -> bool {
        self.derived.contains_key(rel) || self.object_at(rel).is_some()
    }

    /// The object written at `rel` (see `path_of`).
    fn object_at(&self, rel: &str) -> Option<&Manifest> {
        match rel
            .strip_prefix(STAGES)
            .and_then(|r| r.strip_prefix('/'))
            .and_then(|r| r.split_once('/'))
        {
            Some((stage, path)) => self
                .objects
                .get(path)
                .filter(|m| !m.control_plane_file() && m.stage().dir() == stage),
            None => self.objects.get(rel).filter(|m| m.control_plane_file()),
        }
    }

    /// Every file's text, joined, by relative path.
    pub fn into_files(self) -> Files {
        let mut out = self.derived;
        for m in self.objects.into_manifests() {
            let mut text = String::with_capacity(self.head.len() + m.body().len());
            text.push_str(&self.head);
            text.push_str(m.body());
            out.insert(path_of(&m), text);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract profile's tree: objects in every stage, control-plane
    /// files, kustomizations.
    fn contract() -> Tree {
        let text = include_str!("../../examples/prod-east.yaml");
        let m = crate::load_text(text, "prod-east.yaml", crate::testing::today()).unwrap();
        let r = crate::render(&m).unwrap();
        crate::bundle::output::tree(r.set, "prod-east.yaml").unwrap()
    }

    #[test]
    fn any_split_covers_every_file_once_as_the_joined_files_have_it() {
        let tree = contract();
        let all: Vec<(String, String)> = tree
            .files(0..tree.len())
            .map(|f| (f.rel.into_owned(), format!("{}{}", f.head, f.body)))
            .collect();
        assert_eq!(all.len(), tree.len());
        for k in [0, 1, 3, tree.len() / 2, tree.len() - 1, tree.len()] {
            let split: Vec<String> = tree
                .files(0..k)
                .chain(tree.files(k..tree.len()))
                .map(|f| f.rel.into_owned())
                .collect();
            assert!(
                split.iter().eq(all.iter().map(|(rel, _)| rel)),
                "split at {k}"
            );
        }
        assert_eq!(tree.files(tree.len()..tree.len() + 5).count(), 0);
        let joined: Files = all.into_iter().collect();
        assert_eq!(joined.len(), tree.len(), "a path twice");
        assert!(joined.keys().any(|k| k.starts_with("control-plane/")));
        assert!(joined.contains_key("kustomization.yaml"));
        assert_eq!(tree.into_files(), joined);
    }

    #[test]
    fn it_holds_exactly_its_files() {
        let tree = contract();
        let rels: Vec<String> = tree
            .files(0..tree.len())
            .map(|f| f.rel.into_owned())
            .collect();
        for rel in &rels {
            assert!(tree.contains(rel), "{rel}");
        }
        let object = rels
            .iter()
            .find(|r| r.starts_with("stages/") && !r.ends_with("kustomization.yaml"))
            .unwrap();
        let (_, in_stage) = object["stages/".len()..].split_once('/').unwrap();
        let control = rels
            .iter()
            .find(|r| r.starts_with("control-plane/"))
            .unwrap();
        for absent in [
            format!("stages/99-nowhere/{in_stage}"),
            in_stage.to_owned(),
            format!("stages/20-namespaced/{control}"),
            format!("{object}.bak"),
            "stages/".to_owned(),
            String::new(),
        ] {
            assert!(!tree.contains(&absent), "{absent}");
        }
    }
}
