/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * The objects of a TokenwatchClient: a TokenwatchReader, TokenwatchToken or
 * TokenwatchCertificate for each Reader, Token or Certificate interface the
 * ObjectManager of tokenwatchd lists, added and removed with the
 * ObjectManager's signals so that the lists and the added and removed
 * signals always agree; and the Manager's signals about them.
 */

#include "config.h"

#include "tokenwatch-certificate-private.h"
#include "tokenwatch-client-private.h"
#include "tokenwatch-reader-private.h"
#include "tokenwatch-token-private.h"

void
tokenwatch_client_objects_init(TokenwatchClient *self)
{
	self->readers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	self->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	self->certificates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
}

/* drops the objects without signals */
void
tokenwatch_client_objects_dispose(TokenwatchClient *self)
{
	g_hash_table_remove_all(self->readers);
	g_hash_table_remove_all(self->tokens);
	g_hash_table_remove_all(self->certificates);
}

void
tokenwatch_client_objects_finalize(TokenwatchClient *self)
{
	g_hash_table_unref(self->readers);
	g_hash_table_unref(self->tokens);
	g_hash_table_unref(self->certificates);
}

/* interfaces the library does not know are ignored */
static void
tokenwatch_client_add_interface(TokenwatchClient *self, GDBusInterface *iface, gboolean emit)
{
	const gchar *path;
	GHashTable *table;
	GObject *object;
	TokenwatchClientSignal signal_id;

	if (!G_IS_DBUS_PROXY(iface))
		return;
	path = g_dbus_proxy_get_object_path(G_DBUS_PROXY(iface));
	if (TW_DBUS_IS_READER(iface)) {
		table = self->readers;
		signal_id = TOKENWATCH_CLIENT_SIGNAL_READER_ADDED;
	} else if (TW_DBUS_IS_TOKEN(iface)) {
		table = self->tokens;
		signal_id = TOKENWATCH_CLIENT_SIGNAL_TOKEN_ADDED;
	} else if (TW_DBUS_IS_CERTIFICATE(iface)) {
		table = self->certificates;
		signal_id = TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_ADDED;
	} else {
		return;
	}
	if (g_hash_table_contains(table, path))
		return;

	if (table == self->readers)
		object = G_OBJECT(tokenwatch_reader_new(TW_DBUS_READER(iface)));
	else if (table == self->tokens)
		object = G_OBJECT(tokenwatch_token_new(TW_DBUS_TOKEN(iface)));
	else
		object = G_OBJECT(
			tokenwatch_certificate_new(TW_DBUS_CERTIFICATE(iface), self->bus_type));
	g_hash_table_insert(table, g_strdup(path), object);
	g_debug("%s %s added", G_OBJECT_TYPE_NAME(object), path);
	if (emit)
		g_signal_emit(self, tokenwatch_client_signals[signal_id], 0, object);
}

static void
tokenwatch_client_add_object(TokenwatchClient *self, GDBusObject *object, gboolean emit)
{
	g_autolist(GDBusInterface) ifaces = g_dbus_object_get_interfaces(object);

	for (GList *l = ifaces; l != NULL; l = l->next)
		tokenwatch_client_add_interface(self, G_DBUS_INTERFACE(l->data), emit);
}

static void
tokenwatch_client_remove_from(TokenwatchClient *self,
			      GHashTable *table,
			      const gchar *path,
			      TokenwatchClientSignal signal_id)
{
	g_autoptr(GObject) object = NULL;
	gpointer key = NULL;
	gpointer value = NULL;

	if (!g_hash_table_steal_extended(table, path, &key, &value))
		return;
	g_free(key);
	object = value;
	g_debug("%s %s removed", G_OBJECT_TYPE_NAME(object), path);
	g_signal_emit(self, tokenwatch_client_signals[signal_id], 0, object);
}

static void
tokenwatch_client_remove_interface(TokenwatchClient *self, GDBusInterface *iface, const gchar *path)
{
	if (TW_DBUS_IS_READER(iface))
		tokenwatch_client_remove_from(self, self->readers, path,
					      TOKENWATCH_CLIENT_SIGNAL_READER_REMOVED);
	else if (TW_DBUS_IS_TOKEN(iface))
		tokenwatch_client_remove_from(self, self->tokens, path,
					      TOKENWATCH_CLIENT_SIGNAL_TOKEN_REMOVED);
	else if (TW_DBUS_IS_CERTIFICATE(iface))
		tokenwatch_client_remove_from(self, self->certificates, path,
					      TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_REMOVED);
}

