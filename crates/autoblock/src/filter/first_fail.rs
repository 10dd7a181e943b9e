//! The failregex list as one multi-pattern regex whose single leftmost-first
//! search answers "which failregex matches first, and with what groups".
//!
//! Applies when every variant is anchored at the start (`^`, as fail2ban's
//! filters write them): all matches then start at 0, and at one start
//! position leftmost-first prefers the lowest pattern, exactly as trying the
//! variants in order does. One search is then one lazy-DFA pass that stops
//! when no pattern can match any more, followed by the capture engine on
//! the matched span of that one pattern (regex-automata's meta strategy) —
//! where the `RegexSet` path ran an overlapping pass that must settle every
//! pattern, then the chosen regex's own DFA pass, then its captures.
//! The capture slots and the search cache live here, reused line to line.

use regex_automata::meta::{self, Cache, Regex};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::Look;

use super::Pattern;
use crate::mlfid::{self, Groups};

fn config() -> meta::Config {
    meta::Config::new()
        .match_kind(regex_automata::MatchKind::LeftmostFirst)
        .utf8_empty(true)
        .nfa_size_limit(Some(256 << 20))
        .hybrid_cache_capacity(2 << 20)
}

/// All variants, without capture groups: the lazy DFA finds which one
/// matches first and where its match ends.
struct Finder {
    re: Regex,
    cache: Cache,
}

impl Finder {
    fn new(sources: &[&str]) -> Option<Self> {
        let config = config().which_captures(WhichCaptures::Implicit);
        let re = meta::Builder::new().configure(config).build_many(sources).ok()?;
        Some(Self { cache: re.create_cache(), re })
    }
}

/// One variant's capture engine, without DFAs: it only runs anchored on the
/// span the finder matched (one-pass DFA, else bounded backtracker, else
/// PikeVM), so a DFA pass would only find that span again. A capture engine
/// of all variants together would cost per line in proportion to all of
/// them (the backtracker clears a visited set of states x span).
struct Capturer {
    re: Regex,
    cache: Cache,
    caps: Captures,
}

impl Capturer {
    fn new(source: &str) -> Option<Self> {
        let re = meta::Builder::new().configure(config().hybrid(false).dfa(false)).build(source).ok()?;
        Some(Self { cache: re.create_cache(), caps: re.create_captures(), re })
    }
}

/// The Unicode engines and the ASCII twins' (`crate::ascii`, for ASCII lines).
struct Pair<T> {
    uni: T,
    ascii: T,
}

impl<T> Pair<T> {
    fn get(&mut self, ascii: bool) -> &mut T {
        if ascii {
            &mut self.ascii
        } else {
            &mut self.uni
        }
    }
}

pub(super) struct FirstFail {
    finder: Pair<Finder>,
    capturers: Vec<Pair<Capturer>>,
    /// each pattern's (failregex, variant)
    at: Vec<(usize, usize)>,
    /// the capturer that ran last (its captures hold the last match)
    last: Option<(usize, bool)>,
}

/// Whether every match of `source` starts at the haystack's start.
fn anchored_at_start(source: &str) -> bool {
    regex_syntax::ParserBuilder::new().build().parse(source).is_ok_and(|h| h.properties().look_set_prefix().contains(Look::Start))
}

impl FirstFail {
    /// None when some variant is not start-anchored (the order argument
    /// does not hold) or the regex does not build (size limits).
    pub(super) fn new(failregex: &[Pattern]) -> Option<Self> {
        let mut uni = Vec::new();
        let mut ascii = Vec::new();
        let mut at = Vec::new();
        for (i, p) in failregex.iter().enumerate() {
            for (v, t) in p.variants.iter().enumerate() {
                uni.push(t.uni.as_str());
                ascii.push(t.ascii.as_str());
                at.push((i, v));
            }
        }
        if uni.is_empty() || !uni.iter().chain(&ascii).all(|s| anchored_at_start(s)) {
            return None;
        }
        let capturers = uni
            .iter()
            .zip(&ascii)
            .map(|(u, a)| Some(Pair { uni: Capturer::new(u)?, ascii: Capturer::new(a)? }))
            .collect::<Option<Vec<_>>>()?;
        Some(Self { finder: Pair { uni: Finder::new(&uni)?, ascii: Finder::new(&ascii)? }, capturers, at, last: None })
    }

    /// The (failregex, variant) that the list, tried in order, matches first.
    pub(super) fn search(&mut self, text: &str, ascii: bool) -> Option<(usize, usize)> {
        self.last = None;
        let f = self.finder.get(ascii);
        let m = f.re.search_with(&mut f.cache, &Input::new(text))?;
        let k = m.pattern().as_usize();
        let c = self.capturers[k].get(ascii);
        // the same span, so the same match: leftmost-first on one pattern
        let input = Input::new(text).span(m.range()).anchored(Anchored::Yes);
        c.re.search_captures_with(&mut c.cache, &input, &mut c.caps);
        self.last = Some((k, ascii));
        Some(self.at[k])
    }

    /// The last match's groups in its pattern's order, as `super::collect` gives them.
    pub(super) fn collect(&mut self, text: &str, out: &mut Groups) {
        let Some((k, ascii)) = self.last else { return };
        let caps = &self.capturers[k].get(ascii).caps;
        let Some(pid) = caps.pattern() else { return };
        for (i, n) in caps.group_info().pattern_names(pid).enumerate() {
            if let Some(n) = n {
                mlfid::update(out, n, caps.get_group(i).map(|s| &text[s.range()]));
            }
        }
    }
}
