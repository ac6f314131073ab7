#!/usr/bin/env node
// fhir-receiver.mjs: a Subscription's receiver on loopback for the
// end-to-end tests.  It checks each delivery's X-Painpath-Signature (the
// HMAC-SHA256 of the body under the subscription's secret) and refuses a
// bad one with 401, as a real receiver must; every request it gets is one
// NDJSON line in OUT: {"ok", "delivery", "subscription", "at", "body"},
// written as the request arrives ("at": milliseconds on the receiver's
// monotonic clock).  With DELAY_MS it answers each that much later
// (a slow receiver: deliveries stay in flight, and other daemons claim
// what one daemon has no room for).
//
//   node test/node/fhir-receiver.mjs PORT SECRET OUT [DELAY_MS]
//
// Prints "listening" once the port is bound; stops on SIGTERM.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, secret, out, delay] = process.argv.slice(2);

function signed(body, header) {
	const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
	const got = Buffer.from(header || '');
	return got.length === want.length && timingSafeEqual(got, want);
}

const server = createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const body = Buffer.concat(chunks);
		const ok = signed(body, req.headers['x-painpath-signature']);
		let parsed = null;
		try { parsed = JSON.parse(body.toString('utf8')); } catch { parsed = body.toString('utf8'); }
		appendFileSync(out, JSON.stringify({ ok, delivery: req.headers['x-painpath-delivery'] || null,
			subscription: req.headers['x-painpath-subscription'] || null,
			at: Math.floor(performance.now()), body: parsed }) + '\n');
		setTimeout(() => {
			res.writeHead(ok ? 200 : 401, { 'Content-Type': 'text/plain' });
			res.end(ok ? 'ok\n' : 'bad signature\n');
		}, Number(delay || 0));
	});
});
server.listen(Number(port), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
