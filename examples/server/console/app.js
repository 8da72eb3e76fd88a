// The console: a page of views over the public HTTP API (docs/console.md). Routes are in the
// fragment (#/jobs, #/jobs/7, #/stacks, #/schedules, #/login), so the server serves one page.
import { api, all, ApiError } from './api.js';
import { h, replace, when, localTime, refreshTimes } from './dom.js';
import { scheduleWords } from './schedule.js';
import { timeline } from './timeline.js';

const main = document.getElementById('main');
const notice = document.getElementById('notice');
const USER_KEY = 'jobs-console-user';
const state = { schedules: new Map(), stacks: new Map(), refs: false, poll: null, gen: 0, shown: null };

// ---- notices and faults ---------------------------------------------------------------------

let keep = null; // the hash of the navigation that the notice just said is for (go())
function say(text, kind = 'info') {
    replace(notice, text ? h('p', { class: kind }, text) : null);
}

/** Says `text` and goes to `hash`: the notice stays for that navigation and goes at the next
 * (a notice kept for a while instead outlived a navigation made within that while). */
function go(hash, text, kind = 'info') {
    say(text, kind);
    if (location.hash !== hash) {
        keep = hash;
        location.hash = hash;
    }
}

// The address the login returns to: a route of the console's own, a fragment only (never a
// URL, which could lead elsewhere), kept for the tab in sessionStorage, so a reload of the
// login keeps it too.
const BACK_KEY = `${USER_KEY}-back`;
const ROUTE = /^#\/(jobs(\/\d{1,16})?|stacks|schedules)(\?page=\d{1,9})?$/;
function rememberRoute(hash) {
    if (ROUTE.test(hash))
        sessionStorage.setItem(BACK_KEY, hash);
}
function takeRoute() {
    const hash = sessionStorage.getItem(BACK_KEY) ?? '';
    sessionStorage.removeItem(BACK_KEY);
    return ROUTE.test(hash) ? hash : '#/jobs';
}

// What was typed into the view's forms when the session ended (a job's Edit form, a new job,
// stack or schedule): kept for the tab in sessionStorage with the route of the view and the
// user's id, and filled in again, once, by the first view drawn after the login, if it is that
// route's and the same user's; any other view drawn first, another user's login or a logout
// drops it. Only fields that differ from what the form was drawn with are kept, never a password
// field, and never a closed form (a closed Edit form is one given up).
const DRAFT_KEY = `${USER_KEY}-draft`;
const FORM_ID = /^[a-z][a-z-]{0,31}$/;
const userId = () => Number(sessionStorage.getItem(`${USER_KEY}-id`));

/** Whether a form control is a field a draft can hold (an input, a select or a text area). */
const isField = el => el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement;

/** Whether a form control holds something else than the form was drawn with. */
function typed(el) {
    if (!el.name || !isField(el))
        return false;
    if (el instanceof HTMLSelectElement) {
        const drawn = [...el.options].findLastIndex(o => o.defaultSelected);
        return el.selectedIndex !== Math.max(drawn, 0);
    }
    if (el.type === 'checkbox')
        return el.checked !== el.defaultChecked;
    if (['password', 'hidden', 'file', 'submit', 'button', 'reset', 'radio', 'image'].includes(el.type))
        return false;
    return el.value !== el.defaultValue;
}

/** What is typed into the view's open forms, by form id: the fields that differ from what each
 * form was drawn with (typed()). An open form that can be closed (the Edit form, named by its
 * button's aria-controls) is there even with nothing typed, so that it opens again. */
function typedForms() {
    const forms = {};
    for (const form of main.querySelectorAll('form[id]')) {
        if (form.hidden || !FORM_ID.test(form.id) || form.id === 'login-form')
            continue;
        const values = {};
        for (const el of form.elements)
            if (typed(el))
                values[el.name] = el.type === 'checkbox' ? el.checked : el.value;
        if (Object.keys(values).length || main.querySelector(`button[aria-controls="${form.id}"]`))
            forms[form.id] = values;
    }
    return forms;
}

function keepDraft() {
    const user = userId();
    if (!user || !ROUTE.test(state.shown ?? ''))
        return;
    const forms = Object.fromEntries(Object.entries(typedForms()).filter(([, values]) => Object.keys(values).length));
    // (Nothing typed: a draft kept by an earlier 401, whose view was not drawn since, stays.)
    if (Object.keys(forms).length)
        sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ user, route: state.shown, forms }));
}

function readDraft() {
    try {
        const d = JSON.parse(sessionStorage.getItem(DRAFT_KEY) ?? 'null');
        return d && typeof d === 'object' && typeof d.forms === 'object' && d.forms !== null ? d : null;
    } catch {
        return null;
    }
}

