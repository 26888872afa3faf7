//! Sending one message through one channel: webhook (HMAC-signed JSON),
//! Slack, Teams, email (lettre over rustls), a command (no shell, JSON on
//! stdin), a JSON-lines file, or the log. Every send is bounded by the
//! channel's timeout; errors never carry a secret (URLs are stripped).

use std::io::Write as _;
use std::process::Stdio;

use hmac::{KeyInit, Mac};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::AsyncWriteExt;

use super::payload::{self, Item};
use super::settings::{Channel, ChannelKind, EmailSettings, Secret, Tls};

/// `X-Scopewatch-Signature: sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Scopewatch-Signature";

/// The lowercase hex HMAC-SHA256 of `body` with `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Sends `items` (one alert, or a digest) as message `message_id`.
pub async fn send(
    channel: &Channel,
    http: &reqwest::Client,
    message_id: &str,
    items: &[Item],
) -> Result<(), String> {
    let work = async {
        match &channel.kind {
            ChannelKind::Webhook {
                url,
                secret,
                headers,
            } => {
                let body = serde_json::to_vec(&payload::body(items)).map_err(|e| e.to_string())?;
                let mut request = http
                    .post(url.expose())
                    .header("Content-Type", "application/json")
                    .header("Idempotency-Key", message_id);
                for (name, value) in headers {
                    request = request.header(name.as_str(), value.expose());
                }
                if let Some(secret) = secret {
                    let signature = sign(secret.expose().as_bytes(), &body);
                    request = request.header(SIGNATURE_HEADER, format!("sha256={signature}"));
                }
                post(request.body(body)).await
            }
            ChannelKind::Slack { url } => {
                post_json(http, url, message_id, &payload::slack(items)).await
            }
            ChannelKind::Teams { url } => {
                post_json(http, url, message_id, &payload::teams(items)).await
            }
            ChannelKind::Command { argv, env } => run_command(argv, env, message_id, items).await,
            ChannelKind::File { path } => {
                let mut line =
                    serde_json::to_vec(&payload::body(items)).map_err(|e| e.to_string())?;
                line.push(b'\n');
                let path = path.clone();
                tokio::task::spawn_blocking(move || append(&path, &line))
                    .await
                    .map_err(|e| e.to_string())?
            }
            ChannelKind::Log => {
                for item in items {
                    let a = &item.alert;
                    tracing::warn!(
                        delivery = %item.delivery_id,
                        source = %a.source,
                        kind = %a.kind,
                        "alert: {}",
                        a.summary
                    );
                }
                Ok(())
            }
            ChannelKind::Email(settings) => send_mail(settings, channel, message_id, items).await,
        }
    };
    match tokio::time::timeout(channel.timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer within {} (the channel's timeout)",
            humantime::format_duration(channel.timeout)
        )),
    }
}

async fn post_json(
    http: &reqwest::Client,
    url: &Secret,
    message_id: &str,
    body: &serde_json::Value,
) -> Result<(), String> {
    let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    post(
        http.post(url.expose())
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", message_id)
            .body(body),
    )
    .await
}

async fn post(request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered HTTP {status}"))
    }
}

/// Appends one JSON line to a `file` channel's file, whole: under an
/// exclusive lock (so two scopewatch processes never interleave), after
/// cutting a torn last line that a writer killed mid-write left behind. That
/// line's delivery was never recorded as done, so it is sent again in full:
/// readers of the file only ever see whole lines.
fn append(path: &std::path::Path, line: &[u8]) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).read(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let failed = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    file.lock().map_err(failed)?;
    let whole = whole_lines_end(&mut file).map_err(failed)?;
    if whole < file.metadata().map_err(failed)?.len() {
        file.set_len(whole).map_err(failed)?;
    }
    file.write_all(line)
        .and_then(|()| file.sync_data())
        .map_err(failed)
}

/// The length of `file` up to and including its last line break: where a
/// torn last line begins, or the end when there is none.
fn whole_lines_end(file: &mut std::fs::File) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    const CHUNK: u64 = 64 * 1024;
    let mut end = file.metadata()?.len();
    let mut buffer = vec![0; CHUNK as usize];
    let mut first = true;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buffer[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if first && chunk.last() == Some(&b'\n') {
            return Ok(end);
        }
        first = false;
        if let Some(at) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + at as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The environment variables a `command` channel's program inherits
/// besides those its `env` names.
const PASSED_TO_COMMANDS: [&str; 6] = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

async fn run_command(
    argv: &[String],
    env: &[String],
    message_id: &str,
    items: &[Item],
) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("the command is empty")?;
    let body = serde_json::to_vec(&payload::body(items)).map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(program);
    // The daemon's environment may hold the secrets the configuration
    // interpolates (${SMTP_PASSWORD}); the program gets what it needs to
    // run, what the channel's `env` names and the delivery id, nothing else.
    command.env_clear();
    for name in PASSED_TO_COMMANDS
        .iter()
        .copied()
        .chain(env.iter().map(String::as_str))
    {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    let mut child = command
        .args(args)
        .env("SCOPEWATCH_DELIVERY_ID", message_id)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A program that exits without reading is judged by its status.
        let _ = stdin.write_all(&body).await;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        Err(format!("{program} exited with {}: {first}", output.status))
    }
}

async fn send_mail(
    settings: &EmailSettings,
    channel: &Channel,
    message_id: &str,
    items: &[Item],
) -> Result<(), String> {
    let mailbox = |a: &str| {
        a.parse::<Mailbox>()
            .map_err(|e| format!("{a:?} is not an email address: {e}"))
    };
    let mut builder = Message::builder()
        .from(mailbox(&settings.from)?)
        .message_id(Some(format!("<{message_id}@scopewatch>")))
        .subject(payload::subject(items));
    for to in &settings.to {
        builder = builder.to(mailbox(to)?);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(
            payload::mail_text(items),
            payload::mail_html(items),
        ))
        .map_err(|e| format!("cannot build the mail: {e}"))?;
    let host = settings.host.as_str();
    let builder = match settings.tls {
        Tls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        Tls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        Tls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|e| format!("SMTP setup for {host} failed: {e}"))?;
    let mut builder = builder.port(settings.port).timeout(Some(channel.timeout));
    if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    builder
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP delivery via {host}:{} failed: {e}", settings.port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_line_torn_by_a_killed_writer_is_cut_before_the_next_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        // A torn line longer than one read of the tail, after whole ones.
        let torn = format!("{{\"delivery\": \"{}", "x".repeat(100_000));
        std::fs::write(&path, format!("{{\"a\": 1}}\n{{\"b\": 2}}\n{torn}")).unwrap();
        append(&path, b"{\"c\": 3}\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\": 1}\n{\"b\": 2}\n{\"c\": 3}\n"
        );
        // Only a torn line: nothing whole is kept of it.
        std::fs::write(&path, "{\"half").unwrap();
        append(&path, b"{\"d\": 4}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"d\": 4}\n");
        // Whole lines are left as they are.
        append(&path, b"{\"e\": 5}\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"d\": 4}\n{\"e\": 5}\n"
        );
    }
}
