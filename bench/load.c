/*
 * bench-load: the HTTP/1.1 load generator of `make bench` (bench/run.sh).
 *
 * N keep-alive connections to painpathd, each with exactly one request in
 * flight, driven by one epoll loop.  Every request's latency is recorded
 * (send to last byte of the answer) and every status counted.  Modes:
 *
 *   load  brings each of --patients patients to a target step of its
 *         pathway (1..--steps events), in batches of --batch events
 *   post  single-event POSTs for --duration seconds: each connection owns
 *         the patients p with p % conns == its index and sends the next
 *         event of a random one of them, so one patient's events are never
 *         in flight twice and always go in order
 *   open  single-event POSTs for --duration seconds, each opening a
 *         pathway for a patient never seen before (issue 11's workload:
 *         what pgbench's insert-pathway-and-transition reference does)
 *   get   GET /v1/pathways/{id} for random ids from --ids
 *   idle  opens --conns connections, makes one request on each, then reads
 *         the daemon's VmRSS (--pid) while they sit idle
 *
 * Requests carry Authorization: Bearer --token (default dev-ehr, the
 * development token of config/dev-tokens.conf).
 * The patients' progress lives in --state between runs.  Each mode prints
 * one line of key=value pairs on stdout; bench/run.sh formats the report.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <jansson.h>

#define NSTEPS		  8 /* events in one pathway cycle, see build_event */
#define EVENT_MAX	  1024
#define MAX_STATUS	  600
#define MAX_ERROR_SHOWN	  5
#define MAX_BATCH	  1000
#define DAY		  86400LL
#define REQUEST_TIMEOUT_S 60

enum mode { MODE_LOAD, MODE_POST, MODE_OPEN, MODE_GET, MODE_IDLE };

struct opts {
	enum mode mode;
	const char *host;
	const char *token;
	int port;
	int conns;
	double duration;
	double warmup;
	long patients;
	const char *state_path;
	const char *run;
	long long epoch;
	int batch;
	int steps;
	const char *ids_path;
	long pid;
};

/* One patient's progress: events done in its current pathway cycle. */
struct patient {
	uint16_t cycle;
	uint8_t step;
	uint8_t pad;
};

struct conn {
	int fd;
	int index;
	bool busy;
	bool done;
	char *out;
	size_t out_len, out_off, out_cap;
	char *in;
	size_t in_len, in_cap;
	int64_t sent_us;
	long cursor; /* load: next patient of this connection's share;
			open: patients this connection has opened */
	int plan;    /* load: next step to send for that patient, or -1 */
	long items[MAX_BATCH];
	int nitems;
	uint64_t rng;
};

struct stats {
	uint32_t *lat_us;
	size_t nlat, cap;
	uint64_t status[MAX_STATUS];
	uint64_t requests; /* answered, after the warm-up */
	uint64_t events;   /* events answered (== requests but in load) */
	uint64_t non2xx;   /* requests, or events in a batch, not 2xx */
	uint64_t errors;   /* broken connections, unparsable answers */
	uint64_t shown;
};

static struct opts o;
static struct patient *patients;
static char **ids;
static size_t nids;
static struct stats st;
static int epfd = -1;
static int64_t t_begin, t_measure, t_stop, t_last;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt,
								...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench-load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		die("out of memory");
	return q;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* --- the events --------------------------------------------------------- */

struct profile {
	const char *model;
	const char *region;
	unsigned age;
	char gp[48];
	char clinic[64];
};

static void patient_profile(long p, struct profile *pr)
{
	static const char *const dk[] = {"dk-hovedstaden", "dk-sjaelland",
					 "dk-syddanmark", "dk-midtjylland",
					 "dk-nordjylland"};
	static const char *const no[] = {"helse-vest", "helse-sor-ost",
					 "helse-midt", "helse-nord"};
	static const char *const se[] = {"se-vgr", "se-stockholm", "se-skane",
					 "se-uppsala"};
	uint64_t h = mix64((uint64_t)p);
	unsigned pick = (unsigned)(h % 100);
	unsigned r = (unsigned)((h >> 8) % 20);

	/* Mostly Danish; Norway needs a deadline on acceptance and an age,
	 * Swedish adults an age (both are checked by the daemon). */
	if (pick < 70) {
		pr->model = "dk";
		pr->region = dk[r % 5];
	} else if (pick < 85) {
		pr->model = "no";
		pr->region = no[r % 4];
	} else {
		pr->model = "se-adult";
		pr->region = se[r % 4];
	}
	pr->age = 18 + (unsigned)((h >> 16) % 70);
	snprintf(pr->gp, sizeof(pr->gp), "gp-%s-%03u", pr->region,
		 (unsigned)((h >> 24) % 400));
	snprintf(pr->clinic, sizeof(pr->clinic), "pain-clinic-%s-%u",
		 pr->region, (unsigned)((h >> 40) % 6));
}

