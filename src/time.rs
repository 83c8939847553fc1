//! Unix time and the proleptic Gregorian calendar: the little of a date
//! library the product needs (days ↔ dates, weekdays, RFC 3339 in UTC).
//!
//! Written here rather than taken from a crate because every crate is wasm
//! compiled at each cold start (a full date library was a tenth of the
//! binary); the tests hold this module to `jiff`, a dev-dependency, over
//! every day from year 0 to 9999 and arbitrary instants.

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// The earliest and latest instants the product handles: years 0 to 9999.
pub const MIN_SECONDS: i64 = -62_167_219_200;
pub const MAX_SECONDS: i64 = 253_402_300_799;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
}

impl Date {
    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097); // [0, 146096]
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
        let mp = (5 * doy + 2) / 153; // [0, 11], from March
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date { year, month, day }
    }

    /// Days since 1970-01-01 (`days_from_civil`). `month` and `day` must
    /// be in range.
    pub fn days(self) -> i64 {
        let year = self.year - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400); // [0, 399]
        let month = i64::from(self.month);
        let mp = if month > 2 { month - 3 } else { month + 9 }; // [0, 11]
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1; // [0, 365]
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
        era * 146_097 + doe - 719_468
    }

    /// The first of the next month.
    pub fn next_month(self) -> Date {
        match self.month {
            12 => Date {
                year: self.year + 1,
                month: 1,
                day: 1,
            },
            m => Date {
                year: self.year,
                month: m + 1,
                day: 1,
            },
        }
    }
}

/// ISO weekday of a day since 1970-01-01: 0 is Monday, 6 Sunday.
pub fn weekday(days: i64) -> i64 {
    // 1970-01-01 was a Thursday.
    (days + 3).rem_euclid(7)
}

/// RFC 3339 in UTC: `2026-11-24T10:00:00Z`, with `.123` milliseconds if
/// `millis` is given. Instants outside years 0–9999 are clamped into them.
pub fn format_rfc3339(seconds: i64, millis: Option<u32>) -> String {
    let seconds = seconds.clamp(MIN_SECONDS, MAX_SECONDS);
    let date = Date::from_days(seconds.div_euclid(DAY));
    let in_day = seconds.rem_euclid(DAY);
    let (h, m, s) = (in_day / 3600, in_day / 60 % 60, in_day % 60);
    let Date { year, month, day } = date;
    // Digits by hand: every log entry has a time, and the formatting
    // machinery costs more than the date arithmetic.
    let mut out = String::with_capacity(24);
    let parts = [
        (year, 4, '-'),
        (i64::from(month), 2, '-'),
        (i64::from(day), 2, 'T'),
        (h, 2, ':'),
        (m, 2, ':'),
        (s, 2, '.'),
    ];
    for (value, width, then) in parts {
        push_padded(&mut out, u64::try_from(value).unwrap_or(0), width);
        out.push(then);
    }
    match millis {
        Some(ms) => push_padded(&mut out, u64::from(ms.min(999)), 3),
        // No fraction: the separator goes.
        None => {
            out.pop();
        }
    }
    out.push('Z');
    out
}

/// RFC 3339 at a UTC offset of `offset` seconds: the local time and the
/// offset, `2026-10-25T00:00:00+02:00` (`Z` for zero).
pub fn format_rfc3339_offset(seconds: i64, offset: i32) -> String {
    let local = format_rfc3339(seconds.saturating_add(i64::from(offset)), None);
    let mut out = local.trim_end_matches('Z').to_owned();
    if offset == 0 {
        out.push('Z');
        return out;
    }
    out.push(if offset < 0 { '-' } else { '+' });
    let minutes = offset.unsigned_abs() / 60;
    push_padded(&mut out, u64::from(minutes / 60), 2);
    out.push(':');
    push_padded(&mut out, u64::from(minutes % 60), 2);
    out
}

/// Appends `n` in decimal, zero-padded to at least `width` digits.
pub fn push_padded(out: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 && digits.len() - start >= width.min(digits.len()) {
            break;
        }
    }
    for &d in &digits[start..] {
        out.push(char::from(d));
    }
}

