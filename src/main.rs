//! The `rnnlm` command: parse, run, report. Errors print one line and exit 1 (usage errors
//! exit 2); a closed stdout ends a command quietly with exit 0.

fn main() {
    let result = rnnlm::cli::parse(std::env::args_os().skip(1)).and_then(rnnlm::app::run);
    if let Err(e) = result {
        if e.is_closed_output() {
            // The reader has gone (`rnnlm generate | head`): done, quietly.
            return;
        }
        eprintln!("rnnlm: error: {e}");
        std::process::exit(match e {
            rnnlm::error::Error::Usage(_) => 2,
            _ => 1,
        });
    }
}