/** Fills the forms of the view just drawn with `forms` (typedForms()), opening a closed one by
 * its button; a field the form lacks, or a choice it no longer offers, is left as drawn. Returns
 * whether any field was filled. */
function fillForms(forms) {
    let back = false;
    for (const [id, values] of Object.entries(forms)) {
        const form = FORM_ID.test(id) ? document.getElementById(id) : null;
        if (!(form instanceof HTMLFormElement) || !main.contains(form) || typeof values !== 'object' || values === null)
            continue;
        if (form.hidden) // the Edit form: opened by its button, which says so (aria-expanded)
            main.querySelector(`button[aria-controls="${id}"]:not([disabled])`)?.click();
        if (form.hidden)
            continue;
        for (const [name, value] of Object.entries(values)) {
            const el = form.elements.namedItem(name);
            if (!isField(el) || el.disabled || el.type === 'password')
                continue;
            if (el.type === 'checkbox')
                el.checked = value === true;
            else if (el instanceof HTMLSelectElement && [...el.options].some(o => o.value === value))
                el.value = value;
            else if (!(el instanceof HTMLSelectElement) && typeof value === 'string')
                el.value = value;
            else
                continue; // a choice the form no longer offers
            // The form's own listeners see it as typed (the schedule form shows the kind's fields).
            el.dispatchEvent(new Event('input', { bubbles: true }));
            el.dispatchEvent(new Event('change', { bubbles: true }));
            back = true;
        }
    }
    return back;
}

/** Fills the view just drawn with the draft kept for it, if any, and drops the draft. */
function restoreDraft() {
    const d = readDraft();
    sessionStorage.removeItem(DRAFT_KEY);
    if (d && d.user === userId() && d.route === location.hash && fillForms(d.forms))
        say('What you had typed before the session ended is back in the form: it is not saved yet.');
}

/** Draws a view in main; its forms' drafts are kept for its route. */
function draw(...children) {
    replace(main, ...children);
    state.shown = location.hash;
}

/** Shows a fault as the API words it; a session that ended (fault 100: HTTP 401, or 500 from a
 * server run with --fault-status-500) sends the user to the login, which comes back here. */
function fault(e) {
    if (e instanceof ApiError && e.code === 100) {
        keepDraft();
        sessionStorage.removeItem(USER_KEY);
        sessionStorage.removeItem(`${USER_KEY}-id`);
        state.refs = false;
        rememberRoute(location.hash);
        go('#/login', 'Your session has ended: log in again.', 'error');
        return;
    }
    const code = e instanceof ApiError && e.code !== null && e.code !== undefined ? ` (fault ${e.code})` : '';
    // The server's words say "try again later"; its Retry-After says when.
    const wait = e instanceof ApiError && e.retryAfter !== null
        ? ` Try again in ${e.retryAfter} second${e.retryAfter === 1 ? '' : 's'}.` : '';
    say(`${e.message}${code}${wait}`, 'error');
}

// ---- references: schedules and stacks by id -------------------------------------------------

// The lists of schedules and stacks answer without a session too (the public ones only), so a
// session that ended would go unseen there: a route that needs one asks for it alongside.
async function loadRefs(force = false) {
    if (state.refs && !force)
        return;
    const [schedules, stacks] = await Promise.all([all('/schedules', 'schedules'), all('/blockstacks', 'stacks'),
                                                   api('GET', '/jobs?pagesize=1')]);
    state.schedules = new Map(schedules.map(s => [s.id, s]));
    state.stacks = new Map(stacks.map(s => [s.id, s]));
    state.refs = true;
}

const words = s => scheduleWords(s, localTime);
const scheduleName = id => {
    const s = state.schedules.get(id);
    return s ? words(s) : `schedule ${id}`;
};
/** A job's stack: its name; another user's (public) stack says its id and whose it is first, as
 * its stack choice does ("7 (user 3's, public): backup"), so a name ends the line. */
const stackName = id => {
    const s = state.stacks.get(id);
    if (!s)
        return `stack ${id}`;
    const key = stackKey(s);
    return key === String(s.id) ? s.name : `${key}: ${s.name}`;
};
const jobName = j => (j.name === null ? `(unnamed job ${j.id})` : j.name);

function jobState(j) {
    if (j.do_del)
        return h('span', { class: 'badge deleting' }, 'queued for deletion');
    return j.do_run ? h('span', { class: 'badge active' }, 'active') : h('span', { class: 'badge' }, 'inactive');
}

// ---- form helpers ---------------------------------------------------------------------------

