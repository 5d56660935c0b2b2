//! A connection's read buffer, sized to what the connection reads.

/// A connection's read buffer: small while the connection idles, doubled up to 64 KiB while
/// reads fill it, so large bodies take fewer reads.
#[derive(Debug, Clone)]
pub struct ReadBuffer(Vec<u8>);

impl ReadBuffer {
    const MIN: usize = 8 * 1024;
    const MAX: usize = 64 * 1024;

    /// Creates a buffer of the smallest size.
    pub fn new() -> Self {
        Self(vec![0; Self::MIN])
    }

    /// Returns the space to read into.
    pub fn space(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Returns the `read` bytes just read into [`space`](Self::space), and grows the buffer
    /// for the next read when they filled it.
    pub fn filled(&mut self, read: usize) -> &[u8] {
        if read == self.0.len() && self.0.len() < Self::MAX {
            self.0.resize(self.0.len() * 2, 0);
        }
        self.0.get(..read).unwrap_or_default()
    }
}

impl Default for ReadBuffer {
    fn default() -> Self {
        Self::new()
    }
}
