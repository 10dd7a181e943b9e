//! A formal context (G, M, I): object and attribute names with the incidence
//! kept twice, as object rows (attribute bits) and attribute columns (object
//! bits), so both derivation operators are word-parallel.

use omnitide_common::{Error, Result};
use rustc_hash::FxHashMap;

use crate::bits::{BitSlice, Bits};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    objects: Vec<String>,
    attributes: Vec<String>,
    rows: Vec<Bits>,
    cols: Vec<Bits>,
}

fn unique(arg: &str, names: &[String]) -> Result<()> {
    let mut seen = FxHashMap::default();
    for (i, n) in names.iter().enumerate() {
        if let Some(j) = seen.insert(n.as_str(), i) {
            return Err(Error::invalid_arg(arg, format!("duplicate name '{n}' at positions {j} and {i}")));
        }
    }
    Ok(())
}

impl Context {
    /// `rows[g]` lists the attribute indices of object `g`.
    pub fn new(objects: Vec<String>, attributes: Vec<String>, rows: &[Vec<u32>]) -> Result<Self> {
        unique("objects", &objects)?;
        unique("attributes", &attributes)?;
        if rows.len() != objects.len() {
            return Err(Error::invalid_arg("rows", format!("expected {} rows (one per object), got {}", objects.len(), rows.len())));
        }
        let m = attributes.len();
        let mut bits = Vec::with_capacity(rows.len());
        for (g, r) in rows.iter().enumerate() {
            let mut b = Bits::empty(m);
            for &a in r {
                if a as usize >= m {
                    return Err(Error::invalid_arg(
                        &format!("rows[{g}]"),
                        format!("attribute index {a} out of range (there are {m} attributes)"),
                    ));
                }
                b.insert(a as usize);
            }
            bits.push(b);
        }
        Ok(Self::from_bits(objects, attributes, bits))
    }

    pub(crate) fn from_bits(objects: Vec<String>, attributes: Vec<String>, rows: Vec<Bits>) -> Self {
        let (n, m) = (objects.len(), attributes.len());
        let mut cols = vec![Bits::empty(n); m];
        for (g, r) in rows.iter().enumerate() {
            for a in r.ones() {
                cols[a].insert(g);
            }
        }
        Context { objects, attributes, rows, cols }
    }

    pub fn objects(&self) -> &[String] {
        &self.objects
    }
    pub fn attributes(&self) -> &[String] {
        &self.attributes
    }
    #[inline]
    pub fn n_objects(&self) -> usize {
        self.objects.len()
    }
    #[inline]
    pub fn n_attributes(&self) -> usize {
        self.attributes.len()
    }
    #[inline]
    pub fn row(&self, g: usize) -> &Bits {
        &self.rows[g]
    }
    #[inline]
    pub fn col(&self, m: usize) -> &Bits {
        &self.cols[m]
    }
    pub fn has(&self, g: usize, m: usize) -> bool {
        self.rows[g].contains(m)
    }
    pub fn rows_as_indices(&self) -> Vec<Vec<u32>> {
        self.rows.iter().map(|r| r.to_vec()).collect()
    }
    /// The context with objects and attributes swapped.
    pub fn transpose(&self) -> Context {
        Context { objects: self.attributes.clone(), attributes: self.objects.clone(), rows: self.cols.clone(), cols: self.rows.clone() }
    }

