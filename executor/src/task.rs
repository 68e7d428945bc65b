//! A task, as the loop stores it, and [`TaskSlab`], the one owner of that
//! state.
//!
//! ## The life of a task
//!
//! Each edge is numbered; the tests that check an edge name it (`E5`).
//!
//! ```text
//!        E1 spawn                      E2 the loop pops its id
//!   (nothing) ──────► Stored, queued ───────────────────────────► Polling
//!                              ▲                                     │
//!                              │ E4 waker.wake(): queued again       │ E3 poll → Pending
//!                              └──────────── Stored, waiting ◄───────┘
//!
//!   Polling ── E5 poll → Ready, or panics ─────────────► Finished(outcome)
//!   Stored  ── E6 abort() ─────────────────────────────► Finished(Cancelled)   future dropped now
//!   Polling ── E7 abort() of itself ───────────────────► Finished(Cancelled)   dropped after the poll
//!   Finished ── E8 its JoinHandle collects the outcome ─► (removed)
//!   Finished ── E9a its JoinHandle is dropped ─────────► (removed; a panic goes to the hook)
//!   not finished ── E9b its JoinHandle is dropped ─────► detached: it runs on
//!   detached, when it ends (by E5, E6 or E7) ── E10 ───► (removed at once; a panic goes to the hook)
//!   not finished ── E11 the loop is dropped ───────────► (removed); its JoinHandle reads LoopClosed
//! ```
//!
//! "Queued" and "waiting" are not stored as stages: both are
//! [`Stage::Stored`], told apart only by whether the task's id is in the
//! ready queue (its waker's `queued` flag, or, for a task with no waker of
//! its own, the flag in [`TaskWakers::Borrowing`]). So a task that woke itself during its poll (`yield_now`)
//! ends E3 queued, not waiting, and runs next turn. `Polling` is real: the
//! future is *out* of the slab, held by the loop on its stack, while the
//! poll runs (so that the task may spawn, wake or abort other tasks, which
//! borrow the slab, without conflict) and, briefly, while `abort` drops it
//! (E6).
//!
//! ## The fields of a task, and who writes them
//!
//! | field | written by | when |
//! |---|---|---|
//! | `generation` | [`TaskSlab::insert`] | once (E1); every lookup checks it, so an old [`TaskId`] of a reused slot finds nothing |
//! | `stage` | [`TaskSlab::start_poll`] (E2), [`TaskSlab::end_poll`] (E3, E7), [`TaskSlab::abort`] (E6, E7), [`TaskSlab::keep_outcome`] (E5–E7) | only by the loop thread, never while the future runs (it is out, see above) |
//! | detached or not (told by the `stage` variant) | [`TaskSlab::insert`] (E1: a remote task starts detached); [`TaskSlab::detach`] (E9b) | on the loop thread |
//! | `wakers` | [`TaskSlab::insert`] (none of its own: `Borrowing`); after each poll, [`TaskSlab::end_poll`] / [`TaskSlab::put_back_waker`] (the loan becomes the task's `Own` if the future kept a clone of it); [`TaskSlab::request_cancel`] (gives a waker-less task one of its own) | an `Own` waker goes back to the pool at [`TaskSlab::remove`] if no clone survives |
//!
//! A task's optional name, the waker of a `JoinHandle` awaiting it (written
//! by `Core::poll_join`, taken by the task's end, E5–E7, or by E9b), how
//! many times it was asked to cancel (soft cancellation,
//! `JoinHandle::cancel`), and, when the loop tracks tasks, its poll count
//! and spawn site live in the slab's side tables, not in `Task`: not every
//! task has any of them, and every byte of `Task` is paid per live task.

use crate::introspection::{TaskInfo, TaskRecord, TaskState};
use crate::message::Message;
use crate::outcome::{BoxFuture, Outcome};
use looplet_injector::Injector;
use looplet_waker::{TaskId, TaskWaker};
use slab::Slab;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{fence, Ordering::Acquire};
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

/// Finished tasks' wakers kept for reuse (see [`TaskSlab::remove`]).
const WAKER_POOL_MAX: usize = 1024;

/// The id the loan waker carries while no task borrows it: generation 0
/// names no task, so a wake of it would be ignored.
const NO_TASK: TaskId = TaskId::new(0, 0);

/// The fewest entries the slab grows by (see [`TaskSlab::insert`]).
const SLAB_MIN_GROWTH: usize = 64;