/* RFC 3339 at +01:00 for a UTC time, and the local date. */
static void format_time(long long t, char *out, size_t len)
{
	time_t local = (time_t)(t + 3600);
	struct tm tm;

	gmtime_r(&local, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%S+01:00", &tm);
}

static void format_date(long long t, char *out, size_t len)
{
	time_t local = (time_t)(t + 3600);
	struct tm tm;

	gmtime_r(&local, &tm);
	strftime(out, len, "%Y-%m-%d", &tm);
}

static int write_head(char *buf, size_t cap, const char *type, const char *id,
		      long p, const char *at)
{
	/* open: new patients on every run (the tag), so that a warm run
	 * after a fresh one on the same database opens, not refuses. */
	return snprintf(buf, cap,
			"{\"event_id\":\"%s\",\"type\":\"%s\",\"patient_id\":"
			"\"%s%sp%07ld\",\"occurred_at\":\"%s\"",
			id, type, o.mode == MODE_OPEN ? o.run : "",
			o.mode == MODE_OPEN ? "-" : "", p, at);
}

/*
 * One pathway cycle: opened, referral sent, received, accepted, treatment
 * started, two PRO reports, closed; then the next cycle opens a new pathway
 * for the same patient.  ~300 bytes each.
 */
static int build_event(char *buf, size_t cap, long p, unsigned cycle,
		       unsigned step)
{
	struct profile pr;
	char id[96], at[40], date[16];
	long long t;
	uint64_t h = mix64((uint64_t)p ^ ((uint64_t)cycle << 40));
	int n;

	patient_profile(p, &pr);
	t = o.epoch + ((long long)cycle * 120 + step * 6) * DAY + 8 * 3600 +
	    (p % 480) * 60;
	format_time(t, at, sizeof(at));
	snprintf(id, sizeof(id), "%s-%ld-%u-%u", o.run, p, cycle, step);
	switch (step) {
	case 0:
		format_date(o.epoch - (long long)(h % 900) * DAY, date,
			    sizeof(date));
		n = write_head(buf, cap, "pathway.opened", id, p, at);
		n += snprintf(buf + n, cap - (size_t)n,
			      ",\"model\":\"%s\",\"region\":\"%s\",\"unit\":"
			      "\"%s\",\"data\":{\"level\":\"gp\",\"age\":%u,"
			      "\"pain_onset\":\"%s\",\"note\":\"long-lasting "
			      "musculoskeletal pain, 3+ months\"}}",
			      pr.model, pr.region, pr.gp, pr.age, date);
		break;
	case 1:
		n = write_head(buf, cap, "referral.sent", id, p, at);
		n += snprintf(buf + n, cap - (size_t)n,
			      ",\"unit\":\"%s\",\"data\":{\"to_level\":"
			      "\"clinic\",\"to_unit\":\"%s\","
			      "\"earlier_levels_considered\":true,"
			      "\"justification\":\"pain over 3 months, "
			      "reduced function, primary care tried\"}}",
			      pr.gp, pr.clinic);
		break;
	case 2:
		n = write_head(buf, cap, "referral.received", id, p, at);
		n += snprintf(buf + n, cap - (size_t)n,
			      ",\"unit\":\"%s\",\"data\":{\"channel\":"
			      "\"edifact\",\"note\":\"referral complete, "
			      "queued for assessment by the clinic team\"}}",
			      pr.clinic);
		break;
	case 3:
		format_date(t + 60 * DAY, date, sizeof(date));
		n = write_head(buf, cap, "referral.accepted", id, p, at);
		n += snprintf(buf + n, cap - (size_t)n,
			      ",\"unit\":\"%s\",\"data\":{%s%s%s\"priority\":"
			      "\"routine\",\"assessed_by\":\"physician "
			      "and physiotherapist\"}}",
			      pr.clinic,
			      strcmp(pr.model, "no") == 0 ? "\"deadline\":\""
							  : "",
			      strcmp(pr.model, "no") == 0 ? date : "",
			      strcmp(pr.model, "no") == 0 ? "\"," : "");
		break;
	case 4:
		n = write_head(buf, cap, "treatment.started", id, p, at);
		n += snprintf(buf + n, cap - (size_t)n,
			      ",\"unit\":\"%s\",\"data\":{\"modality\":"
			      "\"interdisciplinary\",\"plan\":\"graded "
			      "activity, CBT group, medication review\"}}",
			      pr.clinic);
		break;
	case 5:
		n = write_head(buf, cap, "pro.reported", id, p, at);
		n += snprintf(buf + n, cap - (size_t)n,
			      ",\"unit\":\"%s\",\"data\":{\"instrument\":"
			      "\"BPI-SF\",\"scores\":{\"worst\":%u,\"least\":"
			      "%u,\"average\":%u,\"now\":%u,\"interference\":"
			      "%u.%u}}}",
			      pr.clinic, (unsigned)(5 + h % 5),
			      (unsigned)(h >> 8) % 4, (unsigned)(3 + h % 4),
			      (unsigned)(2 + (h >> 12) % 6),
			      (unsigned)(2 + (h >> 16) % 7),
			      (unsigned)(h >> 20) % 10);
		break;
	case 6:
		n = write_head(buf, cap, "pro.reported", id, p, at);
		n += snprintf(buf + n, cap - (size_t)n,
			      ",\"unit\":\"%s\",\"data\":{\"instrument\":"
			      "\"EQ-5D-5L\",\"scores\":{\"mobility\":%u,"
			      "\"self_care\":%u,\"usual_activities\":%u,"
			      "\"pain\":%u,\"anxiety\":%u,\"vas\":%u}}}",
			      pr.clinic, (unsigned)(1 + h % 5),
			      (unsigned)(1 + (h >> 4) % 5),
			      (unsigned)(1 + (h >> 8) % 5),
			      (unsigned)(1 + (h >> 12) % 5),
			      (unsigned)(1 + (h >> 16) % 5),
			      (unsigned)(20 + (h >> 20) % 75));
		break;
	default:
		n = write_head(buf, cap, "pathway.closed", id, p, at);
		n += snprintf(buf + n, cap - (size_t)n,
			      ",\"unit\":\"%s\",\"data\":{\"reason\":"
			      "\"completed\",\"summary\":\"treatment "
			      "completed, follow-up by the GP\"}}",
			      pr.clinic);
		break;
	}
	if (n <= 0 || (size_t)n >= cap)
		die("event %s does not fit", id);
	return n;
}

static void advance(long p)
{
	if (++patients[p].step == NSTEPS) {
		patients[p].step = 0;
		patients[p].cycle++;
	}
}

/* Load mode: how many events patient p gets (1..steps), so that after the
 * load the pathways sit in every phase. */
static unsigned load_target(long p)
{
	return 1 + (unsigned)(mix64((uint64_t)p * 7919) % (unsigned)o.steps);
}

/* --- state file ---------------------------------------------------------- */

static void state_load(void)
{
	size_t n = (size_t)o.patients;
	FILE *f;

	patients = calloc(n, sizeof(*patients));
	if (patients == NULL)
		die("out of memory");
	if (o.state_path == NULL)
		return;
	f = fopen(o.state_path, "rb");
	if (f == NULL) {
		if (errno != ENOENT)
			die("%s: %s", o.state_path, strerror(errno));
		return;
	}
	if (fread(patients, sizeof(*patients), n, f) != n)
		die("%s: shorter than %ld patients", o.state_path, o.patients);
	fclose(f);
}

static void state_save(void)
{
	char tmp[4096];
	FILE *f;

	if (o.state_path == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", o.state_path);
	f = fopen(tmp, "wb");
	if (f == NULL ||
	    fwrite(patients, sizeof(*patients), (size_t)o.patients, f) !=
		    (size_t)o.patients ||
	    fclose(f) != 0 || rename(tmp, o.state_path) != 0)
		die("cannot write %s: %s", o.state_path, strerror(errno));
}

static void ids_load(void)
{
	FILE *f = fopen(o.ids_path, "r");
	char line[256];
	size_t cap = 0;

	if (f == NULL)
		die("%s: %s", o.ids_path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (nids == cap) {
			cap = cap ? cap * 2 : 1024;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[nids] = strdup(line);
		if (ids[nids++] == NULL)
			die("out of memory");
	}
	fclose(f);
	if (nids == 0)
		die("%s holds no pathway ids", o.ids_path);
}

/* --- connections --------------------------------------------------------- */

static void buf_reserve(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 4096;
	*buf = xrealloc(*buf, *cap);
}

static void out_append(struct conn *c, const char *s, size_t len)
{
	buf_reserve(&c->out, &c->out_cap, c->out_len + len + 1);
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	c->out[c->out_len] = '\0';
}

static void conn_open(struct conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)o.port)};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int one = 1;

	if (inet_pton(AF_INET, o.host, &sa.sin_addr) != 1)
		die("--host must be an IPv4 address");
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	/* Blocking connect: on loopback it returns as soon as the kernel
	 * queued the connection. */
	while (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		if (errno != EINTR)
			die("connect %s:%d: %s", o.host, o.port,
			    strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
}

static void want_write(struct conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0),
				 .data.ptr = c};

	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off,
				  c->out_len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_write(c, true);
			return;
		}
		if (n <= 0)
			return; /* the read side sees the error */
		c->out_off += (size_t)n;
	}
	want_write(c, false);
}

