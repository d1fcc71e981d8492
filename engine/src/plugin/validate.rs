//! Checks a plugin's vtable before the host calls any of its functions, and describes it.
//!
//! Order matters: the frozen 16-byte header (`magic`, `abi_major`, `abi_minor`, `struct_size`) is
//! read first, and nothing past it is read unless the magic and the major match and the struct is at
//! least as large as minor 0 of the major defines it. The rest (type sizes, strings, function
//! pointers) is then checked in one pass that reports every problem at once.
//!
//! **Minor versions.** Minors only append vtable entries (and give meaning to reserved fields), so
//! any minor of this major is accepted: a plugin built against an older minor has a shorter vtable and
//! the host uses only the entries its `struct_size` covers; a plugin built against a newer minor has
//! entries this host ignores. `tick_size`, `intent_size` and `fill_size` must equal the host's: the
//! tick is one fixed cache line and intents are written into an array whose stride is their size.
#![allow(unsafe_code)] // reads a vtable through a raw pointer handed out by a loaded library.

use std::fmt;
use std::mem::size_of;
use std::ptr::addr_of;

use tickrail_abi::{
    CreateFn, DestroyFn, Fill, LastErrorFn, OnFillFn, OnTickFn, OrderIntent, PluginVTable,
    RestoreFn, SnapshotFn, Tick, ABI_MAGIC, ABI_MAJOR, ABI_MINOR, ENTRY_SYMBOL, VTABLE_BASE_SIZE,
};

use super::PluginError;

/// Longest `name`/`version` accepted, in bytes.
const MAX_STR: usize = 128;

/// What a validated plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The file it was loaded from, or `linked:<name>` for a vtable linked into this binary.
    pub origin: String,
    /// Size of the file, when loaded from one.
    pub file_bytes: Option<u64>,
    /// Strategy name.
    pub name: String,
    /// Strategy version.
    pub version: String,
    /// ABI major the plugin was built against.
    pub abi_major: u16,
    /// ABI minor the plugin was built against.
    pub abi_minor: u16,
    /// Size of its vtable.
    pub struct_size: u32,
    /// Its `sizeof(tr_tick)`.
    pub tick_size: u32,
    /// Its `sizeof(tr_order_intent)`.
    pub intent_size: u32,
    /// Its `sizeof(tr_fill)`.
    pub fill_size: u32,
}

impl fmt::Display for Manifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plugin   {} {}", self.name, self.version)?;
        match self.file_bytes {
            Some(n) => writeln!(f, "file     {} ({n} bytes)", self.origin)?,
            None => writeln!(f, "file     {}", self.origin)?,
        }
        writeln!(f, "entry    {ENTRY_SYMBOL}")?;
        writeln!(
            f,
            "abi      {}.{} (host {ABI_MAJOR}.{ABI_MINOR}), vtable {} bytes",
            self.abi_major, self.abi_minor, self.struct_size
        )?;
        write!(
            f,
            "layout   tick {} bytes, order intent {} bytes, fill {} bytes: ok",
            self.tick_size, self.intent_size, self.fill_size
        )
    }
}

/// The plugin's functions, all present (checked).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Calls {
    pub create: CreateFn,
    pub on_tick: OnTickFn,
    pub on_fill: OnFillFn,
    pub snapshot: SnapshotFn,
    pub restore: RestoreFn,
    pub destroy: DestroyFn,
    pub last_error: LastErrorFn,
}

