//! Reading a TCP stream of length-framed messages (MQTT packets, SMB messages) one direction at
//! a time: messages a dissector needs whole are buffered up to a bound, the rest are skipped by
//! their length without buffering, and a gap ends the direction (message boundaries are lost
//! with the bytes).

use crate::session::StreamChunk;

/// One direction's reading state.
#[derive(Debug, Default)]
pub(crate) struct Side {
    /// The start of a message this side needs whole, or of a header still incomplete.
    pub(crate) buf: Vec<u8>,
    /// Bytes of a message still to pass over.
    pub(crate) skip: usize,
    /// Messages seen.
    pub(crate) messages: u32,
    /// Nothing more is read in this direction.
    pub(crate) done: bool,
}

/// A dissector that reads both directions of its stream with [`feed`].
pub(crate) trait Framed {
    /// The reading state of each direction, by [`crate::Direction::index`].
    fn sides(&mut self) -> &mut [Side; 2];
}

/// Delivers `chunk` of direction `index` to `consume`, which parses as many whole messages as
/// the bytes hold and returns how many bytes it used; it may set the side's `skip` (a message
/// to pass over) or `done`. A message longer than `max` that `consume` cannot use ends the
/// direction.
pub(crate) fn feed<S: Framed>(
    state: &mut S,
    index: usize,
    chunk: StreamChunk<'_>,
    max: usize,
    mut consume: impl FnMut(&mut S, &[u8]) -> usize,
) {
    if state.sides()[index].done {
        return;
    }
    let mut data = match chunk {
        StreamChunk::Data(bytes) => bytes,
        StreamChunk::Gap(_) => {
            let side = &mut state.sides()[index];
            side.done = true;
            side.buf = Vec::new();
            return;
        }
        StreamChunk::End => return,
    };
    while !data.is_empty() && !state.sides()[index].done {
        let side = &mut state.sides()[index];
        if side.skip > 0 {
            let n = side.skip.min(data.len());
            side.skip -= n;
            data = &data[n..];
            continue;
        }
        if side.buf.is_empty() {
            let used = consume(state, data);
            let side = &mut state.sides()[index];
            if !side.done && side.skip == 0 {
                // An incomplete message this side needs (≤ max, or a header).
                side.buf
                    .extend_from_slice(data.get(used..).unwrap_or_default());
            }
            data = &[];
        } else {
            let room = max.saturating_sub(side.buf.len());
            let n = room.min(data.len());
            side.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            let mut buf = std::mem::take(&mut side.buf);
            let used = consume(state, &buf);
            let side = &mut state.sides()[index];
            if side.done || side.skip > 0 {
                // The rest of `buf` was passed over; `data` continues the skip.
                continue;
            }
            buf.drain(..used.min(buf.len()));
            if used == 0 && buf.len() >= max {
                side.done = true;
                continue;
            }
            side.buf = buf;
        }
    }
    for side in state.sides() {
        if side.done {
            side.buf = Vec::new();
        }
    }
}
