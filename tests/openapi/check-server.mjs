// Checks the real jobs-server against docs/openapi.yaml, in both directions.
//
// It starts the server (port 0, a temporary data directory, two users), then exercises every
// route with requests that provoke every answer the document lists, and validates each answer:
//   - its status is documented for the route and method (for a method the path does not have:
//     405 as components/responses/MethodNotAllowed, `Allow` naming exactly the path's
//     operations; for a path the document does not have: 404 as components/responses/NoRoute);
//   - its Content-Type is a documented media type, and the body matches that media type's
//     schema (JSON Schema 2020-12, Ajv in strict mode);
//   - every documented header that is required is there, every documented header that is
//     there matches its schema, and no header is there that the document does not name
//     (beyond Content-Type, Content-Length, Date, Cache-Control, X-Content-Type-Options and
//     Connection, which every answer may have: see info.description);
//   - request bodies: a body the server decoded must be valid against the operation's request
//     schema, and one it refused as not JSON or not right (faults 2, 4, 26) must be invalid;
//   - parameters (path, query, header): after a 2xx answer they must all be valid against their
//     schemas, after fault 1 (bad parameter) one of them must be invalid.
// A reason phrase other than RFC 9110's is printed as a note (OpenAPI does not describe them).
// Then the reverse: every status of every operation, every fault code a 4xx answer lists, and
// the 405 of every path must have been seen, or be in ALLOWED_UNSEEN below. A second server with
// --fault-status-500 provokes the 500 of every operation.
// Finally each server is stopped with SIGTERM and must exit 0; the data directories are removed.
//
// Usage: node check-server.mjs path/to/jobs-server [docs/openapi.yaml]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { DEFAULT_DOC, METHODS, deref, faultCodes, loadDoc, makeAjv, operations,
         pointer, pointerEncode } from './lib.mjs';

// Documented answers that a test cannot provoke, each with the reason. Keys are
// "METHOD /path STATUS" or "METHOD /path STATUS code N"; '*' matches any method or path.
const ALLOWED_UNSEEN = [
    // Storage full (fault 105): the LMDB map grows on demand up to the disk; filling a disk is
    // not something a unit test may do.
    ['* * 507', 'storage full cannot be provoked'],
    ['* * 507 code 105', 'storage full cannot be provoked'],
    // An unhealthy server: the store cannot be read, or the scheduler thread has not come round
    // its loop for max(3 x tick-interval, 5 s). Neither can be brought about from outside.
    ['GET /healthz 503', 'a failing store or a stalled scheduler cannot be provoked'],
    ['HEAD /healthz 503', 'a failing store or a stalled scheduler cannot be provoked'],
    // Every password check taken (fault 113) needs a flood of logins at once, and the quotas
    // (fault 112) are 1,000 and more by default: both are provoked in tests/http/test_auth.c.
    ['POST /authenticate 503', 'a login flood; tests/http/test_auth.c'],
    ['POST /authenticate 503 code 113', 'a login flood; tests/http/test_auth.c'],
    ['POST /jobs 403', 'quota; tests/http/test_auth.c'],
    ['POST /jobs 403 code 112', 'quota; tests/http/test_auth.c'],
    ['POST /schedules 403', 'quota; tests/http/test_auth.c'],
    ['POST /schedules 403 code 112', 'quota; tests/http/test_auth.c'],
    ['POST /blockstacks 403', 'quota; tests/http/test_auth.c'],
    ['POST /blockstacks 403 code 112', 'quota; tests/http/test_auth.c'],
    // Webhooks: this server runs no command, so no hook request ever waits (429); provoked in
    // tests/http/test_http_hooks.c.
    ['* /blockstacks/hook/{id} 429', 'no runner here; tests/http/test_http_hooks.c'],
    ['* /blockstacks/hook/{id} 429 code 134', 'no runner here; tests/http/test_http_hooks.c'],
    ['GET /blockstacks/exec/{id} 429', 'no runner here; shares the hooks\' bounds'],
    ['GET /blockstacks/exec/{id} 429 code 134', 'no runner here; shares the hooks\' bounds'],
];

// Headers every answer may carry without the document naming them per response (the
// document's info.description says so for Date, Cache-Control and X-Content-Type-Options; the
// others are HTTP framing).
const FRAMING_HEADERS = new Set(['content-type', 'content-length', 'date', 'cache-control',
                                 'x-content-type-options', 'connection']);

// Answers after which a request body was decoded (so the document's request schema must accept
// it), and the faults that mean the body was refused (so the schema must refuse it too).
const DECODED_FAULTS = new Set([3, 6, 10, 12, 24, 25, 27, 104, 107, 109, 110]);
const BODY_FAULTS = new Set([2, 4, 26]);

const REASONS = { 200: 'OK', 201: 'Created', 202: 'Accepted', 400: 'Bad Request', 401: 'Unauthorized',
                  404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
                  412: 'Precondition Failed', 413: 'Content Too Large', 422: 'Unprocessable Content',
                  429: 'Too Many Requests', 500: 'Internal Server Error',
                  507: 'Insufficient Storage' };

const serverBin = process.argv[2];
const docPath = process.argv[3] || DEFAULT_DOC;
if (!serverBin) {
    console.error('usage: node check-server.mjs path/to/jobs-server [docs/openapi.yaml]');
    process.exit(2);
}

const doc = loadDoc(docPath);
const { compile, errorsText } = makeAjv(doc);
const failures = [];
const notes = new Set();
const seen = new Set();
let requests = 0;

function fail(msg) {
    failures.push(msg);
    console.error('check-server: FAIL ' + msg);
}

// ---- the server -------------------------------------------------------------------------------

const servers = [];

function addUser(dir, name, password, email) {
    const args = ['user', 'add', name, '--data', dir];
    if (email)
        args.push('--email', email);
    const r = spawnSync(serverBin, args, { input: password + '\n', encoding: 'utf8' });
    if (r.status !== 0)
        throw new Error(`jobs-server user add ${name}: exit ${r.status}: ${r.stderr}`);
}

function startServer(dir, extra = []) {
    return new Promise((resolve, reject) => {
        const child = spawn(serverBin, ['--listen', '127.0.0.1:0', '--data', dir, ...extra],
                            { stdio: ['ignore', 'pipe', 'pipe'] });
        const s = { child, dir, port: 0, stderr: '', exited: null };
        servers.push(s);
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', d => { s.stderr += d; });
        const timer = setTimeout(() => reject(new Error('jobs-server did not say where it ' +
                                                        'listens within 60 s\n' + s.stderr)), 60000);
        child.on('exit', (code, signal) => {
            s.exited = { code, signal };
            clearTimeout(timer);
            reject(new Error(`jobs-server exited (${code ?? signal}) before listening\n` + s.stderr));
        });
        createInterface({ input: child.stdout }).on('line', line => {
            const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(line);
            if (m && !s.port) {
                s.port = Number(m[1]);
                clearTimeout(timer);
                resolve(s);
            }
        });
    });
}

async function stopServer(s) {
    if (!s.exited) {
        const done = new Promise(r => s.child.once('exit', (code, signal) => r({ code, signal })));
        s.child.kill('SIGTERM');
        let timer;
        const timeout = new Promise(r => { timer = setTimeout(() => r(null), 30000); });
        const how = await Promise.race([done, timeout]);
        clearTimeout(timer);
        if (!how) {
            s.child.kill('SIGKILL');
            fail(`jobs-server did not stop within 30 s of SIGTERM`);
            await done;
        } else if (how.code !== 0) {
            fail(`jobs-server exited with ${how.code ?? how.signal} after SIGTERM\n${s.stderr}`);
        }
        s.exited = how || { code: null, signal: 'SIGKILL' };
    }
    rmSync(s.dir, { recursive: true, force: true });
}

// ---- HTTP, by hand (so that framing can be broken on purpose) ---------------------------------

// Sends `head` (the request line and header lines, without the blank line) and `body`; reads
// until the server closes (every request says Connection: close).
function exchange(port, head, body) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        const sock = net.connect(port, '127.0.0.1');
        sock.setTimeout(60000, () => sock.destroy(new Error('no answer within 60 s')));
        sock.on('connect', () => {
            sock.write(head + '\r\n\r\n');
            if (body && body.length)
                sock.write(body);
        });
        sock.on('data', d => chunks.push(d));
        sock.on('error', reject);
        sock.on('close', () => resolve(Buffer.concat(chunks)));
    });
}

