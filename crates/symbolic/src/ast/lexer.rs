//! Tokenizer for mathjs syntax.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;
use omnitide_common::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Num(BigRational, String),
    Sym(String),
    Op(&'static str),
    End,
}

const OPS: [&str; 22] = [
    "==", "!=", "<=", ">=", "&&", "||", ".*", "./", ".^", "+", "-", "*", "/", "^", "(", ")", ",",
    "<", ">", "!", "%", "'",
];

/// Letters mathjs accepts in names: Latin-1 and Latin Extended letters, Greek, letterlike
/// symbols and mathematical alphanumerics (`parse.js` `isAlpha`); × and ÷ are operators
/// mathjs does not know, so they are rejected rather than read as names.
fn is_alpha(ch: char) -> bool {
    matches!(ch, '\u{00C0}'..='\u{02AF}' | '\u{0370}'..='\u{03FF}' | '\u{2100}'..='\u{214F}' | '\u{1D400}'..='\u{1D7FF}')
        && ch != '\u{00D7}'
        && ch != '\u{00F7}'
}

/// Character (not byte) position of byte offset `i`, as users count.
pub(super) fn char_pos(src: &str, i: usize) -> usize {
    src[..i.min(src.len())].chars().count()
}

/// A positioned error for a character that would otherwise be misread.
fn bad_char(src: &str, i: usize, ch: char) -> Error {
    let hint = match ch {
        '\u{2212}' | '\u{2013}' | '\u{2014}' | '\u{FE63}' | '\u{FF0D}' => {
            " (a dash or minus sign; use '-')"
        }
        '\u{00D7}' | '\u{22C5}' | '\u{00B7}' | '\u{2217}' => " (use '*')",
        '\u{00F7}' | '\u{2215}' => " (use '/')",
        '\u{00B2}' | '\u{00B3}' | '\u{00B9}' | '\u{2070}'..='\u{209F}' => {
            " (a superscript or subscript; write x^2)"
        }
        '\u{FF10}'..='\u{FF19}' => " (a fullwidth digit; use 0-9)",
        '\u{FF01}'..='\u{FF5E}' => " (a fullwidth character; use its ASCII form)",
        _ => "",
    };
    Error::invalid_arg(
        "expr",
        format!(
            "syntax error at position {}: unexpected character '{ch}' (U+{:04X}){hint}",
            char_pos(src, i),
            ch as u32
        ),
    )
}

pub(super) fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
            i += 1;
            continue;
        }
        if c >= 0x80 {
            let ch = src[i..].chars().next().unwrap();
            if ch == '\u{00A0}' {
                // mathjs reads a no-break space as whitespace
                i += ch.len_utf8();
                continue;
            }
            if !is_alpha(ch) {
                return Err(bad_char(src, i, ch));
            }
        }
        let start = i;
        if c.is_ascii_digit() || (c == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit()) {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i < b.len() && b[i] == b'.' {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let mant_end = i;
            let mut exp: i64 = 0;
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                let mut j = i + 1;
                if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    let es = j;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    let digits = &src[es..j];
                    if digits.len() > 6 {
                        return Err(Error::limit(
                            "expr",
                            format!(
                                "at position {}: exponent of number literal too large",
                                char_pos(src, start)
                            ),
                        ));
                    }
                    exp = digits.parse::<i64>().unwrap();
                    if b[i + 1] == b'-' {
                        exp = -exp;
                    }
                    i = j;
                }
            }
            let text = &src[start..mant_end];
            let (ip, fp) = match text.find('.') {
                Some(p) => (&text[..p], &text[p + 1..]),
                None => (text, ""),
            };
            if ip.len() + fp.len() > 10_000 || exp.abs() > 10_000 {
                return Err(Error::limit(
                    "expr",
                    format!(
                        "at position {}: number literal too long",
                        char_pos(src, start)
                    ),
                ));
            }
            let digits = format!("{ip}{fp}");
            let mant: BigInt = if digits.is_empty() {
                BigInt::zero()
            } else {
                digits.parse().unwrap()
            };
            let e10 = exp - fp.len() as i64;
            let ten = BigInt::from(10);
            let v = if e10 >= 0 {
                BigRational::from_integer(mant * num_traits::pow(ten, e10 as usize))
            } else {
                BigRational::new(mant, num_traits::pow(ten, (-e10) as usize))
            };
            out.push((Tok::Num(v, src[start..i].to_string()), start));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 {
            while i < b.len() {
                if b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' {
                    i += 1;
                } else if b[i] >= 0x80 {
                    let ch = src[i..].chars().next().unwrap();
                    if ch == '\u{00A0}' {
                        break;
                    }
                    if !is_alpha(ch) {
                        return Err(bad_char(src, i, ch));
                    }
                    i += ch.len_utf8();
                } else {
                    break;
                }
            }
            out.push((Tok::Sym(src[start..i].to_string()), start));
            continue;
        }
        let mut matched = false;
        for op in OPS {
            if src[i..].starts_with(op) {
                out.push((Tok::Op(op), start));
                i += op.len();
                matched = true;
                break;
            }
        }
        if !matched {
            let ch = src[i..].chars().next().unwrap();
            return Err(Error::invalid_arg(
                "expr",
                format!("syntax error at position {}: unexpected character '{ch}', expected an operand or operator", char_pos(src, i)),
            ));
        }
    }
    out.push((Tok::End, src.len()));
    // byte offsets -> character positions (tokens are in order: one pass)
    let (mut byte, mut chars) = (0usize, 0usize);
    for t in out.iter_mut() {
        chars += src[byte..t.1].chars().count();
        byte = t.1;
        t.1 = chars;
    }
    Ok(out)
}
