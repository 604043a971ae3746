//! Kubernetes resource quantities (`100m`, `2Gi`, `1e3`): parsing by the API
//! server's grammar, and a numeric value for comparing limits.

/// Parse a quantity and return its value in base units (cores, bytes, counts).
pub fn parse(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("it is empty".to_owned());
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
        return Err(format!("`{s}` does not start with a number"));
    }
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{num}` is not a number"))?;
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
            let exp: i32 = e[1..]
                .parse()
                .map_err(|_| format!("`{e}` is not a valid exponent"))?;
            10f64.powi(exp)
        }
        other => {
            return Err(format!(
                "`{other}` is not a quantity suffix (use m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent like e3)"
            ));
        }
    };
    Ok(sign * n * mult)
}

#[cfg(test)]
mod tests {
    use super::parse;

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
        assert!(parse("16GB").unwrap_err().contains("GB"));
        assert!(parse("").is_err());
        assert!(parse("1.2.3").is_err());
    }
}
