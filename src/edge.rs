//! The edge's checks: everything decided from the request, the click id and
//! the campaign config alone, in SPEC §2 order —
//! click_id_missing, click_not_found, campaign_not_found, campaign_mismatch,
//! secure_code_invalid, campaign_not_active, campaign_privacy_error,
//! goal_not_found — then what the campaign object needs handed over.
//!
//! It runs in two steps because the campaign comes from KV in between:
//! [`identify`] says which campaign to load, [`admit`] checks against it.

use crate::campaign::{Campaign, CampaignStatus, SourceProblem};
use crate::catalog::{Detail, Refusal, Rejection};
use crate::click::{Click, ClickKeys};
use crate::ids::CampaignId;
use crate::ledger::Submission;
use crate::log::LogDraft;
use crate::postback::Postback;
use std::net::IpAddr;

/// A postback whose click id verified: the click, and the campaign to load.
#[derive(Debug, Clone, PartialEq)]
pub struct Identified {
    pub click: Click,
    /// The postback's `campaign_id` if it sent one, else the click's.
    pub campaign_id: CampaignId,
}

/// The first three checks: a click id, a genuine one (signed by one of
/// `keys`; the refusal says why not), and a campaign id that can exist. A
/// `campaign_id` that is not a well-formed id names no campaign, so it is
/// `campaign_not_found` without a lookup.
pub fn identify(postback: &Postback, keys: &ClickKeys) -> Result<Identified, Refusal> {
    let click_id = postback
        .click_id
        .as_deref()
        .ok_or(Rejection::ClickIdMissing)?;
    let click = Click::verify(click_id, keys).map_err(|problem| {
        Refusal::Detailed(
            Rejection::ClickNotFound,
            Detail::new().with("problem", problem.as_str()),
        )
    })?;
    let campaign_id = match postback.campaign_id.as_deref() {
        None => click.campaign.clone(),
        Some(text) => CampaignId::parse(text).ok_or(Rejection::CampaignNotFound)?,
    };
    Ok(Identified { click, campaign_id })
}

/// The click of a postback whose parameters could not be read, if a
/// `click_id` (under any name `aliases` reads as it) among its pieces
/// still verifies: so that the refusal is logged with its campaign, and the
/// campaign's secure code redacted from it. Read leniently (invalid
/// escapes kept as they are), for the log only; the postback stays refused.
pub fn click_of_unreadable(
    query: &str,
    keys: &ClickKeys,
    aliases: &crate::params::Aliases,
) -> Option<Click> {
    query
        .split('&')
        .filter_map(|piece| piece.split_once('='))
        .filter(|(name, _)| *name == "click_id" || aliases.canonical(name) == Some("click_id"))
        .find_map(|(_, value)| Click::verify(value, keys).ok())
}

/// A postback refused after [`identify`]: the refusal (with its detail),
/// and the draft of its log entry, which names the campaign that was looked
/// up.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub rejection: Refusal,
    pub log: LogDraft,
}

/// A postback the edge admitted: the submission for its campaign's
/// Durable Object, and beside it the draft of its log entry, which the
/// edge completes with the object's verdict (the log is written from the
/// edge: the draft never crosses to the object).
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    pub submission: Submission,
    pub log: LogDraft,
}

