/* global window */
/**
 * ECharts options for CACO's plots, shared by the HTML report (inlined) and the dashboard
 * (served). Plain browser JavaScript: it must run from a file:// page with nothing else loaded.
 * Times are UTC on every axis; series are arrays aligned on an array of ISO half-hour starts,
 * with null where there is no value.
 */
(function () {
  'use strict';
  var COLORS = {
    actual: '#1b1b1b',
    p50: '#1f6fd1',
    band: 'rgba(31, 111, 209, 0.18)',
    published: '#8a8a8a',
    training: '#4c72b0',
    'batch-inference': '#dd8452',
    serving: '#55a868',
    unallocated: '#9b9b9b',
    charge: '#8172b3',
    discharge: '#c9b8e8',
    baseline: '#c44e52',
    site: '#1b1b1b',
    sold: '#f2b134',
    delivered: '#2a9d8f',
    stress: 'rgba(196, 78, 82, 0.10)',
    cost: '#4c72b0',
    flex: '#2a9d8f',
  };
  var TEXT = { fontFamily: 'DejaVu Sans, Helvetica, Arial, sans-serif' };
  // Tooltips with a formatter are HTML: what comes from the ledger goes in escaped.
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function zip(times, values, scale) {
    var out = new Array(times.length);
    for (var i = 0; i < times.length; i++) {
      var v = values ? values[i] : null;
      out[i] = [times[i], v === null || v === undefined ? null : scale ? v * scale : v];
    }
    return out;
  }
  function diff(times, hi, lo) {
    var out = new Array(times.length);
    for (var i = 0; i < times.length; i++) {
      var a = hi[i], b = lo[i];
      out[i] = [times[i], a === null || b === null || a === undefined || b === undefined ? null : a - b];
    }
    return out;
  }
  function fmt(v, digits) {
    if (v === null || v === undefined || isNaN(v)) return '–';
    return Number(v).toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  }
  function timeAxis(name) {
    return { type: 'time', name: name || 'time (UTC)', nameLocation: 'middle', nameGap: 28, axisLabel: { hideOverlap: true } };
  }
  function valueAxis(name, extra) {
    var a = { type: 'value', name: name, nameLocation: 'middle', nameGap: 52, scale: false, axisLabel: { formatter: function (v) { return fmt(v, Math.abs(v) < 10 && v !== 0 ? 1 : 0); } } };
    if (extra) for (var k in extra) a[k] = extra[k];
    return a;
  }
  function base(title) {
    return {
      useUTC: true,
      animation: false,
      textStyle: TEXT,
      title: title ? { text: title, left: 8, top: 4, textStyle: { fontSize: 14, fontWeight: 600 } } : undefined,
      grid: { left: 78, right: 24, top: 64, bottom: 52 },
      tooltip: { trigger: 'axis', valueFormatter: function (v) { return fmt(v, 1); } },
      legend: { top: 30, left: 8, itemWidth: 18, itemHeight: 10, textStyle: { fontSize: 11 } },
      dataZoom: [{ type: 'inside' }],
    };
  }
  function empty(option, text) {
    option.graphic = [{ type: 'text', left: 'center', top: 'middle', style: { text: text, fill: '#777', font: '13px DejaVu Sans, sans-serif' } }];
    return option;
  }

  /**
   * Forecast vs actual with a P10–P90 band: the band is an invisible P10 line with the
   * P90 − P10 difference stacked on it ("all" so negative prices stack too).
   */
  function forecastOption(o) {
    var t = o.times;
    var opt = base(o.title);
    opt.xAxis = timeAxis();
    opt.yAxis = valueAxis(o.unit);
    var stack = 'band-' + (o.key || 'x');
    opt.series = [
      { name: 'P10', type: 'line', data: zip(t, o.p10), stack: stack, stackStrategy: 'all', lineStyle: { opacity: 0 }, symbol: 'none', tooltip: { show: true }, silent: true },
      { name: o.bandLabel || 'forecast P10–P90', type: 'line', data: diff(t, o.p90, o.p10), stack: stack, stackStrategy: 'all', lineStyle: { opacity: 0 }, symbol: 'none', areaStyle: { color: COLORS.band }, itemStyle: { color: COLORS.band }, tooltip: { valueFormatter: function (v) { return v === null ? '–' : 'width ' + fmt(v, 1); } } },
      { name: o.p50Label || 'forecast P50', type: 'line', data: zip(t, o.p50), symbol: 'none', lineStyle: { color: COLORS.p50, width: 1.5, type: 'dashed' }, itemStyle: { color: COLORS.p50 } },
      { name: 'actual', type: 'line', data: zip(t, o.actual), symbol: 'none', lineStyle: { color: COLORS.actual, width: 1.6 }, itemStyle: { color: COLORS.actual } },
    ];
    if (o.published) opt.series.push({ name: o.publishedLabel || 'published forecast', type: 'line', data: zip(t, o.published), symbol: 'none', lineStyle: { color: COLORS.published, width: 1, type: 'dotted' }, itemStyle: { color: COLORS.published } });
    if (o.markNow) opt.series[3].markLine = { symbol: 'none', silent: true, label: { formatter: 'now', position: 'end' }, lineStyle: { color: '#999', type: 'solid' }, data: [{ xAxis: o.markNow }] };
    opt.legend.data = opt.series.map(function (s) { return s.name; }).filter(function (n) { return n !== 'P10'; });
    var any = (o.actual || []).some(function (v) { return v !== null; }) || (o.p50 || []).some(function (v) { return v !== null; });
    return any ? opt : empty(opt, 'no forecasts or observations on the ledger yet');
  }

  function loadOption(d, times) {
    var opt = base('Site load by job class vs ' + (d.baseline ? d.baseline.policy : 'baseline') + ' (MW, half-hour average)');
    opt.xAxis = timeAxis();
    opt.yAxis = valueAxis('MW');
    var classes = ['training', 'batch-inference', 'serving'];
    opt.series = classes.map(function (c) {
      return { name: c + ' (IT × PUE)', type: 'line', stack: 'load', stackStrategy: 'positive', data: zip(times, d.facilityKwByClass[c], 0.001), symbol: 'none', lineStyle: { width: 0 }, areaStyle: { color: COLORS[c], opacity: 0.85 }, itemStyle: { color: COLORS[c] } };
    });
    opt.series.push({ name: 'battery charging', type: 'line', stack: 'load', stackStrategy: 'positive', data: zip(times, d.batteryChargeKw, 0.001), symbol: 'none', lineStyle: { width: 0 }, areaStyle: { color: COLORS.charge, opacity: 0.8 }, itemStyle: { color: COLORS.charge } });
    opt.series.push({ name: 'battery discharging (−)', type: 'line', stack: 'dis', data: zip(times, d.batteryDischargeKw, -0.001), symbol: 'none', lineStyle: { width: 0 }, areaStyle: { color: COLORS.discharge, opacity: 0.9 }, itemStyle: { color: COLORS.discharge } });
    opt.series.push({ name: 'CACO site import (metered)', type: 'line', data: zip(times, d.siteImportKw, 0.001), symbol: 'none', lineStyle: { color: COLORS.site, width: 1.4 }, itemStyle: { color: COLORS.site } });
    if (d.baseline) opt.series.push({ name: d.baseline.policy + ' site import', type: 'line', data: zip(times, d.baseline.siteKw, 0.001), symbol: 'none', lineStyle: { color: COLORS.baseline, width: 1.4, type: 'dashed' }, itemStyle: { color: COLORS.baseline } });
    opt.tooltip.valueFormatter = function (v) { return fmt(v, 2) + ' MW'; };
    opt.grid.top = 84;
    return opt;
  }

  function batteryOption(b, times, title) {
    var opt = base(title || 'Battery state of charge (MWh, end of each half-hour)');
    opt.xAxis = timeAxis();
    opt.yAxis = valueAxis('MWh', { min: 0, max: b.capacityKwh ? b.capacityKwh / 1000 : null });
    opt.series = [{ name: 'state of charge', type: 'line', step: 'end', data: zip(times, b.socKwh, 0.001), symbol: 'none', lineStyle: { color: COLORS.charge, width: 1.5 }, areaStyle: { color: COLORS.charge, opacity: 0.15 }, itemStyle: { color: COLORS.charge } }];
    opt.tooltip.valueFormatter = function (v) { return fmt(v, 2) + ' MWh'; };
    var any = b.socKwh.some(function (v) { return v !== null; });
    return any ? opt : empty(opt, 'no meter reads on the ledger yet');
  }

  function zero(v) { return v === null || v === undefined ? 0 : v; }
  function flexOption(f, times) {
    var opt = base('Flexibility: load reduction sold and delivered (kW, half-hour average)');
    opt.xAxis = timeAxis();
    opt.yAxis = valueAxis('kW');
    opt.series = [
      // Half-hour averages are steps; a half-hour with no order sold nothing (0 kW).
      { name: 'sold (contracted)', type: 'line', step: 'end', data: zip(times, f.soldKw.map(zero)), symbol: 'none', lineStyle: { color: COLORS.sold, width: 2, type: 'dashed' }, itemStyle: { color: COLORS.sold } },
      { name: 'delivered (metered vs baseline)', type: 'line', step: 'end', data: zip(times, f.deliveredKw.map(zero)), symbol: 'none', lineStyle: { color: COLORS.delivered, width: 1 }, areaStyle: { color: COLORS.delivered, opacity: 0.55 }, itemStyle: { color: COLORS.delivered } },
    ];
    if (f.stress && f.stress.length) {
      opt.series.push({ name: 'grid stress expected', type: 'line', data: [], itemStyle: { color: 'rgba(196, 78, 82, 0.35)' }, markArea: { silent: true, itemStyle: { color: COLORS.stress }, data: f.stress.map(function (w) { return [{ xAxis: w.windowStart }, { xAxis: w.windowEnd }]; }) } });
    }
    opt.tooltip.valueFormatter = function (v) { return fmt(v, 0) + ' kW'; };
    var any = f.soldKw.some(function (v) { return v !== null; });
    if (!any) {
      opt.xAxis.min = times[0];
      opt.xAxis.max = times[times.length - 1];
      return empty(opt, 'no flexibility orders on the ledger (' + (f.totals ? f.totals.offers : 0) + ' offers, ' + (f.stress ? f.stress.length : 0) + ' stress windows)');
    }
    return opt;
  }

  function settlementOption(days) {
    var opt = base('Settlement per day (£; UK settlement days)');
    opt.xAxis = { type: 'category', data: days.map(function (d) { return d.settlementDate; }), name: 'settlement day (UK local)', nameLocation: 'middle', nameGap: 28 };
    opt.yAxis = valueAxis('£');
    opt.dataZoom = [];
    opt.series = [
      { name: 'energy cost', type: 'bar', data: days.map(function (d) { return d.energyCostGbp; }), itemStyle: { color: COLORS.cost }, label: { show: true, position: 'top', fontSize: 10, formatter: function (p) { return '£' + fmt(p.value, 0); } } },
      { name: 'flexibility earned (net)', type: 'bar', data: days.map(function (d) { return d.flexNetGbp; }), itemStyle: { color: COLORS.flex }, label: { show: true, position: 'top', fontSize: 10, formatter: function (p) { return '£' + fmt(p.value, 0); } } },
      { name: 'net cost (energy − flexibility)', type: 'line', data: days.map(function (d) { return d.netCostGbp; }), itemStyle: { color: COLORS.actual }, lineStyle: { type: 'dashed' } },
    ];
    opt.tooltip.trigger = 'axis';
    opt.tooltip.valueFormatter = function (v) { return '£' + fmt(v, 2); };
    return days.length ? opt : empty(opt, 'no metered days yet');
  }

  function classOption(rows) {
    var shown = rows.filter(function (r) { return r.class !== 'unallocated' || r.carbonKg !== 0; });
    var opt = base('Carbon per job class (tCO2, site import allocated by IT energy)');
    opt.xAxis = { type: 'category', data: shown.map(function (r) { return r.class; }), name: 'job class', nameLocation: 'middle', nameGap: 28 };
    opt.yAxis = valueAxis('tCO2');
    opt.dataZoom = [];
    opt.legend.show = false;
    opt.tooltip = { trigger: 'item', formatter: function (p) { var r = shown[p.dataIndex]; return esc(r.class) + '<br/>' + fmt(r.carbonKg / 1000, 2) + ' tCO2<br/>' + fmt(r.siteKwh / 1000, 1) + ' MWh site<br/>' + fmt(r.avgGPerKwh, 1) + ' gCO2/kWh'; } };
    opt.series = [{ name: 'carbon', type: 'bar', barMaxWidth: 80, data: shown.map(function (r) { return { value: r.carbonKg / 1000, itemStyle: { color: COLORS[r.class] } }; }), label: { show: true, position: 'top', formatter: function (p) { var r = shown[p.dataIndex]; return fmt(r.carbonKg / 1000, 2) + ' t · ' + fmt(r.avgGPerKwh, 0) + ' g/kWh'; } } }];
    return opt;
  }

  window.CacoCharts = { COLORS: COLORS, fmt: fmt, forecastOption: forecastOption, loadOption: loadOption, batteryOption: batteryOption, flexOption: flexOption, settlementOption: settlementOption, classOption: classOption };
})();
