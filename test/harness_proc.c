/*
 * harness_proc: the processes a test starts -- the real painpathd, and the
 * helpers every part of the harness shares (reaping, timing, descriptor
 * hygiene, clean-up at exit).  See harness_proc.h for the contract.
 *
 * Clean-up: harness_pg_destroy and harness_daemon_stop/kill are the normal
 * way out, but an atexit handler also stops whatever the exiting process
 * itself started (never what a parent started: Check's forked test children
 * exit through exit() too).  Clusters orphaned by a killed test run are
 * found through their harness.pid file and removed by the next
 * harness_pg_start.
 */
#include "harness_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define DAEMON_READY_MS 120000
#define DAEMON_STOP_MS	30000
#define READY_FD	3
#define MAX_TRACKED	32

/* What the atexit handler must clean up, owned by the process in creator. */
static struct {
	char dir[PATH_MAX];
	pid_t creator;
} tracked_pg[MAX_TRACKED];

static struct {
	pid_t pid;
	pid_t creator;
} tracked_daemon[MAX_TRACKED];

static bool atexit_done;

/* snprintf for buffers that cannot overflow in practice (our own short
 * /tmp paths), without gcc's truncation warnings at each call. */
int harness_xsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
static void harness_atexit(void);

static void register_atexit(void)
{
	if (!atexit_done && atexit(harness_atexit) == 0)
		atexit_done = true;
}
void harness_track_pg(const char *dir)
{
	register_atexit();
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (tracked_pg[i].dir[0] == '\0') {
			harness_xsnprintf(tracked_pg[i].dir,
					  sizeof(tracked_pg[i].dir), "%s", dir);
			tracked_pg[i].creator = getpid();
			return;
		}
	}
}

void harness_untrack_pg(const char *dir)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (strcmp(tracked_pg[i].dir, dir) == 0)
			tracked_pg[i].dir[0] = '\0';
}

static void harness_track_daemon(pid_t pid)
{
	register_atexit();
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (tracked_daemon[i].pid == 0) {
			tracked_daemon[i].pid = pid;
			tracked_daemon[i].creator = getpid();
			return;
		}
	}
}

static void harness_untrack_daemon(pid_t pid)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked_daemon[i].pid == pid)
			tracked_daemon[i].pid = 0;
}
int64_t harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int harness_remaining_ms(int64_t deadline)
{
	int64_t left = deadline - harness_now_ms();

	return left < 0 ? 0 : (int)left;
}
void harness_close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned int)lowfd, ~0U, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);

	for (int fd = lowfd; fd < (max > 0 ? max : 1024); fd++)
		close(fd);
}

void harness_redirect_stdin(void)
{
	int devnull = open("/dev/null", O_RDONLY);

	if (devnull > 0) {
		dup2(devnull, 0);
		close(devnull);
	}
}
/* Returns the exit status, or -1 when it died by a signal. */
int harness_reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
/* Waits up to timeout_ms for pid to end; -2 when it did not. */
static int reap_within(pid_t pid, int timeout_ms)
{
#ifdef SYS_pidfd_open
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pfd >= 0) {
		struct pollfd pf = {.fd = pfd, .events = POLLIN};
		int64_t deadline = harness_now_ms() + timeout_ms;
		int n;

		do
			n = poll(&pf, 1, harness_remaining_ms(deadline));
		while (n < 0 && errno == EINTR);
		close(pfd);
		if (n == 0)
			return -2;
	}
#else
	(void)timeout_ms;
#endif
	return harness_reap(pid);
}

/* path, the fixed flags, then extra (NULL-terminated); caller frees. */
static char **daemon_argv(const char *path, const char *conninfo,
			  const char *const *extra, char *fdtext)
{
	const char *fixed[] = {"--listen", "127.0.0.1", "--port",    "0",
			       "--db",	   conninfo,	"--ready-fd"};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), nextra = 0, i = 0;
	char **argv;

	while (extra && extra[nextra])
		nextra++;
	argv = calloc(nfixed + nextra + 3, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[i++] = (char *)path;
	for (size_t k = 0; k < nfixed; k++)
		argv[i++] = (char *)fixed[k];
	argv[i++] = fdtext;
	for (size_t k = 0; k < nextra; k++)
		argv[i++] = (char *)extra[k];
	argv[i] = NULL;
	return argv;
}

/* The daemon's stderr: o->log_path, else $PAINPATH_TEST_LOG, else ours
 * (-1). */
static int open_daemon_log(const struct daemon_options *o)
{
	const char *path =
		o->log_path ? o->log_path : getenv("PAINPATH_TEST_LOG");
	int fd;

	if (!path || !*path)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "harness: %s: %s\n", path, strerror(errno));
	return fd;
}

