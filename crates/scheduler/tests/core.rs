use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use omnitide_scheduler::core::CancelOutcome;
use omnitide_scheduler::wire::{self, TaskHeader};
use omnitide_scheduler::{channel, create, destroy, get, kernels};

fn batch(ids: impl IntoIterator<Item = u64>, prio: i32) -> Vec<u8> {
    let mut b = Vec::new();
    for id in ids {
        let payload = id.to_le_bytes();
        TaskHeader { id, len: 8, name: 7, priority: prio, flags: 0 }.write(&mut b);
        b.extend_from_slice(&payload);
    }
    b
}

const PARK: Duration = Duration::from_millis(20);

#[test]
fn submit_take_complete_drain_roundtrip() {
    let c = create(2).unwrap();
    assert_eq!(c.submit(batch(1..=3, 0)).unwrap(), 3);
    let packed = c.take_packed(0, 10, PARK).unwrap();
    let tasks = wire::parse_tasks("t", &packed).unwrap();
    // capped at queued/threads = 1 so the other worker gets work too
    assert_eq!(tasks.len(), 1);
    let (h, r) = &tasks[0];
    assert_eq!(h.name, 7);
    assert_eq!(&packed[r.clone()], &h.id.to_le_bytes());
    let mut done = Vec::new();
    wire::write_completion(&mut done, h.id, 0, b"ok");
    assert!(c.complete(0, &done, 1000).unwrap(), "first batch wakes the main thread");
    assert!(!c.complete(0, &[], 0).unwrap(), "second batch before drain does not");
    let d = c.drain();
    assert_eq!(wire::completion_ids("d", &d).unwrap(), vec![h.id]);
    let s = c.stats();
    assert_eq!(s.slots[0].executed, 1);
    assert_eq!(s.slots[0].busy_ns, 1000);
    assert_eq!(s.queued, 2);
    destroy(c.id);
}

#[test]
fn high_priority_first() {
    let c = create(1).unwrap();
    c.submit(batch(1..=3, -1)).unwrap();
    c.submit(batch(10..=12, 0)).unwrap();
    c.submit(batch(20..=21, 5)).unwrap();
    let mut order = Vec::new();
    loop {
        let t = c.take(0, 1, Duration::ZERO).unwrap();
        if t.is_empty() {
            break;
        }
        order.push(t[0].id());
    }
    assert_eq!(&order[..2], &[20, 21]);
    assert_eq!(&order[2..5].iter().copied().collect::<HashSet<_>>(), &[10, 11, 12].into());
    assert_eq!(&order[5..].iter().copied().collect::<HashSet<_>>(), &[1, 2, 3].into());
    destroy(c.id);
}

#[test]
fn cancelled_queued_task_is_skipped_and_running_reports_slot() {
    let c = create(1).unwrap();
    c.submit(batch(1..=3, 0)).unwrap();
    assert_eq!(c.cancel(2), CancelOutcome::Queued);
    let t = c.take(0, 10, PARK).unwrap();
    let ids: Vec<u64> = t.iter().map(|t| t.id()).collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&2));
    assert_eq!(c.cancel(1), CancelOutcome::Running(0));
    destroy(c.id);
}

#[test]
fn lost_worker_requeues_all_but_culprit() {
    let c = create(2).unwrap();
    c.submit(batch(1..=8, 0)).unwrap();
    let t = c.take(0, 4, PARK).unwrap();
    let ids: Vec<u64> = t.iter().map(|t| t.id()).collect();
    assert_eq!(ids.len(), 4);
    let culprit = ids[1];
    let requeued = c.worker_lost(0, Some(culprit)).unwrap();
    assert_eq!(requeued.len(), 3);
    assert!(!requeued.contains(&culprit));
    assert!(c.inflight(0).unwrap().is_empty());
    // every task except the culprit is still obtainable
    let mut seen = HashSet::new();
    loop {
        let t = c.take(1, 100, Duration::ZERO).unwrap();
        if t.is_empty() {
            break;
        }
        seen.extend(t.iter().map(|t| t.id()));
    }
    let expect: HashSet<u64> = (1..=8).filter(|i| *i != culprit).collect();
    assert_eq!(seen, expect);
    assert_eq!(c.stats().slots[0].replaced, 1);
    destroy(c.id);
}

