//! The echo session behind `GET /echo` (`--echo`): every message back as it came, through the
//! same frame layer as game sessions, so the Autobahn|Testsuite can prove that layer.

use actix::prelude::*;
use actix_web_actors::ws::{self, CloseCode, CloseReason, WebsocketContext};
use tracing::debug;

use super::frames::{Assembler, Incoming};
use crate::close::Farewell;

/// Largest message the echo endpoint reassembles: Autobahn's biggest cases are 16 MiB.
pub const ECHO_MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Echoes messages; answers pings; closes as the frame layer dictates.
pub struct EchoSession {
    frames: Assembler,
}

impl EchoSession {
    /// A fresh echo session.
    pub fn new() -> Self {
        Self {
            // Autobahn sends messages in up to 65,536 fragments; the echo has no flood guard anyway.
            frames: Assembler::new(ECHO_MAX_MESSAGE, usize::MAX),
        }
    }

    fn fail(&mut self, ctx: &mut WebsocketContext<Self>, farewell: Farewell) {
        debug!(code = farewell.close_code(), reason = %farewell.reason(), "echo session closed");
        ctx.close(Some(CloseReason {
            code: CloseCode::from(farewell.close_code()),
            description: Some(farewell.close_text()),
        }));
        ctx.stop();
    }
}

impl Default for EchoSession {
    fn default() -> Self {
        Self::new()
    }
}

impl Actor for EchoSession {
    type Context = WebsocketContext<Self>;
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for EchoSession {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match self.frames.push(item) {
            Ok(None) | Ok(Some(Incoming::Pong)) => {}
            Ok(Some(Incoming::Text(text))) => ctx.text(text),
            Ok(Some(Incoming::Binary(bytes))) => ctx.binary(bytes),
            Ok(Some(Incoming::Ping(payload))) => ctx.pong(&payload),
            Ok(Some(Incoming::Close(reason))) => {
                ctx.close(reason.map(|r| CloseReason {
                    code: r.code,
                    description: None,
                }));
                ctx.stop();
            }
            Err(farewell) => self.fail(ctx, farewell),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
