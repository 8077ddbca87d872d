/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The events a person searches the journal for — a token came or went, a
 * certificate expires or expired, a renewal was seen, a device's QSCD
 * certification ends — logged once each, with a MESSAGE_ID and the facts as
 * fields (TOKENWATCH_*), through GLib's structured logging: under systemd,
 * stderr is a journal stream and GLib's writer sends the fields to journald;
 * elsewhere the MESSAGE alone goes to stderr. The fields: docs/journal.md.
 */
#define G_LOG_DOMAIN "tokenwatchd"

#include "config.h"

#include "tw-cert.h"
#include "tw-journal.h"
#include "tw-reader.h"

struct _TwJournal {
	GObject parent_instance;
	TwEngine *engine;
	TwTokenSet *set;
};

G_DEFINE_TYPE(TwJournal, tw_journal, G_TYPE_OBJECT)

/* the fields of one entry; the values are owned by @strings */
typedef struct {
	GArray *fields; /* GLogField */
	GPtrArray *strings;
} TwEntry;

static void
tw_entry_init(TwEntry *entry, const gchar *message_id, GLogLevelFlags level)
{
	entry->fields = g_array_new(FALSE, FALSE, sizeof(GLogField));
	entry->strings = g_ptr_array_new_with_free_func(g_free);
	/* as g_log_structured() does: PRIORITY from the level, the domain */
	g_array_append_val(entry->fields,
			   ((GLogField){"PRIORITY", level == G_LOG_LEVEL_WARNING ? "4" : "5", -1}));
	g_array_append_val(entry->fields, ((GLogField){"GLIB_DOMAIN", G_LOG_DOMAIN, -1}));
	g_array_append_val(entry->fields, ((GLogField){"MESSAGE_ID", message_id, -1}));
	g_array_append_val(entry->fields, ((GLogField){"SYSLOG_IDENTIFIER", "tokenwatchd", -1}));
}

/* takes @value; an empty or NULL value is left out */
static void
tw_entry_take(TwEntry *entry, const gchar *key, gchar *value)
{
	if (value == NULL || value[0] == '\0') {
		g_free(value);
		return;
	}
	g_ptr_array_add(entry->strings, value);
	g_array_append_val(entry->fields, ((GLogField){key, value, -1}));
}

static void
tw_entry_add(TwEntry *entry, const gchar *key, const gchar *value)
{
	tw_entry_take(entry, key, g_strdup(value));
}

/* "2027-03-01T12:00:00Z", or NULL for 0 (unknown) */
static gchar *
tw_journal_time(gint64 t)
{
	g_autoptr(GDateTime) dt = NULL;

	if (t == 0)
		return NULL;
	dt = g_date_time_new_from_unix_utc(t);
	return dt != NULL ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

static gchar *
tw_journal_date(gint64 t)
{
	g_autoptr(GDateTime) dt = t != 0 ? g_date_time_new_from_unix_utc(t) : NULL;

	return dt != NULL ? g_date_time_format(dt, "%Y-%m-%d") : g_strdup("an unknown date");
}

/* the message goes last, as the variadic g_log_structured() puts it */
static void
tw_entry_log(TwEntry *entry, GLogLevelFlags level, gchar *message)
{
	g_ptr_array_add(entry->strings, message);
	g_array_append_val(entry->fields, ((GLogField){"MESSAGE", message, -1}));
	g_log_structured_array(level, &g_array_index(entry->fields, GLogField, 0),
			       entry->fields->len);
	g_array_unref(entry->fields);
	g_ptr_array_unref(entry->strings);
}

static void
tw_journal_add_token(TwJournal *self, TwEntry *entry, TwToken *token)
{
	TwReader *reader = tw_engine_get_token_reader(self->engine, token);

	tw_entry_add(entry, "TOKENWATCH_TOKEN_ID", tw_token_get_id(token));
	tw_entry_add(entry, "TOKENWATCH_TOKEN_LABEL", tw_token_get_label(token));
	tw_entry_add(entry, "TOKENWATCH_TOKEN_SERIAL", tw_token_get_serial(token));
	tw_entry_add(entry, "TOKENWATCH_TOKEN_MANUFACTURER", tw_token_get_manufacturer(token));
	tw_entry_add(entry, "TOKENWATCH_TOKEN_MODEL", tw_token_get_model(token));
	tw_entry_add(entry, "TOKENWATCH_DEVICE", tw_token_get_device_name(token));
	if (reader != NULL)
		tw_entry_add(entry, "TOKENWATCH_READER", tw_reader_get_name(reader));
}

/* the token that holds @cert, if still known */
static TwToken *
tw_journal_cert_token(TwJournal *self, TwCertificate *cert)
{
	const gchar *id = tw_certificate_get_token_id(cert);

	return id != NULL ? tw_token_set_get_token(self->set, id) : NULL;
}

static void
tw_journal_add_cert(TwJournal *self, TwEntry *entry, const gchar *prefix, TwCertificate *cert)
{
	const TwCertInfo *info = tw_certificate_get_info(cert);
	const gchar *keys[] = {"ID",	 "SHA256", "SUBJECT",	"CN",	 "ISSUER",
			       "SERIAL", "KIND",   "NOT_AFTER", "STATUS"};
	gchar *values[] = {
		g_strdup(tw_certificate_get_id(cert)),
		g_strdup(info->sha256),
		g_strdup(info->subject),
		g_strdup(info->common_name),
		g_strdup(info->issuer),
		g_strdup(info->serial_decimal),
		g_strdup(tw_cert_kind_to_string(info->kind)),
		tw_journal_time(tw_certificate_get_effective_not_after(cert)),
		g_strdup(tw_certificate_get_status(cert)),
	};

	G_STATIC_ASSERT(G_N_ELEMENTS(keys) == G_N_ELEMENTS(values));
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		gchar *key = g_strconcat(prefix, keys[i], NULL);

		/* GLogField keys are not copied: keep them with the values */
		g_ptr_array_add(entry->strings, key);
		tw_entry_take(entry, key, values[i]);
	}
}

