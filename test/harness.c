/*
 * harness: a private PostgreSQL cluster, the real painpathd and a tiny HTTP
 * client for black-box tests.  See harness.h for the contract.
 *
 * Clean-up: harness_pg_destroy and harness_daemon_stop/kill are the normal
 * way out, but an atexit handler also stops whatever the exiting process
 * itself started (never what a parent started: Check's forked test children
 * exit through exit() too).  Clusters orphaned by a killed test run are
 * found through their harness.pid file and removed by the next
 * harness_pg_start.
 */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PG_DEFAULT_BINDIR "/usr/lib/postgresql/15/bin"
#define PG_PORT		  5432
#define TMP_TEMPLATE	  "/tmp/painpath-pg-XXXXXX"
#define STALE_PREFIX	  "painpath-pg-"
#define HTTP_TIMEOUT_MS	  30000
#define DAEMON_READY_MS	  120000
#define DAEMON_STOP_MS	  30000
#define READY_FD	  3
#define MAX_TRACKED	  32

extern char **environ;

/* Who runs the PostgreSQL programs and whom the conninfo names. */
static struct {
	bool ready;
	bool drop; /* running as root: switch to postgres in children */
	uid_t uid;
	gid_t gid;
	char name[64];
} ident;

static char bindir[PATH_MAX];
static char **clean_env;

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
__attribute__((format(printf, 3, 4))) static int
xsnprintf(char *buf, size_t size, const char *fmt, ...)
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

static void track_pg(const char *dir)
{
	register_atexit();
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (tracked_pg[i].dir[0] == '\0') {
			xsnprintf(tracked_pg[i].dir, sizeof(tracked_pg[i].dir),
				  "%s", dir);
			tracked_pg[i].creator = getpid();
			return;
		}
	}
}

static void untrack_pg(const char *dir)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (strcmp(tracked_pg[i].dir, dir) == 0)
			tracked_pg[i].dir[0] = '\0';
}

static void track_daemon(pid_t pid)
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

static void untrack_daemon(pid_t pid)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (tracked_daemon[i].pid == pid)
			tracked_daemon[i].pid = 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

static void close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned int)lowfd, ~0U, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);

	for (int fd = lowfd; fd < (max > 0 ? max : 1024); fd++)
		close(fd);
}

static void redirect_stdin(void)
{
	int devnull = open("/dev/null", O_RDONLY);

	if (devnull > 0) {
		dup2(devnull, 0);
		close(devnull);
	}
}

static bool ident_init(void)
{
	struct passwd *pw;

	if (ident.ready)
		return true;
	if (geteuid() == 0) {
		pw = getpwnam("postgres");
		if (!pw) {
			fprintf(stderr, "harness: running as root but there is "
					"no postgres user (install "
					"postgresql)\n");
			return false;
		}
		ident.drop = true;
	} else {
		pw = getpwuid(geteuid());
		if (!pw) {
			fprintf(stderr, "harness: no passwd entry for uid %d\n",
				(int)geteuid());
			return false;
		}
	}
	ident.uid = pw->pw_uid;
	ident.gid = pw->pw_gid;
	xsnprintf(ident.name, sizeof(ident.name), "%s", pw->pw_name);
	ident.ready = true;
	return true;
}

static bool has_initdb(const char *dir)
{
	char path[PATH_MAX];

	xsnprintf(path, sizeof(path), "%s/initdb", dir);
	return access(path, X_OK) == 0;
}

/* pg_config may come from a libpq-dev of another major than the server, so
 * its answer is only taken when initdb is really there. */
static bool find_bindir(void)
{
	const char *env = getenv("PAINPATH_PG_BINDIR");
	char line[PATH_MAX] = "";
	FILE *p;

	if (bindir[0])
		return true;
	if (env && has_initdb(env)) {
		xsnprintf(bindir, sizeof(bindir), "%s", env);
		return true;
	}
	p = popen("pg_config --bindir 2>/dev/null", "re");
	if (p) {
		if (fgets(line, sizeof(line), p))
			line[strcspn(line, "\r\n")] = '\0';
		pclose(p);
		if (line[0] && has_initdb(line)) {
			xsnprintf(bindir, sizeof(bindir), "%s", line);
			return true;
		}
	}
	if (has_initdb(PG_DEFAULT_BINDIR)) {
		xsnprintf(bindir, sizeof(bindir), "%s", PG_DEFAULT_BINDIR);
		return true;
	}
	fprintf(stderr,
		"harness: no initdb in `pg_config --bindir` nor "
		"in " PG_DEFAULT_BINDIR " (install postgresql-15 or set "
		"PAINPATH_PG_BINDIR)\n");
	return false;
}

