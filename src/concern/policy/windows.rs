//! Windows namespaces (`workloads.windows`): what their pods must carry to land
//! on Windows nodes, the same for both engines. The node selector is the
//! well-known `kubernetes.io/os` label; the toleration is of
//! `policy.windowsNodeTaint` (default `node.kubernetes.io/os=windows:NoSchedule`,
//! the taint upstream recommends and GKE sets on its Windows node pools); and
//! `spec.os.name: windows`, which makes Pod Security (1.25+) skip the
//! Linux-only `restricted` checks (seccomp, capabilities) a Windows pod cannot
//! meet, and makes the API server refuse Linux-only fields on it.

use serde_json::{Value, json};

use crate::input::diag::Diagnostic;
use crate::input::profile::{Policy, Taint, TaintEffect};
use crate::input::source::FieldPath;
use crate::k8s::names;

/// The node selector of Windows pods.
pub(crate) const SELECTOR: (&str, &str) = ("kubernetes.io/os", "windows");

/// The value of `spec.os.name` on Windows pods.
pub(crate) const OS_NAME: &str = "windows";

/// The taint assumed on Windows nodes when the profile names none.
pub(crate) fn default_taint() -> Taint {
    Taint {
        key: "node.kubernetes.io/os".to_owned(),
        value: "windows".to_owned(),
        effect: TaintEffect::NoSchedule,
    }
}

/// The taint Windows pods tolerate.
pub(crate) fn taint(pol: &Policy) -> Taint {
    pol.windows_node_taint.clone().unwrap_or_else(default_taint)
}

/// The rule's parameters (Gatekeeper `parameters`, CEL `variables`).
pub(crate) fn params(pol: &Policy) -> Value {
    let t = taint(pol);
    json!({
        "nodeSelectorKey": SELECTOR.0,
        "nodeSelectorValue": SELECTOR.1,
        "tolerationKey": t.key,
        "tolerationValue": t.value,
        "tolerationEffect": t.effect.as_str(),
        "osName": OS_NAME,
    })
}

/// `policy.windowsNodeTaint` must be a taint the API server takes.
pub(crate) fn validate(pol: &Policy, out: &mut Vec<Diagnostic>) {
    let Some(t) = &pol.windows_node_taint else {
        return;
    };
    let base = FieldPath::root().key("policy").key("windowsNodeTaint");
    if let Err(e) = names::qualified_name(&t.key) {
        out.push(
            Diagnostic::error(
                base.key("key"),
                format!("`{}` is not a taint key: {e}", t.key),
            )
            .hint("write a label key such as node.kubernetes.io/os"),
        );
    }
    if let Err(e) = names::label_value(&t.value) {
        out.push(Diagnostic::error(
            base.key("value"),
            format!("`{}` is not a taint value: {e}", t.value),
        ));
    }
}
