//! The postbacks log as an HTML page: filters for everything the API
//! filters, a chart of postbacks over time by result, counts per result as
//! links, and each entry's message with its reason, fix and detail folded
//! into `<details>`. Server-rendered, no script; every value from a
//! postback is escaped.

use super::{Hours, LogPage, LogQuery, HOUR_MS};
use crate::catalog::{BadRequest, Rejection};
use crate::params::Params;
use crate::timezone::Timezone;
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
flex-direction:column;font-size:12px}code{font-size:12px;word-break:break-all}\
.strip a{display:inline-block;margin:0 .4rem .4rem 0;padding:.15rem .5rem;border:1px solid #ccc;\
border-radius:1rem;text-decoration:none;color:inherit}.strip b{margin-left:.3rem}\
summary{cursor:pointer}svg{max-width:100%;height:auto}.error{color:#a40000}";

/// The filters the page's form offers, as (parameter, label, placeholder).
const FILTERS: [(&str, &str, &str); 8] = [
    ("campaign_id", "Campaign", ""),
    ("click_id", "Click", ""),
    ("action_id", "Action", ""),
    ("conversion_id", "Conversion", ""),
    ("partner_id", "Partner", ""),
    ("since", "Since", "2026-11-24T00:00:00Z"),
    ("until", "Until", "2026-11-25T00:00:00Z"),
    ("local_time", "Local time", "Europe/Berlin"),
];

fn head(html: &mut String) {
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Postbacks log</title><style>{STYLE}</style></head><body>\
         <h1>Postbacks log</h1>"
    );
}

/// A page that says what went wrong with the request (`body`: the JSON
/// error a JSON client would have had), so a browser shows the text.
pub fn render_error_page(body: &str) -> String {
    let error: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let error = &error["error"];
    let text = |name: &str| error[name].as_str().map(escape).unwrap_or_default();
    let mut html = String::new();
    head(&mut html);
    let _ = write!(
        html,
        "<p class=\"error\" id=\"error\"><b>{}</b> <code>{}</code></p><p>{}</p>\
         <p><a href=\"/logs/postbacks\">Back to the log</a></p></body></html>",
        text("message"),
        text("code"),
        text("fix"),
    );
    html
}

