//! The HTTP answers of the postback endpoints, built in the core so that
//! their shape is tested natively; the shell only copies them out.

use crate::catalog::{Refusal, Rejection};
use crate::ledger::Verdict;
use crate::status::Status;
use serde_json::json;

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
    /// `Location`, for the click redirect.
    pub location: Option<String>,
    /// `Allow`, for 405.
    pub allow: Option<&'static str>,
}

pub const JSON: &str = "application/json; charset=utf-8";

impl Reply {
    pub fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            body,
            content_type: JSON,
            location: None,
            allow: None,
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            content_type: "text/plain; charset=utf-8",
            ..Reply::json(status, body.to_owned())
        }
    }

    pub fn redirect(location: String) -> Reply {
        Reply {
            location: Some(location),
            ..Reply::json(302, String::new())
        }
    }

    /// A rejected (or unreadable) postback.
    pub fn refused(refusal: &Refusal) -> Reply {
        let body = json!({ "status": "rejected", "error": refusal.to_error_body() });
        Reply::json(refusal.http_status(), body.to_string())
    }

    pub fn rejected(rejection: Rejection) -> Reply {
        Reply::refused(&Refusal::Rejected(rejection))
    }

    /// An accepted postback (or, `dry_run`, one that would be).
    pub fn accepted(conversion_id: &str, status: Status, dry_run: bool) -> Reply {
        let mut body = json!({
            "status": "accepted",
            "conversion_id": conversion_id,
            "conversion_status": status,
        });
        if dry_run {
            body["dry_run"] = json!(true);
        }
        Reply::json(200, body.to_string())
    }

    /// The answer for what the campaign object said. A code the catalog
    /// does not know is `invalid_error_code`: the outcome is unknown, and
    /// the advertiser must not be told either way.
    pub fn from_verdict(verdict: &Verdict, dry_run: bool) -> Reply {
        match verdict {
            Verdict::Accepted {
                conversion_id,
                conversion_status,
                ..
            } => Reply::accepted(conversion_id, *conversion_status, dry_run),
            Verdict::Rejected { code } => {
                Reply::rejected(Rejection::from_code(code).unwrap_or(Rejection::InvalidErrorCode))
            }
        }
    }

    pub fn not_found() -> Reply {
        Reply::json(
            404,
            crate::admin::error_body("not_found", "No such endpoint. See the README for the API."),
        )
    }

    pub fn method_not_allowed(allow: &'static str) -> Reply {
        Reply {
            allow: Some(allow),
            ..Reply::json(
                405,
                crate::admin::error_body(
                    "method_not_allowed",
                    &format!("This endpoint answers {allow} only."),
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::BadRequest;

    fn body(reply: &Reply) -> serde_json::Value {
        serde_json::from_str(&reply.body).unwrap()
    }

    #[test]
    fn accepted_shape() {
        let r = Reply::accepted("cv_1", Status::Pending, false);
        assert_eq!(r.status, 200);
        assert_eq!(
            body(&r),
            json!({"status": "accepted", "conversion_id": "cv_1", "conversion_status": "pending"})
        );
        assert_eq!(
            body(&Reply::accepted("cv_1", Status::Hold, true))["dry_run"],
            true
        );
    }

    #[test]
    fn rejected_shape() {
        let r = Reply::rejected(Rejection::CapReached);
        assert_eq!(r.status, 409);
        let b = body(&r);
        assert_eq!(b["status"], "rejected");
        assert_eq!(b["error"]["code"], "cap_reached");
        assert_eq!(
            b["error"]["message"],
            "Campaign cap is reached, conversion is rejected"
        );
        assert!(b["error"]["reason"].as_str().unwrap().len() > 10);
        assert!(b["error"]["fix"].as_str().unwrap().len() > 10);
        let bad = Reply::refused(&BadRequest::new("sum", "is not a decimal number").into());
        assert_eq!(bad.status, 400);
        assert_eq!(body(&bad)["error"]["parameter"], "sum");
    }

    #[test]
    fn unknown_codes_from_the_object_are_invalid_error_code() {
        let r = Reply::from_verdict(
            &Verdict::Rejected {
                code: "teapot".into(),
            },
            false,
        );
        assert_eq!(r.status, 502);
        assert_eq!(body(&r)["error"]["code"], "invalid_error_code");
        let known = Reply::from_verdict(
            &Verdict::Rejected {
                code: "status_same".into(),
            },
            false,
        );
        assert_eq!(known.status, 409);
    }
}
