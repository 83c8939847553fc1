//! `GET /click`, `GET|POST /postback` and `GET /postback/check`: read the
//! request, run the core's checks, hand over to the campaign object, log
//! what the edge refused.

use super::{campaigns, log_queue, object_client, platform};
use crate::campaign::Campaign;
use crate::catalog::{BadRequest, Refusal, Rejection};
use crate::click::ClickKeys;
use crate::edge;
use crate::landing::ClickRequest;
use crate::log::LogDraft;
use crate::params::{Aliases, BodyKind, Params, MAX_BODY_BYTES};
use crate::postback::Postback;
use crate::reply::Reply;
use std::cell::OnceCell;
use std::rc::Rc;
use worker::web_sys::Request;
use worker::{console_error, Context, Env};

thread_local! {
    /// The click keys of this isolate: preparing an HMAC key costs two
    /// SHA-256 blocks, and reading the secret a call out of the wasm, both
    /// once. An isolate's bindings never change (a new secret is a new
    /// deployment, with new isolates).
    static CLICK_KEYS: OnceCell<Option<ClickKeys>> = const { OnceCell::new() };
    /// The postback's names with `PARAM_ALIASES`'s, read once; what is
    /// wrong with the setting, if anything.
    static ALIASES: OnceCell<Result<Rc<Aliases>, String>> = const { OnceCell::new() };
}

/// The names postbacks are read by; `None` (said on the console with each
/// postback it refuses) while `PARAM_ALIASES` cannot be read: a postback
/// read without a deployment's names would be read wrong.
fn aliases(env: &Env) -> Option<Rc<Aliases>> {
    ALIASES.with(|aliases| {
        let read = aliases.get_or_init(|| {
            let setting = env.var("PARAM_ALIASES").map(|v| v.to_string());
            Aliases::with_setting(setting.as_deref().unwrap_or_default())
                .map(Rc::new)
                .map_err(|e| e.to_string())
        });
        read.as_ref()
            .map_err(|e| {
                console_error!("{e}; every postback answers internal_error until it is fixed")
            })
            .ok()
            .cloned()
    })
}

/// The keys of `CLICK_SIGNING_KEY`; `None` (said on the console once per
/// isolate, never with a key) if it is unset or lists none.
pub fn click_keys(env: &Env) -> Option<ClickKeys> {
    CLICK_KEYS.with(|keys| {
        keys.get_or_init(|| {
            let Ok(secret) = env.secret("CLICK_SIGNING_KEY") else {
                console_error!(
                    "CLICK_SIGNING_KEY is not set: click ids cannot be signed or verified"
                );
                return None;
            };
            ClickKeys::from_secret(&secret.to_string())
                .map_err(|e| console_error!("{e}: click ids cannot be signed or verified"))
                .ok()
        })
        .clone()
    })
}

pub async fn click(req: &Request, query: &str, env: &Env) -> Reply {
    let request = match Params::from_query(query)
        .map_err(Into::into)
        .and_then(|p| ClickRequest::from_params(&p))
    {
        Ok(r) => r,
        Err(refusal) => return Reply::refused(&refusal),
    };
    let Some(keys) = click_keys(env) else {
        return Reply::rejected(Rejection::InternalError);
    };
    let campaign = match campaigns::load(env, &request.campaign_id).await {
        Ok(c) => c,
        Err(e) => {
            console_error!("loading campaign {}: {e}", request.campaign_id);
            return Reply::rejected(Rejection::InternalError);
        }
    };
    let now = u32::try_from(platform::now_seconds()).unwrap_or(u32::MAX);
    let country = platform::country(req);
    match request.redirect(campaign.as_deref(), &keys, now, country, platform::nonce()) {
        Ok(url) => Reply::redirect(url),
        Err(rejection) => Reply::rejected(rejection),
    }
}

/// Reads the postback's parameters from the query and, for `POST`, the body.
async fn read_params(
    req: &Request,
    method: &str,
    query: &str,
    aliases: &Aliases,
) -> Result<Params, BadRequest> {
    if method != "POST" {
        return Params::from_query_with(query, aliases);
    }
    let declared = platform::header(req, "content-length").and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > MAX_BODY_BYTES) {
        return Err(BadRequest::new(
            "body",
            format!("is longer than {MAX_BODY_BYTES} bytes"),
        ));
    }
    let body = platform::read_body(req, MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            platform::BodyError::TooLong => {
                BadRequest::new("body", format!("is longer than {MAX_BODY_BYTES} bytes"))
            }
            platform::BodyError::Unreadable => BadRequest::new("body", "could not be read"),
        })?;
    if body.is_empty() {
        return Params::from_query_with(query, aliases);
    }
    let content_type = platform::header(req, "content-type").unwrap_or_default();
    let kind = BodyKind::from_content_type(&content_type).ok_or_else(|| {
        BadRequest::new(
            "Content-Type",
            "must be application/x-www-form-urlencoded or application/json",
        )
    })?;
    Params::from_post_with(query, kind, &body, aliases)
}

