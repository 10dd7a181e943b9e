//! Tokens with byte offsets; line:column are computed only when a diagnostic is rendered.

use crate::diag::{Diag, Span};

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    /// Magnitude of an integer literal; `9223372036854775808` is kept so `-9223372036854775808` parses.
    Int(u64),
    Punct(&'static str),
    Eof,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

const PUNCTS: [&str; 25] = [
    "::", "?", "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", "{", "}", ",", ";", ":",
    ".", "<", ">", "!", "+", "-", "*", "@",
];

/// Contracts larger than this are refused before lexing (a 10 MB contract is an input error, not work).
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;

pub fn lex(src: &str) -> Result<Vec<Token>, Diag> {
    if src.len() > MAX_SOURCE_BYTES {
        return Err(Diag::new(
            Span::new(0, 0),
            format!(
                "contract is {} bytes; the limit is {} bytes",
                src.len(),
                MAX_SOURCE_BYTES
            ),
        ));
    }
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                span: Span::new(start, i),
            });
            continue;
        }
        if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let v: u64 = src[start..i]
                .parse()
                .ok()
                .filter(|v| *v <= 9_223_372_036_854_775_808)
                .ok_or_else(|| {
                    Diag::new(
                        Span::new(start, i),
                        "integer literal does not fit a 64-bit signed integer".to_string(),
                    )
                })?;
            out.push(Token {
                tok: Tok::Int(v),
                span: Span::new(start, i),
            });
            continue;
        }
        if c == b'"' {
            i += 1;
            let mut s = String::new();
            loop {
                if i >= b.len() {
                    return Err(Diag::new(
                        Span::new(start, start + 1),
                        "unterminated string literal".to_string(),
                    )
                    .help("close it with \""));
                }
                let ch = src[i..].chars().next().unwrap_or('\0');
                match ch {
                    '"' => {
                        i += 1;
                        break;
                    }
                    '\\' => {
                        let e = src[i + 1..].chars().next().unwrap_or('\0');
                        let (val, len) = match e {
                            'n' => ('\n', 1),
                            't' => ('\t', 1),
                            'r' => ('\r', 1),
                            '0' => ('\0', 1),
                            '\\' => ('\\', 1),
                            '"' => ('"', 1),
                            '\'' => ('\'', 1),
                            // `\*` is kept escaped: only `like` patterns give it a meaning.
                            '*' => {
                                s.push('\\');
                                ('*', 1)
                            }
                            _ => {
                                return Err(Diag::new(
                                    Span::new(i, i + 1 + e.len_utf8()),
                                    format!("unknown escape sequence '\\{e}'"),
                                ))
                            }
                        };
                        s.push(val);
                        i += 1 + len;
                    }
                    _ => {
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push(Token {
                tok: Tok::Str(s),
                span: Span::new(start, i),
            });
            continue;
        }
        let rest = &src[i..];
        match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            Some(p) => {
                i += p.len();
                out.push(Token {
                    tok: Tok::Punct(p),
                    span: Span::new(start, i),
                });
            }
            None => {
                let ch = rest.chars().next().unwrap_or('?');
                return Err(Diag::new(
                    Span::new(start, start + ch.len_utf8()),
                    format!("unexpected character '{ch}'"),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(b.len(), b.len()),
    });
    Ok(out)
}
