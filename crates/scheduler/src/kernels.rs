//! Native kernels run on the scheduler's native pool without touching JS.

use std::path::PathBuf;

use omnitide_common::Result;
use omnitide_crypto::{blake3, ed25519};
use rayon::prelude::*;

use crate::Core;

/// BLAKE3 of many files, one native task per file.
pub fn hash_files(core: &Core, paths: &[PathBuf]) -> Vec<Result<Vec<u8>>> {
    let opts = blake3::FileOptions { parallel: Some(false), ..Default::default() };
    core.kernel_pool().install(|| paths.par_iter().with_max_len(1).map(|p| blake3::hash_file(p, &opts)).collect())
}

/// BLAKE3 of many in-memory items (packed, `ends[i]` = end offset of item i).
pub fn hash_many(core: &Core, data: &[u8], ends: &[u32], out: &mut [u8]) -> Result<()> {
    core.kernel_pool().install(|| blake3::hash_many_packed(data, ends, out))
}

/// Batch Ed25519 verification on the scheduler's pool.
pub fn verify_batch(core: &Core, items: &[ed25519::Item<'_>], mode: ed25519::Mode) -> Result<Vec<bool>> {
    core.kernel_pool().install(|| ed25519::verify_batch(items, mode, true))
}

/// Runs `n` empty native tasks, each spawned individually on the pool; used to
/// measure per-task overhead. Returns the number executed.
pub fn noop(core: &Core, n: usize) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = AtomicUsize::new(0);
    core.kernel_pool().install(|| {
        (0..n).into_par_iter().with_max_len(1).for_each(|i| {
            std::hint::black_box(i);
            count.fetch_add(1, Ordering::Relaxed);
        })
    });
    count.into_inner()
}