/// Where a task is in its life (see the module docs), and whether anyone
/// will collect its outcome.
///
/// "Detached" (its `JoinHandle` was dropped, E9b, or it is a remote task
/// that reports through its own `RemoteHandle`) is told by the variant,
/// not by a field of [`Task`] of its own: a flag beside the stage would
/// make every slab entry a word bigger, while inside the enum it costs
/// nothing (the tag has room). A detached task never reaches `Finished`:
/// it is removed as soon as it ends (E10).
pub(crate) enum Stage {
    /// Queued or waiting, its `JoinHandle` alive: the future is here.
    Stored(BoxFuture),
    /// Queued or waiting, detached: the future is here.
    StoredDetached(BoxFuture),
    /// The future is out of the slab, on the loop's stack: the loop is
    /// polling it right now, or (E6) `Core::abort` is dropping it.
    /// `abort_requested`: the task called `abort()` on itself during this
    /// poll; the loop drops the future as soon as the poll returns (E7).
    /// `detached`: as in `StoredDetached` (a task can be detached while
    /// it is being polled: it dropped its own `JoinHandle`).
    Polling {
        abort_requested: bool,
        detached: bool,
    },
    /// Done; the outcome waits for the `JoinHandle` to collect it.
    Finished(Outcome),
}

impl Stage {
    /// True if nobody will collect the task's outcome.
    pub fn is_detached(&self) -> bool {
        matches!(
            self,
            Stage::StoredDetached(_) | Stage::Polling { detached: true, .. }
        )
    }

    /// True once the task has an outcome.
    pub fn is_finished(&self) -> bool {
        matches!(self, Stage::Finished(_))
    }

    /// `Stored → Polling`: takes the future out of a stored task. The one
    /// place where a future leaves the slab.
    fn take_stored(&mut self) -> Option<BoxFuture> {
        let detached = match self {
            Stage::Stored(_) => false,
            Stage::StoredDetached(_) => true,
            _ => return None,
        };
        let polling = Stage::Polling {
            abort_requested: false,
            detached,
        };
        match std::mem::replace(self, polling) {
            Stage::Stored(future) | Stage::StoredDetached(future) => Some(future),
            _ => unreachable!("checked just above"),
        }
    }

    /// E9b: nobody will collect the outcome any more.
    fn detach(&mut self) {
        match self {
            Stage::Polling { detached, .. } => *detached = true,
            Stage::Stored(_) => {
                let placeholder = Stage::Polling {
                    abort_requested: false,
                    detached: true,
                };
                if let Stage::Stored(future) = std::mem::replace(self, placeholder) {
                    drop_polling(std::mem::replace(self, Stage::StoredDetached(future)));
                }
            }
            Stage::StoredDetached(_) | Stage::Finished(_) => {}
        }
    }
}

/// One slab entry (see the module docs for who writes each field). Every
/// byte here is paid by every live task, so what only some tasks have
/// lives in [`TaskSlab`]'s side tables instead.
pub(crate) struct Task {
    pub generation: u64,
    pub stage: Stage,
    pub wakers: TaskWakers,
}

/// A task's waker: one of its own, or none yet.
///
/// Most tasks never keep their waker: they finish in one poll, or wait on
/// nothing but `yield_now` (which wakes through the borrowed reference and
/// keeps nothing). So a task starts with no waker of its own, and each of
/// its polls *borrows* the slab's one loan waker, renamed for it
/// ([`TaskWaker::lend`]: three plain stores). After the poll the loan's
/// reference count says whether the future kept a clone (a timer, a
/// channel, a `JoinHandle` it awaits): if it did, the task keeps that waker
/// as its own from then on, and the slab takes a fresh loan; if it did not,
/// the loan serves the next poll of any task. A task with no waker of its
/// own costs no allocation, and its polls touch the same, hot waker.
pub(crate) enum TaskWakers {
    /// Someone kept a clone of a waker lent to this task: the task owns it.
    Own(WakerPair),
    /// No waker of its own. `queued`: its id is on the ready queue (the
    /// flag a waker would hold), so that a wake from the loop itself (a
    /// soft cancel) never queues it twice.
    Borrowing { queued: bool },
}

/// Which waker a poll was lent (see [`TaskSlab::start_poll`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lent {
    /// The task's own.
    Own,
    /// The slab's loan waker.
    Loan,
}

