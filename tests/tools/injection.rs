//! YAML injection: hostile user strings come out as the very same strings, read
//! back by two independent readers (serde-saphyr, and PyYAML, a YAML 1.1 reader
//! like kubectl's), never as extra structure.

use crate::common;

use std::process::Command;

use common::{kharden_in, stderr, tree};

const HOSTILE: &[&str] = &[
    "a\nb",
    "---",
    "key: value",
    "- item",
    "{{ .Values.x }}",
    "${HOME}",
    "\"quoted' both",
    "</match>",
    "line\u{2028}separator",
    "next\u{85}line",
    "on",
    "yes",
    "0777",
    "1e3",
    "~",
    "# not a comment",
    "&anchor *alias",
    "!!binary x",
    "%TAG",
    "@at",
    "`tick`",
    "tab\there",
    " lead",
    "trail ",
    "",
    "{a: 1}",
    "[1, 2]",
    "\\backslash\\",
];

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn hostile_strings_survive_every_reader() {
    let mut annotations = String::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        annotations.push_str(&format!("      example.com/v{i}: {}\n", yaml_string(h)));
    }
    let profile = format!(
        "apiVersion: kharden.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {{name: evil}}\nextends: [baseline]\ncluster: {{name: evil, platform: kubeadm, kubernetesVersion: \"1.33\"}}\napiServer: {{advertiseAddress: 10.0.0.10}}\nnamespaces:\n  - name: a\n    annotations:\n{annotations}    access:\n      - {{user: {}, role: view}}\n      - {{group: {}, role: view}}\nclusterAccess:\n  - group: ops\n    rules: [{{apiGroups: [\"\"], resources: [nodes], verbs: [list]}}]\n    justification: {}\n",
        yaml_string("on"),
        yaml_string("key: value # x"),
        yaml_string("Needed because: reasons\n---\nkind: Secret"),
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("evil.yaml"), &profile).unwrap();
    let o = kharden_in(tmp.path(), &["render", "evil.yaml", "-o", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("out");

    let ns: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(out.join("stages/00-cluster/_cluster/namespace-a.yaml")).unwrap(),
    )
    .unwrap();
    for (i, h) in HOSTILE.iter().enumerate() {
        assert_eq!(
            ns["metadata"]["annotations"][format!("example.com/v{i}")],
            *h,
            "annotation {i}"
        );
    }
    let rb: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(out.join("stages/40-access/a/rolebinding-view-user-on.yaml"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rb["subjects"][0]["name"], "on");
    let crb: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(
            out.join("stages/40-access/_cluster/clusterrolebinding-kharden-group-ops.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        crb["metadata"]["annotations"]["kharden.dev/justification"],
        "Needed because: reasons\n---\nkind: Secret"
    );
    let files = tree(&out);
    assert_eq!(
        files.keys().filter(|k| k.ends_with(".yaml")).count(),
        files.len(),
        "an injected document became a file?"
    );

    // PyYAML (YAML 1.1) reads every file to the same value as serde-saphyr.
    let python = common::tools_python();
    for (rel, bytes) in files {
        let text = String::from_utf8(bytes).unwrap();
        let ours: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let o = Command::new(&python)
            .args(["-c", "import sys, json, yaml; docs = list(yaml.safe_load_all(open(sys.argv[1], encoding='utf-8'))); assert len(docs) == 1, len(docs); print(json.dumps(docs[0]))"])
            .arg(out.join(&rel))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{rel}: PyYAML failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let theirs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(ours, theirs, "{rel}: PyYAML reads it differently");
    }
}
