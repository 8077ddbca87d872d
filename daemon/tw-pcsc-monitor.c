/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The one thread that talks to pcscd. It blocks in SCardGetStatusChange()
 * with an infinite timeout, the PnP pseudo-reader included so that reader
 * hot-plug wakes it too, and hands a snapshot of every reader's state to the
 * main loop after each wake-up: nothing is polled, and the engine works out
 * what happened from the snapshots (see tw-card-events.c).
 *
 * pcsc-lite wants one context per thread; the main loop only ever uses this
 * thread's context for SCardCancel(), as pcsc-lite documents. A cancel sent
 * while nobody waits is lost (pcsc-lite 1.9.9 checks a 'cancellable' flag),
 * so whoever wants the thread to wake repeats the cancel until it is seen.
 *
 * When pcscd is absent or goes away the thread reports "unavailable" once and
 * retries with a backoff of 0.1 s doubling up to 2 s: never more than 2 s
 * after pcscd is back, never a busy loop.
 */
#define G_LOG_DOMAIN "TwPcsc"

#include "config.h"

#include <PCSC/winscard.h>
#include <string.h>

#include "tw-pcsc-monitor.h"

#define TW_PCSC_PNP_READER	  "\\\\?PnP?\\Notification"
#define TW_PCSC_BACKOFF_MIN_MS	  100
#define TW_PCSC_BACKOFF_MAX_MS	  2000
#define TW_PCSC_STOP_TIMEOUT_US	  (3 * G_USEC_PER_SEC)
#define TW_PCSC_RESYNC_TIMEOUT_US (2 * G_USEC_PER_SEC)
#define TW_PCSC_CANCEL_RETRY_US	  (50 * 1000)
#define TW_PCSC_RELIST_ATTEMPTS	  5

struct _TwPcscMonitor {
	GObject parent_instance;
	GMainContext *main_ctx;
	GThread *thread;
	gboolean delivering; /* main thread only: snapshots are passed on */

	GMutex lock; /* protects everything below */
	GCond cond;
	gboolean stopping;
	gboolean resync;       /* a full re-read was asked for, not yet taken */
	gboolean resync_task;  /* a task is busy waking the worker for it */
	gboolean exited;       /* the worker returned */
	gboolean has_ctx;      /* wait_ctx is established */
	SCARDCONTEXT wait_ctx; /* the worker's context, for SCardCancel() */
	gboolean waiting;      /* the worker is in SCardGetStatusChange(INFINITE) */
	gint64 busy_since;     /* monotonic µs the worker last woke; 0 while it waits */
};

G_DEFINE_TYPE(TwPcscMonitor, tw_pcsc_monitor, G_TYPE_OBJECT)

enum { SIGNAL_SNAPSHOT, N_SIGNALS };
static guint signals[N_SIGNALS] = {0};

/* The worker's view of the readers: names[i] backs rs[i].szReader; rs has
 * names->len entries plus the PnP pseudo-reader at the end. */
typedef struct {
	GPtrArray *names;
	SCARD_READERSTATE *rs;
	DWORD n_readers;
} TwPcscWatch;

typedef struct {
	TwPcscMonitor *self;
	gboolean available;
	GPtrArray *states; /* of TwPcscReaderState */
} TwPcscSnapshot;

static void
tw_pcsc_reader_state_free(TwPcscReaderState *state)
{
	g_free(state->name);
	g_free(state);
}

static void
tw_pcsc_snapshot_free(TwPcscSnapshot *snap)
{
	g_object_unref(snap->self);
	g_ptr_array_unref(snap->states);
	g_free(snap);
}

static gboolean
tw_pcsc_monitor_deliver_cb(gpointer user_data)
{
	TwPcscSnapshot *snap = user_data;

	if (snap->self->delivering)
		g_signal_emit(snap->self, signals[SIGNAL_SNAPSHOT], 0, snap->available,
			      snap->states);
	return G_SOURCE_REMOVE;
}

