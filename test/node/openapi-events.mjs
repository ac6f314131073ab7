#!/usr/bin/env node
// openapi-events.mjs: holds the document's event schema
// (components.schemas.Event) against the event parser's own tables, so the
// request body it describes is the one the daemon takes.
//
//   node test/node/openapi-events.mjs DOC VALID.tsv INVALID.tsv
//
// test/data/events_valid.tsv holds events event_parse accepts: each must be
// valid against the schema (a failure names the line).  events_invalid.tsv
// holds events it refuses: the schema refuses most of them too; those it
// cannot refuse (a time in the future, a date after the event, lengths in
// bytes, nesting) are counted and shown, not failed.  The JSON is the last
// tab-separated column; lines starting with # are comments.
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const DOC_ID = 'urn:painpath:openapi';

function rows(file) {
	return readFileSync(file, 'utf8').split('\n')
		.map((line, i) => ({ line, where: `${file}:${i + 1}` }))
		.filter(({ line }) => line.trim() !== '' && !line.startsWith('#'))
		.map(({ line, where }) => {
			const cols = line.split('\t');
			return { where, json: cols[cols.length - 1], code: cols[0] };
		});
}

function parse(text) {
	try {
		return { ok: true, value: JSON.parse(text) };
	} catch {
		return { ok: false };
	}
}

function main(argv) {
	const [docFile, validFile, invalidFile] = argv.slice(2);
	if (invalidFile === undefined) {
		console.error('usage: openapi-events.mjs DOC VALID.tsv INVALID.tsv');
		return 2;
	}
	const doc = JSON.parse(readFileSync(docFile, 'utf8'));
	const ajv = new Ajv2020({ strict: false, allErrors: true });
	addFormats(ajv);
	ajv.addSchema({ ...doc, $id: DOC_ID });
	const validate = ajv.compile({ $ref: `${DOC_ID}#/components/schemas/Event` });
	const mapping = doc.components.schemas.Event.discriminator?.mapping ?? {};
	// Why an event is not valid: against its type's own variant, whose
	// errors say more than oneOf's over all of them.
	const why = (event) => {
		const ref = mapping[event?.type];
		const v = ref ? ajv.compile({ $ref: DOC_ID + ref }) : validate;
		v(event);
		return ajv.errorsText((v.errors ?? validate.errors).slice(0, 4));
	};
	let failed = 0;
	const valid = rows(validFile);
	for (const r of valid) {
		const p = parse(r.json);
		if (p.ok && validate(p.value))
			continue;
		failed++;
		console.log(`${r.where}: an event the daemon takes is not valid ` +
			`against Event: ` + (p.ok ? why(p.value) : 'not JSON'));
	}
	const invalid = rows(invalidFile).filter((r) => r.code === 'invalid_event');
	const passed = invalid.filter((r) => {
		const p = parse(r.json);
		return p.ok && validate(p.value);
	});
	console.log(`openapi-events: ${valid.length - failed} of ${valid.length} ` +
		`valid events are valid against Event; the schema refuses ` +
		`${invalid.length - passed.length} of ${invalid.length} invalid ones`);
	for (const r of passed)
		console.log(`  not expressible in the schema: ${r.where}: ` +
			`${r.json.slice(0, 110)}`);
	return failed === 0 && valid.length > 0 ? 0 : 1;
}

process.exit(main(process.argv));