static void
tokenwatch_client_object_added_cb(GDBusObjectManager *manager,
				  GDBusObject *object,
				  gpointer user_data)
{
	tokenwatch_client_add_object(TOKENWATCH_CLIENT(user_data), object, TRUE);
}

static void
tokenwatch_client_object_removed_cb(GDBusObjectManager *manager,
				    GDBusObject *object,
				    gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);
	const gchar *path = g_dbus_object_get_object_path(object);

	tokenwatch_client_remove_from(self, self->certificates, path,
				      TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_REMOVED);
	tokenwatch_client_remove_from(self, self->tokens, path,
				      TOKENWATCH_CLIENT_SIGNAL_TOKEN_REMOVED);
	tokenwatch_client_remove_from(self, self->readers, path,
				      TOKENWATCH_CLIENT_SIGNAL_READER_REMOVED);
}

static void
tokenwatch_client_interface_added_cb(GDBusObjectManager *manager,
				     GDBusObject *object,
				     GDBusInterface *iface,
				     gpointer user_data)
{
	tokenwatch_client_add_interface(TOKENWATCH_CLIENT(user_data), iface, TRUE);
}

static void
tokenwatch_client_interface_removed_cb(GDBusObjectManager *manager,
				       GDBusObject *object,
				       GDBusInterface *iface,
				       gpointer user_data)
{
	tokenwatch_client_remove_interface(TOKENWATCH_CLIENT(user_data), iface,
					   g_dbus_object_get_object_path(object));
}

/* the Manager's signals name objects by path: those not known are skipped */

static gpointer
tokenwatch_client_lookup(GHashTable *table, const gchar *path, const gchar *signal_name)
{
	gpointer object = g_hash_table_lookup(table, path);

	if (object == NULL)
		g_debug("%s for unknown object %s ignored", signal_name, path);
	return object;
}

static void
tokenwatch_client_card_inserted_cb(TwDBusManager *manager, const gchar *path, gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);
	TokenwatchReader *reader = tokenwatch_client_lookup(self->readers, path, "CardInserted");

	if (reader != NULL)
		g_signal_emit(self,
			      tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_CARD_INSERTED], 0,
			      reader);
}

static void
tokenwatch_client_card_removed_cb(TwDBusManager *manager, const gchar *path, gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);
	TokenwatchReader *reader = tokenwatch_client_lookup(self->readers, path, "CardRemoved");

	if (reader != NULL)
		g_signal_emit(self,
			      tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_CARD_REMOVED], 0,
			      reader);
}

static void
tokenwatch_client_expiry_warning_cb(TwDBusManager *manager,
				    const gchar *path,
				    gint days_left,
				    const gchar *level,
				    gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);
	TokenwatchCertificate *certificate =
		tokenwatch_client_lookup(self->certificates, path, "ExpiryWarning");

	if (certificate != NULL)
		g_signal_emit(self,
			      tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_EXPIRY_WARNING], 0,
			      certificate, days_left, level);
}

static void
tokenwatch_client_device_certification_ending_cb(TwDBusManager *manager,
						 const gchar *path,
						 gint days_left,
						 gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);
	TokenwatchToken *token =
		tokenwatch_client_lookup(self->tokens, path, "DeviceCertificationEnding");

	if (token != NULL)
		g_signal_emit(self,
			      tokenwatch_client_signals
				      [TOKENWATCH_CLIENT_SIGNAL_DEVICE_CERTIFICATION_ENDING],
			      0, token, days_left);
}

static void
tokenwatch_client_certificate_renewed_cb(TwDBusManager *manager,
					 const gchar *old_path,
					 const gchar *new_path,
					 gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);
	TokenwatchCertificate *old_certificate =
		tokenwatch_client_lookup(self->certificates, old_path, "CertificateRenewed");
	TokenwatchCertificate *new_certificate =
		tokenwatch_client_lookup(self->certificates, new_path, "CertificateRenewed");

	if (old_certificate != NULL && new_certificate != NULL)
		g_signal_emit(
			self,
			tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_RENEWED], 0,
			old_certificate, new_certificate);
}

/* connects to the object manager and the Manager, and takes their objects
 * (the initial state is not announced with signals) */
