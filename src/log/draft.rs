//! What the edge knows of a postback before its outcome ([`LogDraft`]),
//! and its parameters on their way to the log ([`LoggedParams`]), which
//! never show the secure code.

use crate::params::Params;
use crate::postback::Postback;
use crate::redact::{hidden, is_secure_name, REDACTED};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Longest value kept per parameter.
pub const MAX_VALUE_LEN: usize = 512;

/// What the edge knows of a postback before its outcome; a [`LogEntry`]
/// holds it whole (its fields are the entry's).
///
/// [`LogEntry`]: super::LogEntry
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogDraft {
    pub campaign_id: Option<String>,
    pub click_id: Option<String>,
    pub goal: Option<String>,
    /// The status the postback asked for (or, accepted, the conversion's).
    pub status: Option<String>,
    /// The click's partner and country, once its id verified.
    #[serde(default)]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub action_id: Option<String>,
    /// What the conversion pays, for an accepted postback.
    #[serde(default)]
    pub payout: Option<String>,
    /// The sender's address (`CF-Connecting-IP`).
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
    /// The parameters as received, `secure` redacted.
    #[serde(default)]
    pub params: LoggedParams,
}

/// A postback's parameters on their way to the log, kept as they were
/// read (no copy); whenever they are shown or sent — serialized or
/// debug-printed — `secure` is redacted and long values are cut.
#[derive(Clone, Default)]
pub struct LoggedParams(Params);

/// Equal when they show the same: the order they came in is not kept.
impl PartialEq for LoggedParams {
    fn eq(&self, other: &LoggedParams) -> bool {
        self.shown() == other.shown()
    }
}

impl Eq for LoggedParams {}

impl std::fmt::Debug for LoggedParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.pairs()).finish()
    }
}

impl LoggedParams {
    /// What the log shows: by name, `secure` redacted, values cut at
    /// [`MAX_VALUE_LEN`] bytes.
    pub fn shown(&self) -> BTreeMap<String, String> {
        self.pairs()
            .map(|(n, v)| (n.to_owned(), v.into_owned()))
            .collect()
    }

    /// The value shown for `name`, if the postback had it.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.pairs().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The parameters by the names the sender wrote (a tracker's
    /// `transaction_id`, not our `click_id`).
    fn pairs(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        self.0.received().map(|(name, value)| {
            let value = if is_secure_name(name) {
                Cow::Borrowed(REDACTED)
            } else {
                clip(value)
            };
            (name, value)
        })
    }

    /// Redacts the campaign's secure code wherever it appears as a value:
    /// a value that equals it (as sent, or once percent-decoded), and, for
    /// a code long enough, every occurrence of it inside a value or a name
    /// (a URL passed as a parameter, a macro wired into the wrong place).
    pub fn redact_value(&mut self, code: &str) {
        let mut changed = false;
        let mut redacted = Params::default();
        for (name, value) in self.0.received() {
            let hidden_name = hidden(code, name, false);
            let hidden_value = hidden(code, value, true);
            changed |= hidden_name.is_some() || hidden_value.is_some();
            redacted.push_unchecked(
                hidden_name.as_deref().unwrap_or(name),
                hidden_value.as_deref().unwrap_or(value),
            );
        }
        if changed {
            self.0 = redacted;
        }
    }
}

impl Serialize for LoggedParams {
    /// As the log's entries hold them: by name, so that what goes over the
    /// wire comes back the same.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shown().serialize(s)
    }
}

impl<'de> Deserialize<'de> for LoggedParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LoggedParams, D::Error> {
        let shown = BTreeMap::<String, String>::deserialize(d)?;
        let mut params = Params::default();
        for (name, value) in &shown {
            params.push_unchecked(name, value);
        }
        Ok(LoggedParams(params))
    }
}

impl LogDraft {
    /// A draft from a readable postback, which it takes apart: the log
    /// keeps what the advertiser sent without copying it.
    pub fn from_postback(mut postback: Postback, dry_run: bool) -> LogDraft {
        LogDraft {
            campaign_id: postback.campaign_id.take(),
            click_id: postback.click_id.take(),
            goal: postback.goal.take(),
            status: postback.status.map(|s| s.as_str().to_owned()),
            action_id: postback.action_id.clone(),
            dry_run,
            params: LoggedParams(postback.into_params()),
            ..LogDraft::default()
        }
    }