function parseAnswer(raw, isHead) {
    const end = raw.indexOf('\r\n\r\n');
    if (end < 0)
        throw new Error(`no complete answer: ${JSON.stringify(raw.toString('latin1'))}`);
    const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(lines[0]);
    if (!m)
        throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const headers = lines.slice(1).map(l => {
        const i = l.indexOf(':');
        return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
    const body = isHead ? Buffer.alloc(0) : raw.subarray(end + 4);
    return {
        status: Number(m[1]), reason: m[2], headers, body,
        get(name) {
            const h = headers.filter(([k]) => k.toLowerCase() === name.toLowerCase());
            return h.length ? h.map(([, v]) => v).join(', ') : undefined;
        },
        count(name) {
            return headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).length;
        },
    };
}

// Path templates of the document, literal ones first (OpenAPI: concrete paths win).
// `re` matches as OpenAPI does (a parameter is never empty); `capture` takes the parameters'
// raw values, empty ones included.
function templateRe(t, param) {
    return new RegExp('^' + t.split(/\{[^}]+\}/).map(s => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
        .join(param) + '$');
}
const templates = Object.keys(doc.paths).map(t => ({
    t, params: (t.match(/\{/g) || []).length, re: templateRe(t, '[^/]+'),
    names: [...t.matchAll(/\{([^}]+)\}/g)].map(m => m[1]), capture: templateRe(t, '([^/]*)'),
})).sort((a, b) => a.params - b.params);

function template(path) {
    const m = templates.find(x => x.re.test(path));
    return m ? m.t : null;
}

function record(key) {
    seen.add(key);
}

// One request and the check of its answer against the document. Options: auth ({token, via:
// 'cookie'|'bearer'}), headers ([[name, value], ...]), body (string), rawHead (extra header
// lines, sent as they are, instead of a Content-Length for the body), storedOnce (a schedule
// update whose config is refused by the stored schedule, not by the document's schema; also a
// cron expression or zone that the schema's strings admit and the library refuses), as (the
// path template the request is meant for, where the path alone does not match it).
// `want` is the status the scenario means to provoke, `wantCode` the fault code; a different
// answer is a failure too (the scenario no longer tests what it says).
async function call(server, method, target, opts, want, wantCode) {
    const { auth, headers = [], body, rawHead = [], storedOnce = false, as } = opts || {};
    const head = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${server.port}`,
                  'Connection: close'];
    if (auth && auth.via === 'cookie')
        head.push(`Cookie: theme=dark; auth_tkt=${auth.token}`);
    else if (auth)
        head.push(`Authorization: Bearer ${auth.token}`);
    for (const [k, v] of headers)
        head.push(`${k}: ${v}`);
    const payload = body === undefined ? null : Buffer.from(body, 'utf8');
    if (payload)
        head.push('Content-Type: application/json', `Content-Length: ${payload.length}`);
    head.push(...rawHead);
    requests++;
    const short = t => (t.length > 80 ? t.slice(0, 77) + '...' : t);
    const where = `${method} ${target}` +
        (headers.length ? ` [${headers.map(([k, v]) => short(`${k}: ${v}`)).join(', ')}]` : '') +
        (body !== undefined ? ` ${short(body)}` : '');
    let res;
    try {
        res = parseAnswer(await exchange(server.port, head.join('\r\n'), payload), method === 'HEAD');
    } catch (e) {
        fail(`${where}: ${e.message}`);
        return {};
    }
    const json = checkAnswer(where, method, target, res, as);
    if (want && res.status !== want)
        fail(`${where}: expected ${want}, got ${res.status} ${res.body.toString('utf8')}`);
    else if (wantCode !== undefined && method !== 'HEAD' && (!json || json.code !== wantCode))
        fail(`${where}: expected fault ${wantCode}, got ${res.status} ${res.body.toString('utf8')}`);
    if (payload)
        checkRequestBody(where, method, target, body, res, json, storedOnce);
    checkParameters(where, method, target, as, [...head.slice(1), ...rawHead], res, json);
    return { res, json };
}

// The answer of `method target` against the document; returns the parsed body (or null).
function checkAnswer(where, method, target, res, as) {
    const path = target.split('?')[0];
    const tpl = as || template(path);
    const item = tpl && doc.paths[tpl];
    const op = item && METHODS.includes(method.toLowerCase()) && item[method.toLowerCase()];
    let response, at, key;

    if (REASONS[res.status] && res.reason !== REASONS[res.status])
        notes.add(`status ${res.status} is sent with the reason phrase "${res.reason}" ` +
                  `(RFC 9110: "${REASONS[res.status]}")`);
    if (!tpl) {
        [response, at] = deref(doc, { $ref: '#/components/responses/NoRoute' });
        key = null;
        if (res.status !== 404 && res.status !== 500)
            fail(`${where}: a path the document does not have answered ${res.status}, not 404`);
    } else if (!op) {
        [response, at] = deref(doc, { $ref: '#/components/responses/MethodNotAllowed' });
        key = `OTHER ${tpl} ${res.status}`;
        if (res.status !== 405) {
            fail(`${where}: ${method} is not an operation of ${tpl}, but the answer is ` +
                 `${res.status}, not 405`);
        } else {
            const allow = (res.get('Allow') || '').split(/,\s*/).sort().join(', ');
            const ops = METHODS.filter(m => item[m]).map(m => m.toUpperCase()).sort().join(', ');
            if (allow !== ops)
                fail(`${where}: Allow: ${res.get('Allow')}, but the document's operations of ` +
                     `${tpl} are ${ops}`);
        }
    } else {
        key = `${method} ${tpl} ${res.status}`;
        const documented = op.responses[String(res.status)];
        if (!documented) {
            fail(`${where}: status ${res.status} is not documented for ${method} ${tpl} ` +
                 `(body ${res.body.toString('utf8')})`);
            return null;
        }
        [response, at] = deref(doc, documented, pointer('paths', tpl, method.toLowerCase(),
                                                        'responses', String(res.status)));
    }
    if (key)
        record(key);

    // Content-Type and body. A documented media type matches when its type is the answer's and
    // every parameter it names (`; charset=utf-8`) is the answer's too.
    const mediaParts = t => t.split(';').map(x => x.trim().toLowerCase()).filter(Boolean);
    const actual = mediaParts(res.get('Content-Type') || '');
    const type = Object.keys(response.content || {}).find(k => {
        const want = mediaParts(k);
        return want[0] === actual[0] && want.slice(1).every(p => actual.includes(p));
    });
    const media = type && response.content[type];
    let json = null;
    if (!media) {
        fail(`${where}: Content-Type ${res.get('Content-Type')} is not documented ` +
             `(documented: ${Object.keys(response.content || {}).join(', ')})`);
    } else if (method !== 'HEAD') {
        const text = res.body.toString('utf8');
        const isJson = actual[0] === 'application/json';
        if (res.get('Content-Length') !== String(res.body.length))
            fail(`${where}: Content-Length ${res.get('Content-Length')}, body ${res.body.length} bytes`);
        let value = text;
        if (isJson) {
            try {
                value = json = JSON.parse(text);
            } catch (e) {
                fail(`${where}: the body is not JSON: ${text}`);
                value = undefined;
            }
        }
        if (value !== undefined && media.schema) {
            const sat = `${at}/content/${pointerEncode(type)}/schema`;
            const v = compile(sat);
            if (!v(value))
                fail(`${where}: ${res.status} body ${text.length > 300 ? text.slice(0, 297) + '...' : text} ` +
                     `does not match ${sat}: ${errorsText(v.errors)}`);
        }
        if (key && json && typeof json.code === 'number' && res.status >= 400)
            record(`${key} code ${json.code}`);
    }

    // Headers.
    const documentedHeaders = new Set();
    for (const [name, h] of Object.entries(response.headers || {})) {
        const [header, hat] = deref(doc, h, `${at}/headers/${pointerEncode(name)}`);
        documentedHeaders.add(name.toLowerCase());
        const value = res.get(name);
        if (value === undefined) {
            if (header.required)
                fail(`${where}: ${res.status} has no ${name} header, which the document requires`);
            continue;
        }
        if (res.count(name) > 1)
            fail(`${where}: ${name} is sent ${res.count(name)} times`);
        const v = compile(`${hat}/schema`);
        if (!v(value))
            fail(`${where}: ${name}: ${value} does not match ${hat}/schema: ${errorsText(v.errors)}`);
    }
    for (const [name] of res.headers)
        if (!FRAMING_HEADERS.has(name.toLowerCase()) && !documentedHeaders.has(name.toLowerCase()))
            fail(`${where}: ${res.status} has a header the document does not name for it: ${name}`);
    if (res.get('Cache-Control') !== 'no-store')
        fail(`${where}: Cache-Control is ${res.get('Cache-Control')}, not no-store`);
    if (res.get('X-Content-Type-Options') !== 'nosniff')
        fail(`${where}: X-Content-Type-Options is ${res.get('X-Content-Type-Options')}, not nosniff`);
    if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/.test(res.get('Date') ?? ''))
        fail(`${where}: Date is ${res.get('Date')}, not an IMF-fixdate`);
    return json;
}