let ids = 0;
/** A labelled field: the label names the control for screen readers and clicks. */
function field(label, control, hint) {
    const id = control.id || `f${++ids}`;
    control.id = id;
    return h('div', { class: 'field' }, h('label', { for: id }, label), control,
             hint ? h('small', {}, hint) : null);
}

/** A select `name` of the map's records, each "key: text" (`key` the id, or more about it);
 * `chosen` (an id) is offered even when the map lacks it, so that a form sends back what the
 * record has unless the user picks another. */
function selectOf(name, map, text, chosen, missing, key = x => String(x.id)) {
    const lost = chosen !== null && chosen !== undefined && !map.has(chosen);
    return h('select', { name, required: true },
        lost ? h('option', { value: chosen, selected: true }, `${chosen}: ${missing(chosen)}`) : null,
        [...map.values()].map(x => h('option', { value: x.id, selected: x.id === chosen }, `${key(x)}: ${text(x)}`)));
}

/** A stack choice's key: another user's (public) stack says whose before its name, which may be
 * one of the user's own names; the name still ends the line (docs/console.md). */
function stackKey(s) {
    return s.owner === userId() ? String(s.id) : `${s.id} (user ${s.owner}'s, public)`;
}

/** Loads the references again when a job names a stack or schedule they lack (made since). */
async function refsFor(jobs) {
    if (jobs.some(j => !state.stacks.has(j.stack) || !state.schedules.has(j.schedule)))
        await loadRefs(true);
}

/** What a page past the last says instead of its (empty) list, with a link to the last page. */
function pastEnd(what, base, pages) {
    return h('p', { class: 'none', id: 'past-end' }, `No ${what} on this page. `,
             h('a', { href: `${base}?page=${pages}` }, `Go to the last page (${pages})`));
}

/** Runs `fn` for a form's submit, with its button disabled meanwhile; faults are shown. */
function onSubmit(form, fn) {
    form.addEventListener('submit', async ev => {
        ev.preventDefault();
        const button = form.querySelector('button[type=submit]');
        if (button)
            button.disabled = true;
        try {
            await fn(form);
        } catch (e) {
            fault(e);
        } finally {
            if (button)
                button.disabled = false;
        }
    });
    return form;
}

/** Numbered page links: 1 … p-2 … p+2 … last. */
function pager(base, page, pages, label) {
    if (pages <= 1)
        return null;
    const want = new Set([1, pages]);
    for (let k = page - 2; k <= page + 2; k++)
        if (k >= 1 && k <= pages)
            want.add(k);
    const items = [];
    let last = 0;
    for (const k of [...want].sort((a, b) => a - b)) {
        if (k > last + 1)
            items.push(h('li', { class: 'gap', 'aria-hidden': 'true' }, '…'));
        items.push(h('li', {}, h('a', { href: `${base}?page=${k}`, 'aria-current': k === page ? 'page' : false,
                                        'aria-label': `page ${k}` }, String(k))));
        last = k;
    }
    return h('nav', { class: 'pager', 'aria-label': label }, h('ul', {}, items));
}

function table(caption, head, rows) {
    // Each cell names its column, for the narrow layout where rows become cards (app.css).
    for (const tr of rows)
        [...tr.children].forEach((td, i) => td.setAttribute('data-label', head[i] ?? ''));
    return h('div', { class: 'scroll' },
        h('table', {}, h('caption', {}, caption),
            h('thead', {}, h('tr', {}, head.map(x => h('th', { scope: 'col' }, x)))),
            h('tbody', {}, rows)));
}

// ---- views ----------------------------------------------------------------------------------

function viewLogin() {
    const user = h('input', { name: 'username', autocomplete: 'username', required: true });
    const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const form = h('form', { class: 'card login', id: 'login-form' },
        h('h2', {}, 'Log in'),
        field('User name', user),
        field('Password', pass),
        h('button', { type: 'submit' }, 'Log in'));
    onSubmit(form, async () => {
        const r = await api('POST', '/authenticate', { username: user.value, password: pass.value });
        sessionStorage.setItem(USER_KEY, user.value);
        sessionStorage.setItem(`${USER_KEY}-id`, String(r.user_id));
        if (readDraft()?.user !== r.user_id)
            sessionStorage.removeItem(DRAFT_KEY); // another user's: never shown to this one
        state.refs = false;
        const back = takeRoute();
        if (location.hash === back)
            route(); // the login was drawn at this address (no session yet): no hashchange comes
        go(back, '');
    });
    replace(main, form);
    state.shown = null;
    user.focus(); // wherever the login is drawn: on load, after an ended session, after Log out
}

