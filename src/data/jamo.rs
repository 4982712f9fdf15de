//! Hangul by jamo: the algorithmic Unicode decomposition of a precomposed
//! syllable (U+AC00–U+D7A3) into its conjoining jamo — an initial (U+1100–
//! U+1112), a medial (U+1161–U+1175) and an optional final (U+11A8–U+11C2) —
//! and the composition back.
//!
//! ```text
//!   S = 0xAC00 + (L·21 + V)·28 + T        L < 19, V < 21, 0 ≤ T < 28 (0: no final)
//!   initial = 0x1100 + L, medial = 0x1161 + V, final = 0x11A7 + T
//! ```
//!
//! `--level jamo` trains on decomposed text (about 1,400 syllables become a
//! few dozen jamo) and composes generated jamo back into syllables. A
//! sequence that does not compose (a lone medial, a final after nothing) is
//! emitted as the conjoining jamo themselves, never dropped.

const S_BASE: u32 = 0xAC00;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const L_COUNT: u32 = 19;
const V_COUNT: u32 = 21;
const T_COUNT: u32 = 28;
const S_COUNT: u32 = L_COUNT * V_COUNT * T_COUNT;

/// Append `c` to `out`, decomposed into its jamo if it is a precomposed
/// Hangul syllable.
pub fn decompose_into(c: char, out: &mut String) {
    let s = c as u32;
    if !(S_BASE..S_BASE + S_COUNT).contains(&s) {
        out.push(c);
        return;
    }
    let i = s - S_BASE;
    let (l, v, t) = (
        i / (V_COUNT * T_COUNT),
        (i % (V_COUNT * T_COUNT)) / T_COUNT,
        i % T_COUNT,
    );
    for cp in [L_BASE + l, V_BASE + v]
        .into_iter()
        .chain((t > 0).then_some(T_BASE + t))
    {
        out.push(char::from_u32(cp).expect("a conjoining jamo"));
    }
}

/// `text` with every precomposed Hangul syllable decomposed.
pub fn decompose(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    text.chars().for_each(|c| decompose_into(c, &mut out));
    out
}

fn initial(c: char) -> Option<u32> {
    (c as u32).checked_sub(L_BASE).filter(|&x| x < L_COUNT)
}

fn medial(c: char) -> Option<u32> {
    (c as u32).checked_sub(V_BASE).filter(|&x| x < V_COUNT)
}

fn final_(c: char) -> Option<u32> {
    (c as u32).checked_sub(T_BASE).filter(|&x| x > 0 && x < T_COUNT)
}

/// Composes a stream of characters back into text: an initial and a medial
/// (and a final, if one follows) become one syllable; everything else passes
/// through as it came.
#[derive(Clone, Debug, Default)]
pub struct Composer {
    /// The pending initial and medial, not yet emitted.
    pending: Option<(u32, Option<u32>)>,
}

impl Composer {
    /// Feed one character; returns the text that is now final.
    pub fn push(&mut self, c: char) -> String {
        let mut out = String::new();
        match (self.pending, initial(c), medial(c), final_(c)) {
            // L + V: wait for a possible final.
            (Some((l, None)), _, Some(v), _) => self.pending = Some((l, Some(v))),
            // L V + T: a whole syllable.
            (Some((l, Some(v))), _, _, Some(t)) => {
                out.push(syllable(l, v, t));
                self.pending = None;
            }
            // Anything else ends what is pending; a new initial may start.
            (_, l, _, _) => {
                out += &self.flush();
                match l {
                    Some(l) => self.pending = Some((l, None)),
                    None => out.push(c),
                }
            }
        }
        out
    }

    /// Emit whatever is pending (end of the text).
    pub fn flush(&mut self) -> String {
        match self.pending.take() {
            None => String::new(),
            Some((l, None)) => char::from_u32(L_BASE + l).expect("jamo").to_string(),
            Some((l, Some(v))) => syllable(l, v, 0).to_string(),
        }
    }
}

fn syllable(l: u32, v: u32, t: u32) -> char {
    char::from_u32(S_BASE + (l * V_COUNT + v) * T_COUNT + t).expect("a Hangul syllable")
}

/// `text` composed back ([`Composer`] over every character).
pub fn compose(text: &str) -> String {
    let mut c = Composer::default();
    let mut out: String = text.chars().map(|ch| c.push(ch)).collect();
    out += &c.flush();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand: 한 = U+D55C = 0xAC00 + (18·21 + 0)·28 + 4 → ᄒ (U+1112),
    /// ᅡ (U+1161), ᆫ (U+11AB); 가 = U+AC00 → ᄀ ᅡ with no final.
    #[test]
    fn decomposition_follows_the_unicode_algorithm() {
        assert_eq!(decompose("한"), "\u{1112}\u{1161}\u{11AB}");
        assert_eq!(decompose("가a"), "\u{1100}\u{1161}a");
        assert_eq!(decompose("힣").chars().count(), 3);
    }

    #[test]
    fn every_syllable_round_trips_and_other_text_is_untouched() {
        let all: String = (S_BASE..S_BASE + S_COUNT).map(|s| char::from_u32(s).unwrap()).collect();
        assert_eq!(compose(&decompose(&all)), all);
        let mixed = "우리는 달린다. The cat, 🙂 ㄱ ᄀ\n";
        assert_eq!(compose(&decompose(mixed)), mixed);
    }

    /// Sequences that do not compose are emitted as the jamo themselves:
    /// nothing is dropped.
    #[test]
    fn jamo_that_do_not_compose_are_kept() {
        let lone_medial = "\u{1161}";
        assert_eq!(compose(lone_medial), lone_medial);
        let final_first = "\u{11AB}\u{1100}";
        assert_eq!(compose(final_first), final_first);
        let initial_then_text = "\u{1100}a";
        assert_eq!(compose(initial_then_text), initial_then_text);
        // Two initials: the first stays a jamo, the second starts a syllable.
        assert_eq!(compose("\u{1100}\u{1100}\u{1161}"), "\u{1100}가");
        // LV then another medial: 가 then a lone medial.
        assert_eq!(compose("\u{1100}\u{1161}\u{1161}"), "가\u{1161}");
    }
}
