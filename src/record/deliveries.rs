//! What became of a delivery attempt, recorded: done, a retry, or given
//! up, with its ledger leaf for an outcome, and for a delivery given up an
//! `alert-failed` event routed to the other channels. Written through the
//! writer thread, each result atomically on its own (see
//! [`finish_deliveries`]).

use std::sync::Arc;

use serde_json::Map;
use tokio::sync::oneshot;

use super::{FiledAgainst, file_event};
use crate::clock;
use crate::detect::notices;
use crate::routing::Route;
use crate::store::{BatchedWrite, DeliveryState, Finish, Result, StoreHandle, Writes};

/// Sends the results of delivery attempts to the writer thread, each
/// committed with the other writes waiting at the same time and rolled back
/// alone if it fails; the returned future resolves, with one result per
/// delivery, once they are committed (or failed). A delivery whose result
/// is not recorded stays pending and is sent again (delivery is
/// at-least-once). `claimer` is the sender that claimed them: a result is
/// recorded only while the delivery is still its own (no other sender took
/// it over after its lease ran out) or unclaimed. A delivery that fails for
/// good raises an `alert-failed` event, enqueued on the other channels by
/// `routes` (unless it was itself about a failed delivery).
pub fn finish_deliveries(
    store: &StoreHandle,
    finishes: Vec<(String, Finish)>,
    claimer: Arc<str>,
    routes: Arc<[Route]>,
) -> impl Future<Output = Vec<Result<()>>> + Send + 'static {
    let answers: Vec<_> = finishes
        .into_iter()
        .map(|(id, finish)| {
            let (reply, answer) = oneshot::channel();
            store.write(Box::new(FinishWrite {
                id,
                finish,
                claimer: Arc::clone(&claimer),
                routes: Arc::clone(&routes),
                reply,
            }));
            answer
        })
        .collect();
    async move {
        let mut results = Vec::with_capacity(answers.len());
        for answer in answers {
            results.push(
                answer
                    .await
                    .expect("the store writer thread settles every write"),
            );
        }
        results
    }
}

/// One delivery's result queued on the writer thread.
struct FinishWrite {
    id: String,
    finish: Finish,
    claimer: Arc<str>,
    routes: Arc<[Route]>,
    reply: oneshot::Sender<Result<()>>,
}

impl BatchedWrite for FinishWrite {
    fn write(&mut self, w: &mut Writes<'_>) -> Result<()> {
        let now = clock::format(clock::now());
        finish_one(w, &self.id, &self.finish, &self.claimer, &self.routes, &now)
    }

    fn settle(self: Box<Self>, written: Result<()>) {
        // The caller may have gone away (shutdown); the write still happened.
        let _ = self.reply.send(written);
    }
}