/* The environment for PostgreSQL programs: without PG* variables, which
 * would otherwise redirect them to some other server or database. */
static bool env_init(void)
{
	size_t n = 0, j = 0;

	if (clean_env)
		return true;
	while (environ[n])
		n++;
	clean_env = calloc(n + 1, sizeof(*clean_env));
	if (!clean_env)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PG", 2) != 0)
			clean_env[j++] = environ[i];
	return true;
}

static bool pg_init(void)
{
	return ident_init() && find_bindir() && env_init();
}

/*
 * fork + exec argv with the given fds as stdin/stdout/stderr (-1: /dev/null
 * for stdin, inherited for the others), as postgres when we are root.  No
 * other fd leaks into the child: a postmaster holding one of our pipes would
 * keep its reader waiting for EOF forever.
 */
static pid_t spawn_pg(char *const argv[], int out_fd, int err_fd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;

	/* stdin last: with fd 0 closed in our parent, out_fd may be 0. */
	if (out_fd >= 0 && out_fd != 1)
		dup2(out_fd, 1);
	if (err_fd >= 0 && err_fd != 2)
		dup2(err_fd, 2);
	redirect_stdin();
	close_from(3);
	if (ident.drop && (setgroups(1, &ident.gid) != 0 ||
			   setgid(ident.gid) != 0 || setuid(ident.uid) != 0)) {
		perror("harness: cannot become postgres");
		_exit(126);
	}
	/* Our cwd may be a 0700 checkout postgres cannot enter. */
	if (chdir("/") != 0)
		_exit(126);
	execve(argv[0], argv, clean_env);
	fprintf(stderr, "harness: cannot run %s: %s\n", argv[0],
		strerror(errno));
	_exit(127);
}

/* Returns the exit status, or -1 when it died by a signal. */
static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_pg(char *const argv[], int out_fd, int err_fd)
{
	pid_t pid = spawn_pg(argv, out_fd, err_fd);

	if (pid < 0) {
		perror("harness: fork");
		return -1;
	}
	return reap(pid);
}

static int open_log(const char *dir)
{
	char path[PATH_MAX];

	xsnprintf(path, sizeof(path), "%s/harness.log", dir);
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static void dump_file(const char *dir, const char *name)
{
	char path[PATH_MAX], buf[4096];
	FILE *f;

	xsnprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return;
	fprintf(stderr, "---- %s ----\n", path);
	while (fgets(buf, sizeof(buf), f))
		fputs(buf, stderr);
	fclose(f);
}

static int pg_ctl_stop(const char *dir, const char *mode, int log_fd)
{
	char pgctl[PATH_MAX + 16], data[PATH_MAX + 16];
	char *argv[] = {pgctl, "-D",  data, "-m",   (char *)mode, "-w",
			"-t",  "120", "-s", "stop", NULL};

	xsnprintf(pgctl, sizeof(pgctl), "%s/pg_ctl", bindir);
	xsnprintf(data, sizeof(data), "%s/data", dir);
	return run_pg(argv, log_fd, log_fd);
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static bool postmaster_pid_exists(const char *dir)
{
	char path[PATH_MAX + 32];

	xsnprintf(path, sizeof(path), "%s/data/postmaster.pid", dir);
	return access(path, F_OK) == 0;
}

/* Stop and remove a cluster by its directory, whatever state it is in. */
static void pg_wipe(const char *dir, int log_fd)
{
	if (postmaster_pid_exists(dir) && pg_ctl_stop(dir, "fast", log_fd) != 0)
		pg_ctl_stop(dir, "immediate", log_fd);
	rm_tree(dir);
}

/* Clusters whose creating process is gone were left by a run that was
 * killed (Ctrl-C, a timeout) before its atexit handler could run. */
static void reap_stale(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char dir[PATH_MAX], path[PATH_MAX + 16], buf[32] = "";
		long pid;
		FILE *f;

		if (strncmp(e->d_name, STALE_PREFIX, strlen(STALE_PREFIX)))
			continue;
		xsnprintf(dir, sizeof(dir), "/tmp/%s", e->d_name);
		xsnprintf(path, sizeof(path), "%s/harness.pid", dir);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		pid = strtol(buf, NULL, 10);
		if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		fprintf(stderr, "harness: removing stale cluster %s\n", dir);
		pg_wipe(dir, -1);
	}
	closedir(d);
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, len) == (ssize_t)len;
	return close(fd) == 0 && ok;
}

