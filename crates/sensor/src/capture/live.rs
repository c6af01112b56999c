/*!
Live capture on Linux with `AF_PACKET` and a memory-mapped `TPACKET_V3` ring, without libpcap.

```ignore
let mut capture = LiveCapture::open(&LiveConfig { interface: "eth1".into(), ..LiveConfig::default() })?;
while running {
    if let Some(frame) = capture.next_frame(Duration::from_millis(200)) {  // None on timeout
        engine.process(frame);            // frame borrows the ring until the next call
    }
}
let stats = capture.stats();              // cumulative kernel counters
```

# How it works

The kernel copies every frame seen on the interface into a ring of `block_count` blocks of
`block_size` bytes shared with this process. A block is handed over when it is full or when
`block_timeout_ms` has passed since its first frame; [`LiveCapture::next_frame`] walks the frames
of the block in place (no copy, no allocation) and gives the block back to the kernel on the call
*after* the one that returned its last frame, because that frame still borrows it.

# What is captured

- **VLAN tags.** The kernel strips the outer 802.1Q/802.1ad tag from received frames and reports
  it beside the frame. The tag is put back (after the MAC addresses) so that the decoder sees the
  frame as it was on the wire; that needs one copy into a buffer allocated once at open. Inner
  tags (QinQ) were never stripped and are left as they are.
- **VLAN filter.** With [`LiveConfig::vlan_filter`], frames whose (outer) VLAN id is not listed
  are skipped in user space, without BPF. **Untagged and priority-tagged frames count as VLAN 0**:
  list `0` to keep them.
- **Direction.** By default the socket sees both directions: frames received on the interface
  and frames this host transmits on it. On a SPAN or TAP port the host transmits nothing, so
  everything is "incoming"; on a veth or an ordinary host interface the host's own traffic shows
  up too. [`LiveConfig::ignore_outgoing`] drops transmitted frames in the kernel
  (`PACKET_IGNORE_OUTGOING`, Linux 4.20 or later).
- **Snap length.** Frames are cut to [`LiveConfig::snaplen`] bytes by the kernel (a
  one-instruction classic BPF program `ret #snaplen` that filters nothing), so long frames do not
  waste ring space; [`Frame::original_len`] keeps the wire length.

# Privileges

Opening a packet socket needs `CAP_NET_RAW` (root, or `setcap cap_net_raw+ep` on the binary);
without it [`LiveCapture::open`] fails with [`LiveError::Permission`].
*/

mod block;
mod sys;

use std::ffi::CString;
use std::io;
use std::time::{Duration, Instant};

use ironward_wire::LinkType;

use self::block::{FrameHeader, RingError};
use self::sys::{MappedRing, PacketSocket};
use super::Frame;

/// Size of the kernel's per-frame header area before the MAC header (`TPACKET3_HDRLEN`,
/// rounded up to the ring's 16-byte alignment), used to size frames and check `block_size`.
const FRAME_OVERHEAD: u32 = 96;
/// Largest snap length accepted; the same limit as libpcap's `MAXIMUM_SNAPLEN`.
pub const MAX_SNAPLEN: u32 = 262_144;
/// Length of the two MAC addresses, after which a VLAN tag goes.
const MAC_ADDRS_LEN: usize = 12;
/// Length of an 802.1Q tag (TPID + TCI).
const VLAN_TAG_LEN: usize = 4;
/// TPID assumed when the kernel reports a tag without one (kernels before 3.14).
const TPID_8021Q: u16 = 0x8100;

