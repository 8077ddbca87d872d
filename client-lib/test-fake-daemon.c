/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "test-fake-daemon.h"

const guint8 fake_der[5] = {0x30, 0x03, 0x02, 0x01, 0x00};

static const gchar fake_om_xml[] =
	"<node><interface name='org.freedesktop.DBus.ObjectManager'>"
	"<method name='GetManagedObjects'>"
	"<arg type='a{oa{sa{sv}}}' name='objects' direction='out'/></method>"
	"<signal name='InterfacesAdded'><arg type='o' name='object_path'/>"
	"<arg type='a{sa{sv}}' name='interfaces_and_properties'/></signal>"
	"<signal name='InterfacesRemoved'><arg type='o' name='object_path'/>"
	"<arg type='as' name='interfaces'/></signal>"
	"</interface></node>";

typedef struct {
	gchar *path;
	gchar *name;
	gboolean card_present;
	gchar *atr;
	gchar *card_state;
	guint event_count;
	gchar **tokens;
	guint registration_id;
} FakeReader;

/* a Token or a Certificate */
typedef struct {
	gchar *path;
	gchar *iface;
	GVariant *props; /* a{sv} */
	guint registration_id;
} FakeObject;

static void
fake_reader_free(FakeReader *reader)
{
	g_free(reader->path);
	g_free(reader->name);
	g_free(reader->atr);
	g_free(reader->card_state);
	g_strfreev(reader->tokens);
	g_free(reader);
}

static void
fake_object_free(FakeObject *object)
{
	g_free(object->path);
	g_free(object->iface);
	g_variant_unref(object->props);
	g_free(object);
}

static GDBusNodeInfo *
fake_load_node(const gchar *iface)
{
	g_autofree gchar *path = g_strdup_printf("%s/%s.xml", TW_DBUS_XML_DIR, iface);
	g_autofree gchar *xml = NULL;
	g_autoptr(GError) error = NULL;
	GDBusNodeInfo *node;

	g_file_get_contents(path, &xml, NULL, &error);
	g_assert_no_error(error);
	node = g_dbus_node_info_new_for_xml(xml, &error);
	g_assert_no_error(error);
	return node;
}

static GVariant *
fake_reader_get_props(FakeReader *reader)
{
	GVariantBuilder builder;

	g_variant_builder_init(&builder, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&builder, "{sv}", "Name", g_variant_new_string(reader->name));
	g_variant_builder_add(&builder, "{sv}", "CardPresent",
			      g_variant_new_boolean(reader->card_present));
	g_variant_builder_add(&builder, "{sv}", "Atr", g_variant_new_string(reader->atr));
	g_variant_builder_add(&builder, "{sv}", "Tokens",
			      g_variant_new_objv((const gchar *const *)reader->tokens, -1));
	g_variant_builder_add(&builder, "{sv}", "CardState",
			      g_variant_new_string(reader->card_state));
	g_variant_builder_add(&builder, "{sv}", "EventCount",
			      g_variant_new_uint32(reader->event_count));
	return g_variant_builder_end(&builder);
}

/* a reader object also carries an interface the library does not know */
static GVariant *
fake_reader_get_interfaces(FakeReader *reader)
{
	GVariantBuilder builder;

	g_variant_builder_init(&builder, G_VARIANT_TYPE("a{sa{sv}}"));
	g_variant_builder_add(&builder, "{s@a{sv}}", FAKE_IFACE_READER,
			      fake_reader_get_props(reader));
	g_variant_builder_add(&builder, "{s@a{sv}}", FAKE_IFACE_OTHER,
			      g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0));
	return g_variant_builder_end(&builder);
}

static GVariant *
fake_reader_get_property_cb(GDBusConnection *connection,
			    const gchar *sender,
			    const gchar *object_path,
			    const gchar *interface_name,
			    const gchar *property_name,
			    GError **error,
			    gpointer user_data)
{
	g_autoptr(GVariant) props = fake_reader_get_props(user_data);

	return g_variant_lookup_value(props, property_name, NULL);
}

static const GDBusInterfaceVTable fake_reader_vtable = {NULL, fake_reader_get_property_cb, NULL};

