//! JSON to [`Document`]: the canonical form (object keys sorted, two-space
//! indentation), optionally narrowed by an RFC 6901 JSON pointer, one
//! paragraph per line so diffs show the changed members. The document
//! keeps the value itself for scope extraction ([`Document::json`]).

use super::ExtractError;
use super::document::{Document, DocumentBuilder};

pub fn extract_json(source: &str, pointer: Option<&str>) -> Result<Document, ExtractError> {
    // serde_json's map is a BTreeMap (no `preserve_order`), so keys come out sorted.
    let mut value: serde_json::Value =
        serde_json::from_str(source).map_err(|e| ExtractError::Json(e.to_string()))?;
    // Taken out, not copied: the rest of the document is not kept.
    let selected = match pointer {
        Some(p) => value
            .pointer_mut(p)
            .map(serde_json::Value::take)
            .ok_or_else(|| ExtractError::JsonPointer(p.to_string()))?,
        None => value,
    };
    let canonical =
        serde_json::to_string_pretty(&selected).map_err(|e| ExtractError::Json(e.to_string()))?;
    let mut builder = DocumentBuilder::default();
    for line in canonical.lines() {
        // Keep indentation visible: it is the structure.
        let indent = line.len() - line.trim_start().len();
        builder.paragraph(&format!(
            "{}{}",
            "\u{b7}".repeat(indent / 2),
            line.trim_start()
        ));
    }
    let mut document = builder.finish();
    document.json = Some(selected);
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_does_not_matter() {
        let a = extract_json(r#"{"b":1,"a":[1,2]}"#, None).unwrap();
        let b = extract_json(r#"{ "a": [1, 2], "b": 1 }"#, None).unwrap();
        assert_eq!(a, b);
        assert!(a.to_text().starts_with("{\n\u{b7}\"a\": [\n"));
    }

    #[test]
    fn pointer_selects_a_member() {
        let doc = extract_json(r#"{"x":{"y":"in scope"}}"#, Some("/x/y")).unwrap();
        assert_eq!(doc.to_text(), "\"in scope\"\n");
        assert_eq!(doc.json, Some(serde_json::json!("in scope")));
        assert!(matches!(
            extract_json("{}", Some("/nope")),
            Err(ExtractError::JsonPointer(_))
        ));
    }
}
