//! Shared helpers for the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The date every test renders at, so exception expiry never depends on the calendar.
pub(crate) const TODAY: &str = "2026-11-26";

/// The profile contract, vendored from `../shared/profile.example.yaml` (`tests/hermetic/vendored.rs`
/// keeps the copy current).
pub(crate) const CONTRACT: &str = "tests/data/profile.example.yaml";

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the real binary from the crate root.
pub(crate) fn kharden(args: &[&str]) -> Output {
    kharden_in(&root(), args)
}

pub(crate) fn kharden_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kharden"))
        .args(args)
        .current_dir(dir)
        .env("KHARDEN_TODAY", TODAY)
        .output()
        .expect("run kharden")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every example profile: `examples/<name>.yaml`, rendered to `out/<name>/`.
pub(crate) fn examples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "yaml")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    v.sort();
    v
}

/// Every file under `dir`, by relative path.
pub(crate) fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A program of the pinned validator venv (`$KHARDEN_TOOLS`, by default
/// `.tools/venv/bin`, installed by `scripts/setup-tools`). Fails, never skips,
/// without it.
pub(crate) fn tool(name: &str) -> PathBuf {
    let dir = std::env::var_os("KHARDEN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/venv/bin"));
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} not found: run scripts/setup-tools (the README's test command does)",
        bin.display()
    );
    bin
}

/// The venv's Python, which has PyYAML and jsonschema.
pub(crate) fn tools_python() -> PathBuf {
    tool("python")
}
