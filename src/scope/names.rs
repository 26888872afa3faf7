//! Cleaning the names found on a page into the names stored in a scope set:
//! markup leftovers, footnote markers and trailing punctuation removed,
//! "(formerly X)" notes taken out and kept as former names, instructions in
//! parentheses ("(see Appendix A …)") taken out and kept as notes, aliases
//! applied, comma lists split without breaking parentheses, and a list of
//! environments ("Office 365, Office 365 U.S. Government") split into one
//! name per environment.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::ScopeSettings;

/// A "(formerly X)" / "(previously X)" / "(formerly known as X)" note.
static FORMERLY: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, checked by the tests below: compiling it cannot fail.
    #[allow(clippy::expect_used)]
    Regex::new(r"(?i)\s*\(\s*(?:formerly|previously)(?:\s+(?:known\s+as|named|called))?\s*:?\s+([^()]+?)\s*\)")
        .expect("constant regex")
});

/// The start of a parenthesised instruction to the reader, which is a note
/// about a name and never part of it: "(see Appendix A and B …)", "(for
/// detailed insight, see …)", "(refer to …)", "(for more information …)",
/// "(not in scope for Azure Government)", "(not available in …)".
static NOTE_START: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, checked by the tests below: compiling it cannot fail.
    #[allow(clippy::expect_used)]
    Regex::new(
        r"(?i)^\(\s*(?:see\b|refer\b|for\s+(?:the\s+)?(?:detailed|more|further|additional|full|complete|details)\b|(?:not|never)\s+(?:yet\s+)?(?:in\s+scope|available|included|covered)\b|out\s+of\s+scope\b)",
    )
    .expect("constant regex")
});

/// A whole list item that is an instruction to the reader ("See a detailed
/// list of covered services in Office 365"), not a name.
static INSTRUCTION: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, checked by the tests below: compiling it cannot fail.
    #[allow(clippy::expect_used)]
    Regex::new(
        r"(?i)^(?:see|refer\s+to|for\s+(?:the\s+)?(?:detailed|more|further|additional|full|complete|details))\b",
    )
    .expect("constant regex")
});

/// Whether a cleaned name is an instruction to the reader ("See a detailed
/// list …", "For more information, …") rather than a name.
pub fn is_instruction(name: &str) -> bool {
    INSTRUCTION.is_match(name)
}

/// A name cleaned of its markup, with the former name and the note its
/// parentheses gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanName {
    pub name: String,
    /// The old name from a "(formerly X)" note: X, followed by whatever came
    /// after the note ("Power Automate (formerly Microsoft Flow) cloud
    /// service" was "Microsoft Flow cloud service").
    pub former: Option<String>,
    /// Instructions to the reader in parentheses, without them: "see
    /// Appendix A and B for the full list of services".
    pub note: Option<String>,
}

/// Characters used as footnote markers after (or before) a name.
fn is_footnote_char(c: char) -> bool {
    matches!(
        c,
        '*' | '†' | '‡' | '§' | '¹' | '²' | '³' | '⁴' | '⁵' | '⁶' | '⁷' | '⁸' | '⁹' | '⁰'
    )
}

/// Emoji and text presentation selectors: "✅️" and "✔︎" look like "✅"
/// and "✔" and mean the same.
fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE0E}' | '\u{FE0F}')
}

/// Signs a page may add to or drop from a name without renaming it: ™ ®
/// ℠, and the invisible soft hyphen and word joiner.
fn is_name_decoration(c: char) -> bool {
    matches!(c, '™' | '®' | '℠' | '\u{00AD}' | '\u{2060}')
}

