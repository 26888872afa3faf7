//! Cleaning the names found on a page into the names stored in a scope set:
//! markup leftovers, footnote markers and trailing punctuation removed,
//! "(formerly X)" notes taken out and kept as former names, aliases applied,
//! and comma lists split without breaking parentheses.

use std::borrow::Cow;
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

/// A name cleaned of its markup, with the former name its note gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanName {
    pub name: String,
    /// The old name from a "(formerly X)" note: X, followed by whatever came
    /// after the note ("Power Automate (formerly Microsoft Flow) cloud
    /// service" was "Microsoft Flow cloud service").
    pub former: Option<String>,
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
/// markers and variation selectors removed, punctuation kept
/// (":heavy_check_mark:" stays whole).
pub fn mark_text(raw: &str) -> &str {
    raw.trim_matches(|c: char| {
        c.is_whitespace() || is_footnote_char(c) || is_variation_selector(c) || c == '`' || c == '_'
    })
}

/// Removes markup leftovers (`**`, `__`, backticks), ™ ® ℠ and invisible
/// soft hyphens and word joiners, footnote markers at either end,
/// surrounding whitespace and trailing punctuation. Inner whitespace is
/// collapsed. Text that is nothing but markup becomes "".
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
        // A bracketed footnote reference at the end: "Name [1]" / "Name[a]".
        let t = match t.rfind('[') {
            Some(i) if t.ends_with(']') && t.len() - i <= 4 && i > 0 => t[..i].trim_end(),
            _ => t,
        };
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

/// Cleans one name and takes out its "(formerly X)" note.
pub fn clean_name(raw: &str) -> CleanName {
    let stripped = strip_markup(raw);
    let Some(caps) = FORMERLY.captures(&stripped) else {
        return CleanName {
            name: stripped,
            former: None,
        };
    };
    let (Some(whole), Some(old)) = (caps.get(0), caps.get(1)) else {
        return CleanName {
            name: stripped,
            former: None,
        };
    };
    let head = &stripped[..whole.start()];
    let tail = &stripped[whole.end()..];
    let name = strip_markup(&format!("{head}{tail}"));
    let old = strip_markup(&format!("{}{tail}", old.as_str()));
    CleanName {
        former: (!old.is_empty() && old != name).then_some(old),
        name,
    }
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
