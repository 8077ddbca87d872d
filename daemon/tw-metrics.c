/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The metrics file for fleets: when [Metrics] TextfileDirectory is set,
 * DIR/tokenwatch.prom holds, in the Prometheus text exposition format, what
 * an administrator alerts on — each certificate's effective end (days left
 * are computed from it in Prometheus, by the rules of
 * data/prometheus/tokenwatch-alerts.yml, so that they are never as old as
 * the file), the end of each device's QSCD certification, PIN states,
 * advice — for node_exporter's
 * textfile collector to serve. Written after every change (coalesced over
 * half a second) and every hour, so that a file older than that says the
 * daemon is gone; atomically (a temporary file renamed over it, as the
 * collector asks), in a worker thread, one write at a time. The metrics:
 * docs/metrics.md.
 */
#define G_LOG_DOMAIN "TwMetrics"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tw-cert.h"
#include "tw-metrics.h"
#include "tw-reader.h"

#define TW_METRICS_DELAY_MS  500
#define TW_METRICS_REFRESH_S 3600

struct _TwMetrics {
	GObject parent_instance;
	TwEngine *engine;
	TwTokenSet *set;
	gchar *dir; /* NULL: off */
	gboolean names;
	guint delay_id;
	guint refresh_id;
	gboolean writing;  /* a write is in the worker */
	gboolean again;	   /* changed meanwhile: write again after it */
	gchar *last_error; /* said once, until a write works */
	GCancellable *cancel;
};

G_DEFINE_TYPE(TwMetrics, tw_metrics, G_TYPE_OBJECT)

/* --- the text format --------------------------------------------------- */

/* a label value: backslash, double quote and line feed escaped */
static void
tw_prom_value(GString *out, const gchar *value)
{
	for (const gchar *p = value; *p != '\0'; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '"')
			g_string_append(out, "\\\"");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
}

