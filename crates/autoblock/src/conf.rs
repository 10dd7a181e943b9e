//! fail2ban's configuration files as fail2ban reads them: INI sections,
//! indented continuation lines, `[INCLUDES] before/after`, `%(name)s`
//! interpolation (also `%(section/name)s` and `%(known/name)s`) and `<name>`
//! tag substitution (innermost first, so `<lt_<logtype>/__prefix_line>` works).
//! Every value line remembers its file and line for error reports.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use omnitide_common::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Clone)]
struct Value {
    text: String,
    loc: Loc,
    /// the value this one overrode (for `%(known/name)s`)
    known: Option<Box<Value>>,
}

/// A parsed configuration: the merged sections of a file and its includes.
#[derive(Debug, Default)]
pub struct Conf {
    sections: HashMap<String, HashMap<String, Value>>,
    /// trimmed raw value line -> where it was written
    origins: HashMap<String, Loc>,
}

/// Python's `configparser.MAX_INTERPOLATION_DEPTH` (also bounds tag substitution).
const MAX_DEPTH: usize = 10;
/// Rounds of innermost-first tag substitution before a cycle is assumed.
const MAX_TAG_ROUNDS: usize = 32;
const MAX_FILE_BYTES: u64 = 4 << 20;

impl Conf {
    /// Reads `path` with its `[INCLUDES]` (relative to its directory; `.local`
    /// files beside it are read after it when present, as fail2ban does).
    pub fn read(path: &Path) -> Result<Self> {
        let mut c = Conf::default();
        c.read_into(path, 0, true)?;
        Ok(c)
    }

    /// Parses text as if read from `name` (includes resolved against `dir`).
    pub fn parse_str(name: &str, text: &str, dir: Option<&Path>) -> Result<Self> {
        let mut c = Conf::default();
        c.merge_text(name, text, dir, 0)?;
        Ok(c)
    }