static void send_post(struct conn *c, const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "POST /v1/events HTTP/1.1\r\nHost: %s\r\n"
			 "Authorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 o.host, o.token, len);

	c->out_len = c->out_off = 0;
	out_append(c, head, (size_t)n);
	out_append(c, body, len);
}

static void send_get(struct conn *c, const char *path)
{
	char head[768];
	int n = snprintf(head, sizeof(head),
			 "GET %s HTTP/1.1\r\nHost: %s\r\n"
			 "Authorization: Bearer %s\r\n\r\n",
			 path, o.host, o.token);

	c->out_len = c->out_off = 0;
	out_append(c, head, (size_t)n);
}

/* Builds this connection's next request; false when it has no more. */
static bool next_request(struct conn *c)
{
	char ev[EVENT_MAX];
	long share = (o.patients - c->index + o.conns - 1) / o.conns;
	int len;

	c->nitems = 0;
	switch (o.mode) {
	case MODE_LOAD: {
		char *body = NULL;
		size_t blen = 0, bcap = 0;

		while (c->nitems < o.batch && c->cursor < share) {
			long p = c->index + c->cursor * o.conns;
			/* plan: the next step to send for p; the state itself
			 * advances only when the answer says 2xx. */
			if (c->plan < 0)
				c->plan = patients[p].cycle > 0
						  ? NSTEPS
						  : patients[p].step;
			if ((unsigned)c->plan >= load_target(p)) {
				c->cursor++;
				c->plan = -1;
				continue;
			}
			len = build_event(ev, sizeof(ev), p, 0,
					  (unsigned)c->plan++);
			buf_reserve(&body, &bcap, blen + (size_t)len + 16);
			blen += (size_t)sprintf(body + blen, "%s%s",
						blen ? "," : "{\"events\":[",
						ev);
			c->items[c->nitems++] = p;
		}
		if (c->nitems == 0) {
			free(body);
			return false;
		}
		blen += (size_t)sprintf(body + blen, "]}");
		send_post(c, body, blen);
		free(body);
		return true;
	}
	case MODE_POST: {
		long p;

		if (share <= 0)
			return false;
		p = c->index +
		    (long)(next_rand(&c->rng) % (uint64_t)share) * o.conns;
		len = build_event(ev, sizeof(ev), p, patients[p].cycle,
				  patients[p].step);
		c->items[c->nitems++] = p;
		send_post(c, ev, (size_t)len);
		return true;
	}
	case MODE_OPEN: {
		/* Beyond the loaded patients, one new one per request. */
		long p = o.patients + c->index + c->cursor++ * o.conns;
		len = build_event(ev, sizeof(ev), p, 0, 0);
		send_post(c, ev, (size_t)len);
		return true;
	}
	case MODE_GET: {
		char path[300];
		snprintf(path, sizeof(path), "/v1/pathways/%s",
			 ids[next_rand(&c->rng) % nids]);
		send_get(c, path);
		return true;
	}
	case MODE_IDLE:
		send_get(c, "/healthz");
		return true;
	}
	return false;
}

