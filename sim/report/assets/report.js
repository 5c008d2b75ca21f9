/* global window, document, echarts */
/** Draws the report from the JSON embedded in the page; nothing is fetched. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var C = window.CacoCharts;
  var t = data.halfHours;
  var charts = [];
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    var c = echarts.init(el, null, { renderer: 'canvas' });
    c.setOption(option);
    charts.push(c);
  }
  draw('chart-carbon', C.forecastOption({ key: 'carbon', title: 'Carbon intensity: day-ahead forecast vs actual (gCO2/kWh)', unit: 'gCO2/kWh', times: t, actual: data.forecast.carbon.actual, p10: data.forecast.carbon.p10, p50: data.forecast.carbon.p50, p90: data.forecast.carbon.p90, published: data.forecast.carbon.published, publishedLabel: 'Carbon Intensity API forecast', bandLabel: 'CACO day-ahead P10–P90', p50Label: 'CACO day-ahead P50' }));
  draw('chart-price', C.forecastOption({ key: 'price', title: 'Market index price: day-ahead forecast vs actual (£/MWh)', unit: '£/MWh', times: t, actual: data.forecast.price.actual, p10: data.forecast.price.p10, p50: data.forecast.price.p50, p90: data.forecast.price.p90, bandLabel: 'CACO day-ahead P10–P90', p50Label: 'CACO day-ahead P50' }));
  draw('chart-load', C.loadOption(data.load, t));
  draw('chart-battery', C.batteryOption(data.battery, t));
  draw('chart-flex', C.flexOption(data.flexibility, t));
  draw('chart-settlement', C.settlementOption(data.settlementByDay));
  draw('chart-class', C.classOption(data.carbonByClass));
  echarts.connect(charts.slice(0, 5));
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  document.body.setAttribute('data-charts', String(charts.length));
})();