// Percent-decoding as jobs-server does it (`+` stays `+`); null for a malformed escape.
function percentDecode(s) {
    if (/%(?![0-9a-fA-F]{2})/.test(s))
        return null;
    const bytes = [];
    for (let i = 0; i < s.length; i++) {
        if (s[i] === '%') {
            bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
            i += 2;
        } else {
            bytes.push(...Buffer.from(s[i], 'utf8'));
        }
    }
    const text = Buffer.from(bytes).toString('utf8');
    return Buffer.from(text, 'utf8').equals(Buffer.from(bytes)) ? text : null;
}

// A parameter's value as its schema sees it: path and query values are strings in the
// request; an integer schema takes decimal digits (with a sign) as a number, anything else
// stays a string (and fails `type: integer`).
function paramValue(schema, raw) {
    if (schema && schema.type === 'integer' && /^-?[0-9]+$/.test(raw))
        return Number(raw);
    return raw;
}

// The request's parameters against the operation's documented ones, judged by what the server
// did: an answer of 2xx means every parameter was valid, fault 1 (bad parameter) that one was
// not. A query parameter given twice is invalid (the Page and PageSize descriptions say so).
function checkParameters(where, method, target, as, headLines, res, json) {
    const [path, query = ''] = target.split(/\?(.*)/s);
    const tpl = as || template(path);
    const item = tpl && doc.paths[tpl];
    const op = item && METHODS.includes(method.toLowerCase()) && item[method.toLowerCase()];
    if (!op || !res)
        return;
    const t = templates.find(x => x.t === tpl);
    const m = t.capture.exec(path);
    const values = { path: new Map(), query: new Map(), header: new Map() };
    t.names.forEach((n, i) => values.path.set(n, [m ? m[i + 1] : '']));
    for (const pair of query.split('&').filter(Boolean)) {
        const i = pair.indexOf('=');
        const k = i < 0 ? pair : pair.slice(0, i);
        const v = i < 0 ? null : percentDecode(pair.slice(i + 1));
        values.query.set(k, [...(values.query.get(k) || []), v]);
    }
    for (const line of headLines) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim().toLowerCase();
        values.header.set(k, [...(values.header.get(k) || []), line.slice(i + 1).trim()]);
    }
    const invalid = [];
    const declared = [...(item.parameters || []).map((p, i) => [p, pointer('paths', tpl, 'parameters', i)]),
                      ...(op.parameters || []).map((p, i) => [p, pointer('paths', tpl, method.toLowerCase(), 'parameters', i)])];
    for (const [p0, at0] of declared) {
        const [p, at] = deref(doc, p0, at0);
        const key = p.in === 'header' ? p.name.toLowerCase() : p.name;
        const given = (values[p.in] && values[p.in].get(key)) || [];
        if (given.length === 0) {
            if (p.required)
                invalid.push(`${p.name} is missing`);
            continue;
        }
        if (given.length > 1) {
            invalid.push(`${p.name} is given ${given.length} times`);
            continue;
        }
        let raw = given[0];
        if (p.in === 'path' && p.name === 'name')
            raw = percentDecode(raw);
        if (raw === null) {
            invalid.push(`${p.name} has a malformed percent-escape`);
            continue;
        }
        const v = compile(`${at}/schema`);
        if (!v(paramValue(p.schema && deref(doc, p.schema)[0], raw)))
            invalid.push(`${p.name} ${JSON.stringify(raw)}: ${errorsText(v.errors)}`);
    }
    if (res.status < 300 && invalid.length)
        fail(`${where}: the server took these parameters (${res.status}), but the document ` +
             `refuses them: ${invalid.join('; ')}`);
    if (json && json.code === 1 && !invalid.length)
        fail(`${where}: the server refused a parameter (fault 1), but the document accepts them all`);
}

// The request body against the operation's request schema, judged by what the server did.
function checkRequestBody(where, method, target, body, res, json, storedOnce) {
    const tpl = template(target.split('?')[0]);
    const op = tpl && doc.paths[tpl][method.toLowerCase()];
    if (!op || !op.requestBody)
        return;
    const [rb, rbAt] = deref(doc, op.requestBody,
                             pointer('paths', tpl, method.toLowerCase(), 'requestBody'));
    if (!rb.content || !rb.content['application/json'])
        return;
    let parsed, isJson = true;
    try {
        parsed = JSON.parse(body);
    } catch {
        isJson = false;
    }
    const v = compile(`${rbAt}/content/application~1json/schema`);
    const valid = isJson && v(parsed);
    const code = json && json.code;
    const decoded = res.status < 300 || (res.status >= 400 && DECODED_FAULTS.has(code));
    const refused = res.status === 400 && BODY_FAULTS.has(code);
    if (decoded && !valid)
        fail(`${where}: the server took this body (${res.status}${code ? ' fault ' + code : ''}), ` +
             `but the document's request schema refuses it: ` +
             (isJson ? errorsText(v.errors) : 'not JSON'));
    if (refused && valid && !(storedOnce && code === 26))
        fail(`${where}: the server refused this body (fault ${code}), but the document's ` +
             `request schema accepts it`);
    if (refused && code === 2 && isJson)
        fail(`${where}: fault 2 (not JSON) for a body that JSON.parse accepts`);
}

// ---- the scenario -----------------------------------------------------------------------------

const PW = { alice: 'alice-password-1', bob: 'bob-password-2' };
const now = Math.floor(Date.now() / 1000);
const future = now + 10 * 365 * 86400;
const J = JSON.stringify;

async function login(s, body, via) {
    const { res, json } = await call(s, 'POST', '/authenticate', { body: J(body) }, 200);
    const m = /auth_tkt=([0-9a-f]+)/.exec((res && res.get('Set-Cookie')) || '');
    if (!m)
        throw new Error(`no session from ${J(body)}`);
    return { token: m[1], via, user: json.user_id };
}

async function created(s, path, auth, body, headers) {
    const { res, json } = await call(s, 'POST', path, { auth, body: J(body), headers }, 201);
    if (!json || !json.id)
        throw new Error(`POST ${path} ${J(body)}: no id`);
    if (res.get('Location') !== `${path}/byid/${json.id}`)
        fail(`POST ${path}: Location ${res.get('Location')} is not ${path}/byid/${json.id}`);
    return json.id;
}

