//! File-backed key store. Layout under the authority directory:
//! - `authority.json`: format version and, when a passphrase protects the
//!   store, the Argon2id parameters, salt and a check value;
//! - `keys/<name>.json`: one key per file (`name`, `keyid`, `publicKey`, and
//!   the secret seed: absent for imported public keys, else XChaCha20-Poly1305
//!   ciphertext under a key derived once per open with Argon2id (m = 19 MiB,
//!   t = 2, p = 1; OWASP's baseline), the key ID bound as associated data;
//!   plain Base64 only in a store created with `insecure_plaintext`);
//! - `system/<name>.json`: the authority's own secrets (the audit log key).
//!
//! Secrets are encrypted by default: opening without a passphrase needs the
//! explicit `insecure_plaintext` (tests). [`KeyStore::reencrypt`] encrypts a
//! plaintext store or changes the passphrase, crash-safely: the new files are
//! written under `rekey-<salt>/`, `authority.json` is replaced (the commit
//! point), then the files are moved in; `open` finishes or discards an
//! interrupted re-encryption.
//!
//! Directories are created 0700 and files 0600 whatever the umask, and
//! existing ones are tightened on open. Files are written atomically (temp
//! file, fsync, rename, directory fsync).

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

/// Writes `bytes` to `path` atomically with mode 0600 (whatever the umask).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("f"), std::process::id()));
    let io = |e: std::io::Error| Error::io(format!("write {}", path.display()), &e);
    {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
        f.set_permissions(fs::Permissions::from_mode(0o600)).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates `dir` (and parents) and sets it to 0700 whatever the umask.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let io = |e: std::io::Error| Error::io(format!("create {}", dir.display()), &e);
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)
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
    !name.is_empty() && name.len() <= 64 && !name.starts_with('.') && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn check_name(name: &str) -> Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(Error::invalid_arg("name", format!("must be 1-64 characters of [A-Za-z0-9._-] not starting with '.', got '{name}'")))
    }
}

fn salt_of(meta: &Value) -> Option<String> {
    meta["encryption"]["salt"].as_str().map(|s| hex::encode(unb64(s).unwrap_or_default()))
}

fn read_meta(dir: &Path) -> Result<Option<Value>> {
    match fs::read(dir.join("authority.json")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("key store {}: read authority.json", dir.display()), &e)),
        Ok(bytes) => crate::json::parse_strict(&bytes).map(Some).map_err(|e| Error::internal(format!("authority.json: {e}"))),
    }
}

/// The master key of an existing store's metadata, checked against `passphrase`.
fn unlock(meta: &Value, passphrase: Option<&str>, insecure_plaintext: bool) -> Result<Option<Zeroizing<[u8; 32]>>> {
    match (&meta["encryption"], passphrase) {
        (Value::Null, None) if insecure_plaintext => Ok(None),
        (Value::Null, None) => Err(Error::invalid_arg(
            "passphrase",
            "this key store holds unencrypted secret keys; encrypt it (Authority.reencrypt, `omnitide attest encrypt`) or open it with insecurePlaintext",
        )),
        (Value::Null, Some(_)) => Err(Error::invalid_arg(
            "passphrase",
            "this key store was created without a passphrase; encrypt it first (Authority.reencrypt, `omnitide attest encrypt`)",
        )),
        (_, None) => Err(Error::invalid_arg("passphrase", "this key store is encrypted; a passphrase is required")),
        (enc, Some(p)) => {
            let num = |k: &str| enc[k].as_u64().map(|x| x as u32).ok_or_else(|| Error::internal(format!("authority.json: encryption.{k}")));
            let salt = enc["salt"].as_str().and_then(unb64).ok_or_else(|| Error::internal("authority.json: salt"))?;
            let k = derive(p, &salt, num("m")?, num("t")?, num("p")?)?;
            match open_sealed(&k, &enc["check"], b"check") {
                Some(c) if c.as_slice() == CHECK => Ok(Some(k)),
                _ => Err(Error::invalid_arg("passphrase", "wrong passphrase")),
            }
        }
    }
}

