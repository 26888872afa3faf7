//! Benchmark (not a test): the CPU a first pass cannot avoid, measured on
//! the pages `bench/run.sh` serves. For every page of a directory, on one
//! thread: scraper's parse into a DOM alone, then the extraction a sweep
//! runs (parse, normalised text, scope) in this process, then the same in
//! an extraction process as the sweep runs it (the difference is the cost
//! of the isolation), with the rules of the bench's own configuration (its
//! first source's). Run:
//! `bench/run.sh --workdir DIR`, then
//! `cargo build --release && cargo run --release --example parse_floor DIR/www/p DIR/scopewatch.toml [ROUNDS]`
//! (the extraction process is the `scopewatch` binary beside `examples/`).

use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(pages_dir), Some(config_path)) = (args.next(), args.next()) else {
        return Err("usage: parse_floor PAGES_DIR CONFIG [ROUNDS]".into());
    };
    let rounds: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(5);
    if rounds == 0 {
        return Err("ROUNDS must be at least 1".into());
    }
    let config = scopewatch::config::load(Path::new(&config_path))?;
    let source = config
        .sources
        .first()
        .ok_or("the configuration has no source")?;
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(&pages_dir)? {
        let path = entry?.path();
        if path.is_file() {
            pages.push(std::fs::read(path)?);
        }
    }
    if pages.is_empty() {
        return Err(format!("no pages in {pages_dir}").into());
    }
    let bytes: usize = pages.iter().map(Vec::len).sum();
    let worker = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("scopewatch"))
        .ok_or("cannot find the scopewatch binary")?;
    let extractor = scopewatch::isolation::Extractor::new(worker, config.limits.clone());

    let mut parse = Vec::new();
    let mut extract = Vec::new();
    let mut isolated = Vec::new();
    for _ in 0..rounds {
        parse.push(time(|| {
            for page in &pages {
                let text = String::from_utf8_lossy(page);
                std::hint::black_box(scraper::Html::parse_document(&text));
            }
        }));
        extract.push(time(|| {
            for page in &pages {
                let extracted = scopewatch::extract::extract(
                    page,
                    Some("text/html"),
                    source.url.as_str(),
                    &source.rules,
                    &config.limits.limits,
                )
                .expect("a bench page extracts");
                std::hint::black_box(scopewatch::scope::extract_scope(
                    &extracted.document,
                    &source.scope,
                    &config.scope,
                ));
            }
        }));
        isolated.push(time(|| {
            for page in &pages {
                std::hint::black_box(
                    scopewatch::sweep::extract_page(
                        &extractor,
                        page,
                        Some("text/html"),
                        source.url.as_str(),
                        source,
                        &config.scope,
                    )
                    .expect("a bench page extracts"),
                );
            }
        }));
    }
    println!(
        "{} pages, {} KB on average, median of {rounds} rounds, one thread:",
        pages.len(),
        bytes / pages.len() / 1024
    );
    for (stage, times) in [
        ("scraper parse only", parse),
        ("extraction (parse, text, scope)", extract),
        ("the same in an extraction process", isolated),
    ] {
        let total = median(times);
        println!(
            "  {stage:<32} {:>8.1} ms for all, {:>6.0} us a page",
            total.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e6 / pages.len() as f64
        );
    }
    Ok(())
}

fn time(run: impl FnOnce()) -> Duration {
    let started = Instant::now();
    run();
    started.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
