//! The concept lattice: concepts (extent, intent) indexed by intent, with
//! the Hasse diagram kept as upper and lower cover lists.

use omnitide_common::{Error, Result};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::bits::{words_for, BitSlice, Bits};
use crate::context::Context;
use crate::intent_index::IntentIndex;
use crate::mine::{mine_flat, Concept, Mined};

#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Largest number of concepts before `ERR_OMNI_LIMIT`.
    pub limit: usize,
    /// Memory budget for the concepts in bytes (caps `limit` further).
    pub max_bytes: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { limit: 2_000_000, max_bytes: 1 << 30 }
    }
}

impl BuildOptions {
    /// The concept count the memory budget allows for this context shape.
    pub fn effective_limit(&self, ctx: &Context) -> usize {
        let per = 8 * (ctx.n_objects().div_ceil(64) + ctx.n_attributes().div_ceil(64)) + 96;
        self.limit.min(self.max_bytes / per).max(1)
    }
}

/// One group of attributes with the same candidate extent E_m in `compute_lower`.
pub(crate) struct Group {
    hash: u64,
    first: usize,
    same: usize,
    count: usize,
}

/// Buffers of `compute_lower_with`, reused across the concepts of one build.
#[derive(Default)]
pub(crate) struct LowerScratch {
    nz: Vec<usize>,
    groups: Vec<Group>,
    index: FxHashMap<u64, usize>,
    e: Bits,
    d: Bits,
    floor: Bits,
}

/// One concept's upper or lower covers. Most lists are short, so they live inline in the
/// list array (one cache line with the length) and only long ones on the heap: AddIntent and
/// the ancestor walk read a cover list per concept they touch, and a separate heap buffer per
/// list made each read two cache misses (smallvec rather than our own: it is the standard
/// inline-or-heap vector, already in the dependency tree). With smallvec's `union` feature a
/// list is 32 bytes, so two share a cache line and none straddles two (40 bytes without it).
pub(crate) type Covers = smallvec::SmallVec<[u32; 6]>;

/// A concept of a lattice, borrowed: its extent and intent are views into the lattice's arenas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConceptRef<'a> {
    pub extent: &'a BitSlice,
    pub intent: &'a BitSlice,
}

impl ConceptRef<'_> {
    /// An owned copy.
    pub fn to_concept(&self) -> Concept {
        Concept { extent: self.extent.to_bits(), intent: self.intent.to_bits() }
    }
}

#[derive(Clone, Debug)]
pub struct Lattice {
    pub(crate) ctx: Context,
    /// Number of concepts; concept `i` is stride `i` of the two arenas below.
    pub(crate) n_concepts: usize,
    /// Every extent back to back, `extent_stride` (= words for the object count) words each,
    /// and every intent likewise (`intent_stride` words). One arena per side instead of a
    /// heap buffer per set: a new concept costs no allocation, and AddIntent and the ancestor
    /// walk reach a concept's set in one cache miss instead of a header then a buffer.
    pub(crate) extents: Vec<u64>,
    pub(crate) extent_stride: usize,
    pub(crate) upper: Vec<Covers>,
    pub(crate) lower: Vec<Covers>,
    pub(crate) by_intent: IntentIndex,
    pub(crate) intents: Vec<u64>,
    pub(crate) intent_stride: usize,
    /// Scratch visit marks of `add_object`'s walk over the ancestors (reused between adds).
    pub(crate) walk_marks: Vec<u64>,
    pub(crate) walk_queue: Vec<u32>,
    /// AddIntent's scratch buffers, kept between adds (see `incremental::Pool`).
    pub(crate) add_pool: crate::incremental::Pool,
    pub(crate) limit: usize,
    /// The canonical basis, computed on first use and dropped on every update.
    pub(crate) basis: Option<Vec<crate::Implication>>,
}

