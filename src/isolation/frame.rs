//! What the daemon and an extraction process say to each other over the
//! process's standard input and output: length-prefixed frames (an 8-byte
//! little-endian length, then the bytes). A request is two frames, a JSON
//! [`Request`] and the raw body; the answer is one JSON frame, the
//! extraction's `Result`.

use std::borrow::Cow;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::extract::{ExtractLimits, ExtractRules};

/// One page to extract (the body follows in its own frame).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Request<'a> {
    pub content_type: Option<Cow<'a, str>>,
    pub url: Cow<'a, str>,
    pub rules: Cow<'a, ExtractRules>,
    pub limits: ExtractLimits,
    /// CPU seconds this extraction may use.
    pub cpu_seconds: u64,
}

/// Writes one frame.
pub(super) fn write_frame(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(&(bytes.len() as u64).to_le_bytes())?;
    out.write_all(bytes)
}

/// Reads one frame of at most `max` bytes; `None` at the end of the input
/// before a frame starts.
pub(super) fn read_frame(input: &mut impl Read, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 8];
    match input.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = frame_length(length, max)?;
    let mut bytes = vec![0; length];
    input.read_exact(&mut bytes)?;
    Ok(Some(bytes))
}

/// The length a frame header announces, refused when over `max`.
pub(super) fn frame_length(header: [u8; 8], max: u64) -> io::Result<usize> {
    let length = u64::from_le_bytes(header);
    if length > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {length} bytes, over the {max} expected at most"),
        ));
    }
    usize::try_from(length).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_oversized_ones_are_refused() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"header").unwrap();
        write_frame(&mut wire, b"").unwrap();
        let mut input = wire.as_slice();
        assert_eq!(read_frame(&mut input, 10).unwrap().unwrap(), b"header");
        assert_eq!(read_frame(&mut input, 10).unwrap().unwrap(), b"");
        assert!(read_frame(&mut input, 10).unwrap().is_none());
        let mut input = wire.as_slice();
        assert!(read_frame(&mut input, 5).is_err());
    }

    /// A source's selectors travel as CSS text and arrive as the same
    /// selectors.
    #[test]
    fn rules_arrive_as_written() {
        let css = [
            "main",
            "[role=main]",
            "div.a > p:nth-child(2n+1)",
            "a[href^='https://']:not(.skip)",
            "table#scope tr td:first-child, th",
        ];
        let selector = |css: &str| scraper::Selector::parse(css).unwrap();
        let rules = ExtractRules {
            content: css.iter().map(|c| selector(c)).collect(),
            ignore: vec![selector(".feedback"), selector("time")],
            json_pointer: Some("/a/b".into()),
            scope_tables: Some(selector("table.audit-scope")),
            links: Some(selector("main a[href]")),
        };
        let request = Request {
            content_type: None,
            url: "http://x/".into(),
            rules: Cow::Borrowed(&rules),
            limits: ExtractLimits::default(),
            cpu_seconds: 1,
        };
        let wire = serde_json::to_vec(&request).unwrap();
        let arrived: Request<'_> = serde_json::from_slice(&wire).unwrap();
        assert_eq!(format!("{:?}", arrived.rules), format!("{rules:?}"));
    }
}
