//! Benchmark (not a test): the CPU a first pass cannot avoid, measured on
//! the pages `bench/run.sh` serves. For every page of a directory:
//! scraper's parse into a DOM alone, then the extraction a sweep runs
//! (parse, normalised text, scope) with the rules of the bench's own
//! configuration (its first source's) in this process, then the same in
//! the extraction processes as the sweep runs it (the difference is the
//! cost of the isolation); on one thread, and spread over every core (the
//! pages split evenly, one thread a core). The first pass's floor in
//! `bench/bench.py` is curl's fetch plus the parse spread over the cores.
//! Run:
//! `bench/run.sh --workdir DIR`, then
//! `cargo build --release && cargo run --release --example parse_floor DIR/www/p DIR/scopewatch.toml [ROUNDS [PAGES]]`
//! (the extraction process is the `scopewatch` binary beside `examples/`).
//! The last line is JSON, for `bench/bench.py`.

use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(pages_dir), Some(config_path)) = (args.next(), args.next()) else {
        return Err("usage: parse_floor PAGES_DIR CONFIG [ROUNDS [PAGES]]".into());
    };
    let rounds: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(5);
    let limit: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(usize::MAX);
    if rounds == 0 {
        return Err("ROUNDS must be at least 1".into());
    }
    let config = scopewatch::config::load(Path::new(&config_path))?;
    let source = config
        .sources
        .first()
        .ok_or("the configuration has no source")?;
    let mut paths: Vec<_> = std::fs::read_dir(&pages_dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.is_file());
    paths.sort();
    paths.truncate(limit);
    let pages: Vec<Vec<u8>> = paths.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    if pages.is_empty() {
        return Err(format!("no pages in {pages_dir}").into());
    }
    let bytes: usize = pages.iter().map(Vec::len).sum();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let worker = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("scopewatch"))
        .ok_or("cannot find the scopewatch binary")?;
    let extractor = scopewatch::isolation::Extractor::new(worker, config.limits.clone());

    let parse = |pages: &[Vec<u8>]| {
        for page in pages {
            let text = String::from_utf8_lossy(page);
            std::hint::black_box(scraper::Html::parse_document(&text));
        }
    };
    let extract = |pages: &[Vec<u8>]| {
        for page in pages {
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
    };
    let isolated = |pages: &[Vec<u8>]| {
        for page in pages {
            std::hint::black_box(
                extractor
                    .extract_page(
                        page,
                        Some("text/html"),
                        source.url.as_str(),
                        &source.rules,
                        &source.scope,
                        &config.scope,
                    )
                    .expect("a bench page extracts"),
            );
        }
    };
    let mut times: [Vec<Duration>; 5] = Default::default();
    for _ in 0..rounds {
        times[0].push(time(|| parse(&pages)));
        times[1].push(time(|| extract(&pages)));
        times[2].push(time(|| isolated(&pages)));
        times[3].push(time(|| on_every_core(&pages, cores, &parse)));
        times[4].push(time(|| on_every_core(&pages, cores, &isolated)));
    }
    let [parse_one, extract_one, isolated_one, parse_all, extract_all] = times.map(median);
    println!(
        "{} pages, {} KB on average, median of {rounds} rounds:",
        pages.len(),
        bytes / pages.len() / 1024
    );
    for (stage, total) in [
        ("scraper parse, one thread", parse_one),
        ("extraction, one thread", extract_one),
        ("the same in an extraction process", isolated_one),
        ("scraper parse, every core", parse_all),
        ("extraction processes, every core", extract_all),
    ] {
        println!(
            "  {stage:<34} {:>8.1} ms for all, {:>6.0} us a page",
            total.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e6 / pages.len() as f64
        );
    }
    println!(
        "{{\"pages\":{},\"cores\":{cores},\"parse_one_thread_s\":{:.6},\"extract_one_thread_s\":{:.6},\"isolated_one_thread_s\":{:.6},\"parse_every_core_s\":{:.6},\"extract_every_core_s\":{:.6}}}",
        pages.len(),
        parse_one.as_secs_f64(),
        extract_one.as_secs_f64(),
        isolated_one.as_secs_f64(),
        parse_all.as_secs_f64(),
        extract_all.as_secs_f64()
    );
    Ok(())
}

/// Runs `work` over `pages` split evenly into one chunk a core.
fn on_every_core(pages: &[Vec<u8>], cores: usize, work: &(dyn Fn(&[Vec<u8>]) + Sync)) {
    std::thread::scope(|scope| {
        for chunk in pages.chunks(pages.len().div_ceil(cores)) {
            scope.spawn(move || work(chunk));
        }
    });
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
