//! The server's process on this machine, found by the TCP port it listens on, and its CPU time
//! from `/proc` (Linux). The scraper ([`crate::scrape`]) prefers it to the server's
//! `arena_process_cpu_seconds_total`, which the Prometheus process collector counts in whole
//! seconds: too coarse for a CPU share per second. Anything missing (another OS, another
//! network namespace, a remote server) is simply `None`, and the metric is used.

use std::path::Path;

/// Clock ticks per second of `/proc/PID/stat`'s times (`USER_HZ`): 100 on every Linux
/// architecture Arena runs on (reading `sysconf` would need `unsafe`, which the workspace
/// forbids).
pub const USER_HZ: f64 = 100.0;

/// The socket inodes listening on `port` (IPv4 and IPv6).
fn listening_inodes(port: u16) -> Vec<u64> {
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                continue;
            };
            let local_port = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if *state == "0A"
                && local_port == Some(port)
                && let Ok(inode) = inode.parse()
            {
                out.push(inode);
            }
        }
    }
    out
}

/// The process that holds a socket listening on `port`, if one on this machine does and this
/// user may see its file descriptors.
pub fn find_listener(port: u16) -> Option<u32> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && wanted.iter().any(|w| Path::new(w) == target)
            {
                return Some(pid);
            }
        }
    }
    None
}

/// User plus system CPU seconds of process `pid` so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// The port of a `host:port` authority whose host is this machine (loopback or `localhost`).
pub fn local_port(authority: &str) -> Option<u16> {
    let (host, port) = authority.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let local = host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if local { port.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_authorities_are_local() {
        assert_eq!(local_port("127.0.0.1:8080"), Some(8080));
        assert_eq!(local_port("localhost:9"), Some(9));
        assert_eq!(local_port("[::1]:7"), Some(7));
        assert_eq!(local_port("10.0.0.1:80"), None);
        assert_eq!(local_port("example.org:80"), None);
        assert_eq!(local_port("127.0.0.1"), None);
    }

    #[test]
    fn finds_its_own_listener_and_reads_its_cpu() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        if !Path::new("/proc/net/tcp").exists() {
            return; // not Linux: nothing to find, and the scraper falls back
        }
        assert_eq!(find_listener(port), Some(std::process::id()));
        assert!(cpu_seconds(std::process::id()).is_some_and(|s| s >= 0.0));
        drop(listener);
        assert_eq!(find_listener(port), None);
    }
}
