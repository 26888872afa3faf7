//! Benchmark tool (not a test): writes years of a daemon's history into a
//! database through the real write path, as `check` runs it (`App::sweep`
//! and `App::deliver`): for every 6-hourly sweep, the configuration leaf,
//! one sweep of every source over HTTP, `stale` events, the signed
//! checkpoint, and the alert deliveries, under the
//! replayed clock (`clock::replay`) set to the sweep's time. The pages are
//! the files an nginx started by `bench/bench.py` serves; before each sweep
//! this program edits some of them, so a sweep sees the mix a year of real
//! pages gives:
//!
//! - about 90 % unchanged (nginx answers 304 to the stored validators);
//! - 8 % noise: the bytes change outside the text (a comment), so the page
//!   is fetched and extracted and its text is unchanged;
//! - 2 % content changes ("revision N" in the text), a fifth of which also
//!   change the scope (the first in-scope service comes or goes);
//! - a few failures: a page starts failing (its file is removed, nginx
//!   answers 404) with probability 0.1 % a sweep, for 1 to 12 sweeps, then
//!   recovers; followed pages follow their parent's configuration.
//!
//! After the last sweep every page is put back as it was found (same
//! bytes and modification time, so nginx's ETag and Last-Modified are the
//! ones stored), and swept once more: the database ends in the state a
//! pass over the unedited pages expects. Run (bench/run.sh does it):
//! `cargo run --release --example history -- CONFIG WWW_DIR DB START YEARS [SEED]`
//! with START an RFC 3339 time or a date; an existing DB is continued.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use scopewatch::app::{App, SweepRequest};
use scopewatch::clock;
use scopewatch::store::Store;

/// A daemon's default schedule: every 6 hours.
const SWEEP_EVERY_HOURS: i64 = 6;
const SWEEPS_A_YEAR: i64 = 365 * 24 / SWEEP_EVERY_HOURS;

/// One page's file and the edits it carries now.
struct Page {
    path: PathBuf,
    /// The bytes and modification time found, restored at the end.
    original: Vec<u8>,
    mtime: SystemTime,
    /// Content revision (0: as found); odd revisions also drop a service.
    revision: u64,
    /// Noise edits so far (an HTML comment, outside the text).
    noise: u64,
    /// Sweeps left before a failing page recovers.
    failing_for: u32,
}

impl Page {
    fn render(&self) -> Vec<u8> {
        let mut html = String::from_utf8_lossy(&self.original).into_owned();
        if self.revision > 0 {
            html = html.replacen("revision 0.", &format!("revision {}.", self.revision), 1);
            if self.revision % 2 == 1
                && let Some(start) = html.find("In-scope services</h2>\n<ul>\n")
            {
                let first = start + "In-scope services</h2>\n<ul>\n".len();
                if let Some(end) = html[first..].find('\n') {
                    html.replace_range(first..=first + end, "");
                }
            }
        }
        if self.noise > 0 {
            html.push_str(&format!("<!-- edition {} -->\n", self.noise));
        }
        html.into_bytes()
    }

    /// Writes the page as it is now, with a modification time of its own
    /// (nginx's ETag is the time and the size).
    fn write(&self, stamp: SystemTime) -> std::io::Result<()> {
        std::fs::write(&self.path, self.render())?;
        std::fs::File::options()
            .write(true)
            .open(&self.path)?
            .set_modified(stamp)
    }

    fn restore(&self) -> std::io::Result<()> {
        std::fs::write(&self.path, &self.original)?;
        std::fs::File::options()
            .write(true)
            .open(&self.path)?
            .set_modified(self.mtime)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config_path, www, db, start, years, rest @ ..] = args.as_slice() else {
        return Err("usage: history CONFIG WWW_DIR DB START YEARS [SEED]".into());
    };
    let seed: u64 = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let start = clock::parse_time(start, clock::wall_now())?;
    let years: f64 = years.parse()?;
    let sweeps = (years * SWEEPS_A_YEAR as f64).round() as i64;
    let config = scopewatch::config::load(Path::new(config_path))?;

