/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The wall clock of deadlines. One alarm at a time, at an absolute wall
 * time, on a timerfd armed with TFD_TIMER_CANCEL_ON_SET: when the wall clock
 * is set (by an administrator, NTP stepping it, a resume that corrects it),
 * the kernel wakes us at once and the owner recomputes. Resuming from
 * suspend (logind's PrepareForSleep(false)) does the same. Between
 * deadlines nothing runs.
 *
 * For tests only, TOKENWATCH_TEST_CLOCK_OFFSET_FILE names a file that holds
 * a number of seconds added to the real time; writing it is a clock jump.
 * Setting the real clock of a test machine would disturb everything else.
 */
#define G_LOG_DOMAIN "TwClock"

#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "tw-clock.h"

struct _TwClock {
	GObject parent_instance;
	int fd;
	guint fd_source;
	gint64 alarm;  /* Unix s of the armed alarm, 0 if none */
	gint64 offset; /* test hook: seconds added to the real time */
	GFileMonitor *offset_monitor;
	gchar *offset_path;
	GDBusConnection *system_bus;
	guint sleep_subscription;
};

G_DEFINE_TYPE(TwClock, tw_clock, G_TYPE_OBJECT)

enum { SIGNAL_ALARM, SIGNAL_JUMPED, N_SIGNALS };
static guint signals[N_SIGNALS] = {0};

/* Unix seconds, as deadlines count them */
gint64
tw_clock_now(TwClock *self)
{
	g_return_val_if_fail(TW_IS_CLOCK(self), 0);
	return g_get_real_time() / G_USEC_PER_SEC + self->offset;
}

gint64
tw_clock_get_alarm(TwClock *self)
{
	g_return_val_if_fail(TW_IS_CLOCK(self), 0);
	return self->alarm;
}

static void
tw_clock_arm(TwClock *self)
{
	struct itimerspec spec = {{0, 0}, {0, 0}};
	int flags = 0;

	if (self->alarm != 0) {
		/* in the kernel's time: the test offset taken back out; never 0,
		 * which would disarm */
		spec.it_value.tv_sec = MAX(self->alarm - self->offset, 1);
		flags = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
	}
	if (timerfd_settime(self->fd, flags, &spec, NULL) < 0)
		g_warning("arming the deadline timer: %s", g_strerror(errno));
}

/**
 * tw_clock_set_alarm:
 * @when: Unix seconds; 0 for no alarm
 *
 * Arms the one alarm ("alarm" is emitted when @when has come, at once if it
 * is past). Replaces the alarm armed before.
 */
void
tw_clock_set_alarm(TwClock *self, gint64 when)
{
	g_return_if_fail(TW_IS_CLOCK(self));
	if (when != 0 && self->alarm == when)
		return;
	self->alarm = when;
	tw_clock_arm(self);
	if (when != 0)
		g_debug("next deadline at %" G_GINT64_FORMAT " (in %" G_GINT64_FORMAT " s)", when,
			when - tw_clock_now(self));
}

static gboolean
tw_clock_fd_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	TwClock *self = TW_CLOCK(user_data);
	guint64 expirations = 0;
	ssize_t n = read(fd, &expirations, sizeof(expirations));

	if (n < 0 && errno == ECANCELED) {
		g_info("the wall clock was set: recomputing deadlines");
		tw_clock_arm(self); /* the same alarm, against the new clock */
		g_signal_emit(self, signals[SIGNAL_JUMPED], 0);
		return G_SOURCE_CONTINUE;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			g_warning("reading the deadline timer: %s", g_strerror(errno));
		return G_SOURCE_CONTINUE;
	}
	self->alarm = 0;
	g_signal_emit(self, signals[SIGNAL_ALARM], 0);
	return G_SOURCE_CONTINUE;
}

static void
tw_clock_read_offset(TwClock *self)
{
	g_autofree gchar *text = NULL;
	gint64 offset = 0;

	if (g_file_get_contents(self->offset_path, &text, NULL, NULL))
		offset = g_ascii_strtoll(g_strstrip(text), NULL, 10);
	if (offset == self->offset)
		return;
	self->offset = offset;
	g_message("test clock offset: %" G_GINT64_FORMAT " s", offset);
	tw_clock_arm(self);
	g_signal_emit(self, signals[SIGNAL_JUMPED], 0);
}

