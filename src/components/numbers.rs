//! Numbers shown to people and written into SVG, formatted with integer arithmetic.
//!
//! Rust's float formatting (`{:.1}`, `{}` on an `f64`) is exact and general, and weighs ~14 KB
//! in the browser bundle; a waterfall coordinate needs one decimal and a countdown none. Halves
//! round away from zero (Rust's formatting rounds them to even); NaN shows as 0.

use std::fmt;

/// A number with one decimal (`12.3`, `-0.5`, `7.0`), rounded half away from zero.
#[derive(Clone, Copy, Debug)]
pub struct Tenths(pub f64);

impl fmt::Display for Tenths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Fixed::round(self.0 * 10.0, 1).pad(f)
    }
}

/// A whole number (`42`), rounded half away from zero.
#[derive(Clone, Copy, Debug)]
pub struct Whole(pub f64);

impl fmt::Display for Whole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Fixed::round(self.0, 0).pad(f)
    }
}

/// Milliseconds, shown as seconds with three decimals (`1250.0` → `1.250`).
#[derive(Clone, Copy, Debug)]
pub struct MillisAsSeconds(pub f64);

impl fmt::Display for MillisAsSeconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Fixed::round(self.0, 3).pad(f)
    }
}

/// A span of whole seconds in words: "45 seconds", "1 minute", "30 minutes" (whole minutes
/// from one minute on, rounded down: the idle timeout is configured in seconds).
#[derive(Clone, Copy, Debug)]
pub struct Duration(pub u64);

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (count, unit) = if self.0 < 60 {
            (self.0, "second")
        } else {
            (self.0 / 60, "minute")
        };
        write!(f, "{count} {unit}{}", if count == 1 { "" } else { "s" })
    }
}

/// `scaled / 10^decimals`, written with exactly `decimals` decimals.
#[derive(Clone, Copy)]
struct Fixed {
    scaled: i64,
    decimals: u32,
}

impl Fixed {
    /// `value` already multiplied by `10^decimals`. `as` saturates, and turns NaN into 0: a
    /// broken coordinate draws at the edge.
    fn round(value: f64, decimals: u32) -> Self {
        Self {
            scaled: value.round() as i64,
            decimals,
        }
    }

    /// Writes it, padded as `f` asks (`{:>8}`).
    fn pad(self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.width().is_none() {
            // The waterfall writes thousands per frame: no string for the common case.
            return write!(f, "{self}");
        }
        f.pad(&self.to_string())
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.scaled < 0 { "-" } else { "" };
        let unit = 10u64.pow(self.decimals);
        let (whole, fraction) = (
            self.scaled.unsigned_abs() / unit,
            self.scaled.unsigned_abs() % unit,
        );
        match self.decimals {
            0 => write!(f, "{sign}{whole}"),
            width => write!(
                f,
                "{sign}{whole}.{fraction:0width$}",
                width = width as usize
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenths_match_the_float_formatting_they_replace() {
        for value in [
            0.0, 0.04, 0.06, 1.26, 12.34, 999.96, 1000.0, -0.3, -4.56, 123_456.7,
        ] {
            assert_eq!(Tenths(value).to_string(), format!("{value:.1}"), "{value}");
        }
        assert_eq!(Tenths(f64::NAN).to_string(), "0.0");
    }

    #[test]
    fn whole_numbers_round_and_pad() {
        assert_eq!(Whole(41.6).to_string(), "42");
        assert_eq!(Whole(-3.4).to_string(), "-3");
        assert_eq!(Whole(2.5).to_string(), "3");
        assert_eq!(format!("{:>5}", Whole(7.0)), "    7");
    }

    #[test]
    fn milliseconds_show_as_seconds_with_three_decimals_and_pad() {
        assert_eq!(MillisAsSeconds(1250.0).to_string(), "1.250");
        assert_eq!(MillisAsSeconds(5.4).to_string(), "0.005");
        assert_eq!(format!("{:>8}", MillisAsSeconds(61_000.0)), "  61.000");
        assert_eq!(
            format!("{:>8}", MillisAsSeconds(61_000.0)),
            format!("{:>8.3}", 61.0)
        );
    }

    #[test]
    fn durations_are_spoken_in_seconds_then_whole_minutes() {
        let spoken = |secs| super::Duration(secs).to_string();
        assert_eq!(spoken(1), "1 second");
        assert_eq!(spoken(45), "45 seconds");
        assert_eq!(spoken(60), "1 minute");
        assert_eq!(spoken(1_800), "30 minutes");
        assert_eq!(spoken(1_830), "30 minutes");
    }
}
