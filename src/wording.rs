//! Wording shared by messages: a count with its noun in the right number
//! ("1 source", "2 sources"), and the known name a misspelt one most likely
//! meant ("did you mean `concurrency`?").

/// `count` and the noun: `singular` for exactly one, else `plural`.
pub fn counted(count: usize, singular: &str, plural: &str) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

/// The known name closest to `written`, if it is close enough to be a
/// misspelling of it: at most a third of its characters (rounded up)
/// inserted, deleted, replaced or swapped with a neighbour (optimal string
/// alignment distance, case ignored). A third lets one or two slips through
/// in words of 3 to 12 letters (`concurency`, `deamon`, `scopes`) while two
/// unrelated short words (`ui` and `id`) stay apart.
pub fn nearest<'a>(written: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let written = written.to_lowercase();
    let allowed = written.chars().count().div_ceil(3).max(1);
    known
        .into_iter()
        .map(|name| (strsim::osa_distance(&written, &name.to_lowercase()), name))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_in_the_singular_for_one() {
        assert_eq!(counted(1, "line", "lines"), "1 line");
        assert_eq!(counted(0, "line", "lines"), "0 lines");
        assert_eq!(counted(2, "finding", "findings"), "2 findings");
    }

    #[test]
    fn misspellings_find_the_name_meant_and_strangers_nothing() {
        let keys = ["schedule", "jitter", "concurrency", "fail_after"];
        assert_eq!(nearest("concurency", keys), Some("concurrency"));
        assert_eq!(nearest("schedulle", keys), Some("schedule"));
        assert_eq!(nearest("deamon", ["daemon", "http"]), Some("daemon"));
        assert_eq!(nearest("Scopes", ["scope", "content"]), Some("scope"));
        assert_eq!(nearest("colour", keys), None);
        assert_eq!(nearest("ui", ["id", "url"]), None);
    }
}