impl Lattice {
    pub fn build(ctx: Context, opts: &BuildOptions) -> Result<Lattice> {
        let limit = opts.effective_limit(&ctx);
        let (work, classes) = ctx.clarify_objects();
        if work.n_objects() == ctx.n_objects() {
            let mined = mine_flat(&ctx, limit, 0)?;
            return Ok(Self::from_mined(ctx, mined, limit));
        }
        // Repeated rows: mine and link the clarified context (same intents,
        // same covers), then expand each extent to the original objects.
        let mined = mine_flat(&work, limit, 0)?;
        let mut l = Self::from_mined(work, mined, limit);
        let n = ctx.n_objects();
        // Each class's objects as its nonzero words only (word index, bits): a class holds a
        // few dozen objects scattered over `stride` words, so OR-ing whole member sets into
        // every extent touched mostly zero words.
        let members: Vec<Vec<(usize, u64)>> = classes
            .iter()
            .map(|c| {
                let set = Bits::from_indices(n, c.iter().map(|&g| g as usize));
                set.words().iter().enumerate().filter(|(_, w)| **w != 0).map(|(k, w)| (k, *w)).collect()
            })
            .collect();
        let stride = words_for(n);
        let mut extents = vec![0u64; stride * l.n_concepts];
        if stride > 0 {
            extents.par_chunks_mut(stride).enumerate().for_each(|(i, e)| {
                for k in BitSlice::new(l.extent_words(i as u32)).ones() {
                    for &(w, bits) in &members[k] {
                        e[w] |= bits;
                    }
                }
            });
        }
        l.extents = extents;
        l.extent_stride = stride;
        l.ctx = ctx;
        Ok(l)
    }

    /// The lattice of the mined concepts: their arenas become the lattice's as they are.
    pub(crate) fn from_mined(ctx: Context, mined: Mined, limit: usize) -> Lattice {
        let (extent_stride, intent_stride) = (words_for(ctx.n_objects()), words_for(ctx.n_attributes()));
        let Mined { arena, len } = mined;
        let mut l = Lattice {
            ctx,
            n_concepts: len,
            extents: arena.extents,
            extent_stride,
            intents: arena.intents,
            intent_stride,
            upper: Vec::new(),
            lower: Vec::new(),
            by_intent: IntentIndex::build(0, std::iter::empty()),
            walk_marks: Vec::new(),
            walk_queue: Vec::new(),
            add_pool: Default::default(),
            limit,
            basis: None,
        };
        l.reindex();
        let lower: Vec<Covers> = if crate::covers_small::fits(&l) {
            crate::covers_small::lower_covers(&l).into_iter().map(Covers::from_vec).collect()
        } else if l.ctx.n_objects() * l.ctx.n_attributes() <= crate::mine::SEQUENTIAL_CELLS {
            let mut s = LowerScratch::default();
            (0..l.len()).map(|i| l.compute_lower_with(i, &mut s)).collect()
        } else {
            (0..l.len()).into_par_iter().with_min_len(64).map_init(LowerScratch::default, |s, i| l.compute_lower_with(i, s)).collect()
        };
        l.lower = lower;
        l.upper = vec![Covers::new(); l.len()];
        for (i, ls) in l.lower.iter().enumerate() {
            for &j in ls {
                l.upper[j as usize].push(i as u32);
            }
        }
        l
    }

    /// Lower covers of concept `i` (Lindig's neighbour test on the attribute
    /// side): for each attribute m outside the intent B the candidate extent
    /// is E_m = A ∩ m'. Grouping the attributes by E_m, a group is a cover
    /// exactly when it holds every attribute of E_m' \ B (no other attribute
    /// gives a strictly larger extent), so one closure per distinct extent
    /// decides it, and the intent index gives the concept id.
    pub(crate) fn compute_lower(&self, i: usize) -> Covers {
        self.compute_lower_with(i, &mut LowerScratch::default())
    }

