// Validates docs/openapi.yaml itself:
//  1. against the official OpenAPI 3.1 schema, with every $ref resolved
//     (@seriousme/openapi-schema-validator, which ships that schema);
//  2. every Schema Object against the JSON Schema 2020-12 meta-schema, and compiled by Ajv in
//     strict mode (unknown or misplaced keywords are errors);
//  3. the project's own rules, so that the document stays complete and agrees with
//     docs/http-api.md: every route and fault of docs/http-api.md is in it with the same
//     status (the Routes table, and the `### ...: \`GET /path\`` headings of Operations), every
//     error answer is a Fault whose codes are named in its description and belong to its status
//     (unless its description says it is not a fault), a HEAD operation answers what the GET of
//     its path does, path parameters are declared, `Allow` in each path's description lists
//     exactly its operations; every fault of the server's fault table (examples/server/faults.h,
//     library errors by include/jobs/errors.h) is in FaultCode and in docs/http-api.md's Faults
//     table with the server's status, and the latter lists no fault the server lacks.
// Usage: node validate-doc.mjs [docs/openapi.yaml [docs/http-api.md]]
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Validator } from '@seriousme/openapi-schema-validator';

import { DEFAULT_DOC, DEFAULT_PROSE, METHODS, deref, faultCodes, isFaultSchema, loadDoc,
         makeAjv, operations, pointer } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const docPath = process.argv[2] || DEFAULT_DOC;
const prosePath = process.argv[3] || DEFAULT_PROSE;
const problems = [];
const problem = (where, msg) => problems.push(`${where}: ${msg}`);

const doc = loadDoc(docPath);

// ---- 1. the OpenAPI 3.1 schema ----------------------------------------------------------------
const oas = new Validator();
const result = await oas.validate(structuredClone(doc));
if (oas.version !== '3.1')
    problem(docPath, `expected an OpenAPI 3.1 document, found version ${oas.version}`);
if (!result.valid)
    problem(docPath, 'not a valid OpenAPI 3.1 document:\n' +
            JSON.stringify(result.errors, null, 2));

// ---- 2. every Schema Object ------------------------------------------------------------------
const { ajv, compile } = makeAjv(doc);
const schemaAt = [];   // pointers of every Schema Object that is not inside another one

function mediaSchemas(content, at) {
    for (const [type, media] of Object.entries(content || {}))
        if (media.schema)
            schemaAt.push(at.concat('content', type, 'schema'));
}
function headerSchemas(headers, at) {
    for (const [name, h] of Object.entries(headers || {}))
        if (!h.$ref && h.schema)
            schemaAt.push(at.concat('headers', name, 'schema'));
}
function paramSchemas(params, at) {
    (params || []).forEach((p, i) => {
        if (!p.$ref && p.schema)
            schemaAt.push(at.concat('parameters', i, 'schema'));
    });
}
const comp = doc.components || {};
for (const name of Object.keys(comp.schemas || {}))
    schemaAt.push(['components', 'schemas', name]);
for (const [name, p] of Object.entries(comp.parameters || {}))
    if (p.schema)
        schemaAt.push(['components', 'parameters', name, 'schema']);
for (const [name, h] of Object.entries(comp.headers || {}))
    if (h.schema)
        schemaAt.push(['components', 'headers', name, 'schema']);
for (const [name, r] of Object.entries(comp.responses || {})) {
    mediaSchemas(r.content, ['components', 'responses', name]);
    headerSchemas(r.headers, ['components', 'responses', name]);
}
for (const [path, item] of Object.entries(doc.paths || {})) {
    paramSchemas(item.parameters, ['paths', path]);
    for (const m of METHODS) {
        const op = item[m];
        if (!op)
            continue;
        const at = ['paths', path, m];
        paramSchemas(op.parameters, at);
        if (op.requestBody && !op.requestBody.$ref)
            mediaSchemas(op.requestBody.content, at.concat('requestBody'));
        for (const [status, r] of Object.entries(op.responses || {})) {
            if (r.$ref)
                continue;
            mediaSchemas(r.content, at.concat('responses', status));
            headerSchemas(r.headers, at.concat('responses', status));
        }
    }
}
for (const parts of schemaAt) {
    const ptr = pointer(...parts);
    let node = doc;
    for (const p of parts)
        node = node[p];
    if (!ajv.validateSchema(node))
        problem(ptr, 'not a valid JSON Schema 2020-12 schema: ' + ajv.errorsText(ajv.errors));
    try {
        compile(ptr);
    } catch (e) {
        problem(ptr, `Ajv (strict) cannot compile it: ${e.message}`);
    }
}

