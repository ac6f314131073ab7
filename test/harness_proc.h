/*
 * harness_proc: the real painpathd on a free loopback port.  The daemon
 * reports its bound port on a pipe (--ready-fd) once it is serving, so
 * starting never sleeps; stopping waits on the process itself.
 */
#ifndef PAINPATH_HARNESS_PROC_H
#define PAINPATH_HARNESS_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct daemon_instance {
	pid_t pid;
	int port;
};

/* Starts $PAINPATHD (default build/painpathd) with
 *   --listen 127.0.0.1 --port 0 --db <conninfo> --ready-fd <fd> [extra...]
 * and waits until it reports its port.  extra is NULL-terminated or NULL.
 * stderr of the daemon goes to $PAINPATH_TEST_LOG if set, else inherited. */
bool harness_daemon_start(struct daemon_instance *d, const char *conninfo,
			  const char *const *extra);
/* How a daemon is started beyond harness_daemon_start's flags. */
struct daemon_options {
	const char *const *extra; /* more arguments, NULL-terminated, or NULL */
	const char *log_path;	  /* its stderr (appended); NULL: as above */
	long max_files;		  /* its RLIMIT_NOFILE; 0: ours */
};

bool harness_daemon_start_with(struct daemon_instance *d, const char *conninfo,
			       const struct daemon_options *o);
/* A "Vm..." field of the running daemon's /proc/PID/status in KiB (VmRSS,
 * VmHWM: the peak), or -1. */
long harness_daemon_kib(const struct daemon_instance *d, const char *field);
/* True when the daemon runs under AddressSanitizer, whose allocator keeps
 * freed memory in quarantine: RSS then never goes down. */
bool harness_daemon_has_asan(const struct daemon_instance *d);
/* SIGTERM and wait; returns the exit status (as from waitpid's WEXITSTATUS),
 * or -1 if it died by a signal. */
int harness_daemon_stop(struct daemon_instance *d);
/* SIGKILL and reap. */
void harness_daemon_kill(struct daemon_instance *d);

#endif
