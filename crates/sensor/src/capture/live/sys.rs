//! Safe wrappers over the AF_PACKET system calls and the memory-mapped TPACKET_V3 ring.
//!
//! Every `unsafe` block of live capture is in this file, so that the rest of the module is
//! ordinary safe Rust. The two wrapper types own their resources and release them in `Drop`:
//! [`PacketSocket`] closes the descriptor (the kernel then also drops the promiscuous
//! membership), [`MappedRing`] unmaps the ring.
//!
//! The ring protocol is the one from the kernel's `packet_mmap` documentation: each block starts
//! with a `tpacket_block_desc` whose `block_status` word tells who owns the block. The kernel
//! fills a block, then publishes it by storing `TP_STATUS_USER` (after a write barrier); user
//! space reads the frames and gives the block back by storing `TP_STATUS_KERNEL`. While a block
//! is owned by user space the kernel neither reads its frames nor writes to it, which is what
//! makes handing out a plain `&[u8]` of that block sound.

#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::mem::{offset_of, size_of, MaybeUninit};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Byte offset of `block_status` inside a block: `tpacket_block_desc.hdr.bh1.block_status`.
const BLOCK_STATUS_OFFSET: usize =
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, block_status);

// The status word is accessed as an `AtomicU32`, which needs 4-byte alignment; blocks start on
// page boundaries, so the offset inside the block is all that matters.
const _: () = assert!(BLOCK_STATUS_OFFSET % std::mem::align_of::<AtomicU32>() == 0);

/// Converts a `-1`-on-error return value into an `io::Result`.
fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// The system page size; ring blocks must be a multiple of it.
pub(super) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

/// `if_nametoindex`: the kernel index of the named interface, `None` when there is no such
/// interface.
pub(super) fn interface_index(name: &CStr) -> Option<i32> {
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    i32::try_from(index).ok().filter(|&i| i > 0)
}

/// What `poll` reported.
#[derive(Debug, Clone, Copy)]
pub(super) struct PollEvents(libc::c_short);

impl PollEvents {
    /// The socket has a pending error (for example `ENETDOWN` when the interface went down).
    pub(super) fn error(self) -> bool {
        self.0 & libc::POLLERR != 0
    }
}

