//! Click id verification: arbitrary tokens never verify (nor panic), and a
//! minted click, whatever its fields, verifies back to itself, under one
//! key or a rotation of two; removed, its key is unknown.
#![no_main]
use libfuzzer_sys::fuzz_target;
use postback_edge::click::{Click, ClickKeys, ClickProblem, Country};
use postback_edge::ids::{CampaignId, PartnerId};

fuzz_target!(|data: &[u8]| {
    let key = ClickKeys::from_secret("fuzz-key").expect("a key");
    if let Ok(token) = std::str::from_utf8(data) {
        if let Ok(click) = Click::verify(token, &key) {
            // Only a token this key minted verifies: it must mint back the
            // same, in the keyed format or the earlier one.
            assert!(click.mint(&key) == token || click.mint_unkeyed(key.signing()) == token);
        }
    }
    // Build a click from the bytes and round-trip it.
    if data.len() >= 10 {
        let text = String::from_utf8_lossy(&data[10..]);
        // Halve at a character boundary: the lossy text may hold U+FFFD.
        let mut half = text.len() / 2;
        while !text.is_char_boundary(half) {
            half -= 1;
        }
        let (c, p) = text.split_at(half);
        let (Some(campaign), Some(partner)) = (CampaignId::parse(c), PartnerId::parse(p)) else { return };
        let click = Click {
            campaign,
            partner,
            time: u32::from_le_bytes([data[0], data[1], data[2], data[3]]),
            country: Country::from_code(&String::from_utf8_lossy(&data[4..6])),
            nonce: [data[6], data[7], data[8], data[9]],
        };
        let token = click.mint(&key);
        assert!(token.len() <= 64);
        assert_eq!(Click::verify(&token, &key), Ok(click.clone()));
        // Rotated in front of, then without, the key: converts, then unknown.
        // ("fuzz-key-new" and "fuzz-key" have different key ids.)
        let rotating = ClickKeys::from_secret("fuzz-key-new fuzz-key").expect("keys");
        let rotated = ClickKeys::from_secret("fuzz-key-new").expect("a key");
        assert_eq!(Click::verify(&token, &rotating), Ok(click.clone()));
        assert_eq!(Click::verify(&token, &rotated), Err(ClickProblem::UnknownKey));
        let unkeyed = click.mint_unkeyed(key.signing());
        assert!(unkeyed.len() <= 64);
        assert_eq!(Click::verify(&unkeyed, &rotating), Ok(click));
    }
});
