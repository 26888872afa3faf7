//! Scope statements: which services a page says are in scope of which
//! certification. A normalised [`Document`] and a source's [`ScopeSpec`]
//! give a [`ScopeSet`] of (certification, service) pairs; two sets give a
//! [`ScopeDiff`] and its [`Severity`]. Pure functions: no I/O, no clock.
//!
//! The extractor kinds (`[source.scope] kind`):
//! - `matrix` ([`matrix`]): services as rows, certifications as columns, a
//!   check mark where a service is in scope;
//! - `list` ([`list`]): one certification per page, services as list items
//!   or comma-separated table cells under "in scope" headings;
//! - `certifications` ([`certifications`]): one service per page,
//!   certifications as table cells or list items;
//! - `pattern` ([`pattern`]): a regex with `service` and `certification`
//!   groups over running text;
//! - `json` ([`json`]): an array in a JSON document, its elements' members
//!   naming services and certifications;
//! - `auto` ([`auto`], the default): check-mark matrices and lists under
//!   "in scope" headings; in a JSON document, arrays of objects with a
//!   service and a certifications member ([`json::extract_auto`]).
//!
//! Names are cleaned by [`names`]; `[scope] aliases` map both certification
//! and service names to one spelling, at extraction and again in the diff.

pub mod auto;
pub mod certifications;
pub mod claims;
pub mod diff;
pub mod json;
pub mod list;
pub mod matrix;
pub mod names;
pub mod pattern;
pub mod rename;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::extract::{Block, Document};

pub use diff::{CertificationName, ScopeDiff, ScopeRename, Severity, diff_scope, severity};

/// One pair a source asserts: `service` is in scope of `certification`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ScopeEntry {
    pub certification: String,
    pub service: String,
}

impl ScopeEntry {
    pub fn new(certification: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            certification: certification.into(),
            service: service.into(),
        }
    }

    /// Both names are there: only such entries are in a set.
    fn is_complete(&self) -> bool {
        !self.certification.is_empty() && !self.service.is_empty()
    }
}

impl fmt::Display for ScopeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.certification, self.service)
    }
}

/// A sorted, deduplicated set of [`ScopeEntry`], with the former names that
/// "(formerly X)" notes on the page gave for its services, and the notes to
/// the reader ("see Appendix A …") found beside them.
///
/// Serialised as a JSON array of `{"certification", "service"}` objects in
/// sorted order; an entry whose service had "(formerly X)" notes also
/// carries `"formerly": ["X", ...]`, and one with a note `"note": "…"`.
/// Former names and notes are annotations: they are not part of the scope
/// and not in [`hash`].
///
/// [`hash`]: ScopeSet::hash
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "Vec<EntryRepr>")]
pub struct ScopeSet {
    entries: Vec<ScopeEntry>,
    /// service → names the page said it was formerly known by.
    former: BTreeMap<String, BTreeSet<String>>,
    /// service → the page's note about it.
    notes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct EntryRepr {
    certification: String,
    service: String,
    #[serde(default)]
    formerly: Vec<String>,
    #[serde(default)]
    note: Option<String>,
}

/// An entry as [`ScopeSet`] serialises it, borrowed: a page's set is
/// serialised once per capture, and cloning it first cost two allocations
/// per entry.
#[derive(Serialize)]
struct EntryRef<'a> {
    certification: &'a str,
    service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    formerly: Option<&'a BTreeSet<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

impl Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.entries.iter().map(|e| {
            EntryRef {
                certification: &e.certification,
                service: &e.service,
                formerly: self
                    .former
                    .get(&e.service)
                    .filter(|names| !names.is_empty()),
                note: self.note(&e.service),
            }
        }))
    }
}

impl From<Vec<EntryRepr>> for ScopeSet {
    /// A stored set is read back on every change of its page. It was
    /// written sorted and deduplicated, so a sort finds one run and no tree
    /// is built; a set stored otherwise still comes out sorted.
    fn from(reprs: Vec<EntryRepr>) -> Self {
        let mut notes = ScopeSetBuilder::unbounded();
        let mut entries = Vec::with_capacity(reprs.len());
        for r in reprs {
            for old in r.formerly {
                notes.former(&r.service, old);
            }
            if let Some(note) = r.note {
                notes.note(&r.service, note);
            }
            entries.push(ScopeEntry::new(r.certification, r.service));
        }
        entries.retain(ScopeEntry::is_complete);
        entries.sort_unstable();
        entries.dedup();
        ScopeSet::with_annotations(entries, notes.former, notes.notes)
    }
}

/// An entry as a stored set holds it, its names borrowed from the JSON
/// where they hold no escapes (former names are not needed to list pairs).
#[derive(Deserialize)]
struct StoredEntry<'a> {
    #[serde(borrow)]
    certification: Cow<'a, str>,
    #[serde(borrow)]
    service: Cow<'a, str>,
    #[serde(borrow, default)]
    note: Option<Cow<'a, str>>,
}

/// A stored set read for listing its pairs: the entries and notes that
/// decoding it as a [`ScopeSet`] gives, by the same rules, without an
/// allocation per name (a year-old store lists 250,000 pairs at a date).
pub struct StoredSetView<'a> {
    entries: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    notes: BTreeMap<String, String>,
}

impl<'a> StoredSetView<'a> {
    /// Reads a set's stored JSON (an array of `{certification, service}`).
    pub fn parse(json: &'a str) -> serde_json::Result<StoredSetView<'a>> {
        let stored: Vec<StoredEntry<'a>> = serde_json::from_str(json)?;
        let mut notes = ScopeSetBuilder::unbounded();
        let mut entries = Vec::with_capacity(stored.len());
        for entry in stored {
            if let Some(note) = entry.note {
                notes.note(&entry.service, note.into_owned());
            }
            if !entry.certification.is_empty() && !entry.service.is_empty() {
                entries.push((entry.certification, entry.service));
            }
        }
        // Written sorted and deduplicated: the sort finds one run.
        entries.sort_unstable();
        entries.dedup();
        Ok(StoredSetView {
            entries,
            notes: notes.notes,
        })
    }

    /// The (certification, service) pairs, sorted as [`ScopeSet::entries`].
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(c, s)| (c.as_ref(), s.as_ref()))
    }

    /// The page's note about `service`, as [`ScopeSet::note`] gives it.
    pub fn note(&self, service: &str) -> Option<&str> {
        self.notes.get(service).map(String::as_str)
    }
}

