//! Event counts with human suffixes: `100M`, `10k`, `2.5M`, `1_000_000`.

/// `k`/`K` = 10³, `M`/`m` = 10⁶, `G`/`g`/`B`/`b` = 10⁹; underscores ignored; at least 1.
pub fn parse_events(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        Some((i, 'g' | 'G' | 'b' | 'B')) => (&t[..i], 1e9),
        _ => (t.as_str(), 1.0),
    };
    let n = if mult == 1.0 {
        num.parse::<u64>()
            .map_err(|e| format!("{s:?} is not a count (like 10k, 100M): {e}"))?
    } else {
        let x: f64 = num
            .parse()
            .map_err(|e| format!("{s:?} is not a count (like 10k, 100M): {e}"))?;
        let v = (x * mult).round();
        if !(v.is_finite() && v >= 0.0 && v < u64::MAX as f64) {
            return Err(format!("{s:?} is out of range"));
        }
        v as u64
    };
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

/// `100000000` → `100M`, `10000` → `10k`, otherwise the digits.
pub fn human(n: u64) -> String {
    if n >= 1_000_000_000 && n.is_multiple_of(1_000_000_000) {
        format!("{}G", n / 1_000_000_000)
    } else if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(parse_events("100M"), Ok(100_000_000));
        assert_eq!(parse_events("10k"), Ok(10_000));
        assert_eq!(parse_events("2.5M"), Ok(2_500_000));
        assert_eq!(parse_events("1G"), Ok(1_000_000_000));
        assert_eq!(parse_events("1_000"), Ok(1_000));
        assert_eq!(parse_events("42"), Ok(42));
        assert!(parse_events("0").is_err());
        assert!(parse_events("x").is_err());
        assert!(parse_events("-1k").is_err());
        assert_eq!(human(100_000_000), "100M");
        assert_eq!(human(10_000), "10k");
        assert_eq!(human(1_234), "1234");
    }
}