/* any event on the file: read it again (nothing happens if it says the same) */
static void
tw_clock_offset_changed_cb(GFileMonitor *monitor,
			   GFile *file,
			   GFile *other,
			   GFileMonitorEvent event,
			   gpointer user_data)
{
	tw_clock_read_offset(TW_CLOCK(user_data));
}

static void
tw_clock_prepare_for_sleep_cb(GDBusConnection *connection,
			      const gchar *sender,
			      const gchar *path,
			      const gchar *iface,
			      const gchar *signal,
			      GVariant *params,
			      gpointer user_data)
{
	TwClock *self = TW_CLOCK(user_data);
	gboolean start = TRUE;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(b)")))
		return;
	g_variant_get(params, "(b)", &start);
	if (start)
		return;
	g_info("resumed from sleep: recomputing deadlines");
	tw_clock_arm(self);
	g_signal_emit(self, signals[SIGNAL_JUMPED], 0);
}

static void
tw_clock_system_bus_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(TwClock) self = TW_CLOCK(user_data);
	g_autoptr(GError) error = NULL;
	GDBusConnection *bus = g_bus_get_finish(res, &error);

	if (bus == NULL) {
		g_info("no system bus, so no word of suspend and resume: %s", error->message);
		return;
	}
	self->system_bus = bus;
	self->sleep_subscription = g_dbus_connection_signal_subscribe(
		bus, "org.freedesktop.login1", "org.freedesktop.login1.Manager", "PrepareForSleep",
		"/org/freedesktop/login1", NULL, G_DBUS_SIGNAL_FLAGS_NONE,
		tw_clock_prepare_for_sleep_cb, self, NULL);
}

/**
 * tw_clock_watch_sleep:
 *
 * Recompute on logind's PrepareForSleep(false), a resume from suspend. The
 * system bus is reached in the background.
 */
void
tw_clock_watch_sleep(TwClock *self)
{
	g_return_if_fail(TW_IS_CLOCK(self));
	if (self->system_bus != NULL)
		return;
	g_bus_get(G_BUS_TYPE_SYSTEM, NULL, tw_clock_system_bus_cb, g_object_ref(self));
}

static void
tw_clock_dispose(GObject *object)
{
	TwClock *self = TW_CLOCK(object);

	g_clear_handle_id(&self->fd_source, g_source_remove);
	if (self->sleep_subscription != 0) {
		g_dbus_connection_signal_unsubscribe(self->system_bus, self->sleep_subscription);
		self->sleep_subscription = 0;
	}
	g_clear_object(&self->system_bus);
	g_clear_object(&self->offset_monitor);
	G_OBJECT_CLASS(tw_clock_parent_class)->dispose(object);
}

static void
tw_clock_finalize(GObject *object)
{
	TwClock *self = TW_CLOCK(object);

	if (self->fd >= 0)
		close(self->fd);
	g_free(self->offset_path);
	G_OBJECT_CLASS(tw_clock_parent_class)->finalize(object);
}

static void
tw_clock_init(TwClock *self)
{
	self->fd = -1;
}

static void
tw_clock_class_init(TwClockClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_clock_dispose;
	object_class->finalize = tw_clock_finalize;
	/* the alarm time has come */
	signals[SIGNAL_ALARM] = g_signal_new("alarm", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
					     0, NULL, NULL, NULL, G_TYPE_NONE, 0);
	/* the wall clock moved by other means than time passing: recompute */
	signals[SIGNAL_JUMPED] = g_signal_new("jumped", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
					      0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

TwClock *
tw_clock_new(GError **error)
{
	g_autoptr(TwClock) self = g_object_new(TW_TYPE_CLOCK, NULL);
	const gchar *offset_path = g_getenv("TOKENWATCH_TEST_CLOCK_OFFSET_FILE");

	self->fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (self->fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "creating the deadline timer: %s", g_strerror(errno));
		return NULL;
	}
	self->fd_source = g_unix_fd_add(self->fd, G_IO_IN, tw_clock_fd_cb, self);
	if (offset_path != NULL && *offset_path != '\0') {
		g_autoptr(GFile) file = g_file_new_for_path(offset_path);

		self->offset_path = g_strdup(offset_path);
		self->offset_monitor =
			g_file_monitor_file(file, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
		if (self->offset_monitor != NULL)
			g_signal_connect(self->offset_monitor, "changed",
					 G_CALLBACK(tw_clock_offset_changed_cb), self);
		self->offset = 0;
		tw_clock_read_offset(self);
	}
	return g_steal_pointer(&self);
}
