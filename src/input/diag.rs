//! Diagnostics: one problem with its field path, file:line:column, message and
//! hint, and the single renderer that draws them (rustc style, with a caret
//! under the source). Every invalid profile is reported through here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::input::position::{FieldPath, Located, Sources};

/// Problems drawn in full in one report; the summary line still counts them all.
const MAX_SHOWN: usize = 200;

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub path: FieldPath,
    pub message: String,
    pub hint: Option<String>,
    /// Point at the key rather than the value (unknown fields, missing siblings).
    pub at_key: bool,
    /// An explicit place; otherwise the path is looked up in the sources.
    pub at: Option<Located>,
    /// `error` or `warning`; lint findings carry their rule id as `code`.
    pub severity: &'static str,
    pub code: Option<&'static str>,
}

impl Diagnostic {
    /// A problem with the value at `path`; the message is a whole sentence.
    pub fn error(path: FieldPath, message: String) -> Self {
        Diagnostic {
            path,
            message,
            hint: None,
            at_key: false,
            at: None,
            severity: "error",
            code: None,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn at_key(mut self) -> Self {
        self.at_key = true;
        self
    }
}

/// All problems found in one profile, with the sources to draw them from.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    pub sources: Option<Sources>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn with_sources(mut self, sources: Sources) -> Self {
        self.sources = Some(sources);
        self
    }
    pub fn extend(&mut self, other: Vec<Diagnostic>) {
        self.items.extend(other);
    }

    /// Resolve places and sort by file and position, so reports read top to bottom.
    fn resolved(&self) -> Vec<(Option<Located>, &Diagnostic)> {
        self.resolved_in(self.sources.as_ref())
    }

    fn resolved_in<'a>(
        &'a self,
        sources: Option<&Sources>,
    ) -> Vec<(Option<Located>, &'a Diagnostic)> {
        let mut out: Vec<(Option<Located>, &Diagnostic)> = self
            .items
            .iter()
            .map(|d| {
                let at =
                    d.at.clone()
                        .or_else(|| sources.and_then(|s| s.locate(&d.path, d.at_key)));
                (at, d)
            })
            .collect();
        out.sort_by(|(a, da), (b, db)| {
            let ka = a.as_ref().map(|l| (l.file, l.pos));
            let kb = b.as_ref().map(|l| (l.file, l.pos));
            ka.cmp(&kb).then_with(|| da.message.cmp(&db.message))
        });
        out.dedup_by(|(a, da), (b, db)| {
            da.message == db.message
                && a.as_ref().map(|l| (l.file, l.pos)) == b.as_ref().map(|l| (l.file, l.pos))
        });
        out
    }

    /// The full report: every problem, then one summary line.
    pub fn render(&self) -> String {
        let mut out = self.render_items();
        let n = self.resolved().len();
        out.push_str(&summary(n, "profile", "written"));
        out
    }

    /// Every item, drawn with its source line, without a summary.
    pub fn render_items(&self) -> String {
        self.render_items_in(self.sources.as_ref())
    }

    /// Like `render_items`, with sources owned elsewhere (a loaded model's).
    pub fn render_items_in(&self, sources: Option<&Sources>) -> String {
        let mut out = String::new();
        let items = self.resolved_in(sources);
        // Each file's lines, split once: looking a line up by walking the text
        // for every problem made a report with many problems quadratic (a
        // hostile 6 MB profile with 200 000 unknown fields never finished).
        let mut lines: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for (at, d) in items.iter().take(MAX_SHOWN) {
            match d.code {
                Some(code) => {
                    let _ = writeln!(out, "{}[{code}]: {}", d.severity, d.message);
                }
                None => {
                    let _ = writeln!(out, "{}: {}", d.severity, d.message);
                }
            }
            // rustc layout: the gutter is as wide as the line number.
            let mut pad = " ".to_owned();
            if let (Some(at), Some(sources)) = (at, sources) {
                let file = &sources.files[at.file];
                let num = at.pos.line.to_string();
                pad = " ".repeat(num.len());
                let _ = writeln!(out, "{pad}--> {}:{}:{}", file.name, at.pos.line, at.pos.col);
                let file_lines = lines
                    .entry(at.file)
                    .or_insert_with(|| file.text.lines().collect());
                if let Some(line) = file_lines.get(at.pos.line.saturating_sub(1)) {
                    let line = line.trim_end_matches('\r');
                    let shown: String = line.chars().take(200).collect();
                    let width = shown.chars().count();
                    let col = at.pos.col.saturating_sub(1).min(width);
                    let len = at.pos.len.clamp(1, (width - col).max(1));
                    let lead: String = shown
                        .chars()
                        .take(col)
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{num} | {shown}");
                    let _ = writeln!(out, "{pad} | {lead}{}", "^".repeat(len));
                }
            }
            if !d.path.0.is_empty() {
                let _ = writeln!(out, "{pad} = field: {}", d.path);
            }
            if let Some(h) = &d.hint {
                let _ = writeln!(out, "{pad} = hint: {h}");
            }
        }
        if items.len() > MAX_SHOWN {
            // The first ones are enough to act on; a hostile profile must not
            // turn into hundreds of megabytes on stderr.
            let _ = writeln!(
                out,
                "note: {} more problems not shown; fix the ones above first",
                items.len() - MAX_SHOWN
            );
        }
        out
    }
}

/// The closest candidate to `word` by edit distance, if it is close enough to be
/// a plausible typo.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lw = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lw, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1) && *d < word.chars().count())
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: edits plus adjacent transpositions, the
/// commonest typo.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The one summary line under every report: `error: the <what> has N
/// problem(s); nothing was <verb>`.
pub(crate) fn summary(n: usize, what: &str, verb: &str) -> String {
    format!(
        "error: the {what} has {n} problem{}; nothing was {verb}\n",
        if n == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_only() {
        assert_eq!(
            nearest("namespcaes", ["namespaces", "name"]),
            Some("namespaces")
        );
        assert_eq!(nearest("quota", ["quota", "quotas"]), Some("quota"));
        assert_eq!(nearest("zzzzzz", ["namespaces", "roles"]), None);
        assert_eq!(nearest("veiw", ["view", "edit"]), Some("view"));
    }
}
