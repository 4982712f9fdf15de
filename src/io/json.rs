//! Just enough JSON for the files and reports rnnlm writes and reads: one
//! value type, a parser whose errors give the byte offset, and one writer
//! ([`Json`]'s `Display`) used by every JSON output of the crate.
//!
//! Objects keep their fields in order (written as given, parsed as read);
//! a repeated key is refused when parsing. A number that is not finite has
//! no JSON spelling: the writer writes it as `null`, so the output is
//! always valid JSON and a reader sees "no value" rather than a made-up one.
//! Numbers are f64, as in JavaScript: whole numbers are exact up to 2^53.

use std::fmt;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    /// Fields in document order, keys unique.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An object with these fields, in this order.
    pub fn object<K: Into<String>>(fields: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The value under `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<f64> for Json {
    fn from(x: f64) -> Json {
        Json::Number(x)
    }
}

impl From<usize> for Json {
    fn from(x: usize) -> Json {
        Json::Number(x as f64)
    }
}

impl From<u64> for Json {
    fn from(x: u64) -> Json {
        Json::Number(x as f64)
    }
}

impl From<bool> for Json {
    fn from(x: bool) -> Json {
        Json::Bool(x)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::String(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::String(s)
    }
}

/// The one writer: compact, `", "` and `": "` separators, non-finite
/// numbers as `null`.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(x) if !x.is_finite() => f.write_str("null"),
            Json::Number(x) => write!(f, "{x}"),
            Json::String(s) => f.write_str(&escape(s)),
            Json::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Json::Object(fields) => {
                f.write_str("{")?;
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {v}", escape(k))?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Nesting deeper than this is refused (a corrupt file cannot blow the stack).
const MAX_DEPTH: usize = 64;

/// Parse a whole document.
pub fn parse(text: &str) -> Result<Json, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected data at byte {}", p.i));
    }
    Ok(v)
}

/// `s` as a JSON string literal, quotes included.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.i))
    }

    fn eat(&mut self, lit: &str) -> Result<(), String> {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            self.err(&format!("expected {lit}"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        self.ws();
        match self.s.get(self.i) {
            None => self.err("unexpected end"),
            Some(b'n') => self.eat("null").map(|_| Json::Null),
            Some(b't') => self.eat("true").map(|_| Json::Bool(true)),
            Some(b'f') => self.eat("false").map(|_| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return self.err("expected , or ]"),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut fields: Vec<(String, Json)> = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Object(fields));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return self.err("expected a key");
                    }
                    let at = self.i;
                    let k = self.string()?;
                    if fields.iter().any(|(seen, _)| *seen == k) {
                        return Err(format!("repeated key {k:?} at byte {at}"));
                    }
                    self.ws();
                    self.eat(":")?;
                    let v = self.value(depth + 1)?;
                    fields.push((k, v));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Object(fields));
                        }
                        _ => return self.err("expected , or }"),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while self.i < self.s.len() && matches!(self.s[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII");
                text.parse()
                    .map(Json::Number)
                    .map_err(|_| format!("bad number {text:?} at byte {start}"))
            }
            Some(_) => self.err("unexpected character"),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| format!("short \\u escape at byte {}", self.i))?;
        let h = std::str::from_utf8(h).map_err(|_| format!("bad \\u escape at byte {}", self.i))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| format!("bad \\u escape at byte {}", self.i))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return self.err("unterminated string");
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err("unterminated escape");
                    };
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) {
                                self.eat("\\u")?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return self.err("unpaired surrogate");
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            char::from_u32(cp).ok_or_else(|| format!("invalid code point at byte {}", self.i))?
                        }
                        _ => return self.err("bad escape"),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return self.err("control character in string"),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| format!("string before byte {} is not UTF-8", self.i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_awkward_strings() {
        for s in ["plain", "quote \" and \\", "line\nbreak\ttab", "\u{1}", "한국어 🙂", ""] {
            assert_eq!(parse(&escape(s)).unwrap(), Json::String(s.to_string()));
        }
        assert_eq!(parse(r#""\ud83d\ude42""#).unwrap(), Json::String("🙂".into()));
    }

    #[test]
    fn parses_objects_and_arrays() {
        let v = parse(r#"{"level": "char", "vocab_size": 65, "x": [true, null, -1.5e2]}"#).unwrap();
        assert_eq!(v.get("vocab_size"), Some(&Json::Number(65.0)));
        assert_eq!(
            v.get("x"),
            Some(&Json::Array(vec![Json::Bool(true), Json::Null, Json::Number(-150.0)]))
        );
        assert!(parse(r#"{"a": 1, "a": 2}"#).unwrap_err().contains("repeated key"));
    }

    /// The writer keeps field order, writes what the parser reads back, and
    /// writes non-finite numbers as null (there is no JSON for them).
    #[test]
    fn the_writer_round_trips_and_writes_non_finite_numbers_as_null() {
        let v = Json::object([
            ("tokens", Json::from(12usize)),
            ("nats", Json::from(0.1 + 0.2)),
            ("name", Json::from("한 \"x\"\n")),
            ("ok", Json::from(true)),
            ("list", Json::Array(vec![Json::from(-1.5e-7), Json::Null])),
        ]);
        let text = v.to_string();
        assert!(
            text.starts_with(r#"{"tokens": 12, "nats": 0.30000000000000004, "name": "#),
            "{text}"
        );
        assert_eq!(parse(&text).unwrap(), v);
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let text = Json::object([("loss", Json::from(x))]).to_string();
            assert_eq!(text, r#"{"loss": null}"#);
            assert_eq!(parse(&text).unwrap().get("loss"), Some(&Json::Null));
        }
    }

    #[test]
    fn errors_give_offsets_and_deep_nesting_is_refused() {
        assert!(parse("[1, 2").unwrap_err().contains("byte"));
        assert!(parse("\"abc").unwrap_err().contains("unterminated"));
        assert!(parse(&"[".repeat(10_000)).unwrap_err().contains("too deep"));
        assert!(parse("{} x").is_err());
    }
}
