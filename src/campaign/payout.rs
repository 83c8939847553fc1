//! Payout rules: what a conversion pays, by goal, country and partner.

use crate::click::Country;
use crate::ids::PartnerId;
use crate::money::Money;

/// What a matching rule pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutAmount {
    Fixed(Money),
    /// A share of the conversion's `sum`, in percent.
    Percent(Money),
}

/// One payout rule of a campaign. Empty lists (and an absent goal) match
/// anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRule {
    pub(super) goal: Option<String>,
    pub(super) countries: Vec<Country>,
    pub(super) partners: Vec<PartnerId>,
    pub(super) amount: PayoutAmount,
}

impl PayoutRule {
    pub fn matches(&self, goal: &str, country: Country, partner: &PartnerId) -> bool {
        self.goal.as_deref().is_none_or(|g| g == goal)
            && (self.countries.is_empty() || self.countries.contains(&country))
            && (self.partners.is_empty() || self.partners.contains(partner))
    }

    /// How narrowly the rule is drawn: a rule naming partners beats one
    /// naming countries, which beats one naming neither, and naming the
    /// goal breaks ties. A partner's negotiated rate should win over a geo
    /// rate, and a geo rate over the default.
    pub fn specificity(&self) -> u8 {
        (u8::from(!self.partners.is_empty()) << 2)
            | (u8::from(!self.countries.is_empty()) << 1)
            | u8::from(self.goal.is_some())
    }

    /// The payout for a conversion of `sum`. A percent rule with no `sum`
    /// pays zero (an update that omits the sum must not fail); `None` only
    /// on arithmetic overflow.
    pub fn amount(&self, sum: Option<Money>) -> Option<Money> {
        match &self.amount {
            PayoutAmount::Fixed(m) => Some(*m),
            PayoutAmount::Percent(p) => sum.unwrap_or(Money::ZERO).percent(*p),
        }
    }
}
