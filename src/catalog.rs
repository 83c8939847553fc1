//! The error catalog: every way a postback can be refused, one variant per
//! row of SPEC §2, plus `bad_request` for input that cannot be read at all.
//!
//! Each variant's code, message, HTTP status, reason and fix are defined here
//! and nowhere else: no other module spells a user-facing message. The
//! messages are part of the product contract and are matched byte for byte
//! by advertisers' integrations.

use serde::Serialize;
use std::borrow::Cow;

/// Why a postback was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    InternalError,
    InvalidErrorCode,
    ClickIdMissing,
    ClickNotFound,
    CampaignNotFound,
    CampaignNotActive,
    SecureCodeInvalid,
    GoalNotFound,
    CampaignPrivacyError,
    StatusSame,
    StatusConfirmed,
    PayoutsNotFound,
    CapReached,
    WrongTimeToAction,
    CampaignMismatch,
}

impl Rejection {
    /// Every catalog entry, in SPEC §2 table order.
    pub const ALL: [Rejection; 15] = [
        Rejection::InternalError,
        Rejection::InvalidErrorCode,
        Rejection::ClickIdMissing,
        Rejection::ClickNotFound,
        Rejection::CampaignNotFound,
        Rejection::CampaignNotActive,
        Rejection::SecureCodeInvalid,
        Rejection::GoalNotFound,
        Rejection::CampaignPrivacyError,
        Rejection::StatusSame,
        Rejection::StatusConfirmed,
        Rejection::PayoutsNotFound,
        Rejection::CapReached,
        Rejection::WrongTimeToAction,
        Rejection::CampaignMismatch,
    ];