static GVariant *
fake_object_get_property_cb(GDBusConnection *connection,
			    const gchar *sender,
			    const gchar *object_path,
			    const gchar *interface_name,
			    const gchar *property_name,
			    GError **error,
			    gpointer user_data)
{
	FakeObject *object = user_data;
	GVariant *value = g_variant_lookup_value(object->props, property_name, NULL);

	if (value == NULL)
		g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no %s",
			    property_name);
	return value;
}

/* GetDer and GetPem of a certificate */
static void
fake_object_method_cb(GDBusConnection *connection,
		      const gchar *sender,
		      const gchar *object_path,
		      const gchar *interface_name,
		      const gchar *method_name,
		      GVariant *parameters,
		      GDBusMethodInvocation *invocation,
		      gpointer user_data)
{
	if (g_strcmp0(method_name, "GetDer") == 0) {
		g_dbus_method_invocation_return_value(
			invocation, g_variant_new("(@ay)", g_variant_new_fixed_array(
								   G_VARIANT_TYPE_BYTE, fake_der,
								   sizeof(fake_der), 1)));
		return;
	}
	g_assert_cmpstr(method_name, ==, "GetPem");
	g_dbus_method_invocation_return_value(invocation, g_variant_new("(s)", FAKE_PEM));
}

static const GDBusInterfaceVTable fake_object_vtable = {fake_object_method_cb,
							fake_object_get_property_cb, NULL};

/* "name|message": the error ReloadConfig returns, if any */
static void
fake_manager_reload_config(Fake *fake, GDBusMethodInvocation *invocation)
{
	g_auto(GStrv) parts = NULL;

	if (fake->reload_error != NULL) {
		parts = g_strsplit(fake->reload_error, "|", 2);
		g_dbus_method_invocation_return_dbus_error(invocation, parts[0],
							   parts[1] != NULL ? parts[1] : "");
		return;
	}
	fake->reload_count++;
	g_dbus_method_invocation_return_value(invocation, NULL);
}

/* as tokenwatchd: the token goes, with the certificates it was last seen on */
static void
fake_manager_forget(Fake *fake, GVariant *parameters, GDBusMethodInvocation *invocation)
{
	g_autoptr(GPtrArray) certificates = g_ptr_array_new_with_free_func(g_free);
	FakeObject *token = NULL;
	const gchar *path = NULL;
	GHashTableIter iter;
	gpointer value;

	g_variant_get(parameters, "(&o)", &path);
	token = g_hash_table_lookup(fake->objects, path);
	if (fake->forget_error != NULL) {
		g_dbus_method_invocation_return_dbus_error(invocation, fake->forget_error,
							   "forget refused");
		return;
	}
	if (token == NULL || g_strcmp0(token->iface, FAKE_IFACE_TOKEN) != 0) {
		g_dbus_method_invocation_return_dbus_error(
			invocation, "io.github.tokenwatch.TokenWatch1.Error.NotFound",
			"no such token");
		return;
	}
	g_hash_table_iter_init(&iter, fake->objects);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		FakeObject *object = value;
		const gchar *token_path = NULL;

		if (g_variant_lookup(object->props, "Token", "&o", &token_path) &&
		    g_strcmp0(token_path, path) == 0)
			g_ptr_array_add(certificates, g_strdup(object->path));
	}
	g_ptr_array_add(fake->forgotten, g_strdup(path));
	fake_remove_object_func(fake, path);
	for (guint i = 0; i < certificates->len; i++)
		fake_remove_object_func(fake, g_ptr_array_index(certificates, i));
	g_dbus_method_invocation_return_value(invocation, NULL);
}

static void
fake_manager_method_cb(GDBusConnection *connection,
		       const gchar *sender,
		       const gchar *object_path,
		       const gchar *interface_name,
		       const gchar *method_name,
		       GVariant *parameters,
		       GDBusMethodInvocation *invocation,
		       gpointer user_data)
{
	Fake *fake = user_data;
	GDBusMessageFlags flags =
		g_dbus_message_get_flags(g_dbus_method_invocation_get_message(invocation));

	/* what changes state may need polkit to ask the user */
	if (g_strcmp0(method_name, "Refresh") != 0)
		g_assert_true(flags & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION);
	if (g_strcmp0(method_name, "ReloadConfig") == 0) {
		fake_manager_reload_config(fake, invocation);
		return;
	}
	if (g_strcmp0(method_name, "Forget") == 0) {
		fake_manager_forget(fake, parameters, invocation);
		return;
	}
	g_assert_cmpstr(method_name, ==, "Refresh");
	if (fake->refresh_error != NULL) {
		g_dbus_method_invocation_return_dbus_error(invocation, fake->refresh_error,
							   "refresh refused");
		return;
	}
	fake->refresh_count++;
	g_dbus_method_invocation_return_value(invocation, NULL);
}