/* worker thread: hand what pcscd said to the main loop */
static void
tw_pcsc_monitor_deliver(TwPcscMonitor *self, gboolean available, const TwPcscWatch *w)
{
	TwPcscSnapshot *snap = g_new0(TwPcscSnapshot, 1);

	snap->self = g_object_ref(self);
	snap->available = available;
	snap->states = g_ptr_array_new_with_free_func((GDestroyNotify)tw_pcsc_reader_state_free);
	for (DWORD i = 0; w != NULL && i < w->n_readers; i++) {
		TwPcscReaderState *state = g_new0(TwPcscReaderState, 1);

		state->name = g_strdup(w->rs[i].szReader);
		state->state = (guint32)w->rs[i].dwCurrentState;
		state->atr_len = MIN(w->rs[i].cbAtr, sizeof(state->atr));
		memcpy(state->atr, w->rs[i].rgbAtr, state->atr_len);
		g_ptr_array_add(snap->states, state);
	}
	g_main_context_invoke_full(self->main_ctx, G_PRIORITY_DEFAULT, tw_pcsc_monitor_deliver_cb,
				   snap, (GDestroyNotify)tw_pcsc_snapshot_free);
}

static void
tw_pcsc_watch_clear(TwPcscWatch *w)
{
	g_clear_pointer(&w->names, g_ptr_array_unref);
	g_clear_pointer(&w->rs, g_free);
	w->n_readers = 0;
}

static LONG
tw_pcsc_list_readers(SCARDCONTEXT ctx, GPtrArray **names_out)
{
	g_autofree gchar *buf = NULL;
	GPtrArray *names;
	DWORD len = 0;
	LONG rv;

	for (guint attempt = 0;; attempt++) {
		rv = SCardListReaders(ctx, NULL, NULL, &len);
		if (rv == SCARD_E_NO_READERS_AVAILABLE) {
			len = 0;
			break;
		}
		if (rv != SCARD_S_SUCCESS)
			return rv;
		g_free(buf);
		buf = g_malloc0(len + 1);
		rv = SCardListReaders(ctx, NULL, buf, &len);
		if (rv == SCARD_E_NO_READERS_AVAILABLE) {
			len = 0;
			break;
		}
		/* the list grew between the two calls: ask again */
		if (rv == SCARD_E_INSUFFICIENT_BUFFER && attempt < 3)
			continue;
		if (rv != SCARD_S_SUCCESS)
			return rv;
		break;
	}

	names = g_ptr_array_new_with_free_func(g_free);
	for (const gchar *p = buf; p != NULL && p < buf + len && *p != '\0'; p += strlen(p) + 1)
		g_ptr_array_add(names, g_strdup(p));
	*names_out = names;
	return SCARD_S_SUCCESS;
}

/* Re-read the reader list, keeping what is known of readers that stay, and
 * learning the state of new ones, so that every reader in the result has a
 * state. @fresh: forget what is known (a full re-read). */
static LONG
tw_pcsc_watch_relist(TwPcscWatch *w, SCARDCONTEXT ctx, gboolean fresh)
{
	LONG rv = SCARD_E_UNKNOWN_READER;

	for (guint attempt = 0; attempt < TW_PCSC_RELIST_ATTEMPTS; attempt++) {
		g_autoptr(GPtrArray) names = NULL;
		g_autofree SCARD_READERSTATE *rs = NULL;
		g_autofree SCARD_READERSTATE *query = NULL;
		g_autofree guint *query_idx = NULL;
		DWORD n_query = 0;

		rv = tw_pcsc_list_readers(ctx, &names);
		if (rv != SCARD_S_SUCCESS)
			return rv;
		rs = g_new0(SCARD_READERSTATE, names->len + 1);
		query = g_new0(SCARD_READERSTATE, names->len + 1);
		query_idx = g_new0(guint, names->len + 1);
		for (guint i = 0; i < names->len; i++) {
			const gchar *name = g_ptr_array_index(names, i);
			gboolean known = FALSE;

			rs[i].szReader = name;
			for (DWORD j = 0; !fresh && j < w->n_readers; j++) {
				if (g_strcmp0(w->rs[j].szReader, name) == 0) {
					rs[i] = w->rs[j];
					rs[i].szReader = name;
					known = !(rs[i].dwCurrentState & SCARD_STATE_UNKNOWN);
					break;
				}
			}
			if (!known) {
				query[n_query].szReader = name;
				query[n_query].dwCurrentState = SCARD_STATE_UNAWARE;
				query_idx[n_query++] = i;
			}
		}
		/* keep the PnP word: newer pcsc-lite counts reader events in it */
		rs[names->len].szReader = TW_PCSC_PNP_READER;
		rs[names->len].dwCurrentState =
			w->rs != NULL ? w->rs[w->n_readers].dwCurrentState : SCARD_STATE_UNAWARE;

		/* an UNAWARE reader makes the call return at once with its state */
		if (n_query > 0) {
			rv = SCardGetStatusChange(ctx, 0, query, n_query);
			if (rv == SCARD_E_UNKNOWN_READER)
				continue; /* one went away meanwhile: list again */
			if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
				return rv;
			for (DWORD q = 0; q < n_query; q++) {
				SCARD_READERSTATE *r = &rs[query_idx[q]];

				r->dwCurrentState = query[q].dwEventState & ~SCARD_STATE_CHANGED;
				r->cbAtr = query[q].cbAtr;
				memcpy(r->rgbAtr, query[q].rgbAtr, sizeof(r->rgbAtr));
			}
		}
		tw_pcsc_watch_clear(w);
		w->n_readers = names->len;
		w->names = g_steal_pointer(&names);
		w->rs = g_steal_pointer(&rs);
		return SCARD_S_SUCCESS;
	}
	return rv;
}

