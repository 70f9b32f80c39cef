// mimalloc: messages and Bloblang values are many small allocations, where it is markedly
// faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(engine::cli::main());
}
