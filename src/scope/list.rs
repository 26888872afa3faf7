//! The `list` extractor: one certification per page (or section), services
//! as list items or comma-separated table cells.
//!
//! - Only blocks under a heading matching `section` count (default
//!   `(?i)\bin[- ]scope\b`: "Microsoft in-scope cloud services", "Office 365
//!   applicability and in-scope services"). A section runs to the next
//!   heading of the same or a higher level.
//! - The certification is `certification` if set, else the page title (the
//!   `#` heading in effect), aliased.
//! - A list item is one service, or one per environment when it lists
//!   environments of one product: "Azure, Azure Government, and Azure
//!   Germany" is "Azure", "Azure Government" and "Azure Germany" (see
//!   [`split_environments`](super::names::split_environments)).
//! - Instructions in parentheses ("(see Appendix A …)", "(for detailed
//!   insight, see …)", "(not in scope for Azure Government)") are notes,
//!   kept beside the name, not in it; an item that is itself an
//!   instruction ("See a detailed list of covered services") is no service.
//! - A table row with one cell (or one spanning the table) is a comma list
//!   of services. A row with two
//!   or more cells is a row label (an environment) followed by comma lists;
//!   each service is stored as "<service> (<label>)", e.g. "Exchange Online
//!   (GCC High)", so the same service in two environments is two entries
//!   and a watched "Exchange Online" still matches both (see
//!   [`base_name`](super::names::base_name)). Row labels are aliased after
//!   the built-in [`ROW_LABELS`] synonyms: Microsoft renamed the row
//!   "Office 365" to "Commercial" on 2021-08-05 without changing its
//!   services, so both spellings are stored as "Commercial".
//! - A row whose first cell starts with a comma (or is a comma list with
//!   every other cell empty) continues the previous row: a line break in
//!   the page source split it, and the rendered page shows it as a stray
//!   row under the same label.
//! - Comma lists split outside parentheses: "Office 365 Microservices
//!   (including but not limited to Kaizala, ObjectStore, ...)" is one
//!   service. Header rows are skipped.
//!
//! Broken when nothing is found under the section, or no certification.

use crate::extract::{Block, Document, TableRow};

use super::names::{
    alias, clean_name, is_instruction, split_environments, split_list, strip_markup,
};
use super::{
    HeadingTrail, ScopeEntry, ScopeSet, ScopeSetBuilder, ScopeSettings, ScopeSpec, is_full_width,
};

/// Built-in row-label synonyms (old label, label stored).
pub const ROW_LABELS: &[(&str, &str)] = &[("Office 365", "Commercial")];

/// The stored form of a row label.
fn row_label(raw: &str, settings: &ScopeSettings) -> String {
    let label = strip_markup(raw);
    let label = ROW_LABELS
        .iter()
        .find(|(old, _)| old.eq_ignore_ascii_case(&label))
        .map_or(label.clone(), |(_, new)| (*new).to_string());
    alias(&label, settings).to_string()
}

/// Reads one service (list item or list element) into `out`.
fn add_service(
    raw: &str,
    label: Option<&str>,
    certification: &str,
    settings: &ScopeSettings,
    out: &mut ScopeSetBuilder,
) {
    let clean = clean_name(raw);
    if clean.name.is_empty() || is_instruction(&clean.name) {
        return;
    }
    let qualify = |name: &str| match label {
        Some(l) if !l.is_empty() => format!("{name} ({l})"),
        _ => name.to_string(),
    };
    let service = alias(&qualify(alias(&clean.name, settings)), settings).to_string();
    if let Some(old) = clean.former {
        out.former(&service, qualify(&old));
    }
    if let Some(note) = clean.note {
        out.note(&service, note);
    }
    out.insert(ScopeEntry::new(certification, service));
}

/// Reads a table of services (see the module doc) into `out`.
pub(crate) fn read_table(
    rows: &[TableRow],
    certification: &str,
    settings: &ScopeSettings,
    out: &mut ScopeSetBuilder,
) {
    let mut previous_label: Option<String> = None;
    for row in rows.iter().filter(|r| !r.header) {
        let (label, lists) = match row.cells.as_slice() {
            [] => continue,
            [only, ..] if row.cells.len() == 1 || is_full_width(row) => {
                (None, std::slice::from_ref(only))
            }
            cells if is_continuation(cells) => (previous_label.clone(), cells),
            [first, rest @ ..] => (Some(row_label(first, settings)), rest),
        };
        previous_label.clone_from(&label);
        for cell in lists {
            for item in split_list(cell, false) {
                add_service(&item, label.as_deref(), certification, settings, out);
            }
        }
    }
}

