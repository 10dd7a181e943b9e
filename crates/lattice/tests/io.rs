mod common;
use common::*;
use omnitide_lattice::io::{read_csv, read_cxt, write_csv, write_cxt};
use omnitide_lattice::scale::{scale, Column, Scale, Value};

#[test]
fn cxt_and_csv_round_trip_random_contexts() {
    for seed in 0..10 {
        let ctx = random_context(seed, 1 + seed as usize * 3, 1 + seed as usize * 2, 0.4);
        assert_eq!(read_cxt(&write_cxt(&ctx), "t.cxt").unwrap(), ctx);
        assert_eq!(read_csv(&write_csv(&ctx), "t.csv").unwrap(), ctx);
    }
}

#[test]
fn cxt_accepts_conexp_variants() {
    let text = "B\nanimals\n2\n2\n\ndog\ncat\nbarks\nmeows\nX.\n.x\n";
    let c = read_cxt(text, "a.cxt").unwrap();
    assert_eq!(c.objects(), ["dog", "cat"]);
    assert!(c.has(0, 0) && c.has(1, 1) && !c.has(0, 1));
    let crlf = "B\r\n\r\n1\r\n1\r\n\r\no\r\na\r\nX\r\n";
    assert!(read_cxt(crlf, "w.cxt").unwrap().has(0, 0));
}

#[test]
fn malformed_cxt_names_file_and_line() {
    let cases = [
        ("X\n", "bad.cxt:1: expected 'B'"),
        ("B\n\n2\nzwei\n", "bad.cxt:4: expected the number of attributes"),
        ("B\n\n2\n1\n\na\nb\nm\nX\nX.\n", "bad.cxt:10: incidence row of object 'b' has 2 cells, expected 1"),
        ("B\n\n1\n2\n\na\nm\nn\nXo\n", "bad.cxt:9: column 2: expected 'X' or '.', found 'o'"),
        ("B\n\n2\n1\n\na\na\nm\nX\nX\n", "bad.cxt:7: duplicate object name 'a' (first on line 6)"),
        ("B\n\n1\n1\n\na\nm\n", "bad.cxt:8: unexpected end of file, expected 1 incidence rows, got 0"),
        ("B\n\n1\n1\n\na\nm\nX\nextra\n", "bad.cxt:9: unexpected content"),
    ];
    for (text, want) in cases {
        let e = read_cxt(text, "bad.cxt").unwrap_err();
        assert_eq!(e.code, "ERR_OMNI_INVALID_ARGUMENT");
        assert!(e.message.contains(want), "{:?}: {}", text, e.message);
    }
}

#[test]
fn malformed_csv_names_file_and_line() {
    let cases = [
        (",a,b\nx,X\n", "bad.csv:2: row has 2 fields, expected 3"),
        (",a,a\n", "bad.csv:1: duplicate attribute name 'a'"),
        (",a\nx,X\nx,\n", "bad.csv:3: duplicate object name 'x' (first on line 2)"),
        (",a\nx,maybe\n", "bad.csv:2: column 'a': expected X or empty, found 'maybe'"),
        (",a\n\"x,X\n", "bad.csv:2: unterminated quoted field"),
        ("", "bad.csv:1: empty file"),
    ];
    for (text, want) in cases {
        let e = read_csv(text, "bad.csv").unwrap_err();
        assert!(e.message.contains(want), "{:?}: {}", text, e.message);
    }
    let q = read_csv(",\"a,b\"\n\"o \"\"1\"\"\",X\n", "q.csv").unwrap();
    assert_eq!(q.attributes(), ["a,b"]);
    assert_eq!(q.objects(), ["o \"1\""]);
}

#[test]
fn scaling_nominal_ordinal_interval() {
    let objs: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let cols = vec![
        Column {
            name: "color".into(),
            values: vec![Value::Text("red".into()), Value::Text("blue".into()), Value::Text("red".into())],
            scale: Scale::Nominal,
        },
        Column {
            name: "size".into(),
            values: vec![Value::Num(1.0), Value::Num(5.0), Value::Missing],
            scale: Scale::Ordinal { thresholds: vec![2.0, 6.0], descending: false },
        },
        Column {
            name: "w".into(),
            values: vec![Value::Num(0.0), Value::Num(10.0), Value::Num(5.0)],
            scale: Scale::Interval { bounds: vec![0.0, 5.0, 10.0] },
        },
        Column {
            name: "t".into(),
            values: vec![Value::Num(1.0), Value::Num(2.0), Value::Num(3.0)],
            scale: Scale::Interordinal { thresholds: vec![2.0] },
        },
    ];
    let c = scale(objs.clone(), &cols).unwrap();
    assert_eq!(c.attributes(), ["color=red", "color=blue", "size<=2", "size<=6", "w in [0,5)", "w in [5,10]", "t<=2", "t>=2"]);
    assert_eq!(c.rows_as_indices(), vec![vec![0, 2, 3, 4, 6], vec![1, 3, 5, 6, 7], vec![0, 5, 7]]);
    let bad = vec![Column {
        name: "s".into(),
        values: vec![Value::Text("x".into()), Value::Num(1.0), Value::Num(1.0)],
        scale: Scale::Ordinal { thresholds: vec![1.0], descending: false },
    }];
    assert!(scale(objs.clone(), &bad).unwrap_err().message.contains("columns.s"));
    let unsorted = vec![Column {
        name: "s".into(),
        values: vec![Value::Num(1.0); 3],
        scale: Scale::Ordinal { thresholds: vec![2.0, 1.0], descending: false },
    }];
    assert!(scale(objs, &unsorted).unwrap_err().message.contains("strictly ascending"));
}