/// A task's waker, kept in the two forms the loop needs.
///
/// `task_waker` is the `Arc` the loop owns: it re-arms the `queued` flag
/// before each poll (`start_poll` for a task's own pair, `lend` for the
/// loan). `std_waker` is the same waker as a `std::task::Waker`, built once
/// with the pair. A pair is a task's own waker, or the slab's loan; when a
/// task that owned one ends, the pair goes to the pool if no clone of it
/// survived (see [`into_reusable`](Self::into_reusable)), to become a later
/// loan or a later task's own.
/// A poll *moves* `std_waker` out and lends it to the future by reference,
/// so polling costs no reference-count traffic (cloning and dropping a
/// `Waker` per poll are two atomic operations).
pub(crate) struct WakerPair {
    pub task_waker: Arc<TaskWaker<Message>>,
    pub std_waker: Waker,
}

impl WakerPair {
    pub fn new(task_waker: Arc<TaskWaker<Message>>) -> Self {
        let std_waker = Waker::from(Arc::clone(&task_waker));
        WakerPair {
            task_waker,
            std_waker,
        }
    }

    /// Lends the std waker out for one poll (see [`put_back`](Self::put_back)).
    pub fn take_for_poll(&mut self) -> Waker {
        self.task_waker.start_poll();
        self.take_std_waker()
    }

    /// Moves the std waker out (a placeholder stays), to lend it by reference.
    fn take_std_waker(&mut self) -> Waker {
        std::mem::replace(&mut self.std_waker, Waker::noop().clone())
    }

    /// Returns the waker lent by [`take_for_poll`](Self::take_for_poll).
    pub fn put_back(&mut self, waker: Waker) {
        self.std_waker = waker;
    }

    /// These wakers, for the pool, if no other reference to them exists
    /// any more (the task is over). Our two references — the
    /// `Arc` and the `std` waker built from it — are then the only ones: a
    /// count of 2 cannot be raised behind our back, since nobody else holds
    /// one to clone. Whoever gets them next can use them without any stale
    /// waker being able to wake it by mistake; keeping the pair (rather than
    /// dropping `std_waker` and building it again) saves two atomic
    /// operations per task.
    ///
    /// The count is read `Relaxed` (that is what `strong_count` does), so an
    /// `Acquire` fence follows, as in `Arc`'s own `drop`: another thread's
    /// last use of its clone (reading the id, swapping `queued`) is followed
    /// by its `Release` decrement, which this fence synchronises with; so
    /// that use happens before the renaming below and can never see it.
    #[inline]
    fn into_reusable(self) -> Option<WakerPair> {
        self.is_unshared().then_some(self)
    }

    /// True if no clone of this waker exists but our own two references
    /// (see [`into_reusable`](Self::into_reusable) for the count and the fence).
    #[inline]
    fn is_unshared(&self) -> bool {
        if Arc::strong_count(&self.task_waker) != 2 {
            return false;
        }
        fence(Acquire);
        true
    }
}

/// A task taken out of the slab: what the caller must still dispose of,
/// outside the slab's borrow (dropping a stage or a waker runs user code).
pub(crate) struct Removed {
    pub generation: u64,
    pub stage: Stage,
    /// The waker of a `JoinHandle` awaiting the task, if one was.
    pub join_waker: Option<Waker>,
    pub name: Option<Box<str>>,
}

impl Removed {
    /// The task's name for a report (see [`task_label`]).
    pub fn label(&self) -> String {
        task_label(self.generation, self.name.clone())
    }
}

