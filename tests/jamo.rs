//! `--level jamo`: Korean trained as jamo, generated as ordinary Hangul,
//! scored per original character as well, carried through export/import.

mod common;
use common::*;

const KOREAN: &str = "우리는 달린다. 하늘은 맑고 바람은 시원하다.\n그는 천천히 걸었다. 한국어를 배운다.\n";

#[test]
fn jamo_level_trains_generates_hangul_and_scores_per_character() {
    let dir = tmpdir("jamo");
    let corpus = dir.join("k.txt");
    std::fs::write(&corpus, KOREAN.repeat(40)).unwrap();
    let ck = dir.join("j.ckpt");
    let o = train_small(&corpus, &ck, "16")
        .args(["--level", "jamo", "--steps", "60", "--lr", "0.01"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let model = rnnlm::train::checkpoint::load(&ck).unwrap().model;
    assert_eq!(model.vocab.level.name(), "jamo");
    // Every Hangul token is a conjoining jamo: no syllable in the vocabulary.
    assert!(model
        .vocab
        .tokens()
        .iter()
        .all(|t| !t.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c))));
    // However many syllables, at most 19 initials, 21 medials, 27 finals.
    let jamo = model
        .vocab
        .tokens()
        .iter()
        .filter(|t| t.chars().all(|c| ('\u{1100}'..='\u{11FF}').contains(&c)))
        .count();
    assert!(jamo > 0 && jamo <= 19 + 21 + 27, "{jamo}");

    // Generation composes: --len counts output characters, and what comes
    // out is ordinary Hangul (a lone jamo only where one cannot compose).
    let o = bin()
        .args([
            "generate",
            "--len",
            "40",
            "--temperature",
            "0.5",
            "--prime",
            "우리는 ",
            "--model",
        ])
        .arg(&ck)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let generated: Vec<char> = text
        .trim_end_matches('\n')
        .strip_prefix("우리는 ")
        .unwrap()
        .chars()
        .collect();
    assert!(
        (40..=42).contains(&generated.len()),
        "{} characters: {text:?}",
        generated.len()
    );
    // Whatever composes is composed: no initial is left before a medial
    // (jamo that cannot compose, which an undertrained model emits, stay).
    let composed = generated
        .iter()
        .filter(|c| ('\u{AC00}'..='\u{D7A3}').contains(c))
        .count();
    assert!(composed > 10, "{text:?}");
    let missed = generated
        .windows(2)
        .filter(|w| ('\u{1100}'..='\u{1112}').contains(&w[0]) && ('\u{1161}'..='\u{1175}').contains(&w[1]))
        .count();
    assert_eq!(missed, 0, "an initial and a medial left uncomposed: {text:?}");
    assert_eq!(rnnlm::data::jamo::compose(&rnnlm::data::jamo::decompose(&text)), text);

    // eval: per jamo, and per original character.
    let held = dir.join("held.txt");
    std::fs::write(&held, "하늘은 맑다. 우리는 걸었다.\n").unwrap();
    let json = eval_json_with(&ck, &held, &[]);
    let chars = std::fs::read_to_string(&held).unwrap().chars().count();
    assert_eq!(json_number(&json, "chars"), (chars - 1) as f64, "{json}");
    let (tokens, nats) = (json_number(&json, "tokens"), json_number(&json, "nats_per_token"));
    assert!(tokens > chars as f64, "jamo are more than characters: {json}");
    let per_char = json_number(&json, "nats_per_char");
    assert!((per_char - nats * tokens / (chars - 1) as f64).abs() < 1e-9, "{json}");
    assert!((json_number(&json, "bits_per_char") - per_char / std::f64::consts::LN_2).abs() < 1e-9);

    // Export and import keep the level.
    let out = dir.join("exported");
    assert!(bin()
        .arg("export")
        .arg("--model")
        .arg(&ck)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap()
        .success());
    assert_eq!(
        rnnlm::io::json::parse(&std::fs::read_to_string(out.join("config.json")).unwrap())
            .unwrap()
            .get("level"),
        Some(&rnnlm::io::json::Json::from("jamo"))
    );
    let again = dir.join("again.ckpt");
    assert!(bin()
        .arg("import")
        .arg("--dir")
        .arg(&out)
        .arg("--out")
        .arg(&again)
        .status()
        .unwrap()
        .success());
    let json2 = eval_json_with(&again, &held, &[]);
    assert_eq!(json, json2);
}

/// At char level the per-character figures are the per-token ones.
#[test]
fn char_level_reports_the_same_figures_per_character() {
    let dir = tmpdir("jamo-char");
    let corpus = dir.join("k.txt");
    std::fs::write(&corpus, KOREAN.repeat(20)).unwrap();
    let ck = dir.join("c.ckpt");
    assert!(train_small(&corpus, &ck, "16")
        .args(["--steps", "5"])
        .status()
        .unwrap()
        .success());
    let json = eval_json_with(&ck, &corpus, &[]);
    assert_eq!(json_number(&json, "chars"), json_number(&json, "tokens"));
    assert_eq!(
        json_number(&json, "nats_per_char"),
        json_number(&json, "nats_per_token")
    );
}
