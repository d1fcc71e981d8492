//! Opening a plugin file: ownership checks, a private copy, `dlopen` with `RTLD_NOW`, the entry.
//!
//! Loading a library runs its code (constructors), so the file is checked first: it must be a
//! regular file, not world-writable, and owned by the engine's user or root. The checks use the
//! open file descriptor, and the bytes copied are read from that same descriptor, so the file
//! cannot be swapped between check and copy. The ELF headers are checked before `dlopen` too: the
//! loader maps segments without comparing them with the file size, and touching a page past the
//! end of a truncated file raises `SIGBUS`, which would kill the engine.
//!
//! The host never `dlopen`s the published path itself: the loader caches libraries by path (a
//! second open of the same path, even after a rename over it, returns the old code), and
//! overwriting a mapped library in place kills the process with `SIGBUS`. Each load copies the file
//! to a new name in a private directory (`$TMPDIR/tickrail-plugins-<uid>-<pid>`, mode 0700) and
//! opens that copy; the copy is deleted when the library is closed. `RTLD_NOW` resolves every
//! symbol at load time, so no lazy binding happens later on the hot thread; `RTLD_LOCAL` keeps the
//! plugin's symbols out of the global namespace, so two builds of one plugin can be loaded at once.
#![allow(unsafe_code)] // dlopen/dlsym and calling the entry symbol.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use libloading::os::unix::{Library as DlLibrary, RTLD_LOCAL, RTLD_NOW};
use tickrail_abi::{EntryFn, PluginVTable, ENTRY_SYMBOL_C};

use super::PluginError;

/// A loaded private copy of a plugin file. Dropping it closes the library, then deletes the copy.
#[derive(Debug)]
pub(crate) struct Dl {
    // Field order is drop order: close first, then delete the file.
    _lib: DlLibrary,
    _copy: PrivateCopy,
}

#[derive(Debug)]
struct PrivateCopy(PathBuf);

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// An opened plugin: the library, its vtable pointer, the size of the file.
pub(crate) struct Opened {
    pub dl: Dl,
    pub vtable: *const PluginVTable,
    pub file_bytes: u64,
}

/// The effective user id of this process.
fn euid() -> u32 {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Checks ownership and permissions of an open plugin file.
fn check_file(path: &Path, meta: &fs::Metadata) -> Result<(), PluginError> {
    if !meta.file_type().is_file() {
        return Err(PluginError::NotAFile { path: path.to_path_buf() });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o002 != 0 {
        return Err(PluginError::WorldWritable { path: path.to_path_buf(), mode });
    }
    let (owner, me) = (meta.uid(), euid());
    if owner != me && owner != 0 {
        return Err(PluginError::ForeignOwner { path: path.to_path_buf(), owner, expected: me });
    }
    Ok(())
}

/// The private directory holding loaded copies (created once per process, mode 0700).
fn private_dir() -> Result<&'static Path, PluginError> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "tickrail-plugins-{}-{}",
            euid(),
            std::process::id()
        ));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // A directory left by an earlier process with the same pid: reuse it only if it
                // is ours and private.
                let m =
                    fs::symlink_metadata(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                if m.is_dir() && m.uid() == euid() && m.permissions().mode() & 0o077 == 0 {
                    Ok(dir)
                } else {
                    Err(format!(
                        "{}: exists and is not a private directory of this user",
                        dir.display()
                    ))
                }
            }
            Err(e) => Err(format!("{}: {e}", dir.display())),
        }
    });
    r.as_deref().map_err(|e| PluginError::PrivateDir { message: e.clone() })
}