static GVariant *
fake_manager_get_property_cb(GDBusConnection *connection,
			     const gchar *sender,
			     const gchar *object_path,
			     const gchar *interface_name,
			     const gchar *property_name,
			     GError **error,
			     gpointer user_data)
{
	Fake *fake = user_data;

	if (g_strcmp0(property_name, "Version") == 0)
		return g_variant_new_string(fake->version);
	if (g_strcmp0(property_name, "PcscAvailable") == 0)
		return g_variant_new_boolean(fake->pcsc_available);
	g_assert_not_reached();
}

static const GDBusInterfaceVTable fake_manager_vtable = {fake_manager_method_cb,
							 fake_manager_get_property_cb, NULL};

static void
fake_om_method_cb(GDBusConnection *connection,
		  const gchar *sender,
		  const gchar *object_path,
		  const gchar *interface_name,
		  const gchar *method_name,
		  GVariant *parameters,
		  GDBusMethodInvocation *invocation,
		  gpointer user_data)
{
	Fake *fake = user_data;
	GVariantBuilder builder;
	GHashTableIter iter;
	gpointer value;

	g_assert_cmpstr(method_name, ==, "GetManagedObjects");
	g_variant_builder_init(&builder, G_VARIANT_TYPE("a{oa{sa{sv}}}"));
	g_hash_table_iter_init(&iter, fake->readers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		FakeReader *reader = value;

		g_variant_builder_add(&builder, "{o@a{sa{sv}}}", reader->path,
				      fake_reader_get_interfaces(reader));
	}
	g_hash_table_iter_init(&iter, fake->objects);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		FakeObject *object = value;

		g_variant_builder_add_parsed(&builder, "{%o, {%s: %@a{sv}}}", object->path,
					     object->iface, object->props);
	}
	g_dbus_method_invocation_return_value(
		invocation, g_variant_new("(@a{oa{sa{sv}}})", g_variant_builder_end(&builder)));
}

static const GDBusInterfaceVTable fake_om_vtable = {fake_om_method_cb, NULL, NULL};

static void
fake_emit(Fake *fake,
	  const gchar *path,
	  const gchar *iface,
	  const gchar *signal,
	  GVariant *parameters)
{
	g_autoptr(GError) error = NULL;

	g_dbus_connection_emit_signal(fake->connection, NULL, path, iface, signal, parameters,
				      &error);
	g_assert_no_error(error);
}

static gpointer
fake_thread_cb(gpointer user_data)
{
	Fake *fake = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;

	g_main_context_push_thread_default(fake->context);
	fake->connection = g_dbus_connection_new_for_address_sync(
		g_getenv("DBUS_SESSION_BUS_ADDRESS"),
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, &error);
	g_assert_no_error(error);
	fake->manager_id = g_dbus_connection_register_object(
		fake->connection, TW_DBUS_PATH, fake->manager_node->interfaces[0],
		&fake_manager_vtable, fake, NULL, &error);
	g_assert_no_error(error);
	fake->om_id = g_dbus_connection_register_object(fake->connection, TW_DBUS_PATH,
							fake->om_node->interfaces[0],
							&fake_om_vtable, fake, NULL, &error);
	g_assert_no_error(error);
	reply = g_dbus_connection_call_sync(
		fake->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus", "RequestName", g_variant_new("(su)", TW_DBUS_NAME, 0x4),
		G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);

	g_mutex_lock(&fake->mutex);
	fake->ready = TRUE;
	g_cond_broadcast(&fake->cond);
	g_mutex_unlock(&fake->mutex);

	g_main_loop_run(fake->loop);

	/* the name goes with the connection, as when tokenwatchd dies */
	g_hash_table_remove_all(fake->readers);
	g_hash_table_remove_all(fake->objects);
	g_dbus_connection_close_sync(fake->connection, NULL, NULL);
	g_clear_object(&fake->connection);
	g_main_context_pop_thread_default(fake->context);
	return NULL;
}