static void start_request(struct conn *c)
{
	int64_t now = now_us();

	if (c->done || (t_stop > 0 && now >= t_stop) || !next_request(c)) {
		c->done = true;
		c->busy = false;
		return;
	}
	if (c->fd < 0)
		conn_open(c);
	c->in_len = 0;
	c->busy = true;
	c->sent_us = now;
	conn_flush(c);
}

static void record_latency(int64_t us)
{
	if (st.nlat == st.cap) {
		st.cap = st.cap ? st.cap * 2 : 65536;
		st.lat_us = xrealloc(st.lat_us, st.cap * sizeof(*st.lat_us));
	}
	st.lat_us[st.nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void show_error(int status, const char *body, size_t len)
{
	if (st.shown++ >= MAX_ERROR_SHOWN)
		return;
	fprintf(stderr, "bench-load: status %d: %.*s\n", status,
		(int)(len > 400 ? 400 : len), body);
}

static void count_status(int status, bool counted)
{
	if (!counted)
		return;
	if (status >= 0 && status < MAX_STATUS)
		st.status[status]++;
	if (status < 200 || status > 299)
		st.non2xx++;
}

/* The answer to a batch: advance each patient whose event was recorded. */
static void batch_answer(struct conn *c, const char *body, size_t len,
			 bool counted)
{
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, 0, &jerr);
	json_t *results = json_object_get(doc, "results");

	if (!json_is_array(results) ||
	    json_array_size(results) != (size_t)c->nitems) {
		st.errors++;
		show_error(-1, body, len);
		json_decref(doc);
		return;
	}
	for (int i = 0; i < c->nitems; i++) {
		json_t *r = json_array_get(results, (size_t)i);
		int s = (int)json_integer_value(json_object_get(r, "status"));
		if (s >= 200 && s <= 299) {
			advance(c->items[i]);
		} else if (counted && st.shown < MAX_ERROR_SHOWN) {
			char *text = json_dumps(r, JSON_COMPACT);
			show_error(s, text ? text : "?",
				   text ? strlen(text) : 1);
			free(text);
		}
		count_status(s, counted);
		if (counted)
			st.events++;
	}
	json_decref(doc);
}

/* 1: a whole answer is in c->in; 0: need more; -1: not HTTP we can read. */
static int parse_answer(struct conn *c, int *status, size_t *body_off,
			size_t *body_len, bool *closing)
{
	char *end, *line;
	long clen = -1;

	buf_reserve(&c->in, &c->in_cap, c->in_len + 1);
	c->in[c->in_len] = '\0';
	end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	if (sscanf(c->in, "HTTP/1.%*d %d", status) != 1)
		return -1;
	*closing = strncmp(c->in, "HTTP/1.0", 8) == 0;
	for (line = strstr(c->in, "\r\n"); line != NULL && line < end;
	     line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (strncasecmp(h, "content-length:", 15) == 0)
			clen = strtol(h + 15, NULL, 10);
		else if (strncasecmp(h, "transfer-encoding:", 18) == 0)
			return -1; /* evhttp sends Content-Length */
		else if (strncasecmp(h, "connection:", 11) == 0)
			*closing = strncasecmp(h + 11 + strspn(h + 11, " "),
					       "close", 5) == 0;
	}
	if (clen < 0)
		return -1;
	*body_off = (size_t)(end + 4 - c->in);
	*body_len = (size_t)clen;
	return c->in_len >= *body_off + *body_len ? 1 : 0;
}

static void on_broken(struct conn *c)
{
	bool counted = c->sent_us >= t_measure;

	if (counted)
		st.errors++;
	conn_close(c);
	if (o.mode == MODE_IDLE)
		die("a connection broke while idle");
	start_request(c);
}

static void on_readable(struct conn *c)
{
	int status = 0;
	size_t off = 0, len = 0;
	bool closing = false, counted;
	int r;

	for (;;) {
		ssize_t n;

		buf_reserve(&c->in, &c->in_cap, c->in_len + 16384);
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return on_broken(c);
		c->in_len += (size_t)n;
	}
	if (!c->busy)
		return;
	r = parse_answer(c, &status, &off, &len, &closing);
	if (r == 0)
		return;
	if (r < 0) {
		show_error(-1, c->in, c->in_len);
		return on_broken(c);
	}
	c->busy = false;
	t_last = now_us();
	counted = c->sent_us >= t_measure;
	if (counted) {
		st.requests++;
		record_latency(t_last - c->sent_us);
	}
	if (o.mode == MODE_LOAD && status == 200) {
		batch_answer(c, c->in + off, len, counted);
	} else {
		if (o.mode == MODE_POST && status >= 200 && status <= 299)
			advance(c->items[0]);
		count_status(status, counted);
		if (counted)
			st.events++;
		if ((status < 200 || status > 299) && counted)
			show_error(status, c->in + off, len);
	}
	if (closing)
		conn_close(c);
	if (o.mode != MODE_IDLE)
		start_request(c);
}

static void run_loop(struct conn *cs, int n)
{
	struct epoll_event evs[256];

	for (;;) {
		int busy = 0, k;

		for (int i = 0; i < n; i++)
			busy += cs[i].busy;
		if (busy == 0)
			return;
		k = epoll_wait(epfd, evs, 256, 100);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;
			if (evs[i].events & EPOLLOUT)
				conn_flush(c);
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				on_readable(c);
		}
		for (int i = 0; i < n; i++)
			if (cs[i].busy &&
			    now_us() - cs[i].sent_us >
				    (int64_t)REQUEST_TIMEOUT_S * 1000000)
				die("no answer within %d s", REQUEST_TIMEOUT_S);
	}
}

