//! io_uring and eventfd helpers shared by the network thread and the slots' own executor:
//! both park in `io_uring_enter` until a completion or a deadline, and both are woken from
//! other cores through an eventfd that their ring reads.

use io_uring::{types, IoUring};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// A fresh eventfd (close-on-exec, counter 0).
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with constant flags; the result is checked before use.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to the eventfd `fd`'s counter: a ring reading it gets a completion.
pub fn signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an eventfd. A failure (counter overflow)
    // means a wake-up is pending anyway.
    let _ = unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Submits what is queued and waits for at least one completion or until `timeout` passes
/// (an interrupted or timed-out wait is not an error).
pub fn wait(ring: &mut IoUring, timeout: Option<Duration>) -> io::Result<()> {
    let r = match timeout {
        None => ring.submit_and_wait(1),
        Some(t) => {
            let ts = types::Timespec::new()
                .sec(t.as_secs())
                .nsec(t.subsec_nanos());
            let args = types::SubmitArgs::new().timespec(&ts);
            ring.submitter().submit_with_args(1, &args)
        }
    };
    match r {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ETIME | libc::EINTR | libc::EBUSY)
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}
