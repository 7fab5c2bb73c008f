//! The current span, and carrying it across threads and async tasks.
//!
//! By default the current span lives in a thread-local slot. Nothing flows into new threads
//! or spawned tasks by itself (as in MLflow); carry it explicitly:
//!
//! ```
//! use clew::context::{Context, FutureExt};
//! let _root = clew::start_span("parent");
//! // Threads: capture now, run the closure inside it there.
//! let work = Context::current().wrap(|| {
//!     let _child = clew::start_span("in_thread"); // a child of "parent"
//! });
//! std::thread::spawn(work).join().unwrap();
//! // Async tasks: `fut.with_current_context()` before `tokio::spawn`.
//! let fut = async { let _child = clew::start_span("in_task"); }.with_current_context();
//! # drop(fut);
//! ```
//!
//! Another runtime (Python's `contextvars`, say) can own the slot instead: implement
//! [`ContextStorage`] and call [`set_context_storage`] once, before the first span.

use crate::span::LiveSpan;
use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::task::{Context as TaskContext, Poll};

/// Where the current span lives. The default is a thread-local slot.
pub trait ContextStorage: Send + Sync + 'static {
    /// The current span, if any. A no-op span here means "inside a span that is not
    /// recorded", so new spans are not recorded either.
    fn current(&self) -> Option<LiveSpan>;
    /// Makes `span` current and returns a token that restores the previous one.
    fn enter(&self, span: Option<LiveSpan>) -> EnterToken;
    /// Restores what was current before the matching `enter`.
    fn exit(&self, token: EnterToken);
}

/// Opaque token from [`ContextStorage::enter`]; the storage decides what it holds.
pub struct EnterToken(pub Box<dyn Any + Send>);

static CUSTOM_STORAGE: OnceLock<Box<dyn ContextStorage>> = OnceLock::new();
static HAS_CUSTOM_STORAGE: AtomicBool = AtomicBool::new(false);

/// Installs a custom storage for the current span. Works once, before spans are made;
/// returns `false` if a storage was already installed.
pub fn set_context_storage(storage: Box<dyn ContextStorage>) -> bool {
    let installed = CUSTOM_STORAGE.set(storage).is_ok();
    if installed {
        HAS_CUSTOM_STORAGE.store(true, Ordering::Release);
    }
    installed
}

thread_local! {
    static CURRENT: RefCell<Option<LiveSpan>> = const { RefCell::new(None) };
}

fn custom_storage() -> Option<&'static dyn ContextStorage> {
    if HAS_CUSTOM_STORAGE.load(Ordering::Acquire) {
        CUSTOM_STORAGE.get().map(|b| b.as_ref())
    } else {
        None
    }
}

/// The current span slot's value (a no-op span means "inside an unrecorded span").
pub(crate) fn current_slot() -> Option<LiveSpan> {
    match custom_storage() {
        Some(storage) => storage.current(),
        None => CURRENT.with(|c| c.borrow().clone()),
    }
}

/// Runs `f` on the current span slot without cloning the handle (no reference-count
/// traffic on the hot path).
#[inline]
pub(crate) fn with_current_slot<R>(f: impl FnOnce(Option<&LiveSpan>) -> R) -> R {
    match custom_storage() {
        Some(storage) => f(storage.current().as_ref()),
        None => CURRENT.with(|c| f(c.borrow().as_ref())),
    }
}

enum Restore {
    ThreadLocal(Option<LiveSpan>),
    Custom(EnterToken),
}

fn enter(span: Option<LiveSpan>) -> Restore {
    match custom_storage() {
        Some(storage) => Restore::Custom(storage.enter(span)),
        None => Restore::ThreadLocal(CURRENT.with(|c| c.replace(span))),
    }
}

fn exit(restore: Restore) {
    match restore {
        Restore::ThreadLocal(previous) => {
            // A slot that outlives thread-local teardown has nothing left to restore.
            let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
        }
        Restore::Custom(token) => {
            if let Some(storage) = custom_storage() {
                storage.exit(token)
            }
        }
    }
}

/// A captured current span, to carry into another thread or task.
#[derive(Clone, Default, Debug)]
pub struct Context {
    span: Option<LiveSpan>,
}

impl Context {
    /// Captures the current span.
    pub fn current() -> Context {
        Context { span: current_slot() }
    }
    /// A context whose current span is `span`.
    pub fn from_span(span: LiveSpan) -> Context {
        Context { span: Some(span) }
    }
    /// The captured span (recorded spans only).
    pub fn span(&self) -> Option<&LiveSpan> {
        self.span.as_ref().filter(|s| s.is_recording())
    }
    /// Makes this context current on this thread until the guard drops.
    pub fn attach(&self) -> ContextGuard {
        ContextGuard { restore: Some(enter(self.span.clone())), _not_send: PhantomData }
    }
    /// Runs `f` with this context current.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.attach();
        f()
    }
    /// Wraps a closure so it runs in this context wherever it is called (e.g. in a new thread).
    pub fn wrap<R, F: FnOnce() -> R>(self, f: F) -> impl FnOnce() -> R {
        move || self.run(f)
    }
}

/// Restores the previous current span when dropped. Not `Send`: it belongs to its thread.
#[must_use = "the context is current only while the guard lives"]
pub struct ContextGuard {
    restore: Option<Restore>,
    _not_send: PhantomData<*const ()>,
}

impl ContextGuard {
    pub(crate) fn enter_span(span: LiveSpan) -> ContextGuard {
        ContextGuard { restore: Some(enter(Some(span))), _not_send: PhantomData }
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(restore) = self.restore.take() {
            exit(restore);
        }
    }
}

/// A future that makes its context current each time it is polled, so spans stay correctly
/// nested across `.await` and task migration between threads.
#[must_use = "futures do nothing unless polled"]
pub struct WithContext<F> {
    inner: F,
    context: Context,
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: never moved out of `self`, and `WithContext`
        // has no Drop impl or Unpin impl that could move it.
        let this = unsafe { self.get_unchecked_mut() };
        let _guard = this.context.attach();
        unsafe { Pin::new_unchecked(&mut this.inner) }.poll(cx)
    }
}

/// Carrying context into futures.
pub trait FutureExt: Future + Sized {
    /// Runs this future with `context` current at every poll.
    fn in_context(self, context: Context) -> WithContext<Self> {
        WithContext { inner: self, context }
    }
    /// Captures the current span now and keeps it current inside the future: use it before
    /// `tokio::spawn`.
    fn with_current_context(self) -> WithContext<Self> {
        self.in_context(Context::current())
    }
    /// Runs this future with `span` as the current span.
    fn in_span(self, span: &LiveSpan) -> WithContext<Self> {
        self.in_context(Context::from_span(span.clone()))
    }
}

impl<F: Future> FutureExt for F {}
