//! `signet sign-digest`: the signer's side of deferred signing. The server prepared a
//! signature for an envelope party (`POST …/parties/{party}/prepare`); this signs its CAdES
//! signed attributes with the party's own key (a PKCS#11 token, a PEM key or a PKCS#12 file)
//! and writes, or uploads, what the server attaches: the raw signature value, or a whole CMS
//! `SignedData` (RFC 5652 §5.4: the signature is computed over the DER `SET OF Attribute`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Args;
use signet_crypto::{
    DigestAlgorithm, Identity, KeyKind, KeyRef, Pkcs11Key, SignatureAlgorithm, SignatureScheme, Signer, TokenRef,
};

use crate::sign::{Usage, one_line};
use crate::{EXIT_USAGE, secret_from_env};

#[derive(Args, Debug)]
#[command(after_help = "The input is the server's answer to POST /api/v1/envelopes/{id}/parties/{party}/prepare
(or /api/v1/signer/prepare), saved as JSON. The output is the body to POST to its upload_path:
{\"preparation_id\": …, \"signature\": …} or, with --cms, {\"preparation_id\": …, \"cms\": …}.
Before writing anything, the signature is checked against the party's certificate in the
preparation: a key that is not the party's is reported here, not by the server. PINs and
passwords are read from environment variables, never from the command line.

Examples:
  # a key on a PKCS#11 token (smart card, HSM, SoftHSM2)
  PIN=1234 signet sign-digest --input preparation.json --output signature.json \\
      --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --slot 0 --pin-env PIN --key-label me
  curl -H \"Authorization: Bearer $KEY\" -H 'Content-Type: application/json' \\
      --data @signature.json http://127.0.0.1:8080/api/v1/envelopes/env_…/parties/pty_…/signature

  # a key file, a whole CMS
  signet sign-digest --input preparation.json --key me.key --cms --output signature.json

  # prepare, sign and upload in one go, as the envelope's sender or the party's user
  SIGNET_KEY=sgk_… PIN=1234 signet sign-digest --url http://127.0.0.1:8080 --api-key-env SIGNET_KEY \\
      --envelope env_… --party pty_… --value fld_…=Director \\
      --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --token-label cards --pin-env PIN --key-id 01")]
pub(crate) struct SignDigestArgs {
    /// The prepare answer (JSON), or - for standard input.
    #[arg(short, long, value_name = "PREPARATION.json")]
    input: Option<PathBuf>,
    /// Where to write the upload body (JSON); - for standard output [default: standard
    /// output, unless the signature is uploaded with --url].
    #[arg(short, long, value_name = "SIGNATURE.json")]
    output: Option<PathBuf>,
    /// PKCS#11 module (shared library) of the token holding the key.
    #[arg(long, value_name = "MODULE.so", env = "SIGNET_PKCS11_MODULE")]
    pkcs11_module: Option<PathBuf>,
    /// The token's slot (CK_SLOT_ID).
    #[arg(long, value_name = "N", conflicts_with = "token_label")]
    slot: Option<u64>,
    /// The token's label (instead of --slot).
    #[arg(long, value_name = "LABEL")]
    token_label: Option<String>,
    /// Environment variable holding the token's user PIN.
    #[arg(long, value_name = "VAR")]
    pin_env: Option<String>,
    /// The private key's label (CKA_LABEL) on the token.
    #[arg(long, value_name = "LABEL", conflicts_with = "key_id")]
    key_label: Option<String>,
    /// The private key's id (CKA_ID) on the token, in hex.
    #[arg(long, value_name = "HEX")]
    key_id: Option<String>,
    /// A private key file, PEM (PKCS#8, encrypted PKCS#8, PKCS#1 or SEC1), instead of a token.
    #[arg(long, value_name = "KEY.pem", conflicts_with = "p12")]
    key: Option<PathBuf>,
    /// Environment variable holding the password of an encrypted --key.
    #[arg(long, value_name = "VAR", requires = "key")]
    key_password_env: Option<String>,
    /// A PKCS#12 file with the key, instead of a token.
    #[arg(long, value_name = "FILE")]
    p12: Option<PathBuf>,
    /// Environment variable holding the PKCS#12 password (default: empty password).
    #[arg(long, value_name = "VAR", requires = "p12")]
    p12_password_env: Option<String>,
    /// Write a whole CMS SignedData (the party's certificate and chain from the preparation,
    /// or --cert and --chain) instead of the raw signature.
    #[arg(long)]
    cms: bool,
    /// The signer certificate, PEM, for --cms (it must be the party's certificate).
    #[arg(long, value_name = "CERT.pem", requires = "cms")]
    cert: Option<PathBuf>,
    /// Issuer certificates to put into the CMS, PEM.
    #[arg(long, value_name = "CHAIN.pem", requires = "cms")]
    chain: Option<PathBuf>,
    /// RSASSA-PSS instead of PKCS#1 v1.5 for an RSA key.
    #[arg(long)]
    pss: bool,
    /// A Signet server to upload the signature to (and to prepare it at, with --envelope and
    /// --party and no --input).
    #[arg(long, value_name = "URL", requires = "api_key_env")]
    url: Option<String>,
    /// Environment variable holding the API key or token for --url.
    #[arg(long, value_name = "VAR", requires = "url")]
    api_key_env: Option<String>,
    /// The envelope whose party's signature to prepare (with --url, without --input).
    #[arg(long, value_name = "ID", requires_all = ["url", "party"], conflicts_with = "input")]
    envelope: Option<String>,
    /// The party (with --envelope).
    #[arg(long, value_name = "ID", requires = "envelope")]
    party: Option<String>,
    /// A text field's value for the preparation (repeat for more).
    #[arg(long = "value", value_name = "FIELD=TEXT", requires = "envelope")]
    values: Vec<String>,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn run(a: SignDigestArgs) -> ExitCode {
    match sign_digest(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet sign-digest: {}", one_line(&e));
            if e.downcast_ref::<Usage>().is_some() { ExitCode::from(EXIT_USAGE) } else { ExitCode::FAILURE }
        }
    }
}

/// What the signing needs of a prepare answer.
struct Prepared {
    id: String,
    envelope_id: String,
    party_id: String,
    digest: DigestAlgorithm,
    signed_attributes: Vec<u8>,
    /// The party's certificate and its issuers, DER, when the answer has them.
    certificate: Option<Vec<u8>>,
    chain: Vec<Vec<u8>>,
    upload_path: String,
}

impl Prepared {
    fn from_json(v: &serde_json::Value) -> anyhow::Result<Prepared> {
        let text = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
        let need = |k: &str| {
            text(k).map(str::to_string).ok_or_else(|| {
                Usage(format!("the preparation has no '{k}': give the server's whole answer to …/prepare"))
            })
        };
        let b64 =
            |k: &str, s: &str| B64.decode(s.trim()).map_err(|_| Usage(format!("the preparation's {k} is not base64")));
        let id = need("preparation_id")?;
        let digest: DigestAlgorithm =
            need("digest_algorithm")?.parse().map_err(|e| Usage(format!("the preparation's digest_algorithm: {e}")))?;
        let signed_attributes = b64("signed_attributes", &need("signed_attributes")?)?;
        let certificate = text("certificate").filter(|c| !c.is_empty()).map(|c| b64("certificate", c)).transpose()?;
        let mut chain = Vec::new();
        for c in v.get("chain").and_then(serde_json::Value::as_array).into_iter().flatten() {
            chain.push(b64("chain", c.as_str().unwrap_or(""))?);
        }
        if let Some(status) = text("status").filter(|s| *s != "pending") {
            bail!(Usage(format!("preparation {id} is {status}: prepare the signature again")));
        }
        Ok(Prepared {
            id,
            envelope_id: text("envelope_id").unwrap_or("").to_string(),
            party_id: text("party_id").unwrap_or("").to_string(),
            digest,
            signed_attributes,
            certificate,
            chain,
            upload_path: text("upload_path").unwrap_or("").to_string(),
        })
    }
}

fn read(p: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| Usage(format!("cannot read {}: {e}", p.display())).into())
}

