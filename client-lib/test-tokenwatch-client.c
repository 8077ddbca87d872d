/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * libtokenwatch against a fake tokenwatchd: a thread with its own main
 * context and bus connection that exports the objects of the D-Bus contract
 * by hand (the XML in dbus/), on a private bus from GTestDBus.
 */

#include "config.h"

#include <tokenwatch.h>

#define FAKE_READERS_PATH  TW_DBUS_PATH "/readers/"
#define FAKE_IFACE_MANAGER "io.github.tokenwatch.TokenWatch1.Manager"
#define FAKE_IFACE_READER  "io.github.tokenwatch.TokenWatch1.Reader"
#define FAKE_IFACE_TOKEN   "io.github.tokenwatch.TokenWatch1.Token"
#define FAKE_IFACE_OTHER   "org.example.NotKnownToTheLibrary"

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
	guint registration_id;
} FakeReader;

typedef struct {
	GThread *thread;
	GMainContext *context;
	GMainLoop *loop;
	GDBusConnection *connection;
	GDBusNodeInfo *manager_node;
	GDBusNodeInfo *reader_node;
	GDBusNodeInfo *om_node;
	guint manager_id;
	guint om_id;
	GHashTable *readers; /* path → FakeReader */
	gchar *version;
	gboolean pcsc_available;
	gchar *refresh_error; /* D-Bus error name Refresh returns, or NULL */
	guint refresh_count;
	GMutex mutex;
	GCond cond;
	gboolean ready;
} Fake;

typedef void (*FakeFunc)(Fake *fake, gconstpointer data);

static void
fake_reader_free(FakeReader *reader)
{
	g_free(reader->path);
	g_free(reader->name);
	g_free(reader->atr);
	g_free(reader->card_state);
	g_free(reader);
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
	g_variant_builder_add(&builder, "{sv}", "Tokens", g_variant_new_objv(NULL, 0));
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
	/* a token: ignored by this version of the library */
	g_variant_builder_add_parsed(&builder, "{%o, {%s: {'Label': <'My token'>}}}",
				     TW_DBUS_PATH "/tokens/t1", FAKE_IFACE_TOKEN);
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
	g_dbus_connection_close_sync(fake->connection, NULL, NULL);
	g_clear_object(&fake->connection);
	g_main_context_pop_thread_default(fake->context);
	return NULL;
}

static Fake *
fake_new(void)
{
	Fake *fake = g_new0(Fake, 1);

	g_mutex_init(&fake->mutex);
	g_cond_init(&fake->cond);
	fake->context = g_main_context_new();
	fake->loop = g_main_loop_new(fake->context, FALSE);
	fake->manager_node = fake_load_node(FAKE_IFACE_MANAGER);
	fake->reader_node = fake_load_node(FAKE_IFACE_READER);
	fake->om_node = g_dbus_node_info_new_for_xml(fake_om_xml, NULL);
	fake->readers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					      (GDestroyNotify)fake_reader_free);
	fake->version = g_strdup("9.8.7");
	fake->pcsc_available = TRUE;
	fake->thread = g_thread_new("fake-tokenwatchd", fake_thread_cb, fake);

	g_mutex_lock(&fake->mutex);
	while (!fake->ready)
		g_cond_wait(&fake->cond, &fake->mutex);
	g_mutex_unlock(&fake->mutex);
	return fake;
}

static void
fake_free(Fake *fake)
{
	g_main_loop_quit(fake->loop);
	g_thread_join(fake->thread);
	g_hash_table_unref(fake->readers);
	g_dbus_node_info_unref(fake->manager_node);
	g_dbus_node_info_unref(fake->reader_node);
	g_dbus_node_info_unref(fake->om_node);
	g_main_loop_unref(fake->loop);
	g_main_context_unref(fake->context);
	g_mutex_clear(&fake->mutex);
	g_cond_clear(&fake->cond);
	g_free(fake->version);
	g_free(fake->refresh_error);
	g_free(fake);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Fake, fake_free)

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