async function scenario(s) {
    // ---- POST /authenticate, POST /logout
    const A = await login(s, { username: 'alice', password: PW.alice }, 'cookie');
    const B = await login(s, { email: 'bob@example.org', password: PW.bob }, 'bearer');
    await login(s, { username: 'alice', email: 'bob@example.org', password: PW.alice }, 'bearer');
    for (const body of ['{"username":"alice",', '', 'username=alice&password=x', '{"username":"alice"}x'])
        await call(s, 'POST', '/authenticate', { body }, 400, 2);
    for (const body of [{ username: 'alice' }, { password: 'x' }, { username: '', password: 'x' },
                        { username: 'alice', password: '' }, { username: 'alice', password: 5 },
                        { username: 'alice', password: 'x', remember: true }, [],
                        { username: 'a'.repeat(256), password: 'x' },
                        { username: 'alice', password: 'p'.repeat(1025) },
                        { username: 'alice', password: 'x\u0000y' }, { email: '\u0000', password: 'x' }])
        await call(s, 'POST', '/authenticate', { body: J(body) }, 400, 4);
    await call(s, 'POST', '/authenticate', { body: J({ username: 'alice', password: 'wrong' }) }, 401, 3);
    // A browser's login (Origin) without X-Requested-With: 403, fault 140 (login CSRF).
    await call(s, 'POST', '/authenticate', { headers: [['Origin', 'http://evil.example']],
                                             body: J({ username: 'alice', password: PW.alice }) }, 403, 140);
    await call(s, 'POST', '/authenticate', { body: J({ email: 'nobody@example.org', password: 'x' }) }, 401, 3);
    for (let i = 0; i < 5; i++)
        await call(s, 'POST', '/authenticate', { body: J({ username: 'mallory', password: 'guess' + i }) }, 401, 3);
    await call(s, 'POST', '/authenticate', { body: J({ username: 'mallory', password: 'guess' }) }, 429, 107);

    const A2 = await login(s, { username: 'alice', password: PW.alice }, 'bearer');
    await call(s, 'POST', '/logout', { auth: A2 }, 200);
    await call(s, 'POST', '/logout', { auth: A2 }, 401, 100);
    await call(s, 'GET', '/jobs', { auth: A2 }, 401, 100);
    await call(s, 'POST', '/logout', {}, 401, 100);
    await call(s, 'POST', '/logout', { auth: { token: 'f'.repeat(64), via: 'cookie' } }, 401, 100);

    // ---- stacks
    const sA = await created(s, '/blockstacks', A, { name: 'backup' });
    const sBpub = await created(s, '/blockstacks', B, { name: 'shared', public: true });
    const sBpriv = await created(s, '/blockstacks', B, { name: 'bob only', public: false });
    // Idempotency-Key is not taken here: a repeat is another create, which the name rule refuses
    // (fault 10: stack names are unique per owner), without a replay header.
    await created(s, '/blockstacks', A, { name: 'twice' }, [['Idempotency-Key', 'stack-1']]);
    await call(s, 'POST', '/blockstacks', { auth: A, body: J({ name: 'twice' }), headers: [['Idempotency-Key', 'stack-1']] }, 409, 10);
    await call(s, 'POST', '/blockstacks', { auth: A, body: '{"name":"x"' }, 400, 2);
    for (const body of [{}, { name: '' }, { name: 'a\u0001b' }, { name: 'del\u007f' },
                        { name: 'x'.repeat(256) }, { name: 'x', public: 'yes' },
                        { name: 'x', owner: 1 }, { name: null }, { name: 5 }, ['x']])
        await call(s, 'POST', '/blockstacks', { auth: A, body: J(body) }, 400, 4);
    await created(s, '/blockstacks', A, { name: 'x'.repeat(255) });
    await created(s, '/blockstacks', A, { name: 'ünïcödé ✓' });
    await call(s, 'POST', '/blockstacks', { body: J({ name: 'x' }) }, 401, 100);

    await call(s, 'GET', '/blockstacks', { auth: A }, 200);
    await call(s, 'GET', '/blockstacks?page=2&pagesize=1', { auth: A }, 200);
    await call(s, 'GET', '/blockstacks?pagesize=100', { auth: B }, 200);
    await call(s, 'GET', '/blockstacks?page=9007199254740991', { auth: A }, 200);
    for (const q of ['page=0', 'page=abc', 'page=-1', 'page=1.5', 'pagesize=0', 'pagesize=101',
                     'page=1&page=1', 'page=9007199254740992', 'page=', 'pagesize=1&pagesize=2'])
        await call(s, 'GET', `/blockstacks?${q}`, { auth: A }, 400, 1);
    // Without a session: the public stacks; a stack that is not public is 403 (fault 116).
    await call(s, 'GET', '/blockstacks', {}, 200);
    const twoIds = { auth: { token: A.token, via: 'bearer' }, headers: [['Cookie', `auth_tkt=${B.token}`]] };
    await call(s, 'GET', '/blockstacks', twoIds, 401, 100);
    await call(s, 'GET', `/blockstacks/byid/${sA}`, twoIds, 401, 100);
    await call(s, 'GET', `/blockstacks/byid/${sBpub}`, {}, 200);
    await call(s, 'GET', `/blockstacks/byid/${sBpriv}`, {}, 403, 116);
    await call(s, 'GET', '/blockstacks/byid/999999', {}, 403, 116);
    await call(s, 'GET', '/blockstacks/byname/backup', { auth: A }, 200);
    await call(s, 'GET', '/blockstacks/byname/shared', {}, 200);
    await call(s, 'GET', '/blockstacks/byname/bob%20only', {}, 403, 116);
    await call(s, 'GET', '/blockstacks/byname/bob%20only', { auth: A }, 404, 6);
    await call(s, 'GET', '/blockstacks/byname/%zz', { auth: A }, 400, 1);
    await call(s, 'GET', '/blockstacks/byname/backup', twoIds, 401, 100);
    const sFull = await created(s, '/blockstacks', A, { name: 'kragle', blocks: [['Post', { x: 1 }], { id: 1 }],
        needs_approval: true, webhook: 'token', webhook_method: 'POST', schedule_id: 4, enabled: true });
    await call(s, 'GET', `/blockstacks/byid/${sFull}`, { auth: A }, 200);
    await call(s, 'GET', `/blockstacks/byid/${sFull}`, { auth: B }, 404, 6);
    await call(s, 'POST', '/blockstacks', { auth: A, body: J({ name: 'no job', blocks: [], schedule_id: 999999 }) }, 400, 25);
    for (const body of [{ name: 'b', blocks: [1] }, { name: 'b', blocks: {} }, { name: 'b', webhook: 'none' },
                        { name: 'b', webhook_method: 'get' }, { name: 'b', needs_approval: 1 }])
        await call(s, 'POST', '/blockstacks', { auth: A, body: J(body) }, 400, 4);
    await call(s, 'PUT', `/blockstacks/${sFull}`, { auth: A, body: J({ public: true, webhook: null }) }, 200);
    await call(s, 'PUT', `/blockstacks/${sFull}`, { auth: A, body: J({}) }, 200);
    await call(s, 'PUT', `/blockstacks/${sFull}`, { auth: A, body: J({ name: 'backup' }) }, 409, 10);
    await call(s, 'PUT', `/blockstacks/${sFull}`, { auth: B, body: J({ name: 'mine now' }) }, 404, 6);
    await call(s, 'PUT', `/blockstacks/${sFull}`, { body: J({ name: 'mine now' }) }, 401, 100);
    await call(s, 'PUT', '/blockstacks/x', { auth: A, body: J({}) }, 400, 1);
    await call(s, 'PUT', `/blockstacks/${sFull}`, { auth: A, body: '{"name":' }, 400, 2);
    await call(s, 'PUT', `/blockstacks/${sFull}`, { auth: A, body: J({ schedule_id: 4 }) }, 400, 4);
    await call(s, 'GET', `/blockstacks/byid/${sA}`, { auth: A }, 200);
    await call(s, 'GET', `/blockstacks/byid/${sBpub}`, { auth: A }, 200);
    await call(s, 'GET', `/blockstacks/byid/${sBpriv}`, { auth: A }, 404, 6);
    await call(s, 'GET', '/blockstacks/byid/999999', { auth: A }, 404, 6);
    for (const id of ['x', '0', '-1', '9007199254740992', '1.0', '%31'])
        await call(s, 'GET', `/blockstacks/byid/${id}`, { auth: A }, 400, 1);
    await call(s, 'GET', `/blockstacks/byid/${sA}`, {}, 403, 116);

    // ---- schedules
    await call(s, 'GET', '/schedules', {}, 200);
    await call(s, 'GET', '/schedules', { auth: { token: '0'.repeat(64), via: 'bearer' } }, 200);
    await call(s, 'GET', '/schedules', { auth: A2 }, 200);
    const scA = await created(s, '/schedules', A, { name: 'every 2 min', config: { period: 120 } });
    const scOnce = await created(s, '/schedules', A, { name: 'new year', once: true, config: { timestamp: future } });
    const scB = await created(s, '/schedules', B, { config: { period: 3600 } });
    await created(s, '/schedules', A, { name: null, once: false, config: { period: 31536000 } });
    await created(s, '/schedules', A, { config: { period: 60 } });
    const idemBody = { name: 'idempotent', config: { period: 600 } };
    const scI = await created(s, '/schedules', A, idemBody, [['Idempotency-Key', 'sched-key-1']]);
    const replay = await call(s, 'POST', '/schedules', { auth: A, body: J(idemBody),
                                                        headers: [['Idempotency-Key', 'sched-key-1']] }, 201);
    if (!replay.res || replay.res.get('Idempotent-Replayed') !== 'true' || replay.json.id !== scI)
        fail('POST /schedules: a repeat with the same Idempotency-Key and body was not replayed');
    await call(s, 'POST', '/schedules', { auth: A, body: J({ ...idemBody, name: 'other' }),
                                          headers: [['Idempotency-Key', 'sched-key-1']] }, 422, 110);
    for (const key of ['has space', 'k'.repeat(256)])
        await call(s, 'POST', '/schedules', { auth: A, body: J(idemBody), headers: [['Idempotency-Key', key]] }, 400, 1);
    await call(s, 'POST', '/schedules', { auth: A, body: '{"config":' }, 400, 2);
    for (const body of [{ config: { period: 60 }, x: 1 }, { once: 'true', config: { period: 60 } },
                        { name: 5, config: { period: 60 } }, {}, { name: '', config: { period: 60 } },
                        { name: 'tab\there', config: { period: 60 } }])
        await call(s, 'POST', '/schedules', { auth: A, body: J(body) }, 400, 4);
    // Cron schedules: created, answered; refused shapes are schema-invalid, a refused expression
    // or zone is a string the schema cannot judge.
    const scCron = await created(s, '/schedules', A, { name: 'nightly', once: false, config: { cron: '30 2 * * *', tz: 'Europe/Berlin' } });
    await created(s, '/schedules', A, { config: { cron: '@hourly' } });
    await call(s, 'GET', `/schedules/byid/${scCron}`, { auth: A }, 200);
    for (const body of [{ config: { cron: '30 25 * * *' } }, { config: { cron: '*/0 * * * *' } },
                        { config: { cron: '0 9 * * *', tz: '../etc/passwd' } },
                        { config: { cron: '0 9 * * *', tz: 'Mars/Olympus_Mons' } }])
        await call(s, 'POST', '/schedules', { auth: A, body: J(body), storedOnce: true }, 400, 26);
    for (const body of [{ config: { cron: '0 9 * * *', period: 60 } }, { once: true, config: { cron: '0 9 * * *' } },
                        { config: { tz: 'UTC' } }, { config: { cron: 5 } }, { config: { cron: 'x'.repeat(256) } }])
        await call(s, 'POST', '/schedules', { auth: A, body: J(body) }, 400, 26);
    await call(s, 'PUT', `/schedules/${scCron}`, { auth: A, body: J({ config: { cron: '0 9 * * mon', tz: 'America/New_York' } }) }, 200);
    for (const body of [{ config: { period: 59 } }, { config: { period: 31536001 } },
                        { config: { timestamp: future } }, { once: true, config: { period: 60 } },
                        { config: {} }, { config: { period: 60, timestamp: future } },
                        { config: { period: '60' } }, { config: { period: 60.5 } }, { config: 5 },
                        { once: true, config: { timestamp: 0 } }, { config: { every: 60 } }])
        await call(s, 'POST', '/schedules', { auth: A, body: J(body) }, 400, 26);
    await call(s, 'POST', '/schedules', { body: J(idemBody) }, 401, 100);

    await call(s, 'GET', '/schedules?pagesize=3&page=2', {}, 200);
    await call(s, 'GET', '/schedules', { auth: A }, 200);
    await call(s, 'GET', '/schedules?page=0', {}, 400, 1);
    await call(s, 'GET', '/schedules?pagesize=abc', { auth: A }, 400, 1);
    await call(s, 'GET', '/schedules/byid/1', {}, 200);
    await call(s, 'GET', `/schedules/byid/${scA}`, { auth: A }, 200);
    await call(s, 'GET', `/schedules/byid/${scOnce}`, { auth: A }, 200);
    await call(s, 'GET', `/schedules/byid/${scA}`, {}, 404, 6);
    await call(s, 'GET', `/schedules/byid/${scA}`, { auth: B }, 404, 6);
    await call(s, 'GET', '/schedules/byid/999999', {}, 404, 6);
    await call(s, 'GET', '/schedules/byid/x', {}, 400, 1);

    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J({ name: 'every two minutes' }) }, 200);
    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J({ config: { period: 180 } }) }, 200);
    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J({ once: true, config: { timestamp: future } }) }, 200);
    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J({ config: { period: 120 } }), storedOnce: true }, 400, 26);
    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J({ once: false, config: { period: 120 } }) }, 200);
    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J({ config: { timestamp: future } }), storedOnce: true }, 400, 26);
    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: '{}' }, 200);
    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J({ name: null }) }, 200);
    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: '{"name":' }, 400, 2);
    for (const body of [{ name: '' }, { foo: 1 }, { once: 1 }, { name: 'x'.repeat(256) }])
        await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J(body) }, 400, 4);
    for (const body of [{ config: { period: 1 } }, { once: true, config: { period: 60 } },
                        { once: false, config: { timestamp: future } }, { config: null }])
        await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J(body) }, 400, 26);
    await call(s, 'PUT', '/schedules/x', { auth: A, body: '{}' }, 400, 1);
    await call(s, 'PUT', '/schedules/1', { auth: A, body: J({ name: 'mine now' }) }, 403, 111);
    await call(s, 'PUT', '/schedules/4', { auth: A, body: '{}' }, 403, 111);
    await call(s, 'PUT', `/schedules/${scB}`, { auth: A, body: '{}' }, 404, 6);
    await call(s, 'PUT', '/schedules/999999', { auth: A, body: '{}' }, 404, 6);
    await call(s, 'PUT', `/schedules/${scA}`, { body: '{}' }, 401, 100);
    // DELETE (our extension): an unused one of the caller's own goes; public, others', missing
    const scGone = await created(s, '/schedules', A, { name: 'short-lived', config: { period: 600 } });
    await call(s, 'DELETE', `/schedules/${scGone}`, { auth: A }, 200);
    await call(s, 'DELETE', `/schedules/${scGone}`, { auth: A }, 404, 6);
    await call(s, 'GET', `/schedules/byid/${scGone}`, { auth: A }, 404, 6);
    await call(s, 'DELETE', '/schedules/1', { auth: A }, 403, 111);
    await call(s, 'DELETE', `/schedules/${scB}`, { auth: A }, 404, 6);
    await call(s, 'DELETE', '/schedules/999999', { auth: A }, 404, 6);
    await call(s, 'DELETE', '/schedules/x', { auth: A }, 400, 1);
    await call(s, 'DELETE', `/schedules/${scB}`, {}, 401, 100);

    // ---- jobs
    const j1 = await created(s, '/jobs', A, { name: 'nightly backup', stack_id: sA, schedule_id: 5 });
    const j2 = await created(s, '/jobs', A, { name: 'every two', stack_id: sBpub, schedule_id: scA, enabled: true });
    const j3 = await created(s, '/jobs', A, { name: null, stack_id: sA, schedule_id: scOnce, enabled: true });
    await created(s, '/jobs', A, { name: 'a/b c+d', stack_id: sA, schedule_id: 1 });
    await call(s, 'DELETE', `/schedules/${scA}`, { auth: A }, 409, 27); // j2 uses it
    // 1.0 and 1e0 are integers for JSON Schema and for the server alike.
    const { json: jDot } = await call(s, 'POST', '/jobs', { auth: A, body: `{"stack_id":${sA}.0,"schedule_id":1e0,"enabled":false}` }, 201);
    const idemJob = { name: 'once only', stack_id: sA, schedule_id: 4 };
    const j4 = await created(s, '/jobs', A, idemJob, [['Idempotency-Key', 'job-key-1']]);
    const rj = await call(s, 'POST', '/jobs', { auth: A, body: J(idemJob), headers: [['Idempotency-Key', 'job-key-1']] }, 201);
    if (!rj.res || rj.res.get('Idempotent-Replayed') !== 'true' || rj.json.id !== j4)
        fail('POST /jobs: a repeat with the same Idempotency-Key and body was not replayed');
    await call(s, 'POST', '/jobs', { auth: A, body: J({ ...idemJob, enabled: true }), headers: [['Idempotency-Key', 'job-key-1']] }, 422, 110);
    for (const key of ['', 'k'.repeat(256), 'two words'])
        await call(s, 'POST', '/jobs', { auth: A, body: J(idemJob), headers: [['Idempotency-Key', key]] }, 400, 1);
    await call(s, 'POST', '/jobs', { auth: A, body: '{"stack_id":1,' }, 400, 2);
    await call(s, 'POST', '/jobs', { auth: A, body: '{"stack_id":01,"schedule_id":1}' }, 400, 2);
    for (const body of [{ stack_id: 0, schedule_id: 5 }, { stack_id: 1.5, schedule_id: 5 },
                        { stack_id: String(sA), schedule_id: 5 }, { stack_id: sA },
                        { schedule_id: 5 }, { stack_id: sA, schedule_id: 5, owner: 1 },
                        { stack_id: sA, schedule_id: 5, name: 'tab\there' },
                        { stack_id: 9007199254740992, schedule_id: 5 },
                        { stack_id: sA, schedule_id: -5 }, { stack_id: sA, schedule_id: 5, enabled: 1 },
                        { stack_id: sA, schedule_id: 5, name: '' },
                        { stack_id: sA, schedule_id: 5, name: 'n'.repeat(256) },
                        { stack_id: null, schedule_id: 5 }, []])
        await call(s, 'POST', '/jobs', { auth: A, body: J(body) }, 400, 4);
    await call(s, 'POST', '/jobs', { auth: A, body: J({ stack_id: sBpriv, schedule_id: 5 }) }, 400, 24);
    await call(s, 'POST', '/jobs', { auth: A, body: J({ stack_id: 999999, schedule_id: 5 }) }, 400, 24);
    await call(s, 'POST', '/jobs', { auth: A, body: J({ stack_id: sA, schedule_id: 999999 }) }, 400, 25);
    await call(s, 'POST', '/jobs', { auth: A, body: J({ stack_id: sA, schedule_id: scB }) }, 400, 25);
    await call(s, 'POST', '/jobs', { auth: A, body: J({ name: 'nightly backup', stack_id: sA, schedule_id: 5 }) }, 409, 12);
    await created(s, '/jobs', B, { name: 'nightly backup', stack_id: sBpub, schedule_id: 5 });
    await call(s, 'POST', '/jobs', { body: J(idemJob) }, 401, 100);

    await call(s, 'GET', '/jobs', { auth: A }, 200);
    await call(s, 'GET', '/jobs?page=2&pagesize=2', { auth: A }, 200);
    await call(s, 'GET', '/jobs?page=50', { auth: B }, 200);
    await call(s, 'GET', '/jobs?page=x', { auth: A }, 400, 1);
    await call(s, 'GET', '/jobs?pagesize=1000', { auth: A }, 400, 1);
    await call(s, 'GET', '/jobs', {}, 401, 100);
    const g1 = await call(s, 'GET', `/jobs/byid/${j1}`, { auth: A }, 200);
    await call(s, 'GET', `/jobs/byid/${j2}`, { auth: A }, 200);
    await call(s, 'GET', `/jobs/byid/${j3}`, { auth: A }, 200);
    await call(s, 'GET', `/jobs/byid/${jDot && jDot.id}`, { auth: A }, 200);
    await call(s, 'GET', `/jobs/byid/${j1}`, { auth: B }, 404, 6);
    await call(s, 'GET', '/jobs/byid/999999', { auth: A }, 404, 6);
    await call(s, 'GET', '/jobs/byid/abc', { auth: A }, 400, 1);
    await call(s, 'GET', '/jobs/byid/0', { auth: A }, 400, 1);
    await call(s, 'GET', `/jobs/byid/${j1}`, {}, 401, 100);
    await call(s, 'GET', '/jobs/byname/nightly%20backup', { auth: A }, 200);
    await call(s, 'GET', '/jobs/byname/a%2Fb%20c+d', { auth: A }, 200);
    await call(s, 'GET', '/jobs/byname/nightly%20backup', { auth: B }, 200);
    await call(s, 'GET', '/jobs/byname/nope', { auth: A }, 404, 6);
    for (const name of ['%zz', '%01', '%7F', 'x%', 'n'.repeat(256)])
        await call(s, 'GET', `/jobs/byname/${name}`, { auth: A }, 400, 1);
    await call(s, 'GET', '/jobs/byname/nightly%20backup', {}, 401, 100);

    // PUT, with and without If-Match
    const e1 = g1.res && g1.res.get('ETag');
    const p1 = await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: '{}' }, 200);
    if (p1.res && p1.res.get('ETag') !== e1)
        fail(`PUT /jobs/${j1} {} changed the ETag`);
    const p2 = await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J({ enabled: true }), headers: [['If-Match', e1]] }, 200);
    const e2 = p2.res && p2.res.get('ETag');
    await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J({ enabled: false }), headers: [['If-Match', e1]] }, 412, 109);
    await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J({ enabled: false }), headers: [['If-Match', `W/${e2}`]] }, 412, 109);
    await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J({ name: 'nightly backup' }), headers: [['If-Match', '*']] }, 200);
    const p3 = await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J({ schedule_id: 4 }), headers: [['If-Match', `"0000000000000000", ${e2}`]] }, 200);
    const e3 = p3.res && p3.res.get('ETag');
    // Empty list items are skipped (RFC 9110 5.6.1.2); a list of nothing else names no tag.
    for (const im of [`, ${e3} , ,`, `"0000000000000000",, W/"x", ${e3}`])
        await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: '{}', headers: [['If-Match', im]] }, 200);
    for (const im of ['garbage', '"x y"', '"unclosed', '*, "0000000000000000"', '*,', ',', ' , ,'])
        await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: '{}', headers: [['If-Match', im]] }, 400, 1);
    // Well-formed tags the server never gives (RFC 9110 13.1.1): they do not match, 412.
    for (const im of ['"xyz"', '"0123456789ABCDEF"', '""', '"stale", W/"x"'])
        await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: '{}', headers: [['If-Match', im]] }, 412, 109);
    await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J({ stack_id: sBpub, name: 'renamed', enabled: false }) }, 200);
    await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J({ name: null }) }, 200);
    await call(s, 'PUT', '/jobs/abc', { auth: A, body: '{}' }, 400, 1);
    await call(s, 'PUT', '/jobs/byid', { auth: A, body: '{}' }, 400, 1);
    await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: '{' }, 400, 2);
    for (const body of [{ stack_id: 0 }, { bogus: true }, { enabled: 'yes' }, { name: 'a\nb' }, 5])
        await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J(body) }, 400, 4);
    await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J({ stack_id: sBpriv }) }, 400, 24);
    await call(s, 'PUT', `/jobs/${j1}`, { auth: A, body: J({ schedule_id: 999999 }) }, 400, 25);
    await call(s, 'PUT', `/jobs/${j3}`, { auth: A, body: J({ name: 'every two' }) }, 409, 12);
    await call(s, 'PUT', '/jobs/999999', { auth: A, body: '{}' }, 404, 6);
    await call(s, 'PUT', `/jobs/${j1}`, { auth: B, body: '{}' }, 404, 6);
    await call(s, 'PUT', '/jobs/999999', { auth: A, body: '{}', headers: [['If-Match', '*']] }, 404, 6);
    await call(s, 'PUT', `/jobs/${j1}`, { body: '{}' }, 401, 100);

    // DELETE: inactive, active (queued), queued again, conditions
    const j5 = await created(s, '/jobs', A, { stack_id: sA, schedule_id: 2 });
    await call(s, 'DELETE', `/jobs/${j5}`, { auth: A }, 200);
    await call(s, 'DELETE', `/jobs/${j5}`, { auth: A }, 404, 6);
    const gj2 = await call(s, 'GET', `/jobs/byid/${j2}`, { auth: A }, 200);
    await call(s, 'DELETE', `/jobs/${j2}`, { auth: A, headers: [['If-Match', '"0000000000000000"']] }, 412, 109);
    await call(s, 'DELETE', `/jobs/${j2}`, { auth: A, headers: [['If-Match', 'nonsense']] }, 400, 1);
    const d2 = await call(s, 'DELETE', `/jobs/${j2}`, { auth: A, headers: [['If-Match', gj2.res && gj2.res.get('ETag')]] }, 200);
    if (!d2.json || d2.json.queued_for_deletion !== j2)
        fail(`DELETE /jobs/${j2} (active) did not answer queued_for_deletion`);
    await call(s, 'DELETE', `/jobs/${j2}`, { auth: A }, 200);
    await call(s, 'GET', `/jobs/byid/${j2}`, { auth: A }, 200);
    await call(s, 'PUT', `/jobs/${j2}`, { auth: A, body: J({ enabled: false }) }, 409, 104);
    await call(s, 'PUT', `/schedules/${scA}`, { auth: A, body: J({ config: { period: 300 } }) }, 409, 27);
    await call(s, 'DELETE', `/jobs/${j3}`, { auth: A, headers: [['If-Match', '*']] }, 200);
    await call(s, 'DELETE', `/jobs/${j4}`, { auth: B }, 404, 6);
    await call(s, 'DELETE', '/jobs/999999', { auth: A }, 404, 6);
    await call(s, 'DELETE', '/jobs/abc', { auth: A }, 400, 1);
    await call(s, 'DELETE', `/jobs/${j4}`, {}, 401, 100);
    await call(s, 'GET', '/jobs?pagesize=100', { auth: A }, 200);

    // ---- runs: the history and manual runs, the run keys of a job
    await call(s, 'GET', `/jobs/${j1}/runs`, { auth: A }, 200);
    await call(s, 'GET', `/jobs/${j1}/runs?page=2&pagesize=5`, { auth: A }, 200);
    await call(s, 'GET', `/jobs/${j1}/runs`, { auth: B }, 404, 6);
    await call(s, 'GET', '/jobs/999999/runs', { auth: A }, 404, 6);
    await call(s, 'GET', '/jobs/abc/runs', { auth: A }, 400, 1);
    await call(s, 'GET', `/jobs/${j1}/runs?page=0`, { auth: A }, 400, 1);
    await call(s, 'GET', `/jobs/${j1}/runs`, {}, 401, 100);
    await call(s, 'POST', `/jobs/${j1}/run`, { auth: A }, 202);
    await call(s, 'GET', `/jobs/${j1}/runs`, { auth: A }, 200);
    await call(s, 'POST', `/jobs/${j1}/run`, { auth: B }, 404, 6);
    await call(s, 'POST', '/jobs/abc/run', { auth: A }, 400, 1);
    await call(s, 'POST', `/jobs/${j1}/run`, {}, 401, 100);
    await call(s, 'POST', `/jobs/${j2}/run`, { auth: A }, 409, 104);
    await created(s, '/jobs', A, { stack_id: sA, schedule_id: 5, delivery: 'at-least-once',
                                   lease: 60, max_attempts: 5,
                                   misfire: { policy: 'catch-up', max: 3 } });
    await created(s, '/jobs', A, { stack_id: sA, schedule_id: 5, misfire: 'skip' });
    for (const bad of [{ delivery: 'twice' }, { lease: 0 }, { max_attempts: 101 },
                       { misfire: 'later' }, { misfire: { policy: 'skip', max: 2 } }])
        await call(s, 'POST', '/jobs', { auth: A, body: J({ stack_id: sA, schedule_id: 5, ...bad }) },
                   400, 4);

    // ---- webhooks: this server runs no command, so a hook answers status 1 and makes no run
    const hPub = await created(s, '/blockstacks', A, { name: 'hook pub', webhook: 'public' });
    const hTok = await created(s, '/blockstacks', A, { name: 'hook tok', webhook: 'token',
                                                       webhook_method: 'POST' });
    const hUsr = await created(s, '/blockstacks', A, { name: 'hook usr', webhook: 'user' });
    await call(s, 'GET', `/blockstacks/hook/${hPub}?a=1&a=2`, {}, 200);
    await call(s, 'GET', `/blockstacks/hook/${hPub}`, { body: '{"k":' }, 400, 2);
    await call(s, 'GET', `/blockstacks/hook/${hPub}`, { body: '[1]' }, 400, 4);
    await call(s, 'GET', `/blockstacks/hook/${hTok}`, {}, 403, 133); // who may call it comes first
    await call(s, 'POST', '/blockstacks/hook/abc', { body: '{}' }, 400, 1);
    const hUsrPost = await created(s, '/blockstacks', A, { name: 'hook usr post', webhook: 'user',
                                                           webhook_method: 'POST' });
    await call(s, 'POST', `/blockstacks/hook/${hUsrPost}`, { body: '{}' }, 401, 100);
    await call(s, 'POST', `/blockstacks/hook/${hPub}`, { body: '{}' }, 405, 102);
    await call(s, 'GET', '/blockstacks/hook/abc', {}, 400, 1);
    await call(s, 'GET', `/blockstacks/hook/${sA}`, {}, 404, 132);
    await call(s, 'POST', '/blockstacks/hook/999999', { body: '{}' }, 404, 132);
    await call(s, 'GET', `/blockstacks/hook/${hUsr}`, {}, 401, 100);
    await call(s, 'GET', `/blockstacks/hook/${hUsr}`, { auth: B }, 403, 133);
    await call(s, 'GET', `/blockstacks/hook/${hUsr}`, { auth: A }, 200);
    // the owner's cookie, from a page of another origin: refused before anything runs
    await call(s, 'GET', `/blockstacks/hook/${hUsr}`,
               { auth: A, headers: [['Sec-Fetch-Site', 'cross-site']] }, 403, 140);
    await call(s, 'POST', `/blockstacks/hook/${hUsrPost}`,
               { auth: A, body: '{}', headers: [['Sec-Fetch-Site', 'cross-site']] }, 403, 140);
    await call(s, 'POST', `/blockstacks/hook/${hTok}?token=${'0'.repeat(32)}`, { body: '{}' }, 403, 133);
    const refreshed = await call(s, 'GET', `/blockstacks/hook/token_refresh/${hTok}`, { auth: A }, 200);
    const hookToken = refreshed.json && refreshed.json.token;
    await call(s, 'POST', `/blockstacks/hook/${hTok}?token=${hookToken}`, { body: '{"k":[1]}' }, 200);
    await call(s, 'GET', `/blockstacks/hook/${hTok}?token=${hookToken}`, {}, 405, 102);
    await call(s, 'POST', `/blockstacks/hook/${hTok}?token=${hookToken}`, { body: '{"k":' }, 400, 2);
    // A JSON body is one object, as every body (a key given twice is fault 4 too, which a
    // schema cannot tell: JSON.parse keeps the last).
    for (const body of ['[1,2]', 'null', '"k"'])
        await call(s, 'POST', `/blockstacks/hook/${hTok}?token=${hookToken}`, { body }, 400, 4);
    await call(s, 'GET', `/blockstacks/hook/token_refresh/${hTok}`, { auth: B }, 404, 6);
    await call(s, 'GET', `/blockstacks/hook/token_refresh/${hPub}`, { auth: A }, 409, 131);
    await call(s, 'GET', `/blockstacks/hook/token_refresh/${hTok}`, {}, 401, 100);
    await call(s, 'GET', '/blockstacks/hook/token_refresh/x', { auth: A }, 400, 1);
    await call(s, 'GET', `/blockstacks/hook/token_refresh/${hTok}`,
               { auth: A, headers: [['Sec-Fetch-Site', 'cross-site']] }, 403, 140);
    // ---- exec: the owner runs a stack whose webhook is null (no command here: an error in
    // the body, and no run)
    await call(s, 'GET', `/blockstacks/exec/${sA}`, { auth: A }, 200);
    await call(s, 'GET', `/blockstacks/exec/${sA}`, { auth: B }, 404, 6);
    await call(s, 'GET', '/blockstacks/exec/999999', { auth: A }, 404, 6);
    await call(s, 'GET', `/blockstacks/exec/${sA}`, {}, 401, 100);
    await call(s, 'GET', '/blockstacks/exec/x', { auth: A }, 400, 1);
    await call(s, 'GET', `/blockstacks/exec/${hPub}`, { auth: A }, 409, 141);
    await call(s, 'GET', `/blockstacks/exec/${sA}`,
               { auth: A, headers: [['Sec-Fetch-Site', 'cross-site']] }, 403, 140);
    await call(s, 'GET', `/blockstacks/${sA}/runs`, { auth: A }, 200);
    await call(s, 'GET', `/blockstacks/${hPub}/runs?page=2&pagesize=5`, { auth: A }, 200);
    await call(s, 'GET', `/blockstacks/${sBpriv}/runs`, { auth: A }, 400, 24);
    await call(s, 'GET', '/blockstacks/x/runs', { auth: A }, 400, 1);
    await call(s, 'GET', `/blockstacks/${sA}/runs`, {}, 401, 100);

    // ---- operator routes: no session needed (a token does not matter)
    for (const m of ['GET', 'HEAD']) {
        await call(s, m, '/healthz', {}, 200);
        await call(s, m, '/healthz', { auth: A }, 200);
        await call(s, m, '/metrics', {}, 200);
    }

    // ---- every path: other methods (405), an oversized body (413), broken framing (400/108)
    for (const [path, item] of Object.entries(doc.paths)) {
        const target = path.replace('{id}', String(j1)).replace('{name}', 'nightly%20backup');
        for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'])
            if (!item[m.toLowerCase()])
                await call(s, m, target, { auth: A }, 405, m === 'HEAD' ? undefined : 102);
        for (const m of METHODS.filter(x => item[x]).map(x => x.toUpperCase())) {
            // (Sent without a body: the server answers from Content-Length, reads nothing.)
            await call(s, m, target, { auth: A, rawHead: ['Content-Length: 70000'] }, 413, 103);
            await call(s, m, target, { auth: A, rawHead: ['Content-Length: 0', 'Content-Length: 0'] }, 400, 108);
        }
    }
    // ---- CSRF (fault 140): a browser's write with the cookie (Origin says a browser made it)
    // and without X-Requested-With is refused, before anything is read or done
    const origin = [['Origin', `http://127.0.0.1:${s.port}`]];
    for (const [m, p, body] of [['POST', '/jobs', '{}'], ['PUT', `/jobs/${j1}`, '{}'],
                                ['DELETE', `/jobs/${j1}`], ['POST', `/jobs/${j1}/run`],
                                ['POST', '/schedules', '{}'], ['PUT', `/schedules/${scA}`, '{}'],
                                ['DELETE', `/schedules/${scA}`],
                                ['POST', '/blockstacks', '{}'], ['PUT', `/blockstacks/${sA}`, '{}'],
                                ['POST', '/logout']])
        await call(s, m, p, { auth: A, headers: origin, body }, 403, 140);
    await call(s, 'GET', `/jobs/byid/${j1}`, { auth: A, headers: origin }, 200);

    // ---- paths that are not in the document
    for (const path of ['/nope', '/jobs/', '/blockstacks/5/x', '/jobs/1/2', '/JOBS', '/jobsx',
                        '/authenticate/', '/schedules/1/x'])
        await call(s, 'GET', path, { auth: A }, 404, 101);
    // An empty id after /byid/ is that route with a bad id (fault 1; the Id parameter's
    // description says so), although OpenAPI path parameters cannot be empty.
    for (const path of ['/jobs/byid/', '/schedules/byid/', '/blockstacks/byid/'])
        await call(s, 'GET', path, { auth: A, as: path + '{id}' }, 400, 1);
    await call(s, 'GET', '/jobs/byname/', { auth: A, as: '/jobs/byname/{name}' }, 400, 1);
}

