/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tw-p11-recorder.so: a PKCS#11 module for tests only. It forwards every call
 * to the real module named by TW_P11_RECORDER_TARGET and appends one line per
 * call (function name, slot or session id) to the file named by
 * TW_P11_RECORDER_LOG, written at entry, so that a call that hangs or
 * crashes is in the log. A test reads the log to prove which functions the
 * daemon called (and which it never did).
 *
 * TW_P11_RECORDER_FAULT makes calls fail; a comma-separated list of
 *   hang:FN[:MS]      FN blocks before it is forwarded: forever, or MS ms
 *   crash:FN          FN calls abort()
 *   error:FN:RV       FN returns RV (CKR_DEVICE_ERROR or another name below,
 *                     or a number such as 0x30) and is not forwarded
 *   badlen:FN         C_GetAttributeValue: a length query answers 0x7fffffff
 *   overlen:FN        C_GetAttributeValue: the value call claims 4096 bytes
 *                     more than the buffer it was given
 *   endless:FN        C_FindObjects: a search never ends, the last objects
 *                     found are found again and again
 * FN@N (e.g. error:C_GetAttributeValue@3:CKR_DEVICE_REMOVED) starts the
 * fault at the Nth call of FN, counting from 1: a card pulled mid-read.
 *
 * TW_P11_RECORDER_FAULT_FILE names a file that holds the same list; it is
 * read again at every call whose file changed (its mtime or size), so that a
 * test switches faults while the daemon runs. Once set, it overrides
 * TW_P11_RECORDER_FAULT; a missing or empty file means no faults.
 *
 * tw_p11_recorder_configure() replaces the faults and the log at run time,
 * for tests that run many cases in one process; it also ends every hang (the
 * hanging call then goes on to the real module). Without it the environment
 * is read at the first call.
 */
#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC_EXPORT	 __attribute__((visibility("default")))
#define REC_MAX_FAULTS	 8
#define REC_BADLEN	 0x7ffffffful
#define REC_OVERLEN	 4096ul
#define REC_POST_BADLEN	 (1u << 0)
#define REC_POST_OVERLEN (1u << 1)
#define REC_POST_ENDLESS (1u << 2)
#define REC_MAX_REPEAT	 64

typedef enum {
	REC_HANG,
	REC_CRASH,
	REC_ERROR,
	REC_BADLEN_MODE,
	REC_OVERLEN_MODE,
	REC_ENDLESS_MODE,
} RecMode;

typedef struct {
	RecMode mode;
	char fn[48];
	unsigned long from;  /* first call it applies to, from 1 */
	unsigned long arg;   /* hang: ms (0 forever); error: the CK_RV */
	unsigned long calls; /* calls of fn seen */
} RecFault;

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rec_cond = PTHREAD_COND_INITIALIZER;
static int rec_configured;
static unsigned long rec_generation; /* a new configuration ends the hangs */
static int rec_log_fd = -1;
static RecFault rec_faults[REC_MAX_FAULTS];
static unsigned int rec_n_faults;

static pthread_once_t rec_target_once = PTHREAD_ONCE_INIT;
static void *rec_target_handle;
static struct ck_function_list *rec_target;
static struct ck_function_list rec_function_list;

REC_EXPORT void tw_p11_recorder_configure(const char *faults, const char *log_path);

