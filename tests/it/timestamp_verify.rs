//! RFC 3161 tokens verified against `[evidence] tsa_ca_file`: a loopback
//! TSA whose CA the test makes (see `common::tsa`), and tokens re-signed by
//! another CA, over another text, out of time order, or from a certificate
//! without the time-stamping usage, each named by `verify`; and tokens
//! OpenSSL made (`tests/fixtures/tsa`), so the reader meets real DER.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, DurationRound, TimeZone, Utc};
use common::server::Server;
use common::tsa::{Stamp, TestCa, TestTsa, TsaState, Usage, granted, loopback};
use common::{FAST_HTTP, Harness, scopewatch};
use der::Decode;
use rusqlite::Connection;
use scopewatch::evidence::rfc3161::{self, TokenProblem, TsaTrust};
use sha2::{Digest as _, Sha256};

struct Setup {
    h: Harness,
    ca: TestCa,
    ca_file: PathBuf,
    _ca_dir: tempfile::TempDir,
    state: Arc<Mutex<TsaState>>,
    server: Server,
}

/// A page and a loopback TSA whose CA `tsa_ca_file` names.
fn setup() -> Setup {
    let ca = TestCa::new("Test TSA CA");
    let ca_dir = tempfile::tempdir().unwrap();
    let ca_file = ca_dir.path().join("tsa-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let state = Arc::new(Mutex::new(TsaState {
        tsa: TestTsa::new(&ca, Usage::TimeStamping),
        gen_time: None,
    }));
    let server = loopback(state.clone());
    let h = Harness::new(&config(&server, Some(&ca_file)));
    Setup {
        h,
        ca,
        ca_file,
        _ca_dir: ca_dir,
        state,
        server,
    }
}

fn config(server: &Server, ca_file: Option<&Path>) -> String {
    let ca = ca_file
        .map(|f| format!("tsa_ca_file = \"{}\"\n", f.display()))
        .unwrap_or_default();
    format!(
        "{FAST_HTTP}[evidence]\ntsa_url = \"{}\"\ntsa_timeout = \"2s\"\n{ca}\
         [[source]]\nid = \"page\"\nurl = \"{}\"\n",
        server.url("/tsa"),
        server.url("/page")
    )
}

fn check(h: &Harness) {
    let out = scopewatch(&h.config_path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
}

fn verify(config: &Path, bundle: Option<&Path>) -> (i32, String) {
    let mut args = vec!["verify"];
    args.extend(bundle.map(|b| b.to_str().unwrap()));
    let out = scopewatch(config, &args);
    (out.status.code().unwrap(), common::output_text(&out))
}

fn count(h: &Harness, sql: &str) -> i64 {
    Connection::open(h.db_path())
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// The signed text of checkpoint `id`.
fn checkpoint_text(h: &Harness, id: i64) -> String {
    scopewatch::store::Store::open_reader(&h.db_path())
        .unwrap()
        .checkpoint(id)
        .unwrap()
        .unwrap()
        .text()
}

/// The time checkpoint `id` states.
fn checkpoint_at(h: &Harness, id: i64) -> String {
    scopewatch::store::Store::open_reader(&h.db_path())
        .unwrap()
        .checkpoint(id)
        .unwrap()
        .unwrap()
        .at
}

/// Replaces checkpoint `id`'s stored token, as an operator with the
/// database can (the trigger that refuses updates dropped first).
fn replace_token(h: &Harness, id: i64, reply: &[u8]) {
    let conn = Connection::open(h.db_path()).unwrap();
    conn.execute_batch("DROP TRIGGER IF EXISTS checkpoint_timestamps_no_update")
        .unwrap();
    let changed = conn
        .execute(
            "UPDATE checkpoint_timestamps SET response = ?1 WHERE checkpoint_id = ?2",
            rusqlite::params![reply, id],
        )
        .unwrap();
    assert_eq!(changed, 1, "checkpoint {id} had a token");
}

/// Two sweeps, each checkpoint stamped by the loopback TSA.
fn stamped_twice() -> Setup {
    let s = setup();
    check(&s.h);
    check(&s.h);
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM checkpoint_timestamps"), 2);
    s
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

#[test]
fn tokens_from_a_loopback_tsa_verify_against_the_ca_the_config_names() {
    let s = stamped_twice();
    let (code, out) = verify(&s.h.config_path(), None);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("timestamps:"), "checked, so no info: {out}");
    // The CA file in force is in the ledger's config leaf.
    let ca_sha256 = scopewatch::hash::Digest::of(&std::fs::read(&s.ca_file).unwrap()).to_hex();
    assert_eq!(
        count(
            &s.h,
            &format!(
                r#"SELECT COUNT(*) FROM ledger WHERE leaf LIKE '%"tsa_ca_sha256":"{ca_sha256}"%'"#
            )
        ),
        1
    );

    let bundle = s.h.dir.path().join("bundle");
    let out = scopewatch(
        &s.h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    let (code, out) = verify(&s.h.config_path(), Some(&bundle));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("timestamps:"), "{out}");

    // Without tsa_ca_file, verify says what it did not check.
    let unchecked = s.h.dir.path().join("no-ca.toml");
    std::fs::write(
        &unchecked,
        format!(
            "[storage]\ndatabase = \"scopewatch.db\"\n{}",
            config(&s.server, None)
        ),
    )
    .unwrap();
    for bundle in [None, Some(bundle.as_path())] {
        let (code, out) = verify(&unchecked, bundle);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("info: timestamps: the tokens' CMS signatures and certificate chains were not checked"),
            "{out}"
        );
    }
}

#[test]
fn a_token_re_signed_by_another_ca_is_named() {
    let s = stamped_twice();
    let bundle = s.h.dir.path().join("bundle");
    let out = scopewatch(
        &s.h.config_path(),
        &["export", "--out", bundle.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));

    let other = TestTsa::new(&TestCa::new("Test TSA CA"), Usage::TimeStamping);
    let forged = other.reply(&Stamp::of(
        checkpoint_text(&s.h, 2).as_bytes(),
        scopewatch::clock::now(),
    ));
    replace_token(&s.h, 2, &forged);
    let (code, out) = verify(&s.h.config_path(), None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("timestamp of checkpoint 2: signed by a certificate that does not chain to the configured TSA CA"),
        "{out}"
    );
    assert!(!out.contains("checkpoint 1:"), "{out}");

    std::fs::write(bundle.join("ledger/checkpoints/000002.tsr"), &forged).unwrap();
    let (code, out) = verify(&s.h.config_path(), Some(&bundle));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "ledger/checkpoints/000002.tsr: signed by a certificate that does not chain to the configured TSA CA"
        ),
        "{out}"
    );
}

