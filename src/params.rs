//! Reads a postback's raw parameters from a query string, a form body or a
//! JSON body into one list of name/value pairs, enforcing SPEC §4's limits.
//!
//! This layer knows nothing of what a parameter means except its names:
//! `clickid` is `click_id`, and for postbacks the other trackers' names of
//! [`aliases`] (`transaction_id`, `payout`…) and the deployment's own.
//! Every pair keeps the name it was sent under beside the name it is read
//! as, so what the sender wrote can be shown and named back. Anything it
//! cannot read is a [`BadRequest`] naming the parameter as sent; it never
//! panics, whatever the bytes.

pub mod aliases;

use crate::catalog::BadRequest;
pub use aliases::Aliases;
use percent_encoding::percent_decode;

/// Longest query string a postback may carry.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Longest body a `POST /postback` may carry.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most distinct parameters one postback may carry.
pub const MAX_PARAMS: usize = 100;
/// Longest parameter name.
pub const MAX_NAME_BYTES: usize = 64;

/// The body encodings `POST /postback` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Form,
    Json,
}

impl BodyKind {
    /// The body kind for a `Content-Type` header value, parameters such as
    /// `charset` ignored. `None` for any other media type.
    pub fn from_content_type(content_type: &str) -> Option<BodyKind> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            Some(BodyKind::Form)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(BodyKind::Json)
        } else {
            None
        }
    }
}

/// A postback's parameters, by canonical name, in the order first received.
/// A name appears once: a repeat with the same value is folded, a repeat
/// with another value is refused — and so is a second name of the same
/// parameter (`click_id` and `transaction_id`) with another value.
///
/// Every name and value lives in one buffer, so reading a postback costs
/// two allocations, not two per parameter: a pair keeps the name as sent,
/// and the name it is read as is one of ours, a `&'static str`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// Every name (as sent) and value, decoded, back to back.
    text: String,
    pairs: Vec<Pair>,
}