Fake *
fake_new(void)
{
	Fake *fake = g_new0(Fake, 1);

	g_mutex_init(&fake->mutex);
	g_cond_init(&fake->cond);
	fake->context = g_main_context_new();
	fake->loop = g_main_loop_new(fake->context, FALSE);
	fake->manager_node = fake_load_node(FAKE_IFACE_MANAGER);
	fake->reader_node = fake_load_node(FAKE_IFACE_READER);
	fake->token_node = fake_load_node(FAKE_IFACE_TOKEN);
	fake->certificate_node = fake_load_node(FAKE_IFACE_CERTIFICATE);
	fake->om_node = g_dbus_node_info_new_for_xml(fake_om_xml, NULL);
	fake->readers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					      (GDestroyNotify)fake_reader_free);
	fake->objects = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					      (GDestroyNotify)fake_object_free);
	fake->version = g_strdup("9.8.7");
	fake->forgotten = g_ptr_array_new_with_free_func(g_free);
	fake->pcsc_available = TRUE;
	fake->thread = g_thread_new("fake-tokenwatchd", fake_thread_cb, fake);

	g_mutex_lock(&fake->mutex);
	while (!fake->ready)
		g_cond_wait(&fake->cond, &fake->mutex);
	g_mutex_unlock(&fake->mutex);
	return fake;
}

void
fake_free(Fake *fake)
{
	g_main_loop_quit(fake->loop);
	g_thread_join(fake->thread);
	g_hash_table_unref(fake->readers);
	g_hash_table_unref(fake->objects);
	g_dbus_node_info_unref(fake->manager_node);
	g_dbus_node_info_unref(fake->reader_node);
	g_dbus_node_info_unref(fake->token_node);
	g_dbus_node_info_unref(fake->certificate_node);
	g_dbus_node_info_unref(fake->om_node);
	g_main_loop_unref(fake->loop);
	g_main_context_unref(fake->context);
	g_mutex_clear(&fake->mutex);
	g_cond_clear(&fake->cond);
	g_free(fake->version);
	g_free(fake->refresh_error);
	g_free(fake->reload_error);
	g_free(fake->forget_error);
	g_ptr_array_unref(fake->forgotten);
	g_free(fake);
}

/* runs @func in the fake's thread and waits for it */

typedef struct {
	Fake *fake;
	FakeFunc func;
	gconstpointer data;
	gboolean done;
} FakeCall;

static gboolean
fake_call_cb(gpointer user_data)
{
	FakeCall *call = user_data;

	call->func(call->fake, call->data);
	g_mutex_lock(&call->fake->mutex);
	call->done = TRUE;
	g_cond_broadcast(&call->fake->cond);
	g_mutex_unlock(&call->fake->mutex);
	return G_SOURCE_REMOVE;
}

void
fake_run(Fake *fake, FakeFunc func, gconstpointer data)
{
	FakeCall call = {fake, func, data, FALSE};

	g_main_context_invoke(fake->context, fake_call_cb, &call);
	g_mutex_lock(&fake->mutex);
	while (!call.done)
		g_cond_wait(&fake->cond, &fake->mutex);
	g_mutex_unlock(&fake->mutex);
}

gchar *
fake_reader_path(const gchar *name)
{
	g_autofree gchar *escaped = g_dbus_escape_object_path(name);

	return g_strconcat(FAKE_READERS_PATH, escaped, NULL);
}