static const struct {
	const char *name;
	ck_rv_t rv;
} rec_rv_names[] = {
	{"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
	{"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
	{"CKR_HOST_MEMORY", CKR_HOST_MEMORY},
	{"CKR_ARGUMENTS_BAD", CKR_ARGUMENTS_BAD},
	{"CKR_ATTRIBUTE_SENSITIVE", CKR_ATTRIBUTE_SENSITIVE},
	{"CKR_ATTRIBUTE_TYPE_INVALID", CKR_ATTRIBUTE_TYPE_INVALID},
	{"CKR_BUFFER_TOO_SMALL", CKR_BUFFER_TOO_SMALL},
	{"CKR_CRYPTOKI_NOT_INITIALIZED", CKR_CRYPTOKI_NOT_INITIALIZED},
	{"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
	{"CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY},
	{"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
	{"CKR_FUNCTION_NOT_SUPPORTED", CKR_FUNCTION_NOT_SUPPORTED},
	{"CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID},
	{"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
	{"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
	{"CKR_SLOT_ID_INVALID", CKR_SLOT_ID_INVALID},
	{"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
	{"CKR_TOKEN_NOT_RECOGNIZED", CKR_TOKEN_NOT_RECOGNIZED},
};

static void
rec_write_locked(const char *line)
{
	ssize_t n;

	if (rec_log_fd < 0)
		return;
	/* one write() of a whole line, O_APPEND: no line is torn */
	n = write(rec_log_fd, line, strlen(line));
	(void)n;
}

static int
rec_parse_rv(const char *text, ck_rv_t *rv)
{
	char *end = NULL;

	for (size_t i = 0; i < sizeof(rec_rv_names) / sizeof(rec_rv_names[0]); i++) {
		if (strcmp(text, rec_rv_names[i].name) == 0) {
			*rv = rec_rv_names[i].rv;
			return 1;
		}
	}
	errno = 0;
	*rv = strtoul(text, &end, 0);
	return errno == 0 && end != text && *end == '\0';
}

/* "mode:FN[@N][:ARG]" */
static int
rec_parse_fault(char *spec, RecFault *f)
{
	char *mode = spec;
	char *fn = strchr(spec, ':');
	char *arg = NULL;
	char *at;

	if (fn == NULL)
		return 0;
	*fn++ = '\0';
	arg = strchr(fn, ':');
	if (arg != NULL)
		*arg++ = '\0';
	memset(f, 0, sizeof(*f));
	f->from = 1;
	at = strchr(fn, '@');
	if (at != NULL) {
		*at++ = '\0';
		f->from = strtoul(at, NULL, 10);
		if (f->from == 0)
			return 0;
	}
	if (*fn == '\0' || strlen(fn) >= sizeof(f->fn))
		return 0;
	strcpy(f->fn, fn);
	if (strcmp(mode, "hang") == 0) {
		f->mode = REC_HANG;
		f->arg = arg != NULL ? strtoul(arg, NULL, 10) : 0;
		return 1;
	}
	if (strcmp(mode, "error") == 0) {
		f->mode = REC_ERROR;
		return arg != NULL && rec_parse_rv(arg, &f->arg);
	}
	if (strcmp(mode, "crash") == 0)
		f->mode = REC_CRASH;
	else if (strcmp(mode, "badlen") == 0)
		f->mode = REC_BADLEN_MODE;
	else if (strcmp(mode, "overlen") == 0)
		f->mode = REC_OVERLEN_MODE;
	else if (strcmp(mode, "endless") == 0)
		f->mode = REC_ENDLESS_MODE;
	else
		return 0;
	return arg == NULL;
}

static void
rec_set_faults_locked(const char *faults)
{
	char *copy;
	char *save = NULL;

	rec_n_faults = 0;
	if (faults == NULL || *faults == '\0')
		return;
	copy = strdup(faults);
	if (copy == NULL)
		return;
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char line[160];

		if (rec_n_faults < REC_MAX_FAULTS &&
		    rec_parse_fault(tok, &rec_faults[rec_n_faults])) {
			rec_n_faults++;
			continue;
		}
		snprintf(line, sizeof(line), "# tw-p11-recorder: bad fault '%.100s'\n", tok);
		rec_write_locked(line);
		fputs(line + 2, stderr);
	}
	free(copy);
}

static void
rec_configure_locked(const char *faults, const char *log_path)
{
	if (rec_log_fd >= 0)
		close(rec_log_fd);
	rec_log_fd = -1;
	if (log_path != NULL && *log_path != '\0')
		rec_log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	rec_set_faults_locked(faults);
	rec_configured = 1;
	rec_generation++;
	pthread_cond_broadcast(&rec_cond);
}

/* TW_P11_RECORDER_FAULT_FILE: the faults again when the file changed */
static void
rec_check_fault_file_locked(void)
{
	static struct timespec seen_mtime;
	static off_t seen_size = -1;
	const char *path = getenv("TW_P11_RECORDER_FAULT_FILE");
	struct stat st;
	char buf[1024];
	ssize_t n = 0;
	int fd;

	if (path == NULL || *path == '\0')
		return;
	if (stat(path, &st) != 0) {
		st.st_size = 0;
		st.st_mtim.tv_sec = 0;
		st.st_mtim.tv_nsec = 0;
	}
	if (st.st_size == seen_size && st.st_mtim.tv_sec == seen_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == seen_mtime.tv_nsec)
		return;
	seen_size = st.st_size;
	seen_mtime = st.st_mtim;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	rec_configure_locked(buf, getenv("TW_P11_RECORDER_LOG"));
}

void
tw_p11_recorder_configure(const char *faults, const char *log_path)
{
	pthread_mutex_lock(&rec_lock);
	rec_configure_locked(faults, log_path);
	pthread_mutex_unlock(&rec_lock);
}

static void
rec_hang_locked(unsigned long ms)
{
	unsigned long generation = rec_generation;
	struct timespec end;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += (time_t)(ms / 1000);
	end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (generation == rec_generation) {
		if (ms == 0)
			pthread_cond_wait(&rec_cond, &rec_lock);
		else if (pthread_cond_timedwait(&rec_cond, &rec_lock, &end) == ETIMEDOUT)
			break;
	}
}

/* Logs the call and applies the faults. Returns 1 when the call must return
 * *rv at once; *post gets the faults to apply to the result. */
__attribute__((format(printf, 3, 4))) static int
rec_enter(ck_rv_t *rv, unsigned int *post, const char *fmt, ...)
{
	char line[512];
	size_t name_len;
	va_list ap;
	int ret = 0;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	name_len = strcspn(line, " ");
	strcat(line, "\n");

	pthread_mutex_lock(&rec_lock);
	if (!rec_configured)
		rec_configure_locked(getenv("TW_P11_RECORDER_FAULT"),
				     getenv("TW_P11_RECORDER_LOG"));
	rec_check_fault_file_locked();
	rec_write_locked(line);
	for (unsigned int i = 0; i < rec_n_faults && ret == 0; i++) {
		RecFault *f = &rec_faults[i];

		if (strlen(f->fn) != name_len || strncmp(f->fn, line, name_len) != 0)
			continue;
		if (++f->calls < f->from)
			continue;
		switch (f->mode) {
		case REC_HANG:
			rec_hang_locked(f->arg);
			break;
		case REC_CRASH:
			abort();
		case REC_ERROR:
			*rv = f->arg;
			ret = 1;
			break;
		case REC_BADLEN_MODE:
			if (post != NULL)
				*post |= REC_POST_BADLEN;
			break;
		case REC_OVERLEN_MODE:
			if (post != NULL)
				*post |= REC_POST_OVERLEN;
			break;
		case REC_ENDLESS_MODE:
			if (post != NULL)
				*post |= REC_POST_ENDLESS;
			break;
		default:
			break;
		}
	}
	pthread_mutex_unlock(&rec_lock);
	return ret;
}

#define REC_FORWARD(fn, params, args, ...)              \
	static ck_rv_t rec_##fn params                  \
	{                                               \
		ck_rv_t rv_ = CKR_OK;                   \
		if (rec_enter(&rv_, NULL, __VA_ARGS__)) \
			return rv_;                     \
		return rec_target->fn args;             \
	}

REC_FORWARD(C_Initialize, (void *init_args), (init_args), "C_Initialize")
REC_FORWARD(C_Finalize, (void *reserved), (reserved), "C_Finalize")
REC_FORWARD(C_GetInfo, (struct ck_info * info), (info), "C_GetInfo")
REC_FORWARD(C_GetSlotList,
	    (unsigned char present, ck_slot_id_t *list, unsigned long *count),
	    (present, list, count),
	    "C_GetSlotList present=%u%s",
	    present,
	    list ? "" : " (count)")
REC_FORWARD(C_GetSlotInfo,
	    (ck_slot_id_t slot, struct ck_slot_info *info),
	    (slot, info),
	    "C_GetSlotInfo slot=0x%lx",
	    slot)
REC_FORWARD(C_GetTokenInfo,
	    (ck_slot_id_t slot, struct ck_token_info *info),
	    (slot, info),
	    "C_GetTokenInfo slot=0x%lx",
	    slot)
REC_FORWARD(C_WaitForSlotEvent,
	    (ck_flags_t flags, ck_slot_id_t *slot, void *reserved),
	    (flags, slot, reserved),
	    "C_WaitForSlotEvent flags=0x%lx",
	    flags)
REC_FORWARD(C_GetMechanismList,
	    (ck_slot_id_t slot, ck_mechanism_type_t *list, unsigned long *count),
	    (slot, list, count),
	    "C_GetMechanismList slot=0x%lx",
	    slot)
REC_FORWARD(C_GetMechanismInfo,
	    (ck_slot_id_t slot, ck_mechanism_type_t type, struct ck_mechanism_info *info),
	    (slot, type, info),
	    "C_GetMechanismInfo slot=0x%lx",
	    slot)
REC_FORWARD(C_InitToken,
	    (ck_slot_id_t slot, unsigned char *pin, unsigned long pin_len, unsigned char *label),
	    (slot, pin, pin_len, label),
	    "C_InitToken slot=0x%lx",
	    slot)
REC_FORWARD(C_InitPIN,
	    (ck_session_handle_t s, unsigned char *pin, unsigned long pin_len),
	    (s, pin, pin_len),
	    "C_InitPIN session=%lu",
	    s)
REC_FORWARD(C_SetPIN,
	    (ck_session_handle_t s,
	     unsigned char *old_pin,
	     unsigned long old_len,
	     unsigned char *new_pin,
	     unsigned long new_len),
	    (s, old_pin, old_len, new_pin, new_len),
	    "C_SetPIN session=%lu",
	    s)
REC_FORWARD(C_OpenSession,
	    (ck_slot_id_t slot,
	     ck_flags_t flags,
	     void *app,
	     ck_notify_t notify,
	     ck_session_handle_t *s),
	    (slot, flags, app, notify, s),
	    "C_OpenSession slot=0x%lx flags=0x%lx",
	    slot,
	    flags)
REC_FORWARD(C_CloseSession, (ck_session_handle_t s), (s), "C_CloseSession session=%lu", s)
REC_FORWARD(C_CloseAllSessions, (ck_slot_id_t slot), (slot), "C_CloseAllSessions slot=0x%lx", slot)
REC_FORWARD(C_GetSessionInfo,
	    (ck_session_handle_t s, struct ck_session_info *info),
	    (s, info),
	    "C_GetSessionInfo session=%lu",
	    s)
REC_FORWARD(C_GetOperationState,
	    (ck_session_handle_t s, unsigned char *state, unsigned long *len),
	    (s, state, len),
	    "C_GetOperationState session=%lu",
	    s)
REC_FORWARD(C_SetOperationState,
	    (ck_session_handle_t s,
	     unsigned char *state,
	     unsigned long len,
	     ck_object_handle_t ekey,
	     ck_object_handle_t akey),
	    (s, state, len, ekey, akey),
	    "C_SetOperationState session=%lu",
	    s)
REC_FORWARD(C_Login,
	    (ck_session_handle_t s, ck_user_type_t user, unsigned char *pin, unsigned long len),
	    (s, user, pin, len),
	    "C_Login session=%lu user=%lu",
	    s,
	    user)
REC_FORWARD(C_Logout, (ck_session_handle_t s), (s), "C_Logout session=%lu", s)
REC_FORWARD(
	C_CreateObject,
	(ck_session_handle_t s, struct ck_attribute *t, unsigned long n, ck_object_handle_t *obj),
	(s, t, n, obj),
	"C_CreateObject session=%lu",
	s)
REC_FORWARD(C_CopyObject,
	    (ck_session_handle_t s,
	     ck_object_handle_t obj,
	     struct ck_attribute *t,
	     unsigned long n,
	     ck_object_handle_t *new_obj),
	    (s, obj, t, n, new_obj),
	    "C_CopyObject session=%lu object=%lu",
	    s,
	    obj)
REC_FORWARD(C_DestroyObject,
	    (ck_session_handle_t s, ck_object_handle_t obj),
	    (s, obj),
	    "C_DestroyObject session=%lu object=%lu",
	    s,
	    obj)
REC_FORWARD(C_GetObjectSize,
	    (ck_session_handle_t s, ck_object_handle_t obj, unsigned long *size),
	    (s, obj, size),
	    "C_GetObjectSize session=%lu object=%lu",
	    s,
	    obj)
REC_FORWARD(
	C_SetAttributeValue,
	(ck_session_handle_t s, ck_object_handle_t obj, struct ck_attribute *t, unsigned long n),
	(s, obj, t, n),
	"C_SetAttributeValue session=%lu object=%lu",
	s,
	obj)
REC_FORWARD(C_FindObjectsInit,
	    (ck_session_handle_t s, struct ck_attribute *t, unsigned long n),
	    (s, t, n),
	    "C_FindObjectsInit session=%lu",
	    s)
REC_FORWARD(C_FindObjectsFinal, (ck_session_handle_t s), (s), "C_FindObjectsFinal session=%lu", s)
REC_FORWARD(C_EncryptInit,
	    (ck_session_handle_t s, struct ck_mechanism *mech, ck_object_handle_t key),
	    (s, mech, key),
	    "C_EncryptInit session=%lu",
	    s)
REC_FORWARD(C_Encrypt,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_Encrypt session=%lu",
	    s)
REC_FORWARD(C_EncryptUpdate,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_EncryptUpdate session=%lu",
	    s)
REC_FORWARD(C_EncryptFinal,
	    (ck_session_handle_t s, unsigned char *out, unsigned long *out_len),
	    (s, out, out_len),
	    "C_EncryptFinal session=%lu",
	    s)
REC_FORWARD(C_DecryptInit,
	    (ck_session_handle_t s, struct ck_mechanism *mech, ck_object_handle_t key),
	    (s, mech, key),
	    "C_DecryptInit session=%lu",
	    s)
REC_FORWARD(C_Decrypt,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_Decrypt session=%lu",
	    s)
REC_FORWARD(C_DecryptUpdate,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_DecryptUpdate session=%lu",
	    s)
REC_FORWARD(C_DecryptFinal,
	    (ck_session_handle_t s, unsigned char *out, unsigned long *out_len),
	    (s, out, out_len),
	    "C_DecryptFinal session=%lu",
	    s)
REC_FORWARD(C_DigestInit,
	    (ck_session_handle_t s, struct ck_mechanism *mech),
	    (s, mech),
	    "C_DigestInit session=%lu",
	    s)
REC_FORWARD(C_Digest,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_Digest session=%lu",
	    s)
REC_FORWARD(C_DigestUpdate,
	    (ck_session_handle_t s, unsigned char *in, unsigned long in_len),
	    (s, in, in_len),
	    "C_DigestUpdate session=%lu",
	    s)
REC_FORWARD(C_DigestKey,
	    (ck_session_handle_t s, ck_object_handle_t key),
	    (s, key),
	    "C_DigestKey session=%lu",
	    s)
REC_FORWARD(C_DigestFinal,
	    (ck_session_handle_t s, unsigned char *out, unsigned long *out_len),
	    (s, out, out_len),
	    "C_DigestFinal session=%lu",
	    s)
REC_FORWARD(C_SignInit,
	    (ck_session_handle_t s, struct ck_mechanism *mech, ck_object_handle_t key),
	    (s, mech, key),
	    "C_SignInit session=%lu",
	    s)
REC_FORWARD(C_Sign,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_Sign session=%lu",
	    s)
REC_FORWARD(C_SignUpdate,
	    (ck_session_handle_t s, unsigned char *in, unsigned long in_len),
	    (s, in, in_len),
	    "C_SignUpdate session=%lu",
	    s)
REC_FORWARD(C_SignFinal,
	    (ck_session_handle_t s, unsigned char *out, unsigned long *out_len),
	    (s, out, out_len),
	    "C_SignFinal session=%lu",
	    s)
REC_FORWARD(C_SignRecoverInit,
	    (ck_session_handle_t s, struct ck_mechanism *mech, ck_object_handle_t key),
	    (s, mech, key),
	    "C_SignRecoverInit session=%lu",
	    s)
REC_FORWARD(C_SignRecover,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_SignRecover session=%lu",
	    s)
REC_FORWARD(C_VerifyInit,
	    (ck_session_handle_t s, struct ck_mechanism *mech, ck_object_handle_t key),
	    (s, mech, key),
	    "C_VerifyInit session=%lu",
	    s)
REC_FORWARD(C_Verify,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *sig,
	     unsigned long sig_len),
	    (s, in, in_len, sig, sig_len),
	    "C_Verify session=%lu",
	    s)
REC_FORWARD(C_VerifyUpdate,
	    (ck_session_handle_t s, unsigned char *in, unsigned long in_len),
	    (s, in, in_len),
	    "C_VerifyUpdate session=%lu",
	    s)
REC_FORWARD(C_VerifyFinal,
	    (ck_session_handle_t s, unsigned char *sig, unsigned long sig_len),
	    (s, sig, sig_len),
	    "C_VerifyFinal session=%lu",
	    s)
REC_FORWARD(C_VerifyRecoverInit,
	    (ck_session_handle_t s, struct ck_mechanism *mech, ck_object_handle_t key),
	    (s, mech, key),
	    "C_VerifyRecoverInit session=%lu",
	    s)
REC_FORWARD(C_VerifyRecover,
	    (ck_session_handle_t s,
	     unsigned char *sig,
	     unsigned long sig_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, sig, sig_len, out, out_len),
	    "C_VerifyRecover session=%lu",
	    s)
REC_FORWARD(C_DigestEncryptUpdate,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_DigestEncryptUpdate session=%lu",
	    s)
REC_FORWARD(C_DecryptDigestUpdate,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_DecryptDigestUpdate session=%lu",
	    s)
REC_FORWARD(C_SignEncryptUpdate,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_SignEncryptUpdate session=%lu",
	    s)
REC_FORWARD(C_DecryptVerifyUpdate,
	    (ck_session_handle_t s,
	     unsigned char *in,
	     unsigned long in_len,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, in, in_len, out, out_len),
	    "C_DecryptVerifyUpdate session=%lu",
	    s)
REC_FORWARD(C_GenerateKey,
	    (ck_session_handle_t s,
	     struct ck_mechanism *mech,
	     struct ck_attribute *t,
	     unsigned long n,
	     ck_object_handle_t *key),
	    (s, mech, t, n, key),
	    "C_GenerateKey session=%lu",
	    s)
REC_FORWARD(C_GenerateKeyPair,
	    (ck_session_handle_t s,
	     struct ck_mechanism *mech,
	     struct ck_attribute *pub_t,
	     unsigned long pub_n,
	     struct ck_attribute *priv_t,
	     unsigned long priv_n,
	     ck_object_handle_t *pub,
	     ck_object_handle_t *priv),
	    (s, mech, pub_t, pub_n, priv_t, priv_n, pub, priv),
	    "C_GenerateKeyPair session=%lu",
	    s)
REC_FORWARD(C_WrapKey,
	    (ck_session_handle_t s,
	     struct ck_mechanism *mech,
	     ck_object_handle_t wkey,
	     ck_object_handle_t key,
	     unsigned char *out,
	     unsigned long *out_len),
	    (s, mech, wkey, key, out, out_len),
	    "C_WrapKey session=%lu",
	    s)
REC_FORWARD(C_UnwrapKey,
	    (ck_session_handle_t s,
	     struct ck_mechanism *mech,
	     ck_object_handle_t ukey,
	     unsigned char *in,
	     unsigned long in_len,
	     struct ck_attribute *t,
	     unsigned long n,
	     ck_object_handle_t *key),
	    (s, mech, ukey, in, in_len, t, n, key),
	    "C_UnwrapKey session=%lu",
	    s)
REC_FORWARD(C_DeriveKey,
	    (ck_session_handle_t s,
	     struct ck_mechanism *mech,
	     ck_object_handle_t base,
	     struct ck_attribute *t,
	     unsigned long n,
	     ck_object_handle_t *key),
	    (s, mech, base, t, n, key),
	    "C_DeriveKey session=%lu",
	    s)
REC_FORWARD(C_SeedRandom,
	    (ck_session_handle_t s, unsigned char *seed, unsigned long len),
	    (s, seed, len),
	    "C_SeedRandom session=%lu",
	    s)
REC_FORWARD(C_GenerateRandom,
	    (ck_session_handle_t s, unsigned char *out, unsigned long len),
	    (s, out, len),
	    "C_GenerateRandom session=%lu",
	    s)
REC_FORWARD(C_GetFunctionStatus, (ck_session_handle_t s), (s), "C_GetFunctionStatus session=%lu", s)
REC_FORWARD(C_CancelFunction, (ck_session_handle_t s), (s), "C_CancelFunction session=%lu", s)

static ck_rv_t
rec_C_GetAttributeValue(ck_session_handle_t s,
			ck_object_handle_t obj,
			struct ck_attribute *t,
			unsigned long n)
{
	unsigned int post = 0;
	ck_rv_t rv = CKR_OK;

	if (rec_enter(&rv, &post, "C_GetAttributeValue session=%lu object=%lu count=%lu%s", s, obj,
		      n, (n > 0 && t != NULL && t[0].value == NULL) ? " (lengths)" : ""))
		return rv;
	rv = rec_target->C_GetAttributeValue(s, obj, t, n);
	for (unsigned long i = 0; i < n && t != NULL; i++) {
		if ((post & REC_POST_BADLEN) && t[i].value == NULL)
			t[i].value_len = REC_BADLEN;
		if ((post & REC_POST_OVERLEN) && t[i].value != NULL &&
		    t[i].value_len != (unsigned long)-1)
			t[i].value_len += REC_OVERLEN;
	}
	return rv;
}

static ck_object_handle_t rec_repeat[REC_MAX_REPEAT]; /* endless: the last objects found */
static unsigned long rec_n_repeat;

static ck_rv_t
rec_C_FindObjects(ck_session_handle_t s,
		  ck_object_handle_t *objs,
		  unsigned long max,
		  unsigned long *n)
{
	unsigned int post = 0;
	ck_rv_t rv = CKR_OK;

	if (rec_enter(&rv, &post, "C_FindObjects session=%lu max=%lu", s, max))
		return rv;
	rv = rec_target->C_FindObjects(s, objs, max, n);
	if (!(post & REC_POST_ENDLESS) || rv != CKR_OK || objs == NULL || n == NULL)
		return rv;
	pthread_mutex_lock(&rec_lock);
	if (*n > 0) {
		rec_n_repeat = *n < REC_MAX_REPEAT ? *n : REC_MAX_REPEAT;
		memcpy(rec_repeat, objs, rec_n_repeat * sizeof(objs[0]));
	} else {
		*n = rec_n_repeat < max ? rec_n_repeat : max;
		memcpy(objs, rec_repeat, *n * sizeof(objs[0]));
	}
	pthread_mutex_unlock(&rec_lock);
	return rv;
}

static void
rec_load_target(void)
{
	const char *path = getenv("TW_P11_RECORDER_TARGET");
	ck_rv_t (*get_function_list)(struct ck_function_list **) = NULL;
	struct ck_function_list *list = NULL;

	if (path == NULL || *path == '\0') {
		fputs("tw-p11-recorder: TW_P11_RECORDER_TARGET is not set\n", stderr);
		return;
	}
	rec_target_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (rec_target_handle == NULL) {
		fprintf(stderr, "tw-p11-recorder: %s\n", dlerror());
		return;
	}
	*(void **)(&get_function_list) = dlsym(rec_target_handle, "C_GetFunctionList");
	if (get_function_list == NULL || get_function_list(&list) != CKR_OK || list == NULL) {
		fprintf(stderr, "tw-p11-recorder: no function list in %s\n", path);
		return;
	}
	rec_target = list;
}

REC_EXPORT ck_rv_t
C_GetFunctionList(struct ck_function_list **list)
{
	ck_rv_t rv = CKR_OK;

	if (rec_enter(&rv, NULL, "C_GetFunctionList"))
		return rv;
	pthread_once(&rec_target_once, rec_load_target);
	if (rec_target == NULL)
		return CKR_GENERAL_ERROR;
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	*list = &rec_function_list;
	return CKR_OK;
}

static struct ck_function_list rec_function_list = {
	.version = {2, 40},
	.C_Initialize = rec_C_Initialize,
	.C_Finalize = rec_C_Finalize,
	.C_GetInfo = rec_C_GetInfo,
	.C_GetFunctionList = C_GetFunctionList,
	.C_GetSlotList = rec_C_GetSlotList,
	.C_GetSlotInfo = rec_C_GetSlotInfo,
	.C_GetTokenInfo = rec_C_GetTokenInfo,
	.C_GetMechanismList = rec_C_GetMechanismList,
	.C_GetMechanismInfo = rec_C_GetMechanismInfo,
	.C_InitToken = rec_C_InitToken,
	.C_InitPIN = rec_C_InitPIN,
	.C_SetPIN = rec_C_SetPIN,
	.C_OpenSession = rec_C_OpenSession,
	.C_CloseSession = rec_C_CloseSession,
	.C_CloseAllSessions = rec_C_CloseAllSessions,
	.C_GetSessionInfo = rec_C_GetSessionInfo,
	.C_GetOperationState = rec_C_GetOperationState,
	.C_SetOperationState = rec_C_SetOperationState,
	.C_Login = rec_C_Login,
	.C_Logout = rec_C_Logout,
	.C_CreateObject = rec_C_CreateObject,
	.C_CopyObject = rec_C_CopyObject,
	.C_DestroyObject = rec_C_DestroyObject,
	.C_GetObjectSize = rec_C_GetObjectSize,
	.C_GetAttributeValue = rec_C_GetAttributeValue,
	.C_SetAttributeValue = rec_C_SetAttributeValue,
	.C_FindObjectsInit = rec_C_FindObjectsInit,
	.C_FindObjects = rec_C_FindObjects,
	.C_FindObjectsFinal = rec_C_FindObjectsFinal,
	.C_EncryptInit = rec_C_EncryptInit,
	.C_Encrypt = rec_C_Encrypt,
	.C_EncryptUpdate = rec_C_EncryptUpdate,
	.C_EncryptFinal = rec_C_EncryptFinal,
	.C_DecryptInit = rec_C_DecryptInit,
	.C_Decrypt = rec_C_Decrypt,
	.C_DecryptUpdate = rec_C_DecryptUpdate,
	.C_DecryptFinal = rec_C_DecryptFinal,
	.C_DigestInit = rec_C_DigestInit,
	.C_Digest = rec_C_Digest,
	.C_DigestUpdate = rec_C_DigestUpdate,
	.C_DigestKey = rec_C_DigestKey,
	.C_DigestFinal = rec_C_DigestFinal,
	.C_SignInit = rec_C_SignInit,
	.C_Sign = rec_C_Sign,
	.C_SignUpdate = rec_C_SignUpdate,
	.C_SignFinal = rec_C_SignFinal,
	.C_SignRecoverInit = rec_C_SignRecoverInit,
	.C_SignRecover = rec_C_SignRecover,
	.C_VerifyInit = rec_C_VerifyInit,
	.C_Verify = rec_C_Verify,
	.C_VerifyUpdate = rec_C_VerifyUpdate,
	.C_VerifyFinal = rec_C_VerifyFinal,
	.C_VerifyRecoverInit = rec_C_VerifyRecoverInit,
	.C_VerifyRecover = rec_C_VerifyRecover,
	.C_DigestEncryptUpdate = rec_C_DigestEncryptUpdate,
	.C_DecryptDigestUpdate = rec_C_DecryptDigestUpdate,
	.C_SignEncryptUpdate = rec_C_SignEncryptUpdate,
	.C_DecryptVerifyUpdate = rec_C_DecryptVerifyUpdate,
	.C_GenerateKey = rec_C_GenerateKey,
	.C_GenerateKeyPair = rec_C_GenerateKeyPair,
	.C_WrapKey = rec_C_WrapKey,
	.C_UnwrapKey = rec_C_UnwrapKey,
	.C_DeriveKey = rec_C_DeriveKey,
	.C_SeedRandom = rec_C_SeedRandom,
	.C_GenerateRandom = rec_C_GenerateRandom,
	.C_GetFunctionStatus = rec_C_GetFunctionStatus,
	.C_CancelFunction = rec_C_CancelFunction,
	.C_WaitForSlotEvent = rec_C_WaitForSlotEvent,
};