/// The remaining edge checks against the campaign `identified` named
/// (`None`: no such campaign): the submission for its Durable Object and
/// the postback's log draft. The postback is taken apart either way, so
/// nothing it sent is copied. `source` is the postback's
/// sender as `CF-Connecting-IP` names it (an address that does not parse
/// is none); `now` is Unix seconds; `dry_run` is recorded in the log.
// The refusal is as large as the submission it replaces; boxing it would
// cost an allocation per rejection for nothing.
#[allow(clippy::result_large_err)]
pub fn admit(
    identified: &Identified,
    mut postback: Postback,
    campaign: Option<&Campaign>,
    source: Option<&str>,
    now: i64,
    dry_run: bool,
) -> Result<Admitted, Refused> {
    let source = source
        .map(str::trim)
        .and_then(|text| text.parse::<IpAddr>().ok().map(|ip| (ip, text)));
    let (campaign, goal) = match check(identified, &postback, campaign, source) {
        Ok(admitted) => admitted,
        Err(rejection) => {
            let mut log = LogDraft::from_postback(postback, dry_run)
                .for_campaign(identified.campaign_id.as_str())
                .redacting(campaign.and_then(Campaign::secure_code));
            log.partner_id = Some(identified.click.partner.as_str().to_owned());
            log.source_ip = source.map(|s| s.1.to_owned());
            log.country = Some(identified.click.country.as_str().to_owned());
            return Err(Refused { rejection, log });
        }
    };
    // A click from the future (clock skew between minting systems) has
    // just happened.
    let click = &identified.click;
    let time_to_action = u64::try_from(now - i64::from(click.time)).unwrap_or(0);
    let payout = campaign.payout(goal, click.country, &click.partner, postback.sum);
    let action_id = postback.action_id.take();
    let submission = Submission {
        campaign_id: campaign.id().clone(),
        // Present: `identify` refused the postback otherwise.
        click_id: postback.click_id.clone().unwrap_or_default(),
        partner_id: click.partner.clone(),
        country: click.country.as_str().to_owned(),
        goal: goal.to_owned(),
        action_id: action_id.clone(),
        status: postback.status.unwrap_or(campaign.default_status()),
        sum: postback.sum,
        currency: postback
            .currency
            .take()
            .unwrap_or_else(|| campaign.currency().to_owned()),
        on_time: campaign.is_on_time(time_to_action),
        seconds_since_click: time_to_action,
        min_time_to_action: campaign.time_window().0,
        max_time_to_action: campaign.time_window().1,
        payout,
        caps: campaign.caps().to_vec(),
        timezone: campaign.timezone().clone(),
        dedupe_window_days: campaign.dedupe_window_days(),
        dry_run,
        fields: postback
            .kept_fields()
            .into_iter()
            .map(|(name, value)| {
                let shown = crate::redact::redact_text(campaign.secure_code(), &value);
                (name, shown.unwrap_or(value))
            })
            .collect(),
    };
    let log = LogDraft {
        // The log shows the goal that counted, the default one included.
        goal: Some(goal.to_owned()),
        partner_id: Some(click.partner.as_str().to_owned()),
        country: Some(click.country.as_str().to_owned()),
        payout: payout.map(|p| p.to_string()),
        source_ip: source.map(|s| s.1.to_owned()),
        action_id,
        ..LogDraft::from_postback(postback, dry_run).for_campaign(campaign.id().as_str())
    }
    .redacting(campaign.secure_code());
    Ok(Admitted { submission, log })
}

/// The checks of [`admit`], in SPEC order: the campaign, and the goal
/// that counts (the campaign's spelling). Each refusal carries its facts
/// (SPEC §4a), never the campaign's secure code.
fn check<'c>(
    identified: &Identified,
    postback: &Postback,
    campaign: Option<&'c Campaign>,
    source: Option<(IpAddr, &str)>,
) -> Result<(&'c Campaign, &'c str), Refusal> {
    let code = campaign.and_then(Campaign::secure_code);
    let refused =
        |rejection, detail: Detail| Err(Refusal::Detailed(rejection, detail.redacting(code)));
    let Some(campaign) = campaign else {
        let detail = Detail::new().with("campaign_id", identified.campaign_id.as_str());
        return refused(Rejection::CampaignNotFound, detail);
    };
    if identified.click.campaign != *campaign.id() {
        let detail = Detail::new()
            .with("campaign_id", campaign.id().as_str())
            .with("click_campaign_id", identified.click.campaign.as_str());
        return refused(Rejection::CampaignMismatch, detail);
    }
    if let Some(problem) = campaign.source_problem(postback.secure.as_deref(), source.map(|s| s.0))
    {
        let detail = match problem {
            SourceProblem::Missing => Detail::new().with("problem", "missing"),
            SourceProblem::Mismatch => Detail::new().with("problem", "mismatch"),
            SourceProblem::AddressNotAllowed => Detail::new()
                .with("problem", "address_not_allowed")
                .with("address", source.map(|s| s.1)),
        };
        return refused(Rejection::SecureCodeInvalid, detail);
    }
    if campaign.status() != CampaignStatus::Active {
        let detail = Detail::new().with("campaign_status", campaign.status().as_str());
        return refused(Rejection::CampaignNotActive, detail);
    }
    if !campaign.admits_partner(&identified.click.partner) {
        let detail = Detail::new()
            .with("privacy", campaign.privacy().as_str())
            .with("partner_id", identified.click.partner.as_str());
        return refused(Rejection::CampaignPrivacyError, detail);
    }
    match campaign.goal(postback.goal.as_deref()) {
        Some(goal) => Ok((campaign, goal)),
        None => {
            let asked = postback.goal.as_deref().or(campaign.default_goal());
            let detail = Detail::new()
                .with("goal", asked)
                .with("goals", campaign.goal_ids());
            refused(Rejection::GoalNotFound, detail)
        }
    }
}

#[cfg(test)]
mod tests;
