//! Positioned diagnostics: `line:column`, the source line, a caret under the span, an
//! explanation and an optional `did you mean` suggestion.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diag {
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
    pub suggestion: Option<String>,
}

impl Diag {
    pub fn new(span: Span, message: String) -> Diag {
        Diag {
            span,
            message,
            help: None,
            suggestion: None,
        }
    }
    pub fn help(mut self, h: &str) -> Diag {
        self.help = Some(h.to_string());
        self
    }
    pub fn suggest(mut self, s: Option<String>) -> Diag {
        self.suggestion = s;
        self
    }

    /// 1-based line and column (in characters) of the span start.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        line_col(src, self.span.start)
    }

    /// The human rendering: `file:line:col: error: msg`, the line, a caret, help and suggestion.
    pub fn render(&self, src: &str, file: &str) -> String {
        let (line, col) = self.line_col(src);
        let text = src.lines().nth(line - 1).unwrap_or("");
        let width = src
            .get(self.span.start..self.span.end.min(self.span.start + text.len().max(1)))
            .map(|s| s.chars().take_while(|c| *c != '\n').count())
            .unwrap_or(1)
            .max(1);
        let gutter = line.to_string();
        let pad = " ".repeat(gutter.len());
        let mut s = format!(
            "{file}:{line}:{col}: error: {}\n{pad} |\n{gutter} | {text}\n{pad} | {}{}",
            self.message,
            " ".repeat(col - 1),
            "^".repeat(width)
        );
        if let Some(h) = &self.help {
            s.push_str(&format!("\n{pad} = help: {h}"));
        }
        if let Some(sug) = &self.suggestion {
            s.push_str(&format!("\n{pad} = did you mean `{sug}`?"));
        }
        s
    }
}

pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// The closest candidate by edit distance, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = levenshtein(word, c);
        if d <= (word.len().max(c.len()) / 3).max(1) && best.map(|(bd, _)| d < bd).unwrap_or(true) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut prev2: Vec<usize> = prev.clone();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            // a swapped pair of neighbours counts as one edit (optimal string alignment)
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}