/// A signing key and the certificates that came with it.
type LoadedKey = (Arc<dyn Signer>, Vec<Vec<u8>>);

/// The signing key and the certificates that came with it (a PKCS#12 file's). `party_cert`
/// (the preparation's) pairs with a PEM key, which may then be encrypted.
fn load_key(a: &SignDigestArgs, party_cert: Option<&[u8]>) -> anyhow::Result<LoadedKey> {
    if let Some(p12) = &a.p12 {
        let password = match &a.p12_password_env {
            Some(v) => secret_from_env(v).map_err(|e| Usage(e.to_string()))?,
            None => String::new(),
        };
        let id =
            Identity::from_pkcs12(&read(p12)?, &password).with_context(|| format!("cannot load {}", p12.display()))?;
        let mut certs = vec![id.certificate.clone()];
        certs.extend(id.chain.iter().cloned());
        return Ok((id.signer, certs));
    }
    if let Some(key) = &a.key {
        let password =
            a.key_password_env.as_deref().map(secret_from_env).transpose().map_err(|e| Usage(e.to_string()))?;
        let pem = read(key)?;
        let signer = match party_cert {
            Some(cert) => {
                let b64 = B64.encode(cert);
                let lines: Vec<&str> =
                    b64.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap_or_default()).collect();
                let cert_pem =
                    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"));
                let id = Identity::from_pem(&pem, password.as_deref().map(str::as_bytes), cert_pem.as_bytes(), None)
                    .map_err(|e| match e {
                        signet_crypto::Error::KeyMismatch => anyhow::anyhow!(
                            "this key is not the party's: it does not match the certificate in the preparation ({})",
                            signet_cms::certpath::subject_to_string(cert).unwrap_or_else(|| "?".into())
                        ),
                        e => anyhow::Error::new(e),
                    })
                    .with_context(|| format!("cannot use the key {}", key.display()))?;
                id.signer
            }
            None => software_key(&pem).with_context(|| format!("cannot load the key {}", key.display()))?,
        };
        return Ok((signer, Vec::new()));
    }
    let Some(module) = &a.pkcs11_module else {
        bail!(Usage(
            "say which key signs: --pkcs11-module PATH (or SIGNET_PKCS11_MODULE) with --slot or --token-label, \
             --pin-env and --key-label or --key-id; or --key KEY.pem; or --p12 FILE"
                .into()
        ));
    };
    if module.components().count() > 1 && !module.is_file() {
        bail!(Usage(format!("the PKCS#11 module {} does not exist", module.display())));
    }
    let token = match (&a.slot, &a.token_label) {
        (Some(n), _) => TokenRef::Slot(*n),
        (None, Some(l)) => TokenRef::Label(l.clone()),
        (None, None) => bail!(Usage("say which token: --slot N or --token-label LABEL".into())),
    };
    let key = match (&a.key_label, &a.key_id) {
        (Some(l), _) => KeyRef::Label(l.clone()),
        (None, Some(h)) => {
            KeyRef::Id(unhex(h).ok_or_else(|| Usage(format!("--key-id '{h}' is not hexadecimal (e.g. 01 or a1b2)")))?)
        }
        (None, None) => bail!(Usage("say which key of the token: --key-label LABEL or --key-id HEX".into())),
    };
    let pin_env =
        a.pin_env.as_deref().ok_or_else(|| Usage("give the token's PIN in a variable: --pin-env VAR".into()))?;
    let pin = secret_from_env(pin_env).map_err(|e| Usage(e.to_string()))?;
    let signer = Pkcs11Key::open(module, &token, &key, &pin).context("cannot use the token's key")?;
    Ok((Arc::new(signer), Vec::new()))
}

