//! `--push URL` and `phasebench push`: a run's percentiles and counts sent to a Prometheus
//! Pushgateway, the Prometheus project's route for batch jobs, so a nightly phase history
//! lands in the dashboards a team already keeps.
//!
//! The body is the run's Prometheus exposition ([`crate::report::prometheus`]); the group is
//! `job="phasebench"` plus the run's scenario, target, target version and commit (and its
//! shard, so shards do not overwrite each other), with any labels the user adds. A `PUT`
//! replaces the group: the newest run of a (scenario, target, version, commit) is what the
//! Pushgateway holds, and Prometheus's scrapes keep the history.
//!
//! Nothing goes anywhere but the URL given: no redirects are followed and no proxy from the
//! environment is used. `https://` is verified against the Mozilla roots (webpki-roots, the
//! same on every machine) plus the CAs of `--push-ca`; TLS is rustls with ring. Every request
//! has a deadline. A push that fails is its own error: the measurement and its files stand.

mod transport;

use std::path::Path;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use base64::Engine;

use crate::results::RunSummary;
use crate::sys::BoundedReadError;

/// How long one push may take, connecting included.
const PUSH_DEADLINE: Duration = Duration::from_secs(15);
const CONNECT_DEADLINE: Duration = Duration::from_secs(5);
/// How much of a refusal's body is shown.
const BODY_SHOWN: usize = 500;
/// The largest CA file read.
const MAX_CA_FILE: u64 = 1 << 20;

/// Why a push did not happen or was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("push URL {url:?}: {why} (give the Pushgateway's address, e.g. http://127.0.0.1:9091)")]
    Url { url: String, why: String },
    #[error("push label {label:?}: {why}")]
    Label { label: String, why: String },
    #[error("push CA file {path}: {why}")]
    Ca { path: String, why: String },
    #[error("cannot push to {url}: {why} (is the Pushgateway up?)")]
    Unreachable { url: String, why: String },
    #[error("the Pushgateway at {url} refused the push: HTTP {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
}

impl PushError {
    /// A bad URL or label is the user's input; a gateway that is down or refuses is not.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            PushError::Url { .. } | PushError::Label { .. } | PushError::Ca { .. }
        )
    }
}

/// A Pushgateway's base address, checked, and the credentials to send it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushgateway {
    base: reqwest::Url,
    auth: Option<BasicAuth>,
    /// CAs trusted besides the Mozilla roots (`--push-ca`).
    extra_roots: Vec<CertificateDer<'static>>,
}

/// HTTP basic-auth credentials (from [`BASIC_AUTH_ENV`]); never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BasicAuth {
    user: String,
    password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuth({:?}, <hidden>)", self.user)
    }
}

/// The environment variable holding `user:password` for a gateway behind basic auth (an
/// environment variable, as CI secrets are handed over, never an argument a process list
/// shows).
pub const BASIC_AUTH_ENV: &str = "PHASEBENCH_PUSH_BASIC_AUTH";

/// `url` with any credentials before the host (`user:password@`) shown as `***@`, for
/// messages: a URL given with a secret in it is never echoed whole, parseable or not.
pub(crate) fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{}://***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

impl Pushgateway {
    /// Parses `http://host[:port][/path-prefix]`.
    pub fn parse(url: &str) -> Result<Self, PushError> {
        let bad = |why: &str| PushError::Url {
            url: redact_userinfo(url),
            why: why.to_owned(),
        };
        let base = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        match base.scheme() {
            "http" | "https" => {}
            other => return Err(bad(&format!("scheme {other:?} is not http or https"))),
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("a query or fragment has no place in it"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(bad(&format!(
                "credentials in the URL are not sent; put user:password in {BASIC_AUTH_ENV}"
            )));
        }
        Ok(Self {
            base,
            auth: None,
            extra_roots: Vec::new(),
        })
    }

    /// This gateway, also trusting the CA certificates (PEM) in `path`, e.g. a company CA or
    /// a test's own.
    pub fn with_ca_file(mut self, path: &Path) -> Result<Self, PushError> {
        let bad = |why: String| PushError::Ca {
            path: path.display().to_string(),
            why,
        };
        let bytes = crate::sys::read_bounded(path, MAX_CA_FILE).map_err(|e| match e {
            BoundedReadError::Io(e) => bad(e.to_string()),
            BoundedReadError::TooLarge => bad(format!("larger than {MAX_CA_FILE} bytes")),
            e @ BoundedReadError::NotAFile(_) => bad(e.to_string()),
        })?;
        let certs = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(bad("holds no PEM certificate".into()));
        }
        self.extra_roots.extend(certs);
        Ok(self)
    }