/* --- reporting ----------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double pct_ms(double q)
{
	size_t i;

	if (st.nlat == 0)
		return 0;
	i = (size_t)(q * (double)(st.nlat - 1) + 0.5);
	return st.lat_us[i] / 1000.0;
}

static void report(void)
{
	double secs = (double)(t_last - t_measure) / 1e6;
	const char *names[] = {"load", "post", "open", "get", "idle"};
	char statuses[1024] = "";
	size_t used = 0;

	if (secs <= 0)
		secs = 1e-9;
	qsort(st.lat_us, st.nlat, sizeof(*st.lat_us), cmp_u32);
	for (int s = 0; s < MAX_STATUS; s++)
		if (st.status[s] > 0 && used < sizeof(statuses) - 32)
			used += (size_t)snprintf(
				statuses + used, sizeof(statuses) - used,
				"%s%d:%" PRIu64, used ? "," : "", s,
				st.status[s]);
	printf("mode=%s conns=%d requests=%" PRIu64 " events=%" PRIu64
	       " seconds=%.2f req_per_s=%.1f events_per_s=%.1f p50_ms=%.2f "
	       "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%" PRIu64
	       " errors=%" PRIu64 " statuses=%s\n",
	       names[o.mode], o.conns, st.requests, st.events, secs,
	       (double)st.requests / secs, (double)st.events / secs,
	       pct_ms(0.50), pct_ms(0.90), pct_ms(0.99),
	       st.nlat ? st.lat_us[st.nlat - 1] / 1000.0 : 0.0, st.non2xx,
	       st.errors, used ? statuses : "-");
}

static long proc_status_kb(const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", o.pid);
	f = fopen(path, "r");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			kb = strtol(line + klen + 1, NULL, 10);
	fclose(f);
	return kb;
}

/* --- main ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-load load|post|open|get|idle --port N [--host "
		"IP]\n"
		"         [--conns N] [--duration S] [--warmup S]\n"
		"         [--patients N] [--state FILE] [--run TAG]\n"
		"         [--epoch UNIXTIME] [--batch N] [--steps N]\n"
		"         [--ids FILE] [--pid PID] [--token BEARER]\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"conns", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{"warmup", required_argument, NULL, 'w'},
		{"patients", required_argument, NULL, 'n'},
		{"state", required_argument, NULL, 's'},
		{"run", required_argument, NULL, 'r'},
		{"epoch", required_argument, NULL, 'e'},
		{"batch", required_argument, NULL, 'b'},
		{"steps", required_argument, NULL, 't'},
		{"ids", required_argument, NULL, 'i'},
		{"pid", required_argument, NULL, 'P'},
		{"token", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0}};
	int ch;

	o = (struct opts){.host = "127.0.0.1",
			  .token = "dev-ehr",
			  .conns = 16,
			  .duration = 10,
			  .warmup = 1,
			  .patients = 100000,
			  .run = "bench",
			  .epoch = (long long)time(NULL) - 3 * 365 * DAY,
			  .batch = 100,
			  .steps = 5};
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "load") == 0)
		o.mode = MODE_LOAD;
	else if (strcmp(argv[1], "post") == 0)
		o.mode = MODE_POST;
	else if (strcmp(argv[1], "open") == 0)
		o.mode = MODE_OPEN;
	else if (strcmp(argv[1], "get") == 0)
		o.mode = MODE_GET;
	else if (strcmp(argv[1], "idle") == 0)
		o.mode = MODE_IDLE;
	else
		usage();
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			o.host = optarg;
			break;
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'c':
			o.conns = atoi(optarg);
			break;
		case 'd':
			o.duration = atof(optarg);
			break;
		case 'w':
			o.warmup = atof(optarg);
			break;
		case 'n':
			o.patients = atol(optarg);
			break;
		case 's':
			o.state_path = optarg;
			break;
		case 'r':
			o.run = optarg;
			break;
		case 'e':
			o.epoch = atoll(optarg);
			break;
		case 'b':
			o.batch = atoi(optarg);
			break;
		case 't':
			o.steps = atoi(optarg);
			break;
		case 'i':
			o.ids_path = optarg;
			break;
		case 'P':
			o.pid = atol(optarg);
			break;
		case 'T':
			o.token = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o.port <= 0 || o.port > 65535 || o.conns < 1 ||
	    o.patients < 1 || o.batch < 1 || o.batch > MAX_BATCH ||
	    o.steps < 1 || o.steps > NSTEPS || o.duration <= 0 ||
	    o.warmup < 0 || (o.mode == MODE_GET && o.ids_path == NULL) ||
	    (o.mode == MODE_IDLE && o.pid <= 0))
		usage();
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void run_idle(struct conn *cs)
{
	long before = proc_status_kb("VmRSS"), rss, hwm;

	for (int i = 0; i < o.conns; i++)
		start_request(&cs[i]);
	run_loop(cs, o.conns);
	/* Every connection has been accepted and answered; let the daemon
	 * settle, then read its memory while they sit idle. */
	usleep(500000);
	rss = proc_status_kb("VmRSS");
	hwm = proc_status_kb("VmHWM");
	for (int i = 0; i < o.conns; i++)
		conn_close(&cs[i]);
	usleep(200000);
	printf("mode=idle conns=%d rss_before_kb=%ld rss_kb=%ld "
	       "rss_after_close_kb=%ld hwm_kb=%ld\n",
	       o.conns, before, rss, proc_status_kb("VmRSS"), hwm);
}

