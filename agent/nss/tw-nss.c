/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Registration of a token's PKCS#11 module and public certificate copies in
 * the user's NSS databases, through the NSS API only (never pkcs11.txt as
 * text). NSS holds one database per process with NSS_Initialize, so each call
 * here opens one database, does its work and shuts NSS down again, under a
 * lock. A process that uses NSS itself must not call these (TW_NSS_ERROR_IN_USE).
 */
#define G_LOG_DOMAIN "TwNss"

#include "tw-nss-private.h"

#include <cert.h>
#include <certdb.h>
#include <errno.h>
#include <fcntl.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>
#include <secmod.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static GMutex tw_nss_mutex;

/* sqlite's lock bytes: PENDING, RESERVED, then 510 SHARED bytes */
#define TW_SQLITE_PENDING_BYTE 0x40000000
#define TW_SQLITE_LOCK_BYTES   512

/* how long a lock held by another process is waited for: 20 × 100 ms */
#define TW_NSS_BUSY_TRIES   20
#define TW_NSS_BUSY_WAIT_US (100 * 1000)

static void
tw_nss_set_nss_error(GError **error, TwNssError code, const gchar *what)
{
	PRErrorCode err = PR_GetError();
	const gchar *name = PR_ErrorToName(err);
	const gchar *text = PR_ErrorToString(err, PR_LANGUAGE_I_DEFAULT);

	g_set_error(error, TW_NSS_ERROR, code, "%s: %s (%s)", what,
		    text != NULL && text[0] != '\0' ? text : "unknown error",
		    name != NULL ? name : "?");
}

/* An NSS call on dbdir failed (opening it included). sqlite gives up
 * after its busy timeout when another process holds cert9.db or key4.db
 * locked: NSS then reports CKR_GENERAL_ERROR (or a bad database, while the
 * lock is still held). Both are reported as busy, to be retried later. */
static void
tw_nss_set_op_error(GError **error, const gchar *dbdir, const gchar *what)
{
	PRErrorCode err = PR_GetError();
	gboolean busy = err == SEC_ERROR_PKCS11_GENERAL_ERROR || tw_nss_database_is_busy(dbdir);

	tw_nss_set_nss_error(error, busy ? TW_NSS_ERROR_BUSY : TW_NSS_ERROR_FAILED, what);
}

gchar *
tw_nss_sha256_hex(GBytes *der)
{
	return g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, der);
}

/* A Firefox or Thunderbird that runs with this profile: its "lock" symlink
 * ("127.0.0.1:+PID") names a live process, or another process holds the
 * fcntl lock on ".parentlock". */
