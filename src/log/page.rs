//! The postbacks log as an HTML page: filters, counts per error, and each
//! entry's message, reason and fix. Server-rendered, no script; every value
//! from a postback is escaped.

use super::{LogPage, LogQuery};
use crate::catalog::{BadRequest, Rejection};
use std::fmt::Write;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn opt(text: &Option<String>) -> String {
    text.as_deref().map(escape).unwrap_or_default()
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;\
text-align:left;vertical-align:top}th{background:#f5f5f5}.rejected{color:#a40000}.accepted{color:#0a6b2a}\
form{margin:1rem 0;display:flex;gap:.75rem;flex-wrap:wrap;align-items:end}label{display:flex;\
flex-direction:column;font-size:12px}code{font-size:12px;word-break:break-all}.counts td{padding-right:2rem}";

/// The page for `page` (already merged and limited), as filtered by
/// `query`; `since` is the filter as the operator typed it, `next` the
/// query string of the following page, if there is one.
pub fn render_page(
    page: &LogPage,
    query: &LogQuery,
    since: Option<&str>,
    next: Option<&str>,
) -> String {
    let mut html = String::with_capacity(8 * 1024 + page.entries.len() * 1024);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Postbacks log</title><style>{STYLE}</style></head><body>\
         <h1>Postbacks log</h1>"
    );

    // Filters: a plain GET form.
    let _ = write!(
        html,
        "<form method=\"get\" action=\"/logs/postbacks\">\
         <label>Campaign<input name=\"campaign_id\" value=\"{}\"></label>\
         <label>Code<select name=\"code\"><option value=\"\">any</option>",
        opt(&query.campaign_id)
    );
    let codes = std::iter::once("accepted")
        .chain(Rejection::ALL.iter().map(|r| r.code()))
        .chain(std::iter::once(BadRequest::CODE));
    for code in codes {
        let selected = if query.code.as_deref() == Some(code) {
            " selected"
        } else {
            ""
        };
        let _ = write!(html, "<option{selected}>{code}</option>");
    }
    let _ = write!(
        html,
        "</select></label>\
         <label>Since<input name=\"since\" placeholder=\"2026-11-24T00:00:00Z\" value=\"{}\"></label>\
         <label>Limit<input name=\"limit\" type=\"number\" min=\"1\" max=\"500\" value=\"{}\"></label>\
         <button type=\"submit\">Filter</button></form>",
        since.map(escape).unwrap_or_default(),
        query.limit
    );

    // Counts per result.
    let _ = write!(html, "<h2>Counts</h2><table class=\"counts\" id=\"counts\"><tr><th>Result</th><th>Postbacks</th></tr>");
    if page.counts.is_empty() {
        let _ = write!(html, "<tr><td colspan=\"2\">No postbacks match.</td></tr>");
    }
    for (code, n) in &page.counts {
        let mut link = format!("/logs/postbacks?code={}", escape(code));
        if let Some(c) = &query.campaign_id {
            let _ = write!(link, "&amp;campaign_id={}", escape(c));
        }
        let _ = write!(
            html,
            "<tr data-code=\"{code}\"><td><a href=\"{link}\">{code}</a></td><td>{n}</td></tr>",
            code = escape(code)
        );
    }
    let _ = write!(html, "</table>");

    // Entries.
    let _ = write!(
        html,
        "<h2>Postbacks</h2><table id=\"entries\"><tr><th>Time</th><th>Campaign</th><th>Click</th>\
         <th>Goal</th><th>Status</th><th>Result</th><th>What happened</th><th>Parameters</th></tr>"
    );
    if page.entries.is_empty() {
        let _ = write!(
            html,
            "<tr><td colspan=\"8\">No postbacks match these filters.</td></tr>"
        );
    }
    for e in &page.entries {
        let params: Vec<String> = e
            .params
            .iter()
            .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
            .collect();
        let outcome = match (&e.code, &e.message) {
            (Some(code), Some(message)) => format!(
                "<b>{}</b> <code>{}</code><br>Why: {}<br>Fix: {}",
                escape(message),
                escape(code),
                opt(&e.reason),
                opt(&e.fix)
            ),
            _ => format!("Conversion <code>{}</code>", opt(&e.conversion_id)),
        };
        let dry = if e.dry_run { " (dry run)" } else { "" };
        let _ = write!(
            html,
            "<tr class=\"entry {result}\" data-code=\"{code}\"><td>{time}</td><td>{campaign}</td>\
             <td><code>{click}</code></td><td>{goal}</td><td>{status}</td>\
             <td class=\"{result}\">{result}{dry}</td><td>{outcome}</td><td><code>{params}</code></td></tr>",
            result = escape(&e.result),
            code = escape(super::count_key(e)),
            time = escape(&e.time),
            campaign = opt(&e.campaign_id),
            click = opt(&e.click_id),
            goal = opt(&e.goal),
            status = opt(&e.status),
            params = params.join("<br>"),
        );
    }
    let _ = write!(html, "</table>");
    if let Some(next) = next {
        let _ = write!(
            html,
            "<p><a id=\"next\" href=\"/logs/postbacks?{}\">Older postbacks →</a></p>",
            escape(next)
        );
    }
    let _ = write!(html, "</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogDraft;
    use crate::params::Params;
    use crate::postback::Postback;

    #[test]
    fn renders_entries_counts_and_escapes_everything() {
        let postback = Postback::from_params(
            Params::from_query("click_id=%3Cscript%3Ealert(1)%3C/script%3E&goal=%22x").unwrap(),
        )
        .unwrap();
        let entry = LogDraft::from_postback(postback, true)
            .for_campaign("1001")
            .refused(&Rejection::GoalNotFound.into(), 1_790_000_000_000, 1)
            .with_texts();
        let page = LogPage {
            entries: vec![entry],
            counts: [("goal_not_found".to_owned(), 3)].into(),
        };
        let query = LogQuery {
            campaign_id: Some("<b>".into()),
            limit: 100,
            ..LogQuery::default()
        };
        let html = render_page(&page, &query, Some("\"><i>"), Some("before=1"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<b>\""), "filter values are escaped");
        assert!(!html.contains("<i>"));
        assert!(html.contains("Goal not found in campaign"));
        assert!(html.contains(Rejection::GoalNotFound.fix().split('<').next().unwrap()));
        assert!(html.contains("(dry run)"));
        assert!(html.contains("<td>3</td>"));
        assert!(html.contains("id=\"next\""));
    }

    #[test]
    fn empty_page_says_so() {
        let html = render_page(
            &LogPage::default(),
            &LogQuery {
                limit: 10,
                ..Default::default()
            },
            None,
            None,
        );
        assert!(html.contains("No postbacks match"));
        assert!(!html.contains("id=\"next\""));
    }
}
