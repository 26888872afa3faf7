//! `Content-Encoding`: the codings a response lists, and decoding every
//! one of them, last applied first, each layer's output bounded by the
//! body cap (so a compression bomb, stacked or not, stops at the cap). A
//! coding scopewatch does not know, more layers than [`MAX_CODINGS`], or
//! bytes that are not what their coding says fail the fetch with the class
//! `body-encoding`: the bytes as received are never stored as the page.

use std::io::Read;

use reqwest::header::{CONTENT_ENCODING, HeaderMap};

/// The most codings one body may stack. Servers apply one; two happen when
/// an application and a proxy both compress. Every layer may cost a pass
/// over up to `max_body` bytes, so the list a server sends is bounded.
pub const MAX_CODINGS: usize = 4;

/// A content coding scopewatch decodes (it asks for these three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    /// zlib (RFC 1950), as HTTP means it; a raw deflate stream is read too,
    /// as some servers send one.
    Deflate,
    Brotli,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
        }
    }
}

/// The codings `headers` list, in the order they were applied (`identity`
/// left out); an error for one not known or too many.
pub fn codings(headers: &HeaderMap) -> Result<Vec<Coding>, String> {
    let mut codings = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        let value = String::from_utf8_lossy(value.as_bytes());
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let coding = match name.to_ascii_lowercase().as_str() {
                "identity" => continue,
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                "br" => Coding::Brotli,
                _ => {
                    return Err(format!(
                        "the body is encoded as {name:?}, which scopewatch does not decode (it asks for gzip, br or deflate)"
                    ));
                }
            };
            codings.push(coding);
        }
    }
    if codings.len() > MAX_CODINGS {
        return Err(format!(
            "the body lists {} content codings; scopewatch decodes at most {MAX_CODINGS}",
            codings.len()
        ));
    }
    Ok(codings)
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A layer decodes to more than the cap.
    TooLarge,
    /// The bytes are not what the coding says.
    Malformed(String),
}

/// `body` with every coding of `codings` undone, the last applied first;
/// no layer may decode to more than `cap` bytes.
pub fn decode(body: Vec<u8>, codings: &[Coding], cap: u64) -> Result<Vec<u8>, DecodeError> {
    let mut body = body;
    for (layer, coding) in codings.iter().enumerate().rev() {
        body = decode_layer(&body, *coding, cap).map_err(|error| match error {
            DecodeError::Malformed(why) => DecodeError::Malformed(format!(
                "layer {} of {} ({}) does not decode: {why}",
                codings.len() - layer,
                codings.len(),
                coding.name()
            )),
            too_large => too_large,
        })?;
    }
    Ok(body)
}

fn decode_layer(encoded: &[u8], coding: Coding, cap: u64) -> Result<Vec<u8>, DecodeError> {
    let reader: Box<dyn Read + '_> = match coding {
        Coding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(encoded)),
        Coding::Deflate if is_zlib(encoded) => Box::new(flate2::read::ZlibDecoder::new(encoded)),
        Coding::Deflate => Box::new(flate2::read::DeflateDecoder::new(encoded)),
        Coding::Brotli => Box::new(brotli::Decompressor::new(encoded, 1 << 14)),
    };
    let mut decoded = Vec::new();
    // One byte past the cap tells a body at the cap from one over it.
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut decoded)
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if decoded.len() as u64 > cap {
        return Err(DecodeError::TooLarge);
    }
    Ok(decoded)
}

/// Whether `bytes` start with a zlib header (RFC 1950 section 2.2): method
/// 8, a window of at most 32 KiB, and a check value that divides by 31.
fn is_zlib(bytes: &[u8]) -> bool {
    match bytes {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && ((u16::from(*cmf) << 8) | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use reqwest::header::HeaderValue;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CONTENT_ENCODING, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn stacked_codings_are_listed_in_the_order_applied_and_bounded() {
        use Coding::*;
        assert_eq!(codings(&headers(&["gzip, gzip"])), Ok(vec![Gzip, Gzip]));
        assert_eq!(
            codings(&headers(&["deflate", "identity, BR"])),
            Ok(vec![Deflate, Brotli])
        );
        assert_eq!(codings(&headers(&[])), Ok(vec![]));
        assert!(
            codings(&headers(&["zstd"]))
                .unwrap_err()
                .contains("\"zstd\"")
        );
        assert!(codings(&headers(&["gzip, gzip, gzip, gzip, gzip"])).is_err());
    }

    #[test]
    fn every_layer_is_decoded_and_none_past_the_cap() {
        let page = b"<main>in scope</main>".repeat(100);
        let twice = gzip(&gzip(&page));
        assert_eq!(
            decode(twice.clone(), &[Coding::Gzip, Coding::Gzip], 1 << 20),
            Ok(page.clone())
        );
        // The page is 2,100 bytes: a cap below that refuses it.
        assert_eq!(
            decode(twice, &[Coding::Gzip, Coding::Gzip], 2_000),
            Err(DecodeError::TooLarge)
        );
        // Listed twice, applied once: the second layer is not gzip.
        let once = gzip(&page);
        let error = decode(once, &[Coding::Gzip, Coding::Gzip], 1 << 20).unwrap_err();
        assert!(
            matches!(&error, DecodeError::Malformed(m) if m.starts_with("layer 2 of 2 (gzip)")),
            "{error:?}"
        );
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(&page).unwrap();
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&page).unwrap();
        for deflated in [zlib.finish().unwrap(), raw.finish().unwrap()] {
            assert_eq!(
                decode(deflated, &[Coding::Deflate], 1 << 20),
                Ok(page.clone())
            );
        }
    }
}
