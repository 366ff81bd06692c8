//! Redshift's `DATEFORMAT` and `TIMEFORMAT` for `COPY`: a field read with the statement's pattern (or as epoch
//! seconds / milliseconds) and written as the ISO text PostgreSQL's `COPY ... FROM STDIN` reads for any
//! `DateStyle`.
//!
//! The dateparts and timeparts are those of "DATEFORMAT and TIMEFORMAT strings"
//! (<https://docs.aws.amazon.com/redshift/latest/dg/r_DATEFORMAT_and_TIMEFORMAT_strings.html>): `YY`, `YYYY`, `MM`,
//! `MON` (abbreviated or full name), `DD`, `HH` / `HH24` (in COPY, `HH` is 24-hour), `HH12`, `MI`, `SS` (with
//! fractional seconds down to microseconds), `AM` / `PM`; anything else is a separator that must be there as
//! written. `'auto'` is left to PostgreSQL's date/time input (see [`super::spec::DateTimeFormat::Auto`]).

use super::spec::DateTimeFormat;
use chrono::{DateTime, NaiveDate, NaiveTime};

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Year4,
    Year2,
    Month,
    MonthName,
    Day,
    Hour24,
    Hour12,
    Minute,
    Second,
    Meridian,
    Literal(char),
}

/// A compiled `DATEFORMAT` / `TIMEFORMAT` pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern(Vec<Part>);

/// The English month names (the datepart `MON` takes the full name or its first three letters).
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl Pattern {
    /// Reads a pattern; a time-zone part (`TZ`, `OF`) is refused, as Redshift refuses it in a `timeformat_string`.
    pub(crate) fn compile(pattern: &str) -> Result<Pattern, String> {
        const NAMED: [(&str, Part); 12] = [
            ("YYYY", Part::Year4),
            ("YY", Part::Year2),
            ("MON", Part::MonthName),
            ("MM", Part::Month),
            ("MI", Part::Minute),
            ("DD", Part::Day),
            ("HH24", Part::Hour24),
            ("HH12", Part::Hour12),
            ("HH", Part::Hour24),
            ("SS", Part::Second),
            ("AM", Part::Meridian),
            ("PM", Part::Meridian),
        ];
        let upper = pattern.to_ascii_uppercase();
        let mut parts = Vec::new();
        let mut rest = upper.as_str();
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("TZ") || rest.starts_with("OF") {
                return Err("a time zone part (TZ, OF) cannot be in the format string".into());
            }
            if let Some((name, part)) = NAMED.iter().find(|(name, _)| rest.starts_with(name)) {
                parts.push(part.clone());
                rest = &rest[name.len()..];
            } else if c.is_ascii_alphabetic() {
                return Err(format!("'{c}' is no datepart or timepart"));
            } else {
                parts.push(Part::Literal(c));
                rest = &rest[c.len_utf8()..];
            }
        }
        Ok(Pattern(parts))
    }

    /// Reads `value` with the pattern: the date, and the time (midnight when the pattern has none).
    fn read(&self, value: &str) -> Option<(NaiveDate, NaiveTime)> {
        let mut s = value.trim();
        let (mut year, mut month, mut day) = (None, None, None);
        let (mut hour, mut minute, mut second, mut micros) = (0u32, 0u32, 0u32, 0u32);
        let (mut pm, mut twelve) = (None, false);
        for part in &self.0 {
            match part {
                Part::Literal(c) if c.is_whitespace() => {
                    s = s.trim_start();
                }
                Part::Literal(c) => s = s.strip_prefix(*c)?,
                Part::Year4 => year = Some(digits(&mut s, 4)? as i32),
                Part::Year2 => {
                    // PostgreSQL's rule for two-digit years (70-99 are 19xx, the rest 20xx).
                    let y = digits(&mut s, 2)? as i32;
                    year = Some(if y >= 70 { 1900 + y } else { 2000 + y });
                }
                Part::Month => month = Some(digits(&mut s, 2)?),
                Part::MonthName => {
                    let letters = s.chars().take_while(char::is_ascii_alphabetic).count();
                    let word = s[..letters].to_ascii_lowercase();
                    let n = MONTHS
                        .iter()
                        .position(|m| *m == word || (word.len() == 3 && m.starts_with(&word)))?;
                    month = Some(n as u32 + 1);
                    s = &s[letters..];
                }
                Part::Day => day = Some(digits(&mut s, 2)?),
                Part::Hour24 => hour = digits(&mut s, 2)?,
                Part::Hour12 => {
                    hour = digits(&mut s, 2)?;
                    twelve = true;
                }
                Part::Minute => minute = digits(&mut s, 2)?,
                Part::Second => {
                    second = digits(&mut s, 2)?;
                    if let Some(after) = s.strip_prefix('.') {
                        let n = after.chars().take_while(char::is_ascii_digit).count();
                        if n == 0 || n > 6 {
                            return None;
                        }
                        micros = after[..n].parse::<u32>().ok()? * 10u32.pow(6 - n as u32);
                        s = &after[n..];
                    }
                }
                Part::Meridian => {
                    let word = s.get(..2)?.to_ascii_uppercase();
                    pm = Some(match word.as_str() {
                        "AM" => false,
                        "PM" => true,
                        _ => return None,
                    });
                    s = &s[2..];
                }
            }
        }
        if !s.trim().is_empty() {
            return None;
        }
        if twelve || pm.is_some() {
            if !(1..=12).contains(&hour) {
                return None;
            }
            hour = hour % 12 + if pm == Some(true) { 12 } else { 0 };
        }
        let date = NaiveDate::from_ymd_opt(year?, month?, day.unwrap_or(1))?;
        let time = NaiveTime::from_hms_micro_opt(hour, minute, second, micros)?;
        Some((date, time))
    }
}

