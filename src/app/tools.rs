//! The tools around the model: `gradcheck`, `export` / `import`, the n-gram
//! baseline and the synthetic corpora.

use std::path::Path;

use super::in_file;
use super::to_score::tokens_to_score;
use crate::baselines::sentences::SentenceKn;
use crate::baselines::{arpa, ngram, synth};
use crate::cli::{GradcheckArgs, NgramArgs, SynthArgs, SynthKind};
use crate::data::vocab::{EOS, UNK};
use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::gradcheck;
use crate::io::export;
use crate::io::fs::{check_writable, read_text, write_atomic};
use crate::io::json::Json;
use crate::memory;
use crate::model::{Classes, Config};
use crate::train::checkpoint::{self, Checkpoint};
use crate::train::evaluate::unigram_nats;

/// `gradcheck`: max relative error per tensor on a small random model.
pub fn gradcheck(args: &GradcheckArgs) -> Result<()> {
    if args.classes > args.vocab {
        eprintln!(
            "rnnlm: note: --classes {}: a vocabulary of {} has at most {} classes; using {}",
            args.classes, args.vocab, args.vocab, args.vocab
        );
    }
    // f64 tensors: the weights, their gradients, two perturbed copies and
    // the activations of B·T positions, each as wide as the widest layer.
    let (v, d, h) = (args.vocab, args.embed, args.hidden);
    let positions = args.batch.checked_mul(args.seq_len);
    // Row widths, checked: any of them may be as large as a u64.
    let layer = d.checked_add(h).and_then(|w| w.checked_add(1));
    let widest = h.checked_mul(4).and_then(|w| w.checked_add(v)?.checked_add(d));
    memory::check(
        &[
            memory::Part {
                flags: format!("--vocab {v} --embed {d} --hidden {h}"),
                what: "the weights, gradients and their perturbed copies",
                bytes: layer.and_then(|w| memory::add(memory::f32s(&[v, w, 8]), memory::f32s(&[h, w, 8]))),
            },
            memory::Part {
                flags: format!("--batch {} --seq-len {}", args.batch, args.seq_len),
                what: "the activations",
                bytes: positions.zip(widest).and_then(|(n, w)| memory::f32s(&[n, w, 4])),
            },
        ],
        memory::available(),
    )?;
    let case = gradcheck::Case {
        config: Config {
            classes: Classes::even(args.vocab, args.classes),
            ..Config::full(args.vocab, args.embed, args.hidden)
        },
        batch: args.batch,
        steps: args.seq_len,
        seed: args.seed,
        h0_scale: 0.5,
        path: None,
        sample: args.sample,
        dropout: 0.0,
    };
    let report = case.build().check();
    crate::app::write_stdout(format_args!("{report}"));
    let vacuous: Vec<&str> = report.tensors.iter().filter(|t| t.all_zero()).map(|t| t.name).collect();
    if !vacuous.is_empty() {
        eprintln!(
            "rnnlm: note: the gradients of {} are all zero in this case (one word per class has nothing to learn there): their check proves nothing",
            vacuous.join(", ")
        );
    }
    let worst = report.max_rel_error();
    say!(
        "max relative error {worst:.3e} (threshold {:.0e})",
        gradcheck::THRESHOLD
    );
    if !report.passes(gradcheck::THRESHOLD) {
        return Err(Error::Numeric(format!(
            "gradient check failed: {} has relative error {worst:.3e}",
            report.worst().name
        )));
    }
    Ok(())
}

/// `ngram --arpa FILE --corpus TRAIN --eval TEXT` (word level): the
/// sentence Kneser–Ney model of the training lines, written as ARPA (`<eos>`
/// as `</s>`), and the text scored with it sentence by sentence.
fn ngram_arpa(train_text: &str, vocab: &Vocab, path: &Path, args: &NgramArgs) -> Result<()> {
    check_writable(path, "--arpa")?;
    let unk = vocab.id(UNK).expect("a word vocabulary has <unk>");
    let end = vocab.id(EOS).expect("a word vocabulary has <eos>");
    let words = |line: &str| -> (Vec<u32>, usize) {
        let ids: Vec<Option<u32>> = line.split_whitespace().map(|w| vocab.id(w)).collect();
        let oov = ids.iter().filter(|id| id.is_none()).count();
        (ids.into_iter().map(|id| id.unwrap_or(unk)).collect(), oov)
    };
    let sentences: Vec<Vec<u32>> = train_text.lines().map(|l| words(l).0).collect();
    let model = SentenceKn::train(&sentences, args.order, vocab.len(), end, args.discount);
    let name = |id: u32| {
        if id == end {
            "</s>".to_string()
        } else {
            vocab.token(id).to_string()
        }
    };
    write_atomic(path, model.arpa(name).as_bytes())?;
    eprintln!("wrote {}", path.display());
    let text = read_text(&args.eval)?;
    let scores = text.lines().map(|line| {
        let (ids, oov) = words(line);
        arpa::SentenceScore {
            log10_prob: model.log10_sentence(&ids),
            tokens: ids.len() + 1,
            oov,
        }
    });
    report_sentences(scores, model.order(), args)
}

/// `ngram --load FILE.arpa --eval TEXT`: score each line of the text as a
/// sentence with an ARPA back-off model ([`arpa`]).
fn ngram_load(path: &Path, args: &NgramArgs) -> Result<()> {
    let model = arpa::Arpa::parse(&read_text(path)?).map_err(|e| Error::format(path, e.to_string()))?;
    let text = read_text(&args.eval)?;
    report_sentences(text.lines().map(|line| model.score_sentence(line)), model.order(), args)
}

