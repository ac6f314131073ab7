/*
 * coordinators-client: the HTTP client of bench/coordinators.sh.
 *
 *   coordinators-client -p PORT -t TOKEN [-c CONNS] [-n REQUESTS] [-w]
 *                       [-q] [-l LABEL] PATH...
 *
 * Each of CONNS threads keeps one keep-alive connection to 127.0.0.1:PORT
 * and has one GET in flight.  Without -w the paths are requested in turn
 * until REQUESTS answers have come back.  With -w each path is the first
 * page of a worklist: the thread follows next_cursor to the last page, then
 * starts on the next path (thread t takes paths t, t + CONNS, ...; it wraps
 * around) until REQUESTS answers have come back in all.
 *
 * -q sets TCP_QUICKACK before every read, so the client acknowledges at
 * once instead of delaying its ACKs (Linux does that on a long-lived
 * connection).  painpathd does not set TCP_NODELAY and libevent writes at
 * most 16 KB at a time, so without -q an answer over 16 KB waits for the
 * client's delayed ACK (40 ms) before its second piece leaves: -q shows
 * what the daemon itself costs, plain runs what a keep-alive client sees.
 *
 * Latency runs from the first byte written to the last byte of the body
 * read.  One line goes to stdout: the count, median, p90, p99 and maximum
 * latency in ms, requests per second and the mean body size.  The exit
 * status is 1 when any answer was not a 200 or a connection broke.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATH_LEN 2048

struct options {
	int port;
	const char *token;
	int conns;
	long requests;
	bool walk;
	bool quickack;
	const char *label;
	char **paths;
	int npaths;
};

struct worker {
	const struct options *o;
	int index;
	pthread_t thread;
	double *lat; /* ms, one per answer */
	long count;
	long cap;
	long non200;
	long errors;
	long long body_bytes;
	long pages_walked; /* worklists followed to their last page */
};

static atomic_long issued;
static bool quickack;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int connect_local(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* A growing buffer of what the connection has read. */
struct inbuf {
	char *data;
	size_t len, cap;
};

static bool fill(int fd, struct inbuf *in)
{
	ssize_t n;

	if (in->cap - in->len < 65536) {
		size_t cap = in->cap ? in->cap * 2 : 262144;
		char *grown = realloc(in->data, cap + 1);
		if (grown == NULL)
			return false;
		in->data = grown;
		in->cap = cap;
	}
	if (quickack) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
	do
		n = read(fd, in->data + in->len, in->cap - in->len);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	in->len += (size_t)n;
	in->data[in->len] = '\0';
	return true;
}

static void consume(struct inbuf *in, size_t n)
{
	memmove(in->data, in->data + n, in->len - n);
	in->len -= n;
	in->data[in->len] = '\0';
}

static const char *header_value(const char *head, size_t head_len,
				const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = head; p && p < head + head_len;) {
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nlen + 1 &&
		    strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 1;
			while (*p == ' ')
				p++;
			return p;
		}
		p = eol + 2;
	}
	return NULL;
}

/* Reads one answer: its status and body (a malloc'ed copy, NUL-ended). */
static bool read_answer(int fd, struct inbuf *in, int *status, char **body,
			size_t *body_len)
{
	char *end;
	size_t head_len, need;
	const char *cl, *te;

	while ((end = strstr(in->data ? in->data : "", "\r\n\r\n")) == NULL)
		if (!fill(fd, in))
			return false;
	head_len = (size_t)(end - in->data) + 4;
	if (sscanf(in->data, "HTTP/1.%*d %d", status) != 1)
		return false;
	cl = header_value(in->data, head_len, "Content-Length");
	te = header_value(in->data, head_len, "Transfer-Encoding");
	if (te != NULL && strncasecmp(te, "chunked", 7) == 0) {
		size_t out = 0, pos = head_len;
		char *buf = NULL;
		for (;;) {
			char *eol;
			size_t chunk;
			while ((eol = strstr(in->data + pos, "\r\n")) == NULL)
				if (!fill(fd, in))
					goto fail_chunk;
			chunk = strtoul(in->data + pos, NULL, 16);
			pos = (size_t)(eol - in->data) + 2;
			while (in->len < pos + chunk + 2)
				if (!fill(fd, in))
					goto fail_chunk;
			if (chunk > 0) {
				char *grown = realloc(buf, out + chunk + 1);
				if (grown == NULL)
					goto fail_chunk;
				buf = grown;
				memcpy(buf + out, in->data + pos, chunk);
				out += chunk;
			}
			pos += chunk + 2;
			if (chunk == 0)
				break;
		}
		consume(in, pos);
		if (buf == NULL && (buf = malloc(1)) == NULL)
			return false;
		buf[out] = '\0';
		*body = buf;
		*body_len = out;
		return true;
	fail_chunk:
		free(buf);
		return false;
	}
	need = cl ? strtoul(cl, NULL, 10) : 0;
	while (in->len < head_len + need)
		if (!fill(fd, in))
			return false;
	*body = malloc(need + 1);
	if (*body == NULL)
		return false;
	memcpy(*body, in->data + head_len, need);
	(*body)[need] = '\0';
	*body_len = need;
	consume(in, head_len + need);
	return true;
}

/* The last "next_cursor" of the body: false when it is null or absent. */
static bool next_cursor(const char *body, size_t len, char *out, size_t cap)
{
	static const char key[] = "\"next_cursor\"";
	const char *p = NULL, *q = body;
	size_t n = 0;

	while ((q = memmem(q, len - (size_t)(q - body), key,
			   sizeof(key) - 1)) != NULL) {
		p = q;
		q += sizeof(key) - 1;
	}
	if (p == NULL)
		return false;
	p += sizeof(key) - 1;
	while (*p == ' ' || *p == ':')
		p++;
	if (*p != '"')
		return false;
	for (p++; *p && *p != '"' && n + 1 < cap; p++)
		out[n++] = *p;
	out[n] = '\0';
	return n > 0;
}