    fn read_into(&mut self, path: &Path, depth: usize, required: bool) -> Result<()> {
        if depth > 8 {
            return Err(Error::invalid_arg("filter", format!("{}: includes nested more than 8 deep", path.display())));
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(path.display(), &e)),
        };
        if meta.len() > MAX_FILE_BYTES {
            return Err(Error::limit("filter", format!("{}: larger than 4 MiB", path.display())));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), &e))?;
        let text = String::from_utf8(bytes).map_err(|_| Error::invalid_arg("filter", format!("{}: not UTF-8", path.display())))?;
        self.merge_text(&path.display().to_string(), &text, path.parent(), depth)?;
        let local = path.with_extension("local");
        if path.extension().is_some_and(|e| e == "conf") && local.exists() {
            self.read_into(&local, depth + 1, false)?;
        }
        Ok(())
    }

    fn merge_text(&mut self, name: &str, text: &str, dir: Option<&Path>, depth: usize) -> Result<()> {
        let parsed = parse_ini(name, text)?;
        let includes = |key: &str| -> Vec<PathBuf> {
            parsed
                .iter()
                .filter(|(s, k, _)| s == "INCLUDES" && k == key)
                .flat_map(|(_, _, v)| {
                    v.text.split_whitespace().map(|f| dir.map(|d| d.join(f)).unwrap_or_else(|| PathBuf::from(f))).collect::<Vec<_>>()
                })
                .collect()
        };
        for f in includes("before") {
            self.read_into(&f, depth + 1, true)?;
        }
        for (section, key, value) in parsed.iter().filter(|(s, _, _)| s != "INCLUDES") {
            for (i, l) in value.text.lines().enumerate() {
                self.origins.entry(l.trim().to_string()).or_insert(Loc { file: value.loc.file.clone(), line: value.loc.line + i });
            }
            let sec = self.sections.entry(section.clone()).or_default();
            let mut v = value.clone();
            v.known = sec.remove(key).map(Box::new);
            sec.insert(key.clone(), v);
        }
        for f in includes("after") {
            self.read_into(&f, depth + 1, false)?;
        }
        Ok(())
    }

    /// Values of `other` override this configuration's.
    pub fn merge_from(&mut self, other: Conf) {
        for (sec, vals) in other.sections {
            let mine = self.sections.entry(sec).or_default();
            for (k, mut v) in vals {
                v.known = mine.remove(&k).map(Box::new);
                mine.insert(k, v);
            }
        }
        for (l, loc) in other.origins {
            self.origins.entry(l).or_insert(loc);
        }
    }

    pub fn has_section(&self, s: &str) -> bool {
        self.sections.contains_key(s)
    }

    fn raw(&self, section: &str, key: &str) -> Option<&Value> {
        self.sections.get(section).and_then(|s| s.get(key)).or_else(|| self.sections.get("DEFAULT").and_then(|s| s.get(key)))
    }

    /// Where an option (or the given value line) was written.
    pub fn loc(&self, section: &str, key: &str) -> Option<Loc> {
        self.raw(section, key).map(|v| v.loc.clone())
    }

    pub fn origin_of(&self, line: &str) -> Option<Loc> {
        self.origins.get(line.trim()).cloned()
    }

    /// A value with `%(...)s` interpolated (not tags), as Python's
    /// `configparser.BasicInterpolation` under fail2ban's
    /// `SafeConfigParserWithIncludes` does it (see [`Conf::lookup`]).
    pub fn get(&self, section: &str, key: &str) -> Result<Option<String>> {
        match self.raw(section, &key.to_lowercase()) {
            None => Ok(None),
            Some(v) => {
                let mut out = String::with_capacity(v.text.len());
                self.interpolate(section, &v.text, &v.loc, 1, &mut out)?;
                Ok(Some(out))
            }
        }
    }

    /// `%%` is a literal `%`, `%(name)s` the value of `name` (itself
    /// interpolated, in the same section: a `%(sec/opt)s` value too), any
    /// other `%` an error. Python's limit of 10 levels applies (a deeper
    /// chain is an error there as well, so a cycle is one).
    fn interpolate(&self, section: &str, text: &str, at: &Loc, depth: usize, out: &mut String) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Error::invalid_arg(
                "filter",
                format!("{at}: interpolation nested more than {MAX_DEPTH} deep (a cycle? e.g. a %(known/name)s whose earlier value refers to %(known/name)s again)"),
            ));
        }
        let mut rest = text;
        while let Some(p) = rest.find('%') {
            out.push_str(&rest[..p]);
            let after = &rest[p + 1..];
            if let Some(r) = after.strip_prefix('%') {
                out.push('%');
                rest = r;
                continue;
            }
            let Some(inner) = after.strip_prefix('(') else {
                return Err(Error::invalid_arg("filter", format!("{at}: '%' must be followed by '%' or '(' (write %% for a literal %)")));
            };
            let Some(close) = inner.find(")s").filter(|&c| c > 0 && !inner[..c].contains(')')) else {
                return Err(Error::invalid_arg("filter", format!("{at}: unterminated %(...)s")));
            };
            let name = &inner[..close];
            let Some(v) = self.lookup(section, name) else {
                return Err(Error::invalid_arg("filter", format!("{at}: %({name})s refers to an undefined option")));
            };
            if v.text.contains('%') {
                self.interpolate(section, &v.text, &v.loc, depth + 1, out)?;
            } else {
                out.push_str(&v.text);
            }
            rest = &inner[close + 2..];
        }
        out.push_str(rest);
        Ok(())
    }

    /// The raw value `%(name)s` stands for while `section` is read. Python
    /// looks names up lowercased in the section's options over `[DEFAULT]`;
    /// fail2ban first maps each `sec/opt` it sees under the name as written:
    /// `known/opt` is the value `opt` had in this section before the last
    /// file that redefined it (an include read before, a `.local`), else
    /// `[DEFAULT]`'s; `default/opt` is `[DEFAULT]`'s; `sec/opt` is section
    /// `sec`'s own value, else `[DEFAULT]`'s (only when `sec` exists). As
    /// the lookup lowercases and the mapping does not, a `sec/opt` written
    /// with capitals is undefined in fail2ban too.
    fn lookup(&self, section: &str, name: &str) -> Option<&Value> {
        let lower = name.to_lowercase();
        if let Some(v) = self.raw(section, &lower) {
            return Some(v);
        }
        let (sec, opt) = name.split_once('/')?;
        if lower != name || sec.is_empty() || !sec.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
            return None;
        }
        let default = || self.sections.get("DEFAULT").and_then(|d| d.get(opt));
        match sec {
            "known" => self.sections.get(section).and_then(|s| s.get(opt)).and_then(|v| v.known.as_deref()).or_else(default),
            "default" => default(),
            _ => self.sections.get(sec).and_then(|s| s.get(opt).or_else(default)),
        }
    }

    /// Substitutes `<name>` tags whose name is an option of `section` (or
    /// `<sec/name>`), innermost first; unknown tags (`<HOST>`, `<F-USER>`) stay.
    pub fn substitute_tags(&self, section: &str, text: &str) -> Result<String> {
        let mut s = text.to_string();
        for _ in 0..MAX_TAG_ROUNDS {
            let mut changed = false;
            let mut out = String::with_capacity(s.len());
            let mut i = 0;
            let b = s.as_bytes();
            while i < b.len() {
                if b[i] == b'<' {
                    // innermost: a '<' followed by name chars and '>' with no '<' inside
                    if let Some(len) = s[i + 1..].find(['<', '>']) {
                        if b[i + 1 + len] == b'>' {
                            let name = &s[i + 1..i + 1 + len];
                            if let Some(v) = self.tag_value(section, name)? {
                                out.push_str(&v);
                                i += len + 2;
                                changed = true;
                                continue;
                            }
                        }
                    }
                }
                let ch = s[i..].chars().next().unwrap();
                out.push(ch);
                i += ch.len_utf8();
            }
            s = out;
            if !changed {
                return Ok(s);
            }
        }
        Err(Error::invalid_arg(
            "filter",
            format!("tag substitution did not settle (a cycle?) in '{}'", text.chars().take(80).collect::<String>()),
        ))
    }

    fn tag_value(&self, section: &str, name: &str) -> Result<Option<String>> {
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || "_-/.".contains(c)) {
            return Ok(None);
        }
        if let Some((s, k)) = name.split_once('/') {
            if self.sections.get(s).is_some_and(|m| m.contains_key(k)) {
                return self.get(s, k);
            }
            return Ok(None);
        }
        for sec in [section, "Init"] {
            if self.sections.get(sec).is_some_and(|m| m.contains_key(name)) {
                return self.get(sec, name);
            }
        }
        if self.sections.get("DEFAULT").is_some_and(|m| m.contains_key(name)) {
            return self.get(section, name);
        }
        Ok(None)
    }
}

