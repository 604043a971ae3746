//! The test layout itself: Cargo.toml sets `autotests = false` and declares two
//! integration binaries, so a test file cargo does not know of would never run,
//! silently. Every file under `tests/` is one of the binaries' modules.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::root;

/// The `.rs` files directly in `dir`, by stem.
fn stems(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_test_file_is_a_module_of_a_test_binary() {
    let tests = root().join("tests");
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("\nautotests = false\n"),
        "Cargo.toml: the test binaries are declared, not discovered"
    );
    let loose: Vec<String> = stems(&tests)
        .iter()
        .map(|s| format!("tests/{s}.rs"))
        .collect();
    assert!(
        loose.is_empty(),
        "{loose:?} would not run: make each a module of tests/hermetic/ \
         (needs nothing installed) or tests/tools/ (runs installed tools)"
    );
    for bin in ["hermetic", "tools"] {
        assert!(
            manifest.contains(&format!("name = \"{bin}\"\npath = \"tests/{bin}/main.rs\"")),
            "Cargo.toml lacks the [[test]] {bin}"
        );
        let main = std::fs::read_to_string(tests.join(bin).join("main.rs")).unwrap();
        let declared: BTreeSet<String> = main
            .lines()
            .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
            .map(str::to_owned)
            .collect();
        let mut files = stems(&tests.join(bin));
        files.remove("main");
        let undeclared: Vec<String> = files
            .difference(&declared)
            .map(|s| format!("tests/{bin}/{s}.rs"))
            .collect();
        assert!(
            undeclared.is_empty(),
            "{undeclared:?}: not declared in tests/{bin}/main.rs, so never run"
        );
    }
}