void
tokenwatch_client_objects_setup(TokenwatchClient *self)
{
	const struct {
		gpointer instance;
		const gchar *signal;
		GCallback callback;
	} handlers[] = {
		{self->object_manager, "object-added",
		 G_CALLBACK(tokenwatch_client_object_added_cb)},
		{self->object_manager, "object-removed",
		 G_CALLBACK(tokenwatch_client_object_removed_cb)},
		{self->object_manager, "interface-added",
		 G_CALLBACK(tokenwatch_client_interface_added_cb)},
		{self->object_manager, "interface-removed",
		 G_CALLBACK(tokenwatch_client_interface_removed_cb)},
		{self->manager, "card-inserted", G_CALLBACK(tokenwatch_client_card_inserted_cb)},
		{self->manager, "card-removed", G_CALLBACK(tokenwatch_client_card_removed_cb)},
		{self->manager, "expiry-warning", G_CALLBACK(tokenwatch_client_expiry_warning_cb)},
		{self->manager, "device-certification-ending",
		 G_CALLBACK(tokenwatch_client_device_certification_ending_cb)},
		{self->manager, "certificate-renewed",
		 G_CALLBACK(tokenwatch_client_certificate_renewed_cb)},
	};
	g_autolist(GDBusObject) objects = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(handlers); i++) {
		g_signal_connect_object(handlers[i].instance, handlers[i].signal,
					handlers[i].callback, self, G_CONNECT_DEFAULT);
	}
	objects = g_dbus_object_manager_get_objects(self->object_manager);
	for (GList *l = objects; l != NULL; l = l->next)
		tokenwatch_client_add_object(self, G_DBUS_OBJECT(l->data), FALSE);
}

/* the values of @table, sorted; the array holds no references */
static GPtrArray *
tokenwatch_client_sorted_values(GHashTable *table, GCompareFunc compare)
{
	GPtrArray *array = g_ptr_array_sized_new(g_hash_table_size(table));
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, table);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(array, value);
	g_ptr_array_sort(array, compare);
	return array;
}

/* the objects of @table at @paths, in that order, each once */
static GPtrArray *
tokenwatch_client_lookup_paths(GHashTable *table, const gchar *const *paths)
{
	GPtrArray *array = g_ptr_array_new();

	for (guint i = 0; paths != NULL && paths[i] != NULL; i++) {
		gpointer object = g_hash_table_lookup(table, paths[i]);

		if (object != NULL && !g_ptr_array_find(array, object, NULL))
			g_ptr_array_add(array, object);
	}
	return array;
}

static gint
tokenwatch_client_reader_compare(gconstpointer a, gconstpointer b)
{
	TokenwatchReader *reader_a = *(TokenwatchReader *const *)a;
	TokenwatchReader *reader_b = *(TokenwatchReader *const *)b;
	gint rc;

	rc = g_strcmp0(tokenwatch_reader_get_name(reader_a), tokenwatch_reader_get_name(reader_b));
	if (rc != 0)
		return rc;
	return g_strcmp0(tokenwatch_reader_get_object_path(reader_a),
			 tokenwatch_reader_get_object_path(reader_b));
}

static gint
tokenwatch_client_token_compare(gconstpointer a, gconstpointer b)
{
	TokenwatchToken *token_a = *(TokenwatchToken *const *)a;
	TokenwatchToken *token_b = *(TokenwatchToken *const *)b;
	gint rc;

	rc = g_strcmp0(tokenwatch_token_get_label(token_a), tokenwatch_token_get_label(token_b));
	if (rc == 0)
		rc = g_strcmp0(tokenwatch_token_get_serial_number(token_a),
			       tokenwatch_token_get_serial_number(token_b));
	if (rc == 0)
		rc = g_strcmp0(tokenwatch_token_get_object_path(token_a),
			       tokenwatch_token_get_object_path(token_b));
	return rc;
}

static gint
tokenwatch_client_certificate_compare(gconstpointer a, gconstpointer b)
{
	TokenwatchCertificate *cert_a = *(TokenwatchCertificate *const *)a;
	TokenwatchCertificate *cert_b = *(TokenwatchCertificate *const *)b;
	guint64 end_a = tokenwatch_certificate_get_effective_not_after(cert_a);
	guint64 end_b = tokenwatch_certificate_get_effective_not_after(cert_b);
	gint rc;

	rc = g_strcmp0(tokenwatch_certificate_get_common_name(cert_a),
		       tokenwatch_certificate_get_common_name(cert_b));
	if (rc == 0 && end_a != end_b)
		rc = end_a < end_b ? -1 : 1;
	if (rc == 0)
		rc = g_strcmp0(tokenwatch_certificate_get_object_path(cert_a),
			       tokenwatch_certificate_get_object_path(cert_b));
	return rc;
}

