// What validate-doc.mjs and check-server.mjs share: reading docs/openapi.yaml, references
// within it, and an Ajv (JSON Schema 2020-12, strict mode) that validates values against the
// schemas at any JSON pointer of the document.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));

export const DEFAULT_DOC = resolve(here, '../../docs/openapi.yaml');
export const DEFAULT_PROSE = resolve(here, '../../docs/http-api.md');

// The base URI the document is registered under in Ajv (never fetched).
export const DOC_ID = 'https://libjobs.invalid/docs/openapi.yaml';

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// The YAML parser refuses duplicate keys (yaml 2's uniqueKeys default), so a key written twice
// cannot silently hide the first one.
export function loadDoc(path = DEFAULT_DOC) {
    return parse(readFileSync(path, 'utf8'), { prettyErrors: true, strict: true });
}

export function pointerEncode(part) {
    return String(part).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...parts) {
    return '#/' + parts.map(pointerEncode).join('/');
}

function pointerGet(doc, ref) {
    if (!ref.startsWith('#/'))
        throw new Error(`only local references are used: ${ref}`);
    let node = doc;
    for (const raw of ref.slice(2).split('/')) {
        const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
        if (node === null || typeof node !== 'object' || !(part in node))
            throw new Error(`unresolved reference ${ref}`);
        node = node[part];
    }
    return node;
}

// Follows $ref of a non-schema object (response, parameter, header) to the object itself;
// returns [object, pointer of the object].
export function deref(doc, obj, at) {
    const seen = new Set();
    while (obj && typeof obj === 'object' && typeof obj.$ref === 'string') {
        if (seen.has(obj.$ref))
            throw new Error(`reference loop at ${obj.$ref}`);
        seen.add(obj.$ref);
        at = obj.$ref;
        obj = pointerGet(doc, obj.$ref);
    }
    return [obj, at];
}

// An Ajv for draft 2020-12 in strict mode (unknown keywords, ignored keywords and
// type-less object keywords are errors, so a misspelt keyword cannot pass unnoticed), with the
// whole document registered so that a schema anywhere in it can be compiled by its pointer and
// its local $refs resolve. The OpenAPI Object's own fields are declared as keywords without
// validation: Ajv compiles the document's root when it resolves a pointer into it.
// strictRequired is off: `anyOf: [{required: [a]}, {required: [b]}]` is the idiom for
// "one of these keys", with the properties declared beside the anyOf.
export function makeAjv(doc) {
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
    ajv.addVocabulary(['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks',
                       'components', 'security', 'tags', 'externalDocs']);
    ajv.addSchema(doc, DOC_ID);
    const cache = new Map();
    return {
        ajv,
        // A validation function for the schema at the given local pointer ('#/...').
        compile(ptr) {
            if (!cache.has(ptr))
                cache.set(ptr, ajv.compile({ $ref: DOC_ID + ptr }));
            return cache.get(ptr);
        },
        errorsText(errors) {
            return ajv.errorsText(errors, { separator: '; ', dataVar: 'body' });
        },
    };
}

// Every operation of the document: { path, method (upper case), op, at (pointer) }.
export function operations(doc) {
    const out = [];
    for (const [path, item] of Object.entries(doc.paths || {}))
        for (const m of METHODS)
            if (item[m])
                out.push({ path, method: m.toUpperCase(), op: item[m], item,
                           at: pointer('paths', path, m) });
    return out;
}

// The fault codes a response's schema allows: a set, or null when any code is allowed (or the
// response is not a fault). Reads `properties.code` const/enum beside a $ref to Fault.
export function faultCodes(schema) {
    const code = schema && schema.properties && schema.properties.code;
    if (!code)
        return null;
    if ('const' in code)
        return new Set([code.const]);
    if (Array.isArray(code.enum))
        return new Set(code.enum);
    return null;
}

// Whether a schema is (or refines, by a sibling $ref) the Fault schema.
export function isFaultSchema(schema) {
    return !!schema && schema.$ref === '#/components/schemas/Fault';
}
