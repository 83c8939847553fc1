//! The edge's checks: everything decided from the request, the click id and
//! the campaign config alone, in SPEC §2 order —
//! click_id_missing, click_not_found, campaign_not_found, campaign_mismatch,
//! secure_code_invalid, campaign_not_active, campaign_privacy_error,
//! goal_not_found — then what the campaign object needs handed over.
//!
//! It runs in two steps because the campaign comes from KV in between:
//! [`identify`] says which campaign to load, [`admit`] checks against it.

use crate::campaign::{Campaign, CampaignStatus};
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
/// `click_id` (or `clickid`) among its pieces still verifies: so that the
/// refusal is logged with its campaign, and the campaign's secure code
/// redacted from it. Read leniently (invalid escapes kept as they are),
/// for the log only; the postback stays refused.
pub fn click_of_unreadable(query: &str, keys: &ClickKeys) -> Option<Click> {
    query
        .split('&')
        .filter_map(|piece| piece.split_once('='))
        .filter(|(name, _)| matches!(*name, "click_id" | "clickid"))
        .find_map(|(_, value)| Click::verify(value, keys).ok())
}

/// A postback refused after [`identify`]: the rejection, and the draft of
/// its log entry, which names the campaign that was looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub rejection: Rejection,
    pub log: LogDraft,
}

/// The remaining edge checks against the campaign `identified` named
/// (`None`: no such campaign), and the submission for its Durable Object,
/// which carries the postback's log draft. The postback is taken apart
/// either way, so nothing it sent is copied. `source` is the postback's
/// sender (`CF-Connecting-IP`); `now` is Unix seconds; `dry_run` is
/// recorded in the log.
// The refusal is as large as the submission it replaces; boxing it would
// cost an allocation per rejection for nothing.
#[allow(clippy::result_large_err)]
pub fn admit(
    identified: &Identified,
    mut postback: Postback,
    campaign: Option<&Campaign>,
    source: Option<IpAddr>,
    now: i64,
    dry_run: bool,
) -> Result<Submission, Refused> {
    let (campaign, goal) = match check(identified, &postback, campaign, source) {
        Ok(admitted) => admitted,
        Err(rejection) => {
            let log = LogDraft::from_postback(postback, dry_run)
                .for_campaign(identified.campaign_id.as_str())
                .redacting(campaign.and_then(Campaign::secure_code));
            return Err(Refused { rejection, log });
        }
    };
    // A click from the future (clock skew between minting systems) has
    // just happened.
    let click = &identified.click;
    let time_to_action = u64::try_from(now - i64::from(click.time)).unwrap_or(0);
    Ok(Submission {
        campaign_id: campaign.id().clone(),
        // Present: `identify` refused the postback otherwise.
        click_id: postback.click_id.clone().unwrap_or_default(),
        partner_id: click.partner.clone(),
        country: click.country.as_str().to_owned(),
        goal: goal.to_owned(),
        action_id: postback.action_id.take(),
        status: postback.status.unwrap_or(campaign.default_status()),
        sum: postback.sum,
        currency: postback
            .currency
            .take()
            .unwrap_or_else(|| campaign.currency().to_owned()),
        on_time: campaign.is_on_time(time_to_action),
        payout: campaign.payout(goal, click.country, &click.partner, postback.sum),
        caps: campaign.caps().to_vec(),
        timezone: campaign.timezone().clone(),
        dedupe_window_days: campaign.dedupe_window_days(),
        fields: postback
            .kept_fields()
            .into_iter()
            .map(|(name, value)| {
                let shown = crate::redact::redact_text(campaign.secure_code(), &value);
                (name, shown.unwrap_or(value))
            })
            .collect(),
        log: LogDraft {
            // The log shows the goal that counted, the default one included.
            goal: Some(goal.to_owned()),
            ..LogDraft::from_postback(postback, dry_run).for_campaign(campaign.id().as_str())
        }
        .redacting(campaign.secure_code()),
    })
}

/// The checks of [`admit`], in SPEC order: the campaign, and the goal
/// that counts (the campaign's spelling).
fn check<'c>(
    identified: &Identified,
    postback: &Postback,
    campaign: Option<&'c Campaign>,
    source: Option<IpAddr>,
) -> Result<(&'c Campaign, &'c str), Rejection> {
    let campaign = campaign.ok_or(Rejection::CampaignNotFound)?;
    if identified.click.campaign != *campaign.id() {
        return Err(Rejection::CampaignMismatch);
    }
    if !campaign.admits_source(postback.secure.as_deref(), source) {
        return Err(Rejection::SecureCodeInvalid);
    }
    if campaign.status() != CampaignStatus::Active {
        return Err(Rejection::CampaignNotActive);
    }
    if !campaign.admits_partner(&identified.click.partner) {
        return Err(Rejection::CampaignPrivacyError);
    }
    let goal = campaign
        .goal(postback.goal.as_deref())
        .ok_or(Rejection::GoalNotFound)?;
    Ok((campaign, goal))
}

#[cfg(test)]
mod tests;
