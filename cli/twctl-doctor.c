/*
 * Copyright (C) 2026 The tokenwatch developers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tokenwatchctl doctor: finds the usual reasons why tokenwatch sees nothing
 * and says them in plain words, each with what to do: tokenwatchd not
 * running or not startable, pcscd missing or refusing tokenwatchd (polkit),
 * a card no PKCS#11 module reads, p11-kit's configuration hiding a module
 * from tokenwatchd, NSS databases tokenwatch-agent could not update.
 */

#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <string.h>

#include "twctl-commands.h"
#include "twctl-output.h"

/* p11-kit reads these (pkcs11.conf(5)); what tokenwatchd sees is what
 * p11-kit says for a program named tokenwatchd */
#define TWCTL_P11_PROGRAM  "tokenwatchd"
#define TWCTL_PCSCD_SOCKET "/run/pcscd/pcscd.comm"

typedef enum {
	TWCTL_FINDING_OK,
	TWCTL_FINDING_WARNING,
	TWCTL_FINDING_PROBLEM,
	TWCTL_FINDING_SKIPPED,
} TwctlFindingStatus;

typedef struct {
	const gchar *check; /* "daemon", "pcscd", "cards", "modules", "stores" */
	TwctlFindingStatus status;
	gchar *summary;
	gchar *detail; /* nullable */
	gchar *fix;    /* nullable */
} TwctlFinding;

static void
twctl_finding_free(TwctlFinding *f)
{
	g_free(f->summary);
	g_free(f->detail);
	g_free(f->fix);
	g_free(f);
}

/* takes @summary, @detail and @fix */
static void
twctl_doctor_add(GPtrArray *findings,
		 const gchar *check,
		 TwctlFindingStatus status,
		 gchar *summary,
		 gchar *detail,
		 gchar *fix)
{
	TwctlFinding *f = g_new0(TwctlFinding, 1);

	f->check = check;
	f->status = status;
	f->summary = summary;
	f->detail = detail;
	f->fix = fix;
	g_ptr_array_add(findings, f);
}

/* --- tokenwatchd ---------------------------------------------------------- */

static gboolean
twctl_doctor_bus_call_bool(GDBusConnection *conn,
			   const gchar *method,
			   const gchar *name,
			   gboolean *out,
			   GError **error)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
		method, g_variant_new("(s)", name), G_VARIANT_TYPE("(b)"),
		G_DBUS_CALL_FLAGS_NO_AUTO_START, 10000, NULL, error);

	if (reply == NULL)
		return FALSE;
	g_variant_get(reply, "(b)", out);
	return TRUE;
}

static gboolean
twctl_doctor_activatable(GDBusConnection *conn)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
		"ListActivatableNames", NULL, G_VARIANT_TYPE("(as)"),
		G_DBUS_CALL_FLAGS_NO_AUTO_START, 10000, NULL, NULL);
	g_autofree const gchar **names = NULL;

	if (reply == NULL)
		return FALSE;
	g_variant_get(reply, "(^a&s)", &names);
	return g_strv_contains((const gchar *const *)names, TW_DBUS_NAME);
}

