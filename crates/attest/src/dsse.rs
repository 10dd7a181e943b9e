//! DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1).
//!
//! Signatures are over the pre-authentication encoding
//! `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body` with lengths in ASCII
//! decimal. Verification always uses the payload bytes exactly as received
//! (Base64-decoded), so re-serializing the envelope JSON (pretty printing,
//! reordering, other Base64 alphabet) never changes validity.

use serde_json::{json, Value};

use crate::json::{b64, obj, str_field, unb64};

pub const PAYLOAD_TYPE_INTOTO: &str = "application/vnd.in-toto+json";

/// `application/vnd.in-toto+json`, or the in-toto envelope spec's
/// `application/vnd.in-toto.<predicate>+json` (e.g. `...in-toto.provenance+json`).
pub fn is_intoto_payload_type(t: &str) -> bool {
    t == PAYLOAD_TYPE_INTOTO
        || t.strip_prefix("application/vnd.in-toto.")
            .and_then(|r| r.strip_suffix("+json"))
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Hint only (DSSE): this authority writes the lowercase hex BLAKE3 of the
    /// signer's public key; other tools write other schemes or nothing. The
    /// key is always taken from trusted material, never from the envelope.
    pub keyid: String,
    pub sig: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signatures: Vec<Signature>,
}

/// DSSE v1 pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Limits applied while parsing untrusted envelopes.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeLimits {
    pub max_bytes: usize,
    pub max_signatures: usize,
}

impl Envelope {
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Attestation ID: hex BLAKE3 of the PAE, i.e. of what is signed. It never
    /// depends on signature bytes, so cosigning keeps the ID.
    pub fn id(&self) -> String {
        // blake3's own hex (a table lookup per byte; `hex::encode` goes char by char)
        blake3::hash(&self.pae()).to_hex().to_string()
    }

    pub fn to_value(&self) -> Value {
        json!({
            "payloadType": self.payload_type,
            "payload": b64(&self.payload),
            "signatures": self.signatures.iter().map(|s| json!({"keyid": s.keyid, "sig": b64(&s.sig)})).collect::<Vec<_>>(),
        })
    }

    /// Canonical (RFC 8785) JSON bytes, written in JCS key order (`payload` <
    /// `payloadType` < `signatures`; `keyid` < `sig`) without a `Value` tree:
    /// byte-identical to canonicalising [`Envelope::to_value`] (tested).
    pub fn to_json(&self) -> Vec<u8> {
        let b64_len = |n: usize| n.div_ceil(3) * 4;
        let mut out = Vec::with_capacity(
            64 + b64_len(self.payload.len())
                + self.payload_type.len()
                + self.signatures.iter().map(|s| 32 + s.keyid.len() + b64_len(s.sig.len())).sum::<usize>(),
        );
        // strings cannot fail to serialize; Base64 needs no escaping
        out.extend_from_slice(b"{\"payload\":\"");
        out.extend_from_slice(b64(&self.payload).as_bytes());
        out.extend_from_slice(b"\",\"payloadType\":");
        crate::json::string_into(&mut out, &self.payload_type);
        out.extend_from_slice(b",\"signatures\":[");
        for (i, s) in self.signatures.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"keyid\":");
            crate::json::string_into(&mut out, &s.keyid);
            out.extend_from_slice(b",\"sig\":\"");
            out.extend_from_slice(b64(&s.sig).as_bytes());
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// Parses an envelope from JSON bytes. Errors are human-readable reasons
    /// for a `malformed` verdict.
    pub fn parse(bytes: &[u8], limits: EnvelopeLimits) -> Result<Self, String> {
        if bytes.len() > limits.max_bytes {
            return Err(format!("envelope: {} bytes exceeds the limit of {}", bytes.len(), limits.max_bytes));
        }
        let v = crate::json::parse_strict(bytes).map_err(|e| format!("envelope: invalid JSON: {e}"))?;
        Self::from_value(&v, limits)
    }

    pub fn from_value(v: &Value, limits: EnvelopeLimits) -> Result<Self, String> {
        let m = obj(v, "envelope")?;
        let payload_type = str_field(m, "payloadType", "envelope")?.to_owned();
        let payload = unb64(str_field(m, "payload", "envelope")?).ok_or("envelope.payload: invalid Base64")?;
        let sigs = m.get("signatures").and_then(Value::as_array).ok_or("envelope.signatures: expected an array")?;
        if sigs.is_empty() {
            return Err("envelope.signatures: empty".into());
        }
        if sigs.len() > limits.max_signatures {
            return Err(format!("envelope.signatures: {} exceeds the limit of {}", sigs.len(), limits.max_signatures));
        }
        let mut signatures = Vec::with_capacity(sigs.len());
        for (i, s) in sigs.iter().enumerate() {
            let path = format!("envelope.signatures[{i}]");
            let sm = obj(s, &path)?;
            let keyid = match sm.get("keyid") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(k)) => k.clone(),
                Some(_) => return Err(format!("{path}.keyid: expected a string")),
            };
            let sig = unb64(str_field(sm, "sig", &path)?).ok_or_else(|| format!("{path}.sig: invalid Base64"))?;
            signatures.push(Signature { keyid, sig });
        }
        Ok(Self { payload_type, payload, signatures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn in_toto_payload_types() {
        for ok in
            ["application/vnd.in-toto+json", "application/vnd.in-toto.provenance+json", "application/vnd.in-toto.slsa-provenance.v1+json"]
        {
            assert!(is_intoto_payload_type(ok), "{ok}");
        }
        for bad in ["application/vnd.in-toto.+json", "application/json", "application/vnd.in-toto.a b+json", "application/vnd.in-toto.x"] {
            assert!(!is_intoto_payload_type(bad), "{bad}");
        }
    }

    #[test]
    fn parse_round_trip_and_limits() {
        let e = Envelope {
            payload_type: "t".into(),
            payload: b"{}".to_vec(),
            signatures: vec![Signature { keyid: "k".into(), sig: vec![1; 64] }],
        };
        let lim = EnvelopeLimits { max_bytes: 1 << 16, max_signatures: 4 };
        assert_eq!(Envelope::parse(&e.to_json(), lim).unwrap(), e);
        // the direct writer against the canonicalised `Value` it replaced
        let many = Envelope {
            payload_type: "application/vnd.in-toto+json\u{1}é\u{1F600}\"".into(),
            payload: (0..=255u8).collect(),
            signatures: vec![Signature { keyid: String::new(), sig: vec![] }, Signature { keyid: "k\n\\".into(), sig: vec![7; 65] }],
        };
        for x in [&e, &many] {
            assert_eq!(x.to_json(), crate::json::canonical(&x.to_value()).unwrap());
        }
        assert!(Envelope::parse(&e.to_json(), EnvelopeLimits { max_bytes: 10, ..lim }).unwrap_err().contains("exceeds"));
        assert!(Envelope::parse(br#"{"payloadType":"t","payload":"e30=","signatures":[]}"#, lim).is_err());
        assert!(Envelope::parse(br#"{"payloadType":"t","payload":"!!","signatures":[{"sig":""}]}"#, lim).is_err());
    }
}
