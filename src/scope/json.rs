//! The `json` extractor: a vendor's published JSON of in-scope services.
//!
//! `json_pointer` (RFC 6901, applied to the part of the document that
//! counts, i.e. after the source's own `json_pointer`; default: all of it)
//! names an array. Each element is
//! - an object: `service_field` and `certification_field` name its members
//!   holding the service and the certification, each a string or an array
//!   of strings (`{"name": "Contoso Queue", "certifications": ["ISO/IEC
//!   27001", "SOC 2"]}` gives two pairs); a fixed `service` or
//!   `certification` stands in for one of the two members;
//! - a string: the service when `certification` is fixed, the
//!   certification when `service` is fixed.
//!
//! Names are cleaned and aliased as on pages ("(formerly X)" notes make
//! renames). Elements without the members are skipped; the result is
//! Broken when the pointer selects nothing or no array, or no pair is
//! found.
//!
//! [`extract_auto`] is what `auto` makes of a JSON document: arrays of
//! objects, anywhere in it, with both a member named like a service
//! ([`SERVICE_MEMBERS`]) and one named like certifications
//! ([`CERTIFICATION_MEMBERS`]). Any other shape needs `kind = "json"`.

use serde_json::Value;

use super::names::{alias, clean_name};
use super::{ScopeEntry, ScopeSet, ScopeSetBuilder, ScopeSettings};

/// `kind = "json"`'s keys, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonKeys {
    /// RFC 6901; "" is the whole document.
    pub pointer: String,
    pub service_field: Option<String>,
    pub certification_field: Option<String>,
}

/// Where one of a pair's two names comes from.
#[derive(Debug, Clone, Copy)]
enum Side<'a> {
    /// An object member of this name.
    Member(&'a str),
    /// The same name for every element.
    Fixed(&'a str),
    /// The element itself, a string (neither a member nor a fixed name
    /// was given for this side).
    Element,
}

impl<'a> Side<'a> {
    /// A member when one is named, else the fixed name, else the element.
    fn of(member: Option<&'a str>, fixed: Option<&'a str>) -> Side<'a> {
        match (member, fixed) {
            (Some(member), _) => Side::Member(member),
            (None, Some(name)) => Side::Fixed(name),
            (None, None) => Side::Element,
        }
    }
}

/// Member names `auto` reads as the service, compared without case, `_`
/// or `-`.
pub const SERVICE_MEMBERS: &[&str] = &["service", "services", "servicename", "name"];

/// Member names `auto` reads as the certifications.
pub const CERTIFICATION_MEMBERS: &[&str] = &[
    "certification",
    "certifications",
    "compliance",
    "offering",
    "offerings",
    "attestations",
    "standards",
];

/// Extracts a JSON document (`value`: the part that counts) with `kind =
/// "json"` keys and the fixed `service`/`certification`.
pub(crate) fn extract(
    value: &Value,
    keys: &JsonKeys,
    service: Option<&str>,
    certification: Option<&str>,
    settings: &ScopeSettings,
) -> Result<ScopeSet, String> {
    let pointer = &keys.pointer;
    let selected = value
        .pointer(pointer)
        .ok_or_else(|| format!("json_pointer {pointer:?} selects nothing in the document"))?;
    let Value::Array(elements) = selected else {
        return Err(format!(
            "json_pointer {pointer:?} selects {}, not an array",
            kind_of(selected)
        ));
    };
    let (services, certifications) = (
        Side::of(keys.service_field.as_deref(), service),
        Side::of(keys.certification_field.as_deref(), certification),
    );
    let mut out = ScopeSetBuilder::default();
    for element in elements {
        read_element(element, services, certifications, settings, &mut out);
    }
    if out.is_empty() {
        return Err(format!(
            "no (certification, service) pair in the {} elements of the array at {pointer:?}",
            elements.len()
        ));
    }
    Ok(out.finish())
}

/// `auto` on a JSON document: every array of objects with a service-like
/// and a certification-like member, wherever it is. Empty when there is
/// none, as for a page that states no scope.
pub(crate) fn extract_auto(value: &Value, settings: &ScopeSettings) -> ScopeSet {
    let mut out = ScopeSetBuilder::default();
    // Depth-first without recursion: the document may be deep (serde_json
    // stops at 128 levels, which is still too deep to recurse into here).
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(elements) => {
                for element in elements {
                    if let Value::Object(object) = element
                        && let (Some(service), Some(certification)) = (
                            member_named(object, SERVICE_MEMBERS),
                            member_named(object, CERTIFICATION_MEMBERS),
                        )
                    {
                        let (s, c) = (Side::Member(service), Side::Member(certification));
                        read_element(element, s, c, settings, &mut out);
                    } else {
                        pending.push(element);
                    }
                }
            }
            Value::Object(object) => pending.extend(object.values()),
            _ => {}
        }
    }
    out.finish()
}