/// One pair as received: where its name starts, where its value starts
/// (the name's end), where its value ends, and how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pair {
    start: u32,
    value: u32,
    end: u32,
    read_as: ReadAs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadAs {
    /// By the name it was sent under: one of ours, or one we do not know.
    Sent,
    /// An alias of this name of ours.
    Alias(&'static str),
    /// Another name of a parameter given earlier with the same value: one
    /// parameter, so it is read once, and shown as it was received.
    Repeat,
}

impl Params {
    /// Parameters of a query string (without the leading `?`), read with
    /// our own names only: for the requests that are not postbacks.
    pub fn from_query(query: &str) -> Result<Params, BadRequest> {
        Params::from_query_with(query, &Aliases::OURS)
    }

    /// Parameters of a query string (without the leading `?`), each name
    /// read through `aliases`.
    pub fn from_query_with(query: &str, aliases: &Aliases) -> Result<Params, BadRequest> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(BadRequest::new(
                "query",
                format!("is longer than {MAX_QUERY_BYTES} bytes"),
            ));
        }
        let mut params = Params {
            text: String::with_capacity(query.len()),
            pairs: Vec::with_capacity(8),
        };
        params.add_urlencoded(query.as_bytes(), aliases)?;
        Ok(params)
    }

    /// Parameters of a `POST` request, read with our own names only (see
    /// [`Params::from_post_with`]).
    pub fn from_post(query: &str, kind: BodyKind, body: &[u8]) -> Result<Params, BadRequest> {
        Params::from_post_with(query, kind, body, &Aliases::OURS)
    }

    /// Parameters of a `POST` request: its query string and its body, read
    /// as one set (a name sent in both must carry the same value in both),
    /// each name through `aliases`.
    pub fn from_post_with(
        query: &str,
        kind: BodyKind,
        body: &[u8],
        aliases: &Aliases,
    ) -> Result<Params, BadRequest> {
        if body.len() > MAX_BODY_BYTES {
            return Err(BadRequest::new(
                "body",
                format!("is longer than {MAX_BODY_BYTES} bytes"),
            ));
        }
        let mut params = Params::from_query_with(query, aliases)?;
        match kind {
            BodyKind::Form => params.add_urlencoded(body, aliases)?,
            BodyKind::Json => params.add_json(body, aliases)?,
        }
        Ok(params)
    }

    /// The value of a parameter by canonical name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_as_sent(name).map(|(_, value)| value)
    }

    /// The value of a parameter by canonical name, with the name it was
    /// sent under (`amount` for `sum`): what a refusal names.
    pub fn get_as_sent(&self, name: &str) -> Option<(&str, &str)> {
        // Names compared as bytes: only the pair found is sliced as text.
        let text = self.text.as_bytes();
        self.pairs
            .iter()
            .find(|pair| match pair.read_as {
                ReadAs::Sent => {
                    text.get(pair.start as usize..pair.value as usize) == Some(name.as_bytes())
                }
                ReadAs::Alias(ours) => ours == name,
                ReadAs::Repeat => false,
            })
            .map(|pair| (self.sent_name(pair), self.value(pair)))
    }

    /// Every parameter, canonical names, in the order received; a second
    /// name of one parameter (same value) is not repeated.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .filter_map(|pair| self.reads_as(pair).map(|name| (name, self.value(pair))))
    }

    /// Every pair as the sender wrote it, in the order received: the names
    /// as sent (`clickid`, `payout`), a second name of one parameter
    /// included; a name repeated with its value is shown once.
    pub fn received(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|pair| (self.sent_name(pair), self.value(pair)))
    }

    /// How many pairs are kept (at most [`MAX_PARAMS`]), as
    /// [`Params::received`] shows them.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Adds a pair as it is, with none of the checks of a request: for
    /// parameters that were read before (a log entry coming back).
    pub fn push_unchecked(&mut self, name: &str, value: &str) {
        let start = self.offset();
        self.text.push_str(name);
        let middle = self.offset();
        self.text.push_str(value);
        let end = self.offset();
        self.pairs.push(Pair {
            start,
            value: middle,
            end,
            read_as: ReadAs::Sent,
        });
    }

    fn sent_name(&self, pair: &Pair) -> &str {
        self.text
            .get(pair.start as usize..pair.value as usize)
            .unwrap_or_default()
    }

    fn value(&self, pair: &Pair) -> &str {
        self.text
            .get(pair.value as usize..pair.end as usize)
            .unwrap_or_default()
    }

    /// The name a pair is read as; `None` for a repeat, read already.
    fn reads_as<'a>(&'a self, pair: &Pair) -> Option<&'a str> {
        match pair.read_as {
            ReadAs::Sent => Some(self.sent_name(pair)),
            ReadAs::Alias(ours) => Some(ours),
            ReadAs::Repeat => None,
        }
    }

    /// The buffer's length as an offset: at most a body plus a query, far
    /// below `u32::MAX`.
    fn offset(&self) -> u32 {
        u32::try_from(self.text.len()).unwrap_or(u32::MAX)
    }

    fn add_urlencoded(&mut self, input: &[u8], aliases: &Aliases) -> Result<(), BadRequest> {
        for piece in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = match piece.iter().position(|&b| b == b'=') {
                Some(eq) => (&piece[..eq], &piece[eq + 1..]),
                None => (piece, &b""[..]),
            };
            let start = self.text.len();
            decode_into(raw_name, &mut self.text).map_err(|problem| {
                let shown: String = String::from_utf8_lossy(raw_name).chars().take(24).collect();
                BadRequest::new(shown, problem)
            })?;
            let middle = self.text.len();
            decode_into(raw_value, &mut self.text).map_err(|problem| {
                BadRequest::new(self.text.get(start..middle).unwrap_or_default(), problem)
            })?;
            self.commit(start, middle, aliases)?;
        }
        Ok(())
    }

    /// Reads a JSON object's members one by one as they are parsed, so a
    /// name given twice meets the same check as in a query (serde_json's
    /// own `Value` would keep the last silently).
    fn add_json(&mut self, body: &[u8], aliases: &Aliases) -> Result<(), BadRequest> {
        let mut reader = JsonObject {
            params: self,
            aliases,
            refused: None,
        };
        // Read as text: JSON is UTF-8, and every other JSON the wasm reads
        // is text, so one reader's code serves all.
        let text = std::str::from_utf8(body)
            .map_err(|_| BadRequest::new("body", "is not valid JSON (it is not UTF-8)"))?;
        let mut de = serde_json::Deserializer::from_str(text);
        let read =
            serde::Deserializer::deserialize_any(&mut de, &mut reader).and_then(|()| de.end());
        match (reader.refused, read) {
            (Some(bad), _) => Err(bad),
            (None, Ok(())) => Ok(()),
            (None, Err(e)) => Err(BadRequest::new("body", format!("is not valid JSON ({e})"))),
        }
    }

    /// Keeps the pair just written at the buffer's end (name from `start`,
    /// value from `middle`), after the checks of SPEC §4: a name, not too
    /// long, not given twice with different values under any of its names,
    /// not one too many. A repeat of a pair is dropped; the same value
    /// under a second name is kept as a repeat, for [`Params::received`].
    fn commit(&mut self, start: usize, middle: usize, aliases: &Aliases) -> Result<(), BadRequest> {
        let name = self.text.get(start..middle).unwrap_or_default();
        if name.is_empty() {
            return Err(BadRequest::new("(empty name)", "has no name"));
        }
        if name.len() > MAX_NAME_BYTES {
            let shown: String = name.chars().take(24).collect();
            return Err(BadRequest::new(
                format!("{shown}…"),
                format!("has a name longer than {MAX_NAME_BYTES} bytes"),
            ));
        }
        let alias = aliases.canonical(name);
        let canonical = alias.unwrap_or(name);
        let value = self.text.get(middle..).unwrap_or_default();
        let read_as = match self.get_as_sent(canonical) {
            Some((earlier, existing)) if existing != value => {
                return Err(conflict(canonical, earlier, name));
            }
            Some(_) => {
                let seen = self.pairs.iter().any(|pair| self.sent_name(pair) == name);
                if seen {
                    self.text.truncate(start);
                    return Ok(());
                }
                ReadAs::Repeat
            }
            None => alias.map_or(ReadAs::Sent, ReadAs::Alias),
        };
        if self.pairs.len() >= MAX_PARAMS {
            return Err(BadRequest::new(
                name,
                format!("is one parameter too many: at most {MAX_PARAMS} are read"),
            ));
        }
        let end = self.offset();
        let offset = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
        self.pairs.push(Pair {
            start: offset(start),
            value: offset(middle),
            end,
            read_as,
        });
        Ok(())
    }
}