/// A fresh `encryption` block and master key for `passphrase`.
fn new_encryption(passphrase: &str) -> Result<(Value, Zeroizing<[u8; 32]>)> {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let k = derive(passphrase, &salt, ARGON_M, ARGON_T, ARGON_P)?;
    let enc = json!({
        "kdf": "argon2id", "m": ARGON_M, "t": ARGON_T, "p": ARGON_P, "salt": b64(&salt),
        "check": seal(&k, CHECK, b"check"),
    });
    Ok((enc, k))
}

/// Finishes (the metadata names its salt) or discards an interrupted re-encryption.
fn settle_rekey(dir: &Path, meta: &Value) -> Result<()> {
    let io = |what: String, e: std::io::Error| Error::io(what, &e);
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(salt) = name.strip_prefix("rekey-") else {
            continue;
        };
        let staged = e.path();
        if Some(salt.to_string()) == salt_of(meta) {
            for sub in ["keys", "system"] {
                private_dir(&dir.join(sub))?;
                if let Ok(files) = fs::read_dir(staged.join(sub)) {
                    for f in files.flatten() {
                        fs::rename(f.path(), dir.join(sub).join(f.file_name()))
                            .map_err(|e| io(format!("re-encrypt: move {}", f.path().display()), e))?;
                    }
                }
            }
        }
        fs::remove_dir_all(&staged).map_err(|e| io(format!("re-encrypt: remove {}", staged.display()), e))?;
    }
    Ok(())
}

impl KeyStore {
    /// Opens (creating) the store. Secrets are encrypted under `passphrase`;
    /// without one, `insecure_plaintext` must be set explicitly.
    pub fn open(dir: &Path, passphrase: Option<&str>, insecure_plaintext: bool) -> Result<Self> {
        private_dir(dir)?;
        private_dir(&dir.join("keys"))?;
        let meta_path = dir.join("authority.json");
        let master = match read_meta(dir)? {
            None => {
                let mut meta = json!({"format": 1, "encryption": null});
                let master = match passphrase {
                    None if insecure_plaintext => None,
                    None => {
                        return Err(Error::invalid_arg(
                            "passphrase",
                            "required: secret keys are encrypted at rest (give a passphrase, or insecurePlaintext to store them unencrypted, e.g. in tests)",
                        ))
                    }
                    Some(p) => {
                        let (enc, k) = new_encryption(p)?;
                        meta["encryption"] = enc;
                        Some(k)
                    }
                };
                write_atomic(&meta_path, &crate::json::canonical(&meta)?)?;
                master
            }
            Some(meta) => {
                let k = unlock(&meta, passphrase, insecure_plaintext)?;
                settle_rekey(dir, &meta)?;
                k
            }
        };
        if dir.join("system").exists() {
            private_dir(&dir.join("system"))?;
        }
        Ok(Self { dir: dir.to_owned(), master, keys: Mutex::new(HashMap::new()) })
    }

