//! The two POSIX calls std does not offer yet (`SO_LINGER`, process-group
//! kill). Kept here so the rest of the harness is plain safe Rust.

use std::net::TcpStream;
use std::os::fd::AsRawFd;

unsafe extern "C" {
    fn setsockopt(fd: i32, level: i32, name: i32, value: *const Linger, len: u32) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
}

#[repr(C)]
struct Linger {
    l_onoff: i32,
    l_linger: i32,
}

/// Makes the next close of `stream` send a TCP RST instead of a FIN
/// (`SO_LINGER` with a zero timeout), so the peer sees "connection reset".
/// A no-op where the constants are not known (the peer then sees an early EOF).
pub fn reset_on_close(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        const SOL_SOCKET: i32 = 1;
        const SO_LINGER: i32 = 13;
        let linger = Linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid open fd and a correctly sized, live `struct linger`.
        unsafe {
            setsockopt(
                stream.as_raw_fd(),
                SOL_SOCKET,
                SO_LINGER,
                &linger,
                std::mem::size_of::<Linger>() as u32,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

/// SIGKILL to every process in the process group `pgid` (a child started with
/// `process_group(0)`), so grandchildren holding our pipes die too.
pub fn kill_process_group(pgid: u32) {
    const SIGKILL: i32 = 9;
    // SAFETY: kill(2) with a negative pid only sends a signal.
    unsafe {
        kill(-(pgid as i32), SIGKILL);
    }
}
