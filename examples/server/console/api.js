// The HTTP API (docs/http-api.md), as the console calls it: same origin, the session in the
// auth_tkt cookie, and X-Requested-With on every request, which the server requires of a
// browser's cookie-authenticated writes (its CSRF check, fault 140).

/** A fault answered by the API: `msg` is its message, word for word; `retryAfter` the seconds
 * of its Retry-After header (a login lock, 429, or a busy or stopping server, 503), else null. */
export class ApiError extends Error {
    constructor(status, code, msg, retryAfter = null) {
        super(msg);
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;
    }
}

/** Calls the API; resolves to the parsed JSON answer, rejects with an ApiError. */
export async function api(method, path, body) {
    const init = {
        method,
        headers: { 'X-Requested-With': 'jobs-console' },
        credentials: 'same-origin',
        cache: 'no-store',
    };
    if (body !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    let res;
    try {
        res = await fetch(path, init);
    } catch (e) {
        throw new ApiError(0, null, `the server cannot be reached (${e.message})`);
    }
    let data = null;
    try {
        data = await res.json();
    } catch {
        data = null;
    }
    if (!res.ok) {
        const msg = data && typeof data.msg === 'string' ? data.msg : `HTTP ${res.status}`;
        const retry = /^\d{1,9}$/.test(res.headers.get('Retry-After') ?? '') ? Number(res.headers.get('Retry-After')) : null;
        throw new ApiError(res.status, data ? data.code : null, msg, retry);
    }
    return data;
}

/** Every page of a list route, concatenated: `key` is "schedules" or "stacks". */
export async function all(path, key) {
    const out = [];
    for (let page = 1; ; page++) {
        const p = await api('GET', `${path}?page=${page}&pagesize=100`);
        out.push(...p[key]);
        if (p[key].length === 0 || out.length >= p.count)
            return out;
    }
}
