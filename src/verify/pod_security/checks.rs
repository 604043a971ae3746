//! The Pod Security Standards checks, as the upstream pod-security-admission
//! library defines them (`k8s.io/pod-security-admission/policy/check_*.go`):
//! each check with its level, the versions at which its rule changed, and the
//! baseline checks a restricted one replaces. Messages are upstream's, word for
//! word, so a denial reads as the API server's does.
//!
//! The rules themselves are in `baseline.rs` and `restricted.rs`; the pod
//! they read in `pod.rs`, what they report in `violation.rs`.

use std::collections::BTreeSet;

use super::baseline::*;
use super::pod::Pod;
use super::restricted::*;
use super::violation::Violation;
use super::{Level, Version};

/// The newest version whose rules differ from the one before it (sysctls in
/// 1.37): `latest`, or any later version, evaluates these rules.
pub const NEWEST: u32 = 37;

// ---- the registry ----

type CheckFn = fn(&Pod) -> Option<Violation>;

struct Versioned {
    /// The first minor version (of 1.x) this rule applies at.
    min: u32,
    check: CheckFn,
    /// Baseline checks this restricted rule replaces at its versions.
    overrides: &'static [&'static str],
}

struct Check {
    id: &'static str,
    level: Level,
    versions: &'static [Versioned],
}

const fn v(min: u32, check: CheckFn) -> Versioned {
    Versioned {
        min,
        check,
        overrides: &[],
    }
}

const fn over(min: u32, check: CheckFn, overrides: &'static [&'static str]) -> Versioned {
    Versioned {
        min,
        check,
        overrides,
    }
}

/// Every check, in the order upstream evaluates them: baseline ids sorted,
/// then restricted ids sorted (a test keeps the order).
const CHECKS: &[Check] = &[
    Check {
        id: "appArmorProfile",
        level: Level::Baseline,
        versions: &[v(0, app_armor)],
    },
    Check {
        id: "capabilities_baseline",
        level: Level::Baseline,
        versions: &[v(0, capabilities_baseline)],
    },
    Check {
        id: "hostNamespaces",
        level: Level::Baseline,
        versions: &[v(0, host_namespaces)],
    },
    Check {
        id: "hostPathVolumes",
        level: Level::Baseline,
        versions: &[v(0, host_path_volumes)],
    },
    Check {
        id: "hostPorts",
        level: Level::Baseline,
        versions: &[v(0, host_ports)],
    },
    Check {
        id: "hostProbesAndHostLifecycle",
        level: Level::Baseline,
        versions: &[v(34, host_probes)],
    },
    Check {
        id: "privileged",
        level: Level::Baseline,
        versions: &[v(0, privileged)],
    },
    Check {
        id: "procMount",
        level: Level::Baseline,
        versions: &[v(0, proc_mount), v(35, proc_mount_1_35)],
    },
    Check {
        id: "seLinuxOptions",
        level: Level::Baseline,
        versions: &[v(0, se_linux_1_0), v(31, se_linux_1_31)],
    },
    Check {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        versions: &[v(0, seccomp_annotations), v(19, seccomp_baseline)],
    },
    Check {
        id: "sysctls",
        level: Level::Baseline,
        versions: &[
            v(0, sysctls_1_0),
            v(27, sysctls_1_27),
            v(29, sysctls_1_29),
            v(32, sysctls_1_32),
            v(37, sysctls_1_37),
        ],
    },
    Check {
        id: "windowsHostProcess",
        level: Level::Baseline,
        versions: &[v(0, windows_host_process)],
    },
    Check {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        versions: &[v(8, privilege_escalation), v(25, privilege_escalation_1_25)],
    },
    Check {
        id: "capabilities_restricted",
        level: Level::Restricted,
        versions: &[
            over(22, capabilities_restricted, &["capabilities_baseline"]),
            over(25, capabilities_restricted_1_25, &["capabilities_baseline"]),
        ],
    },
    Check {
        id: "procMount_restricted",
        level: Level::Restricted,
        versions: &[over(35, proc_mount, &["procMount"])],
    },
    Check {
        id: "restrictedVolumes",
        level: Level::Restricted,
        versions: &[over(0, restricted_volumes, &["hostPathVolumes"])],
    },
    Check {
        id: "runAsNonRoot",
        level: Level::Restricted,
        versions: &[v(0, run_as_non_root), v(35, run_as_non_root_1_35)],
    },
    Check {
        id: "runAsUser",
        level: Level::Restricted,
        versions: &[v(23, run_as_user), v(35, run_as_user_1_35)],
    },
    Check {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        versions: &[
            over(19, seccomp_restricted, &["seccompProfile_baseline"]),
            over(25, seccomp_restricted_1_25, &["seccompProfile_baseline"]),
        ],
    },
];

/// The rule of `c` in force at minor version `minor`, if the check exists yet.
fn at(c: &Check, minor: u32) -> Option<&Versioned> {
    c.versions.iter().rev().find(|x| x.min <= minor)
}

/// Evaluate `pod` at `level` and `version` (`latest`, or a version past
/// [`NEWEST`], evaluates the newest rules). Empty when the pod passes.
pub fn check(level: Level, version: Version, pod: &Pod) -> Vec<Violation> {
    let minor = match version {
        Version::Latest => NEWEST,
        Version::Minor(m) => m.min(NEWEST),
    };
    if level == Level::Privileged {
        return Vec::new();
    }
    let overridden: BTreeSet<&str> = if level == Level::Restricted {
        CHECKS
            .iter()
            .filter(|c| c.level == Level::Restricted)
            .filter_map(|c| at(c, minor))
            .flat_map(|x| x.overrides.iter().copied())
            .collect()
    } else {
        BTreeSet::new()
    };
    let mut out = Vec::new();
    for c in CHECKS {
        if c.level == Level::Restricted && level != Level::Restricted {
            continue;
        }
        if overridden.contains(c.id) {
            continue;
        }
        if let Some(rule) = at(c, minor)
            && let Some(mut found) = (rule.check)(pod)
        {
            found.check = c.id;
            out.push(found);
        }
    }
    out
}

/// The check ids in evaluation order with their level (for tests and docs).
pub fn ids() -> Vec<(&'static str, Level)> {
    CHECKS.iter().map(|c| (c.id, c.level)).collect()
}