/// A table cell as a mark is matched against: markup leftovers, footnote
/// markers (as in names, and digits glued to a symbol: "✅12") and
/// variation selectors removed, punctuation kept (":heavy_check_mark:"
/// stays whole).
pub fn mark_text(raw: &str) -> &str {
    let mut s = raw;
    loop {
        let t = s.trim_matches(|c: char| {
            c.is_whitespace()
                || is_footnote_char(c)
                || is_variation_selector(c)
                || c == '`'
                || c == '_'
        });
        let t = without_footnote(t, true);
        if t.len() == s.len() {
            return t;
        }
        s = t;
    }
}

/// Words a number may be glued to without being a footnote: "Gen2",
/// "Level2", "Type2" are names, "Maps1" is "Maps" and footnote 1.
const NUMBERED_WORDS: &[&str] = &[
    "gen",
    "generation",
    "ver",
    "version",
    "rev",
    "revision",
    "release",
    "type",
    "tier",
    "level",
    "lvl",
    "phase",
    "part",
    "step",
    "stage",
    "class",
    "grade",
    "edition",
    "series",
    "plan",
    "zone",
    "region",
    "round",
    "wave",
    "batch",
];

/// The longest footnote list in parentheses or brackets taken for a
/// footnote marker: "(1)", "(1, 2)", "[a]", "(*)".
const MAX_FOOTNOTE_GROUP: usize = 12;

/// `text` without one footnote marker at its end, if it has one: a
/// parenthesised or bracketed footnote list ("Azure Maps (1)", "Azure
/// Maps[2, 3]", "(†)"), or a single digit glued to a word of three or more
/// letters ("Azure Maps1", as a superscript reads once flattened), but not
/// to a word that takes a number ("Gen2", "Level2"). With `after_symbol`,
/// also digits glued to a sign that is not a letter ("✅12": a mark with
/// its footnote). The rest is returned untrimmed.
fn without_footnote(text: &str, after_symbol: bool) -> &str {
    let t = text.trim_end();
    if let Some(close) = t.chars().last().filter(|c| matches!(c, ')' | ']')) {
        let open = if close == ')' { '(' } else { '[' };
        if let Some(at) = t.rfind(open)
            && at > 0
        {
            let inside = &t[at + 1..t.len() - 1];
            let refs = inside.split(',').map(str::trim);
            if inside.chars().count() <= MAX_FOOTNOTE_GROUP
                && refs.clone().all(|r| {
                    (1..=3).contains(&r.chars().count())
                        && r.chars().all(|c| {
                            c.is_ascii_digit()
                                || is_footnote_char(c)
                                || (close == ']' && c.is_ascii_lowercase())
                        })
                })
            {
                return &t[..at];
            }
        }
    }
    let digits = t.len() - t.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return t;
    }
    let before = &t[..t.len() - digits];
    let Some(last) = before.chars().last() else {
        return t;
    };
    if last.is_alphabetic() {
        let word: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_alphabetic())
            .collect::<Vec<char>>()
            .into_iter()
            .rev()
            .flat_map(char::to_lowercase)
            .collect();
        let glued = digits == 1
            && !t.ends_with('0')
            && last.is_lowercase()
            && word.chars().count() >= 3
            && !NUMBERED_WORDS.contains(&word.as_str());
        if glued {
            return before;
        }
    } else if after_symbol
        && digits <= 2
        && !last.is_whitespace()
        && !last.is_ascii_punctuation()
        && !last.is_numeric()
    {
        return before;
    }
    t
}