/// Settings of a live capture. `LiveConfig::default()` suits a SPAN port; only `interface` has
/// to be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    /// Interface name, e.g. `eth1`.
    pub interface: String,
    /// Put the interface in promiscuous mode so that frames for other hosts are seen (needed on
    /// a SPAN port). Default `true`. The mode is tied to the socket and ends when it closes.
    pub promiscuous: bool,
    /// Keep only frames whose outer VLAN id is in this list (0..=4095). Untagged frames count as
    /// VLAN 0. `None` (the default) keeps everything.
    pub vlan_filter: Option<Vec<u16>>,
    /// Skip frames this host transmits on the interface (`PACKET_IGNORE_OUTGOING`, Linux 4.20).
    /// Default `false`: see the module documentation on direction.
    pub ignore_outgoing: bool,
    /// Size of one ring block in bytes: a power of two, a multiple of the page size and larger
    /// than `snaplen` plus the frame header. Default 1 MiB.
    pub block_size: u32,
    /// Number of ring blocks. The ring is `block_size * block_count` bytes of kernel
    /// memory and absorbs bursts while the engine is busy. Default 64 (64 MiB).
    pub block_count: u32,
    /// Maximum number of bytes kept per frame (1..=[`MAX_SNAPLEN`]). Default [`MAX_SNAPLEN`].
    pub snaplen: u32,
    /// How long the kernel keeps a partly filled block before handing it over, in
    /// milliseconds: the latency bound on a quiet link. `0` lets the kernel choose from the link
    /// speed. Default 100.
    pub block_timeout_ms: u32,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            interface: String::new(),
            promiscuous: true,
            vlan_filter: None,
            ignore_outgoing: false,
            block_size: 1 << 20,
            block_count: 64,
            snaplen: MAX_SNAPLEN,
            block_timeout_ms: 100,
        }
    }
}

/// Why a live capture could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// Occurs when the process lacks `CAP_NET_RAW` (packet sockets) or the kernel refused one
    /// of the socket options for lack of privilege.
    #[error(
        "live capture on {interface:?}: permission denied ({op}); capturing with AF_PACKET needs \
         CAP_NET_RAW: run as root or grant it with `setcap cap_net_raw+ep <binary>`"
    )]
    Permission {
        /// Interface that was being opened.
        interface: String,
        /// The step that was refused.
        op: &'static str,
    },
    /// Occurs when no interface has this name.
    #[error("live capture: no such network interface {0:?}")]
    NoSuchInterface(String),
    /// Occurs when a [`LiveConfig`] value is out of range; the message names the field.
    #[error("live capture: invalid configuration: {0}")]
    InvalidConfig(String),
    /// Occurs when the interface is neither Ethernet-like nor raw IP (e.g. Wi-Fi monitor mode,
    /// CAN); the value is its ARPHRD hardware type.
    #[error("live capture on {interface:?}: unsupported hardware type {arphrd} (ARPHRD)")]
    UnsupportedLink {
        /// Interface that was being opened.
        interface: String,
        /// The kernel's `ARPHRD_*` value for the interface.
        arphrd: u16,
    },
    /// Occurs when a system call fails for another reason, e.g. `ENOMEM` when the kernel cannot
    /// allocate a ring that large, or `ENOPROTOOPT` for `PACKET_IGNORE_OUTGOING` on an old kernel.
    #[error("live capture on {interface:?}: {op} failed: {source}")]
    Io {
        /// Interface that was being opened.
        interface: String,
        /// The step that failed.
        op: &'static str,
        /// The operating-system error.
        source: io::Error,
    },
}

/// Cumulative counters of one capture.
///
/// The kernel's `PACKET_STATISTICS` counters reset on every read; [`LiveCapture::stats`] adds
/// each read to these totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Frames the kernel passed to the socket, including the dropped ones.
    pub packets: u64,
    /// Frames the kernel dropped because the ring was full.
    pub drops: u64,
    /// Times the kernel found the ring full and froze it until user space released a block.
    pub freeze_queue_count: u64,
    /// Frames read from the ring but skipped by the VLAN filter (counted in user space).
    pub vlan_filtered: u64,
    /// Ring entries whose offsets did not fit their block; the rest of such a block is skipped.
    /// Never expected from a correct kernel.
    pub ring_errors: u64,
}

/// The set of VLAN ids to keep: one bit per id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VlanSet([u64; 64]);

