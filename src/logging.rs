//! Log output on standard error: coloured lines with timestamps on a
//! terminal; under systemd (`$JOURNAL_STREAM` set) plain lines with an
//! sd-daemon priority prefix (`<3>` error … `<7>` debug) and no timestamp,
//! since journald adds its own; or JSON lines for log shippers.

use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::registry::LookupSpan;

/// Where and how to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    Terminal,
    Journal,
    Json,
}

impl LogStyle {
    /// JSON when asked for, else journal lines under systemd, else terminal lines.
    pub fn detect(json: bool) -> Self {
        if json {
            LogStyle::Json
        } else if std::env::var_os("JOURNAL_STREAM").is_some() {
            LogStyle::Journal
        } else {
            LogStyle::Terminal
        }
    }
}

/// Installs the global subscriber. `default_level` applies unless
/// `$SCOPEWATCH_LOG` says otherwise (e.g. `debug`).
pub fn init(style: LogStyle, default_level: &str) {
    let filter =
        EnvFilter::try_from_env("SCOPEWATCH_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match style {
        LogStyle::Json => builder.json().init(),
        LogStyle::Journal => builder
            .with_ansi(false)
            .event_format(JournalFormat(
                format::format()
                    .without_time()
                    .with_target(false)
                    .with_level(false),
            ))
            .init(),
        LogStyle::Terminal => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

/// The sd-daemon(3) priority of a level.
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Prefixes each line with `<priority>` and formats the rest plainly.
struct JournalFormat<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalFormat<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_sd_daemon() {
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::WARN), 4);
        assert_eq!(priority(&Level::INFO), 6);
        assert_eq!(priority(&Level::DEBUG), 7);
    }
}
