//! The `certifications` extractor: one service per page (`service`), the
//! certifications it holds as table cells or list items. This is a claim a
//! service makes about itself.
//!
//! - Tables: every non-header cell is read (header cells are categories
//!   such as "Globally applicable"); empty cells are skipped; links are
//!   already reduced to their text. Tables count everywhere, or only under
//!   headings matching `section` when it is set.
//! - List items count only under headings matching `section` (without a
//!   section, a page's other bullet points would be read as certifications).
//! - A cell is a comma list; bare numbers borrow the prefix before them, so
//!   "SOC 1, 2, 3" is expanded to "SOC 1", "SOC 2", "SOC 3": those are
//!   three reports with three offering pages, and the expanded names are
//!   what a `list` source for SOC 2 is cross-checked against.
//! - Per-table service: when the heading or paragraph nearest before a
//!   table names a sovereign cloud ([`CLOUDS`], e.g. "...supported by Azure
//!   Bot Service in Azure Government:"), its entries belong to "<service>
//!   (<cloud>)", e.g. "Azure Bot Service (Azure Government)".
//!
//! Broken when nothing is found.

use crate::extract::{Block, Document};

use super::names::{alias, split_list, strip_markup};
use super::{HeadingTrail, ScopeEntry, ScopeSet, ScopeSetBuilder, ScopeSettings, ScopeSpec};

/// Cloud names that, in the text just before a table, qualify the service.
pub const CLOUDS: &[&str] = &[
    "Azure Government",
    "Azure China",
    "Azure Germany",
    "21Vianet",
    "AWS GovCloud",
];

fn cloud_in(text: &str) -> Option<&'static str> {
    CLOUDS.iter().copied().find(|c| text.contains(c))
}

fn add_certifications(
    cell: &str,
    service: &str,
    settings: &ScopeSettings,
    out: &mut ScopeSetBuilder,
) {
    for item in split_list(cell, false) {
        let name = strip_markup(&item);
        if !name.is_empty() {
            out.insert(ScopeEntry::new(alias(&name, settings), service));
        }
    }
}

/// Extracts a document with a `certifications` spec.
pub(crate) fn extract(
    doc: &Document,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
) -> Result<ScopeSet, String> {
    let Some(base) = spec.service.as_deref() else {
        return Err("kind = \"certifications\" needs service = \"...\"".to_string());
    };
    let base = alias(base, settings);
    let mut trail = HeadingTrail::default();
    let mut out = ScopeSetBuilder::default();
    let mut context: Option<&str> = None;
    for block in &doc.blocks {
        if let Block::Heading { text, .. } | Block::Paragraph(text) = block {
            context = Some(text);
        }
        if trail.visit(block) || !trail.within(spec.section.as_deref()) {
            continue;
        }
        match block {
            Block::Table(rows) => {
                let service = match context.and_then(cloud_in) {
                    Some(cloud) => alias(&format!("{base} ({cloud})"), settings).to_string(),
                    None => base.to_string(),
                };
                for row in rows.iter().filter(|r| !r.header) {
                    for cell in &row.cells {
                        add_certifications(cell, &service, settings, &mut out);
                    }
                }
            }
            Block::ListItem { text, .. } if spec.section.is_some() => {
                add_certifications(text, base, settings, &mut out);
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(format!("no certification found for {base:?}"));
    }
    out.finish_checked()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::markdown::extract_markdown;
    use crate::scope::{RawScopeSpec, ScopeOutcome, extract_scope};

    fn spec(section: Option<&str>) -> ScopeSpec {
        ScopeSpec::from_raw(RawScopeSpec {
            kind: Some("certifications".into()),
            service: Some("Azure Bot Service".into()),
            section: section.map(Into::into),
            ..RawScopeSpec::default()
        })
        .unwrap()
    }

    #[test]
    fn tables_expand_soc_and_follow_the_cloud_named_before_them() {
        let md = "# Compliance\n\n- Azure public cloud\n- Azure Government is in four regions\n\n\
            Certified with:\n\n| Globally | US |\n|---|---|\n| SOC 1, 2, 3 | [FedRAMP Moderate](x) |\n| ISO 27001:2013 | |\n\n\
            The following table lists certifications in Azure Government:\n\n| Globally | US |\n|---|---|\n| CSA STAR | FedRAMP High |\n";
        let ScopeOutcome::Extracted(set) = extract_scope(
            &extract_markdown(md),
            &spec(None),
            &ScopeSettings::default(),
        ) else {
            panic!("broken")
        };
        let pairs: Vec<(String, String)> = set
            .entries()
            .iter()
            .map(|e| (e.service.clone(), e.certification.clone()))
            .collect();
        let p = |s: &str, c: &str| (s.to_string(), c.to_string());
        let mut expected = vec![
            p("Azure Bot Service", "SOC 1"),
            p("Azure Bot Service", "SOC 2"),
            p("Azure Bot Service", "SOC 3"),
            p("Azure Bot Service", "FedRAMP Moderate"),
            p("Azure Bot Service", "ISO 27001:2013"),
            p("Azure Bot Service (Azure Government)", "CSA STAR"),
            p("Azure Bot Service (Azure Government)", "FedRAMP High"),
        ];
        let mut got = pairs;
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn list_items_need_a_section() {
        let md = "# Bot\n\n## Certifications\n\n- ISO 27001\n- SOC 2\n\n## Other\n\n- Not one\n";
        let doc = extract_markdown(md);
        assert!(matches!(
            extract_scope(&doc, &spec(None), &ScopeSettings::default()),
            ScopeOutcome::Broken { .. }
        ));
        let ScopeOutcome::Extracted(set) = extract_scope(
            &doc,
            &spec(Some("(?i)certifications")),
            &ScopeSettings::default(),
        ) else {
            panic!("broken")
        };
        assert_eq!(set.len(), 2);
    }
}
