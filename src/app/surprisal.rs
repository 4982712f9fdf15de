//! Per-token surprisal for `rnnlm eval --per-token` (TSV) and `--html` (a
//! self-contained page): how surprised the model is by each token of a
//! text, and what it expected instead.
//!
//! One stream from h_0 = 0, one token at a time (the generation path), so
//! each position's whole next-token distribution is at hand for the rank
//! and the top predictions; the nats agree with `eval`'s chunked forward to
//! f32 rounding (tested: their mean is `eval`'s nats/token).

use crate::data::vocab::EOS;
use crate::data::Level;
use crate::model::{Model, Params};
use crate::sample::{top_k, Generator};

/// How many predictions the page shows for each position.
pub const HTML_TOP: usize = 5;

/// The surprisal scale of the page's colours, in nats: 0 is green, this
/// and above red.
pub const HTML_SCALE_NATS: f64 = 10.0;

/// One scored token.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// 0-based position in the token stream (the first token is never scored).
    pub position: usize,
    pub token: u32,
    /// −ln p(token | everything before it).
    pub nats: f64,
    /// 1-based rank of the token in the model's distribution: 1 + the
    /// number of tokens more likely.
    pub rank: usize,
    /// The model's `top` most likely tokens at this position.
    pub top: Vec<(u32, f32)>,
}

/// Score every token of `ids` after the first, keeping the `top` most
/// likely predictions at each position.
pub fn score_tokens(model: &Model, ids: &[u32], top: usize) -> Vec<Scored> {
    let h0 = vec![0.0; model.params.config.hidden];
    score_from(&model.params, &h0, ids, 0, top)
}

/// Score every token of `ids` after the first with `params`, from hidden
/// state `h0`, numbering positions from `offset` (`ids[0]` is at `offset`):
/// [`score_tokens`] for one chunk of dynamic evaluation.
pub fn score_from(params: &Params<f32>, h0: &[f32], ids: &[u32], offset: usize, top: usize) -> Vec<Scored> {
    scores(params, h0, ids, offset, top).collect()
}

/// [`score_from`] one token at a time, as each is scored (for a reader
/// that should see rows as they come).
pub fn scores<'a>(
    params: &'a Params<f32>,
    h0: &[f32],
    ids: &'a [u32],
    offset: usize,
    top: usize,
) -> impl Iterator<Item = Scored> + 'a {
    let mut g = Generator::new(params);
    g.set_hidden(h0);
    ids.windows(2).enumerate().map(move |(t, w)| {
        g.feed(w[0]);
        let p = g.probs();
        let p_y = p[w[1] as usize];
        Scored {
            position: offset + t + 1,
            token: w[1],
            nats: -(p_y as f64).ln(),
            rank: 1 + p.iter().filter(|&&x| x > p_y).count(),
            top: if top > 0 { top_k(p, top) } else { Vec::new() },
        }
    })
}

/// A token as one TSV field: tab, newline and backslash escaped as `\t`,
/// `\n`, `\\`.
fn tsv_field(token: &str) -> String {
    token.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n")
}

/// The TSV's first line.
pub const TSV_HEADER: &str = "position\ttoken\tnats\trank\n";

/// One token's TSV line.
pub fn tsv_row(model: &Model, s: &Scored) -> String {
    let token = tsv_field(model.vocab.token(s.token));
    format!("{}\t{token}\t{}\t{}\n", s.position, s.nats, s.rank)
}

/// The TSV: a header `position token nats rank`, then a line per token.
pub fn tsv(model: &Model, scored: &[Scored]) -> String {
    let mut out = String::from(TSV_HEADER);
    for s in scored {
        out += &tsv_row(model, s);
    }
    out
}

/// Text for HTML: `& < > "` escaped.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The colour of a surprisal on the page's scale: hue 120 (green) at 0
/// nats down to 0 (red) at [`HTML_SCALE_NATS`] and above.
fn colour(nats: f64) -> String {
    let hue = 120.0 * (1.0 - (nats / HTML_SCALE_NATS).clamp(0.0, 1.0));
    format!("hsl({hue:.0}, 75%, 80%)")
}

/// How a token reads in the page (whose text keeps white space): a word
/// and a space, `<eos>` as a line break; a character as itself, a line
/// break with a visible ↵ so that its colour shows.
fn shown(model: &Model, id: u32) -> String {
    let t = model.vocab.token(id);
    match model.vocab.level {
        Level::Word if t == EOS => "↵\n".into(),
        Level::Word => format!("{} ", html_escape(t)),
        Level::Char | Level::Jamo if t == "\n" => "↵\n".into(),
        Level::Char | Level::Jamo => html_escape(t),
    }
}

/// The page: a header (model, file, tokens, perplexity, the colour scale),
/// then the text, each scored token on a background coloured by its
/// surprisal, with its nats, rank and the top predictions on hover (the
/// `title` attribute: no scripts).
pub fn html(model: &Model, model_name: &str, file_name: &str, first: u32, scored: &[Scored]) -> String {
    let n = scored.len().max(1) as f64;
    let nats = scored.iter().map(|s| s.nats).sum::<f64>() / n;
    let mut out = String::new();
    out += "<!DOCTYPE html>\n<html lang=\"und\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += &format!("<title>rnnlm surprisal: {}</title>\n", html_escape(file_name));
    out += "<style>\nbody { font-family: sans-serif; margin: 2em; }\n\
            .text { font-family: monospace; font-size: 15px; line-height: 1.9; white-space: pre-wrap; }\n\
            .text span { border-radius: 3px; }\n.scale span { padding: 0 0.6em; }\n</style>\n</head>\n<body>\n";
    out += &format!(
        "<h1>Surprisal</h1>\n<p>model <code>{}</code> · file <code>{}</code> · {} tokens scored · \
         perplexity {:.3} ({:.4} bits/token)</p>\n",
        html_escape(model_name),
        html_escape(file_name),
        scored.len(),
        nats.exp(),
        nats / std::f64::consts::LN_2
    );
    out += "<p class=\"scale\">surprisal −ln p, in nats: ";
    for step in 0..=5 {
        let v = HTML_SCALE_NATS * step as f64 / 5.0;
        let label = if step == 5 {
            format!("≥ {v:.0}")
        } else {
            format!("{v:.0}")
        };
        out += &format!("<span style=\"background: {}\">{label}</span>", colour(v));
    }
    out += " · hover over a token for its surprisal, rank and the model's top predictions</p>\n";
    out += &format!("<div class=\"text\">{}", shown(model, first));
    for s in scored {
        let top: Vec<String> = s
            .top
            .iter()
            .map(|&(id, p)| format!("{:?} {p:.3}", model.vocab.token(id)))
            .collect();
        let title = format!(
            "{:?}: {:.2} nats, rank {}\ntop: {}",
            model.vocab.token(s.token),
            s.nats,
            s.rank,
            top.join(", ")
        );
        out += &format!(
            "<span style=\"background: {}\" title=\"{}\">{}</span>",
            colour(s.nats),
            html_escape(&title),
            shown(model, s.token)
        );
    }
    out += "</div>\n</body>\n</html>\n";
    out
}