/// The loop's tasks: a slab of [`Task`]s addressed by [`TaskId`], the names
/// of the named ones, the loan waker and the pool of wakers kept for reuse.
/// Every lookup by id goes through here, and so does every state change
/// that moves the future in or out; the methods never run user code (they
/// hand futures, outcomes and wakers back for the caller to drop).
pub(crate) struct TaskSlab {
    slab: Slab<Task>,
    /// The waker lent to the polls of tasks that have none of their own
    /// (see [`TaskWakers`]). Unshared whenever no poll holds it.
    loan: WakerPair,
    /// The task the loan is lent to right now, if a poll of a task without
    /// a waker of its own is running.
    lent_to: Option<TaskId>,
    /// What a new waker needs: the loop's id and its inbox.
    loop_id: u64,
    injector: Arc<Injector<Message>>,
    /// The generation last given out: 0 before the first task, so a
    /// `TaskId` of generation 0 never names a task.
    last_generation: u64,
    names: HashMap<u64, Box<str>>,
    /// The wakers of the `JoinHandle`s awaiting an unfinished task, by slot
    /// (dense, like the slab: no hashing). Most tasks are never awaited
    /// before they end, so this is not a field of every `Task`; an entry is
    /// cleared when its task finishes, is detached or is removed, so it
    /// always belongs to the slot's current task.
    join_wakers: Vec<Option<Waker>>,
    /// Soft-cancel requests, by generation, of the tasks that have any.
    cancel_requests: HashMap<u64, u32>,
    /// Poll counts and spawn sites, by generation: only while the loop
    /// tracks tasks (`Builder::track_tasks`, `slow_poll_threshold`).
    /// Indexed by slot (dense, like the slab: no hashing on the poll path);
    /// a record is its task's only while the generations match.
    records: Vec<Option<(u64, TaskRecord)>>,
    /// Either table above ever had an entry: until then a task's end skips
    /// both with one test (most loops never cancel or track anything).
    per_task_tables_used: bool,
    waker_pool: Vec<WakerPair>,
}

impl TaskSlab {
    /// An empty slab for the loop `loop_id`, whose inbox is `injector`.
    pub fn new(loop_id: u64, injector: Arc<Injector<Message>>) -> Self {
        let loan = WakerPair::new(TaskWaker::new(NO_TASK, loop_id, Arc::clone(&injector)));
        TaskSlab {
            slab: Slab::new(),
            loan,
            lent_to: None,
            loop_id,
            injector,
            last_generation: 0,
            names: HashMap::new(),
            join_wakers: Vec::new(),
            cancel_requests: HashMap::new(),
            records: Vec::new(),
            per_task_tables_used: false,
            waker_pool: Vec::new(),
        }
    }

    /// A waker pair nobody else holds: a pooled one, or a new one.
    fn unshared_pair(&mut self, id: TaskId) -> WakerPair {
        match self.waker_pool.pop() {
            Some(wakers) => {
                wakers.task_waker.recycle(id);
                wakers
            }
            None => WakerPair::new(TaskWaker::new(id, self.loop_id, Arc::clone(&self.injector))),
        }
    }

    /// Adds a task (E1), with no waker of its own yet (see [`TaskWakers`]).
    /// The caller queues the id: a new task starts queued.
    #[inline]
    pub fn insert(&mut self, future: BoxFuture, name: Option<Box<str>>, detached: bool) -> TaskId {
        self.last_generation += 1;
        let generation = self.last_generation;
        if self.slab.len() == self.slab.capacity() {
            // Full: grow by a quarter, not (as a `Vec` would) by double. A
            // slab that doubled could hold almost twice the entries its live
            // tasks need, and that slack is paid per live task; a quarter
            // bounds it at 1.25 entries per task, for a few more (amortised)
            // reallocations on the way up.
            let quarter = (self.slab.capacity() / 4).max(SLAB_MIN_GROWTH);
            self.slab.reserve_exact(quarter);
        }
        let entry = self.slab.vacant_entry();
        let slot = u32::try_from(entry.key()).expect("looplet: more than u32::MAX live tasks");
        let id = TaskId::new(slot, generation);
        let stage = if detached {
            Stage::StoredDetached(future)
        } else {
            Stage::Stored(future)
        };
        entry.insert(Task {
            generation,
            stage,
            wakers: TaskWakers::Borrowing { queued: true },
        });
        if let Some(name) = name {
            self.names.insert(generation, name);
        }
        id
    }

    /// The task `id` names, if it is still in the slab: the slot must hold
    /// a task *of that generation* (a stale id of a reused slot finds nothing).
    #[inline]
    pub fn get(&self, id: TaskId) -> Option<&Task> {
        self.slab
            .get(id.slot())
            .filter(|task| task.generation == id.generation())
    }

    /// [`get`](Self::get), mutably.
    #[inline]
    pub fn get_mut(&mut self, id: TaskId) -> Option<&mut Task> {
        self.slab
            .get_mut(id.slot())
            .filter(|task| task.generation == id.generation())
    }

