//! The fast reader against serde-saphyr: where it answers, it answers alike;
//! what it leaves alone, it leaves to serde-saphyr.

use serde_json::json;

use crate::input::position::{resolve_scalar, saphyr_value};

fn fast(text: &str) -> Option<serde_json::Value> {
    super::parse(text, &resolve_scalar)
}

/// Documents in the subset: read, and read as serde-saphyr reads them.
#[test]
fn the_subset_reads_as_serde_saphyr_reads_it() {
    let docs = [
        "a: 1\n",
        "a: b\nc: d # comment\n# full line\n\ne:\n",
        "apiVersion: kharden.dev/v1alpha1\nkind: ClusterProfile\nmetadata:\n  name: x\n",
        "a:\n- 1\n- two\n-   three  \nb:\n  - x: 1\n    z: [1, \"2\", '3', yes, No, ~, null, 1.5, -3, 0x10, 1e3]\n",
        "a:\n  - - 1\n    - 2\n  - -\n      k: v\n",
        "a: {x: 1, y: {z: [a, b]}, 'q k': \"v\"}\nb: []\nc: {}\nd: [ ]\n",
        "s: 'it''s'\nd: \"a\\\"b\\\\c\\n\\t/\"\ne: \"\"\nf: ''\n",
        "url: https://idp.example.com/realms/x?y=1\nhash: a#b\nnote: a b c. d, e [f] {g}\n",
        "key: on\nw: [y, n, Y, N, True, FALSE, Null, NaN]\n",
        "v: 1.33\nm: \"1.33\"\no: 007\np: 1_000\nq: 12:30\nr: 2030-01-01\ns: +1\n",
        "a: é 日本\n\"quoted key\": 1\n'single': 2\n",
        "  a: 1\n  b:\n    c: 2\n",
        "a:\n    - 1\n    - 2\nb: 3\n",
        "list: [{from: {namespace: t}, methods: [GET, POST], paths: [\"/api/*\"]}]\n",
        "a: [-1, -x]\n",
        "a:\n- 1\nb:\n- 2\n",
        "a: -\n",
        "on: 1\n",
        "k: v   # trailing\n- x\n",
        "a: b: c\n",
        "a: [1, 2,]\n",
        "a: [1,\n  2]\n",
        "a: \"unterminated\nb: 1\n",
        "a: b\n  c\n",
        "a: 1\na: 2\n",
        "a: &x 1\nb: *x\n",
        "a: |\n  text\n",
        "a: !!str 1\n",
        "--- \na: 1\n",
        "? a\n: 1\n",
        "a:\tb\n",
        "[1, 2]\n",
        "just a scalar\n",
        "a:\n  b: 1\n c: 2\n",
        "- a\n- b\n",
        "a: \"\\u00e9\"\n",
        "a: 'x' y\n",
        "a: \"x\" # c\n",
        "a: [x] # c\n",
        "a: [x]y\n",
        "80: http\n",
        "a: @x\n",
        "a: `x\n",
        "a: %x\n",
        "a: x #\n",
        "a: {b: 1, b: 2}\n",
        "a: {b:1}\n",
        "a: [b: 1]\n",
    ];
    for d in docs {
        let got = fast(d);
        let want = saphyr_value(d).ok();
        if let Some(v) = &got {
            assert_eq!(Some(v), want.as_ref(), "fast reader differs on {d:?}");
        }
    }
    // The common shapes do take the fast path.
    let declined: Vec<&&str> = docs[..16].iter().filter(|d| fast(d).is_none()).collect();
    assert!(declined.is_empty(), "fast reader declined {declined:?}");
    assert_eq!(
        fast("a: [1, yes]\n"),
        Some(json!({"a": [1, "yes"]})),
        "strict booleans: `yes` stays a string"
    );
}

/// Every example and preset profile takes the fast path.
#[test]
fn the_example_profiles_take_the_fast_path() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut seen = 0;
    for dir in ["examples", "profiles"] {
        for e in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                let text = std::fs::read_to_string(&p).unwrap();
                let want = saphyr_value(&text).unwrap();
                if let Some(v) = fast(&text) {
                    assert_eq!(v, want, "{}", p.display());
                    seen += 1;
                }
            }
        }
    }
    assert!(seen >= 5, "only {seen} profiles took the fast path");
}

/// Deep nesting is serde-saphyr's to refuse (with its position), and never a
/// deep recursion here.
#[test]
fn deep_nesting_goes_to_serde_saphyr() {
    let flow = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(fast(&flow), None);
    let block: String = (0..40)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    assert_eq!(fast(&block), None);
    let shallow: String = (0..20)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    assert_eq!(fast(&shallow), saphyr_value(&shallow).ok());
}
