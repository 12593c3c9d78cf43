use std::process::ExitCode;

/// glibc's allocator spent a third of a busy server's time in malloc and
/// free (arena locks, consolidation); mimalloc's thread-local heaps do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    oversight::cli::run().await
}
