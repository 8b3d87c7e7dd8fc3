//! Signing with a software key, on any OS: `keygen` (an SM2 or RSA key pair and a self-signed
//! certificate, for testing), `sign` (enveloped XML signature of CEB files, the field's shape)
//! and `verify` (offline), plus the administrator's certificate filing commands.
//! docs/signatures.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ceb::dsig::{Certificate, PrivateKey, Signer};
use clap::Args;

use crate::ClientArgs;
use crate::client;

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Directory to write `key.pem` (PKCS#8, mode 0600) and `cert.pem` into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The certificate subject's common name, e.g. the enterprise code.
    #[arg(long, default_value = "OneWindow test key")]
    pub subject: String,
    /// Days the certificate is valid, from now.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// An RSA-2048 key (RSA-SHA1 signatures) instead of SM2 (SM2-SM3, the preferred algorithm).
    #[arg(long)]
    pub rsa: bool,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The private key, PKCS#8 PEM (what `onewindow keygen` writes).
    #[arg(long)]
    pub key: PathBuf,
    /// The certificate of that key, PEM or DER (it goes into every signature).
    #[arg(long)]
    pub cert: PathBuf,
    /// Write the signed files into this directory (same names) instead of replacing them.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// CEB message files (UTF-8 or GBK); an earlier signature is replaced.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The certificate the files must be signed under (PEM or DER); without it, any certificate
    /// whose signature verifies is reported.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// Signed CEB message files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn certificate(path: &Path) -> anyhow::Result<Certificate> {
    Certificate::from_pem_or_der(&read(path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Write `bytes` to `path` through a temporary file in the same directory, so that a signed file
/// is never half-written. `private`: owner-only permissions (keys).
fn write_file(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = match dir {
        Some(d) => d.join(format!(".{name}.tmp")),
        None => PathBuf::from(format!(".{name}.tmp")),
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn now_ms() -> i64 {
    ingest::clock::now_ms()
}

/// `onewindow keygen`: a fresh key and a self-signed certificate for it.
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let key_path = args.out.join("key.pem");
    let cert_path = args.out.join("cert.pem");
    if key_path.exists() {
        anyhow::bail!(
            "{} exists; keygen never overwrites a key (choose another --out)",
            key_path.display()
        );
    }
    let key = if args.rsa {
        let rsa = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
            .map_err(|e| anyhow::anyhow!("generating an RSA key: {e}"))?;
        PrivateKey::rsa(rsa)
    } else {
        loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
            if let Some(key) = PrivateKey::sm2_from_bytes(&bytes) {
                break key;
            }
        }
    };
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    // A few minutes back, so that a receiver whose clock is slightly behind accepts it.
    let from = now_ms() - 5 * 60 * 1000;
    let until = now_ms() + i64::from(args.days) * 86_400_000;
    let cert = key
        .self_signed(
            &args.subject,
            "OneWindow keygen (self-signed, for testing)",
            &serial,
            from,
            until,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    write_file(
        &key_path,
        key.to_pkcs8_pem()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .as_bytes(),
        true,
    )?;
    write_file(&cert_path, cert.to_pem().as_bytes(), false)?;
    println!(
        "key         {} ({}, PKCS#8, mode 0600)",
        key_path.display(),
        key.kind().name()
    );
    println!("certificate {}", cert_path.display());
    println!("  subject     {}", cert.subject());
    println!("  serial      {}", cert.serial_hex());
    println!("  fingerprint {}", cert.fingerprint());
    println!(
        "  valid       {} to {}",
        ceb::dsig::iso_utc(cert.not_before_ms()),
        ceb::dsig::iso_utc(cert.not_after_ms())
    );
    println!(
        "next: have it filed (`onewindow enterprise certificate CODE {}`), then `onewindow sign --key {} --cert {} FILE…`",
        cert_path.display(),
        key_path.display(),
        cert_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `onewindow sign`: sign files in place or into `--out`.
pub fn sign(args: &SignArgs) -> anyhow::Result<ExitCode> {
    let pem = std::fs::read_to_string(&args.key)
        .with_context(|| format!("reading {}", args.key.display()))?;
    let key = PrivateKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.key.display()))?;
    let cert = certificate(&args.cert)?;
    let signer = Signer::new(key, cert)
        .map_err(|e| anyhow::anyhow!("{} and {}: {e}", args.key.display(), args.cert.display()))?;
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    }
    let mut failed = 0;
    for file in &args.files {
        let bytes = read(file)?;
        match ceb::dsig::sign(&bytes, &signer) {
            Ok(signed) => {
                let target = match &args.out {
                    Some(out) => out.join(file.file_name().unwrap_or_default()),
                    None => file.clone(),
                };
                write_file(&target, &signed, false)?;
                println!(
                    "{}: signed ({}, certificate {}) → {}",
                    file.display(),
                    signer.algorithm().uri(),
                    signer.certificate().serial_hex(),
                    target.display()
                );
            }
            Err(e) => {
                failed += 1;
                println!("{}: NOT SIGNED: {e}", file.display());
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `onewindow verify`: check signatures offline; exit 1 if any file fails.
pub fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let expected = args.cert.as_deref().map(certificate).transpose()?;
    let mut failed = 0;
    for file in &args.files {
        let bytes = read(file)?;
        let verdict = ceb::dsig::verify_bytes(&bytes).and_then(|v| {
            v.check_validity(now_ms())?;
            Ok(v)
        });
        match verdict {
            Ok(v) if expected.as_ref().is_some_and(|c| *c != v.certificate) => {
                failed += 1;
                println!(
                    "{}: FAILED [1999] signed under certificate {} ({}), not the one given",
                    file.display(),
                    v.certificate.fingerprint(),
                    v.certificate.subject()
                );
            }
            Ok(v) => println!(
                "{}: OK ({}, {}, certificate {} {})",
                file.display(),
                v.algorithm.uri(),
                v.digest.uri(),
                v.certificate.serial_hex(),
                v.certificate.subject()
            ),
            Err(e) => {
                failed += 1;
                println!(
                    "{}: FAILED [{}] {}: {e}",
                    file.display(),
                    e.code(),
                    e.code_text()
                );
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn answered((status, text): (u16, String)) -> ExitCode {
    let ok = (200..300).contains(&status);
    client::print((status, text));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `onewindow enterprise certificate CODE FILE`: file a certificate for an enterprise.
pub fn file_certificate(
    client_args: &ClientArgs,
    code: &str,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    let body = read(file)?;
    Ok(answered(client::call(
        client_args,
        "POST",
        &format!("/api/v1/enterprises/{code}/certificates"),
        Some(("application/x-pem-file", &body)),
    )?))
}

/// `onewindow enterprise certificates CODE`.
pub fn list_certificates(client_args: &ClientArgs, code: &str) -> anyhow::Result<ExitCode> {
    Ok(answered(client::call(
        client_args,
        "GET",
        &format!("/api/v1/enterprises/{code}/certificates"),
        None,
    )?))
}

/// `onewindow enterprise revoke-certificate CODE FINGERPRINT`.
pub fn revoke_certificate(
    client_args: &ClientArgs,
    code: &str,
    fingerprint: &str,
) -> anyhow::Result<ExitCode> {
    Ok(answered(client::call(
        client_args,
        "DELETE",
        &format!("/api/v1/enterprises/{code}/certificates/{fingerprint}"),
        None,
    )?))
}
