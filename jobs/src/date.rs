//! Calendar dates of event times: the `dt=YYYY-MM-DD` partitions of landed and compacted events.

use std::fmt;

/// A calendar date (proleptic Gregorian, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// The UTC date of an instant given in milliseconds since the Unix epoch.
    pub fn from_epoch_ms(ms: i64) -> Date {
        Date::from_days(ms.div_euclid(86_400_000))
    }

    /// The date `days` days after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097); // [0, 146096]
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
        let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date { year, month, day }
    }

    /// The number of days since 1970-01-01 (Howard Hinnant's `days_from_civil`; inverse of `from_days`).
    pub fn days(&self) -> i64 {
        let year = self.year - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400); // [0, 399]
        let mp = i64::from((self.month + 9) % 12); // March = 0
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1; // [0, 365]
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
        era * 146_097 + doe - 719_468
    }

    /// Reads `YYYY-MM-DD` (a real date of years 0000-9999); `None` for anything else.
    pub fn parse(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        let digits = |r: std::ops::Range<usize>| {
            b[r.clone()]
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| text[r].parse::<u32>().ok())
                .flatten()
        };
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let date = Date {
            year: i64::from(digits(0..4)?),
            month: digits(5..7)?,
            day: digits(8..10)?,
        };
        // A day that does not exist (2023-02-30) does not survive the round trip.
        (Date::from_days(date.days()) == date && (1..=12).contains(&date.month)).then_some(date)
    }

    /// `dt=YYYY-MM-DD`, the partition directory of this date.
    pub fn dir_name(&self) -> String {
        format!("dt={self}")
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i64, m: u32, d: u32) -> Date {
        Date {
            year: y,
            month: m,
            day: d,
        }
    }

    #[test]
    fn utc_dates() {
        assert_eq!(Date::from_epoch_ms(0), date(1970, 1, 1));
        assert_eq!(Date::from_epoch_ms(-1), date(1969, 12, 31));
        // 2023-11-14T22:13:20Z, the generator's default start.
        assert_eq!(Date::from_epoch_ms(1_700_000_000_000), date(2023, 11, 14));
        // The last millisecond of a day and the first of the next.
        assert_eq!(Date::from_epoch_ms(1_700_006_399_999), date(2023, 11, 14));
        assert_eq!(Date::from_epoch_ms(1_700_006_400_000), date(2023, 11, 15));
        assert_eq!(Date::from_epoch_ms(951_782_400_000), date(2000, 2, 29));
        assert_eq!(Date::from_epoch_ms(4_107_542_400_000), date(2100, 3, 1));
        assert_eq!(Date::from_days(-719_468), date(0, 3, 1));
        // Every day of 1960..2060 follows the previous one.
        let mut previous = Date::from_days(-3653);
        assert_eq!(previous, date(1960, 1, 1));
        for days in -3652..32_872 {
            let d = Date::from_days(days);
            let next_in_month =
                d.year == previous.year && d.month == previous.month && d.day == previous.day + 1;
            let next_month = d.day == 1
                && ((d.year == previous.year && d.month == previous.month + 1)
                    || (d.year == previous.year + 1 && d.month == 1 && previous.month == 12));
            assert!(next_in_month || next_month, "{previous} -> {d}");
            if next_month {
                let leap = previous.year % 4 == 0
                    && (previous.year % 100 != 0 || previous.year % 400 == 0);
                let length = match previous.month {
                    2 if leap => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                assert_eq!(previous.day, length, "{previous} -> {d}");
            }
            previous = d;
        }
        assert_eq!(previous, date(2059, 12, 31));
        for days in -800_000..800_000 {
            assert_eq!(Date::from_days(days).days(), days);
        }
        assert_eq!(date(2023, 1, 5).dir_name(), "dt=2023-01-05");
    }

    #[test]
    fn parses_real_dates_only() {
        assert_eq!(Date::parse("2023-11-15"), Some(date(2023, 11, 15)));
        assert_eq!(Date::parse("2000-02-29"), Some(date(2000, 2, 29)));
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-04-31",
            "2023-1-05",
            "20231105",
            "2023-11-15x",
            "+023-11-15",
            "2023-11-+5",
            "",
            "dt=2023-11-15",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert_eq!(Date::parse("1969-12-31").map(|d| d.days()), Some(-1));
    }
}