/* "Jan Novák (serial 1234, qualified)" */
static gchar *
tw_journal_describe_cert(TwCertificate *cert)
{
	const TwCertInfo *info = tw_certificate_get_info(cert);
	const gchar *name = info->common_name[0] != '\0' ? info->common_name : info->subject;

	return g_strdup_printf("“%s” (serial %s, %s)", name[0] != '\0' ? name : "unnamed",
			       info->serial_decimal[0] != '\0' ? info->serial_decimal : "unknown",
			       tw_cert_kind_to_string(info->kind));
}

static gchar *
tw_journal_describe_token(TwToken *token)
{
	const gchar *label = tw_token_get_label(token);
	const gchar *serial = tw_token_get_serial(token);

	if (serial[0] != '\0')
		return g_strdup_printf("“%s” (serial %s)", label, serial);
	return g_strdup_printf("“%s”", label);
}

static void
tw_journal_presence_cb(TwTokenSet *set, TwToken *token, gpointer user_data)
{
	TwJournal *self = TW_JOURNAL(user_data);
	gboolean present = tw_token_get_present(token);
	g_autofree gchar *what = NULL;
	TwReader *reader;
	TwEntry entry;

	if (tw_token_set_get_restoring(set))
		return;
	what = tw_journal_describe_token(token);
	reader = tw_engine_get_token_reader(self->engine, token);
	tw_entry_init(&entry, present ? TW_JOURNAL_TOKEN_INSERTED : TW_JOURNAL_TOKEN_REMOVED,
		      G_LOG_LEVEL_MESSAGE);
	tw_journal_add_token(self, &entry, token);
	tw_entry_take(&entry, "TOKENWATCH_CERTIFICATES",
		      g_strdup_printf("%u", tw_token_get_certificate_ids(token)->len));
	if (!present)
		tw_entry_log(&entry, G_LOG_LEVEL_MESSAGE,
			     g_strdup_printf("Token %s removed", what));
	else if (reader != NULL)
		tw_entry_log(&entry, G_LOG_LEVEL_MESSAGE,
			     g_strdup_printf("Token %s inserted in “%s”, %u certificates", what,
					     tw_reader_get_name(reader),
					     tw_token_get_certificate_ids(token)->len));
	else
		tw_entry_log(&entry, G_LOG_LEVEL_MESSAGE,
			     g_strdup_printf("Token %s available, %u certificates", what,
					     tw_token_get_certificate_ids(token)->len));
}

static void
tw_journal_expiry_cb(
	TwEngine *engine, TwCertificate *cert, gint days, const gchar *level, gpointer user_data)
{
	TwJournal *self = TW_JOURNAL(user_data);
	gboolean expired = g_str_equal(level, "expired");
	TwToken *token = tw_journal_cert_token(self, cert);
	g_autofree gchar *what = tw_journal_describe_cert(cert);
	g_autofree gchar *date = tw_journal_date(tw_certificate_get_effective_not_after(cert));
	g_autofree gchar *on = token != NULL ? tw_journal_describe_token(token) : NULL;
	GLogLevelFlags prio =
		g_str_equal(level, "info") ? G_LOG_LEVEL_MESSAGE : G_LOG_LEVEL_WARNING;
	const gchar *revoked = "";
	TwEntry entry;

	tw_entry_init(&entry, expired ? TW_JOURNAL_CERT_EXPIRED : TW_JOURNAL_CERT_EXPIRING, prio);
	tw_journal_add_cert(self, &entry, "TOKENWATCH_CERT_", cert);
	if (token != NULL)
		tw_journal_add_token(self, &entry, token);
	tw_entry_add(&entry, "TOKENWATCH_LEVEL", level);
	tw_entry_take(&entry, "TOKENWATCH_DAYS_LEFT", g_strdup_printf("%d", days));
	if (g_str_equal(tw_certificate_get_status(cert), "revoked-by-device"))
		revoked = " (the device's QSCD certification ended)";
	if (expired)
		tw_entry_log(&entry, prio,
			     g_strdup_printf("Certificate %s%s%s expired on %s%s", what,
					     on != NULL ? " on token " : "", on != NULL ? on : "",
					     date, revoked));
	else
		tw_entry_log(&entry, prio,
			     g_strdup_printf("Certificate %s%s%s expires in %d days, on %s (%s)",
					     what, on != NULL ? " on token " : "",
					     on != NULL ? on : "", days, date, level));
}

