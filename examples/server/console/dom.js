// Building the page: every string goes in as a text node (never as HTML), every attribute with
// setAttribute. There is no innerHTML in the console.

/** An element: h('a', {href: '#/jobs'}, 'Jobs', child, ...). Strings become text nodes;
 * null, undefined and false children are skipped; an attribute of false or null is left out,
 * true is set empty; `on*` keys of functions become listeners. */
export function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === false || v === null || v === undefined)
            continue;
        if (typeof v === 'function' && k.startsWith('on'))
            el.addEventListener(k.slice(2), v);
        else
            el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
}

/** Appends children (nodes or strings, nested arrays allowed). */
export function append(el, children) {
    for (const c of children.flat(Infinity)) {
        if (c === null || c === undefined || c === false)
            continue;
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
    el.replaceChildren();
    return append(el, children);
}

/** An SVG element, attributes as in h(). */
export function svg(tag, attrs, ...children) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {}))
        if (v !== null && v !== undefined && v !== false)
            el.setAttribute(k, String(v));
    for (const c of children.flat(Infinity))
        if (c !== null && c !== undefined && c !== false)
            el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
}

/** A Date of Unix seconds, or null past what a Date holds (the year 275760): a one-time
 * schedule's timestamp, and so a job's next_run, may be any of 1..2^53-1. */
function date(sec) {
    const d = new Date(sec * 1000);
    return Number.isNaN(d.getTime()) ? null : d;
}

/** Unix seconds in the browser's local time: "6 Dec 2026, 14:07"; past what a Date holds,
 * "Unix time N". */
export function localTime(sec) {
    if (sec === null || sec === undefined)
        return '-';
    const d = date(sec);
    return d ? d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : `Unix time ${sec}`;
}

/** "in 3 min", "5 h 2 min ago", "now". */
export function relative(sec, now = Date.now() / 1000) {
    const d = sec - now, a = Math.abs(d);
    let s;
    if (a < 30)
        return d >= 0 ? 'now' : 'just now';
    const minutes = Math.round(a / 60);
    if (a < 90)
        s = `${Math.round(a)} s`;
    else if (minutes < 60)
        s = `${minutes} min`;
    else if (minutes < 48 * 60)
        s = minutes % 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes / 60} h`;
    else
        s = `${Math.round(a / 86400)} days`;
    return d >= 0 ? `in ${s}` : `${s} ago`;
}

/** A <time> with the local time and, updated every 30 s, the relative one. */
export function when(sec) {
    if (sec === null || sec === undefined)
        return h('span', { class: 'none' }, '-');
    // (toISOString() throws past what a Date holds: such a time has no datetime attribute.)
    const d = date(sec);
    return h('time', { datetime: d ? d.toISOString() : false, 'data-sec': sec }, localTime(sec), ' ',
             h('span', { class: 'rel' }, `(${relative(sec)})`));
}

/** Refreshes the relative part of every when() on the page. */
export function refreshTimes() {
    for (const t of document.querySelectorAll('time[data-sec]')) {
        const rel = t.querySelector('.rel');
        if (rel)
            rel.textContent = `(${relative(Number(t.dataset.sec))})`;
    }
}
