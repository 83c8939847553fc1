//! Comparing secrets without leaking them through timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether two secrets are equal, in time independent of where they differ
/// and of their lengths: both are hashed first, and the digests compared in
/// constant time.
pub fn equal(expected: &str, given: &str) -> bool {
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(given.as_bytes());
    a.ct_eq(&b).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn equal_only_when_equal() {
        assert!(super::equal("token", "token"));
        assert!(!super::equal("token", "token "));
        assert!(!super::equal("token", ""));
        assert!(super::equal("", ""));
    }
}