/**
 * tokenwatch_client_get_readers:
 * @self: a [class@Tokenwatch.Client]
 *
 * Gets the readers tokenwatchd currently knows, sorted by name. The array
 * does not hold references on the readers: reference those kept beyond the
 * next return to the main loop.
 *
 * Returns: (transfer container) (element-type TokenwatchReader): the readers
 *
 * Since: 0.1
 */
GPtrArray *
tokenwatch_client_get_readers(TokenwatchClient *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	return tokenwatch_client_sorted_values(self->readers, tokenwatch_client_reader_compare);
}

/**
 * tokenwatch_client_get_reader_by_path:
 * @self: a [class@Tokenwatch.Client]
 * @object_path: a D-Bus object path
 *
 * Looks up a reader by its D-Bus object path, e.g. one from
 * [property@Tokenwatch.Token:reader-path].
 *
 * Returns: (transfer none) (nullable): the reader, or %NULL if there is no
 *   reader at @object_path
 *
 * Since: 0.1
 */
TokenwatchReader *
tokenwatch_client_get_reader_by_path(TokenwatchClient *self, const gchar *object_path)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	g_return_val_if_fail(object_path != NULL, NULL);

	return g_hash_table_lookup(self->readers, object_path);
}

/**
 * tokenwatch_client_get_tokens:
 * @self: a [class@Tokenwatch.Client]
 *
 * Gets the tokens tokenwatchd currently knows, present or not, sorted by
 * label, then serial number. The array does not hold references on the
 * tokens: reference those kept beyond the next return to the main loop.
 *
 * Returns: (transfer container) (element-type TokenwatchToken): the tokens
 *
 * Since: 0.1
 */
GPtrArray *
tokenwatch_client_get_tokens(TokenwatchClient *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	return tokenwatch_client_sorted_values(self->tokens, tokenwatch_client_token_compare);
}

/**
 * tokenwatch_client_get_token_by_path:
 * @self: a [class@Tokenwatch.Client]
 * @object_path: a D-Bus object path
 *
 * Looks up a token by its D-Bus object path, e.g. one from
 * [property@Tokenwatch.Certificate:token-path] or
 * [property@Tokenwatch.Reader:tokens].
 *
 * Returns: (transfer none) (nullable): the token, or %NULL if there is no
 *   token at @object_path
 *
 * Since: 0.1
 */
TokenwatchToken *
tokenwatch_client_get_token_by_path(TokenwatchClient *self, const gchar *object_path)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	g_return_val_if_fail(object_path != NULL, NULL);

	return g_hash_table_lookup(self->tokens, object_path);
}

/**
 * tokenwatch_client_get_tokens_for_reader:
 * @self: a [class@Tokenwatch.Client]
 * @reader: a [class@Tokenwatch.Reader] of @self
 *
 * Gets the tokens on the card in @reader, in the order of
 * [property@Tokenwatch.Reader:tokens]. The array does not hold references on
 * the tokens.
 *
 * Returns: (transfer container) (element-type TokenwatchToken): the tokens,
 *   possibly none
 *
 * Since: 0.1
 */
GPtrArray *
tokenwatch_client_get_tokens_for_reader(TokenwatchClient *self, TokenwatchReader *reader)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	g_return_val_if_fail(TOKENWATCH_IS_READER(reader), NULL);

	return tokenwatch_client_lookup_paths(self->tokens, tokenwatch_reader_get_tokens(reader));
}

/**
 * tokenwatch_client_get_certificates:
 * @self: a [class@Tokenwatch.Client]
 *
 * Gets all the certificates tokenwatchd currently knows, sorted by common name,
 * then by [property@Tokenwatch.Certificate:effective-not-after]. The array does
 * not hold references on the certificates: reference those kept beyond the next
 * return to the main loop.
 *
 * Returns: (transfer container) (element-type TokenwatchCertificate): the
 *   certificates
 *
 * Since: 0.1
 */
GPtrArray *
tokenwatch_client_get_certificates(TokenwatchClient *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	return tokenwatch_client_sorted_values(self->certificates,
					       tokenwatch_client_certificate_compare);
}