/* the client, or NULL with what went wrong in @findings */
static TokenwatchClient *
twctl_doctor_daemon(TwctlContext *ctx, GPtrArray *findings)
{
	const gchar *bus = ctx->bus_type == G_BUS_TYPE_SESSION ? _("session") : _("system");
	g_autoptr(GDBusConnection) conn = NULL;
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GError) error = NULL;
	gboolean running = FALSE;

	conn = g_bus_get_sync(ctx->bus_type, NULL, &error);
	if (conn == NULL) {
		twctl_doctor_add(findings, "daemon", TWCTL_FINDING_PROBLEM,
				 g_strdup_printf(_("Cannot reach the %s bus"), bus),
				 g_strdup(error->message),
				 g_strdup(_("Check that D-Bus runs: systemctl status dbus")));
		return NULL;
	}
	if (!twctl_doctor_bus_call_bool(conn, "NameHasOwner", TW_DBUS_NAME, &running, &error)) {
		twctl_doctor_add(findings, "daemon", TWCTL_FINDING_PROBLEM,
				 g_strdup_printf(_("The %s bus does not answer"), bus),
				 g_strdup(error->message), NULL);
		return NULL;
	}
	if (!running && !twctl_doctor_activatable(conn)) {
		twctl_doctor_add(
			findings, "daemon", TWCTL_FINDING_PROBLEM,
			g_strdup(_("tokenwatchd is not running, and D-Bus cannot start it")),
			g_strdup_printf(_("No D-Bus service file on the %s bus names %s."), bus,
					TW_DBUS_NAME),
			g_strdup(_("Install tokenwatch (the package tokenwatchd), then make D-Bus "
				   "read its files: systemctl reload dbus")));
		return NULL;
	}
	if (!running) {
		g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
			conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			"org.freedesktop.DBus", "StartServiceByName",
			g_variant_new("(su)", TW_DBUS_NAME, 0), G_VARIANT_TYPE("(u)"),
			G_DBUS_CALL_FLAGS_NONE, 30000, NULL, &error);

		if (reply == NULL) {
			g_dbus_error_strip_remote_error(error);
			twctl_doctor_add(
				findings, "daemon", TWCTL_FINDING_PROBLEM,
				g_strdup(_("tokenwatchd is not running, and it failed to start")),
				g_strdup(error->message),
				g_strdup(_("See why in its log: journalctl -b -u tokenwatch; "
					   "systemctl status tokenwatch")));
			return NULL;
		}
	}
	client = tokenwatch_client_new_for_bus(ctx->bus_type, NULL, &error);
	if (client == NULL || !tokenwatch_client_get_daemon_running(client)) {
		twctl_doctor_add(findings, "daemon", TWCTL_FINDING_PROBLEM,
				 g_strdup(_("tokenwatchd does not answer")),
				 g_strdup(error != NULL ? error->message : NULL),
				 g_strdup(_("See its log: journalctl -b -u tokenwatch")));
		return NULL;
	}
	twctl_doctor_add(findings, "daemon", TWCTL_FINDING_OK,
			 g_strdup_printf(_("tokenwatchd %s is running"),
					 tokenwatch_client_get_version(client)),
			 NULL, NULL);
	return g_steal_pointer(&client);
}

/* --- pcscd ------------------------------------------------------------------ */

static gboolean
twctl_doctor_have_pcscd(void)
{
	const gchar *const places[] = {"/usr/sbin/pcscd", "/sbin/pcscd", "/usr/local/sbin/pcscd"};
	g_autofree gchar *found = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(places); i++) {
		if (g_file_test(places[i], G_FILE_TEST_IS_EXECUTABLE))
			return TRUE;
	}
	found = g_find_program_in_path("pcscd");
	return found != NULL;
}

/* the file of tokenwatch's polkit rule for pcscd, or NULL */
static gchar *
twctl_doctor_find_pcscd_rule(void)
{
	const gchar *const dirs[] = {TW_DATADIR "/polkit-1/rules.d", "/usr/share/polkit-1/rules.d",
				     "/etc/polkit-1/rules.d"};

	for (guint i = 0; i < G_N_ELEMENTS(dirs); i++) {
		g_autofree gchar *path = g_build_filename(dirs[i], "tokenwatch-pcscd.rules", NULL);

		if (g_file_test(path, G_FILE_TEST_EXISTS))
			return g_steal_pointer(&path);
	}
	return NULL;
}

