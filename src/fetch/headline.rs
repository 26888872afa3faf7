//! A failure in one line a person reads first: whose page (the host) and
//! what happened, in words (`learn.microsoft.com: DNS lookup failed (name
//! not known)`). The record, the log and `--json` keep the whole chain of
//! causes the HTTP stack gave (`connect: error sending request: client
//! error (Connect): dns error: ...`); this reads that chain, so it works on
//! stored failures too, and falls back to the chain's innermost cause for
//! wording it does not know.

/// `error` is a failure as a sweep reports it: its class, `": "`, and the
/// message (the chain of causes for fetch errors). `url` is the page's.
pub fn headline(url: &str, error: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| url.to_string());
    let (class, message) = error.split_once(": ").unwrap_or((error, ""));
    format!("{host}: {}", what_happened(class, message))
}

fn what_happened(class: &str, message: &str) -> String {
    let lower = message.to_lowercase();
    let innermost = innermost_cause(message);
    match class {
        "connect" if lower.contains("dns error") || lower.contains("lookup address") => {
            format!("DNS lookup failed ({})", lookup_problem(&lower, innermost))
        }
        "connect" => connect_problem(&lower, innermost),
        "timeout" if message.starts_with('[') => message.to_string(),
        "timeout" => "timed out ([http] timeout)".to_string(),
        "body-read" => format!("the connection broke while the page was read ({innermost})"),
        "request" => format!("the request failed ({innermost})"),
        _ if message.is_empty() => class.to_string(),
        // Messages scopewatch wrote itself (HTTP status, body cap,
        // redirects, address policy, extraction) are already words.
        _ => message.to_string(),
    }
}

/// What getaddrinfo said, in words.
fn lookup_problem(lower: &str, innermost: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("name or service not known", "name not known"),
        ("nodename nor servname provided", "name not known"),
        (
            "no address associated with hostname",
            "the name has no address",
        ),
        (
            "temporary failure in name resolution",
            "no answer from the DNS server; is the network up?",
        ),
    ];
    KNOWN
        .iter()
        .find(|(text, _)| lower.contains(text))
        .map_or_else(|| innermost.to_string(), |(_, words)| words.to_string())
}

/// Why a connection was not made, in words.
fn connect_problem(lower: &str, innermost: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("connection refused", "connection refused"),
        ("connection reset", "connection reset"),
        ("network is unreachable", "network unreachable"),
        ("no route to host", "no route to host"),
        ("timed out", "connection timed out ([http] connect_timeout)"),
    ];
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return format!("TLS handshake failed ({innermost})");
    }
    KNOWN
        .iter()
        .find(|(text, _)| lower.contains(text))
        .map_or_else(
            || format!("could not connect ({innermost})"),
            |(_, words)| words.to_string(),
        )
}

/// The last cause of a `cause: cause: cause` chain, without an OS error
/// number.
fn innermost_cause(message: &str) -> &str {
    let last = message.rsplit(": ").next().unwrap_or(message).trim();
    match last.rfind(" (os error ") {
        Some(at) if last.ends_with(')') => &last[..at],
        _ => last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dns_failure_leads_with_the_host_and_the_lookup() {
        assert_eq!(
            headline(
                "https://learn.microsoft.com/en-us/azure/bot-service/bot-service-compliance",
                "connect: error sending request: client error (Connect): dns error: \
                 error resolving DNS: failed to lookup address information: Name or service not known"
            ),
            "learn.microsoft.com: DNS lookup failed (name not known)"
        );
        assert_eq!(
            headline(
                "https://x.example/",
                "connect: error sending request: client error (Connect): dns error: \
                 failed to lookup address information: Temporary failure in name resolution"
            ),
            "x.example: DNS lookup failed (no answer from the DNS server; is the network up?)"
        );
    }

    /// A resolver that answers as getaddrinfo does for a name that does
    /// not exist; nothing is looked up.
    struct NameNotKnown;

    impl reqwest::dns::Resolve for NameNotKnown {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async {
                Err(std::io::Error::other(
                    "failed to lookup address information: Name or service not known",
                )
                .into())
            })
        }
    }

    #[tokio::test]
    async fn a_failed_lookup_through_the_http_stack_reads_as_one() {
        let settings = crate::fetch::HttpSettings {
            retries: 0,
            ..Default::default()
        };
        let fetcher =
            super::super::Fetcher::with_resolver(&settings, std::sync::Arc::new(NameNotKnown))
                .unwrap();
        let url = "https://learn.microsoft.com/en-us/azure/bot-service/bot-service-compliance";
        let capture = fetcher
            .fetch(&super::super::FetchRequest {
                url: url::Url::parse(url).unwrap(),
                configured: true,
                allow_private: false,
                conditional: None,
                headers: Default::default(),
                accept: None,
            })
            .await;
        let super::super::FetchOutcome::Failed { class, message } = capture.outcome else {
            panic!("the fetch cannot succeed");
        };
        let chain = format!("{class}: {message}");
        assert!(chain.contains("Name or service not known"), "{chain}");
        assert_eq!(
            headline(url, &chain),
            "learn.microsoft.com: DNS lookup failed (name not known)",
            "{chain}"
        );
    }

    #[test]
    fn connection_failures_say_what_the_peer_did() {
        assert_eq!(
            headline(
                "http://127.0.0.1:9/a",
                "connect: error sending request: client error (Connect): tcp connect error: \
                 Connection refused (os error 111)"
            ),
            "127.0.0.1: connection refused"
        );
        assert_eq!(
            headline(
                "https://self-signed.example/",
                "connect: error sending request: client error (Connect): \
                 invalid peer certificate: UnknownIssuer"
            ),
            "self-signed.example: TLS handshake failed (UnknownIssuer)"
        );
        assert_eq!(
            headline(
                "https://a.example/",
                "connect: something new: odd (os error 7)"
            ),
            "a.example: could not connect (odd)"
        );
    }

    #[test]
    fn messages_already_in_words_are_kept() {
        assert_eq!(
            headline("https://a.example/p", "http-404: HTTP 404 Not Found"),
            "a.example: HTTP 404 Not Found"
        );
        assert_eq!(
            headline(
                "https://a.example/p",
                "content-not-found: none of the content selectors (article.nope) matched the page"
            ),
            "a.example: none of the content selectors (article.nope) matched the page"
        );
        assert_eq!(
            headline(
                "https://a.example/p",
                "timeout: error sending request: operation timed out"
            ),
            "a.example: timed out ([http] timeout)"
        );
    }
}
