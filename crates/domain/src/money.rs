//! Money: CNY amounts are [`Decimal`] in the domain and `i64` fen (分) in storage, so sums stay exact
//! in SQLite and PostgreSQL alike. Never `f64`.

use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds to the fen the way public CBEC tax calculators do: HALF_UP (half away from zero).
///
/// Rounding is [U] in rules.md §1.5; HALF_UP per tax type is the documented default.
pub fn round_fen(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The amount in whole fen after [`round_fen`]; `None` when it does not fit an `i64`.
pub fn to_fen(d: Decimal) -> Option<i64> {
    let fen = round_fen(d).checked_mul(Decimal::ONE_HUNDRED)?;
    i64::try_from(fen.trunc()).ok()
}

/// Inverse of [`to_fen`]: exact, scale 2.
pub fn from_fen(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

/// Parses a CEB money field (XSD `decimal`, d19,5 on the wire): optional sign, digits, optional
/// fraction. Exponents, thousands separators, empty strings and more than 5 decimals are refused, so
/// a value is never silently rounded on the way in.
pub fn parse_amount(s: &str) -> Option<Decimal> {
    let t = s.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || int.len() > 19 {
        return None;
    }
    let frac_ok = match frac {
        Some(f) => all_digits(f) && f.len() <= 5 && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty(),
    };
    if !frac_ok {
        return None;
    }
    let normalised = t.strip_prefix('+').unwrap_or(t);
    let normalised = if int.is_empty() {
        // ".5" → "0.5" for the decimal parser
        return Decimal::from_str_exact(&normalised.replacen('.', "0.", 1)).ok();
    } else {
        normalised
    };
    Decimal::from_str_exact(normalised).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn half_up_away_from_zero() {
        assert_eq!(round_fen(Decimal::new(12345, 3)).to_string(), "12.35");
        assert_eq!(round_fen(Decimal::new(-12345, 3)).to_string(), "-12.35");
        assert_eq!(to_fen(Decimal::new(12345, 3)), Some(1235));
        assert_eq!(from_fen(1235).to_string(), "12.35");
        assert_eq!(parse_amount("425.00000"), Some(Decimal::new(425, 0)));
        assert_eq!(parse_amount("-.5"), Some(Decimal::new(-5, 1)));
        assert_eq!(parse_amount("1e3"), None);
        assert_eq!(parse_amount("1.000001"), None);
        assert_eq!(parse_amount(""), None);
        assert_eq!(parse_amount("."), None);
    }
}