// With --fault-status-500, every fault of every operation is a 500 with the same body.
async function scenario500(s) {
    for (const { path, method, op } of operations(doc)) {
        // Without a token: fault 100, except where no token is needed.
        let target = path.replace('{id}', '0').replace('{name}', '%zz');
        let opts = method === 'POST' || method === 'PUT' ? { body: '{}' } : {};
        let code = 100;
        if (path === '/authenticate') {
            opts = { body: '{' };
            code = 2;
        } else if (op.security && op.security.length === 0) {
            opts = { rawHead: ['Content-Length: 70000'] };   // no session needed: 413
            code = 103;
        } else if (path.startsWith('/blockstacks/hook/{id}')) {
            code = 1;   // a webhook needs no session: the id 0 is the fault
        } else if (['/blockstacks/{id}/runs', '/blockstacks/hook/token_refresh/{id}',
                    '/blockstacks/exec/{id}'].includes(path)) {
            code = 100; // the owner's: no session is the fault, before the id is looked at
        } else if ((path.startsWith('/schedules') || path.startsWith('/blockstacks')) &&
                   method === 'GET') {
            // Read without a session too: a bad parameter (fault 1) is the fault to provoke.
            target = path === '/schedules' || path === '/blockstacks' ? path + '?page=0' : target;
            code = 1;
        }
        await call(s, method, target, opts, 500, code);
    }
}

