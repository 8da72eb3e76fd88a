// The console in a real browser (ctest console_browser): starts jobs-server on a free port of
// 127.0.0.1 with a temporary data directory and a --run-command that succeeds, drives the console
// in Debian's headless Chromium, and stops both. Fails on any console error, page error, CSP
// violation or dialog that a step did not expect. Screenshots of each view go to SHOT-DIR.
// Usage: node console.mjs JOBS-SERVER CHROMIUM SHOT-DIR
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { chromium } from 'playwright-core';

const [serverPath, chromiumPath, shots] = process.argv.slice(2);
if (!serverPath || !chromiumPath || !shots) {
    console.error('usage: node console.mjs JOBS-SERVER CHROMIUM SHOT-DIR');
    process.exit(2);
}
mkdirSync(shots, { recursive: true });
for (const f of readdirSync(shots))
    if (f.endsWith('.png'))
        rmSync(join(shots, f)); // this run's screenshots only
const XSS = '<img src=x onerror=alert(1)>';
const PASSWORD = 'console-secret';
const T = 30000; // a generous bound for each wait (the ASan server is slow), not a timing check

let failures = 0;
function check(ok, what) {
    console.log(`${ok ? 'ok' : 'FAIL'}: ${what}`);
    if (!ok)
        failures++;
}

// ---- the server -----------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'jobs-console-'));
const script = join(dir, 'run.sh');
writeFileSync(script, '#!/bin/sh\necho "run $JOBS_RUN_ID of job $JOBS_JOB_ID"\nexit 0\n');
chmodSync(script, 0o755);
/** Starts jobs-server with its own data directory `name` and `args` besides; resolves to
 * { server, exited, base } once it listens. */
async function start(name, args) {
    const server = spawn(serverPath, ['--listen', '127.0.0.1:0', '--data', join(dir, name), '--access-log', 'off', ...args],
                         { env: { ...process.env, JOBS_DEMO_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise(resolve => server.on('exit', (code, signal) => resolve({ code, signal })));
    const base = await new Promise((resolve, reject) => {
        const rl = createInterface({ input: server.stdout });
        rl.on('line', line => {
            const m = /^listening on (http:\/\/\S+)/.exec(line);
            if (m)
                resolve(m[1]);
        });
        server.on('exit', code => reject(new Error(`jobs-server exited (${code}) before listening`)));
    });
    return { server, exited, base };
}
const { server, exited, base } = await start('data', ['--run-command', script]);
console.log(`jobs-server at ${base}`);

// ---- the browser ----------------------------------------------------------------------------

const browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
                                        args: ['--no-sandbox', '--disable-gpu'] });
const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, locale: 'en-GB',
                                           timezoneId: 'Europe/Berlin' });
const page = await context.newPage();
page.setDefaultTimeout(T);
const errors = [];
// A step that provokes faults allows the browser's "Failed to load" line of each: one status
// pushed per failing request.
const expectFaults = [];
page.on('console', m => {
    if (m.type() !== 'error')
        return;
    const i = expectFaults.findIndex(s => new RegExp(`status of ${s}\\b`).test(m.text()));
    if (i >= 0) {
        expectFaults.splice(i, 1);
        return;
    }
    errors.push(`console: ${m.text()}`);
});
page.on('pageerror', e => errors.push(`page error: ${e.message}`));
page.on('dialog', d => {
    errors.push(`dialog: ${d.type()} ${d.message()}`);
    d.dismiss().catch(() => {});
});
// CSP violations are console errors in Chromium; the event makes sure of it.
await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', e =>
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
});
let other = null; // the second server, --fault-status-500
const apiCalls = [];
page.on('request', r => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/ui/') && u.pathname !== '/')
        apiCalls.push(`${r.method()} ${u.pathname}${u.search}`);
});
// The test's own requests to the server (not the page's). jobs-server closes a connection idle
// for 2 s (keep_alive_timeout_ms); Node's fetch keeps it in its pool longer, and a request sent
// on it as the server closes it fails with "other side closed" (UND_ERR_SOCKET) before any
// answer: such a request never reached a handler, and is sent once more, on a new connection.
async function serverFetch(url, init) {
    try {
        return await fetch(url, init);
    } catch (e) {
        if (e.cause?.code !== 'UND_ERR_SOCKET')
            throw e;
        return fetch(url, init);
    }
}
const shot = async name => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
const text = async sel => (await page.locator(sel).first().textContent()) ?? '';
const notice = () => text('#notice');

