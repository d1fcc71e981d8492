//! Which endpoint answers a request, and how.
//!
//! | path | methods | answer |
//! |---|---|---|
//! | `/metrics` | GET, HEAD | 200, Prometheus text 0.0.4 |
//! | `/health` | GET, HEAD | 200 `{"status":"alive",...}` |
//! | `/ready` | GET, HEAD | 200 or 503, JSON naming the failing checks |
//! | `/status` | GET, HEAD | 200, JSON summary of the run |
//! | `/` | GET, HEAD | 200, the list of endpoints |
//! | `/control/...` | POST | 200 / 409 from the engine; 503 if it does not answer in time |
//!
//! Control paths check, in order: method (405 with `Allow: POST`), a token is configured (403
//! "control disabled: no token configured"), `Authorization: Bearer <token>` (401 with
//! `WWW-Authenticate`), the body (400 saying what is expected). Other methods on the read
//! endpoints get 405 with `Allow: GET, HEAD`; unknown paths 404. No answer ever repeats a
//! request header, so the token cannot come back in a response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use serde_json::json;

use super::control::{self, ControlCommand, ControlPath, Outcome};
use super::http::{Request, Response, PROMETHEUS_TEXT};
use super::registry::Registry;
use super::status::{judge, StatusSource};
use super::token::Token;

/// Everything a request may need, shared by the connection threads.
pub(super) struct Shared {
    pub registry: Arc<Registry>,
    pub status: Arc<dyn StatusSource>,
    pub control: Sender<ControlCommand>,
    pub token: Option<Token>,
    pub ready_max_feed_age: Duration,
    pub control_timeout: Duration,
    pub started: Instant,
}

const READ_ENDPOINTS: [&str; 5] = ["/metrics", "/health", "/ready", "/status", "/"];

/// Answers one request.
pub(super) fn respond(req: &Request, s: &Shared) -> Response {
    let path = req.path.as_str();
    if READ_ENDPOINTS.contains(&path) {
        if req.method != "GET" && req.method != "HEAD" {
            return Response::error(405, "use GET or HEAD").with_header("Allow", "GET, HEAD");
        }
        return match path {
            "/metrics" => Response::text(200, PROMETHEUS_TEXT, s.registry.render()),
            "/health" => Response::json(
                200,
                &json!({
                    "status": "alive",
                    "uptime_s": s.started.elapsed().as_secs_f64(),
                    "version": env!("CARGO_PKG_VERSION"),
                }),
            ),
            "/ready" => {
                let r = judge(&s.status.ready_inputs(), s.ready_max_feed_age);
                Response::json(if r.ready { 200 } else { 503 }, &r.body)
            }
            "/status" => Response::json(200, &s.status.status()),
            _ => {
                let control: Vec<&str> = ControlPath::ALL.iter().map(|(_, p)| *p).collect();
                Response::json(200, &json!({ "get": READ_ENDPOINTS, "post": control }))
            }
        };
    }
    match ControlPath::from_path(path) {
        Some(cp) => control(req, cp, s),
        None => Response::error(404, "no such endpoint; GET / lists them"),
    }
}

