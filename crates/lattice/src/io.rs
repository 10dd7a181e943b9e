//! Context files: Burmeister `.cxt` (ConExp, ToscanaJ, `concepts`) and CSV
//! (header row of attribute names, one row per object, `X` for a cross).
//! Every parse error names the file and the 1-based line.

use omnitide_common::{Error, Result};

use crate::bits::Bits;
use crate::context::Context;

fn at(file: &str, line: usize, problem: impl std::fmt::Display) -> Error {
    Error::invalid_arg("context", format!("{file}:{line}: {problem}"))
}

fn check_names(file: &str, names: &[(String, usize)], what: &str) -> Result<()> {
    let mut seen = rustc_hash::FxHashMap::default();
    for (n, line) in names {
        if let Some(first) = seen.insert(n.as_str(), *line) {
            return Err(at(file, *line, format!("duplicate {what} name '{n}' (first on line {first})")));
        }
    }
    Ok(())
}

/// Parses a Burmeister `.cxt` text; `file` is used in error messages only.
pub fn read_cxt(text: &str, file: &str) -> Result<Context> {
    let lines: Vec<&str> = text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let mut i = 0;
    let get = |i: usize| lines.get(i).copied();
    match get(i) {
        Some(l) if l.trim() == "B" => i += 1,
        Some(l) => return Err(at(file, 1, format!("expected 'B' (Burmeister header), found '{}'", l.trim()))),
        None => return Err(at(file, 1, "empty file, expected 'B' (Burmeister header)")),
    }
    // An optional context name line (often empty) before the counts.
    if let Some(l) = get(i) {
        if l.trim().parse::<usize>().is_err() {
            i += 1;
        }
    }
    let mut count = |what: &str| -> Result<usize> {
        let l = get(i).ok_or_else(|| at(file, i + 1, format!("unexpected end of file, expected the number of {what}")))?;
        let n = l.trim().parse::<usize>().map_err(|_| at(file, i + 1, format!("expected the number of {what}, found '{}'", l.trim())))?;
        i += 1;
        Ok(n)
    };
    let n = count("objects")?;
    let m = count("attributes")?;
    while get(i).is_some_and(|l| l.trim().is_empty()) && (n + m > 0) {
        i += 1;
    }
    let mut names = |k: usize, what: &str| -> Result<Vec<(String, usize)>> {
        let mut v = Vec::with_capacity(k);
        for _ in 0..k {
            let l = get(i).ok_or_else(|| at(file, i + 1, format!("unexpected end of file, expected {k} {what} names")))?;
            v.push((l.trim_end().to_string(), i + 1));
            i += 1;
        }
        Ok(v)
    };
    let objects = names(n, "object")?;
    let attributes = names(m, "attribute")?;
    check_names(file, &objects, "object")?;
    check_names(file, &attributes, "attribute")?;
    let mut rows = Vec::with_capacity(n);
    for (g, (oname, _)) in objects.iter().enumerate() {
        let l = get(i).ok_or_else(|| at(file, i + 1, format!("unexpected end of file, expected {n} incidence rows, got {g}")))?;
        let l = l.trim_end();
        let cells: Vec<char> = l.chars().collect();
        if cells.len() != m {
            return Err(at(file, i + 1, format!("incidence row of object '{oname}' has {} cells, expected {m}", cells.len())));
        }
        let mut b = Bits::empty(m);
        for (a, c) in cells.iter().enumerate() {
            match c {
                'X' | 'x' => b.insert(a),
                '.' => {}
                other => return Err(at(file, i + 1, format!("column {}: expected 'X' or '.', found '{other}'", a + 1))),
            }
        }
        rows.push(b);
        i += 1;
    }
    if let Some((k, l)) = lines.iter().enumerate().skip(i).find(|(_, l)| !l.trim().is_empty()) {
        return Err(at(file, k + 1, format!("unexpected content after the {n} incidence rows: '{}'", l.trim())));
    }
    Ok(Context::from_bits(objects.into_iter().map(|x| x.0).collect(), attributes.into_iter().map(|x| x.0).collect(), rows))
}