static gboolean
tw_nss_profile_is_locked(const gchar *dbdir)
{
	g_autofree gchar *lock = g_build_filename(dbdir, "lock", NULL);
	g_autofree gchar *parentlock = g_build_filename(dbdir, ".parentlock", NULL);
	g_autofree gchar *target = g_file_read_link(lock, NULL);
	int fd;

	if (target != NULL) {
		const gchar *plus = strrchr(target, '+');
		gint64 pid = plus != NULL ? g_ascii_strtoll(plus + 1, NULL, 10) : 0;
		if (pid > 0 && pid < G_MAXINT && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			return TRUE;
	}
	fd = open(parentlock, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		gboolean held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
		close(fd);
		if (held)
			return TRUE;
	}
	return FALSE;
}

/* another process in a transaction on cert9.db or key4.db: it holds one of
 * sqlite's lock bytes (a writer PENDING or RESERVED, a reader one of the
 * SHARED bytes). A write of ours would wait for it in NSS, and a reader that
 * stays longer than sqlite's busy timeout makes NSS fail half-way (leaking
 * in softokn). A reader of a moment (certutil -L) is waited for first, see
 * tw_nss_database_stays_busy(). */
static gboolean
tw_nss_sqlite_is_locked(const gchar *dbdir)
{
	const gchar *names[] = {"cert9.db", "key4.db"};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *fn = g_build_filename(dbdir, names[i], NULL);
		struct flock fl = {.l_type = F_WRLCK,
				   .l_whence = SEEK_SET,
				   .l_start = TW_SQLITE_PENDING_BYTE,
				   .l_len = TW_SQLITE_LOCK_BYTES};
		gboolean held;
		int fd = open(fn, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
		close(fd);
		if (held)
			return TRUE;
	}
	return FALSE;
}

gboolean
tw_nss_database_is_busy(const gchar *dbdir)
{
	return tw_nss_profile_is_locked(dbdir) || tw_nss_sqlite_is_locked(dbdir);
}

/* Another program's transaction is usually over in a moment: wait for it a
 * little before calling the database busy. A profile in use (Firefox
 * running) is busy at once. */
static gboolean
tw_nss_database_stays_busy(const gchar *dbdir)
{
	for (guint i = 0; i < TW_NSS_BUSY_TRIES; i++) {
		if (tw_nss_profile_is_locked(dbdir))
			return TRUE;
		if (!tw_nss_sqlite_is_locked(dbdir))
			return FALSE;
		g_usleep(TW_NSS_BUSY_WAIT_US);
	}
	return TRUE;
}

/* with tw_nss_mutex held */
static gboolean
tw_nss_open(const gchar *dbdir, GError **error)
{
	g_autofree gchar *configdir = g_strdup_printf("sql:%s", dbdir);
	PK11SlotInfo *slot;

	if (tw_nss_database_stays_busy(dbdir)) {
		g_set_error(error, TW_NSS_ERROR, TW_NSS_ERROR_BUSY,
			    "the NSS database %s is in use by another program", dbdir);
		return FALSE;
	}
	if (NSS_IsInitialized()) {
		g_set_error_literal(error, TW_NSS_ERROR, TW_NSS_ERROR_IN_USE,
				    "NSS is already initialised in this process");
		return FALSE;
	}
	if (NSS_Initialize(configdir, "", "", SECMOD_DB, NSS_INIT_NOROOTINIT) != SECSuccess) {
		g_autofree gchar *what = g_strdup_printf("cannot open the NSS database %s", dbdir);
		/* sqlite gave up waiting for another process */
		tw_nss_set_op_error(error, dbdir, what);
		return FALSE;
	}
	/* a new database: an empty password, like certutil -N --empty-password */
	slot = PK11_GetInternalKeySlot();
	if (slot != NULL && PK11_NeedUserInit(slot) && PK11_InitPin(slot, NULL, "") != SECSuccess) {
		tw_nss_set_nss_error(error, TW_NSS_ERROR_FAILED, "cannot initialise the database");
		PK11_FreeSlot(slot);
		NSS_Shutdown();
		return FALSE;
	}
	if (slot != NULL)
		PK11_FreeSlot(slot);
	return TRUE;
}

static gboolean
tw_nss_close(GError **error)
{
	if (NSS_Shutdown() != SECSuccess) {
		tw_nss_set_nss_error(error, TW_NSS_ERROR_FAILED, "NSS did not shut down");
		return FALSE;
	}
	return TRUE;
}

/* closes NSS; keeps the first error */
static gboolean
tw_nss_finish(gboolean ok, GError **error)
{
	g_autoptr(GError) error_close = NULL;

	if (!tw_nss_close(&error_close)) {
		if (ok) {
			g_propagate_error(error, g_steal_pointer(&error_close));
			return FALSE;
		}
		g_warning("%s", error_close->message);
	}
	return ok;
}

gboolean
tw_nss_ensure_database(const gchar *dbdir, GError **error)
{
	g_autofree gchar *cert9 = g_build_filename(dbdir, "cert9.db", NULL);
	g_autoptr(GMutexLocker) locker = NULL;

	if (g_mkdir_with_parents(dbdir, 0700) != 0) {
		int errsv = errno;
		g_set_error(error, TW_NSS_ERROR, TW_NSS_ERROR_FAILED, "cannot create %s: %s", dbdir,
			    g_strerror(errsv));
		return FALSE;
	}
	if (g_file_test(cert9, G_FILE_TEST_EXISTS))
		return TRUE;
	locker = g_mutex_locker_new(&tw_nss_mutex);
	if (!tw_nss_open(dbdir, error))
		return FALSE;
	return tw_nss_finish(TRUE, error);
}

static gboolean
tw_nss_same_file(const gchar *a, const gchar *b)
{
	g_autofree gchar *ra = realpath(a, NULL);
	g_autofree gchar *rb = realpath(b, NULL);

	if (ra == NULL || rb == NULL)
		return g_strcmp0(a, b) == 0;
	return g_strcmp0(ra, rb) == 0;
}

/* a module of this database loaded from path, under any name */
static gboolean
tw_nss_module_path_loaded(const gchar *path)
{
	SECMODListLock *lock = SECMOD_GetDefaultModuleListLock();
	gboolean found = FALSE;

	SECMOD_GetReadLock(lock);
	for (SECMODModuleList *l = SECMOD_GetDefaultModuleList(); l != NULL; l = l->next) {
		if (l->module->dllName != NULL && tw_nss_same_file(l->module->dllName, path)) {
			found = TRUE;
			break;
		}
	}
	SECMOD_ReleaseReadLock(lock);
	return found;
}

static gboolean
tw_nss_register_module(const gchar *dbdir,
		       const TwNssRegistration *reg,
		       TwNssRecord *record,
		       GError **error)
{
	SECMODModule *mod;
	gboolean recorded;

	if (reg->module_name == NULL || reg->module_path == NULL)
		return TRUE;
	if (tw_nss_record_contains(record, dbdir, "removed-modules", reg->module_name)) {
		g_debug("%s: module '%s' was removed by the user, not adding it again", dbdir,
			reg->module_name);
		return TRUE;
	}
	recorded = tw_nss_record_contains(record, dbdir, "modules", reg->module_name);
	mod = SECMOD_FindModule(reg->module_name);
	if (mod != NULL) {
		/* ours from before, or the user's own of the same name */
		SECMOD_DestroyModule(mod);
		return TRUE;
	}
	if (recorded) {
		g_info("%s: module '%s' was removed by the user", dbdir, reg->module_name);
		tw_nss_record_remove(record, dbdir, "modules", reg->module_name, "module-paths");
		tw_nss_record_append(record, dbdir, "removed-modules", reg->module_name, NULL,
				     NULL);
		return TRUE;
	}
	if (tw_nss_module_path_loaded(reg->module_path)) {
		g_debug("%s: %s is already registered", dbdir, reg->module_path);
		return TRUE;
	}
	if (SECMOD_AddNewModule(reg->module_name, reg->module_path, 0, 0) != SECSuccess) {
		g_autofree gchar *what =
			g_strdup_printf("cannot add the module %s to %s", reg->module_path, dbdir);
		tw_nss_set_op_error(error, dbdir, what);
		/* written to the module database all the same: then it is ours */
		mod = SECMOD_FindModule(reg->module_name);
		if (mod != NULL) {
			SECMOD_DestroyModule(mod);
			tw_nss_record_append(record, dbdir, "modules", reg->module_name,
					     "module-paths", reg->module_path);
		}
		return FALSE;
	}
	tw_nss_record_append(record, dbdir, "modules", reg->module_name, "module-paths",
			     reg->module_path);
	return TRUE;
}

static gboolean
tw_nss_slot_has_cert(PK11SlotInfo *slot, SECItem *item)
{
	CERTCertificate *cert = PK11_FindCertFromDERCertItem(slot, item, NULL);

	if (cert == NULL)
		return FALSE;
	CERT_DestroyCertificate(cert);
	return TRUE;
}

/* nickname, or "nickname (N)" when nickname is taken by another subject */
static gchar *
tw_nss_unique_nickname(CERTCertificate *cert, const gchar *nickname)
{
	for (guint i = 1; i < 100; i++) {
		g_autofree gchar *nick =
			i == 1 ? g_strdup(nickname) : g_strdup_printf("%s (%u)", nickname, i);
		CERTCertificate *other = CERT_FindCertByNickname(CERT_GetDefaultCertDB(), nick);
		gboolean free_name = other == NULL ||
				     SECITEM_ItemsAreEqual(&other->derSubject, &cert->derSubject);
		if (other != NULL)
			CERT_DestroyCertificate(other);
		if (free_name)
			return g_steal_pointer(&nick);
	}
	return g_strdup(nickname);
}

/* imports a copy of der into slot; *nickname_out stays NULL when NSS cannot
 * store this certificate at all (NSS 3.87 cannot parse some, and refuses
 * Ed25519 and Ed448 keys with SEC_ERROR_ADDING_CERT): skipped with a warning */
static gboolean
tw_nss_import_cert(const gchar *dbdir,
		   PK11SlotInfo *slot,
		   GBytes *der,
		   const gchar *nickname,
		   gchar **nickname_out,
		   GError **error)
{
	SECItem item = {siDERCertBuffer, NULL, 0};
	CERTCertificate *cert;
	g_autofree gchar *nick = NULL;
	gsize len = 0;
	SECStatus rv;

	item.data = (unsigned char *)g_bytes_get_data(der, &len);
	item.len = (unsigned int)len;
	cert = CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &item, NULL, PR_FALSE, PR_TRUE);
	if (cert == NULL) {
		g_warning("%s: '%s' is not a certificate NSS can read (%s), skipped", dbdir,
			  nickname, PR_ErrorToName(PR_GetError()));
		return TRUE;
	}
	nick = tw_nss_unique_nickname(cert, nickname);
	/* no trust flags: the copy only makes the certificate visible */
	rv = PK11_ImportCert(slot, cert, CK_INVALID_HANDLE, nick, PR_FALSE);
	CERT_DestroyCertificate(cert);
	if (rv != SECSuccess && PR_GetError() == SEC_ERROR_ADDING_CERT) {
		g_warning("%s: NSS cannot store '%s' (SEC_ERROR_ADDING_CERT), skipped", dbdir,
			  nick);
		return TRUE;
	}
	if (rv != SECSuccess) {
		g_autofree gchar *what = g_strdup_printf("cannot import '%s' into %s", nick, dbdir);
		tw_nss_set_op_error(error, dbdir, what);
		return FALSE;
	}
	*nickname_out = g_steal_pointer(&nick);
	return TRUE;
}

