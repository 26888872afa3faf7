//! Claims against statements. A source of kind `certifications` or
//! `pattern` is a claim a service makes about itself ("Azure Bot Service is
//! compliant with ISO 27001"); the other sources are the vendor's scope
//! statements. A claim is supported when a statement lists the same
//! service under the same certification.
//!
//! Names are compared by key, after aliases (applied at extraction):
//! certifications ignore case, punctuation, "/IEC" and a trailing year
//! (`ISO 27001:2013` = `ISO/IEC 27001`); services ignore case and a
//! trailing qualifier (`Azure Bot Service (Azure Government)` = `Azure Bot
//! Service`). A broader statement entry (`Azure` for `Azure Bot Service`)
//! does not support a claim; it is shown as a candidate for a person to judge.

use serde::Serialize;

/// One (source, certification, service) triple, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair {
    pub source: String,
    pub certification: String,
    pub service: String,
}

/// A claim no statement supports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unsupported {
    pub source: String,
    pub certification: String,
    pub service: String,
    /// Statement entries for the same certification whose service is a
    /// broader name of the claimed one ("Azure" for "Azure Bot Service").
    pub candidates: Vec<Pair>,
}

/// What the cross-check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClaimsReport {
    /// Claims checked.
    pub claims: usize,
    pub supported: usize,
    pub unsupported: Vec<Unsupported>,
    /// Statement entries for a claiming service under a certification the
    /// claim page does not (or no longer) mention.
    pub unmentioned: Vec<Pair>,
}

/// The comparison key of a certification name.
pub fn certification_key(name: &str) -> String {
    let lower = name.to_lowercase().replace("/iec", " ");
    let without_year = match lower.rsplit_once(':') {
        Some((head, year))
            if year.trim().len() == 4 && year.trim().chars().all(|c| c.is_ascii_digit()) =>
        {
            head.to_string()
        }
        _ => lower,
    };
    words(&without_year)
}

/// The comparison key of a service name.
pub fn service_key(name: &str) -> String {
    let name = name.trim();
    let base = match name.rfind(" (") {
        Some(i) if name.ends_with(')') => &name[..i],
        _ => name,
    };
    words(&base.to_lowercase())
}

/// Whether a service name answers a `scope --service` filter: the
/// filter's words, ignoring case and punctuation, come in a row in the name
/// ("bot service" finds "Azure Bot Service"; "Exchange Online" also finds
/// "Exchange Online (GCC High)").
pub fn service_filter_matches(name: &str, wanted: &str) -> bool {
    holds_words(&words(&name.to_lowercase()), &words(&wanted.to_lowercase()))
}

/// Whether a certification name answers a `scope --certification`
/// filter: the filter's words come in a row in the name, both compared by
/// [`certification_key`] ("ISO 27001" finds "ISO/IEC 27001:2013").
pub fn certification_filter_matches(name: &str, wanted: &str) -> bool {
    holds_words(&certification_key(name), &certification_key(wanted))
}

fn holds_words(name: &str, wanted: &str) -> bool {
    wanted.is_empty() || format!(" {name} ").contains(&format!(" {wanted} "))
}

/// How alike two names must be for one to be offered for the other when a
/// filter matches nothing: three quarters of the characters of the best
/// matching run of words in the name (Damerau-Levenshtein, normalised), so
/// a slip or two in a word ("servce", "365" for "356") is forgiven and a
/// different word is not.
const SIMILAR: f64 = 0.75;

/// The names a filter that matched nothing probably meant, most alike
/// first, at most three. `key` is how names are compared
/// ([`certification_key`] for certifications, lowercase words for services).
pub fn similar_names<'a>(
    wanted: &str,
    names: impl IntoIterator<Item = &'a str>,
    key: fn(&str) -> String,
) -> Vec<&'a str> {
    let wanted = key(wanted);
    let width = wanted.split(' ').count();
    let mut scored: Vec<(f64, &str)> = names
        .into_iter()
        .filter_map(|name| {
            let name_key = key(name);
            let name_words: Vec<&str> = name_key.split(' ').collect();
            let best = name_words
                .windows(width.min(name_words.len()).max(1))
                .map(|run| strsim::normalized_damerau_levenshtein(&run.join(" "), &wanted))
                .chain([strsim::normalized_damerau_levenshtein(&name_key, &wanted)])
                .fold(0.0, f64::max);
            (best >= SIMILAR).then_some((best, name))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, name)| name).collect()
}

/// A service name as filters compare it: lowercase words.
pub fn service_words(name: &str) -> String {
    words(&name.to_lowercase())
}

