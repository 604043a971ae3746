//! What a failed check reports, and upstream's helpers for wording it
//! (`joinQuote`, `pluralize`) and for finding the offenders.

use std::fmt;

use super::pod::{Context, Pod, Volume};

/// One failed check: upstream's reason and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The upstream check id, e.g. `privileged` or `seccompProfile_restricted`.
    pub check: &'static str,
    /// e.g. `privileged`.
    pub reason: String,
    /// e.g. `container "x" must not set securityContext.privileged=true`.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{} ({})", self.reason, self.detail)
        }
    }
}

/// All violations as upstream's `ForbiddenDetail` joins them.
pub(super) fn join(vs: &[Violation]) -> String {
    vs.iter()
        .map(Violation::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- upstream's message helpers ----

pub(super) fn join_quote<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let items: Vec<String> = items
        .into_iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect();
    items.join(", ")
}

pub(super) fn plural(singular: &'static str, plural: &'static str, n: usize) -> &'static str {
    if n == 1 { singular } else { plural }
}

/// `container "a"` / `containers "a", "b"`.
pub(super) fn containers_phrase(names: &[&str]) -> String {
    format!(
        "{} {}",
        plural("container", "containers", names.len()),
        join_quote(names)
    )
}

pub(super) fn fail(reason: impl Into<String>, detail: impl Into<String>) -> Option<Violation> {
    Some(Violation {
        check: "",
        reason: reason.into(),
        detail: detail.into(),
    })
}

/// Whether a volume sets the source `key` (`null` counts as unset, as in Go).
pub(super) fn has_source(v: &Volume, key: &str) -> bool {
    v.source.get(key).is_some_and(|x| !x.is_null())
}

/// The containers whose security context satisfies `bad`, in visiting order.
pub(super) fn containers_where(pod: &Pod, bad: impl Fn(&Context) -> bool) -> Vec<&str> {
    pod.containers()
        .filter(|c| c.security_context.as_ref().is_some_and(&bad))
        .map(|c| c.name.as_str())
        .collect()
}
