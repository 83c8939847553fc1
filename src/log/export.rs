//! The log exported (`format=csv` or `format=ndjson`): every entry the
//! filters match, one line each, in a file a spreadsheet or a script
//! reads.

use super::LogEntry;
use crate::catalog::BadRequest;

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180, with a header row; `detail` and `params` as JSON.
    Csv,
    /// One JSON object a line, as the JSON API shows entries.
    Ndjson,
}

/// The CSV columns, in order: the JSON API's field names.
pub const COLUMNS: [&str; 20] = [
    "id",
    "time",
    "campaign_id",
    "click_id",
    "partner_id",
    "country",
    "goal",
    "status",
    "result",
    "code",
    "message",
    "reason",
    "fix",
    "detail",
    "conversion_id",
    "action_id",
    "payout",
    "source_ip",
    "dry_run",
    "params",
];

impl Format {
    /// The export a log request asks for (`format=`), if any; anything
    /// but `csv` or `ndjson` is a `BadRequest` naming it.
    pub fn from_params(params: &crate::params::Params) -> Result<Option<Format>, BadRequest> {
        match params.get("format").filter(|f| !f.is_empty()) {
            None => Ok(None),
            Some(f) => Format::parse(f)
                .map(Some)
                .ok_or_else(|| BadRequest::new("format", "must be csv or ndjson")),
        }
    }

    /// `format=`'s value; `None` for anything else.
    pub fn parse(value: &str) -> Option<Format> {
        match value {
            "csv" => Some(Format::Csv),
            "ndjson" => Some(Format::Ndjson),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    /// What the file starts with: CSV's header row.
    pub fn head(self) -> String {
        match self {
            Format::Csv => {
                let mut head = COLUMNS.join(",");
                head.push_str("\r\n");
                head
            }
            Format::Ndjson => String::new(),
        }
    }

    /// `entry`'s line, its end included.
    pub fn line(self, entry: &LogEntry) -> String {
        match self {
            Format::Ndjson => {
                // Strings, numbers and maps serialize without fail.
                let mut line = serde_json::to_string(entry).unwrap_or_default();
                line.push('\n');
                line
            }
            Format::Csv => {
                let e = entry;
                let cells: [Option<String>; 20] = [
                    Some(e.id.clone()),
                    Some(e.time.clone()),
                    e.postback.campaign_id.clone(),
                    e.postback.click_id.clone(),
                    e.postback.partner_id.clone(),
                    e.postback.country.clone(),
                    e.postback.goal.clone(),
                    e.postback.status.clone(),
                    Some(e.result.clone()),
                    e.code.clone(),
                    e.message.clone(),
                    e.reason.clone(),
                    e.fix.clone(),
                    e.detail.as_ref().map(json),
                    e.conversion_id.clone(),
                    e.postback.action_id.clone(),
                    e.postback.payout.clone(),
                    e.postback.source_ip.clone(),
                    Some(e.postback.dry_run.to_string()),
                    Some(json(&e.postback.params)),
                ];
                let mut line = String::new();
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    push_cell(&mut line, cell.as_deref().unwrap_or(""));
                }
                line.push_str("\r\n");
                line
            }
        }
    }

    /// The file's name: what, which campaign, when.
    pub fn file_name(self, campaign: Option<&str>, now_s: i64) -> String {
        let stamp: String = crate::time::format_rfc3339(now_s, None)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let extension = match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        };
        format!(
            "postbacks-{}-{stamp}.{extension}",
            campaign.unwrap_or("all")
        )
    }
}

/// A value as JSON text inside a CSV cell.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break
/// (quotes doubled). A value a spreadsheet would run as a formula (`=`,
/// `+`, `-`, `@`, tab, carriage return first) gets a leading `'`: the
/// log holds what any sender typed, and an operator opens it.
fn push_cell(line: &mut String, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = formula || value.contains([',', '"', '\n', '\r']);
    if quoted {
        line.push('"');
    }
    if formula {
        line.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            line.push('"');
        }
        line.push(c);
    }
    if quoted {
        line.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Rejection;
    use crate::log::LogDraft;
    use crate::params::Params;
    use crate::postback::Postback;

    fn entry(query: &str) -> LogEntry {
        let postback = Postback::from_params(Params::from_query(query).unwrap()).unwrap();
        LogDraft::from_postback(postback, false)
            .for_campaign("1001")
            .refused(Rejection::GoalNotFound.into(), 1_790_000_000_000, 1)
            .with_texts()
    }

    /// A CSV line split into cells as RFC 4180 reads it.
    fn cells(line: &str) -> Vec<String> {
        let mut cells = vec![String::new()];
        let mut quoted = false;
        let mut chars = line.trim_end_matches("\r\n").chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    cells.last_mut().unwrap().push('"');
                }
                ('"', _) => quoted = !quoted,
                (',', false) => cells.push(String::new()),
                (c, _) => cells.last_mut().unwrap().push(c),
            }
        }
        cells
    }

    #[test]
    fn csv_lines_have_every_column_quoted_as_needed() {
        let e = entry("click_id=a%2Cb%22c&goal=x%0Ay&comment=%3DHYPERLINK(1)");
        let line = Format::Csv.line(&e);
        let got = cells(&line);
        let head = Format::Csv.head();
        assert_eq!(got.len(), head.trim_end().split(',').count());
        assert_eq!(got[3], "a,b\"c");
        assert_eq!(got[6], "x\ny");
        assert_eq!(got[9], "goal_not_found");
        assert_eq!(got[10], Rejection::GoalNotFound.message());
        let params: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&got[19]).unwrap();
        assert_eq!(
            params["comment"], "=HYPERLINK(1)",
            "the JSON keeps the value"
        );
        let mut formula = String::new();
        push_cell(&mut formula, "=1+1");
        assert_eq!(formula, "\"'=1+1\"");
        assert!(head.starts_with("id,time,campaign_id,click_id,"));
    }

    #[test]
    fn ndjson_lines_are_the_json_entries() {
        let e = entry("click_id=a&goal=x");
        let line = Format::Ndjson.line(&e);
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let back: LogEntry = serde_json::from_str(&line).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn formats_and_file_names() {
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse("CSV"), None);
        let asked = |q: &str| Format::from_params(&Params::from_query(q).unwrap());
        assert_eq!(asked("format=ndjson"), Ok(Some(Format::Ndjson)));
        assert_eq!(asked("format="), Ok(None));
        assert_eq!(asked("limit=3"), Ok(None));
        assert_eq!(asked("format=xlsx").unwrap_err().parameter(), "format");
        assert_eq!(
            Format::Csv.file_name(Some("1001"), 1_790_000_000),
            "postbacks-1001-20260921T141320Z.csv"
        );
        assert!(Format::Ndjson
            .file_name(None, 0)
            .starts_with("postbacks-all-"));
    }
}