    /// `compute_lower` with caller-owned buffers (reused across the concepts of a build).
    /// Returns the covers inline (most concepts have few): no heap list per concept.
    pub(crate) fn compute_lower_with(&self, i: usize, s: &mut LowerScratch) -> Covers {
        let ConceptRef { extent: a, intent: b } = self.concept(i);
        let aw = a.words();
        let LowerScratch { nz, groups, index, e, d, floor } = s;
        nz.clear();
        nz.extend(aw.iter().enumerate().filter(|(_, w)| **w != 0).map(|(k, _)| k));
        let nz = &*nz;
        groups.clear();
        index.clear();
        let same_extent = |m1: usize, m2: usize| {
            let (c1, c2) = (self.ctx.col(m1).words(), self.ctx.col(m2).words());
            nz.iter().all(|&k| aw[k] & c1[k] == aw[k] & c2[k])
        };
        for m in 0..self.ctx.n_attributes() {
            if b.contains(m) {
                continue;
            }
            let col = self.ctx.col(m).words();
            let (mut hash, mut count) = (0xcbf2_9ce4_8422_2325u64, 0);
            for &k in nz {
                let w = aw[k] & col[k];
                hash = (hash ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
                count += w.count_ones() as usize;
            }
            let found = if let [k] = nz[..] {
                // The extent lies in one word: that word is the group's key, and a scan of the
                // few groups beats hashing (small, dense contexts).
                let w = aw[k] & col[k];
                hash = w;
                groups.iter().position(|g| g.hash == w)
            } else {
                match index.get(&hash) {
                    Some(&g) if same_extent(groups[g].first, m) => Some(g),
                    Some(_) => groups.iter().position(|g| g.hash == hash && same_extent(g.first, m)),
                    None => None,
                }
            };
            match found {
                Some(g) => groups[g].same += 1,
                None => {
                    if nz.len() != 1 {
                        index.entry(hash).or_insert(groups.len());
                    }
                    groups.push(Group { hash, first: m, same: 1, count });
                }
            }
        }
        let base = b.count();
        if e.words().len() != words_for(self.ctx.n_objects()) {
            *e = Bits::empty(self.ctx.n_objects());
        }
        // Only the words in `nz` are written below: the rest must be clear.
        e.words_mut().fill(0);
        if d.words().len() != words_for(self.ctx.n_attributes()) {
            *d = Bits::empty(self.ctx.n_attributes());
        }
        floor.copy_from(b);
        let mut out = Covers::new();
        for g in groups.iter() {
            let col = self.ctx.col(g.first).words();
            let ew = e.words_mut();
            for &k in nz {
                ew[k] = aw[k] & col[k];
            }
            floor.insert(g.first);
            self.ctx.intent_into(e, g.count, nz, floor, d);
            floor.remove(g.first);
            if d.count() - base == g.same {
                if let Some(id) = self.by_intent.get(d) {
                    out.push(id);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Rebuilds the intent index from the intents.
    pub(crate) fn reindex(&mut self) {
        self.by_intent = IntentIndex::build(self.intent_stride, (0..self.n_concepts as u32).map(|i| BitSlice::new(self.intent_words(i))));
    }
    /// The intent words of concept `i`.
    #[inline]
    pub(crate) fn intent_words(&self, i: u32) -> &[u64] {
        let w = self.intent_stride;
        &self.intents[i as usize * w..(i as usize + 1) * w]
    }
    /// The extent words of concept `i`.
    #[inline]
    pub(crate) fn extent_words(&self, i: u32) -> &[u64] {
        let w = self.extent_stride;
        &self.extents[i as usize * w..(i as usize + 1) * w]
    }
    #[inline]
    pub(crate) fn extent_words_mut(&mut self, i: u32) -> &mut [u64] {
        let w = self.extent_stride;
        &mut self.extents[i as usize * w..(i as usize + 1) * w]
    }
    /// Re-lays the extent arena with `stride` words per extent (the object count crossed a
    /// multiple of 64): words past the old width are clear, words past the new one dropped.
    pub(crate) fn set_extent_stride(&mut self, stride: usize) {
        let old = self.extent_stride;
        if stride == old {
            return;
        }
        let mut extents = vec![0u64; stride * self.n_concepts];
        let keep = old.min(stride);
        if keep > 0 {
            for (to, from) in extents.chunks_exact_mut(stride).zip(self.extents.chunks_exact(old)) {
                to[..keep].copy_from_slice(&from[..keep]);
            }
        }
        self.extents = extents;
        self.extent_stride = stride;
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }
    pub fn len(&self) -> usize {
        self.n_concepts
    }
    pub fn is_empty(&self) -> bool {
        self.n_concepts == 0
    }
    /// Concept `i`'s extent and intent, read in place.
    #[inline]
    pub fn concept(&self, i: usize) -> ConceptRef<'_> {
        ConceptRef { extent: BitSlice::new(self.extent_words(i as u32)), intent: BitSlice::new(self.intent_words(i as u32)) }
    }
    /// Every concept in id order.
    pub fn concepts(&self) -> impl ExactSizeIterator<Item = ConceptRef<'_>> + '_ {
        (0..self.n_concepts).map(|i| self.concept(i))
    }
    pub fn upper_covers(&self, i: usize) -> &[u32] {
        &self.upper[i]
    }
    pub fn lower_covers(&self, i: usize) -> &[u32] {
        &self.lower[i]
    }
    pub fn limit(&self) -> usize {
        self.limit
    }
    pub fn check_id(&self, arg: &str, id: u32) -> Result<usize> {
        if (id as usize) < self.len() {
            Ok(id as usize)
        } else {
            Err(Error::invalid_arg(arg, format!("unknown concept id {id} (the lattice has {} concepts)", self.len())))
        }
    }
    /// The concept whose intent is `intent` (which must be closed).
    pub fn id_of_intent(&self, intent: &Bits) -> Option<u32> {
        self.by_intent.get(intent)
    }
    /// The id of a closed intent (a closure computed from the context always is one).
    pub(crate) fn intent_id(&self, closed: &Bits) -> u32 {
        self.by_intent.get(closed).expect("a closed intent is indexed")
    }
    /// The concept generated by an attribute set: (B', B'').
    pub fn concept_of_attributes(&self, attrs: &Bits) -> u32 {
        let c = self.ctx.close_intent(attrs);
        self.intent_id(&c)
    }
    /// The concept generated by an object set: (A'', A').
    pub fn concept_of_objects(&self, objs: &Bits) -> u32 {
        let d = self.ctx.intent_of(objs);
        self.intent_id(&d)
    }
    pub fn top(&self) -> u32 {
        self.concept_of_objects(&Bits::full(self.ctx.n_objects()))
    }
    pub fn bottom(&self) -> u32 {
        self.concept_of_attributes(&Bits::full(self.ctx.n_attributes()))
    }
    /// Supremum: extents united then closed, intents intersected. Empty set → bottom.
    pub fn join(&self, ids: &[u32]) -> Result<u32> {
        let mut intent = Bits::full(self.ctx.n_attributes());
        for (k, &i) in ids.iter().enumerate() {
            intent.and_with(self.concept(self.check_id(&format!("ids[{k}]"), i)?).intent);
        }
        Ok(self.intent_id(&intent))
    }
    /// Infimum: extents intersected, intents united then closed. Empty set → top.
    pub fn meet(&self, ids: &[u32]) -> Result<u32> {
        let mut extent = Bits::full(self.ctx.n_objects());
        for (k, &i) in ids.iter().enumerate() {
            extent.and_with(self.concept(self.check_id(&format!("ids[{k}]"), i)?).extent);
        }
        Ok(self.concept_of_objects(&extent))
    }
    /// Is `a` a subconcept of `b` (a ≤ b: extent(a) ⊆ extent(b))?
    pub fn leq(&self, a: u32, b: u32) -> Result<bool> {
        let (a, b) = (self.check_id("a", a)?, self.check_id("b", b)?);
        Ok(self.concept(b).intent.is_subset(self.concept(a).intent))
    }
    fn walk(&self, start: usize, up: bool) -> Vec<u32> {
        let mut seen = vec![false; self.len()];
        let mut stack = vec![start as u32];
        let mut out = Vec::new();
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let next = if up { &self.upper[i as usize] } else { &self.lower[i as usize] };
            for &j in next {
                if !seen[j as usize] {
                    seen[j as usize] = true;
                    out.push(j);
                    stack.push(j);
                }
            }
        }
        out.sort_unstable();
        out
    }
    /// Strict superconcepts.
    pub fn ancestors(&self, id: u32) -> Result<Vec<u32>> {
        Ok(self.walk(self.check_id("id", id)?, true))
    }
    /// Strict subconcepts.
    pub fn descendants(&self, id: u32) -> Result<Vec<u32>> {
        Ok(self.walk(self.check_id("id", id)?, false))
    }

    /// Longest-path level from the top (top = 0): the layering of the diagram.
    pub fn levels(&self) -> Vec<u32> {
        let n = self.len();
        let mut indeg: Vec<usize> = self.upper.iter().map(|u| u.len()).collect();
        let mut level = vec![0u32; n];
        let mut queue: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
        while let Some(i) = queue.pop() {
            for &j in &self.lower[i] {
                let j = j as usize;
                level[j] = level[j].max(level[i] + 1);
                indeg[j] -= 1;
                if indeg[j] == 0 {
                    queue.push(j);
                }
            }
        }
        level
    }

    /// Concept ids in an order where every concept precedes its subconcepts.
    pub fn top_down_order(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = (0..self.len() as u32).collect();
        ids.sort_by_key(|&i| self.concept(i as usize).intent.count());
        ids
    }

    /// Intensional stability index of every concept: the share of subsets of
    /// the extent whose derivation is exactly the intent. Exact (Roth et al.):
    /// σ(c) = 1 − Σ_{d < c} σ(d)·2^{|ext d| − |ext c|}, bottom-up.
    pub fn stability(&self, max_concepts: usize) -> Result<Vec<f64>> {
        if self.len() > max_concepts {
            return Err(Error::limit(
                "stability",
                format!("exact stability is quadratic; the lattice has {} concepts, above the limit {max_concepts}", self.len()),
            ));
        }
        let mut order = self.top_down_order();
        order.reverse();
        let mut sigma = vec![0f64; self.len()];
        for &c in &order {
            let ec = self.concept(c as usize).extent.count() as i32;
            let mut s = 1.0;
            for d in self.walk(c as usize, false) {
                let ed = self.concept(d as usize).extent.count() as i32;
                s -= sigma[d as usize] * 2f64.powi(ed - ec);
            }
            sigma[c as usize] = s.max(0.0);
        }
        Ok(sigma)
    }

    /// Concept ids whose extent has at least `min_support` objects (an order
    /// filter, so the cover relation restricted to it is its Hasse diagram).
    pub fn iceberg(&self, min_support: usize) -> Vec<u32> {
        (0..self.len() as u32).filter(|&i| self.concept(i as usize).extent.count() >= min_support).collect()
    }

    /// The concepts whose intent contains `attrs`: the generated concept and all its subconcepts.
    pub fn concepts_with_attributes(&self, attrs: &Bits) -> Vec<u32> {
        let c = self.concept_of_attributes(attrs);
        let mut v = self.walk(c as usize, false);
        v.push(c);
        v.sort_unstable();
        v
    }

    /// Where a new object with intent `attrs` would sit: the most specific
    /// existing concepts whose intent is contained in `attrs` (one when the
    /// object's intent is already closed; several when it would create a concept).
    pub fn classify(&self, attrs: &Bits) -> Vec<u32> {
        let top = self.top() as usize;
        if !self.concept(top).intent.is_subset(attrs) {
            return Vec::new();
        }
        let mut seen = vec![false; self.len()];
        let mut stack = vec![top];
        seen[top] = true;
        let mut out = Vec::new();
        while let Some(i) = stack.pop() {
            let mut deeper = false;
            for &j in &self.lower[i] {
                if self.concept(j as usize).intent.is_subset(attrs) {
                    deeper = true;
                    if !seen[j as usize] {
                        seen[j as usize] = true;
                        stack.push(j as usize);
                    }
                }
            }
            if !deeper {
                out.push(i as u32);
            }
        }
        out.sort_unstable();
        out
    }

    /// Jaccard similarity of two concepts' extents and of their intents.
    pub fn similarity(&self, a: u32, b: u32) -> Result<(f64, f64)> {
        let (a, b) = (self.concept(self.check_id("a", a)?), self.concept(self.check_id("b", b)?));
        let j = |x: &BitSlice, y: &BitSlice| {
            let u = x.or_count(y);
            if u == 0 {
                1.0
            } else {
                x.and_count(y) as f64 / u as f64
            }
        };
        Ok((j(a.extent, b.extent), j(a.intent, b.intent)))
    }

    /// Closures of many attribute sets (rayon over the batch).
    pub fn closure_many(&self, sets: &[Bits]) -> Vec<Bits> {
        sets.par_iter()
            .with_min_len(256)
            .map_init(|| (Bits::empty(0), Vec::new()), |(e, nz), s| self.ctx.close_intent_with(s, e, nz))
            .collect()
    }
    /// Ids of the concepts generated by many attribute sets.
    pub fn concept_of_many(&self, sets: &[Bits]) -> Vec<u32> {
        sets.par_iter().with_min_len(256).map(|s| self.concept_of_attributes(s)).collect()
    }
    /// Membership: is each set an intent of the lattice (a hash probe each)?
    pub fn is_intent_many(&self, sets: &[Bits]) -> Vec<bool> {
        sets.iter().map(|s| self.by_intent.contains(s)).collect()
    }
    /// The Duquenne–Guigues basis of the current context (cached until the next update).
    pub fn basis(&mut self, limit: usize) -> Result<&[crate::Implication]> {
        if let Some(b) = &self.basis {
            if b.len() > limit {
                return Err(Error::limit(
                    "limit",
                    format!("the canonical basis has more than {limit} implications ({} in total)", b.len()),
                ));
            }
        } else {
            self.basis = Some(crate::canonical_basis(&self.ctx, limit)?);
        }
        Ok(self.basis.as_deref().unwrap_or(&[]))
    }

    /// Structural self-check used by the tests: covers are symmetric and
    /// every intent is indexed.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        for (i, c) in self.concepts().enumerate() {
            if self.by_intent.get(c.intent) != Some(i as u32) {
                return Err(format!("concept {i} not indexed"));
            }
            if *self.ctx.extent_of(c.intent) != *c.extent || *self.ctx.intent_of(c.extent) != *c.intent {
                return Err(format!("concept {i} is not closed"));
            }
            for &j in &self.lower[i] {
                if !self.upper[j as usize].contains(&(i as u32)) {
                    return Err(format!("cover {i}->{j} not mirrored"));
                }
            }
            // Both ways: AddIntent's relinking reads whether `up` covers `gen` from `gen`'s upper covers.
            for &j in &self.upper[i] {
                if !self.lower[j as usize].contains(&(i as u32)) {
                    return Err(format!("cover {j}->{i} not mirrored in the lower covers"));
                }
            }
        }
        if self.intents.len() != self.n_concepts * self.intent_stride
            || self.intent_stride != words_for(self.ctx.n_attributes())
            || self.extents.len() != self.n_concepts * self.extent_stride
            || self.extent_stride != words_for(self.ctx.n_objects())
        {
            return Err("the extent or intent arena does not match the concept count and the context".into());
        }
        if self.by_intent.len() != self.len() {
            return Err(format!("the intent index holds {} intents for {} concepts", self.by_intent.len(), self.len()));
        }
        Ok(())
    }
}
