/*
 * harness_http: a small blocking HTTP/1.1 client for black-box tests.  See
 * harness_http.h for the contract.
 */
#include "harness_internal.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define HTTP_TIMEOUT_MS 30000

int http_connect(int port)
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
	harness_record_forget(fd);
	return fd;
}

/* MSG_NOSIGNAL: a server that hangs up early must fail the test, not kill
 * it with SIGPIPE. */
static bool send_all(int fd, const void *data, size_t len, int64_t deadline)
{
	const char *p = data;

	harness_record_request(fd, data, len);
	while (len > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		int n = poll(&pf, 1, harness_remaining_ms(deadline));
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
		n = poll(&pf, 1, harness_remaining_ms(deadline));
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
	r->raw = raw;
	r->raw_len = len;
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
	if (!r->raw) {
		r->raw = strdup("");
		r->raw_len = 0;
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
	int64_t deadline = harness_now_ms() + HTTP_TIMEOUT_MS;
	const char *extra = extra_headers ? extra_headers : "";
	const char *defaults =
		http_default_headers && !strcasestr(extra, "authorization:")
			? http_default_headers
			: "";
	char *req = NULL, ctype[64] = "", clen[64] = "";
	size_t blen = body ? strlen(body) : 0;
	int fd = -1, n;

	if (body && !strcasestr(extra, "content-type:"))
		harness_xsnprintf(ctype, sizeof(ctype),
				  "Content-Type: application/json\r\n");
	/* An explicit zero length, so that a POST without a body is never
	 * mistaken for one whose body runs to EOF. */
	if (body || method_has_body(method))
		harness_xsnprintf(clen, sizeof(clen), "Content-Length: %zu\r\n",
				  blen);
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

/* Records the answer; after an interim 1xx (100 Continue), the final one
 * that followed it on the connection. */
static void record(int fd, const struct http_response *r)
{
	const char *rest = r->raw ? strstr(r->raw, "\r\n\r\n") : NULL;
	struct http_response final;
	size_t len;
	char *copy;

	if (r->status < 100 || r->status > 199 || rest == NULL)
		return harness_record_answer(fd, r);
	rest += 4;
	len = r->raw_len - (size_t)(rest - r->raw);
	copy = malloc(len + 1);
	if (copy == NULL)
		return;
	memcpy(copy, rest, len);
	copy[len] = '\0';
	response_init(&final);
	parse_response(copy, len, &final);
	response_empty(&final);
	if (final.status != 0)
		record(fd, &final);
	http_response_free(&final);
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
	record(fd, r);
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
	return finish(fd, harness_now_ms() + HTTP_TIMEOUT_MS, false, out);
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
	return http_raw_flags(port, bytes, len, timeout_ms, 0, out);
}

int http_raw_flags(int port, const void *bytes, size_t len, int timeout_ms,
		   unsigned flags, struct http_response *out)
{
	int64_t deadline = harness_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
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
	if (flags & HTTP_HALF_CLOSE)
		shutdown(fd, SHUT_WR);
	return finish(fd, deadline, true, out);
}

bool http_send(int fd, const void *bytes, size_t len, int timeout_ms)
{
	return send_all(fd, bytes, len, harness_now_ms() + timeout_ms);
}

int http_read(int fd, int timeout_ms, struct http_response *out)
{
	return finish(fd, harness_now_ms() + timeout_ms, true, out);
}

int http_count_responses(const struct http_response *r)
{
	int n = 0;

	for (const char *p = r->raw; p != NULL && *p != '\0';
	     p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, "HTTP/1.", 7) == 0 && p[8] == ' ')
			n++;
	return n;
}

void http_response_free(struct http_response *r)
{
	if (!r)
		return;
	free(r->headers);
	free(r->body);
	free(r->raw);
	if (r->json)
		json_decref(r->json);
	memset(r, 0, sizeof(*r));
}