async function viewJobs(page) {
    const gen = state.gen;
    await loadRefs();
    const p = await api('GET', `/jobs?page=${page}`);
    await refsFor(p.jobs);
    const pages = Math.max(1, Math.ceil(p.count / p.pagesize));
    const rows = p.jobs.map(j => h('tr', { 'data-job': j.id },
        h('td', { class: 'data' }, h('a', { href: `#/jobs/${j.id}`, class: 'job-name' }, jobName(j))),
        h('td', { class: 'data' }, scheduleName(j.schedule)),
        h('td', {}, j.do_run ? when(j.next_run) : h('span', { class: 'none' }, 'not scheduled')),
        h('td', {}, jobState(j))));
    if (gen !== state.gen)
        return; // a later navigation's view is on its way
    draw(
        h('h2', {}, 'Jobs'),
        h('p', { class: 'total', id: 'jobs-total' }, `${p.count} job${p.count === 1 ? '' : 's'} in all`,
          p.count && page <= pages ? `, page ${page} of ${pages}` : ''),
        rows.length ? table('Your jobs, in id order', ['Name', 'Schedule', 'Next run', 'State'], rows)
                    : page > 1 ? pastEnd('jobs', '#/jobs', pages) : h('p', { class: 'none' }, 'No jobs yet: create one below.'),
        pager('#/jobs', page, pages, 'Pages of jobs'),
        h('section', { 'aria-labelledby': 'tl-h' }, h('h3', { id: 'tl-h' }, 'Next 24 hours'),
          h('div', { class: 'scroll' }, timeline(p.jobs, state.schedules))),
        jobForm());
}

/** The form that creates a job (or, given one, edits it). */
function jobForm(job) {
    const name = h('input', { name: 'name', maxlength: 255, value: job ? job.name ?? '' : '' });
    // An edit always offers the job's own stack, listed or not (another user's stack made
    // private since, or no stack the page can list): the other fields can be changed all the
    // same. A new job needs a stack the page lists.
    const stack = selectOf('stack', state.stacks, s => s.name, job && job.stack, id => `stack ${id} (not in your list)`,
                         stackKey);
    const stacks = state.stacks.size > 0 || Boolean(job);
    const schedule = selectOf('schedule', state.schedules, s => (s.name && s.name !== words(s) ? `${s.name}, ` : '') + words(s),
                              job && job.schedule, scheduleName);
    const enabled = h('input', { type: 'checkbox', name: 'enabled', id: `f${++ids}` });
    const form = h('form', { class: 'card', id: job ? 'edit-job' : 'new-job' },
        h('h3', {}, job ? 'Edit' : 'New job'),
        field('Name', name, 'empty for none'),
        stacks ? field('Stack', stack, state.stacks.size ? null : 'the only one: create a stack (Stacks) to move the job')
               : h('p', { class: 'none' }, 'Create a stack first (Stacks).'),
        field('Schedule', schedule),
        job ? null : h('div', { class: 'check' }, enabled, h('label', { for: enabled.id }, 'Enabled: run on the schedule')),
        h('button', { type: 'submit', disabled: !stacks }, job ? 'Save' : 'Create job'));
    onSubmit(form, async () => {
        const body = {};
        const n = name.value === '' ? null : name.value;
        if (!job || n !== job.name)
            body.name = n;
        if (!job || Number(stack.value) !== job.stack)
            body.stack_id = Number(stack.value);
        if (!job || Number(schedule.value) !== job.schedule)
            body.schedule_id = Number(schedule.value);
        if (job) {
            await api('PUT', `/jobs/${job.id}`, body);
            say(`Job ${job.id} saved.`);
            await route();
        } else {
            body.enabled = enabled.checked;
            const r = await api('POST', '/jobs', body);
            go(`#/jobs/${r.id}`, `Job ${r.id} created.`);
        }
    });
    return form;
}

function runRow(r) {
    return h('tr', { 'data-run': r.id },
        h('td', {}, String(r.id)),
        h('td', {}, r.trigger),
        h('td', {}, h('span', { class: `badge run-${r.state}` }, r.state)),
        h('td', {}, when(r.slot)),
        h('td', {}, r.finished ? localTime(r.finished) : '-'),
        h('td', { class: 'data' }, r.message || '', r.output ? h('details', {}, h('summary', {}, 'output'),
                                                         h('pre', { class: 'output' }, r.output)) : null));
}

/** A page of a job's runs and its last run: the newest, the first of page 1, whichever page of
 * the history is shown. */
async function runsOf(id, page) {
    const [runs, newest] = await Promise.all([api('GET', `/jobs/${id}/runs?page=${page}`),
                                              page === 1 ? null : api('GET', `/jobs/${id}/runs?page=1&pagesize=1`)]);
    return { runs, last: (page === 1 ? runs : newest).runs[0] ?? null };
}

