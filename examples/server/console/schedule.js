// Schedules in words, cron expressions as the library reads them (docs/schedules.md), and the
// times a job runs within a window (the timeline). Pure functions: no DOM.

const SHORTHANDS = {
    '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@midnight': '0 0 * * *',
    '@weekly': '0 0 * * 0', '@monthly': '0 0 1 * *', '@yearly': '0 0 1 1 *',
    '@annually': '0 0 1 1 *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
                     'September', 'October', 'November', 'December'];
// minute, hour, day of month, month, day of week
const RANGES = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

function plural(n, unit) {
    return n === 1 ? `every ${unit}` : `every ${n} ${unit}s`;
}

/** "every 5 minutes" for a period in seconds. */
export function periodWords(p) {
    if (p % 86400 === 0)
        return p === 86400 ? 'every day' : plural(p / 86400, 'day');
    if (p % 3600 === 0)
        return p === 3600 ? 'every hour' : plural(p / 3600, 'hour');
    if (p % 60 === 0)
        return p === 60 ? 'every minute' : plural(p / 60, 'minute');
    return plural(p, 'second');
}

function fields(expr) {
    const e = expr.trim();
    const f = (SHORTHANDS[e.toLowerCase()] || e).split(/[ \t]+/);
    return f.length === 5 ? f : null;
}

function value(s, i) {
    const names = i === 3 ? MONTHS : i === 4 ? WEEKDAYS : null;
    if (/^\d+$/.test(s))
        return Number(s);
    if (names && names.includes(s.toLowerCase()))
        return names.indexOf(s.toLowerCase()) + (i === 3 ? 1 : 0);
    return NaN;
}

/** The sets of a 5-field cron expression (or a shorthand), or null when it does not parse. */
export function parseCron(expr) {
    const f = fields(expr);
    if (!f)
        return null;
    const sets = [];
    for (let i = 0; i < 5; i++) {
        const [lo, hi] = RANGES[i];
        const set = new Set();
        for (const item of f[i].split(',')) {
            const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
            if (!m)
                return null;
            const step = m[2] === undefined ? 1 : Number(m[2]);
            let a, b;
            // As the library reads them: '*' in day of week is 0-6 (7, Sunday, only when
            // written), so "5/2" there is Friday alone.
            const top = i === 4 ? 6 : hi;
            if (m[1] === '*') {
                [a, b] = [lo, top];
            } else if (m[1].includes('-')) {
                const [x, y] = m[1].split('-');
                [a, b] = [value(x, i), value(y, i)];
            } else {
                a = value(m[1], i);
                b = m[2] === undefined ? a : Math.max(a, top);
            }
            if (!(step >= 1) || Number.isNaN(a) || Number.isNaN(b) || a < lo || b > hi || a > b)
                return null;
            for (let v = a; v <= b; v += step)
                set.add(i === 4 && v === 7 ? 0 : v);
        }
        sets.push(set);
    }
    return { sets, hourStar: f[1].startsWith('*'), domStar: f[2].startsWith('*'), dowStar: f[4].startsWith('*') };
}

function pad(n) {
    return String(n).padStart(2, '0');
}

function dayList(field) {
    const parts = [];
    for (const item of field.split(',')) {
        const [a, b] = item.split('-').map(x => value(x, 4));
        if (Number.isNaN(a) || (b !== undefined && Number.isNaN(b)) || item.includes('/'))
            return null;
        parts.push(b === undefined ? DAY_NAMES[a % 7] : `${DAY_NAMES[a % 7]} to ${DAY_NAMES[b % 7]}`);
    }
    return parts.join(', ');
}

/** Whether a zone's offset from UTC is now whole hours, so that its hours begin when UTC's do. */
function wholeHours(zone) {
    try {
        const off = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
            .formatToParts(new Date()).find(p => p.type === 'timeZoneName').value; // "GMT+05:30"
        return !/:(?!00)\d\d$/.test(off);
    } catch {
        return true;
    }
}

/** "at 02:30 Europe/Berlin, daily" for a cron config; the expression itself when it is not
 * one of the common shapes. */
