//! `rnnlm plot`: learning curves from `train --log` CSV files as one
//! self-contained SVG — the training loss per step (smoothed) and the
//! validation loss per epoch, in bits per token against the training step,
//! with the learning-rate changes marked; several runs overlay.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::fs::{read_text, write_atomic};

/// One run's curves, read from its CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The legend's name: the file's stem.
    pub name: String,
    /// (step, training loss in nats) per step row.
    pub train: Vec<(f64, f64)>,
    /// (step, validation loss in nats) per epoch row.
    pub valid: Vec<(f64, f64)>,
    /// (step, new rate) where the rate changed.
    pub lr_changes: Vec<(f64, f64)>,
}

/// Read a training CSV: columns found by the header's names (`step`,
/// `lr`, `train_loss`, `valid_loss`), so logs written before the
/// `decision` column read as well. Errors name the file and line.
pub fn read_run(path: &Path) -> Result<Run> {
    let text = read_text(path)?;
    let bad = |line: usize, what: String| Error::Data(format!("{}: line {line}: {what}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| bad(1, format!("no '{name}' column (not a `train --log` file?)")))
    };
    let (step, lr, train, valid) = (col("step")?, col("lr")?, col("train_loss")?, col("valid_loss")?);
    let mut run = Run {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        train: Vec::new(),
        valid: Vec::new(),
        lr_changes: Vec::new(),
    };
    let mut last_lr = None;
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let num = |c: usize| -> Result<f64> {
            let v = f.get(c).copied().unwrap_or("");
            v.parse()
                .map_err(|_| bad(i + 2, format!("'{v}' in column {} is not a number", c + 1)))
        };
        let at = num(step)?;
        if f.get(valid).is_some_and(|v| !v.is_empty()) {
            run.valid.push((at, num(valid)?));
            continue;
        }
        let rate = num(lr)?;
        if last_lr.is_some_and(|l| l != rate) {
            run.lr_changes.push((at, rate));
        }
        last_lr = Some(rate);
        run.train.push((at, num(train)?));
    }
    if run.train.is_empty() && run.valid.is_empty() {
        return Err(Error::Data(format!("{}: no rows to plot", path.display())));
    }
    Ok(run)
}

/// Exponential moving average with bias correction (β = 0.95, about the
/// last 20 steps), one value per input: the training loss is noisy step to
/// step.
fn smooth(xs: &[(f64, f64)]) -> Vec<(f64, f64)> {
    const BETA: f64 = 0.95;
    let (mut s, mut w) = (0.0, 0.0);
    xs.iter()
        .map(|&(x, y)| {
            s = BETA * s + (1.0 - BETA) * y;
            w = BETA * w + (1.0 - BETA);
            (x, s / w)
        })
        .collect()
}

/// About `n` round tick values covering `[lo, hi]`: steps of 1, 2 or 5
/// times a power of ten.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| span / s <= n as f64)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    (0..=n + 1)
        .map(|i| first + i as f64 * step)
        .filter(|&t| t <= hi + 1e-9 * span)
        .collect()
}

/// A number as a tick label: no trailing zeros.
fn label(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Text for SVG: `& < > "` escaped.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const PALETTE: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"];

/// The SVG of `runs` overlaid.
pub fn svg(runs: &[Run]) -> String {
    let smoothed: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| smooth(&r.train)).collect();
    let f = Frame::fit(runs, &smoothed);
    let mut s = f.axes();
    // The curves, each run in its colour, clipped to the plot area; the
    // legend on the right.
    s += &format!(
        "<clipPath id=\"area\"><rect x=\"{}\" y=\"{}\" width=\"{:.1}\" height=\"{:.1}\"/></clipPath>\n<g clip-path=\"url(#area)\">\n",
        f.x0(),
        f.y1(),
        f.x1() - f.x0(),
        f.y0() - f.y1()
    );
    let mut legend_y = Frame::TOP + 10.0;
    let mut legend = String::new();
    for (i, (run, smoothed)) in runs.iter().zip(&smoothed).enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        s += &f.lr_marks(run, i, c);
        s += &f.curves(run, smoothed, c);
        legend += &Frame::legend_entry(&escape(&run.name), c, legend_y);
        legend_y += 44.0;
    }
    s += "</g>\n";
    s += &legend;
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#555\">dotted: learning-rate changes</text>\n</svg>\n",
        Frame::W - Frame::RIGHT + 15.0,
        legend_y
    );
    s
}

