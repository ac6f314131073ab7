/*
 * harness_pg: private PostgreSQL clusters for tests.  See harness_pg.h for
 * the contract.
 */
#include "harness_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define PG_DEFAULT_BINDIR "/usr/lib/postgresql/15/bin"
#define PG_PORT		  5432
#define TMP_TEMPLATE	  "/tmp/painpath-pg-XXXXXX"
#define STALE_PREFIX	  "painpath-pg-"

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
	harness_xsnprintf(ident.name, sizeof(ident.name), "%s", pw->pw_name);
	ident.ready = true;
	return true;
}

static bool has_initdb(const char *dir)
{
	char path[PATH_MAX];

	harness_xsnprintf(path, sizeof(path), "%s/initdb", dir);
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
		harness_xsnprintf(bindir, sizeof(bindir), "%s", env);
		return true;
	}
	p = popen("pg_config --bindir 2>/dev/null", "re");
	if (p) {
		if (fgets(line, sizeof(line), p))
			line[strcspn(line, "\r\n")] = '\0';
		pclose(p);
		if (line[0] && has_initdb(line)) {
			harness_xsnprintf(bindir, sizeof(bindir), "%s", line);
			return true;
		}
	}
	if (has_initdb(PG_DEFAULT_BINDIR)) {
		harness_xsnprintf(bindir, sizeof(bindir), "%s",
				  PG_DEFAULT_BINDIR);
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
	harness_redirect_stdin();
	harness_close_from(3);
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
static int run_pg(char *const argv[], int out_fd, int err_fd)
{
	pid_t pid = spawn_pg(argv, out_fd, err_fd);

	if (pid < 0) {
		perror("harness: fork");
		return -1;
	}
	return harness_reap(pid);
}

static int open_log(const char *dir)
{
	char path[PATH_MAX];

	harness_xsnprintf(path, sizeof(path), "%s/harness.log", dir);
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static void dump_file(const char *dir, const char *name)
{
	char path[PATH_MAX], buf[4096];
	FILE *f;

	harness_xsnprintf(path, sizeof(path), "%s/%s", dir, name);
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

	harness_xsnprintf(pgctl, sizeof(pgctl), "%s/pg_ctl", bindir);
	harness_xsnprintf(data, sizeof(data), "%s/data", dir);
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

	harness_xsnprintf(path, sizeof(path), "%s/data/postmaster.pid", dir);
	return access(path, F_OK) == 0;
}

/* Stop and remove a cluster by its directory, whatever state it is in. */
void harness_pg_wipe(const char *dir, int log_fd)
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
		harness_xsnprintf(dir, sizeof(dir), "/tmp/%s", e->d_name);
		harness_xsnprintf(path, sizeof(path), "%s/harness.pid", dir);
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
		harness_pg_wipe(dir, -1);
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
	harness_xsnprintf(pgctl, sizeof(pgctl), "%s/pg_ctl", bindir);
	harness_xsnprintf(data, sizeof(data), "%s/data", pg->dir);
	harness_xsnprintf(log, sizeof(log), "%s/server.log", pg->dir);
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
	harness_xsnprintf(pg->dir, sizeof(pg->dir), "%s", TMP_TEMPLATE);
	if (!mkdtemp(pg->dir)) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		pg->dir[0] = '\0';
		goto out;
	}
	harness_track_pg(pg->dir);
	if (ident.drop && chown(pg->dir, ident.uid, ident.gid) != 0) {
		fprintf(stderr, "harness: chown %s: %s\n", pg->dir,
			strerror(errno));
		goto out;
	}
	harness_xsnprintf(path, sizeof(path), "%s/harness.pid", pg->dir);
	harness_xsnprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (!write_file(path, pidtext))
		goto out;
	log_fd = open_log(pg->dir);

	harness_xsnprintf(initdb, sizeof(initdb), "%s/initdb", bindir);
	harness_xsnprintf(createdb, sizeof(createdb), "%s/createdb", bindir);
	harness_xsnprintf(data, sizeof(data), "%s/data", pg->dir);
	harness_xsnprintf(port, sizeof(port), "%d", PG_PORT);
	if (run_pg(initdb_argv, log_fd, log_fd) != 0) {
		fprintf(stderr, "harness: initdb failed in %s\n", pg->dir);
		dump_file(pg->dir, "harness.log");
		goto out;
	}
	/* The port is set explicitly so a PGPORT in the environment cannot
	 * move the server away from the conninfo.  fsync = off only risks
	 * data on an OS crash; synchronous_commit stays on so that a test
	 * stopping the server with -m immediate keeps what was committed. */
	harness_xsnprintf(conf, sizeof(conf),
			  "\n# painpath test harness\n"
			  "listen_addresses = ''\n"
			  "unix_socket_directories = '%s'\n"
			  "port = %d\n"
			  "max_connections = 100\n"
			  "fsync = off\n"
			  "full_page_writes = off\n",
			  pg->dir, PG_PORT);
	harness_xsnprintf(path, sizeof(path), "%s/postgresql.conf", data);
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
	harness_xsnprintf(pg->conninfo, sizeof(pg->conninfo),
			  "host=%s port=%d dbname=painpath user=%s", pg->dir,
			  PG_PORT, ident.name);
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
		harness_pg_wipe(pg->dir, -1);
	} else {
		rm_tree(pg->dir);
	}
	harness_untrack_pg(pg->dir);
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
	harness_xsnprintf(psql, sizeof(psql), "%s/psql", bindir);
	pid = spawn_pg(argv, p[1], -1);
	close(p[1]);
	if (pid < 0)
		goto out;
	outp = read_all_fd(p[0], &len);
	if (harness_reap(pid) != 0) {
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

/* ---- replication (fault tests) ---- */

bool harness_pg_configure(const struct pg_instance *pg, const char *lines)
{
	char path[PATH_MAX + 32];

	if (!pg->dir[0])
		return false;
	harness_xsnprintf(path, sizeof(path), "%s/data/postgresql.conf",
			  pg->dir);
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
	harness_xsnprintf(standby->dir, sizeof(standby->dir), "%s",
			  TMP_TEMPLATE);
	if (!mkdtemp(standby->dir)) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		standby->dir[0] = '\0';
		goto out;
	}
	harness_track_pg(standby->dir);
	if (ident.drop && chown(standby->dir, ident.uid, ident.gid) != 0) {
		fprintf(stderr, "harness: chown %s: %s\n", standby->dir,
			strerror(errno));
		goto out;
	}
	harness_xsnprintf(path, sizeof(path), "%s/harness.pid", standby->dir);
	harness_xsnprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (!write_file(path, pidtext))
		goto out;
	log_fd = open_log(standby->dir);
	harness_xsnprintf(basebackup, sizeof(basebackup), "%s/pg_basebackup",
			  bindir);
	harness_xsnprintf(data, sizeof(data), "%s/data", standby->dir);
	harness_xsnprintf(port, sizeof(port), "%d", PG_PORT);
	if (run_pg(argv, log_fd, log_fd) != 0) {
		fprintf(stderr, "harness: pg_basebackup from %s failed\n",
			primary->dir);
		dump_file(standby->dir, "harness.log");
		goto out;
	}
	/* The copied postgresql.conf names the primary's socket directory;
	 * the later setting wins. */
	harness_xsnprintf(conf, sizeof(conf),
			  "\n# painpath test harness: standby\n"
			  "unix_socket_directories = '%s'\n"
			  "synchronous_standby_names = ''\n",
			  standby->dir);
	if (!harness_pg_configure(standby, conf))
		goto out;
	if (!harness_pg_start_server(standby))
		goto out;
	harness_xsnprintf(standby->conninfo, sizeof(standby->conninfo),
			  "host=%s port=%d dbname=painpath user=%s",
			  standby->dir, PG_PORT, ident.name);
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
	harness_xsnprintf(pgctl, sizeof(pgctl), "%s/pg_ctl", bindir);
	harness_xsnprintf(data, sizeof(data), "%s/data", pg->dir);
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
