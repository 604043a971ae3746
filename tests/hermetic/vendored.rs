//! The vendored copies under `tests/data/` match `../shared/`, file for file; the rest of
//! the suite reads only the vendored copies.

// A skip says why on stderr, as cargo test shows it (the lint is for the library).
#![allow(clippy::print_stderr)]

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{CONTRACT, root};

/// Every file below `dir`, keyed by its path relative to `dir`.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn vendored_copies_match_the_shared_folder() {
    let shared = root().join("../shared");
    if !shared.join("profile.example.yaml").is_file() {
        // CI always has the shared folder beside the clone: there, its absence is a
        // broken setup, not a reason to pass.
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared is missing beside the checkout in CI"
        );
        eprintln!("../shared is not beside the checkout: nothing to compare");
        return;
    }
    let pairs = [
        ("schemas/crds", "crds"),
        ("schemas/crds-upstream", "crds-upstream"),
        ("cis", "cis"),
    ];
    for (from, to) in pairs {
        let want = files(&shared.join(from));
        let have = files(&root().join("tests/data").join(to));
        assert!(!want.is_empty(), "{from} is empty");
        assert_eq!(
            want.keys().collect::<Vec<_>>(),
            have.keys().collect::<Vec<_>>(),
            "tests/data/{to} lists other files than ../shared/{from}"
        );
        for (path, bytes) in &want {
            assert!(
                have[path] == *bytes,
                "tests/data/{to}/{} differs from ../shared/{from}: copy it again",
                path.display()
            );
        }
    }
    assert_eq!(
        std::fs::read(shared.join("profile.example.yaml")).unwrap(),
        std::fs::read(root().join(CONTRACT)).unwrap(),
        "tests/data/profile.example.yaml differs from the contract"
    );
}
