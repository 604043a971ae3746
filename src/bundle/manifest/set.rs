//! The rendered objects of one profile, ordered by path. Each concern's part
//! is sorted on the thread that rendered it (`Part`), and the set keeps the
//! parts as they are with one merged order over them: no object is moved or
//! copied after it is rendered, which a fleet of hundreds of thousands of
//! objects feels in time and memory (#17, #32). Two objects at one path are
//! an error.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Manifest, RenderError};

/// One concern's objects, sorted by path (stable: a duplicate stays after the
/// object it collides with), at their exact length.
#[derive(Debug, Default)]
pub struct Part(Vec<Manifest>);

impl Part {
    pub fn new(mut objects: Vec<Manifest>) -> Part {
        objects.sort_by(|a, b| a.path().cmp(b.path()));
        objects.shrink_to_fit();
        Part(objects)
    }
}

/// Every rendered object, ordered by path; a second object at a path is an error.
#[derive(Debug, Default)]
pub struct ManifestSet {
    parts: Vec<Vec<Manifest>>,
    /// Where each object is, (part, index), in path order.
    order: Vec<(u32, u32)>,
}

impl ManifestSet {
    /// The set of `parts`, in the order they were rendered: of two objects at
    /// one path, the collision names the earlier one.
    pub fn new(parts: Vec<Part>) -> Result<ManifestSet, RenderError> {
        let parts: Vec<Vec<Manifest>> = parts.into_iter().map(|p| p.0).collect();
        let index = |n: usize| {
            u32::try_from(n)
                .map_err(|_| RenderError::internal("more than 2^32 objects in one profile"))
        };
        // A k-way merge over the parts' heads: each object's path is read
        // about once, where a sort of the whole order read each many times,
        // from all over the heap (70 ms against 110 to 165 ms at 400,000
        // objects). A tie goes to the earlier part.
        let mut heads = BinaryHeap::new();
        for (p, part) in parts.iter().enumerate() {
            if let Some(first) = part.first() {
                heads.push(Reverse((first.path(), index(p)?, 0u32)));
            }
        }
        let mut order: Vec<(u32, u32)> = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        let mut last: Option<&Manifest> = None;
        while let Some(Reverse((path, p, i))) = heads.pop() {
            let part = &parts[p as usize];
            if let Some(old) = last.filter(|old| old.path() == path) {
                return Err(RenderError::Collision {
                    path: path.to_owned(),
                    kind: old.kind().to_owned(),
                    name: old.name().to_owned(),
                });
            }
            last = part.get(i as usize);
            order.push((p, i));
            if let Some(next) = part.get(i as usize + 1) {
                heads.push(Reverse((next.path(), p, index(i as usize + 1)?)));
            }
        }
        Ok(ManifestSet { parts, order })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Manifest> {
        self.range(0..self.len())
    }

    /// The objects at `range` of the path order, for work split between
    /// threads; an empty iterator past the end.
    pub fn range(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = &Manifest> {
        self.order
            .get(range)
            .unwrap_or_default()
            .iter()
            .map(|&(p, i)| &self.parts[p as usize][i as usize])
    }

    /// The object at `path`.
    pub fn get(&self, path: &str) -> Option<&Manifest> {
        let at = |&(p, i): &(u32, u32)| &self.parts[p as usize][i as usize];
        let k = self
            .order
            .binary_search_by(|e| at(e).path().cmp(path))
            .ok()?;
        self.order.get(k).map(at)
    }

    /// The objects by path, taken out of the set.
    pub fn into_manifests(self) -> impl Iterator<Item = Manifest> {
        let mut parts: Vec<std::vec::IntoIter<Manifest>> =
            self.parts.into_iter().map(Vec::into_iter).collect();
        // Each part is sorted, so the merged order takes each part's objects
        // front to back.
        self.order
            .into_iter()
            .filter_map(move |(p, _)| parts[p as usize].next())
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn role(ns: &str, name: &str) -> Manifest {
        Manifest::new(
            "rbac.authorization.k8s.io/v1",
            "Role",
            Some(ns),
            name,
            &BTreeMap::from([("a", "b")]),
        )
        .unwrap()
    }

    #[test]
    fn parts_merge_in_path_order() {
        let set = ManifestSet::new(vec![
            Part::new(vec![role("b", "x"), role("a", "z")]),
            Part::default(),
            Part::new(vec![role("a", "y"), role("c", "x"), role("a", "a")]),
        ])
        .unwrap();
        let want = [
            "a/role-a.yaml",
            "a/role-y.yaml",
            "a/role-z.yaml",
            "b/role-x.yaml",
            "c/role-x.yaml",
        ];
        assert!(set.iter().map(Manifest::path).eq(want));
        assert!(
            set.range(1..3)
                .map(Manifest::path)
                .eq(want[1..3].iter().copied())
        );
        assert_eq!(set.range(4..9).count(), 0);
        assert_eq!(set.len(), 5);
        let taken: Vec<String> = set.into_manifests().map(|m| m.path().to_owned()).collect();
        assert_eq!(taken, want);
    }

    #[test]
    fn set_refuses_duplicates_within_and_across_parts() {
        let mut first = role("a", "x");
        first.kind = "First".into();
        for parts in [
            vec![Part::new(vec![first.clone(), role("a", "x")])],
            vec![
                Part::new(vec![first.clone()]),
                Part::new(vec![role("a", "x")]),
            ],
        ] {
            match ManifestSet::new(parts).unwrap_err() {
                RenderError::Collision { path, kind, name } => {
                    assert_eq!(
                        (path.as_str(), kind.as_str(), name.as_str()),
                        ("a/role-x.yaml", "First", "x")
                    );
                }
                other => panic!("{other}"),
            }
        }
    }
}