impl ScopeSet {
    /// A set of the given entries (sorted and deduplicated here).
    pub fn from_entries(entries: impl IntoIterator<Item = ScopeEntry>) -> Self {
        let mut builder = ScopeSetBuilder::unbounded();
        for e in entries {
            builder.insert(e);
        }
        builder.finish()
    }

    /// The entries, sorted by certification then service.
    pub fn entries(&self) -> &[ScopeEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, entry: &ScopeEntry) -> bool {
        self.entries.binary_search(entry).is_ok()
    }

    /// The names the page gave as former names of `service`.
    pub fn former_names(&self, service: &str) -> impl Iterator<Item = &str> {
        self.former
            .get(service)
            .into_iter()
            .flat_map(|s| s.iter().map(String::as_str))
    }

    /// The page's note about `service` ("see Appendix A …"), if it had one.
    pub fn note(&self, service: &str) -> Option<&str> {
        self.notes.get(service).map(String::as_str)
    }

    /// Lowercase hex SHA-256 of the canonical encoding: for each entry in
    /// sorted order, the UTF-8 certification, U+001F, the UTF-8 service,
    /// U+001E. Names never hold control characters (extraction drops them),
    /// so the encoding is unambiguous. The empty set hashes the empty input.
    /// Former names and notes are not included: a note appearing or
    /// disappearing does not change the scope.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        for e in &self.entries {
            hasher.update(e.certification.as_bytes());
            hasher.update([0x1f]);
            hasher.update(e.service.as_bytes());
            hasher.update([0x1e]);
        }
        hex::encode(hasher.finalize())
    }
}

/// (certification, service) pairs one page's scope may hold. The largest
/// real statement, the Azure audit-scope matrix (about 300 services, up to
/// 8 certification columns, 3 clouds), has under 10,000; ten times that
/// leaves room for any real page while bounding what a hostile one (a JSON
/// element listing thousands of services and thousands of certifications,
/// whose cross product is millions of pairs) makes scopewatch build.
pub const MAX_PAIRS: usize = 100_000;

/// Bytes of names one page's scope may hold: the certification and service
/// of every pair (repeats counted), with former names and notes. The Azure
/// matrix's pairs take about 600 KB; 16 MiB bounds what long names copied
/// into many pairs can cost.
pub const MAX_NAME_BYTES: usize = 16 << 20;

/// Distinct notes (and former names) kept for one service. A real page
/// gives a service one note, twice at most; a hostile one repeating a
/// service with a new note each time would otherwise grow one note without
/// bound and compare each new note with all the old ones.
pub const MAX_NOTES_PER_SERVICE: usize = 8;

/// Collects entries and former names; extractors share one. Entries are
/// sorted and deduplicated once, at the end: inserting each of a page's few
/// hundred pairs into a `BTreeSet`, string comparisons at every level, was
/// a tenth of scope extraction's instructions (callgrind).
///
/// A builder made with `default()` (as extractors make it) holds at most
/// [`MAX_PAIRS`] pairs and [`MAX_NAME_BYTES`] of names: past either, it
/// takes nothing more, and [`finish_checked`](Self::finish_checked) says
/// why, so a page over budget is a broken extraction with a clear reason.
#[derive(Debug)]
pub(crate) struct ScopeSetBuilder {
    entries: Vec<ScopeEntry>,
    former: BTreeMap<String, BTreeSet<String>>,
    notes: BTreeMap<String, String>,
    /// Whether the budget applies (sets read back or compared are already
    /// within it).
    bounded: bool,
    /// Name bytes taken so far.
    bytes: usize,
    /// Why something was refused, once the budget is spent.
    over: Option<String>,
}

impl Default for ScopeSetBuilder {
    fn default() -> Self {
        ScopeSetBuilder {
            entries: Vec::new(),
            former: BTreeMap::new(),
            notes: BTreeMap::new(),
            bounded: true,
            bytes: 0,
            over: None,
        }
    }
}

impl ScopeSetBuilder {
    /// A builder without a budget, for sets made from sets (already within
    /// it when they were extracted).
    pub(crate) fn unbounded() -> Self {
        ScopeSetBuilder {
            bounded: false,
            ..ScopeSetBuilder::default()
        }
    }

    /// Counts `bytes` of names against the budget; false (and the reason
    /// kept) when they do not fit.
    fn take(&mut self, bytes: usize, pair: bool) -> bool {
        if !self.bounded {
            return true;
        }
        if self.over.is_some() {
            return false;
        }
        if pair && self.entries.len() >= MAX_PAIRS {
            self.over = Some(format!(
                "the page states more than {MAX_PAIRS} (certification, service) pairs, more than \
                 any real scope statement; nothing was read from it"
            ));
            return false;
        }
        if self.bytes.saturating_add(bytes) > MAX_NAME_BYTES {
            self.over = Some(format!(
                "the page's scope names take more than {} MiB, more than any real scope \
                 statement; nothing was read from it",
                MAX_NAME_BYTES >> 20
            ));
            return false;
        }
        self.bytes += bytes;
        true
    }

    pub(crate) fn insert(&mut self, entry: ScopeEntry) {
        if entry.is_complete() && self.take(entry.certification.len() + entry.service.len(), true) {
            self.entries.push(entry);
        }
    }

    /// Inserts the pair, copying the names only when it fits the budget.
    pub(crate) fn add(&mut self, certification: &str, service: &str) {
        if !certification.is_empty()
            && !service.is_empty()
            && self.take(certification.len() + service.len(), true)
        {
            self.entries.push(ScopeEntry::new(certification, service));
        }
    }

    /// Whether the budget is spent: nothing more is taken.
    pub(crate) fn is_full(&self) -> bool {
        self.over.is_some()
    }

