//! `scripts/module-graph` finds import cycles and over-long files: run on small source
//! trees written here, one with a cycle (through `use`, a path in code and `super::`),
//! one without.

use crate::common;

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

/// Issue 32 item 4: a name lib.rs defines is an edge to the crate root, so an item
/// in lib.rs that calls a module using it is a cycle; the crate root's own paths
/// (`a::run()` in lib.rs, no `crate::`) are its edges. A re-exported name is the
/// module it comes from, at the crate root and below; where lib.rs and a module
/// share a name, one segment is the item and a longer path the module.
#[test]
fn a_lib_rs_item_is_an_edge_to_the_crate_root() {
    let lib = "pub mod a;\npub mod b;\npub mod c;\npub mod load;\npub use b::Thing;\n\
               pub fn render() {\n    a::run();\n}\npub fn load() {}\n";
    let files = [
        ("lib.rs", lib),
        ("a.rs", "pub fn run() {}\nfn g() { crate::render(); }\n"),
        (
            "b/mod.rs",
            "mod inner;\npub use inner::Deep;\npub struct Thing;\n",
        ),
        ("b/inner.rs", "pub struct Deep;\n"),
        (
            "c.rs",
            "use crate::Thing;\nuse crate::{b::{Deep as D}};\nfn f() { crate::load(); crate::load::h(); }\n",
        ),
        ("load.rs", "pub fn h() {}\n"),
    ];
    let (ok, out) = graph(&files, &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("cycle: crate <-> a"), "{out}");
    assert!(
        out.contains("  a -> crate") && out.contains("  crate -> a"),
        "{out}"
    );
    let (_, dot) = graph(&files, &["--dot"]);
    for edge in [
        r#""c" -> "b";"#,
        r#""c" -> "b::inner";"#,
        r#""c" -> "crate";"#,
        r#""c" -> "load";"#,
    ] {
        assert!(dot.contains(edge), "no {edge} in {dot}");
    }
    // `Thing` is defined in b/mod.rs; `Deep`, in a nested use group, is b::inner's.
    assert_eq!(dot.matches(r#""c" -> "b""#).count(), 1, "{dot}");

    // The items in a module of their own, which lib.rs only re-exports: no
    // cycle, and `crate::render` is an edge to that module.
    let files = [
        (
            "lib.rs",
            "pub mod a;\npub mod b;\npub mod pipeline;\npub use pipeline::{load, render};\n",
        ),
        ("a.rs", "fn g() { crate::render(); }\n"),
        ("b.rs", "pub fn run() {}\n"),
        (
            "pipeline.rs",
            "pub fn render() {\n    crate::b::run();\n}\npub fn load() {}\n",
        ),
    ];
    let (ok, out) = graph(&files, &[]);
    assert!(ok, "{out}");
    let (_, dot) = graph(&files, &["--dot"]);
    assert!(dot.contains(r#""a" -> "pipeline";"#), "{dot}");
    assert!(!dot.contains(r#" -> "crate""#), "{dot}");
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

/// Issue 15: no concern imports another concern. What two concerns share lives
/// outside them (`model`, `flows`) or in the two helper modules under
/// `concern/` that import no concern (`metadata`, `netpol`); the registry
/// (`concern/mod.rs`) is the only module that names every concern.
#[test]
fn no_concern_imports_another() {
    const SHARED: &[&str] = &["metadata", "netpol"];
    let o = Command::new("python3")
        .arg(root().join("scripts/module-graph"))
        .arg("--dot")
        .output()
        .expect("run python3");
    let dot = String::from_utf8_lossy(&o.stdout);
    // The concern a module belongs to: `concern::mesh::sidecar` -> `mesh`;
    // the registry itself is `concern` alone.
    let concern_of = |m: &str| -> Option<String> {
        let rest = m.strip_prefix("concern")?;
        Some(rest.trim_start_matches("::").split("::").next()?.to_owned())
    };
    let mut crossings = Vec::new();
    let mut concern_edges = 0;
    for line in dot.lines() {
        let Some((from, to)) = line.trim().trim_end_matches(';').split_once(" -> ") else {
            continue;
        };
        let (from, to) = (from.trim_matches('"'), to.trim_matches('"'));
        let (Some(a), Some(b)) = (concern_of(from), concern_of(to)) else {
            continue;
        };
        concern_edges += 1;
        if a.is_empty() || SHARED.contains(&a.as_str()) {
            continue; // the registry, or a shared helper
        }
        if a != b && !SHARED.contains(&b.as_str()) {
            crossings.push(format!("{from} -> {to}"));
        }
    }
    assert!(
        concern_edges > 20,
        "the graph lost the concern edges:\n{dot}"
    );
    assert!(
        crossings.is_empty(),
        "concerns importing concerns: {crossings:#?}"
    );
}