    /// E2: takes the future and the waker out for a poll, leaving the task
    /// `Polling`. `None` if `id` is stale or the task is not `Stored` (it
    /// finished, or it is being polled already).
    #[inline]
    pub fn start_poll(&mut self, id: TaskId) -> Option<(BoxFuture, Waker, Lent)> {
        // Not `get_mut`: the task and the loan are borrowed side by side.
        let task = self
            .slab
            .get_mut(id.slot())
            .filter(|task| task.generation == id.generation())?;
        let future = task.stage.take_stored()?;
        // From here on, a wake (even one from inside this poll) queues the task again.
        match &mut task.wakers {
            TaskWakers::Own(wakers) => Some((future, wakers.take_for_poll(), Lent::Own)),
            TaskWakers::Borrowing { queued } => {
                *queued = false;
                self.loan.task_waker.lend(id);
                self.lent_to = Some(id);
                Some((future, self.loan.take_std_waker(), Lent::Loan))
            }
        }
    }

    /// Takes back the loan lent for a poll and says what the polled task
    /// keeps: nothing of its own (the loan serves the next poll), or the
    /// loan itself, if the future kept a clone of it — then the slab takes
    /// a fresh loan, so that a loan is only ever lent while nobody else
    /// holds it.
    #[inline(always)]
    fn take_back_loan(&mut self, waker: Waker) -> TaskWakers {
        self.lent_to = None;
        self.loan.put_back(waker);
        if self.loan.is_unshared() {
            // A wake during the poll (the task's own `wake_by_ref`, or a
            // clone's, made and dropped meanwhile) set the flag.
            return TaskWakers::Borrowing {
                queued: self.loan.task_waker.is_queued(),
            };
        }
        let fresh = self.unshared_pair(NO_TASK);
        TaskWakers::Own(std::mem::replace(&mut self.loan, fresh))
    }

    /// Takes back the waker lent for a poll of task `id` (E3, E5, E7), and
    /// hands back the task, found once for both. `None` if the task is gone
    /// (its poll ended it and dropped the loop): a clone of its waker that
    /// survives it names nobody, and is ignored.
    #[inline(always)]
    fn take_back(&mut self, id: TaskId, waker: Waker, lent: Lent) -> Option<&mut Task> {
        let returned = match lent {
            Lent::Loan => Ok(self.take_back_loan(waker)),
            Lent::Own => Err(waker),
        };
        let task = self.get_mut(id)?;
        match (returned, &mut task.wakers) {
            (Ok(kept), wakers) => *wakers = kept,
            (Err(waker), TaskWakers::Own(wakers)) => wakers.put_back(waker),
            (Err(_), TaskWakers::Borrowing { .. }) => {} // cannot happen: it was lent its own
        }
        Some(task)
    }

    /// Hard cancel: E6 hands back the future of a `Stored` task (now
    /// `Polling`, with no poll running, until the caller finishes it); E7
    /// marks a task that is being polled, which is aborting itself, and
    /// returns `None`. `None` also for a finished or stale task.
    pub fn abort(&mut self, id: TaskId) -> Option<BoxFuture> {
        let task = self.get_mut(id)?;
        if let Stage::Polling {
            abort_requested, ..
        } = &mut task.stage
        {
            *abort_requested = true;
            return None;
        }
        task.stage.take_stored()
    }

    /// Ends a poll that returned `Pending` (E3): puts the waker and the
    /// future back (`Polling → Stored`, detached or not as the task was
    /// when its poll began, or became during it), and the task waits for a
    /// wake. If the task aborted itself during the poll (E7), the future is
    /// handed back instead, for the caller to drop.
    #[inline]
    pub fn end_poll(
        &mut self,
        id: TaskId,
        waker: Waker,
        lent: Lent,
        future: BoxFuture,
    ) -> Option<BoxFuture> {
        let task = self
            .take_back(id, waker, lent)
            .expect("a task being polled stays in the slab");
        let stored = match task.stage {
            Stage::Polling {
                abort_requested: false,
                detached: false,
            } => Stage::Stored(future),
            Stage::Polling {
                abort_requested: false,
                detached: true,
            } => Stage::StoredDetached(future),
            _ => return Some(future),
        };
        drop_polling(std::mem::replace(&mut task.stage, stored));
        None
    }

    /// Takes back the waker lent for a poll that ended the task (E5).
    #[inline]
    pub fn put_back_waker(&mut self, id: TaskId, waker: Waker, lent: Lent) {
        self.take_back(id, waker, lent);
    }

