//! Durations as Go, Kubernetes and external-dns write them (`300ms`, `1.5h`, `1h30m`), for
//! flags and the `ttl` annotation.
//!
//! zonesync parses them itself because `kube::core::Duration`'s parser panics on values it
//! cannot represent (`99999999999999999999h`, `5m-3s`), and a TTL annotation is untrusted
//! input: one object must never be able to crash the controller.

use std::time::Duration;

/// Nanoseconds per unit, as Go's `time.ParseDuration` names them.
const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // micro sign
    ("\u{3bc}s", 1_000), // Greek small letter mu
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Fraction digits beyond this many are ignored; they are below a nanosecond for every unit.
const MAX_FRACTION_DIGITS: usize = 18;

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a sequence of `<number><unit>` pairs.
    #[error("{input:?} is not a duration (e.g. 50ms, 30s, 10m, 1h30m): {problem}")]
    Invalid {
        /// The text as given.
        input: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// Longer than `std::time::Duration` can hold.
    #[error("{input:?} is too long a duration")]
    TooLarge {
        /// The text as given.
        input: String,
    },
    /// A negative duration where only lengths make sense (see [`parse_length`]).
    #[error("{input:?} is negative")]
    Negative {
        /// The text as given.
        input: String,
    },
}

/// A parsed duration with its sign (Go durations are signed, `std::time::Duration` is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedDuration {
    /// True when written with a leading `-` (and not zero).
    pub negative: bool,
    /// The length.
    pub duration: Duration,
}

/// Parses a Go duration: an optional sign, then `0` or one or more `<number><unit>` pairs
/// (`1.5h`, `1h30m`, `250ms`), units `ns`, `us` (`µs`), `ms`, `s`, `m`, `h`.
///
/// Fails on an empty string, a number without a unit, an unknown unit, a malformed number, and
/// a total longer than `std::time::Duration` holds. Never panics.
pub fn parse(input: &str) -> Result<SignedDuration, DurationError> {
    let invalid = |problem| DurationError::Invalid {
        input: input.to_string(),
        problem,
    };
    let too_large = || DurationError::TooLarge {
        input: input.to_string(),
    };
    let (negative, mut rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if rest == "0" {
        return Ok(SignedDuration {
            negative: false,
            duration: Duration::ZERO,
        });
    }
    if rest.is_empty() {
        return Err(invalid("no number"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        if unit.is_empty() {
            return Err(invalid("a number without a unit"));
        }
        let (_, unit_nanos) = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .ok_or_else(|| invalid("unknown unit (use ns, us, ms, s, m or h)"))?;
        let nanos = component_nanos(number, *unit_nanos).map_err(|problem| match problem {
            Some(problem) => invalid(problem),
            None => too_large(),
        })?;
        total = total.checked_add(nanos).ok_or_else(too_large)?;
        rest = after;
    }
    let seconds = u64::try_from(total / 1_000_000_000).map_err(|_| too_large())?;
    // The remainder is below 10^9, so it fits.
    let nanos = u32::try_from(total % 1_000_000_000).unwrap_or(0);
    let duration = Duration::new(seconds, nanos);
    Ok(SignedDuration {
        negative: negative && !duration.is_zero(),
        duration,
    })
}

/// Parses a Go duration that must not be negative (a flag's interval or timeout).
///
/// Fails as [`parse`] does, and with [`DurationError::Negative`] on a negative value.
pub fn parse_length(input: &str) -> Result<Duration, DurationError> {
    let parsed = parse(input)?;
    if parsed.negative {
        return Err(DurationError::Negative {
            input: input.to_string(),
        });
    }
    Ok(parsed.duration)
}

/// `number` (`1`, `1.5`, `.5`) times `unit_nanos`. `Err(Some(problem))` for a malformed
/// number, `Err(None)` when it overflows.
fn component_nanos(number: &str, unit_nanos: u128) -> Result<u128, Option<&'static str>> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(Some("a unit without a number"));
    }
    if fraction.contains('.') {
        return Err(Some("a number with two decimal points"));
    }
    let whole: u128 = match whole {
        "" => 0,
        digits => digits.parse().map_err(|_| None)?,
    };
    let mut nanos = whole.checked_mul(unit_nanos).ok_or(None)?;
    let (mut numerator, mut scale) = (0u128, 1u128);
    for digit in fraction.bytes().take(MAX_FRACTION_DIGITS) {
        numerator = numerator * 10 + u128::from(digit - b'0');
        scale *= 10;
    }
    // numerator < 10^18 and unit_nanos < 4 * 10^12: no overflow.
    nanos = nanos
        .checked_add(numerator * unit_nanos / scale)
        .ok_or(None)?;
    Ok(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(input: &str) -> Option<f64> {
        parse(input).ok().map(|d| {
            let magnitude = d.duration.as_secs_f64();
            if d.negative { -magnitude } else { magnitude }
        })
    }

    #[test]
    fn reads_go_durations() {
        assert_eq!(seconds("300ms"), Some(0.3));
        assert_eq!(seconds("10m"), Some(600.0));
        assert_eq!(seconds("1h30m"), Some(5400.0));
        assert_eq!(seconds("1.5h"), Some(5400.0));
        assert_eq!(seconds(".5s"), Some(0.5));
        assert_eq!(seconds("2h45m30.5s"), Some(9930.5));
        assert_eq!(seconds("1\u{b5}s"), Some(0.000_001));
        assert_eq!(seconds("0"), Some(0.0));
        assert_eq!(seconds("-5m"), Some(-300.0));
        assert_eq!(seconds("+5m"), Some(300.0));
        assert_eq!(parse("-0s").map(|d| d.negative), Ok(false));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for input in [
            "", "-", "5", "m", "5x", "5 m", "1..5s", "1.2.3s", "5m0", "--5m", "5m-3s", "NaNh",
            "infh",
        ] {
            assert!(
                matches!(parse(input), Err(DurationError::Invalid { .. })),
                "{input:?}"
            );
        }
    }

    /// Found by the `annotations` fuzz target: kube's parser panics on these.
    #[test]
    fn huge_values_are_an_error_not_a_panic() {
        for input in [
            "99999999999999999999h",
            "5555555555555555555555555555555555555555555555555555555555555555555h",
            "5124095576030432h",
            "5124095576030431h5124095576030431h",
        ] {
            assert!(
                matches!(parse(input), Err(DurationError::TooLarge { .. })),
                "{input:?}"
            );
        }
        let max = u128::MAX;
        assert!(matches!(
            parse(&format!("{max}ns{max}ns")),
            Err(DurationError::TooLarge { .. })
        ));
    }

    #[test]
    fn lengths_refuse_negative_values() {
        assert_eq!(parse_length("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_length("-0s"), Ok(Duration::ZERO));
        let error = parse_length("-5m").unwrap_err();
        assert_eq!(
            error,
            DurationError::Negative {
                input: "-5m".into()
            }
        );
        assert_eq!(error.to_string(), "\"-5m\" is negative");
    }
}
