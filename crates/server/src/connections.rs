//! The accept loop: how long a TCP connection may hold a place, and how many places one client
//! may hold.
//!
//! hyper bounds the time a request's headers take once hyper starts reading them, but not the
//! time before: the protocol (HTTP/1.1 or HTTP/2) is chosen on the first bytes, and nothing timed
//! that wait. Nor does anything end an HTTP/2 connection that opens no stream but answers the
//! server's keep-alive PINGs. An outside probe held 4,200 such connections from one address and
//! the server turned everyone else away. So, per connection:
//!
//! - its first bytes (the whole HTTP/2 preface, if it starts like one) must arrive within the
//!   header timeout of the accept; hyper's header timer takes over from there;
//! - once no request has been in flight for the idle timeout, it is shut down gracefully (an
//!   HTTP/2 `GOAWAY`, an HTTP/1.1 close), and dropped if it is still there a header timeout
//!   later with nothing in flight;
//! - at most `max_connections` are open in all and `max_connections_per_address` from one
//!   client address (an IPv6 client by its /64, which one subscriber usually holds whole);
//!   beyond either, a new connection is closed at once.
//!
//! The address counted is the TCP peer: behind a reverse proxy it is the proxy's (see
//! docs/api.md, limits at the door).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::guard::GuardConfig;

/// What a client sends first on an HTTP/2 connection with prior knowledge (h2c).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Open connections by client address, with a cap (0: none).
struct PerAddress {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in its address's count; given back when dropped.
struct AddressPlace {
    of: Arc<PerAddress>,
    key: IpAddr,
}

impl PerAddress {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for a connection from `ip`, or `None` when its address holds the cap already.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<AddressPlace> {
        let key = address_key(ip);
        let mut open = self.lock();
        let count = open.entry(key).or_insert(0);
        if self.cap != 0 && *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(AddressPlace {
            of: self.clone(),
            key,
        })
    }
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut open = self.of.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The address a connection is counted under: IPv4 (also when mapped into IPv6) as it is, IPv6
/// by its /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Requests in flight on one connection, and since when it has had none.
#[derive(Clone, Copy, Debug)]
struct Activity {
    in_flight: usize,
    quiet_since: Instant,
}

/// One request in flight; counted out when its answer's body is done (or the request dropped).
struct InFlight(Arc<watch::Sender<Activity>>);

impl InFlight {
    fn start(activity: &Arc<watch::Sender<Activity>>) -> InFlight {
        activity.send_modify(|a| a.in_flight += 1);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            if a.in_flight == 0 {
                a.quiet_since = Instant::now();
            }
        });
    }
}

/// An answer's body, counting its request in flight until the body is sent or dropped (a large
/// export to a slow client is not idle).
struct Counted {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Counted {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Resolves once the connection has had no request in flight for `limit`.
async fn quiet_for(mut activity: watch::Receiver<Activity>, limit: Duration) {
    loop {
        let now = *activity.borrow_and_update();
        if now.in_flight > 0 {
            if activity.changed().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep_until(now.quiet_since + limit) => return,
            changed = activity.changed() => if changed.is_err() { return },
        }
    }
}

/// Wait for the client's first bytes, until `deadline`: `false` if it closed or sent nothing in
/// time. A connection that starts like the HTTP/2 preface must send all of it (hyper reads the
/// preface to choose the protocol, with no timer of its own).
async fn first_bytes(stream: &TcpStream, deadline: Instant) -> bool {
    let mut seen = [0u8; H2_PREFACE.len()];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut seen)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) | Err(_) => return false,
        };
        if n == 0 {
            return false;
        }
        if n >= H2_PREFACE.len() || seen.get(..n) != H2_PREFACE.get(..n) {
            return true;
        }
        // Part of the preface: peek would hand back the same bytes at once, so wait a little.
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The timeouts each connection is held to.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    header: Duration,
    idle: Duration,
}

