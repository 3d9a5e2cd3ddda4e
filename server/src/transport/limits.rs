//! Connection admission: a global cap and a per-address cap on open WebSocket connections, and
//! the Origin allow-list that stops cross-site WebSocket hijacking from browsers.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds `max_connections` connections.
    ServerFull(usize),
    /// This address holds `max_connections_per_ip` connections.
    AddressFull(usize),
}

/// Counts open connections, globally and per address.
#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    /// Bounded: it holds at most `max_total` addresses, since every entry is an open connection.
    state: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it gives the slot back.
#[derive(Debug)]
pub struct Permit {
    limits: Arc<ConnectionLimits>,
    key: IpAddr,
}

impl ConnectionLimits {
    /// Limits of `max_total` connections, `max_per_ip` from one address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_ip,
            state: Mutex::new(Counts::default()),
        })
    }

    /// Admits a connection from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let key = address_key(ip);
        // The counters stay consistent even if a holder panicked: every update is one step.
        let mut counts = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= self.max_total {
            return Err(Refusal::ServerFull(self.max_total));
        }
        let here = counts.per_ip.entry(key).or_insert(0);
        if *here >= self.max_per_ip {
            return Err(Refusal::AddressFull(self.max_per_ip));
        }
        *here += 1;
        counts.total += 1;
        Ok(Permit {
            limits: self.clone(),
            key,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self
            .limits
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.key);
            }
        }
    }
}

/// The unit a per-address limit applies to: an IPv4 address, or an IPv6 /64 (one host usually
/// owns a whole /64, so counting single IPv6 addresses would be no limit at all).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Whether a handshake's `Origin` header is acceptable. An empty allow-list allows every origin;
/// a request without `Origin` is not from a browser page and is allowed (the check exists to
/// stop other sites' pages from opening sessions with a visitor's browser).
pub fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    match origin {
        _ if allowed.is_empty() => true,
        None => true,
        Some(origin) => allowed
            .iter()
            .any(|a| a.eq_ignore_ascii_case(origin.trim_end_matches('/'))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_and_release() {
        let limits = ConnectionLimits::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        let p1 = limits.admit(a).expect("first");
        let _p2 = limits.admit(a).expect("second");
        assert_eq!(limits.admit(a).map(|_| ()), Err(Refusal::AddressFull(2)));
        let _p3 = limits.admit(b).expect("other address");
        assert_eq!(limits.admit(b).map(|_| ()), Err(Refusal::ServerFull(3)));
        drop(p1);
        assert_eq!(limits.open(), 2);
        assert!(limits.admit(a).is_ok());
    }

    #[test]
    fn ipv6_is_limited_per_64() {
        let limits = ConnectionLimits::new(10, 1);
        let _p = limits
            .admit("2001:db8::1".parse().expect("ip"))
            .expect("first");
        assert!(limits.admit("2001:db8::2".parse().expect("ip")).is_err());
        assert!(limits.admit("2001:db8:0:1::1".parse().expect("ip")).is_ok());
    }

    #[test]
    fn origins() {
        let allowed = vec!["https://arena.example".to_owned()];
        assert!(origin_allowed(&[], Some("https://evil.example")));
        assert!(origin_allowed(&allowed, None));
        assert!(origin_allowed(&allowed, Some("https://ARENA.example")));
        assert!(!origin_allowed(&allowed, Some("https://evil.example")));
        assert!(!origin_allowed(
            &allowed,
            Some("https://arena.example.evil.example")
        ));
    }
}