#[test]
fn parked_worker_wakes_on_submit_and_on_close() {
    let c = create(2).unwrap();
    let c2 = c.clone();
    let h = thread::spawn(move || c2.take(0, 1, Duration::from_secs(10)).map(|t| t.len()));
    thread::sleep(Duration::from_millis(30));
    c.submit(batch([1], 0)).unwrap();
    assert_eq!(h.join().unwrap().unwrap(), 1);

    let c3 = get(c.id).unwrap();
    let h = thread::spawn(move || c3.take(1, 1, Duration::from_secs(10)).map(|t| t.len()));
    thread::sleep(Duration::from_millis(30));
    destroy(c.id);
    let err = h.join().unwrap().unwrap_err();
    assert_eq!(err.code, "ERR_OMNI_CLOSED");
    assert!(get(c.id).is_err());
    assert_eq!(c.submit(batch([2], 0)).unwrap_err().code, "ERR_OMNI_CLOSED");
}

#[test]
fn take_times_out_empty() {
    let c = create(1).unwrap();
    assert!(c.take(0, 4, Duration::from_millis(5)).unwrap().is_empty());
    destroy(c.id);
}

#[test]
fn many_threads_execute_every_task_once_with_stealing() {
    let threads = 4;
    let c = create(threads).unwrap();
    let n = 20_000u64;
    let executed = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for slot in 0..threads {
        let c = c.clone();
        let executed = executed.clone();
        hs.push(thread::spawn(move || {
            let mut seen = Vec::new();
            loop {
                match c.take(slot, 64, Duration::from_millis(50)) {
                    Ok(ts) if ts.is_empty() => {
                        if executed.load(Ordering::SeqCst) as u64 >= n {
                            break;
                        }
                    }
                    Ok(ts) => {
                        let mut done = Vec::new();
                        for t in &ts {
                            // uneven work so stealing happens
                            if t.id() % 97 == 0 {
                                thread::sleep(Duration::from_micros(200));
                            }
                            wire::write_completion(&mut done, t.id(), 0, t.payload());
                            seen.push(t.id());
                        }
                        c.complete(slot, &done, 1).unwrap();
                        executed.fetch_add(ts.len(), Ordering::SeqCst);
                    }
                    Err(_) => break,
                }
            }
            seen
        }));
    }
    for chunk in (1..=n).collect::<Vec<_>>().chunks(1000) {
        c.submit(batch(chunk.iter().copied(), 0)).unwrap();
    }
    let mut all = Vec::new();
    for h in hs {
        all.extend(h.join().unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=n).collect::<Vec<_>>());
    let d = c.drain();
    assert_eq!(wire::completion_ids("d", &d).unwrap().len() as u64, n);
    let s = c.stats();
    assert_eq!(s.slots.iter().map(|s| s.executed).sum::<u64>(), n);
    assert_eq!(s.queued, 0);
    destroy(c.id);
}

#[test]
fn spawned_local_tasks_are_stolen_by_idle_workers() {
    let c = create(2).unwrap();
    for id in 1..=64 {
        let mut h = TaskHeader { id, len: 0, name: 0, priority: 0, flags: 0 };
        h.len = 0;
        c.push(omnitide_scheduler::TaskRec::new(h, vec![]), Some(0)).unwrap();
    }
    let t = c.take(1, 8, PARK).unwrap();
    assert!(!t.is_empty());
    assert!(c.stats().slots[1].stolen >= t.len() as u64);
    destroy(c.id);
}

#[test]
fn malformed_batches_name_the_argument() {
    let c = create(1).unwrap();
    let mut b = batch([1], 0);
    b.truncate(b.len() - 1);
    let e = c.submit(b).unwrap_err();
    assert_eq!(e.code, "ERR_OMNI_INVALID_ARGUMENT");
    assert!(e.message.starts_with("tasks:"), "{}", e.message);
    assert!(c.complete(0, &[1, 2, 3], 0).unwrap_err().message.starts_with("completions:"));
    assert!(c.take(5, 1, PARK).unwrap_err().message.starts_with("slot:"));
    assert_eq!(create(0).unwrap_err().code, "ERR_OMNI_INVALID_ARGUMENT");
    destroy(c.id);
}

