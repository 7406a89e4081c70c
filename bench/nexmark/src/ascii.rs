//! ASCII text that can be sliced at any byte without reading it.
//!
//! `str::get(a..b)` checks that both ends fall on character boundaries, which reads the bytes
//! at `a` and `b`. For a random slice of the 1 MiB padding pool or of the 800 KB channel table
//! that read is a cache miss, and it was most of the cost of generating a bid once the bid
//! stopped copying its strings. Text that is all ASCII has a boundary at every byte, so
//! [`AsciiText::slice`] checks the range against the length only.
//!
//! Invariant: every byte of an `AsciiText` is ASCII. It is checked when one is made and the
//! text is never changed afterwards.

/// A string whose bytes are all ASCII (see the module docs).
pub struct AsciiText(String);

impl AsciiText {
    /// The text, if every byte of it is ASCII; otherwise the string back.
    pub fn new(text: String) -> Result<Self, String> {
        if text.is_ascii() {
            Ok(AsciiText(text))
        } else {
            Err(text)
        }
    }

    /// The whole text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in bytes (and characters).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Bytes `start..end`, or `None` if the range is reversed or runs past the end. Reads none
    /// of the text.
    #[inline]
    pub fn slice(&self, start: usize, end: usize) -> Option<&str> {
        if start > end || end > self.0.len() {
            return None;
        }
        // SAFETY: `start..end` lies within the string (checked above), and every byte of it is
        // ASCII (the type's invariant), so both ends are character boundaries.
        Some(unsafe { self.0.get_unchecked(start..end) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_checked_against_the_length() {
        let t = AsciiText::new("hello world".to_owned()).expect("ASCII");
        assert_eq!(t.slice(0, 5), Some("hello"));
        assert_eq!(t.slice(6, 11), Some("world"));
        assert_eq!(t.slice(11, 11), Some(""));
        assert_eq!(t.slice(3, 12), None, "past the end");
        assert_eq!(t.slice(5, 4), None, "reversed");
        assert_eq!(t.len(), 11);
    }

    #[test]
    fn text_that_is_not_ascii_is_handed_back() {
        let err = AsciiText::new("naïve".to_owned()).err();
        assert_eq!(err.as_deref(), Some("naïve"));
    }
}