static gboolean
tw_nss_register_certs(const gchar *dbdir,
		      const TwNssRegistration *reg,
		      TwNssRecord *record,
		      GError **error)
{
	PK11SlotInfo *slot = PK11_GetInternalKeySlot();
	gboolean ok = TRUE;

	for (guint i = 0; reg->certs != NULL && i < reg->certs->len && ok; i++) {
		GBytes *der = g_ptr_array_index(reg->certs, i);
		g_autofree gchar *sha = tw_nss_sha256_hex(der);
		g_autofree gchar *nick = NULL;
		const gchar *wanted = reg->nicknames != NULL && i < reg->nicknames->len
					      ? g_ptr_array_index(reg->nicknames, i)
					      : sha;
		SECItem item = {siDERCertBuffer, NULL, 0};
		gsize len = 0;

		if (tw_nss_record_contains(record, dbdir, "removed-certificates", sha))
			continue;
		item.data = (unsigned char *)g_bytes_get_data(der, &len);
		item.len = (unsigned int)len;
		if (tw_nss_slot_has_cert(slot, &item))
			continue; /* ours from before, or the user's own copy */
		if (tw_nss_record_contains(record, dbdir, "certificates", sha)) {
			g_info("%s: certificate %s was removed by the user", dbdir, sha);
			tw_nss_record_remove(record, dbdir, "certificates", sha, "nicknames");
			tw_nss_record_append(record, dbdir, "removed-certificates", sha, NULL,
					     NULL);
			continue;
		}
		ok = tw_nss_import_cert(dbdir, slot, der, wanted, &nick, error);
		if (ok && nick != NULL)
			tw_nss_record_append(record, dbdir, "certificates", sha, "nicknames", nick);
	}
	PK11_FreeSlot(slot);
	return ok;
}

