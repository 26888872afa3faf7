//! A source's attestation (`[source.attestation]`): when the vendor's
//! attestation expires, a configured date or a date found on the page, and
//! the reminder thresholds before it.

use chrono::NaiveDate;
use regex::Regex;

/// `[source.attestation]`: when the vendor's attestation expires.
#[derive(Debug, Clone)]
pub struct Attestation {
    pub expiry: Expiry,
    /// Reminders this many days before, descending (default 90, 30, 7, 0).
    pub days: Vec<u32>,
}

#[derive(Debug, Clone)]
pub enum Expiry {
    Date(NaiveDate),
    /// A regex whose first capture group (or `date` group) is a date on the
    /// page; the attestation expires `valid_for` days after it.
    Pattern {
        regex: Regex,
        valid_for_days: u32,
    },
}

/// When the attestation expires: the configured date, or the first date the
/// pattern finds in the page text plus `valid_for`.
pub fn expiry_date(attestation: &Attestation, text: &str) -> Option<NaiveDate> {
    match &attestation.expiry {
        Expiry::Date(date) => Some(*date),
        Expiry::Pattern {
            regex,
            valid_for_days,
        } => {
            let captures = regex.captures(text)?;
            let found = captures
                .name("date")
                .or_else(|| captures.get(1))
                .or_else(|| captures.get(0))?
                .as_str()
                .trim();
            let date = parse_date(found)?;
            date.checked_add_days(chrono::Days::new(u64::from(*valid_for_days)))
        }
    }
}

/// Dates as compliance pages write them.
fn parse_date(text: &str) -> Option<NaiveDate> {
    const FORMATS: &[&str] = &[
        "%Y-%m-%d",
        "%B %d, %Y",
        "%d %B %Y",
        "%b %d, %Y",
        "%d %b %Y",
        "%m/%d/%Y",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_from_a_date_on_the_page() {
        let attestation = Attestation {
            expiry: Expiry::Pattern {
                regex: regex::Regex::new(r"signed on (?P<date>[A-Z][a-z]+ \d{1,2}, \d{4})")
                    .unwrap(),
                valid_for_days: 365,
            },
            days: vec![90, 30, 7, 0],
        };
        let text = "The PCI DSS AOC was signed on March 3, 2026 by the QSA.";
        assert_eq!(
            expiry_date(&attestation, text),
            NaiveDate::from_ymd_opt(2027, 3, 3)
        );
        assert_eq!(expiry_date(&attestation, "no date here"), None);
    }
}