static void
twctl_doctor_pcscd(TokenwatchClient *client, GPtrArray *findings)
{
	const gchar *path = g_getenv("PCSCLITE_CSOCK_NAME");
	g_autoptr(GSocketClient) sc = NULL;
	g_autoptr(GSocketAddress) address = NULL;
	g_autoptr(GSocketConnection) connection = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *rule = NULL;

	if (tokenwatch_client_get_pcsc_available(client)) {
		g_autoptr(GPtrArray) readers = tokenwatch_client_get_readers(client);

		if (readers->len == 0)
			twctl_doctor_add(
				findings, "pcscd", TWCTL_FINDING_WARNING,
				g_strdup(_("pcscd answers, but it sees no reader")),
				g_strdup(_("A USB reader or token that is plugged in and not seen "
					   "needs a driver pcscd knows (Debian: libccid for most "
					   "readers; some tokens need their vendor's).")),
				g_strdup(_("Plug the reader in, then see what pcscd sees: "
					   "pcsc_scan (package pcsc-tools)")));
		else
			twctl_doctor_add(
				findings, "pcscd", TWCTL_FINDING_OK,
				g_strdup_printf(ngettext("pcscd answers: %u reader",
							 "pcscd answers: %u readers", readers->len),
						readers->len),
				NULL, NULL);
		return;
	}
	if (path == NULL || *path == '\0')
		path = TWCTL_PCSCD_SOCKET;
	if (!twctl_doctor_have_pcscd() && !g_file_test(path, G_FILE_TEST_EXISTS)) {
		twctl_doctor_add(findings, "pcscd", TWCTL_FINDING_PROBLEM,
				 g_strdup(_("pcscd is not installed")),
				 g_strdup(_("tokenwatchd sees readers and cards through pcscd, the "
					    "PC/SC smart card service.")),
				 g_strdup(_("Install it: apt install pcscd")));
		return;
	}
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		twctl_doctor_add(
			findings, "pcscd", TWCTL_FINDING_PROBLEM,
			g_strdup(_("pcscd is not running")),
			g_strdup_printf(_("Its socket %s is not there."), path),
			g_strdup(_("Start it, and have it start when needed: systemctl enable "
				   "--now pcscd.socket")));
		return;
	}
	sc = g_socket_client_new();
	g_socket_client_set_timeout(sc, 5);
	address = g_unix_socket_address_new(path);
	connection = g_socket_client_connect(sc, G_SOCKET_CONNECTABLE(address), NULL, &error);
	if (connection == NULL) {
		twctl_doctor_add(findings, "pcscd", TWCTL_FINDING_PROBLEM,
				 g_strdup(_("pcscd does not answer on its socket")),
				 g_strdup_printf("%s: %s", path, error->message),
				 g_strdup(_("Restart it: systemctl restart pcscd.socket pcscd")));
		return;
	}
	/* pcscd takes connections, yet tokenwatchd cannot use it: pcscd lets
	 * the client in, then closes on it, which is what its polkit check
	 * does to a client without an active session */
	rule = twctl_doctor_find_pcscd_rule();
	twctl_doctor_add(
		findings, "pcscd", TWCTL_FINDING_PROBLEM, g_strdup(_("pcscd refuses tokenwatchd")),
		g_strdup(_("pcscd runs and takes connections, but tokenwatchd cannot use it. A "
			   "pcscd built with polkit lets in only programs of an active local "
			   "session, and those a polkit rule allows; tokenwatchd runs as the "
			   "system user tokenwatch, without a session.")),
		rule != NULL
			? g_strdup_printf(_("The rule %s allows tokenwatch: check that polkit runs "
					    "(systemctl status polkit) and what pcscd says: "
					    "journalctl -u pcscd | grep -i authorized"),
					  rule)
			: g_strdup(_("Install tokenwatch's rule tokenwatch-pcscd.rules in "
				     "/usr/share/polkit-1/rules.d (it comes with the package "
				     "tokenwatchd), then: systemctl restart polkit")));
}

/* --- cards and tokens ------------------------------------------------------ */