bool harness_pg_start_server(struct pg_instance *pg)
{
	char pgctl[PATH_MAX + 16], data[PATH_MAX + 16], log[PATH_MAX + 16];
	char *argv[] = {pgctl, "-D",  data, "-l",    log, "-w",
			"-t",  "120", "-s", "start", NULL};
	int log_fd = -1;
	bool ok = false;

	if (!pg_init())
		goto out;
	if (pg->running)
		return true;
	xsnprintf(pgctl, sizeof(pgctl), "%s/pg_ctl", bindir);
	xsnprintf(data, sizeof(data), "%s/data", pg->dir);
	xsnprintf(log, sizeof(log), "%s/server.log", pg->dir);
	log_fd = open_log(pg->dir);
	if (run_pg(argv, log_fd, log_fd) != 0) {
		fprintf(stderr, "harness: pg_ctl start failed in %s\n",
			pg->dir);
		dump_file(pg->dir, "harness.log");
		dump_file(pg->dir, "server.log");
		goto out;
	}
	pg->running = true;
	ok = true;
out:
	if (log_fd >= 0)
		close(log_fd);
	return ok;
}

bool harness_pg_stop_server(struct pg_instance *pg, bool fast)
{
	int log_fd;
	bool ok;

	if (!pg->running)
		return true;
	if (!pg_init())
		return false;
	log_fd = open_log(pg->dir);
	ok = pg_ctl_stop(pg->dir, fast ? "fast" : "immediate", log_fd) == 0;
	if (log_fd >= 0)
		close(log_fd);
	if (ok)
		pg->running = false;
	else
		fprintf(stderr, "harness: pg_ctl stop failed in %s\n", pg->dir);
	return ok;
}

bool harness_pg_start(struct pg_instance *pg)
{
	char initdb[PATH_MAX + 16], createdb[PATH_MAX + 16];
	char data[PATH_MAX + 16], path[PATH_MAX + 32], port[16];
	char conf[PATH_MAX + 512], pidtext[32];
	char *initdb_argv[] = {initdb,	"-D", data,	  "-A",
			       "trust", "-E", "UTF8",	  "--locale=C",
			       "-N",	"-U", ident.name, "--no-instructions",
			       NULL};
	char *createdb_argv[] = {createdb, "-h",       pg->dir,	   "-p", port,
				 "-U",	   ident.name, "painpath", NULL};
	int log_fd = -1;
	bool ok = false;

	memset(pg, 0, sizeof(*pg));
	if (!pg_init())
		goto out;
	reap_stale();
	xsnprintf(pg->dir, sizeof(pg->dir), "%s", TMP_TEMPLATE);
	if (!mkdtemp(pg->dir)) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		pg->dir[0] = '\0';
		goto out;
	}
	track_pg(pg->dir);
	if (ident.drop && chown(pg->dir, ident.uid, ident.gid) != 0) {
		fprintf(stderr, "harness: chown %s: %s\n", pg->dir,
			strerror(errno));
		goto out;
	}
	xsnprintf(path, sizeof(path), "%s/harness.pid", pg->dir);
	xsnprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (!write_file(path, pidtext))
		goto out;
	log_fd = open_log(pg->dir);

	xsnprintf(initdb, sizeof(initdb), "%s/initdb", bindir);
	xsnprintf(createdb, sizeof(createdb), "%s/createdb", bindir);
	xsnprintf(data, sizeof(data), "%s/data", pg->dir);
	xsnprintf(port, sizeof(port), "%d", PG_PORT);
	if (run_pg(initdb_argv, log_fd, log_fd) != 0) {
		fprintf(stderr, "harness: initdb failed in %s\n", pg->dir);
		dump_file(pg->dir, "harness.log");
		goto out;
	}
	/* The port is set explicitly so a PGPORT in the environment cannot
	 * move the server away from the conninfo.  fsync = off only risks
	 * data on an OS crash; synchronous_commit stays on so that a test
	 * stopping the server with -m immediate keeps what was committed. */
	xsnprintf(conf, sizeof(conf),
		  "\n# painpath test harness\n"
		  "listen_addresses = ''\n"
		  "unix_socket_directories = '%s'\n"
		  "port = %d\n"
		  "max_connections = 100\n"
		  "fsync = off\n"
		  "full_page_writes = off\n",
		  pg->dir, PG_PORT);
	xsnprintf(path, sizeof(path), "%s/postgresql.conf", data);
	if (!write_file(path, conf)) {
		fprintf(stderr, "harness: cannot write %s\n", path);
		goto out;
	}
	if (!harness_pg_start_server(pg))
		goto out;
	if (run_pg(createdb_argv, log_fd, log_fd) != 0) {
		fprintf(stderr, "harness: createdb painpath failed\n");
		dump_file(pg->dir, "harness.log");
		goto out;
	}
	xsnprintf(pg->conninfo, sizeof(pg->conninfo),
		  "host=%s port=%d dbname=painpath user=%s", pg->dir, PG_PORT,
		  ident.name);
	ok = true;
