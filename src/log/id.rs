//! A log entry's id: `{milliseconds, 15 digits}-{random, 8 hex digits}`,
//! so that ids sort as their times and newest first is descending id. The
//! one place the format is written and read back.

/// The id of an entry made at `now_ms`, `suffix` telling apart entries of
/// the same millisecond.
pub fn entry_id(now_ms: u64, suffix: u32) -> String {
    format!("{now_ms:015}-{suffix:08x}")
}

/// The smallest id an entry made at `ms` or later can have: a query's
/// bound for `since`, `until` and page cursors.
pub fn bound(ms: u64) -> String {
    entry_id(ms, 0)
}

/// The time (milliseconds) an id was made at: its first 15 digits; 0 for
/// text that is not an id.
pub fn id_millis(id: &str) -> u64 {
    id.get(..15).and_then(|ms| ms.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_as_their_times_and_give_their_time_back() {
        for (ms, suffix) in [(0, 0), (7, 0xdead_beef), (1_790_000_000_123, 42)] {
            let id = entry_id(ms, suffix);
            assert_eq!(id.len(), 24);
            assert_eq!(id_millis(&id), ms);
        }
        assert_eq!(entry_id(7, 0xdead_beef), "000000000000007-deadbeef");
        assert!(entry_id(999, u32::MAX) < entry_id(1000, 0));
        assert!(bound(1000) <= entry_id(1000, 0));
        assert_eq!(id_millis("not an id"), 0);
    }
}