static void
tw_prom_family(GString *out, const gchar *name, const gchar *help)
{
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* name{k1="v1",k2="v2"} value; labels: NULL-terminated key, value pairs */
static void
tw_prom_sample(GString *out, const gchar *name, gint64 value, ...)
{
	const gchar *key;
	gboolean first = TRUE;
	va_list ap;

	g_string_append(out, name);
	va_start(ap, value);
	while ((key = va_arg(ap, const gchar *)) != NULL) {
		const gchar *v = va_arg(ap, const gchar *);

		if (v == NULL)
			continue; /* a label left out (names off) */
		g_string_append(out, first ? "{" : ",");
		g_string_append_printf(out, "%s=\"", key);
		tw_prom_value(out, v);
		g_string_append_c(out, '"');
		first = FALSE;
	}
	va_end(ap);
	g_string_append_printf(out, "%s %" G_GINT64_FORMAT "\n", first ? "" : "}", value);
}

static gint
tw_metrics_cmp_token(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(tw_token_get_id(*(TwToken **)a), tw_token_get_id(*(TwToken **)b));
}

static gint
tw_metrics_cmp_cert(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(tw_certificate_get_id(*(TwCertificate **)a),
			 tw_certificate_get_id(*(TwCertificate **)b));
}

/**
 * tw_metrics_render:
 * @engine: the engine
 * @names: whether token labels and common names go in labels
 *
 * What the engine knows, in the Prometheus text format, in a stable order
 * (tokens and certificates by id).
 */
gchar *
tw_metrics_render(TwEngine *engine, gboolean names)
{
	TwTokenSet *set = tw_engine_get_token_set(engine);
	g_autoptr(GPtrArray) tokens = tw_token_set_get_tokens(set);
	g_autoptr(GPtrArray) certs = tw_token_set_get_certificates(set);
	GString *out = g_string_new(NULL);

	g_ptr_array_sort(tokens, tw_metrics_cmp_token);
	g_ptr_array_sort(certs, tw_metrics_cmp_cert);

	tw_prom_family(out, "tokenwatch_info", "tokenwatchd's version.");
	tw_prom_sample(out, "tokenwatch_info", 1, "version", PACKAGE_VERSION, NULL);
	tw_prom_family(out, "tokenwatch_pcsc_available", "Whether pcscd answers (1) or not (0).");
	tw_prom_sample(out, "tokenwatch_pcsc_available", tw_engine_get_pcsc_available(engine),
		       NULL);
	tw_prom_family(out, "tokenwatch_readers", "Smart card readers pcscd lists.");
	tw_prom_sample(out, "tokenwatch_readers", tw_engine_get_readers(engine)->len, NULL);

	tw_prom_family(out, "tokenwatch_token_present",
		       "Whether the token is in a reader now (1) or remembered (0).");
	for (guint i = 0; i < tokens->len; i++) {
		TwToken *t = g_ptr_array_index(tokens, i);

		tw_prom_sample(out, "tokenwatch_token_present", tw_token_get_present(t), "token",
			       tw_token_get_id(t), "label", names ? tw_token_get_label(t) : NULL,
			       "serial", tw_token_get_serial(t), "model", tw_token_get_model(t),
			       "device", tw_token_get_device_name(t), NULL);
	}
	tw_prom_family(out, "tokenwatch_token_last_seen_timestamp_seconds",
		       "When the token was last in a reader, Unix time.");
	for (guint i = 0; i < tokens->len; i++) {
		TwToken *t = g_ptr_array_index(tokens, i);

		tw_prom_sample(out, "tokenwatch_token_last_seen_timestamp_seconds",
			       tw_token_get_last_seen(t), "token", tw_token_get_id(t), NULL);
	}
	tw_prom_family(out, "tokenwatch_token_pin_state",
		       "1 for the state of each PIN: ok, count-low, final-try, locked, "
		       "to-be-changed or unknown.");
	for (guint i = 0; i < tokens->len; i++) {
		TwToken *t = g_ptr_array_index(tokens, i);

		tw_prom_sample(out, "tokenwatch_token_pin_state", 1, "token", tw_token_get_id(t),
			       "pin", "user", "state", tw_token_get_user_pin_state(t), NULL);
		tw_prom_sample(out, "tokenwatch_token_pin_state", 1, "token", tw_token_get_id(t),
			       "pin", "so", "state", tw_token_get_so_pin_state(t), NULL);
	}
	tw_prom_family(out, "tokenwatch_token_qscd_certified_until_timestamp_seconds",
		       "End of the device's QSCD certification, Unix time (devices with a known "
		       "end).");
	for (guint i = 0; i < tokens->len; i++) {
		TwToken *t = g_ptr_array_index(tokens, i);

		if (tw_token_get_qscd_until(t) != 0)
			tw_prom_sample(out,
				       "tokenwatch_token_qscd_certified_until_timestamp_seconds",
				       tw_token_get_qscd_until(t), "token", tw_token_get_id(t),
				       "device", tw_token_get_device_name(t), NULL);
	}
	tw_prom_family(out, "tokenwatch_token_memory_free_bytes",
		       "Free token memory (tokens whose module says).");
	for (guint i = 0; i < tokens->len; i++) {
		TwToken *t = g_ptr_array_index(tokens, i);

		if (tw_token_get_total_memory(t) != 0)
			tw_prom_sample(out, "tokenwatch_token_memory_free_bytes",
				       (gint64)tw_token_get_free_memory(t), "token",
				       tw_token_get_id(t), NULL);
	}
	tw_prom_family(out, "tokenwatch_token_memory_total_bytes",
		       "Token memory (tokens whose module says).");
	for (guint i = 0; i < tokens->len; i++) {
		TwToken *t = g_ptr_array_index(tokens, i);

		if (tw_token_get_total_memory(t) != 0)
			tw_prom_sample(out, "tokenwatch_token_memory_total_bytes",
				       (gint64)tw_token_get_total_memory(t), "token",
				       tw_token_get_id(t), NULL);
	}
	tw_prom_family(out, "tokenwatch_token_unpaired_keys",
		       "Private keys on the token without a certificate.");
	for (guint i = 0; i < tokens->len; i++) {
		TwToken *t = g_ptr_array_index(tokens, i);

		tw_prom_sample(out, "tokenwatch_token_unpaired_keys", tw_token_get_unpaired_keys(t),
			       "token", tw_token_get_id(t), NULL);
	}
	tw_prom_family(out, "tokenwatch_token_advice",
		       "1 for each piece of advice on the token (codes: tokenwatchctl(1)).");
	for (guint i = 0; i < tokens->len; i++) {
		TwToken *t = g_ptr_array_index(tokens, i);
		GPtrArray *advice = tw_token_get_advice(t);

		for (guint j = 0; advice != NULL && j < advice->len; j++) {
			TwAdvice *a = g_ptr_array_index(advice, j);

			tw_prom_sample(out, "tokenwatch_token_advice", 1, "token",
				       tw_token_get_id(t), "code", a->code, "severity", a->severity,
				       NULL);
		}
	}

	tw_prom_family(out, "tokenwatch_certificate_expiry_timestamp_seconds",
		       "The certificate's effective end, Unix time: its own end, or the end "
		       "of its device's QSCD certification when that comes first.");
	for (guint i = 0; i < certs->len; i++) {
		TwCertificate *c = g_ptr_array_index(certs, i);
		const TwCertInfo *info = tw_certificate_get_info(c);
		gint64 end = tw_certificate_get_effective_not_after(c);

		if (end != 0)
			tw_prom_sample(out, "tokenwatch_certificate_expiry_timestamp_seconds", end,
				       "certificate", tw_certificate_get_id(c), "token",
				       tw_certificate_get_token_id(c), "serial",
				       info->serial_decimal, "kind",
				       tw_cert_kind_to_string(info->kind), "status",
				       tw_certificate_get_status(c), "cn",
				       names ? info->common_name : NULL, NULL);
	}
	return g_string_free(out, FALSE);
}

/* --- writing ------------------------------------------------------------ */

typedef struct {
	gchar *dir;
	gchar *text;
} TwMetricsWrite;

static void
tw_metrics_write_free(TwMetricsWrite *w)
{
	g_free(w->dir);
	g_free(w->text);
	g_free(w);
}

/* DIR/tokenwatch.prom, whole or not at all: a temporary file in DIR, made
 * readable by all (the collector runs as another user, and our UMask= is
 * 0077), renamed over the old one. No fsync: the file is made again at
 * every start. */
static gboolean
tw_metrics_write_file(const gchar *dir, const gchar *text, GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, TW_METRICS_FILE_NAME, NULL);
	g_autofree gchar *tmp = g_build_filename(dir, "." TW_METRICS_FILE_NAME ".XXXXXX", NULL);
	gsize len = strlen(text);
	gsize done = 0;
	gint saved;
	int fd;

	fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, 0644) < 0)
		goto fail_fd;
	while (done < len) {
		gssize n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail_fd;
		done += (gsize)n;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		goto fail_unlink;
	return TRUE;

fail_fd:
	saved = errno;
	close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
fail:
	saved = errno;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", path,
		    g_strerror(saved));
	return FALSE;
}

