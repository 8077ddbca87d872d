/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The PKCS#11 headers are not included here: their compatibility macros
 * rename identifiers such as "value", "count" and "slot_id" in every file
 * that includes them. */

#define TW_P11_DEFAULT_TIMEOUT_MS 10000
#define TW_P11_MAX_OBJECTS	  1000		/* per class and token */
#define TW_P11_MAX_ATTRIBUTE_LEN  (1024 * 1024) /* longer is an error */

typedef struct {
	GBytes *id;    /* CKA_ID (may be empty) */
	gchar *label;  /* CKA_LABEL as given (raw bytes, NUL-terminated; may be non-UTF-8) */
	GBytes *value; /* CKA_VALUE for certificates (NULL for keys, or when unreadable) */
	gchar *error;  /* why an attribute could not be read, NULL if fine */
} TwP11Object;

typedef struct {
	gchar *module;	    /* p11-kit module name, or the path for a module given by path */
	gchar *module_path; /* the file p11-kit loaded it from, "" when unknown */
	gulong slot_id;
	gchar *slot_description; /* trimmed of trailing blanks, raw bytes */
	gulong slot_flags;
	gchar *label, *manufacturer, *model, *serial; /* CK_TOKEN_INFO, trimmed, raw bytes */
	gulong flags;				      /* CK_TOKEN_INFO flags */
	/* 0 when CK_UNAVAILABLE_INFORMATION or CK_EFFECTIVELY_INFINITE */
	guint64 total_public_memory, free_public_memory, total_private_memory, free_private_memory;
	GPtrArray *certificates; /* TwP11Object: CKO_CERTIFICATE of type CKC_X_509 */
	GPtrArray *public_keys;	 /* TwP11Object: CKO_PUBLIC_KEY, id and label only */
	/* NULL when read whole; else why not (module error name and function,
	 * time-out, token removed, objects that could not be read) */
	gchar *error;
} TwP11Token;

void tw_p11_object_free(TwP11Object *object);
void tw_p11_token_free(TwP11Token *token);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwP11Object, tw_p11_object_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwP11Token, tw_p11_token_free)

/* "CKR_DEVICE_REMOVED" for 0x32 */
const gchar *tw_p11_rv_to_string(gulong rv);

/*
 * TwP11: the modules, loaded through p11-kit in a worker thread, and reads of
 * their tokens, each in a worker thread of its own with a time limit. Never
 * logs in, never asks for a PIN, no key operation, no write: read-only serial
 * sessions and public objects only.
 *
 * A read that meets a module that does not answer in time fails with
 * G_IO_ERROR_TIMED_OUT; later reads skip that module (and
 * tw_p11_get_module_errors() says why) until its call returns, which may be
 * never: OpenSC 0.23 can deadlock in C_GetTokenInfo after a quick card swap.
 */

#define TW_TYPE_P11 (tw_p11_get_type())
G_DECLARE_FINAL_TYPE(TwP11, tw_p11, TW, P11, GObject)

TwP11 *tw_p11_new(gboolean use_p11_kit_config,
		  const gchar *const *extra_module_paths,
		  guint timeout_ms) G_GNUC_WARN_UNUSED_RESULT;
TwP11 *tw_p11_new_isolated(gboolean use_p11_kit_config,
			   const gchar *const *extra_module_paths,
			   guint timeout_ms) G_GNUC_WARN_UNUSED_RESULT;
void tw_p11_load_async(TwP11 *self,
		       GCancellable *cancellable,
		       GAsyncReadyCallback callback,
		       gpointer user_data);
gboolean tw_p11_load_finish(TwP11 *self, GAsyncResult *res, GError **error);
GStrv tw_p11_get_modules(TwP11 *self) G_GNUC_WARN_UNUSED_RESULT;
GHashTable *tw_p11_get_module_errors(TwP11 *self) G_GNUC_WARN_UNUSED_RESULT;
void tw_p11_read_async(TwP11 *self,
		       const gchar *reader_name,
		       GCancellable *cancellable,
		       GAsyncReadyCallback callback,
		       gpointer user_data);
GPtrArray *
tw_p11_read_finish(TwP11 *self, GAsyncResult *res, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void tw_p11_shutdown(TwP11 *self);
gboolean tw_p11_wait_workers(guint timeout_ms);

G_END_DECLS