type Entry = (String, String, Value);

/// Python-configparser-compatible enough for fail2ban files: `#`/`;` comment
/// lines, `key = value` or `key: value`, indented continuation lines.
fn parse_ini(name: &str, text: &str) -> Result<Vec<Entry>> {
    let mut out: Vec<Entry> = Vec::new();
    let mut section: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        let bad = |p: &str| Error::invalid_arg("filter", format!("{name}:{lineno}: {p}"));
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match out.last_mut() {
                Some(last) if section.is_some() => {
                    last.2.text.push('\n');
                    last.2.text.push_str(trimmed);
                    continue;
                }
                _ => return Err(bad("continuation line without an option above it")),
            }
        }
        if trimmed.starts_with('[') {
            if !trimmed.ends_with(']') || trimmed.len() < 3 {
                return Err(bad("malformed section header"));
            }
            section = Some(trimmed[1..trimmed.len() - 1].to_string());
            continue;
        }
        let Some(sec) = &section else {
            return Err(bad("option before any [section]"));
        };
        let sep = trimmed.find(['=', ':']).ok_or_else(|| bad("expected 'name = value'"))?;
        let key = trimmed[..sep].trim();
        if key.is_empty() {
            return Err(bad("empty option name"));
        }
        let value = trimmed[sep + 1..].trim().to_string();
        // configparser's optionxform: option names are case-insensitive
        out.push((sec.clone(), key.to_lowercase(), Value { text: value, loc: Loc { file: name.to_string(), line: lineno }, known: None }));
    }
    // A value whose first line is empty starts on the next line (fail2ban style).
    for e in &mut out {
        if e.2.text.starts_with('\n') {
            e.2.text.remove(0);
            e.2.loc.line += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_tags_and_locations() {
        let c = Conf::parse_str(
            "t.conf",
            "[DEFAULT]\n_daemon = sshd\n__pre = <_daemon>\\[\\d+\\]\n[lt_file]\npl = F<__pre>\n[Definition]\nlogtype = file\nx = %(__pre)s: y\nfailregex = ^a <lt_<logtype>/pl>\n            ^b %(x)s\n\nmode = normal\n",
            None,
        )
        .unwrap();
        let fr = c.get("Definition", "failregex").unwrap().unwrap();
        assert_eq!(fr, "^a <lt_<logtype>/pl>\n^b <_daemon>\\[\\d+\\]: y");
        assert_eq!(c.substitute_tags("Definition", &fr).unwrap(), "^a Fsshd\\[\\d+\\]\n^b sshd\\[\\d+\\]: y");
        assert_eq!(c.origin_of("^b %(x)s"), Some(Loc { file: "t.conf".into(), line: 10 }));
        assert_eq!(c.substitute_tags("Definition", "<HOST> <F-USER>").unwrap(), "<HOST> <F-USER>");
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = Conf::parse_str("bad.conf", "[Definition]\nfailregex = a\n\nnovalue\n", None).unwrap_err();
        assert!(e.message.contains("bad.conf:4"), "{}", e.message);
        let c = Conf::parse_str("u.conf", "[Definition]\nfailregex = %(nope)s\n", None).unwrap();
        let e = c.get("Definition", "failregex").unwrap_err();
        assert!(e.message.contains("u.conf:2") && e.message.contains("nope"), "{}", e.message);
        let c = Conf::parse_str("c.conf", "[Definition]\na = %(b)s\nb = %(a)s\n", None).unwrap();
        assert!(c.get("Definition", "a").is_err());
    }

    /// Files in a fresh directory (includes are resolved against it).
    fn files(tag: &str, list: &[(&str, &str)]) -> PathBuf {
        let d = std::env::temp_dir().join(format!("omni-conf-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for (n, t) in list {
            std::fs::write(d.join(n), t).unwrap();
        }
        d
    }

    /// The answers of fail2ban 1.0's SafeConfigParserWithIncludes (Python 3.11) on the same files.
    #[test]
    fn known_default_and_section_references_as_fail2ban() {
        let d = files(
            "known",
            &[
                ("a.conf", "[DEFAULT]\nx = defx\n[S]\ny = a-y\nz = a-z %(y)s\nup = a-up\n[t]\nt = a-t\n"),
                (
                    "b.conf",
                    "[INCLUDES]\nbefore = a.conf\nafter = c.conf\n[DEFAULT]\nx = b-x\n[S]\ny = b-y [%(known/y)s]\nup = b-up [%(known/up)s]\nw = %(known/x)s\nv = %(t/t)s %(default/x)s\nq = %(t/tt)s\nn = %(known/nope)s\nm = %(known/m)s\nzz = %(z)s\ncap = %(T/t)s\ncap2 = %(DEFAULT/x)s\npct = 100%% %%(x)s\nbad = 5%\nUpper = u\nlow = %(UPPER)s\n[t]\nt = tt-%(up)s\ntt = %(nope)s\n",
                ),
                ("c.conf", "[S]\ny = c-y {%(known/y)s}\n"),
            ],
        );
        let c = Conf::read(&d.join("b.conf")).unwrap();
        let get = |k: &str| c.get("S", k);
        // known/: the value before the last redefinition, interpolated in the same section
        assert_eq!(get("up").unwrap().unwrap(), "b-up [a-up]");
        // known/ of an option this section never had before: [DEFAULT]'s (the latest one)
        assert_eq!(get("w").unwrap().unwrap(), "b-x");
        // a section's own value (interpolated in the section that refers to it), default/
        assert_eq!(get("v").unwrap().unwrap(), "tt-b-up [a-up] b-x");
        // only one earlier value is known: c's known/y is b's, whose known/y is b's again (Python: recursion limit)
        assert!(get("y").unwrap_err().message.contains("deep"));
        assert!(get("zz").unwrap_err().message.contains("deep"));
        for k in ["q", "n", "m", "cap", "cap2"] {
            assert!(get(k).unwrap_err().message.contains("undefined"), "{k}");
        }
        assert_eq!(c.get("S", "UPPER").unwrap().unwrap(), "u");
        assert_eq!(get("low").unwrap().unwrap(), "u");
        assert_eq!(get("pct").unwrap().unwrap(), "100% %(x)s");
        assert!(get("bad").unwrap_err().message.contains("'%'"));
        std::fs::remove_dir_all(d).unwrap();
    }

    /// Debian's sendmail filters: `__prefix_line = %(known/__prefix_line)s...` over common.conf's [DEFAULT] one.
    #[test]
    fn known_falls_back_to_an_included_default() {
        let d = files(
            "sendmail",
            &[
                ("common.conf", "[DEFAULT]\n__prefix_line = <lt_<logtype>/__prefix_line>\n"),
                (
                    "sendmail.conf",
                    "[INCLUDES]\nbefore = common.conf\n[Definition]\n__prefix_line = %(known/__prefix_line)s(?:\\w{14,20}: )?\nprefregex = ^%(__prefix_line)s<F-CONTENT>.+</F-CONTENT>$\n",
                ),
            ],
        );
        let c = Conf::read(&d.join("sendmail.conf")).unwrap();
        assert_eq!(
            c.get("Definition", "prefregex").unwrap().unwrap(),
            "^<lt_<logtype>/__prefix_line>(?:\\w{14,20}: )?<F-CONTENT>.+</F-CONTENT>$"
        );
        std::fs::remove_dir_all(d).unwrap();
    }
}
