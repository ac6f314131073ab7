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

bool harness_daemon_start(struct daemon_instance *d, const char *conninfo,
			  const char *const *extra)
{
	const char *path = getenv("PAINPATHD");
	const char *logpath = getenv("PAINPATH_TEST_LOG");
	const char *fixed[] = {"--listen", "127.0.0.1", "--port",    "0",
			       "--db",	   conninfo,	"--ready-fd"};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), nextra = 0, i = 0;
	char **argv = NULL, fdtext[16], buf[32];
	int p[2] = {-1, -1}, log_fd = -1;
	size_t got = 0;
	pid_t pid = -1, parent = getpid();
	int64_t deadline;
	bool ok = false;
	int st;

	d->pid = 0;
	d->port = 0;
	if (!path || !*path)
		path = "build/painpathd";
	while (extra && extra[nextra])
		nextra++;
	argv = calloc(nfixed + nextra + 3, sizeof(*argv));
	if (!argv)
		goto out;
	harness_xsnprintf(fdtext, sizeof(fdtext), "%d", READY_FD);
	argv[i++] = (char *)path;
	for (size_t k = 0; k < nfixed; k++)
		argv[i++] = (char *)fixed[k];
	argv[i++] = fdtext;
	for (size_t k = 0; k < nextra; k++)
		argv[i++] = (char *)extra[k];
	argv[i] = NULL;

	if (logpath && *logpath) {
		log_fd = open(logpath,
			      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0)
			fprintf(stderr, "harness: %s: %s\n", logpath,
				strerror(errno));
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		perror("harness: pipe2");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		perror("harness: fork");
		goto out;
	}
	if (pid == 0) {
		/* A test child killed by Check's timeout takes its daemon
		 * along instead of leaving it serving. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		if (log_fd >= 0)
			dup2(log_fd, 2);
		if (p[1] == READY_FD)
			fcntl(READY_FD, F_SETFD, 0);
		else
			dup2(p[1], READY_FD);
		harness_redirect_stdin();
		harness_close_from(READY_FD + 1);
		execv(path, argv);
		fprintf(stderr, "harness: cannot run %s: %s\n", path,
			strerror(errno));
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;

	/* Reads until the newline or EOF; the poll bound only matters when
	 * the daemon hangs before it is ready. */
	deadline = harness_now_ms() + DAEMON_READY_MS;

	while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		int n = poll(&pf, 1, harness_remaining_ms(deadline));
		ssize_t r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "harness: %s not ready after %d ms\n",
				path, DAEMON_READY_MS);
			break;
		}
		r = read(p[0], buf + got, sizeof(buf) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (memchr(buf, '\n', got)) {
		char *end;
		long port = strtol(buf, &end, 10);

		if (end != buf && *end == '\n' && port > 0 && port < 65536) {
			d->pid = pid;
			d->port = (int)port;
			harness_track_daemon(pid);
			ok = true;
			goto out;
		}
	}
	kill(pid, SIGKILL);
	st = harness_reap(pid);

	fprintf(stderr,
		"harness: %s did not report a port on --ready-fd (got \"%s\", "
		"exit status %d)\n",
		path, buf, st);
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
