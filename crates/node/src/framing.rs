//! Length-prefixed frames on a byte stream (one QUIC stream per peer connection).
//!
//! Each frame is a 4-byte big-endian length followed by that many bytes. The decoder refuses a
//! length above [`FRAME_SIZE_MAX`] as soon as the 4 bytes are in, before it buffers or allocates
//! anything for the frame, so a peer cannot make a node hold more than one frame's worth of its
//! bytes. A zero length is refused too: the core never sends an empty frame.

use std::sync::Arc;

use herald_core::FRAME_SIZE_MAX;

/// Bytes in the length prefix.
pub const PREFIX_LEN: usize = 4;

/// Why a stream's bytes are not a valid sequence of frames. Either way the stream is closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A length prefix announces more than the frame size limit.
    #[error("peer announced a frame of {0} bytes, above the {FRAME_SIZE_MAX}-byte limit")]
    TooLarge(u64),
    /// A length prefix announces an empty frame.
    #[error("peer announced an empty frame")]
    Empty,
}

/// Writes `frame` with its length prefix onto `out`.
///
/// # Panics
/// If `frame` is empty or larger than [`FRAME_SIZE_MAX`]: the core never produces such a frame.
pub fn encode(frame: &[u8], out: &mut Vec<u8>) {
    assert!(
        !frame.is_empty() && frame.len() <= FRAME_SIZE_MAX,
        "the core only makes frames within the limit"
    );
    let len = u32::try_from(frame.len()).expect("FRAME_SIZE_MAX fits in u32");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(frame);
}

/// Cuts a byte stream, fed in arbitrary pieces, back into frames.
#[derive(Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
    /// Where the unread bytes of `buffer` begin. Frames are taken by moving this offset, and the
    /// buffer is compacted once per `push`, so many small frames cost linear time.
    start: usize,
}

impl Decoder {
    /// A decoder with nothing buffered.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Bytes buffered and not yet returned as a frame. Never more than one prefix and one
    /// frame of at most [`FRAME_SIZE_MAX`] bytes, plus what the last `push` added past it.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// Adds bytes read from the stream. Returns the error at once if the next prefix is bad, so
    /// the caller stops reading.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer.extend_from_slice(bytes);
        self.check_prefix()
    }

    /// The next complete frame, if one is buffered.
    /// It is copied once, into the shared buffer the node keeps.
    pub fn next_frame(&mut self) -> Result<Option<Arc<[u8]>>, FramingError> {
        self.check_prefix()?;
        let Some(len) = self.announced_len() else { return Ok(None) };
        let end = self.start + PREFIX_LEN + len as usize;
        if self.buffer.len() < end {
            return Ok(None);
        }
        let frame = Arc::from(&self.buffer[self.start + PREFIX_LEN..end]);
        self.start = end;
        Ok(Some(frame))
    }

    fn announced_len(&self) -> Option<u64> {
        let unread = self.buffer.get(self.start..)?;
        let prefix: [u8; PREFIX_LEN] = unread.get(..PREFIX_LEN)?.try_into().ok()?;
        Some(u64::from(u32::from_be_bytes(prefix)))
    }

    fn check_prefix(&self) -> Result<(), FramingError> {
        match self.announced_len() {
            Some(0) => Err(FramingError::Empty),
            Some(len) if len > FRAME_SIZE_MAX as u64 => Err(FramingError::TooLarge(len)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_any_split_of_the_stream() {
        let frames: Vec<Vec<u8>> = vec![vec![1], vec![2; 300], vec![3; 70_000]];
        let mut stream = Vec::new();
        for frame in &frames {
            encode(frame, &mut stream);
        }
        for piece in [1, 3, 4, 5, 999, stream.len()] {
            let mut decoder = Decoder::new();
            let mut out = Vec::new();
            for chunk in stream.chunks(piece) {
                decoder.push(chunk).unwrap();
                while let Some(frame) = decoder.next_frame().unwrap() {
                    out.push(frame.to_vec());
                }
            }
            assert_eq!(out, frames, "pieces of {piece} bytes");
            assert_eq!(decoder.buffered(), 0);
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_the_frame_arrives() {
        let mut decoder = Decoder::new();
        let too_large = (FRAME_SIZE_MAX as u32 + 1).to_be_bytes();
        assert_eq!(
            decoder.push(&too_large),
            Err(FramingError::TooLarge(FRAME_SIZE_MAX as u64 + 1))
        );
        assert_eq!(decoder.buffered(), PREFIX_LEN);
        assert!(decoder.buffer.capacity() < 1024, "nothing was reserved for the announced frame");
        let mut decoder = Decoder::new();
        assert_eq!(decoder.push(&[0xff; 4]), Err(FramingError::TooLarge(u64::from(u32::MAX))));
    }

    #[test]
    fn an_empty_frame_is_refused() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.push(&[0, 0, 0, 0, 9]), Err(FramingError::Empty));
        assert_eq!(decoder.next_frame(), Err(FramingError::Empty));
    }

    #[test]
    fn a_partial_prefix_or_frame_waits_for_more_bytes() {
        let mut decoder = Decoder::new();
        decoder.push(&[0, 0]).unwrap();
        assert_eq!(decoder.next_frame(), Ok(None));
        decoder.push(&[0, 2, 7]).unwrap();
        assert_eq!(decoder.next_frame(), Ok(None));
        decoder.push(&[8]).unwrap();
        assert_eq!(decoder.next_frame(), Ok(Some(Arc::from(&[7, 8][..]))));
    }

    #[test]
    fn taken_frames_leave_the_buffer_at_the_next_push() {
        let mut stream = Vec::new();
        for byte in 0..100u8 {
            encode(&[byte], &mut stream);
        }
        let mut decoder = Decoder::new();
        decoder.push(&stream).unwrap();
        for byte in 0..100u8 {
            assert_eq!(decoder.next_frame(), Ok(Some(Arc::from(&[byte][..]))));
        }
        assert_eq!(decoder.buffered(), 0);
        decoder.push(&[0, 0]).unwrap();
        assert_eq!(decoder.buffer.len(), 2, "the frames taken are dropped, not kept behind");
    }
}
