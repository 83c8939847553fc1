//! Click id verification: arbitrary tokens never verify (nor panic), and a
//! minted click, whatever its fields, verifies back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use postback_edge::click::{Click, ClickKey, Country};
use postback_edge::ids::{CampaignId, PartnerId};

fuzz_target!(|data: &[u8]| {
    let key = ClickKey::new(b"fuzz-key").expect("non-empty key");
    if let Ok(token) = std::str::from_utf8(data) {
        if let Some(click) = Click::verify(token, &key) {
            // Only a token this key minted verifies: it must mint back the same.
            assert_eq!(click.mint(&key), token);
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
        assert_eq!(Click::verify(&token, &key), Some(click));
    }
});