/**
 * tokenwatch_client_get_certificate_by_path:
 * @self: a [class@Tokenwatch.Client]
 * @object_path: a D-Bus object path
 *
 * Looks up a certificate by its D-Bus object path, e.g. one from
 * [property@Tokenwatch.Token:certificate-paths].
 *
 * Returns: (transfer none) (nullable): the certificate, or %NULL if there is
 *   no certificate at @object_path
 *
 * Since: 0.1
 */
TokenwatchCertificate *
tokenwatch_client_get_certificate_by_path(TokenwatchClient *self, const gchar *object_path)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	g_return_val_if_fail(object_path != NULL, NULL);

	return g_hash_table_lookup(self->certificates, object_path);
}

/**
 * tokenwatch_client_get_certificates_for_token:
 * @self: a [class@Tokenwatch.Client]
 * @token: a [class@Tokenwatch.Token] of @self
 *
 * Gets the certificates on @token, in the order of
 * [property@Tokenwatch.Token:certificate-paths]. The array does not hold
 * references on the certificates.
 *
 * Returns: (transfer container) (element-type TokenwatchCertificate): the
 *   certificates, possibly none
 *
 * Since: 0.1
 */
GPtrArray *
tokenwatch_client_get_certificates_for_token(TokenwatchClient *self, TokenwatchToken *token)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(token), NULL);

	return tokenwatch_client_lookup_paths(self->certificates,
					      tokenwatch_token_get_certificate_paths(token));
}

/* whether @cert needs renewing within @within_days, or is past use */
static gboolean
tokenwatch_client_certificate_is_expiring(TokenwatchCertificate *cert, guint within_days)
{
	switch (tokenwatch_certificate_get_status(cert)) {
	case TOKENWATCH_CERTIFICATE_STATUS_SUPERSEDED:
		return FALSE;
	case TOKENWATCH_CERTIFICATE_STATUS_EXPIRED:
	case TOKENWATCH_CERTIFICATE_STATUS_REVOKED_BY_DEVICE:
		return TRUE;
	default:
		break;
	}
	if (tokenwatch_certificate_get_effective_not_after(cert) == 0)
		return FALSE;
	return (gint64)tokenwatch_certificate_get_days_left(cert) <= (gint64)within_days;
}

static gint
tokenwatch_client_certificate_end_compare(gconstpointer a, gconstpointer b)
{
	TokenwatchCertificate *cert_a = *(TokenwatchCertificate *const *)a;
	TokenwatchCertificate *cert_b = *(TokenwatchCertificate *const *)b;
	guint64 end_a = tokenwatch_certificate_get_effective_not_after(cert_a);
	guint64 end_b = tokenwatch_certificate_get_effective_not_after(cert_b);

	/* an unknown end (0) is not the most urgent */
	if (end_a != end_b) {
		if (end_a == 0 || end_b == 0)
			return end_a == 0 ? 1 : -1;
		return end_a < end_b ? -1 : 1;
	}
	return tokenwatch_client_certificate_compare(a, b);
}

/**
 * tokenwatch_client_get_certificates_expiring:
 * @self: a [class@Tokenwatch.Client]
 * @within_days: how many days ahead to look
 *
 * Gets the certificates that need renewing: those whose
 * [property@Tokenwatch.Certificate:days-left] is @within_days or less, and
 * those that are already expired or revoked because the QSCD certification of
 * their device ended, whatever their days left. Superseded certificates (a
 * renewed one is known) and certificates whose end is unknown are left out. The
 * most urgent come first: they are sorted by
 * [property@Tokenwatch.Certificate:effective-not-after], then by common name.
 * The array does not hold references on the certificates.
 *
 * Returns: (transfer container) (element-type TokenwatchCertificate): the
 *   certificates, possibly none
 *
 * Since: 0.1
 */
GPtrArray *
tokenwatch_client_get_certificates_expiring(TokenwatchClient *self, guint within_days)
{
	GPtrArray *array;
	GHashTableIter iter;
	gpointer value;

	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);

	array = g_ptr_array_new();
	g_hash_table_iter_init(&iter, self->certificates);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (tokenwatch_client_certificate_is_expiring(value, within_days))
			g_ptr_array_add(array, value);
	}
	g_ptr_array_sort(array, tokenwatch_client_certificate_end_compare);
	return array;
}