/// The page for `page` (already merged and limited), as filtered by
/// `query`; `typed` are the filters as the reader typed them, `zone` the
/// one times show in (`local_zone`; UTC without one), `next` the query
/// string of the following page, if there is one.
pub fn render_page(
    page: &LogPage,
    query: &LogQuery,
    typed: &Params,
    zone: Option<&Timezone>,
    next: Option<&str>,
) -> String {
    let mut html = String::with_capacity(8 * 1024 + page.entries.len() * 1024);
    head(&mut html);

    // Filters: a plain GET form.
    let _ = write!(html, "<form method=\"get\" action=\"/logs/postbacks\">");
    for (name, label, placeholder) in FILTERS {
        let _ = write!(
            html,
            "<label>{label}<input name=\"{name}\" placeholder=\"{placeholder}\" value=\"{}\"></label>",
            escape(typed.get(name).unwrap_or(""))
        );
    }
    let _ = write!(
        html,
        "<label>Code<select name=\"code\"><option value=\"\">any</option>"
    );
    let codes = std::iter::once("accepted")
        .chain(Rejection::ALL.iter().map(|r| r.code()))
        .chain([BadRequest::CODE, super::DRY_RUN]);
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
         <label>Limit<input name=\"limit\" type=\"number\" min=\"1\" max=\"500\" value=\"{}\"></label>\
         <button type=\"submit\">Filter</button></form>",
        query.limit
    );

    chart(&mut html, &page.hours);

    // Counts per result, each a link to its entries.
    let _ = write!(html, "<p class=\"strip\" id=\"counts\">");
    if page.counts.is_empty() {
        let _ = write!(html, "No postbacks match.");
    }
    let kept: String = FILTERS[..5]
        .iter()
        .filter_map(|(name, _, _)| Some((name, typed.get(name).filter(|v| !v.is_empty())?)))
        .map(|(name, value)| format!("&amp;{name}={}", escape(&encode(value))))
        .collect();
    for (code, n) in &page.counts {
        let _ = write!(
            html,
            "<a data-code=\"{code}\" href=\"/logs/postbacks?code={code}{kept}\">{code} <b>{n}</b></a>",
            code = escape(code)
        );
    }
    let _ = write!(html, "</p>");

    // Entries.
    let _ = write!(
        html,
        "<h2>Postbacks</h2><table id=\"entries\"><tr><th>Time</th><th>Campaign</th><th>Click</th>\
         <th>Partner</th><th>Goal</th><th>Status</th><th>Result</th><th>What happened</th><th>Parameters</th></tr>"
    );
    if page.entries.is_empty() {
        let _ = write!(
            html,
            "<tr><td colspan=\"9\">No postbacks match these filters.</td></tr>"
        );
    }
    for e in &page.entries {
        let params: Vec<String> = e
            .postback
            .params
            .shown()
            .iter()
            .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
            .collect();
        let outcome = match (&e.code, &e.message) {
            (Some(code), Some(message)) => {
                let detail = e
                    .detail
                    .as_ref()
                    .map(|d| format!("<br>Detail: <code>{}</code>", escape(&d.to_string())))
                    .unwrap_or_default();
                format!(
                    "<details><summary><b>{}</b> <code>{}</code></summary>\
                     Why: {}<br>Fix: {}{detail}</details>",
                    escape(message),
                    escape(code),
                    opt(&e.reason),
                    opt(&e.fix)
                )
            }
            _ => format!(
                "Conversion <code>{}</code>{}",
                opt(&e.conversion_id),
                e.postback
                    .payout
                    .as_deref()
                    .map(|p| format!(", payout {}", escape(p)))
                    .unwrap_or_default()
            ),
        };
        let dry = if e.postback.dry_run { " (dry run)" } else { "" };
        let _ = write!(
            html,
            "<tr class=\"entry {result}\" data-code=\"{code}\"><td>{time}</td><td>{campaign}</td>\
             <td><code>{click}</code></td><td>{partner}</td><td>{goal}</td><td>{status}</td>\
             <td class=\"{result}\">{result}{dry}</td><td>{outcome}</td><td><code>{params}</code></td></tr>",
            result = escape(&e.result),
            code = escape(e.count_key()),
            time = escape(&shown_time(&e.id, &e.time, zone)),
            campaign = opt(&e.postback.campaign_id),
            click = opt(&e.postback.click_id),
            partner = opt(&e.postback.partner_id),
            goal = opt(&e.postback.goal),
            status = opt(&e.postback.status),
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

/// The zone a reader asked to see times in (`local_time=`, an IANA name),
/// if any; an unknown zone is a `BadRequest` naming it.
pub fn local_zone(typed: &Params) -> Result<Option<Timezone>, BadRequest> {
    match typed.get("local_time").filter(|z| !z.is_empty()) {
        None => Ok(None),
        Some(name) => Timezone::parse(name).map(Some).ok_or_else(|| {
            BadRequest::new(
                "local_time",
                "must be an IANA timezone such as Europe/Berlin",
            )
        }),
    }
}

/// An entry's time as shown: in `zone` with its offset, or as stored (UTC).
fn shown_time(id: &str, stored: &str, zone: Option<&Timezone>) -> String {
    match zone {
        Some(zone) => {
            let seconds = i64::try_from(super::id::id_millis(id) / 1000).unwrap_or(0);
            crate::time::format_rfc3339_offset(seconds, zone.offset_at(seconds))
        }
        None => stored.to_owned(),
    }
}

/// The most bars the chart draws: past two days of hours, it draws days.
const MAX_HOURLY_BARS: u64 = 48;
const CHART_WIDTH: u64 = 720;
const CHART_HEIGHT: u64 = 120;

/// The chart of postbacks over time by result: one stacked bar per hour
/// (per day past two days), accepted below, rejected above, empty hours
/// drawn empty so time reads left to right. SVG, no script; each bar says
/// its numbers in `data-` attributes and a tooltip.
fn chart(html: &mut String, hours: &Hours) {
    let (Some((&first, _)), Some((&last, _))) = (hours.first_key_value(), hours.last_key_value())
    else {
        return;
    };
    let hourly = (last - first) / HOUR_MS < MAX_HOURLY_BARS;
    let step = if hourly { HOUR_MS } else { 24 * HOUR_MS };
    let start = first - first % step;
    let count = (last - start) / step + 1;
    let mut bars = vec![[0u64; 2]; count as usize];
    for (&hour, &[accepted, rejected]) in hours {
        let bar = &mut bars[((hour - start) / step) as usize];
        bar[0] += accepted;
        bar[1] += rejected;
    }
    let top = bars.iter().map(|[a, r]| a + r).max().unwrap_or(0).max(1);
    // A bar is at most 48 px wide, so a few bars do not read as a wall.
    let width = (CHART_WIDTH / count).clamp(2, 48);
    let label = |at: u64| {
        let text = super::format_millis(at);
        if hourly {
            text[..16].replace('T', " ")
        } else {
            text[..10].to_owned()
        }
    };
    let (w, base) = ((width * count).max(240), CHART_HEIGHT + 14);
    let _ = write!(
        html,
        "<h2>Postbacks per {unit} (UTC)</h2><svg id=\"chart\" role=\"img\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"10\">\
         <text x=\"0\" y=\"10\">{top}</text><text x=\"0\" y=\"{h}\">{first}</text>\
         <text x=\"{w}\" y=\"{h}\" text-anchor=\"end\">{last}</text>",
        unit = if hourly { "hour" } else { "day" },
        h = base + 14,
        first = label(start),
        last = if count > 1 {
            label(start + (count - 1) * step)
        } else {
            String::new()
        },
    );
    for (i, [accepted, rejected]) in bars.iter().enumerate() {
        let at = label(start + i as u64 * step);
        let x = i as u64 * width;
        let h_ok = accepted * CHART_HEIGHT / top;
        let h_bad = rejected * CHART_HEIGHT / top;
        let _ = write!(
            html,
            "<g class=\"bar\" data-start=\"{at}\" data-accepted=\"{accepted}\" data-rejected=\"{rejected}\">\
             <title>{at}: {accepted} accepted, {rejected} rejected</title>\
             <rect x=\"{x}\" y=\"{y_ok}\" width=\"{bw}\" height=\"{h_ok}\" fill=\"#0a6b2a\"/>\
             <rect x=\"{x}\" y=\"{y_bad}\" width=\"{bw}\" height=\"{h_bad}\" fill=\"#a40000\"/></g>",
            y_ok = base - h_ok,
            y_bad = base - h_ok - h_bad,
            bw = width.saturating_sub(1).max(1),
        );
    }
    let _ = write!(html, "</svg>");
}

fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogDraft;
    use crate::postback::Postback;

    fn goal_not_found(at_ms: u64) -> crate::log::LogEntry {
        let postback = Postback::from_params(
            Params::from_query("click_id=%3Cscript%3Ealert(1)%3C/script%3E&goal=%22x").unwrap(),
        )
        .unwrap();
        LogDraft::from_postback(postback, true)
            .for_campaign("1001")
            .refused(Rejection::GoalNotFound.into(), at_ms, 1)
            .with_texts()
    }

    fn query(limit: u32) -> LogQuery {
        LogQuery {
            limit,
            ..LogQuery::default()
        }
    }

    /// The `data-` numbers of the chart's bars: (start, accepted, rejected).
    fn bars(html: &str) -> Vec<(String, u64, u64)> {
        html.split("<g class=\"bar\" ")
            .skip(1)
            .map(|bar| {
                let attr = |name: &str| {
                    let from = bar.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                    bar[from..].split('"').next().unwrap().to_owned()
                };
                (
                    attr("data-start"),
                    attr("data-accepted").parse().unwrap(),
                    attr("data-rejected").parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn renders_entries_counts_and_escapes_everything() {
        let page = LogPage {
            entries: vec![goal_not_found(1_790_000_000_000)],
            counts: [("goal_not_found".to_owned(), 3)].into(),
            hours: [(1_789_999_200_000, [0, 3])].into(),
            cut: None,
        };
        let typed = Params::from_query("campaign_id=%3Cb%3E&since=%22%3E%3Ci%3E").unwrap();
        let html = render_page(&page, &query(100), &typed, None, Some("before=1"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<b>\""), "filter values are escaped");
        assert!(!html.contains("<i>"));
        assert!(html.contains("<details><summary><b>Goal not found in campaign</b>"));
        assert!(html.contains(Rejection::GoalNotFound.fix().split('<').next().unwrap()));
        assert!(html.contains("(dry run)"));
        assert!(html.contains("goal_not_found <b>3</b>"));
        assert!(
            html.contains("&amp;campaign_id=%3Cb%3E"),
            "count links keep the filters"
        );
        assert!(html.contains("id=\"next\""));
        for (name, _, _) in FILTERS {
            assert!(html.contains(&format!("name=\"{name}\"")), "{name}");
        }
    }

    #[test]
    fn the_chart_is_drawn_from_the_hours_with_empty_hours_between() {
        let h = 1_790_996_400_000; // a whole hour
        let page = LogPage {
            hours: [(h, [2, 1]), (h + 3 * HOUR_MS, [0, 4])].into(),
            ..LogPage::default()
        };
        let html = render_page(&page, &query(10), &Params::default(), None, None);
        let drawn = bars(&html);
        assert_eq!(drawn.len(), 4);
        assert_eq!((drawn[0].1, drawn[0].2), (2, 1));
        assert_eq!((drawn[1].1, drawn[1].2), (0, 0));
        assert_eq!((drawn[3].1, drawn[3].2), (0, 4));
        assert!(html.contains("Postbacks per hour"));
        // Past two days, a bar per day, which adds its hours up.
        let page = LogPage {
            hours: [
                (h, [1, 0]),
                (h + HOUR_MS, [1, 1]),
                (h + 72 * HOUR_MS, [0, 5]),
            ]
            .into(),
            ..LogPage::default()
        };
        let html = render_page(&page, &query(10), &Params::default(), None, None);
        let drawn = bars(&html);
        let total: Vec<u64> = drawn.iter().map(|b| b.1 + b.2).collect();
        assert_eq!(total.iter().sum::<u64>(), 8);
        assert!(drawn.len() == 4 || drawn.len() == 5, "{drawn:?}");
        assert_eq!(drawn[0].0.len(), "2026-10-03".len());
        assert!(html.contains("Postbacks per day"));
        // Nothing counted, no chart.
        let html = render_empty();
        assert!(bars(&html).is_empty());
    }

    #[test]
    fn times_show_in_the_zone_asked_for() {
        let page = LogPage {
            entries: vec![goal_not_found(1_790_000_000_000)],
            ..LogPage::default()
        };
        let utc = render_page(&page, &query(10), &Params::default(), None, None);
        assert!(utc.contains("<td>2026-09-21T14:13:20.000Z</td>"));
        let typed = Params::from_query("local_time=Europe/Berlin").unwrap();
        let zone = local_zone(&typed).unwrap();
        let berlin = render_page(&page, &query(10), &typed, zone.as_ref(), None);
        assert!(berlin.contains("<td>2026-09-21T16:13:20+02:00</td>"));
        let unknown = Params::from_query("local_time=Mars/Olympus").unwrap();
        assert_eq!(local_zone(&unknown).unwrap_err().parameter(), "local_time");
    }

    /// The page of a query that matched nothing.
    fn render_empty() -> String {
        render_page(
            &LogPage::default(),
            &query(10),
            &Params::default(),
            None,
            None,
        )
    }

    #[test]
    fn empty_page_says_so() {
        let html = render_empty();
        assert!(html.contains("No postbacks match"));
        assert!(!html.contains("id=\"next\""));
    }

    #[test]
    fn errors_are_pages() {
        let body = crate::reply::Reply::refused(&crate::catalog::Refusal::BadRequest(
            BadRequest::new("nope", "is not a filter <of> the log"),
        ))
        .body;
        let html = render_error_page(&body);
        assert!(html.contains("id=\"error\""));
        assert!(html.contains("nope"));
        assert!(html.contains("&lt;of&gt;"));
    }
}