#[test]
fn channel_backpressure_and_close() {
    let ch = channel::create(2).unwrap();
    assert!(ch.send(vec![1], Duration::ZERO).unwrap());
    assert!(ch.send(vec![2], Duration::ZERO).unwrap());
    assert!(!ch.send(vec![3], Duration::from_millis(5)).unwrap(), "full channel times out");
    let ch2 = channel::get(ch.id).unwrap();
    let h = thread::spawn(move || ch2.send(vec![3], Duration::from_secs(5)).unwrap());
    thread::sleep(Duration::from_millis(20));
    assert_eq!(ch.recv(Duration::ZERO).unwrap(), Some(vec![1]));
    assert!(h.join().unwrap(), "blocked sender proceeds once there is room");
    ch.close();
    assert_eq!(ch.send(vec![9], Duration::ZERO).unwrap_err().code, "ERR_OMNI_CLOSED");
    assert_eq!(ch.recv(Duration::ZERO).unwrap(), Some(vec![2]));
    assert_eq!(ch.recv(Duration::ZERO).unwrap(), Some(vec![3]));
    assert_eq!(ch.recv(Duration::ZERO).unwrap_err().code, "ERR_OMNI_CLOSED");
    assert!(channel::get(ch.id).is_err());
    assert!(channel::create(0).is_err());
}

#[test]
fn native_kernels_hash_files_and_noop() {
    let c = create(2).unwrap();
    let dir = std::env::temp_dir().join(format!("omni-sched-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    for i in 0..10 {
        let p = dir.join(format!("f{i}"));
        std::fs::write(&p, format!("file {i}")).unwrap();
        paths.push(p);
    }
    paths.push(dir.join("missing"));
    let r = kernels::hash_files(&c, &paths);
    for (i, h) in r.iter().take(10).enumerate() {
        let expect = omnitide_crypto::blake3::hash(format!("file {i}").as_bytes(), None, 32).unwrap();
        assert_eq!(h.as_ref().unwrap(), &expect);
    }
    assert_eq!(r[10].as_ref().unwrap_err().code, "ERR_OMNI_IO");
    assert_eq!(kernels::noop(&c, 10_000), 10_000);
    std::fs::remove_dir_all(&dir).unwrap();
    destroy(c.id);
}

#[test]
fn released_tasks_become_stealable() {
    let c = create(2).unwrap();
    c.submit(batch(1..=6, 0)).unwrap();
    let t = c.take(0, 3, PARK).unwrap();
    assert_eq!(t.len(), 3);
    let rest: Vec<u64> = t[1..].iter().map(|t| t.id()).collect();
    assert_eq!(c.release(0, &rest).unwrap(), 2);
    assert_eq!(c.release(0, &[999]).unwrap(), 0, "unknown ids are ignored");
    assert_eq!(c.inflight(0).unwrap(), vec![t[0].id()]);
    let mut seen = HashSet::new();
    loop {
        let got = c.take(1, 100, Duration::ZERO).unwrap();
        if got.is_empty() {
            break;
        }
        seen.extend(got.iter().map(|t| t.id()));
    }
    let expect: HashSet<u64> = (1..=6).filter(|i| *i != t[0].id()).collect();
    assert_eq!(seen, expect);
    assert_eq!(c.idle_workers(), 0);
    destroy(c.id);
}

#[test]
fn task_ids_must_be_safe_integers() {
    assert_eq!(wire::id_from_f64("taskId", 42.0).unwrap(), 42);
    for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 2f64.powi(60)] {
        let e = wire::id_from_f64("taskId", bad).unwrap_err();
        assert!(e.message.starts_with("taskId:"), "{}", e.message);
    }
}