/// A row that is the rest of the previous row's list, split off by a line
/// break in the page source (SOC 3, 2021-07-12 to 2022-04-19: the GCC row
/// continues on a line of its own that starts with ", Microsoft Defender
/// ..."): its first cell starts with a comma, or holds a comma list while
/// every other cell is empty.
fn is_continuation(cells: &[String]) -> bool {
    let Some((first, rest)) = cells.split_first() else {
        return false;
    };
    let first = first.trim_start();
    first.starts_with(',') || (first.contains(", ") && rest.iter().all(|c| c.trim().is_empty()))
}

/// Reads a list item into `out`: one service, or one per environment it
/// lists, each with the item's note.
pub(crate) fn read_item(
    text: &str,
    certification: &str,
    settings: &ScopeSettings,
    out: &mut ScopeSetBuilder,
) {
    let clean = clean_name(text);
    if is_instruction(&clean.name) {
        return;
    }
    // A "(formerly X)" note names one service's old name: the item is one.
    let environments = match clean.former {
        None => split_environments(&clean.name),
        Some(_) => Vec::new(),
    };
    if environments.len() < 2 {
        add_service(text, None, certification, settings, out);
        return;
    }
    for environment in environments {
        let service = alias(&environment, settings).to_string();
        if let Some(note) = &clean.note {
            out.note(&service, note.clone());
        }
        out.insert(ScopeEntry::new(certification, service));
    }
}

/// The certification of a list: fixed, else the page title.
pub(crate) fn certification_of(
    spec: &ScopeSpec,
    trail: &HeadingTrail,
    settings: &ScopeSettings,
) -> Option<String> {
    let name = match &spec.certification {
        Some(c) => c.clone(),
        None => strip_markup(trail.title()?),
    };
    (!name.is_empty()).then(|| alias(&name, settings).to_string())
}