#[test]
fn a_token_over_another_text_names_its_checkpoint() {
    let s = stamped_twice();
    let tsa = TestTsa::new(&s.ca, Usage::TimeStamping);
    replace_token(
        &s.h,
        2,
        &tsa.reply(&Stamp::of(
            &checkpoint_text(&s.h, 1).into_bytes(),
            scopewatch::clock::now(),
        )),
    );
    let (code, out) = verify(&s.h.config_path(), None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("timestamp of checkpoint 2: message imprint does not match checkpoint 2"),
        "{out}"
    );
}

#[test]
fn a_checkpoint_timestamped_before_the_one_it_extends_is_named() {
    let s = setup();
    // Both after the checkpoints were signed, as a TSA's times are; the
    // second before the first.
    let noon = hour(scopewatch::clock::now()) + chrono::Duration::hours(2);
    let earlier = noon - chrono::Duration::hours(1);
    s.state.lock().unwrap().gen_time = Some(noon);
    check(&s.h);
    s.state.lock().unwrap().gen_time = Some(earlier);
    check(&s.h);
    // Such a token is not kept: it would put the tokens out of order.
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM checkpoint_timestamps"), 1);
    // The operator stores it anyway.
    let tsa = TestTsa::new(&s.ca, Usage::TimeStamping);
    let reply = tsa.reply(&Stamp::of(checkpoint_text(&s.h, 2).as_bytes(), earlier));
    Connection::open(s.h.db_path())
        .unwrap()
        .execute(
            "INSERT INTO checkpoint_timestamps (checkpoint_id, tsa_url, at, response)
             VALUES (2, ?1, ?2, ?3)",
            rusqlite::params![s.server.url("/tsa"), earlier.to_rfc3339(), reply],
        )
        .unwrap();
    let (code, out) = verify(&s.h.config_path(), None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "timestamp of checkpoint 2: checkpoint 2 was timestamped at {}, before checkpoint 1 it extends ({})",
            (noon - chrono::Duration::hours(1)).to_rfc3339(),
            noon.to_rfc3339()
        )),
        "{out}"
    );
    assert_eq!(out.matches("timestamped at").count(), 1, "{out}");
    assert_eq!(out.lines().count(), 2, "one finding and the count: {out}");
}

/// `at` to the whole hour, as a token's genTime without fractions reads.
fn hour(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(chrono::Duration::hours(1)).unwrap()
}

