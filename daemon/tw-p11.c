/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The PKCS#11 layer: loads modules through p11-kit and reads what a token
 * shows without login (token info, certificates, public keys). It never logs
 * in, never asks for a PIN, never uses a key, never writes: read-only serial
 * sessions and the public objects they show, nothing else.
 *
 * Every call into a module runs in a worker thread of its own, one per load
 * or read, and every read has a time limit. A module that hangs costs the
 * read that met it a G_IO_ERROR_TIMED_OUT; its worker is left behind with a
 * reference on what it uses, its late result is dropped, and the module is
 * skipped until the worker comes back out of it. The main loop only starts
 * workers and receives their results (g_main_context_invoke).
 *
 * Modules are loaded unmanaged and initialised with C_Initialize(NULL): no
 * locks inside the module, one worker at a time in it (tw_p11_module_enter()
 * says why). A module some other code of this process initialised already
 * is used as it is, and left for that code to finalize.
 */
#define G_LOG_DOMAIN "TwP11"

#include "config.h"

#include <stdlib.h>
#include <string.h>

/* the GNU names: the standard ones come as macros ("value", "count") that
 * would rename this file's identifiers */
#define CRYPTOKI_GNU 1
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include "tw-p11-remote.h"
#include "tw-p11.h"

#define TW_P11_MAX_SLOTS	 4096
#define TW_P11_FIND_BATCH	 64
#define TW_P11_SHUTDOWN_MAX_MS	 5000
#define TW_P11_SHUTDOWN_EXTRA_MS 1000
#define TW_P11_TRUST_MODEL	 "p11-kit-trust"

/* A loaded and initialised module. busy, stuck and finalized are guarded by
 * the static tw_p11_module_lock: a worker left behind in a module may outlive
 * the TwP11 that loaded it. */
typedef struct {
	gchar *name;
	gchar *filename; /* as p11-kit resolved it, to notice a module loaded twice */
	CK_FUNCTION_LIST *funcs;
	guint busy;  /* workers inside the module now */
	guint stuck; /* of those, workers whose read timed out */
	gboolean finalized;
	gboolean borrowed; /* initialised by someone else in this process: not ours to finalize */
	/* slot id → its slotDescription when last read, so that a read for
	 * one reader skips the slots of the others; only the one worker inside
	 * the module touches it */
	GHashTable *slot_readers;
} TwP11Module;

static GMutex tw_p11_module_lock;
static GCond tw_p11_module_cond;

/* worker threads alive, loads and reads: at exit the process must not run
 * library destructors (libpcsclite's, the modules') under one of them */
static GMutex tw_p11_workers_lock;
static GCond tw_p11_workers_cond;
static guint tw_p11_workers;

static void
tw_p11_workers_change(gint delta)
{
	g_mutex_lock(&tw_p11_workers_lock);
	tw_p11_workers = (guint)((gint)tw_p11_workers + delta);
	g_cond_broadcast(&tw_p11_workers_cond);
	g_mutex_unlock(&tw_p11_workers_lock);
}

/**
 * tw_p11_wait_workers:
 * @timeout_ms: the longest wait
 *
 * Waits until no PKCS#11 worker thread runs any more.
 *
 * Returns: TRUE if none runs; FALSE if one still does (a module that hangs)
 */
gboolean
tw_p11_wait_workers(guint timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
	gboolean idle;

	g_mutex_lock(&tw_p11_workers_lock);
	while (tw_p11_workers > 0 &&
	       g_cond_wait_until(&tw_p11_workers_cond, &tw_p11_workers_lock, end))
		;
	idle = tw_p11_workers == 0;
	g_mutex_unlock(&tw_p11_workers_lock);
	return idle;
}

struct _TwP11 {
	GObject parent_instance;
	gboolean use_config;
	GStrv extra_paths;
	guint timeout_ms;
	gint shut_down; /* atomic */

	GMutex lock;	     /* guards everything below */
	GPtrArray *modules;  /* TwP11Module, initialised, in p11-kit's order */
	GHashTable *errors;  /* module name -> why it failed, last time */
	GHashTable *warned;  /* module names already warned about */
	TwP11Remote *remote; /* isolated: the modules run in helper processes */
};

G_DEFINE_TYPE(TwP11, tw_p11, G_TYPE_OBJECT)

typedef enum { TW_P11_JOB_LOAD, TW_P11_JOB_READ } TwP11JobKind;

/* One load or read: shared by the worker, the time-out and the caller. */
typedef struct {
	TwP11 *self;
	TwP11JobKind kind;
	gchar *reader_name;
	GMainContext *context;
	GPtrArray *modules; /* read: the modules loaded when it started */
	GPtrArray *tokens;  /* read: the result */
	gint n_asked;	    /* load: modules asked for (atomic) */
	gint n_loaded;	    /* load: modules initialised (atomic) */
	gint abandoned;	    /* atomic: the caller has its answer, stop */

	/* guarded by tw_p11_module_lock */
	TwP11Module *current; /* the module the worker is in */
	const gchar *call;    /* the function it is in */
	gboolean marked_stuck;

	/* main context only */
	GTask *task; /* NULL once answered */
	GSource *timeout_source;
	GSource *cancel_source;
} TwP11Job;

/* What a read of one token needs at hand. */
typedef struct {
	TwP11Job *job;
	TwP11Module *m;
	ck_session_handle_t session;
	TwP11Token *token;
	guint n_bad_objects;
	gchar *first_object_error;
} TwP11Ctx;

typedef struct {
	ck_attribute_type_t type;
	const gchar *name;
	gboolean optional; /* a module without the attribute means "empty" */
	guchar *data;	   /* NUL-terminated */
	gsize len;
	gboolean have;
	gchar *error;
} TwP11Attr;

