//! RFC 3161 time-stamp tokens, as data: the request scopewatch sends
//! ([`request`]), the TSA's reply read ([`parse_response`]), and a token
//! verified against the CA certificates of `[evidence] tsa_ca_file`
//! ([`verify_token`]): the CMS `SignedData` signature over the signed
//! attributes, the message-digest attribute against the encapsulated
//! `TSTInfo`, the signer's certificate (found by its `SignerIdentifier`
//! among the token's certificates) with its critical, time-stamping-only
//! extended key usage and its chain to a configured CA at `genTime`, and
//! the message imprint. Pure: no I/O, no database.
//!
//! The ASN.1 types are RustCrypto's (`x509-tsp`, `cms`, `x509-cert`, `der`);
//! signatures and the chain are checked by `rustls-webpki` with ring, the
//! code that already checks every TLS certificate: RSA PKCS#1 v1.5 and PSS
//! (2048 to 8192 bits), ECDSA P-256 and P-384, Ed25519. Two types are
//! declared here rather than taken from those crates, which are stricter
//! than what TSAs send: `TSTInfo` (`x509-tsp` 0.1 refuses a `genTime` with
//! fractional seconds, which RFC 3161 allows) and `SignedData` (`cms`
//! refuses a certificate set holding the same certificate twice, as
//! `openssl ts -reply` writes it when the signer's certificate is also
//! among `certs`).

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{Any, Int, ObjectIdentifier, OctetString, Uint};
use der::{Decode, Encode, Reader, Sequence, SliceReader, Tag, Tagged};
use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use webpki::{EndEntityCert, KeyUsage};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectKeyIdentifier};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// `rsaEncryption` and `id-ecPublicKey`: what OpenSSL and others write as
/// a SignerInfo's signature algorithm, the hash being its digest algorithm.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// id-kp-timeStamping, content octets only, as webpki takes it.
const TIME_STAMPING_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// The signature algorithms a token or its chain may use.
static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::ring::ED25519,
];

/// ```text
/// TSTInfo ::= SEQUENCE  {
///     version INTEGER { v1(1) }, policy TSAPolicyId,
///     messageImprint MessageImprint, serialNumber INTEGER,
///     genTime GeneralizedTime, accuracy Accuracy OPTIONAL,
///     ordering BOOLEAN DEFAULT FALSE, nonce INTEGER OPTIONAL,
///     tsa [0] GeneralName OPTIONAL, extensions [1] IMPLICIT Extensions OPTIONAL }
/// ```
/// `genTime` is read as [`Any`] and parsed by [`generalized_time`].
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TstInfo {
    version: TspVersion,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: Any,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<x509_cert::ext::Extensions>,
}

/// ```text
/// SignedData ::= SEQUENCE {
///     version CMSVersion, digestAlgorithms SET OF DigestAlgorithmIdentifier,
///     encapContentInfo EncapsulatedContentInfo,
///     certificates [0] IMPLICIT CertificateSet OPTIONAL,
///     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
///     signerInfos SET OF SignerInfo }
/// ```
/// The SETs are read as they come, neither sorted nor checked for
/// duplicates; `digestAlgorithms` and `crls` are not used.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SignedData {
    version: CmsVersion,
    digest_algorithms: Any,
    encap_content_info: EncapsulatedContentInfo,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    certificates: Option<Vec<CertificateChoices>>,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    crls: Option<Vec<Any>>,
    signer_infos: Any,
}

impl SignedData {
    /// Each `SignerInfo` in `signerInfos`.
    fn signers(&self) -> Result<Vec<TokenSigner>, TokenProblem> {
        if self.signer_infos.tag() != Tag::Set {
            return Err(TokenProblem::Malformed {
                what: "SignedData",
                error: "signerInfos is not a SET".into(),
            });
        }
        let mut reader =
            SliceReader::new(self.signer_infos.value()).map_err(malformed("signerInfos"))?;
        let mut signers = Vec::new();
        while !reader.is_finished() {
            signers.push(TokenSigner::decode(&mut reader).map_err(malformed("SignerInfo"))?);
        }
        Ok(signers)
    }
}

