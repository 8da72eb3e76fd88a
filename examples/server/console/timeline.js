// The next 24 hours of runs as an SVG picture, drawn by the page from each job's next_run and
// its schedule (schedule.js). One row per job; a tick per run, a cross where a job queued for
// deletion goes.
import { svg, h, localTime } from './dom.js';
import { runsWithin } from './schedule.js';

const W = 1000, LABEL = 170, ROW = 26, TOP = 28;

/** A name of at most 22 characters (code points: a cut between the halves of a character
 * beyond U+FFFF, such as an emoji, drew a broken one), else its first 21 and "…". */
function short(name) {
    const c = [...name];
    return c.length > 22 ? `${c.slice(0, 21).join('')}…` : name;
}

export function timeline(jobs, schedules, now = Math.floor(Date.now() / 1000)) {
    const until = now + 86400;
    const rows = jobs.map(j => ({ job: j, runs: runsWithin(j, schedules.get(j.schedule), now, until) }))
        .filter(r => r.runs.length);
    if (rows.length === 0)
        return h('p', { class: 'none', id: 'timeline-empty' },
                 'No runs in the next 24 hours for the jobs on this page.');
    const height = TOP + rows.length * ROW + 6;
    const x = t => LABEL + ((t - now) / 86400) * (W - LABEL - 10);
    const pic = svg('svg', {
        viewBox: `0 0 ${W} ${height}`, class: 'timeline', role: 'img', id: 'timeline',
        'aria-label': 'Runs in the next 24 hours of the jobs on this page',
    });
    // Local hour lines every 3 hours.
    const first = new Date(now * 1000);
    first.setMinutes(0, 0, 0);
    for (let t = first.getTime() / 1000 + 3600; t < until; t += 3600) {
        const hour = new Date(t * 1000).getHours();
        if (hour % 3)
            continue;
        pic.append(svg('line', { x1: x(t), x2: x(t), y1: TOP - 6, y2: height, class: 'grid' }),
                   svg('text', { x: x(t), y: TOP - 10, class: 'hour', 'text-anchor': 'middle' },
                       `${String(hour).padStart(2, '0')}:00`));
    }
    pic.append(svg('text', { x: LABEL - 6, y: TOP - 10, class: 'hour', 'text-anchor': 'end' }, 'now'),
               svg('line', { x1: LABEL, x2: LABEL, y1: TOP - 6, y2: height, class: 'now' }));
    rows.forEach((r, i) => {
        const y = TOP + i * ROW;
        const name = r.job.name === null ? `job ${r.job.id}` : r.job.name;
        const g = svg('g', { class: r.job.do_del ? 'row deleting' : 'row' },
            svg('title', {}, `${name}: ${r.job.do_del ? `deleted at ${localTime(r.runs[0])}`
                : `${r.runs.length} run${r.runs.length === 1 ? '' : 's'}, the first at ${localTime(r.runs[0])}`}`),
            svg('text', { x: 4, y: y + 17, class: 'label' }, short(name)),
            svg('line', { x1: LABEL, x2: W - 10, y1: y + 13, y2: y + 13, class: 'lane' }));
        for (const t of r.runs) {
            if (r.job.do_del)
                g.append(svg('path', { d: `M${x(t) - 5} ${y + 8}l10 10m0 -10l-10 10`, class: 'del' }));
            else
                g.append(svg('rect', { x: x(t) - 1.5, y: y + 5, width: 3, height: 16, class: 'run' }));
        }
        pic.append(g);
    });
    return pic;
}
