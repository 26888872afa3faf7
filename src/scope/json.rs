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
//! renames). A few elements without the members (or holding something else
//! than strings) are skipped; the result is Broken when the pointer selects
//! nothing or no array, when most elements lack the members (the
//! document's shape changed: reading the rest would report everything else
//! removed), or when no pair is found. A page's pairs are bounded as every
//! extractor's are ([`MAX_PAIRS`](super::MAX_PAIRS)): an element naming
//! thousands of services and thousands of certifications is over budget,
//! not millions of pairs built.
//!
//! [`extract_auto`] is what `auto` makes of a JSON document: arrays of
//! objects, anywhere in it, with both a member named like a service
//! ([`SERVICE_MEMBERS`]) and one named like certifications
//! ([`CERTIFICATION_MEMBERS`]). Any other shape needs `kind = "json"`.

use serde_json::Value;

use super::names::{alias, clean_name};
use super::{ScopeSet, ScopeSetBuilder, ScopeSettings};

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
    let mut misshapen = 0usize;
    for element in elements {
        if out.is_full() {
            break;
        }
        if !read_element(element, services, certifications, settings, &mut out) {
            misshapen += 1;
        }
    }
    if misshapen * 2 > elements.len() {
        return Err(format!(
            "{misshapen} of the {} elements of the array at {pointer:?} do not have {}: the \
             document's shape changed",
            elements.len(),
            shape(services, certifications)
        ));
    }
    if out.is_empty() {
        return Err(format!(
            "no (certification, service) pair in the {} elements of the array at {pointer:?}",
            elements.len()
        ));
    }
    out.finish_checked()
}

/// What an element must have, in words: "a member `name` and a member
/// `certifications` (each a string or an array of strings)".
fn shape(services: Side<'_>, certifications: Side<'_>) -> String {
    let side = |side: Side<'_>| match side {
        Side::Member(member) => Some(format!("a member {member:?}")),
        Side::Fixed(_) => None,
        Side::Element => Some("a string as the element".to_string()),
    };
    let parts: Vec<String> = [side(services), side(certifications)]
        .into_iter()
        .flatten()
        .collect();
    format!("{} (a string or an array of strings)", parts.join(" and "))
}

/// `auto` on a JSON document: every array of objects with a service-like
/// and a certification-like member, wherever it is. Empty when there is
/// none, as for a page that states no scope. Broken when such an array has
/// more objects without those members than with them: its shape changed,
/// and reading the few left would report the rest as removed.
pub(crate) fn extract_auto(value: &Value, settings: &ScopeSettings) -> Result<ScopeSet, String> {
    let mut out = ScopeSetBuilder::default();
    // Depth-first without recursion: the document may be deep (serde_json
    // stops at 128 levels, which is still too deep to recurse into here).
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        if out.is_full() {
            break;
        }
        match value {
            Value::Array(elements) => {
                let (mut read, mut objects) = (0usize, 0usize);
                for element in elements {
                    if let Value::Object(object) = element {
                        objects += 1;
                        if let (Some(service), Some(certification)) = (
                            member_named(object, SERVICE_MEMBERS),
                            member_named(object, CERTIFICATION_MEMBERS),
                        ) {
                            let (s, c) = (Side::Member(service), Side::Member(certification));
                            if read_element(element, s, c, settings, &mut out) {
                                read += 1;
                            }
                            continue;
                        }
                    }
                    pending.push(element);
                }
                if read > 0 && (objects - read) > read {
                    return Err(format!(
                        "{} of the {objects} objects of an array with services and their \
                         certifications do not have both members (or not as a string or an array \
                         of strings): the document's shape changed",
                        objects - read
                    ));
                }
            }
            Value::Object(object) => pending.extend(object.values()),
            _ => {}
        }
    }
    out.finish_checked()
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

/// The pairs of one array element. Returns whether the element has the
/// shape the sides ask for: each member there, a string or an array of
/// strings (an empty one is a service in no scope); a string where the
/// element itself is a name.
fn read_element(
    element: &Value,
    services: Side<'_>,
    certifications: Side<'_>,
    settings: &ScopeSettings,
    out: &mut ScopeSetBuilder,
) -> bool {
    let (Some(raw_services), Some(raw_certifications)) = (
        names_of(element, services),
        names_of(element, certifications),
    ) else {
        return false;
    };
    // Each name cleaned once, not once per pair.
    let certification_names: Vec<String> = raw_certifications
        .iter()
        .map(|raw| alias(&clean_name(raw).name, settings).to_string())
        .collect();
    for raw_service in raw_services {
        let service = clean_name(raw_service);
        let service_name = alias(&service.name, settings);
        if let Some(former) = service.former {
            out.former(service_name, former);
        }
        for certification in &certification_names {
            out.add(certification, service_name);
        }
        if out.is_full() {
            break;
        }
    }
    true
}