    /// This gateway with the basic-auth credentials in `user:password` (the value of
    /// [`BASIC_AUTH_ENV`]).
    pub fn with_basic_auth(mut self, credentials: &str) -> Result<Self, PushError> {
        let (user, password) = credentials
            .split_once(':')
            .filter(|(user, _)| !user.is_empty())
            .ok_or_else(|| PushError::Url {
                url: self.base.to_string(),
                why: format!("{BASIC_AUTH_ENV} must be user:password"),
            })?;
        self.auth = Some(BasicAuth {
            user: user.to_owned(),
            password: password.to_owned(),
        });
        Ok(self)
    }

    /// Whether credentials would cross the network in clear text (plain http to a host that
    /// is not this machine).
    pub fn sends_credentials_in_clear(&self) -> bool {
        let host = self.base.host_str().unwrap_or("");
        let loopback = host == "localhost"
            || host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        self.auth.is_some() && self.base.scheme() == "http" && !loopback
    }

    /// The address of `group` on this gateway: `<base>/metrics/job@base64/…/<name>@base64/…`.
    /// Every value is base64url-encoded (the Pushgateway's documented form), so a `/` or an
    /// empty value in a version or commit cannot break the path.
    pub fn group_url(&self, group: &Group) -> reqwest::Url {
        let encode = |value: &str| {
            if value.is_empty() {
                // The Pushgateway's spelling of an empty value.
                "=".to_owned()
            } else {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value)
            }
        };
        let mut path = self.base.path().trim_end_matches('/').to_owned();
        path.push_str("/metrics/job@base64/");
        path.push_str(&encode(&group.job));
        for (name, value) in &group.labels {
            path.push_str(&format!("/{name}@base64/{}", encode(value)));
        }
        let mut url = self.base.clone();
        url.set_path(&path);
        url
    }
}

impl std::fmt::Display for Pushgateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.base.as_str())
    }
}

/// A label the user adds to the group (`--push-label NAME=VALUE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraLabel {
    pub name: String,
    pub value: String,
}

/// Labels the harness sets itself or that its metrics carry: not the user's to set.
const RESERVED: [&str; 11] = [
    "job", "scenario", "target", "version", "commit", "shard", "metric", "status", "quantile",
    "outcome", "instance",
];

impl std::str::FromStr for ExtraLabel {
    type Err = PushError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| PushError::Label {
            label: text.to_owned(),
            why: why.to_owned(),
        };
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=VALUE"))?;
        let valid = name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if name.is_empty() || !valid || name.starts_with("__") {
            return Err(bad(
                "a label name is letters, digits and _, not starting with a digit or __",
            ));
        }
        if RESERVED.contains(&name) {
            return Err(bad("phasebench sets this label itself"));
        }
        if value.len() > 1024 || value.chars().any(char::is_control) {
            return Err(bad("the value must be printable and at most 1,024 bytes"));
        }
        Ok(Self {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }
}

/// The Pushgateway group a run is pushed to: its job and grouping labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub job: String,
    /// (name, value) in push order.
    pub labels: Vec<(String, String)>,
}

impl Group {
    /// The group of `summary`: scenario, target, target version, commit, shard, then `extra`.
    pub fn of(summary: &RunSummary, extra: &[ExtraLabel]) -> Self {
        let mut labels = vec![
            ("scenario".to_owned(), summary.scenario.name.clone()),
            ("target".to_owned(), summary.target.name.clone()),
            ("version".to_owned(), summary.target.version.clone()),
            (
                "commit".to_owned(),
                summary.environment.git_commit.clone().unwrap_or_default(),
            ),
        ];
        if let Some(shard) = summary.plan.shard {
            labels.push((
                "shard".to_owned(),
                format!("{}/{}", shard.index, shard.count),
            ));
        }
        for label in extra {
            labels.push((label.name.clone(), label.value.clone()));
        }
        Self {
            job: "phasebench".to_owned(),
            labels,
        }
    }
}

/// Sends `exposition` (the Prometheus text format) to `group` on `gateway`, replacing what the
/// group held. Returns the address pushed to.
pub(crate) async fn push(
    gateway: &Pushgateway,
    group: &Group,
    exposition: Vec<u8>,
) -> Result<reqwest::Url, PushError> {
    let url = gateway.group_url(group);
    let unreachable = |why: String| PushError::Unreachable {
        url: gateway.to_string(),
        why,
    };
    let (status, body) =
        tokio::time::timeout(PUSH_DEADLINE, transport::put(gateway, &url, exposition))
            .await
            .map_err(|_| unreachable(format!("no answer within {}s", PUSH_DEADLINE.as_secs())))?
            .map_err(unreachable)?;
    if (200..300).contains(&status) {
        return Ok(url);
    }
    let shown = String::from_utf8_lossy(&body[..body.len().min(BODY_SHOWN)]).into_owned();
    Err(PushError::Refused {
        url: gateway.to_string(),
        status,
        body: crate::report::printable(shown.trim()),
    })
}

