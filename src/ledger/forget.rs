//! When a campaign object forgets the conversions past their dedupe
//! window (SPEC §6), and which ones it looks at each time.
//!
//! An identity past its window is forgotten already — `decide` treats it
//! as new — so deleting its row is only about storage, and can lag. Rows
//! are keyed by a hash of their identity, spread evenly over the key
//! space, which forgetting walks in key order (a range of the primary key:
//! no index of its own to write). While a batch finds nothing past the
//! window, the next looks at the next [`IDLE_SPAN`] of the key space a
//! minute later: about the whole table once a day. A batch that finds some
//! is followed a second later by one over a wider range, [`BUSY_SPAN`],
//! that deletes up to [`FORGET_BATCH`] and goes on from where it stopped:
//! what an object keeps follows the window however hot the campaign.

/// Rows an object deletes at a time, so that no postback waits for a long
/// delete.
pub const FORGET_BATCH: i64 = 1_000;
/// How much of the key space a quiet batch looks at: keys are walked by
/// their first two bytes, 65,536 values; 45 of them a minute is the whole
/// space in a day.
pub const IDLE_SPAN: u32 = 46;
/// How much a batch following one that found some looks at: a quarter of
/// the key space, or until it deleted [`FORGET_BATCH`].
pub const BUSY_SPAN: u32 = 16_384;
const SPACE: u32 = 65_536;
const IDLE_MS: u64 = 60_000;
const BUSY_MS: u64 = 1_000;

/// Where forgetting is in its walk over the key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// The first two bytes of the next key to look at.
    at: u32,
    /// Whether the last batch found rows to forget.
    busy: bool,
}

impl Sweep {
    /// A walk starting at a place that depends on the time (`now_ms`), so
    /// that an object that restarts often does not look at the same keys
    /// every time. Its first batch is a wide one: an object that starts
    /// may have slept through the windows of many conversions, and a
    /// narrow first look would most likely find none and wait a minute.
    pub fn starting_at(now_ms: u64) -> Sweep {
        Sweep {
            at: ((now_ms / IDLE_MS) % u64::from(SPACE / IDLE_SPAN)) as u32 * IDLE_SPAN,
            busy: true,
        }
    }

    /// The keys to look at now: from the first (inclusive) to the second
    /// (exclusive; `None`: to the end of the key space).
    pub fn range(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let span = if self.busy { BUSY_SPAN } else { IDLE_SPAN };
        let end = self.at + span;
        (prefix(self.at), (end < SPACE).then(|| prefix(end)))
    }

    /// After a batch that deleted `forgot` rows, the first two bytes of the
    /// last one `last` (they go in key order): the milliseconds until the
    /// next batch. A full batch goes on from its last row; any other from
    /// the end of its range. `early` is a batch of an object past its
    /// storage soft limit, which forgets its oldest conversions whatever
    /// their window, and hurries.
    pub fn after_batch(&mut self, forgot: i64, last: Option<[u8; 2]>, early: bool) -> u64 {
        let span = if self.busy { BUSY_SPAN } else { IDLE_SPAN };
        let end = self.at + span;
        self.at = match (forgot >= FORGET_BATCH, last) {
            (true, Some(last)) => u32::from(u16::from_be_bytes(last)).max(self.at),
            _ => end,
        };
        if self.at >= SPACE {
            self.at = 0;
        }
        self.busy = forgot > 0 || early;
        if self.busy {
            BUSY_MS
        } else {
            IDLE_MS
        }
    }
}

fn prefix(at: u32) -> Vec<u8> {
    u16::try_from(at).unwrap_or(u16::MAX).to_be_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_batches_walk_the_key_space_in_about_a_day() {
        let sweep = Sweep::starting_at(0);
        let (lo, hi) = sweep.range();
        assert_eq!(
            (lo, hi),
            (prefix(0), Some(prefix(BUSY_SPAN))),
            "a started object looks wide first"
        );
        let mut sweep = Sweep { at: 0, busy: false };
        let mut batches = 0;
        let mut minutes = 0;
        loop {
            let (lo, hi) = sweep.range();
            assert!(hi.as_ref().is_none_or(|hi| lo < *hi));
            minutes += sweep.after_batch(0, None, false) / 60_000;
            batches += 1;
            if sweep.at == 0 {
                break;
            }
        }
        assert_eq!(batches, 1_425);
        assert!(
            (1_400..=1_440).contains(&minutes),
            "{minutes} minutes a turn"
        );
        // Keys of 16 bytes sort against the two-byte bounds as their prefix.
        let (lo, hi) = Sweep {
            at: IDLE_SPAN * 5,
            busy: false,
        }
        .range();
        let key = [lo[0], lo[1], 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(lo.as_slice() <= key.as_slice() && key.as_slice() < hi.unwrap().as_slice());
    }

    #[test]
    fn a_batch_that_finds_some_is_followed_in_a_second_by_a_wider_one() {
        let mut sweep = Sweep { at: 0, busy: false };
        assert_eq!(sweep.after_batch(3, Some([0, 9]), false), BUSY_MS);
        assert_eq!(
            sweep.at, IDLE_SPAN,
            "not full: on from the end of the range"
        );
        let (lo, hi) = sweep.range();
        assert_eq!(
            (lo, hi),
            (prefix(IDLE_SPAN), Some(prefix(IDLE_SPAN + BUSY_SPAN)))
        );
        assert_eq!(
            sweep.after_batch(FORGET_BATCH, Some([0x10, 0]), false),
            BUSY_MS
        );
        assert_eq!(sweep.at, 0x1000, "full: on from its last row");
        assert_eq!(sweep.after_batch(0, None, false), IDLE_MS);
        assert_eq!(sweep.at, 0x1000 + BUSY_SPAN);
        assert_eq!(
            sweep.after_batch(0, None, true),
            BUSY_MS,
            "an object past its soft limit hurries"
        );
        // The walk wraps around.
        let mut end = Sweep {
            at: SPACE - 10,
            busy: true,
        };
        assert_eq!(end.range().1, None);
        end.after_batch(5, None, false);
        assert_eq!(end.at, 0);
    }
}