#[test]
fn subtask_results_go_back_to_the_spawning_slot_and_can_be_stolen() {
    use omnitide_scheduler::core::{CHILD_ID_BASE, STATUS_WORKER_LOST};
    let c = create(2).unwrap();
    let a = c.spawn(0, 9, 3, 0, b"x".to_vec()).unwrap();
    let b = c.spawn(0, 9, 3, 0, b"y".to_vec()).unwrap();
    assert!(a >= CHILD_ID_BASE && b == a + 1);
    assert_eq!(c.stats().slots[0].queued, 2);
    // slot 1 steals one of slot 0's subtasks
    let got = c.take(1, 1, PARK).unwrap();
    assert_eq!(got.len(), 1);
    assert!(c.stats().slots[1].stolen >= 1);
    let id = got[0].id();
    let mut done = Vec::new();
    wire::write_completion(&mut done, id, 0, b"r");
    wire::write_completion(&mut done, 77, 0, b"main");
    assert!(c.complete(1, &done, 0).unwrap());
    // the main thread only sees its own task
    assert_eq!(wire::completion_ids("d", &c.drain()).unwrap(), vec![77]);
    // slot 1 takes the other subtask too (from its own deque or slot 0's)
    let other = if id == a { b } else { a };
    let t = c.take(1, 1, PARK).unwrap();
    assert_eq!(t[0].id(), other);
    // nothing queued: slot 0's take returns at once (empty) because a subtask result waits
    let t0 = std::time::Instant::now();
    assert!(c.take(0, 1, Duration::from_secs(5)).unwrap().is_empty());
    assert!(t0.elapsed() < Duration::from_secs(5));
    let r = c.child_results(0).unwrap();
    assert_eq!(wire::completion_ids("r", &r).unwrap(), vec![id]);
    assert!(c.child_results(0).unwrap().is_empty());
    // slot 1 dies while running the other subtask: it fails towards its spawner
    assert!(c.worker_lost(1, Some(other)).unwrap().is_empty());
    let r = c.child_results(0).unwrap();
    assert_eq!(wire::completion_ids("r", &r).unwrap(), vec![other]);
    assert_eq!(r[12], STATUS_WORKER_LOST);
    // a subtask run nested on its spawner's worker: its crash fails the spawner chain, not requeued
    c.submit(batch([500], 0)).unwrap();
    let root = c.take(0, 1, PARK).unwrap();
    assert_eq!(root[0].id(), 500);
    let k1 = c.spawn(0, 500, 3, 0, vec![]).unwrap();
    assert_eq!(c.take(0, 1, PARK).unwrap()[0].id(), k1);
    let k2 = c.spawn(0, k1, 3, 0, vec![]).unwrap();
    assert_eq!(c.take(0, 1, PARK).unwrap()[0].id(), k2);
    let lost = c.lose_worker(0, Some(k2)).unwrap();
    assert_eq!(lost.failed, Some(500));
    assert!(lost.requeued.is_empty());
    assert_eq!(c.stats().queued, 0);
    // a queued subtask that is cancelled is skipped
    let q = c.spawn(0, 9, 3, 0, vec![]).unwrap();
    assert_eq!(c.cancel(q), CancelOutcome::Queued);
    assert!(c.take(0, 4, PARK).unwrap().is_empty());
    destroy(c.id);
}

#[test]
fn parked_take_wakes_when_a_subtask_result_arrives() {
    let c = create(2).unwrap();
    let id = c.spawn(0, 9, 1, 0, vec![]).unwrap();
    let t = c.take(1, 1, PARK).unwrap();
    assert_eq!(t[0].id(), id);
    let c2 = c.clone();
    let h = thread::spawn(move || {
        let start = std::time::Instant::now();
        let r = c2.take(0, 1, Duration::from_secs(10)).unwrap();
        (r.len(), start.elapsed())
    });
    thread::sleep(Duration::from_millis(50));
    let mut done = Vec::new();
    wire::write_completion(&mut done, id, 0, b"");
    c.complete(1, &done, 0).unwrap();
    let (n, waited) = h.join().unwrap();
    assert_eq!(n, 0);
    assert!(waited < Duration::from_secs(10), "woken by the result, not the park timeout");
    destroy(c.id);
}

#[test]
fn discard_queued_empties_every_queue_and_the_count() {
    let c = create(2).unwrap();
    c.submit(batch(1..=5, 0)).unwrap();
    c.submit(batch(6..=7, 1)).unwrap();
    assert_eq!(c.stats().queued, 7);
    assert_eq!(c.discard_queued(), 7);
    assert_eq!(c.stats().queued, 0);
    assert!(c.grab(0, 10).unwrap().is_empty());
    destroy(c.id);
}
