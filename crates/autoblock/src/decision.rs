//! Signed decisions issued from their fields: the decision bodies of
//! `ts/autoblock` arrive as columns (one UTF-16 text, string lengths and
//! numbers) and are written here, in Rust, into exactly the bytes the
//! TypeScript module used to print and `omnitide-attest` used to parse and
//! canonicalise: the subject digest is the BLAKE3 of the body as
//! `JSON.stringify` prints it (its insertion order), and the predicate is the
//! same body in RFC 8785 order.
//!
//! Why fields and not JSON: printing every body in JS, handing the request
//! text over and parsing it strictly into a `serde_json` tree to canonicalise
//! it again cost about a third of a decision's CPU outside the signature.
//! A decision body has a fixed shape, so both texts are written field by
//! field with the JCS string and number writers (which are also what
//! `JSON.stringify` does for well-formed strings and for numbers).

use omnitide_attest::json::{f64_into, string_into};
use omnitide_attest::{Authority, Issued, Subject};
use omnitide_common::{Error, Result};

/// The predicate type of decision statements (`ts/autoblock/decision.ts`).
pub const PREDICATE_TYPE: &str = "https://omnitide.dev/autoblock/decision/v1";

const ACTIONS: [&str; 4] = ["ban", "throttle", "allow", "unban"];
const SCOPES: [&str; 3] = ["ip", "range", "user"];

/// One decision body (`DecisionBody` in TypeScript, `v` = 1, the domain
/// shared by the batch). Numbers are JS doubles: NaN stands for `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub action: String,
    pub scope: String,
    pub value: String,
    pub issued_at: f64,
    /// NaN: permanent (`null`)
    pub expires_at: f64,
    pub reason: String,
    pub evidence: Vec<String>,
    pub origin: String,
    /// throttle: packets per second and burst
    pub rate: Option<(f64, f64)>,
    /// unban: the decision it lifts (absent when empty, as in TypeScript)
    pub lifts: Option<String>,
    pub global: bool,
    pub nonce: String,
}

/// Numbers per decision in the `nums` column.
pub const NUMS_PER_DECISION: usize = 5;

/// Reads the columns `ts/autoblock/issue.ts` packs:
/// - `text`: every string of every decision, concatenated (UTF-16 units, as
///   JS holds them, so a length is a JS `length`);
/// - `lens`, per decision: the lengths of action, scope, value, reason,
///   origin, nonce, lifts (0 = none), then the evidence count and each
///   evidence string's length;
/// - `nums`, per decision: issuedAt, expiresAt (NaN = null), rate pps (NaN =
///   no rate), rate burst, global (1 or 0).
///
/// Errors name `decisions[i].<field>`.
pub fn from_columns(text: &[u16], lens: &[u32], nums: &[f64]) -> Result<Vec<Body>> {
    if !nums.len().is_multiple_of(NUMS_PER_DECISION) {
        return Err(Error::invalid_arg("nums", format!("expected {NUMS_PER_DECISION} numbers per decision, got {}", nums.len())));
    }
    let n = nums.len() / NUMS_PER_DECISION;
    let mut cols = Columns { text, lens, at_text: 0, at_len: 0 };
    let mut out = Vec::with_capacity(n);
    for (i, x) in nums.chunks_exact(NUMS_PER_DECISION).enumerate() {
        let path = |f: &str| format!("decisions[{i}].{f}");
        let action = cols.string(&path, "action")?;
        if !ACTIONS.contains(&action.as_str()) {
            return Err(Error::invalid_arg(&path("action"), format!("expected one of {ACTIONS:?}, got '{action}'")));
        }
        let scope = cols.string(&path, "scope")?;
        if !SCOPES.contains(&scope.as_str()) {
            return Err(Error::invalid_arg(&path("scope"), format!("expected one of {SCOPES:?}, got '{scope}'")));
        }
        let value = cols.string(&path, "value")?;
        let reason = cols.string(&path, "reason")?;
        let origin = cols.string(&path, "origin")?;
        let nonce = cols.string(&path, "nonce")?;
        let lifts = Some(cols.string(&path, "lifts")?).filter(|l| !l.is_empty());
        let count = cols.len(&path, "evidence")?;
        let evidence = (0..count).map(|k| cols.string(&path, &format!("evidence[{k}]"))).collect::<Result<Vec<_>>>()?;
        out.push(Body {
            action,
            scope,
            value,
            issued_at: x[0],
            expires_at: x[1],
            reason,
            evidence,
            origin,
            rate: if x[2].is_nan() { None } else { Some((x[2], x[3])) },
            lifts,
            global: x[4] == 1.0,
            nonce,
        });
    }
    if cols.at_len != lens.len() || cols.at_text != text.len() {
        return Err(Error::invalid_arg("lens", "the string lengths do not add up to the text of the decisions"));
    }
    Ok(out)
}

struct Columns<'a> {
    text: &'a [u16],
    lens: &'a [u32],
    at_text: usize,
    at_len: usize,
}

impl Columns<'_> {
    fn len(&mut self, path: &impl Fn(&str) -> String, field: &str) -> Result<usize> {
        let n = *self.lens.get(self.at_len).ok_or_else(|| Error::invalid_arg("lens", format!("ends before {}", path(field))))?;
        self.at_len += 1;
        Ok(n as usize)
    }

    /// The next string; a lone surrogate (which `JSON.stringify` would print
    /// as an escape no UTF-8 string can hold) is refused.
    fn string(&mut self, path: &impl Fn(&str) -> String, field: &str) -> Result<String> {
        let n = self.len(path, field)?;
        let units = self
            .text
            .get(self.at_text..self.at_text + n)
            .ok_or_else(|| Error::invalid_arg("text", format!("ends within {}", path(field))))?;
        self.at_text += n;
        String::from_utf16(units).map_err(|_| Error::invalid_arg(&path(field), "not well-formed UTF-16 (a lone surrogate)"))
    }
}