    /// Encrypts every secret of the store in `dir` under `new_passphrase`
    /// (from plaintext when `passphrase` is `None`, else re-keying). The
    /// caller must hold the directory exclusively.
    pub fn reencrypt(dir: &Path, passphrase: Option<&str>, new_passphrase: &str) -> Result<()> {
        if new_passphrase.is_empty() {
            return Err(Error::invalid_arg("newPassphrase", "must not be empty"));
        }
        if read_meta(dir)?.is_none() {
            return Err(Error::invalid_arg("dir", format!("{} holds no key store (no authority.json)", dir.display())));
        }
        let old = Self::open(dir, passphrase, passphrase.is_none())?;
        let mut meta = read_meta(dir)?.ok_or_else(|| Error::internal("authority.json vanished"))?;
        let (enc, k) = new_encryption(new_passphrase)?;
        let staged = dir.join(format!("rekey-{}", hex::encode(unb64(enc["salt"].as_str().unwrap_or_default()).unwrap_or_default())));
        for sub in ["keys", "system"] {
            let Ok(files) = fs::read_dir(dir.join(sub)) else {
                continue;
            };
            private_dir(&staged.join(sub))?;
            for f in files.flatten() {
                let fname = f.file_name().to_string_lossy().into_owned();
                let Some(name) = fname.strip_suffix(".json").filter(|n| valid_name(n)) else {
                    continue;
                };
                let bytes = fs::read(f.path()).map_err(|e| Error::io(format!("re-encrypt: read {sub}/{fname}"), &e))?;
                let mut doc = crate::json::parse_strict(&bytes).map_err(|e| Error::internal(format!("{sub}/{fname}: {e}")))?;
                let aad = if sub == "keys" { doc["keyid"].as_str().unwrap_or_default().to_string() } else { format!("system:{name}") };
                if !doc["secret"].is_null() {
                    let secret = old
                        .open_secret(&doc["secret"], aad.as_bytes())
                        .ok_or_else(|| Error::internal(format!("{sub}/{fname}: secret does not decrypt")))?;
                    doc["secret"] = seal(&k, &secret, aad.as_bytes());
                }
                write_atomic(&staged.join(sub).join(&fname), &crate::json::canonical(&doc)?)?;
            }
        }
        meta["encryption"] = enc;
        // The commit point: from here on `open` moves the staged files in.
        write_atomic(&dir.join("authority.json"), &crate::json::canonical(&meta)?)?;
        settle_rekey(dir, &meta)
    }