    /// A' : the attributes common to all objects of `extent`.
    pub fn intent_of(&self, extent: &BitSlice) -> Bits {
        let mut r = Bits::full(self.attributes.len());
        for g in extent.ones() {
            r.and_with(&self.rows[g]);
        }
        r
    }
    /// The intent of `c` written into `d`, given a `floor` it is known to
    /// contain and `nz`, the word indices outside of which `c` is empty.
    /// Row-wise (AND the rows of c's objects, stopping once nothing above the
    /// floor is left) for small `c`, column-wise (m ∈ c' iff c ⊆ m') for large
    /// `c`, whichever touches fewer words.
    pub(crate) fn intent_into(&self, c: &Bits, c_count: usize, nz: &[usize], floor: &Bits, d: &mut Bits) {
        let m = self.attributes.len();
        let free = m - floor.count();
        if c_count * d.words().len() <= free * nz.len().max(1) {
            // Start from the full set, written in place: this runs once per candidate closure,
            // and a `Bits::full` here was an allocation and a free each time.
            let dw = d.words_mut();
            dw.fill(u64::MAX);
            if !m.is_multiple_of(64) {
                dw[m / 64] = (1u64 << (m % 64)) - 1;
            }
            for g in c.ones() {
                d.and_with(&self.rows[g]);
                if d.same_as(floor) {
                    break;
                }
            }
        } else {
            d.words_mut().copy_from_slice(floor.words());
            let cw = c.words();
            for (k, col) in self.cols.iter().enumerate() {
                if !floor.contains(k) {
                    let colw = col.words();
                    if nz.iter().all(|&w| cw[w] & !colw[w] == 0) {
                        d.insert(k);
                    }
                }
            }
        }
    }

    /// Objects with identical rows merged (a clarified context) and, per
    /// merged object, the original object indices. The concept lattice is
    /// the same up to the extents, which only need re-expanding.
    pub fn clarify_objects(&self) -> (Context, Vec<Vec<u32>>) {
        let mut seen: FxHashMap<&Bits, usize> = FxHashMap::default();
        let mut rows = Vec::new();
        let mut classes: Vec<Vec<u32>> = Vec::new();
        for (g, r) in self.rows.iter().enumerate() {
            let k = *seen.entry(r).or_insert_with(|| {
                rows.push(r.clone());
                classes.push(Vec::new());
                rows.len() - 1
            });
            classes[k].push(g as u32);
        }
        let objects = classes.iter().map(|c| self.objects[c[0] as usize].clone()).collect();
        (Context::from_bits(objects, self.attributes.clone(), rows), classes)
    }

    /// B' : the objects having all attributes of `intent`.
    pub fn extent_of(&self, intent: &BitSlice) -> Bits {
        let mut ones = intent.ones();
        let Some(first) = ones.next() else { return Bits::full(self.objects.len()) };
        let mut r = self.cols[first].clone();
        for m in ones {
            r.and_with(&self.cols[m]);
        }
        r
    }
    /// B'' : the closure of an attribute set. Column-wise (m ∈ B'' iff
    /// B' ⊆ m'), because the subset test usually fails in the first word
    /// while the row-wise intersection visits every object of B'.
    pub fn close_intent(&self, intent: &Bits) -> Bits {
        self.close_intent_with(intent, &mut Bits::empty(0), &mut Vec::new())
    }

    /// `close_intent` with caller-owned scratch space for B' and its non-zero word list, so a
    /// batch of queries allocates only its answers.
    pub fn close_intent_with(&self, intent: &Bits, e: &mut Bits, nz: &mut Vec<usize>) -> Bits {
        let n = self.objects.len();
        let mut ones = intent.ones();
        match ones.next() {
            None => return self.intent_of(&Bits::full(n)),
            Some(first) => e.copy_from(&self.cols[first]),
        }
        for m in ones {
            e.and_with(&self.cols[m]);
        }
        let count = e.count();
        if count <= 32 {
            // Few objects: AND their rows (an empty B' closes to every attribute).
            let mut r = Bits::full(self.attributes.len());
            for g in e.ones() {
                r.and_with(&self.rows[g]);
            }
            return r;
        }
        // Column-wise, only over the words where B' has objects: a column outside the closure
        // usually fails in its first such word, so this beats ANDing thousands of rows.
        nz.clear();
        nz.extend(e.words().iter().enumerate().filter(|(_, w)| **w != 0).map(|(k, _)| k));
        let mut r = intent.clone();
        let ew = e.words();
        for (k, col) in self.cols.iter().enumerate() {
            if !intent.contains(k) {
                let cw = col.words();
                if nz.iter().all(|&w| ew[w] & !cw[w] == 0) {
                    r.insert(k);
                }
            }
        }
        r
    }