    /// The stable machine code.
    pub fn code(self) -> &'static str {
        self.entry().code
    }

    /// The user-facing message, byte for byte as SPEC §2 gives it.
    pub fn message(self) -> &'static str {
        self.entry().message
    }

    /// What happened, in the words an operator reads in the log.
    pub fn reason(self) -> &'static str {
        self.entry().reason
    }

    /// What the advertiser should do about it.
    pub fn fix(self) -> &'static str {
        self.entry().fix
    }

    pub fn http_status(self) -> u16 {
        self.entry().http_status
    }

    /// The variant for a machine code, as the campaign object sends it back
    /// to the edge. `None` for a code the catalog does not know; the edge
    /// answers those with [`Rejection::InvalidErrorCode`].
    pub fn from_code(code: &str) -> Option<Rejection> {
        Rejection::ALL.into_iter().find(|r| r.code() == code)
    }

    fn entry(self) -> &'static Entry {
        use Rejection::*;
        match self {
            InternalError => &Entry {
                code: "internal_error",
                message: "Internal error. Please address to support",
                http_status: 503,
                reason: "The postback could not be processed because a storage or service \
                         dependency failed; nothing was recorded.",
                fix: "Send the same postback again later: retries are safe and never count twice. \
                      If it keeps failing, contact support with the time and click id.",
            },
            InvalidErrorCode => &Entry {
                code: "invalid_error_code",
                message: "Internal error: invalid error code. Please address to support",
                http_status: 502,
                reason: "The conversion service answered with an error this endpoint does not \
                         know, so the outcome of the postback is unknown.",
                fix: "Contact support with the time and click id; do not assume the conversion \
                      was counted.",
            },
            ClickIdMissing => &Entry {
                code: "click_id_missing",
                message: "Click ID is missing",
                http_status: 400,
                reason: "The postback has no click_id (or clickid) parameter, or it is empty.",
                fix: "Pass the click id you received on the landing URL back as click_id, e.g. \
                      /postback?click_id={click_id}.",
            },
            ClickNotFound => &Entry {
                code: "click_not_found",
                message: "Click not found",
                http_status: 404,
                reason: "The click id was not issued by this system: it is malformed, truncated \
                         or its signature does not verify.",
                fix: "Send the click id exactly as it arrived on your landing URL, without \
                      trimming, re-encoding or substituting it.",
            },
            CampaignNotFound => &Entry {
                code: "campaign_not_found",
                message: "Campaign not found",
                http_status: 404,
                reason:
                    "No campaign exists with the campaign_id (or offer_id) of the postback, or \
                         with the campaign the click was made for.",
                fix: "Check the campaign_id in your postback URL against the campaign in the \
                      partner dashboard, or leave it out: the click id carries its campaign.",
            },
            CampaignNotActive => &Entry {
                code: "campaign_not_active",
                message: "Campaign is not active",
                http_status: 409,
                reason: "The campaign is paused or disabled, so it accepts no conversions.",
                fix: "Ask the platform operator to reactivate the campaign, then resend the \
                      postback.",
            },
            SecureCodeInvalid => &Entry {
                code: "secure_code_invalid",
                message: "Secure code is not valid",
                http_status: 403,
                reason: "The campaign requires a secure postback code and the postback's secure \
                         parameter is missing or wrong, or it came from an address the campaign \
                         does not allow.",
                fix: "Add secure=<your campaign's secure code> to the postback URL and send it \
                      from one of the campaign's allowed server addresses.",
            },
            GoalNotFound => &Entry {
                code: "goal_not_found",
                message: "Goal not found in campaign",
                http_status: 404,
                reason: "The goal of the postback (or the campaign's default goal, when none is \
                         given) is not one of the campaign's goals.",
                fix: "Send goal=<one of the campaign's goal ids>; goal ids are matched without \
                      regard to case.",
            },
            CampaignPrivacyError => &Entry {
                code: "campaign_privacy_error",
                message: "Campaign privacy error",
                http_status: 403,
                reason: "The campaign is private or premoderated and the partner of the click is \
                         not approved for it.",
                fix: "Ask the platform operator to approve the partner for this campaign; \
                      conversions from unapproved partners are not counted.",
            },
            StatusSame => &Entry {
                code: "status_same",
                message: "Conversion status is the same as received",
                http_status: 409,
                reason: "The conversion already exists with the status this postback carries, so \
                         nothing changed.",
                fix: "Nothing to do if this was a retry. A pending conversion changes when you \
                      send another status; one whose status (detail.conversion_status) is \
                      approved, declined or hold is final: ask the platform operator to correct \
                      it.",
            },
            StatusConfirmed => &Entry {
                code: "status_confirmed",
                message: "Conversion status is confirmed",
                http_status: 409,
                reason: "The conversion's status is final: only a pending conversion can change \
                         status.",
                fix: "Do not resend updates for a conversion that was approved, declined or put \
                      on hold; contact the platform operator to correct it.",
            },
            PayoutsNotFound => &Entry {
                code: "payouts_not_found",
                message: "Campaign payouts not found",
                http_status: 422,
                reason: "No payout rule of the campaign matches this conversion's goal, the \
                         click's country and the partner.",
                fix: "Check the goal you send; if it is right, ask the platform operator to add \
                      a payout for this goal, country and partner.",
            },
            CapReached => &Entry {
                code: "cap_reached",
                message: "Campaign cap is reached, conversion is rejected",
                http_status: 409,
                reason: "Admitting this conversion would exceed one of the campaign's caps \
                         (conversions or budget) for the current period.",
                fix: "No action is needed for this conversion; caps reset at the start of the \
                      next period in the campaign's timezone, or the operator can raise the cap.",
            },
            WrongTimeToAction => &Entry {
                code: "wrong_time_to_action",
                message: "Wrong time to action",
                http_status: 422,
                reason: "The time between the click and this conversion is outside the \
                         campaign's allowed window (minimum or maximum time to action).",
                fix: "Send postbacks when the action happens; conversions too soon after the \
                      click or after the attribution window closed are not counted.",
            },
            CampaignMismatch => &Entry {
                code: "campaign_mismatch",
                message: "Campaign mismatch",
                http_status: 409,
                reason: "The postback's campaign_id differs from the campaign the click was made \
                         for.",
                fix: "Send the campaign_id of the campaign the click came from, or leave \
                      campaign_id out: the click id carries its campaign.",
            },
        }
    }

    /// The JSON a rejected postback answers with: the catalog's own texts,
    /// borrowed.
    pub fn to_error_body(self) -> ErrorBody<'static> {
        ErrorBody {
            code: self.code(),
            message: Cow::Borrowed(self.message()),
            reason: Cow::Borrowed(self.reason()),
            fix: Cow::Borrowed(self.fix()),
            parameter: None,
            detail: None,
        }
    }
}

struct Entry {
    code: &'static str,
    message: &'static str,
    http_status: u16,
    reason: &'static str,
    fix: &'static str,
}

/// Input that could not be read at all: the request, not the conversion, is
/// wrong. Always HTTP 400 with code `bad_request`, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    parameter: String,
    problem: String,
}

impl BadRequest {
    pub const CODE: &'static str = "bad_request";
    pub const HTTP_STATUS: u16 = 400;

    /// `problem` completes the sentence "parameter `x` …".
    pub fn new(parameter: impl Into<String>, problem: impl Into<String>) -> BadRequest {
        BadRequest {
            parameter: parameter.into(),
            problem: problem.into(),
        }
    }