static void
tw_metrics_write_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	TwMetricsWrite *w = data;
	GError *error = NULL;

	if (!tw_metrics_write_file(w->dir, w->text, &error))
		g_task_return_error(task, error);
	else
		g_task_return_boolean(task, TRUE);
}

static void tw_metrics_schedule(TwMetrics *self);
static void tw_metrics_start_write(TwMetrics *self);

static void
tw_metrics_report(TwMetrics *self, GError *error)
{
	if (error == NULL) {
		if (self->last_error != NULL)
			g_message("writing %s/%s works again", self->dir, TW_METRICS_FILE_NAME);
		g_clear_pointer(&self->last_error, g_free);
		return;
	}
	/* once per cause, not at every change */
	if (g_strcmp0(self->last_error, error->message) != 0)
		g_warning("cannot write the metrics file: %s", error->message);
	g_free(self->last_error);
	self->last_error = g_strdup(error->message);
}

static void
tw_metrics_written_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(TwMetrics) self = TW_METRICS(user_data);
	g_autoptr(GError) error = NULL;

	g_task_propagate_boolean(G_TASK(res), &error);
	self->writing = FALSE;
	if (g_cancellable_is_cancelled(self->cancel))
		return;
	tw_metrics_report(self, error);
	if (self->again) {
		self->again = FALSE;
		tw_metrics_start_write(self);
	}
}

