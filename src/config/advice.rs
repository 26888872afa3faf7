//! What to change, added to messages that come from libraries and name the
//! problem only: TOML syntax and type errors (serde), and CSS selector
//! errors (whose text for some kinds is "please report this").

/// A TOML or serde error message with advice appended where it has none.
pub fn toml_message(message: &str) -> String {
    let advice = if message.contains("duplicate key") {
        Some("each key may appear once per table: remove or rename one of them")
    } else if message.starts_with("missing field") {
        Some("add it to this table")
    } else if message.starts_with("invalid type") {
        Some(if message.contains("expected i64") {
            "write a whole number without quotes, e.g. 3"
        } else if message.contains("expected a boolean") {
            "write true or false without quotes"
        } else if message.contains("expected a string") || message.contains("expected string") {
            "write the value in double quotes"
        } else {
            "check the value's type against the README (\"Configuration\")"
        })
    } else if message.contains("expected `]`") || message.contains("expected `\"`") {
        Some("close it on the same line")
    } else {
        None
    };
    match advice {
        Some(advice) => format!("{message}; {advice}"),
        None => message.to_string(),
    }
}

/// A selector parser's error as a reader can act on it: the kind of the
/// problem in words instead of a request to report a bug.
pub fn selector_problem(display: &str) -> String {
    match display.split_once("Please report this to the developer") {
        Some((_, kind)) => {
            let name = kind.trim().lines().next().unwrap_or("");
            let name = name.split(['(', ' ', '{']).next().unwrap_or(name);
            let mut words = String::new();
            for c in name.chars() {
                if c.is_uppercase() && !words.is_empty() {
                    words.push(' ');
                }
                words.extend(c.to_lowercase());
            }
            if words.is_empty() {
                "unexpected syntax".to_string()
            } else {
                words
            }
        }
        None => display.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_is_added_to_bare_library_messages() {
        assert_eq!(
            toml_message("duplicate key"),
            "duplicate key; each key may appear once per table: remove or rename one of them"
        );
        assert!(toml_message("invalid type: string \"three\", expected i64").ends_with("e.g. 3"));
        assert_eq!(toml_message("something else"), "something else");
    }

    #[test]
    fn selector_kinds_become_words() {
        assert_eq!(
            selector_problem(
                "Unexpected error occurred. Please report this to the developer\nDanglingCombinator"
            ),
            "dangling combinator"
        );
        assert_eq!(
            selector_problem("Token \"<\" was not expected"),
            "Token \"<\" was not expected"
        );
    }
}
