//! Who may use the `/v1/` API and the log page: the credential a request
//! carries, and whether it is an admin token.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Whether an `Authorization` header carries one of the admin tokens
/// (`tokens`: the `ADMIN_TOKEN` value, one or more tokens separated by
/// whitespace), as `Bearer <token>` or as the password of HTTP Basic (so a
/// browser can open the log page). Each listed token is compared, in
/// constant time, whichever matches. With no token configured, nobody is
/// admitted.
pub fn authorized(header: Option<&str>, tokens: Option<&str>) -> bool {
    let (Some(header), Some(tokens)) = (header, tokens) else {
        return false;
    };
    let Some(given) = credential(header) else {
        return false;
    };
    tokens.split_whitespace().fold(false, |found, token| {
        found | crate::secret::equal(token, &given)
    })
}

/// The token an `Authorization` header carries: a Bearer token, or the
/// password of HTTP Basic.
pub fn credential(header: &str) -> Option<String> {
    let header = header.trim();
    let (scheme, credentials) = header.split_once(' ').unwrap_or((header, ""));
    let given = if scheme.eq_ignore_ascii_case("bearer") {
        credentials.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(credentials.trim()).ok()?;
        let pair = String::from_utf8(decoded).ok()?;
        pair.split_once(':')?.1.to_owned()
    } else {
        return None;
    };
    // An empty credential never matches: no listed token is empty.
    Some(given).filter(|g| !g.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic() {
        let t = Some("tok3n");
        assert!(authorized(Some("Bearer tok3n"), t));
        assert!(authorized(Some("bearer  tok3n "), t));
        let basic = format!("Basic {}", STANDARD.encode("admin:tok3n"));
        assert!(authorized(Some(&basic), t));
        let any_user = format!("Basic {}", STANDARD.encode(":tok3n"));
        assert!(authorized(Some(&any_user), t));
        for bad in [
            "Bearer tok3",
            "Bearer",
            "tok3n",
            "Basic !!",
            "Token tok3n",
            "",
        ] {
            assert!(!authorized(Some(bad), t), "{bad:?}");
        }
        let wrong = format!("Basic {}", STANDARD.encode("tok3n:x"));
        assert!(!authorized(Some(&wrong), t));
        assert!(!authorized(None, t));
    }

    #[test]
    fn no_token_configured_admits_nobody() {
        assert!(!authorized(Some("Bearer "), Some("")));
        assert!(!authorized(Some("Bearer "), Some("  ")));
        assert!(!authorized(Some("Bearer x"), None));
    }

    #[test]
    fn every_listed_token_admits() {
        let tokens = Some(" new-token\n old-token ");
        assert!(authorized(Some("Bearer new-token"), tokens));
        assert!(authorized(Some("Bearer old-token"), tokens));
        let basic = format!("Basic {}", STANDARD.encode("admin:old-token"));
        assert!(authorized(Some(&basic), tokens));
        for bad in [
            "Bearer new-token old-token",
            "Bearer new-token\nold-token",
            "Bearer new",
            "Bearer",
        ] {
            assert!(!authorized(Some(bad), tokens), "{bad:?}");
        }
    }
}