/// ```text
/// SignerInfo ::= SEQUENCE {
///     version CMSVersion, sid SignerIdentifier,
///     digestAlgorithm DigestAlgorithmIdentifier,
///     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
///     signatureAlgorithm SignatureAlgorithmIdentifier,
///     signature SignatureValue,
///     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
/// ```
/// Declared here rather than taken from `cms`, whose `SignerInfo` sorts
/// each attribute SET as it decodes it (an insertion sort, quadratic in the
/// attributes a hostile reply holds) and so could only give the signed
/// attributes back re-encoded. The signature covers their DER as received
/// (RFC 5652 5.4), so they are kept as received and read in order.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TokenSigner {
    version: CmsVersion,
    sid: SignerIdentifier,
    digest_alg: AlgorithmIdentifierOwned,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    signed_attrs: Option<Any>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: OctetString,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    unsigned_attrs: Option<Any>,
}

/// `Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF
/// AttributeValue }`, the values read as they come.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SignedAttribute {
    oid: ObjectIdentifier,
    values: Any,
}

impl TokenSigner {
    fn signed_attrs(&self) -> Result<&Any, TokenProblem> {
        self.signed_attrs
            .as_ref()
            .ok_or(TokenProblem::NoSignedAttributes)
    }

    /// The bytes the signature covers: the signed attributes' content as
    /// received, under the SET OF tag in place of `[0]` (RFC 5652 5.4).
    fn signed_message(&self) -> Result<Vec<u8>, TokenProblem> {
        Any::new(Tag::Set, self.signed_attrs()?.value())
            .and_then(|set| set.to_der())
            .map_err(malformed("signed attributes"))
    }

    /// The value of the signed attribute `oid` when it occurs once with
    /// exactly one value.
    fn single_attribute(&self, oid: ObjectIdentifier) -> Result<Option<Any>, TokenProblem> {
        let mut reader = SliceReader::new(self.signed_attrs()?.value())
            .map_err(malformed("signed attributes"))?;
        let mut found = None;
        while !reader.is_finished() {
            let attribute =
                SignedAttribute::decode(&mut reader).map_err(malformed("signed attribute"))?;
            if attribute.oid != oid {
                continue;
            }
            if found.is_some() || attribute.values.tag() != Tag::Set {
                return Ok(None);
            }
            let mut values = SliceReader::new(attribute.values.value())
                .map_err(malformed("attribute values"))?;
            let value = Any::decode(&mut values).map_err(malformed("attribute value"))?;
            if !values.is_finished() {
                return Ok(None);
            }
            found = Some(value);
        }
        Ok(found)
    }
}

/// Why a reply or token is not a valid time-stamp for what it should stamp.
/// Each message names what failed, for a finding or a recorded failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    #[error("malformed {what}: {error}")]
    Malformed { what: &'static str, error: String },
    #[error("the TSA refused the request (PKIStatus {status}){text}")]
    Refused { status: u8, text: String },
    #[error("a granted reply without a token")]
    NoToken,
    #[error("the token is not CMS SignedData holding a TSTInfo")]
    NotTstInfo,
    #[error("the token has {0} signers; RFC 3161 allows exactly one")]
    SignerCount(usize),
    #[error(
        "the token's signer has no signed attributes, so nothing binds its signature to the TSTInfo"
    )]
    NoSignedAttributes,
    #[error("the signed content-type attribute is missing or is not id-ct-TSTInfo")]
    ContentType,
    #[error(
        "the signed message-digest attribute does not match the TSTInfo: the token's content was altered"
    )]
    MessageDigest,
    #[error("the digest algorithm {0} is not supported (SHA-256, SHA-384, SHA-512 are)")]
    UnsupportedDigest(String),
    #[error(
        "the token does not carry its signer's certificate, so its signature cannot be checked"
    )]
    SignerCertificateMissing,
    #[error("the signature algorithm {0} is not supported for the signer's key")]
    UnsupportedSignature(String),
    #[error(
        "the CMS signature does not verify with the signer's certificate: the token was altered or re-signed"
    )]
    BadSignature,
    #[error("signed by a certificate that does not chain to the configured TSA CA ({subject})")]
    UntrustedChain { subject: String },
    #[error("the TSA certificate ({subject}) was not valid at the token's genTime {gen_time}")]
    NotValidAtGenTime { subject: String, gen_time: String },
    #[error(
        "the TSA certificate ({subject}) has no id-kp-timeStamping extended key usage: it may not sign time-stamps"
    )]
    NoTimeStampingUsage { subject: String },
    #[error(
        "the TSA certificate's ({subject}) extended key usage is not critical, as RFC 3161 requires"
    )]
    UsageNotCritical { subject: String },
    #[error(
        "the TSA certificate ({subject}) may be used for other purposes than time-stamping; RFC 3161 allows only id-kp-timeStamping"
    )]
    UsageNotOnlyTimeStamping { subject: String },
    #[error("the TSA certificate chain ({subject}) does not verify: {error}")]
    Chain { subject: String, error: String },
    #[error("the message imprint is {found}, not the SHA-256 of the stamped text")]
    Imprint { found: String },
    #[error("the nonce is not the one sent: a replayed or foreign reply")]
    Nonce,
}

fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> TokenProblem {
    move |e| TokenProblem::Malformed {
        what,
        error: e.to_string(),
    }
}

/// A `TimeStampReq` (v1, SHA-256 imprint of `message`, `nonce` as a
/// positive INTEGER, certReq so the token carries the TSA's certificate).
pub fn request(message: &[u8], nonce: &[u8]) -> Result<Vec<u8>, TokenProblem> {
    let nonce = Uint::new(nonce).map_err(malformed("nonce"))?;
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: SHA256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(Sha256::digest(message).to_vec())
                .map_err(malformed("imprint"))?,
        },
        req_policy: None,
        nonce: Some(Int::from(nonce)),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .map_err(malformed("request"))
}

/// What a token's `TSTInfo` asserts, unverified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub gen_time: DateTime<Utc>,
    /// `accuracy`, zero when absent.
    pub accuracy: Duration,
    /// `serialNumber`, hex.
    pub serial: String,
    /// `policy`, dotted.
    pub policy: String,
    /// The TSA's name when the token states it as a directory name.
    pub tsa_name: Option<String>,
    imprint: MessageImprint,
    nonce: Option<Int>,
}

impl TokenInfo {
    /// Whether the imprint is the SHA-256 `expected`.
    fn check_imprint(&self, expected: &[u8]) -> Result<(), TokenProblem> {
        let hashed = self.imprint.hashed_message.as_bytes();
        if self.imprint.hash_algorithm.oid == SHA256 && hashed == expected {
            Ok(())
        } else {
            Err(TokenProblem::Imprint {
                found: format!(
                    "{} {}",
                    digest_name(&self.imprint.hash_algorithm.oid),
                    hex::encode(hashed)
                ),
            })
        }
    }

    /// Whether the imprint is the SHA-256 of `message`.
    pub fn stamps(&self, message: &[u8]) -> Result<(), TokenProblem> {
        self.check_imprint(&Sha256::digest(message))
    }

    /// The earliest `genTime` within the stated accuracy (at most
    /// [`MAX_ACCURACY`], so this cannot overflow: `genTime` is 4-digit years).
    pub fn earliest(&self) -> DateTime<Utc> {
        self.gen_time - self.accuracy
    }

    /// The latest `genTime` within the stated accuracy.
    pub fn latest(&self) -> DateTime<Utc> {
        self.gen_time + self.accuracy
    }
}

/// A granted reply: its token (a DER `ContentInfo`) and what it asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub token: Vec<u8>,
    pub info: TokenInfo,
}

/// Server-supplied text as it may reach logs and alerts: control
/// characters dropped, at most 200 characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Reads a `TimeStampResp`: the status must be granted (0) or granted with
/// modifications (1), and the token must hold a `TSTInfo`.
pub fn parse_response(der: &[u8]) -> Result<Granted, TokenProblem> {
    let response = TimeStampResp::from_der(der).map_err(malformed("TimeStampResp"))?;
    let status = response.status.status as u8;
    if status > 1 {
        let text = response
            .status
            .status_string
            .map(|texts| {
                let joined: Vec<&str> = texts.iter().map(|t| t.as_str()).collect();
                format!(": {}", printable(&joined.join("; ")))
            })
            .unwrap_or_default();
        return Err(TokenProblem::Refused { status, text });
    }
    let token = response
        .time_stamp_token
        .ok_or(TokenProblem::NoToken)?
        .to_der()
        .map_err(malformed("TimeStampToken"))?;
    let (_, info) = read_token(&token)?;
    Ok(Granted { token, info })
}

