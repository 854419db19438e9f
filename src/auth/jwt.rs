//! People's session tokens: JWTs whose `sub` is a user id.
//!
//! The algorithm is pinned by configuration (HS256 with a shared secret, or
//! RS256/EdDSA with a public key); `exp`, `iss`, `aud` and `sub` are required
//! and checked, `nbf` is honoured when present. Claims are typed, so a
//! string-typed `exp` is refused rather than skipped (CVE-2026-25537).
//!
//! Keys rotate through a JWKS file (`WORKGATE_JWT_PUBLIC_KEY` naming a JSON
//! key set): each token names its key by `kid`, a token without one or with
//! a `kid` the set does not hold is refused. The file is looked at again
//! (its time and size) at most every second, and at once for a `kid` not
//! held; when it changed it is read again. So an issuer's new key works as
//! soon as it is in the file, and a key taken out stops working within a
//! second, without a restart.
//!
//! A token verified once is not verified again while it is kept
//! ([`Verified`]): its signature, `iss`, `aud` and `sub` cannot change.
//! What can is checked at each use, as a full check would: `exp` and
//! `nbf` against the clock, with the same leeway; and the key set, whose
//! every new reading makes each kept token be verified again with it. A
//! session's requests all carry the same token; its signature (HMAC, RSA
//! or Ed25519) and its claims' parsing were about a twentieth of a
//! person's order detail in the gateway (BENCHMARKS.md).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lru::LruCache;
use serde::{Deserialize, Serialize};

use crate::config::{JwtAlgorithm, JwtConfig, JwtKey};

/// The claims workgate reads. Everything else in a token is ignored: roles
/// and scope come from the database.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    /// Checked by `jsonwebtoken` when present; kept to check it again
    /// for a token verified before.
    #[serde(default, deserialize_with = "numeric_date")]
    nbf: Option<u64>,
}