    pub(crate) fn former(&mut self, service: &str, old: String) {
        if old.is_empty() || old == service {
            return;
        }
        let known = self.former.get(service);
        if known.is_some_and(|names| names.len() >= MAX_NOTES_PER_SERVICE || names.contains(&old))
            || !self.take(old.len() + service.len(), false)
        {
            return;
        }
        self.former
            .entry(service.to_string())
            .or_default()
            .insert(old);
    }

    /// A note about `service`; a second, different note about it is
    /// appended after "; ", up to [`MAX_NOTES_PER_SERVICE`] notes.
    pub(crate) fn note(&mut self, service: &str, note: String) {
        if note.is_empty() {
            return;
        }
        let kept = self.notes.get(service);
        if kept.is_some_and(|kept| {
            kept.split("; ").any(|n| n == note) || kept.split("; ").count() >= MAX_NOTES_PER_SERVICE
        }) || !self.take(note.len() + service.len(), false)
        {
            return;
        }
        match self.notes.get_mut(service) {
            Some(kept) => {
                kept.push_str("; ");
                kept.push_str(&note);
            }
            None => {
                self.notes.insert(service.to_string(), note);
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn finish(mut self) -> ScopeSet {
        self.entries.sort_unstable();
        self.entries.dedup();
        ScopeSet::with_annotations(self.entries, self.former, self.notes)
    }

    /// The set, or why the page was over budget.
    pub(crate) fn finish_checked(self) -> Result<ScopeSet, String> {
        match self.over.clone() {
            Some(reason) => Err(reason),
            None => Ok(self.finish()),
        }
    }
}

impl ScopeSet {
    /// `entries` (sorted and deduplicated) with the former names and notes
    /// about services among them.
    fn with_annotations(
        entries: Vec<ScopeEntry>,
        mut former: BTreeMap<String, BTreeSet<String>>,
        mut notes: BTreeMap<String, String>,
    ) -> ScopeSet {
        if !former.is_empty() || !notes.is_empty() {
            let services: BTreeSet<&str> = entries.iter().map(|e| e.service.as_str()).collect();
            former.retain(|s, _| services.contains(s.as_str()));
            notes.retain(|s, _| services.contains(s.as_str()));
        }
        ScopeSet {
            entries,
            former,
            notes,
        }
    }
}

/// `[source.scope]` as written in the configuration file. Unknown keys
/// are reported by the configuration's key check (`config::keys`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawScopeSpec {
    /// "matrix" | "list" | "certifications" | "pattern" | "json" | "auto" (default).
    pub kind: Option<String>,
    /// list: the certification (else the page's `#` heading); pattern: the
    /// certification when the regex has no `certification` group; json:
    /// the certification of every element.
    pub certification: Option<String>,
    /// Regex: only lists and tables under headings matching it count.
    pub section: Option<String>,
    /// matrix/auto: which table: `n` or `table:nth-of-type(n)` (the n-th
    /// table of the document, 1-based), or any CSS selector (checked here,
    /// applied by the HTML extractor; all tables are read).
    pub table: Option<String>,
    /// matrix/auto: regex of an in-scope cell.
    pub mark: Option<String>,
    /// matrix/auto: regex of column headers that are not certifications.
    pub ignore_columns: Option<String>,
    /// matrix/auto: certification = "<heading> / <column>": `true` takes the
    /// nearest heading that tells the page's matrices apart, a level (1-6)
    /// the heading of that level (or the nearest above it).
    pub prefix_from_heading: Option<RawHeadingPrefix>,
    /// certifications: the service the page is about; pattern: the service
    /// when the regex has no `service` group; json: the service of every
    /// element.
    pub service: Option<String>,
    /// pattern: regex with named groups `service` and `certification`.
    pub regex: Option<String>,
    /// json: RFC 6901 pointer to the array (in the part that counts).
    pub json_pointer: Option<String>,
    /// json: the member of each element holding its service(s).
    pub service_field: Option<String>,
    /// json: the member of each element holding its certification(s).
    pub certification_field: Option<String>,
}

/// `prefix_from_heading` as written: `true`/`false`, or a heading level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RawHeadingPrefix {
    Flag(bool),
    Level(i64),
}

impl<'de> Deserialize<'de> for RawHeadingPrefix {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawHeadingPrefix;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a heading level from 1 to 6")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(RawHeadingPrefix::Flag(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(RawHeadingPrefix::Level(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(RawHeadingPrefix::Level(
                    i64::try_from(v).unwrap_or(i64::MAX),
                ))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Which heading, if any, prefixes a matrix's certifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadingPrefix {
    Off,
    /// The nearest heading that tells the page's matrices apart (see
    /// [`matrix`]).
    Distinguishing,
    /// The heading of this level in effect, else the nearest above it.
    Level(u8),
}

/// The extractor kind of a [`ScopeSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeKind {
    Matrix,
    List,
    Certifications,
    Pattern,
    Json,
    Auto,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Matrix => "matrix",
            Self::List => "list",
            Self::Certifications => "certifications",
            Self::Pattern => "pattern",
            Self::Json => "json",
            Self::Auto => "auto",
        }
    }
}

/// Which tables a matrix reads.
#[derive(Debug, Clone)]
pub enum TableChoice {
    /// Every table (under `section`, if set).
    All,
    /// The n-th table of the document, 1-based.
    Nth(usize),
    /// A CSS selector: the HTML extractor lists the tables it matches in
    /// [`Document::selected_tables`]. Documents that are not HTML have no
    /// such list, and then every table (under `section`) is read.
    Css(String),
}

impl TableChoice {
    /// Whether the reader picked the tables: by number, or by a selector
    /// the page's extractor applied. A picked table must be readable.
    pub(crate) fn picks(&self, doc: &Document) -> bool {
        match self {
            TableChoice::Nth(_) => true,
            TableChoice::Css(_) => doc.selected_tables.is_some(),
            TableChoice::All => false,
        }
    }

    /// Whether the `ordinal`-th table (1-based) of `doc` is read;
    /// `in_section`: it is under a heading matching `section`.
    pub(crate) fn chooses(&self, doc: &Document, ordinal: usize, in_section: bool) -> bool {
        match self {
            TableChoice::Nth(n) => *n == ordinal,
            TableChoice::All => in_section,
            TableChoice::Css(_) => doc
                .selected_tables
                .as_ref()
                .map_or(in_section, |selected| selected.contains(&ordinal)),
        }
    }
}

