#!/usr/bin/env node
// fhir-validate.mjs: checks FHIR R4 resources with an independent validator,
// the npm `fhir` package (Lantana's FHIR.js, R4 StructureDefinitions and
// value sets), so painpath's renderers are not judged by their own code.
//
//   node test/node/fhir-validate.mjs [FILE...]     (no FILE: stdin)
//
// Each input holds one resource, a JSON array of resources, or one resource
// per line (NDJSON).  Every resource is validated with errorOnUnexpected
// (an element R4 does not define is an error, not a warning), and then
// against a few R4 invariants the package does not evaluate (ele-1, ext-1,
// bdl-1..4, per-1, cpb-1/2/15, and FHIR JSON's own rules: no nulls, no
// empty strings, arrays or objects).
//
// Prints one line per error, then "resources checked: N (by type), errors:
// E" (a Bundle is validated whole, its entries and their outcomes counted
// as resources of their own) and exits 1 on any error or when no resource
// was read, 2 on unreadable input.
import { readFileSync } from 'node:fs';
import fhirPkg from 'fhir';

const { Fhir } = fhirPkg;
const fhir = new Fhir();

function readInputs(args) {
	const texts = args.length > 0
		? args.map((f) => ({ name: f, text: readFileSync(f, 'utf8') }))
		: [{ name: '<stdin>', text: readFileSync(0, 'utf8') }];
	const resources = [];
	for (const { name, text } of texts) {
		const trimmed = text.trim();
		if (trimmed === '') continue;
		let parsed;
		try {
			parsed = JSON.parse(trimmed);
		} catch {
			parsed = trimmed.split('\n').filter((l) => l.trim() !== '')
				.map((l, i) => {
					try {
						return JSON.parse(l);
					} catch (e) {
						throw new Error(`${name}:${i + 1}: ${e.message}`);
					}
				});
		}
		for (const r of Array.isArray(parsed) ? parsed : [parsed])
			resources.push({ source: name, resource: r });
	}
	return resources;
}

// FHIR JSON: no null, no "", no [], no {} anywhere (ele-1 and the JSON
// rules of the R4 spec, "JSON Representation of Resources").
function jsonRules(value, path, errors) {
	if (value === null) errors.push(`${path}: null is not allowed in FHIR JSON`);
	else if (typeof value === 'string' && value.trim() === '')
		errors.push(`${path}: empty string`);
	else if (Array.isArray(value)) {
		if (value.length === 0) errors.push(`${path}: empty array`);
		value.forEach((v, i) => jsonRules(v, `${path}[${i}]`, errors));
	} else if (typeof value === 'object') {
		if (Object.keys(value).length === 0) errors.push(`${path}: empty object`);
		for (const [k, v] of Object.entries(value)) jsonRules(v, `${path}.${k}`, errors);
	}
}

// ext-1: an extension has a value[x] or sub-extensions, not both; a
// top-level extension's url is absolute (a sub-extension's may be a name).
function checkExtension(e, at, top, errors) {
	const values = Object.keys(e).filter((x) => x.startsWith('value'));
	const subs = Array.isArray(e.extension) ? e.extension : [];
	if (typeof e.url !== 'string') errors.push(`${at}: extension without url`);
	else if (top && !/^(https?:\/\/|urn:)/.test(e.url))
		errors.push(`${at}: extension url ${e.url} is not absolute`);
	if (values.length + (subs.length > 0 ? 1 : 0) !== 1)
		errors.push(`${at}: ext-1: needs exactly one of value[x] or extension`);
	subs.forEach((s, i) => checkExtension(s, `${at}.extension[${i}]`, false, errors));
	for (const k of values) extensionRules(e[k], `${at}.${k}`, errors);
}

// Finds the extensions on every element of a resource.
function extensionRules(value, path, errors) {
	if (Array.isArray(value)) {
		value.forEach((v, i) => extensionRules(v, `${path}[${i}]`, errors));
		return;
	}
	if (value === null || typeof value !== 'object') return;
	for (const [k, v] of Object.entries(value)) {
		if ((k === 'extension' || k === 'modifierExtension') && Array.isArray(v))
			v.forEach((e, i) => checkExtension(e, `${path}.${k}[${i}]`, true, errors));
		else
			extensionRules(v, `${path}.${k}`, errors);
	}
}