#[test]
fn a_token_earlier_than_its_checkpoint_and_checkpoints_going_back_are_named() {
    let s = setup();
    // The TSA says it saw checkpoint 1 two hours before it was signed.
    let early = hour(scopewatch::clock::now()) - chrono::Duration::hours(2);
    s.state.lock().unwrap().gen_time = Some(early);
    check(&s.h);
    let (code, out) = verify(&s.h.config_path(), None);
    assert_eq!(code, 1, "{out}");
    let signed_at = checkpoint_at(&s.h, 1);
    assert!(
        out.contains(&format!(
            "timestamp of checkpoint 1: checkpoint 1 states it was signed at {signed_at}, but the TSA stamped it at {}",
            early.to_rfc3339()
        )) && out.contains("a token cannot precede what it stamps"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 2, "one finding and the count: {out}");
}

#[test]
fn a_checkpoint_re_signed_with_an_earlier_time_than_its_predecessor_is_named() {
    let server = Server::start(|_| common::server::Reply::html("<main><p>ISO 27001</p></main>"));
    let h = Harness::new(&format!(
        "{FAST_HTTP}[[source]]\nid = \"page\"\nurl = \"{}\"\n",
        server.url("/page")
    ));
    check(&h);
    check(&h);
    assert_eq!(verify(&h.config_path(), None).0, 0);
    // The operator, who holds the key, dates checkpoint 2 a day before
    // checkpoint 1 and signs it again.
    let conn = Connection::open(h.db_path()).unwrap();
    let mut second = scopewatch::store::Store::open_reader(&h.db_path())
        .unwrap()
        .checkpoint(2)
        .unwrap()
        .unwrap();
    second.at = scopewatch::clock::format(at(&checkpoint_at(&h, 1)) - chrono::Duration::days(1));
    let signer =
        scopewatch::evidence::Signer::load(&h.dir.path().join("scopewatch-signing-key.pem"))
            .unwrap();
    second.signature = hex::encode(signer.sign(second.text().as_bytes()));
    conn.execute_batch("DROP TRIGGER IF EXISTS checkpoints_no_update")
        .unwrap();
    conn.execute(
        "UPDATE checkpoints SET at = ?1, signature = ?2 WHERE id = 2",
        rusqlite::params![second.at, second.signature],
    )
    .unwrap();
    let (code, out) = verify(&h.config_path(), None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "checkpoint 2 (tree size {}): signed at {}, before checkpoint 1 it extends",
            second.tree_size, second.at
        )),
        "{out}"
    );
    assert_eq!(out.lines().count(), 2, "one finding and the count: {out}");
}

#[test]
fn a_tsa_certificate_without_the_time_stamping_usage_is_named() {
    let s = stamped_twice();
    for (id, usage, problem) in [
        (
            1,
            Usage::None,
            "has no id-kp-timeStamping extended key usage",
        ),
        (2, Usage::NotCritical, "extended key usage is not critical"),
    ] {
        let tsa = TestTsa::new(&s.ca, usage);
        let text = checkpoint_text(&s.h, id);
        replace_token(
            &s.h,
            id,
            &tsa.reply(&Stamp::of(text.as_bytes(), scopewatch::clock::now())),
        );
        let (code, out) = verify(&s.h.config_path(), None);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!(
                "timestamp of checkpoint {id}: the TSA certificate"
            )) && out.contains(problem),
            "{out}"
        );
    }
}

#[test]
fn a_token_that_does_not_verify_is_not_kept() {
    let s = setup();
    s.state.lock().unwrap().tsa = TestTsa::new(&TestCa::new("Another CA"), Usage::TimeStamping);
    check(&s.h);
    assert_eq!(count(&s.h, "SELECT COUNT(*) FROM checkpoint_timestamps"), 0);
    let error: String = Connection::open(s.h.db_path())
        .unwrap()
        .query_row("SELECT error FROM timestamp_failures", [], |r| r.get(0))
        .unwrap();
    assert!(
        error.contains("does not verify against [evidence] tsa_ca_file: signed by a certificate that does not chain"),
        "{error}"
    );
    assert_eq!(
        count(
            &s.h,
            "SELECT COUNT(*) FROM events WHERE kind = 'timestamp-failed'"
        ),
        1
    );
}

fn signed_data(token: &[u8]) -> cms::signed_data::SignedData {
    cms::content_info::ContentInfo::from_der(token)
        .unwrap()
        .content
        .decode_as()
        .unwrap()
}

fn trust(ca: &TestCa) -> (tempfile::TempDir, TsaTrust) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ca.pem");
    std::fs::write(&file, ca.pem()).unwrap();
    let trust = TsaTrust::read(&file).unwrap();
    (dir, trust)
}