fn words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cross-checks `claims` against `statements`.
pub fn check_claims(claims: &[Pair], statements: &[Pair]) -> ClaimsReport {
    let mut report = ClaimsReport {
        claims: claims.len(),
        ..ClaimsReport::default()
    };
    for claim in claims {
        let (cert, service) = (
            certification_key(&claim.certification),
            service_key(&claim.service),
        );
        let same_cert = statements
            .iter()
            .filter(|s| certification_key(&s.certification) == cert);
        if same_cert
            .clone()
            .any(|s| service_key(&s.service) == service)
        {
            report.supported += 1;
            continue;
        }
        let candidates = same_cert
            .filter(|s| {
                let broader = service_key(&s.service);
                service.starts_with(&format!("{broader} "))
            })
            .cloned()
            .collect();
        report.unsupported.push(Unsupported {
            source: claim.source.clone(),
            certification: claim.certification.clone(),
            service: claim.service.clone(),
            candidates,
        });
    }
    for statement in statements {
        let service = service_key(&statement.service);
        let claimed_by: Vec<&Pair> = claims
            .iter()
            .filter(|c| service_key(&c.service) == service)
            .collect();
        let cert = certification_key(&statement.certification);
        if !claimed_by.is_empty()
            && !claimed_by
                .iter()
                .any(|c| certification_key(&c.certification) == cert)
        {
            report.unmentioned.push(statement.clone());
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(source: &str, certification: &str, service: &str) -> Pair {
        Pair {
            source: source.into(),
            certification: certification.into(),
            service: service.into(),
        }
    }

    #[test]
    fn keys_ignore_spelling_differences() {
        assert_eq!(
            certification_key("ISO 27001:2013"),
            certification_key("ISO/IEC 27001")
        );
        assert_eq!(certification_key("PCI DSS"), "pci dss");
        assert_ne!(certification_key("SOC 1"), certification_key("SOC 2"));
        assert_eq!(
            service_key("Azure Bot Service (Azure Government)"),
            "azure bot service"
        );
    }

    #[test]
    fn filters_match_runs_of_words_loosely() {
        assert!(service_filter_matches("Azure Bot Service", "bot service"));
        assert!(service_filter_matches(
            "Azure Bot Service",
            "Azure Bot Service"
        ));
        assert!(service_filter_matches(
            "Exchange Online (GCC High)",
            "exchange online"
        ));
        assert!(!service_filter_matches("Azure Bot Service", "bot services"));
        assert!(!service_filter_matches("Robotics", "bot"));
        assert!(certification_filter_matches("ISO/IEC 27001", "ISO 27001"));
        assert!(certification_filter_matches(
            "ISO/IEC 27001:2013",
            "iso 27001"
        ));
        assert!(certification_filter_matches("SOC 2", "soc 2"));
        assert!(!certification_filter_matches("SOC 1", "SOC 2"));
    }

    #[test]
    fn a_filter_that_matched_nothing_is_offered_the_names_alike() {
        let services = ["Azure Bot Service", "Windows 365", "Azure Files", "Intune"];
        assert_eq!(
            similar_names("bot servce", services, service_words),
            ["Azure Bot Service"]
        );
        assert_eq!(
            similar_names("windows 356", services, service_words),
            ["Windows 365"]
        );
        assert!(similar_names("Power BI", services, service_words).is_empty());
        assert_eq!(
            similar_names("ISO 2700", ["ISO/IEC 27001", "SOC 2"], certification_key),
            ["ISO/IEC 27001"]
        );
    }

    #[test]
    fn claims_are_supported_unsupported_or_have_broader_candidates() {
        let claims = [
            pair("bot", "ISO 27001:2013", "Azure Bot Service"),
            pair("bot", "PCI DSS Level 1", "Azure Bot Service"),
            pair("bot", "HIPAA BAA", "Azure Bot Service"),
        ];
        let statements = [
            pair("audit", "ISO/IEC 27001", "Azure Bot Service"),
            pair("audit", "SOC 2", "Azure Bot Service"),
            pair("hipaa", "HIPAA BAA", "Azure"),
        ];
        let report = check_claims(&claims, &statements);
        assert_eq!((report.claims, report.supported), (3, 1));
        assert_eq!(report.unsupported.len(), 2);
        assert_eq!(report.unsupported[1].candidates, [statements[2].clone()]);
        assert_eq!(
            report.unmentioned,
            [statements[1].clone()],
            "SOC 2 is in the statement, not on the claim page"
        );
    }
}
