#!/usr/bin/env node
// openapi-answers.mjs: holds recorded HTTP answers against an OpenAPI 3.1
// document, with an independent JSON Schema 2020-12 validator (ajv), so the
// document is checked against what the daemon really sends.
//
//   node test/node/openapi-answers.mjs DOC [--brief|--expect-reject] ANSWERS...
//
// ANSWERS are NDJSON, one answer a line, as test/harness_record.c writes
// them: {"method", "target", "status", "content_type", "body"} (method and
// target null when the request had no request line; body null when it was
// no UTF-8 text).  A line may carry "why", a note for people.
//
// Each answer is matched to the documented operation of its method and
// path (path templates match one segment each; empty segments are skipped,
// as the daemon does).  Its status must be documented for that operation,
// its Content-Type one the status documents (none when it documents no
// content), and its body valid against that schema.  An answer to a path
// or method the document does not have (the daemon's 404 and 405) must be
// the documented error envelope.  Paths the document does not have and
// that are not under /v1/ (pages, FHIR) are outside its scope: counted,
// and only their plain-JSON errors checked.
//
// Streamed answers are held to their media type (the recorder has them
// de-chunked).  NDJSON (application/x-ndjson): every line ends with a
// newline and is JSON; the lines, read as an array, are valid against
// the schema (an array, whose items are the lines, as OpenAPI 3.2 reads a
// sequential media type).  CSV (text/csv): RFC 4180 records, each ended
// by CRLF; the first is the header row, exactly the media type's
// x-csv-columns (which a CSV media type must list), and every other
// record has as many fields.
//
// Prints the failures, then what was covered: answers, operations and
// operation/status pairs, and the operations and statuses no answer
// reached.  Exits 1 on any failure or when no answer was read, 2 on
// unreadable input.  --brief prints one line of coverage.  --expect-reject
// turns it round: every answer must be refused (the checker's own test);
// one that passes is the failure.
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch',
	'trace'];
const DOC_ID = 'urn:painpath:openapi';
const MAX_SHOWN = 40;

function usage() {
	console.error('usage: openapi-answers.mjs DOC [--brief|--expect-reject] ' +
		'ANSWERS...');
	process.exit(2);
}

