//! Faults that can be armed on a route: slow, broken, odd or refused answers.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The requests a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `GET {tenant}/api/AppConnection/GetCurrentDataAccess`.
    CurrentDataAccess,
    /// `POST {tenant}/api/AppConnection`.
    PostAppConnection,
    /// `GET {tenant}/api/AppConnection`.
    GetAppConnection,
    /// Every request the sandbox receives, including the approval page.
    Any,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::CurrentDataAccess => "current",
            Route::PostAppConnection => "post",
            Route::GetAppConnection => "get",
            Route::Any => "any",
        }
    }
}

impl FromStr for Route {
    type Err = String;

    /// Parses `current`, `post`, `get` or `any`.
    fn from_str(text: &str) -> Result<Route, String> {
        [
            Route::CurrentDataAccess,
            Route::PostAppConnection,
            Route::GetAppConnection,
            Route::Any,
        ]
        .into_iter()
        .find(|r| r.name().eq_ignore_ascii_case(text.trim()))
        .ok_or_else(|| format!("unknown route {text:?}; expected current, post, get or any"))
    }
}

/// A way to answer badly. Faults that stand for a lost or damaged answer
/// ([`Fault::DropMidAnswer`], [`Fault::TruncatedJson`], [`Fault::CloseAfterAnswer`]) and the
/// ones that only add to an answer ([`Fault::Delay`], [`Fault::Deprecated`]) let the request
/// take effect; all others replace the answer and change nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer this status with a JSON problem body and, if given, a `Retry-After` header
    /// (seconds or an HTTP date, sent as is).
    Status {
        /// The HTTP status code.
        code: u16,
        /// The `Retry-After` header value.
        retry_after: Option<String>,
    },
    /// Send the headers with the full `Content-Length` and half the body, then close.
    DropMidAnswer,
    /// Answer 200 with the body cut in half and a `Content-Length` that fits the cut body.
    TruncatedJson,
    /// Answer a `text/html` gateway error page with this status (usually 502 or 200).
    HtmlPage(u16),
    /// Answer 200 with a JSON-typed body of this many bytes, with a `Content-Length`.
    Oversized(usize),
    /// Like [`Fault::Oversized`] but chunked, without a `Content-Length`.
    OversizedChunked(usize),
    /// Answer 200 announcing a very long body, and send one byte of it per interval until
    /// the client goes away.
    Trickle {
        /// Time between two bytes.
        interval: Duration,
    },
    /// Answer 200 with an empty body.
    EmptyBody,
    /// Answer 200 with `[[[...]]]` nested this deep.
    DeepJson(usize),
    /// Answer 200 with valid JSON of the wrong shape.
    WrongShape,
    /// Answer this status with a problem whose detail repeats the request's headers, the
    /// `Authorization` header included, as some misconfigured gateways do.
    EchoRequest(u16),
    /// Answer normally with `Noah-Deprecated: true` and `Noah-Sunset-Date: <sunset>`.
    Deprecated {
        /// The sunset date text.
        sunset: String,
    },
    /// Answer normally, then close the connection without announcing it, as a server
    /// dropping an idle keep-alive connection does.
    CloseAfterAnswer,
}

impl Fault {
    /// True for faults whose answer is made up instead of coming from the request.
    pub(crate) fn replaces_answer(&self) -> bool {
        !matches!(
            self,
            Fault::Delay(_)
                | Fault::DropMidAnswer
                | Fault::TruncatedJson
                | Fault::Deprecated { .. }
                | Fault::CloseAfterAnswer
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Delay(d) => write!(f, "delay={}", d.as_millis()),
            Fault::Status {
                code,
                retry_after: None,
            } => write!(f, "status={code}"),
            Fault::Status {
                code,
                retry_after: Some(r),
            } => {
                write!(f, "status={code}:retry-after={r}")
            }
            Fault::DropMidAnswer => f.write_str("drop"),
            Fault::TruncatedJson => f.write_str("truncated"),
            Fault::HtmlPage(code) => write!(f, "html={code}"),
            Fault::Oversized(n) => write!(f, "oversized={n}"),
            Fault::OversizedChunked(n) => write!(f, "oversized-chunked={n}"),
            Fault::Trickle { interval } => write!(f, "trickle={}", interval.as_millis()),
            Fault::EmptyBody => f.write_str("empty"),
            Fault::DeepJson(n) => write!(f, "deep={n}"),
            Fault::WrongShape => f.write_str("wrong-shape"),
            Fault::EchoRequest(code) => write!(f, "echo={code}"),
            Fault::Deprecated { sunset } => write!(f, "deprecated={sunset}"),
            Fault::CloseAfterAnswer => f.write_str("close"),
        }
    }
}