/// A row that is one cell across the whole table, as the HTML extractor
/// lays out a `colspan` (a category such as "Compute", or a list of
/// services): two or more cells, all the same text.
pub(crate) fn is_full_width(row: &crate::extract::TableRow) -> bool {
    matches!(row.cells.as_slice(), [first, rest @ ..] if !rest.is_empty() && rest.iter().all(|c| c == first))
}

/// The default mark of an in-scope cell: ✅ ✔ ✔️ ✓ ☑ `:heavy_check_mark:`
/// `:white_check_mark:` or "Yes", case-insensitive, alone in the cell
/// (footnote markers removed first).
pub const DEFAULT_MARK: &str =
    r"(?i)^(?:✅|✔\x{FE0F}?|✓|☑\x{FE0F}?|:heavy_check_mark:|:white_check_mark:|yes)$";

/// The default `section` of `list`: headings saying "in scope".
pub const DEFAULT_LIST_SECTION: &str = r"(?i)\bin[- ]scope\b";

/// A validated `[source.scope]`: regexes compiled once, here.
#[derive(Debug, Clone)]
pub struct ScopeSpec {
    pub(crate) kind: ScopeKind,
    pub(crate) certification: Option<String>,
    pub(crate) section: Option<Arc<Regex>>,
    pub(crate) table: TableChoice,
    pub(crate) mark: Arc<Regex>,
    pub(crate) ignore_columns: Option<Arc<Regex>>,
    pub(crate) prefix_from_heading: HeadingPrefix,
    pub(crate) service: Option<String>,
    pub(crate) regex: Option<Arc<Regex>>,
    /// `kind = "json"`'s keys.
    pub(crate) json: Option<Box<json::JsonKeys>>,
}

/// A `[source.scope]` key with a wrong value: says what is wrong and what
/// to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope.{key}: {message}")]
pub struct ScopeSpecError {
    pub key: &'static str,
    pub message: String,
}

fn spec_error(key: &'static str, message: impl Into<String>) -> ScopeSpecError {
    ScopeSpecError {
        key,
        message: message.into(),
    }
}

fn compile(key: &'static str, pattern: &str) -> Result<Arc<Regex>, ScopeSpecError> {
    Regex::new(pattern).map(Arc::new).map_err(|e| {
        spec_error(
            key,
            format!(
                "{pattern:?} is not a valid regular expression ({e}); write a Rust regex, e.g. \"(?i)^yes$\""
            ),
        )
    })
}

// The defaults are compiled once and shared through an `Arc`: compiling
// them per source cost ~0.5 ms and ~50 KB each, which dominated loading a
// configuration of 1,000 sources; and a clone of a `Regex` shares its
// program but not its match cache, so each source's clone grew a cache of
// its own when used.
// DEFAULT_MARK and DEFAULT_LIST_SECTION are constant patterns compiled by
// the tests: cannot fail.
#[allow(clippy::expect_used)]
static DEFAULT_MARK_REGEX: LazyLock<Arc<Regex>> =
    LazyLock::new(|| Arc::new(Regex::new(DEFAULT_MARK).expect("constant regex")));
#[allow(clippy::expect_used)]
static DEFAULT_LIST_SECTION_REGEX: LazyLock<Arc<Regex>> =
    LazyLock::new(|| Arc::new(Regex::new(DEFAULT_LIST_SECTION).expect("constant regex")));

fn default_mark() -> Arc<Regex> {
    Arc::clone(&DEFAULT_MARK_REGEX)
}

fn default_list_section() -> Arc<Regex> {
    Arc::clone(&DEFAULT_LIST_SECTION_REGEX)
}

fn non_empty(key: &'static str, value: Option<String>) -> Result<Option<String>, ScopeSpecError> {
    match value {
        Some(v) if names::strip_markup(&v).is_empty() => {
            Err(spec_error(key, "is empty; remove the key or write a name"))
        }
        Some(v) => Ok(Some(names::strip_markup(&v))),
        None => Ok(None),
    }
}

fn parse_table(value: &str) -> Result<TableChoice, ScopeSpecError> {
    let v = value.trim();
    let nth = v
        .strip_prefix("table:nth-of-type(")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(v);
    if let Ok(n) = nth.trim().parse::<usize>() {
        return if n == 0 {
            Err(spec_error(
                "table",
                "tables are counted from 1; write table = \"1\" for the first table",
            ))
        } else {
            Ok(TableChoice::Nth(n))
        };
    }
    scraper::Selector::parse(v).map_err(|e| {
        spec_error(
            "table",
            format!(
                "{v:?} is neither a table number nor a CSS selector ({e}); write e.g. \"2\" or \"table.audit-scope\""
            ),
        )
    })?;
    Ok(TableChoice::Css(v.to_string()))
}