static bool record(struct worker *w, double ms)
{
	if (w->count == w->cap) {
		long cap = w->cap ? w->cap * 2 : 1024;
		double *grown = realloc(w->lat, (size_t)cap * sizeof(*grown));
		if (grown == NULL)
			return false;
		w->lat = grown;
		w->cap = cap;
	}
	w->lat[w->count++] = ms;
	return true;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	const struct options *o = w->o;
	struct inbuf in = {0};
	char path[PATH_LEN], cursor[512], request[PATH_LEN + 1024];
	int fd = connect_local(o->port), next_path = w->index % o->npaths;
	bool walking = false;

	if (fd < 0) {
		w->errors++;
		return NULL;
	}
	while (atomic_fetch_add(&issued, 1) < o->requests) {
		int status = 0, len;
		char *body = NULL;
		size_t body_len = 0;
		double t0;

		if (!walking) {
			snprintf(path, sizeof(path), "%s", o->paths[next_path]);
			next_path = (next_path + o->conns) % o->npaths;
		}
		len = snprintf(request, sizeof(request),
			       "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			       "Authorization: Bearer %s\r\n"
			       "Connection: keep-alive\r\n\r\n",
			       path, o->token);
		t0 = now_ms();
		if (!write_all(fd, request, (size_t)len) ||
		    !read_answer(fd, &in, &status, &body, &body_len)) {
			w->errors++;
			break;
		}
		if (!record(w, now_ms() - t0)) {
			free(body);
			break;
		}
		w->body_bytes += (long long)body_len;
		if (status != 200)
			w->non200++;
		walking = false;
		if (o->walk && status == 200) {
			if (next_cursor(body, body_len, cursor,
					sizeof(cursor))) {
				/* The base path, then the cursor. */
				char *amp = strstr(path, "&cursor=");
				if (amp != NULL)
					*amp = '\0';
				len = (int)strlen(path);
				snprintf(path + len, sizeof(path) - (size_t)len,
					 "&cursor=%s", cursor);
				walking = true;
			} else {
				w->pages_walked++;
			}
		}
		free(body);
	}
	free(in.data);
	close(fd);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const double *v, long n, double p)
{
	long i = (long)(p * (double)(n - 1) + 0.5);

	return n ? v[i < n ? i : n - 1] : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: coordinators-client -p PORT -t TOKEN "
		"[-c CONNS] [-n REQUESTS] [-w] [-q] [-l LABEL] PATH...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct options o = {.conns = 1, .requests = 1000, .label = "get"};
	struct worker *w;
	double *all, t0, secs;
	long n = 0, non200 = 0, errors = 0, walked = 0;
	long long bytes = 0;
	int opt;

	while ((opt = getopt(argc, argv, "p:t:c:n:wql:")) != -1) {
		switch (opt) {
		case 'p':
			o.port = atoi(optarg);
			break;
		case 't':
			o.token = optarg;
			break;
		case 'c':
			o.conns = atoi(optarg);
			break;
		case 'n':
			o.requests = atol(optarg);
			break;
		case 'w':
			o.walk = true;
			break;
		case 'q':
			o.quickack = quickack = true;
			break;
		case 'l':
			o.label = optarg;
			break;
		default:
			return usage();
		}
	}
	o.paths = argv + optind;
	o.npaths = argc - optind;
	if (o.port <= 0 || o.token == NULL || o.conns < 1 || o.requests < 1 ||
	    o.npaths < 1)
		return usage();
	w = calloc((size_t)o.conns, sizeof(*w));
	if (w == NULL)
		return 1;
	t0 = now_ms();
	for (int i = 0; i < o.conns; i++) {
		w[i].o = &o;
		w[i].index = i;
		if (pthread_create(&w[i].thread, NULL, run_worker, &w[i]) !=
		    0) {
			fprintf(stderr, "coordinators-client: no thread\n");
			return 1;
		}
	}
	for (int i = 0; i < o.conns; i++) {
		pthread_join(w[i].thread, NULL);
		n += w[i].count;
	}
	secs = (now_ms() - t0) / 1e3;
	all = malloc((size_t)(n ? n : 1) * sizeof(*all));
	if (all == NULL)
		return 1;
	n = 0;
	for (int i = 0; i < o.conns; i++) {
		memcpy(all + n, w[i].lat, (size_t)w[i].count * sizeof(*all));
		n += w[i].count;
		non200 += w[i].non200;
		errors += w[i].errors;
		bytes += w[i].body_bytes;
		walked += w[i].pages_walked;
		free(w[i].lat);
	}
	qsort(all, (size_t)n, sizeof(*all), cmp_double);
	printf("%-28s n=%-5ld conns=%d  median %7.2f  p90 %7.2f  p99 %7.2f  "
	       "max %7.2f ms  %7.1f req/s  body %6lld B  non-200 %ld  "
	       "errors %ld%s",
	       o.label, n, o.conns, pct(all, n, 0.5), pct(all, n, 0.9),
	       pct(all, n, 0.99), n ? all[n - 1] : 0, secs > 0 ? n / secs : 0,
	       n ? bytes / n : 0, non200, errors, o.walk ? "" : "\n");
	if (o.walk)
		printf("  (%ld worklist(s) walked to the end)\n", walked);
	free(all);
	free(w);
	return non200 || errors ? 1 : 0;
}