static gboolean
tw_pcsc_monitor_is_stopping(TwPcscMonitor *self)
{
	gboolean stopping;

	g_mutex_lock(&self->lock);
	stopping = self->stopping;
	g_mutex_unlock(&self->lock);
	return stopping;
}

static gboolean
tw_pcsc_monitor_take_resync(TwPcscMonitor *self)
{
	gboolean resync;

	g_mutex_lock(&self->lock);
	resync = self->resync;
	self->resync = FALSE;
	g_cond_broadcast(&self->cond);
	g_mutex_unlock(&self->lock);
	return resync;
}

/* Watch readers on an established context until pcscd goes away or the
 * monitor stops. Returns TRUE when the context worked at all. */
static gboolean
tw_pcsc_monitor_watch(TwPcscMonitor *self, SCARDCONTEXT ctx)
{
	TwPcscWatch w = {NULL, NULL, 0};
	gboolean worked = FALSE;
	gboolean changed = TRUE;
	LONG rv;

	tw_pcsc_monitor_take_resync(self); /* a fresh context reads everything anyway */
	rv = tw_pcsc_watch_relist(&w, ctx, TRUE);
	while (rv == SCARD_S_SUCCESS) {
		gboolean relist = FALSE;

		worked = TRUE;
		if (changed)
			tw_pcsc_monitor_deliver(self, TRUE, &w);
		changed = TRUE;

		g_mutex_lock(&self->lock);
		if (self->stopping) {
			g_mutex_unlock(&self->lock);
			break;
		}
		if (self->resync) {
			g_mutex_unlock(&self->lock);
			tw_pcsc_monitor_take_resync(self);
			g_debug("re-reading all readers on request");
			rv = tw_pcsc_watch_relist(&w, ctx, TRUE);
			continue;
		}
		self->waiting = TRUE;
		self->busy_since = 0;
		g_mutex_unlock(&self->lock);

		rv = SCardGetStatusChange(ctx, INFINITE, w.rs, w.n_readers + 1);

		g_mutex_lock(&self->lock);
		self->waiting = FALSE;
		self->busy_since = g_get_monotonic_time();
		g_mutex_unlock(&self->lock);

		switch (rv) {
		case SCARD_S_SUCCESS:
			for (DWORD i = 0; i <= w.n_readers; i++) {
				if (w.rs[i].dwEventState & SCARD_STATE_UNKNOWN)
					relist = TRUE;
				w.rs[i].dwCurrentState =
					w.rs[i].dwEventState & ~SCARD_STATE_CHANGED;
			}
			if (w.rs[w.n_readers].dwEventState & SCARD_STATE_CHANGED)
				relist = TRUE;
			break;
		case SCARD_E_CANCELLED:
		case SCARD_E_TIMEOUT:
			changed = FALSE;
			break;
		case SCARD_E_UNKNOWN_READER:
			relist = TRUE;
			rv = SCARD_S_SUCCESS;
			break;
		default:
			g_info("pcscd: %s (0x%08lx)", pcsc_stringify_error(rv), (unsigned long)rv);
			continue; /* leaves the loop */
		}
		if (relist)
			rv = tw_pcsc_watch_relist(&w, ctx, FALSE);
		else
			rv = SCARD_S_SUCCESS;
	}
	if (rv != SCARD_S_SUCCESS && !tw_pcsc_monitor_is_stopping(self))
		g_info("lost pcscd: %s (0x%08lx)", pcsc_stringify_error(rv), (unsigned long)rv);
	tw_pcsc_watch_clear(&w);
	return worked;
}

