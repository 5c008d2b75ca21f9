/* global window, document, echarts, EventSource, fetch */
/**
 * The dashboard page: draws the server's view document and redraws it on every server-sent
 * snapshot. Every number comes from the view as sent; nothing is computed here but formats.
 */
(function () {
  'use strict';
  var C = window.CacoCharts;
  var fmt = C.fmt;
  var $ = function (id) { return document.getElementById(id); };
  var state = { view: null, updates: 0 };

  function setNum(id, value, text) {
    var el = $(id);
    el.textContent = text;
    el.setAttribute('data-value', String(value));
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; });
  }
  function hhmm(iso) { return iso ? iso.replace('T', ' ').slice(0, 16) : '–'; }

  var gantt = echarts.init($('gantt'));
  var fc = echarts.init($('forecast-carbon'));
  var fp = echarts.init($('forecast-price'));
  window.addEventListener('resize', function () { gantt.resize(); fc.resize(); fp.resize(); });

  function ganttOption(g, now) {
    var jobs = g.jobs;
    var planned = [], ran = [], deadlines = [];
    var t0 = Date.parse(g.from), t1 = Date.parse(g.to);
    jobs.forEach(function (j, i) {
      if (j.plannedStart && j.plannedEnd) planned.push({ value: [Date.parse(j.plannedStart), Date.parse(j.plannedEnd), i], itemStyle: { color: C.COLORS[j.class] } });
      j.runs.forEach(function (r) { ran.push({ value: [Date.parse(r.start), r.end ? Date.parse(r.end) : Date.parse(now), i], itemStyle: { color: C.COLORS[j.class] } }); });
      deadlines.push({ value: [Date.parse(j.deadline), Date.parse(j.deadline), i] });
    });
    function bar(opacity, frac) {
      return function (params, api) {
        var s = api.coord([api.value(0), api.value(2)]);
        var e = api.coord([api.value(1), api.value(2)]);
        var h = api.size([0, 1])[1] * frac;
        var shape = echarts.graphic.clipRectByRect({ x: s[0], y: s[1] - h / 2, width: Math.max(2, e[0] - s[0]), height: h }, { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
        return shape && { type: 'rect', shape: shape, style: { fill: api.visual('color'), opacity: opacity } };
      };
    }
    function tick(params, api) {
      var p = api.coord([api.value(0), api.value(2)]);
      var h = api.size([0, 1])[1] * 0.8;
      if (p[0] < params.coordSys.x || p[0] > params.coordSys.x + params.coordSys.width) return null;
      return { type: 'rect', shape: { x: p[0] - 1, y: p[1] - h / 2, width: 2, height: h }, style: { fill: '#c0392b' } };
    }
    var names = jobs.map(function (j) { return j.jobId; });
    return {
      useUTC: true, animation: false,
      textStyle: { fontFamily: 'DejaVu Sans, sans-serif' },
      grid: { left: 118, right: 20, top: 34, bottom: 40 },
      legend: { top: 4, left: 118, data: ['planned', 'ran', 'deadline'], itemWidth: 16, itemHeight: 10 },
      tooltip: { formatter: function (p) { var j = jobs[p.value[2]]; return esc(j.jobId) + ' · ' + esc(j.class) + ' · ' + esc(fmt(j.powerKw, 0)) + ' kW · ' + esc(j.status) + '<br/>planned ' + esc(hhmm(j.plannedStart)) + ' – ' + esc(hhmm(j.plannedEnd)) + '<br/>deadline ' + esc(hhmm(j.deadline)) + (j.deadlineMissed ? ' (missed)' : ''); } },
      xAxis: { type: 'time', min: t0, max: t1, name: 'time (UTC)', nameLocation: 'middle', nameGap: 26, axisLabel: { hideOverlap: true } },
      yAxis: { type: 'category', data: names, inverse: true, triggerEvent: true, axisLabel: { fontSize: 10, interval: 0, fontFamily: 'DejaVu Sans Mono, monospace' } },
      dataZoom: [{ type: 'inside', yAxisIndex: 0, filterMode: 'weakFilter' }],
      series: [
        { name: 'planned', type: 'custom', renderItem: bar(0.35, 0.8), encode: { x: [0, 1], y: 2 }, data: planned, itemStyle: { color: '#888' } },
        { name: 'ran', type: 'custom', renderItem: bar(0.95, 0.45), encode: { x: [0, 1], y: 2 }, data: ran, itemStyle: { color: '#444' } },
        { name: 'deadline', type: 'custom', renderItem: tick, encode: { x: 0, y: 2 }, data: deadlines, itemStyle: { color: '#c0392b' }, tooltip: { show: true } },
        { name: 'now', type: 'line', data: [], markLine: { silent: true, symbol: 'none', label: { formatter: 'now', position: 'start' }, lineStyle: { color: '#333', type: 'solid' }, data: now ? [{ xAxis: Date.parse(now) }] : [] } },
      ],
    };
  }

  gantt.on('click', function (p) {
    var v = state.view;
    if (!v) return;
    if (p.componentType === 'yAxis') return explain(p.value);
    if (p.componentType === 'series' && p.value) { var j = v.gantt.jobs[p.value[2]]; if (j) explain(j.jobId); }
  });

  // Only the latest request's answer is shown: an earlier one arriving later must not replace it.
  var explainSeq = 0;
  function explain(jobId) {
    var seq = ++explainSeq;
    $('explain-input').value = jobId;
    $('explain').innerHTML = '<p class="note">loading ' + esc(jobId) + '…</p>';
    var failed = function (why) { if (seq === explainSeq) $('explain').innerHTML = '<p class="note" id="explain-error">could not explain ' + esc(jobId) + ': ' + esc(why) + '</p>'; };
    fetch('/api/jobs/' + encodeURIComponent(jobId) + '/explain').then(function (r) {
      return r.json().then(function (x) { return { status: r.status, x: x }; });
    }).then(function (a) {
      if (seq !== explainSeq) return;
      var x = a.x;
      // A refusal (400, 414, 429, 503) has no explanation: say why, with its reason.
      if (!x || !Array.isArray(x.steps)) return failed(x && x.error && x.error.reason ? x.error.reason : 'the site answered ' + a.status);
      var html = '<p class="summary' + (x.quarantined ? ' bad' : '') + '" id="explain-summary" data-job="' + esc(x.jobId) + '">' + esc(x.summary) + '</p><ol id="explain-steps">';
      x.steps.forEach(function (s) {
        html += '<li><span class="when">' + esc(hhmm(s.at)) + 'Z</span> ' + esc(s.text) + '<span class="ev">' + esc(s.type) + ' · ' + esc(s.stream) + '#' + esc(s.revision) + ' · event <code class="event-id">' + esc(s.eventId) + '</code></span></li>';
      });
      $('explain').innerHTML = html + '</ol>';
    }).catch(function (err) { failed(err && err.message ? err.message : String(err)); });
  }
  $('explain-form').addEventListener('submit', function (e) { e.preventDefault(); var id = $('explain-input').value.trim(); if (id) explain(id); });

  function render(v) {
    state.view = v;
    state.updates++;
    document.body.setAttribute('data-position', String(v.position));
    document.body.setAttribute('data-updates', String(state.updates));
    $('now').textContent = hhmm(v.now);
    setNum('kpi-events', v.audit.events, fmt(v.audit.events, 0));
    $('head-hash').textContent = v.audit.headHash;
    var ver = v.verification, vb = $('verify');
    var matches = ver.headHash === v.audit.headHash;
    vb.className = 'pill ' + (ver.state === 'ok' ? 'ok' : ver.state === 'pending' ? 'wait' : 'bad');
    vb.setAttribute('data-state', ver.state);
    vb.setAttribute('data-events', String(ver.events));
    vb.textContent = ver.state === 'ok' ? 'ledger verified: ' + fmt(ver.events, 0) + ' events' + (matches ? '' : ' (newer events being checked)') + (ver.running ? ' · checking…' : '')
      : ver.state === 'pending' ? 'verifying…' : ver.state === 'broken' ? 'ledger BROKEN: ' + ver.detail : 'verification failed: ' + ver.detail;
    // What the projections did not fold: the numbers below leave those events out.
    var pr = v.audit.projections;
    if (pr && !pr.complete) {
      var skip = pr.skipped ? pr.skipped + ' skipped (' + Object.keys(pr.skippedByType).map(function (k) { return k + ' ×' + pr.skippedByType[k]; }).join(', ') + (pr.skippedFirst[0] ? '; first event ' + pr.skippedFirst[0].eventId : '') + ')' : '';
      var fail = pr.failed ? pr.failed + ' failed' + (pr.failedFirst[0] ? ' (first event ' + pr.failedFirst[0].eventId + ': ' + pr.failedFirst[0].error + ')' : '') : '';
      vb.textContent += ' · projections incomplete: ' + [skip, fail].filter(Boolean).join(', ');
      vb.className = 'pill bad';
      vb.setAttribute('data-projections', 'incomplete');
    } else vb.setAttribute('data-projections', 'complete');

    var s = v.schedule;
    setNum('kpi-jobs', s.jobs, fmt(s.jobs, 0));
    $('kpi-jobs-detail').textContent = s.byStatus.running + ' running · ' + (s.byStatus.planned + s.byStatus.submitted + s.byStatus.paused) + ' waiting · ' + s.byStatus.completed + ' done';
    setNum('kpi-cost', v.cost.costGbp, '£' + fmt(v.cost.costGbp, 0));
    setNum('kpi-import', v.cost.importMwh, fmt(v.cost.importMwh, 1) + ' MWh imported');
    setNum('kpi-carbon', v.carbon.carbonKg, fmt(v.carbon.carbonKg / 1000, 2) + ' tCO2');
    setNum('kpi-intensity', v.carbon.avgGPerKwh, fmt(v.carbon.avgGPerKwh, 1) + ' gCO2/kWh average');
    var ft = v.flexibility.totals;
    setNum('kpi-flex-mwh', ft.deliveredMwh, fmt(ft.deliveredMwh, 2) + ' MWh');
    setNum('kpi-flex-net', ft.netGbp, '£' + fmt(ft.netGbp, 0) + ' net · ' + ft.orders + ' orders');
    setNum('kpi-misses', s.deadlineMisses, fmt(s.deadlineMisses, 0));
    $('kpi-late').textContent = s.late + ' finished late · ' + s.rejected + ' rejected';

    var g = v.gantt;
    $('gantt-note').textContent = g.total > g.jobs.length ? '(' + g.jobs.length + ' of ' + g.total + ' jobs between ' + hhmm(g.from) + ' and ' + hhmm(g.to) + ')' : '(' + g.total + ' jobs between ' + hhmm(g.from) + ' and ' + hhmm(g.to) + ')';
    var h = Math.max(260, 80 + g.jobs.length * 16);
    if ($('gantt').style.height !== h + 'px') { $('gantt').style.height = h + 'px'; gantt.resize(); }
    gantt.setOption(ganttOption(g, v.now), { notMerge: true });

    var f = v.forecast;
    fc.setOption(C.forecastOption({ key: 'c', title: 'Carbon intensity (gCO2/kWh): latest forecast and actual', unit: 'gCO2/kWh', times: f.times, actual: f.carbon.actual, p10: f.carbon.p10, p50: f.carbon.p50, p90: f.carbon.p90, markNow: v.now }), { notMerge: true });
    fp.setOption(C.forecastOption({ key: 'p', title: 'Market price (£/MWh): latest forecast and actual', unit: '£/MWh', times: f.times, actual: f.price.actual, p10: f.price.p10, p50: f.price.p50, p90: f.price.p90, markNow: v.now }), { notMerge: true });
    $('forecast-note').textContent = f.forecastId ? 'Latest forecast ' + f.forecastId + ', issued ' + hhmm(f.issuedAt) + 'Z by ' + f.models + '; ' + f.published + ' published' + (f.degraded ? ', ' + f.degraded + ' degraded ticks (last: ' + f.lastDegraded + ')' : '') + '.' : 'No forecast on the ledger yet' + (f.degraded ? ' (' + f.degraded + ' degraded ticks; last: ' + f.lastDegraded + ')' : '') + '.';

    $('flex-note').textContent = '(' + ft.orders + ' orders, ' + ft.offers + ' offers, ' + v.flexibility.openOffers + ' open; sold ' + fmt(ft.soldMwh, 2) + ' MWh)';
    var rows = v.flexibility.orders.map(function (o) {
      return '<tr data-order="' + esc(o.orderId) + '"><td title="' + esc(o.orderId) + '">' + esc(o.orderId) + '</td><td class="st">' + esc(o.status) + '</td><td>' + esc(hhmm(o.windowStart)) + '–' + esc(String(o.windowEnd).slice(11, 16)) + '</td><td>' + esc(fmt(o.kw, 0)) + '</td><td>' + esc(fmt(o.priceGbpPerMwh, 2)) + '</td><td>' + (o.deliveredMwh === null ? '–' : esc(fmt(o.deliveredMwh, 3))) + '</td><td>' + (o.netGbp === null ? '–' : esc(fmt(o.netGbp, 2))) + '</td></tr>';
    });
    document.querySelector('#orders tbody').innerHTML = rows.join('');
    $('orders-empty').textContent = rows.length ? '' : 'No flexibility orders on the ledger yet' + (v.flexibility.available.length ? ' (' + v.flexibility.available.length + ' windows available in the latest plan).' : '.');

    var days = v.settlement;
    document.querySelector('#settlement tbody').innerHTML = days.map(function (d) {
      return '<tr data-day="' + esc(d.settlementDate) + '"><td>' + esc(d.settlementDate) + '</td><td>' + esc(fmt(d.importMwh, 1)) + '</td><td class="cost">' + esc(fmt(d.energyCostGbp, 2)) + '</td><td>' + esc(fmt(d.flexDeliveredMwh, 3)) + '</td><td class="flex">' + esc(fmt(d.flexNetGbp, 2)) + '</td></tr>';
    }).join('');
    // The list shows the latest days; the total is over every day (v.settlementTotals), not the rows shown.
    var st = v.settlementTotals;
    var label = st.days > st.listed ? 'total, all ' + st.days + ' days (' + st.listed + ' listed)' : 'total';
    document.querySelector('#settlement tfoot').innerHTML = days.length ? '<tr><td>' + esc(label) + '</td><td>' + esc(fmt(v.cost.importMwh, 1)) + '</td><td>' + esc(fmt(v.cost.costGbp, 2)) + '</td><td>' + esc(fmt(st.flexDeliveredMwh, 3)) + '</td><td>' + esc(fmt(st.flexNetGbp, 2)) + '</td></tr>' : '';
  }

  // EventSource retries a dropped stream by itself, but not one refused (503 when every stream
  // place is taken): then it is closed for good. So the page reads the view once, says so, and
  // asks for a stream again after the server's Retry-After (10 s).
  function connect() {
    var es = new EventSource('/api/stream');
    es.addEventListener('view', function (e) { $('conn').className = 'pill ok'; $('conn').textContent = 'live'; render(JSON.parse(e.data)); });
    es.onerror = function () {
      $('conn').className = 'pill bad';
      if (es.readyState !== EventSource.CLOSED) { $('conn').textContent = 'reconnecting…'; return; }
      es.close();
      $('conn').textContent = 'not live: the dashboard refused a live stream; retrying in 10 s';
      fetch('/api/view').then(function (r) { return r.ok ? r.json() : null; }).then(function (v) { if (v && !state.view) render(v); }).catch(function () {});
      setTimeout(connect, 10000);
    };
  }
  connect();
})();