/// Checks a reply against the text and nonce of the request it answers.
pub fn check_response(der: &[u8], message: &[u8], nonce: &[u8]) -> Result<Granted, TokenProblem> {
    let granted = parse_response(der)?;
    granted.info.stamps(message)?;
    let sent = Int::from(Uint::new(nonce).map_err(malformed("nonce"))?);
    if granted.info.nonce.as_ref() != Some(&sent) {
        return Err(TokenProblem::Nonce);
    }
    Ok(granted)
}

/// The token's `SignedData` and its `TSTInfo`.
fn read_token(token: &[u8]) -> Result<(SignedData, TokenInfo), TokenProblem> {
    let content = ContentInfo::from_der(token).map_err(malformed("TimeStampToken"))?;
    if content.content_type != SIGNED_DATA {
        return Err(TokenProblem::NotTstInfo);
    }
    let signed: SignedData = content
        .content
        .decode_as()
        .map_err(malformed("SignedData"))?;
    let encapsulated = &signed.encap_content_info;
    let econtent = match &encapsulated.econtent {
        Some(econtent) if encapsulated.econtent_type == TST_INFO => econtent,
        _ => return Err(TokenProblem::NotTstInfo),
    };
    let octets: OctetString = econtent.decode_as().map_err(malformed("eContent"))?;
    let tst = TstInfo::from_der(octets.as_bytes()).map_err(malformed("TSTInfo"))?;
    let info = TokenInfo {
        gen_time: generalized_time(&tst.gen_time)?,
        accuracy: tst.accuracy.as_ref().map_or(Duration::ZERO, accuracy),
        serial: hex::encode(tst.serial_number.as_bytes()),
        policy: tst.policy.to_string(),
        tsa_name: match &tst.tsa {
            Some(GeneralName::DirectoryName(name)) => Some(name.to_string()),
            _ => None,
        },
        imprint: tst.message_imprint,
        nonce: tst.nonce,
    };
    Ok((signed, info))
}

/// A DER GeneralizedTime, `YYYYMMDDHHMMSS[.fraction]Z` (X.690 11.7; RFC
/// 3161 allows the fraction).
fn generalized_time(any: &Any) -> Result<DateTime<Utc>, TokenProblem> {
    let bad = |why: &str| TokenProblem::Malformed {
        what: "genTime",
        error: why.to_string(),
    };
    if any.tag() != Tag::GeneralizedTime {
        return Err(bad("not a GeneralizedTime"));
    }
    let text = std::str::from_utf8(any.value()).map_err(|_| bad("not ASCII"))?;
    let (whole, fraction) = text
        .strip_suffix('Z')
        .ok_or_else(|| bad("not in UTC (no trailing Z)"))
        .map(|t| t.split_once('.').unwrap_or((t, "")))?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() != 14 || !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return Err(bad(&format!("{text:?} is not YYYYMMDDHHMMSS[.fff]Z")));
    }
    let seconds = NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S")
        .map_err(|e| bad(&format!("{text:?}: {e}")))?;
    // Left-aligned: ".5" is 500 ms. At most 9 digits, so this fits in u32.
    let nanos: u32 = format!("{fraction:0<9}").parse().unwrap_or(0);
    Ok(seconds.and_utc() + Duration::from_nanos(u64::from(nanos)))
}

/// The largest accuracy taken from a token: TSAs state a second or less,
/// and a hostile token's claim (up to 2^64 seconds) must not overflow the
/// time arithmetic; more than a day is read as a day.
const MAX_ACCURACY: Duration = Duration::from_secs(86_400);

fn accuracy(accuracy: &Accuracy) -> Duration {
    let part = |value: Option<i16>| u64::try_from(value.unwrap_or(0)).unwrap_or(0);
    let seconds = Duration::from_secs(accuracy.seconds.unwrap_or(0).min(MAX_ACCURACY.as_secs()));
    (seconds
        + Duration::from_millis(part(accuracy.millis))
        + Duration::from_micros(part(accuracy.micros)))
    .min(MAX_ACCURACY)
}