#[test]
fn altered_tokens_are_named_by_what_was_altered() {
    let ca = TestCa::new("Test TSA CA");
    let (_dir, trust) = trust(&ca);
    let message = b"scopewatch checkpoint v1\n";
    let imprint = Sha256::digest(message);
    let stamp = Stamp::of(message, at("2026-03-01T12:00:00Z"));
    for algorithm in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
    ] {
        let tsa = TestTsa::with(&ca, Usage::TimeStamping, algorithm);
        let verified = rfc3161::verify_token(&tsa.token(&stamp), &trust, &imprint).unwrap();
        assert_eq!(verified.info.gen_time, stamp.gen_time);
        assert_eq!(verified.info.serial, "2a");
        assert_eq!(verified.tsa_name(), "CN=Test TSA");
    }
    let tsa = TestTsa::new(&ca, Usage::TimeStamping);
    let problem = |token: Vec<u8>| rfc3161::verify_token(&token, &trust, &imprint).unwrap_err();

    // The TSTInfo swapped for one over another text, signature kept.
    let other = tsa.token(&Stamp::of(b"another text", stamp.gen_time));
    let other_content = signed_data(&other).encap_content_info.econtent;
    assert_eq!(
        problem(tsa.token_with(&stamp, |signed, _| {
            signed.encap_content_info.econtent = other_content
        })),
        TokenProblem::MessageDigest
    );
    assert_eq!(
        problem(tsa.token_with(&stamp, |signed, _| {
            let mut signer = signed.signer_infos.0.as_slice()[0].clone();
            let mut bytes = signer.signature.as_bytes().to_vec();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            signer.signature = der::asn1::OctetString::new(bytes).unwrap();
            signed.signer_infos = vec![signer].try_into().unwrap();
        })),
        TokenProblem::BadSignature
    );
    assert_eq!(
        problem(tsa.token_with(&stamp, |signed, _| signed.certificates = None)),
        TokenProblem::SignerCertificateMissing
    );
    // Before the certificate's notBefore (1975, rcgen's default).
    assert!(matches!(
        problem(tsa.token(&Stamp::of(message, at("1971-01-01T00:00:00Z")))),
        TokenProblem::NotValidAtGenTime { .. }
    ));
    assert!(matches!(
        rfc3161::verify_token(&tsa.token(&stamp), &trust, &Sha256::digest(b"other")),
        Err(TokenProblem::Imprint { .. })
    ));
    // Signed attributes as received, not as DER would sort them: the
    // signature covers the bytes the TSA sent.
    let unsorted = tsa.token_with_unsorted_attributes(&stamp);
    assert_ne!(unsorted, tsa.token(&stamp));
    let verified = rfc3161::verify_token(&unsorted, &trust, &imprint).unwrap();
    assert_eq!(verified.info.gen_time, stamp.gen_time);
    // A reply, as stored, reads back to the same token.
    let token = tsa.token(&stamp);
    assert_eq!(
        rfc3161::parse_response(&granted(&token)).unwrap().token,
        token
    );
}

/// `tests/fixtures/tsa/NAME`.
fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tsa")
            .join(name),
    )
    .unwrap()
}

#[test]
fn tokens_openssl_made_verify_against_their_ca() {
    let trust =
        TsaTrust::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tsa/ca.pem"))
            .unwrap();
    let imprint = Sha256::digest(fixture("checkpoint.txt"));
    let listing = String::from_utf8(fixture("tokens.txt")).unwrap();
    // What `openssl ts -reply -text` printed for each reply.
    let times: Vec<DateTime<Utc>> = listing
        .lines()
        .filter_map(|line| line.strip_prefix("Time stamp: "))
        .map(|text| {
            Utc.from_utc_datetime(
                &chrono::NaiveDateTime::parse_from_str(text, "%b %e %H:%M:%S%.f %Y GMT").unwrap(),
            )
        })
        .collect();
    assert_eq!(times.len(), 2, "{listing}");
    for (name, time, signer) in [
        ("rsa.tsr", times[0], "rsa TSA"),
        ("ec384.tsr", times[1], "ec384 TSA"),
    ] {
        let granted = rfc3161::parse_response(&fixture(name)).unwrap();
        let verified = rfc3161::verify_token(&granted.token, &trust, &imprint)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.info.gen_time, time, "{name}");
        assert_eq!(verified.info.policy, "1.2.3.4.1");
        assert_eq!(verified.info.accuracy, std::time::Duration::from_secs(1));
        assert!(verified.signer.contains(signer), "{}", verified.signer);
        // Against another CA, and over another text.
        let (_dir, other) = trust_of_new_ca();
        assert!(matches!(
            rfc3161::verify_token(&granted.token, &other, &imprint),
            Err(TokenProblem::UntrustedChain { .. })
        ));
        assert!(matches!(
            rfc3161::verify_token(&granted.token, &trust, &Sha256::digest(b"x")),
            Err(TokenProblem::Imprint { .. })
        ));
    }
    assert!(
        times[0].timestamp_subsec_millis() > 0 || listing.contains(".000"),
        "the RSA token's genTime has milliseconds: {listing}"
    );
    // RSASSA-PSS, signed by `openssl cms`.
    let pss = fixture("rsa-pss.der");
    let verified = rfc3161::verify_token(&pss, &trust, &imprint).unwrap();
    assert_eq!(verified.info.gen_time, times[0]);
    let mut flipped = pss.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert_eq!(
        rfc3161::verify_token(&flipped, &trust, &imprint).unwrap_err(),
        TokenProblem::BadSignature
    );
}

