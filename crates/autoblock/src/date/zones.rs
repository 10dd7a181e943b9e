//! Time zones as fail2ban 1.0 reads them (`strptime.zone2offset`): `Z`, `UTC`
//! and `GMT` are UTC; otherwise an optional abbreviation from its fixed table
//! and an optional `[+-]hh[[:]mm]` offset, added together (`CET+0100` is two
//! hours ahead). The abbreviations are fixed offsets with no daylight-saving
//! switch, exactly fail2ban's `TZ_STR`; a named zone of the system's tz
//! database is not read (fail2ban does not either).

/// fail2ban's `TZ_STR`: hours east of UTC, then the abbreviations with that offset.
const TABLE: &[(f64, &[&str])] = &[
    (-12.0, &["Y"]),
    (-11.0, &["X", "NUT", "SST"]),
    (-10.0, &["W", "CKT", "HAST", "HST", "TAHT", "TKT"]),
    (-9.0, &["V", "AKST", "GAMT", "GIT", "HADT", "HNY"]),
    (-8.0, &["U", "AKDT", "CIST", "HAY", "HNP", "PST", "PT"]),
    (-7.0, &["T", "HAP", "HNR", "MST", "PDT"]),
    (-6.0, &["S", "CST", "EAST", "GALT", "HAR", "HNC", "MDT"]),
    (-5.0, &["R", "CDT", "COT", "EASST", "ECT", "EST", "ET", "HAC", "HNE", "PET"]),
    (-4.0, &["Q", "AST", "BOT", "CLT", "COST", "EDT", "FKT", "GYT", "HAE", "HNA", "PYT"]),
    (-3.0, &["P", "ADT", "ART", "BRT", "CLST", "FKST", "GFT", "HAA", "PMST", "PYST", "SRT", "UYT", "WGT"]),
    (-2.0, &["O", "BRST", "FNT", "PMDT", "UYST", "WGST"]),
    (-1.0, &["N", "AZOT", "CVT", "EGT"]),
    (0.0, &["Z", "EGST", "GMT", "UTC", "WET", "WT"]),
    (1.0, &["A", "CET", "DFT", "WAT", "WEDT", "WEST"]),
    (2.0, &["B", "CAT", "CEDT", "CEST", "EET", "SAST", "WAST"]),
    (3.0, &["C", "EAT", "EEDT", "EEST", "IDT", "MSK"]),
    (4.0, &["D", "AMT", "AZT", "GET", "GST", "KUYT", "MSD", "MUT", "RET", "SAMT", "SCT"]),
    (5.0, &["E", "AMST", "AQTT", "AZST", "HMT", "MAWT", "MVT", "PKT", "TFT", "TJT", "TMT", "UZT", "YEKT"]),
    (6.0, &["F", "ALMT", "BIOT", "BTT", "IOT", "KGT", "NOVT", "OMST", "YEKST"]),
    (7.0, &["G", "CXT", "DAVT", "HOVT", "ICT", "KRAT", "NOVST", "OMSST", "THA", "WIB"]),
    (8.0, &["H", "ACT", "AWST", "BDT", "BNT", "CAST", "HKT", "IRKT", "KRAST", "MYT", "PHT", "SGT", "ULAT", "WITA", "WST"]),
    (9.0, &["I", "AWDT", "IRKST", "JST", "KST", "PWT", "TLT", "WDT", "WIT", "YAKT"]),
    (10.0, &["K", "AEST", "ChST", "PGT", "VLAT", "YAKST", "YAPT"]),
    (11.0, &["L", "AEDT", "LHDT", "MAGT", "NCT", "PONT", "SBT", "VLAST", "VUT"]),
    (12.0, &["M", "ANAST", "ANAT", "FJT", "GILT", "MAGST", "MHT", "NZST", "PETST", "PETT", "TVT", "WFT"]),
    (13.0, &["FJST", "NZDT"]),
    (11.5, &["NFT"]),
    (10.5, &["ACDT", "LHST"]),
    (9.5, &["ACST"]),
    (6.5, &["CCT", "MMT"]),
    (5.75, &["NPT"]),
    (5.5, &["SLT"]),
    (4.5, &["AFT", "IRDT"]),
    (3.5, &["IRST"]),
    (-2.5, &["HAT", "NDT"]),
    (-3.5, &["HNT", "NST", "NT"]),
    (-4.5, &["HLV", "VET"]),
    (-9.5, &["MART", "MIT"]),
];

/// Seconds east of UTC of an abbreviation in fail2ban's table.
fn abbreviation(name: &str) -> Option<i64> {
    // `int(float(h) * 60)` minutes, as fail2ban computes them
    TABLE.iter().find(|(_, names)| names.contains(&name)).map(|(h, _)| (h * 60.0) as i64 * 60)
}

/// Seconds east of UTC of a zone as captured by `%z`/`%Z`/`%Exz`/`%ExZ`, or None
/// for an abbreviation fail2ban does not know (there its `KeyError` drops the
/// whole line; here the line takes the current time, as for any template match
/// that holds no valid date: a failure is never dropped for its date).
pub(super) fn zone_offset(zone: &str) -> Option<i64> {
    if matches!(zone, "Z" | "UTC" | "GMT") {
        return Some(0);
    }
    // FIXED_OFFSET_TZ_RE: `([A-Z](?:[A-Z]{2,4})?)?([+-][01]\d(?::?\d{2})?)?$`
    let at = zone.find(['+', '-']).unwrap_or(zone.len());
    let (name, offset) = zone.split_at(at);
    let base = if name.is_empty() { 0 } else { abbreviation(name)? };
    if offset.is_empty() {
        return Some(base);
    }
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    // `hh`, `hhmm` or `hh:mm`, read in place (no copy per line)
    let (hh, mm) = match offset.as_bytes()[1..] {
        [h1, h2] => ([h1, h2], [b'0', b'0']),
        [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => ([h1, h2], [m1, m2]),
        _ => return None,
    };
    let two = |[a, b]: [u8; 2]| (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'));
    Some(base + sign * (two(hh)? * 3600 + two(mm)? * 60))
}

#[cfg(test)]
mod tests {
    use super::zone_offset;

    /// Answers of fail2ban 1.0's `strptime.zone2offset(validateTimeZone(..))`, in minutes × 60.
    #[test]
    fn fail2ban_zone_offsets() {
        let cases = [
            ("UTC", Some(0)),
            ("Z", Some(0)),
            ("PDT", Some(-7 * 3600)),
            ("CEST", Some(2 * 3600)),
            ("NPT", Some(345 * 60)),
            ("HAT", Some(-150 * 60)),
            ("+0100", Some(3600)),
            ("-04:30", Some(-(4 * 3600 + 30 * 60))),
            ("+08", Some(8 * 3600)),
            ("CET+0100", Some(2 * 3600)),
            ("UTC+0100", Some(3600)),
            ("EST-01", Some(-6 * 3600)),
            ("ABCD", None),
            ("+1", None),
            ("+01:0", None),
            ("+0a00", None),
            ("+01-00", None),
        ];
        for (zone, want) in cases {
            assert_eq!(zone_offset(zone), want, "{zone}");
        }
    }
}
