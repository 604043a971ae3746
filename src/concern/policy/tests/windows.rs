//! Issue #13 item 7: Windows pods tolerate `policy.windowsNodeTaint` (default
//! `node.kubernetes.io/os=windows:NoSchedule`) and carry `spec.os.name:
//! windows`, on both engines, run through the same harness as the main table.

use serde_json::json;

use super::{Case, TAINT, assert_table, case, rendered_for, windows_pod};
use crate::testing::{HEAD, errors, today};

const ENGINES: [&str; 2] = ["gatekeeper", "validating-admission-policy"];

/// A Windows namespace `win` under `engine`, with `extra` in the policy section.
fn win_model(engine: &str, extra: &str) -> crate::Model {
    let text = format!(
        "{HEAD}namespaces: [{{name: win, workloads: {{windows: true}}}}]\npolicy: {{engine: {engine}{extra}}}\n"
    );
    match crate::load_text(&text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn tolerating(t: serde_json::Value) -> serde_json::Value {
    windows_pod(true, t)
}

#[test]
fn windows_pods_tolerate_the_upstream_taint_by_default() {
    let cases = || -> Vec<Case> {
        vec![
            case(
                "upstream taint",
                "win",
                tolerating(
                    json!({"key": TAINT, "operator": "Equal", "value": "windows", "effect": "NoSchedule"}),
                ),
                true,
            ),
            case(
                "the old hard-coded os=windows taint only",
                "win",
                tolerating(json!({"key": "os", "operator": "Exists"})),
                false,
            ),
        ]
    };
    for engine in ENGINES {
        let m = win_model(engine, "");
        assert_table(engine, &rendered_for(&m, engine), cases());
    }
}

#[test]
fn the_windows_node_taint_is_configurable() {
    let extra = ", windowsNodeTaint: {key: os, value: windows, effect: NoExecute}";
    let cases = || -> Vec<Case> {
        vec![
            case(
                "the profile's taint",
                "win",
                tolerating(
                    json!({"key": "os", "operator": "Equal", "value": "windows", "effect": "NoExecute"}),
                ),
                true,
            ),
            case(
                "the same key with another effect",
                "win",
                tolerating(
                    json!({"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}),
                ),
                false,
            ),
            case(
                "the upstream taint, which these nodes do not carry",
                "win",
                tolerating(
                    json!({"key": TAINT, "operator": "Equal", "value": "windows", "effect": "NoExecute"}),
                ),
                false,
            ),
        ]
    };
    for engine in ENGINES {
        let m = win_model(engine, extra);
        assert_table(engine, &rendered_for(&m, engine), cases());
    }
    // The Gatekeeper mutator adds exactly the profile's toleration.
    let m = win_model("gatekeeper", extra);
    let objs = rendered_for(&m, "gatekeeper");
    let tol = objs
        .iter()
        .find(|o| o["metadata"]["name"] == "windows-toleration")
        .unwrap();
    assert_eq!(
        tol["spec"]["parameters"]["values"]["fromList"],
        json!([{"key": "os", "operator": "Equal", "value": "windows", "effect": "NoExecute"}])
    );
}

#[test]
fn a_bad_windows_node_taint_is_refused() {
    let e = errors(
        "namespaces: [{name: win, workloads: {windows: true}}]\npolicy: {engine: gatekeeper, windowsNodeTaint: {key: \"bad key\", value: \"-x\", effect: NoSchedule}}\n",
    );
    assert!(e.contains("`bad key` is not a taint key"), "{e}");
    assert!(e.contains("`-x` is not a taint value"), "{e}");
    let e = errors(
        "namespaces: [{name: win, workloads: {windows: true}}]\npolicy: {engine: gatekeeper, windowsNodeTaint: {key: os, effect: Sometimes}}\n",
    );
    assert!(e.contains("Sometimes"), "{e}");
}