/* "name", "name|state|ATR" or "name|state|ATR|token path,token path" */
void
fake_add_reader_func(Fake *fake, gconstpointer data)
{
	g_auto(GStrv) parts = g_strsplit(data, "|", 4);
	FakeReader *reader = g_new0(FakeReader, 1);
	g_autoptr(GError) error = NULL;

	reader->name = g_strdup(parts[0]);
	reader->path = fake_reader_path(parts[0]);
	reader->card_state = g_strdup(parts[1] != NULL ? parts[1] : "empty");
	reader->atr = g_strdup(parts[1] != NULL ? parts[2] : "");
	reader->card_present = g_strcmp0(reader->card_state, "empty") != 0;
	reader->tokens = parts[1] != NULL && parts[2] != NULL && parts[3] != NULL
				 ? g_strsplit(parts[3], ",", -1)
				 : g_new0(gchar *, 1);
	reader->registration_id = g_dbus_connection_register_object(
		fake->connection, reader->path, fake->reader_node->interfaces[0],
		&fake_reader_vtable, reader, NULL, &error);
	g_assert_no_error(error);
	g_hash_table_insert(fake->readers, reader->path, reader);
	fake_emit(fake, TW_DBUS_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
		  g_variant_new("(o@a{sa{sv}})", reader->path, fake_reader_get_interfaces(reader)));
	fake_emit(fake, TW_DBUS_PATH, FAKE_IFACE_MANAGER, "ReaderAdded",
		  g_variant_new("(o)", reader->path));
}

void
fake_remove_reader_func(Fake *fake, gconstpointer data)
{
	g_autofree gchar *path = fake_reader_path(data);
	const gchar *ifaces[] = {FAKE_IFACE_READER, FAKE_IFACE_OTHER};
	FakeReader *reader = g_hash_table_lookup(fake->readers, path);

	g_assert_nonnull(reader);
	g_dbus_connection_unregister_object(fake->connection, reader->registration_id);
	g_hash_table_remove(fake->readers, path);
	fake_emit(fake, TW_DBUS_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
		  g_variant_new("(o@as)", path, g_variant_new_strv(ifaces, G_N_ELEMENTS(ifaces))));
	fake_emit(fake, TW_DBUS_PATH, FAKE_IFACE_MANAGER, "ReaderRemoved",
		  g_variant_new("(o)", path));
}

/* "name|ATR" inserts a card, "name" removes it; properties go first */
void
fake_set_card_func(Fake *fake, gconstpointer data)
{
	g_auto(GStrv) parts = g_strsplit(data, "|", 2);
	g_autofree gchar *path = fake_reader_path(parts[0]);
	FakeReader *reader = g_hash_table_lookup(fake->readers, path);
	GVariantBuilder changed;

	g_assert_nonnull(reader);
	g_free(reader->atr);
	g_free(reader->card_state);
	reader->card_present = parts[1] != NULL;
	reader->atr = g_strdup(parts[1] != NULL ? parts[1] : "");
	reader->card_state = g_strdup(parts[1] != NULL ? "present" : "empty");
	reader->event_count++;

	g_variant_builder_init(&changed, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&changed, "{sv}", "CardPresent",
			      g_variant_new_boolean(reader->card_present));
	g_variant_builder_add(&changed, "{sv}", "Atr", g_variant_new_string(reader->atr));
	g_variant_builder_add(&changed, "{sv}", "CardState",
			      g_variant_new_string(reader->card_state));
	g_variant_builder_add(&changed, "{sv}", "EventCount",
			      g_variant_new_uint32(reader->event_count));
	fake_emit(fake, path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
		  g_variant_new("(sa{sv}as)", FAKE_IFACE_READER, &changed, NULL));
	fake_emit(fake, TW_DBUS_PATH, FAKE_IFACE_MANAGER,
		  reader->card_present ? "CardInserted" : "CardRemoved",
		  g_variant_new("(o)", path));
}

void
fake_set_pcsc_func(Fake *fake, gconstpointer data)
{
	GVariantBuilder changed;

	fake->pcsc_available = GPOINTER_TO_INT(data);
	g_variant_builder_init(&changed, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&changed, "{sv}", "PcscAvailable",
			      g_variant_new_boolean(fake->pcsc_available));
	fake_emit(fake, TW_DBUS_PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged",
		  g_variant_new("(sa{sv}as)", FAKE_IFACE_MANAGER, &changed, NULL));
}

void
fake_set_refresh_error_func(Fake *fake, gconstpointer data)
{
	g_free(fake->refresh_error);
	fake->refresh_error = g_strdup(data);
}