static void
twctl_doctor_cards(TokenwatchClient *client, GPtrArray *findings)
{
	g_autoptr(GPtrArray) readers = tokenwatch_client_get_readers(client);
	g_autoptr(GPtrArray) tokens = tokenwatch_client_get_tokens(client);
	guint cards = 0;
	guint bad = 0;

	for (guint i = 0; i < readers->len; i++) {
		TokenwatchReader *r = g_ptr_array_index(readers, i);
		const gchar *const *on = tokenwatch_reader_get_tokens(r);
		TokenwatchCardState state = tokenwatch_reader_get_card_state(r);

		if (state == TOKENWATCH_CARD_STATE_MUTE) {
			twctl_doctor_add(
				findings, "cards", TWCTL_FINDING_WARNING,
				g_strdup_printf(_("The card in “%s” does not answer"),
						tokenwatch_reader_get_name(r)),
				NULL,
				g_strdup(_("Take it out and put it back in; if it stays mute, "
					   "clean its contacts or try another reader.")));
			bad++;
			continue;
		}
		if (!tokenwatch_reader_get_card_present(r))
			continue;
		cards++;
		if (on != NULL && on[0] != NULL)
			continue;
		twctl_doctor_add(
			findings, "cards", TWCTL_FINDING_PROBLEM,
			g_strdup_printf(_("No PKCS#11 module reads the card in “%s”"),
					tokenwatch_reader_get_name(r)),
			g_strdup_printf(_("Its ATR is %s. None of the PKCS#11 modules tokenwatchd "
					  "loads knows this card, so its certificates are not "
					  "seen."),
					tokenwatch_reader_get_atr(r)),
			g_strdup(_("Install the card's PKCS#11 module (many cards: apt install "
				   "opensc-pkcs11; others: their vendor's) so that p11-kit loads "
				   "it, or name it in Modules= of [PKCS11] in "
				   "/etc/tokenwatch/tokenwatch.conf; then: systemctl restart "
				   "tokenwatch")));
		bad++;
	}
	for (guint i = 0; i < tokens->len; i++) {
		TokenwatchToken *t = g_ptr_array_index(tokens, i);
		const gchar *err = tokenwatch_token_get_error(t);

		if (!tokenwatch_token_get_present(t) || err == NULL || *err == '\0')
			continue;
		twctl_doctor_add(findings, "cards", TWCTL_FINDING_WARNING,
				 g_strdup_printf(_("Token “%s” was not read in full"),
						 tokenwatch_token_get_label(t)),
				 g_strdup(err),
				 g_strdup(_("Take it out and put it back in; if it happens again, "
					    "see journalctl -u tokenwatch")));
		bad++;
	}
	if (bad == 0)
		twctl_doctor_add(
			findings, "cards", TWCTL_FINDING_OK,
			cards == 0 ? g_strdup(_("No card is in a reader"))
				   : g_strdup_printf(ngettext("The card in the reader is read",
							      "All %u cards are read", cards),
						     cards),
			NULL, NULL);
}

/* --- p11-kit's modules ----------------------------------------------------- */