int main(int argc, char **argv)
{
	struct conn *cs;

	parse_args(argc, argv);
	raise_fd_limit();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	if (o.mode == MODE_LOAD || o.mode == MODE_POST)
		state_load();
	if (o.mode == MODE_GET)
		ids_load();
	cs = calloc((size_t)o.conns, sizeof(*cs));
	if (cs == NULL)
		die("out of memory");
	for (int i = 0; i < o.conns; i++) {
		cs[i].fd = -1;
		cs[i].index = i;
		cs[i].plan = -1;
		cs[i].rng = mix64((uint64_t)now_us() ^ (uint64_t)i) | 1;
	}
	if (o.mode == MODE_IDLE) {
		run_idle(cs);
		return 0;
	}
	t_begin = now_us();
	t_measure = o.mode == MODE_LOAD ? t_begin
					: t_begin + (int64_t)(o.warmup * 1e6);
	t_stop = o.mode == MODE_LOAD ? 0
				     : t_measure + (int64_t)(o.duration * 1e6);
	t_last = t_measure;
	for (int i = 0; i < o.conns; i++)
		start_request(&cs[i]);
	run_loop(cs, o.conns);
	/* Load: events refused with 503 (and those after them in the same
	 * batch) are sent again, as the API asks clients to. */
	for (int pass = 1; o.mode == MODE_LOAD && pass < 4 && st.non2xx > 0;
	     pass++) {
		fprintf(stderr, "bench-load: pass %d for refused events\n",
			pass + 1);
		for (int i = 0; i < o.conns; i++) {
			cs[i].done = false;
			cs[i].cursor = 0;
			cs[i].plan = -1;
			start_request(&cs[i]);
		}
		run_loop(cs, o.conns);
	}
	for (int i = 0; i < o.conns; i++)
		conn_close(&cs[i]);
	if (o.mode == MODE_LOAD || o.mode == MODE_POST)
		state_save();
	report();
	return 0;
}