fn control(req: &Request, cp: ControlPath, s: &Shared) -> Response {
    if req.method != "POST" {
        return Response::error(405, "use POST").with_header("Allow", "POST");
    }
    let Some(token) = &s.token else {
        return Response::error(403, "control disabled: no token configured");
    };
    if !token.matches_bearer(req.header("authorization")) {
        return Response::error(401, "missing or wrong bearer token")
            .with_header("WWW-Authenticate", "Bearer realm=\"tickrail-ops\"");
    }
    let request = match control::parse_request(cp, &req.body) {
        Ok(r) => r,
        Err(expected) => return Response::error(400, expected),
    };
    let name = request.name();
    match control::submit(&s.control, request, s.control_timeout) {
        Outcome::Answered(Ok(message)) => {
            Response::json(200, &json!({ "ok": true, "request": name, "message": message }))
        }
        Outcome::Answered(Err(error)) => {
            Response::json(409, &json!({ "ok": false, "request": name, "error": error }))
        }
        Outcome::TimedOut => Response::json(
            503,
            &json!({
                "ok": false,
                "request": name,
                "error": format!(
                    "the engine did not answer within {} ms; check /status before retrying",
                    s.control_timeout.as_millis()
                ),
            }),
        ),
        Outcome::Gone => Response::json(
            503,
            &json!({ "ok": false, "request": name, "error": "the engine is not taking control requests" }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::control::ControlRequest;
    use super::super::status::ReadyInputs;
    use super::*;
    use crate::risk::TradingState;

    struct Fixed(ReadyInputs);

    impl StatusSource for Fixed {
        fn ready_inputs(&self) -> ReadyInputs {
            self.0
        }
        fn status(&self) -> serde_json::Value {
            json!({ "ticks": 1 })
        }
    }

    fn shared(token: Option<&str>) -> (Shared, crossbeam_channel::Receiver<ControlCommand>) {
        let mut reg = Registry::new();
        reg.counter("tickrail_test_total", "t").unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let inputs = ReadyInputs {
            feed_connected: true,
            feed_age: Some(Duration::ZERO),
            journal_errors: 0,
            state: TradingState::Active,
        };
        let s = Shared {
            registry: Arc::new(reg),
            status: Arc::new(Fixed(inputs)),
            control: tx,
            token: token.map(|t| Token::parse(t.as_bytes(), "test").unwrap()),
            ready_max_feed_age: Duration::from_secs(1),
            control_timeout: Duration::from_millis(1),
            started: Instant::now(),
        };
        (s, rx)
    }

    fn req(method: &str, path: &str, auth: Option<&str>, body: &str) -> Request {
        let headers =
            auth.map(|a| vec![("authorization".to_string(), a.to_string())]).unwrap_or_default();
        Request {
            method: method.into(),
            path: path.into(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn read_endpoints() {
        let (s, _) = shared(None);
        let r = respond(&req("GET", "/metrics", None, ""), &s);
        assert_eq!((r.status, r.content_type), (200, PROMETHEUS_TEXT));
        assert!(String::from_utf8_lossy(&r.body).contains("tickrail_test_total 0"));
        assert_eq!(respond(&req("HEAD", "/health", None, ""), &s).status, 200);
        assert_eq!(respond(&req("GET", "/ready", None, ""), &s).status, 200);
        assert_eq!(respond(&req("GET", "/status", None, ""), &s).body, b"{\"ticks\":1}\n");
        assert_eq!(respond(&req("GET", "/", None, ""), &s).status, 200);
        let r = respond(&req("POST", "/metrics", None, ""), &s);
        assert_eq!((r.status, header(&r, "Allow")), (405, Some("GET, HEAD")));
        assert_eq!(respond(&req("GET", "/nope", None, ""), &s).status, 404);
        assert_eq!(respond(&req("GET", "/metrics/", None, ""), &s).status, 404);
    }

    #[test]
    fn control_checks_in_order() {
        let (s, _) = shared(None);
        let r = respond(&req("GET", "/control/state", None, ""), &s);
        assert_eq!((r.status, header(&r, "Allow")), (405, Some("POST")));
        let r = respond(&req("POST", "/control/state", Some("Bearer x"), ""), &s);
        assert_eq!(r.status, 403);
        assert!(String::from_utf8_lossy(&r.body).contains("control disabled: no token configured"));

        let (s, rx) = shared(Some("tok-123"));
        for auth in [None, Some("Bearer tok-12"), Some("Basic tok-123"), Some("tok-123")] {
            let r = respond(&req("POST", "/control/kill-switch", auth, "on"), &s);
            assert_eq!(r.status, 401, "{auth:?}");
            assert!(header(&r, "WWW-Authenticate").is_some());
            assert!(!String::from_utf8_lossy(&r.body).contains("tok-12"));
        }
        let r = respond(&req("POST", "/control/kill-switch", Some("Bearer tok-123"), "maybe"), &s);
        assert_eq!(r.status, 400);
        assert!(rx.is_empty());
        // Right token, nobody answering: 503, and the command is there (expired).
        let r = respond(&req("POST", "/control/kill-switch", Some("Bearer tok-123"), "on"), &s);
        assert_eq!(r.status, 503);
        let cmd = rx.try_recv().unwrap();
        assert_eq!(cmd.request(), ControlRequest::KillSwitch { on: true });
        assert!(cmd.expired());
    }

    #[test]
    fn control_relays_the_engine_answer() {
        let (mut s, rx) = shared(Some("tok"));
        s.control_timeout = Duration::from_secs(60);
        let engine = std::thread::spawn(move || {
            let c = rx.recv().unwrap();
            assert_eq!(c.request(), ControlRequest::SetState(TradingState::Halted));
            c.answer(Ok("HALTED".into()));
            let c = rx.recv().unwrap();
            c.answer(Err("no plugin configured".into()));
        });
        let r = respond(
            &req("POST", "/control/state", Some("Bearer tok"), "{\"state\":\"HALTED\"}"),
            &s,
        );
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v, json!({ "ok": true, "request": "state", "message": "HALTED" }));
        let r = respond(&req("POST", "/control/plugin/reload", Some("Bearer tok"), ""), &s);
        assert_eq!(r.status, 409);
        engine.join().unwrap();
        // Engine gone.
        let r = respond(&req("POST", "/control/model/reload", Some("Bearer tok"), ""), &s);
        assert_eq!(r.status, 503);
    }
}