static const struct {
	CK_RV rv;
	const gchar *name;
} tw_p11_rv_names[] = {
#define TW_P11_RV(x)  \
	{             \
		x, #x \
	}
	TW_P11_RV(CKR_OK),
	TW_P11_RV(CKR_CANCEL),
	TW_P11_RV(CKR_HOST_MEMORY),
	TW_P11_RV(CKR_SLOT_ID_INVALID),
	TW_P11_RV(CKR_GENERAL_ERROR),
	TW_P11_RV(CKR_FUNCTION_FAILED),
	TW_P11_RV(CKR_ARGUMENTS_BAD),
	TW_P11_RV(CKR_NO_EVENT),
	TW_P11_RV(CKR_NEED_TO_CREATE_THREADS),
	TW_P11_RV(CKR_CANT_LOCK),
	TW_P11_RV(CKR_ATTRIBUTE_READ_ONLY),
	TW_P11_RV(CKR_ATTRIBUTE_SENSITIVE),
	TW_P11_RV(CKR_ATTRIBUTE_TYPE_INVALID),
	TW_P11_RV(CKR_ATTRIBUTE_VALUE_INVALID),
	TW_P11_RV(CKR_ACTION_PROHIBITED),
	TW_P11_RV(CKR_DATA_INVALID),
	TW_P11_RV(CKR_DATA_LEN_RANGE),
	TW_P11_RV(CKR_DEVICE_ERROR),
	TW_P11_RV(CKR_DEVICE_MEMORY),
	TW_P11_RV(CKR_DEVICE_REMOVED),
	TW_P11_RV(CKR_ENCRYPTED_DATA_INVALID),
	TW_P11_RV(CKR_ENCRYPTED_DATA_LEN_RANGE),
	TW_P11_RV(CKR_FUNCTION_CANCELED),
	TW_P11_RV(CKR_FUNCTION_NOT_PARALLEL),
	TW_P11_RV(CKR_FUNCTION_NOT_SUPPORTED),
	TW_P11_RV(CKR_KEY_HANDLE_INVALID),
	TW_P11_RV(CKR_KEY_SIZE_RANGE),
	TW_P11_RV(CKR_KEY_TYPE_INCONSISTENT),
	TW_P11_RV(CKR_KEY_NOT_NEEDED),
	TW_P11_RV(CKR_KEY_CHANGED),
	TW_P11_RV(CKR_KEY_NEEDED),
	TW_P11_RV(CKR_KEY_INDIGESTIBLE),
	TW_P11_RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
	TW_P11_RV(CKR_KEY_NOT_WRAPPABLE),
	TW_P11_RV(CKR_KEY_UNEXTRACTABLE),
	TW_P11_RV(CKR_MECHANISM_INVALID),
	TW_P11_RV(CKR_MECHANISM_PARAM_INVALID),
	TW_P11_RV(CKR_OBJECT_HANDLE_INVALID),
	TW_P11_RV(CKR_OPERATION_ACTIVE),
	TW_P11_RV(CKR_OPERATION_NOT_INITIALIZED),
	TW_P11_RV(CKR_PIN_INCORRECT),
	TW_P11_RV(CKR_PIN_INVALID),
	TW_P11_RV(CKR_PIN_LEN_RANGE),
	TW_P11_RV(CKR_PIN_EXPIRED),
	TW_P11_RV(CKR_PIN_LOCKED),
	TW_P11_RV(CKR_SESSION_CLOSED),
	TW_P11_RV(CKR_SESSION_COUNT),
	TW_P11_RV(CKR_SESSION_HANDLE_INVALID),
	TW_P11_RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
	TW_P11_RV(CKR_SESSION_READ_ONLY),
	TW_P11_RV(CKR_SESSION_EXISTS),
	TW_P11_RV(CKR_SESSION_READ_ONLY_EXISTS),
	TW_P11_RV(CKR_SESSION_READ_WRITE_SO_EXISTS),
	TW_P11_RV(CKR_SIGNATURE_INVALID),
	TW_P11_RV(CKR_SIGNATURE_LEN_RANGE),
	TW_P11_RV(CKR_TEMPLATE_INCOMPLETE),
	TW_P11_RV(CKR_TEMPLATE_INCONSISTENT),
	TW_P11_RV(CKR_TOKEN_NOT_PRESENT),
	TW_P11_RV(CKR_TOKEN_NOT_RECOGNIZED),
	TW_P11_RV(CKR_TOKEN_WRITE_PROTECTED),
	TW_P11_RV(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
	TW_P11_RV(CKR_UNWRAPPING_KEY_SIZE_RANGE),
	TW_P11_RV(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
	TW_P11_RV(CKR_USER_ALREADY_LOGGED_IN),
	TW_P11_RV(CKR_USER_NOT_LOGGED_IN),
	TW_P11_RV(CKR_USER_PIN_NOT_INITIALIZED),
	TW_P11_RV(CKR_USER_TYPE_INVALID),
	TW_P11_RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
	TW_P11_RV(CKR_USER_TOO_MANY_TYPES),
	TW_P11_RV(CKR_WRAPPED_KEY_INVALID),
	TW_P11_RV(CKR_WRAPPED_KEY_LEN_RANGE),
	TW_P11_RV(CKR_WRAPPING_KEY_HANDLE_INVALID),
	TW_P11_RV(CKR_WRAPPING_KEY_SIZE_RANGE),
	TW_P11_RV(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
	TW_P11_RV(CKR_RANDOM_SEED_NOT_SUPPORTED),
	TW_P11_RV(CKR_RANDOM_NO_RNG),
	TW_P11_RV(CKR_DOMAIN_PARAMS_INVALID),
	TW_P11_RV(CKR_CURVE_NOT_SUPPORTED),
	TW_P11_RV(CKR_BUFFER_TOO_SMALL),
	TW_P11_RV(CKR_SAVED_STATE_INVALID),
	TW_P11_RV(CKR_INFORMATION_SENSITIVE),
	TW_P11_RV(CKR_STATE_UNSAVEABLE),
	TW_P11_RV(CKR_CRYPTOKI_NOT_INITIALIZED),
	TW_P11_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
	TW_P11_RV(CKR_MUTEX_BAD),
	TW_P11_RV(CKR_MUTEX_NOT_LOCKED),
	TW_P11_RV(CKR_NEW_PIN_MODE),
	TW_P11_RV(CKR_NEXT_OTP),
	TW_P11_RV(CKR_EXCEEDED_MAX_ITERATIONS),
	TW_P11_RV(CKR_FIPS_SELF_TEST_FAILED),
	TW_P11_RV(CKR_LIBRARY_LOAD_FAILED),
	TW_P11_RV(CKR_PIN_TOO_WEAK),
	TW_P11_RV(CKR_PUBLIC_KEY_INVALID),
	TW_P11_RV(CKR_FUNCTION_REJECTED),
#undef TW_P11_RV
};

/**
 * tw_p11_rv_to_string:
 *
 * Returns: the name of a CK_RV ("CKR_DEVICE_REMOVED"), or a generic name for
 * values PKCS#11 2.40 does not define.
 */
const gchar *
tw_p11_rv_to_string(gulong rv)
{
	for (guint i = 0; i < G_N_ELEMENTS(tw_p11_rv_names); i++) {
		if (tw_p11_rv_names[i].rv == rv)
			return tw_p11_rv_names[i].name;
	}
	return (rv & CKR_VENDOR_DEFINED) ? "CKR_VENDOR_DEFINED" : "unknown CK_RV";
}

/* "C_FindObjects: CKR_DEVICE_REMOVED (0x32)" */
static gchar *
tw_p11_describe_rv(const gchar *call, CK_RV rv)
{
	return g_strdup_printf("%s: %s (0x%lx)", call, tw_p11_rv_to_string(rv), rv);
}

void
tw_p11_object_free(TwP11Object *object)
{
	if (object == NULL)
		return;
	g_clear_pointer(&object->id, g_bytes_unref);
	g_clear_pointer(&object->value, g_bytes_unref);
	g_free(object->label);
	g_free(object->error);
	g_free(object);
}

void
tw_p11_token_free(TwP11Token *token)
{
	if (token == NULL)
		return;
	g_free(token->module);
	g_free(token->module_path);
	g_free(token->slot_description);
	g_free(token->label);
	g_free(token->manufacturer);
	g_free(token->model);
	g_free(token->serial);
	g_clear_pointer(&token->certificates, g_ptr_array_unref);
	g_clear_pointer(&token->public_keys, g_ptr_array_unref);
	g_free(token->error);
	g_free(token);
}

static TwP11Module *
tw_p11_module_new(const gchar *name, CK_FUNCTION_LIST *funcs)
{
	TwP11Module *m = g_atomic_rc_box_new0(TwP11Module);
	char *filename = p11_kit_module_get_filename(funcs);

	m->name = g_strdup(name);
	m->filename = g_strdup(filename);
	m->funcs = funcs;
	m->slot_readers = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	free(filename);
	return m;
}

static void
tw_p11_module_clear(gpointer data)
{
	TwP11Module *m = data;

	g_free(m->name);
	g_free(m->filename);
	g_hash_table_unref(m->slot_readers);
}

static void
tw_p11_module_unref(gpointer data)
{
	g_atomic_rc_box_release_full(data, tw_p11_module_clear);
}

static gboolean
tw_p11_stopping(TwP11Job *job)
{
	return g_atomic_int_get(&job->abandoned) || g_atomic_int_get(&job->self->shut_down);
}

/* Record why a module failed; warns once per module, debug after that. */
static void
tw_p11_set_module_error(TwP11 *self, const gchar *module, const gchar *error)
{
	gboolean first;

	g_mutex_lock(&self->lock);
	g_hash_table_replace(self->errors, g_strdup(module), g_strdup(error));
	first = g_hash_table_add(self->warned, g_strdup(module));
	g_mutex_unlock(&self->lock);
	if (first)
		g_warning("PKCS#11 module %s: %s", module, error);
	else
		g_debug("PKCS#11 module %s: %s", module, error);
}

static void
tw_p11_clear_module_error(TwP11 *self, const gchar *module)
{
	g_mutex_lock(&self->lock);
	g_hash_table_remove(self->errors, module);
	g_mutex_unlock(&self->lock);
}

/* worker: the function the worker is about to call, for the time-out message */
static void
tw_p11_job_set_call(TwP11Job *job, const gchar *call)
{
	g_mutex_lock(&tw_p11_module_lock);
	job->call = call;
	g_mutex_unlock(&tw_p11_module_lock);
}

static CK_RV
tw_p11_job_end_call(TwP11Job *job, CK_RV rv)
{
	tw_p11_job_set_call(job, NULL);
	return rv;
}

#define TW_P11_CALL(ctx, fn, ...)              \
	(tw_p11_job_set_call((ctx)->job, #fn), \
	 tw_p11_job_end_call((ctx)->job, (ctx)->m->funcs->fn(__VA_ARGS__)))

/* worker: go into a module; FALSE when it is finalized or a worker of a
 * timed-out read still hangs in it.
 *
 * One worker at a time in a module: modules are initialised with
 * C_Initialize(NULL), which tells them that no two threads call them at
 * once, so they take no locks of their own. OpenSC 0.23 deadlocks itself
 * when it is given locks (sc_unlock() re-takes a mutex it holds after a
 * quick card swap), and OpenSC serialises its card work behind one lock
 * anyway: little is lost. */
static gboolean
tw_p11_module_enter(TwP11Job *job, TwP11Module *m)
{
	gboolean ok;

	g_mutex_lock(&tw_p11_module_lock);
	while (m->busy > 0 && m->stuck == 0 && !m->finalized && !tw_p11_stopping(job))
		g_cond_wait_until(&tw_p11_module_cond, &tw_p11_module_lock,
				  g_get_monotonic_time() + 100 * G_TIME_SPAN_MILLISECOND);
	ok = !m->finalized && m->stuck == 0 && m->busy == 0 && !tw_p11_stopping(job);
	if (ok) {
		m->busy++;
		job->current = m;
	}
	g_mutex_unlock(&tw_p11_module_lock);
	if (!ok)
		g_debug("skipping module %s: %s", m->name,
			m->finalized   ? "finalized"
			: m->stuck > 0 ? "it still hangs in an earlier read"
				       : "the read was given up");
	return ok;
}

static void
tw_p11_module_leave(TwP11Job *job, TwP11Module *m)
{
	g_mutex_lock(&tw_p11_module_lock);
	m->busy--;
	if (job->marked_stuck) {
		m->stuck--;
		job->marked_stuck = FALSE;
		g_debug("module %s answered again after its read timed out", m->name);
	}
	job->current = NULL;
	job->call = NULL;
	g_cond_broadcast(&tw_p11_module_cond);
	g_mutex_unlock(&tw_p11_module_lock);
}

static gchar *
tw_p11_trim(const guchar *field, gsize size)
{
	gsize len = size;

	while (len > 0 && (field[len - 1] == ' ' || field[len - 1] == '\0'))
		len--;
	return g_strndup((const gchar *)field, len);
}

static guint64
tw_p11_memory(gulong value)
{
	return value == CK_UNAVAILABLE_INFORMATION ? 0 : value;
}

/* ---- reading objects ---------------------------------------------------- */

/* Stop reading the token: the module failed in a way that is not about one
 * object. Always returns FALSE. */
static gboolean
tw_p11_ctx_fail(TwP11Ctx *ctx, const gchar *call, CK_RV rv)
{
	gboolean removed = rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT ||
			   rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED;
	g_autofree gchar *what = tw_p11_describe_rv(call, rv);

	if (ctx->token->error == NULL)
		ctx->token->error = g_strdup_printf("%s%s", removed ? "token removed: " : "", what);
	return FALSE;
}

static gboolean
tw_p11_rv_is_per_attribute(CK_RV rv)
{
	return rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID;
}

/* The module could not give this attribute. */
static void
tw_p11_attr_unavailable(TwP11Attr *attr, CK_RV rv)
{
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID && attr->optional) {
		attr->have = TRUE; /* absent means empty */
		return;
	}
	if (attr->error == NULL && rv == CKR_OK)
		attr->error = g_strdup_printf("%s: unavailable", attr->name);
	else if (attr->error == NULL)
		attr->error = g_strdup_printf("%s: %s", attr->name, tw_p11_rv_to_string(rv));
}

static void
tw_p11_attrs_fail_all(TwP11Attr *attrs, guint n, const gchar *why)
{
	for (guint i = 0; i < n; i++) {
		if (attrs[i].error == NULL && !attrs[i].have)
			attrs[i].error = g_strdup_printf("%s: %s", attrs[i].name, why);
	}
}

/* Second call of the two-call pattern: the values, into buffers sized by the
 * first. Returns FALSE when the token cannot be read further. */
static gboolean
tw_p11_get_attr_values(TwP11Ctx *ctx, ck_object_handle_t obj, TwP11Attr **sel, guint n)
{
	struct ck_attribute tmpl[4];
	CK_RV rv;

	for (guint j = 0; j < n; j++) {
		tmpl[j].type = sel[j]->type;
		tmpl[j].value = sel[j]->data;
		tmpl[j].value_len = sel[j]->len;
	}
	rv = TW_P11_CALL(ctx, C_GetAttributeValue, ctx->session, obj, tmpl, n);
	if (rv == CKR_BUFFER_TOO_SMALL || rv == CKR_OBJECT_HANDLE_INVALID) {
		g_autofree gchar *why = tw_p11_describe_rv("C_GetAttributeValue", rv);

		for (guint j = 0; j < n; j++)
			sel[j]->error = g_strdup_printf("%s: %s", sel[j]->name, why);
		return TRUE;
	}
	if (rv != CKR_OK && !tw_p11_rv_is_per_attribute(rv))
		return tw_p11_ctx_fail(ctx, "C_GetAttributeValue", rv);
	for (guint j = 0; j < n; j++) {
		gulong len = tmpl[j].value_len;

		if (len == CK_UNAVAILABLE_INFORMATION) {
			tw_p11_attr_unavailable(sel[j], rv);
		} else if (len > sel[j]->len) {
			sel[j]->error = g_strdup_printf("%s: the module reported %lu bytes in a "
							"buffer of %" G_GSIZE_FORMAT,
							sel[j]->name, len, sel[j]->len);
		} else {
			sel[j]->len = len;
			sel[j]->data[len] = '\0';
			sel[j]->have = TRUE;
		}
	}
	return TRUE;
}

/* C_GetAttributeValue with the two-call pattern, defensive about lengths.
 * Returns FALSE when the token cannot be read further; problems with single
 * attributes go in attrs[i].error. */
static gboolean
tw_p11_get_attrs(TwP11Ctx *ctx, ck_object_handle_t obj, TwP11Attr *attrs, guint n)
{
	struct ck_attribute tmpl[4];
	TwP11Attr *sel[4];
	guint n_sel = 0;
	CK_RV rv;

	g_return_val_if_fail(n <= G_N_ELEMENTS(tmpl), FALSE);
	for (guint i = 0; i < n; i++) {
		tmpl[i].type = attrs[i].type;
		tmpl[i].value = NULL;
		tmpl[i].value_len = 0;
	}
	rv = TW_P11_CALL(ctx, C_GetAttributeValue, ctx->session, obj, tmpl, n);
	if (tw_p11_rv_is_per_attribute(rv) && n > 1) {
		/* which one? modules differ in what they fill in: ask one by one */
		for (guint i = 0; i < n; i++) {
			if (!tw_p11_get_attrs(ctx, obj, &attrs[i], 1))
				return FALSE;
		}
		return TRUE;
	}
	if (rv == CKR_OBJECT_HANDLE_INVALID) {
		g_autofree gchar *why = tw_p11_describe_rv("C_GetAttributeValue", rv);

		tw_p11_attrs_fail_all(attrs, n, why);
		return TRUE;
	}
	if (rv != CKR_OK && !tw_p11_rv_is_per_attribute(rv))
		return tw_p11_ctx_fail(ctx, "C_GetAttributeValue", rv);

	for (guint i = 0; i < n; i++) {
		gulong len = tmpl[i].value_len;

		if (rv != CKR_OK || len == CK_UNAVAILABLE_INFORMATION) {
			tw_p11_attr_unavailable(&attrs[i], rv);
		} else if (len > TW_P11_MAX_ATTRIBUTE_LEN) {
			attrs[i].error = g_strdup_printf("%s: a length of %lu bytes is absurd",
							 attrs[i].name, len);
		} else {
			attrs[i].len = len;
			attrs[i].data = g_malloc0(len + 1);
			sel[n_sel++] = &attrs[i];
		}
	}
	if (n_sel == 0)
		return TRUE;
	return tw_p11_get_attr_values(ctx, obj, sel, n_sel);
}

static GBytes *
tw_p11_attr_steal_bytes(TwP11Attr *attr)
{
	if (!attr->have)
		return NULL;
	return g_bytes_new_take(g_steal_pointer(&attr->data), attr->len);
}

static void
tw_p11_object_add_error(TwP11Ctx *ctx, TwP11Object *object, const gchar *klass)
{
	g_autofree gchar *id = NULL;

	ctx->n_bad_objects++;
	if (ctx->first_object_error != NULL)
		return;
	if (object->id != NULL) {
		gsize len = 0;
		const guint8 *data = g_bytes_get_data(object->id, &len);
		GString *hex = g_string_new(NULL);

		for (gsize i = 0; i < len && i < 32; i++)
			g_string_append_printf(hex, "%02x", data[i]);
		id = g_string_free(hex, FALSE);
	}
	ctx->first_object_error =
		g_strdup_printf("%s with id '%s': %s", klass, id != NULL ? id : "?", object->error);
}

/* Returns NULL when the token cannot be read further. */
static TwP11Object *
tw_p11_read_object(TwP11Ctx *ctx, ck_object_handle_t obj, gboolean certificate)
{
	TwP11Attr attrs[] = {
		{CKA_ID, "CKA_ID", TRUE, NULL, 0, FALSE, NULL},
		{CKA_LABEL, "CKA_LABEL", TRUE, NULL, 0, FALSE, NULL},
		{CKA_VALUE, "CKA_VALUE", FALSE, NULL, 0, FALSE, NULL},
	};
	g_autoptr(TwP11Object) object = g_new0(TwP11Object, 1);
	g_autoptr(GPtrArray) errors = g_ptr_array_new();
	gboolean ok = tw_p11_get_attrs(ctx, obj, attrs, certificate ? 3 : 2);

	if (ok) {
		object->id = tw_p11_attr_steal_bytes(&attrs[0]);
		object->label = g_strdup(
			attrs[1].data != NULL && attrs[1].have ? (const gchar *)attrs[1].data : "");
		if (object->id == NULL)
			object->id = g_bytes_new(NULL, 0);
		if (certificate && attrs[2].have && attrs[2].len == 0)
			attrs[2].error = g_strdup("CKA_VALUE: empty");
		else if (certificate)
			object->value = tw_p11_attr_steal_bytes(&attrs[2]);
		for (guint i = 0; i < G_N_ELEMENTS(attrs); i++) {
			if (attrs[i].error != NULL)
				g_ptr_array_add(errors, attrs[i].error);
		}
		if (errors->len > 0) {
			g_ptr_array_add(errors, NULL);
			object->error = g_strjoinv("; ", (gchar **)errors->pdata);
			tw_p11_object_add_error(ctx, object,
						certificate ? "certificate" : "public key");
		}
	}
	for (guint i = 0; i < G_N_ELEMENTS(attrs); i++) {
		g_free(attrs[i].data);
		g_free(attrs[i].error);
	}
	return ok ? g_steal_pointer(&object) : NULL;
}

/* The handles of every object of a class, at most TW_P11_MAX_OBJECTS. */
static gboolean
tw_p11_find(TwP11Ctx *ctx, ck_object_class_t klass, GArray *handles, gboolean *more)
{
	ck_object_class_t klass_value = klass;
	ck_certificate_type_t cert_type = CKC_X_509;
	struct ck_attribute tmpl[] = {
		{CKA_CLASS, &klass_value, sizeof(klass_value)},
		{CKA_CERTIFICATE_TYPE, &cert_type, sizeof(cert_type)},
	};
	const gchar *failed = NULL;
	CK_RV rv;

	rv = TW_P11_CALL(ctx, C_FindObjectsInit, ctx->session, tmpl,
			 klass == CKO_CERTIFICATE ? 2 : 1);
	if (rv != CKR_OK)
		return tw_p11_ctx_fail(ctx, "C_FindObjectsInit", rv);
	while (!tw_p11_stopping(ctx->job)) {
		ck_object_handle_t batch[TW_P11_FIND_BATCH];
		gulong want = MIN(TW_P11_FIND_BATCH, TW_P11_MAX_OBJECTS + 1 - handles->len);
		gulong got = 0;

		rv = TW_P11_CALL(ctx, C_FindObjects, ctx->session, batch, want, &got);
		if (rv == CKR_OK && got > want)
			rv = CKR_GENERAL_ERROR; /* wrote past what it was given: give up */
		if (rv != CKR_OK) {
			failed = "C_FindObjects";
			break;
		}
		if (got == 0)
			break;
		if (handles->len + got > TW_P11_MAX_OBJECTS) {
			g_array_append_vals(handles, batch, TW_P11_MAX_OBJECTS - handles->len);
			*more = TRUE;
			break;
		}
		g_array_append_vals(handles, batch, got);
	}
	TW_P11_CALL(ctx, C_FindObjectsFinal, ctx->session);
	if (failed != NULL)
		return tw_p11_ctx_fail(ctx, failed, rv);
	return TRUE;
}

static gboolean
tw_p11_read_class(TwP11Ctx *ctx, ck_object_class_t klass, GPtrArray *out)
{
	g_autoptr(GArray) handles = g_array_new(FALSE, FALSE, sizeof(ck_object_handle_t));
	gboolean certificate = klass == CKO_CERTIFICATE;
	gboolean more = FALSE;

	if (!tw_p11_find(ctx, klass, handles, &more))
		return FALSE;
	if (more && ctx->token->error == NULL)
		ctx->token->error = g_strdup_printf(
			"more than %u %s: only the first %u were read", TW_P11_MAX_OBJECTS,
			certificate ? "certificates" : "public keys", TW_P11_MAX_OBJECTS);
	for (guint i = 0; i < handles->len; i++) {
		TwP11Object *object;

		if (tw_p11_stopping(ctx->job))
			return FALSE;
		object = tw_p11_read_object(ctx, g_array_index(handles, ck_object_handle_t, i),
					    certificate);
		if (object == NULL)
			return FALSE;
		g_ptr_array_add(out, object);
	}
	return TRUE;
}

static void
tw_p11_read_objects(TwP11Job *job, TwP11Module *m, ck_slot_id_t slot, TwP11Token *token)
{
	TwP11Ctx ctx = {job, m, 0, token, 0, NULL};
	CK_RV rv;

	/* read-only, public: CKF_SERIAL_SESSION and nothing else, and no login */
	rv = TW_P11_CALL(&ctx, C_OpenSession, slot, CKF_SERIAL_SESSION, NULL, NULL, &ctx.session);
	if (rv != CKR_OK) {
		tw_p11_ctx_fail(&ctx, "C_OpenSession", rv);
		return;
	}
	if (tw_p11_read_class(&ctx, CKO_CERTIFICATE, token->certificates))
		tw_p11_read_class(&ctx, CKO_PUBLIC_KEY, token->public_keys);
	rv = TW_P11_CALL(&ctx, C_CloseSession, ctx.session);
	if (rv != CKR_OK)
		g_debug("%s: C_CloseSession: %s", m->name, tw_p11_rv_to_string(rv));
	if (token->error == NULL && tw_p11_stopping(job))
		token->error = g_strdup("the read was abandoned");
	if (token->error == NULL && ctx.n_bad_objects > 0)
		token->error =
			g_strdup_printf("%u object(s) could not be read whole; the first: %s",
					ctx.n_bad_objects, ctx.first_object_error);
	g_free(ctx.first_object_error);
}

/* ---- reading slots and modules ------------------------------------------ */

static TwP11Token *
tw_p11_token_new(TwP11Module *m, ck_slot_id_t slot)
{
	TwP11Token *token = g_new0(TwP11Token, 1);

	token->module = g_strdup(m->name);
	token->module_path = g_strdup(m->filename != NULL ? m->filename : "");
	token->slot_id = slot;
	token->slot_description = g_strdup("");
	token->label = g_strdup("");
	token->manufacturer = g_strdup("");
	token->model = g_strdup("");
	token->serial = g_strdup("");
	token->certificates = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_object_free);
	token->public_keys = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_object_free);
	return token;
}

static void
tw_p11_token_set_info(TwP11Token *token, const struct ck_token_info *ti)
{
	g_free(token->label);
	g_free(token->manufacturer);
	g_free(token->model);
	g_free(token->serial);
	token->label = tw_p11_trim(ti->label, sizeof(ti->label));
	token->manufacturer = tw_p11_trim(ti->manufacturer_id, sizeof(ti->manufacturer_id));
	token->model = tw_p11_trim(ti->model, sizeof(ti->model));
	token->serial = tw_p11_trim(ti->serial_number, sizeof(ti->serial_number));
	token->flags = ti->flags;
	token->total_public_memory = tw_p11_memory(ti->total_public_memory);
	token->free_public_memory = tw_p11_memory(ti->free_public_memory);
	token->total_private_memory = tw_p11_memory(ti->total_private_memory);
	token->free_private_memory = tw_p11_memory(ti->free_private_memory);
}

/* Returns NULL when the slot has no token for this read. */
static TwP11Token *
tw_p11_read_slot(TwP11Job *job, TwP11Module *m, ck_slot_id_t slot)
{
	TwP11Ctx ctx = {job, m, 0, NULL, 0, NULL};
	g_autoptr(TwP11Token) token = tw_p11_token_new(m, slot);
	struct ck_slot_info si;
	struct ck_token_info ti;
	gint64 start = g_get_monotonic_time();
	CK_RV rv;

	memset(&si, 0, sizeof(si));
	memset(&ti, 0, sizeof(ti));
	ctx.token = token;
	rv = TW_P11_CALL(&ctx, C_GetSlotInfo, slot, &si);
	if (rv != CKR_OK) {
		g_debug("%s: slot 0x%lx: C_GetSlotInfo: %s", m->name, slot,
			tw_p11_rv_to_string(rv));
		if (job->reader_name != NULL || rv == CKR_SLOT_ID_INVALID)
			return NULL; /* cannot tell its reader; or it went away */
		tw_p11_ctx_fail(&ctx, "C_GetSlotInfo", rv);
		return g_steal_pointer(&token);
	}
	g_free(token->slot_description);
	token->slot_description = tw_p11_trim(si.slot_description, sizeof(si.slot_description));
	token->slot_flags = si.flags;
	g_hash_table_insert(m->slot_readers, g_memdup2(&(gint64){(gint64)slot}, sizeof(gint64)),
			    g_strdup(token->slot_description));
	if (job->reader_name != NULL && g_strcmp0(token->slot_description, job->reader_name) != 0)
		return NULL;
	if (!(si.flags & CKF_TOKEN_PRESENT))
		return NULL;

	rv = TW_P11_CALL(&ctx, C_GetTokenInfo, slot, &ti);
	if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED || rv == CKR_SLOT_ID_INVALID) {
		g_debug("%s: slot 0x%lx: the token went away", m->name, slot);
		return NULL;
	}
	if (rv != CKR_OK) {
		tw_p11_ctx_fail(&ctx, "C_GetTokenInfo", rv);
		return g_steal_pointer(&token);
	}
	tw_p11_token_set_info(token, &ti);
	if (g_strcmp0(token->model, TW_P11_TRUST_MODEL) == 0) {
		g_debug("%s: slot 0x%lx: skipping a trust-policy token", m->name, slot);
		return NULL;
	}
	/* a blank token (SoftHSM's free slot, a card never personalised) has
	 * nothing to list, and some modules refuse a session on it */
	if (ti.flags & CKF_TOKEN_INITIALIZED)
		tw_p11_read_objects(job, m, slot, token);
	g_debug("%s: slot 0x%lx: %u certificates, %u public keys in %.1f ms%s%s", m->name, slot,
		token->certificates->len, token->public_keys->len,
		(g_get_monotonic_time() - start) / 1000.0, token->error != NULL ? ": " : "",
		token->error != NULL ? token->error : "");
	return g_steal_pointer(&token);
}