    /// Registers `waker` as the one to wake when task `id` finishes (a
    /// `JoinHandle`'s poll); the waker it replaces, for the caller to drop
    /// outside the borrow. Nothing if the same waker is registered already.
    pub fn set_join_waker(&mut self, id: TaskId, waker: &Waker) -> Option<Waker> {
        let slot = id.slot();
        if self.join_wakers.len() <= slot {
            self.join_wakers.resize(slot + 1, None);
        }
        match &mut self.join_wakers[slot] {
            Some(current) if current.will_wake(waker) => None,
            entry => entry.replace(waker.clone()),
        }
    }

    /// Takes the waker of the `JoinHandle` awaiting the task in `slot`.
    #[inline]
    fn take_join_waker(&mut self, slot: usize) -> Option<Waker> {
        self.join_wakers.get_mut(slot).and_then(Option::take)
    }

    /// E5–E7 for a task with a `JoinHandle`: keeps the outcome for it and
    /// returns the waker of the handle awaiting it, if any, for the caller
    /// to wake.
    pub fn keep_outcome(&mut self, id: TaskId, outcome: Outcome) -> Option<Waker> {
        let task = self.get_mut(id).expect("the caller found the task");
        drop_polling(std::mem::replace(&mut task.stage, Stage::Finished(outcome)));
        self.take_join_waker(id.slot())
    }

    /// E9b: the `JoinHandle` of the unfinished task `id` was dropped; it
    /// runs on, detached. Hands back the handle's registered waker.
    pub fn detach(&mut self, id: TaskId) -> Option<Waker> {
        let task = self.get_mut(id)?;
        task.stage.detach();
        self.take_join_waker(id.slot())
    }

    /// Removes the task `id` (E8, E9a, E10, E11) and hands back what it held.
    /// A waker of its own goes to the pool if no clone of it survived, and
    /// its name is taken from the side table.
    // Always inlined: it is on the path of every task's end (collected or
    // detached), and as a call of its own it made spawning measurably slower.
    #[inline(always)]
    pub fn remove(&mut self, id: TaskId) -> Option<Removed> {
        self.get(id)?;
        let task = self.slab.remove(id.slot());
        if let TaskWakers::Own(wakers) = task.wakers {
            if let Some(wakers) = wakers.into_reusable() {
                if self.waker_pool.len() < WAKER_POOL_MAX {
                    self.waker_pool.push(wakers);
                }
            }
        }
        if self.per_task_tables_used {
            // `HashMap::remove` hashes its key even in an empty map.
            if !self.cancel_requests.is_empty() {
                self.cancel_requests.remove(&task.generation);
            }
            if let Some(record) = self.records.get_mut(id.slot()) {
                *record = None;
            }
        }
        Some(Removed {
            generation: task.generation,
            stage: task.stage,
            join_waker: self.take_join_waker(id.slot()),
            name: self.take_name(task.generation),
        })
    }

    /// Soft cancel: counts `requests` more requests to cancel task `id` and returns
    /// its waker, for the caller to wake (outside the borrow). `None` if the
    /// task finished or `id` is stale: there is nothing left to cancel.
    /// (The `Arc`, not the std waker: during the task's own poll that one is
    /// lent out, and a cancel made then must still queue the task again.)
    /// A task with no waker of its own is woken through the loan if this is
    /// its own poll, else it is given a waker of its own, marked queued or
    /// not as the task is, so that it is never queued twice.
    pub fn request_cancel(&mut self, id: TaskId, requests: u32) -> Option<Arc<TaskWaker<Message>>> {
        let lent_to_it = self.lent_to == Some(id);
        let task = self.get(id)?;
        if task.stage.is_finished() {
            return None;
        }
        let waker = match task.wakers {
            TaskWakers::Own(ref wakers) => Arc::clone(&wakers.task_waker),
            // Its poll is running with the loan: the loan is its waker now.
            TaskWakers::Borrowing { .. } if lent_to_it => Arc::clone(&self.loan.task_waker),
            // It gets a waker of its own, set as queued or not as it is.
            TaskWakers::Borrowing { queued } => {
                let wakers = self.unshared_pair(id);
                if !queued {
                    wakers.task_waker.start_poll(); // clears the flag
                }
                let waker = Arc::clone(&wakers.task_waker);
                self.get_mut(id).expect("found just above").wakers = TaskWakers::Own(wakers);
                waker
            }
        };
        self.per_task_tables_used = true;
        let count = self.cancel_requests.entry(id.generation()).or_insert(0);
        *count = count.saturating_add(requests);
        Some(waker)
    }

