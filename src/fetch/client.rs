//! Every HTTP client of the process is built here, by what it is for:
//! source pages, alert webhooks (deliveries and `alerts test` alike) and
//! RFC 3161 time-stamp requests. All trust the same roots (see
//! [`super::tls`]), follow no redirect on their own and name themselves
//! with the User-Agent they are given; what a purpose adds is its own
//! variant's fields.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Client;
use reqwest::dns::Resolve;

use super::ClientError;
use super::tls::{self, ExtraRoots};

/// What a client is for, and what that purpose sets besides the common
/// settings.
pub enum Purpose {
    /// Source pages (the [`super::Fetcher`]): names resolved by `resolver`
    /// (the address policy's public-only resolver, or the system's for
    /// trusted hosts), a connect timeout of its own (each try's whole
    /// timeout is set per request), the TLS session's details kept for the
    /// evidence, and no proxy from the environment: a proxy would resolve
    /// names past the address policy.
    Pages {
        connect_timeout: Duration,
        resolver: Arc<dyn Resolve>,
    },
    /// Alert webhooks: each send is bounded by its channel's timeout, around
    /// the whole request (`alert::channel`).
    Webhooks,
    /// Time-stamp requests, each bounded by `[evidence] tsa_timeout`.
    Timestamps { timeout: Duration },
}

/// A client for `purpose`: Mozilla's roots and `extra_roots` (`[http]
/// ca_file`), no redirect followed (a page's hops are followed by hand,
/// each checked against the address policy and recorded; a webhook or a
/// TSA that redirects is answering something else), `user_agent` on every
/// request.
pub fn http_client(
    purpose: Purpose,
    extra_roots: &ExtraRoots,
    user_agent: &str,
) -> Result<Client, ClientError> {
    let common = tls::client_builder(extra_roots)?
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent);
    let builder = match purpose {
        Purpose::Pages {
            connect_timeout,
            resolver,
        } => common
            .connect_timeout(connect_timeout)
            .tls_info(true)
            .no_proxy()
            .https_only(false)
            .dns_resolver(resolver),
        Purpose::Webhooks => common,
        Purpose::Timestamps { timeout } => common.timeout(timeout),
    };
    Ok(builder.build()?)
}
