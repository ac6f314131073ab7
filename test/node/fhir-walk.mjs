#!/usr/bin/env node
// fhir-walk.mjs: a stock FHIR client (fhir-kit-client, pinned in
// package.json) drives painpath's /fhir as an EHR would, without our
// documentation's help beyond the CapabilityStatement:
//
//   node test/node/fhir-walk.mjs BASE EHR_TOKEN COORD_TOKEN PREFIX OUT
//
// For a Norwegian, a Danish and a Swedish patient: a conditional create of
// the EpisodeOfCare (retried: the same episode, 200), a referral
// (ServiceRequest, retried likewise), its Task found by search and moved
// received -> accepted -> in-progress with If-Match, a stale If-Match
// refused (412), searches with _include, paging over next links, a
// transaction and a batch.  Every resource, Bundle and OperationOutcome it
// receives is written to OUT (NDJSON) for fhir-validate.mjs.  Prints one
// line per step; exits 1 at the first check that fails.
import { writeFileSync } from 'node:fs';
import { Client } from 'fhir-kit-client';

const [base, ehrToken, coordToken, prefix, out] = process.argv.slice(2);
if (!out) {
	console.error('usage: fhir-walk.mjs BASE EHR_TOKEN COORD_TOKEN PREFIX OUT');
	process.exit(2);
}
const ehr = new Client({ baseUrl: base, bearerToken: ehrToken });
const coord = new Client({ baseUrl: base, bearerToken: coordToken });
const seen = [];
const keep = (r) => { if (r && typeof r === 'object') seen.push(r); return r; };

function check(cond, what) {
	if (!cond) {
		console.error(`FAIL: ${what}`);
		writeFileSync(out, seen.map((r) => JSON.stringify(r)).join('\n') + '\n');
		process.exit(1);
	}
	console.log(`ok: ${what}`);
}

const status = (r) => Client.httpFor(r).response?.status;
const etag = (r) => Client.httpFor(r).response?.headers.get('etag');

// A refused request's status and OperationOutcome.
async function refused(promise) {
	try {
		await promise;
		return { status: 0 };
	} catch (e) {
		keep(e.response?.data);
		return { status: e.response?.status, outcome: e.response?.data };
	}
}

const countries = [
	{ model: 'no', region: 'helse-vest', patientSystem: 'urn:oid:2.16.578.1.12.4.1.4.1',
		unitSystem: 'urn:oid:2.16.578.1.12.4.1.4.101' },
	{ model: 'dk', region: 'r1', patientSystem: 'urn:oid:1.2.208.176.1.2',
		unitSystem: 'urn:oid:1.2.208.176.1.1' },
	{ model: 'se-adult', region: 'r2', patientSystem: 'urn:oid:1.2.752.129.2.1.3.1',
		unitSystem: 'urn:oid:1.2.752.29.4.19' },
];

const ext = (name) => `${base}/StructureDefinition/painpath-${name}`;
const cs = (name) => `${base}/CodeSystem/painpath-${name}`;

function episode(c, patient, id) {
	return {
		resourceType: 'EpisodeOfCare', status: 'active',
		identifier: [{ system: 'urn:ehr:walk', value: id }],
		type: [{ coding: [{ system: cs('model'), code: c.model }] }],
		patient: { identifier: { system: c.patientSystem, value: patient } },
		managingOrganization: { identifier: { system: c.unitSystem, value: `gp-${c.model}` } },
		period: { start: '2025-03-03T09:15:00+01:00' },
		extension: [
			{ url: ext('region'), valueCode: c.region },
			{ url: ext('age'), valueInteger: 40 },
		],
	};
}

function referral(c, patient, id, clinic) {
	return {
		resourceType: 'ServiceRequest', status: 'active', intent: 'order',
		identifier: [{ system: 'urn:ehr:walk', value: id }],
		code: { coding: [{ system: cs('level'), code: 'clinic' }] },
		subject: { identifier: { system: c.patientSystem, value: patient } },
		requester: { identifier: { system: c.unitSystem, value: `gp-${c.model}` } },
		performer: [{ identifier: { system: c.unitSystem, value: clinic } }],
		authoredOn: '2025-03-04T10:00:00+01:00',
	};
}

