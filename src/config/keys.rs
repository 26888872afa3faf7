//! Unknown keys: every key of the file is checked against the keys its
//! table takes, and each one not taken is reported with its place and the
//! key it most likely meant (`did you mean `concurrency`?`), together with
//! every other problem of the file. (Serde's `deny_unknown_fields` would
//! stop at the first one and hide the rest.)
//!
//! The keys a table takes are read from the raw structs themselves (the
//! field names serde's derive hands its deserializer), so this list cannot
//! drift from what is parsed.

use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::alerts::{RawAlert, RawAttestation};
use super::raw::{
    RawBrowser, RawConfig, RawDaemon, RawEvidence, RawFollow, RawHttp, RawRetention, RawSource,
    RawStorage,
};
use crate::scope::{RawScopeSettings, RawScopeSpec};

/// A key no table takes: where it is, its dotted path, and what to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub span: Range<usize>,
    /// `daemon.concurency`, `source[0].colour`, `deamon`.
    pub key: String,
    pub message: String,
}

/// Every unknown key of `document`, in file order.
pub fn unknown_keys(document: &DeTable<'_>) -> Vec<UnknownKey> {
    let mut found = Vec::new();
    check_table(document, Table::Root, "", &mut found);
    found.sort_by_key(|k| k.span.start);
    found
}

/// The tables of the configuration whose keys are fixed. The values of
/// other tables (`[scope] aliases`, an alert's `headers`) are free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Root,
    Daemon,
    Http,
    Storage,
    Scope,
    Evidence,
    Retention,
    Browser,
    Source,
    SourceFollow,
    SourceScope,
    SourceAttestation,
    Alert,
    Web,
}

impl Table {
    /// The keys the table takes.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Table::Root => field_names::<RawConfig>(),
            Table::Daemon => field_names::<RawDaemon>(),
            Table::Http => field_names::<RawHttp>(),
            Table::Storage => field_names::<RawStorage>(),
            Table::Scope => field_names::<RawScopeSettings>(),
            Table::Evidence => field_names::<RawEvidence>(),
            Table::Retention => field_names::<RawRetention>(),
            Table::Browser => field_names::<RawBrowser>(),
            Table::Source => field_names::<RawSource>(),
            Table::SourceFollow => field_names::<RawFollow>(),
            Table::SourceScope => field_names::<RawScopeSpec>(),
            Table::SourceAttestation => field_names::<RawAttestation>(),
            Table::Alert => field_names::<RawAlert>(),
            Table::Web => field_names::<super::web::RawWeb>(),
        }
    }

    /// The table a key of this one holds, when its keys are fixed too.
    fn child(self, key: &str) -> Option<Table> {
        Some(match (self, key) {
            (Table::Root, "daemon") => Table::Daemon,
            (Table::Root, "http") => Table::Http,
            (Table::Root, "storage") => Table::Storage,
            (Table::Root, "scope") => Table::Scope,
            (Table::Root, "evidence") => Table::Evidence,
            (Table::Root, "retention") => Table::Retention,
            (Table::Root, "browser") => Table::Browser,
            (Table::Root, "source") => Table::Source,
            (Table::Root, "alert") => Table::Alert,
            (Table::Root, "web") => Table::Web,
            (Table::Source, "follow") => Table::SourceFollow,
            (Table::Source, "scope") => Table::SourceScope,
            (Table::Source, "attestation") => Table::SourceAttestation,
            _ => return None,
        })
    }
}

fn check_table(table: &DeTable<'_>, kind: Table, path: &str, found: &mut Vec<UnknownKey>) {
    let known = kind.keys();
    for (key, value) in table {
        let name: &str = key.get_ref();
        let dotted = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        if !known.contains(&name) {
            found.push(UnknownKey {
                span: key.span(),
                key: dotted,
                message: unknown_message(name, known),
            });
            continue;
        }
        if let Some(child) = kind.child(name) {
            check_value(value, child, &dotted, found);
        }
    }
}

/// A table's value: a table, or an array of tables (`[[source]]`), each
/// checked; values of another type are serde's to refuse.
fn check_value(value: &Spanned<DeValue<'_>>, kind: Table, path: &str, found: &mut Vec<UnknownKey>) {
    match value.get_ref() {
        DeValue::Table(table) => check_table(table, kind, path, found),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                if let DeValue::Table(table) = item.get_ref() {
                    check_table(table, kind, &format!("{path}[{index}]"), found);
                }
            }
        }
        _ => {}
    }
}

fn unknown_message(name: &str, known: &[&str]) -> String {
    match crate::wording::nearest(name, known.iter().copied()) {
        Some(meant) => format!("unknown key `{name}`; did you mean `{meant}`?"),
        None => {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!(
                "unknown key `{name}`; the keys here are {}",
                list.join(", ")
            )
        }
    }
}

/// The field names of a struct deriving `Deserialize`: what its derive
/// passes to `deserialize_struct`, caught by a deserializer that reads
/// nothing else.
fn field_names<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    struct Catch<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for Catch<'_> {
        type Error = de::value::Error;

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("only the field names were wanted"))
        }

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // Always an error: the deserializer stops once it has the names.
    let _ = T::deserialize(Catch(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(text: &str) -> Vec<(String, String)> {
        let document = DeTable::parse(text).unwrap();
        unknown_keys(document.get_ref())
            .into_iter()
            .map(|k| (k.key, k.message))
            .collect()
    }

    #[test]
    fn the_keys_are_the_raw_structs_fields() {
        assert_eq!(
            Table::Daemon.keys(),
            [
                "schedule",
                "jitter",
                "concurrency",
                "fail_after",
                "remind_every",
                "max_age"
            ]
        );
        assert!(Table::Root.keys().contains(&"source"));
        assert!(Table::SourceScope.keys().contains(&"service_field"));
        assert!(Table::Alert.keys().contains(&"headers"));
        assert_eq!(Table::Web.keys(), ["listen", "token_file"]);
    }

    #[test]
    fn every_unknown_key_is_named_with_the_one_meant() {
        let found = unknown(
            "[deamon]\nschedule = \"0 * * * *\"\n[daemon]\nconcurency = 4\n\
             [[source]]\nid = \"a\"\nurl = \"https://x/\"\n[[source]]\nid = \"b\"\nurl = \"https://y/\"\n\
             colour = \"red\"\nfollow = { slect = \"a\" }\n[source.scope]\nknd = \"list\"\n\
             [scope]\naliases = { \"Anything\" = \"Goes\" }\n",
        );
        let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "deamon",
                "daemon.concurency",
                "source[1].colour",
                "source[1].follow.slect",
                "source[1].scope.knd"
            ]
        );
        assert_eq!(found[0].1, "unknown key `deamon`; did you mean `daemon`?");
        assert_eq!(
            found[1].1,
            "unknown key `concurency`; did you mean `concurrency`?"
        );
        assert!(
            found[2]
                .1
                .starts_with("unknown key `colour`; the keys here are `id`, `url`")
        );
        assert_eq!(found[3].1, "unknown key `slect`; did you mean `select`?");
        assert_eq!(found[4].1, "unknown key `knd`; did you mean `kind`?");
    }

    #[test]
    fn a_file_with_known_keys_only_has_none() {
        let shipped = include_str!("../../config/scopewatch.toml");
        assert_eq!(unknown(shipped), []);
    }
}