fn number<T: FromStr>(kind: &str, arg: Option<&str>) -> Result<T, String> {
    let arg = arg.ok_or_else(|| format!("fault {kind} needs a number: {kind}=N"))?;
    arg.trim()
        .parse()
        .map_err(|_| format!("fault {kind}: {arg:?} is not a valid number"))
}

impl FromStr for Fault {
    type Err = String;

    /// Parses the `KIND[=ARG]` part of a fault spec (see [`ArmedFault`]).
    fn from_str(text: &str) -> Result<Fault, String> {
        let (kind, arg) = match text.split_once('=') {
            Some((k, a)) => (k.trim(), Some(a)),
            None => (text.trim(), None),
        };
        let no_arg = |fault: Fault| match arg {
            None => Ok(fault),
            Some(_) => Err(format!("fault {kind} takes no argument")),
        };
        match kind.to_ascii_lowercase().as_str() {
            "delay" => Ok(Fault::Delay(Duration::from_millis(number(kind, arg)?))),
            "status" => {
                let arg = arg.ok_or("fault status needs a code: status=503")?;
                let (code, retry_after) = match arg.split_once(':') {
                    Some((code, option)) => {
                        let value = option
                            .strip_prefix("retry-after=")
                            .ok_or_else(|| format!("unknown status option {option:?}"))?;
                        (code, Some(value.to_owned()))
                    }
                    None => (arg, None),
                };
                let code: u16 = number("status", Some(code))?;
                if !(200..=599).contains(&code) {
                    return Err(format!(
                        "status {code} is not a final HTTP status (200-599)"
                    ));
                }
                Ok(Fault::Status { code, retry_after })
            }
            "drop" => no_arg(Fault::DropMidAnswer),
            "truncated" => no_arg(Fault::TruncatedJson),
            "html" => Ok(Fault::HtmlPage(match arg {
                Some(_) => number(kind, arg)?,
                None => 502,
            })),
            "oversized" => Ok(Fault::Oversized(number(kind, arg)?)),
            "oversized-chunked" => Ok(Fault::OversizedChunked(number(kind, arg)?)),
            "trickle" => Ok(Fault::Trickle {
                interval: Duration::from_millis(number(kind, arg)?),
            }),
            "empty" => no_arg(Fault::EmptyBody),
            "deep" => Ok(Fault::DeepJson(number(kind, arg)?)),
            "wrong-shape" => no_arg(Fault::WrongShape),
            "echo" => Ok(Fault::EchoRequest(match arg {
                Some(_) => number(kind, arg)?,
                None => 400,
            })),
            "deprecated" => match arg {
                Some(sunset) if !sunset.trim().is_empty() => Ok(Fault::Deprecated {
                    sunset: sunset.trim().to_owned(),
                }),
                _ => Err("fault deprecated needs a sunset date: deprecated=2030-01-01".into()),
            },
            "close" => no_arg(Fault::CloseAfterAnswer),
            _ => Err(format!("unknown fault kind {kind:?}")),
        }
    }
}

/// A fault armed on a route for a number of requests.
///
/// Its text form, used by the `--fault` option, is `ROUTE:KIND[=ARG]:TIMES`, where ROUTE is
/// `current`, `post`, `get` or `any`, TIMES is how many requests it applies to, and KIND is one
/// of `delay=MS`, `status=CODE[:retry-after=VALUE]`, `drop`, `truncated`, `html[=STATUS]`,
/// `oversized=BYTES`, `oversized-chunked=BYTES`, `trickle=MS`, `empty`, `deep=DEPTH`,
/// `wrong-shape`, `echo[=STATUS]`, `deprecated=SUNSET` or `close`. Everything between the first and the last
/// colon belongs to KIND, so HTTP dates and ISO timestamps may contain colons:
/// `current:status=503:retry-after=1:2`, `any:deprecated=2030-01-01T00:00:00Z:5`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArmedFault {
    /// Which requests it applies to.
    pub route: Route,
    /// What happens to them.
    pub fault: Fault,
    /// How many more requests it applies to.
    pub times: u32,
}

impl FromStr for ArmedFault {
    type Err = String;

    fn from_str(text: &str) -> Result<ArmedFault, String> {
        let (route, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("fault spec {text:?} is not ROUTE:KIND[=ARG]:TIMES"))?;
        let (kind, times) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("fault spec {text:?} is not ROUTE:KIND[=ARG]:TIMES"))?;
        let times: u32 = times
            .trim()
            .parse()
            .map_err(|_| format!("fault spec {text:?}: TIMES {times:?} is not a number"))?;
        Ok(ArmedFault {
            route: route.parse()?,
            fault: kind.parse()?,
            times,
        })
    }
}

impl fmt::Display for ArmedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.route.name(), self.fault, self.times)
    }
}
