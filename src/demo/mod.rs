//! `scopewatch demo`: the first five minutes, offline. A loopback server
//! inside the process publishes bundled real versions of the Azure Bot
//! Service compliance page and Microsoft compliance offering pages in date
//! order, with page chrome that changes on every request; the real
//! pipeline (fetch, extract, scope, store, detect) sweeps them into a new
//! database, and the scope changes it detects are printed as they happen.
//!
//! Each date is swept under the replayed clock ([`clock::replay`]) set to
//! that date (midnight UTC), so the records and events carry the dates the
//! versions were published and `scope --at` answers for them; the store
//! marks those records replayed. Each date is one sweep as `check` makes
//! it (see [`App::sweep`]), but for the checkpoint: a replayed date is not
//! a time to sign. The configuration is written next to the database, so
//! `verify` and `scope --check-claims` work on it afterwards.

mod server;
pub mod site;

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::app::{App, SweepRequest};
use crate::clock;
use crate::config;
use crate::detect::EventKind;
use crate::store::{EventRow, Store};
use crate::wording::counted;

/// Bundled corpus: (source, [(file name `YYYY-MM-DD_id.md`, Markdown)]),
/// each source's versions in date order (see build.rs).
static CORPUS: &[(&str, &[(&str, &str)])] = include!(concat!(env!("OUT_DIR"), "/demo_corpus.rs"));

/// How each bundled source is configured: id, `[source.scope]`.
fn source_config(corpus_name: &str) -> (&'static str, &'static str) {
    match corpus_name {
        "azure-bot-service-compliance" => (
            "bot-service-compliance",
            "kind = \"certifications\"\nservice = \"Azure Bot Service\"",
        ),
        "ms-compliance-offering-hipaa-hitech" => (
            "offering-hipaa-hitech",
            "kind = \"list\"\ncertification = \"HIPAA/HITECH\"",
        ),
        "ms-compliance-offering-iso-27001" => (
            "offering-iso-27001",
            "kind = \"list\"\ncertification = \"ISO/IEC 27001\"",
        ),
        "ms-compliance-offering-pci-dss" => (
            "offering-pci-dss",
            "kind = \"list\"\ncertification = \"PCI DSS\"",
        ),
        "ms-compliance-offering-soc-2" => (
            "offering-soc-2",
            "kind = \"list\"\ncertification = \"SOC 2\"",
        ),
        "ms-compliance-offering-fedramp" => (
            "offering-fedramp",
            "kind = \"list\"\ncertification = \"FedRAMP\"",
        ),
        _ => ("unknown", "kind = \"auto\""),
    }
}

fn date_of(file: &str) -> &str {
    file.split('_').next().unwrap_or(file)
}

/// What the demo did.
pub struct DemoSummary {
    pub database: PathBuf,
    /// The demo's configuration, written next to the database.
    pub config: PathBuf,
    pub fetches: usize,
    pub content_events: usize,
    pub scope_events: usize,
}

/// Runs the demo into a new database under `dir`, printing to `out`.
pub async fn run(dir: &Path, out: &mut (dyn Write + Send)) -> anyhow::Result<DemoSummary> {
    let pages: server::Pages = Arc::new(Mutex::new(HashMap::new()));
    let addr = server::start(pages.clone()).await?;

    let mut text = String::from(
        "# Written by `scopewatch demo`. The pages were served by a loopback server\n\
         # that stopped when the demo ended: `check` with this file fails every source.\n\
         [storage]\ndatabase = \"scopewatch.db\"\n\
         [daemon]\nconcurrency = 8\n\
         [http]\ntimeout = \"10s\"\nretries = 0\nhost_delay = \"0s\"\nper_host = 8\n\
         [scope]\nwatch = [\"Azure Bot Service\", \"Windows 365\"]\n\
         aliases = { \"Microsoft Defender ATP\" = \"Microsoft Defender for Endpoint\", \
         \"Microsoft Defender Advanced Threat Protection\" = \"Microsoft Defender for Endpoint\", \
         \"Microsoft Cloud App Security\" = \"Microsoft Defender for Cloud Apps\" }\n",
    );
    for (name, _) in CORPUS {
        let (id, scope) = source_config(name);
        text.push_str(&format!(
            "[[source]]\nid = \"{id}\"\nurl = \"http://{addr}/{name}\"\ncontent = [\"main\"]\n\
             ignore = [\".feedback\", \"time\"]\n[source.scope]\n{scope}\n"
        ));
    }
    let config_path = dir.join("scopewatch.toml");
    let config = config::parse(&text, &config_path)
        .map_err(|e| anyhow::anyhow!("the demo configuration is invalid: {e}"))?;
    std::fs::write(&config_path, &text)?;
    let database = dir.join("scopewatch.db");
    let app = App::open(config, Store::open(&database)?)?;

    let dates: BTreeSet<&str> = CORPUS
        .iter()
        .flat_map(|(_, versions)| versions.iter().map(|(file, _)| date_of(file)))
        .collect();
    let versions: usize = CORPUS.iter().map(|(_, v)| v.len()).sum();
    writeln!(
        out,
        "scopewatch demo: {versions} real versions of {} Microsoft compliance pages, {} to {},\n\
         published in date order by a server on http://{addr} with page chrome that changes on\n\
         every request. Each date is one sweep of every page published by then.\n",
        CORPUS.len(),
        dates.first().unwrap_or(&""),
        dates.last().unwrap_or(&""),
    )?;

    let mut summary = DemoSummary {
        database: database.clone(),
        config: config_path,
        fetches: 0,
        content_events: 0,
        scope_events: 0,
    };
    let replayed = run_dates(&dates, &pages, &app, out, &mut summary).await;
    clock::stop_replay();
    replayed?;
    app.close()?;
    writeln!(
        out,
        "\n{} fetches: {}, {}; every other fetch differed only in page chrome.",
        summary.fetches,
        counted(summary.content_events, "content change", "content changes"),
        counted(summary.scope_events, "scope change", "scope changes"),
    )?;
    Ok(summary)
}

