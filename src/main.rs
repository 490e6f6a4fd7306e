// glibc's malloc keeps freed memory per thread arena: after a day of admin
// pages on many blocking threads the server held twice what it used.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match sessiond::cli::main(std::env::args_os().collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("sessiond: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}