const unfinished = runs => runs.runs.some(r => r.state === 'pending' || r.state === 'running' || r.state === 'delivered');

function lastRun(last) {
    return last ? [h('span', { class: `badge run-${last.state}` }, last.state), ' ',
                   when(last.finished || last.started || last.created)] : 'none yet';
}

/** The run history: its count, a page of runs, the pages. */
function history(id, page, runs) {
    const pages = Math.max(1, Math.ceil(runs.count / runs.pagesize));
    return [h('p', { class: 'total' }, `${runs.count} run${runs.count === 1 ? '' : 's'} kept`),
        runs.runs.length ? table('Runs, newest first', ['Run', 'Trigger', 'State', 'Slot', 'Finished', 'Message'], runs.runs.map(runRow))
                         : page > 1 ? pastEnd('runs', `#/jobs/${id}`, pages) : h('p', { class: 'none' }, 'No runs yet.'),
        pager(`#/jobs/${id}`, page, pages, 'Pages of runs')];
}

async function viewJob(id, page) {
    const gen = state.gen;
    await loadRefs();
    const [job, { runs, last }] = await Promise.all([api('GET', `/jobs/byid/${id}`), runsOf(id, page)]);
    await refsFor([job]);
    const act = (label, fn, attrs = {}) => h('button', { type: 'button', disabled: job.do_del, ...attrs, onclick: async ev => {
        ev.currentTarget.disabled = true;
        const at = location.hash;
        try {
            await fn();
        } catch (e) {
            fault(e);
        }
        // A navigation meanwhile (Delete's to the jobs, an ended session's to the login) draws
        // its view on its hashchange: drawing it here too drew the login twice. The view is
        // drawn again whole, with what the server holds now; an open Edit form opens again in
        // it with what was typed into it (it closed, and the typing was lost).
        if (location.hash !== at)
            return;
        await route(false, typedForms());
        // The clicked button went with the old view: the keyboard's focus goes to the one in
        // its place (Enable's partner Disable, and back; Run now again), not to the page.
        const next = { enable: 'disable', disable: 'enable' }[attrs.id];
        for (const id of [next, attrs.id]) {
            const b = id ? document.getElementById(id) : null;
            if (b instanceof HTMLButtonElement && !b.disabled && main.contains(b)) {
                b.focus();
                break;
            }
        }
    } }, label);
    const confirm = h('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Confirm deletion' },
        h('span', {}, job.do_run ? 'The job is active: it will be deleted at its next run instead of running. '
                                 : 'The job is inactive: it will be deleted now. '),
        act('Delete the job', async () => {
            const r = await api('DELETE', `/jobs/${id}`);
            if (r.deleted) {
                go('#/jobs', `Job ${id} deleted.`);
            } else {
                say(`Job ${id} is queued for deletion.`);
            }
        }, { class: 'danger', id: 'confirm-delete' }),
        h('button', { type: 'button', onclick: () => { confirm.hidden = true; } }, 'Cancel'));
    const edit = jobForm(job);
    edit.hidden = true;
    if (gen !== state.gen)
        return; // a later navigation's view is on its way
    draw(
        h('p', {}, h('a', { href: '#/jobs' }, '← Jobs')),
        h('h2', { id: 'job-name' }, jobName(job)),
        job.do_del ? h('p', { class: 'deleting-note', id: 'deleting' }, 'Queued for deletion: it goes at ',
                       when(job.next_run), ' instead of running.') : null,
        h('dl', { class: 'facts' },
            h('dt', {}, 'Id'), h('dd', {}, String(job.id)),
            h('dt', {}, 'State'), h('dd', { id: 'job-state' }, jobState(job)),
            h('dt', {}, 'Stack'), h('dd', { id: 'job-stack' }, stackName(job.stack)),
            h('dt', {}, 'Schedule'), h('dd', { id: 'job-schedule' }, scheduleName(job.schedule)),
            h('dt', {}, 'Next run'), h('dd', { id: 'job-next' }, job.do_run ? when(job.next_run) : 'not scheduled (inactive)'),
            h('dt', {}, 'Last run'), h('dd', { id: 'job-last' }, lastRun(last))),
        h('div', { class: 'actions' },
            job.do_run ? act('Disable', () => api('PUT', `/jobs/${id}`, { enabled: false }), { id: 'disable' })
                       : act('Enable', () => api('PUT', `/jobs/${id}`, { enabled: true }), { id: 'enable' }),
            act('Run now', async () => {
                const r = await api('POST', `/jobs/${id}/run`);
                say(`Run ${r.run} made: the next tick delivers it.`);
            }, { id: 'run-now' }),
            h('button', { type: 'button', disabled: job.do_del, id: 'edit', 'aria-expanded': 'false', 'aria-controls': 'edit-job',
                          onclick: ev => {
                              edit.hidden = !edit.hidden;
                              ev.currentTarget.setAttribute('aria-expanded', String(!edit.hidden));
                          } }, 'Edit'),
            h('button', { type: 'button', class: 'danger', disabled: job.do_del, id: 'delete',
                          onclick: () => { confirm.hidden = false; confirm.querySelector('button').focus(); } }, 'Delete')),
        confirm,
        edit,
        h('h3', {}, 'Run history'),
        h('div', { id: 'history' }, history(id, page, runs)));
    // While a run is on its way, look again (bounded: a run without a runner stays delivered).
    if (unfinished(runs))
        schedulePoll(id, page);
}