out:
	if (log_fd >= 0)
		close(log_fd);
	if (!ok && pg->dir[0])
		harness_pg_destroy(pg);
	return ok;
}

void harness_pg_destroy(struct pg_instance *pg)
{
	if (!pg->dir[0])
		return;
	if (pg_init()) {
		if (pg->running && !harness_pg_stop_server(pg, true))
			harness_pg_stop_server(pg, false);
		/* Covers a server started by a process that did not record
		 * it as running in this copy of the struct. */
		pg_wipe(pg->dir, -1);
	} else {
		rm_tree(pg->dir);
	}
	untrack_pg(pg->dir);
	pg->running = false;
	pg->dir[0] = '\0';
	pg->conninfo[0] = '\0';
}

static char *read_all_fd(int fd, size_t *len_out)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf)
		buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

char *harness_psql(const struct pg_instance *pg, const char *sql)
{
	char psql[PATH_MAX + 16];
	char *argv[] = {psql, "-XAtq",
			"-v", "ON_ERROR_STOP=1",
			"-d", (char *)pg->conninfo,
			"-c", (char *)sql,
			NULL};
	char *outp = NULL;
	int p[2] = {-1, -1};
	size_t len = 0;
	pid_t pid;

	if (!pg_init() || pipe2(p, O_CLOEXEC) != 0)
		goto out;
	xsnprintf(psql, sizeof(psql), "%s/psql", bindir);
	pid = spawn_pg(argv, p[1], -1);
	close(p[1]);
	if (pid < 0)
		goto out;
	outp = read_all_fd(p[0], &len);
	if (reap(pid) != 0) {
		free(outp);
		outp = NULL;
		goto out;
	}
	while (outp && len > 0 && outp[len - 1] == '\n')
		outp[--len] = '\0';
out:
	if (p[0] >= 0)
		close(p[0]);
	return outp;
}

/* Waits up to timeout_ms for pid to end; -2 when it did not. */
static int reap_within(pid_t pid, int timeout_ms)
{
#ifdef SYS_pidfd_open
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pfd >= 0) {
		struct pollfd pf = {.fd = pfd, .events = POLLIN};
		int64_t deadline = now_ms() + timeout_ms;
		int n;

		do
			n = poll(&pf, 1, remaining_ms(deadline));
		while (n < 0 && errno == EINTR);
		close(pfd);
		if (n == 0)
			return -2;
	}
#else
	(void)timeout_ms;
#endif
	return reap(pid);
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
	xsnprintf(fdtext, sizeof(fdtext), "%d", READY_FD);
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
		redirect_stdin();
		close_from(READY_FD + 1);
		execv(path, argv);
		fprintf(stderr, "harness: cannot run %s: %s\n", path,
			strerror(errno));
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;

	/* Reads until the newline or EOF; the poll bound only matters when
	 * the daemon hangs before it is ready. */
	deadline = now_ms() + DAEMON_READY_MS;

	while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		int n = poll(&pf, 1, remaining_ms(deadline));
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
			track_daemon(pid);
			ok = true;
			goto out;
		}
	}
	kill(pid, SIGKILL);
	st = reap(pid);

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
		reap(d->pid);
		st = -1;
	}
	untrack_daemon(d->pid);
	d->pid = 0;
	d->port = 0;
	return st;
}