static void
tw_journal_renewed_cb(TwEngine *engine, TwCertificate *old, TwCertificate *new, gpointer user_data)
{
	TwJournal *self = TW_JOURNAL(user_data);
	const TwCertInfo *old_info = tw_certificate_get_info(old);
	TwToken *token = tw_journal_cert_token(self, new);
	g_autofree gchar *what = tw_journal_describe_cert(new);
	g_autofree gchar *old_end = tw_journal_date(tw_certificate_get_effective_not_after(old));
	g_autofree gchar *new_end = tw_journal_date(tw_certificate_get_effective_not_after(new));
	TwEntry entry;

	tw_entry_init(&entry, TW_JOURNAL_CERT_RENEWED, G_LOG_LEVEL_MESSAGE);
	tw_journal_add_cert(self, &entry, "TOKENWATCH_CERT_", new);
	tw_journal_add_cert(self, &entry, "TOKENWATCH_OLD_CERT_", old);
	if (token != NULL)
		tw_journal_add_token(self, &entry, token);
	tw_entry_log(&entry, G_LOG_LEVEL_MESSAGE,
		     g_strdup_printf("Certificate renewed: %s, valid until %s, replaces serial %s, "
				     "valid until %s",
				     what, new_end, old_info->serial_decimal, old_end));
}

static void
tw_journal_device_ending_cb(TwEngine *engine, TwToken *token, gint days, gpointer user_data)
{
	TwJournal *self = TW_JOURNAL(user_data);
	g_autofree gchar *what = tw_journal_describe_token(token);
	g_autofree gchar *date = tw_journal_date(tw_token_get_qscd_until(token));
	TwEntry entry;

	tw_entry_init(&entry, TW_JOURNAL_DEVICE_ENDING, G_LOG_LEVEL_WARNING);
	tw_journal_add_token(self, &entry, token);
	tw_entry_take(&entry, "TOKENWATCH_QSCD_CERTIFIED_UNTIL",
		      tw_journal_time(tw_token_get_qscd_until(token)));
	tw_entry_take(&entry, "TOKENWATCH_DAYS_LEFT", g_strdup_printf("%d", days));
	tw_entry_log(&entry, G_LOG_LEVEL_WARNING,
		     g_strdup_printf("The QSCD certification of %s, token %s, ends in %d days, on "
				     "%s: its qualified certificates are revoked then",
				     tw_token_get_device_name(token), what, days, date));
}

static void
tw_journal_dispose(GObject *object)
{
	TwJournal *self = TW_JOURNAL(object);

	if (self->set != NULL)
		g_signal_handlers_disconnect_by_data(self->set, self);
	if (self->engine != NULL)
		g_signal_handlers_disconnect_by_data(self->engine, self);
	g_clear_object(&self->set);
	g_clear_object(&self->engine);
	G_OBJECT_CLASS(tw_journal_parent_class)->dispose(object);
}

static void
tw_journal_init(TwJournal *self)
{
}

static void
tw_journal_class_init(TwJournalClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = tw_journal_dispose;
}

/**
 * tw_journal_new:
 * @engine: the engine whose events are logged
 *
 * Logs @engine's events a person searches for, each with its MESSAGE_ID,
 * as long as the returned object lives.
 */
TwJournal *
tw_journal_new(TwEngine *engine)
{
	TwJournal *self = g_object_new(TW_TYPE_JOURNAL, NULL);

	self->engine = g_object_ref(engine);
	self->set = g_object_ref(tw_engine_get_token_set(engine));
	g_signal_connect(self->set, "token-presence-changed", G_CALLBACK(tw_journal_presence_cb),
			 self);
	g_signal_connect(engine, "expiry-warning", G_CALLBACK(tw_journal_expiry_cb), self);
	g_signal_connect(engine, "device-certification-ending",
			 G_CALLBACK(tw_journal_device_ending_cb), self);
	g_signal_connect(engine, "certificate-renewed", G_CALLBACK(tw_journal_renewed_cb), self);
	return self;
}