impl ScopeSpec {
    /// Validates a raw spec: the kind is known, keys fit the kind, regexes
    /// compile, a pattern regex has the groups it needs.
    pub fn from_raw(raw: RawScopeSpec) -> Result<ScopeSpec, ScopeSpecError> {
        let kind = match raw.kind.as_deref().map(str::trim) {
            None | Some("auto") => ScopeKind::Auto,
            Some("matrix") => ScopeKind::Matrix,
            Some("list") => ScopeKind::List,
            Some("certifications") => ScopeKind::Certifications,
            Some("pattern") => ScopeKind::Pattern,
            Some("json") => ScopeKind::Json,
            Some(other) => {
                return Err(spec_error(
                    "kind",
                    format!(
                        "unknown kind {other:?}; write one of \"matrix\", \"list\", \"certifications\", \"pattern\", \"json\" or \"auto\""
                    ),
                ));
            }
        };
        let only = |key: &'static str, set: bool, kinds: &[ScopeKind]| {
            if set && !kinds.contains(&kind) {
                let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                Err(spec_error(
                    key,
                    format!(
                        "is not used by kind = {:?}; remove it, or use kind = {:?}",
                        kind.as_str(),
                        names.join("\" or \"")
                    ),
                ))
            } else {
                Ok(())
            }
        };
        use ScopeKind::*;
        let table_kinds = [Matrix, Auto];
        only("table", raw.table.is_some(), &table_kinds)?;
        only("mark", raw.mark.is_some(), &table_kinds)?;
        only("ignore_columns", raw.ignore_columns.is_some(), &table_kinds)?;
        only(
            "prefix_from_heading",
            raw.prefix_from_heading.is_some(),
            &table_kinds,
        )?;
        only("regex", raw.regex.is_some(), &[Pattern])?;
        only(
            "service",
            raw.service.is_some(),
            &[Certifications, Pattern, Json],
        )?;
        only(
            "certification",
            raw.certification.is_some(),
            &[List, Pattern, Json],
        )?;
        only("json_pointer", raw.json_pointer.is_some(), &[Json])?;
        only("service_field", raw.service_field.is_some(), &[Json])?;
        only(
            "certification_field",
            raw.certification_field.is_some(),
            &[Json],
        )?;
        only(
            "section",
            raw.section.is_some(),
            &[Matrix, List, Certifications, Auto],
        )?;

        let json = (kind == Json)
            .then(|| json_keys(&raw, raw.service.is_some(), raw.certification.is_some()))
            .transpose()?
            .map(Box::new);
        let certification = non_empty("certification", raw.certification)?;
        let service = non_empty("service", raw.service)?;
        let section = match raw.section.as_deref() {
            Some(s) => Some(compile("section", s)?),
            None if matches!(kind, List | Auto) => Some(default_list_section()),
            None => None,
        };
        let table = match raw.table.as_deref() {
            Some(t) => parse_table(t)?,
            None => TableChoice::All,
        };
        let mark = match raw.mark.as_deref() {
            Some(m) => compile("mark", m)?,
            None => default_mark(),
        };
        if mark.is_match("") {
            return Err(spec_error(
                "mark",
                "matches an empty cell, so every cell would be in scope; anchor it, e.g. \"(?i)^(yes|✅)$\"",
            ));
        }
        let ignore_columns = raw
            .ignore_columns
            .as_deref()
            .map(|r| compile("ignore_columns", r))
            .transpose()?;
        let regex = raw
            .regex
            .as_deref()
            .map(|r| compile("regex", r))
            .transpose()?;
        let prefix_from_heading = match raw.prefix_from_heading {
            None | Some(RawHeadingPrefix::Flag(false)) => HeadingPrefix::Off,
            Some(RawHeadingPrefix::Flag(true)) => HeadingPrefix::Distinguishing,
            Some(RawHeadingPrefix::Level(level)) => match u8::try_from(level) {
                Ok(level @ 1..=6) => HeadingPrefix::Level(level),
                _ => {
                    return Err(spec_error(
                        "prefix_from_heading",
                        format!(
                            "{level} is no heading level; write a level from 1 (a `#` heading) to 6, or true to take the nearest heading that tells the tables apart"
                        ),
                    ));
                }
            },
        };

        if kind == Certifications && service.is_none() {
            return Err(spec_error(
                "service",
                "kind = \"certifications\" needs the service the page is about, e.g. service = \"Azure Bot Service\"",
            ));
        }
        if kind == Pattern {
            let Some(re) = &regex else {
                return Err(spec_error(
                    "regex",
                    "kind = \"pattern\" needs a regex, e.g. regex = \"(?P<service>.+?) is compliant with (?P<certification>.+)\"",
                ));
            };
            let groups: Vec<&str> = re.capture_names().flatten().collect();
            if !groups.contains(&"service") && service.is_none() {
                return Err(spec_error(
                    "regex",
                    "has no (?P<service>...) group; add one, or set service = \"...\"",
                ));
            }
            if !groups.contains(&"certification") && certification.is_none() {
                return Err(spec_error(
                    "regex",
                    "has no (?P<certification>...) group; add one, or set certification = \"...\"",
                ));
            }
        }
        Ok(ScopeSpec {
            kind,
            certification,
            section,
            table,
            mark,
            ignore_columns,
            prefix_from_heading,
            service,
            regex,
            json,
        })
    }

    /// The spec of a source without `[source.scope]`: kind `auto` with the
    /// default mark and section.
    pub fn auto() -> ScopeSpec {
        ScopeSpec {
            kind: ScopeKind::Auto,
            certification: None,
            section: Some(default_list_section()),
            table: TableChoice::All,
            mark: default_mark(),
            ignore_columns: None,
            prefix_from_heading: HeadingPrefix::Off,
            service: None,
            regex: None,
            json: None,
        }
    }

    pub fn kind(&self) -> ScopeKind {
        self.kind
    }

    /// The CSS selector of `table`, for the HTML extractor, if one was set.
    pub fn table_css(&self) -> Option<&str> {
        match &self.table {
            TableChoice::Css(css) => Some(css),
            _ => None,
        }
    }

    /// Sources of kind `certifications` and `pattern` are claims a service
    /// makes about itself, not a vendor's statement of scope.
    pub fn is_claim(&self) -> bool {
        matches!(self.kind, ScopeKind::Certifications | ScopeKind::Pattern)
    }
}

/// `[scope]` as written in the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawScopeSettings {
    /// Services whose changes are severity "high".
    pub watch: Option<Vec<String>>,
    /// Old or variant name → the name to store (certifications and services).
    pub aliases: Option<BTreeMap<String, String>>,
}

/// Validated `[scope]` settings. Names are cleaned like page names; alias
/// chains (a → b, b → c) are resolved so every alias points at a final name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSettings {
    pub watch: Vec<String>,
    pub aliases: BTreeMap<String, String>,
}