/// The totals of sentence scores, as `ngram` reports them.
fn report_sentences(scores: impl Iterator<Item = arpa::SentenceScore>, order: usize, args: &NgramArgs) -> Result<()> {
    let (mut log10, mut tokens, mut oov) = (0.0, 0usize, 0usize);
    for s in scores {
        (log10, tokens, oov) = (log10 + s.log10_prob, tokens + s.tokens, oov + s.oov);
    }
    if tokens == 0 {
        return Err(Error::Data(format!("{}: no sentence to score", args.eval.display())));
    }
    let nats = -log10 * std::f64::consts::LN_10 / tokens as f64;
    let ln2 = std::f64::consts::LN_2;
    if args.json {
        let report = Json::object([
            ("order", Json::from(order)),
            ("tokens", Json::from(tokens)),
            ("nats_per_token", Json::from(nats)),
            ("perplexity", Json::from(nats.exp())),
            ("bits_per_token", Json::from(nats / ln2)),
            ("oov", Json::from(oov)),
            ("log10_prob", Json::from(log10)),
        ]);
        say!("{report}");
    } else {
        say!("tokens              {tokens} (each line's words and </s>)");
        say!("oov                 {oov} (scored as <unk>)");
        say!("log10 prob          {log10:.6}");
        say!("{order}-gram perplexity   {:.4}", nats.exp());
        say!("{order}-gram bits/token   {:.6}", nats / ln2);
    }
    Ok(())
}

/// `export`: a checkpoint's model as `.npy` tensors, `vocab.json`, `config.json`.
pub fn export(model: &Path, out: &Path) -> Result<()> {
    let model = checkpoint::load(model)?.model;
    export::export(&model, out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// `import`: such a folder as a checkpoint.
pub fn import(dir: &Path, out: &Path) -> Result<()> {
    let model = export::import(dir)?;
    checkpoint::save(out, &Checkpoint { model, train: None })?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// `ngram`: Kneser–Ney and unigram cross-entropy of `--eval` after training
/// on `--corpus`, with `eval`'s tokenization and definition.
pub fn ngram(args: &NgramArgs) -> Result<()> {
    let corpus = match (&args.load, &args.corpus) {
        (Some(arpa), _) => return ngram_load(arpa, args),
        (None, Some(c)) => c,
        (None, None) => unreachable!("the command line requires one"),
    };
    let train_text = read_text(corpus)?;
    let vocab = Vocab::build(&train_text, args.level, args.min_count, args.max_vocab);
    if let Some(path) = &args.arpa {
        return ngram_arpa(&train_text, &vocab, path, args);
    }
    // The stream model packs a gram's ids in 16 bits each (the sentence
    // model above has no such limit).
    if vocab.len() > 1 << 16 {
        return Err(Error::Usage(format!(
            "the vocabulary has {} tokens; n-grams support 65536 (lower --max-vocab)",
            vocab.len()
        )));
    }
    let train = vocab.encode(&train_text).map_err(|e| in_file(corpus, e))?;
    let (test, oov) = tokens_to_score(&vocab, &args.eval, "--eval")?;
    let order = args.order;
    let nats = ngram::KneserNey::train(&train, order, vocab.len()).cross_entropy(&test);
    let unigram = unigram_nats(&train, &test, vocab.len());
    let ln2 = std::f64::consts::LN_2;
    if args.json {
        let report = Json::object([
            ("order", Json::from(order)),
            ("tokens", Json::from(test.len() - 1)),
            ("nats_per_token", Json::from(nats)),
            ("perplexity", Json::from(nats.exp())),
            ("bits_per_token", Json::from(nats / ln2)),
            ("unigram_perplexity", Json::from(unigram.exp())),
            ("unigram_bits_per_token", Json::from(unigram / ln2)),
            ("oov", Json::from(oov)),
        ]);
        say!("{report}");
    } else {
        say!("tokens              {}", test.len() - 1);
        say!("oov                 {oov} (skipped)");
        say!("KN{order} nats/token      {nats:.6}");
        say!("KN{order} perplexity      {:.4}", nats.exp());
        say!("KN{order} bits/token      {:.6}", nats / ln2);
        say!(
            "unigram perplexity  {:.4} ({:.4} bits/token)",
            unigram.exp(),
            unigram / ln2
        );
    }
    Ok(())
}

/// `synth`: write train.txt, test.txt and truth.json.
pub fn synth(args: &SynthArgs) -> Result<()> {
    // The texts are built whole: at most a few bytes a token, and its id.
    let tokens = args.train.checked_add(args.test);
    memory::check(
        &[memory::Part {
            flags: format!("--train {} --test {}", args.train, args.test),
            what: "the texts",
            bytes: tokens.and_then(|n| memory::f32s(&[n, 4])),
        }],
        memory::available(),
    )?;
    let sample = match args.kind {
        SynthKind::Hmm => synth::hmm(args.seed, args.train, args.test),
        SynthKind::Copy => synth::copy(args.seed, args.train, args.test),
    };
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write_atomic(&out.join("train.txt"), sample.train.as_bytes())?;
    write_atomic(&out.join("test.txt"), sample.test.as_bytes())?;
    let truth = synth::truth_json(args.kind.name(), args.seed, &sample);
    write_atomic(&out.join("truth.json"), truth.as_bytes())?;
    eprintln!(
        "wrote {}: true cross-entropy of test.txt {:.4} nats/token (perplexity {:.3})",
        out.display(),
        sample.test_nats,
        sample.test_nats.exp()
    );
    Ok(())
}