/* "key: value" lines of a p11-kit module file (pkcs11.conf(5)) */
static GHashTable *
twctl_doctor_read_module_config(const gchar *path)
{
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;
	GHashTable *out;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *line = g_strstrip(lines[i]);
		gchar *colon;

		if (*line == '#' || *line == '\0' || (colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		g_hash_table_replace(out, g_strdup(g_strstrip(line)),
				     g_strdup(g_strstrip(colon + 1)));
	}
	return out;
}

/* whether the comma-separated @list names @program */
static gboolean
twctl_doctor_list_has(const gchar *list, const gchar *program)
{
	g_auto(GStrv) names = g_strsplit(list, ",", -1);

	for (guint i = 0; names[i] != NULL; i++) {
		if (g_str_equal(g_strstrip(names[i]), program))
			return TRUE;
	}
	return FALSE;
}

static void
twctl_doctor_modules(GPtrArray *findings)
{
	/* the package's files, then the system's, which replace them by name */
	const gchar *const dirs[] = {TW_P11_MODULE_CONFIGS, "/etc/pkcs11/modules"};
	g_autoptr(GHashTable) files =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GList) names = NULL;
	guint usable = 0;
	guint bad = 0;

	for (guint i = 0; i < G_N_ELEMENTS(dirs); i++) {
		g_autoptr(GDir) dir = g_dir_open(dirs[i], 0, NULL);
		const gchar *name;

		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			if (g_str_has_suffix(name, ".module"))
				g_hash_table_replace(files, g_strdup(name),
						     g_build_filename(dirs[i], name, NULL));
		}
	}
	names = g_list_sort(g_hash_table_get_keys(files), (GCompareFunc)g_strcmp0);
	for (GList *l = names; l != NULL; l = l->next) {
		const gchar *path = g_hash_table_lookup(files, l->data);
		g_autoptr(GHashTable) conf = twctl_doctor_read_module_config(path);
		const gchar *module, *enable_in, *disable_in, *trust;
		g_autofree gchar *module_path = NULL;

		if (conf == NULL)
			continue;
		module = g_hash_table_lookup(conf, "module");
		enable_in = g_hash_table_lookup(conf, "enable-in");
		disable_in = g_hash_table_lookup(conf, "disable-in");
		trust = g_hash_table_lookup(conf, "trust-policy");
		if (module == NULL || *module == '\0')
			continue; /* a file that only configures */
		if (trust != NULL && g_ascii_strcasecmp(trust, "yes") == 0)
			continue; /* certificate trust, not tokens */
		module_path = g_path_is_absolute(module)
				      ? g_strdup(module)
				      : g_build_filename(TW_P11_MODULE_PATH, module, NULL);
		if ((enable_in != NULL && !twctl_doctor_list_has(enable_in, TWCTL_P11_PROGRAM)) ||
		    (disable_in != NULL && twctl_doctor_list_has(disable_in, TWCTL_P11_PROGRAM))) {
			twctl_doctor_add(
				findings, "modules", TWCTL_FINDING_PROBLEM,
				g_strdup_printf(_("p11-kit hides the module %s from tokenwatchd"),
						module),
				enable_in != NULL
					? g_strdup_printf(_("%s says “enable-in: %s”, which leaves "
							    "tokenwatchd out."),
							  path, enable_in)
					: g_strdup_printf(_("%s says “disable-in: %s”."), path,
							  disable_in),
				g_strdup_printf(_("If tokenwatchd should read the tokens this "
						  "module knows, "
						  "copy %s to /etc/pkcs11/modules and add "
						  "tokenwatchd to its "
						  "enable-in (or take it out of disable-in), then: "
						  "systemctl restart tokenwatch"),
						path));
			bad++;
			continue;
		}
		if (!g_file_test(module_path, G_FILE_TEST_EXISTS)) {
			twctl_doctor_add(
				findings, "modules", TWCTL_FINDING_PROBLEM,
				g_strdup_printf(_("The PKCS#11 module %s is missing"), module_path),
				g_strdup_printf(_("%s names it, but there is no such file."), path),
				g_strdup_printf(
					_("Reinstall the package that ships it (dpkg -S %s), "
					  "or remove %s"),
					path, path));
			bad++;
			continue;
		}
		usable++;
	}
	if (usable == 0 && bad == 0)
		twctl_doctor_add(
			findings, "modules", TWCTL_FINDING_PROBLEM,
			g_strdup(_("p11-kit lists no PKCS#11 module for tokens")),
			g_strdup(_("Without one, no card's certificates can be read.")),
			g_strdup(_("Install one: apt install opensc-pkcs11 (many cards), or "
				   "your token vendor's module")));
	else if (bad == 0)
		twctl_doctor_add(
			findings, "modules", TWCTL_FINDING_OK,
			g_strdup_printf(ngettext("p11-kit gives tokenwatchd %u module",
						 "p11-kit gives tokenwatchd %u modules", usable),
					usable),
			NULL, NULL);
}