/// Sweeps the pages published by each date, under the replayed clock.
async fn run_dates(
    dates: &BTreeSet<&str>,
    pages: &server::Pages,
    app: &App,
    out: &mut (dyn Write + Send),
    summary: &mut DemoSummary,
) -> anyhow::Result<()> {
    for date in dates {
        let midnight = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")?
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| anyhow::anyhow!("no midnight on {date}"))?;
        clock::replay(midnight);
        let mut published = Vec::new();
        {
            let mut pages = pages.lock().unwrap_or_else(|e| e.into_inner());
            for (name, versions) in CORPUS {
                if let Some((_, markdown)) = versions
                    .iter()
                    .rev()
                    .find(|(file, _)| date_of(file) <= *date)
                {
                    pages.insert(format!("/{name}"), markdown);
                    published.push(source_config(name).0);
                }
            }
        }
        let sources: Vec<_> = app
            .config()
            .sources
            .iter()
            .filter(|s| published.contains(&s.id.as_str()))
            .cloned()
            .collect();
        let report = app
            .sweep(SweepRequest {
                checkpoint: false,
                ..SweepRequest::quiet(&sources)
            })
            .await;
        summary.fetches += report.outcomes.len();
        let mut outcomes = report.outcomes;
        outcomes.sort_by(|a, b| a.source.cmp(&b.source));
        for outcome in &outcomes {
            if let Some(error) = &outcome.error {
                let headline = crate::fetch::headline(&outcome.url, error);
                writeln!(
                    out,
                    "{date}  {:<24} fetch failed: {headline}",
                    outcome.source
                )?;
            }
            let scope_changed = outcome.events.iter().any(|e| e.kind == EventKind::Scope);
            for event in &outcome.events {
                match event.kind.as_str() {
                    "content" => summary.content_events += 1,
                    "scope" => summary.scope_events += 1,
                    _ => {}
                }
                // A scope change's lines say what changed in the text too.
                if event.kind == EventKind::Content && scope_changed {
                    continue;
                }
                print_event(out, date, event)?;
            }
        }
    }
    Ok(())
}

fn print_event(out: &mut (dyn Write + Send), date: &str, event: &EventRow) -> std::io::Result<()> {
    match event.kind.as_str() {
        "baseline" => writeln!(out, "{date}  {:<24} first snapshot", event.source),
        "content" => {
            writeln!(
                out,
                "{date}  {:<24} text changed, scope did not ({})",
                event.source, event.summary
            )
        }
        "scope" => {
            writeln!(
                out,
                "{date}  {:<24} SCOPE CHANGE [{}]",
                event.source,
                event.severity.as_deref().unwrap_or("-")
            )?;
            for (field, mark) in [("added", "+"), ("removed", "-")] {
                for entry in event
                    .details
                    .get(field)
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    writeln!(
                        out,
                        "              {mark} {} / {}",
                        entry["certification"].as_str().unwrap_or(""),
                        entry["service"].as_str().unwrap_or("")
                    )?;
                }
            }
            for rename in event
                .details
                .get("renamed")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let name = |side: &str| rename[side]["certification"].as_str().unwrap_or("");
                match rename["from"]["service"].as_str() {
                    Some(service) => writeln!(
                        out,
                        "              ~ {} / {service} -> {}",
                        name("from"),
                        rename["to"]["service"].as_str().unwrap_or("")
                    )?,
                    None => writeln!(out, "              ~ {} -> {}", name("from"), name("to"))?,
                }
            }
            Ok(())
        }
        _ => writeln!(
            out,
            "{date}  {:<24} {}: {}",
            event.source, event.kind, event.summary
        ),
    }
}