/// Pushes a run's Prometheus exposition to `gateway` (`run --push`); returns where it went.
pub(crate) async fn push_run(
    view: &crate::report::RunView<'_>,
    gateway: &Pushgateway,
    labels: &[ExtraLabel],
) -> Result<String, crate::error::Error> {
    let body = crate::report::render(
        crate::report::Format::Prometheus,
        crate::report::Document::Run(view),
    );
    let group = Group::of(view.summary, labels);
    Ok(push(gateway, &group, body).await?.to_string())
}

/// `phasebench push RESULT URL`: a result file (rows re-derived from its histograms) pushed
/// as `run --push` would have pushed it.
pub async fn execute(
    path: &Path,
    gateway: &Pushgateway,
    labels: &[ExtraLabel],
) -> Result<String, crate::error::Error> {
    let loaded = crate::results::load_result(path)?;
    let view = crate::report::RunView::new(&loaded.summary, &loaded.rounds);
    push_run(&view, gateway, labels).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_url_are_never_echoed() {
        assert_eq!(
            redact_userinfo("http://user:secret@127.0.0.1:9/x@y"),
            "http://***@127.0.0.1:9/x@y"
        );
        assert_eq!(
            redact_userinfo("http://127.0.0.1:9/a@b"),
            "http://127.0.0.1:9/a@b"
        );
        assert_eq!(redact_userinfo("not a url"), "not a url");
        for url in [
            "http://user:secret@127.0.0.1:9/",
            "ftp://user:secret@h/",
            "http://user:secret@/",
        ] {
            let message = Pushgateway::parse(url).unwrap_err().to_string();
            assert!(!message.contains("secret"), "{message}");
        }
    }

    #[test]
    fn urls_are_checked() {
        assert!(Pushgateway::parse("http://127.0.0.1:9091").is_ok());
        assert!(Pushgateway::parse("http://gw.example/prefix/").is_ok());
        assert!(Pushgateway::parse("https://gw.example:9091").is_ok());
        for bad in [
            "ftp://gw",
            "127.0.0.1:9091",
            "http://gw:9091/?x=1",
            "http://u:p@gw:9091",
        ] {
            assert!(Pushgateway::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_are_hidden_and_clear_text_is_noticed() {
        let local = Pushgateway::parse("http://127.0.0.1:9091")
            .unwrap()
            .with_basic_auth("ci:s3cret:x")
            .unwrap();
        assert!(!format!("{local:?}").contains("s3cret"));
        assert!(!local.sends_credentials_in_clear());
        let remote = Pushgateway::parse("http://gw.example:9091")
            .unwrap()
            .with_basic_auth("ci:s3cret")
            .unwrap();
        assert!(remote.sends_credentials_in_clear());
        let anonymous = Pushgateway::parse("http://gw.example:9091").unwrap();
        assert!(!anonymous.sends_credentials_in_clear());
        let ipv6 = Pushgateway::parse("http://[::1]:9091").unwrap();
        assert!(
            !ipv6
                .with_basic_auth("a:b")
                .unwrap()
                .sends_credentials_in_clear()
        );
        let tls = Pushgateway::parse("https://gw.example:9091").unwrap();
        assert!(
            !tls.with_basic_auth("a:b")
                .unwrap()
                .sends_credentials_in_clear()
        );
        assert!(local.clone().with_basic_auth("nocolon").is_err());
        assert!(local.with_basic_auth(":password").is_err());
    }

    #[test]
    fn group_values_are_base64url_in_the_path() {
        let gateway = Pushgateway::parse("http://127.0.0.1:9091/gw/").unwrap();
        let group = Group {
            job: "phasebench".into(),
            labels: vec![
                ("version".into(), "0.169.0/x?".into()),
                ("commit".into(), String::new()),
            ],
        };
        let url = gateway.group_url(&group);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9091/gw/metrics/job@base64/cGhhc2ViZW5jaA\
             /version@base64/MC4xNjkuMC94Pw/commit@base64/="
        );
    }

    #[test]
    fn extra_labels_are_checked() {
        let label: ExtraLabel = "runner=ci-3".parse().unwrap();
        assert_eq!(
            (label.name.as_str(), label.value.as_str()),
            ("runner", "ci-3")
        );
        for bad in [
            "noequals",
            "1x=a",
            "__x=a",
            "job=x",
            "quantile=1",
            "a-b=c",
            "x=a\nb",
        ] {
            assert!(bad.parse::<ExtraLabel>().is_err(), "{bad}");
        }
    }
}
