//! Newline-delimited JSON: splits a byte stream into lines under a length cap.
//!
//! Each byte is scanned once, however the input is split. A line longer than the cap is
//! reported once and skipped up to its newline, without being buffered.

use std::ops::Range;

/// One framed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// A complete line (without its `\n` or `\r\n`), as a range into the framer's buffer.
    Message(Range<usize>),
    /// A line longer than the cap, which has been dropped.
    TooLong,
}

/// Splits input into lines; keeps at most one partial line of up to `cap` bytes.
#[derive(Debug)]
pub(crate) struct LineFramer {
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    /// Bytes from `start` known to hold no newline.
    scanned: usize,
    /// Dropping an overlong line until its newline.
    discarding: bool,
    cap: usize,
}

impl LineFramer {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            discarding: false,
            cap,
        }
    }

    /// Appends input; the tail of an overlong line is dropped as it arrives.
    pub(crate) fn push(&mut self, mut data: &[u8]) {
        if self.discarding {
            match memchr::memchr(b'\n', data) {
                Some(newline) => {
                    self.discarding = false;
                    data = &data[newline + 1..];
                }
                None => return,
            }
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Returns the next complete line, or `TooLong` once for a line over the cap.
    pub(crate) fn next_line(&mut self) -> Option<Line> {
        loop {
            let pending = &self.buf[self.start..];
            let Some(offset) = memchr::memchr(b'\n', &pending[self.scanned..]) else {
                self.scanned = pending.len();
                if pending.len() > self.cap {
                    self.clear();
                    self.discarding = true;
                    return Some(Line::TooLong);
                }
                return None;
            };
            let newline = self.start + self.scanned + offset;
            let mut end = newline;
            if end > self.start && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            let range = self.start..end;
            self.start = newline + 1;
            self.scanned = 0;
            if range.len() > self.cap {
                return Some(Line::TooLong);
            }
            if self.buf[range.clone()].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Line::Message(range));
        }
    }

    /// At end of input: returns the last line if it had no newline.
    pub(crate) fn finish(&mut self) -> Option<Line> {
        if self.discarding {
            self.discarding = false;
            return None;
        }
        let range = self.start..self.buf.len();
        self.start = self.buf.len();
        self.scanned = 0;
        if self.buf[range.clone()].iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Some(if range.len() > self.cap {
            Line::TooLong
        } else {
            Line::Message(range)
        })
    }

    /// Returns the bytes of a line returned by `next_line` or `finish`.
    pub(crate) fn bytes(&self, range: Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or_default()
    }

    /// Returns the number of buffered bytes not yet framed.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(framer: &mut LineFramer) -> Vec<Option<Vec<u8>>> {
        let mut out = Vec::new();
        while let Some(line) = framer.next_line() {
            out.push(match line {
                Line::Message(range) => Some(framer.bytes(range).to_vec()),
                Line::TooLong => None,
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_cr() {
        let mut framer = LineFramer::new(100);
        framer.push(b"a\r\nbb\n\n  \nccc");
        assert_eq!(
            lines(&mut framer),
            vec![Some(b"a".to_vec()), Some(b"bb".to_vec())]
        );
        framer.push(b"c\n");
        assert_eq!(lines(&mut framer), vec![Some(b"cccc".to_vec())]);
    }

    #[test]
    fn overlong_line_is_reported_once_and_skipped() {
        let mut framer = LineFramer::new(4);
        framer.push(b"12345");
        assert_eq!(lines(&mut framer), vec![None]);
        framer.push(b"678");
        assert_eq!(lines(&mut framer), vec![]);
        framer.push(b"9\nok\n");
        assert_eq!(lines(&mut framer), vec![Some(b"ok".to_vec())]);
        assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn finish_returns_unterminated_tail() {
        let mut framer = LineFramer::new(10);
        framer.push(b"x\ntail");
        assert_eq!(lines(&mut framer), vec![Some(b"x".to_vec())]);
        let Some(Line::Message(range)) = framer.finish() else {
            panic!("no tail")
        };
        assert_eq!(framer.bytes(range), b"tail");
    }
}