// ---- the reverse: everything documented was seen ----------------------------------------------

function allowedUnseen(key) {
    const parts = key.split(' ');
    return ALLOWED_UNSEEN.some(([pattern]) => {
        const p = pattern.split(' ');
        return p.length === parts.length && p.every((x, i) => x === '*' || x === parts[i]);
    });
}

function coverage() {
    const expected = [];
    for (const { path, method, op } of operations(doc))
        for (const [status, r] of Object.entries(op.responses)) {
            const key = `${method} ${path} ${status}`;
            expected.push(key);
            const [resp] = deref(doc, r);
            const media = resp.content && resp.content['application/json'];
            const codes = media && faultCodes(media.schema);
            for (const c of method === 'HEAD' ? [] : codes || [])   // HEAD: no body, no code
                expected.push(`${key} code ${c}`);
        }
    for (const path of Object.keys(doc.paths))
        expected.push(`OTHER ${path} 405`);
    let unseen = 0, allowed = 0;
    for (const key of expected) {
        if (seen.has(key))
            continue;
        if (allowedUnseen(key)) {
            allowed++;
            continue;
        }
        unseen++;
        fail(`documented but never seen (provoke it, or list it in ALLOWED_UNSEEN with the ` +
             `reason): ${key}`);
    }
    return { expected: expected.length, allowed, unseen };
}

