//! A connection's TCP socket, reachable from outside the actor that owns the connection.
//!
//! A client that stops reading freezes its session actor: actix stops polling it once ~32 KiB
//! wait to be written (`../shared/ACTIX-FACTS.md`), so nothing inside the session can close the
//! connection. `HttpServer::on_connect` keeps a duplicate of every connection's socket; the room,
//! which notices the session stopped taking snapshots, shuts the socket down, and actix then
//! tears the connection and its actor down as for any dead peer. The duplicate costs one file
//! descriptor per connection.

use std::any::Any;
use std::sync::Arc;

use actix_web::dev::Extensions;
use tracing::warn;

/// A shared, duplicated handle on one connection's socket.
#[derive(Clone, Debug)]
pub struct ConnectionSocket {
    #[cfg(unix)]
    fd: Arc<std::os::fd::OwnedFd>,
}

impl ConnectionSocket {
    /// Shuts the connection down in both directions: pending writes fail, the peer sees EOF.
    pub fn shutdown(&self) {
        #[cfg(unix)]
        {
            let _ = socket2::SockRef::from(&*self.fd).shutdown(std::net::Shutdown::Both);
        }
    }
}

/// The `on_connect` hook: applies the configured send buffer and keeps a [`ConnectionSocket`]
/// in the connection's data, where the `/ws` route finds it.
pub fn on_connect(
    send_buffer: usize,
) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync + 'static {
    move |conn, data| {
        let Some(stream) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        if send_buffer > 0
            && let Err(e) = socket2::SockRef::from(stream).set_send_buffer_size(send_buffer)
        {
            warn!(error = %e, "cannot set the socket send buffer");
        }
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            match stream.as_fd().try_clone_to_owned() {
                Ok(fd) => {
                    data.insert(ConnectionSocket { fd: Arc::new(fd) });
                }
                Err(e) => warn!(error = %e, "cannot keep a handle on the connection's socket"),
            }
        }
    }
}
