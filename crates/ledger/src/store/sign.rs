//! Signing: checkpoints of the current tree, proof bundles, and the explicit
//! rotation of the checkpoint signer.

use std::fs::OpenOptions;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use omnitide_common::{Error, Result};

use super::layout::{corrupt, io, sync_dir, write_atomic, CHECKPOINT, ROTATIONS};
use super::Ledger;
use crate::bundle::Bundle;
use crate::checkpoint::{self, Checkpoint, SignedCheckpoint};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Ledger {
    /// Signs a checkpoint of the current tree (after making it durable and
    /// checking it extends the last signed one) and stores it.
    pub fn checkpoint(&mut self) -> Result<SignedCheckpoint> {
        self.checkpoint_at(now_ms())
    }

    pub fn checkpoint_at(&mut self, timestamp_ms: u64) -> Result<SignedCheckpoint> {
        let signed = self.sign_tree(timestamp_ms)?;
        self.store_checkpoint(&signed)?;
        Ok(signed)
    }

    /// Signs the current tree; what is signed is made durable first.
    fn sign_tree(&mut self, timestamp_ms: u64) -> Result<SignedCheckpoint> {
        self.writable()?;
        let Some(signer) = &self.signer else {
            return Err(Error::invalid_arg("signer", "the ledger was opened without a signer; checkpoint() needs one"));
        };
        if let Some((prev, _)) = &self.last_checkpoint {
            if prev.size > self.size {
                return Err(corrupt(
                    self.size,
                    format!("refusing to sign: the log is shorter than the checkpoint signed at size {}", prev.size),
                ));
            }
            if self.root(Some(prev.size))? != prev.root_hash {
                return Err(self.inconsistent(prev));
            }
        }
        let cp = Checkpoint { origin: self.origin.clone(), size: self.size, root_hash: self.root(None)?, timestamp: Some(timestamp_ms) };
        let signed = cp.sign(&self.origin, signer)?;
        self.sync_files()?;
        Ok(signed)
    }

    fn store_checkpoint(&mut self, signed: &SignedCheckpoint) -> Result<()> {
        write_atomic(&self.dir, CHECKPOINT, signed.text.as_bytes())?;
        self.last_checkpoint = Some((signed.checkpoint.clone(), signed.text.clone()));
        Ok(())
    }

    /// Entry + inclusion proof + a checkpoint covering it. Uses the last
    /// signed checkpoint if it covers `index`; otherwise this SIGNS AND STORES
    /// a new checkpoint of the current tree (a write: it needs the signer and
    /// fsyncs), so the bundle always verifies under the ledger's current key.
    pub fn bundle(&mut self, index: u64) -> Result<Bundle> {
        self.check_index(index)?;
        let text = match &self.last_checkpoint {
            Some((cp, text)) if cp.size > index => text.clone(),
            _ => self.checkpoint()?.text,
        };
        self.bundle_with(index, text)
    }

    /// A bundle under the last stored checkpoint only (never signs): what a
    /// read-only follower can hand out.
    pub fn bundle_stored(&self, index: u64) -> Result<Bundle> {
        self.check_index(index)?;
        match &self.last_checkpoint {
            Some((cp, text)) if cp.size > index => self.bundle_with(index, text.clone()),
            Some((cp, _)) => Err(Error::invalid_arg(
                "index",
                format!("entry {index} is not covered by the last checkpoint (tree size {}); the writer must sign a newer one", cp.size),
            )),
            None => Err(Error::invalid_arg("index", "the ledger has no signed checkpoint yet")),
        }
    }

    fn bundle_with(&self, index: u64, text: String) -> Result<Bundle> {
        let cp = checkpoint::parse_unverified(&text)?;
        let entry = self.get(index)?;
        let proof = self.inclusion_proof(index, Some(cp.size))?;
        Ok(Bundle { hash: self.alg, index, tree_size: cp.size, entry, proof, checkpoint: text })
    }

    /// At open: the signer must be the key of the stored checkpoint, or the
    /// caller asked to rotate to it. A rotation signs the current tree with
    /// the new key and appends `{time, size, previousCheckpoint, checkpoint,
    /// publicKey}` to `rotations` (fsynced) before replacing `checkpoint`.
    pub(crate) fn check_signer(&mut self, rotate: bool) -> Result<()> {
        let (Some(signer), Some((cp, text))) = (&self.signer, &self.last_checkpoint) else {
            return Ok(());
        };
        let pk = signer.public_key();
        if checkpoint::verify(text, &pk, Some(&self.origin))?.valid {
            return Ok(());
        }
        if !rotate {
            return Err(Error::invalid_arg(
                "signer",
                format!(
                    "the last checkpoint (tree size {}) in {} is signed by a different key; open with the key that signed it, or set rotateSigner to rotate to this key (a checkpoint is signed with it and the rotation recorded in '{ROTATIONS}')",
                    cp.size,
                    self.dir.display()
                ),
            ));
        }
        let previous = text.clone();
        let now = now_ms();
        let signed = self.sign_tree(now)?;
        let record = serde_json::json!({
            "time": now,
            "size": signed.checkpoint.size,
            "previousCheckpoint": previous,
            "checkpoint": signed.text,
            "publicKey": STANDARD.encode(pk),
        });
        let path = self.dir.join(ROTATIONS);
        (|| -> std::io::Result<()> {
            let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
            f.write_all(format!("{record}\n").as_bytes())?;
            f.sync_all()
        })()
        .map_err(io(format!("dir: writing {}", path.display())))?;
        sync_dir(&self.dir)?;
        self.store_checkpoint(&signed)
    }
}