function pointer(parts) {
	return '#/' + parts.map((p) => String(p).replace(/~/g, '~0')
		.replace(/\//g, '~1')).join('/');
}

// Follows a local $ref (responses are OpenAPI objects, not schemas).
function deref(doc, obj) {
	let seen = 0;
	let ref = null;
	while (obj && typeof obj.$ref === 'string' && seen++ < 10) {
		ref = obj.$ref;
		obj = ref.slice(2).split('/').reduce((o, k) =>
			o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
	}
	return { obj, ref };
}

function segments(path) {
	return path.split('/').filter((s) => s !== '');
}

// The documented operations, each with its path's segments to match.
function operations(doc) {
	const ops = [];
	for (const [path, item] of Object.entries(doc.paths ?? {}))
		for (const m of METHODS)
			if (item[m] !== undefined)
				ops.push({ key: `${m.toUpperCase()} ${path}`, path, method: m,
					segs: segments(path), op: item[m] });
	return ops;
}

function pathMatches(segs, target) {
	return segs.length === target.length &&
		segs.every((s, i) => /^\{.*\}$/.test(s) || s === target[i]);
}

// The document's scope, as test/check_openapi.c has it: /v1 and the
// operators' three; other paths (pages, FHIR) belong to other front-ends.
const OPERATORS = ['healthz', 'readyz', 'metrics'];

function inScope(segs) {
	return segs[0] === 'v1' || (segs.length === 1 && OPERATORS.includes(segs[0]));
}

function mediaType(contentType) {
	return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

// JSON texts one a line (a JSON text holds no raw newline).
const SEQUENCES = ['application/x-ndjson', 'application/jsonl',
	'application/jsonlines'];

// The records of an RFC 4180 text: quoted fields (doubled quotes, commas
// and line breaks inside), every record ended by CRLF.  Returns
// { records } or { error }.
function csvRecords(text) {
	const records = [];
	let fields = [];
	let i = 0;
	const at = () => `record ${records.length + 1}, field ${fields.length + 1}`;
	while (i < text.length) {
		let field = '';
		if (text[i] === '"') {
			for (i++; ; i++) {
				if (i >= text.length)
					return { error: `${at()}: a quoted field never closes` };
				if (text[i] === '"' && text[i + 1] === '"') {
					field += '"';
					i++;
				} else if (text[i] === '"') {
					i++;
					break;
				} else {
					field += text[i];
				}
			}
		} else {
			while (i < text.length && !',\r\n"'.includes(text[i]))
				field += text[i++];
			if (text[i] === '"')
				return { error: `${at()}: a quote inside an unquoted field` };
		}
		fields.push(field);
		if (text[i] === ',') {
			i++;
			continue;
		}
		if (text.startsWith('\r\n', i)) {
			i += 2;
			records.push(fields);
			fields = [];
			continue;
		}
		return { error: i >= text.length ?
			`${at()}: the last record does not end with CRLF` :
			`${at()}: ${JSON.stringify(text[i])} after a field` };
	}
	return { records };
}

class Checker {
	constructor(doc) {
		this.doc = doc;
		this.ops = operations(doc);
		this.ajv = new Ajv2020({ strict: false, allErrors: true });
		addFormats(this.ajv);
		// The whole document as one schema resource, so that every
		// "#/components/schemas/..." resolves in it.
		this.ajv.addSchema({ ...doc, $id: DOC_ID });
		this.validators = new Map();
		this.covered = new Map(); // operation key -> Set of statuses
		this.outside = 0;
		this.outOfScope = 0;
		this.otherMethods = 0;
	}

	validator(ptr) {
		if (!this.validators.has(ptr))
			this.validators.set(ptr,
				this.ajv.compile({ $ref: DOC_ID + ptr }));
		return this.validators.get(ptr);
	}

	// Errors of value against the schema at ptr; where names an error's
	// place from its instance path.
	schemaErrors(ptr, value, where = (path) => `body${path}`) {
		const validate = this.validator(ptr);
		if (validate(value))
			return [];
		// The deepest first: under oneOf, the branch that nearly fitted.
		const depth = (e) => e.instancePath.split('/').length;
		return [...validate.errors].sort((a, b) => depth(b) - depth(a))
			.slice(0, 8).map((e) =>
			`${where(e.instancePath)} ${e.message}` +
			(e.params && Object.keys(e.params).length ?
				` ${JSON.stringify(e.params)}` : ''));
	}

	// Errors of body (text) against the schema at ptr, as JSON when the
	// media type is JSON, as the array of its lines when it is NDJSON.
	bodyErrors(ptr, media, body) {
		if (SEQUENCES.includes(media))
			return this.sequenceErrors(ptr, body);
		let value = body;
		if (media === 'application/json' || media.endsWith('+json')) {
			try {
				value = JSON.parse(body);
			} catch (e) {
				return [`body is not JSON: ${e.message}`];
			}
		}
		return this.schemaErrors(ptr, value);
	}

	sequenceErrors(ptr, body) {
		if (body !== '' && !body.endsWith('\n'))
			return ['the last line does not end with a newline (cut short?)'];
		const lines = body === '' ? [] : body.slice(0, -1).split('\n');
		const values = [];
		for (const [i, line] of lines.entries()) {
			if (line.trim() === '')
				return [`line ${i + 1} is empty`];
			try {
				values.push(JSON.parse(line));
			} catch (e) {
				return [`line ${i + 1} is not JSON: ${e.message}`];
			}
		}
		return this.schemaErrors(ptr, values, (path) => {
			const [, index, ...rest] = path.split('/');
			return index === undefined ? 'body' :
				`line ${Number(index) + 1}: ${rest.length ? '/' : ''}` +
				rest.join('/');
		});
	}

	// A CSV answer: its header row is the documented columns, and every
	// record has as many fields.
	csvErrors(media, body) {
		const columns = media['x-csv-columns'];
		if (!Array.isArray(columns) || columns.length === 0)
			return ['the document lists no x-csv-columns for this CSV'];
		const { records, error } = csvRecords(body);
		if (error !== undefined)
			return [`CSV: ${error}`];
		if (records.length === 0)
			return ['CSV: no header row'];
		const header = records[0].join(',');
		if (header !== columns.join(','))
			return [`CSV header row is ${header}, documented ` +
				columns.join(',')];
		const bad = records.findIndex((r) => r.length !== columns.length);
		return bad < 0 ? [] : [`CSV record ${bad + 1} has ` +
			`${records[bad].length} fields, the header ${columns.length}`];
	}

	// Another front-end's answer (a page, FHIR): not the document's; an
	// error in plain JSON is still the /v1 envelope.
	foreign(rec) {
		if (rec.status < 400 || mediaType(rec.content_type) !==
			'application/json')
			return [];
		return this.envelope(rec);
	}

	// An answer outside the documented operations: the error envelope.
	envelope(rec) {
		if (rec.status < 400)
			return [`status ${rec.status} for an undocumented operation`];
		if (rec.body === '' && rec.method === 'HEAD')
			return [];
		if (mediaType(rec.content_type) !== 'application/json')
			return [`Content-Type ${rec.content_type} is not the error's`];
		return this.bodyErrors(pointer(['components', 'schemas', 'Error']),
			'application/json', rec.body ?? '');
	}

	check(rec) {
		if (typeof rec.status !== 'number')
			return { errors: ['no status'] };
		if (typeof rec.body !== 'string')
			return { errors: ['body is not UTF-8 text'] };
		const target = typeof rec.target === 'string' &&
			rec.target.startsWith('/') ? rec.target.split('?')[0] : null;
		const segs = target === null ? null : segments(target);
		const onPath = segs === null ? [] :
			this.ops.filter((o) => pathMatches(o.segs, segs));
		if (onPath.length === 0 && segs !== null && !inScope(segs)) {
			this.outOfScope++;
			return { errors: this.foreign(rec), label: 'outside the scope' };
		}
		if (onPath.length === 0) {
			this.outside++;
			return { errors: this.envelope(rec), label: 'no documented path' };
		}
		const o = onPath.find((x) => x.method === (rec.method ?? '').toLowerCase());
		if (o === undefined) {
			this.otherMethods++;
			return { errors: this.envelope(rec),
				label: `${rec.method} ${onPath[0].path} (undocumented method)` };
		}
		return { errors: this.operationErrors(o, rec), label: o.key };
	}

	operationErrors(o, rec) {
		const status = String(rec.status);
		const { obj: response } = deref(this.doc, o.op.responses?.[status]);
		if (response === undefined)
			return [`status ${status} is not documented for ${o.key}`];
		if (!this.covered.has(o.key))
			this.covered.set(o.key, new Set());
		this.covered.get(o.key).add(status);
		const base = o.op.responses[status].$ref ?
			deref(this.doc, o.op.responses[status]).ref.slice(1).split('/')
				.slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~')) :
			['paths', o.path, o.method, 'responses', status];
		const content = response.content ?? {};
		const media = mediaType(rec.content_type);
		if (Object.keys(content).length === 0)
			return rec.body === '' ? [] :
				[`status ${status} documents no body, got ${rec.body.length} bytes`];
		if (content[media] === undefined)
			return [`Content-Type ${rec.content_type} is not documented for ` +
				`${o.key} ${status} (${Object.keys(content).join(', ')})`];
		const csv = media === 'text/csv' ?
			this.csvErrors(content[media], rec.body) : [];
		if (csv.length > 0 || content[media].schema === undefined)
			return csv;
		return this.bodyErrors(pointer([...base, 'content', media, 'schema']),
			media, rec.body);
	}

	// Documented operations no answer reached; statuses no answer reached
	// on any operation that documents them; and per operation, the others.
	uncovered() {
		const ops = [];
		const missing = new Map(); // status -> operations missing it
		const documenting = new Map(); // status -> operations with it
		for (const o of this.ops) {
			const seen = this.covered.get(o.key);
			if (seen === undefined)
				ops.push(o.key);
			for (const s of Object.keys(o.op.responses ?? {})) {
				documenting.set(s, (documenting.get(s) ?? 0) + 1);
				if (seen !== undefined && !seen.has(s))
					missing.set(s, [...(missing.get(s) ?? []), o.key]);
			}
		}
		const never = [...missing.keys()].filter((s) =>
			missing.get(s).length + ops.length === documenting.get(s));
		const statuses = this.ops.map((o) => [o.key, [...missing.entries()]
			.filter(([s, keys]) => !never.includes(s) && keys.includes(o.key))
			.map(([s]) => s).sort()])
			.filter(([, list]) => list.length > 0)
			.map(([key, list]) => `${key}: ${list.join(' ')}`);
		return { ops, never: never.sort(), statuses };
	}
}

function readAnswers(files) {
	const answers = [];
	for (const f of files) {
		let text;
		try {
			text = readFileSync(f, 'utf8');
		} catch (e) {
			console.error(`openapi-answers: ${e.message}`);
			process.exit(2);
		}
		text.split('\n').forEach((line, i) => {
			if (line.trim() === '')
				return;
			try {
				answers.push({ where: `${f}:${i + 1}`, rec: JSON.parse(line) });
			} catch (e) {
				console.error(`openapi-answers: ${f}:${i + 1}: ${e.message}`);
				process.exit(2);
			}
		});
	}
	return answers;
}

function describe(rec) {
	return `${rec.method ?? '?'} ${(rec.target ?? '?').slice(0, 80)} -> ` +
		`${rec.status}`;
}

function summary(checker, n, failed, brief) {
	const pairs = [...checker.covered.values()]
		.reduce((sum, s) => sum + s.size, 0);
	const documentedPairs = checker.ops.reduce((sum, o) =>
		sum + Object.keys(o.op.responses ?? {}).length, 0);
	const { ops, never, statuses } = checker.uncovered();
	console.log(`openapi-answers: ${n} answers checked, ${failed} failed; ` +
		`${checker.covered.size} of ${checker.ops.length} operations and ` +
		`${pairs} of ${documentedPairs} documented operation/status pairs ` +
		`answered; ${checker.outside} to undocumented paths and ` +
		`${checker.otherMethods} to undocumented methods (error envelope); ` +
		`${checker.outOfScope} outside the document's scope`);
	if (brief)
		return;
	console.log(`openapi-answers: operations without an answer: ` +
		(ops.length ? ops.join(', ') : 'none'));
	console.log('openapi-answers: statuses no operation was answered with: ' +
		(never.length ? never.join(' ') : 'none'));
	if (statuses.length)
		console.log('openapi-answers: and per operation:\n  ' +
			statuses.join('\n  '));
}

function main(argv) {
	const args = argv.slice(2);
	const docFile = args.shift();
	const expectReject = args[0] === '--expect-reject';
	const brief = args[0] === '--brief';
	if (expectReject || brief)
		args.shift();
	if (docFile === undefined || args.length === 0)
		usage();
	const doc = JSON.parse(readFileSync(docFile, 'utf8'));
	const checker = new Checker(doc);
	const answers = readAnswers(args);
	let failed = 0;
	let shown = 0;
	for (const { where, rec } of answers) {
		const { errors, label } = checker.check(rec);
		if (expectReject) {
			if (errors.length === 0) {
				failed++;
				console.log(`${where}: ${describe(rec)} was accepted, ` +
					`but must be refused (${rec.why ?? 'no reason given'})`);
			} else {
				console.log(`${where}: refused as it must be: ${errors[0]}`);
			}
			continue;
		}
		if (errors.length === 0)
			continue;
		failed++;
		if (shown++ < MAX_SHOWN)
			console.log(`${where}: ${describe(rec)} (${label}):\n  ` +
				errors.join('\n  '));
	}
	if (expectReject) {
		console.log(`openapi-answers: ${answers.length - failed} of ` +
			`${answers.length} wrong answers refused`);
	} else {
		if (shown < failed)
			console.log(`... and ${failed - shown} more`);
		summary(checker, answers.length, failed, brief);
	}
	return answers.length > 0 && failed === 0 ? 0 : 1;
}

process.exit(main(process.argv));