/// A numeric date as `jsonwebtoken` reads `nbf`: whole seconds, or a
/// decimal rounded to them (a negative or non-numeric one it has refused
/// before this is read).
fn numeric_date<'de, D: serde::Deserializer<'de>>(dates: D) -> Result<Option<u64>, D::Error> {
    let seconds: Option<f64> = Option::deserialize(dates)?;
    Ok(seconds.map(|seconds| seconds.round() as u64))
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
pub enum JwtError {
    #[error("{0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("the token names no key (kid); keys are selected by kid")]
    NoKeyId,
    #[error("no key with kid {0:?}")]
    UnknownKeyId(String),
}

pub struct JwtVerifier {
    keys: Keys,
    validation: Validation,
    verified: Verified,
}

enum Keys {
    One(DecodingKey),
    /// A JWKS file's keys by `kid`.
    Set {
        path: PathBuf,
        algorithm: JwtAlgorithm,
        loaded: RwLock<KeySet>,
    },
}

/// A key set as read, and the file's state when it was.
struct KeySet {
    keys: HashMap<String, DecodingKey>,
    stamp: Option<(SystemTime, u64)>,
    /// When the file was last looked at.
    checked: Instant,
    /// How many times the file was read: a token verified with the keys
    /// of one reading is verified again after another.
    generation: u64,
}

impl KeySet {
    fn read(path: &Path, algorithm: JwtAlgorithm) -> anyhow::Result<Self> {
        let stamp = file_stamp(path);
        let text = std::fs::read_to_string(path)?;
        let keys = key_set(algorithm, &text).map_err(|problem| anyhow::anyhow!(problem))?;
        Ok(Self { keys, stamp, checked: Instant::now(), generation: 0 })
    }
}

/// When and how large the file last was, to notice a new version.
fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

impl JwtVerifier {
    /// Builds the verifier. The key was checked when the configuration was
    /// read, so failure here means a configuration bug.
    pub fn new(config: &JwtConfig) -> anyhow::Result<Self> {
        let (algorithm, keys) = match &config.key {
            JwtKey::Hmac(secret) => (Algorithm::HS256, Keys::One(DecodingKey::from_secret(secret.expose()))),
            JwtKey::Public { algorithm, pem } => (to_algorithm(*algorithm), Keys::One(decoding_key(*algorithm, pem)?)),
            JwtKey::KeySet { algorithm, path } => {
                let loaded = RwLock::new(KeySet::read(path, *algorithm)?);
                (to_algorithm(*algorithm), Keys::Set { path: path.clone(), algorithm: *algorithm, loaded })
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = config.leeway.as_secs();
        Ok(Self { keys, validation, verified: Verified::default() })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let generation = match &self.keys {
            Keys::One(_) => 0,
            Keys::Set { path, algorithm, loaded } => generation_now(path, *algorithm, loaded),
        };
        if let Some(seen) = self.verified.get(token, generation) {
            return self.in_time(seen);
        }
        let (claims, generation) = match &self.keys {
            Keys::One(key) => (jsonwebtoken::decode::<Claims>(token, key, &self.validation)?.claims, 0),
            Keys::Set { path, algorithm, loaded } => {
                let kid = jsonwebtoken::decode_header(token)?.kid.ok_or(JwtError::NoKeyId)?;
                let (key, generation) = key_by_id(path, *algorithm, loaded, &kid)?;
                (jsonwebtoken::decode::<Claims>(token, &key, &self.validation)?.claims, generation)
            }
        };
        self.verified.keep(token, &claims, generation);
        Ok(claims)
    }

    /// `claims` of a token verified before, if `exp` and `nbf` still
    /// admit it now: as `jsonwebtoken` checks them, with the same leeway.
    fn in_time(&self, claims: Claims) -> Result<Claims, JwtError> {
        let now = jsonwebtoken::get_current_timestamp();
        let (leeway, early) = (self.validation.leeway, self.validation.reject_tokens_expiring_in_less_than);
        if claims.exp.saturating_sub(early) < now.saturating_sub(leeway) {
            return Err(jsonwebtoken::errors::Error::from(ErrorKind::ExpiredSignature).into());
        }
        if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(jsonwebtoken::errors::Error::from(ErrorKind::ImmatureSignature).into());
        }
        Ok(claims)
    }
}

/// How many verified tokens are kept, the least recently used forgotten
/// first (as `graphql::documents` keeps documents): a token past its
/// `exp`, or verified with an earlier key set, is never found again, so
/// it is among the first to go.
const VERIFIED_KEPT: NonZeroUsize = NonZeroUsize::new(4096).unwrap();

/// A token longer than this is verified at every use, never kept: what is
/// kept (each token's text and its `sub`) stays under about 32 MiB
/// whatever an issuer puts in its tokens; session tokens are usually
/// under a kilobyte, 4,096 of them a few MiB.
const VERIFIED_LONGEST: usize = 4096;

/// Tokens verified before, by their whole text (a token that differs in
/// any byte is another), with their claims and the key set's generation
/// that verified them (0 for a single key).
struct Verified(Mutex<LruCache<Box<str>, (Claims, u64), foldhash::fast::RandomState>>);

impl Default for Verified {
    fn default() -> Self {
        Self(Mutex::new(LruCache::with_hasher(VERIFIED_KEPT, Default::default())))
    }
}

impl Verified {
    /// The claims of `token` if it was verified with the keys of
    /// `generation`.
    fn get(&self, token: &str, generation: u64) -> Option<Claims> {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (claims, of) = kept.get(token)?;
        (*of == generation).then(|| claims.clone())
    }

    /// Keeps `token`, verified with the keys of `generation`.
    fn keep(&self, token: &str, claims: &Claims, generation: u64) {
        if token.len() > VERIFIED_LONGEST {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.put(token.into(), (claims.clone(), generation));
    }
}

/// How often the key set's file is looked at for a new version (a token
/// naming an unknown `kid` looks at once).
const KEY_SET_CHECK_EVERY: Duration = Duration::from_secs(1);

/// The key `kid` of the set, and the set's generation, reading the file
/// again if it changed since.
fn key_by_id(
    path: &Path,
    algorithm: JwtAlgorithm,
    loaded: &RwLock<KeySet>,
    kid: &str,
) -> Result<(DecodingKey, u64), JwtError> {
    {
        let set = loaded.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = set.keys.get(kid)
            && set.checked.elapsed() < KEY_SET_CHECK_EVERY
        {
            return Ok((key.clone(), set.generation));
        }
    }
    let mut set = loaded.write().unwrap_or_else(PoisonError::into_inner);
    look_again(path, algorithm, &mut set);
    let key = set.keys.get(kid).cloned().ok_or_else(|| JwtError::UnknownKeyId(kid.to_owned()))?;
    Ok((key, set.generation))
}

/// The key set's generation now: the file read again if it changed since
/// it was last looked at, a second or more ago.
fn generation_now(path: &Path, algorithm: JwtAlgorithm, loaded: &RwLock<KeySet>) -> u64 {
    {
        let set = loaded.read().unwrap_or_else(PoisonError::into_inner);
        if set.checked.elapsed() < KEY_SET_CHECK_EVERY {
            return set.generation;
        }
    }
    let mut set = loaded.write().unwrap_or_else(PoisonError::into_inner);
    if set.checked.elapsed() >= KEY_SET_CHECK_EVERY {
        look_again(path, algorithm, &mut set);
    }
    set.generation
}

/// Reads the key set's file again if it changed since `set` was read.
fn look_again(path: &Path, algorithm: JwtAlgorithm, set: &mut KeySet) {
    if file_stamp(path) != set.stamp {
        match KeySet::read(path, algorithm) {
            Ok(fresh) => {
                tracing::info!(keys = fresh.keys.len(), "JWT key set read again");
                *set = KeySet { generation: set.generation + 1, ..fresh };
            }
            // The keys in hand stay; the broken file is reported.
            Err(e) => tracing::error!(error = %e, "JWT key set cannot be read; keeping the keys read before"),
        }
    }
    set.checked = Instant::now();
}

/// The keys of a JWKS document by `kid`, each usable for `algorithm`; the
/// message names what is wrong.
pub fn key_set(algorithm: JwtAlgorithm, text: &str) -> Result<HashMap<String, DecodingKey>, String> {
    use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS document ({e})"))?;
    let (kind, expected) = match algorithm {
        JwtAlgorithm::Rs256 => ("RSA", KeyAlgorithm::RS256),
        JwtAlgorithm::EdDsa => ("OKP (Ed25519)", KeyAlgorithm::EdDSA),
        JwtAlgorithm::Hs256 => return Err("HS256 uses a shared secret, not a key set".to_owned()),
    };
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone().ok_or("every key of the set needs a kid")?;
        let fits = matches!(
            (&jwk.algorithm, algorithm),
            (AlgorithmParameters::RSA(_), JwtAlgorithm::Rs256)
                | (AlgorithmParameters::OctetKeyPair(_), JwtAlgorithm::EdDsa)
        ) && jwk.common.key_algorithm.is_none_or(|a| a == expected);
        if !fits {
            return Err(format!("key {kid:?} is not an {kind} key for {algorithm:?}"));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key {kid:?} is not usable ({e})"))?;
        if keys.insert(kid.clone(), key).is_some() {
            return Err(format!("kid {kid:?} appears twice"));
        }
    }
    if keys.is_empty() {
        return Err("the key set holds no keys".to_owned());
    }
    Ok(keys)
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