    pub fn parameter(&self) -> &str {
        &self.parameter
    }

    /// This refusal with the campaign's secure code hidden from the
    /// parameter it names (a name spelled as the code, read back in the
    /// answer and the log).
    pub fn redacting(mut self, secure_code: Option<&str>) -> BadRequest {
        if let Some(shown) = crate::redact::redact_text(secure_code, &self.parameter) {
            self.parameter = shown;
        }
        self
    }

    pub fn message(&self) -> String {
        format!(
            "Bad request: parameter `{}` {}",
            self.parameter, self.problem
        )
    }

    pub fn to_error_body(&self) -> ErrorBody<'_> {
        ErrorBody {
            code: Self::CODE,
            message: Cow::Owned(self.message()),
            reason: Cow::Borrowed(
                "The postback could not be read, so no check was run and nothing was \
                 recorded.",
            ),
            fix: Cow::Owned(format!(
                "Fix the `{}` parameter of the postback and send it again.",
                self.parameter
            )),
            parameter: Some(&self.parameter),
            detail: None,
        }
    }
}

/// The facts behind a rejection (SPEC §4a `error.detail`), so that an
/// advertiser can fix an integration from the answer alone: an object of
/// named values, written in the order of their names. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Detail(serde_json::Map<String, serde_json::Value>);

impl Detail {
    pub fn new() -> Detail {
        Detail::default()
    }

    /// This detail with `name` set to `value`.
    pub fn with<V: Into<serde_json::Value>>(self, name: &str, value: V) -> Detail {
        self.with_value(name, value.into())
    }

    /// [`Detail::with`] for a ready value: one copy of the insertion
    /// whatever the types callers convert from.
    #[inline(never)]
    pub fn with_value(mut self, name: &str, value: serde_json::Value) -> Detail {
        self.0.insert(name.to_owned(), value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name)
    }

    pub fn to_value(&self) -> serde_json::Value {
        self.clone().into_value()
    }

    pub fn into_value(self) -> serde_json::Value {
        serde_json::Value::Object(self.0)
    }

    /// This detail with the campaign's secure code hidden from every text
    /// in it (a goal sent as the code, echoed back).
    pub fn redacting(mut self, secure_code: Option<&str>) -> Detail {
        fn hide(value: &mut serde_json::Value, code: Option<&str>) {
            match value {
                serde_json::Value::String(text) => {
                    if let Some(shown) = crate::redact::redact_text(code, text) {
                        *text = shown;
                    }
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(|v| hide(v, code)),
                serde_json::Value::Object(fields) => {
                    fields.values_mut().for_each(|v| hide(v, code))
                }
                _ => {}
            }
        }
        self.0.values_mut().for_each(|v| hide(v, secure_code));
        self
    }
}

/// Why a postback did not count: a catalog rejection (with the facts
/// behind it, where they are known) or unreadable input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Rejected(Rejection),
    Detailed(Rejection, Detail),
    BadRequest(BadRequest),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Rejected(r) | Refusal::Detailed(r, _) => r.code(),
            Refusal::BadRequest(_) => BadRequest::CODE,
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            Refusal::Rejected(r) | Refusal::Detailed(r, _) => r.http_status(),
            Refusal::BadRequest(_) => BadRequest::HTTP_STATUS,
        }
    }

    /// The catalog rejection, if this is one.
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            Refusal::Rejected(r) | Refusal::Detailed(r, _) => Some(*r),
            Refusal::BadRequest(_) => None,
        }
    }

    /// The facts behind it (`bad_request`'s are its parameter and problem;
    /// an internal failure's, that a retry is safe).
    pub fn detail(&self) -> Option<Cow<'_, Detail>> {
        match self {
            Refusal::Rejected(Rejection::InternalError | Rejection::InvalidErrorCode) => {
                Some(Cow::Owned(Detail::new().with("retry", true)))
            }
            Refusal::Rejected(_) => None,
            Refusal::Detailed(_, d) => Some(Cow::Borrowed(d)),
            Refusal::BadRequest(b) => Some(Cow::Owned(
                Detail::new()
                    .with("parameter", b.parameter.as_str())
                    .with("problem", b.problem.as_str()),
            )),
        }
    }

    /// The `error` object of its answer, borrowing what it can: an answer
    /// is written once, straight from the catalog and the detail.
    pub fn to_error_body(&self) -> ErrorBody<'_> {
        let mut body = match self {
            Refusal::Rejected(r) | Refusal::Detailed(r, _) => r.to_error_body(),
            Refusal::BadRequest(b) => b.to_error_body(),
        };
        body.detail = self.detail();
        body
    }
}