/// Extracts a document with a `list` spec.
pub(crate) fn extract(
    doc: &Document,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
) -> Result<ScopeSet, String> {
    let mut trail = HeadingTrail::default();
    let mut out = ScopeSetBuilder::default();
    let mut without_certification = false;
    for block in &doc.blocks {
        if trail.visit(block) || !trail.within(spec.section.as_deref()) {
            continue;
        }
        if !matches!(block, Block::ListItem { .. } | Block::Table(_)) {
            continue;
        }
        let Some(cert) = certification_of(spec, &trail, settings) else {
            without_certification = true;
            continue;
        };
        match block {
            Block::ListItem { text, .. } => read_item(text, &cert, settings, &mut out),
            Block::Table(rows) => read_table(rows, &cert, settings, &mut out),
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(if without_certification {
            "services found, but no certification: the page has no heading; set certification = \"...\"".to_string()
        } else {
            let section = spec.section.as_ref().map_or("", |r| r.as_str());
            format!("no list item or table row under a heading matching {section:?}")
        });
    }
    out.finish_checked()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::markdown::extract_markdown;
    use crate::scope::{RawScopeSpec, ScopeOutcome, extract_scope};

    fn list_spec(cert: Option<&str>) -> ScopeSpec {
        ScopeSpec::from_raw(RawScopeSpec {
            kind: Some("list".into()),
            certification: cert.map(Into::into),
            ..RawScopeSpec::default()
        })
        .unwrap()
    }

    fn read(doc: &crate::extract::Document) -> ScopeSet {
        match extract_scope(doc, &list_spec(None), &ScopeSettings::default()) {
            ScopeOutcome::Extracted(set) => set,
            ScopeOutcome::Broken { reason } => panic!("broken: {reason}"),
        }
    }

    const PAGE: &str = "# SOC 2 Type 2\n\n## Overview\n\n- Not a service\n\n\
        ## Microsoft in-scope cloud services\n\n- [Azure](https://x), Azure Government\n- Intune¹\n\n\
        ## Office 365 and SOC 2\n\n- not in scope either\n\n\
        ### Office 365 applicability and in-scope services\n\n\
        | **Applicability** | **In-scope services** |\n|---|---|\n\
        | **Office 365** | Delve, Office 365 Microservices (including but not limited to Kaizala, ObjectStore), Azure Cognitive Search (formerly Azure Search) |\n\
        | **GCC High** | Delve, |\n, Exchange Online |\n\n## FAQ\n\n- What is in scope?\n";

    #[test]
    fn reads_items_and_labelled_rows_under_in_scope_headings() {
        let doc = extract_markdown(PAGE);
        let set = read(&doc);
        let services: Vec<&str> = set.entries().iter().map(|e| e.service.as_str()).collect();
        assert_eq!(
            services,
            vec![
                "Azure",
                "Azure Cognitive Search (Commercial)",
                "Azure Government",
                "Delve (Commercial)",
                "Delve (GCC High)",
                "Exchange Online (GCC High)",
                "Intune",
                "Office 365 Microservices (including but not limited to Kaizala, ObjectStore) (Commercial)",
            ]
        );
        assert!(
            set.entries()
                .iter()
                .all(|e| e.certification == "SOC 2 Type 2")
        );
        assert_eq!(
            set.former_names("Azure Cognitive Search (Commercial)")
                .collect::<Vec<_>>(),
            vec!["Azure Search (Commercial)"]
        );
    }

    #[test]
    fn notes_are_kept_beside_names_and_environments_split() {
        let page = "# SOC 2\n\n## Microsoft in-scope cloud services\n\n\
            - [Azure and Azure Government](https://x)(see *Appendix A* and *B* for the full list of services)\n\
            - Azure DevOps (see separate Azure DevOps SOC 2 Type 2 attestation report)\n\
            - Dynamics 365 (for detailed insight, see [Azure SOC 2 Type 2 attestation report](https://y))\n\
            - Microsoft Forms Pro (not in scope for Azure Government)\n\
            - Office 365, Office 365 U.S. Government, Office 365 U.S. Government - High, Office 365 U.S. Government Defense\n\
            - Dynamics 365, Dynamics 365, and Dynamics 365 Germany\n\
            - OneDrive for Business and SharePoint Online (United States only)\n\
            - Microsoft Defender for Endpoint: Endpoint Detection & Response, Secure Score\n";
        let set = read(&extract_markdown(page));
        let services: Vec<&str> = set.entries().iter().map(|e| e.service.as_str()).collect();
        assert_eq!(
            services,
            [
                "Azure",
                "Azure DevOps",
                "Azure Government",
                "Dynamics 365",
                "Dynamics 365 Germany",
                "Microsoft Defender for Endpoint: Endpoint Detection & Response, Secure Score",
                "Microsoft Forms Pro",
                "Office 365",
                "Office 365 U.S. Government",
                "Office 365 U.S. Government - High",
                "Office 365 U.S. Government Defense",
                "OneDrive for Business and SharePoint Online (United States only)",
            ]
        );
        assert_eq!(
            set.note("Azure Government"),
            Some("see Appendix A and B for the full list of services")
        );
        assert_eq!(
            set.note("Dynamics 365"),
            Some("for detailed insight, see Azure SOC 2 Type 2 attestation report")
        );
        assert_eq!(
            set.note("Microsoft Forms Pro"),
            Some("not in scope for Azure Government")
        );
        let json = serde_json::to_value(&set).unwrap();
        assert_eq!(json[6]["note"], "not in scope for Azure Government");
        assert!(json[7].get("note").is_none());
        // The note is no part of the scope: the same page without it hashes
        // the same.
        let bare = page.replace("(not in scope for Azure Government)", "");
        assert_eq!(read(&extract_markdown(&bare)).hash(), set.hash());
    }

    #[test]
    fn a_row_label_spanning_rows_qualifies_each_of_them() {
        let html = "<main><h1>SOC 2</h1><h2>In-scope services</h2><table>\
            <tr><th>Applicability</th><th>In-scope services</th></tr>\
            <tr><th rowspan=2>GCC High</th><td>Delve</td></tr><tr><td>Exchange Online</td></tr>\
            <tr><td colspan=2>Intune, Azure Maps</td></tr></table></main>";
        let doc =
            crate::extract::html::extract_html(html, &[], &[], None, None, &Default::default())
                .unwrap()
                .document;
        let set = read(&doc);
        let services: Vec<&str> = set.entries().iter().map(|e| e.service.as_str()).collect();
        assert_eq!(
            services,
            [
                "Azure Maps",
                "Delve (GCC High)",
                "Exchange Online (GCC High)",
                "Intune"
            ]
        );
    }

    #[test]
    fn fixed_certification_and_broken_when_empty() {
        let doc = extract_markdown(PAGE);
        let ScopeOutcome::Extracted(set) =
            extract_scope(&doc, &list_spec(Some("SOC 2")), &ScopeSettings::default())
        else {
            panic!("broken")
        };
        assert!(set.entries().iter().all(|e| e.certification == "SOC 2"));
        let doc = extract_markdown("# SOC 2\n\n## Services\n\n- Intune\n");
        assert!(matches!(
            extract_scope(&doc, &list_spec(None), &ScopeSettings::default()),
            ScopeOutcome::Broken { .. }
        ));
    }
}