impl VlanSet {
    fn new(ids: &[u16]) -> Result<Self, LiveError> {
        let mut bits = [0u64; 64];
        for &id in ids {
            if id > 4095 {
                return Err(LiveError::InvalidConfig(format!(
                    "vlan_filter: {id} is not a VLAN id (0..=4095)"
                )));
            }
            bits[usize::from(id / 64)] |= 1 << (id % 64);
        }
        Ok(Self(bits))
    }

    fn contains(&self, id: u16) -> bool {
        let id = id & 0x0fff;
        self.0[usize::from(id / 64)] & (1 << (id % 64)) != 0
    }
}

/// The tag the kernel took off a frame, if any: `(tpid, tci)`.
fn stripped_tag(hdr: &FrameHeader) -> Option<(u16, u16)> {
    if hdr.status & libc::TP_STATUS_VLAN_VALID == 0 {
        return None;
    }
    let tpid = if hdr.status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
        hdr.vlan_tpid
    } else {
        TPID_8021Q
    };
    Some((tpid, hdr.vlan_tci))
}

/// The outer VLAN id of an Ethernet frame: from the stripped tag, else from a tag still in the
/// frame (transmitted frames on some drivers, or QinQ outer tags the NIC did not strip), else
/// 0 for untagged frames.
fn vlan_id(stripped: Option<(u16, u16)>, frame: &[u8]) -> u16 {
    if let Some((_, tci)) = stripped {
        return tci & 0x0fff;
    }
    match frame.get(MAC_ADDRS_LEN..MAC_ADDRS_LEN + 4) {
        Some(&[t0, t1, c0, c1])
            if matches!(u16::from_be_bytes([t0, t1]), 0x8100 | 0x88a8 | 0x9100) =>
        {
            u16::from_be_bytes([c0, c1]) & 0x0fff
        }
        _ => 0,
    }
}

/// Copies `frame` into `out` with the tag `(tpid, tci)` after the MAC addresses and returns the
/// new length, or `None` when the frame is too short to hold MAC addresses or `out` too small.
fn insert_vlan_tag(out: &mut [u8], frame: &[u8], tpid: u16, tci: u16) -> Option<usize> {
    let len = frame.len().checked_add(VLAN_TAG_LEN)?;
    if frame.len() < MAC_ADDRS_LEN || out.len() < len {
        return None;
    }
    let (macs, rest) = frame.split_at(MAC_ADDRS_LEN);
    out[..MAC_ADDRS_LEN].copy_from_slice(macs);
    out[MAC_ADDRS_LEN..MAC_ADDRS_LEN + 2].copy_from_slice(&tpid.to_be_bytes());
    out[MAC_ADDRS_LEN + 2..MAC_ADDRS_LEN + 4].copy_from_slice(&tci.to_be_bytes());
    out[MAC_ADDRS_LEN + VLAN_TAG_LEN..len].copy_from_slice(rest);
    Some(len)
}

