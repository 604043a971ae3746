//! Kubernetes resource quantities (`100m`, `2Gi`, `1e3`): parsing by the API
//! server's grammar, and a numeric value for comparing limits.

/// Why a text is not a Kubernetes quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("it is empty")]
    Empty,
    #[error("`{0}` does not start with a number")]
    NoNumber(String),
    #[error("`{0}` is not a number")]
    Number(String),
    #[error("`{0}` is not a valid exponent")]
    Exponent(String),
    #[error(
        "`{0}` is not a quantity suffix (use m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent like e3)"
    )]
    Suffix(String),
}

/// A quantity as the profile wrote it (what objects carry) and its value in
/// base units (what checks compare), parsed once during validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub text: String,
    pub value: f64,
}

impl Amount {
    /// `text` parsed, or why it is not a quantity.
    pub fn parse(text: String) -> Result<Amount, Error> {
        let value = parse(&text)?;
        Ok(Amount { text, value })
    }

    /// A whole count (quota defaults kharden sets itself).
    pub fn count(n: i64) -> Amount {
        Amount {
            text: n.to_string(),
            value: n as f64,
        }
    }
}

/// Amounts by resource name (`cpu`, `requests.memory`, `pods`).
pub(crate) type Amounts = std::collections::BTreeMap<String, Amount>;

/// Parse a quantity and return its value in base units (cores, bytes, counts).
pub(crate) fn parse(s: &str) -> Result<f64, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::Empty);
    }
    let (sign, rest) = match s.as_bytes()[0] {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (num, suffix) = rest.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return Err(Error::NoNumber(s.to_owned()));
    }
    let n: f64 = num.parse().map_err(|_| Error::Number(num.to_owned()))?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => {
            let exp: i32 = e[1..].parse().map_err(|_| Error::Exponent(e.to_owned()))?;
            10f64.powi(exp)
        }
        other => {
            return Err(Error::Suffix(other.to_owned()));
        }
    };
    Ok(sign * n * mult)
}

#[cfg(test)]
mod tests {
    use super::{Error, parse};

    #[test]
    fn units() {
        assert_eq!(parse("100m").unwrap(), 0.1);
        assert_eq!(parse("2Gi").unwrap(), 2.0 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(parse("1e3").unwrap(), 1000.0);
        assert_eq!(parse("8").unwrap(), 8.0);
        assert_eq!(parse("0.5").unwrap(), 0.5);
    }

    #[test]
    fn rejects() {
        assert!(parse("lots").is_err());
        assert_eq!(parse("16GB"), Err(Error::Suffix("GB".to_owned())));
        assert_eq!(parse(""), Err(Error::Empty));
        assert_eq!(parse("1.2.3"), Err(Error::NoNumber("1.2.3".to_owned())));
        assert_eq!(parse("1e"), Err(Error::Exponent("e".to_owned())));
    }
}