/// An unencrypted PEM private key, alone (no certificate to pair it with).
fn software_key(pem: &[u8]) -> anyhow::Result<Arc<dyn Signer>> {
    let text = String::from_utf8_lossy(pem);
    let (label, body) = text
        .split("-----BEGIN ")
        .skip(1)
        .find_map(|block| {
            let (label, rest) = block.split_once("-----")?;
            let body = rest.split("-----END").next()?;
            label.ends_with("PRIVATE KEY").then(|| (label.to_string(), body.to_string()))
        })
        .ok_or_else(|| Usage("no PRIVATE KEY block in the key file".into()))?;
    let compact: String = body.split_whitespace().collect();
    let der = B64.decode(compact).map_err(|_| Usage("the key file's PEM is not base64".into()))?;
    let key = match label.as_str() {
        "PRIVATE KEY" => signet_crypto::SoftwareKey::from_pkcs8_der(&der)?,
        "RSA PRIVATE KEY" => signet_crypto::SoftwareKey::from_pkcs1_der(&der)?,
        "EC PRIVATE KEY" => signet_crypto::SoftwareKey::from_sec1_der(&der)?,
        "ENCRYPTED PRIVATE KEY" => bail!(Usage(
            "an encrypted key needs the party's certificate to be paired with: the preparation has none, give --cms --cert CERT.pem".into()
        )),
        other => bail!(Usage(format!("a '{other}' block is not a private key Signet reads"))),
    };
    Ok(Arc::new(key))
}