/* C_GetSlotList(CK_TRUE): OpenSC also looks for new cards in it. */
static gboolean
tw_p11_get_slot_list(TwP11Ctx *ctx, GArray *slots, gchar **error)
{
	CK_RV rv = CKR_OK;

	for (guint attempt = 0; attempt < 3; attempt++) {
		gulong n = 0;
		gulong got;

		rv = TW_P11_CALL(ctx, C_GetSlotList, 1, NULL, &n);
		if (rv != CKR_OK)
			break;
		if (n > TW_P11_MAX_SLOTS) {
			*error = g_strdup_printf("C_GetSlotList: %lu slots is absurd", n);
			return FALSE;
		}
		got = n;
		g_array_set_size(slots, n);
		if (n == 0)
			return TRUE;
		rv = TW_P11_CALL(ctx, C_GetSlotList, 1, (ck_slot_id_t *)(gpointer)slots->data,
				 &got);
		if (rv == CKR_BUFFER_TOO_SMALL)
			continue; /* a reader came meanwhile */
		if (rv == CKR_OK && got > n)
			rv = CKR_GENERAL_ERROR;
		if (rv != CKR_OK)
			break;
		g_array_set_size(slots, got);
		return TRUE;
	}
	*error = tw_p11_describe_rv("C_GetSlotList", rv);
	return FALSE;
}