/// The refusal of two names of the parameter `ours` with different values:
/// it names the one given first as sent, and its problem the other.
fn conflict(ours: &str, first: &str, second: &str) -> BadRequest {
    let problem = if first == second {
        "is given more than once with different values".to_owned()
    } else if first == ours {
        format!(
            "is also given as `{second}` (read as `{ours}`) with another value: \
             send only one of the two"
        )
    } else if second == ours {
        format!(
            "is read as `{ours}`, which this postback also gives, with another value: \
             send only one of the two"
        )
    } else {
        format!(
            "is read as `{ours}`, as `{second}` is, and the two carry different values: \
             send only one of them"
        )
    };
    BadRequest::new(first, problem)
}

/// Reads a JSON body's members into [`Params`]: strings, numbers, booleans
/// and null (empty) are values; anything else, or a refused member, stops
/// the parse with the reason kept in `refused`.
struct JsonObject<'a> {
    params: &'a mut Params,
    aliases: &'a Aliases,
    refused: Option<BadRequest>,
}

impl<'de> serde::de::Visitor<'de> for &mut JsonObject<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error;
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value: serde_json::Value = map.next_value()?;
            let params = &mut *self.params;
            let start = params.text.len();
            params.text.push_str(&name);
            let middle = params.text.len();
            match value {
                serde_json::Value::String(s) => params.text.push_str(&s),
                serde_json::Value::Number(n) => params.text.push_str(&n.to_string()),
                serde_json::Value::Bool(b) => {
                    params.text.push_str(if b { "true" } else { "false" })
                }
                serde_json::Value::Null => {}
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    self.refused = Some(BadRequest::new(
                        &*name,
                        "must be a string or a number, not an array or object",
                    ));
                    return Err(A::Error::custom("refused"));
                }
            }
            if let Err(bad) = params.commit(start, middle, self.aliases) {
                self.refused = Some(bad);
                return Err(A::Error::custom("refused"));
            }
        }
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.not_an_object()
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object()
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object()
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object()
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object()
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object()
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_object()
    }
}

impl JsonObject<'_> {
    fn not_an_object<E: serde::de::Error>(&mut self) -> Result<(), E> {
        self.refused = Some(BadRequest::new("body", "is JSON but not an object"));
        Err(E::custom("not an object"))
    }
}

/// Decodes one `application/x-www-form-urlencoded` component onto `out`:
/// `+` is a space, `%XX` a byte, and the result must be UTF-8. A `%` not
/// followed by two hex digits is refused rather than passed through, so
/// that a mangled click id is reported as such instead of failing its
/// signature. On error, `out` may hold part of the component.
fn decode_into(raw: &[u8], out: &mut String) -> Result<(), &'static str> {
    const NOT_UTF8: &str = "is not valid UTF-8 once percent-decoded";
    // Most names and values need no decoding: one copy, no rebuild.
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        out.push_str(std::str::from_utf8(raw).map_err(|_| NOT_UTF8)?);
        return Ok(());
    }
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let valid = raw.len() > i + 2
                && raw[i + 1].is_ascii_hexdigit()
                && raw[i + 2].is_ascii_hexdigit();
            if !valid {
                return Err("has invalid percent-encoding");
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let decoded = percent_decode(&plus_as_space)
        .decode_utf8()
        .map_err(|_| NOT_UTF8)?;
    out.push_str(&decoded);
    Ok(())
}

#[cfg(test)]
mod tests;