/* --- tokenwatch-agent's stores --------------------------------------------- */

static void
twctl_doctor_stores(GPtrArray *findings)
{
	g_autofree gchar *path =
		g_build_filename(g_get_user_state_dir(), "tokenwatch-agent", "results.ini", NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) stores = NULL;
	guint ok = 0;
	guint bad = 0;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error)) {
		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			twctl_doctor_add(
				findings, "stores", TWCTL_FINDING_SKIPPED,
				g_strdup(_("tokenwatch-agent has registered nothing for you yet")),
				g_strdup(_("It registers your tokens in your NSS databases "
					   "(Firefox, Thunderbird) once it has seen one.")),
				g_strdup(_("Is it running? systemctl --user status "
					   "tokenwatch-agent")));
		else
			twctl_doctor_add(findings, "stores", TWCTL_FINDING_WARNING,
					 g_strdup_printf(_("Cannot read %s"), path),
					 g_strdup(error->message), NULL);
		return;
	}
	stores = g_key_file_get_groups(kf, NULL);
	for (guint i = 0; stores[i] != NULL; i++) {
		g_autofree gchar *result = g_key_file_get_string(kf, stores[i], "Result", NULL);
		g_autofree gchar *message = g_key_file_get_string(kf, stores[i], "Message", NULL);
		gboolean helper = g_str_equal(stores[i], "helper");

		if (g_strcmp0(result, "ok") == 0) {
			ok += helper ? 0 : 1;
			continue;
		}
		if (g_strcmp0(result, "busy") == 0) {
			twctl_doctor_add(
				findings, "stores", TWCTL_FINDING_WARNING,
				g_strdup_printf(_("%s was in use when tokenwatch-agent last tried"),
						stores[i]),
				g_strdup(message),
				g_strdup(_("It tries again by itself; closing Firefox or "
					   "Thunderbird lets it finish.")));
		} else if (helper) {
			twctl_doctor_add(
				findings, "stores", TWCTL_FINDING_PROBLEM,
				g_strdup(_("tokenwatch-agent could not update your NSS databases")),
				g_strdup(message),
				g_strdup(_("See its log: journalctl --user -u tokenwatch-agent")));
		} else {
			twctl_doctor_add(
				findings, "stores", TWCTL_FINDING_PROBLEM,
				g_strdup_printf(_("tokenwatch-agent could not update the NSS "
						  "database %s"),
						stores[i]),
				g_strdup(message),
				g_strdup(_("Check that the directory is yours and writable "
					   "(certutil -L -d sql:DIR lists it); a database another "
					   "program broke can be moved away, the program makes a "
					   "new one.")));
		}
		bad++;
	}
	if (bad == 0)
		twctl_doctor_add(findings, "stores", TWCTL_FINDING_OK,
				 g_strdup_printf(ngettext("tokenwatch-agent keeps %u NSS database "
							  "up to date",
							  "tokenwatch-agent keeps %u NSS databases "
							  "up to date",
							  ok),
						 ok),
				 NULL, NULL);
}

/* --- output ---------------------------------------------------------------- */

static const gchar *
twctl_doctor_status_name(TwctlFindingStatus status)
{
	switch (status) {
	case TWCTL_FINDING_OK:
		return "ok";
	case TWCTL_FINDING_WARNING:
		return "warning";
	case TWCTL_FINDING_PROBLEM:
		return "problem";
	case TWCTL_FINDING_SKIPPED:
	default:
		return "skipped";
	}
}