    /// A draft from a query that could not be read: its pieces as sent,
    /// undecoded, `secure` redacted.
    pub fn from_unreadable(query: &str, dry_run: bool) -> LogDraft {
        let mut params = Params::default();
        for piece in query.split('&').filter(|p| !p.is_empty()).take(50) {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            params.push_unchecked(name, value);
        }
        LogDraft {
            dry_run,
            params: LoggedParams(params),
            ..LogDraft::default()
        }
    }

    /// Names the campaign the entry belongs to, once known.
    pub fn for_campaign(mut self, campaign_id: &str) -> LogDraft {
        self.campaign_id = Some(campaign_id.to_owned());
        self
    }

    /// Records the sender's address (`CF-Connecting-IP`), when the edge
    /// had no campaign to check it against.
    pub fn sent_from(mut self, source: Option<&str>) -> LogDraft {
        if self.source_ip.is_none() {
            self.source_ip = source.map(|s| s.trim().to_owned());
        }
        self
    }

    /// This draft with the campaign's secure code redacted from every
    /// value (see [`LoggedParams::redact_value`]).
    pub fn redacting(mut self, secure_code: Option<&str>) -> LogDraft {
        let Some(code) = secure_code else {
            return self;
        };
        self.params.redact_value(code);
        for field in [
            &mut self.campaign_id,
            &mut self.click_id,
            &mut self.goal,
            &mut self.action_id,
            &mut self.source_ip,
        ] {
            if let Some(shown) = field.as_deref().and_then(|t| hidden(code, t, true)) {
                *field = Some(shown);
            }
        }
        self
    }
}

