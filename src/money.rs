//! Money as a decimal, never a float.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A non-negative decimal amount, at most 6 decimal places, printed without
/// trailing zeros lost (`"12.50"` stays `"12.50"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    NotADecimal,
    Negative,
    TooPrecise,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MoneyError::NotADecimal => "is not a decimal number (write it like 12.50)",
            MoneyError::Negative => "is negative",
            MoneyError::TooPrecise => "has more than 6 decimal places",
        })
    }
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);
    const MAX_SCALE: u32 = 6;

    /// Parses `12.50`, `3`, `0.000001`. Refuses signs other than a bare
    /// number, exponents, thousands separators and more than 6 places.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let text = text.trim();
        let plain = !text.is_empty()
            && text.len() <= 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
            && text.bytes().any(|b| b.is_ascii_digit());
        if !plain {
            return Err(MoneyError::NotADecimal);
        }
        // Exact: more digits than a decimal holds is an error, never rounded.
        let value = Decimal::from_str_exact(text).map_err(|_| MoneyError::NotADecimal)?;
        // "-0" is zero, but a sign on an amount is always a mistake.
        if text.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        Money::from_decimal(value)
    }

    pub fn from_decimal(value: Decimal) -> Result<Money, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        if value.scale() > Self::MAX_SCALE {
            return Err(MoneyError::TooPrecise);
        }
        Ok(Money(value))
    }

    pub fn from_units(units: u64) -> Money {
        Money(Decimal::from(units))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// `self + other`, `None` on overflow (amounts near 7.9e28).
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `percent`% of `self`, rounded half-even to the scale of money (6).
    pub fn percent(self, percent: Money) -> Option<Money> {
        let product = self.0.checked_mul(percent.0)?;
        let value = product.checked_div(Decimal::ONE_HUNDRED)?;
        Some(Money(value.round_dp(Self::MAX_SCALE).normalize()))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Serialized as a JSON string, so no reader turns it into a float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let text = String::deserialize(d)?;
        Money::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_decimals_only() {
        assert_eq!(Money::parse("12.50").unwrap().to_string(), "12.50");
        assert_eq!(Money::parse("3").unwrap().to_string(), "3");
        assert_eq!(Money::parse(" 0.000001 ").unwrap().to_string(), "0.000001");
        assert_eq!(Money::parse("0").unwrap(), Money::ZERO);
        for bad in [
            "", "abc", "1e3", "1,5", "1.2.3", "--1", "NaN", "inf", "+1", ".",
        ] {
            assert_eq!(Money::parse(bad), Err(MoneyError::NotADecimal), "{bad:?}");
        }
        assert_eq!(Money::parse("-1"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("-0"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("0.0000001"), Err(MoneyError::TooPrecise));
        assert!(Money::parse(&"9".repeat(40)).is_err());
    }

    #[test]
    fn percent_is_exact() {
        let sum = Money::parse("19.99").unwrap();
        assert_eq!(
            sum.percent(Money::parse("10").unwrap())
                .unwrap()
                .to_string(),
            "1.999"
        );
        let a = Money::parse("0.1").unwrap();
        let b = Money::parse("0.2").unwrap();
        assert_eq!(a.checked_add(b).unwrap(), Money::parse("0.3").unwrap());
    }

    #[test]
    fn json_is_a_string() {
        let m = Money::parse("5000.00").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"5000.00\"");
        let back: Money = serde_json::from_str("\"5000.00\"").unwrap();
        assert_eq!(back, m);
    }
}