gboolean
tw_nss_register(const gchar *dbdir,
		const TwNssRegistration *reg,
		TwNssRecord *record,
		GError **error)
{
	G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&tw_nss_mutex);
	gboolean ok;

	g_return_val_if_fail(dbdir != NULL, FALSE);
	g_return_val_if_fail(reg != NULL, FALSE);
	g_return_val_if_fail(record != NULL, FALSE);

	if (!tw_nss_open(dbdir, error))
		return FALSE;
	ok = tw_nss_register_module(dbdir, reg, record, error) &&
	     tw_nss_register_certs(dbdir, reg, record, error);
	return tw_nss_finish(ok, error);
}

/* deletes the certificate objects with these sha256s from the internal
 * token only (never from another token, never a key); drops them from the
 * record */
static gboolean
tw_nss_delete_certs(const gchar *dbdir,
		    TwNssRecord *record,
		    const gchar *const *sha256s,
		    GError **error)
{
	PK11SlotInfo *slot = PK11_GetInternalKeySlot();
	CERTCertList *list = PK11_ListCertsInSlot(slot);
	gboolean ok = TRUE;

	for (CERTCertListNode *node = list != NULL ? CERT_LIST_HEAD(list) : NULL;
	     node != NULL && !CERT_LIST_END(node, list) && ok; node = CERT_LIST_NEXT(node)) {
		g_autoptr(GBytes) der =
			g_bytes_new(node->cert->derCert.data, node->cert->derCert.len);
		g_autofree gchar *sha = tw_nss_sha256_hex(der);
		CK_OBJECT_HANDLE handle;

		if (!g_strv_contains(sha256s, sha) ||
		    !tw_nss_record_contains(record, dbdir, "certificates", sha))
			continue;
		handle = PK11_FindCertInSlot(slot, node->cert, NULL);
		if (handle == CK_INVALID_HANDLE)
			continue;
		if (PK11_DestroyTokenObject(slot, handle) != SECSuccess) {
			g_autofree gchar *what = g_strdup_printf(
				"cannot delete the certificate %s from %s", sha, dbdir);
			tw_nss_set_op_error(error, dbdir, what);
			ok = FALSE;
			break;
		}
		/* gone: never taken for "removed by the user" later */
		tw_nss_record_remove(record, dbdir, "certificates", sha, "nicknames");
	}
	if (list != NULL)
		CERT_DestroyCertList(list);
	PK11_FreeSlot(slot);
	if (!ok)
		return FALSE;
	for (guint i = 0; sha256s[i] != NULL; i++)
		tw_nss_record_remove(record, dbdir, "certificates", sha256s[i], "nicknames");
	return TRUE;
}

