//! NumPy's `.npy` format (version 1.0) for little-endian f32 arrays in C
//! order: what `export` writes and `import` reads, one file per tensor.
//!
//! ```text
//!   "\x93NUMPY" 1 0  header length (u16 LE)  header (a Python dict literal,
//!   padded with spaces to a multiple of 64 bytes, ending in '\n')  data
//! ```

const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The bytes of a `.npy` file (format 1.0) holding `data` with `shape`.
pub fn npy_bytes(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
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
        out.extend_from_slice(&x.to_le_bytes());
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

/// Parse a `.npy` file of little-endian f32 in C order: (shape, data).
pub fn parse_npy(bytes: &[u8]) -> std::result::Result<(Vec<usize>, Vec<f32>), String> {
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
    if descr != "'<f4'" {
        return Err(format!("dtype is {descr}, expected '<f4' (little-endian float32)"));
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
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
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
        assert!(parse_npy(&patch(b"<f4", b"<f8")).unwrap_err().contains("'<f8'"));
        assert!(parse_npy(&patch(b"False", b"True ")).unwrap_err().contains("Fortran"));
        assert!(parse_npy(&b[..b.len() - 1]).unwrap_err().contains("needs 16 bytes"));
        for len in 0..b.len() {
            assert!(parse_npy(&b[..len]).is_err(), "truncation to {len} accepted");
        }
    }
}