/// Removes markup leftovers (`**`, `__`, backticks), ™ ® ℠ and invisible
/// soft hyphens and word joiners, footnote markers at either end (`*`, `†`,
/// `¹`, "(1)", "[2, 3]", a digit glued to a word: see [`without_footnote`]),
/// surrounding whitespace and trailing punctuation. Inner whitespace is
/// collapsed. Text that is nothing but markup becomes "". Service names,
/// certification names (column headers, list and JSON names) and headings
/// are all cleaned here, so a footnote never tells two versions apart.
pub fn strip_markup(raw: &str) -> String {
    // Called for every cell and name of a page: one allocation, not seven.
    let unmarked = if raw.contains("**")
        || raw.contains("__")
        || raw.contains('`')
        || (!raw.is_ascii() && raw.contains(is_name_decoration))
    {
        Cow::Owned(
            raw.replace("**", "")
                .replace("__", "")
                .replace(['`', '™', '®', '℠', '\u{00AD}', '\u{2060}'], ""),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let mut s: &str = &unmarked;
    loop {
        let t = s
            .trim()
            .trim_end_matches(is_footnote_char)
            .trim_start_matches(is_footnote_char)
            .trim_end_matches([',', ';', '.', ':', '–', '-'])
            .trim();
        // A footnote reference at the end: "Name [1]", "Name (1, 2)", "Name1".
        let t = without_footnote(t, false).trim_end();
        if t.len() == s.len() {
            break;
        }
        s = t;
    }
    collapse_spaces(s)
}

fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Cleans one name and takes out its "(formerly X)" note and its notes to
/// the reader: "Azure and Azure Government(see Appendix A …)" is the name
/// "Azure and Azure Government" with the note "see Appendix A …".
pub fn clean_name(raw: &str) -> CleanName {
    let (stripped, note) = take_notes(&strip_markup(raw));
    let unnoted = |name: String| CleanName {
        name,
        former: None,
        note: note.clone(),
    };
    let Some(caps) = FORMERLY.captures(&stripped) else {
        return unnoted(stripped);
    };
    let (Some(whole), Some(old)) = (caps.get(0), caps.get(1)) else {
        return unnoted(stripped);
    };
    let head = &stripped[..whole.start()];
    let tail = &stripped[whole.end()..];
    let name = strip_markup(&format!("{head}{tail}"));
    let old = strip_markup(&format!("{}{tail}", old.as_str()));
    CleanName {
        former: (!old.is_empty() && old != name).then_some(old),
        name,
        note,
    }
}

/// Takes every parenthesised instruction ([`NOTE_START`]) out of `name`,
/// glued to it or not, nested parentheses and all. Returns the rest,
/// cleaned, and the notes joined with "; ".
fn take_notes(name: &str) -> (String, Option<String>) {
    if !name.contains('(') {
        return (name.to_string(), None);
    }
    let mut rest = String::with_capacity(name.len());
    let mut notes: Vec<String> = Vec::new();
    let mut at = 0;
    while let Some(open) = name[at..].find('(').map(|i| at + i) {
        let Some(close) = closing_paren(name, open) else {
            break;
        };
        let group = &name[open..=close];
        if NOTE_START.is_match(group) {
            rest.push_str(&name[at..open]);
            rest.push(' ');
            let note = strip_markup(&group[1..group.len() - 1]);
            if !note.is_empty() {
                notes.push(note);
            }
        } else {
            rest.push_str(&name[at..=close]);
        }
        at = close + 1;
    }
    if notes.is_empty() {
        return (name.to_string(), None);
    }
    rest.push_str(&name[at..]);
    (strip_markup(&rest), Some(notes.join("; ")))
}

/// The byte index of the `)` closing the `(` at `open`, if it is closed.
fn closing_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits a name that lists several environments of one product into one
/// name per environment: "Office 365, Office 365 U.S. Government, and
/// Office 365 U.S. Government Defense" and "Azure and Azure Government"
/// give each environment on its own. The list is split at commas, "and"
/// and "&" outside parentheses, and only when every part starts with the
/// first part's first word (the product): "Microsoft Defender for
/// Endpoint: Endpoint Detection & Response, Secure Score" (features of one
/// service) and "OneDrive for Business and SharePoint Online" stay whole.
/// Repeated parts are kept once.
pub fn split_environments(name: &str) -> Vec<String> {
    let parts = split_list(name, true);
    let first_word = |part: &str| {
        part.split_whitespace()
            .next()
            .map(str::to_lowercase)
            .unwrap_or_default()
    };
    let product = parts.first().map(|p| first_word(p)).unwrap_or_default();
    if parts.len() < 2 || product.is_empty() || !parts.iter().all(|p| first_word(p) == product) {
        return vec![name.to_string()];
    }
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    let mut seen: HashSet<String> = HashSet::with_capacity(parts.len());
    for part in parts {
        let part = strip_markup(&part);
        if !part.is_empty() && seen.insert(part.clone()) {
            out.push(part);
        }
    }
    out
}

/// Applies the configured aliases (exact match on the cleaned name).
pub fn alias<'a>(name: &'a str, settings: &'a ScopeSettings) -> &'a str {
    settings.aliases.get(name).map_or(name, String::as_str)
}

/// Splits a comma list at commas outside parentheses and brackets; with
/// `and_too`, also at " and " / " & " outside parentheses. Items are trimmed,
/// a leading "and " / "or " is dropped, empty items are skipped, and bare
/// numbers borrow the prefix of the item before them, so "SOC 1, 2, 3" and
/// "SOC 1 and 2" give "SOC 1", "SOC 2" (and "SOC 3").
pub fn split_list(text: &str, and_too: bool) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut depth: i32 = 0;
    let mut current = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = (depth - 1).max(0),
            _ => {}
        }
        if depth == 0 && c == ',' {
            items.push(std::mem::take(&mut current));
            rest = &rest[1..];
            continue;
        }
        if depth == 0 && and_too {
            let lower_is = |sep: &str| {
                rest.get(..sep.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(sep))
            };
            if let Some(sep) = [" and ", " & "].into_iter().find(|sep| lower_is(sep)) {
                items.push(std::mem::take(&mut current));
                rest = &rest[sep.len()..];
                continue;
            }
        }
        current.push(c);
        rest = &rest[c.len_utf8()..];
    }
    items.push(current);

    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let mut t = item.trim();
        for lead in ["and ", "or ", "& "] {
            // `get`: the item may start with a multi-byte character ("✅").
            if t.len() > lead.len()
                && t.get(..lead.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(lead))
            {
                t = t[lead.len()..].trim_start();
            }
        }
        if t.is_empty() {
            continue;
        }
        let bare = strip_markup(t);
        if is_bare_number(&bare)
            && let Some((prefix, last)) = out.last().and_then(|prev| prev.rsplit_once(' '))
            && is_bare_number(last)
        {
            out.push(format!("{prefix} {bare}"));
            continue;
        }
        out.push(t.to_string());
    }
    out
}

