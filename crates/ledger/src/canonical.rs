//! RFC 8785 (JSON Canonicalization Scheme) for JSON entries: what the
//! TypeScript `Ledger` stores for an object entry. The serializer is the
//! `serde_json_canonicalizer` crate, the same one attest signs with.

use omnitide_common::{Error, Result};

/// Canonical bytes of the JSON document `text`.
pub fn canonical_json(arg: &str, text: &str) -> Result<Vec<u8>> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::invalid_arg(arg, format!("not valid JSON: {e}")))?;
    serde_json_canonicalizer::to_vec(&v).map_err(|e| Error::invalid_arg(arg, format!("cannot canonicalize: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc8785_order_and_numbers() {
        let c = super::canonical_json("e", r#"{"b":[1e21, 0.000001, -0, 1.5],"a":"\u00e9\n","\u20ac":1,"\r":2}"#).unwrap();
        assert_eq!(String::from_utf8(c).unwrap(), "{\"\\r\":2,\"a\":\"é\\n\",\"b\":[1e+21,0.000001,0,1.5],\"€\":1}");
        assert!(super::canonical_json("e", "{").is_err());
    }
}
