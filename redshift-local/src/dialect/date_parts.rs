//! Redshift's date-part names and abbreviations, with the names PostgreSQL accepts: both the token pass and the
//! AST pass normalize them, and `setup.sql`'s `redshift_datepart` repeats the table (a test here checks that).

/// Redshift's date parts and their abbreviations (Redshift SQL reference, "Date parts for date or timestamp
/// functions"), each with the name PostgreSQL's `date_part`/`date_trunc`/intervals accept. `SETUP_SQL`'s
/// `redshift_datepart` holds the same table (a unit test checks it).
const DATE_PARTS: &[(&str, &[&str])] = &[
    ("millennium", &["millennium", "millennia", "mil", "mils"]),
    ("century", &["century", "centuries", "c", "cent", "cents"]),
    ("decade", &["decade", "decades", "dec", "decs"]),
    ("year", &["year", "years", "y", "yr", "yrs"]),
    ("quarter", &["quarter", "quarters", "qtr", "qtrs"]),
    ("month", &["month", "months", "mon", "mons"]),
    ("week", &["week", "weeks", "w"]),
    ("dow", &["dayofweek", "dow", "dw", "weekday"]),
    ("doy", &["dayofyear", "doy", "dy", "yearday"]),
    ("day", &["day", "days", "d"]),
    ("hour", &["hour", "hours", "h", "hr", "hrs"]),
    ("minute", &["minute", "minutes", "m", "min", "mins"]),
    ("second", &["second", "seconds", "s", "sec", "secs"]),
    (
        "millisecond",
        &[
            "millisecond",
            "milliseconds",
            "ms",
            "msec",
            "msecs",
            "msecond",
            "mseconds",
            "millisec",
            "millisecs",
            "millisecon",
        ],
    ),
    (
        "microsecond",
        &[
            "microsecond",
            "microseconds",
            "microsec",
            "microsecs",
            "usecond",
            "useconds",
            "us",
            "usec",
            "usecs",
        ],
    ),
    ("epoch", &["epoch"]),
    // EXTRACT / DATE_PART only, for TIMESTAMPTZ.
    ("timezone", &["timezone"]),
    ("timezone_hour", &["timezone_hour"]),
    ("timezone_minute", &["timezone_minute"]),
];

/// PostgreSQL's name for one of Redshift's date parts or abbreviations.
pub(super) fn canonical_part(name: &str) -> Option<&'static str> {
    let name = name.trim().to_ascii_lowercase();
    DATE_PARTS
        .iter()
        .find(|(_, aliases)| aliases.contains(&name.as_str()))
        .map(|(canonical, _)| *canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::SETUP_SQL;

    #[test]
    fn setup_sql_knows_every_date_part_alias_and_is_idempotent() {
        for (canonical, aliases) in DATE_PARTS {
            assert_eq!(canonical_part(canonical), Some(*canonical));
            for alias in *aliases {
                assert!(
                    *alias == "epoch" || SETUP_SQL.contains(&format!("'{alias}'")),
                    "{alias} missing from redshift_datepart"
                );
                assert_eq!(canonical_part(alias), Some(*canonical));
            }
        }
        let creates = SETUP_SQL.matches("CREATE ").count();
        assert!(creates > 10);
        assert_eq!(
            creates,
            SETUP_SQL
                .matches("CREATE OR REPLACE FUNCTION public.")
                .count()
                + SETUP_SQL
                    .matches("CREATE OR REPLACE AGGREGATE public.")
                    .count()
        );
    }
}
