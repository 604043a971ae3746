//! An Istio evaluator for rendered `PeerAuthentication` and
//! `AuthorizationPolicy` objects, written from Istio's documented semantics:
//! - a STRICT PeerAuthentication (the workload's namespace one, else the
//!   mesh-wide one in the root namespace) refuses plaintext from outside the mesh;
//! - CUSTOM is ignored; any matching DENY rule denies; then, when any ALLOW
//!   policy applies to the workload, some ALLOW rule must match, otherwise the
//!   request is allowed; a policy with no rules (`spec: {}`) allows nothing;
//! - policies in the root namespace apply mesh-wide, others to their namespace,
//!   narrowed by `selector.matchLabels`;
//! - in a rule, every `from` source field and every `to` operation field given
//!   must match; string values match exactly, by `prefix*`, `*suffix` or `*`.
//!
//! A request may leave method and path unset: it then asks whether *some* HTTP
//! request on that port can pass, so HTTP-only fields cannot make an ALLOW rule
//! fail nor a DENY rule match. Conditions (`when`) are not modelled: an ALLOW
//! rule with one never matches and a DENY rule with one always does, so an
//! answer can be too strict, never too lenient.

use std::collections::BTreeMap;

use serde_json::Value;

/// Istio's default root namespace, where mesh-wide policies live.
pub const ROOT_NAMESPACE: &str = "istio-system";

/// The requesting side, as the destination's sidecar sees it.
#[derive(Debug, Clone)]
pub struct Source {
    pub namespace: String,
    pub service_account: String,
    pub meshed: bool,
}

/// The request: destination workload, port, and optional HTTP method and path.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub port: i32,
    pub method: Option<&'a str>,
    pub path: Option<&'a str>,
}

/// How the mesh decided, with the object (`Kind ns/name`) that decided it; a
/// denial reads after "denied " (`by …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed(String),
    Denied(String),
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn id(o: &Value) -> String {
    format!(
        "{} {}/{}",
        s(o, "/kind"),
        s(o, "/metadata/namespace"),
        s(o, "/metadata/name")
    )
}

fn applies(o: &Value, target: &Target<'_>) -> bool {
    let ns = s(o, "/metadata/namespace");
    if ns != ROOT_NAMESPACE && ns != target.namespace {
        return false;
    }
    o.pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| {
            m.iter()
                .all(|(k, v)| target.labels.get(k).map(String::as_str) == v.as_str())
        })
}

/// Istio string matching: exact, `prefix*`, `*suffix`, or `*`.
fn string_match(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(p) = pattern.strip_suffix('*') {
        return value.starts_with(p);
    }
    if let Some(p) = pattern.strip_prefix('*') {
        return value.ends_with(p);
    }
    pattern == value
}

fn list<'a>(v: &'a Value, field: &str) -> Option<Vec<&'a str>> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
}

/// Whether `value` passes a positive and a negative list (`value` None: unknown).
fn field_ok(v: &Value, field: &str, value: Option<&str>) -> bool {
    let not = format!("not{}{}", field[..1].to_ascii_uppercase(), &field[1..]);
    let pos =
        list(v, field).is_none_or(|l| value.is_some_and(|x| l.iter().any(|p| string_match(p, x))));
    let neg =
        list(v, &not).is_none_or(|l| !value.is_some_and(|x| l.iter().any(|p| string_match(p, x))));
    pos && neg
}

fn source_matches(src: &Value, from: &Source) -> bool {
    // Identity fields exist only for mTLS peers.
    let (principal, namespace) = if from.meshed {
        (
            Some(format!(
                "cluster.local/ns/{}/sa/{}",
                from.namespace, from.service_account
            )),
            Some(from.namespace.as_str()),
        )
    } else {
        (None, None)
    };
    // Synthetic requests carry no JWT and no address worth matching.
    let unsupported = ["requestPrincipals", "ipBlocks", "remoteIpBlocks"]
        .iter()
        .any(|f| src.get(*f).is_some());
    !unsupported
        && field_ok(src, "principals", principal.as_deref())
        && field_ok(src, "namespaces", namespace)
}

/// `http` fields: with no method/path given, whether some request could match
/// (`lenient`) or every request does (strict).
fn http_ok(op: &Value, field: &str, value: Option<&str>, lenient: bool) -> bool {
    let not = format!("not{}{}", field[..1].to_ascii_uppercase(), &field[1..]);
    if value.is_none() && (op.get(field).is_some() || op.get(&not).is_some()) {
        return lenient;
    }
    field_ok(op, field, value)
}

fn operation_matches(op: &Value, t: &Target<'_>, lenient: bool) -> bool {
    let port = t.port.to_string();
    field_ok(op, "ports", Some(&port))
        && http_ok(op, "methods", t.method, lenient)
        && http_ok(op, "paths", t.path, lenient)
        // A synthetic request names no host: a host constraint is an HTTP-only field.
        && http_ok(op, "hosts", None, lenient)
}

fn rule_matches(rule: &Value, from: &Source, t: &Target<'_>, lenient: bool) -> bool {
    let src_ok = match rule.get("from").and_then(Value::as_array) {
        None => true,
        Some(a) => a.iter().any(|f| source_matches(&f["source"], from)),
    };
    let to_ok = match rule.get("to").and_then(Value::as_array) {
        None => true,
        Some(a) => a
            .iter()
            .any(|x| operation_matches(&x["operation"], t, lenient)),
    };
    let when_ok = rule.get("when").is_none() || !lenient;
    src_ok && to_ok && when_ok
}