/// Reads an RFC 3339 time (`2026-11-24T10:00:00Z`,
/// `2026-11-24T11:00:00.5+01:00`; `t`, `z` and a space separator too) as
/// Unix seconds, the fraction dropped. `None` for anything else, a
/// non-existent date (`2026-02-30`) included.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        rest = &fraction[len..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let field = |hi: u8, lo: u8| -> Option<i64> {
                (hi.is_ascii_digit() && lo.is_ascii_digit())
                    .then(|| i64::from(hi - b'0') * 10 + i64::from(lo - b'0'))
            };
            let (oh, om) = (field(*h1, *h2)?, field(*m1, *m2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let magnitude = oh * 3600 + om * 60;
            if *sign == b'-' {
                -magnitude
            } else {
                magnitude
            }
        }
        _ => return None,
    };
    let month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
    let day = u32::try_from(day).ok().filter(|d| *d >= 1)?;
    let date = Date { year, month, day };
    // A day past the month's end comes back as another date.
    if Date::from_days(date.days()) != date || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // A leap second is read as the last second of its minute.
    let second = second.min(59);
    Some(date.days() * DAY + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_at_an_offset_is_local_time_and_the_offset() {
        // 2026-10-25T23:00:00Z is midnight in Berlin (+01:00 after DST).
        assert_eq!(
            format_rfc3339_offset(1_792_969_200, 3600),
            "2026-10-26T00:00:00+01:00"
        );
        assert_eq!(
            format_rfc3339_offset(1_792_969_200, 0),
            "2026-10-25T23:00:00Z"
        );
        assert_eq!(
            format_rfc3339_offset(1_792_969_200, -12_600),
            "2026-10-25T19:30:00-03:30"
        );
        assert_eq!(
            format_rfc3339_offset(1_792_969_200, 19_800),
            "2026-10-26T04:30:00+05:30"
        );
    }
    use proptest::prelude::*;

    #[test]
    fn every_day_from_year_0_to_9999_agrees_with_jiff() {
        let first = Date {
            year: 0,
            month: 1,
            day: 1,
        }
        .days();
        let mut expected = jiff::civil::date(0, 1, 1);
        for days in first..=(MAX_SECONDS / DAY) {
            let date = Date::from_days(days);
            assert_eq!(
                (date.year, date.month, date.day),
                (
                    i64::from(expected.year()),
                    expected.month() as u32,
                    expected.day() as u32
                ),
                "{days}"
            );
            assert_eq!(date.days(), days);
            assert_eq!(
                weekday(days),
                i64::from(expected.weekday().to_monday_zero_offset())
            );
            if let Ok(next) = expected.tomorrow() {
                expected = next;
            }
        }
    }

    #[test]
    fn next_month_rolls_over_the_year() {
        let d = |year, month, day| Date { year, month, day };
        assert_eq!(d(2026, 12, 24).next_month(), d(2027, 1, 1));
        assert_eq!(d(2026, 1, 31).next_month(), d(2026, 2, 1));
    }

    #[test]
    fn formats_and_parses_known_times() {
        assert_eq!(format_rfc3339(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(1_790_000_000, Some(123)),
            "2026-09-21T14:13:20.123Z"
        );
        assert_eq!(format_rfc3339(-1, Some(999)), "1969-12-31T23:59:59.999Z");
        assert_eq!(parse_rfc3339("2026-09-21T14:13:20Z"), Some(1_790_000_000));
        assert_eq!(
            parse_rfc3339("2026-09-21T16:13:20.999+02:00"),
            Some(1_790_000_000)
        );
        assert_eq!(parse_rfc3339("2026-09-21t14:13:20z"), Some(1_790_000_000));
        assert_eq!(
            parse_rfc3339("2026-09-21T09:13:20-05:00"),
            Some(1_790_000_000)
        );
        for bad in [
            "",
            "2026-09-21",
            "2026-09-21T14:13:20",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-09-21T24:00:00Z",
            "2026-09-21T14:13:20.Z",
            "2026-09-21T14:13:20+2:00",
            "2026-09-21T14:13:20+24:00",
            "+026-09-21T14:13:20Z",
            "2026-09-21T14:13:20Zjunk",
            "２０２6-09-21T14:13:20Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn formatting_agrees_with_jiff(seconds in MIN_SECONDS..=MAX_SECONDS, ms in 0u32..1000) {
            let t = jiff::Timestamp::new(seconds, ms as i32 * 1_000_000).unwrap();
            prop_assert_eq!(format_rfc3339(seconds, Some(ms)), format!("{t:.3}"));
            prop_assert_eq!(format_rfc3339(seconds, None), format!("{:.0}", jiff::Timestamp::from_second(seconds).unwrap()));
        }

        #[test]
        fn parsing_agrees_with_jiff(seconds in MIN_SECONDS + DAY..=MAX_SECONDS - DAY, offset_minutes in -1439i64..1440) {
            let offset = jiff::tz::Offset::from_seconds((offset_minutes * 60) as i32).unwrap();
            let text = jiff::Timestamp::from_second(seconds).unwrap()
                .to_zoned_datetime(jiff::tz::TimeZone::fixed(offset)).timestamp()
                .display_with_offset(offset).to_string();
            prop_assert_eq!(parse_rfc3339(&text), Some(seconds), "{}", text);
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            let _ = parse_rfc3339(&text);
        }
    }
}
