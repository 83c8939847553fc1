//! The postbacks log for its readers: `GET /v1/logs/postbacks` (JSON, or
//! an export with `format=csv|ndjson`) and `GET /logs/postbacks` (HTML),
//! answered from every store the reader may read (`shell/log_reader.rs`).
//! A scoped token reads its campaigns only.

use super::error::{Failure, Outcome};
use super::log_reader::gather;
use super::tokens::forbidden;
use super::{platform, Answer};
use crate::catalog::{BadRequest, Refusal};
use crate::log::export::Format;
use crate::log::{render_error_page, render_page, LogAnswer, LogQuery, MAX_LIMIT};
use crate::params::Params;
use crate::reply::Reply;
use crate::timezone::Timezone;
use crate::token::{Access, Reach};
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen_futures::{spawn_local, JsFuture};
use worker::web_sys::{TransformStream, WritableStreamDefaultWriter};
use worker::{console_error, Env};

/// A log request, read: the query, the parameters as given, the export
/// format, the zone times show in, where the reader may read.
struct LogRequest {
    query: LogQuery,
    /// The parameters as the reader typed them (the page shows them).
    typed: Params,
    format: Option<Format>,
    zone: Option<Timezone>,
    reach: Reach,
}

/// Reads a log request as `access` may make it: the filters (an unknown
/// one or a bad value is a `BadRequest`), narrowed by a click id or a
/// conversion id to where their entries can be, then the reader's scope
/// (a campaign it does not read is refused).
fn read_log_request(env: &Env, access: &Access, raw: &str) -> Result<LogRequest, Reply> {
    let bad = |bad: BadRequest| Reply::refused(&Refusal::BadRequest(bad));
    let params = Params::from_query(raw).map_err(bad)?;
    let mut query = LogQuery::from_params(&params).map_err(bad)?;
    let format = Format::from_params(&params).map_err(bad)?;
    let zone = crate::log::local_zone(&params).map_err(bad)?;
    let click = query.click_id.as_deref().and_then(|id| {
        let keys = super::postback::click_keys(env)?;
        crate::click::Click::verify(id, &keys).ok()
    });
    query.narrow(click.as_ref());
    let reach = access
        .log_reach(query.campaign_id.as_deref())
        .map_err(forbidden)?;
    Ok(LogRequest {
        query,
        typed: params,
        format,
        zone,
        reach,
    })
}

pub async fn log_json(access: &Access, raw: &str, env: &Env) -> Answer {
    let request = match read_log_request(env, access, raw) {
        Ok(r) => r,
        Err(reply) => return reply.into(),
    };
    if let Some(format) = request.format {
        return export(env, request, format);
    }
    let query = &request.query;
    let page = match gather(env, query, &request.reach, true).await {
        Ok(page) => page,
        Err(e) => return e.during("reading the postbacks log").answer().into(),
    };
    let next = page.next_before(query.limit);
    let answer = LogAnswer {
        entries: &page.entries,
        counts: &page.counts,
        next_before: next.as_deref(),
        counted_since: page.cut.map(crate::log::format_millis),
    };
    match serde_json::to_string(&answer) {
        Ok(body) => Reply::json(200, body).into(),
        Err(e) => Failure::new("writing the log's answer", e).answer().into(),
    }
}

/// Every entry `request` matches, streamed page by page (500 entries a
/// page, newest first) as CSV or NDJSON: the answer starts at once, and
/// the isolate holds one page at a time.
fn export(env: &Env, request: LogRequest, format: Format) -> Answer {
    let stream = match TransformStream::new() {
        Ok(s) => s,
        Err(e) => return Failure::from(e).during("an export stream").answer().into(),
    };
    let writer = match stream.writable().get_writer() {
        Ok(w) => w,
        Err(e) => return Failure::from(e).during("an export stream").answer().into(),
    };
    let campaign = request.query.campaign_id.clone();
    let env = env.clone();
    spawn_local(async move {
        if let Err(e) = write_export(&env, request, format, &writer).await {
            // The answer has started: all that is left is to end it
            // broken, so the reader knows the file is not whole.
            console_error!("exporting the postbacks log: {e}");
            let _ = JsFuture::from(writer.abort()).await;
            return;
        }
        let _ = JsFuture::from(writer.close()).await;
    });
    let name = format.file_name(campaign.as_deref(), platform::now_seconds());
    Answer::Streamed(
        Reply::download(format.content_type(), &name),
        stream.readable(),
    )
}

async fn write_export(
    env: &Env,
    request: LogRequest,
    format: Format,
    writer: &WritableStreamDefaultWriter,
) -> Outcome<()> {
    let write = |text: String| async move {
        if text.is_empty() {
            return Ok(());
        }
        let bytes = Uint8Array::from(text.as_bytes());
        JsFuture::from(writer.write_with_chunk(&bytes))
            .await
            .map(drop)
            .map_err(|e| Failure::from(e).during("writing an export"))
    };
    write(format.head()).await?;
    let mut query = request.query;
    query.limit = MAX_LIMIT;
    loop {
        let page = gather(env, &query, &request.reach, false).await?;
        let mut text = String::new();
        for entry in &page.entries {
            text.push_str(&format.line(entry));
        }
        write(text).await?;
        match page.next_before(query.limit) {
            Some(next) => query.before = Some(next),
            None => return Ok(()),
        }
    }
}

pub async fn log_page(access: &Access, raw: &str, env: &Env) -> Reply {
    // The page answers its errors as a page, with the text a JSON answer
    // would give.
    let request = match read_log_request(env, access, raw) {
        Ok(r) => r,
        Err(reply) => return Reply::html(reply.status, render_error_page(&reply.body)),
    };
    let query = &request.query;
    match gather(env, query, &request.reach, true).await {
        Ok(page) => {
            let since = request.typed.get("since").filter(|s| !s.is_empty());
            let next = page
                .next_before(query.limit)
                .map(|last| query.next_page(&last, since));
            Reply::html(
                200,
                render_page(
                    &page,
                    query,
                    &request.typed,
                    request.zone.as_ref(),
                    next.as_deref(),
                ),
            )
        }
        Err(e) => {
            let reply = e.during("reading the postbacks log").answer();
            Reply::html(reply.status, render_error_page(&reply.body))
        }
    }
}
