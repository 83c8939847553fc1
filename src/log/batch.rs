//! One isolate's log entries on their way to the store: a [`LogBatch`],
//! the body of one queue message. The isolate serializes each entry once,
//! as it comes ([`BatchWriter`]); the queue's consumer reads the batches
//! of every isolate together and writes their chunks (`log::gather`).

use super::entry::LogEntry;
use serde::{Deserialize, Serialize};

/// The most bytes a batch holds: a queue message may hold 128 KB,
/// its metadata included. A batch this full is sent at once.
pub const MAX_BATCH_BYTES: usize = 100_000;

/// A batch as the consumer reads it: entries of campaigns that exist (for
/// the bucket), and the others (for the bounded unattributed log).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct LogBatch {
    pub attributed: Vec<LogEntry>,
    pub unattributed: Vec<LogEntry>,
}

impl LogBatch {
    pub fn from_json(json: &str) -> serde_json::Result<LogBatch> {
        serde_json::from_str(json)
    }
}

/// What the consumer hands the unattributed log: the entries of its
/// batches that name no existing campaign, whether some come from a
/// redelivered message (and may be stored already), and the bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnattributedBatch {
    pub entries: Vec<LogEntry>,
    pub redelivered: bool,
    /// Most entries the unattributed log keeps.
    pub bound: u32,
}

/// A batch being written, each entry serialized as it is pushed.
#[derive(Debug, Default)]
pub struct BatchWriter {
    attributed: String,
    unattributed: String,
}

impl BatchWriter {
    /// Adds an entry: to the bucket's part if its campaign exists
    /// (`attributed`), else to the unattributed log's. When the batch has
    /// no room left for it, the entry starts a new batch, and the full one
    /// comes back, to be sent.
    pub fn push(&mut self, entry: &LogEntry, attributed: bool) -> Option<String> {
        // Strings, numbers and maps serialize without fail.
        let Ok(json) = serde_json::to_string(entry) else {
            return None;
        };
        let full = (!self.is_empty() && self.len() + json.len() + 1 > MAX_BATCH_BYTES)
            .then(|| std::mem::take(self).finish());
        let part = if attributed {
            &mut self.attributed
        } else {
            &mut self.unattributed
        };
        if !part.is_empty() {
            part.push(',');
        }
        part.push_str(&json);
        full
    }

    /// The bytes of the batch as [`finish`](Self::finish) writes it.
    pub fn len(&self) -> usize {
        self.attributed.len() + self.unattributed.len() + 35
    }

    pub fn is_empty(&self) -> bool {
        self.attributed.is_empty() && self.unattributed.is_empty()
    }

    /// The batch as the queue message's body.
    pub fn finish(self) -> String {
        format!(
            "{{\"attributed\":[{}],\"unattributed\":[{}]}}",
            self.attributed, self.unattributed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::chunk::tests::entry;

    #[test]
    fn a_batch_reads_back_as_its_entries_and_knows_its_size() {
        let a = entry("001-a", Some("1001"), None);
        let b = entry("002-b", Some("junk"), Some("campaign_not_found"));
        let c = entry("003-c", Some("1002"), Some("goal_not_found"));
        let mut writer = BatchWriter::default();
        assert!(writer.is_empty());
        assert_eq!(writer.push(&a, true), None);
        assert_eq!(writer.push(&b, false), None);
        assert_eq!(writer.push(&c, true), None);
        let size = writer.len();
        let json = writer.finish();
        assert_eq!(json.len(), size);
        let batch = LogBatch::from_json(&json).unwrap();
        assert_eq!(batch.attributed, vec![a, c]);
        assert_eq!(batch.unattributed, vec![b]);
        assert_eq!(
            BatchWriter::default().finish(),
            r#"{"attributed":[],"unattributed":[]}"#
        );
        assert!(LogBatch::from_json("[]").is_err());
    }

    #[test]
    fn a_full_batch_comes_back_to_be_sent_and_none_passes_the_bound() {
        let mut big = entry("001-a", Some("1001"), None);
        big.postback.click_id = Some("x".repeat(10_000));
        let mut writer = BatchWriter::default();
        let mut sent = vec![];
        for _ in 0..25 {
            sent.extend(writer.push(&big, true));
            assert!(writer.len() <= MAX_BATCH_BYTES);
        }
        assert_eq!(sent.len(), 2, "250 KB in batches of at most 100 KB");
        let entries: usize = sent
            .iter()
            .chain([&writer.finish()])
            .map(|b| {
                assert!(b.len() <= MAX_BATCH_BYTES);
                LogBatch::from_json(b).unwrap().attributed.len()
            })
            .sum();
        assert_eq!(entries, 25);
    }
}
