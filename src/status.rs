//! A conversion's status and the words and numbers advertisers send for it.

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
    /// numberings; words in any case. `None` for anything else.
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
            None
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

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_numberings_and_words_in_any_case() {
        use Status::*;
        let cases = [
            ("1", Some(Approved)),
            ("approved", Some(Approved)),
            ("APPROVED", Some(Approved)),
            ("2", Some(Pending)),
            ("Pending", Some(Pending)),
            ("3", Some(Declined)),
            ("declined", Some(Declined)),
            ("rejected", Some(Declined)),
            ("REJECTED", Some(Declined)),
            ("4", Some(Hold)),
            ("5", Some(Hold)),
            ("hold", Some(Hold)),
            ("0", None),
            ("6", None),
            ("", None),
            ("approve", None),
            ("01", None),
        ];
        for (text, expected) in cases {
            assert_eq!(Status::parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn as_str_parses_back() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }
}