static void
tw_metrics_start_write(TwMetrics *self)
{
	g_autoptr(GTask) task = NULL;
	TwMetricsWrite *w;

	if (self->dir == NULL)
		return;
	if (self->writing) {
		self->again = TRUE;
		return;
	}
	w = g_new0(TwMetricsWrite, 1);
	w->dir = g_strdup(self->dir);
	w->text = tw_metrics_render(self->engine, self->names);
	task = g_task_new(NULL, self->cancel, tw_metrics_written_cb, g_object_ref(self));
	g_task_set_source_tag(task, tw_metrics_start_write);
	g_task_set_task_data(task, w, (GDestroyNotify)tw_metrics_write_free);
	self->writing = TRUE;
	g_task_run_in_thread(task, tw_metrics_write_thread);
}

static gboolean
tw_metrics_delay_cb(gpointer user_data)
{
	TwMetrics *self = TW_METRICS(user_data);

	self->delay_id = 0;
	tw_metrics_start_write(self);
	return G_SOURCE_REMOVE;
}

static gboolean
tw_metrics_refresh_cb(gpointer user_data)
{
	tw_metrics_start_write(TW_METRICS(user_data));
	return G_SOURCE_CONTINUE;
}

/* something changed: write within TW_METRICS_DELAY_MS, once for a burst */
static void
tw_metrics_schedule(TwMetrics *self)
{
	if (self->dir == NULL || self->delay_id != 0)
		return;
	self->delay_id = g_timeout_add(TW_METRICS_DELAY_MS, tw_metrics_delay_cb, self);
}

static void
tw_metrics_apply_config(TwMetrics *self, TwConfig *config)
{
	const gchar *dir = tw_config_get_metrics_dir(config);

	if (g_strcmp0(dir, self->dir) != 0 || self->names != tw_config_get_metrics_names(config))
		g_clear_pointer(&self->last_error, g_free);
	g_free(self->dir);
	self->dir = g_strdup(dir);
	self->names = tw_config_get_metrics_names(config);
	if (self->dir == NULL) {
		g_clear_handle_id(&self->delay_id, g_source_remove);
		g_clear_handle_id(&self->refresh_id, g_source_remove);
		return;
	}
	if (self->refresh_id == 0)
		self->refresh_id =
			g_timeout_add_seconds(TW_METRICS_REFRESH_S, tw_metrics_refresh_cb, self);
	tw_metrics_schedule(self);
}

/**
 * tw_metrics_stop:
 *
 * At the daemon's stop: waits for a write under way, then writes what
 * changed since, in the calling thread; nothing more is written after.
 */
void
tw_metrics_stop(TwMetrics *self)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	gboolean dirty;

	g_return_if_fail(TW_IS_METRICS(self));
	while (self->writing)
		g_main_context_iteration(NULL, TRUE);
	dirty = self->delay_id != 0 || self->again;
	g_clear_handle_id(&self->delay_id, g_source_remove);
	g_clear_handle_id(&self->refresh_id, g_source_remove);
	self->again = FALSE;
	if (self->dir != NULL && dirty) {
		text = tw_metrics_render(self->engine, self->names);
		if (!tw_metrics_write_file(self->dir, text, &error))
			tw_metrics_report(self, error);
	}
	g_clear_pointer(&self->dir, g_free);
}

/* --- what changes ------------------------------------------------------- */

static void
tw_metrics_changed_cb(gpointer user_data)
{
	tw_metrics_schedule(TW_METRICS(user_data));
}

