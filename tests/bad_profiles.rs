//! Bad input: each fixture under `tests/fixtures/bad/` is one behaviour, named
//! for it, with its exact expected stderr beside it (`<name>.stderr`). Every one
//! must exit 2 within a second, never panic, and write nothing: no new output
//! directory, and an existing rendering left byte for byte as it was.
//! `KHARDEN_BLESS=1 cargo test --test bad_profiles` rewrites the `.stderr` files.

mod common;

use std::time::{Duration, Instant};

use common::{kharden_in, root, stderr, tree};

#[test]
fn every_bad_profile_fails_cleanly_with_its_expected_report() {
    let dir = root().join("tests/fixtures/bad");
    let bless = std::env::var_os("KHARDEN_BLESS").is_some();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 60,
        "the bad corpus shrank to {}",
        names.len()
    );
    // An earlier rendering that every bad profile is also rendered over: it must
    // come through each one byte for byte.
    let prev_tmp = tempfile::tempdir().unwrap();
    let prev = prev_tmp.path().join("prev");
    let o = kharden_in(
        &root(),
        &[
            "render",
            "examples/small.yaml",
            "-o",
            prev.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let prev_tree = tree(&prev);
    let mut failures = Vec::new();
    for name in &names {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let start = Instant::now();
        let o = kharden_in(
            &dir,
            &[
                "render",
                &format!("{name}.yaml"),
                "-o",
                out.to_str().unwrap(),
            ],
        );
        let took = start.elapsed();
        let err = stderr(&o);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{name}: exit {:?}\n{err}",
            o.status.code()
        );
        assert!(!err.contains("panicked"), "{name} panicked:\n{err}");
        assert!(!out.exists(), "{name}: wrote output");
        assert!(took < Duration::from_secs(1), "{name}: took {took:?}");
        let o = kharden_in(
            &dir,
            &[
                "render",
                &format!("{name}.yaml"),
                "-o",
                prev.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{name} over a previous rendering");
        assert_eq!(
            stderr(&o),
            err,
            "{name}: another report over a previous rendering"
        );
        assert!(
            tree(&prev) == prev_tree,
            "{name}: changed the previous rendering"
        );
        let expected = dir.join(format!("{name}.stderr"));
        if bless {
            std::fs::write(&expected, &err).unwrap();
        } else {
            let want = std::fs::read_to_string(&expected)
                .unwrap_or_else(|_| panic!("{name}: no {name}.stderr; bless it"));
            if want != err {
                failures.push(format!("--- {name}: expected\n{want}--- got\n{err}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