static void
tw_p11_read_module(TwP11Job *job, TwP11Module *m)
{
	TwP11Ctx ctx = {job, m, 0, NULL, 0, NULL};
	g_autoptr(GArray) slots = g_array_new(FALSE, TRUE, sizeof(ck_slot_id_t));
	g_autoptr(GArray) later = g_array_new(FALSE, FALSE, sizeof(gint64));
	guint found = job->tokens->len;
	g_autofree gchar *error = NULL;

	if (!tw_p11_get_slot_list(&ctx, slots, &error)) {
		tw_p11_set_module_error(job->self, m->name, error);
		return;
	}
	tw_p11_clear_module_error(job->self, m->name);
	/* a read for one reader: the slots last seen in other readers wait */
	for (guint i = 0; i < slots->len && !tw_p11_stopping(job); i++) {
		gint64 slot = (gint64)g_array_index(slots, ck_slot_id_t, i);
		const gchar *seen_in = g_hash_table_lookup(m->slot_readers, &slot);
		TwP11Token *token;

		if (job->reader_name != NULL && seen_in != NULL &&
		    g_strcmp0(seen_in, job->reader_name) != 0) {
			g_array_append_val(later, slot);
			continue;
		}
		token = tw_p11_read_slot(job, m, (ck_slot_id_t)slot);
		if (token != NULL)
			g_ptr_array_add(job->tokens, token);
	}
	/* nothing found where it was expected: the slots may have moved (a
	 * reader came or went), so look at the others after all */
	if (job->tokens->len > found)
		return;
	for (guint i = 0; i < later->len && !tw_p11_stopping(job); i++) {
		TwP11Token *token =
			tw_p11_read_slot(job, m, (ck_slot_id_t)g_array_index(later, gint64, i));

		if (token != NULL)
			g_ptr_array_add(job->tokens, token);
	}
}

