//! Parsers for command-line and environment values shared by every service.

use std::time::Duration;

/// Error returned by [`parse_duration`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DurationParseError {
    #[error(
        "invalid duration {0:?}: expected a whole number followed by ms, s, m or h, such as 500ms or 30s"
    )]
    Invalid(String),
    #[error("invalid duration {0:?}: the value is too large")]
    Overflow(String),
}

/// Parses a duration such as `500ms`, `30s`, `5m` or `1h`.
///
/// The number must be a non-negative integer and the unit is required, except
/// for a bare `0`. Use it as a clap `value_parser`.
pub fn parse_duration(input: &str) -> Result<Duration, DurationParseError> {
    let text = input.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }

    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| DurationParseError::Invalid(input.to_owned()))?;
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(DurationParseError::Invalid(input.to_owned()));
    }
    let value: u64 = digits
        .parse()
        .map_err(|_| DurationParseError::Overflow(input.to_owned()))?;

    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(DurationParseError::Invalid(input.to_owned())),
    };
    let millis = value
        .checked_mul(millis_per_unit)
        .ok_or_else(|| DurationParseError::Overflow(input.to_owned()))?;
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn accepts_bare_zero() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_missing_unit() {
        assert!(matches!(
            parse_duration("30"),
            Err(DurationParseError::Invalid(_))
        ));
    }

    #[test]
    fn rejects_unknown_unit() {
        assert!(matches!(
            parse_duration("3d"),
            Err(DurationParseError::Invalid(_))
        ));
    }

    #[test]
    fn rejects_fraction_and_sign() {
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn rejects_overflow() {
        assert!(matches!(
            parse_duration("99999999999999999999h"),
            Err(DurationParseError::Overflow(_))
        ));
    }
}
