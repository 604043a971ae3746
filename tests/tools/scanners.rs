//! The scanner reviewers run: checkov (pinned by `scripts/setup-tools`) over every
//! rendered example in `out/` must report zero failed checks, and every check it
//! skips must be skipped by an annotation on the object that gives a reason.
//! A negative control proves checkov really scans (and really honours the
//! annotation), so a checkov that finds nothing cannot pass this silently.
//! The test fails, never skips, when checkov is not installed.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use common::{examples, root};

fn checkov() -> PathBuf {
    let bin = std::env::var_os("KHARDEN_CHECKOV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/checkov/bin/checkov"));
    assert!(
        bin.is_file(),
        "{} not found: run scripts/setup-tools (the README's test command does)",
        bin.display()
    );
    bin
}

/// One checkov result: check id, resource, file (relative to `dir`), skip reason.
#[derive(Debug)]
struct Finding {
    id: String,
    resource: String,
    file: String,
    reason: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {} in {}", self.id, self.resource, self.file)
    }
}

#[derive(Debug, Default)]
struct Report {
    failed: Vec<Finding>,
    skipped: Vec<Finding>,
    passed: usize,
    resources: u64,
    parsing_errors: Vec<String>,
}

/// Run checkov's Kubernetes checks over `dir` (recursively) and read its JSON report.
fn scan(dir: &Path) -> Report {
    let o = Command::new(checkov())
        .arg("-d")
        .arg(dir)
        // --skip-download: no call to the vendor's API (there is no network here,
        // and results must not depend on it); only the built-in checks run.
        .args([
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
        ])
        .env("LOG_LEVEL", "WARNING")
        .output()
        .expect("run checkov");
    // Exit 1 means "failed checks"; anything else nonzero is checkov failing.
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "checkov exited {:?}:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON report ({e}):\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    // One framework gives one object; several give a list; a scan that found
    // nothing to check gives the bare summary.
    let runs = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut r = Report::default();
    for run in &runs {
        let summary = run.get("summary").unwrap_or(run);
        assert_eq!(
            summary["checkov_version"], "3.3.30",
            "checkov is not the pinned version; run scripts/setup-tools"
        );
        r.resources += summary["resource_count"].as_u64().unwrap_or_default();
        let Some(results) = run.get("results") else {
            continue;
        };
        let list = |key: &str| -> Vec<Finding> {
            results[key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| Finding {
                    id: f["check_id"].as_str().unwrap_or_default().to_owned(),
                    resource: f["resource"].as_str().unwrap_or_default().to_owned(),
                    file: f["file_path"].as_str().unwrap_or_default().to_owned(),
                    reason: f["check_result"]["suppress_comment"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                })
                .collect()
        };
        r.failed.extend(list("failed_checks"));
        r.skipped.extend(list("skipped_checks"));
        r.passed += results["passed_checks"].as_array().map_or(0, Vec::len);
        r.parsing_errors.extend(
            results["parsing_errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e.to_string()),
        );
    }
    r
}

/// The scan of `out/`, run once for the tests that read it.
fn out_report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| scan(&root().join("out")))
}

#[test]
fn checkov_finds_no_failed_check_in_any_rendered_example() {
    let r = out_report();
    // Every example was there to scan (the golden test proves out/ is current).
    for name in examples() {
        assert!(
            root()
                .join("out")
                .join(&name)
                .join("kustomization.yaml")
                .is_file(),
            "out/{name} missing"
        );
    }
    assert!(
        r.parsing_errors.is_empty(),
        "checkov could not parse (and so did not scan): {:?}",
        r.parsing_errors
    );
    assert!(
        r.resources > 100 && r.passed > 100,
        "checkov scanned almost nothing ({} resources, {} passed): wrong directory or flags?",
        r.resources,
        r.passed
    );
    let failed: Vec<String> = r.failed.iter().map(ToString::to_string).collect();
    assert!(
        failed.is_empty(),
        "checkov reports {} failed check(s) in out/; fix the rendering, or skip with \
         `checkov.io/skipN: CKV_K8S_xx=<reason>` on the object if the check cannot apply:\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
}

#[test]
fn every_checkov_skip_in_out_carries_a_reason() {
    let r = out_report();
    assert!(
        !r.skipped.is_empty(),
        "expected the collector's reasoned skips"
    );
    for s in &r.skipped {
        // A reason is a sentence for a reviewer, not a token.
        assert!(
            s.reason.split_whitespace().count() >= 5,
            "{s}: skipped without a real reason ({:?})",
            s.reason
        );
    }
}

/// A Deployment that breaks many rules: privileged, root, host network, `latest`,
/// no limits, no probes.
const BAD: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
  namespace: default
ANNOTATIONS
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      hostNetwork: true
      containers:
        - name: bad
          image: nginx:latest
          securityContext: {privileged: true, runAsUser: 0}
";

#[test]
fn checkov_really_fails_a_bad_deployment_and_honours_a_skip_annotation() {
    // Not tempfile's default `.tmpXXXX`: checkov ignores directories named with a dot.
    let tmp = tempfile::Builder::new()
        .prefix("checkov-control")
        .tempdir()
        .unwrap();
    std::fs::write(
        tmp.path().join("bad.yaml"),
        BAD.replace("ANNOTATIONS\n", ""),
    )
    .unwrap();
    let r = scan(tmp.path());
    let ids: Vec<&str> = r.failed.iter().map(|f| f.id.as_str()).collect();
    assert!(r.failed.len() >= 10, "checkov found too little: {ids:?}");
    for id in ["CKV_K8S_16", "CKV_K8S_19", "CKV_K8S_14"] {
        assert!(ids.contains(&id), "{id} not reported: {ids:?}");
    }

    // The annotation format kharden uses turns exactly that finding into a skip.
    std::fs::write(
        tmp.path().join("bad.yaml"),
        BAD.replace(
            "ANNOTATIONS\n",
            "  annotations:\n    checkov.io/skip1: CKV_K8S_16=the negative control skips this one check\n",
        ),
    )
    .unwrap();
    let r = scan(tmp.path());
    assert!(!r.failed.iter().any(|f| f.id == "CKV_K8S_16"));
    assert!(
        r.skipped
            .iter()
            .any(|s| s.id == "CKV_K8S_16" && s.reason.contains("negative control")),
        "{:?}",
        r.skipped
    );
    assert!(r.failed.len() >= 9);
}
