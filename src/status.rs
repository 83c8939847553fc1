//! A conversion's status and the words and numbers advertisers send for
//! it: ours, and other trackers' (SPEC §4 "Other trackers' names").

use serde::{Deserialize, Serialize};
use std::fmt;

/// A conversion's status. Only `Pending` may change (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Declined,
    Hold,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Pending,
        Status::Approved,
        Status::Declined,
        Status::Hold,
    ];

    /// Reads the `status` parameter: `1`/`approved`, `2`/`pending`,
    /// `3`/`declined`/`rejected`, `4`/`5`/`hold` — both platforms'
    /// numberings — and the words of [`OTHER_TRACKERS_WORDS`]; words in
    /// any case. `None` for anything else.
    pub fn parse(text: &str) -> Option<Status> {
        let text = text.trim();
        let word = |w: &str| text.eq_ignore_ascii_case(w);
        if text == "1" || word("approved") {
            Some(Status::Approved)
        } else if text == "2" || word("pending") {
            Some(Status::Pending)
        } else if text == "3" || word("declined") || word("rejected") {
            Some(Status::Declined)
        } else if text == "4" || text == "5" || word("hold") {
            Some(Status::Hold)
        } else {
            OTHER_TRACKERS_WORDS
                .iter()
                .find(|w| word(w.word))
                .map(|w| w.status)
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Declined => "declined",
            Status::Hold => "hold",
        }
    }
}

/// Another tracker's word for a status, who sends it, and where their
/// documentation says what it means (one page a tracker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusWord {
    pub word: &'static str,
    pub status: Status,
    pub trackers: &'static str,
    pub sources: &'static [&'static str],
}

const KEITARO: &str = "https://docs.keitaro.io/en/conversions/postback.html";
const BINOM: &str = "https://docs.binom.org/postback-url.php";
const BINOM_SCHEMES: &str = "https://docs.binom.org/status-scheme-v2.php";

/// Other trackers' status words. Ours cover most of theirs already (TUNE's
/// and Keitaro's `rejected`, RedTrack's `approved`, `pending`, `declined`,
/// Binom's `hold`). Keitaro's `lead` is a payout not yet confirmed and
/// `sale` a confirmed one; its `rebill` is a further sale on the click,
/// a conversion of its own under a new `tid`. Binom's `cnv_status` is free
/// text; its documentation's examples are these words.
pub const OTHER_TRACKERS_WORDS: [StatusWord; 5] = [
    StatusWord {
        word: "sale",
        status: Status::Approved,
        trackers: "Keitaro, Binom",
        sources: &[KEITARO, BINOM_SCHEMES],
    },
    StatusWord {
        word: "lead",
        status: Status::Pending,
        trackers: "Keitaro, Binom",
        sources: &[KEITARO, BINOM_SCHEMES],
    },
    StatusWord {
        word: "rebill",
        status: Status::Approved,
        trackers: "Keitaro",
        sources: &[KEITARO],
    },
    StatusWord {
        word: "approve",
        status: Status::Approved,
        trackers: "Binom",
        sources: &[BINOM],
    },
    StatusWord {
        word: "reject",
        status: Status::Declined,
        trackers: "Binom",
        sources: &[BINOM, BINOM_SCHEMES],
    },
];

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Option<Status>) {
        assert_eq!(Status::parse(text), expected, "{text:?}");
    }

    #[test]
    fn both_numberings_and_words_in_any_case() {
        use Status::*;
        check("1", Some(Approved));
        check("approved", Some(Approved));
        check("APPROVED", Some(Approved));
        check("2", Some(Pending));
        check("Pending", Some(Pending));
        check("3", Some(Declined));
        check("declined", Some(Declined));
        check("rejected", Some(Declined));
        check("REJECTED", Some(Declined));
        check("4", Some(Hold));
        check("5", Some(Hold));
        check("hold", Some(Hold));
        check("0", None);
        check("6", None);
        check("", None);
        check("01", None);
    }

    #[test]
    fn other_trackers_words() {
        use Status::*;
        // Keitaro.
        check("lead", Some(Pending));
        check("sale", Some(Approved));
        check("rebill", Some(Approved));
        // Binom's examples, in its capitals too.
        check("approve", Some(Approved));
        check("reject", Some(Declined));
        check("Hold", Some(Hold));
        check("SALE", Some(Approved));
        // RedTrack's, which are ours.
        check("Approved", Some(Approved));
        check("Declined", Some(Declined));
        // Words no tracker here documents as a status.
        check("other", None);
        check("signup", None);
        check("trash", None);
        check("sales", None);
    }

    #[test]
    fn every_word_is_read_as_its_status_and_none_is_ours() {
        for w in OTHER_TRACKERS_WORDS {
            check(w.word, Some(w.status));
            assert!(
                Status::ALL.iter().all(|s| s.as_str() != w.word),
                "{w:?} is ours"
            );
            assert!(!w.sources.is_empty(), "{w:?}");
            assert!(w.sources.iter().all(|s| s.starts_with("https://")), "{w:?}");
        }
    }

    #[test]
    fn the_reference_lists_every_word() {
        let reference = include_str!("../docs/REFERENCE.md");
        for w in OTHER_TRACKERS_WORDS {
            let row = format!("| `{}` | `{}` |", w.word, w.status);
            assert!(reference.contains(&row), "docs/REFERENCE.md lacks {row}");
            for source in w.sources {
                assert!(
                    reference.contains(source),
                    "docs/REFERENCE.md lacks {source}"
                );
            }
        }
    }

    #[test]
    fn as_str_parses_back() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }
}
