//! Extension templates through the real binary: values stay strings, templates
//! cannot escape the profile's folder or print unescaped values, and template
//! errors name the template and its line.

use crate::common;

use std::fs;

use common::{kharden_in, stderr};

const HEAD: &str = "apiVersion: kharden.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {name: x}\nextends: [baseline]\ncluster: {name: x, platform: kubeadm, kubernetesVersion: \"1.33\"}\napiServer: {advertiseAddress: 10.0.0.10}\n";

fn setup(template: &str, extra: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("ext")).unwrap();
    fs::write(tmp.path().join("ext/t.yaml.tera"), template).unwrap();
    fs::write(
        tmp.path().join("p.yaml"),
        format!("{HEAD}namespaces:\n  - name: a\n    annotations: {{note: \"x\\n---\\nkind: Secret\\nmetadata: {{name: s}}\"}}\nextensions:\n  - {{template: ext/t.yaml.tera, scope: namespace}}\n{extra}"),
    )
    .unwrap();
    tmp
}

#[test]
fn a_hostile_value_stays_one_string() {
    let tmp = setup(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  note: {{ namespace.annotations.note }}\n",
        "",
    );
    let o = kharden_in(tmp.path(), &["render", "p.yaml", "-o", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_saphyr::from_str(
        &fs::read_to_string(
            tmp.path()
                .join("out/stages/20-namespaced/a/configmap-c.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        v["data"]["note"],
        "x\n---\nkind: Secret\nmetadata: {name: s}"
    );
    assert!(!tmp.path().join("out/a/secret-s.yaml").exists());
}

#[test]
fn templates_must_stay_next_to_the_profile_and_escape_values() {
    let tmp = setup(
        "x: {{ namespace.name | safe }}\n",
        "  - {template: ../../etc/passwd, scope: cluster}\n",
    );
    let o = kharden_in(tmp.path(), &["render", "p.yaml", "-o", "out"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("error: template `ext/t.yaml.tera` uses the `safe` filter (line 1)"),
        "{e}"
    );
    assert!(
        e.contains("error: template `../../etc/passwd` leaves the profile's directory"),
        "{e}"
    );
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn template_errors_point_at_the_template_line() {
    let tmp = setup(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ namespace.nme }}\n",
        "",
    );
    let o = kharden_in(tmp.path(), &["render", "p.yaml", "-o", "out"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("template `ext/t.yaml.tera` failed"), "{e}");
    assert!(e.contains("ext/t.yaml.tera:4:"), "{e}");
    let tmp = setup("apiVersion: v1\n{% if %}\n", "");
    let o = kharden_in(tmp.path(), &["validate", "p.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("template `ext/t.yaml.tera` does not parse"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("ext/t.yaml.tera:2:"), "{}", stderr(&o));
}

#[test]
fn output_must_be_kubernetes_objects() {
    let tmp = setup("- just a list\n", "");
    let o = kharden_in(tmp.path(), &["render", "p.yaml", "-o", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("template `ext/t.yaml.tera`, document 1 for namespace `a` is not a mapping"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unreadable_templates_say_why_all_at_once() {
    let tmp = setup(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        "  - {template: ext/missing.yaml.tera, scope: cluster}\n  - {template: ext, scope: cluster}\n  - {template: ext/latin1.yaml.tera, scope: cluster}\n  - {template: ext/big.yaml.tera, scope: cluster}\n",
    );
    fs::write(tmp.path().join("ext/latin1.yaml.tera"), b"name: caf\xe9\n").unwrap();
    fs::write(
        tmp.path().join("ext/big.yaml.tera"),
        vec![b'#'; 1024 * 1024 + 1],
    )
    .unwrap();
    let o = kharden_in(tmp.path(), &["render", "p.yaml", "-o", "out"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    for why in [
        "cannot read template `ext/missing.yaml.tera`: no such file next to the profile",
        "cannot read template `ext`: it is not a file",
        "cannot read template `ext/latin1.yaml.tera`: it is not UTF-8 text",
        "cannot read template `ext/big.yaml.tera`: it is larger than 1048576 bytes",
    ] {
        assert!(e.contains(why), "{why}\n{e}");
    }
    assert!(!tmp.path().join("out").exists());
}
