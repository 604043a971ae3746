//! The audit report as text (per namespace, for a terminal), Markdown (for a
//! pull request or ticket) or JSON (for tools; the `Report` fields as they are).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Report;

/// The JSON report, pretty, with a trailing newline.
pub fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

fn scope(ns: Option<&str>) -> String {
    ns.map_or_else(|| "cluster-wide".to_owned(), |n| format!("namespace {n}"))
}

/// Lines per scope (namespace, or cluster-wide), so text reads per namespace.
fn grouped(r: &Report, md: bool) -> BTreeMap<String, Vec<String>> {
    let code = |s: &str| if md { format!("`{s}`") } else { s.to_owned() };
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in &r.violations {
        by.entry(scope(Some(&v.namespace)))
            .or_default()
            .push(format!(
                "refused: {} {} by {} ({}): {}",
                v.kind,
                code(&v.name),
                code(&v.rule),
                v.engine,
                v.message
            ));
    }
    for a in &r.access {
        let beyond = if a.beyond.is_empty() {
            String::new()
        } else {
            format!(" (e.g. {})", a.beyond.join(", "))
        };
        by.entry(scope(a.namespace.as_deref()))
            .or_default()
            .push(format!(
                "access {}: {} {} gets {} through {}{beyond}",
                a.verdict,
                a.subject_kind,
                code(&a.subject_name),
                code(&a.role),
                code(&a.binding)
            ));
    }
    let mut creates: BTreeMap<String, usize> = BTreeMap::new();
    for d in &r.drift {
        let at = scope(d.namespace.as_deref());
        if d.change == "create" {
            *creates.entry(at).or_default() += 1;
            continue;
        }
        let fields = if d.fields.is_empty() {
            String::new()
        } else {
            format!(": {}", d.fields.join(", "))
        };
        by.entry(at).or_default().push(format!(
            "{}: {} {}{fields}",
            d.change,
            d.kind,
            code(&d.name)
        ));
    }
    for (at, n) in creates {
        by.entry(at)
            .or_default()
            .push(format!("create: {n} object(s) the bundle adds"));
    }
    for u in &r.namespaces {
        let lines = by.entry(scope(Some(&u.name))).or_default();
        lines.push(format!(
            "not in the profile ({} object(s)); protected by: {}; not protected: {}",
            u.objects,
            if u.protected_by.is_empty() {
                "nothing".to_owned()
            } else {
                u.protected_by.join("; ")
            },
            if u.unprotected.is_empty() {
                "nothing".to_owned()
            } else {
                u.unprotected.join("; ")
            }
        ));
    }
    by
}

fn summary(r: &Report) -> String {
    format!(
        "{} violation(s), {} access finding(s), {} drift, {} namespace(s) outside the profile",
        r.violations.len(),
        r.access.len(),
        r.drift.len(),
        r.namespaces.len()
    )
}

/// Per namespace, one finding a line; then notes and a summary line.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    for (at, lines) in grouped(r, false) {
        let _ = writeln!(out, "{at}:");
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "audit: {}", summary(r));
    out
}

/// A Markdown section per namespace.
pub fn markdown(r: &Report) -> String {
    let mut out = String::from("# kharden audit\n\n");
    let _ = writeln!(out, "{}\n", summary(r));
    for (at, lines) in grouped(r, true) {
        let _ = writeln!(out, "## {at}\n");
        for l in lines {
            let _ = writeln!(out, "- {}", l.replace('|', "\\|"));
        }
        out.push('\n');
    }
    if !r.notes.is_empty() {
        out.push_str("## Notes\n\n");
        for n in &r.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}