export function cronWords(expr, tz) {
    const zone = tz || 'UTC';
    const f = fields(expr);
    if (!f)
        return `cron "${expr}" in ${zone}`;
    const [mi, ho, dom, mon, dow] = f;
    const num = s => /^\d+$/.test(s);
    const rest = [dom, mon, dow].every(x => x === '*');
    if (num(mi) && num(ho)) {
        const at = `at ${pad(ho)}:${pad(mi)} ${zone}`;
        if (rest)
            return `${at}, daily`;
        if (dom === '*' && mon === '*' && dayList(dow))
            return `${at}, on ${dayList(dow)}`;
        if (/^\d+(,\d+)*$/.test(dom) && dow === '*') {
            const months = mon === '*' ? 'each month'
                : num(mon) || MONTHS.includes(mon.toLowerCase())
                    ? MONTH_NAMES[value(mon, 3) - 1] : null;
            if (months)
                return `${at}, on day ${dom.split(',').join(', ')} of ${months}`;
        }
        return `${at}, days "${dom} ${mon} ${dow}"`;
    }
    if (rest && ho === '*') {
        if (mi === '*')
            return 'every minute';
        // Minutes of the zone's hours: named when those hours begin elsewhere than UTC's
        // (Asia/Kolkata's minute 0 is minute 30 in Berlin).
        const where = wholeHours(zone) ? '' : ` ${zone}`;
        let m;
        if ((m = /^\*\/(\d+)$/.exec(mi)))
            return periodWords(Number(m[1]) * 60) + (60 % Number(m[1]) ? ` (from minute 0 of each hour${where})` : '');
        if (num(mi))
            return `at minute ${Number(mi)} of every hour${where}`;
    }
    return `cron "${f.join(' ')}" in ${zone}`;
}

/** A schedule in words. */
export function scheduleWords(s, timeFormat) {
    if (!s)
        return 'unknown schedule';
    const c = s.config || {};
    if (s.once)
        return `once, at ${timeFormat(c.timestamp)}`;
    if (c.period !== undefined)
        return periodWords(c.period);
    if (c.cron !== undefined)
        return cronWords(c.cron, c.tz);
    return 'unknown schedule';
}

const formatters = new Map();

function wallClock(tz, sec) {
    let f = formatters.get(tz);
    if (!f) {
        f = new Intl.DateTimeFormat('en-US', {
            timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
            hour: 'numeric', minute: 'numeric', weekday: 'short',
        });
        formatters.set(tz, f);
    }
    const o = {};
    for (const p of f.formatToParts(new Date(sec * 1000)))
        o[p.type] = p.value;
    const w = {
        minute: Number(o.minute), hour: Number(o.hour) % 24, day: Number(o.day),
        month: Number(o.month), weekday: WEEKDAYS.indexOf(o.weekday.toLowerCase()),
    };
    // The local time as a count of minutes, to see the clocks jump (daylight saving).
    w.local = Date.UTC(Number(o.year), w.month - 1, w.day, w.hour, w.minute) / 60000;
    return w;
}

/** The wall-clock fields of a local minute count (wallClock's `local`). */
function localFields(local) {
    const d = new Date(local * 60000);
    return { minute: d.getUTCMinutes(), hour: d.getUTCHours(), day: d.getUTCDate(),
             month: d.getUTCMonth() + 1, weekday: d.getUTCDay() };
}

function cronMatches(c, w) {
    const [mi, ho, dom, mon, dow] = c.sets;
    if (!mi.has(w.minute) || !ho.has(w.hour) || !mon.has(w.month))
        return false;
    const d = dom.has(w.day), wd = dow.has(w.weekday);
    // Vixie cron: both day fields restricted means either day.
    if (!c.domStar && !c.dowStar)
        return d || wd;
    return d && wd;
}

/**
 * The times (Unix seconds) a job runs in [from, until): its next_run (computed by the server),
 * then the schedule's later slots as the page computes them; at most `max`.
 */
export function runsWithin(job, schedule, from, until, max = 1440) {
    const out = [];
    if (!job.do_run || job.next_run === null || job.next_run === undefined || !schedule)
        return out;
    let t = job.next_run;
    if (t >= until)
        return out;
    out.push(Math.max(t, from));
    // A job queued for deletion is deleted at next_run instead of running; a one-time one runs once.
    if (job.do_del || schedule.once)
        return out;
    const c = schedule.config || {};
    if (c.period) {
        for (t += c.period; t < until && out.length < max; t += c.period)
            if (t >= from)
                out.push(t);
        return out;
    }
    if (c.cron !== undefined) {
        const cron = parseCron(c.cron);
        if (!cron)
            return out;
        const tz = c.tz || 'UTC';
        t = Math.floor(t / 60) * 60;
        let prev = wallClock(tz, t).local, seen = prev;
        // The library's rules when the clocks change (docs/schedules.md, Daylight-saving changes).
        for (t += 60; t < until && out.length < max; t += 60) {
            const w = wallClock(tz, t);
            let run;
            if (w.local > prev + 1) {
                // Forward: a match on a skipped local minute runs at the first instant after, once.
                run = cronMatches(cron, w);
                for (let k = prev + 1; k < w.local && !run; k++)
                    run = cronMatches(cron, localFields(k));
            } else {
                // Backward: local times that come again ran at their first occurrence, unless the
                // hour field starts with '*' ("every 15 minutes" goes on through the hour).
                run = (w.local > seen || cron.hourStar) && cronMatches(cron, w);
            }
            if (run && t >= from)
                out.push(t);
            prev = w.local;
            seen = Math.max(seen, w.local);
        }
    }
    return out;
}
