//! A time-stamping authority for tests: a CA made with rcgen, TSA
//! certificates it issues (with or without the time-stamping usage), and
//! RFC 3161 tokens they sign, built from RustCrypto's CMS types, at any
//! `genTime` over any imprint. [`loopback`] serves them over HTTP on
//! 127.0.0.1 as a TSA does.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use cmpv2::status::{PkiStatus, PkiStatusInfo};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, SignatureAlgorithm, SigningKey,
};
use sha2::{Digest as _, Sha256, Sha384};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use super::server::{Reply, Server};

const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

/// A CA that issues TSA certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = KeyPair::generate().unwrap();
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    /// The CA certificate, PEM: what `[evidence] tsa_ca_file` holds.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }
}

/// The extended key usage a TSA certificate is issued with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// id-kp-timeStamping only, critical: as RFC 3161 requires.
    TimeStamping,
    /// id-kp-timeStamping, not critical.
    NotCritical,
    /// No extended key usage at all.
    None,
}

/// A TSA certificate and its key.
pub struct TestTsa {
    key: KeyPair,
    cert: Certificate,
    digest: ObjectIdentifier,
    signature: ObjectIdentifier,
}

/// What a token asserts.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// SHA-256 of the stamped message.
    pub imprint: Vec<u8>,
    pub nonce: Option<Int>,
    pub gen_time: DateTime<Utc>,
}

impl Stamp {
    /// A stamp of `message` at `gen_time`, without a nonce.
    pub fn of(message: &[u8], gen_time: DateTime<Utc>) -> Stamp {
        Stamp {
            imprint: Sha256::digest(message).to_vec(),
            nonce: None,
            gen_time,
        }
    }
}

impl TestTsa {
    /// An ECDSA P-256 TSA certificate from `ca`.
    pub fn new(ca: &TestCa, usage: Usage) -> TestTsa {
        Self::with(ca, usage, &rcgen::PKCS_ECDSA_P256_SHA256)
    }

