//! Files: atomic writes and UTF-8 text reading, with errors that name the
//! file (and the byte offset of bad UTF-8).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Write `bytes` to `path` atomically: a temporary file in the same folder,
/// flushed and synced, then renamed over `path`. On failure the temporary
/// file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_beside(path)?;
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// The temporary file [`write_atomic`] writes before renaming it over
/// `path`: `.NAME.tmp-PID` in the same folder.
fn temporary_beside(path: &Path) -> Result<PathBuf> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| Error::format(path, "not a file name"))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    Ok(dir.join(tmp_name))
}

/// Check, before any work, that [`write_atomic`] will be able to write
/// `path`: it is not a folder, and its temporary file can be created in
/// its folder (which is then removed; `path` itself is not touched). The
/// error names `flag` and the path.
pub fn check_writable(path: &Path, flag: &str) -> Result<()> {
    let fail = |why: String| Error::Usage(format!("{flag} {}: {why}", path.display()));
    if path.is_dir() {
        return Err(fail("is a folder; give a file name".into()));
    }
    let tmp = temporary_beside(path).map_err(|_| fail("is not a file name".into()))?;
    let folder = tmp.parent().map(Path::to_path_buf).unwrap_or_default();
    if !folder.as_os_str().is_empty() && !folder.is_dir() {
        return Err(fail(format!("its folder {} does not exist", folder.display())));
    }
    std::fs::File::create(&tmp).map_err(|e| fail(format!("cannot be written ({e})")))?;
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}

/// Read a whole file as UTF-8 text, naming the file and the offset of the
/// first invalid byte on failure.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_text(bytes, path)
}

/// Bytes to text, or an error naming `path` and the first invalid byte.
pub fn decode_text(bytes: Vec<u8>, path: &Path) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| Error::Utf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}