    fn open_secret(&self, sealed: &Value, aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        match (&self.master, sealed.get("plain")) {
            (None, Some(p)) => p.as_str().and_then(unb64).map(Zeroizing::new),
            (Some(m), None) => open_sealed(m, sealed, aad),
            _ => None,
        }
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
        write_atomic(&path, &crate::json::canonical(&doc)?)?;
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::invalid_arg("name", format!("no key named '{name}'"))),
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
        let l = std::sync::Arc::new(Loaded {
            info: KeyInfo { name: name.into(), keyid, public_key: pk, has_secret: secret.is_some() },
            signer,
        });
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
        let s =
            l.signer.as_ref().ok_or_else(|| Error::invalid_arg("signer", format!("key '{name}' has no secret key (public key only)")))?;
        Ok((l.info.keyid.clone(), s.sign(message)?))
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
                private_dir(&dir)?;
                let (sk, pk) = ed25519::generate_keypair();
                let sk = Zeroizing::new(sk);
                let sec = match &self.master {
                    None => json!({"plain": b64(&sk[..])}),
                    Some(m) => seal(m, &sk[..], aad.as_bytes()),
                };
                let doc = json!({"name": name, "publicKey": b64(&pk), "secret": sec});
                write_atomic(&path, &crate::json::canonical(&doc)?)?;
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
            let Some(n) = n.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
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
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn encrypted_at_rest_and_passphrase_checked() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KeyStore::open(dir.path(), Some("correct horse"), false).unwrap();
        let info = ks.create_key("issuer").unwrap();
        let (kid, sig) = ks.sign("issuer", b"m").unwrap();
        assert_eq!(kid, info.keyid);
        drop(ks);
        let raw = fs::read_to_string(dir.path().join("keys/issuer.json")).unwrap();
        assert!(raw.contains("ciphertext") && !raw.contains("plain"));
        assert_eq!(KeyStore::open(dir.path(), Some("wrong"), false).err().unwrap().message, "passphrase: wrong passphrase");
        assert!(KeyStore::open(dir.path(), None, true).is_err());
        let ks = KeyStore::open(dir.path(), Some("correct horse"), false).unwrap();
        assert_eq!(ks.sign("issuer", b"m").unwrap().1, sig);
        assert!(ks.create_key("issuer").is_err());
        assert!(ks.create_key("../x").is_err());
        ks.import_public_key("peer", &info.public_key).unwrap();
        assert!(ks.sign("peer", b"m").unwrap_err().message.contains("no secret key"));
        assert_eq!(ks.export_public_key("peer").unwrap(), info.public_key);
        assert_eq!(ks.list().unwrap().len(), 2);
    }

    #[test]
    fn a_passphrase_is_required_unless_plaintext_is_explicit() {
        let dir = tempfile::tempdir().unwrap();
        let e = KeyStore::open(dir.path(), None, false).err().unwrap();
        assert!(e.message.starts_with("passphrase: required"), "{}", e.message);
        assert!(!dir.path().join("authority.json").exists(), "nothing half-created");
        let ks = KeyStore::open(dir.path(), None, true).unwrap();
        let info = ks.create_key("a").unwrap();
        drop(ks);
        // A plaintext store is not opened silently either.
        assert!(KeyStore::open(dir.path(), None, false).err().unwrap().message.contains("unencrypted"));
        assert!(KeyStore::open(dir.path(), Some("x"), false).is_err());
        let ks = KeyStore::open(dir.path(), None, true).unwrap();
        assert_eq!(ks.info("a").unwrap(), info);
    }

    #[test]
    fn dirs_0700_and_files_0600_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("auth");
        let old = unsafe { libc_umask(0) };
        let ks = KeyStore::open(&root, Some("pw"), false);
        unsafe { libc_umask(old) };
        let ks = ks.unwrap();
        ks.create_key("k").unwrap();
        ks.system_secret("audit-log").unwrap();
        for d in [root.clone(), root.join("keys"), root.join("system")] {
            assert_eq!(mode(&d), 0o700, "{}", d.display());
        }
        for f in [root.join("authority.json"), root.join("keys/k.json"), root.join("system/audit-log.json")] {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
        // A store created loosely before is tightened on open.
        fs::set_permissions(root.join("keys"), fs::Permissions::from_mode(0o777)).unwrap();
        drop(KeyStore::open(&root, Some("pw"), false).unwrap());
        assert_eq!(mode(&root.join("keys")), 0o700);
    }

    extern "C" {
        #[link_name = "umask"]
        fn libc_umask(mask: u32) -> u32;
    }

    #[test]
    fn a_plaintext_store_is_encrypted_later_and_rekeyed() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KeyStore::open(dir.path(), None, true).unwrap();
        let info = ks.create_key("k").unwrap();
        let sys = ks.system_secret("audit-log").unwrap();
        let sig = ks.sign("k", b"m").unwrap().1;
        drop(ks);
        KeyStore::reencrypt(dir.path(), None, "pw1").unwrap();
        for f in ["keys/k.json", "system/audit-log.json"] {
            let raw = fs::read_to_string(dir.path().join(f)).unwrap();
            assert!(raw.contains("ciphertext") && !raw.contains("plain"), "{f}: {raw}");
        }
        assert!(KeyStore::open(dir.path(), None, true).is_err());
        let ks = KeyStore::open(dir.path(), Some("pw1"), false).unwrap();
        assert_eq!((ks.info("k").unwrap(), ks.sign("k", b"m").unwrap().1), (info.clone(), sig));
        assert_eq!(*ks.system_secret("audit-log").unwrap(), *sys);
        drop(ks);
        KeyStore::reencrypt(dir.path(), Some("pw1"), "pw2").unwrap();
        assert!(KeyStore::open(dir.path(), Some("pw1"), false).is_err());
        assert_eq!(KeyStore::open(dir.path(), Some("pw2"), false).unwrap().sign("k", b"m").unwrap().1, sig);
        // An interrupted re-encryption (staged files, metadata not replaced) is discarded.
        let stale = dir.path().join("rekey-00ff/keys");
        fs::create_dir_all(&stale).unwrap();
        fs::write(stale.join("k.json"), b"{}").unwrap();
        let ks = KeyStore::open(dir.path(), Some("pw2"), false).unwrap();
        assert!(!dir.path().join("rekey-00ff").exists());
        assert_eq!(ks.sign("k", b"m").unwrap().1, sig);
    }
}