function schedulePoll(id, page) {
    const hash = location.hash;
    const n = state.poll && state.poll.hash === hash ? state.poll.n + 1 : 1;
    if (n > 30)
        return;
    const timer = setTimeout(() => {
        if (location.hash !== hash)
            return;
        // An open form or confirmation stays as the user left it: only the runs are drawn again.
        if (main.querySelector('form:focus-within, #edit-job:not([hidden]), .confirm:not([hidden])'))
            pollRuns(id, page);
        else
            route(true);
    }, 2000);
    state.poll = { hash, n, timer };
}

async function pollRuns(id, page) {
    const gen = state.gen;
    try {
        const { runs, last } = await runsOf(id, page);
        if (gen !== state.gen)
            return; // a navigation or an action drew the view meanwhile
        replace(document.getElementById('history'), history(id, page, runs));
        replace(document.getElementById('job-last'), lastRun(last));
        if (unfinished(runs))
            schedulePoll(id, page);
    } catch (e) {
        fault(e);
    }
}

async function viewStacks(page) {
    const gen = state.gen;
    await loadRefs(true);
    const p = await api('GET', `/blockstacks?page=${page}`);
    const pages = Math.max(1, Math.ceil(p.count / p.pagesize));
    const me = userId();
    const name = h('input', { name: 'name', required: true, maxlength: 255 });
    const pub = h('input', { type: 'checkbox', name: 'public', id: `f${++ids}` });
    const form = onSubmit(h('form', { class: 'card', id: 'new-stack' }, h('h3', {}, 'New stack'),
        field('Name', name),
        h('div', { class: 'check' }, pub, h('label', { for: pub.id }, 'Public: every user may use it')),
        h('button', { type: 'submit' }, 'Create stack')), async () => {
        const r = await api('POST', '/blockstacks', { name: name.value, public: pub.checked });
        say(`Stack ${r.id} created.`);
        await route();
    });
    if (gen !== state.gen)
        return; // a later navigation's view is on its way
    draw(h('h2', {}, 'Stacks'),
        h('p', { class: 'total' }, `${p.count} stack${p.count === 1 ? '' : 's'} you can use`),
        p.stacks.length ? table('Stacks: yours and the public ones', ['Id', 'Name', 'Owner', 'Public', 'Your jobs'],
            p.stacks.map(s => h('tr', {}, h('td', {}, String(s.id)), h('td', { class: 'data' }, s.name),
                h('td', {}, s.owner === me ? 'you' : `user ${s.owner}`), h('td', {}, s.public ? 'yes' : 'no'),
                h('td', {}, Array.isArray(s.jobs) ? String(s.jobs.length) : '-'))))
            : page > 1 ? pastEnd('stacks', '#/stacks', pages) : h('p', { class: 'none' }, 'No stacks yet.'),
        pager('#/stacks', page, pages, 'Pages of stacks'), form);
}

function zones() {
    try {
        return Intl.supportedValuesOf('timeZone');
    } catch {
        return ['UTC', 'Europe/Berlin'];
    }
}