/// Answers a refusal, and logs it after the answer: to the campaign's own
/// log if the campaign exists, else to the bounded unattributed log.
fn refuse(
    env: &Env,
    ctx: &Context,
    (draft, source): (LogDraft, Option<&str>),
    refusal: Refusal,
    campaign_exists: bool,
) -> Reply {
    let reply = Reply::refused(&refusal);
    let entry =
        draft
            .sent_from(source)
            .refused(refusal, platform::now_millis(), platform::nonce_u32());
    log_queue::push(env, ctx, &entry, campaign_exists);
    reply
}

/// The log draft of an unreadable postback, given to its campaign (with
/// the campaign's secure code redacted) when a click id in it verifies and
/// the campaign exists; else as it was, for the unattributed log.
async fn attribute_unreadable(
    env: &Env,
    draft: LogDraft,
    query: &str,
) -> (LogDraft, Option<Rc<Campaign>>) {
    let aliases = aliases(env).unwrap_or_else(|| Rc::new(Aliases::POSTBACK));
    let Some(click) =
        click_keys(env).and_then(|keys| edge::click_of_unreadable(query, &keys, &aliases))
    else {
        return (draft, None);
    };
    match campaigns::load(env, &click.campaign).await {
        Ok(Some(campaign)) => (
            draft
                .for_campaign(campaign.id().as_str())
                .redacting(campaign.secure_code()),
            Some(campaign),
        ),
        _ => (draft, None),
    }
}

pub async fn postback(
    req: Request,
    method: &str,
    query: &str,
    env: &Env,
    ctx: &Context,
    dry_run: bool,
) -> Reply {
    // The sender's address, for the log (and the campaigns that list
    // `allowed_ips`).
    let sender = platform::header(&req, "cf-connecting-ip");
    let source = sender.as_deref();
    let Some(aliases) = aliases(env) else {
        let draft = LogDraft::from_unreadable(query, dry_run);
        let (draft, campaign) = attribute_unreadable(env, draft, query).await;
        let refusal = Rejection::InternalError.into();
        return refuse(env, ctx, (draft, source), refusal, campaign.is_some());
    };
    let postback = match read_params(&req, method, query, &aliases)
        .await
        .and_then(Postback::from_params)
    {
        Ok(p) => p,
        Err(bad) => {
            let draft = LogDraft::from_unreadable(query, dry_run);
            let (draft, campaign) = attribute_unreadable(env, draft, query).await;
            let bad = bad.redacting(campaign.as_deref().and_then(|c| c.secure_code()));
            return refuse(env, ctx, (draft, source), bad.into(), campaign.is_some());
        }
    };
    let Some(keys) = click_keys(env) else {
        let draft = LogDraft::from_postback(postback, dry_run);
        return refuse(
            env,
            ctx,
            (draft, source),
            Rejection::InternalError.into(),
            false,
        );
    };
    let identified = match edge::identify(&postback, &keys) {
        Ok(i) => i,
        Err(refusal) => {
            let draft = LogDraft::from_postback(postback, dry_run);
            return refuse(env, ctx, (draft, source), refusal, false);
        }
    };
    let campaign = match campaigns::load(env, &identified.campaign_id).await {
        Ok(c) => c,
        Err(e) => {
            console_error!("loading campaign {}: {e}", identified.campaign_id);
            // The entry names the campaign that was looked up.
            let draft = LogDraft::from_postback(postback, dry_run)
                .for_campaign(identified.campaign_id.as_str());
            return refuse(
                env,
                ctx,
                (draft, source),
                Rejection::InternalError.into(),
                false,
            );
        }
    };
    let now = platform::now_seconds();
    let admitted = match edge::admit(
        &identified,
        postback,
        campaign.as_deref(),
        source,
        now,
        dry_run,
    ) {
        Ok(a) => a,
        Err(refused) => {
            let exists = campaign.is_some();
            return refuse(env, ctx, (refused.log, source), refused.rejection, exists);
        }
    };
    match object_client::submit(env, &admitted.submission).await {
        Ok(verdict) => {
            let entry = admitted.log.sent_from(source).decided(
                &verdict,
                platform::now_millis(),
                platform::nonce_u32(),
            );
            log_queue::push(env, ctx, &entry, true);
            Reply::from_verdict(&verdict, dry_run)
        }
        Err(e) => {
            console_error!("{e}");
            refuse(
                env,
                ctx,
                (admitted.log, source),
                Rejection::InternalError.into(),
                true,
            )
        }
    }
}