/// Validates the vtable at `vt`; `origin` names the plugin in every message.
///
/// # Safety
/// `vt` is null or points to memory that stays readable while the plugin's library is loaded, at
/// least 16 bytes of it, and `struct_size` bytes if those 16 bytes say so; string pointers in it
/// are null or point to readable bytes.
pub(crate) unsafe fn validate(
    vt: *const PluginVTable,
    origin: &str,
    file_bytes: Option<u64>,
) -> Result<(Manifest, Calls), PluginError> {
    let refuse =
        |problems: Vec<String>| PluginError::Refused { origin: origin.to_string(), problems };
    if vt.is_null() {
        return Err(refuse(vec![format!("{ENTRY_SYMBOL}() returned a null vtable")]));
    }
    // SAFETY: the header is 16 bytes every vtable has (caller's contract); `addr_of!` reads single
    // fields without asserting that a whole `PluginVTable` is there.
    let (magic, major, minor, struct_size) = unsafe {
        (
            addr_of!((*vt).magic).read(),
            addr_of!((*vt).abi_major).read(),
            addr_of!((*vt).abi_minor).read(),
            addr_of!((*vt).struct_size).read(),
        )
    };
    if magic != ABI_MAGIC {
        return Err(refuse(vec![format!(
            "magic: expected {ABI_MAGIC:#018x} (\"TICKRAIL\"), found {magic:#018x}: not a tickrail vtable"
        )]));
    }
    if major != ABI_MAJOR {
        return Err(refuse(vec![format!(
            "ABI major version: expected {ABI_MAJOR}, found {major} (plugin built against ABI \
             {major}.{minor}, host speaks {ABI_MAJOR}.{ABI_MINOR})"
        )]));
    }
    if struct_size < VTABLE_BASE_SIZE {
        return Err(refuse(vec![format!(
            "vtable struct_size: expected at least {VTABLE_BASE_SIZE} bytes (ABI {ABI_MAJOR}.0), \
             found {struct_size}"
        )]));
    }
    // SAFETY: `struct_size >= size_of::<PluginVTable>()`, so the whole minor-0 table is readable.
    let t = unsafe { &*vt };
    let mut problems = Vec::new();
    let mut size = |what: &str, found: u32, expected: usize| {
        if found as usize != expected {
            problems.push(format!("{what}: expected {expected}, found {found}"));
        }
    };
    size("tick_size", t.tick_size, size_of::<Tick>());
    size("intent_size", t.intent_size, size_of::<OrderIntent>());
    size("fill_size", t.fill_size, size_of::<Fill>());
    // SAFETY: the string pointers are null or readable (caller's contract).
    let name = unsafe { read_str("name", t.name, &mut problems) };
    // SAFETY: as above.
    let version = unsafe { read_str("version", t.version, &mut problems) };
    if name.as_deref() == Some("") {
        problems.push("name: empty".to_string());
    }
    let mut need = |what: &str, present: bool| {
        if !present {
            problems.push(format!("{what}: null function pointer"));
        }
    };
    need("create", t.create.is_some());
    need("on_tick", t.on_tick.is_some());
    need("on_fill", t.on_fill.is_some());
    need("snapshot", t.snapshot.is_some());
    need("restore", t.restore.is_some());
    need("destroy", t.destroy.is_some());
    need("last_error", t.last_error.is_some());
    match (
        t.create,
        t.on_tick,
        t.on_fill,
        t.snapshot,
        t.restore,
        t.destroy,
        t.last_error,
        name,
        version,
    ) {
        (
            Some(create),
            Some(on_tick),
            Some(on_fill),
            Some(snapshot),
            Some(restore),
            Some(destroy),
            Some(last_error),
            Some(name),
            Some(version),
        ) if problems.is_empty() => Ok((
            Manifest {
                origin: origin.to_string(),
                file_bytes,
                name,
                version,
                abi_major: major,
                abi_minor: minor,
                struct_size,
                tick_size: t.tick_size,
                intent_size: t.intent_size,
                fill_size: t.fill_size,
            },
            Calls { create, on_tick, on_fill, snapshot, restore, destroy, last_error },
        )),
        _ => Err(refuse(problems)),
    }
}

/// Reads a NUL-terminated UTF-8 string of at most [`MAX_STR`] bytes.
///
/// # Safety
/// `p` is null or readable up to its NUL or `MAX_STR + 1` bytes, whichever comes first.
unsafe fn read_str(
    what: &str,
    p: *const std::ffi::c_char,
    problems: &mut Vec<String>,
) -> Option<String> {
    if p.is_null() {
        problems.push(format!("{what}: null"));
        return None;
    }
    let mut bytes = Vec::new();
    for i in 0..=MAX_STR {
        // SAFETY: readable up to the NUL or the bound (contract); we stop at the first NUL.
        let b = unsafe { p.add(i).cast::<u8>().read() };
        if b == 0 {
            return match String::from_utf8(bytes) {
                Ok(s) => Some(s),
                Err(_) => {
                    problems.push(format!("{what}: not UTF-8"));
                    None
                }
            };
        }
        bytes.push(b);
    }
    problems.push(format!("{what}: longer than {MAX_STR} bytes or not NUL-terminated"));
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> PluginVTable {
        PluginVTable {
            magic: ABI_MAGIC,
            abi_major: ABI_MAJOR,
            abi_minor: ABI_MINOR,
            struct_size: VTABLE_BASE_SIZE,
            tick_size: 64,
            intent_size: size_of::<OrderIntent>() as u32,
            fill_size: size_of::<Fill>() as u32,
            reserved: 0,
            name: c"t".as_ptr(),
            version: c"1".as_ptr(),
            create: None,
            on_tick: None,
            on_fill: None,
            snapshot: None,
            restore: None,
            destroy: None,
            last_error: None,
        }
    }

    fn problems(vt: &PluginVTable) -> String {
        // SAFETY: a complete vtable on the stack with static strings.
        match unsafe { validate(vt, "x.so", None) } {
            Err(e) => e.to_string(),
            Ok(_) => String::new(),
        }
    }

    #[test]
    fn reports_every_problem_at_once() {
        let mut vt = good();
        vt.intent_size = 40;
        vt.version = std::ptr::null();
        let msg = problems(&vt);
        for part in [
            "plugin x.so",
            "intent_size: expected 48, found 40",
            "version: null",
            "create: null",
            "last_error: null",
        ] {
            assert!(msg.contains(part), "{part:?} missing from {msg}");
        }
    }

    #[test]
    fn header_mismatches_stop_early() {
        let mut vt = good();
        vt.abi_major = 1;
        assert!(problems(&vt).contains("ABI major version: expected 2, found 1"));
        let mut vt = good();
        vt.struct_size = 40;
        assert!(
            problems(&vt).contains("struct_size: expected at least 104 bytes (ABI 2.0), found 40")
        );
        let mut vt = good();
        vt.magic = 7;
        assert!(problems(&vt).contains("not a tickrail vtable"));
    }
}
