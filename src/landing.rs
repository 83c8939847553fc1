//! `GET /click`: the partner's traffic arrives, a click id is minted and
//! the visitor is sent on to the campaign's landing URL.

use crate::campaign::{Campaign, CampaignStatus};
use crate::catalog::{BadRequest, Refusal, Rejection};
use crate::click::{Click, ClickKeys, Country};
use crate::ids::{CampaignId, PartnerId, ID_RULE};
use crate::params::Params;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters left as they are in a macro value: RFC 3986 unreserved.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A click request, read.
#[derive(Debug, Clone, PartialEq)]
pub struct ClickRequest {
    pub campaign_id: CampaignId,
    pub partner_id: PartnerId,
    subs: [Option<String>; 5],
}

impl ClickRequest {
    /// `campaign_id` (or `offer_id`) and `partner_id` are required;
    /// `sub1`…`sub5` are passed to the landing URL.
    pub fn from_params(params: &Params) -> Result<ClickRequest, Refusal> {
        let campaign_id = match params.get("campaign_id").filter(|v| !v.is_empty()) {
            None => return Err(BadRequest::new("campaign_id", "is required").into()),
            Some(text) => CampaignId::parse(text).ok_or(Rejection::CampaignNotFound)?,
        };
        let partner_id = match params.get("partner_id").filter(|v| !v.is_empty()) {
            None => return Err(BadRequest::new("partner_id", "is required").into()),
            Some(text) => {
                PartnerId::parse(text).ok_or_else(|| BadRequest::new("partner_id", ID_RULE))?
            }
        };
        let subs = ["sub1", "sub2", "sub3", "sub4", "sub5"]
            .map(|name| params.get(name).map(str::to_owned));
        Ok(ClickRequest {
            campaign_id,
            partner_id,
            subs,
        })
    }

    /// Checks the campaign takes this click and returns the landing URL
    /// with its macros filled: `{click_id}`, `{partner_id}`, `{sub1}`…
    /// `{sub5}` (percent-encoded; an absent sub is empty).
    pub fn redirect(
        &self,
        campaign: Option<&Campaign>,
        keys: &ClickKeys,
        now: u32,
        country: Country,
        nonce: [u8; 4],
    ) -> Result<String, Rejection> {
        let campaign = campaign.ok_or(Rejection::CampaignNotFound)?;
        if campaign.status() != CampaignStatus::Active {
            return Err(Rejection::CampaignNotActive);
        }
        if !campaign.admits_partner(&self.partner_id) {
            return Err(Rejection::CampaignPrivacyError);
        }
        let click_id = Click {
            campaign: self.campaign_id.clone(),
            partner: self.partner_id.clone(),
            time: now,
            country,
            nonce,
        }
        .mint(keys);
        let mut url = campaign
            .landing_url()
            .replace("{click_id}", &click_id)
            .replace("{partner_id}", self.partner_id.as_str());
        for (i, sub) in self.subs.iter().enumerate() {
            let value = sub.as_deref().unwrap_or("");
            let encoded = utf8_percent_encode(value, COMPONENT).to_string();
            url = url.replace(&format!("{{sub{}}}", i + 1), &encoded);
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::fixtures::{campaign, with};
    use serde_json::json;

    fn request(query: &str) -> Result<ClickRequest, Refusal> {
        ClickRequest::from_params(&Params::from_query(query).unwrap())
    }

    #[test]
    fn fills_macros_with_a_verifiable_click_id() {
        let c = campaign(with(json!({
            "landing_url": "https://shop.example/?cid={click_id}&p={partner_id}&s={sub1}&t={sub2}"
        })));
        let key = ClickKeys::from_secret("k").unwrap();
        let req = request("campaign_id=1001&partner_id=77&sub1=a b&").unwrap();
        let url = req
            .redirect(
                Some(&c),
                &key,
                1_790_000_000,
                Country::from_code("FR"),
                [1, 2, 3, 4],
            )
            .unwrap();
        let cid = url.split("cid=").nth(1).unwrap().split('&').next().unwrap();
        let click = Click::verify(cid, &key).unwrap();
        assert_eq!(click.partner.as_str(), "77");
        assert_eq!(click.country.as_str(), "FR");
        assert!(url.ends_with("&p=77&s=a%20b&t="), "{url}");
    }

    #[test]
    fn refusals() {
        let key = ClickKeys::from_secret("k").unwrap();
        let go = |config: Option<serde_json::Value>, query: &str| {
            let req = request(query)?;
            let c = config.map(campaign);
            req.redirect(c.as_ref(), &key, 0, Country::UNKNOWN, [0; 4])
                .map_err(Refusal::from)
        };
        let code = |r: Result<String, Refusal>| r.unwrap_err().code();
        assert_eq!(code(go(None, "partner_id=77")), "bad_request");
        assert_eq!(code(go(None, "campaign_id=1001")), "bad_request");
        assert_eq!(
            code(go(None, "campaign_id=1001&partner_id=bad id")),
            "bad_request"
        );
        assert_eq!(
            code(go(None, "campaign_id=1001&partner_id=77")),
            "campaign_not_found"
        );
        let paused = Some(with(json!({"status": "paused"})));
        assert_eq!(
            code(go(paused, "campaign_id=1001&partner_id=77")),
            "campaign_not_active"
        );
        let private = Some(with(json!({"privacy": "private"})));
        assert_eq!(
            code(go(private, "campaign_id=1001&partner_id=5")),
            "campaign_privacy_error"
        );
    }
}
