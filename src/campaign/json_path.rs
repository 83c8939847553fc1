//! The path (`caps[0].period`) of the place in a JSON text where serde_json
//! stopped with an error, from the line and column it reports.
//!
//! serde_path_to_error does this by wrapping every visitor of the config
//! types, which cost 0.04× of the wasm (its gzip included) for an answer
//! only an operator's bad config needs. serde_json has read the text up to
//! the error, so a scan of that much JSON rebuilds the path; the tests hold
//! it to serde_path_to_error's answer.

/// The path at serde_json's error position (1-based line, column in bytes
/// of the last byte read); empty for the top level.
pub(super) fn path_of(json: &str, error: &serde_json::Error) -> String {
    let eof = error.classify() == serde_json::error::Category::Eof;
    // `{"sleeping": …}` where an enum is expected: the key read last names
    // a variant, not a field.
    let variant_key = error.to_string().starts_with("unknown variant");
    path_at(json, error.line(), error.column(), eof, variant_key)
}

fn path_at(json: &str, line: usize, column: usize, eof: bool, variant_key: bool) -> String {
    let line_start = if line <= 1 {
        0
    } else {
        json.bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'\n')
            .nth(line - 2)
            .map_or(json.len(), |(i, _)| i + 1)
    };
    let mut end = (line_start + column).min(json.len());
    // A value of the wrong kind that opens an object or array is refused
    // on sight: the position then counts the `{` or `[` serde only peeked.
    if !eof && end > 0 && matches!(json.as_bytes()[end - 1], b'{' | b'[') {
        end -= 1;
    }
    scan(json, end, eof, variant_key)
}

enum Frame<'a> {
    /// In an object: the key of the member being read, once read.
    Object(Option<&'a str>),
    /// In an array: the index of the element being read.
    Array(usize),
}

/// The path of the value being read once `end` bytes are consumed. When
/// the last thing read closed an object or array (serde reports a missing
/// field there), the path is that container's. When the text ended early,
/// it is the innermost container still open, which expected more.
fn scan(json: &str, end: usize, eof: bool, variant_key: bool) -> String {
    let bytes = &json.as_bytes()[..end];
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut closed: Option<String> = None;
    let mut last_was_key = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if !byte.is_ascii_whitespace() {
            closed = None;
            last_was_key = false;
        }
        match byte {
            b'{' => stack.push(Frame::Object(None)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
                closed = Some(render(&stack));
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object(key)) => *key = None,
                Some(Frame::Array(index)) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object(key @ None)) = stack.last_mut() {
                    *key = json.get(start..i.min(bytes.len()));
                    last_was_key = true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if eof {
        return render(&stack[..stack.len().saturating_sub(1)]);
    }
    if variant_key && last_was_key {
        stack.pop();
    }
    closed.unwrap_or_else(|| render(&stack))
}

fn render(stack: &[Frame<'_>]) -> String {
    let mut path = String::new();
    for frame in stack {
        match frame {
            Frame::Object(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object(None) => {}
            Frame::Array(index) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        id: String,
        #[serde(default)]
        list: Vec<Inner>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        kind: Option<Kind>,
        #[serde(default)]
        count: Option<u32>,
        #[serde(default)]
        any: Option<Value>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
        #[serde(default)]
        deep: Vec<Vec<u8>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Day,
    }

    /// Our path and serde_path_to_error's for a text serde refuses.
    fn both(json: &str) -> (String, String) {
        let plain = match serde_json::from_str::<Outer>(json) {
            Ok(_) => panic!("accepted: {json}"),
            Err(e) => super::path_of(json, &e),
        };
        let de = &mut serde_json::Deserializer::from_str(json);
        let reference = match serde_path_to_error::deserialize::<_, Outer>(de) {
            Ok(_) => unreachable!(),
            Err(e) => e.path().to_string(),
        };
        let reference = if reference == "." {
            String::new()
        } else {
            reference
        };
        (plain, reference)
    }

    #[test]
    fn paths_match_serde_path_to_error() {
        let cases = [
            (r#"{"id":"1","colour":"red"}"#, "colour"),
            (r#"{"id":"1","kind":"year"}"#, "kind"),
            (r#"{"id":"1","count":-1}"#, "count"),
            (r#"{"id":"1","count":"7"}"#, "count"),
            (r#"{"list":[]}"#, ""),
            (r#"{"id":"1","list":[{"name":"a"},{"x":1}]}"#, "list[1].x"),
            (r#"{"id":"1","list":[{"name":"a"},{}]}"#, "list[1]"),
            (
                r#"{"id":"1","list":[{"name":"a","deep":[[1],[2,300]]}]}"#,
                "list[0].deep[1][1]",
            ),
            (r#"{"id":"1","tags":["a",2]}"#, "tags[1]"),
            (r#"{"id":"1","any":{"a":[1,{"b":2}]},"count":1.5}"#, "count"),
            (r#"{"id":"1","any":"a,b]}{\"c","colour":1}"#, "colour"),
            (
                "{\n  \"id\": \"1\",\n  \"list\": [\n    {\"name\": 5}\n  ]\n}",
                "list[0].name",
            ),
            (
                r#"{"id":"é€","list":[{"name":"ü","deep":"x"}]}"#,
                "list[0].deep",
            ),
            (r#"{"id":"1","list":[{"name":"a"}"#, "list"),
            (r#"{"id":"1","tags":["a",]}"#, "tags"),
            (r#"{"id":"1","tags":["a","#, "tags"),
        ];
        for (json, expected) in cases {
            let (ours, reference) = both(json);
            assert_eq!(ours, reference, "{json}");
            assert_eq!(ours, expected, "{json}");
        }
    }
}
