//! The `tls` field of the connectors (Bento's shape). TLS itself is rustls with the ring
//! provider; a `…s://` URL (amqps, rediss) turns it on with the web PKI roots, and this field
//! adds custom root CAs and a client certificate.

use crate::components::{BuildCtx, BuildError};
use crate::spec::{component_config, FieldSpec, FieldType};

component_config! {
    #[derive(Clone, Default)]
    pub struct TlsConfig {
        pub enabled: bool = bool("Whether custom TLS settings are enabled.").default(false),
        pub skip_cert_verify: bool = bool("Whether to skip server side certificate verification (the HTTP components only: the AMQP and Redis clients refuse it).").default(false),
        pub enable_renegotiation: bool = bool("Whether to allow the remote server to repeatedly request renegotiation (not supported: rustls does not renegotiate, so it must stay false).").default(false),
        pub root_cas: String = string("An optional root certificate authority to use, as a PEM string.").default("").example("-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----"),
        pub root_cas_file: String = string("An optional path of a root certificate authority file (PEM).").default("").example("./root_cas.pem"),
        pub client_certs: Vec<ClientCert> = array(FieldType::Object(ClientCert::fields()), "A list of client certificates to use; only the first is used.").default(serde_json::json!([])),
    }
}

component_config! {
    #[derive(Clone, Default)]
    #[serde(default)]
    pub struct ClientCert {
        pub cert: String = string("A plain text certificate to use (PEM).").default(""),
        pub key: String = string("A plain text certificate key to use (PEM, PKCS#8).").default(""),
        pub cert_file: String = string("The path of a certificate to use.").default(""),
        pub key_file: String = string("The path of a certificate key to use.").default(""),
        pub password: String = string("A password for an encrypted key (not supported: must be empty).").default(""),
    }
}

/// A client certificate and its key, both PEM.
pub type CertAndKey = (Vec<u8>, Vec<u8>);

pub fn tls_field() -> FieldSpec {
    FieldSpec::object(
        "tls",
        "Custom TLS settings can be used to override system defaults.",
        TlsConfig::fields(),
    )
    .default(serde_json::json!({}))
    .advanced()
}

impl TlsConfig {
    /// The settings the AMQP and Redis clients can honour.
    pub fn check(&self, ctx: &BuildCtx) -> Result<(), BuildError> {
        if self.enabled && self.skip_cert_verify {
            return Err(
                ctx.error("tls.skip_cert_verify is not supported by engine for this component")
            );
        }
        self.check_common().map_err(|e| ctx.error(e))
    }

    /// The settings no client of engine's honours.
    pub fn check_common(&self) -> Result<(), String> {
        if self.client_certs.iter().any(|c| !c.password.is_empty()) {
            return Err("tls.client_certs: encrypted keys are not supported by engine".into());
        }
        if self.enable_renegotiation {
            return Err(
                "tls.enable_renegotiation is not supported by engine (rustls does not renegotiate)"
                    .into(),
            );
        }
        if !self.root_cas.is_empty() && !self.root_cas_file.is_empty() {
            // As Bento: one or the other, never one silently winning.
            return Err(
                "tls: only one field between root_cas and root_cas_file can be specified".into(),
            );
        }
        Ok(())
    }

    /// Root CAs (PEM) to trust in addition to none, if configured. The files are read
    /// where a client is made (build or connect): a few kilobytes, read once each time.
    pub fn root_cas(&self) -> Result<Option<String>, String> {
        if !self.enabled {
            return Ok(None);
        }
        if !self.root_cas.is_empty() {
            return Ok(Some(self.root_cas.clone()));
        }
        if !self.root_cas_file.is_empty() {
            return std::fs::read_to_string(&self.root_cas_file)
                .map(Some)
                .map_err(|e| format!("tls.root_cas_file {}: {e}", self.root_cas_file));
        }
        Ok(None)
    }

    /// The first client certificate and key (PEM), if configured.
    pub fn client_cert(&self) -> Result<Option<CertAndKey>, String> {
        let Some(c) = self.client_certs.first().filter(|_| self.enabled) else {
            return Ok(None);
        };
        let read = |inline: &str, file: &str, what: &str| {
            if !inline.is_empty() {
                return Ok(inline.as_bytes().to_vec());
            }
            std::fs::read(file).map_err(|e| format!("tls.client_certs {what} {file}: {e}"))
        };
        let cert = read(&c.cert, &c.cert_file, "cert")?;
        let key = read(&c.key, &c.key_file, "key")?;
        Ok(Some((cert, key)))
    }
}