static void
tw_p11_read_all(TwP11Job *job)
{
	gint64 start = g_get_monotonic_time();

	for (guint i = 0; i < job->modules->len && !tw_p11_stopping(job); i++) {
		TwP11Module *m = g_ptr_array_index(job->modules, i);

		if (!tw_p11_module_enter(job, m))
			continue;
		tw_p11_read_module(job, m);
		tw_p11_module_leave(job, m);
	}
	g_debug("read %u tokens%s%s in %.1f ms", job->tokens->len,
		job->reader_name != NULL ? " in " : "",
		job->reader_name != NULL ? job->reader_name : "",
		(g_get_monotonic_time() - start) / 1000.0);
}

/* ---- loading ------------------------------------------------------------ */

static gboolean
tw_p11_has_module_file(TwP11 *self, const gchar *filename)
{
	gboolean found = FALSE;

	g_mutex_lock(&self->lock);
	for (guint i = 0; filename != NULL && i < self->modules->len; i++) {
		TwP11Module *m = g_ptr_array_index(self->modules, i);

		found = found || g_strcmp0(m->filename, filename) == 0;
	}
	g_mutex_unlock(&self->lock);
	return found;
}

static void
tw_p11_fail_load(TwP11 *self, const gchar *name, const gchar *what, const gchar *why)
{
	g_autofree gchar *error = g_strdup_printf("%s: %s", what, why != NULL ? why : "failed");

	tw_p11_set_module_error(self, name, error);
}

