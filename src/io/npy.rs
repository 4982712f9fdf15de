//! NumPy's `.npy` format (version 1.0) for little-endian arrays in C order
//! of f32 (`<f4`, the tensors) or i32 (`<i4`, a classed model's `class_of`):
//! what `export` writes and `import` reads, one file per array.
//!
//! ```text
//!   "\x93NUMPY" 1 0  header length (u16 LE)  header (a Python dict literal,
//!   padded with spaces to a multiple of 64 bytes, ending in '\n')  data
//! ```

const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// An element type `.npy` files hold here: 4 bytes, little-endian.
pub trait NpyElement: Copy {
    /// NumPy's dtype string.
    const DESCR: &'static str;
    /// What the dtype is, for messages.
    const WHAT: &'static str;
    fn to_le(self) -> [u8; 4];
    fn from_le(b: [u8; 4]) -> Self;
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    const WHAT: &'static str = "little-endian float32";
    fn to_le(self) -> [u8; 4] {
        self.to_le_bytes()
    }
    fn from_le(b: [u8; 4]) -> Self {
        f32::from_le_bytes(b)
    }
}

impl NpyElement for i32 {
    const DESCR: &'static str = "<i4";
    const WHAT: &'static str = "little-endian int32";
    fn to_le(self) -> [u8; 4] {
        self.to_le_bytes()
    }
    fn from_le(b: [u8; 4]) -> Self {
        i32::from_le_bytes(b)
    }
}

/// The bytes of a `.npy` file (format 1.0) holding `data` with `shape`.
pub fn npy_bytes<E: NpyElement>(shape: &[usize], data: &[E]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let descr = E::DESCR;
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad with spaces so magic + version + length + header is a multiple of
    // 64 bytes, ending in '\n' (what NumPy itself writes).
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le());
    }
    out
}

/// The text of header field `key` (`'key': value`), up to the next comma
/// outside parentheses.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

/// Parse a `.npy` file of `E` in C order: (shape, data).
pub fn parse_npy<E: NpyElement>(bytes: &[u8]) -> std::result::Result<(Vec<usize>, Vec<E>), String> {
    if bytes.len() < 10 || &bytes[..6] != NPY_MAGIC {
        return Err("not a .npy file (bad magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(|| format!("truncated header ({header_len} bytes announced)"))?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text".to_string())?;
    let descr = header_field(header, "descr").ok_or("header has no 'descr'")?;
    if descr != format!("'{}'", E::DESCR) {
        return Err(format!("dtype is {descr}, expected '{}' ({})", E::DESCR, E::WHAT));
    }
    if header_field(header, "fortran_order") != Some("False") {
        return Err("array is in Fortran order; expected C order".into());
    }
    let shape_text = header_field(header, "shape").ok_or("header has no 'shape'")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("bad shape {shape_text}"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape {shape_text}")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("shape overflows")?;
    let data = &bytes[start + header_len..];
    if Some(data.len()) != count.checked_mul(4) {
        return Err(format!(
            "shape {shape_text} needs {} bytes of data, the file has {}",
            count.saturating_mul(4),
            data.len()
        ));
    }
    let values = data
        .chunks_exact(4)
        .map(|b| E::from_le(b.try_into().expect("4 bytes")))
        .collect();
    Ok((shape, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_and_is_64_byte_aligned() {
        let data: Vec<f32> = (0..6).map(|x| x as f32 * 0.5).collect();
        for shape in [vec![2, 3], vec![6]] {
            let b = npy_bytes(&shape, &data);
            assert_eq!((b.len() - 24) % 64, 0);
            assert_eq!(parse_npy(&b).unwrap(), (shape, data.clone()));
        }
    }

    #[test]
    fn npy_refuses_wrong_dtype_order_and_length() {
        let b = npy_bytes(&[2, 2], &[1.0; 4]);
        let patch = |from: &[u8], to: &[u8]| {
            let mut c = b.clone();
            let at = c.windows(from.len()).position(|w| w == from).unwrap();
            c[at..at + to.len()].copy_from_slice(to);
            c
        };
        assert!(parse_npy::<f32>(&patch(b"<f4", b"<f8")).unwrap_err().contains("'<f8'"));
        assert!(parse_npy::<f32>(&patch(b"False", b"True "))
            .unwrap_err()
            .contains("Fortran"));
        assert!(parse_npy::<f32>(&b[..b.len() - 1])
            .unwrap_err()
            .contains("needs 16 bytes"));
        // f32 data is not int32 data, and the other way round.
        assert!(parse_npy::<i32>(&b).unwrap_err().contains("expected '<i4'"));
        let ints = npy_bytes(&[3], &[0i32, -1, 7]);
        assert_eq!(parse_npy::<i32>(&ints).unwrap(), (vec![3], vec![0, -1, 7]));
        assert!(parse_npy::<f32>(&ints).unwrap_err().contains("expected '<f4'"));
        for len in 0..b.len() {
            assert!(parse_npy::<f32>(&b[..len]).is_err(), "truncation to {len} accepted");
        }
    }
}
