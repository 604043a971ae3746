//! The emitter against the reference path (a sorted serde_json tree through
//! serde-saphyr), on the scalars and shapes that take its slow path.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::bundle::manifest::reference;
use crate::bundle::stage::Stage;

/// Strings every position must render exactly as serde-saphyr does.
fn tricky() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "a",
        "y",
        "Y",
        "n",
        "yes",
        "No",
        "on",
        "OFF",
        "true",
        "False",
        "null",
        "~",
        "nan",
        "NaN",
        "inf",
        "-inf",
        ".inf",
        "20",
        "0",
        "007",
        "0x1F",
        "1e3",
        "1_000",
        "12:30",
        "2030-01-01",
        "2030-01-01T00:00:00Z",
        "10.0.0.0/8",
        "-",
        "- a",
        "-a",
        "?",
        "? a",
        ":a",
        "a:",
        "a: b",
        "a:b",
        "#a",
        "a #b",
        "a#b",
        "&a",
        "*a",
        "!a",
        "|",
        ">",
        "'a'",
        "\"a\"",
        "%a",
        "@a",
        "`a",
        "[a]",
        "{a}",
        "a,b",
        "---",
        "--- a",
        "...",
        "<<",
        "=",
        " a",
        "a ",
        "a\tb",
        "a\\b",
        "é",
        "日本",
        "a\u{0}b",
        "\u{feff}a",
        "a\rb",
        "line\n",
        "two\nlines",
        "two\nlines\n",
        "trailing\n\n",
        "\nleading",
        "  indented\nnext",
        "blank\n\nline\n",
        "tab\n\tline",
        "sp \nend",
        "\u{85}nel\n",
        "x\r\ny",
        "package k\n\nviolation[{\"msg\": m}] {\n  m := \"a: b\"\n}\n",
        "app.kubernetes.io/managed-by",
        "kharden",
        "networking.k8s.io/v1",
        "team-a_b.c",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("a".repeat(2000));
    v.push(format!("{} tail", "word ".repeat(25_000)));
    v
}

fn same(obj: &impl Serialize, stage: Stage) {
    let annotations = stage.annotations();
    let got = super::object("", obj, &annotations).unwrap();
    let want = reference(obj, &annotations).unwrap();
    assert_eq!(got, want, "emitter differs from serde-saphyr");
}

#[test]
fn scalars_match_serde_saphyr_in_every_position() {
    for s in tricky() {
        // serde-saphyr writes keys over 1,024 bytes as complex `? ` keys, which
        // the emitter refuses (no key kharden writes comes near that).
        let key = if s.len() < 1024 {
            s.clone()
        } else {
            "k".to_owned()
        };
        let obj = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {key.clone(): s.clone()}},
            "data": {"k": s, "nested": {"deeper": {"k": s}}},
            "list": [s, [s, [s]], {"k": s, "n": [s]}, [{"k": s}]],
            "keyed": {key: [s]},
            "items": [{"a": s, "b": {"c": s}, "d": [s]}],
        });
        same(&obj, Stage::Namespaced);
        same(&json!([s, {"k": s}]), Stage::Cluster);
        same(&json!(s), Stage::Cluster);
    }
}

#[test]
fn shapes_match_serde_saphyr() {
    let cases = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}),
        json!({"kind": "K", "metadata": {"name": "a", "annotations": {}}, "apiVersion": "v1"}),
        json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "a", "annotations": null}}),
        json!({"apiVersion": "v1", "kind": "K", "metadata": {"annotations": {
            "argocd.argoproj.io/sync-wave": "99", "z": "1", "a": "2"}}}),
        json!({"apiVersion": "v1", "kind": "K", "metadata": "not a mapping"}),
        json!({"apiVersion": "v1", "kind": "K"}),
        json!({"spec": {}, "list": [], "nested": [[], {}, [[]], [{}]], "n": null, "b": true,
               "i": -3, "u": 18_446_744_073_709_551_615u64, "f": 1.5, "g": 1e300, "h": 0.1}),
        json!({"zeta": 1, "Alpha": 2, "alpha": 3, "_": 4, "10": 5, "9": 6, "a b": 7, "": 8}),
        json!([[[1, 2], [3]], [], [{}], {"a": [[{"b": [[]]}]]}]),
        json!({"metadata": {"name": "m"}, "apiVersion": "v", "kind": "k", "aaa": 1}),
    ];
    for c in cases {
        for stage in Stage::ALL {
            same(&c, stage);
        }
    }
}

/// Typed structs serialize in declaration order and with integer map keys;
/// the emitter sorts them and spells the keys as serde_json does.
#[test]
fn typed_objects_match_serde_saphyr() {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Obj {
        spec: Spec,
        kind: &'static str,
        metadata: BTreeMap<&'static str, &'static str>,
        api_version: &'static str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec {
        ports: BTreeMap<u16, &'static str>,
        mode: Mode,
        wrapped: Wrapped,
        maybe: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        ratio: f32,
        chars: Vec<char>,
        unit: (),
        tuple: (u8, &'static str),
    }
    #[derive(Serialize)]
    enum Mode {
        #[serde(rename = "STRICT")]
        Strict,
        #[allow(dead_code)]
        Other(u8),
    }
    #[derive(Serialize)]
    struct Wrapped(&'static str);
    let obj = Obj {
        spec: Spec {
            ports: BTreeMap::from([(80, "http"), (443, "on"), (8080, "")]),
            mode: Mode::Strict,
            wrapped: Wrapped("no"),
            maybe: None,
            skipped: None,
            ratio: 0.1,
            chars: vec!['y', 'a', ':'],
            unit: (),
            tuple: (1, "1"),
        },
        kind: "K",
        metadata: BTreeMap::from([("name", "x"), ("namespace", "team-a")]),
        api_version: "example.com/v1",
    };
    for stage in Stage::ALL {
        same(&obj, stage);
    }
    let newtype = json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "x"}});
    same(&newtype, Stage::Namespaced);
    #[derive(Serialize)]
    struct Variant {
        v: Mode,
    }
    same(&Variant { v: Mode::Other(3) }, Stage::Cluster);
}

/// Every Kubernetes object kharden builds takes this path; a real one, sorted
/// the way k8s-openapi serializes it, comes out as the reference does.
#[test]
fn a_k8s_openapi_object_matches_serde_saphyr() {
    use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicySpec};
    let np = NetworkPolicy {
        metadata: crate::bundle::manifest::meta("default-deny", Some("team-a")),
        spec: Some(NetworkPolicySpec {
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ..NetworkPolicySpec::default()
        }),
    };
    same(&np, Stage::Namespaced);
}
