//! The HTTP answers of the postback endpoints, built in the core so that
//! their shape is tested natively; the shell only copies them out.

use crate::catalog::{ErrorBody, Refusal, Rejection};
use crate::ledger::Verdict;
use crate::status::Status;
use serde::Serialize;
use serde_json::json;
use std::borrow::Cow;
use std::sync::OnceLock;

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// A catalog rejection's is borrowed from the bodies serialized once per
    /// isolate; every other answer's is its own.
    pub body: Cow<'static, str>,
    pub content_type: &'static str,
    /// `Location`, for the click redirect.
    pub location: Option<String>,
    /// `Allow`, for 405.
    pub allow: Option<&'static str>,
    /// The answer's number when it is the same on every request (see
    /// [`Reply::same_every_time`]). Private, so that no answer made from
    /// one of these by changing a field keeps the number.
    same_every_time: Option<u8>,
}

pub const JSON: &str = "application/json; charset=utf-8";
pub const TEXT: &str = "text/plain; charset=utf-8";
pub const HTML: &str = "text/html; charset=utf-8";

/// The answers whose headers are just a content type and `cache-control:
/// no-store` (nearly all), by the letter `to_wire` marks them with; the
/// guard in `js/entry.mjs` keeps the same sets as ready header objects.
const PRESETS: [(char, &str); 3] = [('j', JSON), ('t', TEXT), ('h', HTML)];

impl Reply {
    pub fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            body: body.into(),
            content_type: JSON,
            location: None,
            allow: None,
            same_every_time: None,
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

    /// The health check's answer.
    pub fn health() -> Reply {
        Reply {
            same_every_time: Some(0),
            ..Reply::text(200, "ok")
        }
    }

    /// The number of an answer that is the same, byte for byte, on every
    /// request (the health check, a catalog rejection), or None. The shell
    /// hands the guard this number instead of the answer, and the guard
    /// makes each `Response` from the parts it kept the first time
    /// (`js/entry.mjs`), which it asks for with
    /// [`Reply::numbered`].
    pub fn same_every_time(&self) -> Option<u8> {
        self.same_every_time
    }