try {
    // Log in, with the keyboard only.
    const first = await page.goto(base + '/');
    check(first.status() === 200 && first.headers()['content-security-policy'].includes("script-src 'self'"),
          'GET / answers the page with its Content-Security-Policy');
    // No plugin content (object-src 'none'), and every header line whole after the longer CSP.
    const csp = first.headers()['content-security-policy'];
    check(csp.split('; ').includes("object-src 'none'") && csp.endsWith("form-action 'self'")
          && first.headers()['referrer-policy'] === 'no-referrer' && /^"[0-9a-f]{16}"$/.test(first.headers().etag),
          `the CSP has object-src 'none', and the header lines after it are whole: ${csp}`);
    await page.locator('#login-form').waitFor();
    await shot('login');
    await page.keyboard.type('demo');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.locator('#jobs-total').waitFor();
    check((await text('#jobs-total')).startsWith('0 jobs'), 'logged in: the jobs list, empty');

    // A stack.
    // (Each step waits for its view's own form: a hash change renders the view asynchronously.)
    await page.goto(base + '/#/stacks');
    const newStack = page.locator('#new-stack');
    await newStack.getByLabel('Name').fill('backup');
    await newStack.getByRole('button', { name: 'Create stack' }).click();
    await page.locator('td', { hasText: 'backup' }).waitFor();
    check((await notice()).includes('Stack 1 created'), 'a stack is created');
    await shot('stacks');

    // "Skip to content" moves the focus to the view and leaves the route (the fragment) alone:
    // as a plain link to #main it made the fragment #main, which drew the jobs list instead.
    await page.locator('.skip').focus();
    await page.keyboard.press('Enter');
    check(await page.evaluate(() => location.hash === '#/stacks' && document.activeElement.id === 'main'),
          `"Skip to content" focuses the view and stays on it: ${await page.evaluate(() => location.hash)}`);

    // Schedules: a fault shown as the API words it, then a cron schedule in words.
    await page.goto(base + '/#/schedules');
    const newSchedule = page.locator('#new-schedule');
    await newSchedule.getByLabel('Kind').selectOption('cron');
    await newSchedule.getByLabel('Cron expression').fill('30 25 * * *');
    await newSchedule.getByLabel('Time zone').fill('Europe/Berlin');
    expectFaults.push(400);
    await newSchedule.getByRole('button', { name: 'Create schedule' }).click();
    await page.locator('#notice .error').waitFor();
    check((await notice()).includes("cron: field 2 (hour) '25' is outside 0-23 (fault 26)"),
          `a fault shows the API's message: ${await notice()}`);
    await newSchedule.getByLabel('Name').fill('berlin nights');
    await newSchedule.getByLabel('Cron expression').fill('30 2 * * *');
    await newSchedule.getByRole('button', { name: 'Create schedule' }).click();
    await page.locator('td', { hasText: 'berlin nights' }).waitFor();
    check(await page.locator('tr', { hasText: 'berlin nights' }).locator('td', { hasText: 'at 02:30 Europe/Berlin, daily' }).count() === 1,
          'a cron schedule in words: at 02:30 Europe/Berlin, daily');
    check((await page.locator('tbody tr').nth(1).textContent()).includes('every 5 minutes'),
          'a periodic schedule in words: every 5 minutes');
    await shot('schedules');

    // A one-time schedule without its moment is refused on the field, and nothing is sent (it
    // went as timestamp 0, and the server's refusal spoke of timestamps).
    await newSchedule.getByLabel('Kind').selectOption('once');
    apiCalls.length = 0;
    await newSchedule.getByRole('button', { name: 'Create schedule' }).click();
    await page.locator('#at-error:not([hidden]), #notice .error').first().waitFor();
    check(await page.locator('#at-error').isVisible() && (await text('#at-error')).startsWith('Give the date and time')
          && await newSchedule.getByLabel('At (your local time)').getAttribute('aria-invalid') === 'true'
          && await page.evaluate(() => document.activeElement.name === 'at')
          && !apiCalls.some(c => c.startsWith('POST /schedules')) && !(await notice()).includes('fault'),
          `an empty "At" is refused on the field: ${await text('#at-error').catch(() => '')} / ${await notice()} / ${apiCalls.join(', ')}`);
    await newSchedule.getByLabel('Name').fill('new year');
    await newSchedule.getByLabel('At (your local time)').fill('2030-01-02T03:04');
    check(!(await page.locator('#at-error').isVisible().catch(() => false)), 'the message goes when the field is typed in');
    await newSchedule.getByRole('button', { name: 'Create schedule' }).click();
    await page.locator('td', { hasText: 'new year' }).waitFor();
    check((await page.locator('tr', { hasText: 'new year' }).textContent()).includes('once, at 2 Jan 2030, 03:04'),
          `a one-time schedule is made at the local time typed: ${await page.locator('tr', { hasText: 'new year' }).textContent()}`);

    // The timeline's cron slots follow the library's daylight-saving rules (docs/schedules.md):
    // Berlin's clocks go forward on 2027-03-28 at 01:00 UTC and back on 2027-10-31 at 01:00 UTC.
    const dst = await page.evaluate(async () => {
        const { runsWithin, cronWords } = await import('/ui/schedule.js');
        const at = iso => Date.parse(iso) / 1000;
        const hhmm = ts => ts.map(t => new Date(t * 1000).toISOString().slice(11, 16)).join(' ');
        const slots = (cron, first, until, tz = 'Europe/Berlin') => runsWithin({ do_run: true, do_del: false, next_run: at(first) },
            { once: false, config: { cron, tz } }, at(first), at(until));
        return {
            // Minutes of an hour name the zone when its hours do not begin with UTC's.
            kolkata: cronWords('0 * * * *', 'Asia/Kolkata'),
            berlin: cronWords('5 * * * *', 'Europe/Berlin'),
            // "5/2" in day of week is Friday alone ('*' there is 0-6): 2027-01-01 is a Friday.
            fridays: slots('0 12 * * 5/2', '2027-01-01T12:00Z', '2027-01-15T12:01Z', 'UTC')
                .map(t => new Date(t * 1000).toISOString().slice(0, 10)).join(' '),
            gap: hhmm(slots('30 * * * *', '2027-03-28T00:30Z', '2027-03-28T02:31Z')),
            again: hhmm(slots('*/15 1-3 * * *', '2027-10-30T23:00Z', '2027-10-31T02:01Z')),
            everyQuarter: hhmm(slots('*/15 * * * *', '2027-10-31T00:00Z', '2027-10-31T02:01Z')),
        };
    });
    check(dst.gap === '00:30 01:00 01:30 02:30', `the missing 02:30 runs at 03:00 CEST (01:00 UTC): ${dst.gap}`);
    check(dst.again === '23:00 23:15 23:30 23:45 00:00 00:15 00:30 00:45 02:00',
          `the repeated 02:xx runs once, at its first occurrence: ${dst.again}`);
    check(dst.everyQuarter === '00:00 00:15 00:30 00:45 01:00 01:15 01:30 01:45 02:00',
          `*/15 * runs through both 02:xx: ${dst.everyQuarter}`);
    check(dst.kolkata === 'at minute 0 of every hour Asia/Kolkata' && dst.berlin === 'at minute 5 of every hour',
          `minutes of the hour, with the zone when its hours are offset: ${dst.kolkata} / ${dst.berlin}`);
    check(dst.fridays === '2027-01-01 2027-01-08 2027-01-15', `0 12 * * 5/2 runs on Fridays only: ${dst.fridays}`);

    // A job: created inactive, listed, enabled, run now, its run in the history.
    await page.goto(base + '/#/jobs');
    await page.locator('#new-job').getByLabel('Name').fill('nightly');
    await page.locator('#new-job').getByLabel('Schedule', { exact: true }).selectOption('4');
    await page.locator('#new-job').getByRole('button', { name: 'Create job' }).click();
    await page.locator('#job-name').waitFor();
    check((await text('#job-name')) === 'nightly', 'the new job is shown');
    check((await notice()).includes('Job 1 created'), 'the notice stays for the view it opened');
    await page.goto(base + '/#/jobs');
    await page.locator('a.job-name', { hasText: 'nightly' }).waitFor();
    // (within a second of it: a notice was kept for a second, whatever came next)
    check((await notice()) === '', `the notice goes with the next navigation: ${await notice()}`);
    check((await text('#jobs-total')).startsWith('1 job in all'), 'the job is listed, with the total');
    check((await page.locator('tr[data-job="1"]').textContent()).includes('every hour'), 'its schedule in words');
    await page.locator('a.job-name', { hasText: 'nightly' }).click();
    await page.locator('#enable').click();
    await page.locator('#disable').waitFor();
    check((await text('#job-state')) === 'active', 'enabled: active');
    check(/\(in (59 min|1 h)\)/.test(await text('#job-next')), `next run in local time and relative: ${await text('#job-next')}`);
    await page.locator('#run-now').click();
    await page.locator('tr[data-run] .run-succeeded').waitFor({ timeout: 60000 });
    check((await page.locator('tr[data-run]').first().textContent()).includes('manual'), 'the manual run is in the history');
    check((await text('#job-last')).includes('succeeded'), 'last run: succeeded');
    check((await page.locator('tr[data-run] pre.output').first().textContent()) === 'run 1 of job 1\n',
          "the run's output is kept and shown");
    await shot('job');

    // Edit: a new name, sent alone.
    await page.locator('#edit').click();
    await page.locator('#edit-job').getByLabel('Name').fill('nightly backup');
    await page.locator('#edit-job').getByRole('button', { name: 'Save' }).click();
    await page.locator('#job-name', { hasText: 'nightly backup' }).waitFor();
    check((await notice()).includes('Job 1 saved'), 'edited: the new name is shown');

    // More jobs, enabled, for the timeline: a cron one and a periodic one.
    for (const [name, schedule] of [['berlin', '6'], ['quarterly', '3']]) {
        await page.goto(base + '/#/jobs');
        await page.locator('#new-job').getByLabel('Name').fill(name);
        await page.locator('#new-job').getByLabel('Schedule', { exact: true }).selectOption(schedule);
        await page.locator('#new-job').getByLabel('Enabled').check();
        await page.locator('#new-job').getByRole('button', { name: 'Create job' }).click();
        await page.locator('#job-name', { hasText: name }).waitFor();
    }
    // Disable and enable again.
    await page.locator('#disable').click();
    await page.locator('#enable').waitFor();
    check((await text('#job-state')) === 'inactive' && (await text('#job-next')).includes('not scheduled'),
          'disabled: inactive, not scheduled');
    // The keyboard's focus goes to the button in the clicked one's place, not to the page.
    const focusOn = id => page.waitForFunction(want => document.activeElement?.id === want, id, { timeout: 5000 })
        .then(() => true, () => false);
    check(await focusOn('enable'), 'after Disable the focus is on Enable');
    await page.locator('#enable').click();
    await page.locator('#disable').waitFor();
    check((await text('#job-state')) === 'active', 'enabled again');
    check(await focusOn('disable'), 'after Enable the focus is on Disable');

    // Enable, Disable and Run now draw the job's view again, with what the server holds: an open
    // Edit form is open again in it, with what was typed (it closed, and the typing was lost),
    // and a field not typed in shows the job as it is now (its schedule, changed meanwhile
    // behind the page's back), as the facts do.
    const jobPath = `/jobs/${(await page.evaluate(() => location.hash)).split('/')[2]}`;
    const putJob = body => page.evaluate(([path, b]) => fetch(path, { method: 'PUT', body: JSON.stringify(b),
        headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'jobs-console' } }).then(r => r.status), [jobPath, body]);
    const editForm = page.locator('#edit-job');
    const editOpen = async () => ({ open: await editForm.isVisible() && await page.locator('#edit').getAttribute('aria-expanded') === 'true',
                                    name: await editForm.getByLabel('Name').inputValue(),
                                    schedule: await editForm.getByLabel('Schedule', { exact: true }).inputValue() });
    await page.locator('#edit').click();
    await editForm.getByLabel('Name').fill('quarterly, typed');
    check(await putJob({ schedule_id: 2 }) === 200, 'the schedule is changed behind the page');
    await page.locator('#disable').click();
    await page.locator('#enable').waitFor();
    let form = await editOpen();
    check(form.open && form.name === 'quarterly, typed' && form.schedule === '2' && (await text('#job-state')) === 'inactive'
          && (await text('#job-schedule')) === 'every 5 minutes' && !(await notice()).includes('session'),
          `Disable keeps the open Edit form and its typing; the schedule not typed in is the server's: ${JSON.stringify(form)} / ${await notice()}`);
    await page.evaluate(() => document.getElementById('job-name').setAttribute('data-before', ''));
    await page.locator('#run-now').click();
    await page.locator('#job-name:not([data-before])').waitFor();
    form = await editOpen();
    check(form.open && form.name === 'quarterly, typed' && /^Run \d+ made/.test(await notice()),
          `Run now keeps the open Edit form and its typing: ${JSON.stringify(form)} / ${await notice()}`);
    if (form.open)
        await editForm.getByLabel('Schedule', { exact: true }).selectOption('3');
    await page.locator('#enable').click();
    await page.locator('#disable').waitFor();
    form = await editOpen();
    check(form.open && form.name === 'quarterly, typed' && form.schedule === '3' && (await text('#job-state')) === 'active',
          `Enable keeps the open Edit form and its typing: ${JSON.stringify(form)}`);
    // Closed, the form is given up: the next redraw leaves it closed.
    await page.locator('#edit').click();
    await page.locator('#disable').click();
    await page.locator('#enable').waitFor();
    check(!(await editForm.isVisible()), 'a closed Edit form stays closed when the view is drawn again');
    await page.locator('#enable').click();
    await page.locator('#disable').waitFor();
    check(await putJob({ schedule_id: 3 }) === 200, 'the schedule is put back');

    // Delete the active job: queued, shown with when it goes.
    await page.goto(base + '/#/jobs/1');
    await page.locator('#job-name', { hasText: 'nightly backup' }).waitFor();
    await page.locator('#delete').click();
    await page.locator('#confirm-delete').click();
    await page.locator('#deleting').waitFor();
    check((await text('#deleting')).startsWith('Queued for deletion: it goes at'), `queued for deletion: ${await text('#deleting')}`);
    check((await text('#job-state')) === 'queued for deletion', 'its state says so');
    await shot('deleting');

    // Deleting a schedule: only the user's own offer Delete (the public, built-in ones cannot be
    // deleted); it asks first, in the page; the schedule then leaves the list and the job form's
    // choices (the page's own list of schedules, loaded once after login). One a job uses is
    // refused with the server's message, and stays.
    await page.locator('#nav a[data-section="schedules"]').click();
    await page.locator('#new-schedule').waitFor();
    const scheduleRow = id => page.locator(`tr[data-schedule="${id}"]`);
    const builtIn = page.locator('tbody tr', { hasText: 'built in' });
    check(await builtIn.count() === 5 && await builtIn.getByRole('button').count() === 0,
          `no Delete on the public schedules: ${await builtIn.count()} built in, ${await builtIn.getByRole('button').count()} buttons`);
    check(await scheduleRow(6).getByRole('button', { name: 'Delete' }).count() === 1, 'the own schedule 6 offers Delete');
    await page.locator('#new-schedule').getByLabel('Name').fill('short-lived');
    await page.locator('#new-schedule').getByLabel('Kind').selectOption('period');
    await page.locator('#new-schedule').getByLabel('Every (minutes)').fill('7');
    await page.locator('#new-schedule').getByRole('button', { name: 'Create schedule' }).click();
    await page.locator('td', { hasText: 'short-lived' }).waitFor();
    const shortId = Number(await page.locator('tr', { hasText: 'short-lived' }).locator('td').first().textContent());
    const totalBefore = await text('p.total');
    const offered = async id => page.locator(`#new-job select[name="schedule"] option[value="${id}"]`).count();
    await page.locator('#nav a[data-section="jobs"]').click();
    await page.locator('#new-job').waitFor();
    check(await offered(shortId) === 1, `the job form offers the new schedule ${shortId}`);
    await page.locator('#nav a[data-section="schedules"]').click();
    await page.locator('#new-schedule').waitFor();
    const shortDelete = scheduleRow(shortId).getByRole('button', { name: 'Delete', exact: false });
    if (await shortDelete.count() === 0) {
        check(false, `schedule ${shortId} offers Delete`);
    } else {
        apiCalls.length = 0;
        await scheduleRow(shortId).getByRole('button', { name: `Delete schedule ${shortId}` }).click();
        check(await scheduleRow(shortId).locator('.confirm').isVisible() && apiCalls.length === 0,
              `Delete asks first, and sends nothing: ${apiCalls.join(', ')}`);
        await scheduleRow(shortId).getByRole('button', { name: 'Delete the schedule' }).click();
        await scheduleRow(shortId).waitFor({ state: 'detached' });
        check((await notice()).includes(`Schedule ${shortId} deleted.`) && apiCalls.includes(`DELETE /schedules/${shortId}`),
              `the schedule is deleted and gone from the list: ${await notice()} / ${apiCalls.join(', ')}`);
        check(parseInt(await text('p.total'), 10) === parseInt(totalBefore, 10) - 1,
              `the total counts one fewer: ${totalBefore} / ${await text('p.total')}`);
        await page.locator('#nav a[data-section="jobs"]').click();
        await page.locator('#new-job').waitFor();
        check(await offered(shortId) === 0 && await offered(6) === 1,
              `the job form no longer offers schedule ${shortId}`);
        // Schedule 6 ("berlin nights") is the job "berlin"'s: refused (409, fault 27), kept.
        await page.locator('#nav a[data-section="schedules"]').click();
        await page.locator('#new-schedule').waitFor();
        await scheduleRow(6).getByRole('button', { name: 'Delete schedule 6' }).click();
        expectFaults.push(409);
        await scheduleRow(6).getByRole('button', { name: 'Delete the schedule' }).click();
        await page.locator('#notice .error').waitFor();
        // (The server's own answer, to compare: the same request, again refused, changes nothing.)
        const inUse = await serverFetch(`${base}/schedules/6`, { method: 'DELETE',
            headers: { 'X-Requested-With': 'jobs-console',
                       Cookie: `auth_tkt=${(await context.cookies()).find(c => c.name === 'auth_tkt').value}` } })
            .then(r => r.json()).catch(() => ({}));
        check(inUse.code === 27 && (await notice()) === `${inUse.msg} (fault 27)`,
              `a schedule in use: the server's message is shown: ${await notice()} / ${JSON.stringify(inUse)}`);
        check(await scheduleRow(6).count() === 1 && !(await scheduleRow(6).locator('.confirm').isVisible()),
              'the schedule in use stays listed, its confirmation closed');
        await page.locator('#nav a[data-section="jobs"]').click();
        await page.locator('#new-job').waitFor();
        check(await offered(6) === 1, 'the job form still offers the schedule in use');
    }

    // A name that is HTML shows as text, and runs nothing.
    await page.goto(base + '/#/jobs');
    await page.locator('#new-job').getByLabel('Name').fill(XSS);
    await page.locator('#new-job').getByRole('button', { name: 'Create job' }).click();
    await page.locator('#job-name', { hasText: 'onerror' }).waitFor();
    check((await text('#job-name')) === XSS, 'the job view shows the name as text');
    await page.goto(base + '/#/jobs');
    await page.locator('a.job-name', { hasText: 'onerror' }).waitFor();
    check((await text('tr[data-job="4"] a.job-name')) === XSS, 'the list shows the name as text');
    check(await page.locator('main img').count() === 0, 'no img element was made');
    check((await page.locator('tr[data-job="1"]').textContent()).includes('queued for deletion'),
          'the list shows the job queued for deletion');
    check(await page.locator('#timeline .row').count() === 3, 'the timeline has a row per job that runs in 24 h');
    await shot('jobs');

    // Pages: 12 jobs, page 2 renders from one request.
    await page.evaluate(async () => {
        for (let i = 0; i < 8; i++)
            await fetch('/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'jobs-console' },
                                   body: JSON.stringify({ name: `batch ${i}`, stack_id: 1, schedule_id: 2 }) });
    });
    await page.reload();
    await page.locator('#jobs-total', { hasText: '12 jobs' }).waitFor();
    apiCalls.length = 0;
    await page.locator('.pager a', { hasText: '2' }).click();
    await page.locator('#jobs-total', { hasText: 'page 2 of 2' }).waitFor();
    check(apiCalls.length === 1 && apiCalls[0] === 'GET /jobs?page=2', `page 2 took one request: ${apiCalls.join(', ')}`);
    check(await page.locator('tr[data-job]').count() === 2, 'page 2 has the last 2 jobs');

    // A page past the last (a bookmark, or Back after a delete) says so and links the last page.
    await page.goto(base + '/#/jobs?page=3');
    await page.locator('main p.none', { hasText: 'No jobs on this page' }).waitFor();
    check(!(await text('#jobs-total')).includes('page 3') && await page.locator('#past-end a').count() === 1,
          `a page past the last: ${await text('#jobs-total')} / ${await text('main p.none')}`);
    if (await page.locator('#past-end a').count()) {
        await page.locator('#past-end a').click();
        await page.locator('#jobs-total', { hasText: 'page 2 of 2' }).waitFor();
    }

    // Page 2 of a run history still shows the job's last run (the newest, on page 1).
    const made = await page.evaluate(async () => {
        const out = [];
        for (let i = 0; i < 11; i++)
            out.push((await (await fetch('/jobs/2/run', { method: 'POST', headers: { 'X-Requested-With': 'jobs-console' } })).json()).run);
        return out;
    });
    await page.goto(base + '/#/jobs/2?page=2');
    await page.locator('main p.total', { hasText: /^1\d runs kept/ }).waitFor(); // 12 if 02:30 Berlin came
    check(await page.locator(`tr[data-run="${made[0]}"]`).count() === 1 && await page.locator('#job-last .badge').count() === 1,
          `runs page 2: the oldest run, and the last run is still shown: ${await text('#job-last')}`);

    // A job on a stack made after the console loaded its lists (another tab, curl): the view
    // names the stack, and Edit keeps it when only the name changes.
    const later = await page.evaluate(async () => {
        const post = async (path, body) => (await fetch(path, { method: 'POST', body: JSON.stringify(body),
            headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'jobs-console' } })).json();
        const stack = (await post('/blockstacks', { name: 'made later' })).id;
        return { stack, job: (await post('/jobs', { name: 'on a later stack', stack_id: stack, schedule_id: 4 })).id };
    });
    await page.goto(base + `/#/jobs/${later.job}`);
    await page.locator('#job-name', { hasText: 'on a later stack' }).waitFor();
    check((await text('#job-stack')) === 'made later', `the job's new stack is named: ${await text('#job-stack')}`);
    await page.locator('#edit').click();
    await page.locator('#edit-job').getByLabel('Name').fill('renamed on a later stack');
    await page.locator('#edit-job').getByRole('button', { name: 'Save' }).click();
    await page.locator('#job-name', { hasText: 'renamed on a later stack' }).waitFor();
    const kept = await page.evaluate(async id => (await (await fetch(`/jobs/byid/${id}`)).json()).stack, later.job);
    check(kept === later.stack, `a rename keeps the job's stack: ${kept}, was ${later.stack}`);

    // A job on another user's stack that is no longer public: the page's lists lack it for good,
    // and Edit still keeps it.
    /** Adds a user with the demo's password; resolves to the headers of a session of theirs. */
    const addUser = async name => {
        const add = spawnSync(serverPath, ['user', 'add', name, '--data', join(dir, 'data')], { input: `${PASSWORD}\n` });
        check(add.status === 0, `user ${name} is added: ${add.stderr}`);
        const login = await serverFetch(`${base}/authenticate`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                                            body: JSON.stringify({ username: name, password: PASSWORD }) });
        return { Authorization: `Bearer ${/auth_tkt=([0-9a-f]+)/.exec(login.headers.get('set-cookie'))[1]}`,
                 'Content-Type': 'application/json' };
    };
    const bearer = await addUser('other');
    const shared = (await (await serverFetch(`${base}/blockstacks`, { method: 'POST', headers: bearer,
                                                                body: JSON.stringify({ name: 'shared', public: true }) })).json()).id;
    const onShared = await page.evaluate(async stack => (await (await fetch('/jobs', { method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'jobs-console' },
        body: JSON.stringify({ name: 'on a shared stack', stack_id: stack, schedule_id: 4 }) })).json()).id, shared);
    await serverFetch(`${base}/blockstacks/${shared}`, { method: 'PUT', headers: bearer, body: JSON.stringify({ public: false }) });
    await page.goto(base + `/#/jobs/${onShared}`);
    await page.locator('#job-name', { hasText: 'on a shared stack' }).waitFor();
    await page.locator('#edit').click();
    await page.locator('#edit-job').getByLabel('Name').fill('renamed on a shared stack');
    await page.locator('#edit-job').getByRole('button', { name: 'Save' }).click();
    await page.locator('#job-name', { hasText: 'renamed on a shared stack' }).waitFor();
    const stayed = await page.evaluate(async id => (await (await fetch(`/jobs/byid/${id}`)).json()).stack, onShared);
    check(stayed === shared, `a rename keeps a stack the page cannot list: ${stayed}, was ${shared}`);

    // A user whose page lists no stack at all, with a job on another user's stack made private
    // since: Edit offers the job's own stack and saves (Save was off while the list was empty).
    const lone = await addUser('lone');
    const lent = (await (await serverFetch(`${base}/blockstacks`, { method: 'POST', headers: bearer,
                                                              body: JSON.stringify({ name: 'lent', public: true }) })).json()).id;
    const borrowed = (await (await serverFetch(`${base}/jobs`, { method: 'POST', headers: lone,
        body: JSON.stringify({ name: 'borrowed', stack_id: lent, schedule_id: 4 }) })).json()).id;
    await serverFetch(`${base}/blockstacks/${lent}`, { method: 'PUT', headers: bearer, body: JSON.stringify({ public: false }) });
    const lonePage = await (await browser.newContext({ locale: 'en-GB', timezoneId: 'Europe/Berlin' })).newPage();
    lonePage.setDefaultTimeout(T);
    lonePage.on('pageerror', e => errors.push(`page error (lone): ${e.message}`));
    await lonePage.goto(`${base}/#/jobs/${borrowed}`);
    await lonePage.locator('#login-form').getByLabel('User name').fill('lone');
    await lonePage.locator('#login-form').getByLabel('Password').fill(PASSWORD);
    await lonePage.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
    // (The login returns to the address it was opened at.)
    await lonePage.locator('#job-name, #jobs-total').first().waitFor();
    check(await lonePage.evaluate(() => location.hash) === `#/jobs/${borrowed}` && (await lonePage.locator('#job-name').textContent()) === 'borrowed',
          `a login opened at a job's address returns to it: ${await lonePage.evaluate(() => location.hash)}`);
    await lonePage.locator('#job-name', { hasText: 'borrowed' }).waitFor();
    await lonePage.locator('#edit').click();
    const loneForm = lonePage.locator('#edit-job');
    const loneSave = loneForm.getByRole('button', { name: 'Save' });
    const loneStack = loneForm.getByLabel('Stack', { exact: true });
    check(await loneSave.isEnabled() && await loneStack.count() === 1
          && (await loneStack.locator('option:checked').textContent()) === `${lent}: stack ${lent} (not in your list)`,
          `with no stack listed, Edit offers the job's own and can save: ${await loneForm.textContent()}`);
    if (await loneSave.isEnabled()) {
        await loneForm.getByLabel('Name').fill('borrowed, renamed');
        await loneSave.click();
        await lonePage.locator('#job-name', { hasText: 'borrowed, renamed' }).waitFor();
        const onLent = await lonePage.evaluate(async id => (await (await fetch(`/jobs/byid/${id}`)).json()).stack, borrowed);
        check(onLent === lent, `the rename keeps the unlisted stack: ${onLent}, was ${lent}`);
    }
    await lonePage.context().close();

    // Another user's public stack named as one of the user's own: the stack choices say whose
    // it is ("1: backup" stood next to "N: backup").
    const twin = (await (await serverFetch(`${base}/blockstacks`, { method: 'POST', headers: bearer,
                                                              body: JSON.stringify({ name: 'backup', public: true }) })).json()).id;
    const twinOwner = (await (await serverFetch(`${base}/blockstacks/byid/${twin}`, { headers: bearer })).json()).owner;
    await page.goto(base + '/#/stacks'); // which loads the page's lists again
    await page.locator('#new-stack').waitFor();
    await page.goto(base + '/#/jobs');
    await page.locator('#jobs-total').waitFor();
    const choices = await page.locator('#new-job').getByLabel('Stack', { exact: true }).locator('option').allTextContents();
    check(choices.includes('1: backup') && choices.includes(`${twin} (user ${twinOwner}'s, public): backup`),
          `another user's stack is told apart from one's own: ${choices.join(' | ')}`);
    // A job's view says whose such a stack is, as the choices and the stacks list do (its
    // Stack line said "backup", as for the user's own stack 1).
    const onTwin = await page.evaluate(async stack => (await (await fetch('/jobs', { method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'jobs-console' },
        body: JSON.stringify({ name: 'on the twin', stack_id: stack, schedule_id: 4 }) })).json()).id, twin);
    await page.goto(base + `/#/jobs/${onTwin}`);
    await page.locator('#job-name', { hasText: 'on the twin' }).waitFor();
    check((await text('#job-stack')) === `${twin} (user ${twinOwner}'s, public): backup`,
          `a job on another user's public stack names its owner: ${await text('#job-stack')}`);
    await page.goto(base + '/#/jobs/2');
    await page.locator('#job-name', { hasText: 'berlin' }).waitFor();
    check((await text('#job-stack')) === 'backup', `a job on the user's own stack shows its name alone: ${await text('#job-stack')}`);
    const gone = await page.evaluate(async id => (await fetch(`/jobs/${id}`, { method: 'DELETE',
        headers: { 'X-Requested-With': 'jobs-console' } })).status, onTwin);
    check(gone === 200, `the job on the other user's stack is deleted again: ${gone}`);
    await serverFetch(`${base}/blockstacks/${twin}`, { method: 'PUT', headers: bearer, body: JSON.stringify({ public: false }) });

    // A job that is not there (deleted meanwhile): the fault, and no other view left standing.
    await page.goto(base + '/#/jobs');
    await page.locator('#jobs-total', { hasText: '14 jobs' }).waitFor();
    expectFaults.push(404, 404); // the job and its runs
    await page.goto(base + '/#/jobs/999');
    await page.locator('#notice .error', { hasText: 'job 999' }).waitFor();
    check(await page.locator('#jobs-total').count() === 0 && await page.locator('#view-fault').count() === 1,
          `a job that is not there: ${await notice()} / ${await text('main')}`);

    // A job id in the address is read as the API reads ids (1 to 2^53-1 in decimal digits):
    // "0x2" is no id (Number() read it as job 2), nor is 2^53+1 (Number() read it as 2^53).
    for (const bad of ['0x2', '9007199254740993']) {
        await page.goto(base + '/#/jobs');
        await page.locator('#jobs-total').waitFor();
        apiCalls.length = 0;
        await page.goto(base + `/#/jobs/${bad}`);
        await page.locator('#view-fault, #job-name').first().waitFor();
        check(await page.locator('#view-fault').count() === 1 && (await notice()).includes(`"${bad}" is no job id`)
              && !apiCalls.some(c => c.startsWith('GET /jobs/byid/')),
              `#/jobs/${bad} is no job id: ${await notice()} / ${apiCalls.join(', ')}`);
    }

    // A narrow window: nothing wider than the screen.
    await page.setViewportSize({ width: 380, height: 800 });
    await page.goto(base + '/#/jobs');
    await page.locator('#jobs-total').waitFor();
    check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
          'a narrow window does not scroll sideways');
    await shot('jobs-narrow');

    // Names of 255 bytes without a space (a job's, its stack's) break rather than widen the
    // page (the job's view scrolled sideways, at 1100 px too) or push the list's other columns
    // out of its box (the list hid every job's schedule, next run and state off to the right).
    const long = await page.evaluate(async () => {
        const post = async (path, body) => (await fetch(path, { method: 'POST', body: JSON.stringify(body),
            headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'jobs-console' } })).json();
        const stack = (await post('/blockstacks', { name: 's'.repeat(255) })).id;
        return (await post('/jobs', { name: 'j'.repeat(255), stack_id: stack, schedule_id: 4 })).id;
    });
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1
        && [...document.querySelectorAll('main .scroll:has(table)')].every(s => s.scrollWidth <= s.clientWidth + 1));
    for (const width of [380, 1100]) {
        await page.setViewportSize({ width, height: 760 });
        await page.goto(base + `/#/jobs/${long}`);
        await page.locator('#job-stack', { hasText: 'sss' }).waitFor();
        check(await fits(), `${width} px: a job view with long names does not scroll sideways`);
        await page.goto(base + '/#/jobs?page=2');
        await page.locator(`tr[data-job="${long}"]`).waitFor();
        check(await fits(), `${width} px: a list with a long name keeps its columns in its box`);
    }

    // The server's CSRF check, from the browser: a cookie write without the header is refused.
    expectFaults.push(403);
    const forged = await page.evaluate(async () => {
        const r = await fetch('/blockstacks', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                                body: JSON.stringify({ name: 'forged' }) });
        return { status: r.status, body: await r.json() };
    });
    check(forged.status === 403 && forged.body.code === 140, `a write without X-Requested-With: ${JSON.stringify(forged)}`);

    // A one-time schedule may be at any Unix time up to 2^53-1, past what a JavaScript Date
    // holds (the year 275760): its job's next run is shown as the Unix time, and the list and
    // the job's view are drawn (toISOString() threw, and neither was).
    const far = await page.evaluate(async () => {
        const post = async (path, body) => (await fetch(path, { method: 'POST', body: JSON.stringify(body),
            headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'jobs-console' } })).json();
        const schedule = (await post('/schedules', { name: 'far', once: true, config: { timestamp: 2 ** 53 - 1 } })).id;
        return (await post('/jobs', { name: 'far away', stack_id: 1, schedule_id: schedule, enabled: true })).id;
    });
    await page.goto(base + `/#/jobs/${far}`);
    await page.locator('#job-next, #view-fault').first().waitFor();
    check((await page.locator('#job-next').count()) === 1 && (await text('#job-next')).startsWith('Unix time 9007199254740991')
          && (await text('#job-schedule')) === 'once, at Unix time 9007199254740991',
          `a job due at 2^53-1 is shown: ${await notice()}`);
    await page.goto(base + '/#/jobs?page=2');
    await page.locator(`tr[data-job="${far}"], #view-fault`).first().waitFor();
    check((await page.locator(`tr[data-job="${far}"]`).count()) === 1
          && (await text(`tr[data-job="${far}"]`)).includes('Unix time 9007199254740991'),
          `a job due at 2^53-1 is listed: ${await notice()}`);

    // The timeline cuts a long name at a character, not inside one: the 21st of this one is an
    // emoji (two UTF-16 units), which name.slice(0, 21) split, drawing half of it.
    const emoji = await page.evaluate(async () => (await (await fetch('/jobs', { method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'jobs-console' },
        body: JSON.stringify({ name: `${'x'.repeat(20)}\u{1F600}\u{1F600}\u{1F600}`, stack_id: 1, schedule_id: 4, enabled: true }) })).json()).id);
    await page.goto(base + '/#/jobs');
    await page.locator('#jobs-total').waitFor();
    await page.goto(base + '/#/jobs?page=2');
    await page.locator(`tr[data-job="${emoji}"]`).waitFor();
    const label = await page.locator('#timeline text.label', { hasText: 'xxxxxxxxxx' }).textContent();
    check(label === `${'x'.repeat(20)}\u{1F600}…`, `the timeline cuts a name at a character: ${JSON.stringify(label)}`);

    // A session that ended elsewhere (another tab logged out): the next view brings the login,
    // also Stacks and Schedules, whose lists answer without a session (the public ones only).
    await page.goto(base + '/#/jobs');
    await page.locator('#jobs-total').waitFor();
    await page.evaluate(() => fetch('/logout', { method: 'POST', headers: { 'X-Requested-With': 'jobs-console' } }));
    expectFaults.push(401);
    await page.goto(base + '/#/stacks');
    await page.locator('#login-form, #new-stack').first().waitFor();
    check(await page.locator('#login-form').count() === 1 && (await notice()).includes('session has ended'),
          `an ended session on Stacks brings the login: ${await notice()}`);
    await page.locator('#login-form').getByLabel('User name').fill('demo');
    await page.locator('#login-form').getByLabel('Password').fill(PASSWORD);
    await page.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
    await page.locator('#new-stack, #jobs-total').first().waitFor();
    check(await page.evaluate(() => location.hash) === '#/stacks' && await page.locator('#new-stack').count() === 1,
          `after logging in again, the console returns to Stacks: ${await page.evaluate(() => location.hash)}`);

    // A session that ends mid-session, on page 2 of a job's runs (Run now is refused, 401),
    // with the Edit form open and a new name typed: logging in again returns to that address (it
    // opened #/jobs), with the form open and the name typed (both were lost), and the login is
    // drawn once (the button's own redraw and the navigation's each drew it).
    await page.goto(base + '/#/jobs/2?page=2');
    await page.locator('#job-name').waitFor();
    await page.locator('#edit').click();
    await page.locator('#edit-job').getByLabel('Name').fill('berlin, typed before the 401');
    await page.locator('#edit-job').getByLabel('Schedule', { exact: true }).selectOption('3');
    await page.evaluate(() => fetch('/logout', { method: 'POST', headers: { 'X-Requested-With': 'jobs-console' } }));
    // Counts the login forms put into main until the navigation to the login has been handled
    // (the page's own listener of hashchange runs first: it was added first).
    await page.evaluate(() => {
        window.loginsDrawn = null;
        let n = 0;
        const count = records => {
            for (const r of records)
                n += [...r.addedNodes].filter(node => node.id === 'login-form').length;
        };
        const seen = new MutationObserver(count);
        seen.observe(document.getElementById('main'), { childList: true });
        window.addEventListener('hashchange', () => {
            if (location.hash === '#/login' && window.loginsDrawn === null) {
                count(seen.takeRecords());
                seen.disconnect();
                window.loginsDrawn = n;
            }
        });
    });
    expectFaults.push(401);
    await page.locator('#run-now').click();
    await page.waitForFunction(() => window.loginsDrawn !== null);
    check(await page.evaluate(() => window.loginsDrawn) === 1,
          `a 401 draws the login once: ${await page.evaluate(() => window.loginsDrawn)} times`);
    // The login's user name field has the focus, where the user types (the view's main had it).
    const focused = () => page.evaluate(() => `${document.activeElement?.tagName} ${document.activeElement?.name ?? ''}`);
    check(await focused() === 'INPUT username', `after a 401 the login's user name field has the focus: ${await focused()}`);
    const keptDraft = await page.evaluate(() => sessionStorage.getItem('jobs-console-user-draft'));
    await page.locator('#login-form').getByLabel('User name').fill('demo');
    await page.locator('#login-form').getByLabel('Password').fill(PASSWORD);
    await page.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
    await page.locator('#job-name, #jobs-total').first().waitFor();
    check(await page.evaluate(() => location.hash) === '#/jobs/2?page=2' && await page.locator('#job-name').count() === 1
          && (await page.locator('.pager a[aria-current]').textContent()) === '2',
          `after a 401 on a job's view, the login returns to it: ${await page.evaluate(() => location.hash)}`);
    const editName = page.locator('#edit-job').getByLabel('Name');
    check(await page.locator('#edit-job').isVisible() && await page.locator('#edit').getAttribute('aria-expanded') === 'true'
          && await editName.inputValue() === 'berlin, typed before the 401'
          && await page.locator('#edit-job').getByLabel('Schedule', { exact: true }).inputValue() === '3',
          `the Edit form is open again with what was typed: ${keptDraft} / ${await editName.inputValue().catch(() => '-')}`);
    // The tab's storage never held the password, and the draft goes once it is back in the form.
    const stored = await page.evaluate(() => Object.keys(sessionStorage).map(k => `${k}=${sessionStorage.getItem(k)}`));
    check(!stored.some(x => x.includes(PASSWORD)) && !stored.some(x => x.startsWith('jobs-console-user-draft=')),
          `no password and no draft left in the tab's storage: ${stored.join(' ')}`);
    if (await page.locator('#edit-job').isVisible()) {
        await page.locator('#edit-job').getByRole('button', { name: 'Save' }).click();
        await page.locator('#job-name', { hasText: 'berlin, typed before the 401' }).waitFor();
        check((await notice()).includes('Job 2 saved'), `the kept draft is saved: ${await notice()}`);
    }

    // A draft is the user's: another user who logs in after the 401 gets the form empty, and the
    // draft is gone from the tab. (The new job form: the name typed, Enabled ticked.)
    await page.goto(base + '/#/jobs');
    await page.locator('#jobs-total').waitFor();
    await page.locator('#new-job').getByLabel('Name').fill('not for another user');
    await page.locator('#new-job').getByLabel('Enabled').check();
    await page.evaluate(() => fetch('/logout', { method: 'POST', headers: { 'X-Requested-With': 'jobs-console' } }));
    expectFaults.push(401);
    await page.locator('#new-job').getByRole('button', { name: 'Create job' }).click();
    await page.locator('#login-form').waitFor();
    const draft = JSON.parse(await page.evaluate(() => sessionStorage.getItem('jobs-console-user-draft')) ?? 'null');
    check(draft && draft.route === '#/jobs' && draft.forms['new-job'].name === 'not for another user'
          && draft.forms['new-job'].enabled === true,
          `a 401 on Create keeps the new job's draft: ${JSON.stringify(draft)}`);
    await page.locator('#login-form').getByLabel('User name').fill('other');
    await page.locator('#login-form').getByLabel('Password').fill(PASSWORD);
    await page.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
    await page.locator('#jobs-total').waitFor();
    check(await page.locator('#new-job').getByLabel('Name').inputValue() === ''
          && !(await page.locator('#new-job').getByLabel('Enabled').isChecked())
          && await page.evaluate(() => sessionStorage.getItem('jobs-console-user-draft')) === null,
          `another user's login gets no draft: ${await page.locator('#new-job').getByLabel('Name').inputValue()}`);
    await page.locator('#logout').click();
    await page.locator('#login-form').waitFor();
    await page.locator('#login-form').getByLabel('User name').fill('demo');
    await page.locator('#login-form').getByLabel('Password').fill(PASSWORD);
    await page.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
    await page.locator('#jobs-total').waitFor();

    // The new schedule form's draft, the same user again: its kind, and the fields of that kind
    // shown with what was typed in them.
    await page.goto(base + '/#/schedules');
    await page.locator('#new-schedule').getByLabel('Kind').selectOption('cron');
    await page.locator('#new-schedule').getByLabel('Cron expression').fill('15 4 * * sun');
    await page.evaluate(() => fetch('/logout', { method: 'POST', headers: { 'X-Requested-With': 'jobs-console' } }));
    expectFaults.push(401);
    await page.locator('#new-schedule').getByRole('button', { name: 'Create schedule' }).click();
    await page.locator('#login-form').waitFor();
    await page.locator('#login-form').getByLabel('User name').fill('demo');
    await page.locator('#login-form').getByLabel('Password').fill(PASSWORD);
    await page.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
    await page.locator('#new-schedule').waitFor();
    const cronField = page.locator('#new-schedule').getByLabel('Cron expression');
    check(await page.locator('#new-schedule').getByLabel('Kind').inputValue() === 'cron' && await cronField.isVisible()
          && await cronField.inputValue() === '15 4 * * sun' && (await notice()).includes('back in the form'),
          `the new schedule's draft is back, its kind's fields shown: ${await cronField.inputValue()} / ${await notice()}`);

    // Log out.
    await page.goto(base + '/#/jobs');
    const token = (await context.cookies()).find(c => c.name === 'auth_tkt').value;
    await page.locator('#logout').click();
    await page.locator('#login-form').waitFor();
    check((await notice()).includes('Logged out'), 'logged out');
    check(await focused() === 'INPUT username', `after Log out the login's user name field has the focus: ${await focused()}`);
    // The server ended the session: its token, sent again, is refused (the browser dropped the
    // cookie, so the page's own request below would be refused either way).
    const stale = await serverFetch(`${base}/jobs`, { headers: { Cookie: `auth_tkt=${token}` } });
    check(stale.status === 401, `the session's token is refused after logging out: ${stale.status}`);
    expectFaults.push(401);
    const after = await page.evaluate(async () => (await fetch('/jobs')).status);
    check(after === 401, 'the session is gone after logging out');

    // The login returns only to the console's own routes: an address kept in the tab's storage
    // that is another (a URL elsewhere, a route with more to it) leads to the jobs.
    for (const bad of ['https://example.com/#/jobs/2', '//example.com/', '#/jobs/2/../../x', 'javascript:alert(1)']) {
        await page.evaluate(b => sessionStorage.setItem('jobs-console-user-back', b), bad);
        await page.locator('#login-form').getByLabel('User name').fill('demo');
        await page.locator('#login-form').getByLabel('Password').fill(PASSWORD);
        await page.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
        await page.locator('#jobs-total').waitFor();
        check(page.url() === `${base}/#/jobs`, `a kept address that is no route (${bad}) is not followed: ${page.url()}`);
        await page.locator('#logout').click();
        await page.locator('#login-form').waitFor();
    }

    // A login lock (fault 107) says when to try again: the server's Retry-After, in seconds
    // (the message alone says "try again later"). Five wrong passwords lock the account.
    for (let i = 0; i < 6; i++) {
        expectFaults.push(i < 5 ? 401 : 429);
        await page.evaluate(() => document.querySelector('#notice').replaceChildren());
        await page.locator('#login-form').getByLabel('User name').fill('locked-out');
        await page.locator('#login-form').getByLabel('Password').fill('not the password');
        await page.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
        await page.locator('#notice p').waitFor();
    }
    check(/\(fault 107\) Try again in \d+ seconds\.$/.test(await notice()),
          `a locked login says when to try again: ${await notice()}`);

    // A second server, with --fault-status-500 and without --run-command (its runs stay
    // delivered, so a job's view keeps looking again every 2 s).
    other = await start('data-500', ['--fault-status-500']);
    const page500 = await (await browser.newContext({ locale: 'en-GB', timezoneId: 'Europe/Berlin' })).newPage();
    page500.setDefaultTimeout(T);
    page500.on('pageerror', e => errors.push(`page error (--fault-status-500): ${e.message}`));
    await page500.goto(other.base + '/');
    await page500.locator('#login-form').getByLabel('User name').fill('demo');
    await page500.locator('#login-form').getByLabel('Password').fill(PASSWORD);
    await page500.locator('#login-form').getByRole('button', { name: 'Log in' }).click();
    await page500.locator('#jobs-total').waitFor();

    // While the view looks again, an open delete confirmation or Edit form stays open: only
    // the run history is drawn again (each wait is for rows the page drew after the marking).
    await page500.evaluate(async () => {
        const post = async (path, body) => fetch(path, { method: 'POST', body: body && JSON.stringify(body),
            headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'jobs-console' } });
        await post('/blockstacks', { name: 'waiting' });
        await post('/jobs', { name: 'never run', stack_id: 1, schedule_id: 4 });
        await post('/jobs/1/run');
    });
    await page500.goto(other.base + '/#/jobs/1');
    await page500.locator('tr[data-run]').waitFor();
    const redrawn = async () => {
        await page500.evaluate(() => document.querySelectorAll('tr[data-run]').forEach(tr => tr.setAttribute('data-seen', '')));
        await page500.locator('tr[data-run]:not([data-seen])').waitFor();
    };
    await page500.locator('#delete').click();
    await redrawn();
    check(await page500.locator('#confirm-delete').isVisible(), 'the delete confirmation stays open while the runs are polled');
    await page500.locator('.confirm').getByRole('button', { name: 'Cancel' }).click();
    await page500.locator('#edit').click();
    await redrawn();
    check(await page500.locator('#edit-job').isVisible(), 'the Edit form stays open while the runs are polled');

    await page500.evaluate(() => fetch('/logout', { method: 'POST', headers: { 'X-Requested-With': 'jobs-console' } }));
    await page500.goto(other.base + '/#/schedules');
    await page500.locator('#login-form, #new-schedule, #view-fault').first().waitFor();
    check(await page500.locator('#login-form').count() === 1
          && (await page500.locator('#notice').textContent()).includes('session has ended'),
          `--fault-status-500: an ended session brings the login: ${await page500.locator('#notice').textContent()}`);
} catch (e) {
    console.log(`FAIL: ${e.stack || e}`);
    failures++;
    await shot('failure').catch(() => {});
}

for (const e of errors)
    console.log(`FAIL: ${e}`);
failures += errors.length;
await browser.close();
server.kill('SIGTERM');
const end = await exited;
check(end.code === 0, `jobs-server stopped cleanly (${JSON.stringify(end)})`);
if (other) {
    other.server.kill('SIGTERM');
    const end500 = await other.exited;
    check(end500.code === 0, `jobs-server --fault-status-500 stopped cleanly (${JSON.stringify(end500)})`);
}
rmSync(dir, { recursive: true, force: true });
console.log(failures ? `console_browser: ${failures} failure(s)` : 'console_browser: all passed');
process.exit(failures ? 1 : 0);