/* worker: C_Initialize a loaded module and make it available to reads */
static void
tw_p11_init_module(TwP11Job *job, CK_FUNCTION_LIST *funcs, const gchar *name)
{
	TwP11 *self = job->self;
	TwP11Module *m = tw_p11_module_new(name, funcs);
	gboolean keep;
	CK_RV rv;

	g_atomic_int_inc(&job->n_asked);
	if (tw_p11_has_module_file(self, m->filename)) {
		g_debug("module %s: %s is loaded already", name, m->filename);
		g_atomic_int_inc(&job->n_loaded);
		p11_kit_module_release(funcs);
		tw_p11_module_unref(m);
		return;
	}
	g_mutex_lock(&tw_p11_module_lock);
	job->current = m;
	job->call = "C_Initialize";
	g_mutex_unlock(&tw_p11_module_lock);
	rv = p11_kit_module_initialize(funcs);
	g_mutex_lock(&tw_p11_module_lock);
	job->current = NULL;
	job->call = NULL;
	g_mutex_unlock(&tw_p11_module_lock);
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		g_debug("module %s was initialised by someone else in this process", name);
		m->borrowed = TRUE;
		rv = CKR_OK;
	}
	if (rv != CKR_OK) {
		g_autofree gchar *why = tw_p11_describe_rv("C_Initialize", rv);

		tw_p11_set_module_error(self, name, why);
		p11_kit_module_release(funcs);
		tw_p11_module_unref(m);
		return;
	}

	g_mutex_lock(&self->lock);
	keep = !g_atomic_int_get(&self->shut_down);
	if (keep) {
		g_ptr_array_add(self->modules, m);
		g_hash_table_remove(self->errors, name);
	}
	g_mutex_unlock(&self->lock);
	if (!keep) {
		/* shut down while it initialised */
		if (!m->borrowed)
			p11_kit_module_finalize(funcs);
		p11_kit_module_release(funcs);
		tw_p11_module_unref(m);
		return;
	}
	g_atomic_int_inc(&job->n_loaded);
	g_debug("module %s loaded (%s)", name, m->filename != NULL ? m->filename : "?");
}

static gboolean
tw_p11_is_trust_policy(CK_FUNCTION_LIST *funcs)
{
	char *value = p11_kit_config_option(funcs, "trust-policy");
	gboolean yes = value != NULL && (g_ascii_strcasecmp(value, "yes") == 0 ||
					 g_ascii_strcasecmp(value, "true") == 0);

	free(value);
	return yes;
}

static void
tw_p11_load_config(TwP11Job *job)
{
	CK_FUNCTION_LIST **list = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED);

	if (list == NULL) {
		g_atomic_int_inc(&job->n_asked);
		tw_p11_fail_load(job->self, "p11-kit", "loading the configured modules",
				 p11_kit_message());
		return;
	}
	for (guint i = 0; list[i] != NULL && !g_atomic_int_get(&job->self->shut_down); i++) {
		char *config_name = p11_kit_module_get_name(list[i]);
		g_autofree gchar *name = g_strdup(config_name != NULL ? config_name : "?");

		free(config_name);
		if (tw_p11_is_trust_policy(list[i])) {
			g_debug("skipping the trust-policy module %s", name);
			p11_kit_module_release(list[i]);
			continue;
		}
		tw_p11_init_module(job, list[i], name);
	}
	/* the modules are ours or released; the array is p11-kit's malloc() */
	free(list);
}

static void
tw_p11_load_all(TwP11Job *job)
{
	TwP11 *self = job->self;
	gint64 start = g_get_monotonic_time();

	if (self->use_config)
		tw_p11_load_config(job);
	for (guint i = 0; self->extra_paths[i] != NULL && !g_atomic_int_get(&self->shut_down);
	     i++) {
		const gchar *path = self->extra_paths[i];
		CK_FUNCTION_LIST *funcs = p11_kit_module_load(path, P11_KIT_MODULE_UNMANAGED);

		if (funcs == NULL) {
			g_atomic_int_inc(&job->n_asked);
			tw_p11_fail_load(self, path, "loading", p11_kit_message());
			continue;
		}
		tw_p11_init_module(job, funcs, path);
	}
	g_debug("%d of %d modules loaded in %.1f ms", g_atomic_int_get(&job->n_loaded),
		g_atomic_int_get(&job->n_asked), (g_get_monotonic_time() - start) / 1000.0);
}

/* ---- jobs: a worker, a time limit, an answer on the main context --------- */

static TwP11Job *
tw_p11_job_ref(TwP11Job *job)
{
	return g_atomic_rc_box_acquire(job);
}

static void
tw_p11_job_clear(gpointer data)
{
	TwP11Job *job = data;

	g_object_unref(job->self);
	g_free(job->reader_name);
	g_clear_pointer(&job->modules, g_ptr_array_unref);
	g_clear_pointer(&job->tokens, g_ptr_array_unref);
	g_main_context_unref(job->context);
}

static void
tw_p11_job_unref(gpointer data)
{
	g_atomic_rc_box_release_full(data, tw_p11_job_clear);
}

static void
tw_p11_clear_source(GSource **source)
{
	if (*source == NULL)
		return;
	g_source_destroy(*source);
	g_clear_pointer(source, g_source_unref);
}

/* main context: give the caller its answer, once */
static void
tw_p11_job_answer(TwP11Job *job, GError *error)
{
	g_autoptr(GTask) task = g_steal_pointer(&job->task);

	g_atomic_int_set(&job->abandoned, TRUE);
	tw_p11_clear_source(&job->timeout_source);
	tw_p11_clear_source(&job->cancel_source);
	if (error != NULL)
		g_task_return_error(task, error);
	else if (job->kind == TW_P11_JOB_READ)
		g_task_return_pointer(task, g_steal_pointer(&job->tokens),
				      (GDestroyNotify)g_ptr_array_unref);
	else
		g_task_return_boolean(task, TRUE);
}

static gboolean
tw_p11_job_deliver_cb(gpointer user_data)
{
	TwP11Job *job = user_data;
	gint asked = g_atomic_int_get(&job->n_asked);

	if (job->task == NULL) {
		g_debug("dropping the late result of an abandoned %s",
			job->kind == TW_P11_JOB_READ ? "read" : "load");
		return G_SOURCE_REMOVE;
	}
	if (job->kind == TW_P11_JOB_LOAD && asked > 0 && g_atomic_int_get(&job->n_loaded) == 0)
		tw_p11_job_answer(job, g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED,
						   "none of the %d PKCS#11 modules could be loaded",
						   asked));
	else
		tw_p11_job_answer(job, NULL);
	return G_SOURCE_REMOVE;
}

