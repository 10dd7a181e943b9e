//! Detections as columns for the Autoblocker's batch path: one text, string
//! lengths and numbers, instead of JSON that JavaScript parses into an object
//! per detection (plus its labels) only to copy a few fields into decision
//! bodies. The layout mirrors the decision columns of [`crate::decision`]
//! going the other way.

use crate::engine::Detection;

/// Numbers per detection in [`DetectionColumns::nums`].
pub const NUMS_PER_DETECTION: usize = 4;

/// Detections laid out as `ts/autoblock/autoblocker.ts` reads them:
/// - `text`: per detection its value, its decision reason (`<origin>
///   <name>: <reason>`), its decision origin (`<origin>:<name>`) and its
///   evidence strings, concatenated;
/// - `lens`, per detection: the lengths of value, reason and origin, the
///   evidence count, then each evidence string's length, all in UTF-16
///   units (a length is a JS `length` of the same text);
/// - `nums`, per detection: time (Unix seconds), duration (seconds, negative
///   = permanent), action (0 ban, 1 throttle), scope (0 ip, 1 range, 2 user).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DetectionColumns {
    pub text: String,
    pub lens: Vec<u32>,
    pub nums: Vec<f64>,
}

/// Action codes of [`DetectionColumns::nums`], in code order.
pub const ACTION_CODES: [&str; 2] = ["ban", "throttle"];
/// Scope codes of [`DetectionColumns::nums`], in code order.
pub const SCOPE_CODES: [&str; 3] = ["ip", "range", "user"];

fn code(codes: &[&str], s: &str) -> f64 {
    // the engine only makes the listed actions and scopes; an unknown one
    // becomes a code past the end, which the reader refuses loudly
    codes.iter().position(|c| *c == s).unwrap_or(codes.len()) as f64
}

/// Appends `s` to the text and its UTF-16 length to the lengths.
fn push(c: &mut DetectionColumns, parts: &[&str]) {
    let mut units = 0usize;
    for s in parts {
        c.text.push_str(s);
        units += if s.is_ascii() { s.len() } else { s.encode_utf16().count() };
    }
    // a single string past 4 Gi units cannot come from a bounded batch; saturate rather than wrap
    c.lens.push(u32::try_from(units).unwrap_or(u32::MAX));
}

/// The columns of `dets`, in their order.
pub fn detection_columns(dets: &[Detection]) -> DetectionColumns {
    let mut c = DetectionColumns {
        text: String::with_capacity(
            dets.iter().map(|d| 2 * d.name.len() + d.value.len() + d.reason.len() + 64 * d.evidence.len() + 24).sum(),
        ),
        lens: Vec::with_capacity(dets.iter().map(|d| 4 + d.evidence.len()).sum()),
        nums: Vec::with_capacity(NUMS_PER_DETECTION * dets.len()),
    };
    for d in dets {
        push(&mut c, &[&d.value]);
        push(&mut c, &[d.origin, " ", &d.name, ": ", &d.reason]);
        push(&mut c, &[d.origin, ":", &d.name]);
        c.lens.push(u32::try_from(d.evidence.len()).unwrap_or(u32::MAX));
        for e in &d.evidence {
            push(&mut c, &[e]);
        }
        c.nums.extend_from_slice(&[d.time, d.duration, code(&ACTION_CODES, &d.action), code(&SCOPE_CODES, &d.scope)]);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(value: &str, name: &str, evidence: &[&str]) -> Detection {
        Detection {
            origin: "scenario",
            name: name.into(),
            action: "throttle".into(),
            scope: "range".into(),
            value: value.into(),
            time: 1_700_000_000.5,
            duration: -1.0,
            reason: "overflowed (3 events)".into(),
            evidence: evidence.iter().map(|e| e.to_string()).collect(),
            count: 3,
            labels: vec![("k".into(), "v".into())],
        }
    }

    #[test]
    fn lays_out_value_reason_origin_evidence_and_numbers() {
        let c = detection_columns(&[det("10.0.0.0/24", "scan", &["ab", "cd"]), det("user:zoë", "brute", &[])]);
        assert_eq!(
            c.text,
            "10.0.0.0/24scenario scan: overflowed (3 events)scenario:scanabcduser:zoëscenario brute: overflowed (3 events)scenario:brute"
        );
        // "user:zoë" is 9 UTF-8 bytes but 8 UTF-16 units
        assert_eq!(c.lens, vec![11, 36, 13, 2, 2, 2, 8, 37, 14, 0]);
        assert_eq!(c.nums, vec![1_700_000_000.5, -1.0, 1.0, 1.0, 1_700_000_000.5, -1.0, 1.0, 1.0]);
    }

    #[test]
    fn astral_characters_count_two_units() {
        let c = detection_columns(&[det("user:😀", "x", &[])]);
        assert_eq!(c.lens[0], 7);
    }

    #[test]
    fn unknown_action_or_scope_gets_a_code_past_the_end() {
        let mut d = det("1.2.3.4", "x", &[]);
        d.action = "allow".into();
        d.scope = "host".into();
        let c = detection_columns(&[d]);
        assert_eq!(&c.nums[2..], &[2.0, 3.0]);
    }

    #[test]
    fn no_detections_no_columns() {
        assert_eq!(detection_columns(&[]), DetectionColumns::default());
    }
}
