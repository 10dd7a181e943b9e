//! The WebAssembly target from Rust's side: module shape, the input encoding's layout, and
//! positioned refusals. Decisions are checked against Cedar under Node and wasmtime
//! (test/contracts/differential.test.ts, wasm.test.ts).
use omnitide_contracts::api::compile_wasm;
use omnitide_contracts::value::{Entities, Request};
use omnitide_contracts::wasm::abi::{encode_requests, encode_store};
use serde_json::json;

#[test]
fn compiles_to_a_module_with_its_policy_ids() {
    let m = compile_wasm(
        "@id(\"a\") permit(principal in G::\"x\", action, resource) when { context.n > 1 };\nforbid(principal, action, resource);",
        "c",
    )
    .unwrap();
    assert_eq!(&m[..8], b"\0asm\x01\0\0\0");
    let text = String::from_utf8_lossy(&m);
    assert!(text.contains("omnitide.policies"));
    assert!(text.contains(r#"{"effect":"permit","id":"a"}"#), "{text}");
    for export in ["memory", "heap", "alloc", "free", "load", "authorize", "policy"] {
        assert!(text.contains(export), "missing export {export}");
    }
}

#[test]
fn refuses_what_it_cannot_compile_with_a_position() {
    let e = compile_wasm("permit(principal, action, resource)\n  when { ip(context.a).isIpv4() };", "f.cedar").unwrap_err();
    assert_eq!(e.code, "ERR_OMNI_UNSUPPORTED");
    assert!(e.message.starts_with("f.cedar:2:10: error: the WebAssembly target cannot compile ip() of a computed string"), "{}", e.message);
}

fn u32_at(b: &[u8], base: u32, at: u32) -> u32 {
    let o = (at - base) as usize;
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

#[test]
fn encodes_the_store_and_requests_for_their_address() {
    let store = Entities::from_json(&json!([
        {"uid": {"type": "G", "id": "b"}, "parents": [{"type": "G", "id": "c"}]},
        {"uid": {"type": "G", "id": "c"}},
        {"uid": {"type": "U", "id": "a"}, "attrs": {"n": 7}, "parents": [{"type": "G", "id": "b"}]}
    ]))
    .unwrap();
    let base = 4096;
    let b = encode_store(&store, base);
    let table = u32_at(&b, base, base);
    assert_eq!(u32_at(&b, base, table), 3);
    // U::"a" sorts last; its ancestors are the closure {b, c}.
    let rec = u32_at(&b, base, table + 8 + 8);
    let anc = u32_at(&b, base, rec + 8);
    assert_eq!(u32_at(&b, base, anc), 2);
    let key = u32_at(&b, base, rec);
    let len = u32_at(&b, base, key) as usize;
    let o = (key - base) as usize + 4;
    assert_eq!(&b[o..o + len], br#"U::"a""#);

    let req = Request::from_json(&json!({"principal": {"type": "U", "id": "a"}, "action": {"type": "A", "id": "x"}, "resource": {"type": "D", "id": "d"}, "context": {"k": true}})).unwrap();
    let r = encode_requests(&[req.clone(), req], 64);
    assert_eq!(u32_at(&r, 64, 64), 2);
    let first = u32_at(&r, 64, 72);
    let ctx = u32_at(&r, 64, first + 12);
    assert_eq!(u32_at(&r, 64, ctx), 1);
    assert!(first.is_multiple_of(8) && ctx.is_multiple_of(8));
}
