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
use regex_automata::{Anchored, Input, PatternID};
use regex_syntax::hir::Look;

use super::Pattern;
use crate::mlfid::{self, Groups, Name};

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
    /// each group's name, made once ([`mlfid::name`] per line was a visible cost)
    names: Vec<Option<Name>>,
}

impl Capturer {
    fn new(source: &str) -> Option<Self> {
        let re = meta::Builder::new().configure(config().hybrid(false).dfa(false)).build(source).ok()?;
        let names = re.group_info().pattern_names(PatternID::ZERO).map(|n| n.map(mlfid::name)).collect();
        Some(Self { cache: re.create_cache(), caps: re.create_captures(), re, names })
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
        let (uni, ascii, at) = super::variant_sources(failregex);
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
        if c.caps.pattern().is_none() {
            // not expected (both engines implement the same leftmost-first
            // match); the whole text then, as the per-pattern path searches it
            c.re.search_captures_with(&mut c.cache, &Input::new(text).anchored(Anchored::Yes), &mut c.caps);
        }
        self.last = Some((k, ascii));
        Some(self.at[k])
    }

    /// The last match's groups in its pattern's order, as `super::collect` gives them.
    pub(super) fn collect(&mut self, text: &str, out: &mut Groups) {
        let Some((k, ascii)) = self.last else { return };
        let c = self.capturers[k].get(ascii);
        if c.caps.pattern().is_none() {
            return;
        }
        for (i, n) in c.names.iter().enumerate() {
            if let Some(n) = n {
                mlfid::update_named(out, n, || n.clone(), c.caps.get_group(i).map(|s| &text[s.range()]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{collect, Filter, FilterOptions, LineResult};

    /// What trying each variant's captures in order gives: (failregex, groups).
    fn in_order(failregex: &[Pattern], text: &str) -> Option<(usize, Groups)> {
        failregex.iter().enumerate().find_map(|(i, p)| {
            p.captures(text, text.is_ascii()).map(|(re, c)| {
                let mut g = Groups::new();
                collect(re, &c, &mut g);
                (i, g)
            })
        })
    }

    const CONF: &str = "[Definition]
failregex = ^auth failed for <F-USER>\\S+</F-USER> from <HOST>( via \\S+)?$
            ^auth failed for <F-USER>.*?</F-USER> from <HOST>
            ^(?:(?P<kind>bad|worse) )?login from <HOST>(?: port <F-PORT>\\d+</F-PORT>)?\\s*$
            ^(?P<a>x)?(?(a)y|z) from <HOST>
            ^<F-NOFAIL>closed</F-NOFAIL> by <HOST>
ignoreregex = from 10\\.9\\.
";

    #[test]
    fn first_match_and_groups_as_trying_each_pattern_in_order() {
        let mut f = Filter::from_str("t", CONF, None, &FilterOptions::default()).unwrap();
        let failregex = f.failregex.clone();
        let ff = f.first_fail.as_mut().expect("all failregex are start-anchored");
        let lines = [
            "auth failed for bob from 192.0.2.1",
            "auth failed for bob from 192.0.2.1 via proxy",
            // the first pattern's literals but not its shape: the second one matches
            "auth failed for bob smith from 192.0.2.1",
            "auth failed for bob from 192.0.2.1 trailing words",
            "auth failed for from 192.0.2.1",
            "auth failed for bob from",
            "bad login from 2001:db8::1 port 22  ",
            "login from 192.0.2.2",
            "worse login from 192.0.2.2 port x",
            "xy from 192.0.2.3",
            "z from 192.0.2.3",
            "xz from 192.0.2.3",
            "closed by 192.0.2.4",
            " closed by 192.0.2.4",
            "auth failed for jürgen from 192.0.2.5",
            "auth failed for bob from 192.0.2.6 via prøxy",
            "login from 10.9.0.1",
            "",
            "nothing here",
        ];
        let mut matched = std::collections::BTreeSet::new();
        for line in lines {
            let want = in_order(&failregex, line);
            matched.extend(want.as_ref().map(|(i, _)| *i));
            let got = ff.search(line, line.is_ascii()).map(|(i, _)| {
                let mut g = Groups::new();
                ff.collect(line, &mut g);
                (i, g)
            });
            // the fast path leaves out groups that did not take part; they read as absent
            let want = want.map(|(i, g)| (i, g.into_iter().filter(|(_, v)| v.is_some()).collect::<Groups>()));
            assert_eq!(got, want, "{line:?}");
        }
        assert_eq!(matched.len(), 5, "every failregex matched some line: {matched:?}");
        // and through the filter, ignoreregex included
        let mut plain = Filter::from_str("t", CONF, None, &FilterOptions::default()).unwrap();
        plain.first_fail = None;
        plain.fail_set = None;
        for line in lines {
            let line = format!("Nov 30 10:00:01 {line}");
            assert_eq!(f.match_line(&line, 1796032801.0), plain.match_line(&line, 1796032801.0), "{line:?}");
        }
        assert_eq!(f.match_line("Nov 30 10:00:01 login from 10.9.0.1", 1796032801.0), LineResult::Ignored);
    }

    #[test]
    fn applies_only_when_every_failregex_is_start_anchored() {
        let conf = "[Definition]\nfailregex = ^a <HOST>$\n  b <HOST>$\n";
        let f = Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap();
        assert!(f.first_fail.is_none());
        let conf = "[Definition]\nfailregex = ^a <HOST>$\n  ^(?:b|^c) <HOST>$\n";
        let f = Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap();
        assert!(f.first_fail.is_some());
        let conf = "[Definition]\nfailregex = ^a <HOST>$\n  (?:^b|c) <HOST>$\n";
        let f = Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap();
        assert!(f.first_fail.is_none());
    }
}