// ---- 3. the project's rules -----------------------------------------------------------------

// The fault table of FaultCode's description: code -> status.
const faultStatus = new Map();
const faultSchema = comp.schemas && comp.schemas.FaultCode;
if (!faultSchema) {
    problem('#/components/schemas', 'no FaultCode schema');
} else {
    for (const m of (faultSchema.description || '').matchAll(/^\|\s*(\d+)\s*\|.*\|\s*(\d{3})\s*\|\s*$/gm))
        faultStatus.set(Number(m[1]), Number(m[2]));
    const listed = [...faultStatus.keys()].sort((a, b) => a - b).join(',');
    const allowed = [...(faultSchema.enum || [])].sort((a, b) => a - b).join(',');
    if (listed !== allowed)
        problem('#/components/schemas/FaultCode',
                `the table in the description lists codes ${listed}, the enum ${allowed}`);
}

// docs/http-api.md: its Faults table and its Routes table.
const prose = readFileSync(prosePath, 'utf8');
function section(title) {
    const start = prose.search(new RegExp(`^## ${title}\\s*$`, 'm'));
    if (start < 0) {
        problem(prosePath, `no section '## ${title}'`);
        return '';
    }
    const rest = prose.slice(start + 3);
    const end = rest.search(/^## /m);
    return end < 0 ? rest : rest.slice(0, end);
}
const proseFaults = new Map();
for (const m of section('Faults').matchAll(/^\|\s*(\d+)\s*\|.*\|\s*(\d{3})\s*\|\s*$/gm))
    proseFaults.set(Number(m[1]), Number(m[2]));
for (const [code, status] of proseFaults)
    if (faultStatus.get(code) !== status)
        problem('#/components/schemas/FaultCode', `${prosePath} has fault ${code} with status ` +
                `${status}, the document ${faultStatus.get(code) ?? 'does not have it'}`);
for (const [code, status] of faultStatus)
    if (!proseFaults.has(code))
        problem('#/components/schemas/FaultCode',
                `fault ${code} (${status}) is not in the Faults table of ${prosePath}`);

// The server's own fault table (examples/server/faults.h, SRV_FAULT_MAP: name, number, status),
// whose numbers for library errors come from include/jobs/errors.h (JOBS_ERRNO_MAP): every fault
// the server can answer must be in the Faults table of the prose and in FaultCode, with the
// server's status, and every fault documented must be one the server has.
const serverFaults = new Map();
{
    const errorsPath = resolve(here, '../../include/jobs/errors.h');
    const faultsPath = resolve(here, '../../examples/server/faults.h');
    const libFault = new Map();
    const errors = readFileSync(errorsPath, 'utf8');
    for (const m of errors.matchAll(/X\((E[A-Z0-9_]+),\s*-\d+,\s*(\d+),/g))
        libFault.set(m[1], Number(m[2]));
    const faults = readFileSync(faultsPath, 'utf8');
    const map = faults.slice(faults.indexOf('#define SRV_FAULT_MAP'),
                             faults.indexOf('enum srv_fault {'));
    const entry = /X\(([A-Z0-9_]+),\s*(?:SRV_LIB_FAULT_(E[A-Z0-9_]+)|(\d+)),\s*(\d{3})\)/g;
    for (const m of map.matchAll(entry)) {
        const code = m[2] ? libFault.get(m[2]) : Number(m[3]);
        if (code === undefined)
            problem(faultsPath, `${m[1]} names library error ${m[2]}, which ${errorsPath} lacks`);
        else
            serverFaults.set(code, Number(m[4]));
    }
    if (libFault.size === 0 || serverFaults.size === 0)
        problem(faultsPath, 'cannot read the fault tables (JOBS_ERRNO_MAP, SRV_FAULT_MAP)');
    // A library error the server's table lacks is still answered (srv_fault_status: 500).
    for (const code of libFault.values())
        if (!serverFaults.has(code))
            serverFaults.set(code, 500);
    const says = (table, code) => (table.has(code) ? `says ${table.get(code)}` : 'lacks it');
    for (const [code, status] of serverFaults) {
        if (proseFaults.get(code) !== status)
            problem(prosePath, `the server answers fault ${code} with status ${status}, the ` +
                    `Faults table ${says(proseFaults, code)}`);
        if (faultStatus.get(code) !== status)
            problem('#/components/schemas/FaultCode', `the server answers fault ${code} with ` +
                    `status ${status}, FaultCode ${says(faultStatus, code)}`);
    }
    for (const code of proseFaults.keys())
        if (!serverFaults.has(code))
            problem(prosePath, `fault ${code} is in the Faults table, but the server has no ` +
                    'such fault');
}

const ops = operations(doc);
const opKey = (method, path) => `${method} ${path}`;
const byKey = new Map(ops.map(o => [opKey(o.method, o.path), o]));
const proseRoutes = new Set();
for (const m of section('Routes').matchAll(/^\|\s*`([A-Z]+) (\/[^`?\s]*)[^`]*`\s*\|\s*([a-z]+)\s*\|\s*(\d{3})/gm)) {
    const [, method, rawPath, auth, status] = m;
    const path = rawPath.replace(/<([a-z_]+)>/g, '{$1}');
    const key = opKey(method, path);
    proseRoutes.add(key);
    const o = byKey.get(key);
    if (!o) {
        problem(prosePath, `route ${key} is not in the document`);
        continue;
    }
    if (!o.op.responses || !o.op.responses[status])
        problem(o.at, `${prosePath} says ${key} answers ${status}; the document does not`);
    const sec = o.op.security || doc.security || [];
    const anonymous = sec.length === 0 || sec.some(r => Object.keys(r).length === 0);
    const onlyAnonymous = sec.length === 0;
    if (auth === 'no' && !onlyAnonymous)
        problem(o.at, `${prosePath} says ${key} needs no authentication; security is not []`);
    if (auth === 'yes' && anonymous)
        problem(o.at, `${prosePath} says ${key} needs authentication; security allows none`);
    if (auth === 'optional' && (!anonymous || onlyAnonymous))
        problem(o.at, `${prosePath} says authentication is optional for ${key}; security ` +
                'must list {} and the schemes');
}
// The operator routes: headings such as "### Health: `GET /healthz`" under Operations.
for (const m of section('Operations').matchAll(/^###[^\n`]*`([A-Z]+) (\/[^`?\s]*)`\s*$/gm)) {
    const key = opKey(m[1], m[2]);
    proseRoutes.add(key);
    const o = byKey.get(key);
    if (!o)
        problem(prosePath, `route ${key} (Operations) is not in the document`);
    else if ((o.op.security || doc.security || []).length !== 0)
        problem(o.at, `${prosePath} says the operator routes need no session; security is not []`);
}
// HEAD is GET without the body: a HEAD operation needs the GET beside it, with the same
// statuses and the same answers.
for (const o of ops.filter(o => o.method === 'HEAD')) {
    const get = byKey.get(opKey('GET', o.path));
    if (!get) {
        problem(o.at, 'a HEAD operation without a GET');
        continue;
    }
    if (JSON.stringify(o.op.responses) !== JSON.stringify(get.op.responses))
        problem(o.at, `its responses differ from those of GET ${o.path}`);
}
for (const o of ops)
    if (o.method !== 'HEAD' && !proseRoutes.has(opKey(o.method, o.path)))
        problem(o.at, `${o.method} ${o.path} is in neither the Routes table nor the Operations ` +
                `headings of ${prosePath}`);
if (proseRoutes.size === 0)
    problem(prosePath, 'found no routes in its Routes table');

// Operations: ids, tags, parameters, responses.
const tagNames = new Set((doc.tags || []).map(t => t.name));
const opIds = new Set();
for (const { path, method, op, item, at } of ops) {
    if (!op.operationId)
        problem(at, 'no operationId');
    else if (opIds.has(op.operationId))
        problem(at, `operationId ${op.operationId} is used twice`);
    opIds.add(op.operationId);
    if (!op.summary)
        problem(at, 'no summary');
    for (const t of op.tags || [])
        if (!tagNames.has(t))
            problem(at, `tag ${t} is not declared in the top-level tags`);

    const params = [...(item.parameters || []), ...(op.parameters || [])]
        .map(p => deref(doc, p)[0]);
    const pathParams = new Set(params.filter(p => p.in === 'path').map(p => p.name));
    const inTemplate = new Set([...path.matchAll(/\{([^}]+)\}/g)].map(m => m[1]));
    for (const name of inTemplate)
        if (!pathParams.has(name))
            problem(at, `path parameter {${name}} is not declared`);
    for (const p of params.filter(p => p.in === 'path')) {
        if (!inTemplate.has(p.name))
            problem(at, `path parameter ${p.name} is not in the path`);
        if (p.required !== true)
            problem(at, `path parameter ${p.name} must be required`);
    }

    const statuses = Object.keys(op.responses || {});
    if (!statuses.some(s => /^2\d\d$/.test(s)))
        problem(at, 'no success response');
    for (const status of statuses) {
        const rat = `${at}/responses/${status}`;
        if (!/^[1-5]\d\d$/.test(status)) {
            problem(rat, 'statuses are listed one by one (no ranges, no default)');
            continue;
        }
        const [resp] = deref(doc, op.responses[status]);
        const content = resp.content || {};
        if (Object.keys(content).length === 0)
            problem(rat, 'no content: every answer of jobs-server has a body');
        for (const [type, media] of Object.entries(content))
            if (!media.schema)
                problem(rat, `${type} has no schema`);
        const json = content['application/json'];
        const schema = json && json.schema;
        if (Number(status) >= 400 && /\bnot a fault\b/i.test(resp.description || '')) {
            if (isFaultSchema(schema))
                problem(rat, 'the description says it is not a fault, but its schema is Fault');
        } else if (Number(status) >= 400) {
            if (!isFaultSchema(schema)) {
                problem(rat, 'an error answer must be a Fault ($ref to #/components/schemas/Fault)');
                continue;
            }
            const codes = faultCodes(schema);
            if (!codes) {
                if (status !== '500')
                    problem(rat, `only 500 may carry any fault code; ${status} must list its codes`);
                continue;
            }
            for (const c of codes) {
                if (!faultStatus.has(c))
                    problem(rat, `fault ${c} is not in FaultCode`);
                if (!new RegExp(`(^|[^0-9])${c}:`).test(resp.description || ''))
                    problem(rat, `the description does not name fault ${c} ("${c}: ...")`);
                if (faultStatus.has(c) && faultStatus.get(c) !== Number(status))
                    problem(rat, `fault ${c} is answered with ${faultStatus.get(c)}, not ${status}`);
            }
        } else if (isFaultSchema(schema)) {
            problem(rat, 'a success answer cannot be a Fault');
        }
    }
}

// Each path's description names the methods of its `Allow` header: exactly its operations.
for (const [path, item] of Object.entries(doc.paths || {})) {
    const at = pointer('paths', path);
    const m = /`Allow: ([A-Z, ]+)`/.exec(item.description || '');
    const ops = METHODS.filter(x => item[x]).map(x => x.toUpperCase()).sort().join(', ');
    if (!m)
        problem(at, 'the description does not give the `Allow: ...` of its 405 answers');
    else if (m[1].split(', ').sort().join(', ') !== ops)
        problem(at, `the description says Allow: ${m[1]}, the operations are ${ops}`);
}

// Components that nothing uses are either meant for check-server (MethodNotAllowed, NoRoute:
// answers to requests outside the operations) or forgotten.
const text = JSON.stringify(doc);
for (const kind of ['schemas', 'parameters', 'headers', 'responses'])
    for (const name of Object.keys(comp[kind] || {}))
        if (!text.includes(`"#/components/${kind}/${name}"`) &&
            !(kind === 'responses' && ['MethodNotAllowed', 'NoRoute'].includes(name)))
            problem(`#/components/${kind}/${name}`, 'not used');

if (problems.length) {
    console.error(problems.map(p => 'validate-doc: ' + p).join('\n'));
    console.error(`validate-doc: ${docPath}: ${problems.length} problem(s)`);
    process.exit(1);
}
console.log(`validate-doc: ${docPath}: valid OpenAPI ${doc.openapi}; ${ops.length} operations, ` +
            `${schemaAt.length} schemas compiled in strict mode, ${proseRoutes.size} routes and ` +
            `${proseFaults.size} faults agree with ${prosePath}`);