    /// Unpacks index sets sent back to back (`ends[i]` is the end offset of
    /// set i in `data`), checking each index against the attributes (or objects).
    pub fn unpack_sets(&self, arg: &str, data: &[u32], ends: &[u32], attributes: bool) -> Result<Vec<Bits>> {
        let mut out = Vec::with_capacity(ends.len());
        let mut start = 0usize;
        for (i, &e) in ends.iter().enumerate() {
            let e = e as usize;
            if e < start || e > data.len() {
                return Err(Error::invalid_arg(arg, format!("ends[{i}] = {e} is out of order or past the data ({} indices)", data.len())));
            }
            // The argument name is formatted only for an error: batches hold ~1M sets.
            let (limit, what) = if attributes { (self.attributes.len(), "attribute") } else { (self.objects.len(), "object") };
            let idx = &data[start..e];
            if let Some(&bad) = idx.iter().find(|&&k| k as usize >= limit) {
                return Err(Error::invalid_arg(&format!("{arg}[{i}]"), format!("unknown {what} index {bad} (there are {limit} {what}s)")));
            }
            out.push(Bits::from_indices(limit, idx.iter().map(|&k| k as usize)));
            start = e;
        }
        Ok(out)
    }

    pub fn attribute_index(&self, arg: &str, name: &str) -> Result<usize> {
        self.attributes.iter().position(|a| a == name).ok_or_else(|| Error::invalid_arg(arg, format!("unknown attribute '{name}'")))
    }
    pub fn object_index(&self, arg: &str, name: &str) -> Result<usize> {
        self.objects.iter().position(|a| a == name).ok_or_else(|| Error::invalid_arg(arg, format!("unknown object '{name}'")))
    }
    /// An attribute set from indices, checked against the context.
    pub fn attr_set(&self, arg: &str, idx: &[u32]) -> Result<Bits> {
        let m = self.attributes.len();
        let mut b = Bits::empty(m);
        for &i in idx {
            if i as usize >= m {
                return Err(Error::invalid_arg(arg, format!("unknown attribute index {i} (there are {m} attributes)")));
            }
            b.insert(i as usize);
        }
        Ok(b)
    }
    pub fn obj_set(&self, arg: &str, idx: &[u32]) -> Result<Bits> {
        let n = self.objects.len();
        let mut b = Bits::empty(n);
        for &i in idx {
            if i as usize >= n {
                return Err(Error::invalid_arg(arg, format!("unknown object index {i} (there are {n} objects)")));
            }
            b.insert(i as usize);
        }
        Ok(b)
    }

    // ----- mutation (used by the incremental lattice; names are checked there) -----

    pub(crate) fn push_object(&mut self, name: String, row: Bits) {
        let g = self.objects.len();
        self.objects.push(name);
        for c in &mut self.cols {
            c.grow(g + 1);
        }
        for m in row.ones() {
            self.cols[m].insert(g);
        }
        self.rows.push(row);
    }
    pub(crate) fn delete_object(&mut self, g: usize) {
        let n = self.objects.len();
        self.objects.remove(g);
        self.rows.remove(g);
        for c in &mut self.cols {
            c.delete_shift(g, n);
        }
    }
    pub(crate) fn check_new_name(&self, arg: &str, name: &str, object: bool) -> Result<()> {
        let list = if object { &self.objects } else { &self.attributes };
        if list.iter().any(|n| n == name) {
            return Err(Error::invalid_arg(
                arg,
                format!("duplicate name '{name}': the context already has this {}", if object { "object" } else { "attribute" }),
            ));
        }
        Ok(())
    }
}
