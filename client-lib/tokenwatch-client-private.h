/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "tokenwatch-client.h"
#include "tw-dbus-generated.h"

G_BEGIN_DECLS

/*
 * TokenwatchClient is spread over four files:
 *   tokenwatch-client.c          the type: construction, properties, signals
 *   tokenwatch-client-objects.c  readers, tokens and certificates below the
 *                                ObjectManager, and the Manager's signals
 *   tokenwatch-client-calls.c    the Manager's methods, asynchronous
 *   tokenwatch-client-sync.c     the synchronous wrappers
 */

struct _TokenwatchClient {
	GObject parent_instance;

	GBusType bus_type;
	GDBusConnection *connection;
	GDBusObjectManager *object_manager;
	TwDBusManager *manager;
	GHashTable *readers;	  /* object path → TokenwatchReader */
	GHashTable *tokens;	  /* object path → TokenwatchToken */
	GHashTable *certificates; /* object path → TokenwatchCertificate */

	gchar *version;
	gboolean pcsc_available;
	gboolean daemon_running;
};

typedef enum {
	TOKENWATCH_CLIENT_SIGNAL_READER_ADDED,
	TOKENWATCH_CLIENT_SIGNAL_READER_REMOVED,
	TOKENWATCH_CLIENT_SIGNAL_CARD_INSERTED,
	TOKENWATCH_CLIENT_SIGNAL_CARD_REMOVED,
	TOKENWATCH_CLIENT_SIGNAL_TOKEN_ADDED,
	TOKENWATCH_CLIENT_SIGNAL_TOKEN_REMOVED,
	TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_ADDED,
	TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_REMOVED,
	TOKENWATCH_CLIENT_SIGNAL_EXPIRY_WARNING,
	TOKENWATCH_CLIENT_SIGNAL_DEVICE_CERTIFICATION_ENDING,
	TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_RENEWED,
	TOKENWATCH_CLIENT_N_SIGNALS,
} TokenwatchClientSignal;

G_GNUC_INTERNAL extern guint tokenwatch_client_signals[TOKENWATCH_CLIENT_N_SIGNALS];

/* tokenwatch-client-objects.c */
G_GNUC_INTERNAL
void tokenwatch_client_objects_init(TokenwatchClient *self);
G_GNUC_INTERNAL
void tokenwatch_client_objects_setup(TokenwatchClient *self);
G_GNUC_INTERNAL
void tokenwatch_client_objects_dispose(TokenwatchClient *self);
G_GNUC_INTERNAL
void tokenwatch_client_objects_finalize(TokenwatchClient *self);

/* tokenwatch-client-calls.c */
G_GNUC_INTERNAL
void tokenwatch_client_call_error(TokenwatchClient *self, GError **error, const gchar *prefix);
G_GNUC_INTERNAL
gchar *tokenwatch_client_forget_error_prefix(TokenwatchToken *token);

/* tokenwatch-client-sync.c */
G_GNUC_INTERNAL
gboolean
tokenwatch_client_initable_init(GInitable *initable, GCancellable *cancellable, GError **error);

/* tokenwatch-client.c */
G_GNUC_INTERNAL
void tokenwatch_client_setup(TokenwatchClient *self,
			     GDBusConnection *connection,
			     GDBusObjectManager *object_manager,
			     TwDBusManager *manager);
G_GNUC_INTERNAL
gboolean tokenwatch_client_check_bus_type(TokenwatchClient *self, GError **error);
G_GNUC_INTERNAL
void tokenwatch_client_prefix_bus_error(TokenwatchClient *self, GError **error);

G_END_DECLS