/* Returns FALSE when stopping. */
static gboolean
tw_pcsc_monitor_sleep(TwPcscMonitor *self, guint ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	gboolean go_on;

	g_mutex_lock(&self->lock);
	self->busy_since = 0;
	while (!self->stopping && !self->resync) {
		if (!g_cond_wait_until(&self->cond, &self->lock, end))
			break;
	}
	/* a resync while pcscd is away means "try now" */
	self->resync = FALSE;
	g_cond_broadcast(&self->cond);
	go_on = !self->stopping;
	self->busy_since = g_get_monotonic_time();
	g_mutex_unlock(&self->lock);
	return go_on;
}

static gpointer
tw_pcsc_monitor_thread(gpointer user_data)
{
	TwPcscMonitor *self = TW_PCSC_MONITOR(user_data);
	gboolean announced = FALSE; /* "unavailable" was reported */
	guint backoff_ms = 0;

	for (;;) {
		SCARDCONTEXT ctx = 0;
		LONG rv;

		if (tw_pcsc_monitor_is_stopping(self))
			break;

		rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
		if (rv == SCARD_S_SUCCESS) {
			gboolean worked;

			g_mutex_lock(&self->lock);
			self->wait_ctx = ctx;
			self->has_ctx = TRUE;
			g_mutex_unlock(&self->lock);

			worked = tw_pcsc_monitor_watch(self, ctx);

			/* under the lock: no SCardCancel() can race the release */
			g_mutex_lock(&self->lock);
			self->has_ctx = FALSE;
			SCardReleaseContext(ctx);
			g_mutex_unlock(&self->lock);
			if (tw_pcsc_monitor_is_stopping(self))
				break;
			announced = FALSE;
			if (worked)
				backoff_ms = 0;
		} else if (!announced) {
			g_message("pcscd is not available (%s); waiting for it",
				  pcsc_stringify_error(rv));
		}
		if (!announced) {
			tw_pcsc_monitor_deliver(self, FALSE, NULL);
			announced = TRUE;
		}
		backoff_ms = CLAMP(backoff_ms * 2, TW_PCSC_BACKOFF_MIN_MS, TW_PCSC_BACKOFF_MAX_MS);
		if (!tw_pcsc_monitor_sleep(self, backoff_ms))
			break;
	}

	g_mutex_lock(&self->lock);
	self->exited = TRUE;
	g_cond_broadcast(&self->cond);
	g_mutex_unlock(&self->lock);
	return NULL;
}

/* with the lock held: wake the worker wherever it is */
static void
tw_pcsc_monitor_wake_locked(TwPcscMonitor *self)
{
	if (self->has_ctx && self->waiting)
		SCardCancel(self->wait_ctx);
	g_cond_broadcast(&self->cond);
}

static void
tw_pcsc_monitor_resync_thread_cb(GTask *task,
				 gpointer source_object,
				 gpointer task_data,
				 GCancellable *cancellable)
{
	TwPcscMonitor *self = TW_PCSC_MONITOR(source_object);
	gint64 deadline = g_get_monotonic_time() + TW_PCSC_RESYNC_TIMEOUT_US;

	g_mutex_lock(&self->lock);
	while (self->resync && !self->stopping && !self->exited) {
		gint64 now = g_get_monotonic_time();

		if (now >= deadline) {
			g_warning("the PC/SC worker did not take a re-read request in time");
			break;
		}
		tw_pcsc_monitor_wake_locked(self);
		g_cond_wait_until(&self->cond, &self->lock, now + TW_PCSC_CANCEL_RETRY_US);
	}
	self->resync_task = FALSE;
	g_mutex_unlock(&self->lock);
	g_task_return_boolean(task, TRUE);
}

/**
 * tw_pcsc_monitor_resync:
 *
 * Asks the worker to re-read every reader (or, while pcscd is away, to try
 * to connect now). Does not block: waking a worker that sits in pcscd takes
 * a round trip to pcscd, done in a thread of GLib's pool.
 */
void
tw_pcsc_monitor_resync(TwPcscMonitor *self)
{
	g_autoptr(GTask) task = NULL;
	gboolean start;

	g_return_if_fail(TW_IS_PCSC_MONITOR(self));

	g_mutex_lock(&self->lock);
	self->resync = TRUE;
	start = !self->resync_task && self->thread != NULL;
	if (start)
		self->resync_task = TRUE;
	g_cond_broadcast(&self->cond);
	g_mutex_unlock(&self->lock);
	if (!start)
		return;
	task = g_task_new(self, NULL, NULL, NULL);
	g_task_set_source_tag(task, tw_pcsc_monitor_resync);
	g_task_run_in_thread(task, tw_pcsc_monitor_resync_thread_cb);
}