static void
twctl_doctor_print_json(GPtrArray *findings, guint problems)
{
	g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "problems");
	twctl_json_uint(json, problems);
	twctl_json_key(json, "findings");
	twctl_json_begin_array(json);
	for (guint i = 0; i < findings->len; i++) {
		TwctlFinding *f = g_ptr_array_index(findings, i);

		twctl_json_begin_object(json);
		twctl_json_key(json, "check");
		twctl_json_string(json, f->check);
		twctl_json_key(json, "status");
		twctl_json_string(json, twctl_doctor_status_name(f->status));
		twctl_json_key(json, "summary");
		twctl_json_string(json, f->summary);
		twctl_json_key(json, "detail");
		if (f->detail != NULL)
			twctl_json_string(json, f->detail);
		else
			twctl_json_null(json);
		twctl_json_key(json, "fix");
		if (f->fix != NULL)
			twctl_json_string(json, f->fix);
		else
			twctl_json_null(json);
		twctl_json_end_object(json);
	}
	twctl_json_end_array(json);
	twctl_json_end_object(json);
	twctl_json_print(json);
}

static void
twctl_doctor_print_text(TwctlContext *ctx, GPtrArray *findings, guint problems)
{
	for (guint i = 0; i < findings->len; i++) {
		TwctlFinding *f = g_ptr_array_index(findings, i);
		const gchar *mark;
		TwctlColor color;
		g_autofree gchar *tag = NULL;

		switch (f->status) {
		case TWCTL_FINDING_OK:
			mark = _("ok");
			color = TWCTL_COLOR_GREEN;
			break;
		case TWCTL_FINDING_WARNING:
			mark = _("warning");
			color = TWCTL_COLOR_YELLOW;
			break;
		case TWCTL_FINDING_PROBLEM:
			mark = _("PROBLEM");
			color = TWCTL_COLOR_RED;
			break;
		case TWCTL_FINDING_SKIPPED:
		default:
			mark = _("skipped");
			color = TWCTL_COLOR_DIM;
			break;
		}
		tag = twctl_output_colorize(ctx->color, color, mark);
		g_print("[%s] %s\n", tag, f->summary);
		if (f->detail != NULL && f->status != TWCTL_FINDING_OK)
			g_print("    %s\n", f->detail);
		if (f->fix != NULL && f->status != TWCTL_FINDING_OK)
			g_print("    %s %s\n", _("What to do:"), f->fix);
	}
	if (problems == 0)
		g_print("%s\n", _("No problems found."));
	else
		g_print(ngettext("%u problem found.\n", "%u problems found.\n", problems),
			problems);
}

TwctlExit
twctl_doctor(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(GPtrArray) findings =
		g_ptr_array_new_with_free_func((GDestroyNotify)twctl_finding_free);
	g_autoptr(TokenwatchClient) client = NULL;
	guint problems = 0;
	TwctlExit rc;

	rc = twctl_context_parse_command(
		ctx,
		_("Find the usual reasons why tokenwatch sees nothing, and say what to do: "
		  "tokenwatchd not running, pcscd missing or refusing it, a card no PKCS#11 "
		  "module reads, p11-kit hiding a module, NSS databases tokenwatch-agent could "
		  "not update. Exit status 1 when a problem is found."),
		NULL, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_doctor_daemon(ctx, findings);
	if (client != NULL) {
		twctl_doctor_pcscd(client, findings);
		twctl_doctor_cards(client, findings);
	} else {
		twctl_doctor_add(
			findings, "pcscd", TWCTL_FINDING_SKIPPED,
			g_strdup(_("pcscd and the cards: not checked without tokenwatchd")), NULL,
			NULL);
	}
	twctl_doctor_modules(findings);
	twctl_doctor_stores(findings);

	for (guint i = 0; i < findings->len; i++) {
		TwctlFinding *f = g_ptr_array_index(findings, i);

		if (f->status == TWCTL_FINDING_PROBLEM)
			problems++;
	}
	if (ctx->opt_json)
		twctl_doctor_print_json(findings, problems);
	else
		twctl_doctor_print_text(ctx, findings, problems);
	return problems > 0 ? TWCTL_EXIT_ERROR : TWCTL_EXIT_OK;
}
