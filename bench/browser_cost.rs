//! Benchmark (not a test): what one browser fetch costs next to a plain
//! fetch of the same page. Serves two pages on 127.0.0.1 (a corpus page in
//! the live site's chrome, and a script-built page whose bundle fetches its
//! data), fetches each ROUNDS times with the HTTP fetcher and then with the
//! browser fetcher, one fetch at a time, and prints medians of: wall time;
//! CPU (this process's for a plain fetch; this process's plus the reaped
//! browser's for a browser fetch); and for the browser the peak of its
//! processes' summed proportional set size (PSS, so shared pages count
//! once), sampled every 10 ms. Run:
//! `cargo run --release --features browser --example browser_cost [ROUNDS]` (default 10).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use scopewatch::fetch::HttpSettings;
use scopewatch::fetch::browser::{BrowserFetcher, BrowserRequest, BrowserSettings};
use scopewatch::fetch::{FetchOutcome, FetchRequest, Fetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SPA: &str = r#"<!doctype html><html><head><title>Contoso Trust Center</title>
<script defer src="/main.js"></script></head><body><div id="root"></div></body></html>"#;
const SPA_SCRIPT: &str = r#"fetch('/scope.json').then(r => r.json()).then(s => {
  const ul = document.createElement('ul');
  for (const name of s.services) { const li = document.createElement('li'); li.textContent = name; ul.appendChild(li); }
  document.getElementById('root').appendChild(ul);
});"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10)
        .max(1);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus/ms-compliance-offering-iso-27001");
    let markdown = std::fs::read_dir(&corpus)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .ok_or("no corpus page")?;
    let page = scopewatch::demo::site::render(&std::fs::read_to_string(markdown)?);
    let services: Vec<String> = (1..=60).map(|i| format!("\"Azure service {i}\"")).collect();
    let scope = format!("{{\"services\":[{}]}}", services.join(","));
    let addr = serve(Arc::new(vec![
        ("/page".to_string(), "text/html", page.into_bytes()),
        ("/spa".to_string(), "text/html", SPA.as_bytes().to_vec()),
        (
            "/main.js".to_string(),
            "text/javascript",
            SPA_SCRIPT.as_bytes().to_vec(),
        ),
        (
            "/scope.json".to_string(),
            "application/json",
            scope.into_bytes(),
        ),
    ]))
    .await?;

    let http = HttpSettings {
        host_delay: Duration::ZERO,
        ..HttpSettings::default()
    };
    let fetcher = Fetcher::new(&http)?;
    let profiles = tempfile::tempdir()?;
    let browser = BrowserFetcher::new(BrowserSettings {
        profile_root: Some(profiles.path().to_path_buf()),
        ..BrowserSettings::from_http(&http)
    });
    let mut version = None;
    println!("| page | fetcher | wall ms | CPU ms | peak browser PSS MB |");
    println!("|---|---|---|---|---|");
    for path in ["/page", "/spa"] {
        let url = format!("http://{addr}{path}");
        let mut plain = Vec::new();
        for _ in 0..rounds {
            let cpu = cpu_now();
            let started = Instant::now();
            let capture = fetcher
                .fetch(&FetchRequest {
                    url: url.parse()?,
                    configured: true,
                    allow_private: false,
                    conditional: None,
                    accept: None,
                    headers: Default::default(),
                })
                .await;
            if !matches!(capture.outcome, FetchOutcome::Body(_)) {
                return Err(format!("plain fetch failed: {:?}", capture.outcome).into());
            }
            plain.push((started.elapsed(), cpu_now() - cpu, 0.0));
        }
        let mut rendered = Vec::new();
        for _ in 0..rounds {
            let sampling = Arc::new(AtomicBool::new(true));
            let sampler = std::thread::spawn({
                let (sampling, root) = (sampling.clone(), profiles.path().to_path_buf());
                move || {
                    let mut peak = 0u64;
                    while sampling.load(Ordering::Relaxed) {
                        peak = peak.max(pss_kb_mentioning(&root));
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    peak
                }
            });
            let cpu = cpu_now();
            let started = Instant::now();
            let result = browser
                .fetch(&BrowserRequest {
                    url: url.parse()?,
                    configured: true,
                    allow_private: false,
                    wait_for: None,
                })
                .await;
            let wall = started.elapsed();
            sampling.store(false, Ordering::Relaxed);
            let peak_kb = sampler.join().map_err(|_| "sampler panicked")?;
            if !matches!(result.capture.outcome, FetchOutcome::Body(_)) {
                return Err(format!("browser fetch failed: {:?}", result.capture.outcome).into());
            }
            version = result.chromium;
            rendered.push((wall, cpu_now() - cpu, peak_kb as f64 / 1024.0));
        }
        for (name, runs) in [("plain", plain), ("browser", rendered)] {
            let wall = median(runs.iter().map(|r| r.0.as_secs_f64() * 1000.0).collect());
            let cpu = median(runs.iter().map(|r| r.1.as_secs_f64() * 1000.0).collect());
            let pss = median(runs.iter().map(|r| r.2).collect());
            let pss = if name == "plain" {
                "-".to_string()
            } else {
                format!("{pss:.0}")
            };
            println!("| {path} | {name} | {wall:.1} | {cpu:.1} | {pss} |");
        }
    }
    println!(
        "\n{rounds} rounds each, medians; {}",
        version.unwrap_or_default()
    );
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// CPU used so far by this process and its reaped children.
fn cpu_now() -> Duration {
    let mut total = Duration::ZERO;
    for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut usage);
            usage
        };
        for t in [usage.ru_utime, usage.ru_stime] {
            total += Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
        }
    }
    total
}

/// The summed PSS (kB) of the processes whose command line mentions `root`.
fn pss_kb_mentioning(root: &Path) -> u64 {
    let root = root.to_string_lossy();
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmdline).contains(root.as_ref()) {
            continue;
        }
        let Ok(rollup) = std::fs::read_to_string(entry.path().join("smaps_rollup")) else {
            continue;
        };
        total += rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

/// A minimal HTTP/1.1 server for fixed paths, one request per connection.
async fn serve(
    routes: Arc<Vec<(String, &'static str, Vec<u8>)>>,
) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let routes = routes.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split(' ').nth(1).unwrap_or("/");
                let response = match routes.iter().find(|(p, ..)| p == path) {
                    Some((_, content_type, body)) => {
                        let mut out = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        out.extend_from_slice(body);
                        out
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(addr)
}