/// The CA certificates `[evidence] tsa_ca_file` names, as trust anchors,
/// and the file's SHA-256 (hex), which the ledger's `config` leaf records.
#[derive(Debug, Clone)]
pub struct TsaTrust {
    anchors: Vec<TrustAnchor<'static>>,
    pub file_sha256: String,
}

impl TsaTrust {
    /// Reads a PEM bundle of CA certificates; an unreadable file, a
    /// malformed block or a certificate that cannot be a trust anchor is an
    /// error that says which and what to do.
    pub fn read(path: &std::path::Path) -> Result<TsaTrust, String> {
        let roots = crate::fetch::tls::read_ca_file(path)?;
        let anchors = roots
            .certs
            .iter()
            .enumerate()
            .map(|(index, cert)| {
                webpki::anchor_from_trusted_cert(cert)
                    .map(|anchor| anchor.to_owned())
                    .map_err(|e| {
                        format!(
                            "certificate {} of {} cannot be a trust anchor ({e}); remove or replace that block",
                            index + 1,
                            path.display()
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TsaTrust {
            anchors,
            file_sha256: roots.file_sha256.unwrap_or_default(),
        })
    }
}

/// A token whose signature, certificate chain and imprint verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    pub info: TokenInfo,
    /// The signer certificate's subject (RFC 4514).
    pub signer: String,
}

impl VerifiedTimestamp {
    /// The TSA's name: as the token states it, else its certificate's subject.
    pub fn tsa_name(&self) -> &str {
        self.info.tsa_name.as_deref().unwrap_or(&self.signer)
    }
}

/// Verifies a `TimeStampToken` (DER `ContentInfo`): its CMS signature, the
/// signed attributes against the `TSTInfo`, the signer's certificate chain
/// to one of `trust`'s CAs at `genTime` with the time-stamping usage, and
/// that its imprint is `expected_imprint` (a SHA-256).
pub fn verify_token(
    token: &[u8],
    trust: &TsaTrust,
    expected_imprint: &[u8],
) -> Result<VerifiedTimestamp, TokenProblem> {
    let (signed, info) = read_token(token)?;
    let signers = signed.signers()?;
    let [signer] = signers.as_slice() else {
        return Err(TokenProblem::SignerCount(signers.len()));
    };
    check_signed_attributes(&signed, signer)?;
    let certificates: Vec<Certificate> = signed
        .certificates
        .iter()
        .flatten()
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(cert) => Some(cert.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let index = certificates
        .iter()
        .position(|cert| identifies(&signer.sid, cert))
        .ok_or(TokenProblem::SignerCertificateMissing)?;
    let der: Vec<CertificateDer<'static>> = certificates
        .iter()
        .map(|cert| cert.to_der().map(CertificateDer::from))
        .collect::<Result<_, _>>()
        .map_err(malformed("certificate"))?;
    let subject = certificates[index].tbs_certificate.subject.to_string();
    let end_entity = EndEntityCert::try_from(&der[index]).map_err(|e| TokenProblem::Chain {
        subject: subject.clone(),
        error: e.to_string(),
    })?;
    check_signature(&end_entity, signer)?;
    check_usage(&certificates[index], &subject)?;
    let intermediates: Vec<CertificateDer<'_>> = der
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, cert)| cert.clone())
        .collect();
    let at = UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(info.gen_time.timestamp()).unwrap_or(0),
    ));
    end_entity
        .verify_for_usage(
            ALGORITHMS,
            &trust.anchors,
            &intermediates,
            at,
            KeyUsage::required(TIME_STAMPING_DER),
            None,
            None,
        )
        .map_err(|e| chain_problem(e, &subject, &info))?;
    info.check_imprint(expected_imprint)?;
    Ok(VerifiedTimestamp {
        info,
        signer: subject,
    })
}

