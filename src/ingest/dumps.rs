//! The queue of iptables dumps waiting to be parsed while the rest of a snapshot is read.
//!
//! The reading thread pushes each dump as it meets it; up to [`TEXTS_IN_FLIGHT`] dumps travel
//! with their text, later ones by path only and are read again by whichever thread parses them
//! (from the page cache: cheaper than holding every dump at once). Any number of threads
//! [`Queue::drain`] it; each keeps its own cache of parsed rule lines.

use super::iptables::{self, RuleCache};
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::model::iptables::IptablesDump;
use crate::source::FileId;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

/// How many dump texts may wait in the queue at once.
const TEXTS_IN_FLIGHT: usize = 2;

/// One dump to parse.
struct Job {
    /// Its position among the snapshot's dumps (file order).
    slot: usize,
    file: FileId,
    /// Where to read it again when `text` was not sent.
    path: PathBuf,
    text: Option<String>,
}

/// A parsed dump (or none, when it could not be read again) and its diagnostics, by slot.
pub type Parsed = (usize, Option<IptablesDump>, Diagnostics);

/// Dumps waiting to be parsed; see the module documentation.
pub struct Queue {
    sender: Mutex<Option<Sender<Job>>>,
    receiver: Mutex<Receiver<Job>>,
    pushed: AtomicUsize,
    texts: AtomicUsize,
}

impl Default for Queue {
    fn default() -> Self {
        Self::new()
    }
}

impl Queue {
    /// An open, empty queue.
    pub fn new() -> Self {
        let (sender, receiver) = channel();
        Queue {
            sender: Mutex::new(Some(sender)),
            receiver: Mutex::new(receiver),
            pushed: AtomicUsize::new(0),
            texts: AtomicUsize::new(0),
        }
    }

    /// Queues one dump (its text is dropped when enough texts are waiting); dumps are numbered
    /// in the order they are pushed, the order [`merge`] returns them in.
    pub fn push(&self, file: FileId, path: PathBuf, text: String) {
        let slot = self.pushed.fetch_add(1, Ordering::SeqCst);
        let text = if self.texts.load(Ordering::SeqCst) < TEXTS_IN_FLIGHT {
            self.texts.fetch_add(1, Ordering::SeqCst);
            Some(text)
        } else {
            None
        };
        let job = Job {
            slot,
            file,
            path,
            text,
        };
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = sender.as_ref() {
            // The receiver lives as long as the queue, so sending cannot fail.
            let _ = s.send(job);
        }
    }

    /// Marks the end of the dumps: [`Queue::drain`] returns once the queue is empty.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Parses dumps from the queue until it is closed and empty.
    pub fn drain(&self) -> Vec<Parsed> {
        let mut cache = RuleCache::new();
        let mut out = Vec::new();
        loop {
            let job = {
                let receiver = self.receiver.lock().unwrap_or_else(|e| e.into_inner());
                receiver.recv()
            };
            let Ok(job) = job else {
                return out;
            };
            let held = job.text.is_some();
            out.push(parse(job, &mut cache));
            if held {
                self.texts.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// Parses one job, reading its text again when it was not sent.
fn parse(job: Job, cache: &mut RuleCache) -> Parsed {
    let mut diags = Diagnostics::default();
    let text = match job.text {
        Some(t) => t,
        None => match std::fs::read_to_string(&job.path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic {
                    severity: Severity::Error,
                    code: "unreadable",
                    message: format!("{}: cannot read again: {e}", job.path.display()),
                    at: None,
                    expected: Some("a file that stays readable while it is loaded".into()),
                });
                return (job.slot, None, diags);
            }
        },
    };
    let dump = iptables::read_shared(job.file, &job.path, &text, cache, &mut diags);
    (job.slot, dump, diags)
}

/// The results of every draining thread, in slot order.
pub fn merge(a: Vec<Parsed>, b: Vec<Parsed>) -> Vec<(Option<IptablesDump>, Diagnostics)> {
    let mut all: Vec<Parsed> = a.into_iter().chain(b).collect();
    all.sort_by_key(|(slot, ..)| *slot);
    all.into_iter().map(|(_, dump, d)| (dump, d)).collect()
}
