//! The commands run in process: each test builds the parsed arguments, runs the
//! command and reads its outcome (exit code, stdout as data, stderr lines).
//! Profiles hold no exception, so no result depends on the date `load` reads.

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::Value;

use super::cli::{Cli, Command};
use super::{Outcome, Stdout, run};
use crate::testing::HEAD;

const TWO_TEAMS: &str = "namespaces:\n  - name: team-a\n  - name: team-b\n    quota: {pods: 7}\n";

/// The outcome of `kharden ARGS...`, parsed as `main` parses it.
fn kharden(args: &[&str]) -> Outcome {
    let cli = Cli::try_parse_from(std::iter::once("kharden").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    run(cli.command)
}

/// `HEAD + body` written to `dir/name`.
fn profile(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{HEAD}{body}")).unwrap();
    p
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn validate_names_the_profile_by_its_file_and_counts_namespaces() {
    let tmp = tempfile::tempdir().unwrap();
    let p = profile(tmp.path(), "p.yaml", TWO_TEAMS);
    let o = kharden(&["validate", arg(&p)]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Absolute path: the display name is the file name alone.
    assert_eq!(o.stderr, "ok: `p.yaml` is valid (2 namespaces)\n");
    assert_eq!(o.stdout_text(), "");
}

#[test]
fn an_invalid_profile_is_exit_2_with_the_report_on_stderr_and_nothing_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let p = profile(tmp.path(), "bad.yaml", "namespaces:\n  - name: Team_A\n");
    for args in [
        vec!["validate", arg(&p)],
        vec!["render", arg(&p), "-o", "-"],
    ] {
        let o = kharden(&args);
        assert_eq!(o.code, 2, "{args:?}");
        assert!(o.stderr.starts_with("error: "), "{}", o.stderr);
        assert!(o.stderr.contains("namespaces[0].name"), "{}", o.stderr);
        assert!(o.stderr.ends_with('\n'));
        assert_eq!(o.stdout_text(), "", "{args:?}");
    }
}

#[test]
fn render_to_stdout_streams_the_objects_without_a_copy_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let p = profile(tmp.path(), "p.yaml", TWO_TEAMS);
    let o = kharden(&["render", arg(&p), "-o", "-"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(matches!(o.stdout, Stdout::Stream { .. }));
    let text = o.stdout_text();
    let docs: Vec<Value> = text
        .split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    let quota = docs
        .iter()
        .find(|d| d["kind"] == "ResourceQuota" && d["metadata"]["namespace"] == "team-b")
        .unwrap_or_else(|| panic!("no quota for team-b in:\n{text}"));
    assert_eq!(quota["spec"]["hard"]["pods"], "7");
    assert!(
        docs.iter()
            .any(|d| d["kind"] == "Namespace" && d["metadata"]["name"] == "team-a")
    );
}

#[test]
fn render_check_reports_drift_on_stdout_and_exit_1_after_a_clean_write() {
    let tmp = tempfile::tempdir().unwrap();
    let p = profile(tmp.path(), "p.yaml", TWO_TEAMS);
    let dir = tmp.path().join("out");
    let o = kharden(&["render", arg(&p), "-o", arg(&dir)]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The render's notes, then what was written.
    let last = o.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("wrote ") && last.ends_with("/out`"),
        "{}",
        o.stderr
    );
    let o = kharden(&["render", arg(&p), "-o", arg(&dir), "--check"]);
    assert_eq!(
        (o.code, o.stdout_text()),
        (0, String::new()),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("is up to date"), "{}", o.stderr);

    let quota = dir.join("stages/20-namespaced/team-b/resourcequota-kharden-default.yaml");
    let text = std::fs::read_to_string(&quota).unwrap();
    std::fs::write(&quota, text.replace("pods: \"7\"", "pods: \"70\"")).unwrap();
    let o = kharden(&["render", arg(&p), "-o", arg(&dir), "--check"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stdout_text().starts_with(
            "changed: stages/20-namespaced/team-b/resourcequota-kharden-default.yaml\n"
        ),
        "{}",
        o.stdout_text()
    );
    assert!(
        o.stderr.contains("(1 changed, 0 missing, 0 extra)"),
        "{}",
        o.stderr
    );
}

#[test]
fn usage_errors_are_exit_2_with_one_error_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = profile(tmp.path(), "p.yaml", TWO_TEAMS);
    let cases: [(&[&str], &str); 4] = [
        (
            &["render", arg(&p), "-o", "-", "--check"],
            "error: `--check` needs an output directory, not `-`\n",
        ),
        (
            &["diff", arg(tmp.path()), arg(tmp.path())],
            "error: `diff` needs at least one profile; both arguments are directories\n",
        ),
        (
            &["lint", "--explain", "KH999"],
            "error: no lint rule `KH999`; see docs/lint.md\n",
        ),
        (
            &["explain", arg(&p), "namespaces", "--format", "mermaid"],
            "error: `--format mermaid` draws the flow graph; give no value path\n",
        ),
    ];
    for (args, want) in cases {
        let o = kharden(args);
        assert_eq!((o.code, o.stderr.as_str()), (2, want), "{args:?}");
        assert_eq!(o.stdout_text(), "", "{args:?}");
    }
}

#[test]
fn diff_is_exit_1_exactly_when_the_profiles_differ() {
    let tmp = tempfile::tempdir().unwrap();
    let a = profile(tmp.path(), "a.yaml", TWO_TEAMS);
    let b = profile(
        tmp.path(),
        "b.yaml",
        &TWO_TEAMS.replace("pods: 7", "pods: 9"),
    );
    let same = kharden(&["diff", arg(&a), arg(&a), "--format", "json"]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    let none: Value = serde_json::from_str(&same.stdout_text()).unwrap();
    assert_eq!(none["changes"], serde_json::json!([]), "{none}");
    let o = kharden(&["diff", arg(&a), arg(&b), "--format", "json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let report: Value = serde_json::from_str(&o.stdout_text()).unwrap();
    assert_eq!(
        report["changes"],
        serde_json::json!([{"widening": true, "message": "quota `pods` in `team-b`: 7 → 9"}])
    );
    assert_eq!(
        report["files"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
}

#[test]
fn krm_answers_a_bad_resource_list_with_error_results_and_exit_1() {
    let o = super::krm::run(&mut "kind: ConfigMap\n".as_bytes());
    assert_eq!(o.code, 1, "{}", o.stderr);
    let answer: Value = serde_saphyr::from_str(&o.stdout_text()).unwrap();
    assert_eq!(answer["kind"], "ResourceList");
    assert_eq!(answer["results"][0]["severity"], "error");
    assert_eq!(answer["items"], Value::Array(Vec::new()));
}

#[test]
fn every_subcommand_is_dispatched() {
    // The schema is JSON with the profile's top-level sections.
    let o = kharden(&["schema"]);
    let schema: Value = serde_json::from_str(&o.stdout_text()).unwrap();
    assert!(schema["properties"]["namespaces"].is_object(), "{schema}");
    // `man` and `completions` come from the same clap definitions.
    assert!(kharden(&["man"]).stdout_text().contains(".SH SUBCOMMANDS"));
    assert!(
        kharden(&["completions", "bash"])
            .stdout_text()
            .contains("argocd-health")
    );
    assert!(matches!(
        Cli::try_parse_from(["kharden", "krm"]).map(|c| c.command),
        Ok(Command::Krm)
    ));
}