void
fake_set_reload_error_func(Fake *fake, gconstpointer data)
{
	g_free(fake->reload_error);
	fake->reload_error = g_strdup(data);
}

void
fake_set_forget_error_func(Fake *fake, gconstpointer data)
{
	g_free(fake->forget_error);
	fake->forget_error = g_strdup(data);
}

static FakeObject *
fake_object_new(const gchar *path, const gchar *iface, GVariant *props)
{
	FakeObject *object = g_new0(FakeObject, 1);

	object->path = g_strdup(path);
	object->iface = g_strdup(iface);
	object->props = g_variant_ref_sink(props);
	return object;
}

static GVariant *
fake_object_get_interfaces(FakeObject *object)
{
	GVariantBuilder builder;

	g_variant_builder_init(&builder, G_VARIANT_TYPE("a{sa{sv}}"));
	g_variant_builder_add(&builder, "{s@a{sv}}", object->iface, object->props);
	return g_variant_builder_end(&builder);
}

static const gchar *
fake_object_noun(FakeObject *object)
{
	return g_strcmp0(object->iface, FAKE_IFACE_TOKEN) == 0 ? "Token" : "Certificate";
}

/* takes @data, a FakeObject from fake_object_new(); the ObjectManager goes
 * first, as in tokenwatchd */
static void
fake_add_object_func(Fake *fake, gconstpointer data)
{
	FakeObject *object = (FakeObject *)data;
	gboolean is_token = g_strcmp0(object->iface, FAKE_IFACE_TOKEN) == 0;
	GDBusNodeInfo *node = is_token ? fake->token_node : fake->certificate_node;
	g_autofree gchar *signal = g_strconcat(fake_object_noun(object), "Added", NULL);
	g_autoptr(GError) error = NULL;

	object->registration_id = g_dbus_connection_register_object(
		fake->connection, object->path, node->interfaces[0], &fake_object_vtable, object,
		NULL, &error);
	g_assert_no_error(error);
	g_hash_table_insert(fake->objects, object->path, object);
	fake_emit(fake, TW_DBUS_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
		  g_variant_new("(o@a{sa{sv}})", object->path, fake_object_get_interfaces(object)));
	fake_emit(fake, TW_DBUS_PATH, FAKE_IFACE_MANAGER, signal,
		  g_variant_new("(o)", object->path));
}

void
fake_remove_object_func(Fake *fake, gconstpointer data)
{
	FakeObject *object = g_hash_table_lookup(fake->objects, data);
	g_autofree gchar *path = g_strdup(data);
	g_autofree gchar *iface = NULL;
	g_autofree gchar *signal = NULL;
	const gchar *ifaces[2] = {NULL, NULL};

	g_assert_nonnull(object);
	iface = g_strdup(object->iface);
	signal = g_strconcat(fake_object_noun(object), "Removed", NULL);
	ifaces[0] = iface;
	g_dbus_connection_unregister_object(fake->connection, object->registration_id);
	g_hash_table_remove(fake->objects, path);
	fake_emit(fake, TW_DBUS_PATH, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
		  g_variant_new("(o^as)", path, ifaces));
	fake_emit(fake, TW_DBUS_PATH, FAKE_IFACE_MANAGER, signal, g_variant_new("(o)", path));
}

typedef struct {
	const gchar *path;
	const gchar *name;
	GVariant *value; /* floating */
} FakeChange;

static void
fake_set_property_func(Fake *fake, gconstpointer data)
{
	const FakeChange *change = data;
	FakeObject *object = g_hash_table_lookup(fake->objects, change->path);
	g_autoptr(GVariant) value = g_variant_ref_sink(change->value);
	GVariantBuilder props;
	GVariantBuilder changed;
	GVariantIter iter;
	const gchar *key;
	GVariant *old;

	g_assert_nonnull(object);
	g_variant_builder_init(&props, G_VARIANT_TYPE_VARDICT);
	g_variant_iter_init(&iter, object->props);
	while (g_variant_iter_loop(&iter, "{&sv}", &key, &old)) {
		if (g_strcmp0(key, change->name) != 0)
			g_variant_builder_add(&props, "{sv}", key, old);
	}
	g_variant_builder_add(&props, "{sv}", change->name, value);
	g_variant_unref(object->props);
	object->props = g_variant_ref_sink(g_variant_builder_end(&props));

	g_variant_builder_init(&changed, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&changed, "{sv}", change->name, value);
	fake_emit(fake, object->path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
		  g_variant_new("(sa{sv}as)", object->iface, &changed, NULL));
}