impl Body {
    /// The body as `JSON.stringify` prints the TypeScript object (keys in
    /// insertion order: optional fields before `nonce`): what the subject
    /// digest hashes.
    pub fn write_js(&self, domain: &str, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(b"{\"v\":1,\"action\":");
        string_into(out, &self.action);
        out.extend_from_slice(b",\"scope\":");
        string_into(out, &self.scope);
        out.extend_from_slice(b",\"value\":");
        string_into(out, &self.value);
        out.extend_from_slice(b",\"issuedAt\":");
        f64_into(out, self.issued_at)?;
        out.extend_from_slice(b",\"expiresAt\":");
        f64_into(out, self.expires_at)?;
        out.extend_from_slice(b",\"reason\":");
        string_into(out, &self.reason);
        out.extend_from_slice(b",\"evidence\":");
        self.write_evidence(out);
        out.extend_from_slice(b",\"domain\":");
        string_into(out, domain);
        out.extend_from_slice(b",\"origin\":");
        string_into(out, &self.origin);
        if let Some((pps, burst)) = self.rate {
            out.extend_from_slice(b",\"rate\":{\"pps\":");
            f64_into(out, pps)?;
            out.extend_from_slice(b",\"burst\":");
            f64_into(out, burst)?;
            out.push(b'}');
        }
        if let Some(l) = &self.lifts {
            out.extend_from_slice(b",\"lifts\":");
            string_into(out, l);
        }
        if self.global {
            out.extend_from_slice(b",\"global\":true");
        }
        out.extend_from_slice(b",\"nonce\":");
        string_into(out, &self.nonce);
        out.push(b'}');
        Ok(())
    }

    /// The same body in RFC 8785 form (keys in code-unit order, all ASCII):
    /// the statement's predicate.
    pub fn write_canonical(&self, domain: &str, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(b"{\"action\":");
        string_into(out, &self.action);
        out.extend_from_slice(b",\"domain\":");
        string_into(out, domain);
        out.extend_from_slice(b",\"evidence\":");
        self.write_evidence(out);
        out.extend_from_slice(b",\"expiresAt\":");
        f64_into(out, self.expires_at)?;
        if self.global {
            out.extend_from_slice(b",\"global\":true");
        }
        out.extend_from_slice(b",\"issuedAt\":");
        f64_into(out, self.issued_at)?;
        if let Some(l) = &self.lifts {
            out.extend_from_slice(b",\"lifts\":");
            string_into(out, l);
        }
        out.extend_from_slice(b",\"nonce\":");
        string_into(out, &self.nonce);
        out.extend_from_slice(b",\"origin\":");
        string_into(out, &self.origin);
        if let Some((pps, burst)) = self.rate {
            out.extend_from_slice(b",\"rate\":{\"burst\":");
            f64_into(out, burst)?;
            out.extend_from_slice(b",\"pps\":");
            f64_into(out, pps)?;
            out.push(b'}');
        }
        out.extend_from_slice(b",\"reason\":");
        string_into(out, &self.reason);
        out.extend_from_slice(b",\"scope\":");
        string_into(out, &self.scope);
        out.extend_from_slice(b",\"v\":1,\"value\":");
        string_into(out, &self.value);
        out.push(b'}');
        Ok(())
    }

    fn write_evidence(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (k, e) in self.evidence.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            string_into(out, e);
        }
        out.push(b']');
    }

    /// The attest subject: `autoblock/<action>/<scope>/<value>` ('/' in a
    /// CIDR becomes '_'), digest the BLAKE3 of [`Body::write_js`]'s text.
    pub fn subject(&self, domain: &str) -> Result<Subject> {
        let mut js = Vec::with_capacity(320);
        self.write_js(domain, &mut js)?;
        let name = format!("autoblock/{}/{}/{}", self.action, self.scope, self.value.replace('/', "_"));
        Ok(Subject { name, digest: [("blake3".to_string(), blake3::hash(&js).to_hex().to_string())].into() })
    }
}

/// Signs every decision with the domain key `signer` and logs it in the
/// authority's audit log (one statement per decision, as `Authority::issue_many`
/// would issue the same request JSON). With `logged_in` (the origin of the
/// decision ledger the caller appends the envelopes to before releasing
/// them), the audit log gets one entry listing the batch's IDs instead
/// (`Authority::issue_prebuilt_logged`); the envelopes are the same.
pub fn issue(authority: &Authority, signer: &str, domain: &str, bodies: &[Body], logged_in: Option<&str>) -> Result<Vec<Issued>> {
    let item = |i: usize, out: &mut Vec<u8>| {
        let b = &bodies[i];
        b.write_canonical(domain, out)?;
        b.subject(domain)
    };
    match logged_in {
        Some(log) => authority.issue_prebuilt_logged(signer, PREDICATE_TYPE, bodies.len(), log, item),
        None => authority.issue_prebuilt(signer, PREDICATE_TYPE, bodies.len(), item),
    }
}

#[cfg(test)]
mod tests;