async function moveTask(task, to, extra = {}) {
	const body = { ...task, status: to, ...extra };
	const updated = keep(await ehr.update({
		resourceType: 'Task', id: task.id, body,
		options: { headers: { 'If-Match': `W/"${task.meta.versionId}"` } },
	}));
	return updated;
}

async function walk(c) {
	const patient = `${prefix}-${c.model}`;
	const clinic = `clinic-${prefix}-${c.model}`;
	const openId = `open-${patient}`;
	const ine = { 'If-None-Exist': `identifier=urn:ehr:walk|${openId}` };

	const created = keep(await ehr.create({ resourceType: 'EpisodeOfCare',
		body: episode(c, patient, openId), options: { headers: ine } }));
	check(status(created) === 201 && created.status === 'active',
		`${c.model}: EpisodeOfCare created (201, active)`);
	const again = keep(await ehr.create({ resourceType: 'EpisodeOfCare',
		body: episode(c, patient, openId), options: { headers: ine } }));
	check(status(again) === 200 && again.id === created.id,
		`${c.model}: the conditional create retried gives the same episode (200)`);

	const sr = keep(await ehr.create({ resourceType: 'ServiceRequest',
		body: referral(c, patient, `ref-${patient}`, clinic),
		options: { headers: { 'If-None-Exist': `identifier=urn:ehr:walk|ref-${patient}` } } }));
	check(status(sr) === 201 && sr.status === 'active', `${c.model}: referral sent`);
	const srAgain = keep(await ehr.create({ resourceType: 'ServiceRequest',
		body: referral(c, patient, `ref-${patient}`, clinic) }));
	check(status(srAgain) === 200 && srAgain.id === sr.id,
		`${c.model}: the referral posted again replays`);

	const found = keep(await coord.search({ resourceType: 'Task',
		searchParams: { patient: `${c.patientSystem}|${patient}`, _include: 'Task:focus' } }));
	const tasks = (found.entry || []).filter((e) => e.search.mode === 'match');
	const included = (found.entry || []).filter((e) => e.search.mode === 'include');
	check(tasks.length === 1 && tasks[0].resource.status === 'requested' &&
		included.length === 1 && included[0].resource.id === sr.id,
		`${c.model}: Task found by patient, requested, its ServiceRequest included`);
	let task = tasks[0].resource;

	task = await moveTask(task, 'received', { lastModified: '2025-03-06T08:00:00+01:00',
		owner: { identifier: { system: c.unitSystem, value: clinic } } });
	check(task.status === 'received', `${c.model}: Task received`);
	const stale = task;
	const deadline = c.model === 'no' ? { restriction: { period: { end: '2025-05-01' } } } : {};
	task = await moveTask(task, 'accepted', { lastModified: '2025-03-12T08:00:00+01:00', ...deadline });
	check(task.status === 'accepted', `${c.model}: Task accepted`);
	const waiting = keep(await coord.read({ resourceType: 'EpisodeOfCare', id: created.id }));
	check(waiting.status === 'waitlist' && etag(waiting) === `W/"${waiting.meta.versionId}"`,
		`${c.model}: EpisodeOfCare on the waitlist, ETag from its version`);

	const r412 = await refused(ehr.update({ resourceType: 'Task', id: stale.id,
		body: { ...stale, status: 'in-progress' },
		options: { headers: { 'If-Match': `W/"${stale.meta.versionId}"` } } }));
	check(r412.status === 412 && r412.outcome?.resourceType === 'OperationOutcome',
		`${c.model}: a stale If-Match is refused (412, OperationOutcome)`);

	task = await moveTask(task, 'in-progress',
		{ executionPeriod: { start: '2025-04-10T08:00:00+02:00' } });
	check(task.status === 'in-progress', `${c.model}: treatment started (Task in-progress)`);
	const treated = keep(await coord.read({ resourceType: 'EpisodeOfCare', id: created.id }));
	check(treated.status === 'active' && (treated.statusHistory || []).length >= 2,
		`${c.model}: EpisodeOfCare active again, with its statusHistory`);

	const byOwner = keep(await coord.search({ resourceType: 'Task',
		searchParams: { owner: `${c.unitSystem}|${clinic}`, status: 'in-progress' } }));
	check((byOwner.entry || []).length === 1, `${c.model}: Task?owner=&status=in-progress finds it`);
	const eoc = keep(await coord.search({ resourceType: 'EpisodeOfCare',
		searchParams: { patient: patient, status: 'active' } }));
	check(eoc.total === 1 && eoc.entry[0].resource.id === created.id,
		`${c.model}: EpisodeOfCare?patient=&status=active, with a total`);
	const srs = keep(await coord.search({ resourceType: 'ServiceRequest',
		searchParams: { patient: patient, status: 'active' } }));
	check((srs.entry || []).length === 1, `${c.model}: ServiceRequest?patient=`);
	return created;
}

