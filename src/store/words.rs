//! The enums the store keeps as words (an event's kind, a delivery's
//! state, a record's outcome and change): written as the word, read back
//! into the enum. A word no variant has (a database written by a newer
//! version, or edited by hand) is a column conversion error, an ordinary
//! [`super::StoreError`], never a panic.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use super::{DeliveryState, RecordOutcome};
use crate::detect::{Change, EventKind};

/// `ToSql` as the enum's word (`as_str`), `FromSql` back through its `ALL`.
macro_rules! stored_as_words {
    ($($enum:ty => $what:literal),* $(,)?) => {$(
        impl ToSql for $enum {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $enum {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let word = value.as_str()?;
                <$enum>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == word)
                    .ok_or_else(|| FromSqlError::Other(format!("unknown {} {word:?}", $what).into()))
            }
        }
    )*};
}

stored_as_words!(
    EventKind => "event kind",
    DeliveryState => "delivery state",
    RecordOutcome => "record outcome",
    Change => "record change",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_word_is_an_error_not_a_panic() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let read = |word: &str| -> rusqlite::Result<EventKind> {
            conn.query_row("SELECT ?1", [word], |row| row.get(0))
        };
        assert_eq!(read("new-version").unwrap(), EventKind::NewVersion);
        let err = read("brand-new-kind").unwrap_err().to_string();
        assert!(
            err.contains("unknown event kind \"brand-new-kind\""),
            "{err}"
        );
        let state = |word: &str| -> rusqlite::Result<DeliveryState> {
            conn.query_row("SELECT ?1", [word], |row| row.get(0))
        };
        assert_eq!(state("failed").unwrap(), DeliveryState::Failed);
        assert!(state("lost").is_err());
        let written: String = conn
            .query_row("SELECT ?1", [EventKind::FailingReminder], |row| row.get(0))
            .unwrap();
        assert_eq!(written, "failing-reminder");
    }

    #[test]
    fn every_variant_is_written_and_read_back_as_its_word() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        fn both_ways<T: ToSql + FromSql + PartialEq + std::fmt::Debug>(
            conn: &rusqlite::Connection,
            all: &[T],
            word: fn(&T) -> &'static str,
        ) {
            for value in all {
                let (back, text): (T, String) = conn
                    .query_row("SELECT ?1, ?1", [value], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .unwrap();
                assert_eq!((&back, text.as_str()), (value, word(value)));
            }
        }
        both_ways(&conn, &EventKind::ALL, |k| k.as_str());
        both_ways(&conn, &DeliveryState::ALL, |s| s.as_str());
        both_ways(&conn, &RecordOutcome::ALL, |o| o.as_str());
        both_ways(&conn, &Change::ALL, |c| c.as_str());
    }
}