static void
fake_run(Fake *fake, FakeFunc func, gconstpointer data)
{
	FakeCall call = {fake, func, data, FALSE};

	g_main_context_invoke(fake->context, fake_call_cb, &call);
	g_mutex_lock(&fake->mutex);
	while (!call.done)
		g_cond_wait(&fake->cond, &fake->mutex);
	g_mutex_unlock(&fake->mutex);
}

static gchar *
fake_reader_path(const gchar *name)
{
	g_autofree gchar *escaped = g_dbus_escape_object_path(name);

	return g_strconcat(FAKE_READERS_PATH, escaped, NULL);
}

/* "name" or "name|state|ATR" */
static void
fake_add_reader_func(Fake *fake, gconstpointer data)
{
	g_auto(GStrv) parts = g_strsplit(data, "|", 3);
	FakeReader *reader = g_new0(FakeReader, 1);
	g_autoptr(GError) error = NULL;

	reader->name = g_strdup(parts[0]);
	reader->path = fake_reader_path(parts[0]);
	reader->card_state = g_strdup(parts[1] != NULL ? parts[1] : "empty");
	reader->atr = g_strdup(parts[1] != NULL ? parts[2] : "");
	reader->card_present = g_strcmp0(reader->card_state, "empty") != 0;
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

static void
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
static void
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

static void
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

static void
fake_set_refresh_error_func(Fake *fake, gconstpointer data)
{
	g_free(fake->refresh_error);
	fake->refresh_error = g_strdup(data);
}

/* the client side */

typedef struct {
	TokenwatchClient *client;
	GPtrArray *events; /* of gchar* */
} Recorder;

static gboolean
wait_tick_cb(gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

#define WAIT_FOR(cond)                                                           \
	G_STMT_START                                                             \
	{                                                                        \
		gint64 _deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC; \
		guint _tick = g_timeout_add(20, wait_tick_cb, NULL);             \
		while (!(cond)) {                                                \
			if (g_get_monotonic_time() > _deadline)                  \
				g_error("timed out waiting for %s", #cond);      \
			g_main_context_iteration(NULL, TRUE);                    \
		}                                                                \
		g_source_remove(_tick);                                          \
	}                                                                        \
	G_STMT_END

static void
recorder_reader_cb(TokenwatchClient *client, TokenwatchReader *reader, gpointer user_data)
{
	Recorder *rec = user_data;
	GSignalInvocationHint *hint = g_signal_get_invocation_hint(client);

	g_ptr_array_add(rec->events, g_strdup_printf("%s %s %s %u", g_signal_name(hint->signal_id),
						     tokenwatch_reader_get_name(reader),
						     tokenwatch_reader_get_atr(reader),
						     tokenwatch_reader_get_event_count(reader)));
}

static void
recorder_notify_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	Recorder *rec = user_data;
	g_auto(GValue) value = G_VALUE_INIT;
	g_autofree gchar *str = NULL;

	g_value_init(&value, pspec->value_type);
	g_object_get_property(object, pspec->name, &value);
	str = g_strdup_value_contents(&value);
	g_ptr_array_add(rec->events, g_strdup_printf("notify %s %s", pspec->name, str));
}

static Recorder *
recorder_new(TokenwatchClient *client)
{
	Recorder *rec = g_new0(Recorder, 1);
	const gchar *sigs[] = {"reader-added", "reader-removed", "card-inserted", "card-removed"};

	rec->client = g_object_ref(client);
	rec->events = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < G_N_ELEMENTS(sigs); i++)
		g_signal_connect(client, sigs[i], G_CALLBACK(recorder_reader_cb), rec);
	g_signal_connect(client, "notify", G_CALLBACK(recorder_notify_cb), rec);
	return rec;
}

static void
recorder_free(Recorder *rec)
{
	g_signal_handlers_disconnect_by_data(rec->client, rec);
	g_object_unref(rec->client);
	g_ptr_array_unref(rec->events);
	g_free(rec);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Recorder, recorder_free)

static gboolean
recorder_has(Recorder *rec, const gchar *event)
{
	for (guint i = 0; i < rec->events->len; i++) {
		if (g_strcmp0(g_ptr_array_index(rec->events, i), event) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
client_ready_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **result = user_data;

	*result = g_object_ref(res);
}

static TokenwatchClient *
client_new_async(void)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	TokenwatchClient *client;

	tokenwatch_client_new_for_bus_async(G_BUS_TYPE_SESSION, NULL, client_ready_cb, &res);
	WAIT_FOR(res != NULL);
	client = tokenwatch_client_new_finish(res, &error);
	g_assert_no_error(error);
	g_assert_true(TOKENWATCH_IS_CLIENT(client));
	return client;
}

/* the tests */

static void
test_error_domain(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error_dbus = NULL;
	g_autofree gchar *name = NULL;

	error = g_error_new_literal(TOKENWATCH_ERROR, TOKENWATCH_ERROR_NOT_SUPPORTED, "nope");
	name = g_dbus_error_encode_gerror(error);
	g_assert_cmpstr(name, ==, "io.github.tokenwatch.TokenWatch1.Error.NotSupported");

	error_dbus = g_dbus_error_new_for_dbus_error(
		"io.github.tokenwatch.TokenWatch1.Error.NoService", "gone");
	g_assert_error(error_dbus, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE);
	g_assert_true(g_dbus_error_strip_remote_error(error_dbus));
	g_assert_cmpstr(error_dbus->message, ==, "gone");
}

static void
test_card_state_enum(void)
{
	g_autoptr(GEnumClass) klass = g_type_class_ref(TOKENWATCH_TYPE_CARD_STATE);

	g_assert_cmpint(g_enum_get_value_by_nick(klass, "in-use")->value, ==,
			TOKENWATCH_CARD_STATE_IN_USE);
	g_assert_cmpint(g_enum_get_value_by_nick(klass, "mute")->value, ==,
			TOKENWATCH_CARD_STATE_MUTE);
	g_assert_cmpint(g_enum_get_value_by_nick(klass, "unknown")->value, ==,
			TOKENWATCH_CARD_STATE_UNKNOWN);
	g_assert_true(TOKENWATCH_CHECK_VERSION(0, 0, 1));
	g_assert_false(TOKENWATCH_CHECK_VERSION(TOKENWATCH_MAJOR_VERSION + 1, 0, 0));
}

static void
test_no_daemon(void)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) readers = NULL;
	g_autoptr(GError) error = NULL;

	client = tokenwatch_client_new_for_bus(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);
	g_assert_false(tokenwatch_client_get_daemon_running(client));
	g_assert_null(tokenwatch_client_get_version(client));
	g_assert_false(tokenwatch_client_get_pcsc_available(client));
	g_assert_cmpint(tokenwatch_client_get_bus_type(client), ==, G_BUS_TYPE_SESSION);
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 0);

	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE);
	g_assert_nonnull(strstr(error->message, "tokenwatchd is not running on the session bus"));
}

