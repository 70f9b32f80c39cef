//! PostgreSQL `sslmode` as libpq reads it, over rustls. tokio-postgres itself knows only
//! `disable`, `prefer` and `require`, and needs the TLS connector from us: this module takes
//! `sslmode` (and `sslrootcert`) out of the DSN, and says which connector to use.
//!
//! | sslmode | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | |
//! | `prefer` (the default) | when the server offers it | no |
//! | `require` | always | no |
//! | `verify-ca` | always | chain to `sslrootcert` |
//! | `verify-full` | always | chain to `sslrootcert`, and the host name |

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// What to connect with: the DSN as tokio-postgres takes it, and the TLS setup if any.
pub struct PgTls {
    pub dsn: String,
    pub tls: Option<rustls::ClientConfig>,
}

/// Split `sslmode` and `sslrootcert` off a DSN (URL or `key=value` form) and build the TLS
/// setup they ask for.
pub fn pg_tls(dsn: &str) -> Result<PgTls, String> {
    let (rest, params) = take_params(dsn, &["sslmode", "sslrootcert"]);
    let mode = params
        .iter()
        .find(|(k, _)| k == "sslmode")
        .map_or("prefer", |(_, v)| v.as_str());
    let root = params
        .iter()
        .find(|(k, _)| k == "sslrootcert")
        .map(|(_, v)| v);
    let (pg_mode, check) = match mode {
        "disable" | "allow" => ("disable", None),
        "prefer" => ("prefer", Some(Check::Nothing)),
        "require" => ("require", Some(Check::Nothing)),
        "verify-ca" => ("require", Some(Check::Chain)),
        "verify-full" => ("require", Some(Check::ChainAndName)),
        other => {
            return Err(format!(
                "sslmode '{other}' is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ))
        }
    };
    let dsn = with_param(&rest, "sslmode", pg_mode);
    let Some(check) = check else {
        return Ok(PgTls { dsn, tls: None });
    };
    crate::http::install_tls_provider();
    let roots = match (check, root) {
        (Check::Nothing, _) => None,
        (_, Some(path)) => Some(root_store(path)?),
        (_, None) => {
            return Err(format!(
                "sslmode={mode} needs sslrootcert: the PEM file of the certificate authority to check the server against"
            ))
        }
    };
    let webpki = match roots {
        None => None,
        Some(roots) => Some(
            rustls::client::WebPkiServerVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| format!("sslrootcert: {e}"))?,
        ),
    };
    let verifier = Arc::new(PgVerifier {
        webpki,
        check_name: check == Check::ChainAndName,
        provider: Arc::new(rustls::crypto::ring::default_provider()),
    });
    let tls = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(PgTls {
        dsn,
        tls: Some(tls),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Check {
    Nothing,
    Chain,
    ChainAndName,
}

fn root_store(path: &str) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        CertificateDer::pem_file_iter(path).map_err(|e| format!("sslrootcert {path}: {e}"))?
    {
        let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {path}: no certificate in it"));
    }
    Ok(roots)
}

/// The DSN without the `names` parameters, and their values.
fn take_params(dsn: &str, names: &[&str]) -> (String, Vec<(String, String)>) {
    let mut taken = Vec::new();
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        let (base, query) = dsn.split_once('?').unwrap_or((dsn, ""));
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if names.contains(&k) {
                let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
                taken.push((k.to_owned(), v.into_owned()));
            } else {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return (rest, taken);
    }
    let mut kept = Vec::new();
    for word in dsn.split_whitespace() {
        match word.split_once('=') {
            Some((k, v)) if names.contains(&k) => {
                taken.push((k.to_owned(), v.trim_matches('\'').to_owned()))
            }
            _ => kept.push(word),
        }
    }
    (kept.join(" "), taken)
}

fn with_param(dsn: &str, key: &str, value: &str) -> String {
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        let sep = if dsn.contains('?') { '&' } else { '?' };
        format!("{dsn}{sep}{key}={value}")
    } else {
        format!("{dsn} {key}={value}")
    }
}

/// The certificate check of an sslmode: none for `prefer` and `require` (encrypted, whoever the
/// server is, as libpq means them), the chain to the root for `verify-ca`, the chain and the
/// host name for `verify-full`.
#[derive(Debug)]
struct PgVerifier {
    webpki: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for PgVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_taken_out_of_both_dsn_forms() {
        let t = pg_tls("postgres://u:p@h:5432/db?sslmode=disable&application_name=x").unwrap();
        assert_eq!(
            t.dsn,
            "postgres://u:p@h:5432/db?application_name=x&sslmode=disable"
        );
        assert!(t.tls.is_none());
        let t = pg_tls("host=h dbname=db sslmode=require").unwrap();
        assert_eq!(t.dsn, "host=h dbname=db sslmode=require");
        assert!(t.tls.is_some());
        let t = pg_tls("postgres://h/db").unwrap();
        assert_eq!(t.dsn, "postgres://h/db?sslmode=prefer");
        let err = pg_tls("postgres://h/db?sslmode=verify-full").err().unwrap();
        assert!(err.contains("needs sslrootcert"), "{err}");
        assert!(pg_tls("postgres://h/db?sslmode=sometimes").is_err());
    }
}