/// Opens `path` as a plugin (checks, private copy, `dlopen`, entry symbol). Calls nothing in the
/// library but its entry function.
pub(crate) fn open(path: &Path) -> Result<Opened, PluginError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io_err =
        |op: &'static str| move |source| PluginError::Io { path: path.to_path_buf(), op, source };
    let mut src = File::open(path).map_err(io_err("open"))?;
    let meta = src.metadata().map_err(io_err("stat"))?;
    check_file(path, &meta)?;

    let mut data = Vec::with_capacity(meta.len() as usize);
    src.read_to_end(&mut data).map_err(io_err("read"))?;
    if data.len() as u64 != meta.len() {
        return Err(PluginError::Io {
            path: path.to_path_buf(),
            op: "read",
            source: io::Error::other(format!(
                "file changed while being read ({} bytes at open, {} read); publish by writing a \
                 temporary file and renaming it over the plugin path",
                meta.len(),
                data.len()
            )),
        });
    }
    check_elf(&data)
        .map_err(|message| PluginError::NotALibrary { path: path.to_path_buf(), message })?;

    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let copy_path = private_dir()?.join(format!("{n:06}-{file_name}"));
    let mut dst =
        OpenOptions::new().write(true).create_new(true).mode(0o700).open(&copy_path).map_err(
            |source| PluginError::Io { path: copy_path.clone(), op: "create private copy", source },
        )?;
    let copy = PrivateCopy(copy_path);
    dst.write_all(&data).map_err(|source| PluginError::Io {
        path: copy.0.clone(),
        op: "write private copy",
        source,
    })?;
    drop(dst);

    // SAFETY: loading runs the library's initialisers; the file passed the ownership checks
    // above, which is the trust decision this engine makes about plugin code.
    let lib = unsafe { DlLibrary::open(Some(&copy.0), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| {
        PluginError::NotALibrary { path: path.to_path_buf(), message: explain(&e, &copy.0, path) }
    })?;
    // SAFETY: the symbol's type is the ABI's entry type; it is only called below.
    let entry = unsafe { lib.get::<EntryFn>(ENTRY_SYMBOL_C) }.map_err(|e| {
        PluginError::MissingEntry { path: path.to_path_buf(), message: explain(&e, &copy.0, path) }
    })?;
    // SAFETY: the entry takes no arguments and returns a pointer to static data (ABI contract);
    // the pointer is validated before anything else is called.
    let vtable = unsafe { entry() };
    Ok(Opened { dl: Dl { _lib: lib, _copy: copy }, vtable, file_bytes: meta.len() })
}

/// ELF machine of the host.
const EM_HOST: u16 = if cfg!(target_arch = "x86_64") {
    62
} else if cfg!(target_arch = "aarch64") {
    183
} else {
    0
};

/// Checks that `bytes` are a 64-bit little-endian ELF shared object for this machine whose
/// program headers and loadable segments lie inside the file. The loader maps segments without
/// checking them against the file size, and touching a page past the end of a truncated file
/// raises `SIGBUS`, which would kill the engine: a truncated plugin must be refused before that.
fn check_elf(bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len() as u64;
    let u16_at = |o: usize| bytes.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at =
        |o: usize| bytes.get(o..o + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
    let u64_at =
        |o: usize| bytes.get(o..o + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err(format!("not an ELF file ({len} bytes, no ELF header)"));
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err("not a 64-bit little-endian ELF file".to_string());
    }
    let (e_type, machine) = (u16_at(16).unwrap_or(0), u16_at(18).unwrap_or(0));
    if e_type != 3 {
        return Err(format!("ELF type {e_type}, expected 3 (shared object)"));
    }
    if machine != EM_HOST {
        return Err(format!("ELF machine {machine}, expected {EM_HOST} (this host)"));
    }
    let phoff = u64_at(32).unwrap_or(u64::MAX);
    let (phentsize, phnum) =
        (u64::from(u16_at(54).unwrap_or(0)), u64::from(u16_at(56).unwrap_or(0)));
    let ph_end = phoff.saturating_add(phentsize.saturating_mul(phnum));
    if phentsize < 56 || ph_end > len {
        return Err(format!(
            "truncated: program headers end at byte {ph_end}, the file has {len} bytes"
        ));
    }
    for i in 0..phnum {
        let at = (phoff + i * phentsize) as usize;
        let (p_type, p_offset, p_filesz) = (u32_at(at), u64_at(at + 8), u64_at(at + 32));
        let (Some(p_type), Some(p_offset), Some(p_filesz)) = (p_type, p_offset, p_filesz) else {
            return Err(format!("truncated: program header {i} is cut off"));
        };
        let end = p_offset.saturating_add(p_filesz);
        if p_type == 1 && end > len {
            return Err(format!(
                "truncated: loadable segment {i} ends at byte {end}, the file has {len} bytes"
            ));
        }
    }
    Ok(())
}

/// The loader's message, naming the published file instead of the private copy.
fn explain(e: &libloading::Error, copy: &Path, original: &Path) -> String {
    e.to_string().replace(&copy.display().to_string(), &original.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_world_writable_and_non_library_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.so");
        File::create(&p).unwrap().write_all(b"not an ELF file").unwrap();
        let e = open(&p).err().unwrap().to_string();
        assert!(e.contains("x.so") && e.contains("cannot be loaded as a shared library"), "{e}");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o666)).unwrap();
        let e = open(&p).err().unwrap().to_string();
        assert!(e.contains("world-writable (mode 666)"), "{e}");
        let e = open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