/// "2", "3", "27017": a number that only makes sense after a prefix.
fn is_bare_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 6 && s.chars().all(|c| c.is_ascii_digit())
}

/// Removes trailing parenthesised qualifiers: "Exchange Online (GCC High)"
/// and "Azure Bot Service (Azure Government)" have the base names "Exchange
/// Online" and "Azure Bot Service". Used to match watched services.
pub fn base_name(name: &str) -> &str {
    let mut s = name.trim_end();
    while s.ends_with(')') {
        match s.rfind(" (") {
            Some(i) if i > 0 => s = s[..i].trim_end(),
            _ => break,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_starting_with_a_multibyte_character_is_kept() {
        // Found by the fuzz seed corpus: slicing "✅" at byte 2 panicked.
        assert_eq!(split_list("✅, é and ü", true), ["✅", "é", "ü"]);
    }

    #[test]
    fn strips_markup_footnotes_and_punctuation() {
        assert_eq!(
            strip_markup("  **Azure Bot Service** "),
            "Azure Bot Service"
        );
        assert_eq!(strip_markup("`Azure Cosmos DB`*"), "Azure Cosmos DB");
        assert_eq!(strip_markup("Azure Files **"), "Azure Files");
        assert_eq!(strip_markup("Azure Maps¹"), "Azure Maps");
        assert_eq!(strip_markup("Azure Maps ² †"), "Azure Maps");
        assert_eq!(strip_markup("Azure Stack Edge‡."), "Azure Stack Edge");
        assert_eq!(strip_markup("Azure Monitor [1]"), "Azure Monitor");
        assert_eq!(strip_markup("ISO 27001:2013,"), "ISO 27001:2013");
        assert_eq!(strip_markup("**"), "");
        assert_eq!(mark_text(" :heavy_check_mark: ** "), ":heavy_check_mark:");
        assert_eq!(mark_text("✅¹"), "✅");
    }

    #[test]
    fn footnote_markers_of_every_form_leave_names_and_marks() {
        for written in [
            "Azure Maps (1)",
            "Azure Maps(2, 3)",
            "Azure Maps [a]",
            "Azure Maps (*)",
            "Azure Maps1",
            "Azure Maps †",
            "Azure Maps*",
            "Azure Maps¹ (2)",
        ] {
            assert_eq!(strip_markup(written), "Azure Maps", "{written}");
        }
        // Certification names and headings are cleaned the same way.
        assert_eq!(strip_markup("FedRAMP High (1)"), "FedRAMP High");
        assert_eq!(strip_markup("FedRAMP Moderate2"), "FedRAMP Moderate");
        // Numbers that belong to the name stay.
        for name in [
            "Azure Data Lake Storage Gen2",
            "SOC 2",
            "DoD IL2",
            "Microsoft 365",
            "ISO/IEC 27001:2013",
            "DoD Level2",
            "SOC 2 Type2",
            "BSI C5",
            "Windows10",
            "ISO 27001 (2013)",
            "Exchange Online (GCC High)",
            "Azure Monitor (incl. Log Analytics)",
        ] {
            assert_eq!(strip_markup(name), name);
        }
        for mark in [
            "✅12",
            "✅ (1)",
            "✅[2]",
            "✅¹",
            "Yes1",
            ":heavy_check_mark:*",
        ] {
            assert!(
                ["✅", "Yes", ":heavy_check_mark:"].contains(&mark_text(mark)),
                "{mark} → {}",
                mark_text(mark)
            );
        }
    }

    #[test]
    fn presentation_selectors_and_trademark_signs_change_nothing() {
        // "✅️" (with U+FE0F, as editors write it) and "✔︎" (U+FE0E).
        assert_eq!(mark_text("\u{2705}\u{FE0F}"), "✅");
        assert_eq!(mark_text("\u{2714}\u{FE0E}"), "✔");
        assert_eq!(strip_markup("Microsoft Teams®"), "Microsoft Teams");
        assert_eq!(strip_markup("Microsoft® Teams™"), "Microsoft Teams");
        assert_eq!(
            strip_markup("Share\u{00AD}Point Online"),
            "SharePoint Online"
        );
        assert_eq!(strip_markup("Azure\u{2060} Maps ℠"), "Azure Maps");
    }

    #[test]
    fn formerly_notes_become_former_names() {
        let c = clean_name("Azure Cognitive Search (formerly Azure Search)");
        assert_eq!(c.name, "Azure Cognitive Search");
        assert_eq!(c.former.as_deref(), Some("Azure Search"));
        let c = clean_name("Microsoft Sentinel¹ (formerly known as Azure Sentinel) *");
        assert_eq!(c.name, "Microsoft Sentinel");
        assert_eq!(c.former.as_deref(), Some("Azure Sentinel"));
        let c = clean_name("Power Automate (formerly Microsoft Flow) cloud service");
        assert_eq!(c.name, "Power Automate cloud service");
        assert_eq!(c.former.as_deref(), Some("Microsoft Flow cloud service"));
        let c = clean_name("Azure Files");
        assert_eq!(c.former, None);
    }

    #[test]
    fn instructions_in_parentheses_are_notes() {
        let c = clean_name(
            "Azure and Azure Government(see Appendix A and B for the full list of services)",
        );
        assert_eq!(c.name, "Azure and Azure Government");
        assert_eq!(
            c.note.as_deref(),
            Some("see Appendix A and B for the full list of services")
        );
        let c = clean_name(
            "Azure (for detailed insight, see Microsoft Azure Compliance Offerings (PDF) or the report)",
        );
        assert_eq!(c.name, "Azure");
        assert_eq!(
            c.note.as_deref(),
            Some(
                "for detailed insight, see Microsoft Azure Compliance Offerings (PDF) or the report"
            )
        );
        let c =
            clean_name("Power Virtual Agents (not in scope for Azure Government) (formerly PVA)¹");
        assert_eq!(c.name, "Power Virtual Agents");
        assert_eq!(c.former.as_deref(), Some("PVA"));
        assert_eq!(c.note.as_deref(), Some("not in scope for Azure Government"));
        // Qualifiers that name what is in scope stay in the name.
        for name in [
            "SharePoint Online (United States only)",
            "Azure Monitor (incl. Application Insights and Log Analytics)",
            "Office 365 Microservices (including but not limited to Kaizala, ObjectStore)",
            "Exchange Online (GCC High)",
            "Broken (see",
        ] {
            let c = clean_name(name);
            assert_eq!((c.name.as_str(), c.note), (name, None));
        }
        assert_eq!(clean_name("(see Appendix A)").name, "");
        assert!(is_instruction(
            "See a detailed list of covered services in Office 365"
        ));
        assert!(is_instruction("For more information, see the report"));
        assert!(!is_instruction("Seesaw Service"));
        assert!(!is_instruction("Azure Front Door"));
    }

    #[test]
    fn environments_of_one_product_split_and_other_lists_stay_whole() {
        assert_eq!(
            split_environments("Azure, Azure Government, and Azure Germany"),
            ["Azure", "Azure Government", "Azure Germany"]
        );
        assert_eq!(
            split_environments("Azure and Azure Government"),
            ["Azure", "Azure Government"]
        );
        assert_eq!(
            split_environments("Dynamics 365, Dynamics 365, and Dynamics 365 Germany"),
            ["Dynamics 365", "Dynamics 365 Germany"]
        );
        for whole in [
            "OneDrive for Business and SharePoint Online",
            "Microsoft Professional Services: Premier and On Premises for Azure, Dynamics 365, Intune",
            "Security & Compliance Center",
            "Azure Monitor (incl. Application Insights, Log Analytics, and Change Analysis)",
            "Azure",
        ] {
            assert_eq!(split_environments(whole), [whole]);
        }
    }

    #[test]
    fn splits_lists_respecting_parentheses() {
        assert_eq!(
            split_list(
                "Delve, Office 365 Microservices (including but not limited to Kaizala, ObjectStore, Sway), Planner",
                false
            ),
            vec![
                "Delve",
                "Office 365 Microservices (including but not limited to Kaizala, ObjectStore, Sway)",
                "Planner"
            ]
        );
        assert_eq!(
            split_list("SOC 1, 2, 3", false),
            vec!["SOC 1", "SOC 2", "SOC 3"]
        );
        assert_eq!(
            split_list("ISO 27001:2013, SOC 1 and 2, PCI DSS", true),
            vec!["ISO 27001:2013", "SOC 1", "SOC 2", "PCI DSS"]
        );
        assert_eq!(split_list("A, B, and C", false), vec!["A", "B", "C"]);
        assert_eq!(
            split_list("Security & Compliance Center", false),
            vec!["Security & Compliance Center"]
        );
        assert_eq!(split_list(" , ", false), Vec::<String>::new());
    }

    #[test]
    fn base_name_drops_qualifiers() {
        assert_eq!(base_name("Exchange Online (GCC High)"), "Exchange Online");
        assert_eq!(
            base_name("SharePoint Online (United States) (Commercial)"),
            "SharePoint Online"
        );
        assert_eq!(base_name("Azure Bot Service"), "Azure Bot Service");
    }
}
