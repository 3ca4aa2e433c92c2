//! `cache_file`: the last good key set of a remote source on disk, so a
//! restart or a new worker during an IdP outage still verifies.
//!
//! The file is a way to put keys into the verifier, so it is trusted only
//! when it cannot have been written by anyone else:
//!
//! - it is a regular file (not a symbolic link) owned by the user the
//!   process runs as, and not writable by group or others;
//! - it names the URL of the key set it was written for (a file written for
//!   another URL is ignored) and when that set was fetched.
//!
//! The user the process runs as is found without `unsafe` (the core
//! forbids it): the owner of `/proc/self` (Linux: the effective uid; root
//! for a process that is not dumpable, which then trusts only root's
//! files), or where there is no `/proc`, the owner of a probe file the
//! process creates (and removes) next to the cache file.
//!
//! Writes go to a temporary file (mode 0600) in the same directory, are
//! flushed to disk and renamed over the file, so a reader sees the old or
//! the new file, never a mix.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::fetch::Validators;

/// The contents of a cache file.
pub(crate) struct Saved {
    /// The key set's configured URL (`jwks_uri` or `discovery`).
    pub url: String,
    /// When the set was fetched (unix seconds, the verify clock).
    pub fetched_at: f64,
    /// The JWKS URL the set came from.
    pub jwks_url: String,
    pub validators: Validators,
    /// The JWKS document as fetched.
    pub jwks: String,
}

/// A name next to `path` that no other writer uses.
fn sibling(path: &Path, what: &str) -> PathBuf {
    let mut random = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut random);
    let name = path.file_name().map_or_else(|| "jwks".into(), |n| n.to_string_lossy().into_owned());
    let suffix = u64::from_le_bytes(random);
    path.with_file_name(format!(".{name}.{what}.{}.{suffix:016x}", std::process::id()))
}

/// The uid this process runs as (see the module comment).
fn process_uid(path: &Path) -> Option<u32> {
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        return Some(meta.uid());
    }
    let probe = sibling(path, "uid");
    let file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&probe).ok()?;
    let uid = file.metadata().ok().map(|m| m.uid());
    let _ = std::fs::remove_file(&probe);
    uid
}

/// Reads the file for the set at `url`: `Ok(None)` when there is none,
/// an error saying why when it is there but not trusted or not usable.
pub(crate) fn load(path: &Path, url: &str, max_bytes: u64) -> Result<Option<Saved>, String> {
    let link = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !link.file_type().is_file() {
        return Err("not a regular file (symbolic links are refused)".into());
    }
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if (meta.dev(), meta.ino()) != (link.dev(), link.ino()) {
        return Err("replaced while being opened".into());
    }
    let uid = process_uid(path).ok_or("cannot tell which user this process runs as")?;
    if meta.uid() != uid {
        return Err(format!("owned by uid {}, not by this process's uid {uid}", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!("mode {:o}: writable by group or others", meta.mode() & 0o777));
    }
    let mut text = String::new();
    (&mut file)
        .take(max_bytes.saturating_mul(2).saturating_add(64 * 1024))
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("not a cache file: {e}"))?;
    let text_of = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_owned);
    if text_of("url").as_deref() != Some(url) {
        return Err(format!("written for another URL, not {url}"));
    }
    let (Some(fetched_at), Some(jwks_url), Some(jwks)) =
        (doc.get("fetched_at").and_then(Value::as_f64), text_of("jwks_url"), text_of("jwks"))
    else {
        return Err("not a cache file: fields missing".into());
    };
    let validators = Validators { etag: text_of("etag"), last_modified: text_of("last_modified") };
    Ok(Some(Saved { url: url.to_owned(), fetched_at, jwks_url, validators, jwks }))
}

/// Writes `saved` atomically: temporary file (0600), flush, rename.
pub(crate) fn store(path: &Path, saved: &Saved) -> Result<(), String> {
    let doc = json!({
        "url": saved.url,
        "fetched_at": saved.fetched_at,
        "jwks_url": saved.jwks_url,
        "etag": saved.validators.etag,
        "last_modified": saved.validators.last_modified,
        "jwks": saved.jwks,
    });
    let temp = sibling(path, "tmp");
    let write = || -> std::io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        file.write_all(doc.to_string().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        e.to_string()
    })
}