/// Checks a configuration and returns `(block_size, block_count, frame_size)` for the ring
/// request.
fn validate(cfg: &LiveConfig, page_size: usize) -> Result<(u32, u32, u32), LiveError> {
    let invalid = |msg: String| Err(LiveError::InvalidConfig(msg));
    if cfg.interface.is_empty() || cfg.interface.len() >= libc::IFNAMSIZ {
        return invalid(format!(
            "interface: {:?} is not an interface name (1 to {} bytes)",
            cfg.interface,
            libc::IFNAMSIZ - 1
        ));
    }
    let block_size = cfg.block_size;
    let page = u32::try_from(page_size).unwrap_or(u32::MAX);
    if !block_size.is_power_of_two() || block_size % page != 0 {
        return invalid(format!(
            "block_size: {block_size} must be a power of two and a multiple of the page size ({page})"
        ));
    }
    if cfg.snaplen == 0 || cfg.snaplen > MAX_SNAPLEN {
        return invalid(format!(
            "snaplen: {} is not in 1..={MAX_SNAPLEN}",
            cfg.snaplen
        ));
    }
    // A frame cannot span blocks, so a block must hold at least one full-size frame; the frame
    // size itself only matters to the kernel's bookkeeping in V3 (frames are packed tightly).
    let frame_size = (cfg.snaplen + FRAME_OVERHEAD + 15) & !15;
    if frame_size > block_size {
        return invalid(format!(
            "block_size: {block_size} cannot hold a frame of snaplen {} plus its {FRAME_OVERHEAD}-byte header",
            cfg.snaplen
        ));
    }
    if cfg.block_count == 0 {
        return invalid("block_count: must be at least 1".to_owned());
    }
    let ring_fits = u64::from(block_size) * u64::from(cfg.block_count) <= usize::MAX as u64
        && (block_size / frame_size)
            .checked_mul(cfg.block_count)
            .is_some();
    if !ring_fits {
        return invalid(format!(
            "block_count: {} blocks of {block_size} bytes is too large a ring",
            cfg.block_count
        ));
    }
    if let Some(ids) = &cfg.vlan_filter {
        VlanSet::new(ids)?;
    }
    Ok((block_size, cfg.block_count, frame_size))
}

/// Where the cursor is inside the held block.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// Offset of the next frame header.
    offset: usize,
    /// Frames left to read in the block.
    remaining: u32,
}

/// A frame located in the held block, not yet borrowed.
#[derive(Debug, Clone, Copy)]
struct Located {
    hdr: FrameHeader,
    tag: Option<(u16, u16)>,
}

/// A live capture on one interface. Dropping it unmaps the ring and closes the socket.
#[derive(Debug)]
pub struct LiveCapture {
    // Field order is drop order: unmap the ring before closing its socket.
    ring: MappedRing,
    socket: PacketSocket,
    interface: String,
    linktype: LinkType,
    snaplen: usize,
    vlan_filter: Option<Box<VlanSet>>,
    /// Where frames whose VLAN tag is re-inserted are assembled; sized once for the largest
    /// frame a block can hold plus the tag, so it never grows.
    scratch: Box<[u8]>,
    cursor: Option<Cursor>,
    stats: LiveStats,
    last_error: Option<io::Error>,
}

impl LiveCapture {
    /// Opens a capture on `cfg.interface`: creates the socket and the ring, binds to the
    /// interface and enables promiscuous mode if asked.
    ///
    /// Needs `CAP_NET_RAW` ([`LiveError::Permission`] otherwise). An interface that is down is
    /// accepted: frames arrive once it comes up.
    pub fn open(cfg: &LiveConfig) -> Result<Self, LiveError> {
        let (block_size, block_count, frame_size) = validate(cfg, sys::page_size())?;
        let interface = cfg.interface.clone();
        let fail = |op: &'static str| {
            let interface = interface.clone();
            move |source: io::Error| match source.raw_os_error() {
                Some(libc::EPERM | libc::EACCES) => LiveError::Permission { interface, op },
                _ => LiveError::Io {
                    interface,
                    op,
                    source,
                },
            }
        };

        let name = CString::new(cfg.interface.as_bytes())
            .map_err(|_| LiveError::InvalidConfig("interface: contains a NUL byte".to_owned()))?;
        // Resolved before the socket exists so that a typo is reported as such even without
        // privileges.
        let ifindex = sys::interface_index(&name)
            .ok_or_else(|| LiveError::NoSuchInterface(interface.clone()))?;
        let socket = PacketSocket::new().map_err(fail("socket(AF_PACKET)"))?;

