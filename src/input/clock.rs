//! "Today", read from one place. Exception expiry depends on the date; tests and
//! reproducible builds set `KHARDEN_TODAY=YYYY-MM-DD` so no result changes with
//! the calendar.

use std::fmt;

/// A calendar date (proleptic Gregorian), enough for expiry checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("`{0}` is not a date in the form YYYY-MM-DD")]
    Form(String),
    #[error("`{0}` is not a real date")]
    NotReal(String),
}

/// Why "today" cannot be known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TodayError {
    #[error("KHARDEN_TODAY: {0}")]
    Env(DateError),
    #[error("the system clock is before 1970")]
    BeforeEpoch,
}

impl Date {
    /// Parse `YYYY-MM-DD`, checking the day exists.
    pub fn parse(s: &str) -> Result<Date, DateError> {
        let bad = || DateError::Form(s.to_owned());
        let parts: Vec<&str> = s.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let day: u32 = d.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(DateError::NotReal(s.to_owned()));
        }
        Ok(Date { year, month, day })
    }

    /// The date `days` days after the Unix epoch.
    pub fn from_unix_days(days: i64) -> Date {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Days from `self` to `other` (positive when `other` is later).
    pub fn days_until(self, other: Date) -> i64 {
        other.unix_days() - self.unix_days()
    }

    fn unix_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Today: `KHARDEN_TODAY` when set, otherwise the system clock (UTC).
pub fn today() -> Result<Date, TodayError> {
    if let Ok(s) = std::env::var("KHARDEN_TODAY") {
        return Date::parse(&s).map_err(TodayError::Env);
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| TodayError::BeforeEpoch)?
        .as_secs();
    Ok(Date::from_unix_days((secs / 86_400) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_days() {
        let d = Date::parse("2030-06-30").unwrap();
        assert_eq!(Date::from_unix_days(d.unix_days()), d);
        assert_eq!(Date::from_unix_days(0).to_string(), "1970-01-01");
        assert_eq!(
            Date::parse("2026-11-26")
                .unwrap()
                .days_until(Date::parse("2026-12-01").unwrap()),
            5
        );
    }

    #[test]
    fn rejects_bad_dates() {
        assert_eq!(
            Date::parse("2030-02-30"),
            Err(DateError::NotReal("2030-02-30".to_owned()))
        );
        assert_eq!(
            Date::parse("2030-6-30").unwrap_err().to_string(),
            "`2030-6-30` is not a date in the form YYYY-MM-DD"
        );
        assert!(Date::parse("tomorrow").is_err());
        assert!(Date::parse("2028-02-29").is_ok());
    }
}
