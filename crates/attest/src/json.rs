//! JSON helpers: RFC 8785 canonical serialization (JCS) for everything this
//! crate signs, a strict parser that rejects duplicate object keys (a classic
//! parser-differential trick against signed JSON), and lenient Base64.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use omnitide_common::{Error, Result};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserializer, Serialize};
use serde_json::{Map, Value};

/// RFC 8785 (JSON Canonicalization Scheme) bytes of `value`.
pub fn canonical<S: Serialize>(value: &S) -> Result<Vec<u8>> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| Error::internal(format!("canonical JSON: {e}")))
}

/// Appends the RFC 8785 bytes of `value` to `out` (for writers that lay out
/// a known object's keys themselves).
pub fn canonical_into<S: Serialize>(out: &mut Vec<u8>, value: &S) -> Result<()> {
    serde_json_canonicalizer::to_writer(value, out).map_err(|e| Error::internal(format!("canonical JSON: {e}")))
}

/// Appends the RFC 8785 bytes of a JSON `Value` to `out`.
///
/// Written here rather than through `serde_json_canonicalizer` for the hot
/// path: that serializer re-parses every object key to sort it and boxes a
/// writer for every token, which made canonicalising a statement's predicate
/// cost more than signing it. The output is byte-identical (tested against it
/// below): keys ordered by UTF-16 code units, strings with JSON's minimal
/// escapes (serde_json's compact escaping is exactly the JCS set: `\"`, `\\`,
/// `\b\f\n\r\t`, other controls as lowercase `\u00xx`, nothing else), and
/// numbers through the JCS serializer itself (ECMAScript double formatting).
pub fn canonical_value_into(out: &mut Vec<u8>, v: &Value) -> Result<()> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i64_into(out, i)?,
            None => canonical_into(out, n)?,
        },
        Value::String(s) => string_into(out, s),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_value_into(out, x)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            sort_utf16(&mut entries);
            out.push(b'{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string_into(out, k);
                out.push(b':');
                canonical_value_into(out, x)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// The JCS form of an integer. Up to 2^53 in magnitude it is exactly a
/// double, whose ECMAScript form is its decimal digits; those are written
/// directly (a statement carries several timestamps, and the JCS number
/// writer formats through a double and a boxed writer each time). Larger
/// ones go through the JCS writer (they round as doubles).
pub fn i64_into(out: &mut Vec<u8>, i: i64) -> Result<()> {
    const EXACT: u64 = 1 << 53;
    if i.unsigned_abs() <= EXACT {
        use std::io::Write as _;
        write!(out, "{i}").expect("writing to a Vec cannot fail");
        return Ok(());
    }
    canonical_into(out, &i)
}

/// The JCS form of a double as JavaScript's `JSON.stringify` writes it too
/// (ECMAScript number formatting; `-0` as `0`), and `null` for NaN and the
/// infinities, which is what `JSON.stringify` writes for them: for records
/// built from JS numbers whose text must be what JS would have printed.
pub fn f64_into(out: &mut Vec<u8>, x: f64) -> Result<()> {
    const EXACT: f64 = (1u64 << 53) as f64;
    if !x.is_finite() {
        out.extend_from_slice(b"null");
        Ok(())
    } else if x.fract() == 0.0 && x.abs() <= EXACT {
        i64_into(out, x as i64)
    } else {
        canonical_into(out, &x)
    }
}

/// A JSON string with the JCS escapes (see [`canonical_value_into`]).
pub fn string_into(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing a string to a Vec cannot fail");
}

/// Orders object entries as JCS does: by the keys' UTF-16 code units (UTF-8
/// byte order differs for characters above U+FFFF against U+E000..U+FFFF).
pub fn sort_utf16<T>(entries: &mut [(&String, T)]) {
    if entries.iter().all(|(k, _)| k.is_ascii()) {
        entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    } else {
        entries.sort_unstable_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    }
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard or URL-safe Base64, padded or not (DSSE allows either).
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    for eng in [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        if let Ok(v) = eng.decode(s) {
            return Some(v);
        }
    }
    None
}

/// Parses JSON, rejecting duplicate keys at any depth.
pub fn parse_strict(bytes: &[u8]) -> std::result::Result<Value, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = StrictSeed.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v)
}

struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element_seed(StrictSeed)? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(StrictSeed)?;
            // the map itself tells a repeated key (no second set of key copies)
            match m.entry(k) {
                serde_json::map::Entry::Vacant(e) => {
                    e.insert(v);
                }
                serde_json::map::Entry::Occupied(e) => return Err(de::Error::custom(format!("duplicate key '{}'", e.key()))),
            }
        }
        Ok(Value::Object(m))
    }
}

/// Small accessors that turn a `Value` into typed fields with a path in the error.
pub(crate) fn obj<'a>(v: &'a Value, path: &str) -> std::result::Result<&'a Map<String, Value>, String> {
    v.as_object().ok_or_else(|| format!("{path}: expected an object"))
}

pub(crate) fn str_field<'a>(m: &'a Map<String, Value>, k: &str, path: &str) -> std::result::Result<&'a str, String> {
    m.get(k).and_then(Value::as_str).ok_or_else(|| format!("{path}.{k}: expected a string"))
}

pub(crate) fn opt_i64(m: &Map<String, Value>, k: &str, path: &str) -> std::result::Result<Option<i64>, String> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| format!("{path}.{k}: expected an integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_rejected_anywhere() {
        assert!(parse_strict(br#"{"a":1,"b":{"c":1,"c":2}}"#).unwrap_err().contains("duplicate key 'c'"));
        assert!(parse_strict(br#"{"a":1,"a":1}"#).is_err());
        assert_eq!(parse_strict(br#" {"a":[1,{"b":null}]} "#).unwrap()["a"][1]["b"], Value::Null);
        assert!(parse_strict(br#"{"a":1} x"#).is_err());
    }

    #[test]
    fn jcs_orders_keys_and_numbers() {
        let v: Value = serde_json::from_str(r#"{"b":1.0,"a":"\u00e9","c":[1e2]}"#).unwrap();
        assert_eq!(String::from_utf8(canonical(&v).unwrap()).unwrap(), r#"{"a":"é","b":1,"c":[100]}"#);
    }

    #[test]
    fn value_writer_is_byte_identical_to_the_jcs_crate() {
        let docs = [
            r#"{"b":1.0,"a":"\u00e9","c":[1e2]}"#,
            r#"{"\ud83d\ude00":1,"\uffff":2,"\ue000":3,"a":{"z":null,"y":[true,false,{}],"":[]}}"#,
            r#"{"n":[0,-0.0,1.5,-2,1e21,1e-7,123456789012345678901234567890,9007199254740993,18446744073709551615,-9223372036854775808,0.1,5e-324]}"#,
            r#"{"s":"\u0000\u0001\u001f\u007f\b\f\n\r\t\"\\/\u2028\u2029<>&'é😀"}"#,
            r#"[]"#,
            r#""x""#,
            r#"{"v":1,"action":"ban","scope":"ip","value":"10.0.0.0/8","issuedAt":1700000000000,"expiresAt":null,"reason":"ssh","evidence":["ab","cd"],"rate":{"pps":5,"burst":10},"nonce":"0011"}"#,
        ];
        for d in docs {
            let v: Value = serde_json::from_str(d).unwrap();
            let mut ours = Vec::new();
            canonical_value_into(&mut ours, &v).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(canonical(&v).unwrap()).unwrap(), "{d}");
        }
    }

    #[test]
    fn integer_writer_is_byte_identical_to_the_jcs_crate() {
        let edge = 1i64 << 53;
        for i in [0, 1, -1, 42, 1_796_125_114_400, edge - 1, edge, edge + 1, -edge, -edge - 1, 1 << 60, i64::MAX, i64::MIN] {
            let mut ours = Vec::new();
            i64_into(&mut ours, i).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(canonical(&i).unwrap()).unwrap(), "{i}");
        }
    }

    #[test]
    fn base64_variants() {
        assert_eq!(unb64("+/8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(unb64("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(unb64("***").is_none());
    }
}
