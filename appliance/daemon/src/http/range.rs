//! Parsing of the HTTP `Range` request header (RFC 9110 §14), single byte ranges only.

/// A satisfiable byte range of an object: `len` bytes starting at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte of the range.
    pub offset: u64,
    /// Number of bytes in the range (at least 1).
    pub len: u64,
}

impl ByteRange {
    /// The value of the `Content-Range` header for this range of an object of `size` bytes.
    pub fn content_range(&self, size: u64) -> String {
        format!(
            "bytes {}-{}/{}",
            self.offset,
            self.offset + self.len - 1,
            size
        )
    }
}

/// Why a `Range` header cannot be served: the response is 416 with `Content-Range: bytes */size`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// The header is not a single `bytes=` range this server understands.
    #[error(
        "malformed Range header {0:?}: expected a single range bytes=a-b, bytes=a- or bytes=-n"
    )]
    Malformed(String),
    /// The range is well formed but lies outside the object.
    #[error("range {0:?} is not satisfiable for an object of {1} bytes")]
    Unsatisfiable(String, u64),
}

/// Parses a `Range` header value against an object of `size` bytes.
///
/// Accepts `bytes=a-b` (inclusive, `b` clamped to the last byte), `bytes=a-` and `bytes=-n` (the
/// last `n` bytes, all of them when `n >= size`). Multiple ranges, other units and empty
/// ranges are rejected.
pub fn parse_range(header: &str, size: u64) -> Result<ByteRange, RangeError> {
    let malformed = || RangeError::Malformed(header.to_owned());
    let unsatisfiable = || RangeError::Unsatisfiable(header.to_owned(), size);
    let spec = header.trim().strip_prefix("bytes=").ok_or_else(malformed)?;
    if spec.contains(',') {
        return Err(malformed());
    }
    let (first, last) = spec.split_once('-').ok_or_else(malformed)?;
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| -> Result<u64, RangeError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        s.parse::<u64>().map_err(|_| malformed())
    };
    if first.is_empty() {
        let suffix = number(last)?;
        if suffix == 0 || size == 0 {
            return Err(unsatisfiable());
        }
        let len = suffix.min(size);
        return Ok(ByteRange {
            offset: size - len,
            len,
        });
    }
    let offset = number(first)?;
    let end_inclusive = if last.is_empty() {
        None
    } else {
        Some(number(last)?)
    };
    if let Some(end) = end_inclusive {
        if end < offset {
            return Err(malformed());
        }
    }
    if offset >= size {
        return Err(unsatisfiable());
    }
    let end = end_inclusive.map_or(size - 1, |e| e.min(size - 1));
    Ok(ByteRange {
        offset,
        len: end - offset + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(header: &str, size: u64) -> (u64, u64) {
        let r = parse_range(header, size).unwrap();
        (r.offset, r.len)
    }

    #[test]
    fn closed_open_and_suffix_ranges() {
        assert_eq!(ok("bytes=0-0", 10), (0, 1));
        assert_eq!(ok("bytes=2-5", 10), (2, 4));
        assert_eq!(ok("bytes=2-", 10), (2, 8));
        assert_eq!(ok("bytes=-3", 10), (7, 3));
        assert_eq!(ok(" bytes=9-9 ", 10), (9, 1));
    }

    #[test]
    fn end_past_size_is_clamped_and_long_suffix_takes_all() {
        assert_eq!(ok("bytes=5-1000", 10), (5, 5));
        assert_eq!(ok("bytes=-1000", 10), (0, 10));
    }

    #[test]
    fn content_range_is_inclusive() {
        let r = parse_range("bytes=2-5", 10).unwrap();
        assert_eq!(r.content_range(10), "bytes 2-5/10");
    }

    #[test]
    fn unsatisfiable_ranges() {
        for (h, size) in [
            ("bytes=10-", 10),
            ("bytes=10-20", 10),
            ("bytes=-0", 10),
            ("bytes=0-", 0),
            ("bytes=-5", 0),
        ] {
            assert!(
                matches!(parse_range(h, size), Err(RangeError::Unsatisfiable(..))),
                "{h} on {size}"
            );
        }
    }

    #[test]
    fn malformed_ranges() {
        for h in [
            "",
            "bytes=",
            "bytes=-",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=5-2",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1",
            "bytes=99999999999999999999999-",
        ] {
            assert!(
                matches!(parse_range(h, 10), Err(RangeError::Malformed(_))),
                "{h}"
            );
        }
    }
}