    /// A TSA certificate from `ca` with a key for `algorithm` (ECDSA P-256
    /// with SHA-256 or P-384 with SHA-384), which also signs its tokens.
    pub fn with(ca: &TestCa, usage: Usage, algorithm: &'static SignatureAlgorithm) -> TestTsa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "Test TSA");
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        match usage {
            Usage::TimeStamping => {
                // SEQUENCE { id-kp-timeStamping }, critical (rcgen's own
                // extended key usage extension is never critical).
                let mut eku = CustomExtension::from_oid_content(
                    &[2, 5, 29, 37],
                    vec![
                        0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
                    ],
                );
                eku.set_criticality(true);
                params.custom_extensions.push(eku);
            }
            Usage::NotCritical => {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::TimeStamping];
            }
            Usage::None => {}
        }
        let key = KeyPair::generate_for(algorithm).unwrap();
        let der = params.signed_by(&key, &ca.issuer).unwrap();
        let (digest, signature) = if algorithm == &rcgen::PKCS_ECDSA_P384_SHA384 {
            (SHA384, ECDSA_SHA384)
        } else {
            (SHA256, ECDSA_SHA256)
        };
        TestTsa {
            key,
            cert: Certificate::from_der(der.der()).unwrap(),
            digest,
            signature,
        }
    }

    /// A `TimeStampToken` (DER `ContentInfo`) for `stamp`.
    pub fn token(&self, stamp: &Stamp) -> Vec<u8> {
        self.token_with(stamp, |_, _| {})
    }

    /// [`TestTsa::token`], with `alter` applied to the `SignedData` (and
    /// the DER of the `TSTInfo` it holds) after signing.
    pub fn token_with(&self, stamp: &Stamp, alter: impl FnOnce(&mut SignedData, &[u8])) -> Vec<u8> {
        let seconds = u64::try_from(stamp.gen_time.timestamp()).unwrap();
        let tst = TstInfo {
            version: TspVersion::V1,
            policy: ObjectIdentifier::new_unwrap("1.2.3.4.1"),
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid: SHA256,
                    parameters: Some(Any::null()),
                },
                hashed_message: OctetString::new(stamp.imprint.clone()).unwrap(),
            },
            serial_number: Int::new(&[0x2a]).unwrap(),
            gen_time: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(seconds))
                .unwrap(),
            accuracy: None,
            ordering: false,
            nonce: stamp.nonce.clone(),
            tsa: None,
            extensions: None,
        }
        .to_der()
        .unwrap();
        let digest = if self.digest == SHA384 {
            Sha384::digest(&tst).to_vec()
        } else {
            Sha256::digest(&tst).to_vec()
        };
        let attribute = |oid, value: Any| Attribute {
            oid,
            values: SetOfVec::try_from(vec![value]).unwrap(),
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(CONTENT_TYPE, Any::encode_from(&TST_INFO).unwrap()),
            attribute(
                MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(digest).unwrap()).unwrap(),
            ),
        ])
        .unwrap();
        let signature = self.key.sign(&signed_attrs.to_der().unwrap()).unwrap();
        let tbs = &self.cert.tbs_certificate;
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer.clone(),
                serial_number: tbs.serial_number.clone(),
            }),
            digest_alg: AlgorithmIdentifierOwned {
                oid: self.digest,
                parameters: None,
            },
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: self.signature,
                parameters: None,
            },
            signature: OctetString::new(signature).unwrap(),
            unsigned_attrs: None,
        };
        let mut signed = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![AlgorithmIdentifierOwned {
                oid: self.digest,
                parameters: None,
            }])
            .unwrap(),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: TST_INFO,
                econtent: Some(Any::encode_from(&OctetString::new(tst.clone()).unwrap()).unwrap()),
            },
            certificates: Some(
                CertificateSet::try_from(vec![CertificateChoices::Certificate(self.cert.clone())])
                    .unwrap(),
            ),
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer]).unwrap(),
        };
        alter(&mut signed, &tst);
        ContentInfo {
            content_type: SIGNED_DATA,
            content: Any::encode_from(&signed).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    /// [`TestTsa::token`], but with its two signed attributes in the other
    /// order than DER sorts them (message digest first), and signed over
    /// those bytes as they stand: what a TSA that does not sort writes.
    pub fn token_with_unsorted_attributes(&self, stamp: &Stamp) -> Vec<u8> {
        let token = self.token(stamp);
        let signed: SignedData = ContentInfo::from_der(&token)
            .unwrap()
            .content
            .decode_as()
            .unwrap();
        let signer = signed.signer_infos.0.as_slice()[0].clone();
        let attributes: Vec<Vec<u8>> = signer
            .signed_attrs
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.to_der().unwrap())
            .collect();
        let [content_type, digest] = attributes.as_slice() else {
            panic!("two signed attributes");
        };
        let sorted = [content_type.as_slice(), digest].concat();
        let unsorted = [digest.as_slice(), content_type].concat();
        let mut token = replace_once(&token, &sorted, &unsorted);
        let mut message = signer.signed_attrs.as_ref().unwrap().to_der().unwrap();
        message = replace_once(&message, &sorted, &unsorted);
        // ECDSA signatures vary in length; one as long as the old one
        // keeps every enclosing length as it is.
        let old = signer.signature.as_bytes();
        let new = (0..1000)
            .map(|_| self.key.sign(&message).unwrap())
            .find(|s| s.len() == old.len())
            .unwrap();
        token = replace_once(&token, old, &new);
        token
    }

    /// A granted `TimeStampResp` holding [`TestTsa::token`].
    pub fn reply(&self, stamp: &Stamp) -> Vec<u8> {
        granted(&self.token(stamp))
    }
}

/// `bytes` with the one occurrence of `from` replaced by `to`.
fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at: Vec<usize> = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "exactly one occurrence");
    [&bytes[..at[0]], to, &bytes[at[0] + from.len()..]].concat()
}

/// A granted `TimeStampResp` around `token`.
pub fn granted(token: &[u8]) -> Vec<u8> {
    TimeStampResp {
        status: PkiStatusInfo {
            status: PkiStatus::Accepted,
            status_string: None,
            fail_info: None,
        },
        time_stamp_token: Some(ContentInfo::from_der(token).unwrap()),
    }
    .to_der()
    .unwrap()
}

/// What the loopback TSA signs with and what time it says: tests change
/// both between sweeps.
pub struct TsaState {
    pub tsa: TestTsa,
    /// `genTime` of the next tokens; `None`: now.
    pub gen_time: Option<DateTime<Utc>>,
}

/// An RFC 3161 TSA on 127.0.0.1 at `/tsa`: it answers each
/// `TimeStampReq` with a token over its imprint and nonce, signed with
/// `state`'s TSA at `state`'s time.
pub fn loopback(state: Arc<Mutex<TsaState>>) -> Server {
    Server::start(move |req| {
        if req.path != "/tsa" {
            return Reply::html("<main><p>ISO 27001: Compute</p></main>");
        }
        let request = TimeStampReq::from_der(&req.body).expect("a TimeStampReq");
        let state = state.lock().unwrap();
        let stamp = Stamp {
            imprint: request.message_imprint.hashed_message.as_bytes().to_vec(),
            nonce: request.nonce,
            gen_time: state.gen_time.unwrap_or_else(scopewatch::clock::now),
        };
        Reply::ok("application/timestamp-reply", state.tsa.reply(&stamp))
    })
}