void harness_daemon_kill(struct daemon_instance *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	reap(d->pid);
	untrack_daemon(d->pid);
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
			reap(tracked_daemon[i].pid);
			tracked_daemon[i].pid = 0;
		}
	}
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (tracked_pg[i].dir[0] && tracked_pg[i].creator == self) {
			pg_wipe(tracked_pg[i].dir, -1);
			tracked_pg[i].dir[0] = '\0';
		}
	}
}

/* ---- HTTP client ---- */

static int http_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("harness: socket");
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EINTR)
			continue;
		fprintf(stderr, "harness: connect 127.0.0.1:%d: %s\n", port,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* MSG_NOSIGNAL: a server that hangs up early must fail the test, not kill
 * it with SIGPIPE. */
static bool send_all(int fd, const void *data, size_t len, int64_t deadline)
{
	const char *p = data;

	while (len > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		int n = poll(&pf, 1, remaining_ms(deadline));
		ssize_t w;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

/* Reads until EOF, error or deadline; *timed_out tells the last apart. */
static char *recv_all(int fd, int64_t deadline, size_t *len_out,
		      bool *timed_out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	*timed_out = false;
	while (buf) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int n;
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = poll(&pf, 1, remaining_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			*timed_out = true;
			break;
		}
		if (n < 0)
			break;
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	if (buf)
		buf[len] = '\0';
	*len_out = len;
	return buf;
}

static const char *find_header_value(const char *headers, const char *name,
				     size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *line = headers;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);

		if ((size_t)(end - line) > nlen && line[nlen] == ':' &&
		    strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen + 1;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && isspace((unsigned char)end[-1]))
				end--;
			*vlen = (size_t)(end - v);
			return v;
		}
		line = eol ? eol + 1 : NULL;
	}
	return NULL;
}

char *http_header(const struct http_response *r, const char *name)
{
	const char *v;
	size_t vlen;

	if (!r || !r->headers)
		return NULL;
	v = find_header_value(r->headers, name, &vlen);
	return v ? strndup(v, vlen) : NULL;
}

/* Decodes in place; stops quietly at a truncated chunk, keeping what came. */
static size_t dechunk(char *body, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		char *end;
		const char *eol = memchr(body + in, '\n', len - in);
		unsigned long size;

		if (!eol)
			break;
		size = strtoul(body + in, &end, 16);
		if (end == body + in)
			break;
		in = (size_t)(eol - body) + 1;
		if (size == 0)
			break;
		if (size > len - in)
			size = len - in;
		memmove(body + out, body + in, size);
		out += size;
		in += size;
		if (in < len && body[in] == '\r')
			in++;
		if (in < len && body[in] == '\n')
			in++;
	}
	return out;
}

/* Takes ownership of raw. */
static void parse_response(char *raw, size_t len, struct http_response *r)
{
	char *hdr_end, *body, *te, *cl;
	const char *first;
	size_t sep = 4, body_len, hlen = 0;
	int status = 0;

	hdr_end = strstr(raw, "\r\n\r\n");
	if (!hdr_end) {
		hdr_end = strstr(raw, "\n\n");
		sep = 2;
	}
	if (!hdr_end) {
		hdr_end = raw + len;
		sep = 0;
	}
	body = hdr_end + sep;
	body_len = len - (size_t)(body - raw);

	if (strncmp(raw, "HTTP/", 5) == 0) {
		const char *sp = strchr(raw, ' ');

		if (sp && sp < hdr_end && isdigit((unsigned char)sp[1]) &&
		    isdigit((unsigned char)sp[2]) &&
		    isdigit((unsigned char)sp[3]))
			status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 +
				 (sp[3] - '0');
	}
	/* headers: the lines after the status line, up to the blank line. */
	first = memchr(raw, '\n', (size_t)(hdr_end - raw));
	if (first) {
		first++;
		/* Keep the last header line's own line end. */
		hlen = (size_t)(hdr_end - first) + (sep == 4 ? 2 : sep ? 1 : 0);
	} else {
		first = hdr_end;
	}
	r->headers = strndup(first, hlen);
	r->status = status;

	te = http_header(r, "Transfer-Encoding");
	cl = http_header(r, "Content-Length");
	if (te && strcasestr(te, "chunked")) {
		body_len = dechunk(body, body_len);
	} else if (cl) {
		char *end;
		unsigned long long n = strtoull(cl, &end, 10);

		if (end != cl && n < body_len)
			body_len = (size_t)n;
	}
	free(te);
	free(cl);

	r->body = malloc(body_len + 1);
	if (r->body) {
		memcpy(r->body, body, body_len);
		r->body[body_len] = '\0';
		r->body_len = body_len;
		if (body_len > 0)
			r->json = json_loadb(r->body, body_len, 0, NULL);
	}
	free(raw);
}