async function viewSchedules(page) {
    const gen = state.gen;
    await loadRefs(true);
    const p = await api('GET', `/schedules?page=${page}`);
    const pages = Math.max(1, Math.ceil(p.count / p.pagesize));
    const name = h('input', { name: 'name', maxlength: 255 });
    const kind = h('select', { name: 'kind' }, h('option', { value: 'period' }, 'periodic'),
                   h('option', { value: 'cron' }, 'cron'), h('option', { value: 'once' }, 'once'));
    const minutes = h('input', { type: 'number', min: 1, max: 525600, value: 60, name: 'minutes' });
    const cron = h('input', { name: 'cron', value: '30 2 * * *', spellcheck: 'false' });
    const tz = h('input', { name: 'tz', list: 'zones', value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
    const at = h('input', { type: 'datetime-local', name: 'at', 'aria-describedby': 'at-error' });
    // An empty or unreadable "At" is refused here, on the field, and nothing is sent (it went
    // as timestamp 0, which the server refused in words about timestamps).
    const atError = h('p', { class: 'field-error', id: 'at-error', hidden: true });
    const atWrong = text => {
        replace(atError, text);
        atError.hidden = !text;
        if (text)
            at.setAttribute('aria-invalid', 'true');
        else
            at.removeAttribute('aria-invalid');
    };
    at.addEventListener('input', () => atWrong(''));
    const parts = {
        period: field('Every (minutes)', minutes),
        cron: h('div', {}, field('Cron expression', cron, 'minute hour day-of-month month day-of-week'),
                field('Time zone', tz, 'an IANA name, e.g. Europe/Berlin')),
        once: h('div', {}, field('At (your local time)', at), atError),
    };
    const show = () => { for (const [k, el] of Object.entries(parts)) el.hidden = k !== kind.value; };
    kind.addEventListener('change', show);
    show();
    const form = onSubmit(h('form', { class: 'card', id: 'new-schedule' }, h('h3', {}, 'New schedule'),
        field('Name', name, 'empty for none'), field('Kind', kind), Object.values(parts),
        h('datalist', { id: 'zones' }, zones().map(z => h('option', { value: z }))),
        h('button', { type: 'submit' }, 'Create schedule')), async () => {
        const body = { name: name.value === '' ? null : name.value, once: kind.value === 'once' };
        if (kind.value === 'period')
            body.config = { period: Math.round(Number(minutes.value) * 60) };
        else if (kind.value === 'cron')
            body.config = { cron: cron.value, tz: tz.value };
        else {
            const ms = at.value === '' ? NaN : new Date(at.value).getTime();
            if (!Number.isFinite(ms)) {
                atWrong(at.value === '' ? 'Give the date and time of the one run, all of it: day, month, year, hour and minute.'
                                        : `"${at.value}" is no date and time the browser can read: give another.`);
                at.focus();
                return;
            }
            atWrong('');
            body.config = { timestamp: Math.floor(ms / 1000) };
        }
        const r = await api('POST', '/schedules', body);
        say(`Schedule ${r.id} created.`);
        await route();
    });
    if (gen !== state.gen)
        return; // a later navigation's view is on its way
    const me = userId();
    draw(h('h2', {}, 'Schedules'),
        h('p', { class: 'total' }, `${p.count} schedule${p.count === 1 ? '' : 's'}: the built-in ones and yours`),
        p.schedules.length || page === 1 ? table('Schedules', ['Id', 'Name', 'When', 'Owner', 'Actions'], p.schedules.map(s => h('tr', { 'data-schedule': s.id },
            h('td', {}, String(s.id)), h('td', { class: 'data' }, s.name ?? '-'), h('td', { class: 'data' }, words(s)),
            h('td', {}, s.owner === 0 ? 'built in' : s.owner === me ? 'you' : `user ${s.owner}`),
            // Public schedules cannot be deleted (fault 111): only the user's own offer Delete.
            h('td', {}, s.owner === me && s.owner !== 0 ? scheduleDelete(s) : null))))
            : pastEnd('schedules', '#/schedules', pages),
        pager('#/schedules', page, pages, 'Pages of schedules'), form);
}

/** A schedule's Delete: asks first, in the page, as a job's Delete does; then deletes it, drops
 * it from the page's list of schedules (the job forms' choices) and draws the list again. A
 * schedule a job uses is refused (409, fault 27): the server's message is shown and nothing
 * changes. One gone meanwhile (404) leaves the lists too. */
function scheduleDelete(s) {
    const open = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete schedule ${s.id}`,
                               'aria-expanded': 'false', onclick: () => {
                                   confirm.hidden = false;
                                   open.setAttribute('aria-expanded', 'true');
                                   yes.focus();
                               } }, 'Delete');
    const close = () => {
        confirm.hidden = true;
        open.setAttribute('aria-expanded', 'false');
    };
    const yes = h('button', { type: 'button', class: 'danger', onclick: async () => {
        yes.disabled = true;
        const at = location.hash;
        let gone = false;
        try {
            const r = await api('DELETE', `/schedules/${s.id}`);
            say(`Schedule ${r.deleted} deleted.`);
            gone = true;
        } catch (e) {
            fault(e);
            gone = e instanceof ApiError && e.status === 404;
        }
        yes.disabled = false;
        if (location.hash !== at)
            return; // an ended session's login is on its way
        if (!gone) {
            close();
            open.focus();
            return;
        }
        state.schedules.delete(s.id);
        await route();
        main.focus(); // the clicked button went with its row
    } }, 'Delete the schedule');
    const confirm = h('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': `Confirm deletion of schedule ${s.id}` },
        h('span', {}, `Schedule ${s.id} will be deleted now. `), yes,
        h('button', { type: 'button', onclick: () => { close(); open.focus(); } }, 'Cancel'));
    return [open, confirm];
}

// ---- routing --------------------------------------------------------------------------------

function parseHash() {
    const [path, query] = location.hash.replace(/^#/, '').split('?');
    const page = Math.max(1, Number(new URLSearchParams(query || '').get('page')) || 1);
    return { parts: (path || '/jobs').split('/').filter(Boolean), page };
}

/** A job id of the fragment: 1 to 2^53-1 in decimal digits, as the API takes ids, else null.
 * (Number() alone read "0x2" as 2, "2e0" as 2, and 2^53+1 as 2^53: a view, and its Delete, of
 * another job than the address names.) */
function jobId(s) {
    const n = /^\d{1,16}$/.test(s) ? Number(s) : 0;
    return n >= 1 && n <= Number.MAX_SAFE_INTEGER ? n : null;
}

/** Draws the view of the address. `forms` (typedForms() of the view drawn before, at the same
 * address) are filled in again once it is drawn, as a kept draft is, but without its notice. */
async function route(polling = false, forms = null) {
    state.gen++;
    if (state.poll && !polling) {
        clearTimeout(state.poll.timer);
        state.poll = null;
    }
    const user = sessionStorage.getItem(USER_KEY);
    const { parts, page } = parseHash();
    document.getElementById('nav').hidden = !user;
    document.getElementById('who').hidden = !user;
    document.getElementById('user').textContent = user ? `Logged in as ${user}` : '';
    for (const a of document.querySelectorAll('#nav a'))
        a.toggleAttribute('aria-current', a.dataset.section === parts[0]);
    if (!user || parts[0] === 'login') {
        if (user) {
            location.hash = '#/jobs';
        } else {
            rememberRoute(location.hash); // an address opened without a session
            viewLogin();
        }
        return;
    }
    const gen = state.gen;
    try {
        if (parts[0] === 'jobs' && parts[1] && jobId(parts[1]) === null)
            throw new Error(`"${parts[1]}" is no job id: ids are 1 to 2^53-1, in decimal digits.`);
        if (parts[0] === 'jobs' && parts[1])
            await viewJob(jobId(parts[1]), page);
        else if (parts[0] === 'stacks')
            await viewStacks(page);
        else if (parts[0] === 'schedules')
            await viewSchedules(page);
        else
            await viewJobs(page);
        if (gen === state.gen && state.shown === location.hash) {
            restoreDraft();
            if (forms)
                fillForms(forms);
        }
    } catch (e) {
        fault(e);
        // The view could not be made: what main shows is another view's (or nothing), so it
        // goes, unless a later navigation is already drawing, or the login comes.
        if (gen === state.gen && location.hash !== '#/login')
            replace(main, h('p', { class: 'none', id: 'view-fault' }, 'This view could not be shown: see the message above. '),
                    h('p', {}, h('a', { href: '#/jobs' }, '← Jobs')));
    }
}

document.getElementById('logout').addEventListener('click', async () => {
    try {
        await api('POST', '/logout');
    } catch (e) {
        if (!(e instanceof ApiError && e.code === 100)) // already ended: logged out all the same
            return fault(e);
    }
    sessionStorage.removeItem(USER_KEY);
    sessionStorage.removeItem(`${USER_KEY}-id`);
    sessionStorage.removeItem(BACK_KEY);
    sessionStorage.removeItem(DRAFT_KEY);
    state.refs = false;
    go('#/login', 'Logged out.');
});

// "Skip to content" moves the focus to the view: as a plain link to #main it changed the
// fragment, which is the route, and so drew the jobs list in place of the view it skipped to.
document.querySelector('.skip').addEventListener('click', ev => {
    ev.preventDefault();
    main.focus();
});

window.addEventListener('hashchange', () => {
    // The notice said for this navigation (go()) stays; any other goes with the view it was for.
    if (location.hash !== keep)
        say('');
    keep = null;
    // The focus goes to the view, before it is drawn: the login, drawn at once by route(), then
    // gives it to its user name field (focused after route(), main took it from the field).
    main.focus();
    route();
});
setInterval(refreshTimes, 30000);
route();