/// Records the result of one delivery attempt (see [`finish_deliveries`]).
fn finish_one(
    w: &mut Writes<'_>,
    id: &str,
    finish: &Finish,
    claimer: &str,
    routes: &[Route],
    now: &str,
) -> Result<()> {
    let Some(delivery) = w.finish_delivery(id, finish, claimer, now)? else {
        tracing::warn!(
            delivery = %id,
            "the delivery is no longer this sender's to finish (another sender claimed it after the lease ran out, or it is already finished): its result is not recorded"
        );
        return Ok(());
    };
    // A retry is not an outcome; a delivery done or given up is one,
    // and a leaf of the ledger.
    if delivery.state == DeliveryState::Pending {
        return Ok(());
    }
    let error = finish.error();
    let leaf = crate::ledger::delivery_leaf(
        &crate::ledger::DeliveryLeaf {
            delivery_id: id,
            channel: &delivery.channel,
            state: delivery.state.as_str(),
            attempts: delivery.attempts,
            event_id: delivery.event_id,
            record_id: delivery.record_id,
            source: &delivery.source,
            error,
        },
        now,
    );
    w.append_leaf(leaf)?;

    if let Finish::Failed { error } = finish
        && let Some(draft) = notices::alert_failed(
            id,
            delivery.kind,
            delivery.event_id,
            &delivery.channel,
            delivery.attempts,
            error,
        )
    {
        let against = FiledAgainst {
            record_id: delivery.record_id,
            source: &delivery.source,
            at: now,
        };
        file_event(
            w,
            against,
            &draft,
            Map::new(),
            routes,
            Some(&delivery.channel),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Three messages' results, queued behind a busy writer so that they
    /// are written as one batch, each go back to their own caller, and the
    /// delivery the database refuses fails alone.
    #[tokio::test]
    async fn delivery_results_queued_together_are_each_answered_with_their_own() {
        let store = Store::open_in_memory().unwrap();
        store
            .test_conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO events (id, record_id, source, kind, detected_at, summary)
                     VALUES (1, 1, 'a', 'content', '2026-11-29T00:00:00.000Z', 'changed');
                 INSERT INTO outbox (id, event_id, channel, created_at, next_attempt_at) VALUES
                     ('d1', 1, 'log', 't', 't'), ('d2', 1, 'hook', 't', 't'),
                     ('d3', 1, 'mail', 't', 't'), ('d4', 1, 'chat', 't', 't');
                 CREATE TRIGGER refuse AFTER UPDATE ON outbox WHEN NEW.id = 'd2'
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            )
            .unwrap();
        let (handle, thread) = StoreHandle::spawn(store);

        // Hold the writer until every message's results are queued.
        let (started, writer_busy) = oneshot::channel();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let holding = tokio::spawn({
            let handle = handle.clone();
            async move {
                handle
                    .call(move |_| {
                        started.send(()).unwrap();
                        gate.recv().unwrap();
                    })
                    .await
            }
        });
        writer_busy.await.unwrap();
        let routes: Arc<[Route]> = Arc::from(Vec::new());
        let me: Arc<str> = Arc::from("me");
        let finish = |ids: &[&str]| {
            let finishes = ids.iter().map(|id| (id.to_string(), Finish::Done));
            finish_deliveries(
                &handle,
                finishes.collect(),
                Arc::clone(&me),
                Arc::clone(&routes),
            )
        };
        let (first, second, third) = (finish(&["d1"]), finish(&["d2"]), finish(&["d3", "d4"]));
        release.send(()).unwrap();
        holding.await.unwrap();

        let answers = [first.await, second.await, third.await];
        let ok: Vec<Vec<bool>> = answers
            .iter()
            .map(|results| results.iter().map(Result::is_ok).collect())
            .collect();
        assert_eq!(ok, [vec![true], vec![false], vec![true, true]]);
        assert!(
            format!("{:?}", answers[1][0]).contains("refused by the test"),
            "{answers:?}"
        );

        let reader = handle
            .call(|store| {
                store
                    .test_conn()
                    .prepare("SELECT id, state FROM outbox ORDER BY id")
                    .unwrap()
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                    .unwrap()
                    .collect::<rusqlite::Result<Vec<(String, String)>>>()
                    .unwrap()
            })
            .await;
        assert_eq!(
            reader,
            [
                ("d1".into(), "done".into()),
                ("d2".into(), "pending".into()),
                ("d3".into(), "done".into()),
                ("d4".into(), "done".into())
            ]
        );
        drop(handle);
        thread.join().unwrap();
    }

    /// Attempts and delivery results queued together are written in one
    /// batch; when one result is refused, the batch is written again item
    /// by item, and each attempt is still recorded once, in its place in
    /// the chain, and answered with its own record.
    #[tokio::test]
    async fn attempts_and_results_in_one_batch_survive_a_refused_result() {
        let store = Store::open_in_memory().unwrap();
        store
            .test_conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO events (id, record_id, source, kind, detected_at, summary)
                     VALUES (1000, 1, 'a', 'content', '2026-11-29T00:00:00.000Z', 'changed');
                 INSERT INTO outbox (id, event_id, channel, created_at, next_attempt_at) VALUES
                     ('d1', 1000, 'hook', 't', 't');
                 CREATE TRIGGER refuse AFTER UPDATE ON outbox WHEN NEW.id = 'd1'
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            )
            .unwrap();
        let (handle, thread) = StoreHandle::spawn(store);
        let (started, writer_busy) = oneshot::channel();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let holding = tokio::spawn({
            let handle = handle.clone();
            async move {
                handle
                    .call(move |_| {
                        started.send(()).unwrap();
                        gate.recv().unwrap();
                    })
                    .await
            }
        });
        writer_busy.await.unwrap();
        let first = crate::record::submit(&handle, crate::record::tests::attempt("a", b"one"));
        let refused = finish_deliveries(
            &handle,
            vec![("d1".to_string(), Finish::Done)],
            Arc::from("me"),
            Arc::from(Vec::new()),
        );
        let second = crate::record::submit(&handle, crate::record::tests::attempt("b", b"two"));
        release.send(()).unwrap();
        holding.await.unwrap();

        let (first, refused, second) = (first.await.unwrap(), refused.await, second.await.unwrap());
        assert!(
            format!("{:?}", refused[0]).contains("refused by the test"),
            "{refused:?}"
        );
        assert_eq!((first.record_id, second.record_id), (1, 2));
        let (records, findings) = handle
            .call(|store| {
                let records: i64 = store
                    .test_conn()
                    .query_row("SELECT COUNT(*) FROM records", [], |row| row.get(0))
                    .unwrap();
                (records, store.verify_chain().unwrap())
            })
            .await;
        assert_eq!(records, 2);
        assert!(findings.is_empty(), "{findings:?}");
        drop(handle);
        thread.join().unwrap();
    }
}