static void response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
}

/* Leaves headers and body as empty strings rather than NULL so that tests
 * can print them without checking. */
static void response_empty(struct http_response *r)
{
	if (!r->headers)
		r->headers = strdup("");
	if (!r->body) {
		r->body = strdup("");
		r->body_len = 0;
	}
}

static bool method_has_body(const char *method)
{
	return strcasecmp(method, "POST") == 0 ||
	       strcasecmp(method, "PUT") == 0 ||
	       strcasecmp(method, "PATCH") == 0;
}

const char *http_default_headers;

int http_begin(int port, const char *method, const char *path, const char *body,
	       const char *extra_headers)
{
	int64_t deadline = now_ms() + HTTP_TIMEOUT_MS;
	const char *extra = extra_headers ? extra_headers : "";
	const char *defaults =
		http_default_headers && !strcasestr(extra, "authorization:")
			? http_default_headers
			: "";
	char *req = NULL, ctype[64] = "", clen[64] = "";
	size_t blen = body ? strlen(body) : 0;
	int fd = -1, n;

	if (body && !strcasestr(extra, "content-type:"))
		xsnprintf(ctype, sizeof(ctype),
			  "Content-Type: application/json\r\n");
	/* An explicit zero length, so that a POST without a body is never
	 * mistaken for one whose body runs to EOF. */
	if (body || method_has_body(method))
		xsnprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", blen);
	n = asprintf(&req,
		     "%s %s HTTP/1.1\r\n"
		     "Host: 127.0.0.1:%d\r\n"
		     "Connection: close\r\n"
		     "%s%s%s%s\r\n",
		     method, path, port, ctype, clen, defaults, extra);
	if (n < 0) {
		req = NULL;
		goto out;
	}
	fd = http_connect(port);
	if (fd < 0)
		goto out;
	if (!send_all(fd, req, (size_t)n, deadline) ||
	    (blen && !send_all(fd, body, blen, deadline))) {
		fprintf(stderr, "harness: sending %s %s failed: %s\n", method,
			path, strerror(errno));
		close(fd);
		fd = -1;
	}
out:
	free(req);
	return fd;
}

static int finish(int fd, int64_t deadline, bool timeout_ok,
		  struct http_response *out)
{
	struct http_response tmp, *r = out ? out : &tmp;
	bool timed_out;
	size_t len;
	char *raw;
	int status;

	response_init(r);
	raw = recv_all(fd, deadline, &len, &timed_out);
	close(fd);
	if (timed_out && !timeout_ok) {
		fprintf(stderr,
			"harness: no complete HTTP response within %d "
			"ms\n",
			HTTP_TIMEOUT_MS);
		free(raw);
	} else if (raw) {
		parse_response(raw, len, r);
	}
	response_empty(r);
	status = r->status;

	if (!out)
		http_response_free(r);
	return status;
}

int http_end(int fd, struct http_response *out)
{
	if (fd < 0) {
		if (out) {
			response_init(out);
			response_empty(out);
		}
		return 0;
	}
	return finish(fd, now_ms() + HTTP_TIMEOUT_MS, false, out);
}

int http_request(int port, const char *method, const char *path,
		 const char *body, const char *extra_headers,
		 struct http_response *out)
{
	return http_end(http_begin(port, method, path, body, extra_headers),
			out);
}

int http_raw(int port, const void *bytes, size_t len, int timeout_ms,
	     struct http_response *out)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int fd = http_connect(port);

	if (fd < 0) {
		if (out) {
			response_init(out);
			response_empty(out);
		}
		return 0;
	}
	/* A server that rejects the bytes early may reset the connection
	 * half-way through: whatever it answered is still worth reading. */
	send_all(fd, bytes, len, deadline);
	return finish(fd, deadline, true, out);
}

