//! A URL's query as the pages and the API read it: repeated keys kept
//! (`source=a&source=b`, as `--source` repeats), empty values dropped (an
//! empty form field means "any"), numbers checked and capped.

use crate::query::QueryError;

/// The query string's pairs, in order.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        Params(
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .filter(|(_, value)| !value.trim().is_empty())
                .map(|(name, value)| (name.into_owned(), value.trim().to_string()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// `name` as a count from 1 to `max`; `default` when absent.
    pub fn limit(
        &self,
        name: &'static str,
        default: usize,
        max: usize,
    ) -> Result<usize, QueryError> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(QueryError::InvalidField {
                    field: name,
                    message: format!("{text:?}: give a whole number from 1 to {max}"),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_kept_and_empty_ones_dropped() {
        let params = Params::parse(Some("source=a&source=b&kind=&at=2024-05-01&limit=5"));
        assert_eq!(params.all("source"), ["a", "b"]);
        assert_eq!(params.get("kind"), None);
        assert_eq!(params.get("at"), Some("2024-05-01"));
        assert_eq!(params.limit("limit", 10, 100).unwrap(), 5);
        assert!(
            Params::parse(Some("limit=0"))
                .limit("limit", 10, 100)
                .is_err()
        );
        assert!(
            Params::parse(Some("limit=101"))
                .limit("limit", 10, 100)
                .is_err()
        );
    }
}
