//! The `pattern` extractor: claims in running text, such as "Azure Bot
//! Service is compliant with ISO 27001:2013, SOC 1 and 2, PCI DSS".
//!
//! `regex` runs over every paragraph and list item (all matches in each).
//! The `service` group (or the fixed `service`) names the service, cleaned
//! and aliased; the `certification` group (or the fixed `certification`)
//! is a list split at commas and "and"/"&" outside parentheses, with bare
//! numbers taking the prefix before them ("SOC 1 and 2" is "SOC 1" and
//! "SOC 2"), each cleaned (trailing full stop removed) and aliased.
//! Broken when nothing matches.

use crate::extract::{Block, Document};

use super::names::{alias, clean_name, split_list, strip_markup};
use super::{ScopeEntry, ScopeSet, ScopeSetBuilder, ScopeSettings, ScopeSpec};

/// Extracts a document with a `pattern` spec.
pub(crate) fn extract(
    doc: &Document,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
) -> Result<ScopeSet, String> {
    let Some(re) = &spec.regex else {
        return Err("kind = \"pattern\" needs regex = \"...\"".to_string());
    };
    let mut out = ScopeSetBuilder::default();
    for block in &doc.blocks {
        let (Block::Paragraph(text) | Block::ListItem { text, .. }) = block else {
            continue;
        };
        for caps in re.captures_iter(text) {
            let service = caps
                .name("service")
                .map(|m| m.as_str())
                .or(spec.service.as_deref());
            let certs = caps
                .name("certification")
                .map(|m| m.as_str())
                .or(spec.certification.as_deref());
            let (Some(service), Some(certs)) = (service, certs) else {
                continue;
            };
            let service = clean_name(service);
            if service.name.is_empty() {
                continue;
            }
            let name = alias(&service.name, settings).to_string();
            for cert in split_list(certs, true) {
                let cert = strip_markup(&cert);
                if !cert.is_empty() {
                    out.insert(ScopeEntry::new(alias(&cert, settings), name.clone()));
                }
            }
            if let Some(old) = service.former {
                out.former(&name, old);
            }
        }
    }
    if out.is_empty() {
        return Err(format!("the regex {:?} matched nothing", re.as_str()));
    }
    out.finish_checked()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::extract::markdown::extract_markdown;
    use crate::scope::{RawScopeSettings, RawScopeSpec, ScopeOutcome, extract_scope};

    #[test]
    fn splits_certification_lists_and_applies_aliases() {
        let spec = ScopeSpec::from_raw(RawScopeSpec {
            kind: Some("pattern".into()),
            regex: Some(
                "(?P<service>[A-Z][\\w ]+?) is compliant with (?P<certification>[^.]+)".into(),
            ),
            ..RawScopeSpec::default()
        })
        .unwrap();
        let settings = ScopeSettings::from_raw(RawScopeSettings {
            watch: None,
            aliases: Some(BTreeMap::from([(
                "ISO 27001:2013".to_string(),
                "ISO/IEC 27001".to_string(),
            )])),
        })
        .unwrap();
        let doc = extract_markdown(
            "# Bot\n\nAzure Bot Service is compliant with ISO 27001:2013, SOC 1 and 2, PCI DSS. Other text.\n",
        );
        let ScopeOutcome::Extracted(set) = extract_scope(&doc, &spec, &settings) else {
            panic!("broken")
        };
        let certs: Vec<&str> = set
            .entries()
            .iter()
            .map(|e| e.certification.as_str())
            .collect();
        assert_eq!(certs, vec!["ISO/IEC 27001", "PCI DSS", "SOC 1", "SOC 2"]);
        assert!(
            set.entries()
                .iter()
                .all(|e| e.service == "Azure Bot Service")
        );
        assert!(matches!(
            extract_scope(&extract_markdown("Nothing to see."), &spec, &settings),
            ScopeOutcome::Broken { .. }
        ));
    }
}
