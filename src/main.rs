// mimalloc: messages and Bloblang values are many small allocations, where it is markedly
// faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc's `mi_option_e` (the sys crate names no constant
/// for it).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// mimalloc commits its first arena up front by default (on systems that overcommit): about
/// 9 MiB of an idle engine's resident memory. Committed on demand, an idle `engine run` holds a
/// third of that; a busy one commits what it uses either way. The option must be set before
/// the first allocation, which Rust's runtime makes before `main`: hence a constructor, which
/// the loader runs before the runtime starts.
extern "C" fn commit_arenas_on_demand() {
    // SAFETY: setting an option is a plain store in mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

#[used]
#[cfg_attr(target_os = "linux", link_section = ".init_array")]
static COMMIT_ARENAS_ON_DEMAND: extern "C" fn() = commit_arenas_on_demand;

fn main() {
    std::process::exit(engine::cli::main());
}
