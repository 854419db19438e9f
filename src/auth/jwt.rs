//! People's session tokens: JWTs whose `sub` is a user id.
//!
//! The algorithm is pinned by configuration (HS256 with a shared secret, or
//! RS256/EdDSA with a public key); `exp`, `iss`, `aud` and `sub` are required
//! and checked, `nbf` is honoured when present. Claims are typed, so a
//! string-typed `exp` is refused rather than skipped (CVE-2026-25537).

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{JwtAlgorithm, JwtConfig, JwtKey};

/// The claims workgate reads. Everything else in a token is ignored: roles
/// and scope come from the database.
#[derive(Debug, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
}

#[derive(Debug, Serialize)]
struct MintedClaims<'a> {
    sub: &'a str,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// Why a token was refused; logged, never shown to the caller.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JwtError(#[from] jsonwebtoken::errors::Error);

pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    /// Builds the verifier. The key was checked when the configuration was
    /// read, so failure here means a configuration bug.
    pub fn new(config: &JwtConfig) -> anyhow::Result<Self> {
        let (algorithm, key) = match &config.key {
            JwtKey::Hmac(secret) => (Algorithm::HS256, DecodingKey::from_secret(secret.expose())),
            JwtKey::Public { algorithm, pem } => (to_algorithm(*algorithm), decoding_key(*algorithm, pem)?),
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = config.leeway.as_secs();
        Ok(Self { key, validation })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        Ok(jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)?.claims)
    }
}

/// Mints an HS256 token for `user_id` (the `token` command and demo mode).
pub fn mint_hs256(config: &JwtConfig, user_id: &str, ttl: Duration) -> anyhow::Result<String> {
    let JwtKey::Hmac(secret) = &config.key else {
        anyhow::bail!("tokens can be minted only with an HS256 secret (WORKGATE_JWT_SECRET)");
    };
    let iat = jsonwebtoken::get_current_timestamp();
    let claims =
        MintedClaims { sub: user_id, iss: &config.issuer, aud: &config.audience, iat, exp: iat + ttl.as_secs() };
    Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.expose()))?)
}

/// Checks that `pem` is a usable public key for `algorithm`; the message
/// names what is wrong.
pub fn check_public_key(algorithm: JwtAlgorithm, pem: &str) -> Result<(), String> {
    decoding_key(algorithm, pem).map(|_| ()).map_err(|e| e.to_string())
}

fn decoding_key(algorithm: JwtAlgorithm, pem: &str) -> anyhow::Result<DecodingKey> {
    let key = match algorithm {
        JwtAlgorithm::Rs256 => DecodingKey::from_rsa_pem(pem.as_bytes()),
        JwtAlgorithm::EdDsa => DecodingKey::from_ed_pem(pem.as_bytes()),
        JwtAlgorithm::Hs256 => anyhow::bail!("HS256 uses a shared secret, not a public key"),
    };
    key.map_err(|e| anyhow::anyhow!("not a valid {algorithm:?} public key in PEM ({e})"))
}

fn to_algorithm(algorithm: JwtAlgorithm) -> Algorithm {
    match algorithm {
        JwtAlgorithm::Hs256 => Algorithm::HS256,
        JwtAlgorithm::Rs256 => Algorithm::RS256,
        JwtAlgorithm::EdDsa => Algorithm::EdDSA,
    }
}