static void
test_initial_state(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) readers = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path_a = fake_reader_path("Reader A 00 00");
	TokenwatchReader *reader;

	fake_run(fake, fake_add_reader_func, "Reader B");
	fake_run(fake, fake_add_reader_func, "Reader A 00 00|present|3B8F8001804F0CA0");
	fake_run(fake, fake_add_reader_func, "Reader C|exploded|");

	client = tokenwatch_client_new_for_bus(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(tokenwatch_client_get_daemon_running(client));
	g_assert_cmpstr(tokenwatch_client_get_version(client), ==, "9.8.7");
	g_assert_true(tokenwatch_client_get_pcsc_available(client));

	/* sorted by name; the token object and the unknown interface are ignored */
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 3);
	reader = g_ptr_array_index(readers, 0);
	g_assert_cmpstr(tokenwatch_reader_get_name(reader), ==, "Reader A 00 00");
	g_assert_cmpstr(tokenwatch_reader_get_object_path(reader), ==, path_a);
	g_assert_true(tokenwatch_reader_get_card_present(reader));
	g_assert_cmpstr(tokenwatch_reader_get_atr(reader), ==, "3B8F8001804F0CA0");
	g_assert_cmpint(tokenwatch_reader_get_card_state(reader), ==,
			TOKENWATCH_CARD_STATE_PRESENT);
	g_assert_cmpuint(tokenwatch_reader_get_event_count(reader), ==, 0);
	g_assert_nonnull(tokenwatch_reader_get_tokens(reader));
	g_assert_null(tokenwatch_reader_get_tokens(reader)[0]);
	g_assert_true(tokenwatch_client_get_reader_by_path(client, path_a) == reader);

	reader = g_ptr_array_index(readers, 1);
	g_assert_cmpstr(tokenwatch_reader_get_name(reader), ==, "Reader B");
	g_assert_false(tokenwatch_reader_get_card_present(reader));
	g_assert_cmpstr(tokenwatch_reader_get_atr(reader), ==, "");
	g_assert_cmpint(tokenwatch_reader_get_card_state(reader), ==, TOKENWATCH_CARD_STATE_EMPTY);

	/* a state from a newer daemon */
	reader = g_ptr_array_index(readers, 2);
	g_assert_cmpstr(tokenwatch_reader_get_name(reader), ==, "Reader C");
	g_assert_cmpint(tokenwatch_reader_get_card_state(reader), ==,
			TOKENWATCH_CARD_STATE_UNKNOWN);

	g_assert_null(tokenwatch_client_get_reader_by_path(client, TW_DBUS_PATH "/tokens/t1"));
}