/// Up to `max` digits (at least one) from the front of `s`.
fn digits(s: &mut &str, max: usize) -> Option<u32> {
    let n = s.chars().take(max).take_while(char::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    let value = s[..n].parse().ok()?;
    *s = &s[n..];
    Some(value)
}

/// A date field read with `DATEFORMAT`: ISO `YYYY-MM-DD`, the field as it is when PostgreSQL reads it
/// (default and `'auto'`), `None` when it does not match.
pub(crate) fn convert_date(format: &DateTimeFormat, value: &str) -> Option<String> {
    match format {
        DateTimeFormat::Pattern(p) => {
            let (date, _) = Pattern::compile(p).ok()?.read(value)?;
            Some(date.format("%Y-%m-%d").to_string())
        }
        _ => Some(value.to_string()),
    }
}

/// A timestamp field read with `TIMEFORMAT`: ISO `YYYY-MM-DD HH:MI:SS[.ffffff]` (epochs with `+00`), the field as
/// it is when PostgreSQL reads it (default and `'auto'`), `None` when it does not match.
pub(crate) fn convert_timestamp(format: &DateTimeFormat, value: &str) -> Option<String> {
    let iso = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S%.f").to_string();
    match format {
        DateTimeFormat::Pattern(p) => {
            let (date, time) = Pattern::compile(p).ok()?.read(value)?;
            Some(iso(date.and_time(time)))
        }
        // Epochs count from UTC: the zone is written out, so that a TIMESTAMPTZ column does not read the instant
        // in the session's time zone (a TIMESTAMP column ignores it).
        DateTimeFormat::EpochSecs => {
            let secs: i64 = value.trim().parse().ok()?;
            Some(iso(DateTime::from_timestamp(secs, 0)?.naive_utc()) + "+00")
        }
        DateTimeFormat::EpochMillis => {
            let millis: i64 = value.trim().parse().ok()?;
            Some(iso(DateTime::from_timestamp_millis(millis)?.naive_utc()) + "+00")
        }
        DateTimeFormat::Default | DateTimeFormat::Auto => Some(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> DateTimeFormat {
        DateTimeFormat::Pattern(p.into())
    }

    #[test]
    fn dates_read_with_dateformat_strings() {
        // The examples of "DATEFORMAT and TIMEFORMAT strings", and a few more.
        for (format, value, want) in [
            ("MM/DD/YYYY", "03/31/2003", Some("2003-03-31")),
            ("MON DD, YYYY", "March 31, 2003", Some("2003-03-31")),
            ("MON-DD-YYYY", "Jan-01-1999", Some("1999-01-01")),
            ("DD.MM.YY", "31.03.03", Some("2003-03-31")),
            ("DD.MM.YY", "31.03.99", Some("1999-03-31")),
            ("YYYYMMDD", "20030331", Some("2003-03-31")),
            ("MM/DD/YYYY", "3/1/2003", Some("2003-03-01")),
            ("MM/DD/YYYY", "2003-03-31", None),
            ("MM/DD/YYYY", "02/30/2003", None),
            ("MM/DD/YYYY", "03/31/2003 junk", None),
            ("MON DD YYYY", "Foo 31 2003", None),
        ] {
            assert_eq!(
                convert_date(&pattern(format), value).as_deref(),
                want,
                "{format} {value}"
            );
        }
        assert_eq!(
            convert_date(&DateTimeFormat::Auto, "J2451187").as_deref(),
            Some("J2451187")
        );
    }

    #[test]
    fn timestamps_read_with_timeformat_strings_and_epochs() {
        for (format, value, want) in [
            (
                pattern("MM/DD/YYYY HH:MI:SS"),
                "03/31/2003 18:45:05",
                Some("2003-03-31 18:45:05"),
            ),
            (
                pattern("MM.DD.YYYY HH:MI:SS"),
                "03.31.2003 18:45:05.123456",
                Some("2003-03-31 18:45:05.123456"),
            ),
            (
                pattern("YYYY-MM-DD HH:MI:SS"),
                "2003-03-31 18:45:05.5",
                Some("2003-03-31 18:45:05.500"),
            ),
            (
                pattern("YYYY-MM-DD HH12:MI:SS AM"),
                "2003-03-31 06:45:05 PM",
                Some("2003-03-31 18:45:05"),
            ),
            (
                pattern("YYYY-MM-DD HH12:MI:SS AM"),
                "2003-03-31 12:00:00 AM",
                Some("2003-03-31 00:00:00"),
            ),
            (
                pattern("YYYY-MM-DD"),
                "2003-03-31",
                Some("2003-03-31 00:00:00"),
            ),
            (pattern("YYYY-MM-DD HH:MI:SS"), "2003-03-31 25:00:00", None),
            (
                pattern("YYYY-MM-DD HH12:MI:SS AM"),
                "2003-03-31 13:00:00 PM",
                None,
            ),
            (
                DateTimeFormat::EpochSecs,
                "1049136305",
                Some("2003-03-31 18:45:05+00"),
            ),
            (
                DateTimeFormat::EpochMillis,
                "1049136305123",
                Some("2003-03-31 18:45:05.123+00"),
            ),
            (DateTimeFormat::EpochSecs, "soon", None),
            (
                DateTimeFormat::Auto,
                "2019-02-11T05:09:12.195Z",
                Some("2019-02-11T05:09:12.195Z"),
            ),
        ] {
            assert_eq!(
                convert_timestamp(&format, value).as_deref(),
                want,
                "{format:?} {value}"
            );
        }
    }

    #[test]
    fn patterns_refuse_time_zones_and_unknown_parts() {
        assert!(Pattern::compile("YYYY-MM-DD HH:MI:SS TZ").is_err());
        assert!(Pattern::compile("YYYY-MM-DD HH:MI:SSOF").is_err());
        assert!(Pattern::compile("YYYY-QQ").is_err());
        assert!(Pattern::compile("MON DD, YYYY").is_ok());
    }
}
