//! `scripts/module-graph` finds import cycles and over-long files: run on small source
//! trees written here, one with a cycle (through `use`, a path in code and `super::`),
//! one without.

mod common;

use std::process::Command;

use common::root;

fn graph(files: &[(&str, &str)], extra: &[&str]) -> (bool, String) {
    let tmp = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = tmp.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let o = Command::new("python3")
        .arg(root().join("scripts/module-graph"))
        .arg("--src")
        .arg(tmp.path())
        .args(extra)
        .output()
        .expect("run python3");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn a_cycle_between_files_fails_and_is_named() {
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a.rs", "use crate::b::{Thing, other};\n"),
        ("b/mod.rs", "pub mod inner;\nfn f() { super::a::run(); }\n"),
        // `super::super` from b/inner.rs is the crate root: an edge to `a`, not `b`.
        (
            "b/inner.rs",
            "fn f() { super::super::a::run(); super::g(); }\n",
        ),
        // Tests may reach anywhere: c -> a only in a test module is no edge.
        (
            "c.rs",
            "#[cfg(test)]\nmod tests {\n    use crate::a::run;\n}\n",
        ),
    ];
    let (ok, out) = graph(&files, &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("cycle: a <-> b"), "{out}");
    assert!(
        out.contains("  a -> b") && out.contains("  b -> a"),
        "{out}"
    );
    assert!(!out.contains("c ->"), "{out}");
    assert!(!out.contains("inner"), "b::inner is in no cycle: {out}");
    // `super` in b/inner.rs is `b`; `super::super` is the crate root.
    let (_, dot) = graph(&files, &["--dot"]);
    assert!(dot.contains(r#""b::inner" -> "b";"#), "{dot}");
    assert!(dot.contains(r#""b::inner" -> "a";"#), "{dot}");
}

#[test]
fn a_tree_without_cycles_passes_unless_a_file_is_too_long() {
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "use crate::b::Thing;\nfn g() { crate::b::h(); }\n"),
        ("b.rs", "pub struct Thing;\n// crate::a::not_an_import\n"),
    ];
    let (ok, out) = graph(&files, &[]);
    assert!(ok, "{out}");
    assert!(out.contains("ok: 3 files, 1 imports, no cycle"), "{out}");
    let (ok, out) = graph(&files, &["--max-lines", "1"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("too long: ") && out.contains("a.rs has 2 lines (max 1)"),
        "{out}"
    );
}

/// The house rule, on the real tree: no import cycle between modules, and no
/// source file over 700 lines.
#[test]
fn kharden_itself_has_no_cycle_and_no_overlong_file() {
    let o = Command::new("python3")
        .arg(root().join("scripts/module-graph"))
        .args(["--max-lines", "700"])
        .output()
        .expect("run python3");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("no cycle"), "{out}");
}
