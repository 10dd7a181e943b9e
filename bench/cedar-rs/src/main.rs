//! `omnitide-cedar-bench DIR`: DIR holds `policies.cedar`, `entities.json` and
//! `requests.json` (written by bench/contracts.ts). Times decisions of Cedar's
//! `Authorizer::is_authorized` and of omnitide's prepared native evaluator on one
//! core, checks that they decide every request alike, and prints one JSON line.

use std::str::FromStr;
use std::time::{Duration, Instant};

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
use serde_json::Value;

fn uid(v: &Value) -> EntityUid {
    EntityUid::from_json(v.clone()).expect("entity uid")
}

/// Runs `f` over all requests repeatedly for about two seconds; decisions per second.
fn rate(n: usize, mut f: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut done = 0usize;
    let mut checksum = 0usize;
    while start.elapsed() < Duration::from_secs(2) {
        checksum = checksum.wrapping_add(f());
        done += n;
    }
    std::hint::black_box(checksum);
    done as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: omnitide-cedar-bench DIR");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).unwrap_or_else(|e| panic!("{dir}/{f}: {e}"));
    let (src, ents, reqs) = (read("policies.cedar"), read("entities.json"), read("requests.json"));

    let policies = PolicySet::from_str(&src).expect("Cedar parses the policies");
    let entities = Entities::from_json_str(&ents, None).expect("Cedar parses the entities");
    let rj: Vec<Value> = serde_json::from_str(&reqs).expect("requests JSON");
    let cedar_reqs: Vec<Request> = rj
        .iter()
        .map(|r| {
            let ctx =
                Context::from_json_value(r.get("context").cloned().unwrap_or(Value::Object(Default::default())), None).expect("context");
            Request::new(uid(&r["principal"]), uid(&r["action"]), uid(&r["resource"]), ctx, None).expect("request")
        })
        .collect();
    let auth = Authorizer::new();

    let engine = omnitide_contracts::api::Engine::new(&src, &ents).expect("omnitide loads the policies");
    let ours_reqs = omnitide_contracts::api::Engine::parse_requests(&reqs).expect("omnitide parses the requests");
    let mut out = vec![0u8; ours_reqs.len()];

    // Same decisions first: a comparison of speed means nothing otherwise.
    engine.decide_into(&ours_reqs, &mut out).expect("decide");
    let mut allowed = 0;
    for (i, q) in cedar_reqs.iter().enumerate() {
        let cedar_allows = auth.is_authorized(q, &policies, &entities).decision() == Decision::Allow;
        assert_eq!(cedar_allows, out[i] == 1, "request {i}: Cedar and omnitide disagree");
        allowed += cedar_allows as usize;
    }

    let n = cedar_reqs.len();
    let cedar = rate(n, || cedar_reqs.iter().filter(|q| auth.is_authorized(q, &policies, &entities).decision() == Decision::Allow).count());
    let ours = rate(n, || {
        engine.decide_into(&ours_reqs, &mut out).expect("decide");
        out.iter().map(|&b| b as usize).sum()
    });
    println!(
        "{}",
        serde_json::json!({ "requests": n, "allowed": allowed, "cedarRustPerSec": cedar, "omnitideNativePerSec": ours, "ratio": ours / cedar })
    );
}
