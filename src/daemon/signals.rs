//! The signals the daemon answers, installed before it reports ready (SIGUSR1's default action
//! would otherwise end the process).

use tokio::signal::unix::{signal, Signal, SignalKind};

/// What a signal asks of the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// SIGUSR1: run pipelines now.
    RunNow,
    /// SIGHUP: reload the config.
    Reload,
    /// SIGTERM or SIGINT: drain and stop.
    Shutdown,
}

/// The daemon's signal streams.
pub struct Signals {
    usr1: Signal,
    hup: Signal,
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> std::io::Result<Self> {
        Ok(Signals {
            usr1: signal(SignalKind::user_defined1())?,
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal's request.
    pub async fn recv(&mut self) -> Request {
        tokio::select! {
            _ = self.usr1.recv() => Request::RunNow,
            _ = self.hup.recv() => Request::Reload,
            _ = self.term.recv() => Request::Shutdown,
            _ = self.int.recv() => Request::Shutdown,
        }
    }
}