static gboolean
tw_nss_delete_modules(const gchar *dbdir, TwNssRecord *record, GError **error)
{
	g_auto(GStrv) names = tw_nss_record_get_list(record, dbdir, "modules");

	for (guint i = 0; names[i] != NULL; i++) {
		g_autofree gchar *path =
			tw_nss_record_lookup(record, dbdir, "modules", names[i], "module-paths");
		SECMODModule *mod = SECMOD_FindModule(names[i]);
		gboolean ours = mod != NULL && mod->dllName != NULL && path != NULL &&
				tw_nss_same_file(mod->dllName, path);
		int type = 0;

		if (mod != NULL)
			SECMOD_DestroyModule(mod);
		if (ours && SECMOD_DeleteModule(names[i], &type) != SECSuccess) {
			g_autofree gchar *what =
				g_strdup_printf("cannot delete the module '%s'", names[i]);
			tw_nss_set_op_error(error, dbdir, what);
			return FALSE;
		}
		tw_nss_record_remove(record, dbdir, "modules", names[i], "module-paths");
	}
	return TRUE;
}

gboolean
tw_nss_unregister_all(const gchar *dbdir, TwNssRecord *record, GError **error)
{
	G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&tw_nss_mutex);
	g_auto(GStrv) shas = NULL;
	gboolean ok;

	g_return_val_if_fail(dbdir != NULL, FALSE);
	g_return_val_if_fail(record != NULL, FALSE);

	if (!tw_nss_open(dbdir, error))
		return FALSE;
	shas = tw_nss_record_get_list(record, dbdir, "certificates");
	ok = tw_nss_delete_certs(dbdir, record, (const gchar *const *)shas, error) &&
	     tw_nss_delete_modules(dbdir, record, error);
	return tw_nss_finish(ok, error);
}

gboolean
tw_nss_remove_certificates(const gchar *dbdir,
			   TwNssRecord *record,
			   const gchar *const *sha256s,
			   GError **error)
{
	G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&tw_nss_mutex);
	gboolean ok;

	g_return_val_if_fail(dbdir != NULL, FALSE);
	g_return_val_if_fail(record != NULL, FALSE);
	g_return_val_if_fail(sha256s != NULL, FALSE);

	if (!tw_nss_open(dbdir, error))
		return FALSE;
	ok = tw_nss_delete_certs(dbdir, record, sha256s, error);
	return tw_nss_finish(ok, error);
}