impl From<Rejection> for Refusal {
    fn from(r: Rejection) -> Refusal {
        Refusal::Rejected(r)
    }
}

impl From<BadRequest> for Refusal {
    fn from(b: BadRequest) -> Refusal {
        Refusal::BadRequest(b)
    }
}

/// The `error` object of a rejected postback's JSON answer. Fields in
/// alphabetical order, which is the order they are written in.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorBody<'a> {
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Cow<'a, Detail>>,
    pub fix: Cow<'static, str>,
    pub message: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<&'a str>,
    pub reason: Cow<'static, str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_request_never_names_the_secure_code() {
        let bad = BadRequest::new("TOPSECRET42%zz", "has invalid percent-encoding")
            .redacting(Some("TOPSECRET42"));
        assert_eq!(bad.parameter(), "[redacted]%zz");
        assert!(!Refusal::BadRequest(bad.clone())
            .to_error_body()
            .message
            .contains("TOPSECRET42"));
        assert_eq!(bad.clone().redacting(None), bad);
    }

    #[track_caller]
    fn check(rejection: Rejection, code: &str, message: &str, http_status: u16) {
        assert_eq!(rejection.code(), code);
        assert_eq!(rejection.message(), message);
        assert_eq!(rejection.http_status(), http_status);
        assert_eq!(Rejection::from_code(code), Some(rejection));
    }

    #[test]
    fn every_entry_matches_the_spec_table() {
        use Rejection::*;
        check(
            InternalError,
            "internal_error",
            "Internal error. Please address to support",
            503,
        );
        check(
            InvalidErrorCode,
            "invalid_error_code",
            "Internal error: invalid error code. Please address to support",
            502,
        );
        check(
            ClickIdMissing,
            "click_id_missing",
            "Click ID is missing",
            400,
        );
        check(ClickNotFound, "click_not_found", "Click not found", 404);
        check(
            CampaignNotFound,
            "campaign_not_found",
            "Campaign not found",
            404,
        );
        check(
            CampaignNotActive,
            "campaign_not_active",
            "Campaign is not active",
            409,
        );
        check(
            SecureCodeInvalid,
            "secure_code_invalid",
            "Secure code is not valid",
            403,
        );
        check(
            GoalNotFound,
            "goal_not_found",
            "Goal not found in campaign",
            404,
        );
        check(
            CampaignPrivacyError,
            "campaign_privacy_error",
            "Campaign privacy error",
            403,
        );
        check(
            StatusSame,
            "status_same",
            "Conversion status is the same as received",
            409,
        );
        check(
            StatusConfirmed,
            "status_confirmed",
            "Conversion status is confirmed",
            409,
        );
        check(
            PayoutsNotFound,
            "payouts_not_found",
            "Campaign payouts not found",
            422,
        );
        check(
            CapReached,
            "cap_reached",
            "Campaign cap is reached, conversion is rejected",
            409,
        );
        check(
            WrongTimeToAction,
            "wrong_time_to_action",
            "Wrong time to action",
            422,
        );
        check(
            CampaignMismatch,
            "campaign_mismatch",
            "Campaign mismatch",
            409,
        );
    }

    #[test]
    fn codes_are_unique_and_every_entry_explains_itself() {
        let mut codes: Vec<_> = Rejection::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Rejection::ALL.len());
        for r in Rejection::ALL {
            assert!(r.reason().len() > 20, "{r:?} has no real reason");
            assert!(r.fix().len() > 20, "{r:?} has no real fix");
            assert!(
                !r.reason().contains("  "),
                "{r:?} reason has a wrapping gap"
            );
            assert!(!r.fix().contains("  "), "{r:?} fix has a wrapping gap");
        }
    }

    #[test]
    fn unknown_code_is_not_in_the_catalog() {
        assert_eq!(Rejection::from_code("teapot"), None);
        assert_eq!(Rejection::from_code(""), None);
        assert_eq!(Rejection::from_code("bad_request"), None);
    }

    #[test]
    fn bad_request_names_its_parameter() {
        let bad = BadRequest::new("sum", "is not a decimal number");
        let body = bad.to_error_body();
        assert_eq!(body.code, "bad_request");
        assert_eq!(
            body.message,
            "Bad request: parameter `sum` is not a decimal number"
        );
        assert_eq!(body.parameter, Some("sum"));
        assert_eq!(Refusal::from(bad).http_status(), 400);
    }
}
