//! `POST` of a 2026-07-28 message: no session, the checks of its headers and metadata,
//! then its method; `subscriptions/listen` turns the response into a long-lived stream.

use super::reply::{Reply, json_reply};
use super::stream::sse_frame;
use super::{Ctx, Exchange, Server, Sse, StreamOf};
use crate::error::{ErrorCode, RpcError};
use crate::http::response;
use crate::jsonrpc::{self, Id, Message};
use crate::mcp::{self, Session, modern};
use crate::server::ConnectionId;
use crate::server::dispatch::Answer;
use crate::server::sessions::{Listen, SessionKey};
use crate::time::Now;

impl Server {
    /// Answers a 2026-07-28 message: it stands alone, so it gets a session of its own for as
    /// long as it runs (or listens), and no `Mcp-Session-Id`.
    pub(super) fn modern_body(
        &mut self,
        connection: ConnectionId,
        mut ctx: Box<Ctx>,
        message: Message,
        now: Now,
    ) {
        ctx.session = None;
        let mut request = match message {
            Message::Request(request) => request,
            Message::Notification(notification) => {
                let checked = modern::check_http_notification(
                    ctx.version_header(),
                    ctx.mcp_headers.as_deref(),
                    &notification.method,
                );
                let (reply, error) = match checked {
                    // Nothing to route it to: every request has its own connection, and
                    // closing that connection cancels it.
                    Ok(()) => (Reply::empty(202), None),
                    Err(error) => {
                        let bytes = jsonrpc::write_error(None, &error, self.config.debug);
                        (json_reply(400, bytes), Some(error))
                    }
                };
                return self.send_reply_as(
                    connection,
                    &ctx,
                    reply,
                    error,
                    Some(notification.method.into()),
                    now,
                );
            }
            Message::Response(_) => {
                let error = RpcError::new(
                    ErrorCode::InvalidRequest,
                    "Bad Request: a 2026-07-28 server sends no requests to answer",
                );
                let reply = json_reply(400, jsonrpc::write_error(None, &error, self.config.debug));
                return self.send_reply(connection, &ctx, reply, Some(error), now);
            }
        };
        // The 2026-07-28 checks read the params whole.
        request.join_params();
        let checked = modern::check_http(
            ctx.version_header(),
            ctx.mcp_headers.as_deref(),
            &request.method,
            request.params.as_ref(),
            &self.registry,
        );
        let meta = match checked {
            Ok(meta) => meta,
            Err(error) => {
                let method = Some(mcp::log_method(&request, &self.registry.tools));
                let bytes = jsonrpc::write_error(Some(&request.id), &error, self.config.debug);
                return self.send_reply_as(
                    connection,
                    &ctx,
                    json_reply(400, bytes),
                    Some(error),
                    method,
                    now,
                );
            }
        };
        let key = SessionKey::Conn(connection);
        self.request_session(connection, Session::new, now);
        let (answer, finished, error) = self.dispatch_message(
            connection,
            &key,
            Message::Request(request),
            ctx.received(),
            Some(meta),
            now,
        );
        let method = finished.method;
        ctx.facts = finished.facts;
        match answer {
            Answer::Respond(bytes) => {
                let status = error
                    .as_ref()
                    .map_or(200, |error| modern::http_status(error.code));
                self.send_reply_as(connection, &ctx, json_reply(status, bytes), error, method, now);
            }
            Answer::Started(call) => {
                if let Some(http) = self.http_mut(connection) {
                    http.exchange = Exchange::Call { ctx, call, sse: None };
                }
            }
            Answer::Listen(id, filter) => self.open_listen(connection, &ctx, id, filter, now),
            // A 2026-07-28 request has no session: nothing of it lives on another replica.
            Answer::Nothing | Answer::Unrouted | Answer::Forward(_) => {
                let reply = Reply::empty(202);
                self.send_reply_as(connection, &ctx, reply, None, method, now);
            }
        }
        self.release_request_session(connection);
    }

    /// Opens a `subscriptions/listen` stream: the headers and the acknowledgement at once,
    /// then the notifications the subscription asked for, until the client leaves or the
    /// server shuts down.
    fn open_listen(&mut self, connection: ConnectionId, ctx: &Ctx, id: Id, filter: modern::Filter, now: Now) {
        let sse = Sse {
            chunked: ctx.minor >= 1,
            stream: None,
        };
        let mut head = response::Head::new(200);
        // The stream ends only with its connection: clients must not reuse it.
        self.common_headers(&mut head, ctx, true);
        let mut bytes = head.streaming("text/event-stream", sse.chunked);
        let ack = jsonrpc::write_notification(
            "notifications/subscriptions/acknowledged",
            Some(&filter.acknowledged(&id)),
        );
        bytes.extend_from_slice(&sse_frame(sse, &ack, None));
        self.transmit(connection, bytes);
        let mut finished = self.finished_for(connection, ctx, 200);
        finished.method = Some("subscriptions/listen".into());
        self.log_finished(now, finished);
        if let Some(session) = self.sessions.get_mut(&SessionKey::Conn(connection)) {
            session.listens.push(Listen {
                id: id.clone(),
                filter,
            });
        }
        if let Some(http) = self.http_mut(connection) {
            http.exchange = Exchange::Stream {
                sse,
                of: StreamOf::Listen(id),
            };
        }
    }

    /// Sends a notification on the `subscriptions/listen` stream a connection carries.
    pub(in crate::server) fn listen_message(&mut self, connection: ConnectionId, bytes: &[u8]) {
        let sse = match self.http_mut(connection).map(|http| &http.exchange) {
            Some(Exchange::Stream {
                sse,
                of: StreamOf::Listen(_),
            }) => *sse,
            _ => return,
        };
        self.transmit(connection, sse_frame(sse, bytes, None));
    }
}
