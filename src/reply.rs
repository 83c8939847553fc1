//! The HTTP answers of the postback endpoints, built in the core so that
//! their shape is tested natively; the shell only copies them out.

use crate::campaign::ConfigError;
use crate::catalog::{ErrorBody, Refusal, Rejection};
use crate::ledger::Verdict;
use crate::status::Status;
use serde::Serialize;
use serde_json::json;

/// An HTTP answer. The shell makes the `Response` from it, in one place
/// (`shell/mod.rs`), with [`Reply::headers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
    /// `Location`, for the click redirect.
    pub location: Option<String>,
    /// `Allow`, for 405.
    pub allow: Option<&'static str>,
    /// `Content-Disposition`, for a download.
    pub attachment: Option<String>,
}

pub const JSON: &str = "application/json; charset=utf-8";
pub const TEXT: &str = "text/plain; charset=utf-8";
pub const HTML: &str = "text/html; charset=utf-8";

impl Reply {
    pub fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            body,
            content_type: JSON,
            location: None,
            allow: None,
            attachment: None,
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            content_type: TEXT,
            ..Reply::json(status, body.to_owned())
        }
    }

    pub fn html(status: u16, body: String) -> Reply {
        Reply {
            content_type: HTML,
            ..Reply::json(status, body)
        }
    }

    /// The head of a download whose body is streamed after it: `200`, its
    /// type, and the file name a browser saves it under.
    pub fn download(content_type: &'static str, file_name: &str) -> Reply {
        Reply {
            content_type,
            attachment: Some(format!("attachment; filename=\"{file_name}\"")),
            ..Reply::json(200, String::new())
        }
    }

    /// The health check's answer.
    pub fn health() -> Reply {
        Reply::text(200, "ok")
    }

    pub fn redirect(location: String) -> Reply {
        Reply {
            location: Some(location),
            ..Reply::json(302, String::new())
        }
    }

    /// A rejected (or unreadable) postback.
    pub fn refused(refusal: &Refusal) -> Reply {
        Reply::json(refusal.http_status(), refused_body(refusal))
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
            Verdict::Rejected { code, detail } => Reply::refused(&Verdict::refusal(code, detail)),
        }
    }

    /// This answer, or `internal_error` if a header value holds a line
    /// break (no valid answer has one: a landing URL is checked when its
    /// config is stored), so that no answer can smuggle a header.
    pub fn checked(self) -> Reply {
        if self
            .headers()
            .iter()
            .any(|(_, value)| value.contains(['\r', '\n']))
        {
            return Reply::rejected(Rejection::InternalError);
        }
        self
    }

    /// The answer's headers, in order.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        let mut headers = vec![
            ("content-type", self.content_type),
            ("cache-control", "no-store"),
        ];
        if let Some(location) = &self.location {
            headers.push(("location", location));
        }
        if let Some(allow) = self.allow {
            headers.push(("allow", allow));
        }
        if let Some(name) = &self.attachment {
            headers.push(("content-disposition", name));
        }
        if self.status == 401 {
            headers.push(("www-authenticate", "Basic realm=\"postback-edge\""));
        }
        headers
    }

    /// An error of the `/v1/` API or of routing: `{"error": {"code",
    /// "message"}}`.
    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        let body = json!({ "error": { "code": code, "message": message } });
        Reply::json(status, body.to_string())
    }

    /// `internal_error` (503): a store failed; `message` says what to do.
    pub fn unavailable(message: &str) -> Reply {
        Reply::error(503, "internal_error", message)
    }

    /// A campaign config that cannot be stored: 400, naming the field.
    pub fn invalid_config(error: &ConfigError) -> Reply {
        let body = json!({
            "error": {
                "code": "invalid_config",
                "field": error.field,
                "message": format!("Campaign config is not valid: {error}"),
            }
        });
        Reply::json(400, body.to_string())
    }

    pub fn not_found() -> Reply {
        Reply::error(
            404,
            "not_found",
            "No such endpoint. See the README for the API.",
        )
    }

    pub fn method_not_allowed(allow: &'static str) -> Reply {
        Reply {
            allow: Some(allow),
            ..Reply::error(
                405,
                "method_not_allowed",
                &format!("This endpoint answers {allow} only."),
            )
        }
    }
}