typedef struct {
	const gchar *signal;
	GVariant *parameters; /* floating */
} FakeSignal;

static void
fake_emit_manager_func(Fake *fake, gconstpointer data)
{
	const FakeSignal *sig = data;

	fake_emit(fake, TW_DBUS_PATH, FAKE_IFACE_MANAGER, sig->signal, sig->parameters);
}

void
fake_add(Fake *fake, const gchar *path, const gchar *iface, GVariant *props)
{
	fake_run(fake, fake_add_object_func, fake_object_new(path, iface, props));
}

void
fake_set(Fake *fake, const gchar *path, const gchar *name, GVariant *value)
{
	FakeChange change = {path, name, value};

	fake_run(fake, fake_set_property_func, &change);
}

void
fake_signal(Fake *fake, const gchar *signal, GVariant *parameters)
{
	FakeSignal sig = {signal, parameters};

	fake_run(fake, fake_emit_manager_func, &sig);
}

/* the properties of a token, complete */
GVariant *
fake_token_props(const gchar *label,
		 const gchar *serial,
		 const gchar *reader_path,
		 const gchar *const *certificates,
		 const gchar *user_pin_state)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "Label", g_variant_new_string(label));
	g_variant_builder_add(&b, "{sv}", "Manufacturer", g_variant_new_string("Monet+"));
	g_variant_builder_add(&b, "{sv}", "Model", g_variant_new_string("ProID+Q"));
	g_variant_builder_add(&b, "{sv}", "SerialNumber", g_variant_new_string(serial));
	g_variant_builder_add(&b, "{sv}", "Present",
			      g_variant_new_boolean(g_strcmp0(reader_path, "/") != 0));
	g_variant_builder_add(&b, "{sv}", "Reader", g_variant_new_object_path(reader_path));
	g_variant_builder_add(&b, "{sv}", "FirstSeen", g_variant_new_uint64(1700000000));
	g_variant_builder_add(&b, "{sv}", "LastSeen", g_variant_new_uint64(1700000100));
	g_variant_builder_add(&b, "{sv}", "Certificates",
			      g_variant_new_objv(certificates, certificates != NULL ? -1 : 0));
	g_variant_builder_add(&b, "{sv}", "UserPinState", g_variant_new_string(user_pin_state));
	g_variant_builder_add(&b, "{sv}", "SoPinState", g_variant_new_string("to-be-changed"));
	g_variant_builder_add(&b, "{sv}", "TotalMemory", g_variant_new_uint64(32768));
	g_variant_builder_add(&b, "{sv}", "FreeMemory", g_variant_new_uint64(26000));
	g_variant_builder_add(&b, "{sv}", "DeviceName", g_variant_new_string("ProID+Q gen. 2"));
	g_variant_builder_add(&b, "{sv}", "QscdCertifiedUntil", g_variant_new_uint64(1900000000));
	g_variant_builder_add(&b, "{sv}", "Qualified", g_variant_new_boolean(TRUE));
	g_variant_builder_add(&b, "{sv}", "UnpairedKeys", g_variant_new_uint32(1));
	g_variant_builder_add(&b, "{sv}", "Advice",
			      fake_advice("factory-pin|warning|The PUK is still the factory PUK: "
					  "change it.;unpaired-keys|info|1 key has no "
					  "certificate."));
	g_variant_builder_add(&b, "{sv}", "Module", g_variant_new_string("opensc-pkcs11.so"));
	g_variant_builder_add(&b, "{sv}", "ModulePath",
			      g_variant_new_string("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"));
	g_variant_builder_add(&b, "{sv}", "Error", g_variant_new_string(""));
	return g_variant_builder_end(&b);
}