/* In the child: descriptors and limits, then exec; never returns. */
static void exec_daemon(char **argv, int ready_fd, int log_fd,
			const struct daemon_options *o, pid_t parent)
{
	/* A test child killed by Check's timeout takes its daemon along
	 * instead of leaving it serving. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	if (log_fd >= 0)
		dup2(log_fd, 2);
	if (ready_fd == READY_FD)
		fcntl(READY_FD, F_SETFD, 0);
	else
		dup2(ready_fd, READY_FD);
	harness_redirect_stdin();
	harness_close_from(READY_FD + 1);
	if (o->max_files > 0) {
		struct rlimit rl = {(rlim_t)o->max_files, (rlim_t)o->max_files};
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			_exit(126);
	}
	execv(argv[0], argv);
	fprintf(stderr, "harness: cannot run %s: %s\n", argv[0],
		strerror(errno));
	_exit(127);
}

/* Reads the port line from the ready pipe; 0 when none came.  The poll
 * bound only matters when the daemon hangs before it is ready. */
static int read_port(int fd, const char *path, char *buf, size_t len)
{
	int64_t deadline = harness_now_ms() + DAEMON_READY_MS;
	size_t got = 0;
	char *end;
	long port;

	while (got < len - 1 && !memchr(buf, '\n', got)) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int n = poll(&pf, 1, harness_remaining_ms(deadline));
		ssize_t r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "harness: %s not ready after %d ms\n",
				path, DAEMON_READY_MS);
			break;
		}
		r = read(fd, buf + got, len - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (!memchr(buf, '\n', got))
		return 0;
	port = strtol(buf, &end, 10);
	return end != buf && *end == '\n' && port > 0 && port < 65536
		       ? (int)port
		       : 0;
}

bool harness_daemon_start_with(struct daemon_instance *d, const char *conninfo,
			       const struct daemon_options *o)
{
	const char *path = getenv("PAINPATHD");
	char **argv = NULL, fdtext[16], buf[32] = "";
	int p[2] = {-1, -1}, log_fd = open_daemon_log(o);
	pid_t pid = -1, parent = getpid();
	bool ok = false;

	d->pid = 0;
	d->port = 0;
	if (!path || !*path)
		path = "build/painpathd";
	harness_xsnprintf(fdtext, sizeof(fdtext), "%d", READY_FD);
	argv = daemon_argv(path, conninfo, o->extra, fdtext);
	if (!argv || pipe2(p, O_CLOEXEC) != 0) {
		perror("harness: daemon");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		perror("harness: fork");
		goto out;
	}
	if (pid == 0)
		exec_daemon(argv, p[1], log_fd, o, parent);
	close(p[1]);
	p[1] = -1;
	d->port = read_port(p[0], path, buf, sizeof(buf));
	if (d->port > 0) {
		d->pid = pid;
		harness_track_daemon(pid);
		ok = true;
	} else {
		kill(pid, SIGKILL);
		fprintf(stderr,
			"harness: %s did not report a port on --ready-fd "
			"(got \"%s\", exit status %d)\n",
			path, buf, harness_reap(pid));
	}
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (log_fd >= 0)
		close(log_fd);
	free(argv);
	return ok;
}

bool harness_daemon_start(struct daemon_instance *d, const char *conninfo,
			  const char *const *extra)
{
	const struct daemon_options o = {.extra = extra};

	return harness_daemon_start_with(d, conninfo, &o);
}

long harness_daemon_kib(const struct daemon_instance *d, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kib = -1;
	FILE *f;

	harness_xsnprintf(path, sizeof(path), "/proc/%d/status", (int)d->pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (kib < 0 && fgets(line, sizeof(line), f))
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			kib = strtol(line + flen + 1, NULL, 10);
	fclose(f);
	return kib;
}

bool harness_daemon_has_asan(const struct daemon_instance *d)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	harness_xsnprintf(path, sizeof(path), "/proc/%d/maps", (int)d->pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "libasan") != NULL;
	fclose(f);
	return found;
}

int harness_daemon_stop(struct daemon_instance *d)
{
	int st;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	st = reap_within(d->pid, DAEMON_STOP_MS);
	if (st == -2) {
		fprintf(stderr,
			"harness: daemon %d ignored SIGTERM for %d ms, "
			"killing it\n",
			(int)d->pid, DAEMON_STOP_MS);
		kill(d->pid, SIGKILL);
		harness_reap(d->pid);
		st = -1;
	}
	harness_untrack_daemon(d->pid);
	d->pid = 0;
	d->port = 0;
	return st;
}

void harness_daemon_kill(struct daemon_instance *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	harness_reap(d->pid);
	harness_untrack_daemon(d->pid);
	d->pid = 0;
	d->port = 0;
}

static void harness_atexit(void)
{
	pid_t self = getpid();

	for (int i = 0; i < MAX_TRACKED; i++) {
		if (tracked_daemon[i].pid > 0 &&
		    tracked_daemon[i].creator == self) {
			kill(tracked_daemon[i].pid, SIGKILL);
			harness_reap(tracked_daemon[i].pid);
			tracked_daemon[i].pid = 0;
		}
	}
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (tracked_pg[i].dir[0] && tracked_pg[i].creator == self) {
			harness_pg_wipe(tracked_pg[i].dir, -1);
			tracked_pg[i].dir[0] = '\0';
		}
	}
}