static gboolean
tw_p11_job_timeout_cb(gpointer user_data)
{
	TwP11Job *job = user_data;
	guint timeout_ms = job->self->timeout_ms;
	g_autofree gchar *module = NULL;
	g_autofree gchar *msg = NULL;
	const gchar *call = NULL;

	g_mutex_lock(&tw_p11_module_lock);
	if (job->current != NULL) {
		module = g_strdup(job->current->name);
		call = job->call;
		if (job->kind == TW_P11_JOB_READ && !job->marked_stuck) {
			job->current->stuck++;
			job->marked_stuck = TRUE;
		}
	}
	g_mutex_unlock(&tw_p11_module_lock);

	msg = g_strdup_printf("%s did not return within %u ms", call != NULL ? call : "PKCS#11",
			      timeout_ms);
	if (module != NULL)
		tw_p11_set_module_error(job->self, module, msg);
	if (job->kind == TW_P11_JOB_LOAD && g_atomic_int_get(&job->n_loaded) > 0)
		tw_p11_job_answer(job, NULL); /* what did load is usable */
	else
		tw_p11_job_answer(job, g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
						   "PKCS#11 %s timed out: %s%s%s",
						   job->kind == TW_P11_JOB_READ ? "read" : "load",
						   module != NULL ? module : "", module ? ": " : "",
						   msg));
	return G_SOURCE_REMOVE;
}

static gboolean
tw_p11_job_cancelled_cb(GCancellable *cancellable, gpointer user_data)
{
	TwP11Job *job = user_data;

	tw_p11_job_answer(job, g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED,
						   "PKCS#11 operation cancelled"));
	return G_SOURCE_REMOVE;
}

static gpointer
tw_p11_job_thread(gpointer user_data)
{
	TwP11Job *job = user_data;

	if (job->kind == TW_P11_JOB_LOAD)
		tw_p11_load_all(job);
	else
		tw_p11_read_all(job);
	/* the thread's reference goes with the result */
	g_main_context_invoke_full(job->context, G_PRIORITY_DEFAULT, tw_p11_job_deliver_cb, job,
				   tw_p11_job_unref);
	tw_p11_workers_change(-1);
	return NULL;
}

static void
tw_p11_job_start(TwP11 *self,
		 TwP11JobKind kind,
		 const gchar *reader_name,
		 GCancellable *cancellable,
		 GAsyncReadyCallback callback,
		 gpointer user_data,
		 gpointer source_tag)
{
	TwP11Job *job = g_atomic_rc_box_new0(TwP11Job);
	g_autoptr(GError) error = NULL;
	GThread *thread;

	job->self = g_object_ref(self);
	job->kind = kind;
	job->reader_name = g_strdup(reader_name);
	job->task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(job->task, source_tag);
	job->context = g_main_context_ref(g_task_get_context(job->task));
	if (kind == TW_P11_JOB_READ) {
		job->tokens = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_token_free);
		g_mutex_lock(&self->lock);
		job->modules = g_ptr_array_new_with_free_func(tw_p11_module_unref);
		for (guint i = 0; i < self->modules->len; i++)
			g_ptr_array_add(job->modules, g_atomic_rc_box_acquire(
							      g_ptr_array_index(self->modules, i)));
		g_mutex_unlock(&self->lock);
	}

	job->timeout_source = g_timeout_source_new(self->timeout_ms);
	g_source_set_static_name(job->timeout_source, "[tw-p11] time-out");
	g_source_set_callback(job->timeout_source, tw_p11_job_timeout_cb, tw_p11_job_ref(job),
			      tw_p11_job_unref);
	g_source_attach(job->timeout_source, job->context);
	if (cancellable != NULL) {
		job->cancel_source = g_cancellable_source_new(cancellable);
		g_source_set_callback(job->cancel_source, G_SOURCE_FUNC(tw_p11_job_cancelled_cb),
				      tw_p11_job_ref(job), tw_p11_job_unref);
		g_source_attach(job->cancel_source, job->context);
	}

	tw_p11_workers_change(+1);
	thread = g_thread_try_new(kind == TW_P11_JOB_READ ? "tw-p11-read" : "tw-p11-load",
				  tw_p11_job_thread, tw_p11_job_ref(job), &error);
	if (thread == NULL)
		tw_p11_workers_change(-1);
	if (thread == NULL) {
		tw_p11_job_unref(job); /* the thread's */
		g_prefix_error(&error, "starting a PKCS#11 worker: ");
		tw_p11_job_answer(job, g_steal_pointer(&error));
	} else {
		g_thread_unref(thread);
	}
	tw_p11_job_unref(job);
}

/* ---- public API --------------------------------------------------------- */

/**
 * tw_p11_load_async:
 *
 * Loads the modules (p11-kit's configuration, then the extra paths) and
 * C_Initializes them in a worker. Modules that are ready are used by reads
 * even before the load has finished.
 */
void
tw_p11_load_async(TwP11 *self,
		  GCancellable *cancellable,
		  GAsyncReadyCallback callback,
		  gpointer user_data)
{
	g_return_if_fail(TW_IS_P11(self));
	if (self->remote != NULL) {
		tw_p11_remote_load_async(self->remote, cancellable, callback, user_data);
		return;
	}
	tw_p11_job_start(self, TW_P11_JOB_LOAD, NULL, cancellable, callback, user_data,
			 tw_p11_load_async);
}

/**
 * tw_p11_load_finish:
 *
 * Fails only when modules were asked for and none could be loaded (or the
 * load timed out before any was). Failures of single modules are logged and
 * listed by tw_p11_get_module_errors().
 */
gboolean
tw_p11_load_finish(TwP11 *self, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, self), FALSE);
	return g_task_propagate_boolean(G_TASK(res), error);
}

/**
 * tw_p11_read_async:
 * @reader_name: (nullable): read only slots whose slotDescription, trimmed,
 *   is this PC/SC reader name; %NULL for every slot of every module
 *
 * Reads every token present in the matching slots, in a worker, within the
 * time limit given to tw_p11_new().
 */
void
tw_p11_read_async(TwP11 *self,
		  const gchar *reader_name,
		  GCancellable *cancellable,
		  GAsyncReadyCallback callback,
		  gpointer user_data)
{
	g_return_if_fail(TW_IS_P11(self));
	if (self->remote != NULL) {
		tw_p11_remote_read_async(self->remote, reader_name, cancellable, callback,
					 user_data);
		return;
	}
	tw_p11_job_start(self, TW_P11_JOB_READ, reader_name, cancellable, callback, user_data,
			 tw_p11_read_async);
}

/**
 * tw_p11_read_finish:
 *
 * Returns: (transfer container) (element-type TwP11Token): the tokens, with
 *   problems of single tokens in their ->error; %NULL with
 *   G_IO_ERROR_TIMED_OUT when a module did not answer in time.
 */
GPtrArray *
tw_p11_read_finish(TwP11 *self, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, self), NULL);
	return g_task_propagate_pointer(G_TASK(res), error);
}

/**
 * tw_p11_get_modules:
 *
 * Returns: (transfer full): the names of the modules loaded and initialised
 */
GStrv
tw_p11_get_modules(TwP11 *self)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	g_return_val_if_fail(TW_IS_P11(self), NULL);
	if (self->remote != NULL)
		return tw_p11_remote_get_modules(self->remote);
	g_mutex_lock(&self->lock);
	for (guint i = 0; i < self->modules->len; i++) {
		TwP11Module *m = g_ptr_array_index(self->modules, i);

		g_strv_builder_add(builder, m->name);
	}
	g_mutex_unlock(&self->lock);
	return g_strv_builder_end(builder);
}