        socket
            .set_tpacket_v3()
            .map_err(fail("PACKET_VERSION TPACKET_V3"))?;
        if cfg.ignore_outgoing {
            socket
                .set_ignore_outgoing()
                .map_err(fail("PACKET_IGNORE_OUTGOING"))?;
        }
        if cfg.snaplen < MAX_SNAPLEN {
            socket
                .set_kernel_snaplen(cfg.snaplen)
                .map_err(fail("SO_ATTACH_FILTER (snaplen)"))?;
        }
        let req = libc::tpacket_req3 {
            tp_block_size: block_size,
            tp_block_nr: block_count,
            tp_frame_size: frame_size,
            tp_frame_nr: (block_size / frame_size) * block_count,
            tp_retire_blk_tov: cfg.block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        socket.set_rx_ring(&req).map_err(fail("PACKET_RX_RING"))?;
        // Both values were validated to fit `usize` together.
        let ring = socket
            .map_ring(block_size as usize, block_count as usize)
            .map_err(fail("mmap of the ring"))?;

        // Binding also starts reception: everything above is in place before the first frame.
        socket.bind(ifindex).map_err(fail("bind"))?;
        let linktype = match socket.hardware_type().map_err(fail("getsockname"))? {
            // Loopback frames carry a (zeroed) Ethernet header.
            libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK => LinkType::ETHERNET,
            // tun devices: bare IP packets.
            libc::ARPHRD_NONE => LinkType::RAW,
            arphrd => return Err(LiveError::UnsupportedLink { interface, arphrd }),
        };
        if cfg.promiscuous {
            socket
                .add_promiscuous(ifindex)
                .map_err(fail("PACKET_ADD_MEMBERSHIP promiscuous"))?;
        }
        // A bind to an interface that is down leaves ENETDOWN pending; reception starts when it
        // comes up, so clear the error instead of failing.
        if let Ok(Some(err)) = socket.take_error() {
            tracing::warn!(interface = %interface, error = %err, "live capture: interface not ready");
        }

        let vlan_filter = match &cfg.vlan_filter {
            Some(ids) => Some(Box::new(VlanSet::new(ids)?)),
            None => None,
        };
        Ok(Self {
            ring,
            socket,
            interface,
            linktype,
            snaplen: cfg.snaplen as usize,
            vlan_filter,
            scratch: vec![0; block_size as usize + VLAN_TAG_LEN].into_boxed_slice(),
            cursor: None,
            stats: LiveStats::default(),
            last_error: None,
        })
    }

    /// The link type of the frames, [`LinkType::ETHERNET`] for Ethernet interfaces.
    pub fn linktype(&self) -> LinkType {
        self.linktype
    }

