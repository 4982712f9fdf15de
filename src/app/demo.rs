//! The main job (`rnnlm` alone): a char-level model trained on the bundled
//! corpus for about a minute, compared with the unigram and Kneser–Ney
//! baselines on its validation text, then sampled.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::train::train_job;
use crate::baselines::ngram::KneserNey;
use crate::cli::{Command, DemoArgs};
use crate::error::{Error, Result};
use crate::sample::{self, Sampling};

/// Find the bundled corpus: next to the sources, or in the working folder.
fn bundled_corpus() -> Result<PathBuf> {
    let name = "corpus/demo.txt";
    let candidates = [Path::new(env!("CARGO_MANIFEST_DIR")).join(name), PathBuf::from(name)];
    candidates.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
        Error::Data(format!(
            "the bundled corpus {name} is missing; run from the repository folder"
        ))
    })
}

/// The RNN's validation perplexity beside the add-one unigram's (`unigram`
/// nats) and a Kneser–Ney 5-gram's trained on the same tokens.
fn compare_with_baselines(train_ids: &[u32], valid_ids: &[u32], vocab: usize, rnn: f64, unigram: f64) {
    let kn5 = KneserNey::train(train_ids, 5, vocab).cross_entropy(valid_ids);
    say!(
        "\non the same validation split ({} tokens):  perplexity  bits/token",
        valid_ids.len() - 1
    );
    let ln2 = std::f64::consts::LN_2;
    for (name, nats) in [
        ("unigram (add-one)", unigram),
        ("Kneser-Ney 5-gram", kn5),
        ("this RNN", rnn),
    ] {
        say!("  {name:<38} {:>10.3} {:>11.4}", nats.exp(), nats / ln2);
    }
}

/// The main job: train char-level on the bundled corpus for about a minute,
/// compare with the unigram and Kneser–Ney baselines, save, and print
/// samples. It is this `rnnlm train` command line, run for `--time` seconds.
pub fn demo(args: &DemoArgs) -> Result<()> {
    let corpus = bundled_corpus()?;
    eprintln!(
        "rnnlm demo: training a char-level model on {} for {:.0} s",
        corpus.display(),
        args.time
    );
    // Train for the whole time budget: halve on plateaus, never stop early.
    let line = "train --level char --embed 64 --hidden 256 --seq-len 64 --batch 32 --epochs 1000 \
                --schedule plateau --patience 1000 --lr 0.003";
    let Command::Train(mut train_args) = crate::cli::parse(
        line.split_whitespace()
            .map(OsString::from)
            .chain([OsString::from("--corpus"), corpus.into_os_string()]),
    )?
    else {
        unreachable!("the demo's command line is a train command");
    };
    train_args.threads = args.threads;
    train_args.time = Some(args.time);
    train_args.out = args.out.clone();
    let (log, curve) = (args.out.with_extension("csv"), args.out.with_extension("svg"));
    train_args.log = Some(log.clone());
    let trained = train_job(&train_args)?;
    say!("{}", trained.report);
    say!("saved {}", args.out.display());
    super::plot::plot(std::slice::from_ref(&log), &curve)?;
    say!("learning curve: {} (its data: {})", curve.display(), log.display());
    if let Some((rnn, unigram)) = trained.valid_nats {
        compare_with_baselines(
            &trained.train_ids,
            &trained.valid_ids,
            trained.model.vocab.len(),
            rnn,
            unigram,
        );
    }
    let model = trained.model;
    for (temp, prime) in [(0.5, "The "), (0.8, "The "), (0.8, "우리는 ")] {
        let prime_ids = model.vocab.encode_prime(prime).unwrap_or_default();
        say!("\n--- sample, temperature {temp}, prime {prime:?} ---");
        let mut text = prime.to_string();
        let s = Sampling {
            temperature: temp,
            top_k: 0,
            top_p: 1.0,
        };
        sample::generate(&model.params, &model.vocab, &prime_ids, 300, s, 7, |t| text.push_str(t));
        say!("{text}");
    }
    let prime = "The cat ";
    say!(
        "\n--- what comes after {prime:?}: rnnlm predict --model {} --prime {prime:?} --top 5 ---",
        args.out.display()
    );
    let mut g = sample::Generator::new(&model.params);
    g.warm_up(&model.vocab, &model.vocab.encode_prime(prime).unwrap_or_default());
    for (id, p) in sample::top_k(g.probs(), 5) {
        say!("{p:.4}  {:?}", model.vocab.token(id));
    }
    say!(
        "\nnext: rnnlm generate --model {} --prime \"The \" --temperature 0.7",
        args.out.display()
    );
    Ok(())
}