/**
 * tw_p11_get_module_errors:
 *
 * Returns: (transfer full) (element-type utf8 utf8): module name (or path) to
 *   why it failed to load, or failed or hung the last time it was read
 */
GHashTable *
tw_p11_get_module_errors(TwP11 *self)
{
	GHashTable *copy = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	GHashTableIter iter;
	gpointer key, value;

	g_return_val_if_fail(TW_IS_P11(self), copy);
	if (self->remote != NULL) {
		g_hash_table_unref(copy);
		return tw_p11_remote_get_module_errors(self->remote);
	}
	g_mutex_lock(&self->lock);
	g_hash_table_iter_init(&iter, self->errors);
	while (g_hash_table_iter_next(&iter, &key, &value))
		g_hash_table_insert(copy, g_strdup(key), g_strdup(value));
	g_mutex_unlock(&self->lock);
	return copy;
}

typedef struct {
	GPtrArray *modules;
	gint64 deadline;
	GMutex lock;
	GCond cond;
	gboolean done;
} TwP11Fini;

static void
tw_p11_fini_clear(gpointer data)
{
	TwP11Fini *fini = data;

	g_ptr_array_unref(fini->modules);
	g_mutex_clear(&fini->lock);
	g_cond_clear(&fini->cond);
}

/* C_Finalize every module nobody is inside; a module a worker still hangs in
 * is left as it is: finalizing under a running call is undefined. */
static gpointer
tw_p11_fini_thread(gpointer data)
{
	TwP11Fini *fini = data;

	for (guint i = 0; i < fini->modules->len; i++) {
		TwP11Module *m = g_ptr_array_index(fini->modules, i);
		gboolean idle;

		g_mutex_lock(&tw_p11_module_lock);
		/* wait for reads that are under way, not for those that hang */
		while (m->busy > m->stuck &&
		       g_cond_wait_until(&tw_p11_module_cond, &tw_p11_module_lock, fini->deadline))
			;
		idle = m->busy == 0;
		m->finalized = idle;
		g_mutex_unlock(&tw_p11_module_lock);
		if (!idle) {
			g_warning("PKCS#11 module %s is still in use: not finalized", m->name);
			continue;
		}
		if (!m->borrowed)
			p11_kit_module_finalize(m->funcs);
		p11_kit_module_release(m->funcs);
		m->funcs = NULL;
	}
	g_mutex_lock(&fini->lock);
	fini->done = TRUE;
	g_cond_broadcast(&fini->cond);
	g_mutex_unlock(&fini->lock);
	g_atomic_rc_box_release_full(fini, tw_p11_fini_clear);
	return NULL;
}

/**
 * tw_p11_shutdown:
 *
 * Stops running reads at their next call and C_Finalizes the modules in a
 * worker. Waits at most the read time limit (5 s at most) plus a second:
 * a module that hangs is left behind, never finalized under a running call.
 * Later reads find no module.
 */
void
tw_p11_shutdown(TwP11 *self)
{
	TwP11Fini *fini;
	GThread *thread;
	guint wait_ms = MIN(self->timeout_ms, TW_P11_SHUTDOWN_MAX_MS);
	gint64 end;
	gboolean done;

	g_return_if_fail(TW_IS_P11(self));
	if (!g_atomic_int_compare_and_exchange(&self->shut_down, FALSE, TRUE))
		return;
	if (self->remote != NULL) {
		tw_p11_remote_shutdown(self->remote);
		return;
	}
	/* loads and reads stop at their next call: let them get there (a load
	 * that finishes now finalizes its module itself) */
	if (!tw_p11_wait_workers(wait_ms))
		g_info("a PKCS#11 module is still busy; finalizing what is idle");

	fini = g_atomic_rc_box_new0(TwP11Fini);
	g_mutex_init(&fini->lock);
	g_cond_init(&fini->cond);
	g_mutex_lock(&self->lock);
	fini->modules = g_steal_pointer(&self->modules);
	self->modules = g_ptr_array_new_with_free_func(tw_p11_module_unref);
	g_mutex_unlock(&self->lock);
	if (fini->modules->len == 0) {
		g_atomic_rc_box_release_full(fini, tw_p11_fini_clear);
		return;
	}
	fini->deadline = g_get_monotonic_time() + (gint64)wait_ms * G_TIME_SPAN_MILLISECOND;
	end = fini->deadline + TW_P11_SHUTDOWN_EXTRA_MS * G_TIME_SPAN_MILLISECOND;

	thread = g_thread_try_new("tw-p11-fini", tw_p11_fini_thread, g_atomic_rc_box_acquire(fini),
				  NULL);
	if (thread == NULL) {
		tw_p11_fini_thread(g_atomic_rc_box_acquire(fini));
		g_atomic_rc_box_release_full(fini, tw_p11_fini_clear); /* the failed thread's */
	}
	g_mutex_lock(&fini->lock);
	while (!fini->done && g_cond_wait_until(&fini->cond, &fini->lock, end))
		;
	done = fini->done;
	g_mutex_unlock(&fini->lock);
	if (thread != NULL && done)
		g_thread_join(thread);
	else if (thread != NULL)
		g_thread_unref(thread);
	if (!done)
		g_warning("PKCS#11 modules did not finalize in time; leaving them behind");
	g_atomic_rc_box_release_full(fini, tw_p11_fini_clear);
}

static void
tw_p11_dispose(GObject *object)
{
	TwP11 *self = TW_P11(object);

	tw_p11_shutdown(self);
	G_OBJECT_CLASS(tw_p11_parent_class)->dispose(object);
}

static void
tw_p11_finalize(GObject *object)
{
	TwP11 *self = TW_P11(object);

	g_clear_pointer(&self->remote, tw_p11_remote_free);
	g_strfreev(self->extra_paths);
	g_ptr_array_unref(self->modules);
	g_hash_table_unref(self->errors);
	g_hash_table_unref(self->warned);
	g_mutex_clear(&self->lock);
	G_OBJECT_CLASS(tw_p11_parent_class)->finalize(object);
}

static void
tw_p11_init(TwP11 *self)
{
	g_mutex_init(&self->lock);
	self->modules = g_ptr_array_new_with_free_func(tw_p11_module_unref);
	self->errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->warned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static void
tw_p11_class_init(TwP11Class *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_p11_dispose;
	object_class->finalize = tw_p11_finalize;
}

/**
 * tw_p11_new:
 * @use_p11_kit_config: load the modules p11-kit is configured with (modules
 *   with "trust-policy: yes" are skipped)
 * @extra_module_paths: (nullable): more modules, by path
 * @timeout_ms: time limit of a read, 0 for TW_P11_DEFAULT_TIMEOUT_MS
 *
 * Nothing is loaded before tw_p11_load_async().
 */
TwP11 *
tw_p11_new(gboolean use_p11_kit_config, const gchar *const *extra_module_paths, guint timeout_ms)
{
	TwP11 *self = g_object_new(TW_TYPE_P11, NULL);

	self->use_config = use_p11_kit_config;
	self->extra_paths = g_strdupv((gchar **)extra_module_paths);
	if (self->extra_paths == NULL)
		self->extra_paths = g_new0(gchar *, 1);
	self->timeout_ms = timeout_ms > 0 ? timeout_ms : TW_P11_DEFAULT_TIMEOUT_MS;
	return self;
}

/**
 * tw_p11_new_isolated:
 *
 * As tw_p11_new(), but the modules run in helper processes of their own,
 * one for p11-kit's configuration and one for each module given by path
 * (tw-p11-remote.c): a module that crashes or hangs costs a read, never
 * this process.
 */
TwP11 *
tw_p11_new_isolated(gboolean use_p11_kit_config,
		    const gchar *const *extra_module_paths,
		    guint timeout_ms)
{
	TwP11 *self = tw_p11_new(use_p11_kit_config, extra_module_paths, timeout_ms);

	self->remote = tw_p11_remote_new(self, self->use_config,
					 (const gchar *const *)self->extra_paths, self->timeout_ms);
	return self;
}
