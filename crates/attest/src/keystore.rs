//! File-backed key store. Layout under the authority directory:
//! - `authority.json`: format version and, when a passphrase protects the
//!   store, the Argon2id parameters, salt and a check value;
//! - `keys/<name>.json`: one key per file (`name`, `keyid`, `publicKey`, and
//!   the secret seed: absent for imported public keys, plain Base64 without a
//!   passphrase, else XChaCha20-Poly1305 ciphertext under a key derived once
//!   per open with Argon2id (m = 19 MiB, t = 2, p = 1; OWASP's baseline), the
//!   key ID bound as associated data).
//!
//! Files are written atomically (temp file, fsync, rename, directory fsync),
//! secrets with mode 0600.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use omnitide_common::{Error, Result};
use omnitide_crypto::ed25519;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::json::{b64, unb64};

pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("f"), std::process::id()));
    let io = |e: std::io::Error| Error::io(format!("write {}", path.display()), &e);
    {
        let mut o = fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let _ = private;
        let mut f = o.open(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub name: String,
    pub keyid: String,
    pub public_key: [u8; 32],
    pub has_secret: bool,
}

struct Loaded {
    info: KeyInfo,
    /// Expanded once; signing needs no global lock (parallel issue_many).
    signer: Option<ed25519::Signer>,
}

pub struct KeyStore {
    dir: PathBuf,
    master: Option<Zeroizing<[u8; 32]>>,
    keys: Mutex<HashMap<String, std::sync::Arc<Loaded>>>,
}

const CHECK: &[u8] = b"omnitide-attest key store";
const ARGON_M: u32 = 19 * 1024;
const ARGON_T: u32 = 2;
const ARGON_P: u32 = 1;

fn derive(pass: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<Zeroizing<[u8; 32]>> {
    let params = argon2::Params::new(m, t, p, Some(32)).map_err(|e| Error::internal(format!("argon2 params: {e}")))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    a.hash_password_into(pass.as_bytes(), salt, &mut out[..]).map_err(|e| Error::internal(format!("argon2: {e}")))?;
    Ok(out)
}

fn seal(key: &[u8; 32], plain: &[u8], aad: &[u8]) -> Value {
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let c = XChaCha20Poly1305::new(key.into());
    let ct = c.encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad }).expect("encryption cannot fail");
    json!({"alg": "xchacha20poly1305", "nonce": b64(&nonce), "ciphertext": b64(&ct)})
}

fn open_sealed(key: &[u8; 32], v: &Value, aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let nonce = unb64(v.get("nonce")?.as_str()?)?;
    let ct = unb64(v.get("ciphertext")?.as_str()?)?;
    if nonce.len() != 24 {
        return None;
    }
    let c = XChaCha20Poly1305::new(key.into());
    c.decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad }).ok().map(Zeroizing::new)
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn check_name(name: &str) -> Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(Error::invalid_arg("name", format!("must be 1-64 characters of [A-Za-z0-9._-] not starting with '.', got '{name}'")))
    }
}