    /// The next frame, waiting up to `timeout` for one; `None` on timeout.
    ///
    /// The frame borrows the ring (or the tag re-insertion buffer) until the next call, which
    /// is when its block is given back to the kernel. A zero timeout only looks at the ring.
    pub fn next_frame(&mut self, timeout: Duration) -> Option<Frame<'_>> {
        let deadline = Instant::now().checked_add(timeout);
        let located = loop {
            if let Some(located) = self.locate_next() {
                break located;
            }
            if !self.wait(deadline) {
                return None;
            }
        };
        self.materialize(located)
    }

    /// Cumulative counters (see [`LiveStats`]). Reads, and thereby resets, the kernel's
    /// counters, and adds them to the totals.
    pub fn stats(&mut self) -> LiveStats {
        match self.socket.statistics() {
            Ok(s) => {
                self.stats.packets += u64::from(s.tp_packets);
                self.stats.drops += u64::from(s.tp_drops);
                self.stats.freeze_queue_count += u64::from(s.tp_freeze_q_cnt);
            }
            Err(err) => {
                tracing::warn!(interface = %self.interface, error = %err, "live capture: PACKET_STATISTICS failed");
            }
        }
        self.stats
    }

    /// The last error the socket reported while waiting for frames, cleared by this call. The
    /// typical one is `ENETDOWN` when the interface went down; capture resumes by itself when it
    /// comes back up.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.last_error.take()
    }

    /// Finds the next frame that passes the VLAN filter in the ring, acquiring and releasing
    /// blocks as needed. `None` when the kernel has not handed over the next block yet.
    fn locate_next(&mut self) -> Option<Located> {
        loop {
            let cursor = match self.cursor {
                Some(cursor) => cursor,
                None => {
                    if !self.ring.try_acquire() {
                        return None;
                    }
                    let parsed = self.ring.held_block().map(block::parse_block);
                    match parsed {
                        Some(Ok(h)) => Cursor {
                            offset: h.first,
                            remaining: h.num_pkts,
                        },
                        Some(Err(err)) => {
                            self.ring_error(err);
                            Cursor {
                                offset: 0,
                                remaining: 0,
                            }
                        }
                        None => return None,
                    }
                }
            };
            if cursor.remaining == 0 {
                // Every frame of the block was returned by an earlier call (whose borrow has
                // ended) or skipped: give the block back.
                self.ring.release();
                self.cursor = None;
                continue;
            }
            let more = cursor.remaining > 1;
            let parsed = self
                .ring
                .held_block()
                .map(|b| block::parse_frame(b, cursor.offset, more));
            let hdr = match parsed {
                Some(Ok(hdr)) => hdr,
                Some(Err(err)) => {
                    // The rest of the block cannot be trusted: skip it.
                    self.ring_error(err);
                    self.cursor = Some(Cursor {
                        offset: 0,
                        remaining: 0,
                    });
                    continue;
                }
                None => {
                    self.cursor = None;
                    return None;
                }
            };
            self.cursor = Some(Cursor {
                offset: hdr.next.unwrap_or(0),
                remaining: cursor.remaining - 1,
            });

            let tag = if self.linktype == LinkType::ETHERNET {
                stripped_tag(&hdr)
            } else {
                None
            };
            if let Some(filter) = &self.vlan_filter {
                let frame = self
                    .ring
                    .held_block()
                    .and_then(|b| b.get(hdr.data..hdr.data + hdr.caplen))
                    .unwrap_or_default();
                if !filter.contains(vlan_id(tag, frame)) {
                    self.stats.vlan_filtered += 1;
                    continue;
                }
            }
            return Some(Located { hdr, tag });
        }
    }

    /// Builds the [`Frame`] for a located frame, re-inserting its VLAN tag if the kernel
    /// stripped one.
    fn materialize(&mut self, located: Located) -> Option<Frame<'_>> {
        let Located { hdr, tag } = located;
        let block = self.ring.held_block()?;
        // In bounds: parse_frame checked `data + caplen` against the block.
        let data = block.get(hdr.data..hdr.data + hdr.caplen)?;
        let (data, original_len) = match tag {
            Some((tpid, tci)) => match insert_vlan_tag(&mut self.scratch, data, tpid, tci) {
                Some(len) => (
                    &self.scratch[..len],
                    hdr.wire_len.saturating_add(VLAN_TAG_LEN as u32),
                ),
                // Shorter than two MAC addresses: nothing sensible to re-insert into.
                None => (data, hdr.wire_len),
            },
            None => (data, hdr.wire_len),
        };
        let data = &data[..data.len().min(self.snaplen)];
        Some(Frame {
            timestamp_ns: hdr.timestamp_ns,
            linktype: self.linktype,
            data,
            original_len,
            interface: 0,
        })
    }

    /// Waits until the ring may have a block or `deadline` passes. Returns `false` when the
    /// deadline had already passed, so the caller has looked at the ring once more after the
    /// last wait.
    fn wait(&mut self, deadline: Option<Instant>) -> bool {
        let timeout_ms = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                // Round up so that less than a millisecond left does not become a busy loop.
                let ms = left.as_nanos().div_ceil(1_000_000);
                libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
            }
            // A timeout too large for `Instant`: wait without limit.
            None => -1,
        };
        match self.socket.poll(timeout_ms) {
            Ok(events) => {
                if events.error() {
                    // Clear the error, or every later poll returns at once.
                    if let Ok(Some(err)) = self.socket.take_error() {
                        tracing::warn!(interface = %self.interface, error = %err, "live capture: socket error");
                        self.last_error = Some(err);
                    }
                }
                true
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => true,
            Err(err) => {
                tracing::warn!(interface = %self.interface, error = %err, "live capture: poll failed");
                self.last_error = Some(err);
                false
            }
        }
    }

    fn ring_error(&mut self, err: RingError) {
        self.stats.ring_errors += 1;
        tracing::warn!(interface = %self.interface, error = %err, "live capture: malformed ring entry, rest of block skipped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LiveConfig {
        LiveConfig {
            interface: "eth0".into(),
            ..LiveConfig::default()
        }
    }

    #[test]
    fn default_config_is_valid() {
        assert_eq!(
            validate(&cfg(), 4096).unwrap(),
            (1 << 20, 64, (MAX_SNAPLEN + 96 + 15) & !15)
        );
    }

    #[test]
    fn rejects_bad_config() {
        let bad = [
            LiveConfig {
                interface: String::new(),
                ..cfg()
            },
            LiveConfig {
                interface: "a-very-long-name0".into(),
                ..cfg()
            },
            LiveConfig {
                block_size: 3 << 12,
                ..cfg()
            },
            LiveConfig {
                block_size: 2048,
                snaplen: 100,
                ..cfg()
            },
            LiveConfig {
                block_size: 4096,
                snaplen: 4096,
                ..cfg()
            },
            LiveConfig {
                snaplen: 0,
                ..cfg()
            },
            LiveConfig {
                snaplen: MAX_SNAPLEN + 1,
                ..cfg()
            },
            LiveConfig {
                block_count: 0,
                ..cfg()
            },
            LiveConfig {
                vlan_filter: Some(vec![1, 4096]),
                ..cfg()
            },
        ];
        for c in bad {
            assert!(
                matches!(validate(&c, 4096), Err(LiveError::InvalidConfig(_))),
                "{c:?}"
            );
        }
        let small = LiveConfig {
            block_size: 4096,
            snaplen: 128,
            block_count: 2,
            ..cfg()
        };
        assert_eq!(validate(&small, 4096).unwrap(), (4096, 2, 224));
    }

    #[test]
    fn capture_can_move_to_a_capture_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<LiveCapture>();
    }

    #[test]
    fn vlan_set() {
        let set = VlanSet::new(&[0, 42, 4095]).unwrap();
        assert!(set.contains(0) && set.contains(42) && set.contains(4095));
        assert!(!set.contains(1) && !set.contains(43) && !set.contains(4094));
    }

    const UNTAGGED: [u8; 18] = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00, 0x45, 0, 0, 20,
    ];

    #[test]
    fn vlan_id_sources() {
        assert_eq!(vlan_id(Some((0x8100, 0x602a)), &UNTAGGED), 42);
        assert_eq!(vlan_id(None, &UNTAGGED), 0);
        let mut inline = UNTAGGED;
        inline[12..16].copy_from_slice(&[0x81, 0x00, 0x20, 0x07]);
        assert_eq!(vlan_id(None, &inline), 7);
        assert_eq!(vlan_id(None, &UNTAGGED[..10]), 0);
    }

    #[test]
    fn reinserts_tag_after_mac_addresses() {
        let mut out = [0u8; 32];
        let len = insert_vlan_tag(&mut out, &UNTAGGED, 0x8100, 0x002a).unwrap();
        assert_eq!(len, 22);
        assert_eq!(&out[..12], &UNTAGGED[..12]);
        assert_eq!(&out[12..16], &[0x81, 0x00, 0x00, 0x2a]);
        assert_eq!(&out[16..22], &UNTAGGED[12..]);
        assert_eq!(insert_vlan_tag(&mut out, &UNTAGGED[..11], 0x8100, 1), None);
        assert_eq!(insert_vlan_tag(&mut out[..21], &UNTAGGED, 0x8100, 1), None);
    }
}