impl ScopeSettings {
    pub fn from_raw(raw: RawScopeSettings) -> Result<ScopeSettings, ScopeSpecError> {
        let mut watch = Vec::new();
        for w in raw.watch.unwrap_or_default() {
            let w = names::strip_markup(&w);
            if w.is_empty() {
                return Err(spec_error(
                    "watch",
                    "holds an empty name; remove it or write a service name",
                ));
            }
            watch.push(w);
        }
        let mut aliases = BTreeMap::new();
        for (from, to) in raw.aliases.unwrap_or_default() {
            let (f, t) = (names::strip_markup(&from), names::strip_markup(&to));
            if f.is_empty() || t.is_empty() {
                return Err(spec_error(
                    "aliases",
                    format!(
                        "{from:?} = {to:?} has an empty side; write \"old name\" = \"new name\""
                    ),
                ));
            }
            if f != t {
                aliases.insert(f, t);
            }
        }
        let mut resolved = BTreeMap::new();
        for (from, to) in &aliases {
            let mut target = to;
            let mut steps = 0;
            while let Some(next) = aliases.get(target) {
                steps += 1;
                if steps > aliases.len() {
                    return Err(spec_error(
                        "aliases",
                        format!(
                            "{from:?} leads to a cycle; make every chain end in a name that is not itself an alias"
                        ),
                    ));
                }
                target = next;
            }
            resolved.insert(from.clone(), target.clone());
        }
        Ok(ScopeSettings {
            watch,
            aliases: resolved,
        })
    }
}

/// The result of extracting a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeOutcome {
    Extracted(ScopeSet),
    /// extraction yielded nothing where the spec expects something, or a
    /// matrix table whose columns are no longer recognised: never reported
    /// as a mass removal.
    Broken {
        reason: String,
    },
}

/// Extracts the scope statement of a document with a source's spec.
///
/// `matrix`, `list`, `certifications` and `pattern` are Broken when they
/// find nothing; `auto` returns an empty set for a page without scope
/// (most watched pages have none), so the caller should treat a previous
/// non-empty set followed by an empty one as broken, not as a mass removal.
pub fn extract_scope(doc: &Document, spec: &ScopeSpec, settings: &ScopeSettings) -> ScopeOutcome {
    let result = match spec.kind {
        ScopeKind::Matrix => matrix::extract(doc, spec, settings),
        ScopeKind::List => list::extract(doc, spec, settings),
        ScopeKind::Certifications => certifications::extract(doc, spec, settings),
        ScopeKind::Pattern => pattern::extract(doc, spec, settings),
        ScopeKind::Json => match (&doc.json, &spec.json) {
            (Some(value), Some(keys)) => json::extract(
                value,
                keys,
                spec.service.as_deref(),
                spec.certification.as_deref(),
                settings,
            ),
            _ => Err("kind = \"json\" reads JSON documents, and this page is not one".into()),
        },
        ScopeKind::Auto => match &doc.json {
            Some(value) => json::extract_auto(value, settings),
            None => auto::extract(doc, spec, settings),
        },
    };
    match result {
        Ok(set) => ScopeOutcome::Extracted(set),
        Err(reason) => ScopeOutcome::Broken { reason },
    }
}

/// Validates `kind = "json"`'s keys: a pointer RFC 6901 can read, and for
/// each side of a pair a member name or a fixed name, not both; the
/// elements themselves (strings) stand for at most one side.
fn json_keys(
    raw: &RawScopeSpec,
    fixed_service: bool,
    fixed_certification: bool,
) -> Result<json::JsonKeys, ScopeSpecError> {
    let pointer = raw.json_pointer.clone().unwrap_or_default();
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(spec_error(
            "json_pointer",
            format!(
                "a JSON pointer starts with '/' (RFC 6901), e.g. \"/services\"; got {pointer:?}"
            ),
        ));
    }
    let member = |key: &'static str, value: &Option<String>| match value.as_deref().map(str::trim) {
        Some("") => Err(spec_error(
            key,
            "is empty; write the name of a member, e.g. \"name\"",
        )),
        other => Ok(other.map(str::to_string)),
    };
    let service_field = member("service_field", &raw.service_field)?;
    let certification_field = member("certification_field", &raw.certification_field)?;
    if service_field.is_some() && fixed_service {
        return Err(spec_error(
            "service",
            "set service_field (a member of each element) or service (one name for all), not both",
        ));
    }
    if certification_field.is_some() && fixed_certification {
        return Err(spec_error(
            "certification",
            "set certification_field (a member of each element) or certification (one name for all), not both",
        ));
    }
    // Each side is a member, a fixed name, or (neither) the element itself.
    let element_is_service = service_field.is_none() && !fixed_service;
    let element_is_certification = certification_field.is_none() && !fixed_certification;
    let needs = "set service_field and certification_field (members of each element), or one of them with a fixed certification or service, or for an array of names the fixed other side, e.g. certification = \"PCI DSS\"";
    if element_is_service && !fixed_certification {
        return Err(spec_error("service_field", format!("is missing: {needs}")));
    }
    if element_is_certification && !fixed_service {
        return Err(spec_error(
            "certification_field",
            format!("is missing: {needs}"),
        ));
    }
    if fixed_service && fixed_certification {
        return Err(spec_error(
            "service_field",
            "with both service and certification fixed nothing is read from the document: replace one of them with service_field or certification_field",
        ));
    }
    Ok(json::JsonKeys {
        pointer,
        service_field,
        certification_field,
    })
}

/// One heading of a document: its place among the document's headings
/// (two headings with the same text are told apart by it), level and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Heading {
    pub(crate) id: usize,
    pub(crate) level: u8,
    pub(crate) text: String,
}

/// The headings in effect at a point of a document, outermost first.
#[derive(Debug, Default)]
pub(crate) struct HeadingTrail {
    stack: Vec<Heading>,
    seen: usize,
}

impl HeadingTrail {
    /// Updates the trail with a block; returns true if it was a heading.
    pub(crate) fn visit(&mut self, block: &Block) -> bool {
        if let Block::Heading { level, text } = block {
            while self.stack.last().is_some_and(|h| h.level >= *level) {
                self.stack.pop();
            }
            self.stack.push(Heading {
                id: self.seen,
                level: *level,
                text: text.clone(),
            });
            self.seen += 1;
            true
        } else {
            false
        }
    }

    /// Whether a heading in effect matches `section` (`None`: everywhere).
    pub(crate) fn within(&self, section: Option<&Regex>) -> bool {
        match section {
            None => true,
            Some(re) => self.stack.iter().any(|h| re.is_match(&h.text)),
        }
    }