/// The plot's page and its scales: steps on x (0 to the last step), bits
/// per token on y (fitted to the curves).
struct Frame {
    x_max: f64,
    y_lo: f64,
    y_hi: f64,
}

impl Frame {
    const W: f64 = 860.0;
    const H: f64 = 500.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 200.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 55.0;

    /// Scales that hold every run. The y range fits the curves after
    /// their first 2% of steps: the first losses (≈ log2 V) would squash
    /// the rest; the plot clips them.
    fn fit(runs: &[Run], smoothed: &[Vec<(f64, f64)>]) -> Frame {
        let ln2 = std::f64::consts::LN_2;
        let x_max = runs
            .iter()
            .flat_map(|r| r.train.iter().chain(&r.valid))
            .map(|p| p.0)
            .fold(1.0, f64::max);
        let fitted = smoothed
            .iter()
            .flatten()
            .chain(runs.iter().flat_map(|r| &r.valid))
            .filter(|p| p.0 >= 0.02 * x_max);
        let (mut y_lo, mut y_hi) = fitted.fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.1 / ln2), hi.max(p.1 / ln2))
        });
        if y_lo > y_hi {
            (y_lo, y_hi) = (0.0, 1.0);
        }
        let pad = (y_hi - y_lo).max(0.1) * 0.05;
        Frame {
            x_max,
            y_lo: y_lo - pad,
            y_hi: y_hi + pad,
        }
    }

    /// The plot area's edges: left, right, bottom, top.
    fn x0(&self) -> f64 {
        Self::LEFT
    }
    fn x1(&self) -> f64 {
        Self::W - Self::RIGHT
    }
    fn y0(&self) -> f64 {
        Self::H - Self::BOTTOM
    }
    fn y1(&self) -> f64 {
        Self::TOP
    }

    /// A step's x on the page.
    fn px(&self, x: f64) -> f64 {
        Self::LEFT + (Self::W - Self::LEFT - Self::RIGHT) * x / self.x_max
    }

    /// A bits-per-token value's y on the page.
    fn py(&self, y: f64) -> f64 {
        Self::TOP + (Self::H - Self::TOP - Self::BOTTOM) * (1.0 - (y - self.y_lo) / (self.y_hi - self.y_lo))
    }

    /// The page's head, then the axes with their ticks, grid and labels.
    fn axes(&self) -> String {
        let (w, h) = (Self::W, Self::H);
        let mut s = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
             <text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">Learning curves</text>\n",
            (Self::LEFT + w - Self::RIGHT) / 2.0
        );
        let (x0, x1, y0, y1) = (self.x0(), self.x1(), self.y0(), self.y1());
        s += &format!("<path d=\"M{x0},{y1} V{y0} H{x1}\" fill=\"none\" stroke=\"black\"/>\n");
        for t in ticks(0.0, self.x_max, 8) {
            let x = self.px(t);
            s += &format!(
                "<line x1=\"{x:.1}\" y1=\"{y0}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"black\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                y0 + 5.0,
                y0 + 18.0,
                label(t)
            );
        }
        for t in ticks(self.y_lo, self.y_hi, 6) {
            let y = self.py(t);
            s += &format!(
                "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"#e8e8e8\"/><line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{x0}\" y2=\"{y:.1}\" stroke=\"black\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
                x0 - 5.0,
                x0 - 8.0,
                y + 4.0,
                label(t)
            );
        }
        s += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">training step</text>\n\
             <text transform=\"translate(18 {:.1}) rotate(-90)\" text-anchor=\"middle\">bits / token</text>\n",
            (x0 + x1) / 2.0,
            h - 12.0,
            (y0 + y1) / 2.0
        );
        s
    }

    /// Run `i`'s learning-rate changes: a dotted line each, labelled.
    fn lr_marks(&self, run: &Run, i: usize, c: &str) -> String {
        let (x1, y0, y1) = (self.x1(), self.y0(), self.y1());
        let mut s = String::new();
        for (j, &(at, rate)) in run.lr_changes.iter().enumerate() {
            let x = self.px(at);
            let label_y = y1 + 12.0 + 12.0 * ((i + j) % 3) as f64;
            // Near the right edge the label goes to the left of its line.
            let (label_x, anchor) = if x > x1 - 90.0 {
                (x - 3.0, "end")
            } else {
                (x + 3.0, "start")
            };
            s += &format!(
                "<line class=\"lr\" x1=\"{x:.1}\" y1=\"{y1}\" x2=\"{x:.1}\" y2=\"{y0}\" stroke=\"{c}\" stroke-dasharray=\"2 4\" opacity=\"0.6\"/>\
                 <text x=\"{label_x:.1}\" y=\"{label_y:.1}\" font-size=\"10\" fill=\"{c}\" text-anchor=\"{anchor}\">lr {rate}</text>\n"
            );
        }
        s
    }

    /// A run's smoothed training curve, its validation curve and points.
    fn curves(&self, run: &Run, smoothed: &[(f64, f64)], c: &str) -> String {
        let ln2 = std::f64::consts::LN_2;
        let path = |pts: &[(f64, f64)]| {
            pts.iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y / ln2)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let name = escape(&run.name);
        let mut s = format!(
            "<polyline class=\"train\" data-run=\"{name}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.2\" points=\"{}\"/>\n",
            path(smoothed)
        );
        s += &format!(
            "<polyline class=\"valid\" data-run=\"{name}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" stroke-dasharray=\"6 3\" points=\"{}\"/>\n",
            path(&run.valid)
        );
        for &(x, y) in &run.valid {
            s += &format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"/>\n",
                self.px(x),
                self.py(y / ln2)
            );
        }
        s
    }

    /// A run's two legend lines (train, valid) at height `y`.
    fn legend_entry(name: &str, c: &str, y: f64) -> String {
        let lx = Self::W - Self::RIGHT + 15.0;
        format!(
            "<line x1=\"{lx}\" y1=\"{y}\" x2=\"{:.1}\" y2=\"{y}\" stroke=\"{c}\" stroke-width=\"1.2\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{name} train (smoothed)</text>\n\
             <line x1=\"{lx}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{c}\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{name} valid</text>\n",
            lx + 24.0,
            lx + 30.0,
            y + 4.0,
            y + 18.0,
            lx + 24.0,
            y + 18.0,
            lx + 30.0,
            y + 22.0
        )
    }
}

/// `plot`: read every `--log`, write the SVG.
pub fn plot(logs: &[PathBuf], out: &Path) -> Result<()> {
    if logs.is_empty() {
        return Err(Error::Usage(
            "--log is required (a `train --log` CSV; give it more than once to overlay runs)".into(),
        ));
    }
    let runs = logs.iter().map(|l| read_run(l)).collect::<Result<Vec<_>>>()?;
    write_atomic(out, svg(&runs).as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 1000.0, 8), [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
        let t = ticks(5.63, 7.91, 6);
        assert!(
            t.first().unwrap() >= &5.63 && t.last().unwrap() <= &7.91 && t.len() >= 3,
            "{t:?}"
        );
        assert_eq!(label(0.5), "0.5");
        assert_eq!(label(200.0), "200");
    }

    /// The smoothed line starts at the first value (bias-corrected) and
    /// moves toward later ones.
    #[test]
    fn smoothing_is_bias_corrected() {
        let s = smooth(&[(1.0, 4.0), (2.0, 2.0)]);
        assert_eq!(s[0], (1.0, 4.0));
        assert!(s[1].1 < 4.0 && s[1].1 > 2.0);
    }
}