fn trust_of_new_ca() -> (tempfile::TempDir, TsaTrust) {
    trust(&TestCa::new("Unrelated CA"))
}

#[test]
fn a_ca_file_that_is_not_pem_certificates_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopewatch.toml");
    std::fs::write(dir.path().join("tsa.pem"), "not a certificate\n").unwrap();
    let text = "[evidence]\ntsa_ca_file = \"tsa.pem\"\n";
    std::fs::write(&config, text).unwrap();
    let err = scopewatch::config::parse(text, &config).unwrap_err();
    let issue = &err.issues[0];
    assert_eq!(
        (issue.key.as_str(), issue.line, issue.column),
        ("evidence.tsa_ca_file", 2, 15)
    );
    assert!(
        issue.message.contains("no CERTIFICATE block"),
        "{}",
        issue.message
    );
    let out = scopewatch(&config, &["config", "check"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        common::output_text(&out).contains("scopewatch.toml:2:15: evidence.tsa_ca_file"),
        "{}",
        common::output_text(&out)
    );
}

#[test]
fn a_slow_tsa_answering_after_a_later_checkpoint_was_stamped_stores_no_token_out_of_order() {
    let ca = TestCa::new("Test TSA CA");
    let ca_dir = tempfile::tempdir().unwrap();
    let ca_file = ca_dir.path().join("tsa-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let noon = hour(scopewatch::clock::now()) + chrono::Duration::hours(2);
    // The page, and a TSA that answers at once, stamping at 11:00.
    let fast = loopback(Arc::new(Mutex::new(TsaState {
        tsa: TestTsa::new(&ca, Usage::TimeStamping),
        gen_time: Some(noon - chrono::Duration::hours(1)),
    })));
    // A slow TSA: it holds its request until the test lets it answer,
    // then stamps at noon, as a TSA that signs when it gets to it.
    let (asked, asked_rx) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (asked, released) = (Mutex::new(asked), Mutex::new(released));
    let slow_tsa = TestTsa::new(&ca, Usage::TimeStamping);
    let slow = Server::start(move |req| {
        let request = x509_tsp::TimeStampReq::from_der(&req.body).expect("a TimeStampReq");
        asked.lock().unwrap().send(()).unwrap();
        released.lock().unwrap().recv().unwrap();
        let stamp = Stamp {
            imprint: request.message_imprint.hashed_message.as_bytes().to_vec(),
            nonce: request.nonce,
            gen_time: noon,
        };
        common::server::Reply::ok("application/timestamp-reply", slow_tsa.reply(&stamp))
    });
    let h = Harness::new(&config(&fast, Some(&ca_file)));
    let beside = h.dir.path().join("beside.toml");
    std::fs::write(
        &beside,
        format!(
            "[storage]\ndatabase = \"scopewatch.db\"\n{}",
            config(&fast, Some(&ca_file))
                .replace(&fast.url("/tsa"), &slow.url("/tsa"))
                .replace("tsa_timeout = \"2s\"", "tsa_timeout = \"60s\"")
        ),
    )
    .unwrap();

    // One `check` signs checkpoint 1 and waits for the slow TSA; meanwhile
    // another signs checkpoint 2 and has it stamped; then the slow answer.
    let first = common::scopewatch_command(&beside)
        .arg("check")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    asked_rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the first check asks the slow TSA");
    check(&h);
    release.send(()).unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", common::output_text(&first));

    let conn = Connection::open(h.db_path()).unwrap();
    let stamped: Vec<i64> = conn
        .prepare("SELECT checkpoint_id FROM checkpoint_timestamps")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stamped, [2], "the later checkpoint's token bounds both");
    let (code, out) = verify(&h.config_path(), None);
    assert_eq!(code, 0, "{out}");
}