/* the properties of a certificate, complete; "NAME|DECIMAL SERIAL|KIND|STATUS|DAYS" */
GVariant *
fake_certificate_props(const gchar *spec, const gchar *token_path)
{
	g_auto(GStrv) p = g_strsplit(spec, "|", 5);
	const gchar *qc_types[] = {"esign", NULL};
	const gchar *policies[] = {"0.4.0.194112.1.2", "1.3.6.1.4.1.21528.2.1.1.190", NULL};
	const gchar *key_usage[] = {"digitalSignature", "nonRepudiation", NULL};
	gint days = (gint)g_ascii_strtoll(p[4], NULL, 10);
	guint64 not_after = 1800000000 + (guint64)days * 86400;
	g_autofree gchar *subject = g_strdup_printf("CN=%s,O=Example\\, s.r.o.,C=CZ", p[0]);
	g_autofree gchar *hex =
		g_strdup_printf("%" G_GINT64_MODIFIER "X", g_ascii_strtoull(p[1], NULL, 10));
	g_autofree gchar *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, spec, -1);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "Subject", g_variant_new_string(subject));
	g_variant_builder_add(&b, "{sv}", "CommonName", g_variant_new_string(p[0]));
	g_variant_builder_add(&b, "{sv}", "Issuer",
			      g_variant_new_string("CN=PostSignum Qualified CA 4,O=Česká pošta\\, "
						   "s.p.,C=CZ"));
	g_variant_builder_add(&b, "{sv}", "SerialNumber", g_variant_new_string(hex));
	g_variant_builder_add(&b, "{sv}", "SerialNumberDecimal", g_variant_new_string(p[1]));
	g_variant_builder_add(&b, "{sv}", "NotBefore", g_variant_new_uint64(1700000000));
	g_variant_builder_add(&b, "{sv}", "NotAfter", g_variant_new_uint64(not_after + 86400));
	g_variant_builder_add(&b, "{sv}", "EffectiveNotAfter", g_variant_new_uint64(not_after));
	g_variant_builder_add(&b, "{sv}", "DaysLeft", g_variant_new_int32(days));
	g_variant_builder_add(&b, "{sv}", "Kind", g_variant_new_string(p[2]));
	g_variant_builder_add(&b, "{sv}", "QcCompliance", g_variant_new_boolean(TRUE));
	g_variant_builder_add(&b, "{sv}", "QcSscd", g_variant_new_boolean(TRUE));
	g_variant_builder_add(&b, "{sv}", "QcTypes", g_variant_new_strv(qc_types, -1));
	g_variant_builder_add(&b, "{sv}", "Policies", g_variant_new_strv(policies, -1));
	g_variant_builder_add(&b, "{sv}", "IsCa", g_variant_new_boolean(FALSE));
	g_variant_builder_add(&b, "{sv}", "KeyType", g_variant_new_string("rsa"));
	g_variant_builder_add(&b, "{sv}", "KeyBits", g_variant_new_uint32(2048));
	g_variant_builder_add(&b, "{sv}", "KeyUsage", g_variant_new_strv(key_usage, -1));
	g_variant_builder_add(&b, "{sv}", "Sha256", g_variant_new_string(sha));
	g_variant_builder_add(&b, "{sv}", "Label", g_variant_new_string("Podpisový certifikát"));
	g_variant_builder_add(&b, "{sv}", "Id", g_variant_new_string("01ab"));
	g_variant_builder_add(&b, "{sv}", "Error", g_variant_new_string(""));
	g_variant_builder_add(&b, "{sv}", "Token", g_variant_new_object_path(token_path));
	g_variant_builder_add(&b, "{sv}", "Status", g_variant_new_string(p[3]));
	return g_variant_builder_end(&b);
}

/* Advice, a(sss), from "code|severity|text;code|severity|text" ("" for none) */
GVariant *
fake_advice(const gchar *spec)
{
	g_auto(GStrv) items = g_strsplit(spec, ";", -1);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a(sss)"));
	for (guint i = 0; items[i] != NULL; i++) {
		g_auto(GStrv) parts = g_strsplit(items[i], "|", 3);

		if (items[i][0] == '\0')
			continue;
		g_assert_cmpuint(g_strv_length(parts), ==, 3);
		g_variant_builder_add(&b, "(sss)", parts[0], parts[1], parts[2]);
	}
	return g_variant_builder_end(&b);
}