    /// The answer numbered `number` by [`Reply::same_every_time`].
    pub fn numbered(number: u8) -> Option<Reply> {
        match number {
            0 => Some(Reply::health()),
            n => Rejection::ALL
                .get(usize::from(n) - 1)
                .map(|r| Reply::rejected(*r)),
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
        match refusal {
            Refusal::Rejected(rejection) => Reply::rejected(*rejection),
            Refusal::Detailed(..) | Refusal::BadRequest(_) => {
                Reply::json(refusal.http_status(), refused_body(refusal))
            }
        }
    }

    pub fn rejected(rejection: Rejection) -> Reply {
        let index = Rejection::ALL.iter().position(|r| *r == rejection);
        Reply {
            same_every_time: index.and_then(|i| u8::try_from(i + 1).ok()),
            body: rejected_body(rejection, index),
            ..Reply::json(Refusal::Rejected(rejection).http_status(), String::new())
        }
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
        if self.status == 401 {
            headers.push(("www-authenticate", "Basic realm=\"postback-edge\""));
        }
        headers
    }

    /// The answer as one string, the way `js/entry.mjs` takes it from the
    /// wasm: the status in three digits, then either the letter of a
    /// header preset (see [`PRESETS`]) and the body, or one `\nname: value`
    /// line per header, an empty line and the body. One string crosses
    /// into JavaScript, instead of a call per header and one for the body.
    /// A header value with a line break (no valid answer has one) makes the
    /// answer `internal_error`.
    pub fn to_wire(&self) -> String {
        let status = if (100..=999).contains(&self.status) {
            self.status
        } else {
            500
        };
        let mut wire = String::with_capacity(96 + self.body.len());
        crate::time::push_padded(&mut wire, u64::from(status), 3);
        let plain = self.location.is_none() && self.allow.is_none() && status != 401;
        let preset = PRESETS.iter().find(|(_, t)| *t == self.content_type);
        if let (true, Some((letter, _))) = (plain, preset) {
            wire.push(*letter);
            wire.push_str(&self.body);
            return wire;
        }
        let headers = self.headers();
        if headers
            .iter()
            .any(|(_, value)| value.contains(['\r', '\n']))
        {
            return Reply::rejected(Rejection::InternalError).to_wire();
        }
        for (name, value) in headers {
            wire.push('\n');
            wire.push_str(name);
            wire.push_str(": ");
            wire.push_str(value);
        }
        wire.push_str("\n\n");
        wire.push_str(&self.body);
        wire
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

fn refused_body(refusal: &Refusal) -> String {
    #[derive(Serialize)]
    struct Refused {
        error: ErrorBody,
        status: &'static str,
    }
    let body = Refused {
        error: refusal.to_error_body(),
        status: "rejected",
    };
    // Strings and a struct: serializing cannot fail.
    serde_json::to_string(&body).unwrap_or_default()
}

/// A catalog rejection's body (`index`: its place in `Rejection::ALL`):
/// the same text for every postback refused for that reason, serialized
/// once per isolate.
fn rejected_body(rejection: Rejection, index: Option<usize>) -> Cow<'static, str> {
    static BODIES: OnceLock<Vec<String>> = OnceLock::new();
    let bodies = BODIES.get_or_init(|| {
        Rejection::ALL
            .iter()
            .map(|r| refused_body(&Refusal::Rejected(*r)))
            .collect()
    });
    match index.and_then(|i| bodies.get(i)) {
        Some(body) => Cow::Borrowed(body),
        None => Cow::Owned(refused_body(&Refusal::Rejected(rejection))),
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
    fn every_rejection_answers_its_own_body_each_time() {
        for rejection in Rejection::ALL {
            let fresh = refused_body(&Refusal::Rejected(rejection));
            assert_eq!(Reply::rejected(rejection).body, fresh, "{rejection:?}");
            assert_eq!(Reply::rejected(rejection).body, fresh, "{rejection:?}");
            assert_eq!(
                body(&Reply::rejected(rejection))["error"]["code"],
                rejection.code()
            );
        }
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

    /// Splits a wire answer the way `js/entry.mjs` does.
    fn from_wire(wire: &str) -> (u16, Vec<(String, String)>, String) {
        let status = wire[..3].parse().unwrap();
        let rest = &wire[3..];
        let no_store = ("cache-control".to_owned(), "no-store".to_owned());
        if let Some((_, content_type)) = PRESETS.iter().find(|(l, _)| rest.starts_with(*l)) {
            let headers = vec![
                ("content-type".to_owned(), (*content_type).to_owned()),
                no_store,
            ];
            return (status, headers, rest[1..].to_owned());
        }
        let (head, body) = rest.strip_prefix('\n').unwrap().split_once("\n\n").unwrap();
        let headers = head
            .split('\n')
            .map(|l| {
                let (n, v) = l.split_once(": ").unwrap();
                (n.to_owned(), v.to_owned())
            })
            .collect();
        (status, headers, body.to_owned())
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
        assert_eq!(reply.same_every_time(), None);
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["status"], "rejected");
        assert_eq!(body["error"]["code"], "click_not_found");
        assert_eq!(body["error"]["message"], "Click not found");
        assert_eq!(body["error"]["detail"]["problem"], "unknown_key");
        assert_eq!(body["error"]["fix"], Rejection::ClickNotFound.fix());
    }

    #[test]
    fn answers_the_same_every_time_are_numbered_and_found_by_number() {
        let health = Reply::health();
        assert_eq!(
            Reply::numbered(health.same_every_time().unwrap()),
            Some(health)
        );
        let mut numbers = vec![0];
        for rejection in Rejection::ALL {
            let reply = Reply::rejected(rejection);
            let number = reply.same_every_time().unwrap();
            assert_eq!(
                Reply::numbered(number).as_ref(),
                Some(&reply),
                "{rejection:?}"
            );
            assert_eq!(Reply::refused(&Refusal::Rejected(rejection)), reply);
            numbers.push(number);
        }
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(
            numbers.len(),
            Rejection::ALL.len() + 1,
            "numbers are distinct"
        );
        // js/entry.mjs answers a crash with number 1's body.
        assert_eq!(
            Reply::numbered(1),
            Some(Reply::rejected(Rejection::InternalError))
        );
        assert_eq!(Reply::numbered(16), None);
        assert_eq!(Reply::numbered(u8::MAX), None);

        // Answers that differ from request to request have no number.
        let bad = Reply::refused(&BadRequest::new("sum", "is not a decimal number").into());
        assert_eq!(bad.same_every_time(), None);
        assert_eq!(
            Reply::accepted("cv_1", Status::Pending, false).same_every_time(),
            None
        );
        assert_eq!(Reply::text(200, "ok").same_every_time(), None);
        assert_eq!(
            Reply::redirect("https://x.example/".into()).same_every_time(),
            None
        );
    }

    #[test]
    fn wire_carries_status_headers_and_body() {
        let r = Reply::rejected(Rejection::GoalNotFound);
        let (status, headers, body) = from_wire(&r.to_wire());
        assert_eq!(status, 404);
        assert_eq!(body, r.body);
        assert_eq!(
            headers,
            vec![
                ("content-type".to_owned(), JSON.to_owned()),
                ("cache-control".to_owned(), "no-store".to_owned()),
            ]
        );

        // A body with blank lines of its own stays whole.
        let page = Reply {
            status: 401,
            content_type: "text/html; charset=utf-8",
            ..Reply::json(401, "<p>a</p>\n\n<p>b</p>\n".to_owned())
        };
        let (status, headers, body) = from_wire(&page.to_wire());
        assert_eq!((status, body.as_str()), (401, "<p>a</p>\n\n<p>b</p>\n"));
        assert!(headers.contains(&(
            "www-authenticate".to_owned(),
            "Basic realm=\"postback-edge\"".to_owned()
        )));

        let (status, headers, body) =
            from_wire(&Reply::redirect("https://x.example/?a=1".into()).to_wire());
        assert_eq!((status, body.as_str()), (302, ""));
        assert!(headers.contains(&("location".to_owned(), "https://x.example/?a=1".to_owned())));
        let (status, headers, _) = from_wire(&Reply::method_not_allowed("GET, POST").to_wire());
        assert_eq!(status, 405);
        assert!(headers.contains(&("allow".to_owned(), "GET, POST".to_owned())));
    }

    #[test]
    fn wire_never_carries_a_line_break_in_a_header() {
        let bad = Reply::redirect("https://x.example/\r\nset-cookie: a=b".into());
        let (status, headers, body) = from_wire(&bad.to_wire());
        assert_eq!(status, 503);
        assert!(headers
            .iter()
            .all(|(n, _)| n != "location" && n != "set-cookie"));
        assert!(body.contains("internal_error"));
        for status in [200, 302, 400, 503] {
            assert_eq!(Reply::text(status, "x").to_wire(), format!("{status}tx"));
        }
        // A preset answer's body may start with anything, a line break too.
        let (status, headers, body) = from_wire(&Reply::text(200, "\n\nx").to_wire());
        assert_eq!((status, body.as_str()), (200, "\n\nx"));
        assert_eq!(headers[0], ("content-type".to_owned(), TEXT.to_owned()));
    }
}
