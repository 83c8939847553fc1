//! Redacting the secure code (SPEC §7): by the name it is sent under,
//! however spelled or encoded, and, once the campaign is known, by its
//! value wherever it appears. The log, the deliveries and the answers'
//! echoes of a request all go through here.

/// `text` with the campaign's secure code hidden as the log hides it, or
/// `None` when it shows none of it: for what leaves through other ways
/// than the log (the fields a delivery carries).
pub fn redact_text(secure_code: Option<&str>, text: &str) -> Option<String> {
    secure_code.and_then(|code| hidden(code, text, true))
}

/// What the log shows instead of a secret.
pub const REDACTED: &str = "[redacted]";
/// The shortest secure code also redacted inside longer values: a shorter
/// one would redact ordinary text.
pub const MIN_CODE_IN_VALUE: usize = 4;

/// Whether a parameter name stands for the secure code, however it is
/// spelled or encoded: percent-decoded (twice over, for a doubly encoded
/// name), in any case, with anything but letters and digits ignored, it
/// contains `secure` (`SECURE`, `%73ecure`, `secure%00`, `secure[]`,
/// `secure_code`). Redacting a name that only looks like it costs a log
/// value; missing one leaks the code.
pub fn is_secure_name(name: &str) -> bool {
    if spells_secure(name) {
        return true;
    }
    // Decoding can only change the letters and digits of a name that
    // holds an escape (`+` decodes to a space, which is neither).
    if !name.contains('%') {
        return false;
    }
    let once = lossy_decode(name);
    spells_secure(&once) || (once.contains('%') && spells_secure(&lossy_decode(&once)))
}

/// Whether the letters and digits of `text`, lowercased, contain `secure`.
fn spells_secure(text: &str) -> bool {
    let letters: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    letters.contains("secure")
}

/// Percent-decodes what it can (`+` as a space), keeping invalid escapes
/// and bytes as they are: for reading what a sender meant, never for
/// parsing.
fn lossy_decode(text: &str) -> String {
    let plus_as_space = text.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
}

/// `text` with the secure code `code` hidden, or `None` if it shows none
/// of it: a text that equals the code (as sent or percent-decoded) when
/// `whole` is allowed, and any occurrence of a code of
/// [`MIN_CODE_IN_VALUE`] characters or more. Equality is tested in
/// constant time; the rest runs after the code matched nothing whole.
pub fn hidden(code: &str, text: &str, whole: bool) -> Option<String> {
    if code.is_empty() {
        return None;
    }
    let decoded = lossy_decode(text);
    if whole && (crate::secret::equal(code, text) || crate::secret::equal(code, &decoded)) {
        return Some(REDACTED.to_owned());
    }
    if code.len() >= MIN_CODE_IN_VALUE && (text.contains(code) || decoded.contains(code)) {
        let base = if text.contains(code) { text } else { &decoded };
        return Some(base.replace(code, REDACTED));
    }
    None
}