/// The names one side gives for an element: an object member's string, or
/// its array's strings; the fixed name; the element when it is a string.
/// None when the element does not have that shape (the member missing, or
/// holding something else than strings).
fn names_of<'v>(element: &'v Value, side: Side<'v>) -> Option<Vec<&'v str>> {
    match side {
        Side::Fixed(name) => Some(vec![name]),
        Side::Element => element.as_str().map(|name| vec![name]),
        Side::Member(member) => match element.get(member)? {
            Value::String(name) => Some(vec![name.as_str()]),
            Value::Array(items) => items.iter().map(Value::as_str).collect(),
            _ => None,
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
        assert!(broken(json!({"services": [{"title": "x"}]})).contains("shape changed"));
        assert!(
            broken(json!({"services": [{"name": "x", "certifications": []}]}))
                .contains("no (certification, service) pair")
        );
    }

    #[test]
    fn a_document_whose_shape_changed_is_broken_not_emptied() {
        let settings = ScopeSettings::default();
        let k = keys("/services", Some("name"), Some("certifications"));
        let broken = |doc: Value| extract(&doc, &k, None, None, &settings).unwrap_err();
        let element = |certs: Value| json!({"name": "Contoso Queue", "certifications": certs});
        // The member renamed in most elements: what is left is not the scope.
        let renamed = json!({"services": [
            element(json!(["SOC 2"])),
            {"name": "Contoso Files", "attestations": ["SOC 2"]},
            {"name": "Contoso Blob", "attestations": ["SOC 2"]},
        ]});
        assert!(broken(renamed).contains("2 of the 3 elements"));
        // Names turned into objects.
        let objects = json!({"services": [element(json!([{"name": "SOC 2"}]))]});
        assert!(broken(objects).contains("shape changed"));
        // A service in no scope (an empty list) is no change of shape.
        let set = extract(
            &json!({"services": [element(json!([])), element(json!(["SOC 2"]))]}),
            &k,
            None,
            None,
            &settings,
        )
        .unwrap();
        assert_eq!(pairs(&set), ["SOC 2 / Contoso Queue"]);
        // `auto`: the same array with most objects changed.
        let auto = json!({"items": [
            {"service": "Contoso Queue", "certifications": ["SOC 2"]},
            {"service": "Contoso Files", "certs": ["SOC 2"]},
            {"service": "Contoso Blob", "certs": ["SOC 2"]},
        ]});
        assert!(
            extract_auto(&auto, &settings)
                .unwrap_err()
                .contains("shape changed")
        );
    }

    #[test]
    fn a_cross_product_past_the_budget_is_broken_not_built() {
        let names =
            |what: &str| -> Vec<String> { (0..400).map(|i| format!("{what} {i}")).collect() };
        let doc = json!([{"name": names("Service"), "certifications": names("Certification")}]);
        let reason = extract(
            &doc,
            &keys("", Some("name"), Some("certifications")),
            None,
            None,
            &ScopeSettings::default(),
        )
        .unwrap_err();
        assert!(reason.contains("more than 100000"), "{reason}");
    }

    #[test]
    fn auto_reads_arrays_of_service_and_certification_objects_anywhere() {
        let doc = json!({"data": {"items": [
            {"serviceName": "Contoso Queue", "Certifications": ["SOC 2"]},
            {"service_name": "Contoso Files", "compliance": "HIPAA"}
        ]}, "links": [{"name": "home", "href": "/"}]});
        let set = extract_auto(&doc, &ScopeSettings::default()).unwrap();
        assert_eq!(
            pairs(&set),
            ["HIPAA / Contoso Files", "SOC 2 / Contoso Queue"]
        );
        assert!(
            extract_auto(&json!({"a": [1, 2]}), &ScopeSettings::default())
                .unwrap()
                .is_empty()
        );
    }
}