/// An `AF_PACKET` / `SOCK_RAW` socket.
#[derive(Debug)]
pub(super) struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    /// Creates the socket with protocol 0, i.e. receiving nothing yet.
    ///
    /// The protocol (`ETH_P_ALL`) is given in [`PacketSocket::bind`] instead: a socket created
    /// with `ETH_P_ALL` starts receiving from *every* interface immediately, and those frames
    /// would land in the ring before the bind restricts it to one interface. libpcap does the
    /// same.
    pub(super) fn new() -> io::Result<Self> {
        // SAFETY: plain system call without pointer arguments.
        let fd = check(unsafe {
            libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0)
        })?;
        // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// `setsockopt(level, name, value)` for a plain-old-data `value`.
    fn set_option<T: Copy>(
        &self,
        level: libc::c_int,
        name: libc::c_int,
        value: &T,
    ) -> io::Result<()> {
        let len = socklen::<T>();
        // SAFETY: `value` points to `len` readable bytes for the duration of the call; the kernel
        // copies them and keeps no pointer.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (value as *const T).cast(),
                len,
            )
        };
        check(rc).map(drop)
    }

    /// `getsockopt(level, name)` for a plain-old-data value the kernel fills completely.
    fn get_option<T: Copy>(&self, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
        let mut value = MaybeUninit::<T>::zeroed();
        let mut len = socklen::<T>();
        // SAFETY: `value` has room for `len` bytes and `len` is a valid in/out pointer; both live
        // for the duration of the call.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                value.as_mut_ptr().cast(),
                &mut len,
            )
        };
        check(rc)?;
        // SAFETY: the value was zero-initialised and every `T` used here (integers and structs of
        // integers) is valid for any bit pattern, including a partially written one.
        Ok(unsafe { value.assume_init() })
    }

    /// `PACKET_VERSION = TPACKET_V3`; must precede `PACKET_RX_RING`.
    pub(super) fn set_tpacket_v3(&self) -> io::Result<()> {
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        self.set_option(libc::SOL_PACKET, libc::PACKET_VERSION, &version)
    }

    /// `PACKET_IGNORE_OUTGOING` (Linux 4.20): do not deliver frames this host transmits.
    pub(super) fn set_ignore_outgoing(&self) -> io::Result<()> {
        let on: libc::c_int = 1;
        self.set_option(libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &on)
    }

    /// Attaches the one-instruction classic BPF program `ret #snaplen`, which makes the kernel
    /// copy at most `snaplen` bytes of each frame into the ring. It filters nothing.
    pub(super) fn set_kernel_snaplen(&self, snaplen: u32) -> io::Result<()> {
        let program = [libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: snaplen,
        }];
        let fprog = libc::sock_fprog {
            len: 1,
            // The kernel only reads the program; the cast to `*mut` is what the C struct wants.
            filter: program.as_ptr().cast_mut(),
        };
        // `program` outlives the call, which is all the kernel needs: it copies the program.
        self.set_option(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
    }

    /// `PACKET_RX_RING` with a V3 request: the kernel allocates the ring.
    pub(super) fn set_rx_ring(&self, req: &libc::tpacket_req3) -> io::Result<()> {
        self.set_option(libc::SOL_PACKET, libc::PACKET_RX_RING, req)
    }

    /// Binds to one interface and starts receiving every protocol (`ETH_P_ALL`).
    pub(super) fn bind(&self, ifindex: i32) -> io::Result<()> {
        let addr = sockaddr_ll(ifindex);
        // SAFETY: `addr` is a valid `sockaddr_ll` of the length passed, alive during the call.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                socklen::<libc::sockaddr_ll>(),
            )
        };
        check(rc).map(drop)
    }

    /// The ARPHRD hardware type of the bound interface (`ARPHRD_ETHER`, ...).
    pub(super) fn hardware_type(&self) -> io::Result<u16> {
        let mut addr = sockaddr_ll(0);
        let mut len = socklen::<libc::sockaddr_ll>();
        // SAFETY: `addr` has room for `len` bytes and `len` is a valid in/out pointer.
        let rc = unsafe {
            libc::getsockname(
                self.fd.as_raw_fd(),
                (&mut addr as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        check(rc)?;
        Ok(addr.sll_hatype)
    }

    /// `PACKET_ADD_MEMBERSHIP` with `PACKET_MR_PROMISC`. The membership belongs to the socket:
    /// the kernel removes it (and the interface leaves promiscuous mode if nobody else asked for
    /// it) when the socket is closed, even if the process crashes.
    pub(super) fn add_promiscuous(&self, ifindex: i32) -> io::Result<()> {
        let mreq = libc::packet_mreq {
            mr_ifindex: ifindex,
            mr_type: libc::PACKET_MR_PROMISC as libc::c_ushort,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        self.set_option(libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)
    }

    /// Reads and clears the pending socket error (`SO_ERROR`).
    pub(super) fn take_error(&self) -> io::Result<Option<io::Error>> {
        let code: libc::c_int = self.get_option(libc::SOL_SOCKET, libc::SO_ERROR)?;
        Ok((code != 0).then(|| io::Error::from_raw_os_error(code)))
    }

    /// `PACKET_STATISTICS`; the kernel resets its counters on every read.
    pub(super) fn statistics(&self) -> io::Result<libc::tpacket_stats_v3> {
        self.get_option(libc::SOL_PACKET, libc::PACKET_STATISTICS)
    }

    /// Waits up to `timeout_ms` for the ring to have a block ready (or for an error).
    /// Returns the reported events, empty on timeout.
    pub(super) fn poll(&self, timeout_ms: libc::c_int) -> io::Result<PollEvents> {
        let mut fds = [libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        }];
        // SAFETY: `fds` is a valid array of one `pollfd`, alive during the call.
        let n = check(unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms) })?;
        Ok(PollEvents(if n > 0 { fds[0].revents } else { 0 }))
    }

    /// Maps the ring that [`PacketSocket::set_rx_ring`] created.
    pub(super) fn map_ring(&self, block_size: usize, block_count: usize) -> io::Result<MappedRing> {
        let len = block_size
            .checked_mul(block_count)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a fresh shared mapping chosen by the kernel (null hint) of the socket's ring;
        // no existing memory is affected. The result is checked against MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::from(io::ErrorKind::Other))?;
        Ok(MappedRing {
            base,
            len,
            block_size,
            block_count,
            current: 0,
            held: false,
        })
    }
}