impl KeyStore {
    pub fn open(dir: &Path, passphrase: Option<&str>) -> Result<Self> {
        let io = |what: &str, e: std::io::Error| Error::io(format!("key store {}: {what}", dir.display()), &e);
        fs::create_dir_all(dir.join("keys")).map_err(|e| io("create", e))?;
        let meta_path = dir.join("authority.json");
        let master = match fs::read(&meta_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut meta = json!({"format": 1, "encryption": null});
                let master = match passphrase {
                    None => None,
                    Some(p) => {
                        let mut salt = [0u8; 16];
                        OsRng.fill_bytes(&mut salt);
                        let k = derive(p, &salt, ARGON_M, ARGON_T, ARGON_P)?;
                        meta["encryption"] = json!({
                            "kdf": "argon2id", "m": ARGON_M, "t": ARGON_T, "p": ARGON_P, "salt": b64(&salt),
                            "check": seal(&k, CHECK, b"check"),
                        });
                        Some(k)
                    }
                };
                write_atomic(&meta_path, &crate::json::canonical(&meta)?, false)?;
                master
            }
            Err(e) => return Err(io("read authority.json", e)),
            Ok(bytes) => {
                let meta = crate::json::parse_strict(&bytes).map_err(|e| Error::internal(format!("authority.json: {e}")))?;
                match (&meta["encryption"], passphrase) {
                    (Value::Null, None) => None,
                    (Value::Null, Some(_)) => {
                        return Err(Error::invalid_arg("passphrase", "this key store was created without a passphrase"))
                    }
                    (_, None) => return Err(Error::invalid_arg("passphrase", "this key store is encrypted; a passphrase is required")),
                    (enc, Some(p)) => {
                        let num = |k: &str| enc[k].as_u64().map(|x| x as u32).ok_or_else(|| Error::internal(format!("authority.json: encryption.{k}")));
                        let salt = enc["salt"].as_str().and_then(unb64).ok_or_else(|| Error::internal("authority.json: salt"))?;
                        let k = derive(p, &salt, num("m")?, num("t")?, num("p")?)?;
                        match open_sealed(&k, &enc["check"], b"check") {
                            Some(c) if c.as_slice() == CHECK => Some(k),
                            _ => return Err(Error::invalid_arg("passphrase", "wrong passphrase")),
                        }
                    }
                }
            }
        };
        Ok(Self { dir: dir.to_owned(), master, keys: Mutex::new(HashMap::new()) })
    }

    pub fn encrypted(&self) -> bool {
        self.master.is_some()
    }

    fn key_path(&self, name: &str) -> PathBuf {
        self.dir.join("keys").join(format!("{name}.json"))
    }

    fn store(&self, name: &str, pk: &[u8; 32], secret: Option<&[u8; 32]>) -> Result<KeyInfo> {
        check_name(name)?;
        let path = self.key_path(name);
        if path.exists() {
            return Err(Error::invalid_arg("name", format!("a key named '{name}' already exists")));
        }
        let keyid = crate::keyid(pk);
        let sec = match (secret, &self.master) {
            (None, _) => Value::Null,
            (Some(s), None) => json!({"plain": b64(s)}),
            (Some(s), Some(m)) => seal(m, s, keyid.as_bytes()),
        };
        let doc = json!({"name": name, "keyid": keyid, "publicKey": b64(pk), "secret": sec});
        write_atomic(&path, &crate::json::canonical(&doc)?, true)?;
        let info = KeyInfo { name: name.into(), keyid, public_key: *pk, has_secret: secret.is_some() };
        let loaded = Loaded { info: info.clone(), signer: secret.map(|s| ed25519::Signer::new(s)).transpose()? };
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).insert(name.into(), std::sync::Arc::new(loaded));
        Ok(info)
    }

    pub fn create_key(&self, name: &str) -> Result<KeyInfo> {
        let (sk, pk) = ed25519::generate_keypair();
        let sk = Zeroizing::new(sk);
        self.store(name, &pk, Some(&sk))
    }

    pub fn import_public_key(&self, name: &str, public_key: &[u8]) -> Result<KeyInfo> {
        let pk = omnitide_common::fixed::<32>("publicKey", public_key)?;
        self.store(name, pk, None)
    }

    fn load(&self, name: &str) -> Result<std::sync::Arc<Loaded>> {
        check_name(name)?;
        if let Some(l) = self.keys.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(l.clone());
        }
        let bytes = match fs::read(self.key_path(name)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::invalid_arg("name", format!("no key named '{name}'")))
            }
            Err(e) => return Err(Error::io(format!("read key '{name}'"), &e)),
        };
        let corrupt = |w: &str| Error::internal(format!("key file '{name}': {w}"));
        let doc = crate::json::parse_strict(&bytes).map_err(|e| corrupt(&e))?;
        let pk: [u8; 32] = doc["publicKey"].as_str().and_then(unb64).and_then(|b| b.try_into().ok()).ok_or_else(|| corrupt("publicKey"))?;
        let keyid = crate::keyid(&pk);
        if doc["keyid"].as_str() != Some(keyid.as_str()) {
            return Err(corrupt("keyid does not match publicKey"));
        }
        let secret = match (&doc["secret"], &self.master) {
            (Value::Null, _) => None,
            (s, _) if s.get("plain").is_some() => {
                if self.master.is_some() {
                    return Err(corrupt("unencrypted secret in an encrypted store"));
                }
                let b = s["plain"].as_str().and_then(unb64).map(Zeroizing::new).ok_or_else(|| corrupt("secret"))?;
                Some(Zeroizing::new(<[u8; 32]>::try_from(b.as_slice()).map_err(|_| corrupt("secret length"))?))
            }
            (_, None) => return Err(corrupt("encrypted secret but the store has no passphrase")),
            (s, Some(m)) => {
                let b = open_sealed(m, s, keyid.as_bytes()).ok_or_else(|| corrupt("secret does not decrypt (tampered?)"))?;
                Some(Zeroizing::new(<[u8; 32]>::try_from(b.as_slice()).map_err(|_| corrupt("secret length"))?))
            }
        };
        if let Some(s) = &secret {
            if ed25519::public_key_from_secret(&s[..])? != pk {
                return Err(corrupt("secret does not match publicKey"));
            }
        }
        let signer = secret.as_ref().map(|s| ed25519::Signer::new(&s[..])).transpose()?;
        let l = std::sync::Arc::new(Loaded { info: KeyInfo { name: name.into(), keyid, public_key: pk, has_secret: secret.is_some() }, signer });
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).insert(name.into(), l.clone());
        Ok(l)
    }

    pub fn info(&self, name: &str) -> Result<KeyInfo> {
        Ok(self.load(name)?.info.clone())
    }

    pub fn export_public_key(&self, name: &str) -> Result<[u8; 32]> {
        Ok(self.load(name)?.info.public_key)
    }

    /// Signs `message` with the named key. There is no way to pass a public key.
    pub fn sign(&self, name: &str, message: &[u8]) -> Result<(String, [u8; 64])> {
        let l = self.load(name)?;
        let s = l.signer.as_ref().ok_or_else(|| Error::invalid_arg("signer", format!("key '{name}' has no secret key (public key only)")))?;
        Ok((l.info.keyid.clone(), s.sign(message)))
    }

    /// The authority's own signing secret `name` (e.g. the audit log's
    /// checkpoint key), created on first use, stored like user keys (encrypted
    /// when the store is) under `system/`, never listed or usable as a signer.
    pub fn system_secret(&self, name: &str) -> Result<Zeroizing<[u8; 32]>> {
        check_name(name)?;
        let dir = self.dir.join("system");
        let path = dir.join(format!("{name}.json"));
        let aad = format!("system:{name}");
        match fs::read(&path) {
            Ok(bytes) => {
                let corrupt = |w: &str| Error::internal(format!("system key '{name}': {w}"));
                let doc = crate::json::parse_strict(&bytes).map_err(|e| corrupt(&e))?;
                let raw = match (&doc["secret"], &self.master) {
                    (s, None) => s["plain"].as_str().and_then(unb64).map(Zeroizing::new).ok_or_else(|| corrupt("secret"))?,
                    (s, Some(m)) => open_sealed(m, s, aad.as_bytes()).ok_or_else(|| corrupt("secret does not decrypt"))?,
                };
                Ok(Zeroizing::new(<[u8; 32]>::try_from(raw.as_slice()).map_err(|_| corrupt("secret length"))?))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&dir).map_err(|e| Error::io("create system key dir", &e))?;
                let (sk, pk) = ed25519::generate_keypair();
                let sk = Zeroizing::new(sk);
                let sec = match &self.master {
                    None => json!({"plain": b64(&sk[..])}),
                    Some(m) => seal(m, &sk[..], aad.as_bytes()),
                };
                let doc = json!({"name": name, "publicKey": b64(&pk), "secret": sec});
                write_atomic(&path, &crate::json::canonical(&doc)?, true)?;
                Ok(sk)
            }
            Err(e) => Err(Error::io(format!("read system key '{name}'"), &e)),
        }
    }

    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        let rd = fs::read_dir(self.dir.join("keys")).map_err(|e| Error::io("list keys", &e))?;
        for e in rd.flatten() {
            let n = e.file_name();
            let Some(n) = n.to_str().and_then(|n| n.strip_suffix(".json")) else { continue };
            if valid_name(n) {
                out.push(self.info(n)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_at_rest_and_passphrase_checked() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KeyStore::open(dir.path(), Some("correct horse")).unwrap();
        let info = ks.create_key("issuer").unwrap();
        let (kid, sig) = ks.sign("issuer", b"m").unwrap();
        assert_eq!(kid, info.keyid);
        drop(ks);
        let raw = fs::read_to_string(dir.path().join("keys/issuer.json")).unwrap();
        assert!(raw.contains("ciphertext") && !raw.contains("plain"));
        assert_eq!(KeyStore::open(dir.path(), Some("wrong")).err().unwrap().message, "passphrase: wrong passphrase");
        assert!(KeyStore::open(dir.path(), None).is_err());
        let ks = KeyStore::open(dir.path(), Some("correct horse")).unwrap();
        assert_eq!(ks.sign("issuer", b"m").unwrap().1, sig);
        assert!(ks.create_key("issuer").is_err());
        assert!(ks.create_key("../x").is_err());
        ks.import_public_key("peer", &info.public_key).unwrap();
        assert!(ks.sign("peer", b"m").unwrap_err().message.contains("no secret key"));
        assert_eq!(ks.export_public_key("peer").unwrap(), info.public_key);
        assert_eq!(ks.list().unwrap().len(), 2);
    }

    #[test]
    fn plain_store_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KeyStore::open(dir.path(), None).unwrap();
        let info = ks.create_key("a").unwrap();
        drop(ks);
        assert!(KeyStore::open(dir.path(), Some("x")).is_err());
        let ks = KeyStore::open(dir.path(), None).unwrap();
        assert_eq!(ks.info("a").unwrap(), info);
    }
}
