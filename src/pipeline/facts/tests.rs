//! Issue #31 item 2: `diff` on rollout steps (`policy.enforcement`): a move
//! toward `deny` tightens, a move away from it is `widening`, per rule and per
//! namespace, compared on the modes each rule acts in.

use super::{Change, changes, facts};
use crate::testing::model;

fn policy(enforcement: &str) -> crate::Model {
    model(&format!(
        "namespaces: [{{name: team-a}}, {{name: team-b}}]\npolicy:\n  engine: gatekeeper\n  allowedRegistries: [registry.example.ca]\n  noNodePorts: false\n  requiredLimits: []\n{enforcement}"
    ))
}

fn diff(old: &str, new: &str) -> Vec<Change> {
    changes(&facts(&policy(old)), &facts(&policy(new)))
}

fn change(widening: bool, message: &str) -> Change {
    Change {
        widening,
        message: message.to_owned(),
    }
}

#[test]
fn moving_away_from_deny_widens_and_toward_it_tightens_31() {
    let warn = "  enforcement: {rules: {allowedRegistries: warn}}\n";
    assert_eq!(
        diff("", warn),
        [change(
            true,
            "policy enforcement of `allowedRegistries`: deny → warn (no longer enforced)"
        )]
    );
    assert_eq!(
        diff(warn, "  enforcement: deny\n"),
        [change(
            false,
            "policy enforcement of `allowedRegistries`: warn → deny (now enforced)"
        )]
    );
    // warn → audit: still admitted, and no longer shown to the client.
    assert_eq!(
        diff(warn, "  enforcement: {rules: {allowedRegistries: audit}}\n"),
        [change(
            true,
            "policy enforcement of `allowedRegistries`: warn → audit (less reported)"
        )]
    );
    assert_eq!(
        diff("  enforcement: audit\n", "  enforcement: warn\n"),
        [
            change(
                false,
                "policy enforcement of `allowedRegistries`: audit → warn (reported to the client)"
            ),
            change(
                false,
                "policy enforcement of `podSecurity`: audit → warn (reported to the client)"
            ),
        ]
    );
}

#[test]
fn namespace_modes_are_compared_on_what_the_namespace_gets_31() {
    let team_a = "  enforcement: {namespaces: {team-a: audit}}\n";
    assert_eq!(
        diff("", team_a),
        [
            change(
                true,
                "policy enforcement of `allowedRegistries` in `team-a`: deny → audit (no longer enforced)"
            ),
            change(
                true,
                "policy enforcement of `podSecurity` in `team-a`: deny → audit (no longer enforced)"
            ),
        ]
    );
    // Dropping team-a's own mode leaves it to the rule's (warn): a step up.
    let rule_warn = "  enforcement: {rules: {allowedRegistries: warn, podSecurity: warn}}\n";
    let both = "  enforcement: {rules: {allowedRegistries: warn, podSecurity: warn}, namespaces: {team-a: audit}}\n";
    assert_eq!(
        diff(both, rule_warn),
        [
            change(
                false,
                "policy enforcement of `allowedRegistries` in `team-a`: audit → warn (reported to the client)"
            ),
            change(
                false,
                "policy enforcement of `podSecurity` in `team-a`: audit → warn (reported to the client)"
            ),
        ]
    );
    // The same modes written another way are no change.
    assert_eq!(
        diff("  enforcement: warn\n", "  enforcement: {default: warn}\n"),
        []
    );
    // A rule turned off is reported as such, not as a mode change.
    let off = model(
        "namespaces: [{name: team-a}, {name: team-b}]\npolicy: {engine: gatekeeper, noNodePorts: false, requiredLimits: [], enforcement: warn}\n",
    );
    let ch = changes(&facts(&policy("  enforcement: warn\n")), &facts(&off));
    assert!(
        ch.iter().any(|c| c.message.contains("registry.example.ca"))
            && ch.iter().all(|c| !c.message.contains("enforcement of")),
        "{ch:?}"
    );
}