void http_response_free(struct http_response *r)
{
	if (!r)
		return;
	free(r->headers);
	free(r->body);
	if (r->json)
		json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* ---- replication (fault tests) ---- */

bool harness_pg_configure(const struct pg_instance *pg, const char *lines)
{
	char path[PATH_MAX + 32];

	if (!pg->dir[0])
		return false;
	xsnprintf(path, sizeof(path), "%s/data/postgresql.conf", pg->dir);
	if (!write_file(path, lines)) {
		fprintf(stderr, "harness: cannot append to %s\n", path);
		return false;
	}
	return true;
}

bool harness_pg_start_standby(const struct pg_instance *primary,
			      struct pg_instance *standby)
{
	char basebackup[PATH_MAX + 16], data[PATH_MAX + 16], port[16];
	char path[PATH_MAX + 32], conf[PATH_MAX + 256], pidtext[32];
	char *argv[] = {
		basebackup, "-D", data,	  "-R",	      "-X",
		"stream",   "-c", "fast", "-h",	      (char *)primary->dir,
		"-p",	    port, "-U",	  ident.name, "-w",
		NULL};
	int log_fd = -1;
	bool ok = false;

	memset(standby, 0, sizeof(*standby));
	if (!pg_init() || !primary->running)
		goto out;
	xsnprintf(standby->dir, sizeof(standby->dir), "%s", TMP_TEMPLATE);
	if (!mkdtemp(standby->dir)) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		standby->dir[0] = '\0';
		goto out;
	}
	track_pg(standby->dir);
	if (ident.drop && chown(standby->dir, ident.uid, ident.gid) != 0) {
		fprintf(stderr, "harness: chown %s: %s\n", standby->dir,
			strerror(errno));
		goto out;
	}
	xsnprintf(path, sizeof(path), "%s/harness.pid", standby->dir);
	xsnprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (!write_file(path, pidtext))
		goto out;
	log_fd = open_log(standby->dir);
	xsnprintf(basebackup, sizeof(basebackup), "%s/pg_basebackup", bindir);
	xsnprintf(data, sizeof(data), "%s/data", standby->dir);
	xsnprintf(port, sizeof(port), "%d", PG_PORT);
	if (run_pg(argv, log_fd, log_fd) != 0) {
		fprintf(stderr, "harness: pg_basebackup from %s failed\n",
			primary->dir);
		dump_file(standby->dir, "harness.log");
		goto out;
	}
	/* The copied postgresql.conf names the primary's socket directory;
	 * the later setting wins. */
	xsnprintf(conf, sizeof(conf),
		  "\n# painpath test harness: standby\n"
		  "unix_socket_directories = '%s'\n"
		  "synchronous_standby_names = ''\n",
		  standby->dir);
	if (!harness_pg_configure(standby, conf))
		goto out;
	if (!harness_pg_start_server(standby))
		goto out;
	xsnprintf(standby->conninfo, sizeof(standby->conninfo),
		  "host=%s port=%d dbname=painpath user=%s", standby->dir,
		  PG_PORT, ident.name);
	ok = true;
out:
	if (log_fd >= 0)
		close(log_fd);
	if (!ok && standby->dir[0])
		harness_pg_destroy(standby);
	return ok;
}

bool harness_pg_promote(struct pg_instance *pg)
{
	char pgctl[PATH_MAX + 16], data[PATH_MAX + 16];
	char *argv[] = {pgctl, "-D", data,	"-w", "-t",
			"120", "-s", "promote", NULL};
	int log_fd;
	bool ok;

	if (!pg_init() || !pg->running)
		return false;
	xsnprintf(pgctl, sizeof(pgctl), "%s/pg_ctl", bindir);
	xsnprintf(data, sizeof(data), "%s/data", pg->dir);
	log_fd = open_log(pg->dir);
	ok = run_pg(argv, log_fd, log_fd) == 0;
	if (log_fd >= 0)
		close(log_fd);
	if (!ok) {
		fprintf(stderr, "harness: pg_ctl promote failed in %s\n",
			pg->dir);
		dump_file(pg->dir, "harness.log");
		dump_file(pg->dir, "server.log");
	}
	return ok;
}
