/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "tw-p11.h"

G_BEGIN_DECLS

/* TwP11's isolated mode (tw_p11_new_isolated()): the modules run in helper
 * processes; TwP11's public functions hand over to these. */
typedef struct _TwP11Remote TwP11Remote;

TwP11Remote *tw_p11_remote_new(TwP11 *owner,
			       gboolean use_p11_kit_config,
			       const gchar *const *module_paths,
			       guint timeout_ms);
void tw_p11_remote_free(TwP11Remote *remote);
void tw_p11_remote_load_async(TwP11Remote *remote,
			      GCancellable *cancellable,
			      GAsyncReadyCallback callback,
			      gpointer user_data);
void tw_p11_remote_read_async(TwP11Remote *remote,
			      const gchar *reader_name,
			      GCancellable *cancellable,
			      GAsyncReadyCallback callback,
			      gpointer user_data);
GStrv tw_p11_remote_get_modules(TwP11Remote *remote);
GHashTable *tw_p11_remote_get_module_errors(TwP11Remote *remote);
void tw_p11_remote_shutdown(TwP11Remote *remote);

G_END_DECLS
