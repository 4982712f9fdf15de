//! `rnnlm plot`: a well-formed SVG with one training point per step row and
//! one validation point per epoch row of each `--log`, runs overlaid.

mod common;
use common::*;

/// A small well-formedness check of our own: every tag closes in order,
/// attributes are `name="value"`, text holds no raw `<`, and `&` starts an
/// entity. Returns the elements as (name, attributes).
fn elements(xml: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut open: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..text[i..].find(';').map(|j| i + j + 1).unwrap_or(text.len())];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;"].contains(&entity),
                "bare & in text: {entity:?}"
            );
        }
        let gt = rest[lt..].find('>').expect("an unclosed tag") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') {
            assert!(tag.ends_with('?'), "{tag}");
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let (name, mut attrs_text) = body.split_once(' ').unwrap_or((body, ""));
        let mut attrs = Vec::new();
        loop {
            attrs_text = attrs_text.trim_start();
            if attrs_text.is_empty() {
                break;
            }
            let eq = attrs_text
                .find("=\"")
                .unwrap_or_else(|| panic!("bad attribute in <{tag}>"));
            let key = attrs_text[..eq].to_string();
            assert!(
                key.chars().all(|c| c.is_ascii_alphanumeric() || "-:_".contains(c)),
                "bad name {key:?}"
            );
            let value_end = attrs_text[eq + 2..].find('"').expect("unterminated attribute") + eq + 2;
            let value = attrs_text[eq + 2..value_end].to_string();
            assert!(!value.contains('<'), "< in an attribute");
            attrs.push((key, value));
            attrs_text = &attrs_text[value_end + 1..];
        }
        if !self_closing {
            open.push(name.to_string());
        }
        out.push((name.to_string(), attrs));
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    out
}

fn attr<'a>(e: &'a (String, Vec<(String, String)>), key: &str) -> Option<&'a str> {
    e.1.iter().find(|a| a.0 == key).map(|a| a.1.as_str())
}

#[test]
fn the_checker_catches_malformed_xml() {
    for bad in ["<a><b></a></b>", "<a x=1/>", "<a>1 < 2</a>", "<a>&</a>", "<a>"] {
        assert!(std::panic::catch_unwind(|| elements(bad)).is_err(), "{bad} passed");
    }
    assert_eq!(elements("<?xml version=\"1.0\"?><a k=\"v\"><b/>x &amp; y</a>").len(), 2);
}

#[test]
fn plot_draws_a_point_per_step_row_and_per_epoch_row_for_each_run() {
    let dir = tmpdir("plot");
    let corpus = dir.join("c.txt");
    std::fs::write(&corpus, "the cat sat on the mat. 우리는 달린다.\n".repeat(40)).unwrap();
    let mut logs = Vec::new();
    for (name, lr) in [("fast", "0.01"), ("slow", "0.001")] {
        let log = dir.join(format!("{name}.csv"));
        let o = train_small(&corpus, &dir.join(format!("{name}.ckpt")), "16")
            .args([
                "--epochs",
                "3",
                "--schedule",
                "plateau",
                "--min-improvement",
                "0.99",
                "--lr",
                lr,
            ])
            .arg("--log")
            .arg(&log)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        logs.push(log);
    }
    let svg = dir.join("curves.svg");
    let o = bin()
        .args(["plot", "--log"])
        .arg(&logs[0])
        .arg("--log")
        .arg(&logs[1])
        .arg("--out")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let els = elements(&text);
    assert_eq!(els.iter().filter(|e| e.0 == "svg").count(), 1);
    for (log, name) in logs.iter().zip(["fast", "slow"]) {
        let csv = std::fs::read_to_string(log).unwrap();
        let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
        let (epochs, steps) = rows.iter().partition::<Vec<_>, _>(|r| !r[4].is_empty());
        let points = |class: &str| {
            let line = els
                .iter()
                .find(|e| e.0 == "polyline" && attr(e, "class") == Some(class) && attr(e, "data-run") == Some(name))
                .unwrap_or_else(|| panic!("no {class} line for {name}"));
            attr(line, "points").unwrap().split_whitespace().count()
        };
        assert_eq!(points("train"), steps.len(), "{name}: one point per step row");
        assert_eq!(points("valid"), epochs.len(), "{name}: one point per epoch row");
        assert!(text.contains(&format!("{name} train (smoothed)")) && text.contains(&format!("{name} valid")));
        // Every rate change is marked (min-improvement 0.99 halves after every epoch but the first).
        let changes = steps.windows(2).filter(|w| w[0][2] != w[1][2]).count();
        assert!(changes >= 1, "{name}: the test needs a rate change");
        let marks = els.iter().filter(|e| attr(e, "class") == Some("lr")).count();
        assert!(marks >= changes, "{marks} marks for {changes} changes");
        // Each new rate is written as it is (a halved 0.001 is 0.0005, not "0").
        for w in steps.windows(2).filter(|w| w[0][2] != w[1][2]) {
            assert!(
                text.contains(&format!(">lr {}<", w[1][2])),
                "no label for lr {}",
                w[1][2]
            );
        }
    }
    assert!(text.contains("training step") && text.contains("bits / token"));
    // A missing file or a CSV of something else is an error naming it.
    let other = dir.join("other.csv");
    std::fs::write(&other, "a,b\n1,2\n").unwrap();
    let o = bin()
        .args(["plot", "--out"])
        .arg(&svg)
        .arg("--log")
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("other.csv: line 1: no 'step' column"),
        "{}",
        stderr(&o)
    );
}
