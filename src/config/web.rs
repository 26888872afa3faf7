//! `[web]`: where the read-only web view (`scopewatch serve`, and `run`
//! when the table is present) listens, and the token it asks for. Any
//! address other than loopback needs a `token_file`; a Unix socket is left
//! to its file permissions and the reverse proxy in front of it.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// Where the web view listens when `[web] listen` is not written.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8719";

/// `[web]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawWeb {
    pub listen: Option<Spanned<String>>,
    pub token_file: Option<Spanned<String>>,
}

/// An address to listen on: `IP:PORT`, or `unix:/path/to/socket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Listen {
    /// Parses `IP:PORT` (`[::1]:8719` for IPv6) or `unix:/absolute/path`.
    pub fn parse(text: &str) -> Result<Listen, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            let path = Path::new(path);
            if !path.is_absolute() {
                return Err(format!(
                    "{text:?}: a Unix socket needs an absolute path, such as \"unix:/run/scopewatch/web.sock\""
                ));
            }
            return Ok(Listen::Unix(path.to_path_buf()));
        }
        text.parse::<SocketAddr>().map(Listen::Tcp).map_err(|_| {
            format!(
                "{text:?} is not an address to listen on: write IP:PORT (\"{DEFAULT_LISTEN}\", \"[::1]:8719\") or \"unix:/run/scopewatch/web.sock\""
            )
        })
    }

    /// Whether others than this machine's users can reach it: a TCP
    /// address off loopback.
    pub fn is_exposed(&self) -> bool {
        matches!(self, Listen::Tcp(address) if !address.ip().is_loopback())
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Tcp(address) => write!(f, "{address}"),
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// `[web]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    pub listen: Listen,
    /// A file holding the token requests must present: relative to the
    /// configuration file's directory, `${VAR}` interpolated when read
    /// (`${CREDENTIALS_DIRECTORY}/scopewatch_web-token` in the service).
    pub token_file: Option<String>,
}

impl WebSettings {
    /// The token `token_file` holds (without the line break that ends it);
    /// `None` without a `token_file`.
    pub fn read_token(&self) -> Option<Result<String, String>> {
        let file = self.token_file.as_deref()?;
        Some(super::secrets::read_secret_file(file).map_err(|e| format!("[web] token_file: {e}")))
    }
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            listen: Listen::parse(DEFAULT_LISTEN).expect("the default address parses"),
            token_file: None,
        }
    }
}

/// Why a listen address is refused without a token.
pub fn exposed_without_token(listen: &Listen) -> String {
    format!(
        "{listen} is reachable from other machines: set [web] token_file (a file holding a secret of at least {MIN_TOKEN_BYTES} characters), listen on loopback (\"{DEFAULT_LISTEN}\") or on a Unix socket (\"unix:/run/scopewatch/web.sock\") behind a reverse proxy"
    )
}

/// The shortest token accepted: 16 characters drawn at random from even a
/// small alphabet are beyond guessing over HTTP.
pub const MIN_TOKEN_BYTES: usize = 16;

impl super::Validator<'_> {
    /// `[web]`: `None` when the table is absent (`run` then serves nothing).
    pub(super) fn web(&mut self, raw: Option<RawWeb>, config: &Path) -> Option<WebSettings> {
        let raw = raw?;
        let listen = self
            .value(raw.listen.as_ref(), "web.listen", |text| {
                Listen::parse(text)
            })
            .unwrap_or_else(|| WebSettings::default().listen);
        let token_file = raw.token_file.as_ref().map(|file| {
            let file = file.get_ref();
            if file.starts_with('$') {
                file.clone()
            } else {
                super::beside(config, file).display().to_string()
            }
        });
        if listen.is_exposed()
            && token_file.is_none()
            && let Some(written) = &raw.listen
        {
            self.issue(
                &written.span(),
                "web.listen",
                exposed_without_token(&listen),
            );
        }
        Some(WebSettings { listen, token_file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_only_loopback_is_private() {
        assert!(!Listen::parse("127.0.0.1:8719").unwrap().is_exposed());
        assert!(!Listen::parse("[::1]:0").unwrap().is_exposed());
        assert!(Listen::parse("0.0.0.0:8719").unwrap().is_exposed());
        assert!(Listen::parse("192.0.2.1:80").unwrap().is_exposed());
        let unix = Listen::parse("unix:/run/scopewatch/web.sock").unwrap();
        assert!(!unix.is_exposed());
        assert_eq!(unix.to_string(), "unix:/run/scopewatch/web.sock");
        assert!(Listen::parse("unix:web.sock").is_err());
        assert!(Listen::parse("localhost:8719").is_err());
    }

    #[test]
    fn an_exposed_address_without_a_token_is_refused() {
        let check = |text: &str| super::super::parse(text, Path::new("/etc/scopewatch/s.toml"));
        let error = check("[web]\nlisten = \"0.0.0.0:8719\"\n").unwrap_err();
        assert!(error.to_string().contains("token_file"), "{error}");
        let config =
            check("[web]\nlisten = \"0.0.0.0:8719\"\ntoken_file = \"web.token\"\n").unwrap();
        let web = config.web.unwrap();
        assert_eq!(web.token_file.unwrap(), "/etc/scopewatch/web.token");
        let credential = "[web]\ntoken_file = \"${CREDENTIALS_DIRECTORY}/scopewatch_web-token\"\n";
        assert_eq!(
            check(credential).unwrap().web.unwrap().token_file.unwrap(),
            "${CREDENTIALS_DIRECTORY}/scopewatch_web-token"
        );
        assert!(check("").unwrap().web.is_none());
        assert_eq!(
            check("[web]\n").unwrap().web.unwrap(),
            WebSettings::default()
        );
    }
}