    let mut pages = Vec::new();
    for source in &config.sources {
        let path = Path::new(www).join(source.url.path().trim_start_matches('/'));
        let original = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !String::from_utf8_lossy(&original).contains("revision 0.") {
            return Err(format!(
                "{} is not a bench page at revision 0 (bench/bench.py writes them)",
                path.display()
            )
            .into());
        }
        let mtime = std::fs::metadata(&path)?.modified()?;
        pages.push(Page {
            path,
            original,
            mtime,
            revision: 0,
            noise: 0,
            failing_for: 0,
        });
    }

    let runtime = scopewatch::app::runtime()?;
    // The extraction processes are the `scopewatch` binary beside `examples/`.
    let worker = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("scopewatch"))
        .ok_or("cannot find the scopewatch binary")?;
    let app = App::open_with_extractor(config, Store::open(Path::new(db))?, worker)?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut tally: HashMap<&str, usize> = HashMap::new();
    let began = Instant::now();
    // Distinct modification times, after every original's.
    let base_stamp = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    eprintln!(
        "{sweeps} sweeps of {} sources from {} (seed {seed})",
        pages.len(),
        clock::format(start)
    );
    for sweep in 0..=sweeps {
        let stamp = base_stamp + Duration::from_secs(sweep as u64);
        if sweep == sweeps {
            // The end: every page as found, then one more sweep.
            for page in &mut pages {
                page.restore()?;
                (page.revision, page.noise, page.failing_for) = (0, 0, 0);
            }
        } else {
            for page in &mut pages {
                edit(page, &mut rng, stamp)?;
            }
        }
        let at = start + chrono::Duration::hours(SWEEP_EVERY_HOURS * sweep);
        let outcomes = sweep_at(&runtime, &app, at);
        for result in outcomes {
            *tally.entry(result).or_default() += 1;
        }
        if sweep % 100 == 0 || sweep == sweeps {
            eprintln!(
                "sweep {sweep}/{sweeps} ({}) after {:.0?}: {tally:?}",
                clock::format(at),
                began.elapsed()
            );
        }
    }
    clock::stop_replay();
    drop(runtime);
    app.close()?;
    println!(
        "{} sweeps in {:.1} s: {tally:?}",
        sweeps + 1,
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Decides what happens to `page` before the next sweep, and writes it.
fn edit(page: &mut Page, rng: &mut fastrand::Rng, stamp: SystemTime) -> std::io::Result<()> {
    if page.failing_for > 0 {
        page.failing_for -= 1;
        if page.failing_for == 0 {
            page.write(stamp)?;
        }
        return Ok(());
    }
    let draw = rng.f64();
    if draw < 0.001 {
        page.failing_for = rng.u32(1..=12);
        return std::fs::remove_file(&page.path);
    }
    if draw < 0.90 {
        return Ok(());
    }
    if draw < 0.98 {
        page.noise += 1;
    } else if rng.u32(0..5) == 0 {
        // A scope change: the revision's parity decides the first service.
        page.revision += 1;
    } else {
        page.revision += 2;
    }
    page.write(stamp)
}

/// One sweep at `at` as `check` runs it; returns each attempt's result.
fn sweep_at(runtime: &tokio::runtime::Runtime, app: &App, at: DateTime<Utc>) -> Vec<&'static str> {
    clock::replay(at);
    let report = runtime.block_on(async {
        let report = app.sweep(SweepRequest::quiet(&app.config().sources)).await;
        app.deliver().await;
        report
    });
    report
        .outcomes
        .iter()
        .map(|o| match (o.result.as_str(), o.change) {
            ("ok", Some(change)) => change.as_str(),
            ("not-modified", _) => "not-modified",
            ("failed", _) => "failed",
            _ => "not-recorded",
        })
        .collect()
}
