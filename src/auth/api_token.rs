//! API token secrets: `wg_` + 256 random bits in hex + a CRC-32 checksum, so
//! that leaked-secret scanners recognise them and typos are refused without
//! a database lookup. Only the SHA-256 of a secret is ever stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "wg_";
const BODY_HEX_LEN: usize = 64;
const CHECKSUM_HEX_LEN: usize = 8;

/// A freshly generated secret and the hash to store for it.
pub struct NewSecret {
    pub secret: String,
    pub hash: String,
}

pub fn generate() -> NewSecret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let body = hex::encode(bytes);
    let secret = format!("{PREFIX}{body}{}", checksum(&body));
    let hash = hash(&secret);
    NewSecret { secret, hash }
}

/// Whether the string has the shape and checksum of a workgate API token.
pub fn is_well_formed(secret: &str) -> bool {
    let Some(rest) = secret.strip_prefix(PREFIX) else {
        return false;
    };
    if rest.len() != BODY_HEX_LEN + CHECKSUM_HEX_LEN || !rest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let (body, sum) = rest.split_at(BODY_HEX_LEN);
    checksum(body) == sum
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn checksum(body: &str) -> String {
    format!("{:08x}", crc32fast::hash(body.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_well_formed_and_hashed() {
        let new = generate();
        assert!(new.secret.starts_with(PREFIX));
        assert!(is_well_formed(&new.secret));
        assert_eq!(new.hash, hash(&new.secret));
        assert_ne!(new.hash, new.secret);
        assert_ne!(generate().secret, new.secret);
    }

    #[test]
    fn a_changed_character_breaks_the_checksum() {
        let secret = generate().secret;
        let mut chars: Vec<char> = secret.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let tampered: String = chars.into_iter().collect();
        assert!(!is_well_formed(&tampered));
        assert!(!is_well_formed("wg_short"));
        assert!(!is_well_formed("Bearer x"));
    }
}