async function transactions() {
	const c = countries[1];
	const patient = `${prefix}-tx`;
	const tx = keep(await ehr.transaction({ body: {
		resourceType: 'Bundle', type: 'transaction', entry: [
			{ resource: episode(c, patient, `open-${patient}`),
				request: { method: 'POST', url: 'EpisodeOfCare' } },
			{ resource: referral(c, patient, `ref-${patient}`, `clinic-${patient}`),
				request: { method: 'POST', url: 'ServiceRequest' } },
		] } }));
	check(tx.type === 'transaction-response' && tx.entry.length === 2 &&
		tx.entry.every((e) => e.response.status.startsWith('201')),
		'transaction: an episode and its referral, all 201');
	const two = await refused(ehr.transaction({ body: {
		resourceType: 'Bundle', type: 'transaction', entry: [
			{ resource: episode(c, `${patient}-a`, `open-${patient}-a`),
				request: { method: 'POST', url: 'EpisodeOfCare' } },
			{ resource: episode(c, `${patient}-b`, `open-${patient}-b`),
				request: { method: 'POST', url: 'EpisodeOfCare' } },
		] } }));
	check(two.status === 400 && two.outcome?.resourceType === 'OperationOutcome',
		'transaction: two patients refused with an OperationOutcome');
	const batch = keep(await ehr.batch({ body: {
		resourceType: 'Bundle', type: 'batch', entry: [
			{ resource: episode(c, `${patient}-c`, `open-${patient}-c`),
				request: { method: 'POST', url: 'EpisodeOfCare' } },
			{ resource: { ...episode(c, `${patient}-d`, `open-${patient}-d`), status: 'planned' },
				request: { method: 'POST', url: 'EpisodeOfCare' } },
		] } }));
	check(batch.type === 'batch-response' && batch.entry[0].response.status.startsWith('201') &&
		batch.entry[1].response.status.startsWith('400') &&
		batch.entry[1].response.outcome?.resourceType === 'OperationOutcome',
		'batch: each entry alone (201, and 400 with its outcome)');
}

async function paging() {
	let page = keep(await coord.search({ resourceType: 'EpisodeOfCare',
		searchParams: { _lastUpdated: 'ge2000-01-01', _count: '1' } }));
	const ids = new Set();
	for (let i = 0; i < 3 && page; i++) {
		check((page.entry || []).length === 1, `page ${i + 1} holds one episode`);
		ids.add(page.entry[0].resource.id);
		page = keep(await coord.nextPage({ bundle: page }));
	}
	check(ids.size === 3, 'next links page through distinct episodes');
}

async function main() {
	const cs_ = keep(await coord.capabilityStatement());
	check(cs_.resourceType === 'CapabilityStatement' && cs_.fhirVersion === '4.0.1',
		'CapabilityStatement, FHIR 4.0.1');
	for (const c of countries) await walk(c);
	await transactions();
	await paging();
	const noToken = await refused(new Client({ baseUrl: base }).search({ resourceType: 'Task' }));
	check(noToken.status === 401 && noToken.outcome?.resourceType === 'OperationOutcome',
		'no token: 401 OperationOutcome');
	writeFileSync(out, seen.map((r) => JSON.stringify(r)).join('\n') + '\n');
	console.log(`walk: ${seen.length} resources received`);
}

main().catch((e) => {
	console.error(`FAIL: ${e.message} ${JSON.stringify(e.response?.data || '')}`);
	writeFileSync(out, seen.map((r) => JSON.stringify(r)).join('\n') + '\n');
	process.exit(1);
});
