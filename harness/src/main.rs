//! The `phasebench` binary: the command line lives in the library ([`phasebench::cli`]), so
//! this file only picks the allocator. The runtime under test, the mock and the harness share
//! this process; glibc's allocator was ~9% of a zero-delay run's CPU, mimalloc roughly halves
//! that.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    phasebench::cli::main()
}
