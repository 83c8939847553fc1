//! Request parsing: a query, a form body or a JSON body (the first byte
//! picks), then the typed postback and a log query. Never a panic; what is
//! read respects the limits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use postback_edge::log::LogQuery;
use postback_edge::params::{BodyKind, Params, MAX_NAME_BYTES, MAX_PARAMS};
use postback_edge::postback::Postback;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
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
        for (name, _) in params.iter() {
            assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES);
        }
        let _ = LogQuery::from_params(&params);
        if let Ok(postback) = Postback::from_params(params) {
            // `secure` never survives into what the log shows.
            for (name, value) in postback.redacted_params() {
                if name == "secure" {
                    assert_eq!(value, "[redacted]");
                }
            }
        }
    }
});