/// Decide one request against the rendered objects; `None` when the
/// destination is outside the mesh (no sidecar to enforce anything).
pub fn decide(
    objs: &[Value],
    from: &Source,
    to: &Target<'_>,
    dest_meshed: bool,
) -> Option<Decision> {
    if !dest_meshed {
        return None;
    }
    let istio = |o: &&Value| s(o, "/apiVersion").starts_with("security.istio.io/");
    let pas: Vec<&Value> = objs
        .iter()
        .filter(istio)
        .filter(|o| s(o, "/kind") == "PeerAuthentication" && applies(o, to))
        .collect();
    // The most specific PeerAuthentication wins: workload, namespace, mesh.
    let rank = |o: &Value| {
        (
            o.pointer("/spec/selector").is_some(),
            s(o, "/metadata/namespace") != ROOT_NAMESPACE,
        )
    };
    if let Some(pa) = pas.iter().max_by_key(|o| rank(o))
        && s(pa, "/spec/mtls/mode") == "STRICT"
        && !from.meshed
    {
        return Some(Decision::Denied(format!(
            "by {} (STRICT mTLS refuses plaintext from outside the mesh)",
            id(pa)
        )));
    }
    let authz: Vec<&Value> = objs
        .iter()
        .filter(istio)
        .filter(|o| s(o, "/kind") == "AuthorizationPolicy" && applies(o, to))
        .collect();
    let action = |o: &Value| {
        let a = s(o, "/spec/action");
        if a.is_empty() { "ALLOW" } else { a }.to_owned()
    };
    let rules = |o: &Value| -> Vec<Value> {
        o.pointer("/spec/rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for p in authz.iter().filter(|o| action(o) == "DENY") {
        if rules(p).iter().any(|r| rule_matches(r, from, to, false)) {
            return Some(Decision::Denied(format!("by {}", id(p))));
        }
    }
    let allows: Vec<&&Value> = authz.iter().filter(|o| action(o) == "ALLOW").collect();
    if allows.is_empty() {
        return Some(Decision::Allowed(
            "no ALLOW AuthorizationPolicy applies".to_owned(),
        ));
    }
    for p in &allows {
        if rules(p).iter().any(|r| rule_matches(r, from, to, true)) {
            return Some(Decision::Allowed(id(p)));
        }
    }
    let names: Vec<String> = allows.iter().map(|p| id(p)).collect();
    Some(Decision::Denied(format!(
        "by default: no rule of the ALLOW policies matches ({})",
        names.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ap(ns: &str, name: &str, spec: Value) -> Value {
        json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
            "metadata": {"namespace": ns, "name": name}, "spec": spec})
    }

    fn src(ns: &str, meshed: bool) -> Source {
        Source {
            namespace: ns.to_owned(),
            service_account: "default".to_owned(),
            meshed,
        }
    }

    #[test]
    fn allow_nothing_plus_allow_rules_and_deny_wins() {
        let labels = BTreeMap::new();
        let t = |method: Option<&'static str>, path: Option<&'static str>| Target {
            namespace: "a",
            labels: &labels,
            port: 8080,
            method,
            path,
        };
        let mut objs = vec![
            ap("a", "allow-nothing", json!({})),
            ap(
                "a",
                "get-api",
                json!({"action": "ALLOW", "rules": [{"from": [{"source": {"namespaces": ["b"]}}],
                    "to": [{"operation": {"methods": ["GET"], "paths": ["/api/*"]}}]}]}),
            ),
        ];
        let b = src("b", true);
        assert!(matches!(
            decide(&objs, &b, &t(Some("GET"), Some("/api/x")), true),
            Some(Decision::Allowed(p)) if p.ends_with("a/get-api")
        ));
        assert!(matches!(
            decide(&objs, &b, &t(Some("POST"), Some("/api/x")), true),
            Some(Decision::Denied(_))
        ));
        assert!(matches!(
            decide(&objs, &b, &t(Some("GET"), Some("/admin")), true),
            Some(Decision::Denied(_))
        ));
        // No method: some request (GET /api/...) can pass.
        assert!(matches!(
            decide(&objs, &b, &t(None, None), true),
            Some(Decision::Allowed(_))
        ));
        assert!(matches!(
            decide(&objs, &src("c", true), &t(None, None), true),
            Some(Decision::Denied(_))
        ));
        // A plaintext source has no namespace identity.
        assert!(matches!(
            decide(
                &objs,
                &src("b", false),
                &t(Some("GET"), Some("/api/x")),
                true
            ),
            Some(Decision::Denied(_))
        ));
        objs.push(ap(
            "istio-system",
            "no-delete",
            json!({"action": "DENY", "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]}),
        ));
        assert!(matches!(
            decide(&objs, &b, &t(Some("GET"), Some("/api/x")), true),
            Some(Decision::Denied(p)) if p.ends_with("istio-system/no-delete")
        ));
        assert_eq!(decide(&objs, &b, &t(None, None), false), None);
    }

    #[test]
    fn strict_mtls_refuses_plaintext() {
        let labels = BTreeMap::new();
        let t = Target {
            namespace: "a",
            labels: &labels,
            port: 80,
            method: None,
            path: None,
        };
        let objs = vec![
            json!({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"namespace": "istio-system", "name": "default"},
            "spec": {"mtls": {"mode": "STRICT"}}}),
        ];
        assert!(matches!(
            decide(&objs, &src("b", false), &t, true),
            Some(Decision::Denied(p)) if p.contains("STRICT")
        ));
        assert!(matches!(
            decide(&objs, &src("b", true), &t, true),
            Some(Decision::Allowed(_))
        ));
    }

    #[test]
    fn string_matching() {
        assert!(string_match("/api/*", "/api/x"));
        assert!(!string_match("/api/*", "/apix"));
        assert!(string_match("*.example.com", "a.example.com"));
        assert!(string_match("*", ""));
        assert!(!string_match("GET", "get"));
    }
}