/// The first member of `object` whose name is one of `names`, compared
/// without case, `_` or `-`.
fn member_named<'a>(object: &'a serde_json::Map<String, Value>, names: &[&str]) -> Option<&'a str> {
    object.keys().map(String::as_str).find(|key| {
        let plain: String = key
            .chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect();
        names.contains(&plain.as_str())
    })
}

/// The pairs of one array element.
fn read_element(
    element: &Value,
    services: Side<'_>,
    certifications: Side<'_>,
    settings: &ScopeSettings,
    out: &mut ScopeSetBuilder,
) {
    let certification_names = names_of(element, certifications);
    for raw_service in names_of(element, services) {
        let service = clean_name(raw_service);
        let service_name = alias(&service.name, settings);
        if let Some(former) = service.former {
            out.former(service_name, former);
        }
        for raw_certification in &certification_names {
            let certification = clean_name(raw_certification).name;
            out.insert(ScopeEntry::new(
                alias(&certification, settings),
                service_name,
            ));
        }
    }
}

/// The names one side gives for an element: an object member's string, or
/// its array's strings; the fixed name; the element when it is a string.
fn names_of<'v>(element: &'v Value, side: Side<'v>) -> Vec<&'v str> {
    match side {
        Side::Fixed(name) => vec![name],
        Side::Element => element.as_str().into_iter().collect(),
        Side::Member(member) => match element.get(member) {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        },
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(pointer: &str, service: Option<&str>, certification: Option<&str>) -> JsonKeys {
        JsonKeys {
            pointer: pointer.into(),
            service_field: service.map(String::from),
            certification_field: certification.map(String::from),
        }
    }

    fn pairs(set: &ScopeSet) -> Vec<String> {
        set.entries().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn objects_give_every_pair_of_their_members() {
        let doc = json!({"services": [
            {"name": "Contoso Queue", "certifications": ["ISO/IEC 27001", "SOC 2"]},
            {"name": ["Contoso Files", "Contoso Blob"], "certifications": "SOC 2"},
            {"name": "No certifications"},
            "not an object"
        ]});
        let set = extract(
            &doc,
            &keys("/services", Some("name"), Some("certifications")),
            None,
            None,
            &ScopeSettings::default(),
        )
        .unwrap();
        assert_eq!(
            pairs(&set),
            [
                "ISO/IEC 27001 / Contoso Queue",
                "SOC 2 / Contoso Blob",
                "SOC 2 / Contoso Files",
                "SOC 2 / Contoso Queue"
            ]
        );
    }

    #[test]
    fn a_fixed_name_stands_in_for_a_member_and_strings_are_the_other_side() {
        let doc = json!({"inScope": ["Contoso Queue", "Contoso Files (formerly Contoso Share)"]});
        let set = extract(
            &doc,
            &keys("/inScope", None, None),
            None,
            Some("PCI DSS"),
            &ScopeSettings::default(),
        )
        .unwrap();
        assert_eq!(
            pairs(&set),
            ["PCI DSS / Contoso Files", "PCI DSS / Contoso Queue"]
        );
        assert_eq!(
            set.former_names("Contoso Files").collect::<Vec<_>>(),
            ["Contoso Share"]
        );
        let doc = json!([{"standard": "SOC 1"}, {"standard": "SOC 2"}]);
        let set = extract(
            &doc,
            &keys("", None, Some("standard")),
            Some("Contoso Queue"),
            None,
            &ScopeSettings::default(),
        )
        .unwrap();
        assert_eq!(
            pairs(&set),
            ["SOC 1 / Contoso Queue", "SOC 2 / Contoso Queue"]
        );
        let certifications = json!(["ISO/IEC 27001", "HIPAA"]);
        let set = extract(
            &certifications,
            &keys("", Some("name"), None),
            None,
            None,
            &ScopeSettings::default(),
        );
        assert!(set.is_err(), "a string has no member `name`");
    }

    #[test]
    fn a_pointer_to_nothing_or_no_array_or_no_pair_is_broken() {
        let settings = ScopeSettings::default();
        let k = keys("/services", Some("name"), Some("certifications"));
        let broken = |doc: Value| extract(&doc, &k, None, None, &settings).unwrap_err();
        assert!(broken(json!({})).contains("selects nothing"));
        assert!(broken(json!({"services": {"a": 1}})).contains("an object, not an array"));
        assert!(
            broken(json!({"services": [{"title": "x"}]}))
                .contains("no (certification, service) pair")
        );
    }

    #[test]
    fn auto_reads_arrays_of_service_and_certification_objects_anywhere() {
        let doc = json!({"data": {"items": [
            {"serviceName": "Contoso Queue", "Certifications": ["SOC 2"]},
            {"service_name": "Contoso Files", "compliance": "HIPAA"}
        ]}, "links": [{"name": "home", "href": "/"}]});
        let set = extract_auto(&doc, &ScopeSettings::default());
        assert_eq!(
            pairs(&set),
            ["HIPAA / Contoso Files", "SOC 2 / Contoso Queue"]
        );
        assert!(extract_auto(&json!({"a": [1, 2]}), &ScopeSettings::default()).is_empty());
    }
}