    /// The headings in effect, outermost first.
    pub(crate) fn headings(&self) -> &[Heading] {
        &self.stack
    }

    /// The page title: the `#` heading in effect, else the outermost one.
    pub(crate) fn title(&self) -> Option<&str> {
        self.stack
            .iter()
            .find(|h| h.level == 1)
            .or_else(|| self.stack.first())
            .map(|h| h.text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_set_read_for_listing_has_what_decoding_it_whole_has() {
        // Out of order, a duplicate, an incomplete entry, escapes, and
        // notes on one service in several entries.
        let json = r#"[
            {"certification":"SOC 2","service":"Exchange Online (\"GCC\")"},
            {"certification":"HIPAA BAA","service":"Azure Bot Service","note":"bot\u00e9"},
            {"certification":"","service":"Intune","note":"orphan"},
            {"certification":"HIPAA BAA","service":"Azure Bot Service","formerly":["Bots"]},
            {"certification":"SOC 2","service":"Azure Bot Service","note":"second"},
            {"certification":"SOC 2","service":"Intune"}]"#;
        let whole: ScopeSet = serde_json::from_str(json).unwrap();
        let view = StoredSetView::parse(json).unwrap();
        let entries: Vec<(&str, &str)> = view.entries().collect();
        let expected: Vec<(&str, &str)> = whole
            .entries()
            .iter()
            .map(|e| (e.certification.as_str(), e.service.as_str()))
            .collect();
        assert_eq!(entries, expected);
        for (_, service) in entries {
            assert_eq!(view.note(service), whole.note(service), "{service}");
        }
        assert_eq!(view.note("Azure Bot Service"), Some("boté; second"));
    }

    fn raw(kind: &str) -> RawScopeSpec {
        RawScopeSpec {
            kind: Some(kind.into()),
            ..RawScopeSpec::default()
        }
    }

    #[test]
    fn constant_regexes_compile() {
        let spec = ScopeSpec::auto();
        for m in [
            "✅",
            "✔",
            "✔\u{fe0f}",
            "✓",
            ":heavy_check_mark:",
            "YES",
            "yes",
        ] {
            assert!(spec.mark.is_match(m), "{m}");
        }
        for m in ["", "No", "Planned", "yesterday"] {
            assert!(!spec.mark.is_match(m), "{m}");
        }
        assert!(default_list_section().is_match("Microsoft in-scope cloud services"));
        assert!(default_list_section().is_match("Services in scope"));
        assert!(!default_list_section().is_match("Scope of this page"));
    }

    #[test]
    fn spec_errors_name_the_key() {
        let err = ScopeSpec::from_raw(raw("grid")).unwrap_err();
        assert_eq!(err.key, "kind");
        let err = ScopeSpec::from_raw(raw("certifications")).unwrap_err();
        assert_eq!(err.key, "service");
        let err = ScopeSpec::from_raw(RawScopeSpec {
            regex: Some("(?P<service>.+) is compliant".into()),
            ..raw("pattern")
        })
        .unwrap_err();
        assert_eq!(err.key, "regex");
        assert!(err.message.contains("certification"));
        let err = ScopeSpec::from_raw(RawScopeSpec {
            mark: Some("(".into()),
            ..raw("matrix")
        })
        .unwrap_err();
        assert_eq!(err.key, "mark");
        let err = ScopeSpec::from_raw(RawScopeSpec {
            mark: Some(".*".into()),
            ..raw("matrix")
        })
        .unwrap_err();
        assert_eq!(err.key, "mark");
        let err = ScopeSpec::from_raw(RawScopeSpec {
            service: Some("X".into()),
            ..raw("matrix")
        })
        .unwrap_err();
        assert_eq!(err.key, "service");
        assert!(err.to_string().starts_with("scope.service: "));
        let err = ScopeSpec::from_raw(RawScopeSpec {
            table: Some("0".into()),
            ..raw("matrix")
        })
        .unwrap_err();
        assert_eq!(err.key, "table");
        let err = ScopeSpec::from_raw(RawScopeSpec {
            table: Some("table[[".into()),
            ..raw("matrix")
        })
        .unwrap_err();
        assert_eq!(err.key, "table");
    }

    #[test]
    fn spec_accepts_table_forms_and_defaults_to_auto() {
        let spec = ScopeSpec::from_raw(RawScopeSpec::default()).unwrap();
        assert_eq!(spec.kind(), ScopeKind::Auto);
        assert!(!spec.is_claim());
        let spec = ScopeSpec::from_raw(RawScopeSpec {
            table: Some("table:nth-of-type(2)".into()),
            ..raw("matrix")
        })
        .unwrap();
        assert!(matches!(spec.table, TableChoice::Nth(2)));
        let spec = ScopeSpec::from_raw(RawScopeSpec {
            table: Some("main table.scope".into()),
            ..raw("matrix")
        })
        .unwrap();
        assert_eq!(spec.table_css(), Some("main table.scope"));
        let spec = ScopeSpec::from_raw(RawScopeSpec {
            service: Some("Azure Bot Service".into()),
            ..raw("certifications")
        })
        .unwrap();
        assert!(spec.is_claim());
    }

    #[test]
    fn json_keys_are_checked_together() {
        let ok = ScopeSpec::from_raw(RawScopeSpec {
            json_pointer: Some("/services".into()),
            service_field: Some("name".into()),
            certification_field: Some("certifications".into()),
            ..raw("json")
        })
        .unwrap();
        assert_eq!(ok.kind(), ScopeKind::Json);
        assert!(!ok.is_claim());
        let key = |raw: RawScopeSpec| ScopeSpec::from_raw(raw).unwrap_err().key;
        assert_eq!(key(raw("json")), "service_field");
        assert_eq!(
            key(RawScopeSpec {
                json_pointer: Some("services".into()),
                certification: Some("SOC 2".into()),
                ..raw("json")
            }),
            "json_pointer"
        );
        assert_eq!(
            key(RawScopeSpec {
                service_field: Some("name".into()),
                service: Some("X".into()),
                certification: Some("SOC 2".into()),
                ..raw("json")
            }),
            "service"
        );
        assert_eq!(
            key(RawScopeSpec {
                service_field: Some("name".into()),
                ..raw("list")
            }),
            "service_field"
        );
        // An array of service names under one certification.
        assert!(
            ScopeSpec::from_raw(RawScopeSpec {
                certification: Some("PCI DSS".into()),
                ..raw("json")
            })
            .is_ok()
        );
    }

    #[test]
    fn settings_resolve_alias_chains_and_reject_cycles() {
        let s = ScopeSettings::from_raw(RawScopeSettings {
            watch: Some(vec![" Azure Bot Service ".into()]),
            aliases: Some(BTreeMap::from([
                ("A".to_string(), "B".to_string()),
                ("B".to_string(), "C".to_string()),
            ])),
        })
        .unwrap();
        assert_eq!(s.watch, vec!["Azure Bot Service"]);
        assert_eq!(s.aliases["A"], "C");
        assert_eq!(s.aliases["B"], "C");
        let err = ScopeSettings::from_raw(RawScopeSettings {
            watch: None,
            aliases: Some(BTreeMap::from([
                ("A".to_string(), "B".to_string()),
                ("B".to_string(), "A".to_string()),
            ])),
        })
        .unwrap_err();
        assert_eq!(err.key, "aliases");
    }

    #[test]
    fn set_sorts_dedups_hashes_and_round_trips() {
        let a = ScopeSet::from_entries([
            ScopeEntry::new("SOC 2", "Intune"),
            ScopeEntry::new("ISO 27001", "Intune"),
            ScopeEntry::new("SOC 2", "Intune"),
        ]);
        assert_eq!(a.len(), 2);
        assert_eq!(a.entries()[0].certification, "ISO 27001");
        assert_eq!(
            ScopeSet::default().hash(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let b = ScopeSet::from_entries(a.entries().iter().rev().cloned());
        assert_eq!(a.hash(), b.hash());
        assert_ne!(
            ScopeSet::from_entries([ScopeEntry::new("ab", "c")]).hash(),
            ScopeSet::from_entries([ScopeEntry::new("a", "bc")]).hash()
        );

        let mut builder = ScopeSetBuilder::default();
        builder.insert(ScopeEntry::new("ISO", "Azure AI Search"));
        builder.former("Azure AI Search", "Azure Search".into());
        let set = builder.finish();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(
            json,
            r#"[{"certification":"ISO","service":"Azure AI Search","formerly":["Azure Search"]}]"#
        );
        let back: ScopeSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        assert_eq!(
            back.hash(),
            ScopeSet::from_entries(set.entries().to_vec()).hash()
        );
        let plain: ScopeSet =
            serde_json::from_str(r#"[{"certification":"ISO","service":"X"}]"#).unwrap();
        assert_eq!(plain.len(), 1);
    }

    #[test]
    fn a_builder_over_budget_says_why_and_takes_no_more() {
        let mut builder = ScopeSetBuilder::default();
        for i in 0..=MAX_PAIRS {
            builder.add("SOC 2", &format!("Service {i}"));
        }
        assert!(builder.is_full());
        let reason = builder.finish_checked().unwrap_err();
        assert!(reason.contains("more than 100000"), "{reason}");
        // Long names copied into many pairs: over the name budget.
        let mut builder = ScopeSetBuilder::default();
        let long = "x".repeat(1 << 20);
        for i in 0..17 {
            builder.add(&format!("Certification {i}"), &long);
        }
        assert!(builder.finish_checked().unwrap_err().contains("16 MiB"));
        // Sets made from sets have no budget.
        let mut builder = ScopeSetBuilder::unbounded();
        for i in 0..=MAX_PAIRS {
            builder.add("SOC 2", &format!("Service {i}"));
        }
        assert_eq!(builder.finish_checked().unwrap().len(), MAX_PAIRS + 1);
    }

    #[test]
    fn a_service_keeps_a_few_notes_and_former_names() {
        let mut builder = ScopeSetBuilder::default();
        builder.add("SOC 2", "Azure Files");
        for i in 0..100 {
            builder.note("Azure Files", format!("see appendix {i}"));
            builder.note("Azure Files", format!("see appendix {i}"));
            builder.former("Azure Files", format!("Old name {i}"));
        }
        let set = builder.finish_checked().unwrap();
        let note = set.note("Azure Files").unwrap();
        assert_eq!(note.split("; ").count(), MAX_NOTES_PER_SERVICE);
        assert!(
            note.starts_with("see appendix 0; see appendix 1;"),
            "{note}"
        );
        assert_eq!(
            set.former_names("Azure Files").count(),
            MAX_NOTES_PER_SERVICE
        );
    }

    #[test]
    fn a_stored_set_out_of_order_reads_back_sorted_and_distinct() {
        let stored = r#"[{"certification":"SOC 2","service":"B","formerly":["Old B"]},
            {"certification":"ISO","service":"C"},{"certification":"SOC 2","service":"B"},
            {"certification":"","service":"D"},
            {"certification":"ISO","service":"E","formerly":["Old E"]}]"#;
        let read: ScopeSet = serde_json::from_str(stored).unwrap();
        let built = {
            let mut builder = ScopeSetBuilder::default();
            builder.insert(ScopeEntry::new("SOC 2", "B"));
            builder.insert(ScopeEntry::new("ISO", "C"));
            builder.insert(ScopeEntry::new("ISO", "E"));
            builder.former("B", "Old B".into());
            builder.former("E", "Old E".into());
            builder.finish()
        };
        assert_eq!(read, built);
        let names: Vec<String> = read.entries().iter().map(ToString::to_string).collect();
        assert_eq!(names, ["ISO / C", "ISO / E", "SOC 2 / B"]);
        // Notes about services not in the set are dropped.
        let noted: ScopeSet = serde_json::from_str(
            r#"[{"certification":"","service":"F","formerly":["Old F"]},{"certification":"ISO","service":"C"}]"#,
        )
        .unwrap();
        assert_eq!(noted.former_names("F").count(), 0);
    }
}