pub fn write_cxt(ctx: &Context) -> String {
    let mut s = format!("B\n\n{}\n{}\n\n", ctx.n_objects(), ctx.n_attributes());
    for o in ctx.objects() {
        s.push_str(o);
        s.push('\n');
    }
    for a in ctx.attributes() {
        s.push_str(a);
        s.push('\n');
    }
    for g in 0..ctx.n_objects() {
        for m in 0..ctx.n_attributes() {
            s.push(if ctx.has(g, m) { 'X' } else { '.' });
        }
        s.push('\n');
    }
    s
}

/// RFC 4180 records with the line each starts on (quoted fields may span lines).
fn csv_records(text: &str, file: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut rec: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut start = 1;
    let mut any = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() => {
                let open = line;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            field.push(ch);
                        }
                        None => return Err(at(file, open, "unterminated quoted field")),
                    }
                }
                any = true;
                if let Some(&n) = chars.peek() {
                    if n != ',' && n != '\n' && n != '\r' {
                        return Err(at(file, line, format!("unexpected '{n}' after a closing quote")));
                    }
                }
            }
            ',' => {
                rec.push(std::mem::take(&mut field));
                any = true;
            }
            '\r' => {}
            '\n' => {
                if any || !field.is_empty() {
                    rec.push(std::mem::take(&mut field));
                    out.push((start, std::mem::take(&mut rec)));
                }
                any = false;
                line += 1;
                start = line;
            }
            ch => {
                field.push(ch);
                any = true;
            }
        }
    }
    if any || !field.is_empty() {
        rec.push(field);
        out.push((start, rec));
    }
    Ok(out)
}

fn truthy(cell: &str) -> Option<bool> {
    match cell.trim() {
        "X" | "x" | "1" | "true" | "TRUE" | "True" | "yes" => Some(true),
        "" | "0" | "." | "false" | "FALSE" | "False" | "no" => Some(false),
        _ => None,
    }
}

/// Parses CSV: header `,attr1,attr2,...`, then `object,X,,X,...`.
pub fn read_csv(text: &str, file: &str) -> Result<Context> {
    let recs = csv_records(text, file)?;
    let Some((hline, header)) = recs.first() else {
        return Err(at(file, 1, "empty file, expected a header row of attribute names"));
    };
    let attributes: Vec<(String, usize)> = header.iter().skip(1).map(|a| (a.clone(), *hline)).collect();
    if let Some(pos) = attributes.iter().position(|a| a.0.is_empty()) {
        return Err(at(file, *hline, format!("attribute name in column {} is empty", pos + 2)));
    }
    check_names(file, &attributes, "attribute")?;
    let m = attributes.len();
    let mut objects = Vec::new();
    let mut rows = Vec::new();
    for (line, r) in &recs[1..] {
        if r.len() != m + 1 {
            return Err(at(file, *line, format!("row has {} fields, expected {} (object name + {m} attributes)", r.len(), m + 1)));
        }
        let mut b = Bits::empty(m);
        for (a, cell) in r[1..].iter().enumerate() {
            match truthy(cell) {
                Some(true) => b.insert(a),
                Some(false) => {}
                None => return Err(at(file, *line, format!("column '{}': expected X or empty, found '{cell}'", attributes[a].0))),
            }
        }
        objects.push((r[0].clone(), *line));
        rows.push(b);
    }
    check_names(file, &objects, "object")?;
    Ok(Context::from_bits(objects.into_iter().map(|x| x.0).collect(), attributes.into_iter().map(|x| x.0).collect(), rows))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn write_csv(ctx: &Context) -> String {
    let mut s = String::new();
    for a in ctx.attributes() {
        s.push(',');
        s.push_str(&csv_field(a));
    }
    s.push('\n');
    for (g, o) in ctx.objects().iter().enumerate() {
        s.push_str(&csv_field(o));
        for m in 0..ctx.n_attributes() {
            s.push(',');
            if ctx.has(g, m) {
                s.push('X');
            }
        }
        s.push('\n');
    }
    s
}