/// The signed attributes: content-type id-ct-TSTInfo and a message digest
/// of the encapsulated content under the signer's digest algorithm.
fn check_signed_attributes(signed: &SignedData, signer: &TokenSigner) -> Result<(), TokenProblem> {
    let content_type = signer
        .single_attribute(CONTENT_TYPE)?
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
    if content_type != Some(TST_INFO) {
        return Err(TokenProblem::ContentType);
    }
    let digest = signer
        .single_attribute(MESSAGE_DIGEST)?
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or(TokenProblem::MessageDigest)?;
    let content: OctetString = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(TokenProblem::NotTstInfo)?
        .decode_as()
        .map_err(malformed("eContent"))?;
    if hash(&signer.digest_alg.oid, content.as_bytes())? != digest.as_bytes() {
        return Err(TokenProblem::MessageDigest);
    }
    Ok(())
}

fn hash(algorithm: &ObjectIdentifier, data: &[u8]) -> Result<Vec<u8>, TokenProblem> {
    Ok(match *algorithm {
        SHA256 => Sha256::digest(data).to_vec(),
        SHA384 => Sha384::digest(data).to_vec(),
        SHA512 => Sha512::digest(data).to_vec(),
        other => return Err(TokenProblem::UnsupportedDigest(digest_name(&other))),
    })
}

fn digest_name(oid: &ObjectIdentifier) -> String {
    match *oid {
        SHA256 => "SHA-256".into(),
        SHA384 => "SHA-384".into(),
        SHA512 => "SHA-512".into(),
        other => other.to_string(),
    }
}

/// Whether `cert` is the one `sid` names.
fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            tbs.issuer == id.issuer && tbs.serial_number == id.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(key_id) => tbs
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == SUBJECT_KEY_IDENTIFIER)
            .any(|e| {
                SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).is_ok_and(|k| k == *key_id)
            }),
    }
}

/// The signature over the DER of the signed attributes as received (RFC
/// 5652 5.4), with the algorithm the SignerInfo names; `rsaEncryption` and
/// `id-ecPublicKey` take their hash from the digest algorithm.
fn check_signature(
    signer_cert: &EndEntityCert<'_>,
    signer: &TokenSigner,
) -> Result<(), TokenProblem> {
    let message = signer.signed_message()?;
    let algorithm = &signer.signature_algorithm;
    let named = algorithm
        .to_der()
        .ok()
        .and_then(|der| Any::from_der(&der).ok())
        .map(|any| any.value().to_vec())
        .unwrap_or_default();
    let digest = signer.digest_alg.oid;
    let candidates: Vec<&dyn SignatureVerificationAlgorithm> = ALGORITHMS
        .iter()
        .copied()
        .filter(|candidate| match algorithm.oid {
            RSA_ENCRYPTION => {
                rsa_pkcs1_with(digest).is_some_and(|id| candidate.signature_alg_id() == id)
            }
            EC_PUBLIC_KEY => {
                ecdsa_with(digest).is_some_and(|id| candidate.signature_alg_id() == id)
            }
            _ => candidate.signature_alg_id().as_ref() == named.as_slice(),
        })
        .collect();
    let mut result = Err(TokenProblem::UnsupportedSignature(format!(
        "{} with {}",
        algorithm.oid,
        digest_name(&digest)
    )));
    for candidate in candidates {
        match signer_cert.verify_signature(candidate, &message, signer.signature.as_bytes()) {
            Ok(()) => return Ok(()),
            Err(webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)) => {}
            Err(_) => result = Err(TokenProblem::BadSignature),
        }
    }
    result
}

fn rsa_pkcs1_with(digest: ObjectIdentifier) -> Option<rustls::pki_types::AlgorithmIdentifier> {
    use rustls::pki_types::alg_id;
    match digest {
        SHA256 => Some(alg_id::RSA_PKCS1_SHA256),
        SHA384 => Some(alg_id::RSA_PKCS1_SHA384),
        SHA512 => Some(alg_id::RSA_PKCS1_SHA512),
        _ => None,
    }
}

fn ecdsa_with(digest: ObjectIdentifier) -> Option<rustls::pki_types::AlgorithmIdentifier> {
    use rustls::pki_types::alg_id;
    match digest {
        SHA256 => Some(alg_id::ECDSA_SHA256),
        SHA384 => Some(alg_id::ECDSA_SHA384),
        SHA512 => Some(alg_id::ECDSA_SHA512),
        _ => None,
    }
}