// per-1: a Period's start is not after its end (instants compared as
// dates when one is a date).
function periodRules(value, path, errors) {
	if (Array.isArray(value)) {
		value.forEach((v, i) => periodRules(v, `${path}[${i}]`, errors));
		return;
	}
	if (value === null || typeof value !== 'object') return;
	if (typeof value.start === 'string' && typeof value.end === 'string') {
		const s = Date.parse(value.start), e = Date.parse(value.end);
		if (!Number.isNaN(s) && !Number.isNaN(e) && s > e && value.start.slice(0, 10) > value.end.slice(0, 10))
			errors.push(`${path}: per-1: start ${value.start} is after end ${value.end}`);
	}
	for (const [k, v] of Object.entries(value)) periodRules(v, `${path}.${k}`, errors);
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function resourceRules(r, path, errors) {
	if (r.id !== undefined && !ID.test(r.id)) errors.push(`${path}.id: ${r.id} is not a FHIR id`);
	if (r.meta && r.meta.lastUpdated !== undefined && !INSTANT.test(r.meta.lastUpdated))
		errors.push(`${path}.meta.lastUpdated: ${r.meta.lastUpdated} is not an instant`);
	if (r.resourceType === 'Bundle') bundleRules(r, path, errors);
	if (r.resourceType === 'CapabilityStatement') capabilityRules(r, path, errors);
	if (r.resourceType === 'OperationOutcome' && !(r.issue || []).length)
		errors.push(`${path}.issue: an OperationOutcome needs an issue`);
}

function bundleRules(b, path, errors) {
	const entries = b.entry || [];
	if (b.total !== undefined && !['searchset', 'history'].includes(b.type))
		errors.push(`${path}: bdl-1: total only for searchset or history`);
	entries.forEach((e, i) => {
		const at = `${path}.entry[${i}]`;
		if (e.search && b.type !== 'searchset') errors.push(`${at}: bdl-2: search only in a searchset`);
		if (!e.request && ['batch', 'transaction', 'history'].includes(b.type))
			errors.push(`${at}: bdl-3: request required in a ${b.type}`);
		if (!e.response && ['batch-response', 'transaction-response', 'history'].includes(b.type))
			errors.push(`${at}: bdl-4: response required in a ${b.type}`);
		if (!e.resource && !e.request && !e.response) errors.push(`${at}: bdl-5: empty entry`);
		if (e.fullUrl && e.fullUrl.includes('/_history/')) errors.push(`${at}: bdl-8: versioned fullUrl`);
	});
	const urls = entries.map((e) => e.fullUrl).filter(Boolean);
	if (new Set(urls).size !== urls.length && b.type !== 'history')
		errors.push(`${path}: bdl-7: fullUrl not unique`);
}

function capabilityRules(c, path, errors) {
	if (!c.rest && !c.messaging && !c.document) errors.push(`${path}: cpb-1: no rest, messaging or document`);
	if (!c.description && !c.software && !c.implementation) errors.push(`${path}: cpb-2`);
	if (c.kind === 'instance' && !c.implementation) errors.push(`${path}: cpb-15: an instance needs implementation`);
}

function nested(resource) {
	if (resource && resource.resourceType === 'Bundle')
		return (resource.entry || []).flatMap((e) =>
			[e.resource, e.response && e.response.outcome].filter(Boolean));
	return [];
}

function validate(resource) {
	const errors = [];
	let result;
	try {
		result = fhir.validate(resource, { errorOnUnexpected: true });
	} catch (e) {
		return [`validator threw: ${e.message}`];
	}
	for (const m of result.messages)
		if (m.severity === 'error' || m.severity === 'fatal')
			errors.push(`${m.location || ''}: ${m.message}`);
	const type = resource && resource.resourceType || 'Resource';
	jsonRules(resource, type, errors);
	extensionRules(resource, type, errors);
	periodRules(resource, type, errors);
	resourceRules(resource, type, errors);
	return errors;
}

let inputs;
try {
	inputs = readInputs(process.argv.slice(2));
} catch (e) {
	console.error(`fhir-validate: ${e.message}`);
	process.exit(2);
}
let checked = 0, failed = 0;
const byType = {};
for (const { source, resource } of inputs) {
	// A Bundle is validated whole (the package descends into its entries);
	// its entries count as resources checked.
	for (const r of [resource, ...nested(resource)]) {
		checked++;
		const type = r && r.resourceType || '?';
		byType[type] = (byType[type] || 0) + 1;
	}
	const type = resource && resource.resourceType || '?';
	for (const e of validate(resource)) {
		failed++;
		console.log(`${source}: ${type}/${resource && resource.id || '-'}: ${e}`);
	}
}
const types = Object.entries(byType).sort().map(([t, n]) => `${t} ${n}`).join(', ');
console.log(`resources checked: ${checked} (${types}), errors: ${failed}`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);