/// A key id as typed: hex digits (either case), one optional `0x` prefix and surrounding
/// whitespace; never empty.
fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    hex::decode(s).ok()
}

fn client(a: &SignDigestArgs) -> anyhow::Result<Option<signet_client::Client>> {
    let (Some(url), Some(var)) = (&a.url, &a.api_key_env) else { return Ok(None) };
    let token = secret_from_env(var).map_err(|e| Usage(e.to_string()))?;
    Ok(Some(signet_client::Client::new(url.as_str()).with_token(token)))
}

/// The prepare answer: read from --input, or asked of the server.
fn preparation(a: &SignDigestArgs, client: Option<&signet_client::Client>) -> anyhow::Result<serde_json::Value> {
    if let Some(input) = &a.input {
        let bytes = if input.as_os_str() == "-" {
            let mut b = Vec::new();
            std::io::stdin().read_to_end(&mut b).context("reading standard input")?;
            b
        } else {
            read(input)?
        };
        return serde_json::from_slice(&bytes)
            .map_err(|e| Usage(format!("{} is not the JSON answer of …/prepare: {e}", input.display())).into());
    }
    let (Some(client), Some(envelope), Some(party)) = (client, &a.envelope, &a.party) else {
        bail!(Usage(
            "give --input PREPARATION.json (the answer of …/prepare), or --url with --envelope and --party to prepare here"
                .into()
        ));
    };
    let mut values = std::collections::BTreeMap::new();
    for v in &a.values {
        let (field, text) =
            v.split_once('=').ok_or_else(|| Usage(format!("--value '{v}' is not FIELD=TEXT (e.g. fld_…=Director)")))?;
        values.insert(field.to_string(), text.to_string());
    }
    let prepare = signet_client::PrepareSignature { values, ..Default::default() };
    let prepared =
        client.prepare_party_signature(envelope, party, &prepare).context("preparing the signature on the server")?;
    Ok(serde_json::to_value(prepared)?)
}