    /// How many times task `id` was asked to cancel (0 for a stale id).
    #[inline]
    pub fn cancel_requests(&self, id: TaskId) -> u32 {
        if self.cancel_requests.is_empty() {
            return 0; // the common case: nobody cancelled anything, no hashing
        }
        match self.get(id) {
            Some(_) => self
                .cancel_requests
                .get(&id.generation())
                .copied()
                .unwrap_or(0),
            None => 0,
        }
    }

    #[inline]
    fn take_name(&mut self, generation: u64) -> Option<Box<str>> {
        if self.names.is_empty() {
            return None; // the common case: no named task at all, no hashing
        }
        self.names.remove(&generation)
    }

    /// The name of task `generation` for a report, while it is still in
    /// the slab: its given name, or `task #N`.
    pub fn label(&self, generation: u64) -> String {
        task_label(generation, self.names.get(&generation).cloned())
    }

    /// Starts keeping a record of task `id` (tracking is on).
    pub fn track(&mut self, id: TaskId, spawned_at: Option<&'static Location<'static>>) {
        let record = TaskRecord {
            spawned_at,
            polls: 0,
            last_poll: None,
        };
        self.per_task_tables_used = true;
        if self.records.len() <= id.slot() {
            self.records.resize(id.slot() + 1, None);
        }
        self.records[id.slot()] = Some((id.generation(), record));
    }

    /// Counts a poll of task `id` that ended at `ended`; its record, if
    /// the task is tracked.
    pub fn note_poll(&mut self, id: TaskId, ended: Instant) -> Option<TaskRecord> {
        let (generation, record) = self.records.get_mut(id.slot())?.as_mut()?;
        if *generation != id.generation() {
            return None;
        }
        record.polls += 1;
        record.last_poll = Some(ended);
        Some(*record)
    }

    /// The record of the task in `slot` of `generation`, if tracked.
    fn record(&self, slot: usize, generation: u64) -> Option<&TaskRecord> {
        match self.records.get(slot)? {
            Some((tracked, record)) if *tracked == generation => Some(record),
            _ => None,
        }
    }

    /// Every task in the slab, as `EventLoop::tasks` shows it.
    pub fn infos(&self, now: Instant) -> Vec<TaskInfo> {
        self.slab
            .iter()
            .map(|(slot, task)| {
                let id = TaskId::new(slot as u32, task.generation);
                let queued = match &task.wakers {
                    TaskWakers::Own(wakers) => wakers.task_waker.is_queued(),
                    TaskWakers::Borrowing { queued } => *queued,
                };
                let state = match task.stage {
                    Stage::Finished(_) => TaskState::Finished,
                    _ if queued => TaskState::Queued,
                    _ => TaskState::Waiting,
                };
                let record = self.record(slot, task.generation);
                TaskInfo {
                    id,
                    name: self.names.get(&task.generation).map(|n| n.to_string()),
                    state,
                    polls: record.map_or(0, |r| r.polls),
                    since_last_poll: record
                        .and_then(|r| r.last_poll)
                        .map(|at| now.saturating_duration_since(at)),
                    spawned_at: record.and_then(|r| r.spawned_at),
                }
            })
            .collect()
    }

    /// How many tasks are in the slab (finished-uncollected ones included).
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// The ids of the tasks that have not finished, for the loop's teardown.
    pub fn unfinished(&self) -> Vec<TaskId> {
        self.slab
            .iter()
            .filter(|(_, task)| !matches!(task.stage, Stage::Finished(_)))
            .map(|(slot, task)| TaskId::new(slot as u32, task.generation))
            .collect()
    }
}

/// Disposes of a stage that a state change replaced, which is `Polling`:
/// by forgetting it, which drops nothing, since `Polling` holds nothing.
/// A plain assignment would run the enum's whole drop glue instead, a call
/// on every poll, because the compiler cannot see which variant the old
/// value is (matching it here did not help: measured in docs/08). Every
/// caller has just matched or written the `Polling` it replaces; the debug
/// assertion checks that in the tests.
#[inline(always)]
fn drop_polling(stage: Stage) {
    debug_assert!(
        matches!(stage, Stage::Polling { .. }),
        "replaced a non-Polling stage"
    );
    std::mem::forget(stage);
}

/// The name used in panic reports: the given name, or `task #N`. Built only
/// when something is reported (formatting allocates).
pub(crate) fn task_label(generation: u64, name: Option<Box<str>>) -> String {
    match name {
        Some(name) => name.into_string(),
        None => format!("task #{generation}"),
    }
}