/// RFC 3161 2.3: one extended key usage extension, critical, naming only
/// id-kp-timeStamping.
fn check_usage(cert: &Certificate, subject: &str) -> Result<(), TokenProblem> {
    let subject = subject.to_string();
    let extension = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == EXTENDED_KEY_USAGE)
        .ok_or_else(|| TokenProblem::NoTimeStampingUsage {
            subject: subject.clone(),
        })?;
    let usage = ExtendedKeyUsage::from_der(extension.extn_value.as_bytes())
        .map_err(malformed("extended key usage"))?;
    if !usage.0.contains(&TIME_STAMPING) {
        return Err(TokenProblem::NoTimeStampingUsage { subject });
    }
    if usage.0.len() != 1 {
        return Err(TokenProblem::UsageNotOnlyTimeStamping { subject });
    }
    if !extension.critical {
        return Err(TokenProblem::UsageNotCritical { subject });
    }
    Ok(())
}

fn chain_problem(error: webpki::Error, subject: &str, info: &TokenInfo) -> TokenProblem {
    let subject = subject.to_string();
    match error {
        // No configured CA's name, or one's name without its key.
        webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
            TokenProblem::UntrustedChain { subject }
        }
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
            TokenProblem::NotValidAtGenTime {
                subject,
                gen_time: info.gen_time.to_rfc3339(),
            }
        }
        #[allow(deprecated)]
        webpki::Error::RequiredEkuNotFoundContext(_) | webpki::Error::RequiredEkuNotFound => {
            TokenProblem::NoTimeStampingUsage { subject }
        }
        other => TokenProblem::Chain {
            subject,
            error: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_der_rfc_3161_describes() {
        let der = request(b"abc", &[0x80, 1]).unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.version, TspVersion::V1);
        assert_eq!(req.message_imprint.hash_algorithm.oid, SHA256);
        assert_eq!(
            hex::encode(req.message_imprint.hashed_message.as_bytes()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // A nonce with its high bit set gets a leading zero: positive.
        assert_eq!(req.nonce.unwrap().as_bytes(), [0, 0x80, 1]);
        assert!(req.cert_req);
        // Version and imprint as `openssl ts -query -sha256` writes them.
        assert_eq!(
            hex::encode(&der[2..56]),
            "0201013031300d060960864801650304020105000420\
             ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn gen_time_may_carry_a_fraction_and_must_be_utc() {
        let time = |text: &str| {
            generalized_time(&Any::new(Tag::GeneralizedTime, text.as_bytes()).unwrap())
        };
        assert_eq!(
            time("20240229235959.5Z").unwrap().to_rfc3339(),
            "2024-02-29T23:59:59.500+00:00"
        );
        assert_eq!(
            time("20240229235959Z").unwrap().to_rfc3339(),
            "2024-02-29T23:59:59+00:00"
        );
        for bad in [
            "20240229235959",
            "20240229235959+0100",
            "2024022923595Z",
            "20240230000000Z",
            "20240229235959.Z5",
            "20240229235959.1234567890Z",
        ] {
            assert!(time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_hostile_accuracy_is_bounded() {
        let huge = Accuracy {
            seconds: Some(u64::MAX),
            millis: Some(999),
            micros: Some(-1),
        };
        assert_eq!(accuracy(&huge), MAX_ACCURACY);
        let usual = Accuracy {
            seconds: None,
            millis: Some(500),
            micros: Some(100),
        };
        assert_eq!(accuracy(&usual), Duration::from_micros(500_100));
    }

    #[test]
    fn refusals_and_garbage_are_named() {
        // status 2 (rejection) with a statusString.
        let refused = hex::decode("300e300c02010230070c056261642061").unwrap();
        let err = parse_response(&refused).unwrap_err().to_string();
        assert!(
            err.contains("PKIStatus 2") && err.contains("bad a"),
            "{err}"
        );
        for garbage in [&[0x30, 0x85, 0, 0, 0, 0, 1][..], &[0x30, 0x05, 0x30], b""] {
            assert!(matches!(
                parse_response(garbage),
                Err(TokenProblem::Malformed { .. })
            ));
        }
    }
}
