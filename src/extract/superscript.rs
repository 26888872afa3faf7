//! Footnote markers set as superscripts, dropped from the text they follow
//! (shared by the HTML walker, the table reader and the Markdown reader).

/// Drops footnote markers set as superscripts ("Azure Maps<sup>1</sup>",
/// "✅<sup>a</sup>"): glued to the text before them, they would change a
/// service's name or spoil a check mark. Other superscripts stay.
#[derive(Debug, Default)]
pub(crate) struct Superscript {
    depth: usize,
    /// Where the outermost open superscript's text starts.
    start: usize,
}

impl Superscript {
    /// A `<sup>` opens; `text` is what was gathered before it.
    pub(crate) fn open(&mut self, text: &str) {
        if self.depth == 0 {
            self.start = text.len();
        }
        self.depth += 1;
    }

    /// A `</sup>` closes: the outermost one's text leaves `text` if it is a
    /// footnote marker (up to 3 of `0-9 a-z * † ‡ §`, or a list of such
    /// separated by commas: `4, 5`) or a trademark sign (`TM`, `SM`), but
    /// not an ordinal's ending (`1<sup>st</sup>`).
    pub(crate) fn close(&mut self, text: &mut String) {
        if self.depth == 0 {
            return;
        }
        self.depth -= 1;
        if self.depth > 0 {
            return;
        }
        let (before, sup) = text.split_at(self.start.min(text.len()));
        let sup = sup.trim();
        let ordinal = before.ends_with(|c: char| c.is_ascii_digit())
            && matches!(sup, "st" | "nd" | "rd" | "th");
        let marker = sup.chars().count() <= 16
            && sup.split(',').map(str::trim).all(|r| {
                (1..=3).contains(&r.chars().count())
                    && r.chars()
                        .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || "*†‡§".contains(c))
            });
        if matches!(sup, "TM" | "SM") || (marker && !ordinal) {
            text.truncate(self.start.min(text.len()));
        }
    }
}