static void
reader_notify_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	GString *notified = user_data;

	g_string_append_printf(notified, "%s;", pspec->name);
}

static void
test_events(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = client_new_async();
	g_autoptr(Recorder) rec = recorder_new(client);
	g_autoptr(GString) notified = g_string_new(NULL);
	g_autofree gchar *path = fake_reader_path("Reader 1");
	g_autoptr(TokenwatchReader) reader = NULL;
	g_autoptr(GPtrArray) readers = NULL;

	g_assert_true(tokenwatch_client_get_daemon_running(client));

	fake_run(fake, fake_add_reader_func, "Reader 1");
	WAIT_FOR(recorder_has(rec, "reader-added Reader 1  0"));
	reader = g_object_ref(tokenwatch_client_get_reader_by_path(client, path));
	g_assert_nonnull(reader);
	g_signal_connect(reader, "notify", G_CALLBACK(reader_notify_cb), notified);

	/* the properties are already updated when card-inserted arrives */
	fake_run(fake, fake_set_card_func, "Reader 1|3BFF00");
	WAIT_FOR(recorder_has(rec, "card-inserted Reader 1 3BFF00 1"));
	g_assert_nonnull(strstr(notified->str, "card-present;"));
	g_assert_nonnull(strstr(notified->str, "atr;"));
	g_assert_nonnull(strstr(notified->str, "card-state;"));
	g_assert_nonnull(strstr(notified->str, "event-count;"));
	g_assert_null(strstr(notified->str, "name;"));
	g_assert_cmpint(tokenwatch_reader_get_card_state(reader), ==,
			TOKENWATCH_CARD_STATE_PRESENT);

	fake_run(fake, fake_set_card_func, "Reader 1");
	WAIT_FOR(recorder_has(rec, "card-removed Reader 1  2"));
	g_assert_false(tokenwatch_reader_get_card_present(reader));

	fake_run(fake, fake_set_pcsc_func, GINT_TO_POINTER(FALSE));
	WAIT_FOR(recorder_has(rec, "notify pcsc-available FALSE"));
	g_assert_false(tokenwatch_client_get_pcsc_available(client));

	fake_run(fake, fake_remove_reader_func, "Reader 1");
	WAIT_FOR(recorder_has(rec, "reader-removed Reader 1  2"));
	g_assert_null(tokenwatch_client_get_reader_by_path(client, path));
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 0);
	g_signal_handlers_disconnect_by_data(reader, notified);
}