/// Serve one accepted connection until it ends, is idle too long, or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    builder: Arc<Builder<TokioExecutor>>,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
) {
    if !first_bytes(&stream, Instant::now() + timeouts.header).await {
        tracing::debug!(%peer, "connection closed: nothing sent in time");
        return;
    }
    let (activity, watched) = watch::channel(Activity {
        in_flight: 0,
        quiet_since: Instant::now(),
    });
    let activity = Arc::new(activity);
    let service = app
        .map_request(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.map(axum::body::Body::new)
        })
        .map_future(move |answer| {
            let in_flight = InFlight::start(&activity);
            async move {
                let answer = answer.await;
                answer.map(|response| {
                    response.map(|body| {
                        axum::body::Body::new(Counted {
                            body,
                            _in_flight: in_flight,
                        })
                    })
                })
            }
        })
        .map_err(|never: Infallible| match never {});
    let served = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(served);
    let quiet = quiet_for(watched.clone(), timeouts.idle);
    tokio::pin!(quiet);
    let mut closing = false;
    // Once shut down for idleness, the connection has this long to go (a client may keep the
    // HTTP/2 shutdown from completing by never answering its PING).
    let mut hard_stop: Option<Instant> = None;
    loop {
        tokio::select! {
            ended = served.as_mut() => {
                if let Err(error) = ended {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            () = &mut quiet, if !closing => {
                tracing::debug!(%peer, "connection closed: idle");
                closing = true;
                hard_stop = Some(Instant::now() + timeouts.header);
                served.as_mut().graceful_shutdown();
            }
            () = async {
                if let Some(at) = hard_stop {
                    tokio::time::sleep_until(at).await;
                }
            }, if hard_stop.is_some() => {
                if watched.borrow().in_flight == 0 {
                    tracing::debug!(%peer, "connection dropped: still open after its shutdown");
                    return;
                }
                hard_stop = Some(Instant::now() + timeouts.header);
            }
            changed = stop.changed(), if !closing => {
                if changed.is_err() || *stop.borrow() {
                    closing = true;
                    served.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then let open requests finish (for at
/// most `drain`). Unlike `axum::serve`, connections are held to the limits in the module
/// documentation. Handlers see the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: &GuardConfig,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) {
    let capacity = config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(capacity));
    let per_address = Arc::new(PerAddress {
        cap: config.max_connections_per_address,
        open: Mutex::new(HashMap::new()),
    });
    let timeouts = Timeouts {
        header: config.header_timeout,
        idle: config.idle_timeout,
    };
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(256 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(config.header_timeout))
        .keep_alive_timeout(config.header_timeout);
    let builder = Arc::new(builder);
    let (stop, stopping) = watch::channel(false);
    let mut refusals = Refusals::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // EMFILE and friends: wait a moment rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            refusals.note(peer, "too many open connections");
            drop(stream);
            continue;
        };
        let Some(place) = per_address.take(peer.ip()) else {
            refusals.note(peer, "too many open connections from this address");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, builder, stopping) = (app.clone(), builder.clone(), stopping.clone());
        tokio::spawn(async move {
            connection(stream, peer, app, builder, timeouts, stopping).await;
            drop((permit, place));
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(capacity).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the drain period");
    }
}

/// Refused connections, logged at most every ten seconds (a flood must not flood the log too).
#[derive(Default)]
struct Refusals {
    since_logged: u64,
    logged_at: Option<Instant>,
}

impl Refusals {
    fn note(&mut self, peer: SocketAddr, why: &str) {
        self.since_logged += 1;
        let now = Instant::now();
        if self
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(10))
        {
            tracing::warn!(%peer, refused = self.since_logged, "connection refused: {why}");
            self.since_logged = 0;
            self.logged_at = Some(now);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_and_places_come_back() {
        let per = Arc::new(PerAddress {
            cap: 2,
            open: Mutex::new(HashMap::new()),
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = per.take(a).unwrap();
        let _second = per.take(a).unwrap();
        assert!(per.take(a).is_none());
        assert!(per.take(b).is_some(), "another address is not affected");
        drop(first);
        assert!(per.take(a).is_some());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(one), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn no_cap_means_none() {
        let per = Arc::new(PerAddress {
            cap: 0,
            open: Mutex::new(HashMap::new()),
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..1000).map(|_| per.take(a).unwrap()).collect();
        drop(held);
        assert!(per.lock().is_empty());
    }
}