/**
 * tw_pcsc_monitor_get_busy_usec:
 *
 * How long the worker has been busy since it last woke, 0 while it waits for
 * pcscd or sleeps. A worker busy for long is wedged (the watchdog asks).
 */
gint64
tw_pcsc_monitor_get_busy_usec(TwPcscMonitor *self)
{
	gint64 since;

	g_return_val_if_fail(TW_IS_PCSC_MONITOR(self), 0);
	g_mutex_lock(&self->lock);
	since = self->busy_since;
	g_mutex_unlock(&self->lock);
	return since > 0 ? g_get_monotonic_time() - since : 0;
}

gboolean
tw_pcsc_monitor_start(TwPcscMonitor *self, GError **error)
{
	g_return_val_if_fail(TW_IS_PCSC_MONITOR(self), FALSE);
	g_return_val_if_fail(self->thread == NULL, FALSE);

	self->delivering = TRUE;
	self->stopping = FALSE;
	self->exited = FALSE;
	self->busy_since = g_get_monotonic_time();
	self->thread = g_thread_try_new("tw-pcsc", tw_pcsc_monitor_thread, self, error);
	if (self->thread == NULL) {
		g_prefix_error(error, "starting the PC/SC thread: ");
		return FALSE;
	}
	return TRUE;
}

/**
 * tw_pcsc_monitor_stop:
 *
 * Stops the worker and waits for it, at most 3 s: a pcscd that hangs must not
 * keep the daemon from exiting. A worker that did not stop keeps a reference
 * on the monitor, so that it never touches freed memory.
 */
void
tw_pcsc_monitor_stop(TwPcscMonitor *self)
{
	gint64 deadline = g_get_monotonic_time() + TW_PCSC_STOP_TIMEOUT_US;
	gboolean exited;

	g_return_if_fail(TW_IS_PCSC_MONITOR(self));
	if (self->thread == NULL)
		return;

	self->delivering = FALSE;
	g_mutex_lock(&self->lock);
	self->stopping = TRUE;
	while (!self->exited) {
		gint64 now = g_get_monotonic_time();

		if (now >= deadline)
			break;
		tw_pcsc_monitor_wake_locked(self);
		g_cond_wait_until(&self->cond, &self->lock,
				  MIN(now + TW_PCSC_CANCEL_RETRY_US, deadline));
	}
	exited = self->exited;
	g_mutex_unlock(&self->lock);

	if (exited) {
		g_thread_join(self->thread);
	} else {
		g_warning("the PC/SC worker did not stop in time; leaving it behind");
		g_object_ref(self);
		g_thread_unref(self->thread);
	}
	self->thread = NULL;
}

static void
tw_pcsc_monitor_dispose(GObject *object)
{
	TwPcscMonitor *self = TW_PCSC_MONITOR(object);

	tw_pcsc_monitor_stop(self);
	G_OBJECT_CLASS(tw_pcsc_monitor_parent_class)->dispose(object);
}

static void
tw_pcsc_monitor_finalize(GObject *object)
{
	TwPcscMonitor *self = TW_PCSC_MONITOR(object);

	g_main_context_unref(self->main_ctx);
	g_mutex_clear(&self->lock);
	g_cond_clear(&self->cond);
	G_OBJECT_CLASS(tw_pcsc_monitor_parent_class)->finalize(object);
}

static void
tw_pcsc_monitor_init(TwPcscMonitor *self)
{
	g_mutex_init(&self->lock);
	g_cond_init(&self->cond);
	self->main_ctx = g_main_context_ref_thread_default();
}

static void
tw_pcsc_monitor_class_init(TwPcscMonitorClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_pcsc_monitor_dispose;
	object_class->finalize = tw_pcsc_monitor_finalize;

	/**
	 * TwPcscMonitor::snapshot:
	 * @available: whether pcscd is connected
	 * @states: (element-type TwPcscReaderState): every reader, with its state
	 *
	 * Emitted on the main context after each wake-up of the worker.
	 */
	signals[SIGNAL_SNAPSHOT] =
		g_signal_new("snapshot", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			     NULL, G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_POINTER);
}

TwPcscMonitor *
tw_pcsc_monitor_new(void)
{
	return g_object_new(TW_TYPE_PCSC_MONITOR, NULL);
}