/// `size_of::<T>()` as a `socklen_t`; every `T` used here is a few dozen bytes.
fn socklen<T>() -> libc::socklen_t {
    libc::socklen_t::try_from(size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

/// A `sockaddr_ll` for `bind`: family, protocol `ETH_P_ALL` (network order), interface.
fn sockaddr_ll(ifindex: i32) -> libc::sockaddr_ll {
    libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as libc::c_ushort,
        sll_protocol: (libc::ETH_P_ALL as u16).to_be(),
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    }
}

/// The memory-mapped RX ring, consumed one block at a time in ring order.
///
/// At most one block is *held* (owned by user space and visible through
/// [`MappedRing::held_block`]) at a time; [`MappedRing::release`] hands it back to the kernel
/// and moves on to the next block. Because `release` takes `&mut self`, no slice of the held
/// block can outlive its release.
#[derive(Debug)]
pub(super) struct MappedRing {
    base: NonNull<u8>,
    len: usize,
    block_size: usize,
    block_count: usize,
    /// Index of the block that is held, or that will be looked at next.
    current: usize,
    held: bool,
}

// SAFETY: the mapping is owned exclusively by this value (no aliasing pointers escape except
// through borrows of `self`), so moving it to another thread is as safe as moving a `Vec`.
unsafe impl Send for MappedRing {}

impl MappedRing {
    /// The status word of block `index`.
    fn status_word(&self, index: usize) -> &AtomicU32 {
        debug_assert!(index < self.block_count);
        let offset = index * self.block_size + BLOCK_STATUS_OFFSET;
        // SAFETY: `index < block_count`, so the word lies inside the mapping, which lives as long
        // as `self`; it is 4-byte aligned (blocks are page aligned, see BLOCK_STATUS_OFFSET). The
        // kernel writes it concurrently, which is why it is accessed atomically and never through
        // a plain reference.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast::<u32>()) }
    }

    /// Takes ownership of the current block if the kernel has published it (`TP_STATUS_USER`).
    /// Returns whether a block is held.
    pub(super) fn try_acquire(&mut self) -> bool {
        if !self.held {
            // Acquire pairs with the kernel's write barrier before it publishes the block: the
            // frames it wrote are visible once TP_STATUS_USER is.
            let status = self.status_word(self.current).load(Ordering::Acquire);
            self.held = status & libc::TP_STATUS_USER != 0;
        }
        self.held
    }

    /// The bytes of the held block, or `None` when no block is held.
    pub(super) fn held_block(&self) -> Option<&[u8]> {
        if !self.held {
            return None;
        }
        // SAFETY: the range is inside the mapping (`current < block_count`) and lives as long as
        // `self`. The block is owned by user space (TP_STATUS_USER was observed with Acquire), so
        // the kernel does not write to it until `release`, which needs `&mut self` and therefore
        // cannot run while this slice is borrowed.
        Some(unsafe {
            std::slice::from_raw_parts(
                self.base.as_ptr().add(self.current * self.block_size),
                self.block_size,
            )
        })
    }

    /// Hands the held block back to the kernel and moves to the next one.
    pub(super) fn release(&mut self) {
        if self.held {
            // Release: all our reads of the block happen before the kernel may reuse it.
            self.status_word(self.current)
                .store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.held = false;
            self.current = (self.current + 1) % self.block_count;
        }
    }
}

impl Drop for MappedRing {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly the mapping created in `map_ring`; no borrow of it can
        // outlive `self`, so nothing uses the memory afterwards.
        let rc = unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
        if rc != 0 {
            tracing::warn!(error = %io::Error::last_os_error(), "live capture: munmap of the ring failed");
        }
    }
}
