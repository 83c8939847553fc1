//! Which handler a request goes to: the product's whole URL space.

/// A request's destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    Click,
    /// `GET` or `POST /postback`.
    Postback,
    /// `GET /postback/check`: every check, nothing written.
    PostbackCheck,
    /// `GET /v1/campaigns`.
    CampaignList,
    /// `GET`, `PUT`, `DELETE /v1/campaigns/{id}`.
    Campaign(&'a str),
    /// `GET /v1/campaigns/{id}/stats`: what the campaign's object holds.
    CampaignStats(&'a str),
    /// `GET /v1/logs/postbacks`: the log as JSON.
    LogJson,
    /// `GET /logs/postbacks`: the log as a page.
    LogPage,
    /// `POST /v1/outbox/retry`: parked messages tried again.
    OutboxRetry,
    /// `GET /v1/outbox`: what waits for the origin.
    Outbox,
    /// `GET`, `POST /v1/tokens`: scoped tokens listed, or one made.
    Tokens,
    /// `DELETE /v1/tokens/{name}`: a scoped token revoked.
    Token(&'a str),
    /// `GET /v1/conversions/{id}`: a conversion and its log entries.
    Conversion(&'a str),
    /// `GET /v1/openapi.json`: the contract, `docs/openapi.json`.
    OpenApi,
    NotFound,
    /// The path exists; the method does not. Carries the `Allow` value.
    MethodNotAllowed(&'static str),
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Anyone: clicks, postbacks, the health check.
    Open,
    /// An admin token, or a scoped token for its campaigns: the log,
    /// conversions, the outbox.
    Reader,
    /// An admin token only.
    Admin,
}

impl Route<'_> {
    pub fn guard(&self) -> Guard {
        match self {
            Route::LogJson | Route::LogPage | Route::Outbox | Route::Conversion(_) => Guard::Reader,
            Route::CampaignList
            | Route::Campaign(_)
            | Route::CampaignStats(_)
            | Route::OutboxRetry
            | Route::Tokens
            | Route::Token(_) => Guard::Admin,
            Route::Health
            | Route::Click
            | Route::Postback
            | Route::PostbackCheck
            | Route::OpenApi
            | Route::NotFound
            | Route::MethodNotAllowed(_) => Guard::Open,
        }
    }
}

/// The query string of a serialized URL (`https://h/p?q#f` → `q`), still
/// percent-encoded; empty if it has none. Reading it this way, not through
/// a URL parser, keeps the `url` crate's Unicode tables out of the wasm.
pub fn query_of(url: &str) -> &str {
    let url = url.split('#').next().unwrap_or("");
    url.split_once('?').map_or("", |(_, query)| query)
}

/// The path of a serialized URL (`https://h/p/q?x#f` → `/p/q`), still
/// percent-encoded; `/` if it has none.
pub fn path_of(url: &str) -> &str {
    // Bytes, not string searchers: read for every request (all ASCII
    // delimiters, so every cut is on a character boundary).
    let bytes = url.as_bytes();
    let end = bytes
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(bytes.len());
    let start = bytes[..end]
        .windows(3)
        .position(|w| w == b"://")
        .map_or(0, |at| at + 3);
    match bytes[start..end].iter().position(|&b| b == b'/') {
        Some(slash) => &url[start + slash..end],
        None => "/",
    }
}

/// The one non-empty path segment after `prefix`.
fn one_segment<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// Routes `method` and `path` (no query string).
pub fn route<'a>(method: &str, path: &'a str) -> Route<'a> {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let only = |allowed: &'static str, route: Route<'a>| {
        if allowed.split(", ").any(|m| m == method) {
            route
        } else {
            Route::MethodNotAllowed(allowed)
        }
    };
    match path {
        "/healthz" => only("GET, HEAD", Route::Health),
        "/click" => only("GET", Route::Click),
        "/postback" => only("GET, POST", Route::Postback),
        "/postback/check" => only("GET", Route::PostbackCheck),
        "/v1/campaigns" => only("GET", Route::CampaignList),
        "/v1/logs/postbacks" => only("GET", Route::LogJson),
        "/logs/postbacks" => only("GET", Route::LogPage),
        "/v1/outbox" => only("GET", Route::Outbox),
        "/v1/outbox/retry" => only("POST", Route::OutboxRetry),
        "/v1/tokens" => only("GET, POST", Route::Tokens),
        "/v1/openapi.json" => only("GET", Route::OpenApi),
        _ if path.starts_with("/v1/tokens/") => match one_segment(path, "/v1/tokens/") {
            Some(name) => only("DELETE", Route::Token(name)),
            None => Route::NotFound,
        },
        _ if path.starts_with("/v1/conversions/") => match one_segment(path, "/v1/conversions/") {
            Some(id) => only("GET", Route::Conversion(id)),
            None => Route::NotFound,
        },
        _ => match path.strip_prefix("/v1/campaigns/") {
            Some(id) if !id.is_empty() && !id.contains('/') => {
                only("GET, PUT, DELETE", Route::Campaign(id))
            }
            Some(rest) => match rest.strip_suffix("/stats") {
                Some(id) if !id.is_empty() && !id.contains('/') => {
                    only("GET", Route::CampaignStats(id))
                }
                _ => Route::NotFound,
            },
            _ => Route::NotFound,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_of_urls() {
        assert_eq!(
            query_of("https://h/postback?click_id=a&b=%20c"),
            "click_id=a&b=%20c"
        );
        assert_eq!(query_of("https://h/postback?a=1#frag"), "a=1");
        assert_eq!(query_of("https://h/postback"), "");
        assert_eq!(query_of("https://h/p?"), "");
        assert_eq!(query_of("https://h/p?a=?b"), "a=?b");
        assert_eq!(path_of("https://h/postback?a=1#frag"), "/postback");
        assert_eq!(
            path_of("http://127.0.0.1:8787/v1/campaigns/1001"),
            "/v1/campaigns/1001"
        );
        assert_eq!(path_of("https://h"), "/");
        assert_eq!(path_of("https://h?x=/y"), "/");
        assert_eq!(path_of("https://h/p#/q"), "/p");
    }

    #[test]
    fn guards() {
        assert_eq!(route("GET", "/postback").guard(), Guard::Open);
        assert_eq!(route("GET", "/v1/logs/postbacks").guard(), Guard::Reader);
        assert_eq!(route("GET", "/v1/conversions/x").guard(), Guard::Reader);
        assert_eq!(route("POST", "/v1/outbox/retry").guard(), Guard::Admin);
        assert_eq!(route("GET", "/v1/tokens").guard(), Guard::Admin);
        assert_eq!(route("PUT", "/v1/campaigns/1").guard(), Guard::Admin);
        // A wrong method is answered before any token is looked at.
        assert_eq!(route("PUT", "/v1/logs/postbacks").guard(), Guard::Open);
    }

    #[test]
    fn the_contract_is_open_to_anyone() {
        assert_eq!(route("GET", "/v1/openapi.json"), Route::OpenApi);
        assert_eq!(route("GET", "/v1/openapi.json/"), Route::OpenApi);
        assert_eq!(route("GET", "/v1/openapi.json").guard(), Guard::Open);
        assert_eq!(
            route("POST", "/v1/openapi.json"),
            Route::MethodNotAllowed("GET")
        );
        assert_eq!(route("GET", "/v1/openapi.json/x"), Route::NotFound);
        assert_eq!(route("GET", "/v1/openapi.yaml"), Route::NotFound);
    }

    #[test]
    fn routes() {
        assert_eq!(route("GET", "/healthz"), Route::Health);
        assert_eq!(route("GET", "/postback"), Route::Postback);
        assert_eq!(route("POST", "/postback/"), Route::Postback);
        assert_eq!(route("GET", "/postback/check"), Route::PostbackCheck);
        assert_eq!(
            route("POST", "/postback/check"),
            Route::MethodNotAllowed("GET")
        );
        assert_eq!(route("GET", "/click"), Route::Click);
        assert_eq!(route("PUT", "/v1/campaigns/1001"), Route::Campaign("1001"));
        assert_eq!(route("GET", "/v1/campaigns"), Route::CampaignList);
        assert_eq!(
            route("POST", "/v1/campaigns/1"),
            Route::MethodNotAllowed("GET, PUT, DELETE")
        );
        assert_eq!(route("GET", "/v1/campaigns/a/b"), Route::NotFound);
        assert_eq!(
            route("GET", "/v1/campaigns/1001/stats"),
            Route::CampaignStats("1001")
        );
        assert_eq!(
            route("PUT", "/v1/campaigns/1001/stats"),
            Route::MethodNotAllowed("GET")
        );
        assert_eq!(route("GET", "/v1/campaigns//stats"), Route::NotFound);
        assert_eq!(route("GET", "/"), Route::NotFound);
        assert_eq!(route("GET", "/v1/logs/postbacks"), Route::LogJson);
        assert_eq!(route("GET", "/logs/postbacks/"), Route::LogPage);
        assert_eq!(route("GET", "/v1/outbox"), Route::Outbox);
        assert_eq!(route("POST", "/v1/outbox/retry"), Route::OutboxRetry);
        assert_eq!(
            route("GET", "/v1/outbox/retry"),
            Route::MethodNotAllowed("POST")
        );
        assert_eq!(route("POST", "/v1/tokens"), Route::Tokens);
        assert_eq!(route("DELETE", "/v1/tokens/acme"), Route::Token("acme"));
        assert_eq!(
            route("GET", "/v1/tokens/acme"),
            Route::MethodNotAllowed("DELETE")
        );
        assert_eq!(route("DELETE", "/v1/tokens//x"), Route::NotFound);
        assert_eq!(
            route("GET", "/v1/conversions/cv_1001_AAAAAAAAAAAAAAAA"),
            Route::Conversion("cv_1001_AAAAAAAAAAAAAAAA")
        );
        assert_eq!(route("GET", "/v1/conversions/a/b"), Route::NotFound);
        assert_eq!(
            route("DELETE", "/healthz"),
            Route::MethodNotAllowed("GET, HEAD")
        );
    }
}
