//! The Kubernetes minor releases kharden renders for, with the day upstream
//! stops patching each: the one table `load` accepts versions from, `init`
//! starts at (the newest), and lint KH018 compares with "today" (`clock`).

use crate::input::clock::Date;

/// A Kubernetes minor release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// The minor version as profiles write it, e.g. `"1.35"`.
    pub version: &'static str,
    /// The last day upstream patches it (its "End Of Life Date").
    pub end_of_life: Date,
}

const fn release(version: &'static str, year: i32, month: u32, day: u32) -> Release {
    Release {
        version,
        end_of_life: Date { year, month, day },
    }
}

/// Oldest first. Dates: kubernetes.io/releases/<version>/ (kubernetes/website
/// data/releases/schedule.yaml), read 2026-12-07. A managed platform may
/// support a release longer (extended or long-term support); these are upstream's.
pub const RELEASES: &[Release] = &[
    release("1.33", 2026, 6, 28),
    release("1.34", 2026, 10, 27),
    release("1.35", 2027, 2, 28),
    release("1.36", 2027, 6, 28),
    release("1.37", 2027, 10, 28),
];

/// The newest release kharden renders for (what `init` starts at).
pub const NEWEST: &Release = &RELEASES[RELEASES.len() - 1];

/// The release a profile's `cluster.kubernetesVersion` names, if kharden supports it.
pub fn find(version: &str) -> Option<&'static Release> {
    RELEASES.iter().find(|r| r.version == version)
}

/// Every supported version, for messages: `1.33, 1.34, ...`.
pub fn versions() -> String {
    RELEASES
        .iter()
        .map(|r| r.version)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `r` is past its end of life on `today` (the end-of-life day itself
/// is still supported).
pub fn past_end_of_life(r: &Release, today: Date) -> bool {
    today > r.end_of_life
}

/// The oldest release still supported on `today`, if any.
pub fn oldest_supported(today: Date) -> Option<&'static Release> {
    RELEASES.iter().find(|r| !past_end_of_life(r, today))
}

/// Lint KH018: the profile's release, when it is past its end of life on the
/// model's "today".
pub fn end_of_life(m: &crate::Model) -> Option<crate::input::diag::Diagnostic> {
    let v = &m.profile.cluster.kubernetes_version;
    let r = find(v).filter(|r| past_end_of_life(r, m.today))?;
    let hint = match oldest_supported(m.today) {
        Some(n) => format!(
            "upgrade to {} or later, one minor version at a time, and set `cluster.kubernetesVersion` to match",
            n.version
        ),
        None => "every release kharden knows is past its end of life: upgrade kharden".to_owned(),
    };
    let path = crate::input::source::FieldPath::root()
        .key("cluster")
        .key("kubernetesVersion");
    let message = format!(
        "Kubernetes {v} reached its end of life on {}: it gets no more security fixes",
        r.end_of_life
    );
    Some(crate::input::diag::Diagnostic::error(path, message).hint(hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn the_table_is_upstreams_and_in_order() {
        let got: Vec<(&str, String)> = RELEASES
            .iter()
            .map(|r| (r.version, r.end_of_life.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("1.33", "2026-06-28".to_owned()),
                ("1.34", "2026-10-27".to_owned()),
                ("1.35", "2027-02-28".to_owned()),
                ("1.36", "2027-06-28".to_owned()),
                ("1.37", "2027-10-28".to_owned()),
            ]
        );
        assert_eq!(NEWEST.version, "1.37");
        // The schema's pattern for `kubernetesVersion` accepts exactly these.
        let schema = crate::pipeline::model::profile_schema().to_string();
        assert!(schema.contains(r#"^1\\.3[3-7]$"#), "{schema}");
    }

    #[test]
    fn end_of_life_is_the_last_supported_day() {
        let r = find("1.34").unwrap();
        assert!(!past_end_of_life(r, day("2026-10-27")));
        assert!(past_end_of_life(r, day("2026-10-28")));
        assert_eq!(oldest_supported(day("2026-12-07")).unwrap().version, "1.35");
        assert_eq!(oldest_supported(day("2027-10-29")), None);
        assert_eq!(find("1.32"), None);
    }

    /// #30 item 13: lint warns, at `cluster.kubernetesVersion`, when the
    /// release is past its end of life on the day `clock` gives.
    #[test]
    fn lint_warns_past_end_of_life_on_the_date_set() {
        let findings = |version: &str, today: &str| -> Vec<String> {
            let text = crate::testing::HEAD.replace("\"1.33\"", &format!("\"{version}\""));
            let m = crate::load_text(
                &format!("{text}apiServer: {{private: false}}\n"),
                "t.yaml",
                day(today),
            )
            .unwrap();
            crate::pipeline::lint::run(&m)
                .into_iter()
                .filter(|f| f.rule.id == "KH018")
                .map(|f| {
                    assert_eq!(f.diag.path.to_string(), "cluster.kubernetesVersion");
                    assert_eq!(f.diag.severity, "warning");
                    format!("{} / {}", f.diag.message, f.diag.hint.unwrap_or_default())
                })
                .collect()
        };
        assert_eq!(
            findings("1.34", "2026-12-07"),
            [
                "Kubernetes 1.34 reached its end of life on 2026-10-27: it gets no more security fixes / upgrade to 1.35 or later, one minor version at a time, and set `cluster.kubernetesVersion` to match"
            ]
        );
        assert_eq!(findings("1.33", "2026-12-07").len(), 1);
        assert!(findings("1.35", "2026-12-07").is_empty());
        assert!(findings("1.34", "2026-10-27").is_empty());
        assert_eq!(findings("1.35", "2027-03-01").len(), 1);
    }
}
