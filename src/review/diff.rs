//! `kharden diff`: what changes between two profiles (or a profile and a rendered
//! directory), as a semantic summary of access and limits — each widening change
//! marked with the word "widening" — plus a unified diff of the files.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::bundle::manifest::ManifestSet;
use crate::bundle::output::HEADER_PREFIX;
use crate::pipeline::facts::{Change, changes, facts};
use crate::pipeline::model::Model;

/// How one file changes.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub status: &'static str,
    /// Unified diff of the file (without its header line).
    pub diff: String,
}

/// Everything `diff` reports.
#[derive(Debug, Serialize)]
pub struct Report {
    /// None when one side is a rendered directory (no profile to read meaning from).
    pub changes: Option<Vec<Change>>,
    pub files: Vec<FileChange>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.changes.as_ref().is_none_or(Vec::is_empty)
    }
}

/// Files of a rendering keyed by path, bodies only (headers name the profile and
/// would make every file differ between two profiles).
pub fn bodies(set: &ManifestSet) -> BTreeMap<String, String> {
    set.iter()
        .map(|m| (crate::bundle::tree::path_of(m), m.body().to_owned()))
        .collect()
}

/// Drop our header line, if the text has one.
pub fn strip_header(text: &str) -> &str {
    if text.starts_with(HEADER_PREFIX) {
        text.split_once('\n').map_or("", |(_, rest)| rest)
    } else {
        text
    }
}

pub fn file_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<FileChange> {
    let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|p| {
            let (a, b) = (
                old.get(p).map(String::as_str),
                new.get(p).map(String::as_str),
            );
            if a == b {
                return None;
            }
            let status = match (a, b) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            };
            let diff = similar::TextDiff::from_lines(a.unwrap_or(""), b.unwrap_or(""))
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{p}"), &format!("b/{p}"))
                .to_string();
            Some(FileChange {
                path: p.clone(),
                status,
                diff,
            })
        })
        .collect()
}

/// Compare two validated profiles and their renderings.
pub fn profiles(old: &Model, old_set: &ManifestSet, new: &Model, new_set: &ManifestSet) -> Report {
    Report {
        changes: Some(changes(&facts(old), &facts(new))),
        files: file_changes(&bodies(old_set), &bodies(new_set)),
    }
}

/// Plain text: the summary, then the file diff.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    match &r.changes {
        None => out.push_str(
            "semantic changes: not available (one side is a rendered directory, not a profile)\n",
        ),
        Some(ch) if ch.is_empty() => out.push_str("semantic changes: none\n"),
        Some(ch) => {
            let w = ch.iter().filter(|c| c.widening).count();
            let _ = writeln!(out, "semantic changes: {} ({w} widening)", ch.len());
            for c in ch {
                let _ = writeln!(
                    out,
                    "  {} {}",
                    if c.widening { "widening:" } else { "         " },
                    c.message
                );
            }
        }
    }
    if r.files.is_empty() {
        out.push_str("file changes: none\n");
    } else {
        let _ = writeln!(out, "file changes: {}", r.files.len());
        for f in &r.files {
            let _ = writeln!(out, "  {:8} {}", f.status, f.path);
        }
        out.push('\n');
        for f in &r.files {
            out.push_str(&f.diff);
        }
    }
    out
}

/// Markdown for a pull-request comment.
pub fn markdown(r: &Report) -> String {
    let mut out = String::from("### kharden: what this change does\n\n");
    match &r.changes {
        None => {
            out.push_str("_Semantic summary not available: one side is a rendered directory._\n")
        }
        Some(ch) if ch.is_empty() => out.push_str("No change in access or limits.\n"),
        Some(ch) => {
            for c in ch {
                let _ = writeln!(
                    out,
                    "- {}{}",
                    if c.widening { "**widening**: " } else { "" },
                    md_escape(&c.message)
                );
            }
        }
    }
    if !r.files.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} file(s) changed</summary>\n\n```diff",
            r.files.len()
        );
        for f in &r.files {
            out.push_str(&f.diff.replace("```", "`\u{200b}``"));
        }
        out.push_str("```\n\n</details>\n");
    }
    out
}

fn md_escape(s: &str) -> String {
    // Backticks already mark names; escape what would start markup elsewhere.
    s.replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

/// JSON for machines.
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r)
        .map(|s| s + "\n")
        .unwrap_or_default()
}