static void
test_restart(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(Recorder) rec = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) readers = NULL;

	fake_run(fake, fake_add_reader_func, "Reader X|present|3B00");
	client = tokenwatch_client_new_for_bus(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);
	rec = recorder_new(client);
	g_assert_true(tokenwatch_client_get_daemon_running(client));

	/* tokenwatchd goes away */
	g_clear_pointer(&fake, fake_free);
	WAIT_FOR(recorder_has(rec, "notify daemon-running FALSE"));
	WAIT_FOR(recorder_has(rec, "reader-removed Reader X 3B00 0"));
	g_assert_true(recorder_has(rec, "notify version NULL"));
	g_assert_true(recorder_has(rec, "notify pcsc-available FALSE"));
	g_assert_null(tokenwatch_client_get_version(client));
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 0);
	g_clear_pointer(&readers, g_ptr_array_unref);

	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE);
	g_clear_error(&error);

	/* and comes back */
	g_ptr_array_set_size(rec->events, 0);
	fake = fake_new();
	fake_run(fake, fake_add_reader_func, "Reader X|present|3B00");
	WAIT_FOR(recorder_has(rec, "notify daemon-running TRUE"));
	WAIT_FOR(recorder_has(rec, "reader-added Reader X 3B00 0"));
	g_assert_true(recorder_has(rec, "notify version \"9.8.7\""));
	g_assert_true(recorder_has(rec, "notify pcsc-available TRUE"));
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 1);

	/* and the Manager proxy follows the new owner */
	g_assert_true(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(fake->refresh_count, ==, 1);
}

static void
refresh_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GError **error = user_data;
	gboolean ok = tokenwatch_client_refresh_finish(TOKENWATCH_CLIENT(source), res, error);

	g_assert_true(ok == (*error == NULL));
	if (ok)
		*error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_EXISTS, "no error");
}

static void
test_refresh(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = client_new_async();
	g_autoptr(GError) error = NULL;

	g_assert_true(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_no_error(error);

	tokenwatch_client_refresh_async(client, NULL, refresh_cb, &error);
	WAIT_FOR(error != NULL);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_cmpuint(fake->refresh_count, ==, 2);

	/* errors of our domain keep their code and lose the D-Bus prefix */
	fake_run(fake, fake_set_refresh_error_func,
		 "io.github.tokenwatch.TokenWatch1.Error.PermissionDenied");
	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_PERMISSION_DENIED);
	g_assert_null(strstr(error->message, "GDBus.Error"));
	g_assert_nonnull(strstr(error->message, "refresh refused"));
	g_clear_error(&error);

	tokenwatch_client_refresh_async(client, NULL, refresh_cb, &error);
	WAIT_FOR(error != NULL);
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);

	/* generic D-Bus errors are mapped */
	fake_run(fake, fake_set_refresh_error_func, "org.freedesktop.DBus.Error.AccessDenied");
	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);

	fake_run(fake, fake_set_refresh_error_func, "org.example.Error.Weird");
	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "refresh refused"));
}

int
main(int argc, char *argv[])
{
	g_autoptr(GTestDBus) bus = NULL;
	int rc;

	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

	bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(bus);

	g_test_add_func("/client/error-domain", test_error_domain);
	g_test_add_func("/client/card-state-enum", test_card_state_enum);
	g_test_add_func("/client/no-daemon", test_no_daemon);
	g_test_add_func("/client/initial-state", test_initial_state);
	g_test_add_func("/client/events", test_events);
	g_test_add_func("/client/restart", test_restart);
	g_test_add_func("/client/refresh", test_refresh);
	rc = g_test_run();

	g_test_dbus_down(bus);
	return rc;
}
