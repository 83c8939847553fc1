//! Cap periods in a campaign's timezone.
//!
//! A period is identified by the UTC instant it starts at, so a counter key
//! is the same wherever and whenever it is computed. Local calendars are
//! irregular: a local day lasts 23 or 25 hours across a DST change, and in
//! a few zones local midnight does not exist on the day clocks jump (the
//! period then starts at the first local instant of that date).

use crate::time::{weekday, Date, DAY};
use crate::timezone::Timezone;
use serde::{Deserialize, Serialize};

/// The end of time for a period that never resets: year 10000, well inside
/// the integers JavaScript (and so Durable Object SQL) represents exactly.
pub const FOREVER: i64 = 253_402_300_800;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CapPeriod {
    Hour,
    Day,
    /// ISO week: Monday to Sunday.
    Week,
    Month,
    /// Never resets.
    All,
}

/// One concrete period: `[start, end)` in Unix seconds. `All` is
/// `[0, FOREVER)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSpan {
    pub start: i64,
    pub end: i64,
}

impl CapPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            CapPeriod::Hour => "hour",
            CapPeriod::Day => "day",
            CapPeriod::Week => "week",
            CapPeriod::Month => "month",
            CapPeriod::All => "all",
        }
    }

    /// The period containing `now` (Unix seconds), in `tz`.
    pub fn span(self, tz: &Timezone, now: i64) -> PeriodSpan {
        // Years 1970 to 9999: whatever a caller passes, the arithmetic
        // below stays far from overflow.
        let now = now.clamp(0, FOREVER - 1);
        let local = tz.local(now);
        let today = local.div_euclid(DAY);
        match self {
            CapPeriod::All => PeriodSpan {
                start: 0,
                end: FOREVER,
            },
            CapPeriod::Hour => {
                // Offsets are whole minutes, so a local hour starts at the
                // instant whose local minute and second are zero; counting
                // back from `now` keeps the two 02:00s of a fall-back night
                // apart.
                let start = now - local.rem_euclid(3600);
                PeriodSpan {
                    start,
                    end: start + 3600,
                }
            }
            CapPeriod::Day => days_span(tz, today, today + 1),
            CapPeriod::Week => {
                let monday = today - weekday(today);
                days_span(tz, monday, monday + 7)
            }
            CapPeriod::Month => {
                let date = Date::from_days(today);
                let first = Date { day: 1, ..date };
                days_span(tz, first.days(), first.next_month().days())
            }
        }
    }
}

/// From the first instant of local day `first` to that of local day
/// `next`.
fn days_span(tz: &Timezone, first: i64, next: i64) -> PeriodSpan {
    PeriodSpan {
        start: tz.day_start(first),
        end: tz.day_start(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> i64 {
        crate::time::parse_rfc3339(rfc3339).unwrap()
    }

    fn zone(name: &str) -> Timezone {
        Timezone::parse(name).unwrap()
    }

    fn hours(span: PeriodSpan) -> i64 {
        (span.end - span.start) / 3600
    }

    #[test]
    fn berlin_spring_forward_day_has_23_hours() {
        let tz = zone("Europe/Berlin");
        let span = CapPeriod::Day.span(&tz, at("2026-03-29T12:00:00Z"));
        assert_eq!(span.start, at("2026-03-28T23:00:00Z"));
        assert_eq!(hours(span), 23);
    }

    #[test]
    fn berlin_fall_back_day_has_25_hours() {
        let tz = zone("Europe/Berlin");
        let span = CapPeriod::Day.span(&tz, at("2026-10-25T12:00:00Z"));
        assert_eq!(span.start, at("2026-10-24T22:00:00Z"));
        assert_eq!(hours(span), 25);
    }

    #[test]
    fn new_york_days_across_dst() {
        let tz = zone("America/New_York");
        assert_eq!(
            hours(CapPeriod::Day.span(&tz, at("2026-03-08T15:00:00Z"))),
            23
        );
        assert_eq!(
            hours(CapPeriod::Day.span(&tz, at("2026-11-01T15:00:00Z"))),
            25
        );
        assert_eq!(
            hours(CapPeriod::Day.span(&tz, at("2026-11-02T15:00:00Z"))),
            24
        );
    }

    #[test]
    fn the_day_changes_at_local_midnight_not_utc() {
        let tz = zone("Europe/Berlin");
        let before = CapPeriod::Day.span(&tz, at("2026-06-01T21:59:59Z"));
        let after = CapPeriod::Day.span(&tz, at("2026-06-01T22:00:00Z"));
        assert_ne!(before, after);
        assert_eq!(before.end, after.start);
    }

    #[test]
    fn skipped_midnight_starts_at_the_first_existing_minute() {
        // Chile jumps from 24:00 to 01:00 on its spring-forward day.
        let tz = zone("America/Santiago");
        let span = CapPeriod::Day.span(&tz, at("2026-09-06T12:00:00Z"));
        assert_eq!(span.start, at("2026-09-06T04:00:00Z"));
        assert_eq!(hours(span), 23);
    }

    #[test]
    fn fall_back_hours_are_distinct() {
        let tz = zone("Europe/Berlin");
        // 02:30 local happens twice on 2026-10-25: at 00:30Z and 01:30Z.
        let first = CapPeriod::Hour.span(&tz, at("2026-10-25T00:30:00Z"));
        let second = CapPeriod::Hour.span(&tz, at("2026-10-25T01:30:00Z"));
        assert_ne!(first, second);
        assert_eq!(first.end, second.start);
    }

    #[test]
    fn half_hour_zones_start_hours_on_the_half_hour() {
        let tz = zone("Asia/Kolkata");
        let span = CapPeriod::Hour.span(&tz, at("2026-06-01T10:10:00Z"));
        assert_eq!(span.start, at("2026-06-01T09:30:00Z"));
    }

    #[test]
    fn iso_week_starts_monday_and_month_on_the_first() {
        let tz = zone("UTC");
        // 2026-11-24 is a Tuesday.
        let week = CapPeriod::Week.span(&tz, at("2026-11-24T10:00:00Z"));
        assert_eq!(week.start, at("2026-11-23T00:00:00Z"));
        assert_eq!(week.end, at("2026-11-30T00:00:00Z"));
        let month = CapPeriod::Month.span(&tz, at("2026-12-31T23:59:59Z"));
        assert_eq!(month.start, at("2026-12-01T00:00:00Z"));
        assert_eq!(month.end, at("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn berlin_week_and_month_containing_dst() {
        let tz = zone("Europe/Berlin");
        let week = CapPeriod::Week.span(&tz, at("2026-03-29T12:00:00Z"));
        assert_eq!(hours(week), 7 * 24 - 1);
        let month = CapPeriod::Month.span(&tz, at("2026-10-10T12:00:00Z"));
        assert_eq!(hours(month), 31 * 24 + 1);
    }

    #[test]
    fn all_never_resets() {
        let tz = zone("UTC");
        let a = CapPeriod::All.span(&tz, at("2000-01-01T00:00:00Z"));
        let b = CapPeriod::All.span(&tz, at("2099-01-01T00:00:00Z"));
        assert_eq!(a, b);
    }
}