fn refused_body(refusal: &Refusal) -> String {
    #[derive(Serialize)]
    struct Refused<'a> {
        error: ErrorBody<'a>,
        status: &'static str,
    }
    let body = Refused {
        error: refusal.to_error_body(),
        status: "rejected",
    };
    // Strings and a struct: serializing cannot fail.
    serde_json::to_string(&body).unwrap_or_default()
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
    fn every_rejection_answers_its_own_code_and_status() {
        for rejection in Rejection::ALL {
            let reply = Reply::rejected(rejection);
            assert_eq!(reply.status, rejection.http_status(), "{rejection:?}");
            assert_eq!(body(&reply)["error"]["code"], rejection.code());
            assert_eq!(body(&reply)["error"]["message"], rejection.message());
        }
    }

    #[test]
    fn unknown_codes_from_the_object_are_invalid_error_code() {
        let r = Reply::from_verdict(
            &Verdict::Rejected {
                code: "teapot".into(),
                detail: None,
            },
            false,
        );
        assert_eq!(r.status, 502);
        assert_eq!(body(&r)["error"]["code"], "invalid_error_code");
        let known = Reply::from_verdict(
            &Verdict::Rejected {
                code: "status_same".into(),
                detail: None,
            },
            false,
        );
        assert_eq!(known.status, 409);
    }

    #[test]
    fn refused_bodies_keep_their_key_order() {
        let body = Reply::rejected(Rejection::GoalNotFound).body;
        assert!(
            body.starts_with(r#"{"error":{"code":"goal_not_found","fix":"#),
            "{body}"
        );
        assert!(body.ends_with(r#"},"status":"rejected"}"#), "{body}");
        let body = Reply::refused(&BadRequest::new("amount", "is not a number").into()).body;
        let keys = [
            "\"code\"",
            "\"detail\":{\"parameter\":\"amount\",\"problem\":\"is not a number\"}",
            "\"fix\"",
            "\"message\"",
            ",\"parameter\"",
            "\"reason\"",
        ];
        let at: Vec<usize> = keys.iter().map(|k| body.find(k).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{body}");
    }

    #[test]
    fn detailed_rejections_answer_their_detail_and_the_catalog_texts() {
        use crate::catalog::Detail;
        let refusal = Refusal::Detailed(
            Rejection::ClickNotFound,
            Detail::new().with("problem", "unknown_key"),
        );
        let reply = Reply::refused(&refusal);
        assert_eq!(reply.status, 404);
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["status"], "rejected");
        assert_eq!(body["error"]["code"], "click_not_found");
        assert_eq!(body["error"]["message"], "Click not found");
        assert_eq!(body["error"]["detail"]["problem"], "unknown_key");
        assert_eq!(body["error"]["fix"], Rejection::ClickNotFound.fix());
    }

    #[test]
    fn headers_carry_what_the_answer_needs_and_never_a_line_break() {
        let names = |r: &Reply| -> Vec<&str> { r.headers().iter().map(|(n, _)| *n).collect() };
        assert_eq!(
            Reply::rejected(Rejection::GoalNotFound).headers(),
            vec![("content-type", JSON), ("cache-control", "no-store")]
        );
        let redirect = Reply::redirect("https://x.example/?a=1".into());
        assert!(redirect
            .headers()
            .contains(&("location", "https://x.example/?a=1")));
        assert!(Reply::method_not_allowed("GET, POST")
            .headers()
            .contains(&("allow", "GET, POST")));
        assert!(names(&Reply::json(401, String::new())).contains(&"www-authenticate"));
        // A header value with a line break (no valid answer has one) is
        // internal_error instead.
        let bad = Reply::redirect("https://x.example/\r\nset-cookie: a=b".into()).checked();
        assert_eq!(bad.status, 503);
        assert!(!names(&bad).contains(&"location"));
        assert!(bad.body.contains("internal_error"));
        let good = Reply::redirect("https://x.example/".into());
        assert_eq!(good.clone().checked(), good);
    }
}
