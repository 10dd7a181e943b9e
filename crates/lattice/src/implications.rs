//! Attribute implications: the Duquenne–Guigues canonical basis (the
//! smallest complete set of implications valid in the context), computed
//! with Ganter's NextClosure over the closure system "intents and
//! pseudo-intents", plus closure under a basis, entailment, and association
//! rules (the Luxenburger basis over the cover relation).

use omnitide_common::{Error, Result};

use crate::bits::Bits;
use crate::context::Context;
use crate::lattice::Lattice;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Implication {
    pub premise: Bits,
    /// The full closure of the premise minus the premise.
    pub conclusion: Bits,
    /// Objects having every premise attribute.
    pub support: usize,
}

/// Closure of `x` under implications; with `proper`, only premises that are
/// proper subsets of the growing set fire (the L• operator NextClosure needs).
pub fn close_under(basis: &[Implication], x: &Bits, proper: bool) -> Bits {
    let mut r = x.clone();
    let mut used = vec![false; basis.len()];
    loop {
        let mut changed = false;
        for (k, imp) in basis.iter().enumerate() {
            if used[k] || !imp.premise.is_subset(&r) || (proper && imp.premise == r) {
                continue;
            }
            used[k] = true;
            if !imp.conclusion.is_subset(&r) {
                r.or_with(&imp.conclusion);
                changed = true;
            }
        }
        if !changed {
            return r;
        }
    }
}

/// The canonical basis, in lectic order of premises. `limit` bounds the number
/// of implications (the basis can be exponential in the context size).
pub fn canonical_basis(ctx: &Context, limit: usize) -> Result<Vec<Implication>> {
    let m = ctx.n_attributes();
    let mut basis: Vec<Implication> = Vec::new();
    let mut a = close_under(&basis, &Bits::empty(m), true);
    loop {
        let ext = ctx.extent_of(&a);
        let closed = ctx.intent_of(&ext);
        if closed != a {
            if basis.len() >= limit {
                return Err(Error::limit(
                    "limit",
                    format!("the canonical basis has more than {limit} implications (stopped after {limit})"),
                ));
            }
            basis.push(Implication { premise: a.clone(), conclusion: closed.minus(&a), support: ext.count() });
        }
        // Next set in lectic order closed under L• (attribute 0 is the most significant).
        let mut next = None;
        for i in (0..m).rev() {
            if a.contains(i) {
                continue;
            }
            let mut base = a.clone();
            for k in i..m {
                base.remove(k);
            }
            base.insert(i);
            let b = close_under(&basis, &base, true);
            if b.eq_below(&a, i) {
                next = Some(b);
                break;
            }
        }
        match next {
            Some(b) => a = b,
            None => return Ok(basis),
        }
    }
}

/// Does `premise → conclusion` follow from `basis`?
pub fn entails(basis: &[Implication], premise: &Bits, conclusion: &Bits) -> bool {
    conclusion.is_subset(&close_under(basis, premise, false))
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub premise: Bits,
    pub conclusion: Bits,
    pub support: f64,
    pub confidence: f64,
}

/// Partial implications along the covers (Luxenburger basis): for a cover
/// c1 ≻ c2, intent(c1) → intent(c2) \ intent(c1) with support |ext c2|/|G|
/// and confidence |ext c2|/|ext c1|. Exact rules (confidence 1) are the
/// canonical basis and are not repeated here.
pub fn association_rules(l: &Lattice, min_support: f64, min_confidence: f64) -> Vec<Rule> {
    let n = l.context().n_objects().max(1) as f64;
    let mut out = Vec::new();
    for (i, c) in l.concepts().enumerate() {
        let e1 = c.extent.count();
        if e1 == 0 {
            continue;
        }
        for &j in l.lower_covers(i) {
            let d = l.concept(j as usize);
            let e2 = d.extent.count();
            let support = e2 as f64 / n;
            let confidence = e2 as f64 / e1 as f64;
            if e2 > 0 && support >= min_support && confidence >= min_confidence {
                out.push(Rule { premise: c.intent.to_bits(), conclusion: d.intent.minus(c.intent), support, confidence });
            }
        }
    }
    out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(b.support.total_cmp(&a.support)));
    out
}
