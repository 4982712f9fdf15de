//! The `rnnlm` command: parse, run, report. Errors print one line and exit 1.

fn main() {
    let result = rnnlm::cli::parse(std::env::args().skip(1)).and_then(rnnlm::app::run);
    if let Err(e) = result {
        eprintln!("rnnlm: error: {e}");
        std::process::exit(match e {
            rnnlm::error::Error::Usage(_) => 2,
            _ => 1,
        });
    }
}
