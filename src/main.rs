use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

// mimalloc: messages and Bloblang values are many small allocations, where it is markedly
// faster than the system allocator.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// mimalloc asked as its C API means to be asked. The `mimalloc` crate's allocator sends every
/// request through `mi_malloc_aligned`, which in mimalloc 3 serves anything over 1 KiB, and any
/// request whose size class has no free block at hand, by over-allocating from a larger size
/// class: a third of an HTTP request's allocations took that path, at about three times the
/// cost of `mi_malloc` (callgrind, BENCHMARKS.md "eleventh pass"). A block from `mi_malloc`
/// already has the alignment most requests ask for ([`plain`]); only the others need the
/// aligned calls.
struct MiMalloc;

/// `MI_MAX_ALIGN_SIZE`: mimalloc's size classes are multiples of it above one word, so
/// `mi_malloc` aligns every block of more than 8 bytes to it.
const MI_MAX_ALIGN_SIZE: usize = 16;

/// Whether a `size`-byte block from `mi_malloc` is aligned to `align` as it is: the alignment
/// is at most mimalloc's own and no larger than the block (an 8-byte block may be 8-aligned
/// only; a type's size is a multiple of its alignment, but a raw `Layout`'s need not be).
fn plain(size: usize, align: usize) -> bool {
    align <= MI_MAX_ALIGN_SIZE && align <= size
}

// SAFETY: each call hands mimalloc the layout's size (never zero: `GlobalAlloc`'s contract) and,
// where mimalloc's plain alignment would not do, the layout's alignment; pointers given back
// came from mimalloc, which frees and reallocates any of its blocks whatever their alignment.
unsafe impl GlobalAlloc for MiMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match plain(layout.size(), layout.align()) {
            true => mi::mi_malloc(layout.size()),
            false => mi::mi_malloc_aligned(layout.size(), layout.align()),
        }
        .cast()
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match plain(layout.size(), layout.align()) {
            true => mi::mi_zalloc(layout.size()),
            false => mi::mi_zalloc_aligned(layout.size(), layout.align()),
        }
        .cast()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr.cast::<c_void>())
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match plain(new_size, layout.align()) {
            true => mi::mi_realloc(ptr.cast(), new_size),
            false => mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()),
        }
        .cast()
    }
}

/// `mi_option_arena_eager_commit` in mimalloc's `mi_option_e` (the sys crate names no constant
/// for it).
const MI_OPTION_ARENA_EAGER_COMMIT: mi::mi_option_t = 4;

/// mimalloc commits its first arena up front by default (on systems that overcommit): about
/// 9 MiB of an idle engine's resident memory. Committed on demand, an idle `engine run` holds a
/// third of that; a busy one commits what it uses either way. The option must be set before
/// the first allocation, which Rust's runtime makes before `main`: hence a constructor, which
/// the loader runs before the runtime starts.
extern "C" fn commit_arenas_on_demand() {
    // SAFETY: setting an option is a plain store in mimalloc's option table.
    unsafe { mi::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

#[used]
#[cfg_attr(target_os = "linux", link_section = ".init_array")]
static COMMIT_ARENAS_ON_DEMAND: extern "C" fn() = commit_arenas_on_demand;

fn main() {
    std::process::exit(engine::cli::main());
}