fn sign_digest(a: &SignDigestArgs) -> anyhow::Result<()> {
    let client = client(a)?;
    let json = preparation(a, client.as_ref())?;
    let prepared = Prepared::from_json(&json)?;
    let given_cert = a.cert.as_deref().map(certificates).transpose()?.unwrap_or_default();
    let party_cert = prepared.certificate.as_deref().or(given_cert.first().map(Vec::as_slice));
    let (signer, key_certs) = load_key(a, party_cert)?;
    let kind = signer.key_kind();
    let scheme = if a.pss {
        if !matches!(kind, KeyKind::Rsa { .. }) {
            bail!(Usage("--pss needs an RSA key".into()));
        }
        SignatureScheme::RsaPss
    } else {
        kind.default_scheme()
    };
    let signature =
        signer.sign(scheme, prepared.digest, &prepared.signed_attributes).context("the key did not sign")?;

    // the certificate the server checks against: the preparation's, else --cert or the p12's
    let certificate =
        prepared.certificate.clone().or_else(|| given_cert.first().cloned()).or_else(|| key_certs.first().cloned());
    if let Some(cert) = &certificate {
        let alg = SignatureAlgorithm::new(scheme, prepared.digest);
        let spki = signet_crypto::certificate_spki(cert).context("reading the party's certificate")?;
        if signet_crypto::verify_signature(spki, &alg, &prepared.signed_attributes, &signature).is_err() {
            let subject = signet_cms::certpath::subject_to_string(cert).unwrap_or_else(|| "?".into());
            bail!(
                "this key is not the party's: its signature does not verify under the party's certificate ({subject}), \
                 and the server would refuse it"
            );
        }
    }
    let body = if a.cms {
        let Some(cert) = certificate else {
            bail!(Usage("--cms needs the party's certificate: give --cert CERT.pem".into()));
        };
        if let Some(mine) = given_cert.first().filter(|c| prepared.certificate.as_ref().is_some_and(|p| p != *c)) {
            let subject = signet_cms::certpath::subject_to_string(mine).unwrap_or_else(|| "?".into());
            bail!(Usage(format!("--cert ({subject}) is not the party's certificate named in the preparation")));
        }
        let mut chain = prepared.chain.clone();
        if chain.is_empty() {
            chain = given_cert.iter().skip(1).chain(key_certs.iter().skip(1)).cloned().collect();
        }
        if let Some(path) = &a.chain {
            for c in certificates(path)? {
                if c != cert && !chain.contains(&c) {
                    chain.push(c);
                }
            }
        }
        let der = signet_cms::assemble_signed_data(
            &cert,
            &chain,
            prepared.digest,
            scheme,
            &prepared.signed_attributes,
            &signature,
        )
        .context("assembling the CMS")?;
        serde_json::json!({ "preparation_id": prepared.id, "cms": B64.encode(der) })
    } else {
        serde_json::json!({ "preparation_id": prepared.id, "signature": B64.encode(&signature) })
    };

    let text = serde_json::to_string_pretty(&body)? + "\n";
    match (&a.output, &client) {
        (Some(path), _) if path.as_os_str() != "-" => write_atomically(path, text.as_bytes())?,
        (Some(_), _) | (None, None) => std::io::stdout().write_all(text.as_bytes()).context("writing the output")?,
        (None, Some(_)) => {}
    }
    if let Some(client) = &client {
        if !prepared.upload_path.is_empty() && !prepared.upload_path.starts_with("/api/v1/envelopes/") {
            bail!(Usage(format!(
                "this preparation is uploaded from the signing page ({}), not with an API key",
                prepared.upload_path
            )));
        }
        let upload = signet_client::SignatureUpload {
            preparation_id: prepared.id.clone(),
            signature: body.get("signature").and_then(|v| v.as_str()).map(str::to_string),
            cms: body.get("cms").and_then(|v| v.as_str()).map(str::to_string),
        };
        let envelope = client
            .upload_party_signature(&prepared.envelope_id, &prepared.party_id, &upload)
            .context("uploading the signature")?;
        if !a.quiet {
            eprintln!("signed: envelope {} is {}", envelope.id, envelope.status);
        }
    } else if !a.quiet && a.output.as_ref().is_some_and(|p| p.as_os_str() != "-") {
        eprintln!(
            "signed preparation {} ({} over the signed attributes); upload the output to {}",
            prepared.id,
            if a.cms { "a CMS" } else { "the signature" },
            if prepared.upload_path.is_empty() { "the preparation's upload_path" } else { &prepared.upload_path }
        );
    }
    Ok(())
}

fn certificates(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    signet_crypto::certificates_from_pem_or_der(&read(path)?)
        .map_err(|e| Usage(format!("{}: {e}", path.display())).into())
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_as_typed() {
        assert_eq!(unhex("01"), Some(vec![1]));
        assert_eq!(unhex(" 0xA1b2\n"), Some(vec![0xa1, 0xb2]));
        assert_eq!(unhex(""), None);
        assert_eq!(unhex("0x"), None);
        assert_eq!(unhex("0X0f"), Some(vec![0x0f]));
        assert_eq!(unhex("0x0x01"), None);
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