static void
tw_metrics_token_added_cb(TwTokenSet *set, TwToken *token, gpointer user_data)
{
	g_signal_connect_object(token, "changed", G_CALLBACK(tw_metrics_changed_cb), user_data,
				G_CONNECT_SWAPPED);
	tw_metrics_schedule(TW_METRICS(user_data));
}

static void
tw_metrics_certificate_added_cb(TwTokenSet *set, TwCertificate *cert, gpointer user_data)
{
	g_signal_connect_object(cert, "changed", G_CALLBACK(tw_metrics_changed_cb), user_data,
				G_CONNECT_SWAPPED);
	tw_metrics_schedule(TW_METRICS(user_data));
}

static void
tw_metrics_object_cb(GObject *emitter, GObject *object, gpointer user_data)
{
	tw_metrics_schedule(TW_METRICS(user_data));
}

static void
tw_metrics_pcsc_cb(GObject *engine, GParamSpec *pspec, gpointer user_data)
{
	tw_metrics_schedule(TW_METRICS(user_data));
}

static void
tw_metrics_reloaded_cb(TwEngine *engine, TwConfig *config, gpointer user_data)
{
	tw_metrics_apply_config(TW_METRICS(user_data), config);
}

static void
tw_metrics_dispose(GObject *object)
{
	TwMetrics *self = TW_METRICS(object);

	g_cancellable_cancel(self->cancel);
	g_clear_handle_id(&self->delay_id, g_source_remove);
	g_clear_handle_id(&self->refresh_id, g_source_remove);
	if (self->set != NULL)
		g_signal_handlers_disconnect_by_data(self->set, self);
	if (self->engine != NULL)
		g_signal_handlers_disconnect_by_data(self->engine, self);
	g_clear_object(&self->set);
	g_clear_object(&self->engine);
	G_OBJECT_CLASS(tw_metrics_parent_class)->dispose(object);
}

static void
tw_metrics_finalize(GObject *object)
{
	TwMetrics *self = TW_METRICS(object);

	g_free(self->dir);
	g_free(self->last_error);
	g_object_unref(self->cancel);
	G_OBJECT_CLASS(tw_metrics_parent_class)->finalize(object);
}

static void
tw_metrics_init(TwMetrics *self)
{
	self->cancel = g_cancellable_new();
}

static void
tw_metrics_class_init(TwMetricsClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_metrics_dispose;
	object_class->finalize = tw_metrics_finalize;
}

/**
 * tw_metrics_new:
 * @engine: the engine whose tokens and certificates are counted
 *
 * Keeps the metrics file of @engine's configuration up to date while the
 * returned object lives; does nothing while no directory is configured.
 */
TwMetrics *
tw_metrics_new(TwEngine *engine)
{
	TwMetrics *self = g_object_new(TW_TYPE_METRICS, NULL);

	self->engine = g_object_ref(engine);
	self->set = g_object_ref(tw_engine_get_token_set(engine));
	g_signal_connect(self->set, "token-added", G_CALLBACK(tw_metrics_token_added_cb), self);
	g_signal_connect(self->set, "certificate-added",
			 G_CALLBACK(tw_metrics_certificate_added_cb), self);
	g_signal_connect(self->set, "token-removed", G_CALLBACK(tw_metrics_object_cb), self);
	g_signal_connect(self->set, "certificate-removed", G_CALLBACK(tw_metrics_object_cb), self);
	g_signal_connect(self->set, "token-presence-changed", G_CALLBACK(tw_metrics_object_cb),
			 self);
	g_signal_connect(engine, "reader-added", G_CALLBACK(tw_metrics_object_cb), self);
	g_signal_connect(engine, "reader-removed", G_CALLBACK(tw_metrics_object_cb), self);
	g_signal_connect(engine, "notify::pcsc-available", G_CALLBACK(tw_metrics_pcsc_cb), self);
	g_signal_connect(engine, "config-reloaded", G_CALLBACK(tw_metrics_reloaded_cb), self);
	tw_metrics_apply_config(self, tw_engine_get_config(engine));
	return self;
}
