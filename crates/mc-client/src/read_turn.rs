//! Who reads a connection's next answer: its reader task, which hands answers to callers over
//! channels, or a caller alone on the connection, which reads its own (no task hop, no
//! channel). The reading state (socket half, buffer, decoder, deadline timer) passes between
//! them. A caller claims its turn while it queues its request, under the writing queue's
//! lock and only when no other answer is awaited, so no other caller's request can be
//! queued, and so answered, before its own; the reader task waits while a claim stands.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::answer_reader::AnswerReader;

/// Where the reading state is.
#[derive(Default)]
struct Turn {
    /// The state, when nobody is reading.
    answers: Option<AnswerReader>,
    /// A caller has claimed the next answer: the reader task waits until it is read.
    claimed: bool,
    /// The connection is stopped: nobody gets the state any more.
    stopped: bool,
}

/// The reading state and who may take it.
pub(crate) struct ReadTurn {
    /// Held only to take or put the state, never across a read.
    turn: Mutex<Turn>,
    /// Wakes the reader task when a caller gives the state back.
    to_task: Notify,
    /// Wakes the claiming caller when the reader task gives the state back.
    to_caller: Notify,
}

impl std::fmt::Debug for ReadTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadTurn").finish_non_exhaustive()
    }
}

impl ReadTurn {
    pub(crate) fn new(answers: AnswerReader) -> ReadTurn {
        ReadTurn {
            turn: Mutex::new(Turn {
                answers: Some(answers),
                ..Turn::default()
            }),
            to_task: Notify::new(),
            to_caller: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Turn> {
        // Nothing panics while the lock is held; a poisoned turn is still consistent.
        self.turn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claim the next answer for the caller queueing its request. Only under the writing
    /// queue's lock, with no other answer awaited.
    pub(crate) fn claim(&self) {
        self.lock().claimed = true;
    }

    /// The state for the claiming caller, once the reader task has given it back; none if the
    /// connection stopped first or `deadline` passed.
    pub(crate) async fn take_claimed(&self, deadline: Instant) -> Option<AnswerReader> {
        loop {
            let given_back = self.to_caller.notified();
            {
                let mut turn = self.lock();
                if turn.stopped {
                    return None;
                }
                if let Some(answers) = turn.answers.take() {
                    return Some(answers);
                }
            }
            tokio::time::timeout_at(deadline, given_back).await.ok()?;
        }
    }

    /// The claiming caller has read its answer: the state goes back, the claim ends, and the
    /// reader task may go on.
    pub(crate) fn give_back(&self, answers: AnswerReader) {
        {
            let mut turn = self.lock();
            turn.claimed = false;
            if !turn.stopped {
                turn.answers = Some(answers);
            }
        }
        self.to_task.notify_one();
    }

    /// The state for the reader task, once no caller has claimed or holds it; none once the
    /// connection is stopped.
    pub(crate) async fn take_for_task(&self) -> Option<AnswerReader> {
        loop {
            let given_back = self.to_task.notified();
            {
                let mut turn = self.lock();
                if turn.stopped {
                    return None;
                }
                if !turn.claimed {
                    if let Some(answers) = turn.answers.take() {
                        return Some(answers);
                    }
                }
            }
            given_back.await;
        }
    }

    /// The reader task has read an answer: the state goes back (to a caller that has claimed
    /// the next answer, if one has).
    pub(crate) fn put_from_task(&self, answers: AnswerReader) {
        let claimed = {
            let mut turn = self.lock();
            if turn.stopped {
                return;
            }
            turn.answers = Some(answers);
            turn.claimed
        };
        if claimed {
            self.to_caller.notify_one();
        }
    }

    /// The connection is stopped: the state (with the socket's reading half) is dropped now
    /// or when whoever holds it gives it back, and nobody waits for it any more.
    pub(crate) fn stop(&self) {
        let answers = {
            let mut turn = self.lock();
            turn.stopped = true;
            turn.answers.take()
        };
        drop(answers);
        self.to_task.notify_one();
        self.to_caller.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::answer_reader::ReadSocket;
    use crate::pipeline::deadline_after;

    /// A reading state over a connected loopback socket (nothing is read from it here).
    async fn answers() -> (AnswerReader, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let (read, _write) = client.into_split();
        let state = AnswerReader::new(
            ReadSocket::Tcp(read),
            addr.to_string(),
            Arc::new(AtomicBool::new(false)),
            1024,
        );
        (state, server)
    }

    /// Whether `future` completes within 50 ms.
    async fn completes<T>(future: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::time::timeout(Duration::from_millis(50), future)
            .await
            .ok()
    }

    #[tokio::test]
    async fn a_claimed_answer_is_read_by_its_caller_before_the_task_reads_on() {
        let (state, _server) = answers().await;
        let turn = ReadTurn::new(state);
        let held = completes(turn.take_for_task()).await.flatten();
        let held = held.expect("free at first: the task takes it");
        // A caller alone on the connection claims the next answer while the task still
        // holds the state (it has handed out the answer before, not yet given it back).
        turn.claim();
        turn.put_from_task(held);
        // A job queued after the claim: the task must not read its answer first.
        assert!(completes(turn.take_for_task()).await.is_none());
        let mine = completes(turn.take_claimed(deadline_after(Duration::from_secs(5))))
            .await
            .flatten()
            .expect("the claiming caller gets the state");
        turn.give_back(mine);
        assert!(completes(turn.take_for_task()).await.flatten().is_some());
    }

    #[tokio::test]
    async fn a_caller_waiting_for_its_turn_hears_the_connection_stop() {
        let (state, _server) = answers().await;
        let turn = Arc::new(ReadTurn::new(state));
        let _held_by_task = turn.take_for_task().await.expect("taken");
        turn.claim();
        let waiting = {
            let turn = turn.clone();
            tokio::spawn(async move {
                turn.take_claimed(deadline_after(Duration::from_secs(5)))
                    .await
                    .is_none()
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The task is aborted with the state: the caller must not wait for it.
        turn.stop();
        let heard = completes(waiting).await.expect("woken").expect("task");
        assert!(heard, "no state after a stop");
        assert!(completes(turn.take_for_task()).await.flatten().is_none());
    }
}