// ---- main -------------------------------------------------------------------------------------

process.on('exit', () => {
    for (const s of servers)
        if (!s.exited)
            s.child.kill('SIGKILL');
});

const started = Date.now();
let cov = null;
try {
    const dir = mkdtempSync(join(tmpdir(), 'jobs-openapi-'));
    addUser(dir, 'alice', PW.alice);
    addUser(dir, 'bob', PW.bob, 'bob@example.org');
    const s = await startServer(dir);
    try {
        await scenario(s);
    } finally {
        await stopServer(s);
    }
    const dir500 = mkdtempSync(join(tmpdir(), 'jobs-openapi-500-'));
    const s500 = await startServer(dir500, ['--fault-status-500']);
    try {
        await scenario500(s500);
    } finally {
        await stopServer(s500);
    }
    cov = coverage();
} catch (e) {
    fail(e.stack || String(e));
    for (const s of servers)
        if (!s.exited)
            await stopServer(s);
        else
            rmSync(s.dir, { recursive: true, force: true });
}

for (const n of notes)
    console.log('check-server: note: ' + n);
const secs = ((Date.now() - started) / 1000).toFixed(1);
if (cov)
    console.log(`check-server: ${requests} requests in ${secs} s; ${cov.expected - cov.allowed - cov.unseen} ` +
                `of ${cov.expected} documented (route, status[, fault code]) answers seen, ` +
                `${cov.allowed} allowed unseen (${ALLOWED_UNSEEN.map(a => a[0]).join('; ')})`);
if (failures.length) {
    console.error(`check-server: ${failures.length} failure(s)`);
    process.exit(1);
}
console.log('check-server: the server and docs/openapi.yaml agree');
