//! The enums the store keeps as words (an event's kind, a delivery's
//! state, a record's outcome and change): written as the word, read back
//! into the enum. A word no variant
//! has (a database written by a newer version, or edited by hand) is a
//! column conversion error, an ordinary [`super::StoreError`], never a
//! panic.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use super::{DeliveryState, RecordOutcome};
use crate::detect::{Change, EventKind};

impl ToSql for EventKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for EventKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

impl ToSql for DeliveryState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for DeliveryState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let word = value.as_str()?;
        DeliveryState::ALL
            .into_iter()
            .find(|s| s.as_str() == word)
            .ok_or_else(|| FromSqlError::Other(format!("unknown delivery state {word:?}").into()))
    }
}

impl ToSql for RecordOutcome {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for RecordOutcome {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let word = value.as_str()?;
        RecordOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == word)
            .ok_or_else(|| FromSqlError::Other(format!("unknown record outcome {word:?}").into()))
    }
}

impl ToSql for Change {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Change {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let word = value.as_str()?;
        Change::ALL
            .into_iter()
            .find(|c| c.as_str() == word)
            .ok_or_else(|| FromSqlError::Other(format!("unknown record change {word:?}").into()))
    }
}

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
}
