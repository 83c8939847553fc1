//! Request parsing: a query, a form body or a JSON body (the first byte
//! picks), then the typed postback and a log query. Never a panic; what is
//! read respects the limits; whatever the name's spelling, a secure-code
//! name's value and any value carrying the campaign's code are redacted,
//! and an unreadable query's log draft redacts the same way.
#![no_main]
use libfuzzer_sys::fuzz_target;
use postback_edge::log::{LogDraft, LogQuery};
use postback_edge::redact::{is_secure_name, REDACTED};
use postback_edge::params::{BodyKind, Params, MAX_NAME_BYTES, MAX_PARAMS};
use postback_edge::postback::Postback;

const CODE: &str = "fuzz-code-42";

/// What the log would show and send of `draft`: no value under a
/// secure-code name, nor the campaign's code anywhere.
fn assert_redacted(draft: LogDraft) {
    let shown = draft.params.shown();
    for (name, value) in &shown {
        if is_secure_name(name) {
            assert_eq!(value, REDACTED, "{name} shown");
        }
    }
    let redacted = draft.redacting(Some(CODE));
    for (name, value) in redacted.params.shown() {
        assert!(!name.contains(CODE) && !value.contains(CODE), "the code in {name}={value}");
    }
    for field in [&redacted.campaign_id, &redacted.click_id, &redacted.goal] {
        assert!(!field.as_deref().unwrap_or("").contains(CODE), "the code in {field:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if let (0, Ok(query)) = (mode % 3, std::str::from_utf8(rest)) {
        assert_redacted(LogDraft::from_unreadable(query, false));
    }
    let params = match mode % 3 {
        0 => match std::str::from_utf8(rest) {
            Ok(query) => Params::from_query(query),
            Err(_) => return,
        },
        1 => Params::from_post("", BodyKind::Form, rest),
        _ => Params::from_post("", BodyKind::Json, rest),
    };
    if let Ok(params) = params {
        assert!(params.len() <= MAX_PARAMS);
        let mut names = std::collections::BTreeSet::new();
        for (name, _) in params.iter() {
            assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES);
            assert!(names.insert(name), "{name} read twice");
        }
        let _ = LogQuery::from_params(&params);
        if let Ok(postback) = Postback::from_params(params) {
            // `secure` never survives into what the log shows or sends.
            let sent_secure = postback.secure.is_some();
            assert_redacted(LogDraft::from_postback(postback.clone(), false));
            let draft = LogDraft::from_postback(postback, false);
            let wire: serde_json::Value =
                serde_json::to_value(&draft).expect("drafts serialize");
            let shown = draft.params.shown();
            assert_eq!(shown.contains_key("secure"), sent_secure);
            if sent_secure {
                assert_eq!(shown["secure"], "[redacted]");
                assert_eq!(wire["params"]["secure"], "[redacted]");
            }
        }
    }
});
