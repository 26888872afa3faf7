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