/// A value for the log: cut at [`MAX_VALUE_LEN`] bytes (on a character
/// boundary), with `…` to show it was.
fn clip(value: &str) -> Cow<'_, str> {
    if value.len() <= MAX_VALUE_LEN {
        return Cow::Borrowed(value);
    }
    let mut end = MAX_VALUE_LEN;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &value[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn draft(query: &str) -> LogDraft {
        let postback = Postback::from_params(Params::from_query(query).unwrap()).unwrap();
        LogDraft::from_postback(postback, false)
    }

    #[test]
    fn drafts_never_show_or_send_the_secure_code() {
        let d = draft(&format!(
            "click_id=abc&secure=s3cr3t&note={}",
            "n".repeat(600)
        ));
        let wire = serde_json::to_string(&d).unwrap();
        assert!(!wire.contains("s3cr3t"), "{wire}");
        assert!(!format!("{d:?}").contains("s3cr3t"));
        let back: LogDraft = serde_json::from_str(&wire).unwrap();
        assert_eq!(back.params.shown(), d.params.shown());
        assert_eq!(back.params.shown()["secure"], "[redacted]");
        assert_eq!(
            back.params.shown()["note"].len(),
            MAX_VALUE_LEN + '…'.len_utf8()
        );
        assert_eq!(serde_json::to_string(&back).unwrap(), wire);
    }

    /// Every way an advertiser (or an attacker) has been seen to send the
    /// secure code, readable or not: none reaches what the log shows or
    /// stores, once the campaign's code is known.
    #[test]
    fn the_secure_code_is_redacted_however_it_is_sent() {
        const CODE: &str = "TOPSECRET42";
        let readable = [
            "secure=TOPSECRET42",
            "SECURE=TOPSECRET42",
            "Secure=TOPSECRET42",
            "secure%00=TOPSECRET42",
            "se%63ure=TOPSECRET42",
            "secure%5B%5D=TOPSECRET42",
            "%2573ecure=TOPSECRET42",
            "+secure=TOPSECRET42",
            "token=TOPSECRET42",
            "token=%54OPSECRET42",
            "ref=https%3A%2F%2Fshop.example%2F%3Fsecure%3DTOPSECRET42",
            "note=the+code+is+TOPSECRET42",
            "secure_code=x&TOPSECRET42=1",
        ];
        for query in readable {
            let d = draft(&format!("click_id=abc&{query}")).redacting(Some(CODE));
            let stored = serde_json::to_string(&d).unwrap();
            let shown = serde_json::to_string(&d.params.shown()).unwrap();
            let debug = format!("{d:?}");
            for out in [&stored, &shown, &debug] {
                assert!(!out.contains(CODE), "{query}: {out}");
            }
            assert!(stored.contains(REDACTED), "{query}: {stored}");
        }
        let unreadable = [
            "%73ecure=TOPSECRET42&sum=%zz",
            "secure=TOPSECRET42&secure=other",
            "SECURE=TOPSECRET42&sum=%zz",
            "token=TOPSECRET42&sum=%zz",
            "token=TOPSECRET%342&sum=%zz",
            "secure=TOP%zzSECRET42",
        ];
        for query in unreadable {
            assert!(Params::from_query(query)
                .and_then(Postback::from_params)
                .is_err());
            let d = LogDraft::from_unreadable(query, false).redacting(Some(CODE));
            let stored = serde_json::to_string(&d).unwrap();
            assert!(!stored.contains(CODE), "{query}: {stored}");
            // By name alone, before the campaign is known.
            let by_name = LogDraft::from_unreadable(query, false);
            for (name, value) in by_name.params.shown() {
                if is_secure_name(&name) {
                    assert_eq!(value, REDACTED, "{query}");
                }
            }
        }
        // JSON bodies: an escaped name is the name.
        let json = Params::from_post(
            "",
            crate::params::BodyKind::Json,
            br#"{"click_id":"abc","\u0053ECURE":"TOPSECRET42","x":"TOPSECRET42"}"#,
        )
        .unwrap();
        let d = LogDraft::from_postback(Postback::from_params(json).unwrap(), false)
            .redacting(Some(CODE));
        assert!(!serde_json::to_string(&d).unwrap().contains(CODE));
        // The fields a draft names are redacted too (a goal or an action id
        // that is, or holds, the code).
        let d =
            draft("click_id=abc&goal=TOPSECRET42&action_id=x-TOPSECRET42").redacting(Some(CODE));
        assert_eq!(d.goal.as_deref(), Some(REDACTED));
        assert_eq!(d.action_id.as_deref(), Some("x-[redacted]"));
    }

    #[test]
    fn only_secure_names_and_the_code_are_redacted() {
        let d = draft("click_id=abc&goal=1&note=hello&sum=10").redacting(Some("s3cr3t"));
        let shown = d.params.shown();
        assert_eq!(shown["note"], "hello");
        assert_eq!(shown["sum"], "10");
        // A short code is redacted only whole, not inside other text.
        let d = draft("click_id=abc&a=1&b=21").redacting(Some("1"));
        assert_eq!(d.params.shown()["a"], REDACTED);
        assert_eq!(d.params.shown()["b"], "21");
        for name in [
            "secure",
            "SECURE",
            "secure\0",
            "%73ecure",
            "sec%75re",
            "x_secure_y",
            "ssecure",
            "sesecure",
            "%2573ecure",
            "s.e-c_u r+e",
            "s%ecure",
        ] {
            assert!(is_secure_name(name), "{name}");
        }
        for name in [
            "sum", "goal", "sec", "cure", "click_id", "secur", "%73ecur", "secu%",
        ] {
            assert!(!is_secure_name(name), "{name}");
        }
    }

    #[test]
    fn unreadable_queries_are_logged_raw_and_redacted() {
        let d = LogDraft::from_unreadable("click_id=a&sum=%zz&secure=s3cr3t", false);
        assert_eq!(d.params.shown()["sum"], "%zz");
        assert_eq!(d.params.shown()["secure"], "[redacted]");
        let long = LogDraft::from_postback(
            Postback::from_params(
                Params::from_query(&format!("note={}", "é".repeat(600))).unwrap(),
            )
            .unwrap(),
            false,
        );
        assert!(long.params.shown()["note"].len() <= MAX_VALUE_LEN + 3);
    }
}
